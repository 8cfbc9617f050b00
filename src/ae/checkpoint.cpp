#include "melon/ae/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "melon/ae/checkpoint_marker.hpp"
#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/hash.hpp"
#include "melon/util/log.hpp"

namespace melon::ae {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "melon-ae-checkpoint-1";

bool parse_name(const std::string& name, std::int64_t& step) {
  // ckpt-<digits>.h5, nothing else (temp files end in .tmp.<pid>).
  if (name.size() < 9 || name.rfind("ckpt-", 0) != 0 || name.substr(name.size() - 3) != ".h5") return false;
  auto digits = name.substr(5, name.size() - 8);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  step = std::stoll(digits);
  return true;
}

template <class T>
void write_1d(h5::File& f, const std::string& name, h5::Type type, const std::vector<T>& v) {
  auto d = h5::Dataset::create(f, name, type, {static_cast<hsize_t>(v.size())});
  if (!v.empty()) d.write_rows(0, v.size(), v.data());
}

template <class T>
std::vector<T> read_1d(const h5::File& f, const std::string& name) {
  auto d = h5::Dataset::open(f, name);
  auto dims = d.dims();
  MELON_CHECK(dims.size() == 1, f.path() << ": dataset " << name << " is not 1-D");
  std::vector<T> v(dims[0]);
  if (!v.empty()) d.read_rows(0, v.size(), v.data());
  return v;
}

// The item-to-item term's neighbours, checked: they index the model's songs.
Neighbours read_neighbours(const h5::File& f, const std::string& path, std::int64_t n_songs) {
  Neighbours nb;
  const auto k = f.attr_int("neighbours");
  MELON_CHECK(k > 0 && k <= 1000000, path << ": attribute neighbours must be positive, got " << k);
  nb.k = static_cast<int>(k);
  nb.tau = f.attr_double("neighbours_tau");
  nb.gain = f.attr_double("neighbours_gain");
  MELON_CHECK(nb.tau > 0 && std::isfinite(nb.tau) && nb.gain > 0 && std::isfinite(nb.gain),
              path << ": neighbours_tau and neighbours_gain must be positive and finite");
  nb.ptr = read_1d<std::int64_t>(f, "neighbours.ptr");
  nb.idx = read_1d<std::int32_t>(f, "neighbours.idx");
  nb.w = read_1d<float>(f, "neighbours.w");
  MELON_CHECK(static_cast<std::int64_t>(nb.ptr.size()) == n_songs + 1 && nb.ptr.front() == 0 &&
                  nb.ptr.back() == static_cast<std::int64_t>(nb.idx.size()) && nb.idx.size() == nb.w.size(),
              path << ": neighbours.ptr/idx/w do not describe " << n_songs << " songs' neighbours");
  for (std::int64_t s = 0; s < n_songs; ++s)
    MELON_CHECK(nb.ptr[s] <= nb.ptr[s + 1] && nb.ptr[s + 1] - nb.ptr[s] <= k,
                path << ": neighbours.ptr of song " << s << " is out of order or holds more than " << k);
  for (std::size_t e = 0; e < nb.idx.size(); ++e)
    MELON_CHECK(nb.idx[e] >= 0 && nb.idx[e] < n_songs && nb.w[e] > 0 && std::isfinite(nb.w[e]),
                path << ": neighbours entry " << e << " (song " << nb.idx[e] << ", weight " << nb.w[e]
                     << ") is outside the vocabulary or not a positive weight");
  // Written since the term leaves a training playlist's own counts out.
  if (f.has_attr("neighbours_counted") && f.attr_int("neighbours_counted") == 1) {
    nb.count = read_1d<std::int32_t>(f, "neighbours.count");
    MELON_CHECK(static_cast<std::int64_t>(nb.count.size()) == n_songs,
                path << ": neighbours.count holds " << nb.count.size() << " songs, the vocabulary " << n_songs);
    for (std::int64_t s = 0; s < n_songs; ++s)
      MELON_CHECK(nb.count[s] >= 0,
                  path << ": neighbours.count of song " << s << " is negative (" << nb.count[s] << ")");
  }
  return nb;
}

// Tags read through songs, checked: they index the model's songs and tags.
SongTags read_song_tags(const h5::File& f, const std::string& path, std::int64_t n_songs, std::int64_t n_tags) {
  SongTags st;
  st.ptr = read_1d<std::int64_t>(f, "song_tags.ptr");
  st.idx = read_1d<std::int32_t>(f, "song_tags.idx");
  st.w = read_1d<float>(f, "song_tags.w");
  MELON_CHECK(static_cast<std::int64_t>(st.ptr.size()) == n_songs + 1 && st.ptr.front() == 0 &&
                  st.ptr.back() == static_cast<std::int64_t>(st.idx.size()) && st.idx.size() == st.w.size(),
              path << ": song_tags.ptr/idx/w do not describe " << n_songs << " songs' tags");
  for (std::int64_t s = 0; s < n_songs; ++s)
    MELON_CHECK(st.ptr[s] <= st.ptr[s + 1] && st.ptr[s + 1] - st.ptr[s] <= kSongTagsPerSong,
                path << ": song_tags.ptr of song " << s << " is out of order or holds more than " << kSongTagsPerSong);
  for (std::size_t e = 0; e < st.idx.size(); ++e)
    MELON_CHECK(st.idx[e] >= 0 && st.idx[e] < n_tags && st.w[e] > 0 && st.w[e] <= 1,
                path << ": song_tags entry " << e << " (tag " << st.idx[e] << ", weight " << st.w[e]
                     << ") is outside the vocabulary or not a share in (0, 1]");
  return st;
}

void write_strings(h5::File& f, const std::string& name, const std::vector<std::string>& v) {
  std::size_t width = 1;
  for (auto& s : v) width = std::max(width, s.size());
  auto d = h5::Dataset::create_strings(f, name, v.size(), width);
  if (!v.empty()) d.write_strings(0, v);
}

std::vector<std::string> read_strings(const h5::File& f, const std::string& name) {
  auto d = h5::Dataset::open(f, name);
  auto dims = d.dims();
  MELON_CHECK(dims.size() == 1, f.path() << ": dataset " << name << " is not 1-D");
  if (dims[0] == 0) return {};
  return d.read_strings();
}

void write_tensor(h5::File& f, const std::string& prefix, const Tensor& t, const std::vector<float>& data) {
  auto d = h5::Dataset::create(f, prefix + t.name, h5::Type::F32,
                               {static_cast<hsize_t>(t.rows), static_cast<hsize_t>(t.cols)});
  if (t.size() > 0) d.write_rows(0, t.rows, data.data() + t.offset);
}

// Tensor t's dataset under prefix, checked to have t's shape.
h5::Dataset open_tensor(const h5::File& f, const std::string& prefix, const Tensor& t) {
  auto d = h5::Dataset::open(f, prefix + t.name);
  auto dims = d.dims();
  MELON_CHECK(dims.size() == 2 && dims[0] == static_cast<hsize_t>(t.rows) && dims[1] == static_cast<hsize_t>(t.cols),
              f.path() << ": dataset " << prefix << t.name << " has the wrong shape (expected " << t.rows << " x "
                       << t.cols << ")");
  return d;
}

void read_tensor(const h5::File& f, const std::string& prefix, const Tensor& t, std::vector<float>& data) {
  auto d = open_tensor(f, prefix, t);
  if (t.size() > 0) d.read_rows(0, t.rows, data.data() + t.offset);
}

}  // namespace

