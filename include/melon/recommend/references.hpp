#pragma once
// Reference recommenders: the candidate generators the strong Arena solutions
// were built on (shared arena.md), beside the competition's baselines.
//   - item-knn:     item neighbours by co-occurrence with popularity damping,
//                   score(i) = sum_q w_q co(q, i) / (cnt(q)^alpha cnt(i)^beta);
//   - playlist-knn: the K training playlists most like the question (cosine
//                   over idf-weighted items), items scored by sum of sim^power;
//   - ease:         Steck's closed-form shallow autoencoder (WWW 2019),
//                   B = I - P / diag(P), P = (X^T X + lambda I)^-1;
//   - mixture:      a mixture of multinomials over songs, tags and title
//                   tokens fitted by EM; answers from the question's
//                   posterior over the clusters (not a default source).
// Every question type is answered: shown songs and tags are the question's
// items, and for questions without songs so are its title tokens (text::tokenize),
// so tags-only questions reach songs through tag-song co-occurrence and
// title-only questions through token-song co-occurrence.
//
// Parallel layout: every rank reads the whole training file anyway, so each
// holds the same read-only index of it; questions are split across ranks (the
// heavy part: each question walks the playlists sharing its items) and the
// answers gathered on rank 0. The one dense statistic, EASE's Gram matrix, is
// summed from per-rank blocks of training playlists by allreduce. Each answer
// depends only on replicated data, so answers are identical for any rank count.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "melon/arena/candidates.hpp"
#include "melon/arena/types.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/text/tokenize.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::recommend {

enum class ReferenceMethod { ItemKnn, PlaylistKnn, Ease, Mixture };
const char* to_string(ReferenceMethod m);                  // item-knn | playlist-knn | ease | mixture
bool is_reference(const std::string& name);                // item-knn | playlist-knn | ease | mixture
ReferenceMethod parse_reference(const std::string& name);  // throws melon::Error on other names

struct ReferenceOptions {
  // Weights of a shown tag and a title token relative to a shown song. Title
  // tokens join only questions without songs: next to songs they add noise.
  double tag_weight = 1.0;
  double title_weight = 1.0;
  // Defaults below: the best of a small grid on generated data (30,000
  // playlists, official split; README has the table).
  // item-knn damping exponents (0, 0: raw co-occurrence, favours popular items).
  double alpha = 0.5;  // on the question item's count
  double beta = 0.1;   // on the candidate's count (0.5 drowned the answers in rare songs and tags)
  // playlist-knn
  std::int64_t neighbours = 1000;
  double power = 1.0;
  // ease: columns are the most frequent songs, tags and title tokens (tokens
  // are inputs only; their outputs are never recommended).
  std::int64_t ease_songs = 4000;
  std::int64_t ease_tags = 1000;
  std::int64_t ease_tokens = 1000;
  double ease_lambda = 1000.0;
  // mixture
  std::int64_t mixture_clusters = 150;
  std::int64_t mixture_iterations = 30;
  text::TokenizerOptions tokenizer;
};

// Training playlists as sets of items in one id space: songs [0, n_songs),
// tags [n_songs, n_songs + tags.size()), title tokens after them. Identical on
// every rank (vocabularies in first-seen order over the whole list).
struct Corpus {
  std::size_t n_songs = 0;
  std::vector<std::string> tags, tokens;
  std::unordered_map<std::string, std::int32_t> tag_item, token_item;  // name -> item id
  std::vector<std::int64_t> offsets;    // playlist p holds items[offsets[p] .. offsets[p+1]), sorted, unique
  std::vector<std::int64_t> tokens_at;  // ... of which items[tokens_at[p] .. offsets[p+1]) are title tokens
  std::vector<std::int32_t> items;
  std::vector<std::int64_t> item_offsets;  // item i is in playlists[item_offsets[i] .. item_offsets[i+1])
  std::vector<std::int32_t> playlists;
  Popularity pop;  // fill order (count_popularity)

