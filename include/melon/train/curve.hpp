#pragma once
// The training curve beside the checkpoints: CHECKPOINT_DIR/curve.json, one
// record per finished epoch, so a report can draw the run without its logs.
// A run that resumes from a checkpoint at step S keeps the records up to S,
// starts a new segment (segment id + 1, resumed_from = S) and appends; the
// epochs replayed after S are dropped, so the curve is the history of the
// weights that exist. The file is rewritten whole, atomically, every epoch.
#include <cstdint>
#include <string>
#include <vector>

namespace melon::train {

struct EpochReport;

struct CurvePoint {
  int segment = 0;                 // 0 for the first run, +1 for each resume
  std::int64_t resumed_from = -1;  // step this segment started from; -1: a fresh start
  std::int64_t step = 0;           // global step at the end of the epoch
  std::int64_t epoch = 0;          // 1-based
  double song_loss = 0, tag_loss = 0;
  double val_song = -1, val_tag = -1, val_score = -1;  // -1: no held-out playlists
  double steps_per_s = 0;
  double allreduce_share = 0;  // of the epoch's step time spent in the allreduce
};

// The end-of-epoch record: `resumed_from` the step this process resumed at
// (-1: fresh), `seconds` the epoch's wall time, `reduce_s` / `step_s` the
// allreduce and whole-step seconds of the epoch. The segment is set by append_curve.
CurvePoint curve_point(const EpochReport& rep, std::int64_t step, std::int64_t resumed_from, std::int64_t steps,
                       double seconds, double reduce_s, double step_s);

// Appends p to dir/curve.json by the rules above. Never throws: the curve is
// a by-product, so a failure to write it is a warning, not a failed training.
void append_curve(const std::string& dir, CurvePoint p);

// The records in file order; throws melon::Error on a malformed file.
std::vector<CurvePoint> read_curve(const std::string& path);

}  // namespace melon::train
