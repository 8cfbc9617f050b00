#pragma once
// The denoising autoencoder (Mult-DAE style, Liang et al. 2018):
//
//   input  x = songs ⊕ tags ⊕ title tokens (multi-hot, each group L2-normalised)
//   a0 = x·E + audio·Wa + b0        E is gathered row by row: x is sparse
//   h0 = tanh(a0), h_l = tanh(h_{l-1}·W_l + b_l)   for the further hidden layers
//   song logits  z_s = h·O_sᵀ + b_s + (h·Pᵀ)·S_sᵀ  S_s: each vocabulary song's
//                                                  standardised audio features ⊕ 1
//                      [+ g_s ⊙ f(shown songs)]    the item-to-item term (neighbours.hpp)
//   tag logits   z_t = h·O_tᵀ + b_t
//   loss = Σ_groups w_g · (logsumexp(z_g) − mean of z_g over the target items)
//
// i.e. the multinomial log-likelihood of each output group, with the target
// mass split evenly over the playlist's items. P maps audio space into the song
// output embedding: every song's embedding is its free row of O_s plus P·audio,
// so P is trained by every vocabulary song, and a song outside the vocabulary
// (rare or never in a playlist) can be scored as h·P·audio + a calibrated bias.
//
// All parameters live in one flat array (Layout) so Adam, the allreduce and
// the checkpoint treat them uniformly; the input embedding comes first and is
// the only block with row-sparse gradients. Templated on the scalar so the
// gradient checks can run in double; training uses float.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/neighbours.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::ae {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Dims {
  std::int64_t n_songs = 0, n_tags = 0, n_tokens = 0;
  int audio_dim = 0;        // 0: the model has no audio input or audio map
  std::vector<int> hidden;  // hidden layer widths, at least one
  int neighbours = 0;       // > 0: the item-to-item term, its weights g in "song_nbr"
  std::int64_t n_inputs() const { return n_songs + n_tags + n_tokens; }
  std::int64_t tag_row(std::int64_t t) const { return n_songs + t; }
  std::int64_t token_row(std::int64_t w) const { return n_songs + n_tags + w; }
};

// Hidden widths as written in --hidden and in checkpoints: "512" or "600,300".
// what names the source in the error for anything but positive integers.
std::vector<int> parse_widths(const std::string& s, const std::string& what);
std::string join_widths(const std::vector<int>& v);

struct Tensor {
  std::string name;
  std::int64_t rows = 0, cols = 0, offset = 0;
  std::int64_t size() const { return rows * cols; }
};

struct Layout {
  Dims dims;
  std::vector<Tensor> tensors;
  std::int64_t total = 0;
  std::int64_t sparse_end = 0;                       // [0, sparse_end): the input embedding E (n_inputs x hidden[0])
  const Tensor& get(const std::string& name) const;  // MELON_ASSERTs that it exists
  bool has(const std::string& name) const;
};

// Tensors: "input", ["input_audio"], "input_bias", "hidden<l>", "hidden<l>_bias"
// (l >= 1), "song_out", "song_bias", "tag_out", "tag_bias", ["song_audio"],
// ["song_nbr"] (last, so a model without it keeps every other offset).
Layout make_layout(const Dims& dims);

// Glorot-uniform weights, zero biases; from seed alone (deterministic).
std::vector<float> init_params(const Layout& layout, std::uint64_t seed);

// A batch of model inputs and targets in CSR form (examples in order).
struct Batch {
  std::int64_t size = 0;
  std::vector<std::int64_t> in_ptr{0};  // input rows of example i: in_idx[in_ptr[i] .. in_ptr[i+1])
  std::vector<std::int32_t> in_idx;
  std::vector<float> in_w;
  std::vector<float> audio;  // size x audio_dim (row-major), empty without audio
  std::vector<std::int64_t> song_ptr{0}, tag_ptr{0};
  std::vector<std::int32_t> song_idx, tag_idx;  // output targets (vocabulary indices)
  // Training examples: the item-to-item term leaves out the example's own
  // playlist's part of the co-occurrence counts (neighbours.hpp), which is in
  // them for a training playlist and never for a question.
  bool own_out = false;

  void clear();
  // Appends one example; the caller finishes its inputs/targets then calls end_example().
  void end_example();
};

