// melon validate: check a dataset folder as released (or generated) before a
// long job: every JSON file parses and validates, every song id is known,
// genre codes are known (GN9000 is a known quirk: counted, not an error), and
// optionally every used song's mel-spectrogram reads. Mel files are checked in
// parallel, each rank a block of ids.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/error.hpp"
#include "melon/mel/npy.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

int run(int argc, char** argv) {
  po::options_description d("melon validate: check an Arena dataset folder (train/val/test/song_meta/genre_gn_all)");
  d.add_options()("data", po::value<std::string>()->required(), "folder holding the Arena JSON files")(
      "mel-dir", po::value<std::string>(), "arena_mel folder: also read the mel file of every song used in a playlist")(
      "missing-mel-ok", po::bool_switch(), "count songs without a mel file instead of failing (the real tree lacks a few)");
  po::variables_map vm;
  if (!parse("validate", d, argc, argv, vm)) return 0;
  const auto dir = vm["data"].as<std::string>();
  const bool root = mpi::rank() == 0;
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
  if (!vm.count("mel-dir")) return 0;

  const auto mel_dir = vm["mel-dir"].as<std::string>();
  std::vector<arena::SongId> ids(used.begin(), used.end());
  auto mine = mpi::block_range(static_cast<std::int64_t>(ids.size()), mpi::rank(), mpi::size());
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
  mpi::allreduce_sum(counts, 4);
  std::string all_problems = mpi::gather_bytes(problems);
  if (!root) return counts[1] || (counts[0] && !vm["missing-mel-ok"].as<bool>()) ? 1 : 0;
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
  if (counts[1]) return 1;
  if (counts[0] && !vm["missing-mel-ok"].as<bool>()) return 1;
  return 0;
}

}  // namespace
MELON_COMMAND("validate", "check a dataset folder (JSON files, song ids, genres, mel files) before a long job", run);
}  // namespace melon::cli
