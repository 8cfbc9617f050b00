// melon baseline: reference recommenders (the competition's baselines and the
// item-knn / playlist-knn / EASE candidate generators).
#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
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
  check_output_file("--out", vm["out"].as<std::string>());
  const auto name = vm["method"].as<std::string>();
  // Validate the name before reading any file.
  const bool reference = recommend::is_reference(name);
  auto method = reference ? recommend::BaselineMethod::MostPopular : recommend::parse_baseline(name);
  const auto in = read_recommend_inputs(vm);
  auto results = reference ? recommend::run_reference(recommend::parse_reference(name), in.train, in.questions,
                                                      in.meta_ptr(), ref)
                           : recommend::run_baseline(method, in.train, in.questions, in.meta_ptr());
  if (mpi::rank(mpi::world()) == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info(name + ": " + std::to_string(results.size()) + " answers -> " + vm["out"].as<std::string>());
  }
  return 0;
}

}  // namespace
MELON_COMMAND("baseline", "reference recommenders: most-popular, genre-most-popular, item-knn, playlist-knn, ease",
              run);
}  // namespace melon::cli
