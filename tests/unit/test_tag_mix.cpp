// The mix of the tag head's tags with tags read through songs
// (ae::choose_tag_mix): the held-out answers pick it, the head alone unless
// a mix scores better, and the model's answers follow the pick.
#include <gtest/gtest.h>

#include "melon/ae/candidates.hpp"
#include "melon/ae/cold_choice.hpp"
#include "melon/ae/model.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"
#include "melon/util/thread_pool.hpp"
#include "../support/playlists.hpp"
#include "../support/temp_dir.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::train;

TEST(TagMix, HeldOutAnswersPickSongReadTagsWhereTheyWinAndKeepTheHeadWhereItDoes) {
  test_support::TempDir dir;
  TrainInputs in;
  Rng rng(3);
  test_support::add_clustered_playlists(in, rng, 200, 40, 8);
  auto c = test_support::tiny_train_config(8, 8);
  c.refit = Refit::Off;
  c.checkpoint_dir = dir.path;
  ASSERT_TRUE(c.tag_answers_auto);
  run_training(c, in, MPI_COMM_SELF);
  auto m = load_model(dir.path, "");
  ASSERT_FALSE(m.song_tags.empty());
  // A tag head that knows nothing: its weights drawn afresh.
  Rng noise(9);
  for (const char* name : {"tag_out", "tag_bias"}) {
    const auto& t = m.layout.get(name);
    for (std::int64_t i = 0; i < t.size(); ++i) m.params[t.offset + i] = static_cast<float>(noise.uniform() - 0.5);
  }
  // Questions: training playlists' first half of songs, no tags (answers:
  // the other half and the tags); every
  // song of a taste shares its tag t<taste>, so the songs name it.
  std::vector<arena::Playlist> questions;
  std::vector<arena::Result> answers;
  for (std::size_t i = 0; questions.size() < 24; ++i) {
    auto q = in.train.at(i);
    if (q.songs.size() < 2) continue;
    arena::Result a;
    a.id = q.id;
    a.songs.assign(q.songs.begin() + static_cast<std::ptrdiff_t>(q.songs.size() / 2), q.songs.end());
    q.songs.resize(q.songs.size() / 2);
    a.tags = q.tags;
    q.tags.clear();
    questions.push_back(q);
    answers.push_back(a);
  }
  util::ThreadPool pool(1);
  auto at = choose_cold(m, questions, answers, {}, pool, MPI_COMM_SELF);
  const auto read = choose_tag_mix(m, at, questions, answers, {}, pool, MPI_COMM_SELF);
  EXPECT_LT(read.tag_mix, 1);
  EXPECT_EQ(m.tag_mix, read.tag_mix);
  EXPECT_GT(read.tag, at.tag);
  EXPECT_EQ(read.song, at.song);
  EXPECT_NEAR(read.score, 0.85 * read.song + 0.15 * read.tag, 1e-12);
  // The answers follow the pick: the fused list of the two the choice saw.
  PredictOptions po;
  const auto lists = tag_lists(m, questions, po, pool, MPI_COMM_SELF);
  const auto answered = candidates(m, questions, po, 100, 10, pool, MPI_COMM_SELF);
  const auto fused = fuse_tags(lists[0].head, lists[0].songs, m.tag_mix, 10);
  ASSERT_EQ(answered[0].tags.size(), fused.size());
  for (std::size_t k = 0; k < fused.size(); ++k)
    EXPECT_EQ(answered[0].tags[k].first, m.vocab.tags[static_cast<std::size_t>(fused[k].second)]);

  // Where the answer is the head's own first tag, the head alone stays.
  for (std::size_t i = 0; i < answers.size(); ++i)
    answers[i].tags = {m.vocab.tags[static_cast<std::size_t>(lists[i].head[0])]};
  m.tag_mix = 1;
  at = choose_cold(m, questions, answers, {}, pool, MPI_COMM_SELF);
  const auto head = choose_tag_mix(m, at, questions, answers, {}, pool, MPI_COMM_SELF);
  EXPECT_EQ(head.tag_mix, 1);
  EXPECT_EQ(m.tag_mix, 1);
  EXPECT_EQ(head.tag, at.tag);
  EXPECT_DOUBLE_EQ(at.tag, 1.0);
}
