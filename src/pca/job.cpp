// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized inside
// Eigen's packet reductions (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/pca/job.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/output.hpp"
#include "melon/pca/shard.hpp"
#include "melon/pca/source.hpp"
#include "melon/pca/state.hpp"
#include "melon/util/bytes.hpp"
#include "melon/util/dir_lock.hpp"
#include "melon/util/hash.hpp"
#include "melon/util/log.hpp"
#include "melon/util/memory.hpp"

namespace melon::pca {
namespace {

// Every pass allocates its D x l accumulators and buffers anew (tens of MB);
// above glibc's mmap threshold each free gave them back to the kernel and
// each pass faulted and zeroed them again: a third of this process's page
// faults, and on every rank however many there are (at 2 ranks, raw frames,
// the orthonormalisation of Z took ~75 ms a power iteration, ~50 ms with the
// pages kept). Kept in the heap, later passes reuse them. The row cache is
// mapped by itself (FloatBuffer) and is not affected.
void keep_freed_pages() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void check_options(const JobOptions& o) {
  MELON_CHECK(o.mel_dir.empty() != o.mel_source.empty(),
              "melon pca: give exactly one of --mel-dir DIR and --mel-source synthetic:SEED[:NSONGS]");
  validate(o.features);
  MELON_CHECK(o.pca.seed <= static_cast<std::uint64_t>(INT64_MAX), "--seed must be below 2^63");
  MELON_CHECK(o.pca.checkpoint_seconds >= 0, "--checkpoint-every must be >= 0");
}

// A bad --out must fail now, not after hours of passes.
void check_out_writable(MPI_Comm comm, const std::string& out) {
  std::string err;
  if (mpi::rank(comm) == 0) {
    auto slash = out.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : out.substr(0, slash));
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
      err = "--out " + out + ": cannot write in " + parent + " (" + std::strerror(errno) + ")";
  }
  mpi::throw_if_any(comm, err);
}

// Rank 0 reads the song list once; everyone gets it.
std::vector<arena::SongId> song_list(MPI_Comm comm, const MelSource& source, const JobOptions& o,
                                     const std::string& label) {
  std::string bytes;
  std::int64_t duplicates = 0;
  mpi::collective(comm, [&] {
    if (mpi::rank(comm) == 0) bytes = to_bytes(o.songs ? parse_song_list(*o.songs, &duplicates) : source.all_ids());
  });
  mpi::bcast(comm, bytes);
  std::vector<arena::SongId> ids = from_bytes<arena::SongId>(bytes);
  MELON_CHECK(!ids.empty(), "melon pca: the song list " << label << " is empty");
  if (mpi::rank(comm) == 0 && duplicates > 0)
    log::warn("pca: " + std::to_string(duplicates) + " duplicate ids in " + label + " ignored");
  return ids;
}

struct Shards {
  std::vector<arena::SongId> mine;         // this rank's songs, in order
  std::vector<SkippedSong> skipped;        // songs missing before sharding: listed by rank 0
  std::int64_t missing = 0;                // their count, on every rank
  std::vector<mpi::Range> ranges;          // every rank's shard of the present songs
  std::vector<std::int64_t> present_cost;  // bytes of each present song
};

// One stat() per song spread over the ranks, then contiguous byte-balanced
// shards of the songs that exist.
Shards shard_songs(MPI_Comm comm, const MelSource& source, const std::vector<arena::SongId>& ids) {
  const int rank = mpi::rank(comm);
  auto costs = costs_everywhere(comm, static_cast<std::int64_t>(ids.size()),
                                [&](std::int64_t i) { return source.cost(ids[i], nullptr); });
  Shards s;
  std::vector<arena::SongId> present;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (costs[i] >= 0) {
      present.push_back(ids[i]);
      s.present_cost.push_back(costs[i]);
      continue;
    }
    ++s.missing;
    if (rank == 0) {
      std::string why;
      source.cost(ids[i], &why);
      s.skipped.push_back({ids[i], why.empty() ? "missing" : why});
    }
  }
  MELON_CHECK(!present.empty(), "melon pca: no readable rows: none of the "
                                    << ids.size() << " listed songs has data in " << source.describe()
                                    << (s.skipped.empty() ? "" : " (first: " + s.skipped[0].reason + ")"));
  s.ranges = partition_by_cost(s.present_cost, mpi::size(comm));
  const auto mine = s.ranges[static_cast<std::size_t>(rank)];
  s.mine.assign(present.begin() + mine.begin, present.begin() + mine.end);
  return s;
}

