#pragma once
// What one training run carries between its phases (trainer.cpp) and into
// each step (step.cpp). Internal to train/.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "melon/ae/autoencoder.hpp"
#include "melon/ae/checkpoint.hpp"
#include "melon/ae/checkpoint_marker.hpp"
#include "melon/ae/encode.hpp"
#include "melon/ae/model.hpp"
#include "melon/train/config.hpp"
#include "melon/train/held_out.hpp"
#include "melon/train/schedule.hpp"
#include "melon/train/trainer.hpp"

namespace melon::train {

using Clock = std::chrono::steady_clock;

struct Run {
  const TrainConfig& cfg;
  const TrainInputs& in;
  MPI_Comm comm;
  int rank = 0, nranks = 1;
  bool speak = false;  // rank 0 logs unless cfg.quiet
  HeldOutSplit held;
  // Vocabulary, layout and audio; its params hold the weights only while the
  // held-out questions are scored (the training state owns them otherwise).
  ae::Model m;
  std::vector<ae::Encoded> enc;  // the examples: held.data encoded
  ae::Checkpoint st;             // the whole training state
  std::int64_t steps_per_epoch = 1;
  Schedule sched;                   // length and learning rate, from cfg and steps_per_epoch
  std::optional<ae::Shard> shard;   // --parallel vocab: this rank's slice of the model
  std::int64_t gathered_step = -1;  // the step whose slices gather_shards last gathered
  std::int64_t last_ckpt = -1;      // step of the last checkpoint written or resumed from
  std::int64_t resumed_from = -1;   // step this process resumed at (-1: a fresh start)

  Run(const TrainConfig& c, const TrainInputs& i, MPI_Comm comm_) : cfg(c), in(i), comm(comm_) {}
  std::int64_t examples() const { return static_cast<std::int64_t>(enc.size()); }
  const ae::Dims& dims() const { return m.layout.dims; }
};

// Buffers every step reuses.
struct StepBuffers {
  ae::Batch batch;
  ae::Grad<float> grad;
  ae::Workspace<float> ws;
  std::vector<float> packed, dense_input;
  std::vector<std::int32_t> slab_rows;
};

// This rank's loss sums and timings of one step (seconds).
struct StepStats {
  ae::LossSums loss;
  std::int64_t samples = 0;  // the global batch
  double batch = 0, compute = 0, wait = 0, reduce = 0, update = 0;
};

// One step on the next global batch of r.st.order: this rank's corrupted
// examples, their gradient, the sum over ranks, the Adam update on every
// rank; advances r.st.step and r.st.epoch_step.
StepStats train_step(Run& r, StepBuffers& b, util::ThreadPool& pool);

// --parallel vocab: copies every rank's slices of the weights to every rank,
// so each holds the whole model (for the held-out score, checkpoints and the
// result); weights already gathered at this step are not moved again. Adam's
// moments stay split (r.st.moment_spans).
void gather_shards(Run& r);

}  // namespace melon::train
