#include "melon/ae/vocab.hpp"

#include <algorithm>
#include <map>

#include "melon/util/hash.hpp"

namespace melon::ae {

namespace {

// A string and a separator, so ("ab", "c") and ("a", "bc") hash apart.
std::uint64_t fnv_str(std::uint64_t h, const std::string& s) {
  h = fnv1a64(s, h);
  const char sep = '\x1f';
  return fnv1a64(&sep, 1, h);
}

template <class K>
std::vector<K> by_count(const std::map<K, std::int64_t>& counts, std::int64_t min_count) {
  std::vector<std::pair<K, std::int64_t>> v;
  for (auto& [k, n] : counts)
    if (n >= min_count) v.emplace_back(k, n);
  // Ties by key: the map is ordered, so a stable sort keeps keys ascending.
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::vector<K> out;
  out.reserve(v.size());
  for (auto& kv : v) out.push_back(kv.first);
  return out;
}

}  // namespace

void Vocab::build_index() {
  song_index.clear();
  tag_index.clear();
  token_index.clear();
  for (std::size_t i = 0; i < songs.size(); ++i) song_index.emplace(songs[i], static_cast<std::int32_t>(i));
  for (std::size_t i = 0; i < tags.size(); ++i) tag_index.emplace(tags[i], static_cast<std::int32_t>(i));
  for (std::size_t i = 0; i < tokens.size(); ++i) token_index.emplace(tokens[i], static_cast<std::int32_t>(i));
}

std::int32_t Vocab::song(arena::SongId id) const {
  auto it = song_index.find(id);
  return it == song_index.end() ? -1 : it->second;
}
std::int32_t Vocab::tag(const std::string& t) const {
  auto it = tag_index.find(t);
  return it == tag_index.end() ? -1 : it->second;
}
std::int32_t Vocab::token(const std::string& t) const {
  auto it = token_index.find(t);
  return it == token_index.end() ? -1 : it->second;
}

std::uint64_t Vocab::hash() const {
  std::uint64_t h = kFnvOffset;
  h = fnv1a64(songs.data(), songs.size() * sizeof(songs[0]), h);
  h = fnv1a64(song_counts.data(), song_counts.size() * sizeof(song_counts[0]), h);
  for (auto& t : tags) h = fnv_str(h, t);
  h = fnv_str(h, "|tokens|");
  for (auto& t : tokens) h = fnv_str(h, t);
  return h;
}

Vocab build_vocab(const std::vector<const arena::Playlist*>& playlists, const VocabOptions& opt) {
  std::map<arena::SongId, std::int64_t> songs;
  std::map<std::string, std::int64_t> tags, tokens;
  for (const auto* p : playlists) {
    for (auto s : p->songs) ++songs[s];
    for (auto& t : p->tags) ++tags[t];
    for (auto& w : text::tokenize(p->title, opt.tokenizer)) ++tokens[w];
  }
  Vocab v;
  v.songs = by_count(songs, std::max(1, opt.min_song_count));
  for (auto s : v.songs) v.song_counts.push_back(songs[s]);
  v.tags = by_count(tags, std::max(1, opt.min_tag_count));
  v.tokens = by_count(tokens, std::max(1, opt.min_token_count));
  v.popular_songs = by_count(songs, 1);
  v.popular_tags = by_count(tags, 1);
  v.build_index();
  return v;
}

}  // namespace melon::ae
