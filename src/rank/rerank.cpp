#include "melon/rank/rerank.hpp"
#include "melon/rank/report_data.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>

#include "melon/ae/audio.hpp"
#include "melon/ae/checkpoint.hpp"
#include "melon/arena/gather.hpp"
#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/rank/features.hpp"
#include "melon/recommend/ae_source.hpp"
#include "melon/recommend/fitted_io.hpp"
#include "melon/recommend/source.hpp"
#include "melon/recommend/tuning.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/hash.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::rank {
namespace {

using arena::Candidates;
using Sources = std::vector<std::unique_ptr<recommend::CandidateSource>>;

// This rank's share of questions: cut by the references' cost estimate
// (recommend::question_share), the same on every rank, so the gathered rows
// and answers come back in question order.
struct Share {
  std::size_t first = 0, end = 0;
};
Share share_of(const std::vector<arena::Playlist>& qs, const recommend::Corpus& c, const RerankOptions& opt) {
  const auto [first, end] = recommend::question_share(qs, c, opt.ref);
  return {first, end};
}

// This rank's share of qs, pooled over every source and described.
std::vector<Pool> pool_block(const std::vector<arena::Playlist>& qs, Share mine, const Sources& sources,
                             const FeatureContext& ctx, const RerankOptions& opt, util::ThreadPool& threads,
                             const char* what) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto block = std::span<const arena::Playlist>(qs).subspan(mine.first, mine.end - mine.first);
  const auto n = block.size();
  if (mpi::rank(mpi::world()) == 0) log::info(std::string("pooling ") + what);
  std::vector<std::vector<Candidates>> lists;
  for (auto& s : sources) lists.push_back(s->candidates(block, opt.songs_per_source, opt.tags_per_source, threads));
  log::Progress progress(std::string("pooling ") + what, static_cast<std::int64_t>(n), "questions", 10.0,
                         mpi::rank(mpi::world()) == 0);
  std::vector<Pool> out(n);
  constexpr std::size_t kSlab = 256, kChunk = 8;
  for (std::size_t s0 = 0; s0 < n; s0 += kSlab) {
    const auto s1 = std::min(n, s0 + kSlab);
    threads.run(static_cast<std::int64_t>((s1 - s0 + kChunk - 1) / kChunk), [&](std::int64_t k) {
      const auto b = s0 + static_cast<std::size_t>(k) * kChunk, e = std::min(s1, b + kChunk);
      for (auto i = b; i < e; ++i) {
        std::vector<const Candidates*> these;
        for (auto& l : lists) these.push_back(&l[i]);
        out[i] = pool_question(block[i], these, ctx);
        for (auto& l : lists) l[i] = Candidates{};
      }
    });
    progress.update(static_cast<std::int64_t>(s1));
  }
  progress.finish();
  recommend::log_shares(std::string("pooling ") + what, n,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return out;
}

// Learning rows of a block: one group per question with at least one right
// answer among its pooled items (others carry no ranking signal). Three sets,
// three models: songs for questions that show songs, songs for questions that
// show none (tags only, title only: another problem, where the sources' ranks
// mean something else), and tags.
enum Model { kSongsShown, kNoSongs, kTags, kModels };
const char* const kModelName[kModels] = {"songs (songs shown)", "songs (no songs shown)", "tags"};
const char* const kModelFile[kModels] = {"reranker-songs", "reranker-songs-cold", "reranker-tags"};

struct Set {
  RankData d;
  std::vector<std::int64_t> q;  // question position of each group
};
using Rows = std::array<Set, kModels>;

void add_group(Set& s, std::int64_t pos, const std::vector<float>& x, const std::vector<float>& label) {
  if (label.empty() || std::find(label.begin(), label.end(), 1.0f) == label.end()) return;
  s.d.append_group(x, label);
  s.q.push_back(pos);
}

Rows learning_rows(const std::vector<Pool>& pools, const std::vector<arena::Playlist>& questions,
                   const std::vector<arena::Result>& answers, std::int64_t first, int song_nf, int tag_nf,
                   bool split_songs) {
  Rows r;
  r[kSongsShown].d.n_features = r[kNoSongs].d.n_features = song_nf;
  r[kTags].d.n_features = tag_nf;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const auto pos = first + static_cast<std::int64_t>(i);
    const auto& a = answers[static_cast<std::size_t>(pos)];
    const std::unordered_set<arena::SongId> right(a.songs.begin(), a.songs.end());
    const std::unordered_set<std::string> right_tags(a.tags.begin(), a.tags.end());
    std::vector<float> ls, lt;
    for (auto s : pools[i].songs) ls.push_back(right.count(s) ? 1.0f : 0.0f);
    for (auto& t : pools[i].tags) lt.push_back(right_tags.count(t) ? 1.0f : 0.0f);
    add_group(r[split_songs && questions[static_cast<std::size_t>(pos)].songs.empty() ? kNoSongs : kSongsShown], pos,
              pools[i].song_x, ls);
    add_group(r[kTags], pos, pools[i].tag_x, lt);
  }
  return r;
}

