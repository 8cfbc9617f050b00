#include "melon/pca/state.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"

namespace melon::pca {
namespace {

constexpr char kMagic[] = "MELONPCA-STATE1\n";
constexpr std::size_t kMagicLen = sizeof(kMagic) - 1;

std::uint64_t fnv1a(const char* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

struct Writer {
  std::string buf;
  template <class T>
  void pod(const T& v) {
    buf.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    buf += s;
  }
  void matrix(const Eigen::MatrixXd& m) {
    pod<std::int64_t>(m.rows());
    pod<std::int64_t>(m.cols());
    if (m.size() > 0)
      buf.append(reinterpret_cast<const char*>(m.data()), static_cast<std::size_t>(m.size()) * sizeof(double));
  }
};

struct Reader {
  const std::string& buf;
  const std::string& path;
  std::size_t at = 0;
  void need(std::size_t n) const {
    MELON_CHECK(buf.size() - at >= n, path << ": resume state is truncated at byte " << at);
  }
  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, buf.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    auto n = pod<std::uint64_t>();
    need(n);
    std::string s = buf.substr(at, n);
    at += n;
    return s;
  }
  Eigen::MatrixXd matrix() {
    auto r = pod<std::int64_t>(), c = pod<std::int64_t>();
    MELON_CHECK(r >= 0 && c >= 0 && (c == 0 || r <= static_cast<std::int64_t>((buf.size() - at) / 8 / c)),
                path << ": resume state has a bad matrix shape " << r << " x " << c);
    Eigen::MatrixXd m(r, c);
    need(static_cast<std::size_t>(m.size()) * sizeof(double));
    if (m.size() > 0) std::memcpy(m.data(), buf.data() + at, static_cast<std::size_t>(m.size()) * sizeof(double));
    at += static_cast<std::size_t>(m.size()) * sizeof(double);
    return m;
  }
};

std::string rank_file(const std::string& dir, int pass, int rank, int size) {
  return dir + "/pass" + std::to_string(pass) + ".rank" + std::to_string(rank) + "of" + std::to_string(size) + ".bin";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MELON_CHECK(in, path << ": cannot open resume state: " << std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  MELON_CHECK(!in.bad(), path << ": read failed");
  return os.str();
}

// The settings that differ between two fingerprints, for the error message.
std::string differences(const std::string& saved, const std::string& now) {
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    std::istringstream is(s);
    for (std::string l; std::getline(is, l);) v.push_back(l);
    return v;
  };
  auto a = lines(saved), b = lines(now);
  std::string out;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < a.size() ? a[i] : "(none)", y = i < b.size() ? b[i] : "(none)";
    if (x != y) out += (out.empty() ? "" : "; ") + ("saved '" + x + "' vs now '" + y + "'");
  }
  return out.empty() ? "(no visible difference)" : out;
}

}  // namespace

void save_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint, const State& cp) {
  const int r = mpi::rank(comm), p = mpi::size(comm);
  std::string error;
  try {
    make_dirs(dir);
    Writer w;
    w.buf.append(kMagic, kMagicLen);
    w.str(fingerprint);
    w.pod<std::int32_t>(cp.pass);
    w.pod<std::int32_t>(r);
    w.pod<std::int32_t>(p);
    w.pod<std::int32_t>(cp.sketch);
    w.pod<std::int32_t>(cp.qr_shifted_steps);
    w.pod<std::int64_t>(cp.rows_total);
    w.pod<std::int64_t>(cp.skipped_total);
    w.pod<std::int64_t>(cp.nonfinite_total);
    w.pod<double>(cp.total_ss);
    w.pod<std::uint64_t>(cp.rows.size());
    for (auto v : cp.rows) w.pod<std::int64_t>(v);
    w.pod<std::uint64_t>(cp.skipped.size());
    for (auto& s : cp.skipped) {
      w.pod<std::int64_t>(s.candidate);
      w.str(s.reason);
    }
    w.matrix(cp.mean);
    w.matrix(cp.local);
    // The shared matrix is the same on every rank: only rank 0 stores it (and
    // sends it to the others on resume), so a save writes it once, not P times.
    w.matrix(r == 0 ? cp.shared : Eigen::MatrixXd());
    w.pod<std::uint64_t>(fnv1a(w.buf.data(), w.buf.size()));
    AtomicFile f(rank_file(dir, cp.pass, r, p));
    f.write(w.buf);
    f.commit();
  } catch (const Error& e) {
    error = std::string("saving resume state: ") + e.what();
  }
  mpi::throw_if_any(comm, error);
  if (r == 0) {
    try {
      AtomicFile f(dir + "/CHECKPOINT");
      f.write("melon pca checkpoint v1\npass=" + std::to_string(cp.pass) + "\nranks=" + std::to_string(p) +
              "\n--- settings ---\n" + fingerprint);
      f.commit();
    } catch (const Error& e) {
      error = std::string("saving resume state: ") + e.what();
    }
  }
  mpi::throw_if_any(comm, error);
  // Older passes' files (saves may skip passes with --checkpoint-every).
  for (int old = 0; old < cp.pass; ++old) std::remove(rank_file(dir, old, r, p).c_str());
}

