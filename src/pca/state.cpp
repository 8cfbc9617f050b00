#include "melon/pca/state.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/bytes.hpp"
#include "melon/util/hash.hpp"

namespace melon::pca {
namespace {

// Version 4 stores --tol's Ritz values and whether the run has converged;
// version 3 the Krylov blocks, and its settings name the method; version 2's checksums were already util's fnv1a64
// (version 1 used FNV with another offset). Older states are refused by name.
constexpr char kMagic[] = "MELONPCA-STATE4\n";
constexpr std::size_t kMagicLen = sizeof(kMagic) - 1;
constexpr char kManifestHead[] = "melon pca checkpoint v4\npass=";

void put_matrix(ByteWriter& w, const Eigen::MatrixXd& m) {
  w.pod<std::int64_t>(m.rows());
  w.pod<std::int64_t>(m.cols());
  w.raw(m.data(), static_cast<std::size_t>(m.size()));
}

Eigen::MatrixXd get_matrix(ByteReader& rd) {
  auto r = rd.pod<std::int64_t>(), c = rd.pod<std::int64_t>();
  MELON_CHECK(r >= 0 && c >= 0 && (c == 0 || r <= static_cast<std::int64_t>(rd.left() / 8 / c)),
              rd.what << " has a bad matrix shape " << r << " x " << c);
  Eigen::MatrixXd m(r, c);
  rd.raw(m.data(), static_cast<std::size_t>(m.size()));
  return m;
}

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

// This rank's file of pass `pass`, checked against the fingerprint; the
// shared matrix only on rank 0.
State read_rank_file(const std::string& path, const std::string& fingerprint, int pass, int r, int p) {
  std::string buf = slurp(path);
  MELON_CHECK(buf.size() >= kMagicLen + 8 && buf.compare(0, kMagicLen, kMagic) == 0,
              path << ": not a melon pca resume state");
  std::uint64_t sum = 0;
  std::memcpy(&sum, buf.data() + buf.size() - 8, 8);
  MELON_CHECK(sum == fnv1a64(buf.data(), buf.size() - 8), path << ": resume state is damaged (checksum mismatch)");
  buf.resize(buf.size() - 8);
  ByteReader rd(buf, path + ": resume state");
  rd.at = kMagicLen;
  MELON_CHECK(rd.str() == fingerprint, path << ": resume state from other settings");
  State st;
  st.pass = rd.pod<std::int32_t>();
  int fr = rd.pod<std::int32_t>(), fp = rd.pod<std::int32_t>();
  MELON_CHECK(st.pass == pass && fr == r && fp == p, path << ": resume state is for another pass or rank");
  st.sketch = rd.pod<std::int32_t>();
  st.qr_shifted_steps = rd.pod<std::int32_t>();
  st.rows_total = rd.pod<std::int64_t>();
  st.skipped_total = rd.pod<std::int64_t>();
  st.nonfinite_total = rd.pod<std::int64_t>();
  st.total_ss = rd.pod<double>();
  st.rows = rd.vec<std::int64_t>();
  auto nskip = rd.pod<std::uint64_t>();
  rd.need(nskip * 16);
  st.skipped.resize(nskip);
  for (auto& s : st.skipped) {
    s.candidate = rd.pod<std::int64_t>();
    s.reason = rd.str();
  }
  Eigen::MatrixXd mean = get_matrix(rd);
  if (mean.cols() == 1) st.mean = mean.col(0);
  st.local = get_matrix(rd);
  st.krylov = get_matrix(rd);
  st.shared = get_matrix(rd);
  Eigen::MatrixXd ritz = get_matrix(rd);
  if (ritz.cols() == 1) st.ritz = ritz.col(0);
  st.done = rd.pod<std::int32_t>() != 0;
  MELON_CHECK(rd.done(), path << ": resume state has trailing bytes");
  return st;
}

}  // namespace

void save_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint, const State& st) {
  const int r = mpi::rank(comm), p = mpi::size(comm);
  mpi::collective(
      comm,
      [&] {
        make_dirs(dir);
        ByteWriter w;
        w.raw(kMagic, kMagicLen);
        w.str(fingerprint);
        w.pod<std::int32_t>(st.pass);
        w.pod<std::int32_t>(r);
        w.pod<std::int32_t>(p);
        w.pod<std::int32_t>(st.sketch);
        w.pod<std::int32_t>(st.qr_shifted_steps);
        w.pod<std::int64_t>(st.rows_total);
        w.pod<std::int64_t>(st.skipped_total);
        w.pod<std::int64_t>(st.nonfinite_total);
        w.pod<double>(st.total_ss);
        w.vec(st.rows);
        w.pod<std::uint64_t>(st.skipped.size());
        for (auto& s : st.skipped) {
          w.pod<std::int64_t>(s.candidate);
          w.str(s.reason);
        }
        put_matrix(w, st.mean);
        put_matrix(w, st.local);
        put_matrix(w, st.krylov);
        // The shared matrix is the same on every rank: only rank 0 stores it (and
        // sends it to the others on resume), so a save writes it once, not P times.
        put_matrix(w, r == 0 ? st.shared : Eigen::MatrixXd());
        put_matrix(w, st.ritz);
        w.pod<std::int32_t>(st.done ? 1 : 0);
        w.pod<std::uint64_t>(fnv1a64(w.buf.data(), w.buf.size()));
        AtomicFile f(rank_file(dir, st.pass, r, p));
        f.write(w.buf);
        f.commit();
      },
      "saving resume state");
  mpi::collective(
      comm,
      [&] {
        if (r != 0) return;
        AtomicFile f(dir + "/CHECKPOINT");
        f.write(kManifestHead + std::to_string(st.pass) + "\nranks=" + std::to_string(p) + "\n--- settings ---\n" +
                fingerprint);
        f.commit();
      },
      "saving resume state");
  // Older passes' files (saves may skip passes with --checkpoint-every).
  for (int old = 0; old < st.pass; ++old) std::remove(rank_file(dir, old, r, p).c_str());
}

std::optional<State> load_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint) {
  const int r = mpi::rank(comm), p = mpi::size(comm);
  std::string manifest;
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
  const std::string head = kManifestHead;
  for (std::string old : {"v1", "v2", "v3"})
    MELON_CHECK(manifest.rfind("melon pca checkpoint " + old + "\n", 0) != 0,
                where << ": a checkpoint of an older melon (" << old
                      << "), which this one cannot resume (run without --resume to start over)");
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
  MELON_CHECK(saved == fingerprint,
              where << ": the checkpoint was made with other settings: " << differences(saved, fingerprint)
                    << " (run without --resume to start over)");
  State cp;
  mpi::collective(comm, [&] { cp = read_rank_file(rank_file(dir, pass, r, p), fingerprint, pass, r, p); });
  std::string shared;
  if (r == 0) {
    ByteWriter w;
    put_matrix(w, cp.shared);
    shared = std::move(w.buf);
  }
  mpi::bcast(comm, shared);
  if (r != 0) {
    ByteReader rd(shared, "the shared resume matrix from rank 0");
    cp.shared = get_matrix(rd);
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
        bool ours = name.rfind("CHECKPOINT", 0) == 0 ||
                    (name.rfind("pass", 0) == 0 && name.find(".rank") != std::string::npos);
        if (ours) fs::remove(e.path(), ec);
      }
      fs::remove(dir, ec);  // only if now empty: never removes what someone else put there
    }
  }
  mpi::barrier(comm);
}

}  // namespace melon::pca