// Bytes for the gather: counts, then the arrays, native layout (same binary on every rank).
template <class T>
void put(std::string& b, const std::vector<T>& v) {
  const std::uint64_t n = v.size();
  b.append(reinterpret_cast<const char*>(&n), sizeof n);
  b.append(reinterpret_cast<const char*>(v.data()), n * sizeof(T));
}
template <class T>
std::vector<T> take(const std::string& b, std::size_t& at) {
  std::uint64_t n = 0;
  MELON_ASSERT(at + sizeof n <= b.size(), "gathered learning rows are short");
  std::memcpy(&n, b.data() + at, sizeof n);
  at += sizeof n;
  MELON_ASSERT(at + n * sizeof(T) <= b.size(), "gathered learning rows are short");
  std::vector<T> v(n);
  if (n) std::memcpy(v.data(), b.data() + at, n * sizeof(T));
  at += n * sizeof(T);
  return v;
}

// Rank 0: every rank's rows in rank (so question) order.
Rows gather_rows(const Rows& mine) {
  std::string b;
  for (auto& s : mine) {
    put(b, s.d.x);
    put(b, s.d.label);
    put(b, s.d.groups);
    put(b, s.q);
  }
  const auto all = mpi::gather_bytes(mpi::world(), b);
  Rows r;
  for (int m = 0; m < kModels; ++m) r[m].d.n_features = mine[m].d.n_features;
  std::size_t at = 0;
  while (at < all.size()) {
    for (auto& s : r) {
      auto x = take<float>(all, at);
      auto label = take<float>(all, at);
      auto groups = take<std::uint32_t>(all, at);
      auto q = take<std::int64_t>(all, at);
      s.d.x.insert(s.d.x.end(), x.begin(), x.end());
      s.d.label.insert(s.d.label.end(), label.begin(), label.end());
      s.d.groups.insert(s.d.groups.end(), groups.begin(), groups.end());
      s.q.insert(s.q.end(), q.begin(), q.end());
    }
  }
  return r;
}

// Splits groups into learning and validation: every k-th question validates.
void split_groups(const RankData& d, const std::vector<std::int64_t>& q, std::int64_t every, RankData& learn,
                  RankData& valid) {
  learn = RankData{};
  valid = RankData{};
  learn.n_features = valid.n_features = d.n_features;
  std::size_t row = 0;
  const auto nf = static_cast<std::size_t>(d.n_features);
  for (std::size_t g = 0; g < d.groups.size(); ++g) {
    auto& to = every > 0 && q[g] % every == every - 1 ? valid : learn;
    const auto n = d.groups[g];
    to.append_group(std::span<const float>(d.x).subspan(row * nf, n * nf),
                    std::span<const float>(d.label).subspan(row, n));
    row += n;
  }
}

