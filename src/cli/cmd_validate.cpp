// melon validate: check a dataset folder as released (or generated) before a
// long job; the checks are dataset::validate (include/melon/dataset/validate.hpp).
#include "melon/cli/cli.hpp"
#include "melon/dataset/validate.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::cli {
namespace {

int run(int argc, char** argv) {
  po::options_description d("melon validate: check an Arena dataset folder (train/val/test/song_meta/genre_gn_all)");
  d.add_options()("data", po::value<std::string>()->required(), "folder holding the Arena JSON files")(
      "mel-dir", po::value<std::string>(), "arena_mel folder: also read the mel file of every song used in a playlist")(
      "missing-mel-ok", po::bool_switch(),
      "count songs without a mel file instead of failing (the real tree lacks a few)");
  po::variables_map vm;
  if (!parse("validate", d, argc, argv, vm)) return 0;
  dataset::ValidateOptions o;
  o.data = vm["data"].as<std::string>();
  if (vm.count("mel-dir")) o.mel_dir = vm["mel-dir"].as<std::string>();
  o.missing_mel_ok = vm["missing-mel-ok"].as<bool>();
  return dataset::validate(o, mpi::world()).ok ? 0 : 1;
}

}  // namespace
MELON_COMMAND("validate", "check a dataset folder (JSON files, song ids, genres, mel files) before a long job", run);
}  // namespace melon::cli
