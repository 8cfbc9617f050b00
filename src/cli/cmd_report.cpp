// melon report: the run's HTML report (report/report.hpp) from its work folder.
#include <iostream>

#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/report/report.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run_report(int argc, char** argv) {
  po::options_description d("melon report: one self-contained HTML report (plots and tables) of a job's outputs");
  report::ReportInputs in;
  d.add_options()("work", po::value(&in.work)->required(), "the job's work folder (as given to melon pipeline)")(
      "out", po::value<std::string>(), "HTML file to write (default WORK/report.html)")(
      "song-meta", po::value(&in.song_meta),
      "song_meta.json for the PCA scatter's genres (default DATA/song_meta.json)")(
      "data", po::value(&in.data), "dataset folder, when WORK/run.json does not name it")(
      "checkpoint-dir", po::value(&in.checkpoint_dir),
      "training checkpoints with curve.json (default WORK/checkpoints)")(
      "model-dir", po::value(&in.model_dir), "reranker models with ranker-report.json (default WORK/ranker)")(
      "pca", po::value(&in.pca), "PCA HDF5 (default WORK/pca.h5)")("scores", po::value(&in.scores),
                                                                   "score table (default WORK/scores.json)")(
      "scatter-songs", po::value(&in.scatter_songs)->default_value(2000), "songs drawn on the PCA scatter");
  po::variables_map vm;
  if (!parse("report", d, argc, argv, vm)) return 0;
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : in.work + "/report.html";
  check_output_file(vm.count("out") ? "--out" : "the report", out, /*parent_may_be_missing=*/true);
  if (mpi::rank(mpi::world()) != 0) return 0;  // reads files and writes one: nothing to share
  report::write_report(in, out);
  log::info("report: " + out);
  return 0;
}

}  // namespace
MELON_LOCAL_COMMAND("report",
                    "an HTML report with plots of a job's outputs (scores, training, PCA, reranker, run facts)",
                    run_report);
}  // namespace melon::cli
