// melon pipeline: the whole job from one jobs/*.ini, every stage in the same
// MPI job: generate (if the data folder has no train.json; one that has it
// must carry its completion marker, dataset/marker.hpp) -> official split
// -> PCA of the spectrograms -> autoencoder training -> predictions, plus the
// reference recommenders -> the final ranking stage over all of them (the
// job's predictions, results.json) -> evaluate, then one score table on rank 0.
// Each stage is the same code as its subcommand, called with the job file and
// the paths the pipeline chose, so a stage run alone behaves identically.
// The work folder is locked for the run (util/dir_lock.hpp); stages lock
// their own folders inside it (checkpoints, pca.h5.state), never this one.
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/dataset/marker.hpp"
#include "melon/error.hpp"
#include "melon/eval/score_table.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/report/report.hpp"
#include "melon/report/run_facts.hpp"
#include "melon/train/signals.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/dir_lock.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

void run_stage(const std::string& name, std::vector<std::string> args) {
  const Command* c = find_command(name);
  MELON_ASSERT(c, "stage " << name << " is not built in");
  args.insert(args.begin(), name);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (mpi::rank(mpi::world()) == 0) {
    std::string line = "stage: melon";
    for (auto& a : args) line += " " + a;
    log::info(line);
  }
  int rc = c->run(static_cast<int>(argv.size()), argv.data());
  MELON_CHECK(!mpi::any(mpi::world(), rc != 0), "stage '" << name << "' failed (exit code " << rc << " on some rank)");
  mpi::barrier(mpi::world());  // later stages read what this one wrote
  report::mark_stage(mpi::world(), name, args);
}

