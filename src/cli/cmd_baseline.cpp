// melon baseline: reference recommenders (the competition's baselines).
#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run(int argc, char** argv) {
  po::options_description d("melon baseline: answer every question with a reference recommender");
  d.add_options()("method", po::value<std::string>()->required(), "most-popular | genre-most-popular")(
      "train", po::value<std::string>()->required(), "training playlists (train.json)")(
      "questions", po::value<std::string>()->required(), "questions (val.json / test.json)")(
      "song-meta", po::value<std::string>(), "song_meta.json (needed by genre-most-popular; validates song ids)")(
      "out", po::value<std::string>()->required(), "results.json to write (rank 0)");
  po::variables_map vm;
  if (!parse("baseline", d, argc, argv, vm)) return 0;
  auto method = recommend::parse_baseline(vm["method"].as<std::string>());
  const auto train_path = vm["train"].as<std::string>(), q_path = vm["questions"].as<std::string>();
  auto train = arena::read_playlists(train_path);
  auto questions = arena::read_playlists(q_path);
  arena::SongMeta meta;
  if (vm.count("song-meta")) {
    meta = arena::read_song_meta(vm["song-meta"].as<std::string>());
    arena::check_song_ids(train, meta.size(), train_path);
    arena::check_song_ids(questions, meta.size(), q_path);
  }
  auto results = recommend::run_baseline(method, train, questions, vm.count("song-meta") ? &meta : nullptr);
  if (mpi::rank() == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info(vm["method"].as<std::string>() + ": " + std::to_string(results.size()) + " answers -> " +
              vm["out"].as<std::string>());
  }
  return 0;
}

}  // namespace
MELON_COMMAND("baseline", "reference recommenders: most-popular, genre-most-popular", run);
}  // namespace melon::cli
