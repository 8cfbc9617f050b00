#pragma once
// The options that choose a job's stage plan (plan/plan.hpp), shared by
// `melon pipeline` (which runs it) and `melon plan` (which prints it for
// people and for slurm/submit.sh): both read them from the job file's
// [pipeline] section, so the two can never disagree about a job.
#include "melon/cli/cli.hpp"
#include "melon/plan/plan.hpp"

namespace melon::cli {

void add_job_plan_options(po::options_description& d);

// The plan's inputs from parsed options: the layout, the job file and the
// keys it sets, and whether DATA must be generated first. A DATA folder that
// has train.json must carry its completion marker (dataset/marker.hpp) unless
// --trust-data: checked on rank 0, the outcome shared, so every rank throws
// the same error.
plan::Options job_plan_options(const po::variables_map& vm);

}  // namespace melon::cli