Booster learn(const char* what, const RankData& all, const std::vector<std::int64_t>& q, const BoosterOptions& bo,
              const RerankOptions& opt, std::size_t k, const std::vector<std::string>& names) {
  RankData fit, valid;
  const auto every = opt.valid_share > 0 ? std::max<std::int64_t>(2, std::llround(1.0 / opt.valid_share)) : 0;
  split_groups(all, q, every, fit, valid);
  MELON_CHECK(!fit.groups.empty(), "reranker: no learning question has a right "
                                       << what << " among its candidates; more learning questions are needed");
  log::info(std::string("reranker (") + what + "): learning on " + std::to_string(fit.groups.size()) + " questions, " +
            std::to_string(fit.label.size()) + " candidates x " + std::to_string(names.size()) + " features; " +
            std::to_string(valid.groups.size()) + " questions validate");
  // Early stopping: the validation metric every 10 rounds; training ends once
  // it has not improved for opt.patience_rounds, and the model keeps the
  // rounds up to its best (rank:ndcg overfits a few hundred questions quickly).
  int best_round = bo.rounds, last_round = bo.rounds;
  double best = -1;
  auto b = Booster::train(
      fit, bo, valid.groups.empty() ? nullptr : &valid,
      [&](int round, const std::string& e) {
        const auto colon = e.rfind(':');
        if (colon == std::string::npos) return true;
        const double v = std::strtod(e.c_str() + colon + 1, nullptr);
        if (v > best) best = v, best_round = round;
        const bool stop = opt.patience_rounds > 0 && round - best_round >= opt.patience_rounds && round < bo.rounds;
        if (stop) last_round = round;
        if (round % 50 == 0 || round == bo.rounds || stop)
          log::info(std::string("reranker (") + what + ") round " + std::to_string(round) + "/" +
                    std::to_string(bo.rounds) + ": validation " + bo.eval_metric + " " + std::to_string(v) + " (best " +
                    std::to_string(best) + " at round " + std::to_string(best_round) + ")" +
                    (stop ? "; stopping: no better score for " + std::to_string(round - best_round) + " rounds"
                          : std::string()));
        return !stop;
      },
      10);
  if (best_round < last_round) b = b.first_rounds(best_round);
  if (!valid.groups.empty()) {
    // Against the pool's own order (best rank over the sources): what the learning bought.
    std::vector<float> pool_order(valid.label.size());
    std::size_t row = 0;
    for (auto n : valid.groups)
      for (std::uint32_t i = 0; i < n; ++i) pool_order[row++] = -static_cast<float>(i);
    const auto model = b.predict(valid.x.data(), valid.label.size(), valid.n_features);
    log::info(std::string("reranker (") + what + "): held-out nDCG@" + std::to_string(k) + " " +
              std::to_string(held_out_ndcg(valid, model, k)) + " reranked vs " +
              std::to_string(held_out_ndcg(valid, pool_order, k)) + " in pool order");
  }
  if (!opt.model_dir.empty()) record_ranker(opt.model_dir, what, names, b, valid, k);
  return b;
}

void save_model(const std::string& dir, const std::string& name, const std::string& bytes,
                const std::vector<std::string>& features) {
  AtomicFile f(dir + "/" + name + ".json");
  f.write(bytes);
  f.commit();
  std::string list;
  for (auto& n : features) list += n + "\n";
  AtomicFile g(dir + "/" + name + ".features");
  g.write(list);
  g.commit();
}

}  // namespace