// Rank 0's opening line: the input, the shards' spread and the settings; then the songs skipped so far.
void log_plan(const JobOptions& o, const MelSource& source, std::size_t n_listed, const Shards& s) {
  std::int64_t lo = INT64_MAX, hi = 0;
  double blo = 1e300, bhi = 0;
  for (auto& r : s.ranges) {
    lo = std::min(lo, r.end - r.begin);
    hi = std::max(hi, r.end - r.begin);
    double b = 0;
    for (auto i = r.begin; i < r.end; ++i) b += s.present_cost[i];
    blo = std::min(blo, b);
    bhi = std::max(bhi, b);
  }
  const Options& opt = o.pca;
  std::ostringstream os;
  os << "pca: " << n_listed << " songs from " << source.describe() << " (" << s.missing << " missing), "
     << s.ranges.size() << " ranks, " << lo << ".." << hi << " songs and " << static_cast<std::int64_t>(blo / 1e6)
     << ".." << static_cast<std::int64_t>(bhi / 1e6) << " MB per rank; features: " << describe(o.features)
     << "; k=" << opt.components << " p=" << opt.oversample << " q=" << opt.power_iters
     << (opt.tol > 0 ? " (at most, --tol " + std::to_string(opt.tol) + ")" : std::string())
     << (opt.single_pass ? " single-pass" : std::string(" method=") + method_name(opt.method)) << " block=" << opt.block
     << " threads=" << opt.threads;
  log::info(os.str());
  for (std::size_t i = 0; i < s.skipped.size() && i < 10; ++i)
    log::warn("pca: skipping song " + std::to_string(s.skipped[i].id) + ": " + s.skipped[i].reason);
  if (s.skipped.size() > 10) log::warn("pca: ... and " + std::to_string(s.skipped.size() - 10) + " more missing songs");
}

// Bytes of feature rows a rank may keep in memory between passes. --memory-mb
// M: M MiB a rank, and an allowance below the working set is an error on
// every rank; 0: none (always stream). auto (memory_mb < 0, the default):
// half of what the node has available, shared by the ranks on the node, so
// rows stay in memory whenever they fit and large inputs stream as before;
// kept or streamed, the passes give the same bits.
std::int64_t cache_budget(MPI_Comm comm, std::int64_t memory_mb, const SongRows& rows, const Options& opt) {
  if (memory_mb == 0) return 0;
  // Beyond the working set: the process itself, MPI and HDF5 (~64 MiB).
  const std::int64_t need = planned_bytes(rows.size(), rows.dim(), opt) + (64ll << 20);
  if (memory_mb < 0) {
    const std::int64_t available = util::available_memory_bytes();
    const int on_node = mpi::node_size(comm);
    const std::int64_t share = available < 0 ? 0 : available / 2 / on_node;
    if (mpi::rank(comm) == 0 && opt.progress)
      log::info("pca: --memory-mb auto: " + std::to_string(share >> 20) + " MiB a rank (half of the node's " +
                std::to_string(std::max<std::int64_t>(available, 0) >> 20) + " MiB available, over its " +
                std::to_string(on_node) + " ranks), " + std::to_string(std::max<std::int64_t>(share - need, 0) >> 20) +
                " MiB of it for feature rows after the working set");
    return std::max<std::int64_t>(share - need, 0);
  }
  const std::int64_t allowed = memory_mb << 20;
  std::string err;
  if (need > allowed)
    err = "--memory-mb " + std::to_string(memory_mb) + " is below this rank's working set of about " +
          std::to_string(need >> 20) + " MiB (" + std::to_string(rows.size()) +
          " songs, D = " + std::to_string(rows.dim()) + "); lower --block or add ranks";
  mpi::throw_if_any(comm, err);
  return allowed - need;
}

// The job's part of the resume fingerprint (rpca adds the algorithm's settings).
std::string fingerprint(const MelSource& source, const std::string& label, const std::vector<arena::SongId>& ids,
                        const FeatureSpec& spec) {
  std::ostringstream fp;
  fp << "input=" << source.describe() << "\nsongs=" << label << " n=" << ids.size()
     << " hash=" << hex64(fnv1a64(ids.data(), ids.size() * sizeof(arena::SongId))) << "\nfeatures=" << describe(spec)
     << "\n";
  return fp.str();
}

std::string mode(const Options& opt) {
  if (opt.single_pass) return "single-pass (Tropp et al. 2017)";
  if (opt.method == Method::Krylov) return "multi-pass, block Krylov (Musco & Musco 2015)";
  return "multi-pass (Halko et al. 2011)";  // the power method's words from before Krylov existed
}

Attributes attributes(const JobOptions& o, const Result& res, const MelSource& source, std::int64_t n_listed,
                      int nranks, const std::string& label) {
  const Options& opt = o.pca;
  const FeatureSpec& spec = o.features;
  Attributes attrs;
  attrs.ints = {{"k", opt.components},
                {"oversample", opt.oversample},
                {"power_iters", opt.power_iters},
                {"power_iters_run", res.iterations},
                {"passes", res.passes_total},
                {"seed", static_cast<std::int64_t>(opt.seed)},
                {"pool", spec.pool},
                {"frames", spec.frames},
                {"ranks", nranks},
                {"block", opt.block},
                {"threads", opt.threads},
                {"n_listed", n_listed},
                {"qr_shifted_steps", res.qr_shifted_steps}};
  attrs.reals = {{"nonfinite_value", static_cast<double>(spec.nonfinite_value)}, {"tol", opt.tol}};
  attrs.text = {{"feature_log", spec.log ? "on" : "off"},
                {"feature_log_transform", spec.log ? "sign(x)*log1p(|x|), before pooling" : "none"},
                {"feature_pad", "short songs padded with each band's mean over the frames present; longer cut"},
                {"feature_layout", "band-major: row[b * windows + j], mean over windows of `pool` frames"},
                {"features", describe(spec)},
                {"input", source.describe()},
                {"input_kind", o.mel_dir.empty() ? "mel-source" : "mel-dir"},
                {"songs", label},
                {"mode", mode(opt)},
                {"qr", "CholeskyQR2, shifted CholeskyQR3 when ill-conditioned"},
                {"scores_definition", "Q U S: the centred rows projected on the components"}};
  return attrs;
}

