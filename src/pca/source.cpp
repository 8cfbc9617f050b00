#include "melon/pca/source.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "melon/error.hpp"
#include "melon/generate/mel_synth.hpp"

namespace melon::pca {
namespace {

class NpyDir : public MelSource {
 public:
  explicit NpyDir(std::string dir) : dir_(std::move(dir)) {
    struct stat st {};
    MELON_CHECK(::stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode),
                "--mel-dir " << dir_ << ": not a readable folder (" << std::strerror(errno) << ")");
  }

  std::int64_t cost(arena::SongId id, std::string* why) const override {
    const std::string path = mel::mel_path(dir_, id);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (why) *why = "missing file " + path + ": " + std::strerror(errno);
      return -1;
    }
    if (!S_ISREG(st.st_mode)) {
      if (why) *why = path + ": not a regular file";
      return -1;
    }
    return static_cast<std::int64_t>(st.st_size);
  }

  mel::Mel load(arena::SongId id) const override { return mel::read_npy(mel::mel_path(dir_, id)); }
  void load(arena::SongId id, mel::Mel& out) const override { mel::read_npy(mel::mel_path(dir_, id), out); }

  std::vector<arena::SongId> all_ids() const override {
    std::vector<arena::SongId> ids;
    DIR* top = ::opendir(dir_.c_str());
    MELON_CHECK(top, "--mel-dir " << dir_ << ": cannot list: " << std::strerror(errno));
    std::vector<std::string> subs;
    while (dirent* e = ::readdir(top)) {
      std::string name = e->d_name;
      if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) subs.push_back(name);
    }
    ::closedir(top);
    for (auto& sub : subs) {
      DIR* d = ::opendir((dir_ + "/" + sub).c_str());
      if (!d) continue;
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 5 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
        std::int64_t id = 0;
        auto [p, ec] = std::from_chars(name.data(), name.data() + name.size() - 4, id);
        if (ec != std::errc() || p != name.data() + name.size() - 4 || id < 0 || id > 0x7fffffff) continue;
        if (std::to_string(id / 1000) != sub) continue;  // not where mel_path() looks for it
        ids.push_back(static_cast<arena::SongId>(id));
      }
      ::closedir(d);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::string describe() const override { return dir_; }

 private:
  std::string dir_;
};

class Synthetic : public MelSource {
 public:
  explicit Synthetic(const std::string& spec) : spec_(spec), gen_(generate::parse_mel_source(spec)) {}

  std::int64_t cost(arena::SongId id, std::string* why) const override {
    if (id < 0 || id >= gen_.n_songs()) {
      if (why) *why = "song id beyond the synthetic catalogue of " + std::to_string(gen_.n_songs()) + " songs";
      return -1;
    }
    if (!gen_.has(id)) {
      if (why) *why = "no spectrogram for this song in the synthetic tree (" + spec_ + ")";
      return -1;
    }
    return static_cast<std::int64_t>(mel::kBands) * mel::kFrames * 4 + 128;
  }

  mel::Mel load(arena::SongId id) const override { return gen_.make(id); }
  void load(arena::SongId id, mel::Mel& out) const override { gen_.make(id, out); }

  std::vector<arena::SongId> all_ids() const override {
    std::vector<arena::SongId> ids(static_cast<std::size_t>(gen_.n_songs()));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<arena::SongId>(i);
    return ids;
  }

  std::string describe() const override { return spec_; }

 private:
  std::string spec_;
  generate::SyntheticMel gen_;
};

}  // namespace

std::unique_ptr<MelSource> open_mel_dir(const std::string& dir) { return std::make_unique<NpyDir>(dir); }

std::unique_ptr<MelSource> open_synthetic(const std::string& spec) { return std::make_unique<Synthetic>(spec); }

SongRows::SongRows(const MelSource& source, std::vector<arena::SongId> ids, const FeatureSpec& spec)
    : source_(source), ids_(std::move(ids)), spec_(spec), dim_(feature_dim(spec)) {
  validate(spec_);
}

RowStatus SongRows::row(std::int64_t i, float* out) const {
  RowStatus st;
  const arena::SongId id = ids_[static_cast<std::size_t>(i)];
  try {
    thread_local mel::Mel m;  // one buffer per reading thread, reused song after song
    source_.load(id, m);
    st.bytes = static_cast<double>(m.data.size()) * sizeof(float);
    st.nonfinite = make_features(m, spec_, out, "song " + std::to_string(id)).nonfinite;
    // A file with no finite value would become a constant row of the
    // replacement value: not a song's sound, so it is skipped and listed.
    const auto values_read = static_cast<std::int64_t>(m.bands) * std::min(m.frames, spec_.frames);
    if (st.nonfinite == values_read) {
      st.ok = false;
      st.reason = "non-finite values: all " + std::to_string(values_read) + " values read are NaN or infinite";
    }
  } catch (const Error& e) {
    st.ok = false;
    st.reason = e.what();
  }
  return st;
}

}  // namespace melon::pca
