// The stage plan (plan/plan.hpp): the one definition `melon pipeline`,
// `melon plan` and slurm/submit.sh read.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "melon/error.hpp"
#include "melon/plan/plan.hpp"

namespace {

using melon::plan::Options;
using melon::plan::Stage;

Options job() {
  Options o;
  o.layout = {"/d", "/w"};
  o.config = "/jobs/x.ini";
  o.methods = {"most-popular", "item-knn"};
  return o;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

const std::vector<std::string>& args_of(const std::vector<Stage>& plan, const std::string& name) {
  return melon::plan::find_stage(plan, name).runs.at(0).args;
}

TEST(Plan, DefaultChainRunsEveryStageInOrderAndStartsWithGenerateOnlyWithoutData) {
  auto o = job();
  EXPECT_EQ(joined(melon::plan::stage_names(melon::plan::make_plan(o))),
            "split,pca,train,predict,references,rerank,evaluate,report");
  o.generate = true;
  EXPECT_EQ(joined(melon::plan::stage_names(melon::plan::make_plan(o))),
            "generate,split,pca,train,predict,references,rerank,evaluate,report");
}

TEST(Plan, EveryStageReadsOnlyInputsOrWhatAnEarlierStageWrote) {
  auto o = job();
  o.generate = true;
  std::vector<std::string> written;
  for (const auto& s : melon::plan::make_plan(o)) {
    for (const auto& r : s.reads) {
      if (r.rfind("[pca]", 0) == 0) continue;  // the job file's own mel source
      const bool earlier = std::any_of(written.begin(), written.end(), [&](const std::string& w) {
        return r == w || r.rfind(w + "/", 0) == 0 || w.rfind(r + "/", 0) == 0;
      });
      EXPECT_TRUE(earlier) << s.name << " reads " << r << ", which no earlier stage writes";
    }
    for (const auto& w : s.writes) written.push_back(w);
  }
  // Without generate, DATA is an input.
  o.generate = false;
  for (const auto& s : melon::plan::make_plan(o))
    for (const auto& r : s.reads)
      if (r.rfind("/d/", 0) != 0 && r.rfind("[pca]", 0) != 0 && s.name == "split") ADD_FAILURE() << r;
}

TEST(Plan, ResultsJsonIsTheRerankedAnswersAndEachMethodKeepsItsOwnFile) {
  const auto plan = melon::plan::make_plan(job());
  EXPECT_TRUE(has(args_of(plan, "rerank"), "--out=/w/results.json"));
  EXPECT_TRUE(has(args_of(plan, "predict"), "--out=/w/results-autoencoder.json"));
  const auto& refs = melon::plan::find_stage(plan, "references").runs;
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_TRUE(has(refs[1].args, "--method=item-knn"));
  EXPECT_TRUE(has(refs[1].args, "--out=/w/results-item-knn.json"));
  const auto& ev = args_of(plan, "evaluate");
  EXPECT_TRUE(has(ev, "--table=melon (reranked)=/w/results.json"));
  EXPECT_TRUE(has(ev, "--table=autoencoder=/w/results-autoencoder.json"));
  EXPECT_TRUE(has(ev, "--table=most-popular=/w/results-most-popular.json"));
  EXPECT_TRUE(melon::plan::find_stage(plan, "evaluate").runs[0].one_task);
  for (const auto& s : plan)
    for (const auto& r : s.runs) EXPECT_EQ(r.args.at(1), "--config=/jobs/x.ini") << s.name;
}

TEST(Plan, SwitchedOffStagesAreSkippedAndLeaveNoTraceInLaterCommandLines) {
  auto o = job();
  o.pca = false;
  auto plan = melon::plan::make_plan(o);
  EXPECT_FALSE(melon::plan::find_stage(plan, "pca").skip.empty());
  for (const char* s : {"train", "predict", "rerank"})
    for (const auto& a : args_of(plan, s)) EXPECT_EQ(a.find("--pca"), std::string::npos) << s;
  o.model = false;
  plan = melon::plan::make_plan(o);
  EXPECT_EQ(joined(melon::plan::stage_names(plan)), "split,references,rerank,evaluate,report");
  for (const auto& a : args_of(plan, "rerank")) EXPECT_EQ(a.find("--checkpoint-dir"), std::string::npos);
  for (const auto& a : args_of(plan, "evaluate")) EXPECT_EQ(a.find("autoencoder"), std::string::npos);
  o.rerank = false;
  o.methods.clear();
  EXPECT_THROW(melon::plan::make_plan(o), melon::Error);  // nothing answers the questions
}

TEST(Plan, TheJobFilesMelSourceWinsOverTheDatasetsMelFolder) {
  auto o = job();
  EXPECT_TRUE(has(args_of(melon::plan::make_plan(o), "pca"), "--mel-dir=/d/arena_mel"));
  o.job_keys.insert({"pca", "mel-source"});
  const auto plan = melon::plan::make_plan(o);
  for (const auto& a : args_of(plan, "pca")) EXPECT_EQ(a.find("--mel-dir"), std::string::npos);
}

TEST(Plan, StopBehaviourTrainCheckpointsPcaAndRerankAreKilledAndRerunTheRestFinish) {
  const auto plan = melon::plan::make_plan(job());
  for (const auto& s : plan) {
    const auto want = s.name == "train"                       ? melon::plan::OnStop::Checkpoint
                      : s.name == "pca" || s.name == "rerank" ? melon::plan::OnStop::Kill
                                                              : melon::plan::OnStop::Finish;
    EXPECT_EQ(s.on_stop, want) << s.name;
  }
  EXPECT_TRUE(has(args_of(plan, "train"), "--resume=auto"));
  EXPECT_EQ(melon::plan::find_stage(plan, "pca").rerun_args, std::vector<std::string>{"--resume"});
}

// What slurm/common.sh reads: split on lines, it gives back every run.
TEST(Plan, StageLinesSplitBackIntoTheSameCommandLines) {
  for (const auto& s : melon::plan::make_plan(job())) {  // generate skipped: DATA holds a dataset
    std::istringstream in(melon::plan::stage_lines(s));
    std::string line, on_stop, skip;
    std::vector<melon::plan::Invocation> runs;
    melon::plan::Invocation cur;
    bool open = false;
    while (std::getline(in, line)) {
      if (line.rfind("on-stop ", 0) == 0) {
        on_stop = line.substr(8);
      } else if (line.rfind("skip ", 0) == 0) {
        skip = line.substr(5);
      } else if (line == "run all" || line == "run one") {
        cur = {{}, line == "run one"};
        open = true;
      } else if (line.empty()) {
        ASSERT_TRUE(open) << s.name;
        runs.push_back(cur);
        open = false;
      } else if (open) {
        cur.args.push_back(line);
      }
    }
    EXPECT_FALSE(open) << s.name << ": the last run is not closed by an empty line";
    EXPECT_EQ(on_stop, melon::plan::on_stop_name(s.on_stop));
    EXPECT_EQ(skip, s.skip);
    if (!s.skip.empty()) {
      EXPECT_TRUE(runs.empty()) << s.name << " is skipped, yet has runs";
      continue;
    }
    ASSERT_EQ(runs.size(), s.runs.size()) << s.name;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      EXPECT_EQ(runs[i].args, s.runs[i].args) << s.name;
      EXPECT_EQ(runs[i].one_task, s.runs[i].one_task) << s.name;
    }
  }
}

TEST(Plan, SubmitModeTrainsOnEverythingAndAnswersBothReleasedQuestionFiles) {
  auto o = job();
  o.mode = melon::plan::Mode::Submit;
  auto plan = melon::plan::make_plan(o);
  EXPECT_EQ(joined(melon::plan::stage_names(plan)), "pca,train,predict,references,rerank,report");
  const auto& train = args_of(plan, "train");
  EXPECT_TRUE(has(train, "--train=/d/train.json"));
  EXPECT_TRUE(has(train, "--questions=/d/val.json"));
  EXPECT_TRUE(has(train, "--questions=/d/test.json"));
  for (const auto& a : train) EXPECT_EQ(a.find("/w/split"), std::string::npos) << a;
  const auto& rr = melon::plan::find_stage(plan, "rerank").runs;
  ASSERT_EQ(rr.size(), 2u);
  EXPECT_TRUE(has(rr[0].args, "--questions=/d/val.json") && has(rr[0].args, "--out=/w/results-val.json"));
  EXPECT_TRUE(has(rr[1].args, "--questions=/d/test.json") && has(rr[1].args, "--out=/w/results-test.json"));
  EXPECT_EQ(melon::plan::find_stage(plan, "references").runs.size(), 4u);  // 2 methods x 2 files
  EXPECT_TRUE(has(melon::plan::find_stage(plan, "predict").runs[1].args, "--out=/w/results-autoencoder-test.json"));
  // Scored only where the answers exist (generated data).
  EXPECT_FALSE(melon::plan::find_stage(plan, "evaluate").skip.empty());
  o.answers_known = true;
  plan = melon::plan::make_plan(o);
  const auto& ev = melon::plan::find_stage(plan, "evaluate").runs;
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(has(ev[1].args, "--answers=/d/answers/test.json") && has(ev[1].args, "--out=/w/scores-test.json"));
  EXPECT_TRUE(has(ev[1].args, "--table=melon (reranked)=/w/results-test.json"));
  EXPECT_TRUE(has(args_of(plan, "report"), "--scores=/w/scores-val.json"));
  EXPECT_THROW(melon::plan::parse_mode("leaderboard"), melon::Error);
}

TEST(Plan, RefusesWhatACommandLineCannotCarry) {
  auto o = job();
  o.layout.work = "/w\nrm";
  EXPECT_THROW(melon::plan::make_plan(o), melon::Error);
  o = job();
  o.methods = {"item-knn", "a=b"};
  EXPECT_THROW(melon::plan::make_plan(o), melon::Error);
  o = job();
  o.layout.data.clear();
  EXPECT_THROW(melon::plan::make_plan(o), melon::Error);
  EXPECT_THROW(melon::plan::find_stage(melon::plan::make_plan(job()), "baseline"), melon::Error);
}

}  // namespace
