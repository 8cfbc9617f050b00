// melon pca: distributed randomized PCA of the mel-spectrograms into HDF5.
//
//   mpirun -np P melon pca --mel-dir DIR | --mel-source synthetic:SEED[:N] --out pca.h5
//       [--songs FILE|A-B] --components K --oversample P --power-iters Q --pool W
//       --feature-log on|off --seed S --block B --threads T [--single-pass on]
//       [--memory-mb M] [--spill-dir DIR] [--resume]
//
// Each rank reads only its own shard (contiguous in song order, balanced by
// bytes); see include/melon/pca/rpca.hpp for the algorithm, features.hpp for
// the feature row and output.hpp for the file. Threads: one per rank by
// default; Eigen's GEMM is single-threaded here (no OpenMP), and --threads T
// splits each block's feature making and products over T std::threads.
// Resume state lives in "<out>.state/" beside the output and is removed once
// the output is in place.
// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized inside
// Eigen's packet reductions (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "melon/cli/cli.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/features.hpp"
#include "melon/pca/output.hpp"
#include "melon/pca/rpca.hpp"
#include "melon/pca/shard.hpp"
#include "melon/pca/source.hpp"
#include "melon/pca/state.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

std::string hex64(std::uint64_t x) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

std::uint64_t hash_ids(const std::vector<arena::SongId>& ids) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto id : ids) {
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<std::uint32_t>(id) >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return h;
}

std::string ids_to_bytes(const std::vector<arena::SongId>& ids) {
  return std::string(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(arena::SongId));
}

std::vector<arena::SongId> bytes_to_ids(const std::string& b) {
  std::vector<arena::SongId> ids(b.size() / sizeof(arena::SongId));
  if (!ids.empty()) std::memcpy(ids.data(), b.data(), ids.size() * sizeof(arena::SongId));
  return ids;
}

