// melon oracle: the ceiling of a generated dataset (generate/oracle.hpp).
#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/generate/oracle.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run_oracle(int argc, char** argv) {
  po::options_description d(
      "melon oracle: the ceiling of a generated (taste-family) dataset. Answers its questions from the generator's\n"
      "own catalogue and rules: by default the Bayes answer, each playlist's hidden tastes and focus point inferred\n"
      "from what its question shows (no method that learns from the files can beat it but by chance); with\n"
      "--knows playlist, from each playlist's hidden state itself (a looser ceiling). To measure quality targets\n"
      "against; not a recommender. Ranks share the questions; any rank count writes the same file.\n\noptions");
  d.add_options()("data", po::value<std::string>()->required(),
                  "the folder melon generate wrote (its melon-dataset.done names the settings)")(
      "questions", po::value<std::string>()->required(),
      "questions of that dataset: its val.json/test.json, or melon split's questions/val.json of its train.json")(
      "out", po::value<std::string>()->required(), "results.json to write")(
      "knows", po::value<std::string>()->default_value("catalogue"),
      "catalogue: the catalogue and the generator's rules; each playlist's hidden state is inferred from what its "
      "question shows (the Bayes answer: the ceiling for any method that learns from the files). playlist: each "
      "playlist's own hidden state too (a looser ceiling)");
  po::variables_map vm;
  if (!parse("oracle", d, argc, argv, vm)) return 0;
  const auto data = vm["data"].as<std::string>(), qpath = vm["questions"].as<std::string>(),
             out = vm["out"].as<std::string>();
  check_output_file("--out", out);
  const auto knows = generate::parse_oracle_knows(vm["knows"].as<std::string>());
  const auto o = generate::generated_with(data);
  const auto questions = arena::read_playlists(qpath);
  const auto answers = generate::oracle_answers(o, knows, questions, qpath, mpi::world());
  mpi::on_root(mpi::world(), [&] {
    arena::write_results(out, answers);
    log::info("oracle: " + std::to_string(questions.size()) + " answers -> " + out);
  });
  return 0;
}

}  // namespace
MELON_COMMAND("oracle", "the data's ceiling: answers from a generated dataset's hidden state", run_oracle);
}  // namespace melon::cli
