// Run facts: what ran, where, for how long and with how much memory.
#include <algorithm>
#include <filesystem>
#include <map>

#include "melon/error.hpp"
#include "melon/report/run_facts.hpp"
#include "melon/report/svg.hpp"
#include "sections.hpp"

namespace melon::report {

namespace {

std::string bytes_text(std::int64_t b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return num(v, 4) + " " + unit[u];
}

std::string files_table(const std::vector<FileFacts>& files) {
  std::vector<std::vector<std::string>> rows;
  for (auto& f : files) rows.push_back({f.path, bytes_text(f.bytes), std::to_string(f.bytes)});
  return table({"file", "size", "bytes"}, rows);
}

}  // namespace

Section run_section(const ReportInputs& in) {
  const char* id = "run";
  const char* heading = "Run facts";
  if (!std::filesystem::exists(in.run_facts))
    return unavailable(id, heading,
                       "no " + in.run_facts + " (written by `melon pipeline`; this report was built by melon " +
                           build_commit() + ")");
  RunFacts r;
  try {
    r = read_run_facts(in.run_facts);
  } catch (const Error& e) {
    return unavailable(id, heading, e.what());
  }
  std::map<std::string, int> per_host;
  for (auto& h : r.hosts) ++per_host[h];
  std::string hosts;
  for (auto& [h, c] : per_host) hosts += (hosts.empty() ? "" : ", ") + h + " (" + std::to_string(c) + " ranks)";
  double total = 0, peak = 0;
  for (auto& s : r.stages) total += s.seconds, peak = std::max(peak, s.peak_rss_mb);
  std::string body = table({"fact", "value"},
                           {{"job file", r.job_file.empty() ? "(none: command line only)" : r.job_file},
                            {"commit", r.commit},
                            {"melon version", r.version},
                            {"report built by", build_commit()},
                            {"started", r.started},
                            {"ranks", std::to_string(r.ranks)},
                            {"hosts", hosts},
                            {"wall time", num(r.wall_s, 4) + " s"},
                            {"peak resident memory (max over stages and ranks)", num(peak, 5) + " MiB"},
                            {"data folder", r.data_dir},
                            {"work folder", r.work_dir}});
  if (r.stages.empty()) {
    body += "<p class=\"na\">not available: run.json records no stage</p>\n";
  } else {
    HBars t;
    t.axes = {"Wall time per stage", "seconds", "stage"};
    t.unit = " s";
    HBars m;
    m.axes = {std::string("Peak resident memory per stage") + (r.peak_per_stage ? "" : " (process peak so far)"),
              "MiB (max over ranks)", "stage"};
    m.unit = " MiB";
    std::vector<std::vector<std::string>> rows;
    for (auto& s : r.stages) {
      t.names.push_back(s.name), t.values.push_back(s.seconds);
      m.names.push_back(s.name), m.values.push_back(s.peak_rss_mb);
      rows.push_back(
          {s.name, num(s.seconds, 4), num(total > 0 ? 100 * s.seconds / total : 0, 3), num(s.peak_rss_mb, 5)});
    }
    body += hbars(t) + hbars(m);
    body += table({"stage", "wall time (s)", "share (%)", "peak RSS (MiB, max over ranks)"}, rows);
    body +=
        "<p class=\"note\">The first stage's time includes the job's start-up; the score table and this report "
        "come after run.json is written.</p>\n";
  }
  body += "<details open=\"open\"><summary>data files (" + std::to_string(r.data.size()) + ")</summary>" +
          files_table(r.data) + "</details>\n";
  body += "<details><summary>output files (" + std::to_string(r.outputs.size()) + ")</summary>" +
          files_table(r.outputs) + "</details>\n";
  return {id, heading, body};
}

}  // namespace melon::report
