// melon evaluate: the official metric, with a per-question-type breakdown;
// with --table, every method of a job against the same answers (the plan's
// evaluate stage: one table, and scores.json for the report).
#include <iostream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/eval/score_table.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"

namespace melon::cli {
namespace {

// "NAME=PATH" -> (NAME, PATH); the name cannot hold '=', the path can.
std::pair<std::string, std::string> table_entry(const std::string& v) {
  const auto eq = v.find('=');
  MELON_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < v.size(),
              "--table " << v << ": expected NAME=PATH (a method's label and its results.json)");
  return {v.substr(0, eq), v.substr(eq + 1)};
}

int table(const po::variables_map& vm) {
  std::vector<std::pair<std::string, std::string>> results;
  for (const auto& v : vm["table"].as<std::vector<std::string>>()) results.push_back(table_entry(v));
  MELON_CHECK(vm.count("questions"), "--table needs --questions (the table has a row per question type)");
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "";
  if (!out.empty()) check_output_file("--out", out);
  if (mpi::rank(mpi::world()) != 0) return 0;
  const auto questions_path = vm["questions"].as<std::string>();
  const auto answers = arena::read_results(vm["answers"].as<std::string>());
  const auto questions = arena::read_playlists(questions_path);
  const auto scores = eval::score_table(answers, questions, results);
  if (!out.empty()) {
    AtomicFile f(out);
    f.write(scores.json);
    f.commit();
  }
  std::cout << "\nscores on the " << questions.size() << " questions of " << questions_path << ":\n"
            << scores.text << (out.empty() ? "" : "(also in " + out + ")\n") << std::flush;
  return 0;
}

int run_evaluate(int argc, char** argv) {
  po::options_description d("melon evaluate: score a results.json against an answer file (official metric and rules)");
  d.add_options()("answers", po::value<std::string>()->required(), "answer file (playlist format: id, songs, tags)")(
      "results", po::value<std::string>(), "results.json to score")(
      "questions", po::value<std::string>(), "question file: enables the per-question-type breakdown")(
      "json", po::bool_switch(), "print one JSON object instead of the table")(
      "table", po::value<std::vector<std::string>>()->composing(),
      "NAME=PATH, repeated: score every method's results.json and print one table (needs --questions)")(
      "out", po::value<std::string>(), "with --table: also write the table as JSON (scores.json) here");
  po::variables_map vm;
  if (!parse("evaluate", d, argc, argv, vm)) return 0;
  const bool one = vm.count("results") > 0, many = vm.count("table") > 0;
  MELON_CHECK(one != many, "melon evaluate: give either --results FILE or --table NAME=PATH (repeated)");
  MELON_CHECK(!vm.count("out") || many, "melon evaluate: --out goes with --table");
  if (many) return table(vm);
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
MELON_LOCAL_COMMAND("evaluate", "score results.json with the official metric (song nDCG@100, tag nDCG@10)",
                    run_evaluate);
}  // namespace melon::cli
