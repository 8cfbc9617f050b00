#include <algorithm>

#include "melon/ae/corrupt.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/train/adam.hpp"
#include "melon/train/schedule.hpp"
#include "melon/util/bytes.hpp"
#include "melon/util/rng.hpp"
#include "run.hpp"

namespace melon::train {

namespace {

// Pieces of the input rows' Adam update between which the dense layers'
// allreduce is polled (enough for the library to keep its pipeline moving).
constexpr int kAdamSlabs = 32;

// The input layer's gradient summed over ranks as the union of touched rows.
void reduce_rows(MPI_Comm comm, ae::Grad<float>& g, std::int64_t cols, std::vector<float>& packed) {
  auto all = mpi::allgather_bytes(comm, to_bytes(g.rows));
  std::vector<std::int32_t> uni;
  for (auto& part : all) {
    const auto rows = from_bytes<std::int32_t>(part);
    uni.insert(uni.end(), rows.begin(), rows.end());
  }
  std::sort(uni.begin(), uni.end());
  uni.erase(std::unique(uni.begin(), uni.end()), uni.end());
  packed.assign(uni.size() * cols, 0.0f);
  std::size_t u = 0;
  for (std::size_t r = 0; r < g.rows.size(); ++r) {
    while (uni[u] != g.rows[r]) ++u;
    std::copy_n(g.row_grad.data() + r * cols, cols, packed.data() + u * cols);
  }
  mpi::allreduce_sum_buckets(comm, packed.data(), packed.size());
  g.rows = std::move(uni);
  g.row_grad.swap(packed);
}

// Examples [part.begin, part.end) of the step's global batch of nb, corrupted
// from (seed, epoch, example) alone: the same on whichever rank builds them.
void build_batch(Run& r, ae::Batch& batch, mpi::Range part) {
  const auto& cfg = r.cfg;
  const auto& st = r.st;
  const std::int64_t g0 = st.epoch_step * cfg.batch;
  batch.clear();
  batch.own_out = true;  // every example is a training playlist the neighbours were counted over
  for (auto k = part.begin; k < part.end; ++k) {
    const auto ex = st.order[g0 + k];
    ae::add_example(batch, r.enc[ex], r.dims(), r.m.input_audio(), true, cfg.corruption,
                    mix_seed(cfg.seed, static_cast<std::uint64_t>(st.epoch), static_cast<std::uint64_t>(ex)));
  }
}

std::int64_t batch_size(const Run& r) {
  const std::int64_t g0 = r.st.epoch_step * r.cfg.batch;
  return std::min(r.examples(), g0 + r.cfg.batch) - g0;
}

// This step's Adam constants: the scheduled rate, the bias corrections of step + 1.
AdamStep adam_step(const Run& r) {
  AdamOptions ao = r.cfg.adam;
  ao.lr = lr_at(r.sched, r.st.step);
  return AdamStep(ao, r.st.step + 1);
}

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// --parallel vocab: the whole batch on this rank's slice (ae::Shard); Adam on
// the slice and on the replicated layers, whose gradient every rank computed
// alike. The ranks exchange only inside forward_backward.
StepStats vocab_step(Run& r, StepBuffers& b, util::ThreadPool& pool) {
  const auto& cfg = r.cfg;
  auto& st = r.st;
  const auto& L = r.m.layout;
  const auto& sh = *r.shard;
  const std::int64_t h0 = r.dims().hidden.front();
  const auto t0 = Clock::now();
  const auto nb = batch_size(r);
  build_batch(r, b.batch, {0, nb});
  const auto t1 = Clock::now();
  const double comm0 = sh.comm_seconds;
  StepStats s;
  s.loss = ae::forward_backward<float>(L, st.params.data(), r.m.song_audio, b.batch, cfg.loss, 1.0 / nb, b.grad, b.ws,
                                       pool, &sh, r.m.nbr());
  const auto t2 = Clock::now();
  const AdamStep as = adam_step(r);
  float* p = st.params.data();
  // The moments hold this rank's spans one after another (st.moment_spans),
  // or the whole layout at one rank.
  std::int64_t at = 0;
  for (const auto& [begin, end] : ae::shard_spans(L, sh)) {
    float* am = st.adam_m.data() + (st.moment_spans.empty() ? begin : at);
    float* av = st.adam_v.data() + (st.moment_spans.empty() ? begin : at);
    at += end - begin;
    if (begin < L.sparse_end) {  // the input rows: a row-sparse gradient
      auto& rows = b.slab_rows;
      rows.assign(b.grad.rows.begin(), b.grad.rows.end());
      for (auto& row : rows) row -= static_cast<std::int32_t>(sh.in0);
      adam_rows(as, p + begin, am, av, sh.in1 - sh.in0, h0, rows, b.grad.row_grad.data(), pool);
    } else {
      const auto g = b.grad.dense.data() + (begin - L.sparse_end);
      adam_dense(as, p + begin, am, av, g, end - begin, pool);
    }
  }
  const auto t3 = Clock::now();
  ++st.step;
  ++st.epoch_step;
  // Every rank holds the whole batch's loss: one rank reports it, so sums over ranks count it once.
  if (r.rank != 0) s.loss = {};
  s.samples = nb;
  s.batch = seconds(t0, t1);
  s.reduce = sh.comm_seconds - comm0;
  s.compute = seconds(t1, t2) - s.reduce;
  s.update = seconds(t2, t3);
  return s;
}

}  // namespace

void gather_shards(Run& r) {
  if (!r.shard || r.nranks == 1 || r.gathered_step == r.st.step) return;
  const auto& L = r.m.layout;
  const auto& d = L.dims;
  std::vector<ae::Shard> all;
  for (int k = 0; k < r.nranks; ++k) all.push_back(ae::make_shard(d, MPI_COMM_NULL, k, r.nranks));
  for (const auto& t : L.tensors) {
    if (!ae::is_sharded(t)) continue;  // replicated: the same bits everywhere already
    std::vector<std::int64_t> counts;  // each rank's block, in rank order
    for (const auto& sh : all) {
      const auto [begin, end] = ae::shard_part(t, sh);
      counts.push_back(end - begin);
    }
    mpi::allgather_blocks_inplace(r.comm, r.st.params.data() + t.offset, counts);
  }
  r.gathered_step = r.st.step;
}

StepStats train_step(Run& r, StepBuffers& b, util::ThreadPool& pool) {
  if (r.shard) return vocab_step(r, b, pool);
  const auto& cfg = r.cfg;
  auto& st = r.st;
  const auto& L = r.m.layout;
  const auto& dims = r.dims();
  const std::int64_t h0 = dims.hidden.front();
  const auto t0 = Clock::now();
  const auto nb = batch_size(r);
  build_batch(r, b.batch, mpi::block_range(nb, r.rank, r.nranks));
  const auto t1 = Clock::now();
  StepStats s;
  s.loss = ae::forward_backward<float>(L, st.params.data(), r.m.song_audio, b.batch, cfg.loss, 1.0 / nb, b.grad, b.ws,
                                       pool, nullptr, r.m.nbr());
  const auto t2w = Clock::now();
  // The barrier only measures: without it the time a fast rank waits for a
  // slow one (load imbalance, other jobs on the node) would count as
  // allreduce time.
  if (r.nranks > 1) mpi::barrier(r.comm);
  const auto t2 = Clock::now();
  // The dense layers' sum starts first and runs while the input layer's rows
  // are exchanged and while Adam updates the input rows, which need only the
  // rows' sum: the library progresses inside the rows' wait and between slabs
  // of that update (poll). Started after the rows' exchange instead, with both
  // ranks leaving it together, each bucket's start did its whole exchange at
  // once on some runs (2 ranks: 42% of a step in communication instead of
  // 12-20%, tools/bench/bench_train.sh). Adam is elementwise, so the slabs
  // change no bit of the result; the order of starting changes no sum.
  auto& grad = b.grad;
  mpi::PendingAllreduce dense_sum(r.comm, grad.dense.data(), grad.dense.size());
  if (r.nranks > 1 && cfg.input_reduce == InputReduce::Rows) {
    reduce_rows(r.comm, grad, h0, b.packed);
  } else if (cfg.input_reduce == InputReduce::Dense) {
    b.dense_input.assign(static_cast<std::size_t>(dims.n_inputs() * h0), 0.0f);
    for (std::size_t i = 0; i < grad.rows.size(); ++i)
      std::copy_n(grad.row_grad.data() + i * h0, h0, b.dense_input.data() + grad.rows[i] * h0);
    mpi::allreduce_sum_buckets(r.comm, b.dense_input.data(), b.dense_input.size());
  }
  const auto t3 = Clock::now();
  const AdamStep as = adam_step(r);
  float* p = st.params.data();
  float* am = st.adam_m.data();
  float* av = st.adam_v.data();
  if (cfg.input_reduce == InputReduce::Dense) {
    adam_dense(as, p, am, av, b.dense_input.data(), dims.n_inputs() * h0, pool);
  } else {
    const int slabs = r.nranks > 1 ? kAdamSlabs : 1;
    for (int k = 0; k < slabs; ++k) {
      const auto rg = mpi::block_range(dims.n_inputs(), k, slabs);
      const auto lo = std::lower_bound(grad.rows.begin(), grad.rows.end(), rg.begin);
      const auto hi = std::lower_bound(lo, grad.rows.end(), rg.end);
      b.slab_rows.assign(lo, hi);
      for (auto& row : b.slab_rows) row -= static_cast<std::int32_t>(rg.begin);
      const auto off = rg.begin * h0;
      adam_rows(as, p + off, am + off, av + off, rg.end - rg.begin, h0, b.slab_rows,
                grad.row_grad.data() + (lo - grad.rows.begin()) * h0, pool);
      dense_sum.poll();
    }
  }
  const auto t3b = Clock::now();
  dense_sum.wait();
  const auto t3c = Clock::now();
  adam_dense(as, p + L.sparse_end, am + L.sparse_end, av + L.sparse_end, grad.dense.data(), L.total - L.sparse_end,
             pool);
  const auto t4 = Clock::now();
  ++st.step;
  ++st.epoch_step;
  s.samples = nb;
  s.batch = std::chrono::duration<double>(t1 - t0).count();
  s.compute = std::chrono::duration<double>(t2w - t1).count();
  s.wait = std::chrono::duration<double>(t2 - t2w).count();
  s.reduce = std::chrono::duration<double>((t3 - t2) + (t3c - t3b)).count();
  s.update = std::chrono::duration<double>((t3b - t3) + (t4 - t3c)).count();
  return s;
}

}  // namespace melon::train
