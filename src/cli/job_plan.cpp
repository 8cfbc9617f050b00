#include "melon/cli/job_plan.hpp"

#include <filesystem>

#include "melon/dataset/marker.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {

void add_job_plan_options(po::options_description& d) {
  d.add_options()("mode", po::value<std::string>()->default_value("local"),
                  "local: score on the official local split of DATA/train.json | submit: no split; train on all of "
                  "train.json plus the visible parts of val.json and test.json, and answer both "
                  "(results-val.json, results-test.json)")(
      "data", po::value<std::string>()->required(),
      "dataset folder (Arena files); generated with [generate] settings when it has no train.json")(
      "work", po::value<std::string>()->required(), "output folder for this job's split, results and scores")(
      "methods", po::value<std::string>()->default_value("most-popular,genre-most-popular"),
      "comma-separated reference recommenders to run and score beside the model")(
      "pca", po::value<std::string>()->default_value("on"),
      "on|off: run `melon pca` (needs mel-dir or mel-source in [pca], else reads DATA/arena_mel) and feed the "
      "model its audio vectors")("model", po::value<std::string>()->default_value("on"),
                                 "on|off: train the autoencoder and predict with it")(
      "rerank", po::value<std::string>()->default_value("on"),
      "on|off: the final ranking stage (`melon rerank`: the autoencoder's and the references' candidates "
      "reordered by learned XGBoost rankers); its answers are the job's predictions")(
      "report", po::value<std::string>()->default_value("on"), "on|off: end with the HTML report")(
      "trust-data", po::value<std::string>()->default_value("off")->implicit_value("on"),
      "on|off (the bare flag: on): use a dataset folder that has train.json but no completion marker "
      "(melon-dataset.done), or one whose "
      "JSON files differ from it; without it such a folder is refused");
}

plan::Options job_plan_options(const po::variables_map& vm) {
  plan::Options o;
  o.mode = plan::parse_mode(vm["mode"].as<std::string>());
  o.layout.data = vm["data"].as<std::string>();
  o.layout.work = vm["work"].as<std::string>();
  if (vm.count("config")) {
    o.config = vm["config"].as<std::string>();
    for (const auto& e : read_ini(o.config)) o.job_keys.insert({e.section, e.key});
  }
  o.methods = split_list(vm["methods"].as<std::string>());
  o.pca = parse_bool("pca", vm["pca"].as<std::string>());
  o.model = parse_bool("model", vm["model"].as<std::string>());
  o.rerank = parse_bool("rerank", vm["rerank"].as<std::string>());
  o.report = parse_bool("report", vm["report"].as<std::string>());
  const std::string& data = o.layout.data;
  o.generate = !std::filesystem::exists(data + "/train.json");
  // generate writes the answers too; the real release has none.
  o.answers_known = o.generate || (std::filesystem::exists(o.layout.answer_file("val")) &&
                                   std::filesystem::exists(o.layout.answer_file("test")));
  if (!o.generate) {
    const bool trust = parse_bool("trust-data", vm["trust-data"].as<std::string>());
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
  return o;
}

}  // namespace melon::cli
