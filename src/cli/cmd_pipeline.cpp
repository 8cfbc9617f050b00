// melon pipeline: the job's stage plan (plan/plan.hpp; `melon plan` prints
// it) in one MPI job: [generate] -> split -> pca -> train -> predict ->
// references -> rerank -> evaluate -> report. Each stage is the same code as
// its subcommand, called in this process with the command line the plan
// gives it, so a stage run alone, or as a Slurm job by slurm/submit.sh,
// behaves identically. The work folder is locked for the run
// (util/dir_lock.hpp); stages lock their own folders inside it
// (checkpoints, pca.h5.state), never this one.
#include <filesystem>
#include <iostream>
#include <optional>

#include "melon/cli/cli.hpp"
#include "melon/cli/job_plan.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/plan/plan.hpp"
#include "melon/report/run_facts.hpp"
#include "melon/train/signals.hpp"
#include "melon/util/dir_lock.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// One command line of the plan, in this process; args[0] is the command.
void run_stage(std::vector<std::string> args) {
  const std::string name = args.at(0);
  const Command* c = find_command(name);
  MELON_ASSERT(c, "stage " << name << " is not built in");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (mpi::rank(mpi::world()) == 0) {
    std::string line = "stage: melon";
    for (auto& a : args) line += " " + a;
    log::info(line);
  }
  int rc = c->run(static_cast<int>(argv.size()), argv.data());
  MELON_CHECK(!mpi::any(mpi::world(), rc != 0), "stage '" << name << "' failed (exit code " << rc << " on some rank)");
  mpi::barrier(mpi::world());  // later stages read what this one wrote
  report::mark_stage(mpi::world(), name, {args.begin() + 1, args.end()});
}

int run_pipeline(int argc, char** argv) {
  po::options_description d("melon pipeline: the job's stage plan (`melon plan` prints it) in one MPI job");
  add_job_plan_options(d);
  po::variables_map vm;
  if (!parse("pipeline", d, argc, argv, vm)) return 0;
  const auto data = vm["data"].as<std::string>(), work = vm["work"].as<std::string>();
  check_output_dir("--work", work);
  if (!std::filesystem::exists(data + "/train.json")) check_output_dir("--data", data);
  std::optional<DirLock> lock;
  mpi::on_root(mpi::world(), [&] { lock.emplace(work); });
  const plan::Options opt = job_plan_options(vm);
  const auto stages = plan::make_plan(opt);
  if (mpi::rank(mpi::world()) == 0) log::info("plan: " + join(plan::stage_names(stages), " -> "));

  for (const auto& stage : stages) {
    if (!stage.skip.empty()) continue;
    // The report shows each stage's time and memory: the facts go first.
    if (stage.name == "report") report::write_run_facts(mpi::world(), work, opt.config, data);
    for (const auto& r : stage.runs) run_stage(r.args);
    // A stop signal during training left a checkpoint: end here, as train
    // does, so the job's time limit is not spent on stages that a rerun
    // (which resumes from that checkpoint) does again anyway.
    if (stage.on_stop == plan::OnStop::Checkpoint && mpi::any(mpi::world(), train::stop_requested())) {
      if (mpi::rank(mpi::world()) == 0)
        log::info("pipeline: " + stage.name +
                  " was stopped by a signal after a checkpoint; skipping the later stages: exit 0, "
                  "rerun the same command to continue");
      return 0;
    }
  }
  if (opt.report) {
    if (mpi::rank(mpi::world()) == 0) std::cout << "report: " << opt.layout.report() << "\n" << std::flush;
  } else {
    report::write_run_facts(mpi::world(), work, opt.config, data);
  }
  return 0;
}

}  // namespace
MELON_COMMAND("pipeline", "the whole job from one jobs/*.ini: every stage of its plan in one MPI job", run_pipeline);
}  // namespace melon::cli