int run(int argc, char** argv) {
  // Every pass allocates its D x l accumulators and buffers anew (tens of MB);
  // above glibc's mmap threshold each free gave them back to the kernel and
  // each pass faulted and zeroed them again: a third of this process's page
  // faults, and on every rank however many there are (at 2 ranks, raw frames,
  // the orthonormalisation of Z took ~75 ms a power iteration, ~50 ms with the
  // pages kept). Kept in the heap, later passes reuse them. The row cache is
  // mapped by itself (FloatBuffer) and is not affected.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  po::options_description d(
      "melon pca: distributed randomized PCA (Halko-Martinsson-Tropp) of the mel-spectrograms into one HDF5 file.\n"
      "Run under mpirun/srun; each rank reads only its own byte-balanced shard of songs");
  d.add_options()
      ("mel-dir", po::value<std::string>(), "folder holding {id//1000}/{id}.npy")
      ("mel-source", po::value<std::string>(), "procedural spectrograms instead of files: synthetic:SEED[:NSONGS]")
      ("songs", po::value<std::string>(), "song ids: a file with one id per line, or a range A-B "
                                          "(default: every song the source has)")
      ("out", po::value<std::string>()->required(), "output HDF5 file (resume state goes to <out>.state/)")
      ("components", po::value<int>()->default_value(32), "k: principal components to keep")
      ("oversample", po::value<int>()->default_value(10), "p: extra sketch columns (sketch width k + p)")
      ("power-iters", po::value<int>()->default_value(2), "q: power iterations (2q + 2 passes over the data)")
      ("pool", po::value<int>()->default_value(1), "time pooling: mean over windows of W frames (1 = raw frames)")
      ("feature-log", po::value<std::string>()->default_value("off"), "on|off: sign(x)*log1p(|x|) before pooling")
      ("frames", po::value<int>()->default_value(mel::kFrames), "fixed length in frames (shorter songs padded "
                                                               "with each band's mean, longer ones cut)")
      ("nonfinite-value", po::value<float>()->default_value(0.0f), "replacement for -inf/NaN values (counted)")
      ("seed", po::value<std::uint64_t>()->default_value(0), "seed of the random test matrices")
      ("single-pass", po::value<std::string>()->default_value("off"),
       "on|off: one pass over the data (Tropp et al. 2017 streaming sketch) instead of 2q + 2; less accurate, "
       "for when reading the data is the cost")
      ("block", po::value<std::int64_t>()->default_value(256), "songs per streamed block")
      ("threads", po::value<int>()->default_value(1), "worker threads per rank (feature making and block products)")
      ("memory-mb", po::value<std::int64_t>()->default_value(0),
       "memory allowed per rank in MiB: checked against the working set, and feature rows are kept in memory "
       "between passes when they fit in what is left (0 = no limit, always stream)")
      ("spill-dir", po::value<std::string>()->default_value(""),
       "local scratch folder: a rank whose feature rows are not kept in memory writes them there in the first pass "
       "(one file, unlinked at once, songs x D x 4 bytes) and reads them back in later passes instead of rereading "
       "and remaking them from the spectrograms; the same result bit for bit (\"\" = no spill)")
      ("resume", po::bool_switch(), "continue from the last finished pass saved in <out>.state/")
      ("checkpoint-every", po::value<double>()->default_value(0),
       "save resume state after a pass only once this many seconds of passes have run since the last save "
       "(0 = after every pass; a save writes D x (k+p) doubles plus each rank's Q)")
      ("stop-after-pass", po::value<int>()->default_value(-1), "testing: stop (exit 3) after checkpointing this pass "
                                                               "(0-based), as if the job had been killed")
      ("quiet", po::bool_switch(), "no per-pass progress lines");
  po::variables_map vm;
  if (!parse("pca", d, argc, argv, vm)) return 0;
  const auto t_start = std::chrono::steady_clock::now();
  MPI_Comm comm = mpi::world();
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);

  MELON_CHECK(vm.count("mel-dir") + vm.count("mel-source") == 1,
              "melon pca: give exactly one of --mel-dir DIR and --mel-source synthetic:SEED[:NSONGS]");
  const std::string out = vm["out"].as<std::string>();
  pca::FeatureSpec spec;
  spec.pool = vm["pool"].as<int>();
  spec.frames = vm["frames"].as<int>();
  spec.log = parse_bool("feature-log", vm["feature-log"].as<std::string>());
  spec.nonfinite_value = vm["nonfinite-value"].as<float>();
  pca::validate(spec);
  pca::Options opt;
  opt.components = vm["components"].as<int>();
  opt.oversample = vm["oversample"].as<int>();
  opt.power_iters = vm["power-iters"].as<int>();
  opt.seed = vm["seed"].as<std::uint64_t>();
  MELON_CHECK(opt.seed <= static_cast<std::uint64_t>(INT64_MAX), "--seed must be below 2^63");
  opt.single_pass = parse_bool("single-pass", vm["single-pass"].as<std::string>());
  opt.block = vm["block"].as<std::int64_t>();
  opt.threads = vm["threads"].as<int>();
  opt.resume = vm["resume"].as<bool>();
  opt.stop_after_pass = vm["stop-after-pass"].as<int>();
  opt.progress = !vm["quiet"].as<bool>();
  opt.state_dir = out + ".state";
  opt.spill_dir = vm["spill-dir"].as<std::string>();
  opt.checkpoint_seconds = vm["checkpoint-every"].as<double>();
  MELON_CHECK(opt.checkpoint_seconds >= 0, "--checkpoint-every must be >= 0");
  opt.comm = comm;
  const std::int64_t memory_mb = vm["memory-mb"].as<std::int64_t>();
  MELON_CHECK(memory_mb >= 0, "--memory-mb must be >= 0");

  // A bad --out must fail now, not after hours of passes.
  {
    std::string err;
    if (rank == 0) {
      auto slash = out.find_last_of('/');
      const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : out.substr(0, slash));
      if (::access(parent.c_str(), W_OK | X_OK) != 0)
        err = "--out " + out + ": cannot write in " + parent + " (" + std::strerror(errno) + ")";
    }
    mpi::throw_if_any(comm, err);
  }
  std::unique_ptr<pca::MelSource> source = vm.count("mel-dir") ? pca::open_mel_dir(vm["mel-dir"].as<std::string>())
                                                               : pca::open_synthetic(vm["mel-source"].as<std::string>());
  const std::string songs_spec = vm.count("songs") ? vm["songs"].as<std::string>() : "all";

  // Rank 0 reads the song list once; everyone gets it.
  std::string bytes, error;
  std::int64_t duplicates = 0;
  if (rank == 0) {
    try {
      bytes = ids_to_bytes(vm.count("songs") ? pca::parse_song_list(songs_spec, &duplicates) : source->all_ids());
    } catch (const Error& e) {
      error = e.what();
    }
  }
  mpi::throw_if_any(comm, error);
  mpi::bcast(comm, bytes);
  const std::vector<arena::SongId> ids = bytes_to_ids(bytes);
  MELON_CHECK(!ids.empty(), "melon pca: the song list " << songs_spec << " is empty");
  if (rank == 0 && duplicates > 0)
    log::warn("pca: " + std::to_string(duplicates) + " duplicate ids in " + songs_spec + " ignored");

  // Sharding: one stat() per song spread over the ranks, then contiguous
  // byte-balanced shards of the songs that exist.
  auto costs = pca::costs_everywhere(comm, static_cast<std::int64_t>(ids.size()),
                                     [&](std::int64_t i) { return source->cost(ids[i], nullptr); });
  std::vector<arena::SongId> present;
  std::vector<std::int64_t> present_cost;
  std::vector<pca::SkippedSong> skipped;  // songs missing before sharding: listed by rank 0
  std::int64_t missing = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (costs[i] >= 0) {
      present.push_back(ids[i]);
      present_cost.push_back(costs[i]);
      continue;
    }
    ++missing;
    if (rank == 0) {
      std::string why;
      source->cost(ids[i], &why);
      skipped.push_back({ids[i], why.empty() ? "missing" : why});
    }
  }
  MELON_CHECK(!present.empty(), "melon pca: no readable rows: none of the " << ids.size() << " listed songs has data in "
                                  << source->describe() << (skipped.empty() ? "" : " (first: " + skipped[0].reason + ")"));
  auto shards = pca::partition_by_cost(present_cost, nranks);
  const auto mine = shards[static_cast<std::size_t>(rank)];
  std::vector<arena::SongId> my_ids(present.begin() + mine.begin, present.begin() + mine.end);
  pca::SongRows rows(*source, my_ids, spec);
  if (rank == 0) {
    std::int64_t lo = INT64_MAX, hi = 0;
    double blo = 1e300, bhi = 0;
    for (auto& s : shards) {
      lo = std::min(lo, s.end - s.begin);
      hi = std::max(hi, s.end - s.begin);
      double b = 0;
      for (auto i = s.begin; i < s.end; ++i) b += present_cost[i];
      blo = std::min(blo, b);
      bhi = std::max(bhi, b);
    }
    std::ostringstream os;
    os << "pca: " << ids.size() << " songs from " << source->describe() << " (" << missing << " missing), "
       << nranks << " ranks, " << lo << ".." << hi << " songs and " << static_cast<std::int64_t>(blo / 1e6) << ".."
       << static_cast<std::int64_t>(bhi / 1e6) << " MB per rank; features: " << pca::describe(spec)
       << "; k=" << opt.components << " p=" << opt.oversample << " q=" << opt.power_iters
       << (opt.single_pass ? " single-pass" : "") << " block=" << opt.block << " threads=" << opt.threads;
    log::info(os.str());
    for (std::size_t i = 0; i < skipped.size() && i < 10; ++i)
      log::warn("pca: skipping song " + std::to_string(skipped[i].id) + ": " + skipped[i].reason);
    if (skipped.size() > 10) log::warn("pca: ... and " + std::to_string(skipped.size() - 10) + " more missing songs");
  }

  if (memory_mb > 0) {
    const std::int64_t allowed = memory_mb << 20;
    // Beyond the working set: the process itself, MPI and HDF5 (~64 MiB).
    const std::int64_t need = pca::planned_bytes(rows.size(), rows.dim(), opt) + (64ll << 20);
    std::string err;
    if (need > allowed)
      err = "--memory-mb " + std::to_string(memory_mb) + " is below this rank's working set of about " +
            std::to_string(need >> 20) + " MiB (" + std::to_string(rows.size()) + " songs, D = " +
            std::to_string(rows.dim()) + "); lower --block or add ranks";
    mpi::throw_if_any(comm, err);
    opt.cache_bytes = allowed - need;
  }

  std::ostringstream fp;
  fp << "input=" << source->describe() << "\nsongs=" << songs_spec << " n=" << ids.size() << " hash=" << hex64(hash_ids(ids))
     << "\nfeatures=" << pca::describe(spec) << "\n";
  opt.fingerprint = fp.str();

  pca::Result res;
  try {
    res = pca::run(rows, opt);
  } catch (const pca::Stopped& s) {
    if (rank == 0)
      log::info("pca: stopped after pass " + std::to_string(s.pass + 1) + " as asked (--stop-after-pass); state in " +
                opt.state_dir + ", continue with --resume");
    return 3;
  }

  // Songs skipped while reading: reasons logged here (a few per rank), all listed in the file.
  for (std::size_t i = 0; i < res.skipped.size(); ++i) {
    const auto& s = res.skipped[i];
    skipped.push_back({rows.ids()[static_cast<std::size_t>(s.candidate)], s.reason});
    if (i < 5) log::warn("pca: skipped song " + std::to_string(skipped.back().id) + ": " + s.reason);
  }
  if (res.skipped.size() > 5)
    log::warn("pca: ... and " + std::to_string(res.skipped.size() - 5) + " more unreadable songs on this rank");
  std::vector<arena::SongId> local_ids(res.rows.size());
  for (std::size_t i = 0; i < res.rows.size(); ++i) local_ids[i] = rows.ids()[static_cast<std::size_t>(res.rows[i])];

  pca::Attributes attrs;
  attrs.ints = {{"k", opt.components},
                {"oversample", opt.oversample},
                {"power_iters", opt.power_iters},
                {"seed", static_cast<std::int64_t>(opt.seed)},
                {"pool", spec.pool},
                {"frames", spec.frames},
                {"ranks", nranks},
                {"block", opt.block},
                {"threads", opt.threads},
                {"n_listed", static_cast<std::int64_t>(ids.size())},
                {"qr_shifted_steps", res.qr_shifted_steps}};
  attrs.reals = {{"nonfinite_value", static_cast<double>(spec.nonfinite_value)}};
  attrs.text = {{"feature_log", spec.log ? "on" : "off"},
                {"feature_log_transform", spec.log ? "sign(x)*log1p(|x|), before pooling" : "none"},
                {"feature_pad", "short songs padded with each band's mean over the frames present; longer cut"},
                {"feature_layout", "band-major: row[b * windows + j], mean over windows of `pool` frames"},
                {"features", pca::describe(spec)},
                {"input", source->describe()},
                {"input_kind", vm.count("mel-dir") ? "mel-dir" : "mel-source"},
                {"songs", songs_spec},
                {"mode", opt.single_pass ? "single-pass (Tropp et al. 2017)" : "multi-pass (Halko et al. 2011)"},
                {"qr", "CholeskyQR2, shifted CholeskyQR3 when ill-conditioned"},
                {"scores_definition", "Q U S: the centred rows projected on the components"}};
  pca::write_output(comm, out, res, local_ids, skipped, attrs);
  pca::remove_state(comm, opt.state_dir);

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  pca::log_peak_memory(comm, "pca:");
  if (rank == 0) {
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
                  static_cast<long long>(missing + res.skipped_total), ratio,
                  static_cast<int>(res.passes.size()), pass_s, flops / std::max(pass_s, 1e-9) / 1e9, secs);
    log::info(buf);
  }
  return 0;
}

}  // namespace
MELON_COMMAND("pca", "distributed randomized PCA of the mel-spectrograms into HDF5", run);
}  // namespace melon::cli
