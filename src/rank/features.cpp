#include "melon/rank/features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "melon/error.hpp"
#include "melon/questions/types.hpp"
#include "melon/rank/xgboost.hpp"
#include "melon/text/tokenize.hpp"

namespace melon::rank {
namespace {

// Features of the question itself, repeated on each of its candidates (trees
// split on them to learn per-type behaviour).
const char* const kQuestionFeatures[] = {"question_type", "shown_songs", "shown_tags", "title_tokens"};

template <class Id>
struct Entry {
  Id id;
  std::size_t best_rank;
  std::size_t first_source;
};

// For each source: rank and relative score of every item it proposed (within
// the pool depth), and the pool in a deterministic order.
template <class Id, class Hash = std::hash<Id>>
struct Merged {
  std::vector<Entry<Id>> pool;
  std::unordered_map<Id, std::size_t, Hash> where;  // id -> pool index
  std::vector<std::vector<float>> rank, rel;        // [source][pool index], NaN when absent
};

template <class Id, class Get>
Merged<Id> merge(const FeatureContext& ctx, const std::vector<const arena::Candidates*>& lists, std::size_t depth,
                 const Get& get, const std::function<bool(const Id&)>& shown) {
  Merged<Id> m;
  const auto S = ctx.sources.size();
  for (std::size_t s = 0; s < S; ++s) {
    const auto& v = get(*lists[s]);
    for (std::size_t r = 0; r < v.size() && r < depth; ++r) {
      if (shown(v[r].first)) continue;
      auto [it, added] = m.where.emplace(v[r].first, m.pool.size());
      if (added) m.pool.push_back({v[r].first, r, s});
      else m.pool[it->second].best_rank = std::min(m.pool[it->second].best_rank, r);
    }
  }
  std::vector<std::size_t> order(m.pool.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto &x = m.pool[a], &y = m.pool[b];
    if (x.best_rank != y.best_rank) return x.best_rank < y.best_rank;
    if (x.first_source != y.first_source) return x.first_source < y.first_source;
    return x.id < y.id;
  });
  std::vector<Entry<Id>> sorted;
  for (auto i : order) sorted.push_back(m.pool[i]);
  m.pool = std::move(sorted);
  m.where.clear();
  for (std::size_t i = 0; i < m.pool.size(); ++i) m.where.emplace(m.pool[i].id, i);
  m.rank.assign(S, std::vector<float>(m.pool.size(), kMissing));
  m.rel.assign(S, std::vector<float>(m.pool.size(), kMissing));
  for (std::size_t s = 0; s < S; ++s) {
    const auto& v = get(*lists[s]);
    if (v.empty()) continue;
    const double best = v.front().second;
    for (std::size_t r = 0; r < v.size() && r < depth; ++r) {
      auto it = m.where.find(v[r].first);
      if (it == m.where.end()) continue;
      m.rank[s][it->second] = static_cast<float>(r);
      const double x = v[r].second;
      m.rel[s][it->second] = static_cast<float>(ctx.sources[s].logits ? x - best : (best > 0 ? x / best : 0.0));
    }
  }
  return m;
}

std::int32_t song_date(const arena::SongMeta* meta, arena::SongId s) {
  if (!meta || s < 0 || static_cast<std::size_t>(s) >= meta->size()) return 0;
  return arena::date_key(meta->songs[s].issue_date);
}

// YYYYMMDD keys to years, roughly (months as twelfths; unknown parts as 0).
double years(std::int32_t key) { return key / 10000 + ((key / 100) % 100) / 12.0; }

// The features every candidate has, songs and tags alike: each source's rank
// and relative score, the question's own features, how many sources agree.
template <class Id>
void push_common(std::vector<float>& x, const Merged<Id>& m, std::size_t i, const float (&qf)[4]) {
  int present = 0;
  for (std::size_t k = 0; k < m.rank.size(); ++k) {
    x.push_back(m.rank[k][i]);
    x.push_back(m.rel[k][i]);
    present += !std::isnan(m.rank[k][i]);
  }
  x.insert(x.end(), std::begin(qf), std::end(qf));
  x.push_back(static_cast<float>(present));
}

}  // namespace

std::vector<std::string> song_features(const FeatureContext& ctx) {
  std::vector<std::string> f;
  for (auto& s : ctx.sources) f.push_back(s.name + ".rank"), f.push_back(s.name + ".rel");
  f.insert(f.end(), std::begin(kQuestionFeatures), std::end(kQuestionFeatures));
  for (const char* n : {"sources", "log_count", "same_artist", "same_album", "same_genre", "audio_cos",
                        "years_before_update", "release_year"})
    f.push_back(n);
  return f;
}

std::vector<std::string> tag_features(const FeatureContext& ctx) {
  std::vector<std::string> f;
  for (auto& s : ctx.sources) f.push_back(s.name + ".rank"), f.push_back(s.name + ".rel");
  f.insert(f.end(), std::begin(kQuestionFeatures), std::end(kQuestionFeatures));
  for (const char* n : {"sources", "log_count", "in_title"}) f.push_back(n);
  return f;
}

