#pragma once
// Tags answered through songs: each vocabulary song's tags by co-occurrence
// in the training playlists, so that a question's tags can be read off the
// songs it shows and the songs the autoencoder puts first.
//
// Why: the tag head over-fits. On taste data the held-out tags peak at 30-48%
// of a run and fall while the songs still rise, so the weights kept for the
// best score answer tags worse than item-kNN does (mid size: 0.2272 against
// 0.2517) although their songs are better; no tag-loss weight or tag-head
// decay held on both sizes (tools/bench/RESULTS.md). Songs do not over-fit
// that way, and P(tag | song) counted over the training playlists cannot. On
// an unreported taste-small dataset, tags read from the shown songs and the
// model's first 30 songs scored 0.3535 where the head's scored 0.2902; on
// walk data, where tags follow their own process, the head's are better, so
// the mix of the two (fuse_tags) is chosen on the held-out playlists
// (cold_choice.hpp), the head alone among the choices.
#include <cstdint>
#include <utility>
#include <vector>

#include "melon/ae/encode.hpp"

namespace melon::ae {

struct SongTags {
  std::vector<std::int64_t> ptr{0};  // song s (vocabulary index): entries [ptr[s], ptr[s+1])
  std::vector<std::int32_t> idx;     // tag (vocabulary index), by weight, largest first (ties: lower index)
  std::vector<float> w;              // P(tag | song): playlists holding both / playlists holding the song
  bool empty() const { return idx.empty(); }
};

// Tags kept per song (its most frequent): bounds the table on large data.
inline constexpr int kSongTagsPerSong = 64;
// The model's first songs that speak for a question's tags, weight
// 1/sqrt(1 + rank) each; shown songs weigh 1.
inline constexpr int kSongTagsAnswerSongs = 30;
// The mixes of head and song-read tags tried on the held-out playlists:
// 1 is the head alone, 0 the songs alone (fuse_tags).
inline constexpr double kTagMixes[] = {1.0, 0.7, 0.5, 0.3, 0.0};

// From the songs and tags of `playlists` (vocabulary indices, -1 skipped,
// repeats counted once); deterministic.
SongTags build_song_tags(const std::vector<Encoded>& playlists, std::int64_t n_songs, std::int64_t n_tags);

// The n best tags (score, tag index) read from `songs` (vocabulary index,
// weight), skipping `skip` (sorted tag indices: the question's own), best
// first (score, then lower index). scratch: n_tags zeros on entry and return.
std::vector<std::pair<float, std::int32_t>> song_tag_scores(const SongTags& st,
                                                            const std::vector<std::pair<std::int32_t, float>>& songs,
                                                            const std::vector<std::int32_t>& skip, std::size_t n,
                                                            std::vector<float>& scratch);

// Reciprocal-rank fusion of two best-first lists of tag indices:
// mix / (5 + rank in head) + (1 - mix) / (5 + rank in songs), a tag absent
// from a list getting nothing from it; ties by the head's rank, then index.
// The n best, with their fused score. mix = 1 keeps the head's order.
std::vector<std::pair<float, std::int32_t>> fuse_tags(const std::vector<std::int32_t>& head,
                                                      const std::vector<std::int32_t>& songs, double mix,
                                                      std::size_t n);

}  // namespace melon::ae
