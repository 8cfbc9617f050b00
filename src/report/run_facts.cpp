#include "melon/report/run_facts.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"
#include "melon/util/memory.hpp"
#include "melon_commit.hpp"

namespace melon::report {

namespace {

using Clock = std::chrono::steady_clock;

struct Marks {
  Clock::time_point start = Clock::now(), last = start;
  std::string started;
  bool peak_per_stage = true;
  std::vector<StageFacts> stages;
  Marks() {
    const std::time_t t = std::time(nullptr);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    started = b;
  }
};
// Constructed before main through this initialiser, so the first stage's
// time starts with the process.
Marks& marks() {
  static Marks m;
  return m;
}
[[maybe_unused]] const bool kStarted = (marks(), true);

// Resident high-water mark in MiB since the last reset, and a reset for the
// next stage. Where /proc refuses the reset, ru_maxrss (the process's peak).
double peak_rss_mb_and_reset(bool& per_stage) {
  double kb = static_cast<double>(util::peak_rss_kib());
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5" << std::flush;
  if (kb < 0 || !clear) {
    per_stage = false;
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    kb = static_cast<double>(u.ru_maxrss);
  }
  return kb / 1024.0;
}

std::vector<FileFacts> files_in(const std::string& dir, const std::vector<std::string>& subdirs) {
  std::vector<FileFacts> out;
  std::error_code ec;
  auto add = [&](const std::filesystem::path& d, const std::string& prefix) {
    for (auto& e : std::filesystem::directory_iterator(d, ec))
      if (e.is_regular_file(ec) && e.path().filename().string().find(".tmp.") == std::string::npos)
        out.push_back({prefix + e.path().filename().string(), static_cast<std::int64_t>(e.file_size(ec))});
  };
  add(dir, "");
  for (auto& s : subdirs)
    if (std::filesystem::is_directory(dir + "/" + s, ec)) add(dir + "/" + s, s + "/");
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.path < b.path; });
  return out;
}

nlohmann::json files_json(const std::vector<FileFacts>& v) {
  auto a = nlohmann::json::array();
  for (auto& f : v) a.push_back({{"path", f.path}, {"bytes", f.bytes}});
  return a;
}

}  // namespace

const char* build_commit() { return MELON_GIT_DESCRIBE; }

void mark_stage(MPI_Comm comm, const std::string& name, const std::vector<std::string>& args) {
  std::string label = name;
  for (auto& a : args)
    if (a.rfind("--method=", 0) == 0) label += " " + a.substr(9);
  auto& m = marks();
  bool per_stage = true;
  const double mine = peak_rss_mb_and_reset(per_stage);
  const double peak = mpi::allreduce_max(comm, mine);
  m.peak_per_stage = !mpi::any(comm, !per_stage) && m.peak_per_stage;
  const auto now = Clock::now();
  m.stages.push_back({label, std::chrono::duration<double>(now - m.last).count(), peak});
  m.last = now;
}

void write_run_facts(MPI_Comm comm, const std::string& work, const std::string& job_file, const std::string& data_dir) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto hosts = mpi::allgather_bytes(comm, host);
  if (mpi::rank(comm) != 0) return;
  const std::string path = work + "/run.json";
  try {
    auto& m = marks();
    nlohmann::json j;
    j["job_file"] = job_file;
    j["data_dir"] = data_dir;
    j["work_dir"] = work;
    j["commit"] = build_commit();
    j["version"] = MELON_VERSION;
    j["started"] = m.started;
    j["ranks"] = mpi::size(comm);
    j["hosts"] = hosts;
    j["wall_s"] = std::chrono::duration<double>(Clock::now() - m.start).count();
    j["peak_per_stage"] = m.peak_per_stage;
    j["stages"] = nlohmann::json::array();
    for (auto& s : m.stages)
      j["stages"].push_back({{"name", s.name}, {"seconds", s.seconds}, {"peak_rss_mb", s.peak_rss_mb}});
    // Top-level files only: a real mel tree holds hundreds of thousands.
    j["data"] = files_json(files_in(data_dir, {}));
    j["outputs"] = files_json(
        files_in(work, {"checkpoints", "ranker", "split/orig", "split/questions", "split/answers"}));
    AtomicFile f(path);
    f.write(j.dump(1) + "\n");
    f.commit();
  } catch (const std::exception& e) {
    log::warn(path + ": run facts not written: " + e.what());
  }
}

RunFacts read_run_facts(const std::string& path) {
  std::ifstream in(path);
  MELON_CHECK(in, path << ": cannot open");
  RunFacts r;
  try {
    const auto j = nlohmann::json::parse(in);
    r.job_file = j.at("job_file").get<std::string>();
    r.data_dir = j.at("data_dir").get<std::string>();
    r.work_dir = j.value("work_dir", "");
    r.commit = j.at("commit").get<std::string>();
    r.version = j.value("version", "");
    r.started = j.value("started", "");
    r.ranks = j.at("ranks").get<int>();
    r.hosts = j.at("hosts").get<std::vector<std::string>>();
    r.wall_s = j.at("wall_s").get<double>();
    r.peak_per_stage = j.value("peak_per_stage", true);
    for (auto& s : j.at("stages"))
      r.stages.push_back(
          {s.at("name").get<std::string>(), s.at("seconds").get<double>(), s.at("peak_rss_mb").get<double>()});
    for (const char* key : {"data", "outputs"})
      for (auto& f : j.at(key))
        (key[0] == 'd' ? r.data : r.outputs)
            .push_back({f.at("path").get<std::string>(), f.at("bytes").get<std::int64_t>()});
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a run facts file: " + e.what());
  }
  return r;
}

}  // namespace melon::report