arena::Result ranked_answer(const arena::Playlist& q, const std::vector<arena::SongId>& songs,
                            const std::vector<float>& song_scores, const std::vector<std::string>& tags,
                            const std::vector<float>& tag_scores, const recommend::Corpus& c,
                            const std::vector<std::int32_t>& song_dates) {
  MELON_ASSERT(songs.size() == song_scores.size() && tags.size() == tag_scores.size(), "one score per candidate");
  auto order = [](const std::vector<float>& s) {
    std::vector<std::size_t> o(s.size());
    std::iota(o.begin(), o.end(), 0);
    // NaN (never expected from a model, but not trusted) sorts last, keeping the order strict.
    auto key = [&](std::size_t i) { return std::isnan(s[i]) ? -std::numeric_limits<float>::infinity() : s[i]; };
    std::stable_sort(o.begin(), o.end(), [&](auto a, auto b) { return key(a) > key(b); });
    return o;
  };
  // answer() keeps the lists' order, drops nothing, and fills under the rules;
  // the pool already holds no shown item and no duplicate, but stay safe.
  const std::unordered_set<arena::SongId> shown(q.songs.begin(), q.songs.end());
  const std::unordered_set<std::string> shown_tags(q.tags.begin(), q.tags.end());
  const auto qdate = arena::date_key(q.updt_date);
  Candidates cand;
  cand.id = q.id;
  std::unordered_set<arena::SongId> have;
  for (auto i : order(song_scores))
    if (!shown.count(songs[i]) && arena::released_by(song_dates, songs[i], qdate) && have.insert(songs[i]).second)
      cand.songs.emplace_back(songs[i], song_scores[i]);
  std::unordered_set<std::string> have_tags;
  for (auto i : order(tag_scores))
    if (!shown_tags.count(tags[i]) && have_tags.insert(tags[i]).second) cand.tags.emplace_back(tags[i], tag_scores[i]);
  return recommend::answer(cand, c, q, song_dates);
}

std::vector<std::int64_t> learning_positions(std::int64_t j, std::int64_t copies, bool no_song_copy) {
  // Copy c at slot j + 7c: over all playlists still the official mix; the
  // quotient keeps every position distinct, so every mask is another draw.
  std::vector<std::int64_t> positions{j};
  for (std::int64_t c = 1; c < copies; ++c) positions.push_back(j + c * (20 * 1000003 + 7));
  if (no_song_copy && j % 20 < 16) positions.push_back(20 * j + 16 + j % 4);  // slot 16-19: no songs shown
  return positions;
}

