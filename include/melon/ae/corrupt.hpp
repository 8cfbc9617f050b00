#pragma once
// Training examples: a playlist with part of it hidden the way a question
// hides it, the hidden (or whole) playlist as the target. The corruption
// draws only from an explicit seed, so an example does not depend on which
// rank builds it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/ae/autoencoder.hpp"
#include "melon/ae/encode.hpp"
#include "melon/util/rng.hpp"

namespace melon::ae {

// Which question type a training example imitates: shares of the official
// split (30% songs only, 50% songs + tags, 15% tags only, the rest title
// only). Shown items are a random len/2 of the group, like split_data.py.
struct Corruption {
  double songs_only = 0.30, songs_tags = 0.50, tags_only = 0.15;
  double keep_title = 0.5;  // chance to show the title when songs are shown too
  // Targets: the whole playlist (Mult-DAE), or only what the corruption hid
  // (the question's answer: shown items are never recommended anyway).
  bool target_hidden = false;
};

// Appends one example: inputs from the shown part (all of it when corrupt is
// false: a question as given), targets = the whole playlist's vocabulary items.
// The corruption draws only from rng_seed, derived per (seed, epoch, example),
// so it does not depend on which rank handles the example.
void add_example(Batch& b, const Encoded& e, const Dims& d, const AudioTable& audio, bool corrupt, const Corruption& c,
                 std::uint64_t rng_seed);

// Indices of k items of n, chosen uniformly, returned ascending (file order kept).
std::vector<std::size_t> pick(std::size_t n, std::size_t k, Rng& rng);

}  // namespace melon::ae
