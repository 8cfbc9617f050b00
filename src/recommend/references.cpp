// Shared machinery of the reference recommenders: the corpus index, question
// encoding, candidate selection under the answer rules, and the MPI driver.
#include "melon/recommend/references.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <span>
#include <unordered_set>

#include "melon/arena/gather.hpp"
#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/source.hpp"
#include "melon/recommend/tuning.hpp"
#include "melon/util/log.hpp"
#include "reference_models.hpp"

namespace melon::recommend {

namespace {
constexpr ReferenceMethod kMethods[] = {ReferenceMethod::ItemKnn, ReferenceMethod::PlaylistKnn, ReferenceMethod::Ease,
                                        ReferenceMethod::Mixture};
}  // namespace

const char* to_string(ReferenceMethod m) {
  switch (m) {
    case ReferenceMethod::ItemKnn: return "item-knn";
    case ReferenceMethod::PlaylistKnn: return "playlist-knn";
    case ReferenceMethod::Ease: return "ease";
    case ReferenceMethod::Mixture: return "mixture";
  }
  return "?";
}

bool is_reference(const std::string& name) {
  return std::any_of(std::begin(kMethods), std::end(kMethods), [&](auto m) { return name == to_string(m); });
}

ReferenceMethod parse_reference(const std::string& name) {
  for (auto m : kMethods)
    if (name == to_string(m)) return m;
  MELON_THROW("unknown reference method '" << name << "' (item-knn|playlist-knn|ease|mixture)");
}

namespace {

// Adds names in first-seen order; returns the vocabulary index of each.
std::int32_t intern(std::unordered_map<std::string, std::int32_t>& index, std::vector<std::string>& names,
                    const std::string& name) {
  auto [it, added] = index.emplace(name, static_cast<std::int32_t>(names.size()));
  if (added) names.push_back(name);
  return it->second;
}

// CSR transpose: for each item, the playlists holding it (in playlist order).
void invert(Corpus& c) {
  const auto n = c.n_items();
  c.item_offsets.assign(n + 1, 0);
  for (auto i : c.items) ++c.item_offsets[static_cast<std::size_t>(i) + 1];
  for (std::size_t i = 0; i < n; ++i) c.item_offsets[i + 1] += c.item_offsets[i];
  c.playlists.resize(c.items.size());
  std::vector<std::int64_t> next(c.item_offsets.begin(), c.item_offsets.end() - 1);
  for (std::size_t p = 0; p < c.n_playlists(); ++p)
    for (auto k = c.offsets[p]; k < c.offsets[p + 1]; ++k)
      c.playlists[next[c.items[k]]++] = static_cast<std::int32_t>(p);
}

}  // namespace

Corpus build_corpus(const std::vector<arena::Playlist>& train, std::size_t n_songs, const text::TokenizerOptions& tok) {
  MELON_CHECK(train.size() < static_cast<std::size_t>(INT32_MAX), "too many training playlists: " << train.size());
  Corpus c;
  c.n_songs = n_songs;
  // Every rank builds the whole index: it already holds the whole training
  // list, the index is linear in its size, and sharding it would only move
  // the question-time walks across the network.
  std::vector<std::vector<std::string>> titles(train.size());
  std::vector<std::vector<std::int32_t>> tag_idx(train.size()), tok_idx(train.size());
  for (std::size_t p = 0; p < train.size(); ++p)
    for (auto& t : train[p].tags) tag_idx[p].push_back(intern(c.tag_item, c.tags, t));
  for (std::size_t p = 0; p < train.size(); ++p)
    for (auto& t : text::tokenize(train[p].title, tok)) tok_idx[p].push_back(intern(c.token_item, c.tokens, t));
  const auto tag0 = static_cast<std::int32_t>(n_songs), tok0 = static_cast<std::int32_t>(n_songs + c.tags.size());
  MELON_CHECK(c.n_items() < static_cast<std::size_t>(INT32_MAX), "too many items: " << c.n_items());
  for (auto& [name, i] : c.tag_item) i += tag0;
  for (auto& [name, i] : c.token_item) i += tok0;

  c.offsets.assign(1, 0);
  std::vector<std::int32_t> row;
  for (std::size_t p = 0; p < train.size(); ++p) {
    row.clear();
    for (auto s : train[p].songs) {
      MELON_CHECK(s >= 0 && static_cast<std::size_t>(s) < n_songs,
                  "training playlist id " << train[p].id << ": song id " << s << " is outside 0.." << n_songs - 1);
      row.push_back(s);
    }
    for (auto t : tag_idx[p]) row.push_back(tag0 + t);
    for (auto t : tok_idx[p]) row.push_back(tok0 + t);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    c.items.insert(c.items.end(), row.begin(), row.end());
    c.tokens_at.push_back(c.offsets.back() + (std::lower_bound(row.begin(), row.end(), tok0) - row.begin()));
    c.offsets.push_back(static_cast<std::int64_t>(c.items.size()));
  }
  invert(c);
  c.pop = count_popularity(train, n_songs);
  return c;
}

Query encode_question(const Corpus& c, const arena::Playlist& q, const ReferenceOptions& opt) {
  Query out;
  for (auto s : q.songs)
    if (s >= 0 && static_cast<std::size_t>(s) < c.n_songs) out.emplace_back(s, 1.0);
  for (auto& t : q.tags)
    if (auto it = c.tag_item.find(t); it != c.tag_item.end()) out.emplace_back(it->second, opt.tag_weight);
  if (q.songs.empty() && opt.title_weight > 0)
    for (auto& t : text::tokenize(q.title, opt.tokenizer))
      if (auto it = c.token_item.find(t); it != c.token_item.end()) out.emplace_back(it->second, opt.title_weight);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end(), [](auto& a, auto& b) { return a.first == b.first; }), out.end());
  return out;
}

