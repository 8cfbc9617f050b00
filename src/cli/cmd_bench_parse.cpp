// melon bench-parse: times melon's Arena readers on real-format files, for
// tools/bench/bench_parse.sh, which runs Python's json.load on the same files in the
// same run. --nlohmann also times nlohmann::json's DOM parse of the same bytes,
// the reason the readers use simdjson.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/error.hpp"

namespace melon::cli {
namespace {

template <class F>
double best_of(int repeat, F&& f) {
  double best = 1e300;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int run_bench_parse(int argc, char** argv) {
  po::options_description d("melon bench-parse: time the Arena readers (best of --repeat runs)");
  d.add_options()("playlists", po::value<std::string>(), "a train.json-format file")(
      "song-meta", po::value<std::string>(), "a song_meta.json file")("repeat", po::value<int>()->default_value(3),
                                                                      "runs per file; the best is reported")(
      "nlohmann", po::bool_switch(), "also time nlohmann::json::parse (DOM) on the same files");
  po::variables_map vm;
  if (!parse("bench-parse", d, argc, argv, vm)) return 0;
  const int repeat = vm["repeat"].as<int>();
  auto dom = [&](const std::string& path) {
    return best_of(repeat, [&] {
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      auto j = nlohmann::json::parse(ss.str());
      MELON_CHECK(j.is_array(), path << ": not an array");
    });
  };
  if (vm.count("playlists")) {
    auto p = vm["playlists"].as<std::string>();
    std::size_t n = 0;
    double t = best_of(repeat, [&] { n = arena::read_playlists(p).size(); });
    std::printf("melon read_playlists %s: %zu records, %.3f s\n", p.c_str(), n, t);
    if (vm["nlohmann"].as<bool>()) std::printf("nlohmann DOM parse %s: %.3f s\n", p.c_str(), dom(p));
  }
  if (vm.count("song-meta")) {
    auto p = vm["song-meta"].as<std::string>();
    std::size_t n = 0;
    double t = best_of(repeat, [&] { n = arena::read_song_meta(p).size(); });
    std::printf("melon read_song_meta %s: %zu records, %.3f s\n", p.c_str(), n, t);
    if (vm["nlohmann"].as<bool>()) std::printf("nlohmann DOM parse %s: %.3f s\n", p.c_str(), dom(p));
  }
  return 0;
}

}  // namespace
MELON_LOCAL_COMMAND("bench-parse", "time the Arena JSON readers (used by tools/bench/bench_parse.sh)", run_bench_parse);
}  // namespace melon::cli