namespace {

// The held-out training playlists the reranker learns on: the autoencoder's
// (it never saw them), else a slice of its own.
std::vector<std::int64_t> held_out_ids(const std::vector<arena::Playlist>& train, const ae::Model* ae,
                                       const std::string& checkpoint_dir, const RerankOptions& opt) {
  if (ae) {
    MELON_CHECK(!ae->held_out.empty(),
                checkpoint_dir << ": the checkpoint records no held-out playlists (trained with --val-size 0 "
                                  "or by an older melon); the reranker learns on them: retrain with --val-size");
    return ae->held_out;
  }
  return recommend::draw_held_out(train, opt.learn_questions, opt.seed);
}

// Learning questions made from the held-out playlists, and the other training
// playlists, which the sources are fitted on.
struct Learning {
  std::vector<arena::Playlist> fit_on;
  std::vector<arena::Playlist> questions;
  std::vector<arena::Result> answers;
  std::vector<std::int64_t> owner;  // held-out playlist behind each learning question
  std::size_t n_held = 0;
};

Learning learning_questions(const std::vector<arena::Playlist>& train, const std::vector<std::int64_t>& held_ids,
                            const RerankOptions& opt) {
  const std::unordered_set<std::int64_t> held_set(held_ids.begin(), held_ids.end());
  Learning l;
  for (auto& p : train) {
    if (!held_set.count(p.id)) {
      l.fit_on.push_back(p);
      continue;
    }
    // Which questions each held-out playlist gives: learning_positions.
    const auto j = static_cast<std::int64_t>(l.n_held++);
    for (auto position : learning_positions(j, opt.learn_copies, opt.no_song_copies)) {
      auto h = questions::held_out_question(p, position, opt.seed);
      if (!opt.use_titles) h.question.title.clear();
      l.questions.push_back(std::move(h.question));
      l.answers.push_back(std::move(h.answer));
      l.owner.push_back(j);
    }
  }
  MELON_CHECK(l.n_held == held_set.size(), "the autoencoder's held-out playlists are not all in --train ("
                                               << l.n_held << " of " << held_set.size()
                                               << " found): train and rerank on the same file");
  MELON_CHECK(!l.fit_on.empty(), "no training playlists left to fit the sources on");
  return l;
}

// The sources in feature order: the autoencoder, each reference, the title kNN
// (sharing item-knn's fitted model when the list has one).
// A reference fitted on corpus (the training playlists outside the held-out
// slice): loaded from the references stage's file when `dir` holds one
// (refused when it was fitted on other playlists), else tuned and fitted here
// the same way, so both paths give the same fit.
// `held` is made on first need (the held-out questions), once for every reference.
recommend::Fitted fitted_reference(recommend::ReferenceMethod m, const recommend::Corpus& corpus,
                                   const std::vector<arena::Playlist>& train, const std::vector<std::int64_t>& held_ids,
                                   std::optional<recommend::HeldOutSet>& held, const std::vector<std::int32_t>& dates,
                                   const std::string& dir, const RerankOptions& opt, util::ThreadPool& threads) {
  const auto path = dir.empty() ? std::string() : recommend::fitted_path(dir, m);
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) {
    if (!path.empty() && mpi::rank(mpi::world()) == 0)
      log::info(std::string("reranker: no fitted ") + recommend::to_string(m) + " in " + dir + ": fitting it here");
    if (!opt.tune_references) return recommend::fit_reference(m, corpus, opt.ref, threads);
    if (!held) held = recommend::held_out_set(train, held_ids, recommend::kHeldOutSeed);
    return recommend::tune(m, corpus, *held, dates, recommend::tuning_grid(m, opt.ref, opt.pinned), threads).fitted;
  }
  auto f = recommend::read_fitted(path);
  MELON_CHECK(f.fitted.method == m, path << ": holds a fitted " << recommend::to_string(f.fitted.method) << ", not "
                                         << recommend::to_string(m));
  if (f.held_out != held_ids) {
    const std::unordered_set<std::int64_t> here(held_ids.begin(), held_ids.end());
    const auto common = std::count_if(f.held_out.begin(), f.held_out.end(), [&](auto id) { return here.count(id); });
    MELON_THROW(path << ": fitted with another held-out slice than this rerank's (" << f.held_out.size()
                     << " playlists there, " << held_ids.size() << " here, " << common
                     << " in common): run the references stage with the same --checkpoint-dir, or rerank without "
                        "--fitted");
  }
  MELON_CHECK(f.corpus == recommend::corpus_fingerprint(corpus),
              path << ": fitted on other training playlists than this rerank's (corpus fingerprint " << hex64(f.corpus)
                   << "): run the references stage on the same --train, or rerank without --fitted");
  if (mpi::rank(mpi::world()) == 0)
    log::info(std::string("reranker: ") + recommend::to_string(m) + " loaded from " + path + " (" +
              recommend::describe_tuned(m, f.fitted.opt) + ")");
  return std::move(f.fitted);
}

// A reference as the learning phase used it: which method, with which (tuned) options.
struct ReferenceUse {
  std::string name;
  recommend::ReferenceMethod method;
  recommend::ReferenceOptions opt;
};

bool has_refit(const std::string& checkpoint_dir) {
  std::error_code ec;
  return !checkpoint_dir.empty() && std::filesystem::exists(ae::refit_path(checkpoint_dir), ec);
}

// The sources in feature order from references already fitted on corpus.
Sources assemble_sources(const ae::Model* ae, const recommend::Corpus& corpus, const std::vector<std::int32_t>& dates,
                         const std::vector<ReferenceUse>& refs, const std::vector<recommend::Fitted>& fits,
                         const RerankOptions& opt, util::ThreadPool& threads) {
  Sources out;
  if (ae) {
    ae::PredictOptions po;
    po.song_dates = dates;
    out.push_back(recommend::ae_source(*ae, std::move(po)));
  }
  std::shared_ptr<const recommend::Reference> item_knn;
  recommend::ReferenceOptions item_knn_opt = opt.ref;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    std::shared_ptr<const recommend::Reference> ref = recommend::make_reference(fits[i], corpus, threads);
    if (refs[i].method == recommend::ReferenceMethod::ItemKnn) item_knn = ref, item_knn_opt = fits[i].opt;
    out.push_back(recommend::reference_source(refs[i].name, std::move(ref), corpus, fits[i].opt, dates));
  }
  if (opt.title_source && opt.use_titles) {
    if (!item_knn) item_knn = recommend::make_reference(recommend::ReferenceMethod::ItemKnn, corpus, opt.ref);
    out.push_back(recommend::title_source(item_knn, corpus, item_knn_opt, dates));
  }
  MELON_CHECK(!out.empty(), "reranker: no candidate source (no autoencoder and no reference)");
  return out;
}

