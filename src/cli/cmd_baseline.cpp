// melon baseline: reference recommenders (the competition's baselines and the
// item-knn / playlist-knn / EASE candidate generators).
#include "melon/ae/checkpoint.hpp"
#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/recommend/fitted_io.hpp"
#include "melon/recommend/references.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::cli {
namespace {

// The playlists the autoencoder held out (the reranker learns on them).
// Only the ids are read: best.h5's weights can be gigabytes.
std::vector<std::int64_t> held_out_ids(const std::string& dir) {
  auto ids = ae::read_held_out(dir);
  MELON_CHECK(ids,
              dir << ": no usable checkpoint (best.h5, ckpt-*.h5); run melon train first, or drop --checkpoint-dir");
  MELON_CHECK(!ids->empty(), dir << ": the checkpoint records no held-out playlists (trained with --val-size 0)");
  return std::move(*ids);
}

int run_baseline(int argc, char** argv) {
  po::options_description d("melon baseline: answer every question with a reference recommender");
  d.add_options()("method", po::value<std::string>()->required(),
                  "most-popular | genre-most-popular | item-knn | playlist-knn | ease | mixture")(
      "train", po::value<std::string>()->required(), "training playlists (train.json)")(
      "questions", po::value<std::string>()->required(), "questions (val.json / test.json)")(
      "song-meta", po::value<std::string>(),
      "song_meta.json (needed by genre-most-popular; validates song ids; enables the release-date rule)")(
      "out", po::value<std::string>()->required(), "results.json to write (rank 0)")(
      "tune", po::value<std::string>()->default_value("on"),
      "on|off: choose item-knn/playlist-knn/ease/mixture hyperparameters on held-out training playlists (a value "
      "given with --alpha, --beta, --neighbours, --power, --ease-lambda or --mixture-clusters is kept)")(
      "checkpoint-dir", po::value<std::string>(),
      "the autoencoder's checkpoints: hold out its held-out playlists (the reranker's learning questions); "
      "without it, the reranker's own draw")(
      "fitted", po::value<std::string>(),
      "write the fit on the held-out split to DIR/<method>.h5 (+ .json: the tuning trials) for `melon rerank "
      "--fitted DIR`; an existing fit of the same data and settings is reused")(
      "threads", po::value<int>()->default_value(0),
      "threads per rank for the references' answers and the mixture's fit (0: the CPUs this rank may run on / the "
      "ranks sharing them); the "
      "answers are the same for any count");
  recommend::ReferenceRun rr;
  auto& ref = rr.opt;
  add_reference_options(d, ref);
  po::variables_map vm;
  if (!parse("baseline", d, argc, argv, vm)) return 0;
  check_output_file("--out", vm["out"].as<std::string>());
  const auto name = vm["method"].as<std::string>();
  // Validate the name before reading any file.
  const bool reference = recommend::is_reference(name);
  auto method = reference ? recommend::BaselineMethod::MostPopular : recommend::parse_baseline(name);
  rr.tune = parse_bool("tune", vm["tune"].as<std::string>());
  for (const char* o : {"alpha", "beta", "neighbours", "power", "ease-lambda", "mixture-clusters"})
    if (!vm[o].defaulted()) rr.pinned.push_back(o);
  if (vm.count("fitted")) {
    MELON_CHECK(reference,
                "--fitted: " << name << " is not a reference recommender (item-knn|playlist-knn|ease|mixture)");
    const auto dir = vm["fitted"].as<std::string>();
    check_output_dir("--fitted", dir);
    rr.fitted = recommend::fitted_path(dir, recommend::parse_reference(name));
  }
  if (reference && vm.count("checkpoint-dir")) rr.held_out = held_out_ids(vm["checkpoint-dir"].as<std::string>());
  const int threads = mpi::threads_per_rank(vm["threads"].as<int>(), mpi::world());
  const auto in = read_recommend_inputs(vm);
  util::ThreadPool pool(threads);
  // threads_per_rank logs a count it chose; one given is logged here.
  if (reference && vm["threads"].as<int>() > 0 && mpi::rank(mpi::world()) == 0)
    log::info(name + ": " + std::to_string(threads) + " threads a rank");
  auto results = reference ? recommend::run_reference(recommend::parse_reference(name), in.train, in.questions,
                                                      in.meta_ptr(), rr, pool)
                           : recommend::run_baseline(method, in.train, in.questions, in.meta_ptr());
  if (mpi::rank(mpi::world()) == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info(name + ": " + std::to_string(results.size()) + " answers -> " + vm["out"].as<std::string>());
  }
  return 0;
}

}  // namespace
MELON_COMMAND("baseline",
              "reference recommenders: most-popular, genre-most-popular, item-knn, playlist-knn, ease, mixture",
              run_baseline);
}  // namespace melon::cli
