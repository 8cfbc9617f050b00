#pragma once
// The job's stage plan, defined once: which stages run, in what order, the
// melon command line of each (what it reads, what it writes) and the
// work-folder layout that links them. `melon pipeline` runs the plan in one
// MPI job; slurm/submit.sh submits one Slurm job per stage and each job runs
// the command lines `melon plan --stage NAME` prints; `melon plan` lists it.
// A stage hands its results to the next only through the files named here.
//
// Work folder (WORK), local mode:
//   split/{orig,questions,answers}/   the official local split of DATA/train.json
//   pca.h5                            PCA of the spectrograms (pca.h5.state/ while it runs)
//   checkpoints/                      the autoencoder (curve.json, best.h5, ckpt-N.h5)
//   results-autoencoder.json          the autoencoder's answers
//   results-<reference>.json          each reference's answers
//   references/<reference>.h5, .json each reference fitted on the held-out split
//                                     (tuned there; the reranker loads it)
//   ranker/                           the final ranking stage's models
//   results.json                      the job's answers: the reranked ones
//   scores.json, run.json, report.html
// Submit mode has no split: train on all of DATA/train.json plus the visible
// parts of DATA/val.json and DATA/test.json, and answer both question files:
//   results-val.json, results-test.json         the job's answers (reranked), the leaderboard files
//   results-autoencoder-val.json, results-<reference>-test.json, ...
//   ranker/ (the val run's models), scores-val.json / scores-test.json (only
//   where DATA/answers/ holds the answers: generated data)
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace melon::plan {

// The paths that link the stages.
struct Layout {
  std::string data, work;

  // DATA/<set>.json and DATA/answers/<set>.json for set "val" or "test".
  std::string question_file(const std::string& set) const;
  std::string answer_file(const std::string& set) const;
  // results.json names by set ("": local mode): WORK/results[-<method>][-<set>].json
  std::string results_for(const std::string& method, const std::string& set) const;
  std::string scores_for(const std::string& set) const;  // WORK/scores[-<set>].json

  std::string train_file() const;       // DATA/train.json
  std::string song_meta() const;        // DATA/song_meta.json
  std::string mel_dir() const;          // DATA/arena_mel
  std::string split_dir() const;        // WORK/split
  std::string split_train() const;      // WORK/split/orig/train.json
  std::string split_questions() const;  // WORK/split/questions/val.json
  std::string split_answers() const;    // WORK/split/answers/val.json
  std::string pca() const;              // WORK/pca.h5
  std::string checkpoints() const;      // WORK/checkpoints
  std::string ranker() const;           // WORK/ranker
  std::string fitted() const;           // WORK/references
  std::string report() const;           // WORK/report.html
};

// What a launcher does with a stage on a stop signal (time limit, preemption).
enum class OnStop {
  Finish,      // short and restartable: let it run
  Checkpoint,  // SIGUSR1 -> it checkpoints and exits 0; the rerun resumes
  Kill,        // it saves state as it goes: stop it; the rerun resumes from that
};
const char* on_stop_name(OnStop s);

// One `melon ...` command line of a stage; args[0] is the melon command.
struct Invocation {
  std::vector<std::string> args;
  bool one_task = false;  // rank-0-only work (scores, report): one task is enough
};

struct Stage {
  std::string name;
  std::vector<Invocation> runs;
  std::vector<std::string> reads, writes;  // files and folders, for the listing and the checks
  OnStop on_stop = OnStop::Finish;
  // Arguments a launcher adds to every invocation when it reruns the stage
  // after a stop (pca: --resume; train resumes by itself, --resume=auto).
  std::vector<std::string> rerun_args;
  std::string skip;  // non-empty: the stage is not run, and why
};

// The job-file keys that change a stage's command line (a [pca] mel-dir
// means no default DATA/arena_mel), as (section, key) pairs.
using JobKeys = std::set<std::pair<std::string, std::string>>;

// local: score on the official local split of DATA/train.json. submit: the
// leaderboard answers to DATA/val.json and DATA/test.json.
enum class Mode { Local, Submit };
Mode parse_mode(const std::string& s);  // "local" | "submit"; throws melon::Error

struct Options {
  Mode mode = Mode::Local;
  Layout layout;
  std::string config;                // job file, passed on as --config (may be empty)
  JobKeys job_keys;                  // the keys that file sets
  std::vector<std::string> methods;  // reference recommenders scored beside the model
  bool pca = true, model = true, rerank = true, report = true;
  // DATA holds no train.json yet: the plan starts with generate.
  bool generate = false;
  // Submit mode: DATA/answers/{val,test}.json exist (or generate writes
  // them), so the answers can be scored.
  bool answers_known = false;
};

// The plan, every stage in order (skipped ones included, with the reason).
// Throws melon::Error for a plan that cannot run (nothing to answer with, a
// path that a command line cannot carry).
std::vector<Stage> make_plan(const Options& o);

// Stage names in order, skipped ones left out.
std::vector<std::string> stage_names(const std::vector<Stage>& plan);

// Every stage name, skipped ones included: "generate, split, ...".
std::string describe_names(const std::vector<Stage>& plan);

// The stage called `name`; throws melon::Error naming the stages when absent.
const Stage& find_stage(const std::vector<Stage>& plan, const std::string& name);

// Human-readable listing: one block per stage (command lines, reads, writes).
std::string describe(const std::vector<Stage>& plan);

// One stage for shell launchers (slurm/common.sh), line by line:
//   on-stop finish|checkpoint|kill
//   rerun-arg ARG            (zero or more: added to every run on a rerun)
//   skip REASON              (only for a skipped stage; then no runs follow)
//   run all|one              (a run on all the job's tasks, or on one)
//   ARG                      (one line per argument, args[0] the command)
//   <empty line>             (ends the run)
// An argument is never empty and never holds a line break (make_plan refuses
// such paths), so the text splits back without quoting.
std::string stage_lines(const Stage& s);

}  // namespace melon::plan