std::optional<State> load_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint) {
  const int r = mpi::rank(comm), p = mpi::size(comm);
  std::string manifest, error;
  if (r == 0) {
    std::ifstream in(dir + "/CHECKPOINT");
    if (in) {
      std::ostringstream os;
      os << in.rdbuf();
      manifest = os.str();
      if (manifest.empty()) manifest = "\x01";  // present but empty: damaged
    }
  }
  mpi::bcast(comm, manifest);
  if (manifest.empty()) return std::nullopt;
  const std::string where = dir + "/CHECKPOINT";
  const std::string head = "melon pca checkpoint v1\npass=";
  const std::string sep = "\n--- settings ---\n";
  auto sep_at = manifest.find(sep);
  MELON_CHECK(manifest.rfind(head, 0) == 0 && sep_at != std::string::npos,
              where << ": not a melon pca checkpoint (remove the folder or run without --resume)");
  int pass = -1, ranks = 0;
  {
    std::istringstream is(manifest.substr(head.size() - 5, sep_at - (head.size() - 5)));
    std::string line;
    while (std::getline(is, line)) {
      if (line.rfind("pass=", 0) == 0) pass = std::atoi(line.c_str() + 5);
      if (line.rfind("ranks=", 0) == 0) ranks = std::atoi(line.c_str() + 6);
    }
  }
  MELON_CHECK(pass >= 0 && ranks >= 1, where << ": damaged checkpoint manifest");
  MELON_CHECK(ranks == p, where << ": the checkpoint was made by " << ranks << " ranks; resume it with " << ranks
                                << " (this run has " << p << "), or run without --resume");
  const std::string saved = manifest.substr(sep_at + sep.size());
  MELON_CHECK(saved == fingerprint, where << ": the checkpoint was made with other settings: "
                                          << differences(saved, fingerprint)
                                          << " (run without --resume to start over)");
  State cp;
  try {
    const std::string path = rank_file(dir, pass, r, p);
    std::string buf = slurp(path);
    MELON_CHECK(buf.size() >= kMagicLen + 8 && buf.compare(0, kMagicLen, kMagic) == 0,
                path << ": not a melon pca resume state");
    std::uint64_t sum = 0;
    std::memcpy(&sum, buf.data() + buf.size() - 8, 8);
    MELON_CHECK(sum == fnv1a(buf.data(), buf.size() - 8), path << ": resume state is damaged (checksum mismatch)");
    buf.resize(buf.size() - 8);
    Reader rd{buf, path, kMagicLen};
    MELON_CHECK(rd.str() == fingerprint, path << ": resume state from other settings");
    cp.pass = rd.pod<std::int32_t>();
    int fr = rd.pod<std::int32_t>(), fp = rd.pod<std::int32_t>();
    MELON_CHECK(cp.pass == pass && fr == r && fp == p, path << ": resume state is for another pass or rank");
    cp.sketch = rd.pod<std::int32_t>();
    cp.qr_shifted_steps = rd.pod<std::int32_t>();
    cp.rows_total = rd.pod<std::int64_t>();
    cp.skipped_total = rd.pod<std::int64_t>();
    cp.nonfinite_total = rd.pod<std::int64_t>();
    cp.total_ss = rd.pod<double>();
    auto nrows = rd.pod<std::uint64_t>();
    rd.need(nrows * 8);
    cp.rows.resize(nrows);
    for (auto& v : cp.rows) v = rd.pod<std::int64_t>();
    auto nskip = rd.pod<std::uint64_t>();
    rd.need(nskip * 16);
    cp.skipped.resize(nskip);
    for (auto& s : cp.skipped) {
      s.candidate = rd.pod<std::int64_t>();
      s.reason = rd.str();
    }
    Eigen::MatrixXd mean = rd.matrix();
    if (mean.cols() == 1) cp.mean = mean.col(0);
    cp.local = rd.matrix();
    cp.shared = rd.matrix();
    MELON_CHECK(rd.at == buf.size(), path << ": resume state has trailing bytes");
  } catch (const Error& e) {
    error = e.what();
  }
  mpi::throw_if_any(comm, error);
  std::string shared;
  if (r == 0) {
    std::int64_t dims[2] = {cp.shared.rows(), cp.shared.cols()};
    shared.assign(reinterpret_cast<const char*>(dims), sizeof dims);
    shared.append(reinterpret_cast<const char*>(cp.shared.data()), sizeof(double) * cp.shared.size());
  }
  mpi::bcast(comm, shared);
  if (r != 0) {
    std::int64_t dims[2];
    std::memcpy(dims, shared.data(), sizeof dims);
    cp.shared.resize(dims[0], dims[1]);
    if (cp.shared.size() > 0)
      std::memcpy(cp.shared.data(), shared.data() + sizeof dims, sizeof(double) * cp.shared.size());
  }
  return cp;
}

void remove_state(MPI_Comm comm, const std::string& dir) {
  namespace fs = std::filesystem;
  mpi::barrier(comm);
  if (mpi::rank(comm) == 0) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      for (auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        bool ours = name.rfind("CHECKPOINT", 0) == 0 || (name.rfind("pass", 0) == 0 && name.find(".rank") != std::string::npos);
        if (ours) fs::remove(e.path(), ec);
      }
      fs::remove(dir, ec);  // only if now empty: never removes what someone else put there
    }
  }
  mpi::barrier(comm);
}

}  // namespace melon::pca
