#pragma once
// The competition's two baselines, data-parallel: each rank counts its block of
// the training playlists, counts are summed by allreduce, each rank answers its
// block of questions, and rank 0 gathers the answers.
//  - most-popular: the most frequent songs and tags in training.
//  - genre-most-popular: songs most frequent within the question's most
//    frequent major genre (song_gn_gnr_basket of its visible songs), tags
//    most popular overall. Questions without songs fall back to most-popular.
// Both never repeat an item of the question and always fill to 100 + 10 from
// global popularity (arena/rules.hpp).
#include <string>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::recommend {

enum class BaselineMethod { MostPopular, GenreMostPopular };
BaselineMethod parse_baseline(const std::string& name);  // throws on unknown names

struct Popularity {
  std::vector<arena::SongId> songs;      // by descending count, ties by id; only songs seen in training
  std::vector<std::string> tags;         // by descending count, ties by name
  std::vector<std::int64_t> song_count;  // indexed by song id
};

// Counts over the whole training set (sharded across ranks, summed by allreduce).
Popularity count_popularity(const std::vector<arena::Playlist>& train, std::size_t n_songs);

// Answers on rank 0 (in question order); other ranks get an empty vector.
std::vector<arena::Result> run_baseline(BaselineMethod method, const std::vector<arena::Playlist>& train,
                                        const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta);

}  // namespace melon::recommend
