// melon pca: distributed randomized PCA of the mel-spectrograms into HDF5.
//
//   mpirun -np P melon pca --mel-dir DIR | --mel-source synthetic:SEED[:N] --out pca.h5
//       [--songs FILE|A-B] --components K --oversample P --power-iters Q --pool W
//       --feature-log on|off --seed S --block B --threads T [--method krylov|power | --single-pass on] [--tol T]
//       [--memory-mb M] [--spill-dir DIR] [--resume]
//
// The job itself is pca::run_job (include/melon/pca/job.hpp): each rank reads
// only its own shard (contiguous in song order, balanced by bytes); see
// rpca.hpp for the algorithm, features.hpp for the feature row and output.hpp
// for the file. Resume state lives in "<out>.state/" beside the output and is
// removed once the output is in place.
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/job.hpp"

namespace melon::cli {
namespace {

int run_pca(int argc, char** argv) {
  po::options_description d(
      "melon pca: distributed randomized PCA (block Krylov or Halko-Martinsson-Tropp power iterations) of the "
      "mel-spectrograms into one HDF5 file.\n"
      "Run under mpirun/srun; each rank reads only its own byte-balanced shard of songs");
  d.add_options()("mel-dir", po::value<std::string>(), "folder holding {id//1000}/{id}.npy")(
      "mel-source", po::value<std::string>(), "procedural spectrograms instead of files: synthetic:SEED[:NSONGS]")(
      "songs", po::value<std::string>(),
      "song ids: a file with one id per line, or a range A-B "
      "(default: every song the source has)")("out", po::value<std::string>()->required(),
                                              "output HDF5 file (resume state goes to <out>.state/)")(
      "components", po::value<int>()->default_value(32), "k: principal components to keep")(
      "oversample", po::value<int>()->default_value(10), "p: extra sketch columns (sketch width k + p)")(
      "power-iters", po::value<int>()->default_value(2),
      "q: power iterations, or Krylov blocks after the first (2q + 2 passes over the data); with --tol, the most "
      "iterations (default then 8)")(
      "tol", po::value<double>()->default_value(0),
      "stop iterating once the top-k singular value estimates (Ritz values) change by at most this much, relative, "
      "in an iteration (e.g. 1e-3; checked from the second iteration on, so at least 4 passes); the pass that "
      "finds it becomes the last, with the bits of a run asked for that many iterations. 0 = exactly "
      "--power-iters. Power method only")(
      "method", po::value<std::string>(),
      "power|krylov (multi-pass; default power): krylov (block Krylov, Musco & Musco 2015) keeps every "
      "power iteration's block and does the final SVD over all of them, as accurate or better for the same passes, "
      "at (q+1)(k+p) doubles a song and a wider last pass; power (Halko et al. 2011) keeps only the last block. "
      "Not with --single-pass")("pool", po::value<int>()->default_value(1),
                                "time pooling: mean over windows of W frames (1 = raw frames)")(
      "feature-log", po::value<std::string>()->default_value("off"),
      "on|off: sign(x)*log1p(|x|) before pooling")("frames", po::value<int>()->default_value(mel::kFrames),
                                                   "fixed length in frames (shorter songs padded "
                                                   "with each band's mean, longer ones cut)")(
      "nonfinite-value", po::value<float>()->default_value(0.0f),
      "replacement for -inf/NaN values (counted in the log and in the output's nonfinite_replaced; a song "
      "with no finite value is skipped and listed)")("seed", po::value<std::uint64_t>()->default_value(0),
                                                     "seed of the random test matrices")(
      "single-pass", po::value<std::string>()->default_value("off"),
      "on|off: one pass over the data (Tropp et al. 2017 streaming sketch) instead of 2q + 2; less accurate, "
      "for when reading the data is the cost")("block", po::value<std::int64_t>()->default_value(256),
                                               "songs per streamed block")(
      "threads", po::value<int>()->default_value(1), "worker threads per rank (feature making and block products)")(
      "memory-mb", po::value<std::string>()->default_value("auto"),
      "memory allowed per rank in MiB: checked against the working set, and feature rows are kept in memory "
      "between passes when they fit in what is left (the same result either way); auto: half of the node's "
      "available memory shared by the ranks on it; 0: always stream the rows from the files")(
      "spill-dir", po::value<std::string>()->default_value(""),
      "local scratch folder: a rank whose feature rows are not kept in memory writes them there in the first pass "
      "(one file, unlinked at once, songs x D x 4 bytes) and reads them back in later passes instead of rereading "
      "and remaking them from the spectrograms; the same result bit for bit (\"\" = no spill)")(
      "resume", po::bool_switch(), "continue from the last finished pass saved in <out>.state/")(
      "checkpoint-every", po::value<double>()->default_value(0),
      "save resume state after a pass only once this many seconds of passes have run since the last save "
      "(0 = after every pass; a save writes D x (k+p) doubles plus each rank's Q, and with krylov its earlier "
      "blocks)")("stop-after-pass", po::value<int>()->default_value(-1),
                 "testing: stop (exit 3) after checkpointing this pass "
                 "(0-based), as if the job had been killed")("quiet", po::bool_switch(), "no per-pass progress lines");
  po::variables_map vm;
  if (!parse("pca", d, argc, argv, vm)) return 0;
  check_output_file("--out", vm["out"].as<std::string>());
  pca::JobOptions o;
  if (vm.count("mel-dir")) o.mel_dir = vm["mel-dir"].as<std::string>();
  if (vm.count("mel-source")) o.mel_source = vm["mel-source"].as<std::string>();
  if (vm.count("songs")) o.songs = vm["songs"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  o.features.pool = vm["pool"].as<int>();
  o.features.frames = vm["frames"].as<int>();
  o.features.log = parse_bool("feature-log", vm["feature-log"].as<std::string>());
  o.features.nonfinite_value = vm["nonfinite-value"].as<float>();
  pca::Options& opt = o.pca;
  opt.components = vm["components"].as<int>();
  opt.oversample = vm["oversample"].as<int>();
  opt.power_iters = vm["power-iters"].as<int>();
  opt.tol = vm["tol"].as<double>();
  if (opt.tol > 0 && vm["power-iters"].defaulted()) opt.power_iters = 8;  // a cap, rarely reached
  opt.seed = vm["seed"].as<std::uint64_t>();
  opt.single_pass = parse_bool("single-pass", vm["single-pass"].as<std::string>());
  if (vm.count("method")) {
    opt.method = pca::parse_method(vm["method"].as<std::string>());
    MELON_CHECK(!opt.single_pass, "melon pca: --method " << pca::method_name(opt.method)
                                                         << " is for the multi-pass PCA; --single-pass on has "
                                                            "no method to choose (drop one of them)");
  }
  opt.block = vm["block"].as<std::int64_t>();
  opt.threads = vm["threads"].as<int>();
  opt.resume = vm["resume"].as<bool>();
  opt.stop_after_pass = vm["stop-after-pass"].as<int>();
  opt.progress = !vm["quiet"].as<bool>();
  opt.spill_dir = vm["spill-dir"].as<std::string>();
  opt.checkpoint_seconds = vm["checkpoint-every"].as<double>();
  o.memory_mb = parse_auto_or_count("memory-mb", vm["memory-mb"].as<std::string>(), 0, -1, " of MiB");
  return pca::run_job(o, mpi::world()) == pca::JobEnd::Stopped ? 3 : 0;
}

}  // namespace
MELON_COMMAND("pca", "distributed randomized PCA of the mel-spectrograms into HDF5", run_pca);
}  // namespace melon::cli
