// melon baseline: reference recommenders (the competition's baselines and the
// item-knn / playlist-knn / EASE candidate generators).
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/recommend/references.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

// Short text for a default in --help ("0.1", not "0.10000000000000001").
std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void add_reference_options(po::options_description& d, recommend::ReferenceOptions& o) {
  d.add_options()("tag-weight", po::value<double>(&o.tag_weight)->default_value(o.tag_weight, num(o.tag_weight)),
                  "item-knn/playlist-knn/ease: weight of a shown tag relative to a shown song")(
      "title-weight", po::value<double>(&o.title_weight)->default_value(o.title_weight, num(o.title_weight)),
      "weight of a title token (questions without songs only; 0: ignore titles)")(
      "alpha", po::value<double>(&o.alpha)->default_value(o.alpha, num(o.alpha)),
      "item-knn: damping exponent on the question item's count")(
      "beta", po::value<double>(&o.beta)->default_value(o.beta, num(o.beta)), "item-knn: damping exponent on the candidate's count")(
      "neighbours", po::value<std::int64_t>(&o.neighbours)->default_value(o.neighbours),
      "playlist-knn: neighbour playlists K")(
      "power", po::value<double>(&o.power)->default_value(o.power, num(o.power)), "playlist-knn: a neighbour votes similarity^power")(
      "ease-songs", po::value<std::int64_t>(&o.ease_songs)->default_value(o.ease_songs),
      "ease: the most frequent songs as columns")(
      "ease-tags", po::value<std::int64_t>(&o.ease_tags)->default_value(o.ease_tags),
      "ease: the most frequent tags as columns")(
      "ease-tokens", po::value<std::int64_t>(&o.ease_tokens)->default_value(o.ease_tokens),
      "ease: the most frequent title tokens as (input-only) columns")(
      "ease-lambda", po::value<double>(&o.ease_lambda)->default_value(o.ease_lambda, num(o.ease_lambda)), "ease: L2 penalty lambda");
}

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