Pool pool_question(const arena::Playlist& q, const std::vector<const arena::Candidates*>& lists,
                   const FeatureContext& ctx) {
  MELON_ASSERT(lists.size() == ctx.sources.size(), "one candidate list per source");
  MELON_ASSERT(ctx.corpus, "feature context without a corpus");
  for (auto* l : lists) MELON_ASSERT(l && l->id == q.id, "candidate list of another question");
  const auto& c = *ctx.corpus;
  const std::unordered_set<arena::SongId> shown_songs(q.songs.begin(), q.songs.end());
  const std::unordered_set<std::string> shown_tags(q.tags.begin(), q.tags.end());
  const auto title_tokens = text::tokenize(q.title, ctx.tokenizer);
  const float qf[] = {static_cast<float>(questions::question_type(q)), static_cast<float>(q.songs.size()),
                      static_cast<float>(q.tags.size()), static_cast<float>(title_tokens.size())};

  Pool out;
  out.id = q.id;

  // Songs.
  auto ms = merge<arena::SongId>(
      ctx, lists, ctx.songs_per_source, [](const arena::Candidates& l) -> const auto& { return l.songs; },
      [&](const arena::SongId& s) { return shown_songs.count(s) > 0; });
  // What the shown songs are made of: artists, albums, genres, mean audio.
  std::unordered_map<std::int64_t, int> artists, albums;
  std::unordered_map<std::string, int> genres;
  std::vector<double> audio_mean;
  const bool has_audio = ctx.audio && !ctx.audio->empty();
  int with_audio = 0;
  if (has_audio) audio_mean.assign(static_cast<std::size_t>(ctx.audio->dim), 0.0);
  for (auto s : q.songs) {
    if (ctx.meta && s >= 0 && static_cast<std::size_t>(s) < ctx.meta->size()) {
      const auto& m = ctx.meta->songs[s];
      for (auto a : m.artist_ids) ++artists[a];
      if (m.album_id >= 0) ++albums[m.album_id];
      for (auto& g : m.genres) ++genres[g];
    }
    if (has_audio && ctx.audio->covers(s)) {
      const float* r = ctx.audio->row(s);
      for (int k = 0; k < ctx.audio->dim; ++k) audio_mean[k] += r[k];
      ++with_audio;
    }
  }
  double audio_norm = 0;
  for (auto& v : audio_mean) audio_norm += v * v;
  audio_norm = std::sqrt(audio_norm);
  const std::int32_t qdate = arena::date_key(q.updt_date);

  const auto nf = song_features(ctx).size();
  out.songs.reserve(ms.pool.size());
  out.song_x.reserve(ms.pool.size() * nf);
  for (std::size_t i = 0; i < ms.pool.size(); ++i) {
    const auto s = ms.pool[i].id;
    out.songs.push_back(s);
    push_common(out.song_x, ms, i, qf);
    const bool in_corpus = s >= 0 && static_cast<std::size_t>(s) < c.n_songs;
    out.song_x.push_back(
        static_cast<float>(std::log1p(in_corpus ? static_cast<double>(c.count(s)) * ctx.count_scale : 0.0)));
    float artist = kMissing, album = kMissing, genre = kMissing;
    if (ctx.meta && s >= 0 && static_cast<std::size_t>(s) < ctx.meta->size() && !q.songs.empty()) {
      const auto& m = ctx.meta->songs[s];
      int a = 0, g = 0;
      for (auto x : m.artist_ids)
        if (auto it = artists.find(x); it != artists.end()) a = std::max(a, it->second);
      for (auto& x : m.genres)
        if (auto it = genres.find(x); it != genres.end()) g = std::max(g, it->second);
      auto al = m.album_id >= 0 ? albums.find(m.album_id) : albums.end();
      artist = static_cast<float>(a);
      album = static_cast<float>(al == albums.end() ? 0 : al->second);
      genre = static_cast<float>(g) / static_cast<float>(q.songs.size());
    }
    out.song_x.push_back(artist);
    out.song_x.push_back(album);
    out.song_x.push_back(genre);
    float cosine = kMissing;
    if (has_audio && with_audio > 0 && audio_norm > 0 && ctx.audio->covers(s)) {
      const float* r = ctx.audio->row(s);
      double dot = 0, nn = 0;
      for (int k = 0; k < ctx.audio->dim; ++k) dot += audio_mean[k] * r[k], nn += double(r[k]) * r[k];
      if (nn > 0) cosine = static_cast<float>(dot / (audio_norm * std::sqrt(nn)));
    }
    out.song_x.push_back(cosine);
    const auto sd = song_date(ctx.meta, s);
    out.song_x.push_back(sd > 0 && qdate > 0 ? static_cast<float>(years(qdate) - years(sd)) : kMissing);
    out.song_x.push_back(sd > 0 ? static_cast<float>(sd / 10000) : kMissing);
  }
  MELON_ASSERT(out.song_x.size() == out.songs.size() * nf, "song feature count");

  // Tags.
  auto mt = merge<std::string>(
      ctx, lists, ctx.tags_per_source, [](const arena::Candidates& l) -> const auto& { return l.tags; },
      [&](const std::string& t) { return shown_tags.count(t) > 0; });
  const auto nt = tag_features(ctx).size();
  for (std::size_t i = 0; i < mt.pool.size(); ++i) {
    const auto& t = mt.pool[i].id;
    out.tags.push_back(t);
    push_common(out.tag_x, mt, i, qf);
    auto it = c.tag_item.find(t);
    out.tag_x.push_back(
        static_cast<float>(std::log1p(it == c.tag_item.end() ? 0.0 : double(c.count(it->second)) * ctx.count_scale)));
    out.tag_x.push_back(!q.title.empty() && q.title.find(t) != std::string::npos ? 1.0f : 0.0f);
  }
  MELON_ASSERT(out.tag_x.size() == out.tags.size() * nt, "tag feature count");
  return out;
}

}  // namespace melon::rank
