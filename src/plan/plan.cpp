#include "melon/plan/plan.hpp"

#include <algorithm>
#include <sstream>

#include "melon/error.hpp"
#include "melon/recommend/references.hpp"

namespace melon::plan {

std::string Layout::train_file() const { return data + "/train.json"; }
std::string Layout::song_meta() const { return data + "/song_meta.json"; }
std::string Layout::mel_dir() const { return data + "/arena_mel"; }
std::string Layout::split_dir() const { return work + "/split"; }
std::string Layout::split_train() const { return split_dir() + "/orig/train.json"; }
std::string Layout::split_questions() const { return split_dir() + "/questions/val.json"; }
std::string Layout::split_answers() const { return split_dir() + "/answers/val.json"; }
std::string Layout::pca() const { return work + "/pca.h5"; }
std::string Layout::checkpoints() const { return work + "/checkpoints"; }
std::string Layout::ranker() const { return work + "/ranker"; }
std::string Layout::fitted() const { return work + "/references"; }
std::string Layout::report() const { return work + "/report.html"; }
std::string Layout::question_file(const std::string& set) const { return data + "/" + set + ".json"; }
std::string Layout::answer_file(const std::string& set) const { return data + "/answers/" + set + ".json"; }
std::string Layout::results_for(const std::string& method, const std::string& set) const {
  return work + "/results" + (method.empty() ? "" : "-" + method) + (set.empty() ? "" : "-" + set) + ".json";
}
std::string Layout::scores_for(const std::string& set) const {
  return work + "/scores" + (set.empty() ? "" : "-" + set) + ".json";
}

Mode parse_mode(const std::string& s) {
  if (s == "local") return Mode::Local;
  if (s == "submit") return Mode::Submit;
  MELON_THROW("mode '" << s << "': expected local (score on the official local split of train.json) or submit "
                       << "(answer val.json and test.json, trained on everything)");
}

const char* on_stop_name(OnStop s) {
  switch (s) {
    case OnStop::Finish: return "finish";
    case OnStop::Checkpoint: return "checkpoint";
    case OnStop::Kill: return "kill";
  }
  return "?";
}

namespace {

// The label a method's row carries in the score table.
constexpr const char* kRerankedLabel = "melon (reranked)";
constexpr const char* kAutoencoderLabel = "autoencoder";

Stage named(std::string name) {
  Stage s;
  s.name = std::move(name);
  return s;
}

class Builder {
 public:
  explicit Builder(const Options& o) : o_(o), L_(o.layout) {}

  std::vector<Stage> build() {
    MELON_CHECK(o_.model || o_.rerank || !o_.methods.empty(),
                "the job answers no question: the model, the final ranking stage and every reference are off");
    generate();
    split();
    pca();
    train();
    predict();
    references();
    rerank();
    evaluate();
    report();
    return std::move(plan_);
  }

 private:
  bool job_sets(const char* section, const char* key) const { return o_.job_keys.count({section, key}) > 0; }

  Invocation run(std::vector<std::string> args, bool one_task = false) const {
    if (!o_.config.empty()) args.insert(args.begin() + 1, "--config=" + o_.config);
    return {std::move(args), one_task};
  }

  void generate() {
    Stage s = named("generate");
    s.runs.push_back(run({"generate", "--out=" + L_.data}));
    s.writes = {L_.data};
    if (!o_.generate) s.skip = L_.data + " holds a dataset (train.json)";
    plan_.push_back(std::move(s));
  }

  // The question sets the job answers: the split's questions (local), or
  // the released val and test files (submit).
  struct QuestionSet {
    std::string set;  // "" (local), "val", "test"
    std::string questions, answers;
  };
  std::vector<QuestionSet> question_sets() const {
    if (!submit()) return {{"", L_.split_questions(), L_.split_answers()}};
    std::vector<QuestionSet> v;
    for (const char* set : {"val", "test"}) v.push_back({set, L_.question_file(set), L_.answer_file(set)});
    return v;
  }
  bool submit() const { return o_.mode == Mode::Submit; }
  // What the models learn from: the split's training part, or all of train.json.
  std::string training() const { return submit() ? L_.train_file() : L_.split_train(); }

  void split() {
    Stage s = named("split");
    s.runs.push_back(run({"split", "--input=" + L_.train_file(), "--out=" + L_.split_dir()}));
    s.reads = {L_.train_file()};
    s.writes = {L_.split_dir()};
    if (submit()) s.skip = "submit mode trains on all of train.json";
    plan_.push_back(std::move(s));
  }

  void pca() {
    Stage s = named("pca");
    auto args = std::vector<std::string>{"pca", "--out=" + L_.pca()};
    // The job file's mel source wins; the dataset's own mel folder otherwise.
    if (!job_sets("pca", "mel-dir") && !job_sets("pca", "mel-source")) {
      args.push_back("--mel-dir=" + L_.mel_dir());
      s.reads = {L_.mel_dir()};
    } else {
      s.reads = {"[pca] " + std::string(job_sets("pca", "mel-dir") ? "mel-dir" : "mel-source") + " of the job file"};
    }
    s.runs.push_back(run(args));
    s.writes = {L_.pca()};
    s.on_stop = OnStop::Kill;
    s.rerun_args = {"--resume"};
    if (!o_.pca) s.skip = "pca is off";
    plan_.push_back(std::move(s));
  }

