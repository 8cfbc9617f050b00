#pragma once
// Resume state: a checkpoint after every finished pass (or, with
// Options::checkpoint_seconds, after the first pass that ends that long after
// the last checkpoint), so a stopped run continues from the last saved pass
// with an identical result.
//
// Layout, in a folder beside the output ("<out>.state/"):
//   CHECKPOINT                   text: pass, rank count, the settings fingerprint;
//                                written by rank 0 last, atomically, so it only
//                                ever names a complete set of rank files
//   pass<P>.rank<R>of<N>.bin     each rank's state after pass P (binary, checksummed);
//                                rank 0's also holds the D x l matrix all ranks share,
//                                sent to the others on resume, and with --method krylov
//                                every rank's earlier blocks Q_0..Q_{i-1}
// Files of older passes are removed once a newer CHECKPOINT is in place. The
// state holds exactly the doubles the next pass consumes, so resuming cannot
// change a bit. A fingerprint mismatch (other settings, rank count or input)
// is an error naming the difference, never a silent fresh start.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "melon/pca/rpca.hpp"
#include "melon/util/eigen.hpp"

namespace melon::pca {

// What a run carries from pass to pass, and exactly what a checkpoint saves.
struct State {
  int pass = -1;   // last finished pass
  int sketch = 0;  // l: sketch columns in use (k + p, capped by N and D); set by pass 0
  // Over all ranks once pass 0 has ended (nonfinite_total counts this rank's while it runs).
  std::int64_t rows_total = 0, skipped_total = 0, nonfinite_total = 0;
  double total_ss = 0;             // ||Ac||_F^2 once known
  std::vector<std::int64_t> rows;  // this rank's valid candidates
  std::vector<Skip> skipped;       // this rank's skipped candidates
  Eigen::VectorXd mean;
  Eigen::MatrixXd local;  // this rank's rows x l (Q)
  // Method::Krylov: this rank's rows of the blocks Q_0..Q_{i-1} already used,
  // side by side (rows x i l); the last pass orthonormalises them with Q_q.
  Eigen::MatrixXd krylov;
  Eigen::MatrixXd shared;  // D x l, the same on every rank (Z or Bt)
  int qr_shifted_steps = 0;
  // Options::tol: the top-k Ritz values of the last transpose pass, to compare
  // the next one's with; done once they changed by at most tol, and shared
  // then holds Bt for the final SVD (no passes left).
  Eigen::VectorXd ritz;
  bool done = false;
};

// Collective. Writes every rank's file, then rank 0's CHECKPOINT, then removes older passes.
void save_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint, const State& st);
// Collective. Nothing saved yet: nullopt. Throws melon::Error (on every rank) for a
// checkpoint from other settings or a damaged file.
std::optional<State> load_checkpoint(MPI_Comm comm, const std::string& dir, const std::string& fingerprint);
// Collective. Removes the folder and everything melon put in it.
void remove_state(MPI_Comm comm, const std::string& dir);

}  // namespace melon::pca
