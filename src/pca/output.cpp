#include "melon/pca/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/bytes.hpp"

namespace melon::pca {
namespace {

constexpr std::size_t kMaxReason = 512;

// The file's dataset names: output.hpp documents them; nothing else spells them.
constexpr char kSongIds[] = "song_ids";
constexpr char kScores[] = "scores";
constexpr char kComponents[] = "components";
constexpr char kSingularValues[] = "singular_values";
constexpr char kExplainedVariance[] = "explained_variance";
constexpr char kExplainedVarianceRatio[] = "explained_variance_ratio";
constexpr char kMean[] = "mean";
constexpr char kSkippedSongIds[] = "skipped_song_ids";
constexpr char kSkippedReasons[] = "skipped_reasons";

std::string pack_skipped(const std::vector<SkippedSong>& v) {
  ByteWriter w;
  for (auto& s : v) {
    w.pod<std::int32_t>(s.id);
    w.pod<std::uint32_t>(static_cast<std::uint32_t>(s.reason.size()));
    w.raw(s.reason.data(), s.reason.size());
  }
  return std::move(w.buf);
}

void unpack(const std::string& bytes, std::vector<SkippedSong>& out) {
  ByteReader rd(bytes, "the skipped songs gathered from the ranks");
  while (!rd.done()) {
    SkippedSong s;
    s.id = rd.pod<std::int32_t>();
    s.reason.resize(rd.pod<std::uint32_t>());
    rd.raw(s.reason.data(), s.reason.size());
    out.push_back(std::move(s));
  }
}

}  // namespace

void write_output(MPI_Comm comm, const std::string& path, const Result& r, const std::vector<arena::SongId>& local_ids,
                  const std::vector<SkippedSong>& skipped, const Attributes& attrs) {
  const bool par = comm != MPI_COMM_NULL;
  const int rank = par ? mpi::rank(comm) : 0;
  // Every step ends in a collective check, so a rank that fails (cannot
  // create the file, disk full) makes every rank throw instead of leaving the
  // others inside the next collective HDF5 call.
  auto check = [&](const std::string& err) {
    if (par) mpi::throw_if_any(comm, err);
    else if (!err.empty()) throw Error(err);
  };
  MELON_ASSERT(static_cast<std::int64_t>(local_ids.size()) == r.scores.rows(),
               "song ids (" << local_ids.size() << ") and score rows (" << r.scores.rows() << ") differ");
  const hsize_t N = static_cast<hsize_t>(r.rows_total), K = static_cast<hsize_t>(r.k), D = static_cast<hsize_t>(r.dim);

  std::vector<SkippedSong> all_skipped;
  if (par) {
    for (auto& part : mpi::allgather_bytes(comm, pack_skipped(skipped))) unpack(part, all_skipped);
  } else {
    all_skipped = skipped;
  }
  std::sort(all_skipped.begin(), all_skipped.end(),
            [](const SkippedSong& a, const SkippedSong& b) { return a.id < b.id; });
  const hsize_t S = all_skipped.size();
  std::size_t width = 1;
  for (auto& s : all_skipped) width = std::max(width, std::min(s.reason.size(), kMaxReason));

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (par) mpi::bcast(comm, tmp);
  const bool writer = rank == 0;
  std::optional<h5::File> f;
  std::string err;
  struct RemoveTemp {  // anything but a finished rename leaves no temp file behind
    const std::string& tmp;
    bool armed;
    ~RemoveTemp() {
      if (armed) std::remove(tmp.c_str());
    }
  } guard{tmp, writer};

  try {
    f.emplace(h5::File::create(tmp, par ? comm : MPI_COMM_NULL));
  } catch (const Error& e) {
    err = e.what();
  }
  check(err);
  try {
    const hsize_t my_rows = local_ids.size(), row0 = static_cast<hsize_t>(r.row_offset);
    {
      auto d = h5::Dataset::create(*f, kSongIds, h5::Type::I32, {N}, {std::min<hsize_t>(N, 1 << 16)});
      d.write_rows(row0, my_rows, local_ids.data());
    }
    {
      // ~1 MiB chunks of whole rows: a reader of some songs touches few chunks.
      hsize_t chunk_rows = std::min<hsize_t>(N, std::max<hsize_t>(1, (1u << 18) / K));
      auto d = h5::Dataset::create(*f, kScores, h5::Type::F32, {N, K}, {chunk_rows, K});
      std::vector<float> buf(my_rows * K);
      for (hsize_t i = 0; i < my_rows; ++i)
        for (hsize_t j = 0; j < K; ++j) buf[i * K + j] = static_cast<float>(r.scores(i, j));
      d.write_rows(row0, my_rows, buf.data());
    }
    auto replicated = [&](const char* name, std::vector<hsize_t> dims, const double* data) {
      auto d = h5::Dataset::create(*f, name, h5::Type::F64, dims);
      d.write_rows(0, writer ? dims[0] : 0, data);
    };
    {
      Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> comp = r.components;
      replicated(kComponents, {K, D}, comp.data());
    }
    replicated(kSingularValues, {K}, r.singular_values.data());
    replicated(kExplainedVariance, {K}, r.explained_variance.data());
    replicated(kExplainedVarianceRatio, {K}, r.explained_variance_ratio.data());
    replicated(kMean, {D}, r.mean.data());
    {
      auto d = h5::Dataset::create(*f, kSkippedSongIds, h5::Type::I32, {S});
      std::vector<std::int32_t> ids(S);
      for (hsize_t i = 0; i < S; ++i) ids[i] = all_skipped[i].id;
      if (S > 0) d.write_rows(0, writer ? S : 0, ids.data());
    }
    {
      auto d = h5::Dataset::create_strings(*f, kSkippedReasons, S, width);
      std::vector<std::string> reasons;
      if (writer)
        for (auto& s : all_skipped) reasons.push_back(s.reason);
      if (S > 0) d.write_strings(0, reasons);
    }
    for (auto& [k, v] : attrs.text) f->set_attr(k, v);
    for (auto& [k, v] : attrs.ints) f->set_attr(k, v);
    for (auto& [k, v] : attrs.reals) f->set_attr(k, v);
    f->set_attr("n_songs", static_cast<std::int64_t>(N));
    f->set_attr("n_skipped", static_cast<std::int64_t>(S));
    f->set_attr("n_components", static_cast<std::int64_t>(K));
    f->set_attr("feature_dim", static_cast<std::int64_t>(D));
    f->set_attr("sketch_width", static_cast<std::int64_t>(r.sketch));
    f->set_attr("total_variance", r.total_variance);
    f->set_attr("nonfinite_replaced", r.nonfinite_total);
    f->set_attr("melon_version", std::string(MELON_VERSION));
  } catch (const Error& e) {
    err = e.what();
  }
  check(err);
  try {
    f->close();
  } catch (const Error& e) {
    err = e.what();
  }
  check(err);
  if (par) mpi::barrier(comm);
  if (writer) {
    try {
      commit_rename(tmp, path);
      guard.armed = false;
    } catch (const Error& e) {
      err = e.what();
    }
  }
  check(err);
}

Scores read_scores(const std::string& path) {
  auto f = h5::File::open(path, MPI_COMM_NULL);
  auto sd = h5::Dataset::open(f, kScores).dims();
  auto id_dims = h5::Dataset::open(f, kSongIds).dims();
  MELON_CHECK(sd.size() == 2, path << ": dataset '" << kScores << "' must be 2-D (songs x components)");
  MELON_CHECK(id_dims.size() == 1 && id_dims[0] == sd[0], path << ": '" << kSongIds
                                                               << "' must be 1-D with one entry per row of '" << kScores
                                                               << "' (" << sd[0] << ")");
  Scores s;
  s.ids = h5::read_all<arena::SongId>(f, kSongIds);
  s.scores = h5::read_all<float>(f, kScores);
  s.dim = static_cast<int>(sd[1]);
  return s;
}

}  // namespace melon::pca