void Workspace::add_item(std::int32_t i, double v) {
  if (!item_on[i]) item_on[i] = 1, items_touched.push_back(i);
  item[i] += v;
}
void Workspace::add_playlist(std::int32_t p, double v) {
  if (!playlist_on[p]) playlist_on[p] = 1, playlists_touched.push_back(p);
  playlist[p] += v;
}
void Workspace::reset() {
  for (auto i : items_touched) item[i] = 0.0, item_on[i] = 0;
  for (auto p : playlists_touched) playlist[p] = 0.0, playlist_on[p] = 0;
  items_touched.clear();
  playlists_touched.clear();
}

void for_each_chunk(util::ThreadPool& threads, std::int64_t n, std::int64_t chunk_size,
                    const std::function<void(std::int64_t, std::int64_t, Workspace&)>& fn) {
  const util::Chunks chunks{n, chunk_size};
  threads.run_with_scratch<Workspace>(
      chunks.count(), [&](std::int64_t k, Workspace& ws) { fn(chunks.begin(k), chunks.begin(k) + chunks.len(k), ws); });
}

namespace {

void fit(Workspace& ws, const Corpus& c) {
  if (ws.item.size() != c.n_items()) {
    ws.item.assign(c.n_items(), 0.0);
    ws.item_on.assign(c.n_items(), 0);
    ws.items_touched.clear();
  }
  if (ws.playlist.size() != c.n_playlists()) {
    ws.playlist.assign(c.n_playlists(), 0.0);
    ws.playlist_on.assign(c.n_playlists(), 0);
    ws.playlists_touched.clear();
  }
}

// The n best (score desc, then id asc: a total order, so reproducible).
std::vector<std::pair<double, std::int32_t>> best(std::vector<std::pair<double, std::int32_t>> v, std::size_t n) {
  auto better = [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  n = std::min(n, v.size());
  std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), better);
  v.resize(n);
  return v;
}

}  // namespace

arena::Candidates candidates(const Reference& ref, const Corpus& c, const arena::Playlist& q,
                             const ReferenceOptions& opt, const std::vector<std::int32_t>& song_dates,
                             std::size_t n_songs, std::size_t n_tags, Workspace& ws) {
  fit(ws, c);
  ws.reset();
  ref.score(c, encode_question(c, q, opt), ws);
  const std::unordered_set<arena::SongId> seen(q.songs.begin(), q.songs.end());
  const std::unordered_set<std::string> seen_tags(q.tags.begin(), q.tags.end());
  const auto qdate = arena::date_key(q.updt_date);
  std::vector<std::pair<double, std::int32_t>> songs, tags;
  for (auto i : ws.items_touched) {
    if (c.is_song(i)) {
      if (!seen.count(i) && arena::released_by(song_dates, i, qdate)) songs.emplace_back(ws.item[i], i);
    } else if (c.is_tag(i)) {
      if (!seen_tags.count(c.tags[i - c.n_songs])) tags.emplace_back(ws.item[i], i);
    }
  }
  ws.reset();
  arena::Candidates out;
  out.id = q.id;
  for (auto& [v, i] : best(std::move(songs), n_songs)) out.songs.emplace_back(i, static_cast<float>(v));
  for (auto& [v, i] : best(std::move(tags), n_tags))
    out.tags.emplace_back(c.tags[i - c.n_songs], static_cast<float>(v));
  return out;
}

