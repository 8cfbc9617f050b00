#pragma once
// The run report: one self-contained HTML file (inline SVG, no script, no
// network) drawn from a finished job's own outputs, never from its logs:
//   Scores      WORK/scores.json                    (melon pipeline)
//   Training    CHECKPOINT_DIR/curve.json           (train/curve.hpp)
//   PCA         WORK/pca.h5 (+ song_meta.json, genre_gn_all.json beside it)
//   Reranker    MODEL_DIR/ranker-report.json        (rank/report_data.hpp)
//   Run facts   WORK/run.json                       (report/run_facts.hpp)
// A missing or unreadable input leaves its section with a "not available:
// <why>" note; only the output itself can fail the report.
#include <cstddef>
#include <string>

namespace melon::report {

struct ReportInputs {
  std::string work;  // the job's work folder; the paths below default into it
  std::string scores, checkpoint_dir, pca, model_dir, run_facts;
  // Empty: song_meta.json in the data folder named by run.json (or `data`).
  std::string song_meta, data;
  std::size_t scatter_songs = 2000;  // songs drawn on the PCA scatter
};

// The inputs of the standard work-folder layout.
ReportInputs for_work(std::string work, std::string song_meta = {});

// Fills the empty paths of `in` from in.work.
ReportInputs with_defaults(ReportInputs in);

// The whole HTML document.
std::string build_report(const ReportInputs& in);

// build_report written to `out` atomically. Throws melon::Error when it cannot be written.
void write_report(const ReportInputs& in, const std::string& out);

}  // namespace melon::report
