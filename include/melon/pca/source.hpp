#pragma once
// Where spectrograms come from (a folder of .npy files or the procedural
// generator), and a rank's shard of songs seen as PCA feature rows.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/mel/npy.hpp"
#include "melon/pca/features.hpp"
#include "melon/pca/rpca.hpp"

namespace melon::pca {

class MelSource {
 public:
  virtual ~MelSource() = default;
  // Bytes the song costs to read (sharding weight); -1, with *why set, when it has no data at all.
  virtual std::int64_t cost(arena::SongId id, std::string* why) const = 0;
  // Thread-safe. Throws melon::Error naming the song and the problem.
  virtual mel::Mel load(arena::SongId id) const = 0;
  // The same into a caller's buffer (a reader can reuse its allocation).
  virtual void load(arena::SongId id, mel::Mel& out) const { out = load(id); }
  // Every song the source has, ascending (used when --songs is not given).
  virtual std::vector<arena::SongId> all_ids() const = 0;
  virtual std::string describe() const = 0;  // for logs and the output's "input" attribute
};

// "<dir>/{id/1000}/{id}.npy"; cost is the file's size from stat().
std::unique_ptr<MelSource> open_mel_dir(const std::string& dir);
// "synthetic:SEED[:NSONGS]": spectrograms computed on demand (melon::generate::SyntheticMel).
// All songs cost the same (a full 48 x 1876 float32 file): the few shorter
// ones cannot be told apart without generating them.
std::unique_ptr<MelSource> open_synthetic(const std::string& spec);

// A rank's songs as candidate feature rows. A song that cannot be loaded or
// has a bad shape is reported (ok = false) with the loader's message.
class SongRows : public RowSource {
 public:
  SongRows(const MelSource& source, std::vector<arena::SongId> ids, const FeatureSpec& spec);
  std::int64_t size() const override { return static_cast<std::int64_t>(ids_.size()); }
  int dim() const override { return dim_; }
  std::int64_t key(std::int64_t i) const override { return ids_[static_cast<std::size_t>(i)]; }
  RowStatus row(std::int64_t i, float* out) const override;
  const std::vector<arena::SongId>& ids() const { return ids_; }

 private:
  const MelSource& source_;
  std::vector<arena::SongId> ids_;
  FeatureSpec spec_;
  int dim_;
};

}  // namespace melon::pca
