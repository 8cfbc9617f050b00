#include "melon/recommend/tuning.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "melon/arena/gather.hpp"
#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/recommend/fitted_io.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"
#include "reference_models.hpp"

namespace melon::recommend {

std::vector<std::int64_t> draw_held_out(const std::vector<arena::Playlist>& train, std::int64_t wanted,
                                        std::uint64_t seed) {
  std::vector<std::int64_t> ids;
  for (auto i : questions::held_out_indices(train.size(), wanted, seed, questions::HeldOutDraw::Rerank))
    ids.push_back(train[i].id);
  return ids;
}

HeldOutSet held_out_set(const std::vector<arena::Playlist>& train, const std::vector<std::int64_t>& ids,
                        std::uint64_t seed) {
  HeldOutSet h;
  h.ids = ids;
  const std::unordered_set<std::int64_t> held(ids.begin(), ids.end());
  std::int64_t j = 0;
  for (const auto& p : train) {
    if (!held.count(p.id)) {
      h.fit_on.push_back(p);
      continue;
    }
    // Position j, as the reranker numbers its learning questions: the same questions.
    auto q = questions::held_out_question(p, j++, seed);
    h.questions.push_back(std::move(q.question));
    h.answers.push_back(std::move(q.answer));
  }
  if (static_cast<std::size_t>(j) != held.size()) {
    std::unordered_set<std::int64_t> found;
    for (const auto& p : train) found.insert(p.id);
    for (auto id : ids)
      MELON_CHECK(found.count(id), "held-out playlist id " << id << " is not in the training playlists");
  }
  MELON_CHECK(!h.fit_on.empty(), "no training playlists left outside the held-out slice");
  return h;
}

namespace {

// Values of one hyperparameter: the given one first, then the grid's others.
std::vector<double> values(double given, std::initializer_list<double> grid, bool pinned) {
  std::vector<double> v{given};
  if (!pinned)
    for (auto x : grid)
      if (x != given) v.push_back(x);
  return v;
}

bool has(const std::vector<std::string>& v, const char* name) { return std::find(v.begin(), v.end(), name) != v.end(); }

std::string num(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

}  // namespace

std::vector<ReferenceOptions> tuning_grid(ReferenceMethod m, const ReferenceOptions& given,
                                          const std::vector<std::string>& pinned) {
  std::vector<ReferenceOptions> out;
  switch (m) {
    case ReferenceMethod::ItemKnn:
      for (auto a : values(given.alpha, {0.0, 0.5, 1.0}, has(pinned, "alpha")))
        for (auto b : values(given.beta, {0.0, 0.1, 0.3}, has(pinned, "beta"))) {
          auto o = given;
          o.alpha = a, o.beta = b;
          out.push_back(o);
        }
      break;
    case ReferenceMethod::PlaylistKnn:
      for (auto k : values(static_cast<double>(given.neighbours), {100, 300, 1000}, has(pinned, "neighbours")))
        for (auto p : values(given.power, {1.0, 2.0}, has(pinned, "power"))) {
          auto o = given;
          o.neighbours = static_cast<std::int64_t>(k), o.power = p;
          out.push_back(o);
        }
      break;
    case ReferenceMethod::Ease:
      for (auto l : values(given.ease_lambda, {100, 300, 1000, 3000}, has(pinned, "ease-lambda"))) {
        auto o = given;
        o.ease_lambda = l;
        out.push_back(o);
      }
      break;
    case ReferenceMethod::Mixture:
      for (auto k :
           values(static_cast<double>(given.mixture_clusters), {50, 150, 300}, has(pinned, "mixture-clusters"))) {
        auto o = given;
        o.mixture_clusters = static_cast<std::int64_t>(k);
        out.push_back(o);
      }
      break;
  }
  return out;
}

std::string describe_tuned(ReferenceMethod m, const ReferenceOptions& o) {
  switch (m) {
    case ReferenceMethod::ItemKnn: return "alpha=" + num(o.alpha) + " beta=" + num(o.beta);
    case ReferenceMethod::PlaylistKnn: return "neighbours=" + std::to_string(o.neighbours) + " power=" + num(o.power);
    case ReferenceMethod::Ease: return "ease-lambda=" + num(o.ease_lambda);
    case ReferenceMethod::Mixture: return "mixture-clusters=" + std::to_string(o.mixture_clusters);
  }
  return "";
}

Tuned tune(ReferenceMethod m, const Corpus& c, const HeldOutSet& held, const std::vector<std::int32_t>& song_dates,
           const std::vector<ReferenceOptions>& grid, util::ThreadPool& threads) {
  MELON_CHECK(!grid.empty(), "tuning " << to_string(m) << ": empty grid");
  MELON_CHECK(!held.questions.empty(), "tuning " << to_string(m) << ": no held-out questions");
  const bool root = mpi::rank(mpi::world()) == 0;
  Tuned best;
  double best_score = -1;
  const auto start = std::chrono::steady_clock::now();
  // EASE's grid is fitted a round of `ranks` lambdas at a time, one solve per
  // rank (fit_ease_lambdas); the others one point at a time.
  const auto round = m == ReferenceMethod::Ease ? static_cast<std::size_t>(mpi::size(mpi::world())) : 1;
  std::vector<Fitted> fits;
  for (std::size_t t = 0; t < grid.size(); ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    if (t % round == 0) {
      const std::vector<ReferenceOptions> next(grid.begin() + static_cast<std::ptrdiff_t>(t),
                                               grid.begin() +
                                                   static_cast<std::ptrdiff_t>(std::min(grid.size(), t + round)));
      fits = m == ReferenceMethod::Ease ? fit_ease_lambdas(c, next)
                                        : std::vector<Fitted>{fit_reference(m, c, next[0], threads)};
    }
    auto fitted = std::move(fits[t % round]);
    const auto block = question_block(held.questions, c, grid[t]);
    const auto ref = make_reference(fitted, c, threads);
    std::vector<arena::Result> mine(block.size());
    for_each_chunk(
        threads, static_cast<std::int64_t>(block.size()), 8, [&](std::int64_t b, std::int64_t e, Workspace& ws) {
          for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i)
            mine[i] = answer(candidates(*ref, c, block[i], grid[t], song_dates, 100, 10, ws), c, block[i], song_dates);
        });
    const auto all = arena::gather_results(mine, mpi::world());
    // Scored on rank 0 and broadcast: every rank keeps the same trial.
    std::vector<double> score{0.0};
    if (root) {
      std::unordered_map<std::int64_t, const arena::Result*> by_id;
      for (const auto& a : held.answers) by_id.emplace(a.id, &a);
      // Each part over the questions that hide some of it (a playlist
      // without tags hides none, and nDCG of an empty answer is undefined).
      double songs = 0, tags = 0;
      std::size_t n_songs = 0, n_tags = 0;
      for (const auto& r : all) {
        const auto* a = by_id.at(r.id);
        if (!a->songs.empty()) songs += eval::ndcg(r.songs, a->songs), ++n_songs;
        if (!a->tags.empty()) tags += eval::ndcg(r.tags, a->tags), ++n_tags;
      }
      score[0] = 0.85 * (n_songs ? songs / static_cast<double>(n_songs) : 0.0) +
                 0.15 * (n_tags ? tags / static_cast<double>(n_tags) : 0.0);
    }
    mpi::bcast(mpi::world(), score, 0);
    best.trials.push_back({grid[t], score[0]});
    if (root) {
      char line[256];
      // Trials cost about the same: the mean so far gives the time left.
      const double all = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double left = all / static_cast<double>(t + 1) * static_cast<double>(grid.size() - t - 1);
      std::snprintf(line, sizeof line,
                    "tuning %s %zu/%zu: %s scores %.4f on %zu held-out questions (%.1f s; ETA %.0f s)", to_string(m),
                    t + 1, grid.size(), describe_tuned(m, grid[t]).c_str(), score[0], held.questions.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), left);
      log::info(line);
    }
    if (score[0] > best_score) {
      best_score = score[0];
      best.chosen = t;
      best.fitted = std::move(fitted);
    }
  }
  if (root)
    log::info(std::string("tuning ") + to_string(m) + ": chose " + describe_tuned(m, grid[best.chosen]) +
              " (held-out score " + num(best_score) + ")");
  return best;
}

