// melon baseline: reference recommenders (the competition's baselines and the
// item-knn / playlist-knn / EASE candidate generators).
#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/recommend/references.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run(int argc, char** argv) {
  po::options_description d("melon baseline: answer every question with a reference recommender");
  d.add_options()("method", po::value<std::string>()->required(),
                  "most-popular | genre-most-popular | item-knn | playlist-knn | ease")(
      "train", po::value<std::string>()->required(), "training playlists (train.json)")(
      "questions", po::value<std::string>()->required(), "questions (val.json / test.json)")(
      "song-meta", po::value<std::string>(),
      "song_meta.json (needed by genre-most-popular; validates song ids; enables the release-date rule)")(
      "out", po::value<std::string>()->required(), "results.json to write (rank 0)");
  recommend::ReferenceOptions ref;
  add_reference_options(d, ref);
  po::variables_map vm;
  if (!parse("baseline", d, argc, argv, vm)) return 0;
  const auto name = vm["method"].as<std::string>();
  // Validate the name before reading any file.
  const bool reference = recommend::is_reference(name);
  auto method = reference ? recommend::BaselineMethod::MostPopular : recommend::parse_baseline(name);
  const auto train_path = vm["train"].as<std::string>(), q_path = vm["questions"].as<std::string>();
  auto train = arena::read_playlists(train_path);
  auto questions = arena::read_playlists(q_path);
  arena::SongMeta meta;
  if (vm.count("song-meta")) {
    meta = arena::read_song_meta(vm["song-meta"].as<std::string>());
    arena::check_song_ids(train, meta.size(), train_path);
    arena::check_song_ids(questions, meta.size(), q_path);
  }
  const auto* meta_ptr = vm.count("song-meta") ? &meta : nullptr;
  auto results = reference
                     ? recommend::run_reference(recommend::parse_reference(name), train, questions, meta_ptr, ref)
                     : recommend::run_baseline(method, train, questions, meta_ptr);
  if (mpi::rank() == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info(name + ": " + std::to_string(results.size()) + " answers -> " + vm["out"].as<std::string>());
  }
  return 0;
}

}  // namespace
MELON_COMMAND("baseline", "reference recommenders: most-popular, genre-most-popular, item-knn, playlist-knn, ease", run);
}  // namespace melon::cli