  void train() {
    Stage s = named("train");
    std::vector<std::string> args{"train", "--train=" + training()};
    s.reads = {training()};
    // The questions' visible parts train too (their hidden parts are never in the files).
    for (const auto& q : question_sets()) {
      args.push_back("--questions=" + q.questions);
      s.reads.push_back(q.questions);
    }
    for (std::string a :
         {"--song-meta=" + L_.song_meta(), "--checkpoint-dir=" + L_.checkpoints(), std::string("--resume=auto")})
      args.push_back(a);
    s.reads.push_back(L_.song_meta());
    add_pca(args, s);
    s.runs.push_back(run(args));
    s.writes = {L_.checkpoints()};
    s.on_stop = OnStop::Checkpoint;
    if (!o_.model) s.skip = "model is off";
    plan_.push_back(std::move(s));
  }

  void predict() {
    Stage s = named("predict");
    s.reads = {L_.checkpoints(), L_.song_meta()};
    for (const auto& q : question_sets()) {
      const auto out = L_.results_for(kAutoencoderLabel, q.set);
      std::vector<std::string> args{"predict", "--checkpoint-dir=" + L_.checkpoints(), "--questions=" + q.questions,
                                    "--song-meta=" + L_.song_meta(), "--out=" + out};
      add_pca(args, s);
      s.runs.push_back(run(args));
      s.reads.push_back(q.questions);
      s.writes.push_back(out);
    }
    dedup(s.reads);
    if (!o_.model) s.skip = "model is off";
    plan_.push_back(std::move(s));
  }

  void references() {
    Stage s = named("references");
    s.reads = {training(), L_.song_meta()};
    for (const auto& q : question_sets()) {
      s.reads.push_back(q.questions);
      for (const auto& m : o_.methods) {
        const auto out = L_.results_for(m, q.set);
        std::vector<std::string> args{"baseline",
                                      "--method=" + m,
                                      "--train=" + training(),
                                      "--questions=" + q.questions,
                                      "--song-meta=" + L_.song_meta(),
                                      "--out=" + out};
        // A reference tunes and fits on the reranker's held-out split (the
        // autoencoder's slice) and saves that fit for the reranker; the
        // second question file reuses it.
        if (is_reference(m)) {
          args.push_back("--fitted=" + L_.fitted());
          if (o_.model) args.push_back("--checkpoint-dir=" + L_.checkpoints());
        }
        s.runs.push_back(run(args));
        s.writes.push_back(out);
      }
    }
    if (std::any_of(o_.methods.begin(), o_.methods.end(), is_reference)) {
      if (o_.model) s.reads.push_back(L_.checkpoints());
      s.writes.push_back(L_.fitted());
    }
    if (o_.methods.empty()) s.skip = "no reference methods";
    plan_.push_back(std::move(s));
  }

  void rerank() {
    Stage s = named("rerank");
    // Minutes at full scale and no state worth saving midway: stopped on a
    // stop signal and run again from the start (its answers do not depend on
    // being interrupted), rather than risk the time limit ending the chain.
    s.on_stop = OnStop::Kill;
    s.reads = {training(), L_.song_meta()};
    bool first = true;
    for (const auto& q : question_sets()) {
      const auto out = L_.results_for("", q.set);
      std::vector<std::string> args{"rerank", "--train=" + training(), "--questions=" + q.questions,
                                    "--song-meta=" + L_.song_meta(), "--out=" + out};
      // The rankers learn from the training playlists alone, the same for
      // every question file: the first run's models are the report's.
      if (first) args.push_back("--model-dir=" + L_.ranker());
      if (o_.model) args.push_back("--checkpoint-dir=" + L_.checkpoints());
      if (fits()) args.push_back("--fitted=" + L_.fitted());
      add_pca(args, s);
      s.runs.push_back(run(args));
      s.reads.push_back(q.questions);
      s.writes.push_back(out);
      first = false;
    }
    if (o_.model) s.reads.push_back(L_.checkpoints());
    if (fits()) s.reads.push_back(L_.fitted());
    s.writes.push_back(L_.ranker());
    dedup(s.reads);
    if (!o_.rerank) s.skip = "rerank is off";
    plan_.push_back(std::move(s));
  }