std::string checkpoint_path(const std::string& dir, std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "ckpt-%010lld.h5", static_cast<long long>(step));
  return (fs::path(dir) / name).string();
}

std::string best_path(const std::string& dir) { return (fs::path(dir) / "best.h5").string(); }
std::string refit_path(const std::string& dir) { return (fs::path(dir) / "refit.h5").string(); }
std::string refit_dir(const std::string& dir) { return (fs::path(dir) / "refit").string(); }

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::int64_t step = 0;
    if (e.is_regular_file(ec) && parse_name(e.path().filename().string(), step))
      found.emplace_back(step, e.path().string());
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::int64_t moments_size(const Layout& layout, const MomentSpans& spans) {
  if (spans.empty()) return layout.total;
  std::int64_t n = 0;
  for (const auto& [b, e] : spans) n += e - b;
  return n;
}

std::uint64_t params_hash(const std::vector<float>& p) { return fnv1a64(p.data(), p.size() * sizeof(float)); }

namespace {

// A part of one tensor: whole rows, or columns of a single row (a bias).
struct Block {
  std::int64_t row0, rows, col0, cols;
};

// Calls f(tensor, block, offset in the compact arrays) for every part of
// c.moment_spans.
template <class F>
void for_each_slice(const Checkpoint& c, const std::string& path, F&& f) {
  std::int64_t at = 0;
  for (const auto& [b, e] : c.moment_spans) {
    for (const auto& t : c.layout.tensors) {
      const auto lo = std::max(b, t.offset) - t.offset, hi = std::min(e, t.offset + t.size()) - t.offset;
      if (lo >= hi) continue;
      const auto off = at + (t.offset + lo - b);
      if (lo % t.cols == 0 && hi % t.cols == 0) f(t, Block{lo / t.cols, (hi - lo) / t.cols, 0, t.cols}, off);
      else if (lo / t.cols == (hi - 1) / t.cols) f(t, Block{lo / t.cols, 1, lo % t.cols, hi - lo}, off);
      else MELON_CHECK(false, path << ": a moment slice of " << t.name << " is neither whole rows nor within a row");
    }
    at += e - b;
  }
}

void write_slices(h5::File& f, const Checkpoint& c) {
  MELON_ASSERT(c.adam_m.size() == static_cast<std::size_t>(moments_size(c.layout, c.moment_spans)),
               "moment slices size");
  for_each_slice(c, f.path(), [&](const Tensor& t, Block k, std::int64_t at) {
    h5::Dataset::open(f, "adam_m." + t.name).write_block(k.row0, k.rows, k.col0, k.cols, c.adam_m.data() + at);
    h5::Dataset::open(f, "adam_v." + t.name).write_block(k.row0, k.rows, k.col0, k.cols, c.adam_v.data() + at);
  });
}

// Everything but the "done" attribute. Moments held as slices: the datasets
// at full size, with this process's slices written (the rest by the other
// ranks, add_moment_slices).
void write_body(const std::string& tmp, const Checkpoint& c, bool moments) {
  auto f = h5::File::create(tmp, MPI_COMM_NULL);
  f.set_attr("format", kFormat);
  moments = moments && (!c.adam_m.empty() || !c.moment_spans.empty());
  MELON_ASSERT(c.params.size() == static_cast<std::size_t>(c.layout.total), "checkpoint params size");
  const bool sliced = moments && !c.moment_spans.empty();
  for (auto& t : c.layout.tensors) {
    write_tensor(f, "param.", t, c.params);
    if (sliced) {
      for (const char* prefix : {"adam_m.", "adam_v."})
        h5::Dataset::create(f, prefix + t.name, h5::Type::F32,
                            {static_cast<hsize_t>(t.rows), static_cast<hsize_t>(t.cols)});
    } else if (moments) {
      write_tensor(f, "adam_m.", t, c.adam_m);
      write_tensor(f, "adam_v.", t, c.adam_v);
    }
  }
  if (sliced) write_slices(f, c);
  write_1d(f, "order", h5::Type::I64, c.order);
  std::vector<std::int64_t> rng(c.rng_state.begin(), c.rng_state.end());
  write_1d(f, "rng_state", h5::Type::I64, rng);
  write_1d(f, "vocab.songs", h5::Type::I32, c.vocab.songs);
  write_1d(f, "vocab.song_counts", h5::Type::I64, c.vocab.song_counts);
  write_strings(f, "vocab.tags", c.vocab.tags);
  write_strings(f, "vocab.tokens", c.vocab.tokens);
  write_1d(f, "popular.songs", h5::Type::I32, c.vocab.popular_songs);
  write_strings(f, "popular.tags", c.vocab.popular_tags);
  write_1d(f, "audio.mean", h5::Type::F64, c.audio_mean);
  write_1d(f, "audio.scale", h5::Type::F64, c.audio_scale);
  write_1d(f, "held_out", h5::Type::I64, c.held_out);
  f.set_attr("has_held_out", static_cast<std::int64_t>(1));
  if (!c.neighbours.empty()) {
    const auto& nb = c.neighbours;
    f.set_attr("neighbours", static_cast<std::int64_t>(nb.k));
    f.set_attr("neighbours_tau", nb.tau);
    f.set_attr("neighbours_gain", nb.gain);
    write_1d(f, "neighbours.ptr", h5::Type::I64, nb.ptr);
    write_1d(f, "neighbours.idx", h5::Type::I32, nb.idx);
    write_1d(f, "neighbours.w", h5::Type::F32, nb.w);
    if (!nb.count.empty()) {
      f.set_attr("neighbours_counted", static_cast<std::int64_t>(1));
      write_1d(f, "neighbours.count", h5::Type::I32, nb.count);
    }
  }
  if (!c.song_tags.empty()) {
    f.set_attr("song_tags", static_cast<std::int64_t>(1));
    write_1d(f, "song_tags.ptr", h5::Type::I64, c.song_tags.ptr);
    write_1d(f, "song_tags.idx", h5::Type::I32, c.song_tags.idx);
    write_1d(f, "song_tags.w", h5::Type::F32, c.song_tags.w);
  }
  f.set_attr("step", c.step);
  f.set_attr("epoch", c.epoch);
  f.set_attr("epoch_step", c.epoch_step);
  f.set_attr("ranks", static_cast<std::int64_t>(c.ranks));
  f.set_attr("moments", static_cast<std::int64_t>(moments ? 1 : 0));
  f.set_attr("config", c.config);
  f.set_attr("config_hash", hex64(c.config_hash));
  f.set_attr("vocab_hash", hex64(c.vocab_hash));
  f.set_attr("hidden", join_widths(c.layout.dims.hidden));
  f.set_attr("ngram_min", static_cast<std::int64_t>(c.tokenizer.ngram_min));
  f.set_attr("ngram_max", static_cast<std::int64_t>(c.tokenizer.ngram_max));
  f.set_attr("pca_path", c.pca_path);
  f.set_attr("audio_map", std::string(to_string(c.audio_map)));
  f.set_attr("audio_input", static_cast<std::int64_t>(c.audio_input ? 1 : 0));
  f.set_attr("cold_songs", static_cast<std::int64_t>(c.cold_songs ? 1 : 0));
  f.set_attr("cold_shift", c.cold_shift);
  f.set_attr("neighbours_scale", c.nbr_scale);
  f.set_attr("tag_mix", c.tag_mix);
  f.set_attr("val_score", c.val_score);
  f.set_attr("best_val_score", c.best_val_score);
  f.set_attr("best_step", c.best_step);
  f.set_attr("params_hash", hex64(params_hash(c.params)));
  f.close();
}

// The "done" attribute last, then the file and its marker into place.
void commit_file(TempPath& staged, const std::string& final_path) {
  const auto& tmp = staged.path();
  {
    auto f = h5::File::open(tmp, MPI_COMM_NULL, true);
    f.set_attr("done", static_cast<std::int64_t>(1));  // last: the DONE marker
    f.close();
  }
  fsync_file(tmp);
  std::uint64_t size = 0;
  const auto hash = file_hash(tmp, &size);
  // The marker is written and synced before the file goes into place, so the
  // two renames follow each other within microseconds: a SIGKILL (srun's,
  // or the OOM killer's) between them, which leaves a file without its
  // marker to be set aside by the next run, becomes that unlikely.
  AtomicFile marker(marker_path(final_path));
  marker.write(marker_text(size, hash));
  marker.sync();
  // The old marker goes first: for a moment the name has no marker (a reader
  // skips it) rather than the new file under the old file's marker.
  std::error_code ec;
  fs::remove(marker_path(final_path), ec);
  commit_rename(tmp, final_path, false);  // the marker's commit syncs the folder for both
  staged.release();
  marker.commit();
}

void write_file(const std::string& final_path, const Checkpoint& c, bool moments) {
  TempPath staged(final_path);  // nothing half-written survives a failure
  write_body(staged.path(), c, moments);
  commit_file(staged, final_path);
}

void prune(const std::string& dir, int keep) {
  // Only finished checkpoints (with their marker) count and are pruned; a
  // file without one is never deleted here.
  std::vector<std::string> done;
  std::error_code ec;
  for (auto& p : list_checkpoints(dir))
    if (fs::exists(marker_path(p), ec)) done.push_back(p);
  for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < done.size(); ++i) {
    fs::remove(done[i], ec);
    if (ec) {
      log::warn("could not remove old checkpoint " + done[i] + ": " + ec.message());
      continue;
    }
    fs::remove(marker_path(done[i]), ec);
  }
}

}  // namespace