arena::Result answer(const arena::Candidates& cand, const Corpus& c, const arena::Playlist& q,
                     const std::vector<std::int32_t>& song_dates) {
  arena::Result r;
  r.id = q.id;
  for (std::size_t k = 0; k < cand.songs.size() && r.songs.size() < 100; ++k) r.songs.push_back(cand.songs[k].first);
  for (std::size_t k = 0; k < cand.tags.size() && r.tags.size() < 10; ++k) r.tags.push_back(cand.tags[k].first);
  // Popularity fill under the same rules; only then (a tiny catalogue) songs past the date.
  const auto qdate = arena::date_key(q.updt_date);
  std::unordered_set<arena::SongId> skip(q.songs.begin(), q.songs.end());
  skip.insert(r.songs.begin(), r.songs.end());
  for (auto s : c.pop.songs) {
    if (r.songs.size() >= 100) break;
    if (arena::released_by(song_dates, s, qdate) && skip.insert(s).second) r.songs.push_back(s);
  }
  arena::fill_from(r.songs, c.pop.songs, q.songs, 100);
  arena::fill_from(r.tags, c.pop.tags, q.tags, 10);
  MELON_CHECK(r.songs.size() == 100 && r.tags.size() == 10,
              "question id " << q.id << ": training data too small to fill 100 songs and 10 tags (got "
                             << r.songs.size() << " and " << r.tags.size() << ")");
  return r;
}

Fitted fit_reference(ReferenceMethod m, const Corpus& c, const ReferenceOptions& opt, util::ThreadPool& threads) {
  Fitted f;
  f.method = m;
  f.opt = opt;
  if (m == ReferenceMethod::Ease) fit_ease(c, f);
  if (m == ReferenceMethod::Mixture) fit_mixture(c, f, threads);
  return f;
}

std::unique_ptr<Reference> make_reference(const Fitted& f, const Corpus& c, util::ThreadPool& threads) {
  switch (f.method) {
    case ReferenceMethod::ItemKnn: return make_item_knn(c, f.opt);
    case ReferenceMethod::PlaylistKnn: return make_playlist_knn(c, f.opt);
    case ReferenceMethod::Ease: return make_ease(f);
    case ReferenceMethod::Mixture: return make_mixture(f, c, threads);
  }
  MELON_ASSERT(false, "unhandled reference method");
  return nullptr;
}

std::unique_ptr<Reference> make_reference(ReferenceMethod m, const Corpus& c, const ReferenceOptions& opt,
                                          util::ThreadPool& threads) {
  return make_reference(fit_reference(m, c, opt, threads), c, threads);
}

std::size_t song_count(const arena::SongMeta* meta, const std::vector<arena::Playlist>& train,
                       const std::vector<arena::Playlist>& questions) {
  if (meta) return meta->size();
  std::size_t n = 0;
  for (const auto* list : {&train, &questions})
    for (auto& p : *list)
      for (auto s : p.songs) n = std::max<std::size_t>(n, static_cast<std::size_t>(s) + 1);
  return n;
}

namespace {

// A reference fitted on the whole training list, as a source. Filled in place:
// the source keeps references to the corpus and the dates.
struct Prepared {
  Corpus corpus;
  std::vector<std::int32_t> dates;
  std::unique_ptr<CandidateSource> source;
};

void prepare(Prepared& pr, ReferenceMethod m, const std::vector<arena::Playlist>& train,
             const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta, const ReferenceOptions& opt,
             util::ThreadPool& threads) {
  pr.corpus = build_corpus(train, song_count(meta, train, questions), opt.tokenizer);
  if (meta) pr.dates = arena::song_dates(*meta);
  pr.source = reference_source(to_string(m), make_reference(m, pr.corpus, opt, threads), pr.corpus, opt, pr.dates);
  if (mpi::rank(mpi::world()) == 0)
    log::info("reference corpus: " + std::to_string(pr.corpus.n_playlists()) + " playlists, " +
              std::to_string(pr.corpus.pop.songs.size()) + " songs, " + std::to_string(pr.corpus.tags.size()) +
              " tags, " + std::to_string(pr.corpus.tokens.size()) + " title tokens");
}

}  // namespace