void log_summary(const std::string& out, const Result& res, std::int64_t missing, double secs) {
  double ratio = res.explained_variance_ratio.sum(), flops = 0, pass_s = 0;
  for (auto& p : res.passes) {
    flops += p.flops;
    pass_s += p.seconds;
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "pca: wrote %s: %lld songs x %d components (D = %d), %lld skipped, explained variance %.4f; "
                "%d passes in %.2f s (%.2f GFLOP/s), total %.2f s",
                out.c_str(), static_cast<long long>(res.rows_total), res.k, res.dim,
                static_cast<long long>(missing + res.skipped_total), ratio, static_cast<int>(res.passes.size()), pass_s,
                flops / std::max(pass_s, 1e-9) / 1e9, secs);
  log::info(buf);
}

}  // namespace

JobEnd run_job(const JobOptions& o, MPI_Comm comm) {
  keep_freed_pages();
  const auto t_start = std::chrono::steady_clock::now();
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);
  check_options(o);
  Options opt = o.pca;
  opt.state_dir = o.out + ".state";
  opt.comm = comm;

  check_out_writable(comm, o.out);
  // Whether rows will be spilled is known only after the first pass; a bad
  // scratch folder is a typo to report now, on whichever rank lacks it.
  if (!opt.spill_dir.empty())
    mpi::collective(comm, [&] {
      MELON_CHECK(::access(opt.spill_dir.c_str(), W_OK | X_OK) == 0,
                  "--spill-dir " << opt.spill_dir << ": not a writable folder on this rank (" << std::strerror(errno)
                                 << ")");
    });
  // Another pca writing to the same --out would clear or overwrite this
  // run's resume state. The folder goes again on release once empty, so a
  // run that fails before its first checkpoint leaves no X.state behind.
  std::optional<DirLock> lock;
  mpi::on_root(comm, [&] { lock.emplace(opt.state_dir, /*remove_if_empty=*/true); });
  std::unique_ptr<MelSource> source = o.mel_dir.empty() ? open_synthetic(o.mel_source) : open_mel_dir(o.mel_dir);
  const std::string label = o.songs ? *o.songs : "all";
  const std::vector<arena::SongId> ids = song_list(comm, *source, o, label);
  Shards shards = shard_songs(comm, *source, ids);
  SongRows rows(*source, shards.mine, o.features);
  if (rank == 0) log_plan(o, *source, ids.size(), shards);
  opt.cache_bytes = cache_budget(comm, o.memory_mb, rows, opt);
  opt.fingerprint = fingerprint(*source, label, ids, o.features);

  Result res;
  try {
    res = run(rows, opt);
  } catch (const Stopped& s) {
    if (rank == 0)
      log::info("pca: stopped after pass " + std::to_string(s.pass + 1) + " as asked (--stop-after-pass); state in " +
                opt.state_dir + ", continue with --resume");
    return JobEnd::Stopped;
  }

  // Songs skipped while reading: reasons logged here (a few per rank), all listed in the file.
  std::vector<SkippedSong> skipped = std::move(shards.skipped);
  for (std::size_t i = 0; i < res.skipped.size(); ++i) {
    const auto& s = res.skipped[i];
    skipped.push_back({rows.ids()[static_cast<std::size_t>(s.candidate)], s.reason});
    if (i < 5) log::warn("pca: skipped song " + std::to_string(skipped.back().id) + ": " + s.reason);
  }
  if (res.skipped.size() > 5)
    log::warn("pca: ... and " + std::to_string(res.skipped.size() - 5) + " more unreadable songs on this rank");
  std::vector<arena::SongId> local_ids(res.rows.size());
  for (std::size_t i = 0; i < res.rows.size(); ++i) local_ids[i] = rows.ids()[static_cast<std::size_t>(res.rows[i])];

  write_output(comm, o.out, res, local_ids, skipped,
               attributes(o, res, *source, static_cast<std::int64_t>(ids.size()), nranks, label));
  remove_state(comm, opt.state_dir);

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  log_peak_memory(comm, "pca:");
  if (rank == 0) log_summary(o.out, res, shards.missing, secs);
  return JobEnd::Written;
}

}  // namespace melon::pca