// Per-batch sums (not means): the trainer allreduces them and divides.
struct LossSums {
  double song = 0, tag = 0;            // Σ over examples with targets of the group loss (unweighted)
  std::int64_t n_song = 0, n_tag = 0;  // examples that had targets in the group
};

struct LossWeights {
  double song = 1.0, tag = 1.0;
};

// Gradient of scale · Σ_examples (weighted loss): dense part indexed like the
// layout from sparse_end; the input embedding as touched rows (ascending).
template <class T>
struct Grad {
  std::vector<std::int32_t> rows;
  std::vector<T> row_grad;  // rows.size() x hidden[0]
  std::vector<T> dense;     // layout.total - layout.sparse_end
};

// Activations kept between forward and backward (reused across steps).
template <class T>
struct Workspace {
  std::vector<Mat<T>> h;  // per hidden layer, B x width
  Mat<T> zs, zt;          // logits, then their gradients
  Mat<T> g;               // B x (audio_dim + 1): h·Pᵀ
  Mat<T> dh, da;
  // Per example: the item-to-item features of the shard's songs it reaches.
  std::vector<std::vector<std::pair<std::int32_t, float>>> nbr;
};

// One rank's part of a vocabulary-parallel model (train --parallel vocab):
// rows [in0, in1) of the input embedding and output rows [s0, s1) of the
// songs and [t0, t1) of the tags. Every rank runs the whole global batch; the
// small layers between (input bias and audio, hidden layers, the audio map)
// are replicated and get the same gradient on every rank. Per step the ranks
// exchange O(batch x hidden) numbers through comm: the partial first-layer
// sums of their input rows, each example's softmax maximum and sums, and the
// partial gradient flowing back from their output rows. A shard covering the
// whole model on one rank computes the unsharded model's bits exactly.
struct Shard {
  MPI_Comm comm = MPI_COMM_NULL;
  bool root = true;  // adds the replicated input bias to the partial sums (rank 0)
  std::int64_t in0 = 0, in1 = 0, s0 = 0, s1 = 0, t0 = 0, t1 = 0;
  mutable double comm_seconds = 0;  // time in the collectives above (waiting included)
};
// Rank `rank` of `ranks`: contiguous blocks of each vocabulary.
Shard make_shard(const Dims& d, MPI_Comm comm, int rank, int ranks);
// Whether tensor t is split between shards (the input rows, the output rows
// and biases) or replicated.
bool is_sharded(const Tensor& t);
// The flat [begin, end) of tensor t that sh owns: its rows or bias entries of
// a sharded tensor, all of a replicated one.
std::pair<std::int64_t, std::int64_t> shard_part(const Tensor& t, const Shard& sh);
// The flat [begin, end) ranges of layout L a shard updates, ascending.
std::vector<std::pair<std::int64_t, std::int64_t>> shard_spans(const Layout& L, const Shard& sh);

// song_audio: n_songs x (audio_dim + 1) standardised features ⊕ 1 (empty without audio).
// nbr: the item-to-item term's neighbours (needed when dims.neighbours > 0).
template <class T>
void forward(const Layout& L, const T* params, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
             util::ThreadPool& pool, const Neighbours* nbr = nullptr);

// With a shard: its logits (ws.zs, ws.zt hold its columns only), its part of
// the gradient (the input rows it owns, its output rows; the replicated
// tensors in full) and the whole batch's loss, the same on every rank.
template <class T>
LossSums forward_backward(const Layout& L, const T* params, const Mat<T>& song_audio, const Batch& b,
                          const LossWeights& lw, double scale, Grad<T>& grad, Workspace<T>& ws, util::ThreadPool& pool,
                          const Shard* shard = nullptr, const Neighbours* nbr = nullptr);

// The loss alone (for gradient checks and validation), same conventions.
template <class T>
LossSums loss_only(const Layout& L, const T* params, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
                   util::ThreadPool& pool, const Neighbours* nbr = nullptr);

// Chunk sizes for the big kernels: fixed, so results do not depend on --threads.
inline constexpr std::int64_t kVocabChunk = 2048;
inline constexpr std::int64_t kRowChunk = 16;

}  // namespace melon::ae