  std::size_t n_playlists() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::size_t n_items() const { return n_songs + tags.size() + tokens.size(); }
  bool is_song(std::int32_t i) const { return static_cast<std::size_t>(i) < n_songs; }
  bool is_tag(std::int32_t i) const { return !is_song(i) && static_cast<std::size_t>(i) < n_songs + tags.size(); }
  bool is_token(std::int32_t i) const { return static_cast<std::size_t>(i) >= n_songs + tags.size(); }
  // Playlists holding item i.
  std::int64_t count(std::int32_t i) const { return item_offsets[i + 1] - item_offsets[i]; }
};

// The song id space of a corpus: song_meta's size, else every id the
// training playlists and questions name (the references stage and the
// reranker count alike, so a saved fit means the same ids in both).
std::size_t song_count(const arena::SongMeta* meta, const std::vector<arena::Playlist>& train,
                       const std::vector<arena::Playlist>& questions);

// Collective (popularity is summed across ranks).
Corpus build_corpus(const std::vector<arena::Playlist>& train, std::size_t n_songs, const text::TokenizerOptions& tok);

// A question as weighted items of the corpus (unknown songs/tags/tokens dropped).
using Query = std::vector<std::pair<std::int32_t, double>>;
Query encode_question(const Corpus& c, const arena::Playlist& q, const ReferenceOptions& opt);

// Per-question scratch: dense accumulators with the list of ids touched, so
// resetting costs what was used. One per thread of scoring.
// (A touched flag, not score != 0: a sum can pass through zero.)
struct Workspace {
  std::vector<double> item;  // by item id
  std::vector<std::uint8_t> item_on;
  std::vector<std::int32_t> items_touched;
  std::vector<double> playlist;  // by training playlist
  std::vector<std::uint8_t> playlist_on;
  std::vector<std::int32_t> playlists_touched;
  void add_item(std::int32_t i, double v);
  void add_playlist(std::int32_t p, double v);
  void reset();
};

// fn(begin, end, ws) for the chunks [begin, end) of [0, n), chunk_size each
// (the last shorter), handed to the threads as they free up, with one
// workspace per thread (reused: it is left zeroed after each question).
// Which thread takes a chunk changes no answer.
void for_each_chunk(util::ThreadPool& threads, std::int64_t n, std::int64_t chunk_size,
                    const std::function<void(std::int64_t, std::int64_t, Workspace&)>& fn);

// One recommender: adds its score of items for a question into ws.item.
class Reference {
 public:
  virtual ~Reference() = default;
  virtual void score(const Corpus& c, const Query& q, Workspace& ws) const = 0;
};

// What fitting a reference to a corpus learned, enough to rebuild it without
// fitting again (rerank reuses the references stage's fits: fitted_io.hpp).
// The kNN methods learn nothing beyond the corpus index and their options;
// EASE learns its weights, the one costly fit; the mixture its clusters.
struct Fitted {
  ReferenceMethod method = ReferenceMethod::ItemKnn;
  ReferenceOptions opt;               // the options it was fitted with
  std::vector<std::int32_t> columns;  // ease: column -> corpus item; the first n_out are outputs
                                      // mixture: column -> corpus item (every item a playlist holds)
  std::size_t n_out = 0;              // mixture: the clusters
  std::vector<float> weights;         // ease: columns x n_out, row-major (what input i says of each output)
                                      // mixture: columns x clusters, log chance of the item in each cluster
  std::vector<float> prior;           // mixture: log weight of each cluster
};
// Collective for ease (Gram allreduce, solve on rank 0, broadcast) and mixture (both EM steps gathered).
// threads: the mixture's fit uses them (the same bits for any count); the others' fits run on the caller.
Fitted fit_reference(ReferenceMethod m, const Corpus& c, const ReferenceOptions& opt,
                     util::ThreadPool& threads = util::ThreadPool::serial());