// The learning phase's sources: references fitted (or loaded) on the
// training playlists outside the held-out slice. `used` gets each
// reference's tuned options, for the refit that answers the questions.
Sources make_sources(const ae::Model* ae, const recommend::Corpus& corpus, const std::vector<std::int32_t>& dates,
                     const std::vector<arena::Playlist>& train, const std::vector<std::int64_t>& held_ids,
                     const std::string& fitted_dir, const RerankOptions& opt, util::ThreadPool& threads,
                     std::vector<ReferenceUse>& used) {
  std::optional<recommend::HeldOutSet> held;
  std::vector<recommend::Fitted> fits;
  used.clear();
  for (auto& name : opt.references) {
    const auto m = recommend::parse_reference(name);
    fits.push_back(fitted_reference(m, corpus, train, held_ids, held, dates, fitted_dir, opt, threads));
    used.push_back({name, m, fits.back().opt});
  }
  return assemble_sources(ae, corpus, dates, used, fits, opt, threads);
}

// The answering phase's sources: each reference fitted again, with the
// options the held-out split chose, on every training playlist. The learning
// phase had to leave the held-out slice out (its questions come from it);
// the real questions do not, and on small data that slice is a third of the
// playlists (1,600 of 4,800).
Sources refit_sources(const ae::Model* ae, const recommend::Corpus& all, const std::vector<std::int32_t>& dates,
                      const std::vector<ReferenceUse>& used, const RerankOptions& opt, util::ThreadPool& threads) {
  std::vector<recommend::Fitted> fits;
  for (auto& u : used) {
    fits.push_back(recommend::fit_reference(u.method, all, u.opt, threads));
    if (mpi::rank(mpi::world()) == 0)
      log::info("reranker: " + u.name + " fitted again on all " + std::to_string(all.n_playlists()) +
                " training playlists (" + recommend::describe_tuned(u.method, u.opt) + ")");
  }
  return assemble_sources(ae, all, dates, used, fits, opt, threads);
}

// Rank 0 learns the models on every rank's rows and broadcasts them.
std::array<std::optional<Booster>, kModels> learn_models(const std::vector<Pool>& pools, Share mine, const Learning& l,
                                                         const std::vector<std::string>& song_names,
                                                         const std::vector<std::string>& tag_names,
                                                         const RerankOptions& opt, int threads) {
  const int rank = mpi::rank(mpi::world());
  auto rows = gather_rows(learning_rows(pools, l.questions, l.answers, static_cast<std::int64_t>(mine.first),
                                        static_cast<int>(song_names.size()), static_cast<int>(tag_names.size()),
                                        opt.split_song_model));
  std::array<std::string, kModels> bytes;
  mpi::collective(mpi::world(), [&] {
    if (rank != 0) return;
    for (int m = 0; m < kModels; ++m) {
      if (m == kNoSongs && !opt.split_song_model) continue;
      // Validation by held-out playlist: both questions of one playlist fall on the same side.
      for (auto& q : rows[m].q) q = l.owner[static_cast<std::size_t>(q)];
      const bool tags = m == kTags;
      const auto& names = tags ? tag_names : song_names;
      bytes[m] = learn(m == kSongsShown && !opt.split_song_model ? "songs" : kModelName[m], rows[m].d, rows[m].q,
                       tags ? opt.tags : opt.songs, opt, tags ? 10 : 100, names)
                     .save();
      if (!opt.model_dir.empty()) save_model(opt.model_dir, kModelFile[m], bytes[m], names);
    }
  });
  std::array<std::optional<Booster>, kModels> models;
  for (int m = 0; m < kModels; ++m) {
    if (m == kNoSongs && !opt.split_song_model) continue;
    mpi::bcast(mpi::world(), bytes[m]);
    models[m] = Booster::load(bytes[m], threads);
  }
  return models;
}

