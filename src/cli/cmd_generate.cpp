// melon generate: a synthetic Arena dataset with the real files' formats and shapes.
#include <cstdio>

#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/generate/generate.hpp"

namespace melon::cli {
namespace {

// Short text for a default value in --help ("0.4", not "0.40000000000000002").
std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

int run_generate(int argc, char** argv) {
  generate::GenerateOptions o;
  std::string mel_mode = "used", model = "taste";
  po::options_description desc(
      "Writes DIR/train.json, val.json, test.json (questions: the released mix of 42% songs only,\n"
      "39% songs + tags, 11% title + tags, 8% title only; each masked list hides len // 2 items),\n"
      "DIR/answers/{val,test}.json (the hidden parts), song_meta.json, genre_gn_all.json (254 codes),\n"
      "calibration.json (generated vs real figures, also printed) and arena_mel/{id//1000}/{id}.npy.\n"
      "Same options and seed give byte-identical files whatever the number of MPI ranks; rank 0 writes\n"
      "the JSON, mel files are split across ranks. The spectrograms equal `--mel-source\n"
      "synthetic:SEED:SONGS` (plus :TASTES when --tastes is not 48), so later stages can compute\n"
      "them instead of reading files.\n\noptions");
  desc.add_options()("out", po::value<std::string>(&o.out)->required(), "output directory DIR")(
      "playlists", po::value<std::int64_t>(&o.playlists)->default_value(o.playlists),
      "training playlists N; val gets round(N*23015/115071), test round(N*10740/115071)")(
      "songs", po::value<std::int32_t>(&o.songs)->default_value(o.songs), "song ids 0..M-1 in song_meta")(
      "seed", po::value<std::uint64_t>(&o.seed)->default_value(1), "random seed: everything follows from it")(
      "mel-mode", po::value<std::string>(&mel_mode)->default_value(mel_mode),
      "which songs get a mel file: used (songs in any playlist, answers included, most used first), "
      "all (ids 0,1,2,...), none")(
      "mel-songs", po::value<std::int64_t>(&o.mel_songs)->default_value(o.mel_songs),
      "cap on mel files (~360 KB each; the full tree is ~250 GB); -1 for no cap. A few songs never get a "
      "file (as in the real tree) and are skipped")(
      "model", po::value<std::string>(&model)->default_value(model),
      "generator family: taste (each playlist drawn around one or two latent tastes) or walk (a random walk "
      "on a fixed song graph: genre and popularity edges, album/artist steps, restarts; tags from the songs' "
      "genres and decades); both calibrated to the same real figures")(
      "tastes", po::value<int>(&o.shape.tastes)->default_value(o.shape.tastes),
      "latent tastes in the catalogue (changes the catalogue and the spectrograms)")(
      "mix", po::value<double>(&o.playlist.mix)->default_value(o.playlist.mix, num(o.playlist.mix)),
      "share of playlists that mix a second, nearby taste (taste family)")(
      "song-noise",
      po::value<double>(&o.playlist.song_noise)->default_value(o.playlist.song_noise, num(o.playlist.song_noise)),
      "share of songs drawn by global popularity, ignoring the playlist's taste (walk: teleports)")(
      "sparsity", po::value<double>(&o.playlist.sparsity)->default_value(o.playlist.sparsity, num(o.playlist.sparsity)),
      "multiplier on deep cuts (songs used by exactly one playlist); 0..10")(
      "runs", po::value<double>(&o.playlist.runs)->default_value(o.playlist.runs, num(o.playlist.runs)),
      "multiplier on album/artist runs inside playlists; 0..3.3")(
      "focus", po::value<double>(&o.playlist.focus)->default_value(o.playlist.focus, num(o.playlist.focus)),
      "width of a playlist's neighbourhood in taste space (larger: blurrier playlists; taste family)")(
      "restart", po::value<double>(&o.walk.restart)->default_value(o.walk.restart, num(o.walk.restart)),
      "walk family: chance that a step starts again from the playlist's first song")(
      "after-date",
      po::value<double>(&o.playlist.after_date)->default_value(o.playlist.after_date, num(o.playlist.after_date)),
      "chance to keep a drawn song released after the playlist's updt_date")(
      "tag-noise", po::value<double>(&o.vocab.tag_noise)->default_value(o.vocab.tag_noise, num(o.vocab.tag_noise)),
      "share of tags from an open tail vocabulary with no taste signal")(
      "short-titles",
      po::value<double>(&o.vocab.short_titles)->default_value(o.vocab.short_titles, num(o.vocab.short_titles)),
      "share of one-word titles (the source of duplicated titles)")(
      "title-tag-rate",
      po::value<double>(&o.vocab.title_tag_rate)->default_value(o.vocab.title_tag_rate, num(o.vocab.title_tag_rate)),
      "chance that a multi-word title carries one of the playlist's tags (1: every one, the default before "
      "0.5; the calibration table reports the share of titles that hold a tag)")(
      "quiet", po::value<bool>(&o.quiet)->default_value(false, "off")->implicit_value(true, "on"),
      "no progress and no calibration table (calibration.json is still written)");
  // The folder is complete only once DIR/melon-dataset.done (dataset/marker.hpp) is written, last.
  po::variables_map vm;
  if (!parse("generate", desc, argc, argv, vm)) return 0;
  check_output_dir("--out", o.out);
  o.mel_mode = generate::parse_mel_mode(mel_mode);
  o.model = generate::parse_model(model);
  generate::run_generate(o);
  return 0;
}

}  // namespace

MELON_COMMAND("generate", "write a synthetic Arena dataset (JSON, answers, mel-spectrograms)", run_generate);

}  // namespace melon::cli
