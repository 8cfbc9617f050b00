#include "melon/eval/metric.hpp"

#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "melon/error.hpp"

namespace melon::eval {
namespace {

double discount(std::size_t i) { return 1.0 / std::log(static_cast<double>(i) + 2.0); }

template <class T>
double ndcg_impl(const std::vector<T>& ranked, const std::vector<T>& answer) {
  std::unordered_set<T> truth(answer.begin(), answer.end());
  double dcg = 0, idcg = 0;
  for (std::size_t i = 0; i < ranked.size(); ++i)
    if (truth.count(ranked[i])) dcg += discount(i);
  for (std::size_t i = 0; i < answer.size(); ++i) idcg += discount(i);
  // The official evaluator divides by zero here; its answer files never have
  // an empty group (the split hides the larger half), and ours neither.
  MELON_CHECK(idcg > 0, "empty answer list: nDCG is undefined");
  return dcg / idcg;
}

template <class T>
bool all_unique(const std::vector<T>& v) {
  std::unordered_set<T> s(v.begin(), v.end());
  return s.size() == v.size();
}

void add(Score& s, double song, double tag) {
  s.song_ndcg += song;
  s.tag_ndcg += tag;
  ++s.questions;
}

void finish(Score& s) {
  if (s.questions) {
    s.song_ndcg /= s.questions;
    s.tag_ndcg /= s.questions;
  }
  s.score = 0.85 * s.song_ndcg + 0.15 * s.tag_ndcg;
}

}  // namespace

double ndcg(const std::vector<arena::SongId>& ranked, const std::vector<arena::SongId>& answer) {
  return ndcg_impl(ranked, answer);
}
double ndcg(const std::vector<std::string>& ranked, const std::vector<std::string>& answer) {
  return ndcg_impl(ranked, answer);
}

Report evaluate(const std::vector<arena::Result>& answers, const std::vector<arena::Result>& results,
                const std::vector<arena::Playlist>* questions) {
  std::unordered_map<std::int64_t, const arena::Result*> truth;
  for (auto& a : answers) MELON_CHECK(truth.emplace(a.id, &a).second, "answers: duplicate playlist id " << a.id);
  std::unordered_map<std::int64_t, questions::QuestionType> types;
  if (questions)
    for (auto& q : *questions) types.emplace(q.id, questions::question_type(q));

  std::unordered_set<std::int64_t> seen;
  for (auto& r : results) {
    MELON_CHECK(seen.insert(r.id).second, "results: playlist id " << r.id << " appears twice");
    MELON_CHECK(truth.count(r.id),
                "results: playlist id " << r.id << " is not in the answers (the ids must be the same set)");
  }
  for (auto& a : answers)
    MELON_CHECK(seen.count(a.id), "results: no entry for playlist id " << a.id << " (the ids must be the same set)");
  for (auto& r : results) {
    MELON_CHECK(r.songs.size() == 100,
                "results: playlist id " << r.id << " has " << r.songs.size() << " songs, need exactly 100");
    MELON_CHECK(r.tags.size() == 10,
                "results: playlist id " << r.id << " has " << r.tags.size() << " tags, need exactly 10");
    MELON_CHECK(all_unique(r.songs), "results: playlist id " << r.id << " repeats a song");
    MELON_CHECK(all_unique(r.tags), "results: playlist id " << r.id << " repeats a tag");
  }

  Report rep;
  for (auto& r : results) {
    const auto& a = *truth.at(r.id);
    double s, t;
    try {
      s = ndcg(r.songs, a.songs);
      t = ndcg(r.tags, a.tags);
    } catch (const Error& e) {
      MELON_THROW("answers: playlist id " << a.id << ": " << e.what());
    }
    add(rep.overall, s, t);
    if (questions) {
      auto it = types.find(r.id);
      MELON_CHECK(it != types.end(), "questions: no question with playlist id " << r.id);
      add(rep.by_type[it->second], s, t);
    }
  }
  finish(rep.overall);
  for (auto& [k, s] : rep.by_type) finish(s);
  return rep;
}

std::string format_table(const Report& r) {
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-12s %9s %9s %9s %8s\n", "questions", "song nDCG", "tag nDCG", "score", "count");
  out += buf;
  auto row = [&](const char* name, const Score& s) {
    std::snprintf(buf, sizeof buf, "%-12s %9.4f %9.4f %9.4f %8zu\n", name, s.song_ndcg, s.tag_ndcg, s.score,
                  s.questions);
    out += buf;
  };
  row("all", r.overall);
  for (auto& [t, s] : r.by_type) row(questions::name(t), s);
  return out;
}

std::string to_json(const Report& r) {
  auto obj = [](const Score& s) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "{\"song_ndcg\": %.6f, \"tag_ndcg\": %.6f, \"score\": %.6f, \"questions\": %zu}",
                  s.song_ndcg, s.tag_ndcg, s.score, s.questions);
    return std::string(buf);
  };
  std::string out = "{\"overall\": " + obj(r.overall) + ", \"by_type\": {";
  bool first = true;
  for (auto& [t, s] : r.by_type) {
    if (!first) out += ", ";
    first = false;
    out += std::string("\"") + questions::name(t) + "\": " + obj(s);
  }
  return out + "}}";
}

}  // namespace melon::eval
