#include "melon/dataset/validate.hpp"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <vector>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/mel/npy.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::dataset {
namespace {

// The JSON files; returns the songs the playlists use.
std::set<arena::SongId> check_json(const std::string& dir, bool root) {
  auto meta = arena::read_song_meta(dir + "/song_meta.json");
  auto genres = arena::read_genres(dir + "/genre_gn_all.json");
  std::map<std::string, std::int64_t> unknown_genres;
  for (auto& s : meta.songs)
    for (const auto* basket : {&s.genres, &s.detail_genres})
      for (auto& g : *basket)
        if (!genres.count(g)) ++unknown_genres[g];
  std::int64_t bad_dates = 0, null_albums = 0;
  for (auto& s : meta.songs) {
    bad_dates += arena::date_key(s.issue_date) % 100 == 0;
    null_albums += !s.album_name.has_value();
  }
  std::set<arena::SongId> used;
  for (auto name : {"train.json", "val.json", "test.json"}) {
    const std::string path = dir + "/" + name;
    if (!std::filesystem::exists(path)) {
      if (root) log::warn(path + ": absent, skipped");
      continue;
    }
    auto pl = arena::read_playlists(path);
    arena::check_song_ids(pl, meta.size(), path);
    for (auto& p : pl) used.insert(p.songs.begin(), p.songs.end());
    if (root) log::info(path + ": " + std::to_string(pl.size()) + " playlists ok");
  }
  if (root) {
    log::info(dir + "/song_meta.json: " + std::to_string(meta.size()) + " songs ok; " + std::to_string(bad_dates) +
              " issue_date values without a full date, " + std::to_string(null_albums) + " null album_name");
    for (auto& [g, n] : unknown_genres)
      log::info("genre " + g + " used by " + std::to_string(n) + " songs is not in genre_gn_all.json");
  }
  return used;
}

// Reads this rank's block of the used songs' mel files; the counts are summed
// over the ranks and rank 0 reports the problems.
MelCounts check_mel(MPI_Comm comm, const std::string& mel_dir, const std::set<arena::SongId>& used) {
  const bool root = mpi::rank(comm) == 0;
  std::vector<arena::SongId> ids(used.begin(), used.end());
  auto mine = mpi::block_range(static_cast<std::int64_t>(ids.size()), mpi::rank(comm), mpi::size(comm));
  std::int64_t missing = 0, corrupt = 0, nonfinite = 0, short_songs = 0;
  std::string problems;
  log::Progress prog("validate mel (rank 0's share)", mine.end - mine.begin, "files", 5.0, root);
  for (auto i = mine.begin; i < mine.end; ++i) {
    const auto path = mel::mel_path(mel_dir, ids[i]);
    if (!std::filesystem::exists(path)) {
      ++missing;
      problems += "error: " + path + ": missing\n";
      continue;
    }
    try {
      auto m = mel::read_npy(path);
      short_songs += m.frames < mel::kFrames;
      for (float x : m.data)
        if (!std::isfinite(x)) {
          ++nonfinite;
          break;
        }
    } catch (const Error& e) {
      ++corrupt;
      problems += "error: " + std::string(e.what()) + "\n";
    }
    prog.update(i - mine.begin + 1);
  }
  prog.finish();
  std::int64_t counts[4] = {missing, corrupt, nonfinite, short_songs};
  mpi::allreduce_sum(comm, counts, 4);
  std::string all_problems = mpi::gather_bytes(comm, problems);
  MelCounts c{static_cast<std::int64_t>(ids.size()), counts[0], counts[1], counts[2], counts[3]};
  if (!root) return c;
  // Listing every problem is the point of a validator; cap it so a wholly
  // missing tree does not print 600k lines.
  std::size_t shown = 0, pos = 0;
  while (pos < all_problems.size() && shown < 50) {
    auto nl = all_problems.find('\n', pos);
    std::cerr << all_problems.substr(pos, nl - pos) << "\n";
    pos = nl + 1;
    ++shown;
  }
  log::info(mel_dir + ": " + std::to_string(ids.size()) + " used songs: " + std::to_string(counts[0]) + " missing, " +
            std::to_string(counts[1]) + " unreadable, " + std::to_string(counts[2]) + " with non-finite values, " +
            std::to_string(counts[3]) + " shorter than " + std::to_string(mel::kFrames) + " frames");
  return c;
}

}  // namespace

Validation validate(const ValidateOptions& opt, MPI_Comm comm) {
  auto used = check_json(opt.data, mpi::rank(comm) == 0);
  Validation v;
  if (opt.mel_dir.empty()) return v;
  v.mel = check_mel(comm, opt.mel_dir, used);
  v.ok = v.mel.unreadable == 0 && (v.mel.missing == 0 || opt.missing_mel_ok);
  return v;
}

}  // namespace melon::dataset