void write_checkpoint(const std::string& dir, const Checkpoint& c, int keep) {
  make_dirs(dir);
  write_file(checkpoint_path(dir, c.step), c, true);
  prune(dir, keep);
}

void stage_checkpoint(const std::string& dir, const Checkpoint& c, std::optional<TempPath>& staged) {
  make_dirs(dir);
  staged.emplace(checkpoint_path(dir, c.step));
  write_body(staged->path(), c, true);
}

void add_moment_slices(const std::string& tmp, const Checkpoint& c) {
  auto f = h5::File::open(tmp, MPI_COMM_NULL, true);
  write_slices(f, c);
  f.close();
  fsync_file(tmp);
}

void commit_checkpoint(const std::string& dir, const Checkpoint& c, int keep, TempPath& staged) {
  commit_file(staged, checkpoint_path(dir, c.step));
  prune(dir, keep);
}

std::string read_checkpoint_config(const std::string& path) {
  try {
    verify_marker(path);
    auto f = h5::File::open(path, MPI_COMM_NULL);
    if (!f.has_attr("done") || f.attr_int("done") != 1 || !f.has_attr("format") || f.attr_string("format") != kFormat ||
        !f.has_attr("config"))
      return {};
    return f.attr_string("config");
  } catch (const Error&) {
    return {};
  }
}