int run(int argc, char** argv) {
  po::options_description d("melon pipeline: generate-if-needed -> split -> recommend -> evaluate, from one job file");
  d.add_options()("data", po::value<std::string>()->required(),
                  "dataset folder (Arena files); generated with [generate] settings when it has no train.json")(
      "work", po::value<std::string>()->required(), "output folder for this job's split, results and scores")(
      "methods", po::value<std::string>()->default_value("most-popular,genre-most-popular"),
      "comma-separated reference recommenders to run and score beside the model")(
      "pca", po::value<std::string>()->default_value("on"),
      "on|off: run `melon pca` (needs mel-dir or mel-source in [pca]) and feed the model its audio vectors")(
      "model", po::value<std::string>()->default_value("on"), "on|off: train the autoencoder and predict with it")(
      "rerank", po::value<std::string>()->default_value("on"),
      "on|off: the final ranking stage (`melon rerank`: the autoencoder's and the references' candidates "
      "reordered by learned XGBoost rankers); its answers are the job's predictions")(
      "trust-data", po::bool_switch(),
      "use a dataset folder that has train.json but no completion marker (melon-dataset.done), or one whose "
      "JSON files differ from it; without it such a folder is refused");
  po::variables_map vm;
  if (!parse("pipeline", d, argc, argv, vm)) return 0;
  const auto data = vm["data"].as<std::string>(), work = vm["work"].as<std::string>();
  const std::string config = vm.count("config") ? vm["config"].as<std::string>() : "";
  auto with_config = [&](std::vector<std::string> a) {
    if (!config.empty()) a.push_back("--config=" + config);
    return a;
  };
  check_output_dir("--work", work);
  const bool generate = !std::filesystem::exists(data + "/train.json");
  if (generate) check_output_dir("--data", data);
  std::optional<DirLock> lock;
  mpi::on_root(mpi::world(), [&] { lock.emplace(work); });

  if (generate) {
    run_stage("generate", with_config({"--out=" + data}));
  } else {
    const bool trust = vm["trust-data"].as<bool>();
    mpi::on_root(mpi::world(), [&] {
      const auto problem = dataset::check_marker(data);
      if (problem.empty()) {
        log::info(data + " is a complete dataset (" + dataset::kMarkerName + " matches its JSON files)");
      } else {
        MELON_CHECK(trust, problem << "; refusing to run on it without --trust-data (or remove " << data
                                   << " to generate it again)");
        log::warn(problem + "; using it anyway (--trust-data)");
      }
    });
  }

  const std::string split_dir = work + "/split";
  run_stage("split", with_config({"--input=" + data + "/train.json", "--out=" + split_dir}));

  std::vector<std::pair<std::string, std::string>> results;
  const std::string train = split_dir + "/orig/train.json", questions_path = split_dir + "/questions/val.json",
                    meta = data + "/song_meta.json";
  const bool use_pca = parse_bool("pca", vm["pca"].as<std::string>());
  const std::string pca_out = work + "/pca.h5";
  if (use_pca) run_stage("pca", with_config({"--out=" + pca_out}));
  const bool use_model = parse_bool("model", vm["model"].as<std::string>());
  if (use_model) {
    std::vector<std::string> audio;
    if (use_pca) audio.push_back("--pca=" + pca_out);
    auto train_args = with_config({"--train=" + train, "--questions=" + questions_path, "--song-meta=" + meta,
                                   "--checkpoint-dir=" + work + "/checkpoints", "--resume=auto"});
    train_args.insert(train_args.end(), audio.begin(), audio.end());
    run_stage("train", train_args);
    // A stop signal during training left a checkpoint: end here, as train
    // does, so the job's time limit is not spent on stages that a rerun
    // (which resumes from that checkpoint) does again anyway.
    if (mpi::any(mpi::world(), train::stop_requested())) {
      if (mpi::rank(mpi::world()) == 0)
        log::info(
            "pipeline: training was stopped by a signal after a checkpoint; skipping the later stages: exit 0, "
            "rerun the same command to continue");
      return 0;
    }
    const std::string out = work + "/results-autoencoder.json";
    auto predict_args = with_config({"--checkpoint-dir=" + work + "/checkpoints", "--questions=" + questions_path,
                                     "--song-meta=" + meta, "--out=" + out});
    predict_args.insert(predict_args.end(), audio.begin(), audio.end());
    run_stage("predict", predict_args);
    results.emplace_back("autoencoder", out);
  }
  if (parse_bool("rerank", vm["rerank"].as<std::string>())) {
    const std::string out = work + "/results.json";
    auto args = with_config({"--train=" + train, "--questions=" + questions_path, "--song-meta=" + meta, "--out=" + out,
                             "--model-dir=" + work + "/ranker"});
    if (use_model) args.push_back("--checkpoint-dir=" + work + "/checkpoints");
    if (use_pca) args.push_back("--pca=" + pca_out);
    run_stage("rerank", args);
    results.insert(results.begin(), {"melon (reranked)", out});
  }
  for (auto& m : split_list(vm["methods"].as<std::string>())) {
    const std::string out = work + "/results-" + m + ".json";
    run_stage("baseline", with_config({"--method=" + m, "--train=" + train, "--questions=" + questions_path,
                                       "--song-meta=" + meta, "--out=" + out}));
    results.emplace_back(m, out);
  }

  report::write_run_facts(mpi::world(), work, config, data);
  if (mpi::rank(mpi::world()) != 0) return 0;
  auto answers = arena::read_results(split_dir + "/answers/val.json");
  auto questions = arena::read_playlists(questions_path);
  auto scores = eval::score_table(answers, questions, results);
  AtomicFile f(work + "/scores.json");
  f.write(scores.json);
  f.commit();
  std::cout << "\nscores on the official local split of " << data << "/train.json (" << questions.size()
            << " questions):\n"
            << scores.text << "(also in " << work << "/scores.json)\n"
            << std::flush;
  report::write_report(report::for_work(work, meta), work + "/report.html");
  std::cout << "report: " << work << "/report.html\n" << std::flush;
  return 0;
}

}  // namespace
MELON_COMMAND("pipeline", "the whole job from one jobs/*.ini: generate-if-needed, split, recommend, evaluate", run);
}  // namespace melon::cli