// Local. c must be the corpus f was fitted on (fitted_io.hpp checks it by fingerprint).
std::unique_ptr<Reference> make_reference(const Fitted& f, const Corpus& c,
                                          util::ThreadPool& threads = util::ThreadPool::serial());
// fit_reference then make_reference.
std::unique_ptr<Reference> make_reference(ReferenceMethod m, const Corpus& c, const ReferenceOptions& opt,
                                          util::ThreadPool& threads = util::ThreadPool::serial());

// This rank's share of the questions, [first, second): contiguous blocks in
// rank order of about equal estimated cost (a question walks the playlists of
// each of its items: the sum of their counts, plus a fixed part as large as
// the average walk). The same on every rank; no communication.
std::pair<std::size_t, std::size_t> question_share(const std::vector<arena::Playlist>& questions, const Corpus& c,
                                                   const ReferenceOptions& opt);
// Collective: each rank's questions and seconds, in one line on rank 0's log.
void log_shares(const std::string& what, std::size_t questions, double seconds);

// Up to n_songs songs and n_tags tags for question q. song_dates: by song id
// (empty: no date filter).
arena::Candidates candidates(const Reference& ref, const Corpus& c, const arena::Playlist& q,
                             const ReferenceOptions& opt, const std::vector<std::int32_t>& song_dates,
                             std::size_t n_songs, std::size_t n_tags, Workspace& ws);
// The answer: top of the candidates, filled from popularity to 100 songs and
// 10 tags (dated songs last: only a tiny catalogue needs them).
arena::Result answer(const arena::Candidates& cand, const Corpus& c, const arena::Playlist& q,
                     const std::vector<std::int32_t>& song_dates);

// Collective. This rank's block of questions (mpi::block_range), in order.
// meta may be null (no date filter, song ids bounded by the training data).
std::vector<arena::Candidates> reference_candidates(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                                    const std::vector<arena::Playlist>& questions,
                                                    const arena::SongMeta* meta, const ReferenceOptions& opt,
                                                    std::size_t n_songs, std::size_t n_tags,
                                                    util::ThreadPool& threads = util::ThreadPool::serial());
// Collective. Answers in question order on rank 0; other ranks get none.
// threads: each rank's questions are answered in chunks over them (and the
// mixture fitted with them); the answers are the same for any count.
std::vector<arena::Result> run_reference(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                         const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta,
                                         const ReferenceOptions& opt,
                                         util::ThreadPool& threads = util::ThreadPool::serial());

// How `melon baseline` runs a reference: its hyperparameters tuned on
// held-out training playlists (tuning.hpp), the held-out fit saved for the
// reranker (fitted_io.hpp), then fitted on every training playlist to answer.
struct ReferenceRun {
  ReferenceOptions opt;
  bool tune = true;
  std::vector<std::string> pinned;     // option names the user set: kept, not tuned
  std::vector<std::int64_t> held_out;  // the held-out slice; empty: the reranker's own draw
  std::string fitted;                  // where the held-out fit goes (reused when it matches); empty: nowhere
};
// Collective. Answers in question order on rank 0; other ranks get none.
std::vector<arena::Result> run_reference(ReferenceMethod m, const std::vector<arena::Playlist>& train,
                                         const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta,
                                         const ReferenceRun& run,
                                         util::ThreadPool& threads = util::ThreadPool::serial());

// EASE pieces, exposed for tests.
namespace ease {
struct Columns {
  std::vector<std::int32_t> items;      // column -> corpus item
  std::vector<std::int32_t> column_of;  // corpus item -> column, -1 outside
};
Columns choose_columns(const Corpus& c, const ReferenceOptions& opt);
// X^T X over the training playlists restricted to the columns (collective).
Eigen::MatrixXd gram(const Corpus& c, const Columns& cols);
// B = I - P diag(P)^-1 with P = (G + lambda I)^-1 (so diag(B) = 0).
Eigen::MatrixXd weights(Eigen::MatrixXd g, double lambda);
}  // namespace ease

}  // namespace melon::recommend