namespace {

// What a saved fit must have been asked for to be reused: the options and
// the grid, so a changed setting fits again.
std::string request_of(ReferenceMethod m, const ReferenceRun& run, const std::vector<ReferenceOptions>& grid) {
  std::string r = std::string(to_string(m)) + " tag-weight=" + num(run.opt.tag_weight) +
                  " title-weight=" + num(run.opt.title_weight) + " ease-songs=" + std::to_string(run.opt.ease_songs) +
                  " ease-tags=" + std::to_string(run.opt.ease_tags) +
                  " ease-tokens=" + std::to_string(run.opt.ease_tokens);
  // Only the mixture's requests name its iterations: the other methods' saved fits stay reusable.
  if (m == ReferenceMethod::Mixture) r += " mixture-iterations=" + std::to_string(run.opt.mixture_iterations);
  r += " grid:";
  for (const auto& o : grid) r += " [" + describe_tuned(m, o) + "]";
  return r;
}

}  // namespace

ReferenceOptions choose_options(ReferenceMethod m, const std::vector<arena::Playlist>& train, std::size_t n_songs,
                                const std::vector<std::int32_t>& song_dates, const ReferenceRun& run,
                                util::ThreadPool& threads) {
  if (!run.tune && run.fitted.empty()) return run.opt;
  const bool root = mpi::rank(mpi::world()) == 0;
  const auto ids = run.held_out.empty() ? draw_held_out(train, kOwnHeldOut, kHeldOutSeed) : run.held_out;
  const auto held = held_out_set(train, ids, kHeldOutSeed);
  const auto corpus = build_corpus(held.fit_on, n_songs, run.opt.tokenizer);
  const auto fp = corpus_fingerprint(corpus);
  const auto grid = run.tune ? tuning_grid(m, run.opt, run.pinned) : std::vector<ReferenceOptions>{run.opt};
  const auto request = request_of(m, run, grid);
  // A fit of the same corpus, slice and request is reused (submission mode
  // answers two question files from one training set).
  std::error_code ec;
  if (!run.fitted.empty() && std::filesystem::exists(run.fitted, ec)) {
    bool same = false;
    std::string why;
    try {
      const auto f = read_fitted(run.fitted);
      same = f.fitted.method == m && f.corpus == fp && f.held_out == ids && f.request == request;
      if (same) {
        if (root)
          log::info(std::string(to_string(m)) + ": reusing the held-out fit in " + run.fitted + " (" +
                    describe_tuned(m, f.fitted.opt) + ")");
        return f.fitted.opt;
      }
    } catch (const Error& e) {
      why = e.what();
    }
    if (root)
      log::info(run.fitted + ": " + (why.empty() ? "fitted for other data or settings" : why) + "; fitting again");
  }
  if (root)
    log::info(std::string(to_string(m)) + ": " + (run.tune ? "tuning on " : "fitting on ") +
              std::to_string(held.questions.size()) + " held-out training playlists (fitted on the other " +
              std::to_string(held.fit_on.size()) + ")");
  auto tuned = run.tune ? tune(m, corpus, held, song_dates, grid, threads)
                        : Tuned{fit_reference(m, corpus, run.opt, threads), {}, 0};
  if (!run.fitted.empty()) {
    mpi::collective(mpi::world(), [&] {
      if (!root) return;
      FittedFile f;
      f.fitted = tuned.fitted;
      f.corpus = fp;
      f.held_out = ids;
      f.request = request;
      for (const auto& t : tuned.trials) f.trials.emplace_back(describe_tuned(m, t.opt), t.score);
      f.chosen = tuned.chosen;
      write_fitted(run.fitted, f);
      log::info(std::string(to_string(m)) + ": held-out fit -> " + run.fitted);
    });
  }
  return tuned.fitted.opt;
}

}  // namespace melon::recommend
