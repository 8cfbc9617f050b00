#pragma once
// `melon generate`: writes a synthetic Arena dataset (train/val/test questions,
// hidden answers, song_meta, genre_gn_all, arena_mel/) that mirrors the real
// release's formats and statistics (shared arena.md). Deterministic from the
// seed: the same options give byte-identical files whatever the rank count.
// JSON is written by rank 0, streamed; mel files are split across ranks.
#include <cstdint>
#include <string>

#include "melon/generate/playlists.hpp"
#include "melon/generate/vocab.hpp"
#include "melon/generate/walk.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

constexpr std::int64_t kRealTrainPlaylists = 115071;

enum class MelMode { Used, All, None };
MelMode parse_mel_mode(const std::string& s);

// The generator family: how playlists arise (playlists.hpp, walk.hpp).
enum class Model { Taste, Walk };
Model parse_model(const std::string& s);
const char* model_name(Model m);

struct GenerateOptions {
  std::string out;
  std::int64_t playlists = kRealTrainPlaylists;  // training playlists; val/test get the real proportions
  std::int32_t songs = kRealSongs;
  std::uint64_t seed = 0;
  MelMode mel_mode = MelMode::Used;
  std::int64_t mel_songs = 2000;  // cap on mel files (-1: no cap)
  WorldShape shape;
  Model model = Model::Taste;
  PlaylistKnobs playlist;
  WalkKnobs walk;
  VocabKnobs vocab;
  bool quiet = false;  // no calibration table on stdout
};

// val and test sizes for n training playlists (23015 and 10740 per 115071).
std::int64_t val_count(std::int64_t n_train);
std::int64_t test_count(std::int64_t n_train);

// The mel source spec (for `--mel-source`) matching a dataset's catalogue.
std::string mel_source_spec(const GenerateOptions& o);

struct GenerateResult {
  std::int64_t mel_files = 0;  // written by all ranks
  std::int64_t mel_bytes = 0;
};

// Collective when MPI runs: every rank must call it with the same options.
GenerateResult run_generate(const GenerateOptions& o);

}  // namespace melon::generate