  void evaluate() {
    Stage s = named("evaluate");
    for (const auto& q : question_sets()) {
      std::vector<std::string> args{"evaluate", "--answers=" + q.answers, "--questions=" + q.questions,
                                    "--out=" + L_.scores_for(q.set)};
      s.reads.push_back(q.answers);
      s.reads.push_back(q.questions);
      auto add = [&](const std::string& label, const std::string& path) {
        args.push_back("--table=" + label + "=" + path);
        s.reads.push_back(path);
      };
      if (o_.rerank) add(kRerankedLabel, L_.results_for("", q.set));
      if (o_.model) add(kAutoencoderLabel, L_.results_for(kAutoencoderLabel, q.set));
      for (const auto& m : o_.methods) add(m, L_.results_for(m, q.set));
      s.runs.push_back(run(std::move(args), /*one_task=*/true));
      s.writes.push_back(L_.scores_for(q.set));
    }
    if (submit() && !o_.answers_known)
      s.skip = "submit mode: " + L_.data + "/answers/ holds no answers to score against (the real release has none)";
    plan_.push_back(std::move(s));
  }

  void report() {
    Stage s = named("report");
    const auto scores = L_.scores_for(question_sets().front().set);
    s.runs.push_back(run(
        {"report", "--work=" + L_.work, "--song-meta=" + L_.song_meta(), "--scores=" + scores, "--out=" + L_.report()},
        /*one_task=*/true));
    s.reads = {L_.work, L_.song_meta()};
    s.writes = {L_.report()};
    if (!o_.report) s.skip = "report is off";
    plan_.push_back(std::move(s));
  }

  // Whether the references stage saves fits (the baselines have none).
  static bool is_reference(const std::string& m) { return recommend::is_reference(m); }
  bool fits() const { return std::any_of(o_.methods.begin(), o_.methods.end(), is_reference); }

  static void dedup(std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (auto& x : v)
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    v = std::move(out);
  }

  void add_pca(std::vector<std::string>& args, Stage& s) const {
    if (!o_.pca) return;
    args.push_back("--pca=" + L_.pca());
    if (std::find(s.reads.begin(), s.reads.end(), L_.pca()) == s.reads.end()) s.reads.push_back(L_.pca());
  }

  const Options& o_;
  const Layout& L_;
  std::vector<Stage> plan_;
};

void check_path(const char* what, const std::string& p) {
  MELON_CHECK(!p.empty(), "the job's " << what << " folder is not set");
  MELON_CHECK(p.find('\n') == std::string::npos && p.find('\r') == std::string::npos,
              "the job's " << what << " folder '" << p << "' holds a line break: refused (a stage's command line "
                           << "is handed to shell launchers one argument per line)");
}

}  // namespace

std::vector<Stage> make_plan(const Options& o) {
  check_path("data", o.layout.data);
  check_path("work", o.layout.work);
  if (!o.config.empty()) check_path("job file", o.config);
  for (const auto& m : o.methods) {
    MELON_CHECK(!m.empty() && m.find_first_of("=/\n\r \t") == std::string::npos,
                "reference method name '" << m << "': must be a plain word (it names results-" << m << ".json)");
  }
  return Builder(o).build();
}

std::vector<std::string> stage_names(const std::vector<Stage>& plan) {
  std::vector<std::string> out;
  for (const auto& s : plan)
    if (s.skip.empty()) out.push_back(s.name);
  return out;
}

std::string describe_names(const std::vector<Stage>& plan) {
  std::string names;
  for (const auto& s : plan) names += (names.empty() ? "" : ", ") + s.name;
  return names;
}

const Stage& find_stage(const std::vector<Stage>& plan, const std::string& name) {
  for (const auto& s : plan)
    if (s.name == name) return s;
  MELON_THROW("no stage '" << name << "' in the plan (stages: " << describe_names(plan) << ")");
}

std::string describe(const std::vector<Stage>& plan) {
  std::ostringstream out;
  int n = 0;
  for (const auto& s : plan) {
    if (!s.skip.empty()) {
      out << "-  " << s.name << ": skipped (" << s.skip << ")\n";
      continue;
    }
    out << ++n << ". " << s.name << " (on a stop signal: " << on_stop_name(s.on_stop) << ")\n";
    for (const auto& r : s.runs) {
      out << "     melon";
      for (const auto& a : r.args) out << ' ' << (a.find(' ') == std::string::npos ? a : "'" + a + "'");
      if (r.one_task) out << "   (one task)";
      out << '\n';
    }
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      out << "     " << what << ':';
      for (const auto& p : v) out << ' ' << p;
      out << '\n';
    };
    list("reads", s.reads);
    list("writes", s.writes);
  }
  return out.str();
}

std::string stage_lines(const Stage& s) {
  std::ostringstream out;
  out << "on-stop " << on_stop_name(s.on_stop) << '\n';
  for (const auto& a : s.rerun_args) out << "rerun-arg " << a << '\n';
  if (!s.skip.empty()) {
    out << "skip " << s.skip << '\n';
    return out.str();
  }
  for (const auto& r : s.runs) {
    out << (r.one_task ? "run one" : "run all") << '\n';
    for (const auto& a : r.args) {
      MELON_ASSERT(!a.empty() && a.find('\n') == std::string::npos, "stage " << s.name << ": argument '" << a << "'");
      out << a << '\n';
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace melon::plan
