#include "melon/ae/song_tags.hpp"

#include <algorithm>
#include <limits>

#include "melon/error.hpp"

namespace melon::ae {

namespace {

// Best first: higher score, then lower index (a total order: reproducible).
bool better(const std::pair<float, std::int32_t>& x, const std::pair<float, std::int32_t>& y) {
  return x.first > y.first || (x.first == y.first && x.second < y.second);
}

}  // namespace

SongTags build_song_tags(const std::vector<Encoded>& playlists, std::int64_t n_songs, std::int64_t n_tags) {
  MELON_CHECK(n_songs >= 0 && n_tags >= 0, "song tags: negative vocabulary size");
  // Each playlist's distinct tags, and the playlists (with tags) of each song.
  std::vector<std::vector<std::int32_t>> tags(playlists.size());
  std::vector<std::int64_t> count(static_cast<std::size_t>(n_songs), 0);
  std::vector<std::vector<std::int32_t>> songs(playlists.size());
  for (std::size_t p = 0; p < playlists.size(); ++p) {
    auto& t = tags[p];
    for (auto x : playlists[p].tags)
      if (x >= 0) t.push_back(x);
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    auto& l = songs[p];
    for (auto s : playlists[p].songs)
      if (s >= 0) l.push_back(s);
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    for (auto s : l) {
      MELON_ASSERT(s < n_songs, "song index outside the vocabulary");
      ++count[static_cast<std::size_t>(s)];
    }
    for (auto x : t) MELON_ASSERT(x < n_tags, "tag index outside the vocabulary");
    if (t.empty()) l.clear();  // counted; nothing to pair with
  }
  std::vector<std::int64_t> in_ptr(static_cast<std::size_t>(n_songs + 1), 0);
  for (auto& l : songs)
    for (auto s : l) ++in_ptr[static_cast<std::size_t>(s) + 1];
  for (std::int64_t s = 0; s < n_songs; ++s) in_ptr[s + 1] += in_ptr[s];
  std::vector<std::int32_t> in_list(static_cast<std::size_t>(in_ptr.back()));
  {
    auto at = in_ptr;
    for (std::size_t p = 0; p < songs.size(); ++p)
      for (auto s : songs[p]) in_list[static_cast<std::size_t>(at[s]++)] = static_cast<std::int32_t>(p);
  }
  SongTags st;
  st.ptr.assign(static_cast<std::size_t>(n_songs + 1), 0);
  std::vector<std::int64_t> co(static_cast<std::size_t>(n_tags), 0);
  std::vector<std::int32_t> touched;
  std::vector<std::pair<float, std::int32_t>> b;
  for (std::int64_t s = 0; s < n_songs; ++s) {
    touched.clear();
    b.clear();
    for (auto e = in_ptr[s]; e < in_ptr[s + 1]; ++e)
      for (auto t : tags[static_cast<std::size_t>(in_list[e])])
        if (co[t]++ == 0) touched.push_back(t);
    for (auto t : touched) {
      b.emplace_back(static_cast<float>(static_cast<double>(co[t]) / static_cast<double>(count[s])), t);
      co[t] = 0;
    }
    std::sort(b.begin(), b.end(), better);
    if (b.size() > static_cast<std::size_t>(kSongTagsPerSong)) b.resize(kSongTagsPerSong);
    for (auto& [w, t] : b) st.idx.push_back(t), st.w.push_back(w);
    st.ptr[s + 1] = static_cast<std::int64_t>(st.idx.size());
  }
  return st;
}

std::vector<std::pair<float, std::int32_t>> song_tag_scores(const SongTags& st,
                                                            const std::vector<std::pair<std::int32_t, float>>& songs,
                                                            const std::vector<std::int32_t>& skip, std::size_t n,
                                                            std::vector<float>& scratch) {
  std::vector<std::int32_t> touched;
  for (auto [s, ws] : songs) {
    MELON_ASSERT(s >= 0 && s + 1 < static_cast<std::int64_t>(st.ptr.size()), "song outside the song-tag table");
    for (auto e = st.ptr[s]; e < st.ptr[s + 1]; ++e) {
      auto& acc = scratch[static_cast<std::size_t>(st.idx[e])];
      if (acc == 0) touched.push_back(st.idx[e]);
      acc += ws * st.w[e];
    }
  }
  std::vector<std::pair<float, std::int32_t>> out;
  out.reserve(touched.size());
  for (auto t : touched) {
    auto& acc = scratch[static_cast<std::size_t>(t)];
    if (!std::binary_search(skip.begin(), skip.end(), t)) out.emplace_back(acc, t);
    acc = 0;
  }
  if (out.size() > n) {
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), better);
    out.resize(n);
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}

std::vector<std::pair<float, std::int32_t>> fuse_tags(const std::vector<std::int32_t>& head,
                                                      const std::vector<std::int32_t>& songs, double mix,
                                                      std::size_t n) {
  MELON_CHECK(mix >= 0 && mix <= 1, "tag mix must be in [0, 1], got " << mix);
  // (fused score, head rank or past its end, tag)
  struct Entry {
    double score;
    std::size_t head_rank;
    std::int32_t tag;
  };
  std::vector<Entry> e;
  e.reserve(head.size() + songs.size());
  for (std::size_t r = 0; r < head.size(); ++r) e.push_back({mix / (5.0 + static_cast<double>(r)), r, head[r]});
  for (std::size_t r = 0; r < songs.size(); ++r) {
    const double add = (1 - mix) / (5.0 + static_cast<double>(r));
    auto it = std::find_if(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(head.size()),
                           [&](const Entry& x) { return x.tag == songs[r]; });
    if (it != e.begin() + static_cast<std::ptrdiff_t>(head.size())) it->score += add;
    else e.push_back({add, std::numeric_limits<std::size_t>::max(), songs[r]});
  }
  std::sort(e.begin(), e.end(), [](const Entry& x, const Entry& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.head_rank != y.head_rank) return x.head_rank < y.head_rank;
    return x.tag < y.tag;
  });
  std::vector<std::pair<float, std::int32_t>> out;
  for (std::size_t i = 0; i < e.size() && out.size() < n; ++i)
    out.emplace_back(static_cast<float>(e[i].score), e[i].tag);
  return out;
}

}  // namespace melon::ae