namespace {

// A finished checkpoint, its marker checked before HDF5 sees a byte of it.
h5::File open_finished(const std::string& path) {
  verify_marker(path);
  auto f = h5::File::open(path, MPI_COMM_NULL);
  MELON_CHECK(f.has_attr("done") && f.attr_int("done") == 1, path << ": no DONE marker (the write did not finish)");
  MELON_CHECK(f.has_attr("format") && f.attr_string("format") == kFormat,
              path << ": not a melon autoencoder checkpoint (format attribute)");
  return f;
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path, bool with_moments, const MomentSpans* slices) {
  auto f = open_finished(path);
  Checkpoint c;
  c.step = f.attr_int("step");
  c.epoch = f.attr_int("epoch");
  c.epoch_step = f.attr_int("epoch_step");
  c.ranks = static_cast<int>(f.attr_int("ranks"));
  c.config = f.attr_string("config");
  c.config_hash = std::stoull(f.attr_string("config_hash"), nullptr, 16);
  c.vocab_hash = std::stoull(f.attr_string("vocab_hash"), nullptr, 16);
  c.tokenizer.ngram_min = static_cast<int>(f.attr_int("ngram_min"));
  c.tokenizer.ngram_max = static_cast<int>(f.attr_int("ngram_max"));
  c.pca_path = f.attr_string("pca_path");
  if (f.has_attr("audio_map")) c.audio_map = parse_audio_map(f.attr_string("audio_map"));
  if (f.has_attr("audio_input")) c.audio_input = f.attr_int("audio_input") == 1;
  if (f.has_attr("cold_songs")) c.cold_songs = f.attr_int("cold_songs") == 1;
  if (f.has_attr("cold_shift")) c.cold_shift = f.attr_double("cold_shift");
  if (f.has_attr("neighbours_scale")) c.nbr_scale = f.attr_double("neighbours_scale");
  MELON_CHECK(c.nbr_scale > 0 && std::isfinite(c.nbr_scale),
              path << ": attribute neighbours_scale must be positive and finite, got " << c.nbr_scale);
  if (f.has_attr("tag_mix")) c.tag_mix = f.attr_double("tag_mix");
  MELON_CHECK(c.tag_mix >= 0 && c.tag_mix <= 1, path << ": attribute tag_mix must be in [0, 1], got " << c.tag_mix);
  if (f.has_attr("val_score")) c.val_score = f.attr_double("val_score");
  if (f.has_attr("best_val_score")) c.best_val_score = f.attr_double("best_val_score");
  // Older checkpoints: patience counts from the resume point.
  c.best_step = f.has_attr("best_step") ? f.attr_int("best_step") : (c.best_val_score >= 0 ? c.step : -1);
  c.vocab.songs = read_1d<std::int32_t>(f, "vocab.songs");
  c.vocab.song_counts = read_1d<std::int64_t>(f, "vocab.song_counts");
  c.vocab.tags = read_strings(f, "vocab.tags");
  c.vocab.tokens = read_strings(f, "vocab.tokens");
  c.vocab.popular_songs = read_1d<std::int32_t>(f, "popular.songs");
  c.vocab.popular_tags = read_strings(f, "popular.tags");
  c.vocab.build_index();
  MELON_CHECK(c.vocab.song_counts.size() == c.vocab.songs.size(), path << ": vocab.song_counts has the wrong length");
  MELON_CHECK(c.vocab.hash() == c.vocab_hash, path << ": the vocabulary does not match its hash (corrupt file)");
  c.audio_mean = read_1d<double>(f, "audio.mean");
  c.audio_scale = read_1d<double>(f, "audio.scale");
  MELON_CHECK(c.audio_mean.size() == c.audio_scale.size(), path << ": audio.mean and audio.scale differ in length");
  if (f.has_attr("has_held_out")) c.held_out = read_1d<std::int64_t>(f, "held_out");
  if (f.has_attr("neighbours"))
    c.neighbours = read_neighbours(f, path, static_cast<std::int64_t>(c.vocab.songs.size()));
  if (f.has_attr("song_tags") && f.attr_int("song_tags") == 1)
    c.song_tags = read_song_tags(f, path, static_cast<std::int64_t>(c.vocab.songs.size()),
                                 static_cast<std::int64_t>(c.vocab.tags.size()));
  MELON_CHECK(c.tag_mix == 1 || !c.song_tags.empty(),
              path << ": attribute tag_mix is " << c.tag_mix << " but the file holds no song_tags");
  auto order = read_1d<std::int64_t>(f, "order");
  c.order = std::move(order);
  auto rng = read_1d<std::int64_t>(f, "rng_state");
  MELON_CHECK(rng.size() == 4, path << ": rng_state must hold 4 words");
  for (int i = 0; i < 4; ++i) c.rng_state[i] = static_cast<std::uint64_t>(rng[i]);

  Dims d;
  d.n_songs = static_cast<std::int64_t>(c.vocab.songs.size());
  d.n_tags = static_cast<std::int64_t>(c.vocab.tags.size());
  d.n_tokens = static_cast<std::int64_t>(c.vocab.tokens.size());
  d.audio_dim = static_cast<int>(c.audio_mean.size());
  d.hidden = parse_widths(f.attr_string("hidden"), path + ": attribute hidden");
  d.neighbours = c.neighbours.k;
  c.layout = make_layout(d);
  c.params.assign(static_cast<std::size_t>(c.layout.total), 0.0f);
  const bool moments = with_moments && f.attr_int("moments") == 1;
  MELON_CHECK(!with_moments || moments, path << ": holds no optimizer moments, cannot resume from it");
  if (moments) {
    if (slices) c.moment_spans = *slices;
    for (const auto& [b, e] : c.moment_spans)
      MELON_CHECK(0 <= b && b <= e && e <= c.layout.total, path << ": moment slice outside the model");
    c.adam_m.assign(static_cast<std::size_t>(moments_size(c.layout, c.moment_spans)), 0.0f);
    c.adam_v.assign(c.adam_m.size(), 0.0f);
  }
  for (auto& t : c.layout.tensors) {
    read_tensor(f, "param.", t, c.params);
    if (moments && !slices) {
      read_tensor(f, "adam_m.", t, c.adam_m);
      read_tensor(f, "adam_v.", t, c.adam_v);
    }
  }
  if (moments && slices) {
    for_each_slice(c, path, [&](const Tensor& t, Block k, std::int64_t at) {
      open_tensor(f, "adam_m.", t).read_block(k.row0, k.rows, k.col0, k.cols, c.adam_m.data() + at);
      open_tensor(f, "adam_v.", t).read_block(k.row0, k.rows, k.col0, k.cols, c.adam_v.data() + at);
    });
  }
  MELON_CHECK(hex64(params_hash(c.params)) == f.attr_string("params_hash"),
              path << ": the weights do not match their hash (corrupt file)");
  return c;
}

namespace {

// The checkpoint at path, or nullopt with a warning saying what is skipped.
std::optional<Checkpoint> try_read(const std::string& path, bool with_moments, std::string* path_out,
                                   const char* skipping, std::vector<std::string>* problems) {
  try {
    auto c = read_checkpoint(path, with_moments);
    if (path_out) *path_out = path;
    return c;
  } catch (const Error& e) {
    log::warn(std::string(skipping) + e.what());
    if (problems) problems->push_back(e.what());
    return std::nullopt;
  }
}

}  // namespace

std::optional<Checkpoint> read_latest(const std::string& dir, bool with_moments, std::string* path_out,
                                      std::vector<std::string>* problems) {
  for (auto& path : list_checkpoints(dir))
    if (auto c = try_read(path, with_moments, path_out, "skipping unreadable checkpoint: ", problems)) return c;
  return std::nullopt;
}

std::vector<std::string> set_aside_damaged(const std::string& dir) {
  std::vector<std::string> report;
  auto files = list_checkpoints(dir);
  std::error_code ec;
  for (const auto& extra : {best_path(dir), refit_path(dir)})
    if (fs::exists(extra, ec)) files.push_back(extra);
  for (auto& path : files) {
    try {
      verify_marker(path);
    } catch (const Error& e) {
      const auto to = set_aside(path);
      report.push_back(std::string(e.what()) + " -> set aside as " + fs::path(to).filename().string());
      log::warn("skipping unreadable checkpoint: " + report.back());
    }
  }
  return report;
}

void write_best(const std::string& dir, const Checkpoint& c) {
  make_dirs(dir);
  write_file(best_path(dir), c, false);
}

void write_refit(const std::string& dir, const Checkpoint& c) {
  make_dirs(dir);
  write_file(refit_path(dir), c, false);
}

void remove_refit(const std::string& dir) {
  std::error_code ec;
  for (const auto& path : {marker_path(refit_path(dir)), refit_path(dir)}) {
    fs::remove(path, ec);
    MELON_CHECK(!ec, path << ": cannot remove: " << ec.message());
  }
  fs::remove_all(refit_dir(dir), ec);
  MELON_CHECK(!ec, refit_dir(dir) << ": cannot remove: " << ec.message());
}

Weights parse_weights(const std::string& s) {
  if (s == "refit") return Weights::Refit;
  if (s == "best") return Weights::Best;
  if (s == "last") return Weights::Last;
  throw Error("--weights: expected refit|best|last, got '" + s + "'");
}

std::optional<std::vector<std::int64_t>> read_held_out(const std::string& dir, std::string* path_out) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (fs::exists(best_path(dir), ec)) paths.push_back(best_path(dir));
  for (auto& p : list_checkpoints(dir)) paths.push_back(p);
  for (const auto& path : paths) {
    try {
      auto f = open_finished(path);
      auto ids = f.has_attr("has_held_out") ? read_1d<std::int64_t>(f, "held_out") : std::vector<std::int64_t>{};
      if (path_out) *path_out = path;
      return ids;
    } catch (const Error& e) {
      log::warn(std::string("skipping unreadable checkpoint: ") + e.what());
    }
  }
  return std::nullopt;
}

std::optional<Checkpoint> read_for_predict(const std::string& dir, Weights w, std::string* path_out,
                                           std::vector<std::string>* problems) {
  const auto best = best_path(dir), refit = refit_path(dir);
  std::error_code ec;
  if (w == Weights::Refit && fs::exists(refit, ec))
    if (auto c = try_read(refit, false, path_out, "skipping unreadable refit weights, using best.h5: ", problems))
      return c;
  if (w != Weights::Last && fs::exists(best, ec))
    if (auto c = try_read(best, false, path_out,
                          "skipping unreadable best-epoch weights, using the newest checkpoint: ", problems))
      return c;
  return read_latest(dir, false, path_out, problems);
}

}  // namespace melon::ae
