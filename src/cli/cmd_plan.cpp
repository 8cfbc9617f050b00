// melon plan: the job's stage plan (plan/plan.hpp), as `melon pipeline` would
// run it: for people (the default listing), for slurm/submit.sh (--list: the
// stages to submit) and for each stage's Slurm job (--stage NAME: its
// command lines, read by slurm/common.sh). Reads the same [pipeline]
// options as the pipeline; writes nothing.
#include <algorithm>
#include <iostream>

#include "melon/cli/cli.hpp"
#include "melon/cli/job_plan.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/plan/plan.hpp"

namespace melon::cli {
namespace {

int run_plan(int argc, char** argv) {
  po::options_description d("melon plan: print the job's stages (what each runs, reads and writes)");
  add_job_plan_options(d);
  d.add_options()("list", po::bool_switch(), "only the names of the stages that run, one per line")(
      "stage", po::value<std::string>(),
      "the command lines of one stage, for shell launchers (slurm/common.sh); another melon command's name prints "
      "not-in-plan");
  po::variables_map vm;
  // The [pipeline] section: the plan is the pipeline's, option for option.
  if (!parse("plan", d, argc, argv, vm, "pipeline")) return 0;
  MELON_CHECK(!(vm["list"].as<bool>() && vm.count("stage")), "melon plan: --list and --stage exclude each other");
  const auto stages = plan::make_plan(job_plan_options(vm));
  if (mpi::rank(mpi::world()) != 0) return 0;
  if (vm["list"].as<bool>()) {
    for (const auto& n : plan::stage_names(stages)) std::cout << n << '\n';
  } else if (vm.count("stage")) {
    // Another melon command (validate, hostinfo) run as a stage of its own:
    // the launcher runs it with the job file alone.
    const auto name = vm["stage"].as<std::string>();
    const bool in_plan = std::any_of(stages.begin(), stages.end(), [&](const auto& s) { return s.name == name; });
    MELON_CHECK(in_plan || find_command(name), "melon plan: --stage " << name << ": neither a stage of the plan ("
                                                                      << plan::describe_names(stages)
                                                                      << ") nor a melon command");
    std::cout << (in_plan ? plan::stage_lines(plan::find_stage(stages, name)) : std::string("not-in-plan\n"));
  } else {
    std::cout << plan::describe(stages);
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace
MELON_LOCAL_COMMAND("plan", "print the job's stage plan (the one `melon pipeline` and slurm/submit.sh run)", run_plan);
}  // namespace melon::cli
