// melon predict: answer questions with a trained autoencoder.
#include "melon/ae/model.hpp"
#include "melon/ae/predict.hpp"
#include "melon/arena/io.hpp"
#include "melon/arena/rules.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/gemm.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::cli {
namespace {

int run_predict(int argc, char** argv) {
  po::options_description d("melon predict: 100 songs and 10 tags per question from a trained autoencoder");
  int threads = 0;
  double cold_shift = 0;
  // clang-format off
  d.add_options()
    ("checkpoint-dir", po::value<std::string>()->required(), "training's --checkpoint-dir")
    ("questions", po::value<std::string>()->required(), "questions (val.json / test.json)")
    ("out", po::value<std::string>()->required(), "results.json to write (rank 0)")
    ("song-meta", po::value<std::string>(), "song_meta.json: validates ids; drops songs released after updt_date")
    ("pca", po::value<std::string>(), "PCA HDF5 (default: the file the training used)")
    ("cold-songs", po::value<std::string>()->default_value("auto"),
     "let songs outside the vocabulary compete by audio: auto (as chosen on held-out data in training) | on | off")
    ("cold-bias-shift", po::value<double>(&cold_shift), "added to the cold songs' calibrated bias (default: as chosen in training)")
    ("weights", po::value<std::string>()->default_value("refit"),
     "refit (trained again on every training playlist for the best epoch count, refit.h5; best.h5 when there is "
     "none) | best (the epoch with the best held-out score, best.h5) | last (the newest checkpoint)")
    ("threads", po::value<int>(&threads)->default_value(0), "threads per rank (0: the CPUs this rank may run on / the ranks sharing them)");
  // clang-format on
  po::variables_map vm;
  if (!parse("predict", d, argc, argv, vm)) return 0;
  check_output_file("--out", vm["out"].as<std::string>());
  util::gemm_backend();  // a bad MELON_GEMM before any reading
  const auto q_path = vm["questions"].as<std::string>();
  auto questions = arena::read_playlists(q_path);
  ae::PredictOptions opt;
  if (vm.count("song-meta")) {
    const auto meta = arena::read_song_meta(vm["song-meta"].as<std::string>());
    arena::check_song_ids(questions, meta.size(), q_path);
    opt.song_dates = arena::song_dates(meta);
  } else if (mpi::rank(mpi::world()) == 0) {
    log::warn("no --song-meta: songs released after a playlist's updt_date are not filtered out");
  }
  auto model = ae::load_model(vm["checkpoint-dir"].as<std::string>(),
                              vm.count("pca") ? vm["pca"].as<std::string>() : std::string(),
                              ae::parse_weights(vm["weights"].as<std::string>()));
  if (const auto cold = vm["cold-songs"].as<std::string>(); cold != "auto")
    model.cold_enabled = parse_bool("cold-songs", cold);
  if (vm.count("cold-bias-shift")) {
    model.cold_shift = cold_shift;
    ae::prepare_cold(model);
  }
  util::ThreadPool pool(mpi::threads_per_rank(threads, mpi::world()));
  auto results = ae::predict(model, questions, opt, pool, mpi::world(), true);
  if (mpi::rank(mpi::world()) == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info("predict: " + std::to_string(results.size()) + " answers -> " + vm["out"].as<std::string>() +
              " (dense products on " + util::gemm_backend().describe + ")");
  }
  return 0;
}

}  // namespace
MELON_COMMAND("predict", "answer questions with a trained autoencoder checkpoint", run_predict);
}  // namespace melon::cli
