#pragma once
// Test data shared by the unit and MPI tests of training: clustered playlists
// whose songs, tags and title come from one of four tastes, so a model has
// something to learn and every rank can build the same set from a seed.
#include <string>
#include <utility>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"

namespace melon::test_support {

// n playlists drawn with rng: taste t owns songs t*songs_per_taste ..; a
// playlist has 4 + rng.below(extra_len) draws (repeats dropped); every fifth
// goes to in.questions, the rest to in.train.
inline void add_clustered_playlists(train::TrainInputs& in, Rng& rng, int n, int songs_per_taste, int extra_len) {
  const char* words[4] = {"비 오는 날", "summer drive", "잔잔한 밤", "workout hits"};
  for (int i = 0; i < n; ++i) {
    arena::Playlist p;
    p.id = i;
    const int taste = static_cast<int>(rng.below(4));
    const int len = 4 + static_cast<int>(rng.below(extra_len));
    std::vector<char> used(static_cast<std::size_t>(songs_per_taste), 0);
    for (int k = 0; k < len; ++k) {
      const int s = static_cast<int>(rng.below(songs_per_taste));
      if (!used[s]) used[s] = 1, p.songs.push_back(taste * songs_per_taste + s);
    }
    p.tags = {"t" + std::to_string(taste), "u" + std::to_string(taste * 3 + rng.below(3))};
    p.title = words[taste];
    p.updt_date = "2016-05-01 00:00:00.000";
    (i % 5 == 4 ? in.questions : in.train).push_back(std::move(p));
  }
}

// A training run small enough for a unit test: one hidden layer of `hidden`,
// batch 16, one epoch, `val` held-out playlists, one thread, quiet, every
// song in the vocabulary.
inline train::TrainConfig tiny_train_config(int hidden, std::int64_t val) {
  train::TrainConfig c;
  c.hidden = {hidden};
  c.batch = 16;
  c.epochs = 1;
  c.val_size = val;
  c.threads = 1;
  c.quiet = true;
  c.vocab.min_song_count = 1;
  return c;
}

}  // namespace melon::test_support
