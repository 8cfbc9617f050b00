#include "melon/generate/generate.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/dataset/marker.hpp"
#include "melon/error.hpp"
#include "melon/generate/calibration.hpp"
#include "melon/generate/genres.hpp"
#include "melon/generate/mel_synth.hpp"
#include "melon/generate/questions.hpp"
#include "melon/mel/npy.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"

namespace melon::generate {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt(const char* f, double a, double b = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

void write_song_meta(const std::string& path, const SongWorld& w, Calibration& cal, bool verbose) {
  arena::JsonArrayWriter out(path);
  log::Progress progress("song_meta.json", w.n_songs, "songs", 5.0, verbose);
  for (arena::SongId id = 0; id < w.n_songs; ++id) {
    out.add(arena::to_json(song_record(w, id)));
    cal.add_song(w, id);
    if ((id & 0xffff) == 0) progress.update(id);
  }
  out.commit();
  progress.finish();
}

// Writes one question set (val or test) and its answers; counts song uses for the mel selection.
void write_questions(const std::string& out_dir, const char* name, std::int64_t first, std::int64_t count,
                     std::uint64_t salt, PlaylistSource& gen, const GenerateOptions& o, Calibration& cal,
                     std::vector<std::int32_t>& uses, bool verbose) {
  const auto types = question_types(count, o.seed, salt);
  arena::JsonArrayWriter q_out(out_dir + "/" + name + ".json");
  arena::JsonArrayWriter a_out(out_dir + "/answers/" + name + ".json");
  log::Progress progress(std::string(name) + ".json", count, "questions", 5.0, verbose);
  for (std::int64_t j = 0; j < count; ++j) {
    const auto t = types[j];
    const auto full = gen.next(first + j, min_songs_for(t), min_tags_for(t));
    for (auto id : full.playlist.songs) ++uses[id];
    Rng rq(o.seed, kQuestionStream, static_cast<std::uint64_t>(first + j));
    const Question q = make_question(full.playlist, t, rq);
    cal.add_question(salt == 1 ? 0 : 1, q.question);
    q_out.add(arena::to_json(q.question));
    a_out.add(arena::to_json(q.answer));
    if ((j & 0x3ff) == 0) progress.update(j);
  }
  q_out.commit();
  a_out.commit();
  progress.finish();
}

std::vector<arena::SongId> select_mel_songs(const GenerateOptions& o, const SyntheticMel& mel,
                                            const std::vector<std::int32_t>& uses) {
  std::vector<arena::SongId> ids;
  const std::size_t cap = o.mel_songs < 0 ? SIZE_MAX : static_cast<std::size_t>(o.mel_songs);
  if (o.mel_mode == MelMode::None) return ids;
  if (o.mel_mode == MelMode::All) {
    for (arena::SongId id = 0; id < o.songs && ids.size() < cap; ++id)
      if (mel.has(id)) ids.push_back(id);
    return ids;
  }
  // Used: the most used songs first, ties by id, so a capped tree holds the songs models meet most.
  for (arena::SongId id = 0; id < o.songs; ++id)
    if (uses[id] > 0 && mel.has(id)) ids.push_back(id);
  std::stable_sort(ids.begin(), ids.end(), [&](arena::SongId a, arena::SongId b) { return uses[a] > uses[b]; });
  if (ids.size() > cap) ids.resize(cap);
  return ids;
}

std::string params_json(const GenerateOptions& o, std::int64_t nv, std::int64_t nt) {
  nlohmann::ordered_json j;
  j["seed"] = o.seed;
  j["playlists"] = o.playlists;
  j["val"] = nv;
  j["test"] = nt;
  j["songs"] = o.songs;
  j["tastes"] = o.shape.tastes;
  j["model"] = model_name(o.model);
  j["mix"] = o.playlist.mix;
  j["song_noise"] = o.playlist.song_noise;
  j["sparsity"] = o.playlist.sparsity;
  j["runs"] = o.playlist.runs;
  j["after_date"] = o.playlist.after_date;
  j["focus"] = o.playlist.focus;
  if (o.model == Model::Walk) j["restart"] = o.walk.restart;
  j["tag_noise"] = o.vocab.tag_noise;
  j["short_titles"] = o.vocab.short_titles;
  j["title_tag_rate"] = o.vocab.title_tag_rate;
  j["mel_mode"] = o.mel_mode == MelMode::Used ? "used" : o.mel_mode == MelMode::All ? "all" : "none";
  j["mel_songs"] = o.mel_songs;
  j["mel_source"] = mel_source_spec(o);
  nlohmann::ordered_json top;
  top["generator"] = "melon generate";
  top["params"] = j;
  return top.dump();
}

}  // namespace

MelMode parse_mel_mode(const std::string& s) {
  if (s == "used") return MelMode::Used;
  if (s == "all") return MelMode::All;
  if (s == "none") return MelMode::None;
  MELON_THROW("generate: --mel-mode must be used, all or none, got '" << s << "'");
}

Model parse_model(const std::string& s) {
  if (s == "taste") return Model::Taste;
  if (s == "walk") return Model::Walk;
  MELON_THROW("generate: --model must be taste or walk, got '" << s << "'");
}

const char* model_name(Model m) { return m == Model::Walk ? "walk" : "taste"; }

std::int64_t val_count(std::int64_t n) { return (n * 23015 + kRealTrainPlaylists / 2) / kRealTrainPlaylists; }
std::int64_t test_count(std::int64_t n) { return (n * 10740 + kRealTrainPlaylists / 2) / kRealTrainPlaylists; }

std::string mel_source_spec(const GenerateOptions& o) {
  std::string s = "synthetic:" + std::to_string(o.seed) + ":" + std::to_string(o.songs);
  if (o.shape.tastes != WorldShape{}.tastes) s += ":" + std::to_string(o.shape.tastes);
  return s;
}

GenerateResult run_generate(const GenerateOptions& o) {
  MELON_CHECK(!o.out.empty(), "generate: --out is required");
  MELON_CHECK(o.playlists >= 1 && o.playlists <= 50000000, "generate: --playlists must be in 1..50000000");
  MELON_CHECK(o.songs >= 1, "generate: --songs must be >= 1");
  MELON_CHECK(o.mel_songs >= -1, "generate: --mel-songs must be >= 0, or -1 for no cap");
  auto prob = [](double p, const char* name) {
    MELON_CHECK(p >= 0 && p <= 1, "generate: --" << name << " must be in [0, 1], got " << p);
  };
  prob(o.playlist.mix, "mix");
  prob(o.playlist.song_noise, "song-noise");
  prob(o.playlist.after_date, "after-date");
  prob(o.vocab.tag_noise, "tag-noise");
  prob(o.vocab.short_titles, "short-titles");
  prob(o.vocab.title_tag_rate, "title-tag-rate");
  prob(o.walk.restart, "restart");
  MELON_CHECK(o.playlist.sparsity >= 0 && o.playlist.sparsity <= 10, "generate: --sparsity must be in [0, 10]");
  MELON_CHECK(o.playlist.runs >= 0 && o.playlist.runs <= 3.3, "generate: --runs must be in [0, 3.3]");
  MELON_CHECK(o.playlist.focus > 0, "generate: --focus must be > 0");

  const int rank = mpi::rank(mpi::world()), size = mpi::size(mpi::world());
  const bool verbose = rank == 0 && !o.quiet;
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t nv = val_count(o.playlists), nt = test_count(o.playlists);
  const std::int64_t total = o.playlists + nv + nt;

  // The catalogue: every rank builds it (cheap), rank 0 also writes it out.
  const SyntheticMel mel(o.seed, o.songs, o.shape);
  const SongWorld& world = mel.world();
  if (verbose) {
    log::info(fmt("generate: catalogue of %.0f songs, %.0f artists", world.n_songs,
                  static_cast<double>(world.artists.size())) +
              fmt(", %.0f albums built in %.2f s", static_cast<double>(world.albums.size()), seconds_since(t0)));
  }

  std::string selection_bytes;
  std::optional<Calibration> cal;
  if (rank == 0) {
    make_dirs(o.out);
    // An old marker would vouch for a folder this run may leave half-written.
    dataset::remove_marker(o.out);
    make_dirs(o.out + "/answers");
    arena::write_genres(o.out + "/genre_gn_all.json", genre_map());
    cal.emplace(o.songs);
    write_song_meta(o.out + "/song_meta.json", world, *cal, verbose);

    std::unique_ptr<PlaylistSource> source;
    if (o.model == Model::Walk)
      source = std::make_unique<WalkGenerator>(world, o.playlists, total, o.playlist, o.walk, o.vocab);
    else source = std::make_unique<PlaylistGenerator>(world, o.playlists, total, o.playlist, o.vocab);
    PlaylistSource& gen = *source;
    std::vector<std::int32_t> uses(o.songs, 0);
    {
      arena::JsonArrayWriter train(o.out + "/train.json");
      log::Progress progress("train.json", o.playlists, "playlists", 5.0, verbose);
      for (std::int64_t i = 0; i < o.playlists; ++i) {
        const auto g = gen.next(i, 1, 1);
        for (auto id : g.playlist.songs) ++uses[id];
        cal->add_train(world, g.playlist);
        train.add(arena::to_json(g.playlist));
        if ((i & 0x3ff) == 0) progress.update(i);
      }
      train.commit();
      progress.finish();
    }
    write_questions(o.out, "val", o.playlists, nv, 1, gen, o, *cal, uses, verbose);
    write_questions(o.out, "test", o.playlists + nv, nt, 2, gen, o, *cal, uses, verbose);
    if (verbose) {
      const auto& st = gen.stats();
      std::ostringstream os;
      os << "generate: " << model_name(o.model) << " sampler: " << st.accepted << " songs from " << st.attempts
         << " draws (" << st.deep << " deep cuts, " << st.date_rejects << " refused as too recent, " << st.dup_rejects
         << " repeats, " << st.relaxed << " taken after the budget ran out)";
      log::info(os.str());
    }

    AtomicFile cj(o.out + "/calibration.json");
    cj.write(Calibration::json(cal->rows(), params_json(o, nv, nt)));
    cj.commit();
    if (verbose) log::info(fmt("generate: JSON written in %.1f s", seconds_since(t0)));

    const auto ids = select_mel_songs(o, mel, uses);
    selection_bytes.assign(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(arena::SongId));
  }

  // Mel files: rank r writes selection entries r, r + size, ... (one file per song; no two ranks share a file).
  mpi::bcast(mpi::world(), selection_bytes, 0);
  const std::size_t n_sel = selection_bytes.size() / sizeof(arena::SongId);
  std::vector<arena::SongId> sel(n_sel);
  if (n_sel) std::memcpy(sel.data(), selection_bytes.data(), selection_bytes.size());
  const auto t_mel = std::chrono::steady_clock::now();
  const std::string mel_dir = o.out + "/arena_mel";
  std::set<arena::SongId> made_dirs;
  std::int64_t files = 0, bytes = 0;
  const std::int64_t mine = (static_cast<std::int64_t>(n_sel) - rank + size - 1) / size;
  log::Progress progress("arena_mel (rank 0 share)", mine, "files", 5.0, verbose && n_sel > 0);
  mel::Mel m;  // one buffer, song after song
  for (std::size_t j = static_cast<std::size_t>(rank); j < n_sel; j += static_cast<std::size_t>(size)) {
    const arena::SongId id = sel[j];
    if (made_dirs.insert(id / 1000).second) make_dirs(mel_dir + "/" + std::to_string(id / 1000));
    mel.make(id, m);
    // Per-file fsyncs were ~98% of the write time (measured); one syncfs at the end instead.
    mel::write_npy(mel::mel_path(mel_dir, id), m, /*durable=*/false);
    ++files;
    bytes += static_cast<std::int64_t>(m.data.size() * sizeof(float));
    progress.update(files, static_cast<double>(bytes));
  }
  progress.finish();
  if (files > 0) sync_filesystem(mel_dir);
  GenerateResult res;
  res.mel_files = mpi::allreduce_sum(mpi::world(), files);
  res.mel_bytes = mpi::allreduce_sum(mpi::world(), bytes);
  // Last, after every rank's files are on disk: the folder is complete.
  mpi::on_root(mpi::world(),
               [&] { dataset::write_marker(o.out, "melon generate", params_json(o, nv, nt), res.mel_files); });

  if (rank == 0) {
    if (verbose && n_sel > 0)
      log::info(
          fmt("generate: %.0f mel files (%.1f MB of floats)", static_cast<double>(res.mel_files), res.mel_bytes / 1e6) +
          fmt(" in %.1f s; procedural source: ", seconds_since(t_mel)) + mel_source_spec(o));
    if (!o.quiet) {
      std::cout << "calibration (generated vs real, arena.md):\n" << Calibration::table(cal->rows()) << std::flush;
    }
    if (verbose) log::info(fmt("generate: done in %.1f s", seconds_since(t0)));
  }
  mpi::barrier(mpi::world());
  return res;
}

}  // namespace melon::generate
