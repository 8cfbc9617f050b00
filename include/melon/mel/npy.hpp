#pragma once
// Mel-spectrogram files: one NumPy .npy per song at arena_mel/{id/1000}/{id}.npy,
// a (48, T) array, float32 (<f4) or float16 (<f2), C order. The reader checks
// every header field before allocating and never trusts the header's sizes:
// the payload must match the file's real length.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::mel {

constexpr int kBands = 48;
constexpr int kFrames = 1876;  // 30 s at 16 kHz, hop 256: > 99% of real songs

struct Mel {
  int bands = kBands;
  int frames = 0;
  std::vector<float> data;  // band-major: data[b * frames + t]; may hold -inf/NaN as in the files
};

// Throws melon::Error naming the path and the problem (missing file, bad magic,
// unsupported version, bad header, dtype, fortran_order, shape, truncation).
// max_frames bounds T so an absurd header cannot make us allocate gigabytes.
Mel read_npy(const std::string& path, int max_frames = 1 << 16);

// Same checks; fills `out`, reusing its buffer's capacity (no allocation when a
// loop reads many files of similar length). On error `out` is left unspecified.
void read_npy(const std::string& path, Mel& out, int max_frames = 1 << 16);

// IEEE 754 binary16 bits -> float, exact (subnormals, +-0, +-inf, NaN payloads kept).
float half_to_float(std::uint16_t h);

// Writes a version 1.0 <f4 C-order (bands, frames) .npy atomically, header
// padded so the data starts at a multiple of 64 bytes, as numpy does. The
// parent directory must exist. Throws melon::Error if data.size() != bands * frames.
void write_npy(const std::string& path, const Mel& m, bool durable = true);

// "<mel_dir>/<id/1000>/<id>.npy"
std::string mel_path(const std::string& mel_dir, arena::SongId id);

}  // namespace melon::mel
