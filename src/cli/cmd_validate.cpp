// melon validate: check a dataset folder as released (or generated) before a
// long job; the checks are dataset::validate (include/melon/dataset/validate.hpp).
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/dataset/marker.hpp"
#include "melon/dataset/validate.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run_validate(int argc, char** argv) {
  po::options_description d("melon validate: check an Arena dataset folder (train/val/test/song_meta/genre_gn_all)");
  d.add_options()("data", po::value<std::string>()->required(), "folder holding the Arena JSON files")(
      "mel-dir", po::value<std::string>(), "arena_mel folder: also read the mel file of every song used in a playlist")(
      "missing-mel-ok", po::bool_switch(),
      "count songs without a mel file instead of failing (the real tree lacks a few)")(
      "mark", po::bool_switch(),
      "when every check passes, write DATA/melon-dataset.done (the completion marker `melon pipeline` "
      "requires: a manifest of the JSON files' sizes and hashes); the only file validate writes");
  po::variables_map vm;
  if (!parse("validate", d, argc, argv, vm)) return 0;
  dataset::ValidateOptions o;
  o.data = vm["data"].as<std::string>();
  if (vm.count("mel-dir")) o.mel_dir = vm["mel-dir"].as<std::string>();
  o.missing_mel_ok = vm["missing-mel-ok"].as<bool>();
  const bool mark = vm["mark"].as<bool>();
  if (mark) check_output_file("--mark", dataset::marker_path(o.data));
  const auto v = dataset::validate(o, mpi::world());
  if (!v.ok) return 1;
  if (mark) {
    const std::string origin = o.mel_dir.empty() ? R"({"mel_files_checked": false})" : R"({"mel_files_checked": true})";
    mpi::on_root(mpi::world(), [&] {
      dataset::write_marker(o.data, "melon validate --mark", origin,
                            o.mel_dir.empty() ? -1 : v.mel.used - v.mel.missing);
      log::info("validate: marked " + o.data + " complete (" + dataset::marker_path(o.data) + ")");
    });
  }
  return 0;
}

}  // namespace
MELON_COMMAND("validate", "check a dataset folder (JSON files, song ids, genres, mel files) before a long job",
              run_validate);
}  // namespace melon::cli
