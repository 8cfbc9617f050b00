// melon rerank: the final ranking stage (rank/rerank.hpp): pools the
// autoencoder's and the reference recommenders' candidates and orders them
// with XGBoost rank:ndcg models learned on held-out training playlists.
#include <filesystem>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/rank/rerank.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run_rerank(int argc, char** argv) {
  po::options_description d("melon rerank: pooled candidates reordered by learned XGBoost rankers");
  rank::RerankOptions o;
  int rounds = o.songs.rounds, tag_rounds = o.tags.rounds, depth = o.songs.max_depth;
  double eta = o.songs.eta, subsample = o.songs.subsample, colsample = o.songs.colsample_bytree,
         min_child_weight = o.songs.min_child_weight, lambda = o.songs.lambda;
  std::int64_t seed = 1;
  // clang-format off
  d.add_options()
    ("train", po::value<std::string>()->required(), "training playlists (the file the autoencoder trained on)")
    ("questions", po::value<std::string>()->required(), "questions (val.json / test.json)")
    ("out", po::value<std::string>()->required(), "results.json to write (rank 0)")
    ("song-meta", po::value<std::string>(), "song_meta.json: artist/album/genre/date features and the release-date rule")
    ("checkpoint-dir", po::value<std::string>(), "the autoencoder's checkpoints: a candidate source, and its held-out "
     "playlists become the learning questions (without it: references only, own held-out slice)")
    ("weights", po::value<std::string>()->default_value("refit"),
     "the autoencoder's weights: refit (learning on best.h5, whose held-out playlists it never saw; answering "
     "with refit.h5, trained on every playlist, when there is one and --refit is on) | best (best held-out epoch, "
     "best.h5) | last (newest checkpoint)")
    ("pca", po::value<std::string>(), "PCA HDF5: audio similarity feature (and the autoencoder's audio)")
    ("references", po::value<std::string>()->default_value("item-knn,playlist-knn,ease"),
     "comma-separated reference recommenders used as candidate sources (may be empty; item-knn, playlist-knn, "
     "ease, mixture)")
    ("tune", po::value<std::string>()->default_value("on"), "on|off: tune the references it fits itself on the "
     "held-out split, as `melon baseline` does (a value given with --alpha, --beta, --neighbours, --power, "
     "--ease-lambda or --mixture-clusters is kept)")
    ("fitted", po::value<std::string>(), "the references stage's held-out fits (DIR/<method>.h5, written by `melon "
     "baseline --fitted DIR`): loaded instead of fitted again, with their tuned settings")
    ("ae-source", po::value<std::string>()->default_value("on"),
     "on|off: off leaves the autoencoder's candidates out but keeps its held-out slice and audio (the ablation "
     "that changes nothing else; needs --checkpoint-dir)")
    ("refit", po::value<std::string>()->default_value("on"),
     "on|off: the references that answer the questions are fitted again on every training playlist, with the "
     "settings the held-out split chose (off: the fits that left the held-out slice out answer too)")
    ("title-source", po::value<std::string>()->default_value("on"), "on|off: item-knn over the title's tokens as a source")
    ("ranker", po::value<std::string>()->default_value("learned"),
     "learned (XGBoost rank:ndcg) | fusion (reciprocal-rank fusion of the sources, nothing learned: an ablation)")
    ("song-models", po::value<int>()->default_value(1),
     "1: one song ranker; 2: a second one for questions that show no songs (tags only, title only)")
    ("learn-copies", po::value<std::int64_t>(&o.learn_copies)->default_value(o.learn_copies),
     "learning questions made from each held-out playlist, each of another question type and mask")
    ("no-song-copies", po::value<std::string>()->default_value("off"),
     "on|off: learn also on a no-songs question made from each held-out playlist")
    ("audio", po::value<std::string>()->default_value("on"), "on|off: the audio similarity feature")
    ("titles", po::value<std::string>()->default_value("on"), "on|off: off blanks every title (ablation)")
    ("songs-per-source", po::value<std::size_t>(&o.songs_per_source)->default_value(o.songs_per_source),
     "songs each source adds to the pool")
    ("tags-per-source", po::value<std::size_t>(&o.tags_per_source)->default_value(o.tags_per_source),
     "tags each source adds to the pool")
    ("learn-questions", po::value<std::int64_t>(&o.learn_questions)->default_value(o.learn_questions),
     "held-out learning questions when there is no autoencoder (with one: its --val-size)")
    ("valid-share", po::value<double>(&o.valid_share)->default_value(o.valid_share, num(o.valid_share)),
     "share of the learning questions kept aside to report the rankers' nDCG")
    ("rounds", po::value<int>(&rounds)->default_value(rounds), "boosting rounds of the song ranker")
    ("tag-rounds", po::value<int>(&tag_rounds)->default_value(tag_rounds), "boosting rounds of the tag ranker")
    ("patience-rounds", po::value<int>(&o.patience_rounds)->default_value(o.patience_rounds),
     "a ranker stops once its validation nDCG has not improved for this many rounds (0: all rounds, keeping the "
     "best)")
    ("eta", po::value<double>(&eta)->default_value(eta, num(eta)), "learning rate of both rankers")
    ("max-depth", po::value<int>(&depth)->default_value(depth), "tree depth of both rankers")
    ("subsample", po::value<double>(&subsample)->default_value(subsample, num(subsample)),
     "share of the learning rows each tree of both rankers sees (XGBoost's subsample, (0, 1])")
    ("colsample", po::value<double>(&colsample)->default_value(colsample, num(colsample)),
     "share of the features each tree of both rankers may split on (XGBoost's colsample_bytree, (0, 1])")
    ("min-child-weight", po::value<double>(&min_child_weight)->default_value(min_child_weight, num(min_child_weight)),
     "least hessian sum in a leaf of both rankers (XGBoost's min_child_weight, >= 0)")
    ("lambda", po::value<double>(&lambda)->default_value(lambda, num(lambda)),
     "L2 penalty on the leaf weights of both rankers (XGBoost's lambda, >= 0)")
    ("seed", po::value<std::int64_t>(&seed)->default_value(seed), "masking of the learning questions; XGBoost's seed")
    ("model-dir", po::value<std::string>(), "write the two ranker models (XGBoost JSON) and their feature lists here")
    ("threads", po::value<int>(&o.threads)->default_value(0), "threads per rank (0: the CPUs this rank may run on / the ranks sharing them)")
    ("ranker-threads", po::value<int>(&o.ranker_threads)->default_value(o.ranker_threads),
     "threads the rankers learn with (XGBoost); the answers follow this count, so it is fixed rather than "
     "taken from the node");
  // clang-format on
  add_reference_options(d, o.ref);
  po::variables_map vm;
  if (!parse("rerank", d, argc, argv, vm)) return 0;
  check_output_file("--out", vm["out"].as<std::string>());
  if (vm.count("model-dir")) check_output_dir("--model-dir", vm["model-dir"].as<std::string>());
  o.references = split_list(vm["references"].as<std::string>());
  for (auto& r : o.references)
    MELON_CHECK(recommend::is_reference(r),
                "--references: unknown reference '" << r << "' (item-knn|playlist-knn|ease|mixture)");
  o.title_source = parse_bool("title-source", vm["title-source"].as<std::string>());
  const auto ranker = vm["ranker"].as<std::string>();
  MELON_CHECK(ranker == "learned" || ranker == "fusion", "--ranker: '" << ranker << "' is not learned|fusion");
  o.learned = ranker == "learned";
  const int song_models = vm["song-models"].as<int>();
  MELON_CHECK(song_models == 1 || song_models == 2, "--song-models must be 1 or 2");
  o.split_song_model = song_models == 2;
  o.no_song_copies = parse_bool("no-song-copies", vm["no-song-copies"].as<std::string>());
  o.use_audio = parse_bool("audio", vm["audio"].as<std::string>());
  o.use_titles = parse_bool("titles", vm["titles"].as<std::string>());
  o.tune_references = parse_bool("tune", vm["tune"].as<std::string>());
  o.refit_on_all = parse_bool("refit", vm["refit"].as<std::string>());
  o.ae_source = parse_bool("ae-source", vm["ae-source"].as<std::string>());
  MELON_CHECK(o.ae_source || vm.count("checkpoint-dir"),
              "--ae-source off needs --checkpoint-dir (whose held-out "
              "slice and audio it keeps)");
  for (const char* name : {"alpha", "beta", "neighbours", "power", "ease-lambda", "mixture-clusters"})
    if (!vm[name].defaulted()) o.pinned.push_back(name);
  MELON_CHECK(o.learn_copies >= 1 && o.learn_copies <= 20, "--learn-copies must be in [1, 20], got " << o.learn_copies);
  MELON_CHECK(rounds > 0 && tag_rounds > 0, "--rounds and --tag-rounds must be positive");
  MELON_CHECK(o.patience_rounds >= 0, "--patience-rounds must be >= 0, got " << o.patience_rounds);
  MELON_CHECK(o.ranker_threads >= 1, "--ranker-threads must be >= 1, got " << o.ranker_threads);
  MELON_CHECK(eta > 0 && depth > 0, "--eta and --max-depth must be positive");
  MELON_CHECK(o.valid_share >= 0 && o.valid_share < 1, "--valid-share must be in [0, 1)");
  MELON_CHECK(subsample > 0 && subsample <= 1, "--subsample must be in (0, 1], got " << subsample);
  MELON_CHECK(colsample > 0 && colsample <= 1, "--colsample must be in (0, 1], got " << colsample);
  MELON_CHECK(min_child_weight >= 0 && lambda >= 0, "--min-child-weight and --lambda must be >= 0");
  o.songs.rounds = rounds;
  o.tags.rounds = tag_rounds;
  o.songs.eta = o.tags.eta = eta;
  o.songs.max_depth = o.tags.max_depth = depth;
  o.songs.subsample = o.tags.subsample = subsample;
  o.songs.colsample_bytree = o.tags.colsample_bytree = colsample;
  o.songs.min_child_weight = o.tags.min_child_weight = min_child_weight;
  o.songs.lambda = o.tags.lambda = lambda;
  o.seed = static_cast<std::uint64_t>(seed);
  o.songs.seed = o.tags.seed = o.seed;
  o.songs.eval_metric = "ndcg@100";
  o.tags.eval_metric = "ndcg@10";
  if (vm.count("model-dir")) {
    o.model_dir = vm["model-dir"].as<std::string>();
    if (mpi::rank(mpi::world()) == 0) std::filesystem::create_directories(o.model_dir);
  }

  const auto data = read_recommend_inputs(vm);
  if (!data.has_meta && mpi::rank(mpi::world()) == 0)
    log::warn("no --song-meta: no artist/album/genre/date features, no release-date rule");
  rank::RerankInputs in;
  in.train = &data.train;
  in.questions = &data.questions;
  in.meta = data.meta_ptr();
  if (vm.count("checkpoint-dir")) in.checkpoint_dir = vm["checkpoint-dir"].as<std::string>();
  in.weights = ae::parse_weights(vm["weights"].as<std::string>());
  if (vm.count("pca")) in.pca = vm["pca"].as<std::string>();
  if (vm.count("fitted")) in.fitted = vm["fitted"].as<std::string>();
  auto results = rank::rerank(in, o);
  if (mpi::rank(mpi::world()) == 0) {
    arena::write_results(vm["out"].as<std::string>(), results);
    log::info("rerank: " + std::to_string(results.size()) + " answers -> " + vm["out"].as<std::string>());
  }
  return 0;
}

}  // namespace
MELON_COMMAND("rerank", "final ranking stage: autoencoder + references pooled, reordered by XGBoost rank:ndcg",
              run_rerank);
}  // namespace melon::cli