// This rank's answers: each pool ordered by its model, or without models by
// reciprocal-rank fusion of the sources' ranks (the first 2 x sources
// features of every row are rank, relative score). `originals`: the questions
// as given (titles kept), for the answer rules.
std::vector<arena::Result> answer_block(const std::vector<Pool>& pools, Share mine,
                                        const std::vector<arena::Playlist>& originals,
                                        const std::array<std::optional<Booster>, kModels>& models,
                                        std::size_t n_sources, std::size_t song_nf, std::size_t tag_nf,
                                        const recommend::Corpus& corpus, const std::vector<std::int32_t>& dates,
                                        const RerankOptions& opt) {
  auto score = [&](const std::optional<Booster>& b, const std::vector<float>& x, std::size_t nf) {
    const auto rows = x.size() / nf;
    if (b) return b->predict(x.data(), rows, static_cast<int>(nf));
    std::vector<float> s(rows, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t k = 0; k < n_sources; ++k)
        if (const float rk = x[r * nf + 2 * k]; !std::isnan(rk)) s[r] += 1.0f / (60.0f + rk);
    return s;
  };
  // Scored in slabs: one XGBoost call per model and slab, not per question.
  std::vector<arena::Result> out;
  for (std::size_t s0 = 0; s0 < pools.size(); s0 += 256) {
    const auto s1 = std::min(pools.size(), s0 + 256);
    std::array<std::vector<float>, kModels> x;
    auto model_of = [&](std::size_t i) {
      return opt.split_song_model && originals[mine.first + i].songs.empty() ? kNoSongs : kSongsShown;
    };
    for (auto i = s0; i < s1; ++i) {
      auto& to = x[model_of(i)];
      to.insert(to.end(), pools[i].song_x.begin(), pools[i].song_x.end());
      x[kTags].insert(x[kTags].end(), pools[i].tag_x.begin(), pools[i].tag_x.end());
    }
    std::array<std::vector<float>, kModels> scores;
    for (int m = 0; m < kModels; ++m) scores[m] = score(models[m], x[m], m == kTags ? tag_nf : song_nf);
    std::array<std::size_t, kModels> at{};
    auto next = [&](int m, std::size_t n) {
      std::vector<float> v(scores[m].begin() + static_cast<std::ptrdiff_t>(at[m]),
                           scores[m].begin() + static_cast<std::ptrdiff_t>(at[m] + n));
      at[m] += n;
      return v;
    };
    for (auto i = s0; i < s1; ++i) {
      const auto& p = pools[i];
      const auto ps = next(model_of(i), p.songs.size());
      const auto pt = next(kTags, p.tags.size());
      out.push_back(ranked_answer(originals[mine.first + i], p.songs, ps, p.tags, pt, corpus, dates));
    }
  }
  return out;
}

}  // namespace

