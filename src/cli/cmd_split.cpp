// melon split: the official local split of a train.json.
#include <iostream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/split/split.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run_split(int argc, char** argv) {
  po::options_description d(
      "melon split: the official local split (80% train, 20% questions: 30% songs only, "
      "50% songs+tags, 15% tags only, 5% title only)");
  d.add_options()("input", po::value<std::string>()->required(),
                  "train.json to split")("out", po::value<std::string>()->required(),
                                         "output folder: writes orig/train.json, questions/val.json, answers/val.json")(
      "seed", po::value<std::uint64_t>()->default_value(777), "shuffle and mask seed");
  po::variables_map vm;
  if (!parse("split", d, argc, argv, vm)) return 0;
  check_output_dir("--out", vm["out"].as<std::string>());
  if (mpi::rank(mpi::world()) != 0) return 0;  // cheap: one rank does it
  const auto in = vm["input"].as<std::string>(), out = vm["out"].as<std::string>();
  auto s = split::official_split(arena::read_playlists(in), vm["seed"].as<std::uint64_t>());
  for (auto sub : {"/orig", "/questions", "/answers"}) make_dirs(out + sub);
  arena::write_playlists(out + "/orig/train.json", s.train);
  arena::write_playlists(out + "/questions/val.json", s.questions);
  arena::write_playlists(out + "/answers/val.json", s.answers);
  log::info("split " + in + ": " + std::to_string(s.train.size()) + " training playlists, " +
            std::to_string(s.questions.size()) + " questions -> " + out);
  return 0;
}

}  // namespace
MELON_LOCAL_COMMAND("split", "official local split of a train.json into train / questions / answers", run_split);
}  // namespace melon::cli
