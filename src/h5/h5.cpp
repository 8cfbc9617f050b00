#include "melon/h5/h5.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::h5 {
namespace {

// HDF5 prints its whole error stack on stderr by default; we report one line
// through melon::Error instead.
void quiet() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

// HDF5's file drivers report a failed system call as "..., errno = 28, error
// message = 'No space left on device', ..." on one (multi-line) entry.
int stack_errno(const std::vector<std::string>& msgs) {
  for (auto& m : msgs) {
    auto at = m.find("errno = ");
    if (at != std::string::npos) {
      int e = std::atoi(m.c_str() + at + 8);
      if (e > 0) return e;
    }
  }
  return 0;
}

// The name the caller knows: a temp file "X.tmp.<pid>" is reported as X,
// since it is gone (removed on failure) by the time anyone reads the message.
std::string shown_name(const std::string& file) {
  auto at = file.rfind(".tmp.");
  if (at == std::string::npos || at + 5 == file.size()) return file;
  for (std::size_t i = at + 5; i < file.size(); ++i)
    if (file[i] < '0' || file[i] > '9') return file;
  return file.substr(0, at);
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

herr_t walk_cb(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  (void)n;
  std::string msg = e->desc ? e->desc : "";
  if (msg.empty() && e->func_name) msg = e->func_name;
  out->push_back(msg);
  return 0;
}

// The innermost message of the stack is the specific one ("unable to open file:
// ... errno = 2, error message = 'No such file or directory'").
// sys_errno: errno right after the failed call. The MPI-IO driver reports a
// short write without the OS error, so an errno that can only come from the
// storage (the caller cleared errno before the call) is named instead.
std::string stack_message(int sys_errno) {
  std::vector<std::string> msgs;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &msgs);
  H5Eclear2(H5E_DEFAULT);
  if (int e = stack_errno(msgs)) return std::strerror(e);
  for (int e : {ENOSPC, EDQUOT, EIO, EFBIG, EROFS})
    if (sys_errno == e) return std::strerror(e);
  std::string out;
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
    if (!it->empty()) {
      out = *it;
      break;
    }
  if (msgs.size() > 1 && !msgs.front().empty() && msgs.front() != out) out = msgs.front() + ": " + out;
  return out.empty() ? "no detail from HDF5" : one_line(out);
}

std::string at(const Where& w) { return shown_name(w.file) + (w.object.empty() ? "" : ":" + w.object); }

// The MPI-IO driver reports a short write as "file write failed" without
// the OS error; a filesystem with no block left is the usual cause.
bool filesystem_full(const std::string& file) {
  auto slash = file.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
  struct statvfs st {};
  return ::statvfs(dir.c_str(), &st) == 0 && st.f_bavail == 0;
}

[[noreturn]] void fail(const char* op, const Where& w, int sys_errno) {
  std::string detail = stack_message(sys_errno);
  if (detail.find("write failed") != std::string::npos && filesystem_full(w.file))
    detail = std::strerror(ENOSPC) + std::string(" (HDF5: ") + detail + ")";
  MELON_THROW(at(w) << ": HDF5 " << op << " failed: " << detail);
}

// A collective call on a parallel file: a failure on one rank fails it on
// every rank, or the others would go on into the next collective HDF5 call
// and wait there for the failed one forever. Serial files: check_rc.
void agree_rc(MPI_Comm comm, herr_t rc, const char* op, const Where& w) {
  const int sys_errno = errno;
  if (comm == MPI_COMM_NULL) return check_rc(rc, op, w);
  if (!mpi::any(comm, rc < 0)) return;
  if (rc < 0) fail(op, w, sys_errno);
  MELON_THROW(at(w) << ": HDF5 " << op << " failed on another rank");
}
hid_t agree_id(MPI_Comm comm, hid_t id, const char* op, const Where& w) {
  agree_rc(comm, id < 0 ? -1 : 0, op, w);
  return id;
}

hid_t file_type(Type t) {
  switch (t) {
    case Type::F32: return H5T_IEEE_F32LE;
    case Type::F64: return H5T_IEEE_F64LE;
    case Type::I32: return H5T_STD_I32LE;
    case Type::I64: return H5T_STD_I64LE;
  }
  return H5T_IEEE_F64LE;
}

Handle plist(hid_t cls, const Where& w) { return Handle(check_id(H5Pcreate(cls), "H5Pcreate", w), H5Pclose); }

Handle fapl_for(MPI_Comm comm, const Where& w) {
  Handle fapl = plist(H5P_FILE_ACCESS, w);
  if (comm != MPI_COMM_NULL) {
    MELON_CHECK(mpi::initialized(), w.file << ": parallel HDF5 access needs MPI to be initialised");
    check_rc(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio", w);
    // Metadata reads and writes collective: fewer small independent I/O calls.
    check_rc(H5Pset_all_coll_metadata_ops(fapl.get(), true), "H5Pset_all_coll_metadata_ops", w);
    check_rc(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write", w);
  }
  return fapl;
}

Handle string_type(std::size_t width, const Where& w) {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", w), H5Tclose);
  check_rc(H5Tset_size(t.get(), width), "H5Tset_size", w);
  check_rc(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "H5Tset_strpad", w);
  check_rc(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", w);
  return t;
}

Handle vlen_string_type(const Where& w) {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", w), H5Tclose);
  check_rc(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", w);
  check_rc(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", w);
  return t;
}

}  // namespace

hid_t check_id(hid_t id, const char* op, const Where& where) {
  if (id < 0) fail(op, where, errno);
  return id;
}

void check_rc(herr_t rc, const char* op, const Where& where) {
  if (rc < 0) fail(op, where, errno);
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() noexcept {
  if (id_ >= 0 && close_) {
    close_(id_);
    H5Eclear2(H5E_DEFAULT);
  }
  id_ = H5I_INVALID_HID;
}

void Handle::close(const char* op, const Where& w) {
  if (id_ < 0) return;
  hid_t id = id_;
  id_ = H5I_INVALID_HID;
  check_rc(close_(id), op, w);
}

// ---- attributes ----

namespace {
Handle open_attr(hid_t obj, const std::string& name, const Where& w) {
  Where aw{w.file, w.object + "@" + name};
  return Handle(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", aw), H5Aclose);
}

void put_attr(hid_t obj, MPI_Comm comm, const Where& w, const std::string& name, hid_t ftype, hid_t mtype,
              const void* value) {
  Where aw{w.file, w.object + "@" + name};
  htri_t exists = H5Aexists(obj, name.c_str());
  check_rc(exists < 0 ? -1 : 0, "H5Aexists", aw);
  if (exists > 0) check_rc(H5Adelete(obj, name.c_str()), "H5Adelete", aw);
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", aw), H5Sclose);
  Handle a(
      agree_id(comm, H5Acreate2(obj, name.c_str(), ftype, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", aw),
      H5Aclose);
  errno = 0;
  agree_rc(comm, H5Awrite(a.get(), mtype, value), "H5Awrite", aw);
  agree_rc(comm, H5Aclose(a.release()), "H5Aclose", aw);
}
}  // namespace

void Object::set_attr(const std::string& name, const std::string& value) {
  Handle t = vlen_string_type(w_);
  const char* p = value.c_str();
  put_attr(id(), comm_, w_, name, t.get(), t.get(), &p);
}

void Object::set_attr(const std::string& name, std::int64_t value) {
  put_attr(id(), comm_, w_, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void Object::set_attr(const std::string& name, double value) {
  put_attr(id(), comm_, w_, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

bool Object::has_attr(const std::string& name) const {
  htri_t e = H5Aexists(id(), name.c_str());
  check_rc(e < 0 ? -1 : 0, "H5Aexists", Where{w_.file, w_.object + "@" + name});
  return e > 0;
}

std::string Object::attr_string(const std::string& name) const {
  Where aw{w_.file, w_.object + "@" + name};
  Handle a = open_attr(id(), name, w_);
  Handle ft(check_id(H5Aget_type(a.get()), "H5Aget_type", aw), H5Tclose);
  MELON_CHECK(H5Tget_class(ft.get()) == H5T_STRING,
              "HDF5 attribute " << aw.file << ":" << aw.object << " is not a string");
  if (H5Tis_variable_str(ft.get()) > 0) {
    Handle t = vlen_string_type(aw);
    char* p = nullptr;
    check_rc(H5Aread(a.get(), t.get(), &p), "H5Aread", aw);
    std::string s = p ? p : "";
    if (p) H5free_memory(p);
    return s;
  }
  std::size_t n = H5Tget_size(ft.get());
  std::string s(n, '\0');
  check_rc(H5Aread(a.get(), ft.get(), s.data()), "H5Aread", aw);
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::int64_t Object::attr_int(const std::string& name) const {
  Handle a = open_attr(id(), name, w_);
  std::int64_t v = 0;
  check_rc(H5Aread(a.get(), H5T_NATIVE_INT64, &v), "H5Aread", Where{w_.file, w_.object + "@" + name});
  return v;
}

double Object::attr_double(const std::string& name) const {
  Handle a = open_attr(id(), name, w_);
  double v = 0;
  check_rc(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v), "H5Aread", Where{w_.file, w_.object + "@" + name});
  return v;
}

// ---- files ----

File File::create(const std::string& path, MPI_Comm comm) {
  quiet();
  File f;
  f.w_ = Where{path, ""};
  f.parallel_ = comm != MPI_COMM_NULL;
  Handle fapl = fapl_for(comm, f.w_);
  f.comm_ = comm;
  errno = 0;
  f.h_ = Handle(agree_id(comm, H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "H5Fcreate", f.w_),
                H5Fclose);
  f.w_.object = "/";
  return f;
}

File File::open(const std::string& path, MPI_Comm comm, bool writable) {
  quiet();
  File f;
  f.w_ = Where{path, ""};
  f.parallel_ = comm != MPI_COMM_NULL;
  Handle fapl = fapl_for(comm, f.w_);
  f.comm_ = comm;
  f.h_ = Handle(
      agree_id(comm, H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()), "H5Fopen", f.w_),
      H5Fclose);
  f.w_.object = "/";
  return f;
}

void File::close() {
  if (!h_.valid()) return;
  errno = 0;
  agree_rc(comm_, H5Fclose(h_.release()), "H5Fclose", w_);
}

// ---- datasets ----

Dataset Dataset::create(const File& f, const std::string& name, Type type, const std::vector<hsize_t>& dims,
                        const std::vector<hsize_t>& chunk) {
  Dataset d;
  d.w_ = Where{f.path(), "/" + name};
  d.parallel_ = f.parallel();
  Handle space(
      check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple", d.w_),
      H5Sclose);
  Handle dcpl = plist(H5P_DATASET_CREATE, d.w_);
  if (!chunk.empty()) {
    MELON_ASSERT(chunk.size() == dims.size(), "chunk rank " << chunk.size() << " != dataset rank " << dims.size());
    check_rc(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk", d.w_);
  }
  // Every element gets written: filling first would write the data twice.
  check_rc(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time", d.w_);
  // No modification time in the dataset's header (HDF5 records one by
  // default; the root group gets none): the same job then writes the same
  // bytes, so `cmp` can compare two runs' checkpoints and outputs.
  check_rc(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times", d.w_);
  d.comm_ = f.comm();
  d.h_ = Handle(
      agree_id(d.comm_,
               H5Dcreate2(f.id(), name.c_str(), file_type(type), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
               "H5Dcreate2", d.w_),
      H5Dclose);
  return d;
}

Dataset Dataset::create_strings(const File& f, const std::string& name, hsize_t n, std::size_t width) {
  Dataset d;
  d.w_ = Where{f.path(), "/" + name};
  d.parallel_ = f.parallel();
  Handle t = string_type(std::max<std::size_t>(width, 1), d.w_);
  Handle space(check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", d.w_), H5Sclose);
  Handle dcpl = plist(H5P_DATASET_CREATE, d.w_);
  check_rc(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times", d.w_);
  d.comm_ = f.comm();
  d.h_ = Handle(agree_id(d.comm_,
                         H5Dcreate2(f.id(), name.c_str(), t.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                         "H5Dcreate2", d.w_),
                H5Dclose);
  return d;
}

Dataset Dataset::open(const File& f, const std::string& name) {
  Dataset d;
  d.w_ = Where{f.path(), "/" + name};
  d.parallel_ = f.parallel();
  d.comm_ = f.comm();
  d.h_ = Handle(check_id(H5Dopen2(f.id(), name.c_str(), H5P_DEFAULT), "H5Dopen2", d.w_), H5Dclose);
  return d;
}

std::vector<hsize_t> Dataset::dims() const {
  Handle space(check_id(H5Dget_space(id()), "H5Dget_space", w_), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  check_rc(rank < 0 ? -1 : 0, "H5Sget_simple_extent_ndims", w_);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0)
    check_rc(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0 ? -1 : 0, "H5Sget_simple_extent_dims",
             w_);
  return dims;
}

Type Dataset::type() const {
  Handle t(check_id(H5Dget_type(id()), "H5Dget_type", w_), H5Tclose);
  H5T_class_t c = H5Tget_class(t.get());
  std::size_t size = H5Tget_size(t.get());
  if (c == H5T_FLOAT) return size == 4 ? Type::F32 : Type::F64;
  MELON_CHECK(c == H5T_INTEGER, "HDF5 dataset " << w_.file << ":" << w_.object << " is not numeric");
  return size <= 4 ? Type::I32 : Type::I64;
}

namespace {
// File and memory spaces for rows [row0, row0 + nrows) of a dataset, or empty
// selections for a rank with nothing to move.
struct Selection {
  Handle file, mem;
};

// cols: [col0, col0 + ncols) of a 2-D dataset; ncols = kAllCols for every column.
constexpr hsize_t kAllCols = ~hsize_t{0};
Selection select_rows(hid_t dset, hsize_t row0, hsize_t nrows, const Where& w, hsize_t col0 = 0,
                      hsize_t ncols = kAllCols) {
  Selection s;
  s.file = Handle(check_id(H5Dget_space(dset), "H5Dget_space", w), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(s.file.get());
  check_rc(rank < 1 ? -1 : 0, "H5Sget_simple_extent_ndims", w);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(s.file.get(), dims.data(), nullptr);
  MELON_ASSERT(row0 + nrows <= dims[0], w.file << ":" << w.object << ": rows [" << row0 << ", " << row0 + nrows
                                               << ") outside " << dims[0] << " rows");
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = row0;
  count[0] = nrows;
  if (ncols != kAllCols) {
    MELON_ASSERT(dims.size() == 2 && col0 + ncols <= dims[1],
                 w.file << ":" << w.object << ": columns [" << col0 << ", " << col0 + ncols << ") outside the dataset");
    start[1] = col0;
    count[1] = ncols;
    if (ncols == 0) nrows = 0;
  }
  if (nrows == 0) {
    check_rc(H5Sselect_none(s.file.get()), "H5Sselect_none", w);
    std::vector<hsize_t> one(dims.size(), 1);
    s.mem = Handle(check_id(H5Screate_simple(rank, one.data(), nullptr), "H5Screate_simple", w), H5Sclose);
    check_rc(H5Sselect_none(s.mem.get()), "H5Sselect_none", w);
  } else {
    check_rc(H5Sselect_hyperslab(s.file.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
             "H5Sselect_hyperslab", w);
    s.mem = Handle(check_id(H5Screate_simple(rank, count.data(), nullptr), "H5Screate_simple", w), H5Sclose);
  }
  return s;
}
}  // namespace

void Dataset::write_impl(hsize_t row0, hsize_t nrows, hid_t memtype, const void* data) {
  Selection s = select_rows(id(), row0, nrows, w_);
  Handle dxpl = plist(H5P_DATASET_XFER, w_);
  if (parallel_) check_rc(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio", w_);
  static const char dummy[16] = {};
  errno = 0;
  agree_rc(comm_, H5Dwrite(id(), memtype, s.mem.get(), s.file.get(), dxpl.get(), nrows ? data : dummy), "H5Dwrite", w_);
}

void Dataset::read_impl(hsize_t row0, hsize_t nrows, hid_t memtype, void* out) const {
  if (nrows == 0) return;
  Selection s = select_rows(id(), row0, nrows, w_);
  check_rc(H5Dread(id(), memtype, s.mem.get(), s.file.get(), H5P_DEFAULT, out), "H5Dread", w_);
}

void Dataset::write_block(hsize_t row0, hsize_t nrows, hsize_t col0, hsize_t ncols, const float* data) {
  MELON_ASSERT(!parallel_, "write_block is for serial files");
  if (nrows == 0 || ncols == 0) return;
  Selection s = select_rows(id(), row0, nrows, w_, col0, ncols);
  errno = 0;
  check_rc(H5Dwrite(id(), H5T_NATIVE_FLOAT, s.mem.get(), s.file.get(), H5P_DEFAULT, data), "H5Dwrite", w_);
}

void Dataset::read_block(hsize_t row0, hsize_t nrows, hsize_t col0, hsize_t ncols, float* out) const {
  if (nrows == 0 || ncols == 0) return;
  Selection s = select_rows(id(), row0, nrows, w_, col0, ncols);
  check_rc(H5Dread(id(), H5T_NATIVE_FLOAT, s.mem.get(), s.file.get(), H5P_DEFAULT, out), "H5Dread", w_);
}

void Dataset::write_rows(hsize_t r, hsize_t n, const float* d) { write_impl(r, n, H5T_NATIVE_FLOAT, d); }
void Dataset::write_rows(hsize_t r, hsize_t n, const double* d) { write_impl(r, n, H5T_NATIVE_DOUBLE, d); }
void Dataset::write_rows(hsize_t r, hsize_t n, const std::int32_t* d) { write_impl(r, n, H5T_NATIVE_INT32, d); }
void Dataset::write_rows(hsize_t r, hsize_t n, const std::int64_t* d) { write_impl(r, n, H5T_NATIVE_INT64, d); }
void Dataset::read_rows(hsize_t r, hsize_t n, float* o) const { read_impl(r, n, H5T_NATIVE_FLOAT, o); }
void Dataset::read_rows(hsize_t r, hsize_t n, double* o) const { read_impl(r, n, H5T_NATIVE_DOUBLE, o); }
void Dataset::read_rows(hsize_t r, hsize_t n, std::int32_t* o) const { read_impl(r, n, H5T_NATIVE_INT32, o); }
void Dataset::read_rows(hsize_t r, hsize_t n, std::int64_t* o) const { read_impl(r, n, H5T_NATIVE_INT64, o); }

void Dataset::write_strings(hsize_t row0, const std::vector<std::string>& rows) {
  Handle ft(check_id(H5Dget_type(id()), "H5Dget_type", w_), H5Tclose);
  std::size_t width = H5Tget_size(ft.get());
  std::string buf(std::max<std::size_t>(rows.size(), 1) * width, '\0');
  for (std::size_t i = 0; i < rows.size(); ++i) {
    // Cut at the width, but never inside a UTF-8 sequence.
    std::size_t n = std::min(rows[i].size(), width);
    if (n < rows[i].size())
      while (n > 0 && (static_cast<unsigned char>(rows[i][n]) & 0xC0) == 0x80) --n;
    std::memcpy(buf.data() + i * width, rows[i].data(), n);
  }
  write_impl(row0, rows.size(), ft.get(), buf.data());
}

std::vector<std::string> Dataset::read_strings() const {
  Handle ft(check_id(H5Dget_type(id()), "H5Dget_type", w_), H5Tclose);
  MELON_CHECK(H5Tget_class(ft.get()) == H5T_STRING && H5Tis_variable_str(ft.get()) == 0,
              "HDF5 dataset " << w_.file << ":" << w_.object << " is not a fixed-width string dataset");
  std::size_t width = H5Tget_size(ft.get());
  auto d = dims();
  MELON_CHECK(d.size() == 1, "HDF5 dataset " << w_.file << ":" << w_.object << " is not 1-D");
  std::string buf(d[0] * width, '\0');
  read_impl(0, d[0], ft.get(), buf.data());
  std::vector<std::string> out(d[0]);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string s = buf.substr(i * width, width);
    s.resize(std::strlen(s.c_str()));
    out[i] = s;
  }
  return out;
}

}  // namespace melon::h5
