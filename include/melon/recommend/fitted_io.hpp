#pragma once
// A fitted reference on disk (HDF5): what the references stage learned on the
// held-out split of the training playlists, so the reranker, which works on
// the same split, loads it instead of fitting again (issue 19). The file
// names the corpus it was fitted on by fingerprint and the held-out ids, and
// a reader refuses it for any other; it also keeps the tuning trials.
//
// Layout: root attributes format "melon-reference-1", method, the options,
// corpus (hex fingerprint), request (what was asked: options and grid),
// chosen, done = 1 (written last); datasets held_out (i64), trial_score
// (f64), trial_params (strings), and for ease columns (i32) and weights (f32,
// columns x n_out). Written to a temp file, fsynced, renamed.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "melon/recommend/references.hpp"
#include "melon/recommend/tuning.hpp"

namespace melon::recommend {

// Of the corpus's playlists, items and vocabularies: equal fingerprints mean
// the same item ids for the same playlists.
std::uint64_t corpus_fingerprint(const Corpus& c);

struct FittedFile {
  Fitted fitted;
  std::uint64_t corpus = 0;            // corpus_fingerprint of what it was fitted on
  std::vector<std::int64_t> held_out;  // the playlists held out of that corpus
  std::string request;                 // the options and grid it was asked to fit with
  // Each tuning trial: its hyperparameters (describe_tuned) and held-out
  // score; empty: not tuned.
  std::vector<std::pair<std::string, double>> trials;
  std::size_t chosen = 0;
};

// DIR/<method>.h5
std::string fitted_path(const std::string& dir, ReferenceMethod m);

// Serial (one rank). Also writes the trials as JSON beside it (PATH with
// .json for .h5), for people and plots.
void write_fitted(const std::string& path, const FittedFile& f);
// Throws melon::Error naming the file and the problem.
FittedFile read_fitted(const std::string& path);

}  // namespace melon::recommend
