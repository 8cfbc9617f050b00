#pragma once
// Thin RAII layer over the HDF5 C API: the one place that turns a negative
// herr_t/hid_t into melon::Error naming the file, the object and the operation
// (with the innermost message of HDF5's error stack, which is otherwise printed
// unasked on stderr). Handles close themselves; files open either serially or
// in parallel over MPI-IO, where raw data writes are collective.
//
// Parallel rules the callers must keep (they are HDF5's): creating and opening
// files, datasets and attributes is collective and every rank passes the same
// arguments; write_rows() is collective on a parallel file and every rank calls
// it, with nrows = 0 where it has nothing to write.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace melon::h5 {

// Where an HDF5 call failed: named in every error message.
struct Where {
  std::string file, object;
};

// Throws melon::Error for a negative result, one line: "FILE:/OBJECT: HDF5 <op>
// failed: <why>", where <why> is the OS error (strerror) when a system call
// failed underneath (disk full, I/O error), else HDF5's innermost message.
hid_t check_id(hid_t id, const char* op, const Where& where);
void check_rc(herr_t rc, const char* op, const Where& where);

// An owned identifier, closed with the matching H5?close on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), close_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  hid_t release() noexcept {  // gives up ownership without closing
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  void reset() noexcept;                       // closes, ignoring failure (unwinding paths)
  void close(const char* op, const Where& w);  // closes and throws on failure

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

enum class Type { F32, F64, I32, I64 };

// Something that carries attributes: a file (its root group) or a dataset.
class Object {
 public:
  hid_t id() const { return h_.get(); }
  const Where& where() const { return w_; }
  MPI_Comm comm() const { return comm_; }  // MPI_COMM_NULL: serial

  // Scalar attributes; strings are variable-length UTF-8 (h5py reads str).
  // Collective on a parallel file: every rank writes the same value.
  void set_attr(const std::string& name, const std::string& value);
  void set_attr(const std::string& name, const char* value) { set_attr(name, std::string(value)); }
  void set_attr(const std::string& name, std::int64_t value);
  void set_attr(const std::string& name, double value);
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  std::int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;

 protected:
  Handle h_;
  Where w_;
  MPI_Comm comm_ = MPI_COMM_NULL;  // of a parallel file: its failures are agreed on every rank
};

class File : public Object {
 public:
  // comm = MPI_COMM_NULL: serial (POSIX) access. Otherwise MPI-IO over comm:
  // collective, every rank of comm calls with the same path.
  static File create(const std::string& path, MPI_Comm comm);  // truncates an existing file
  static File open(const std::string& path, MPI_Comm comm, bool writable = false);

  bool parallel() const { return parallel_; }
  const std::string& path() const { return w_.file; }
  // Flushes and closes (collective on a parallel file); throws on failure,
  // since a failed close can mean data never reached the disk. Every dataset
  // of the file must be closed (destroyed) first.
  void close();

 private:
  bool parallel_ = false;
};

class Dataset : public Object {
 public:
  // dims[0] is the row count; chunk empty = contiguous layout.
  static Dataset create(const File& f, const std::string& name, Type type, const std::vector<hsize_t>& dims,
                        const std::vector<hsize_t>& chunk = {});
  // n fixed-width UTF-8 strings of `width` bytes, NUL-padded (h5py reads bytes).
  static Dataset create_strings(const File& f, const std::string& name, hsize_t n, std::size_t width);
  static Dataset open(const File& f, const std::string& name);

  std::vector<hsize_t> dims() const;
  Type type() const;  // of a numeric dataset
  // Rows [row0, row0 + nrows), all columns, row-major in data. Collective on a
  // parallel file (nrows may be 0 on some ranks).
  void write_rows(hsize_t row0, hsize_t nrows, const float* data);
  void write_rows(hsize_t row0, hsize_t nrows, const double* data);
  void write_rows(hsize_t row0, hsize_t nrows, const std::int32_t* data);
  void write_rows(hsize_t row0, hsize_t nrows, const std::int64_t* data);
  void write_strings(hsize_t row0, const std::vector<std::string>& rows);  // collective likewise
  // Independent reads (any rank, any time), converting to the memory type.
  void read_rows(hsize_t row0, hsize_t nrows, float* out) const;
  void read_rows(hsize_t row0, hsize_t nrows, double* out) const;
  void read_rows(hsize_t row0, hsize_t nrows, std::int32_t* out) const;
  void read_rows(hsize_t row0, hsize_t nrows, std::int64_t* out) const;
  std::vector<std::string> read_strings() const;
  // Rows [row0, row0 + nrows) x columns [col0, col0 + ncols) of a 2-D
  // dataset (part of a row vector, say), row-major; serial files only.
  void write_block(hsize_t row0, hsize_t nrows, hsize_t col0, hsize_t ncols, const float* data);
  void read_block(hsize_t row0, hsize_t nrows, hsize_t col0, hsize_t ncols, float* out) const;

 private:
  void write_impl(hsize_t row0, hsize_t nrows, hid_t memtype, const void* data);
  void read_impl(hsize_t row0, hsize_t nrows, hid_t memtype, void* out) const;
  bool parallel_ = false;
};

// Reads a whole 1-D or 2-D numeric dataset into a flat row-major vector.
template <class T>
std::vector<T> read_all(const File& f, const std::string& name) {
  auto d = Dataset::open(f, name);
  auto dims = d.dims();
  std::size_t n = 1;
  for (auto x : dims) n *= static_cast<std::size_t>(x);
  std::vector<T> v(n);
  if (n) d.read_rows(0, dims.empty() ? 1 : dims[0], v.data());
  return v;
}

}  // namespace melon::h5