std::vector<arena::Result> rerank(const RerankInputs& in, const RerankOptions& opt_in) {
  MELON_ASSERT(in.train && in.questions, "rerank inputs");
  RerankOptions opt = opt_in;
  const int threads = mpi::threads_per_rank(opt.threads, mpi::world());
  MELON_CHECK(opt.ranker_threads >= 1, "rerank: the rankers need at least one thread, got " << opt.ranker_threads);
  opt.songs.threads = opt.tags.threads = opt.ranker_threads;
  util::ThreadPool pool(threads);
  const auto& train = *in.train;
  auto questions = *in.questions;
  if (!opt.use_titles)
    for (auto& q : questions) q.title.clear();

  std::unique_ptr<ae::Model> ae;
  // The learning questions come from the held-out slice: the model that
  // scores them must not have trained on it, so never the refit's.
  const auto learning_weights = in.weights == ae::Weights::Refit ? ae::Weights::Best : in.weights;
  if (!in.checkpoint_dir.empty())
    ae = std::make_unique<ae::Model>(ae::load_model(in.checkpoint_dir, in.pca, learning_weights));
  const auto held_ids = held_out_ids(train, ae.get(), in.checkpoint_dir, opt);
  const auto learning = learning_questions(train, held_ids, opt);

  const auto corpus = recommend::build_corpus(learning.fit_on, recommend::song_count(in.meta, train, questions),
                                              opt.ref.tokenizer);
  const auto dates = in.meta ? arena::song_dates(*in.meta) : std::vector<std::int32_t>{};
  std::vector<ReferenceUse> used;
  // Without the autoencoder as a source (the ablation) it still gives the
  // held-out slice and the audio table: only its candidates are missing.
  const ae::Model* ae_src = opt.ae_source ? ae.get() : nullptr;
  auto sources = make_sources(ae_src, corpus, dates, train, held_ids, in.fitted, opt, pool, used);

  ae::AudioTable audio;
  if (opt.use_audio) {
    if (ae && !ae->audio.empty()) audio = ae->audio;
    else if (!in.pca.empty()) audio = ae::read_audio(in.pca);
  }
  FeatureContext ctx;
  for (auto& s : sources) ctx.sources.push_back({s->name(), s->logits()});
  ctx.corpus = &corpus;
  ctx.meta = in.meta;
  ctx.audio = audio.empty() ? nullptr : &audio;
  ctx.tokenizer = opt.ref.tokenizer;
  ctx.songs_per_source = opt.songs_per_source;
  ctx.tags_per_source = opt.tags_per_source;
  const auto song_names = song_features(ctx), tag_names = tag_features(ctx);
  if (mpi::rank(mpi::world()) == 0) {
    std::string names;
    for (auto& s : ctx.sources) names += (names.empty() ? "" : ", ") + s.name;
    log::info("reranker: sources " + names + "; " + std::to_string(learning.questions.size()) +
              " learning questions from " + std::to_string(learning.n_held) +
              " held-out training playlists, sources fitted on the other " + std::to_string(learning.fit_on.size()) +
              "; " + std::to_string(threads) + " threads per rank, the rankers learn with " +
              std::to_string(opt.ranker_threads));
  }

  std::array<std::optional<Booster>, kModels> models;
  if (opt.learned) {
    const auto mine = share_of(learning.questions, corpus, opt);
    models = learn_models(pool_block(learning.questions, mine, sources, ctx, opt, pool, "learning questions"), mine,
                          learning, song_names, tag_names, opt, threads);
  }
  // The questions are answered by sources that saw every training playlist.
  // Popularity counts are scaled back to the learning corpus's size so that
  // log_count means to the models what it meant in learning.
  std::optional<recommend::Corpus> all;
  if (opt.refit_on_all && learning.fit_on.size() < train.size()) {
    sources.clear();  // the learning fits are no longer needed: their memory goes before the refit
    all = recommend::build_corpus(train, corpus.n_songs, opt.ref.tokenizer);
    if (ae_src && in.weights == ae::Weights::Refit && has_refit(in.checkpoint_dir)) {
      ae = std::make_unique<ae::Model>(ae::load_model(in.checkpoint_dir, in.pca, ae::Weights::Refit));
      ae_src = ae.get();
    }
    sources = refit_sources(ae_src, *all, dates, used, opt, pool);
    ctx.corpus = &*all;
    ctx.count_scale = static_cast<double>(corpus.n_playlists()) / static_cast<double>(all->n_playlists());
  }
  const auto& answering = all ? *all : corpus;
  const auto mine = share_of(questions, answering, opt);
  const auto pools = pool_block(questions, mine, sources, ctx, opt, pool, "questions");
  return arena::gather_results(answer_block(pools, mine, *in.questions, models, sources.size(), song_names.size(),
                                            tag_names.size(), answering, dates, opt),
                               mpi::world());
}

}  // namespace melon::rank
