#include "melon/report/report.hpp"

#include <filesystem>

#include "melon/error.hpp"
#include "melon/report/run_facts.hpp"
#include "melon/util/atomic_file.hpp"
#include "sections.hpp"

namespace melon::report {

ReportInputs for_work(std::string work, std::string song_meta) {
  ReportInputs in;
  in.work = std::move(work);
  in.song_meta = std::move(song_meta);
  return in;
}

ReportInputs with_defaults(ReportInputs in) {
  const std::string w = in.work.empty() ? "." : in.work;
  if (in.scores.empty()) in.scores = w + "/scores.json";
  if (in.checkpoint_dir.empty()) in.checkpoint_dir = w + "/checkpoints";
  if (in.pca.empty()) in.pca = w + "/pca.h5";
  if (in.model_dir.empty()) in.model_dir = w + "/ranker";
  if (in.run_facts.empty()) in.run_facts = w + "/run.json";
  if (in.song_meta.empty()) {
    std::string data = in.data;
    if (data.empty() && std::filesystem::exists(in.run_facts)) {
      try {
        data = read_run_facts(in.run_facts).data_dir;
      } catch (const Error&) {
        // The run section says what is wrong with run.json.
      }
    }
    if (!data.empty()) in.song_meta = data + "/song_meta.json";
  }
  return in;
}

std::string build_report(const ReportInputs& raw) {
  const auto in = with_defaults(raw);
  std::vector<Section> s;
  s.push_back(scores_section(in));
  s.push_back(training_section(in));
  s.push_back(pca_section(in));
  s.push_back(reranker_section(in));
  s.push_back(run_section(in));
  return page("melon run report", "work folder " + std::filesystem::absolute(in.work).lexically_normal().string(), s);
}

void write_report(const ReportInputs& in, const std::string& out) {
  const auto html = build_report(in);
  const auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) make_dirs(parent.string());
  AtomicFile f(out);
  f.write(html);
  f.commit();
}

}  // namespace melon::report
