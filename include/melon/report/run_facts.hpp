#pragma once
// What `melon pipeline` knows about its own run, for the report:
// WORK/run.json with the job file, the commit melon was built from, ranks and
// hosts, each stage's wall time and peak resident memory (max over ranks),
// and the sizes of the data and output files. The stages are calls in one
// process, so the marks accumulate in this process until written.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace melon::report {

// `git describe` of the sources this binary was built from, or "unknown".
const char* build_commit();

// Collective over comm: stage `name` has just finished on every rank. Its wall
// time runs from the previous mark (the first: from the start of the process);
// its peak memory is the high-water mark of resident memory since then (Linux
// /proc/self/status VmHWM, reset through /proc/self/clear_refs; where that is
// not allowed, the process's peak so far, getrusage), the max over ranks.
// `args` (the stage's command line) name a baseline's method in its label.
void mark_stage(MPI_Comm comm, const std::string& name, const std::vector<std::string>& args = {});

// Collective over comm: rank 0 writes WORK/run.json (atomically) with the
// marks so far. Never throws on a write failure (a warning): the facts must
// not fail a finished job.
void write_run_facts(MPI_Comm comm, const std::string& work, const std::string& job_file, const std::string& data_dir);

struct StageFacts {
  std::string name;
  double seconds = 0, peak_rss_mb = 0;
};
struct FileFacts {
  std::string path;  // relative to its folder
  std::int64_t bytes = 0;
};
struct RunFacts {
  std::string job_file, data_dir, work_dir, commit, version, started;
  int ranks = 0;
  std::vector<std::string> hosts;  // one per rank, rank order
  double wall_s = 0;
  bool peak_per_stage = true;  // false: peak_rss_mb is the process's peak so far
  std::vector<StageFacts> stages;
  std::vector<FileFacts> data, outputs;
};
// Throws melon::Error on an unreadable or malformed file.
RunFacts read_run_facts(const std::string& path);

}  // namespace melon::report
