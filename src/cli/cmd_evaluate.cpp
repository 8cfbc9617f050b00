// melon evaluate: the official metric, with a per-question-type breakdown.
#include <iostream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::cli {
namespace {

int run(int argc, char** argv) {
  po::options_description d("melon evaluate: score a results.json against an answer file (official metric and rules)");
  d.add_options()("answers", po::value<std::string>()->required(), "answer file (playlist format: id, songs, tags)")(
      "results", po::value<std::string>()->required(), "results.json to score")(
      "questions", po::value<std::string>(), "question file: enables the per-question-type breakdown")(
      "json", po::bool_switch(), "print one JSON object instead of the table");
  po::variables_map vm;
  if (!parse("evaluate", d, argc, argv, vm)) return 0;
  if (mpi::rank(mpi::world()) != 0) return 0;
  auto answers = arena::read_results(vm["answers"].as<std::string>());
  const auto results_path = vm["results"].as<std::string>();
  auto results = arena::read_results(results_path);
  std::vector<arena::Playlist> questions;
  if (vm.count("questions")) questions = arena::read_playlists(vm["questions"].as<std::string>());
  eval::Report rep;
  try {
    rep = eval::evaluate(answers, results, vm.count("questions") ? &questions : nullptr);
  } catch (const Error& e) {
    throw Error(results_path + ": rejected by the official rules: " + e.what());
  }
  std::cout << (vm["json"].as<bool>() ? eval::to_json(rep) + "\n" : eval::format_table(rep)) << std::flush;
  return 0;
}

}  // namespace
MELON_COMMAND("evaluate", "score results.json with the official metric (song nDCG@100, tag nDCG@10)", run);
}  // namespace melon::cli