// A question costs about the sum of its items' counts plus a fixed part.
// Split by count, a block of long questions left one rank working while the
// other waited (issue 19: at full scale rank 0 finished its half at 81 s of
// 168 s).
std::pair<std::size_t, std::size_t> question_share(const std::vector<arena::Playlist>& questions, const Corpus& c,
                                                   const ReferenceOptions& opt) {
  std::vector<double> cost(questions.size());
  double sum = 0;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    double w = 0;
    for (const auto& [item, weight] : encode_question(c, questions[i], opt)) w += static_cast<double>(c.count(item));
    cost[i] = w;
    sum += w;
  }
  // Plus a fixed part per question (ranking, the answer rules), as large as
  // the walk of an average question: measured on 6,000 questions, the walk
  // alone put 70% of them on one rank, which then finished first.
  const double fixed = questions.empty() ? 0 : sum / static_cast<double>(questions.size());
  for (auto& w : cost) w += fixed + 1;
  const auto mine = mpi::weighted_range(cost, mpi::rank(mpi::world()), mpi::size(mpi::world()));
  return {static_cast<std::size_t>(mine.begin), static_cast<std::size_t>(mine.end)};
}

std::span<const arena::Playlist> question_block(const std::vector<arena::Playlist>& questions, const Corpus& c,
                                                const ReferenceOptions& opt) {
  const auto [first, end] = question_share(questions, c, opt);
  return std::span<const arena::Playlist>(questions).subspan(first, end - first);
}

void log_shares(const std::string& what, std::size_t questions, double seconds) {
  const auto counts = mpi::allgather(mpi::world(), static_cast<std::int64_t>(questions));
  const auto ms = mpi::allgather(mpi::world(), static_cast<std::int64_t>(seconds * 1e3));
  if (mpi::rank(mpi::world()) != 0 || counts.size() < 2) return;
  std::string line = what + ": questions and seconds per rank:";
  for (std::size_t r = 0; r < counts.size(); ++r) {
    char b[64];
    std::snprintf(b, sizeof b, " r%zu %lld in %.1f s", r, static_cast<long long>(counts[r]),
                  static_cast<double>(ms[r]) / 1e3);
    line += b;
  }
  log::info(line);
}

std::vector<arena::Candidates> reference_candidates(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                                    const std::vector<arena::Playlist>& questions,
                                                    const arena::SongMeta* meta, const ReferenceOptions& opt,
                                                    std::size_t n_songs, std::size_t n_tags,
                                                    util::ThreadPool& threads) {
  Prepared pr;
  prepare(pr, m, train, questions, meta, opt, threads);
  const auto t0 = std::chrono::steady_clock::now();
  const auto block = question_block(questions, pr.corpus, opt);
  auto out = pr.source->candidates(block, n_songs, n_tags, threads);
  log_shares(to_string(m), block.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return out;
}

std::vector<arena::Result> run_reference(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                         const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta,
                                         const ReferenceOptions& opt, util::ThreadPool& threads) {
  Prepared pr;
  prepare(pr, m, train, questions, meta, opt, threads);
  const auto t0 = std::chrono::steady_clock::now();
  const auto block = question_block(questions, pr.corpus, opt);
  const auto cands = pr.source->candidates(block, 100, 10, threads);
  std::vector<arena::Result> out(block.size());
  threads.run(static_cast<std::int64_t>(block.size()), [&](std::int64_t i) {
    const auto q = static_cast<std::size_t>(i);
    out[q] = answer(cands[q], pr.corpus, block[q], pr.dates);
  });
  log_shares(to_string(m), block.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return arena::gather_results(out, mpi::world());
}

std::vector<arena::Result> run_reference(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                         const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta,
                                         const ReferenceRun& run, util::ThreadPool& threads) {
  const auto dates = meta ? arena::song_dates(*meta) : std::vector<std::int32_t>{};
  const auto opt = choose_options(m, train, song_count(meta, train, questions), dates, run, threads);
  return run_reference(m, train, questions, meta, opt, threads);
}

}  // namespace melon::recommend
