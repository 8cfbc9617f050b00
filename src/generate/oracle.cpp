#include "melon/generate/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "melon/arena/gather.hpp"
#include "melon/dataset/marker.hpp"
#include "melon/error.hpp"
#include "melon/generate/playlists.hpp"
#include "melon/generate/questions.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::generate {
namespace {

constexpr std::size_t kOracleSongs = 100, kOracleTags = 10;
constexpr double kTagsAPlaylist = 4.1;      // draw_tag_count's mean
constexpr double kPoolWordsInTitle = 0.37;  // title()'s templates with a pool word beside own()

template <class T>
T param(const nlohmann::json& p, const char* key, const std::string& marker) {
  MELON_CHECK(p.contains(key), marker << ": origin.params has no '" << key << "' (not written by melon generate?)");
  try {
    return p.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    MELON_THROW(marker << ": origin.params." << key << ": " << e.what());
  }
}

// A title's words as the generator joins them (spaces; a comma after a word; " #" between hashtags).
std::vector<std::string> title_words(const std::string& title) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    while (!word.empty() && (word.back() == ',' || word.back() == '#')) word.pop_back();
    while (!word.empty() && word.front() == '#') word.erase(word.begin());
    if (!word.empty()) out.push_back(word);
    word.clear();
  };
  for (const char c : title) {
    if (c == ' ') flush();
    else word += c;
  }
  flush();
  return out;
}

}  // namespace

OracleKnows parse_oracle_knows(const std::string& s) {
  if (s == "playlist") return OracleKnows::Playlist;
  if (s == "catalogue") return OracleKnows::Catalogue;
  MELON_THROW("oracle: --knows must be playlist or catalogue, got '" << s << "'");
}

GenerateOptions generated_with(const std::string& data_dir) {
  const std::string problem = dataset::check_marker(data_dir);
  MELON_CHECK(problem.empty(), "oracle: " << problem);
  const std::string marker = dataset::marker_path(data_dir);
  std::ifstream in(marker);
  MELON_CHECK(in, "oracle: cannot read " << marker);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    MELON_THROW("oracle: " << marker << ": " << e.what());
  }
  MELON_CHECK(m.value("written_by", "") == "melon generate",
              "oracle: " << data_dir << " was not written by melon generate (marker written_by '"
                         << m.value("written_by", "") << "'): only generated data has a hidden state to answer from");
  MELON_CHECK(m.contains("origin") && m["origin"].contains("params"), "oracle: " << marker << " has no origin.params");
  const auto& p = m["origin"]["params"];
  const auto model = param<std::string>(p, "model", marker);
  MELON_CHECK(model == "taste", "oracle: " << data_dir << " is of the " << model
                                           << " family; the oracle knows the taste family's hidden state only");
  GenerateOptions o;
  o.seed = param<std::uint64_t>(p, "seed", marker);
  o.playlists = param<std::int64_t>(p, "playlists", marker);
  o.songs = param<std::int32_t>(p, "songs", marker);
  o.shape.tastes = param<int>(p, "tastes", marker);
  o.playlist.mix = param<double>(p, "mix", marker);
  o.playlist.song_noise = param<double>(p, "song_noise", marker);
  o.playlist.sparsity = param<double>(p, "sparsity", marker);
  o.playlist.runs = param<double>(p, "runs", marker);
  o.playlist.after_date = param<double>(p, "after_date", marker);
  o.playlist.focus = param<double>(p, "focus", marker);
  o.vocab.tag_noise = param<double>(p, "tag_noise", marker);
  o.vocab.short_titles = param<double>(p, "short_titles", marker);
  o.vocab.title_tag_rate = param<double>(p, "title_tag_rate", marker);
  MELON_CHECK(param<std::int64_t>(p, "val", marker) == val_count(o.playlists) &&
                  param<std::int64_t>(p, "test", marker) == test_count(o.playlists),
              "oracle: " << marker << ": val/test counts do not follow from 'playlists' (another generator version?)");
  return o;
}

namespace {

// One question's answer from the states that explain it (or the one it was drawn from).
arena::Result answer_one(const PlaylistGenerator& gen, const SongWorld& world, OracleKnows knows, std::int64_t index,
                         const arena::Playlist& full, const arena::Playlist& q, std::size_t qi,
                         const std::string& origin, std::vector<std::int32_t>& order) {
  PlaylistGenerator::Shown shown;
  for (const arena::SongId id : q.songs) {
    MELON_CHECK(std::find(full.songs.begin(), full.songs.end(), id) != full.songs.end(),
                origin << ": question " << qi << " (id " << q.id << ") shows song " << id
                       << ", which the generated dataset's playlist " << q.id
                       << " does not hold: questions of another dataset?");
    shown.slots.push_back(world.slot_of_id[id]);
  }
  for (const auto& t : q.tags)
    MELON_CHECK(std::find(full.tags.begin(), full.tags.end(), t) != full.tags.end(),
                origin << ": question " << qi << " (id " << q.id << ") shows tag '" << t
                       << "', which the generated dataset's playlist " << q.id
                       << " does not hold: questions of another dataset?");
  shown.tags = q.tags;
  shown.title_words = title_words(q.title);
  const auto states = knows == OracleKnows::Playlist
                          ? std::vector<PlaylistGenerator::WeightedLatent>{{gen.latent(index), 1.0}}
                          : gen.infer_latent(shown, static_cast<std::uint64_t>(q.id));
  const auto& known = shown.slots;
  const std::int32_t ymd = arena::date_key(q.updt_date);
  std::vector<double> e = gen.expected_draws(states, known, ymd > 0 ? ymd : std::numeric_limits<std::int32_t>::max());
  for (const std::int32_t s : known) e[s] = -1;  // a playlist holds a song once

  arena::Result r;
  r.id = q.id;
  std::iota(order.begin(), order.end(), 0);
  const auto better = [&](std::int32_t a, std::int32_t b) {
    return e[a] != e[b] ? e[a] > e[b] : world.id_of_slot[a] < world.id_of_slot[b];
  };
  const std::size_t n_songs = std::min(kOracleSongs, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_songs), order.end(), better);
  for (std::size_t j = 0; j < n_songs; ++j) r.songs.push_back(world.id_of_slot[order[j]]);

  std::map<std::string, double> tag;
  for (const auto& [h, weight] : states)
    for (int f = 0; f < h.n_focus; ++f) {
      for (const auto& [word, chance] : gen.vocab().tag_chances(h.taste[f])) tag[word] += weight * h.share(f) * chance;
    }
  // A tag's chance to be among the playlist's ~4, then, for a word of the
  // title, how much the title says it is one: own() writes one of the
  // playlist's tags at the title-tag rate, and otherwise a pool word that is
  // not a tag; pool words also fill other places of some templates.
  const double rate = gen.vocab().title_tag_rate();
  for (auto& [word, chance] : tag) {
    chance = 1 - std::pow(1 - std::min(chance, 1.0), kTagsAPlaylist);
    if (std::find(shown.title_words.begin(), shown.title_words.end(), word) == shown.title_words.end()) continue;
    double pool = 0;
    for (const auto& [h, weight] : states) pool += weight * gen.vocab().pool_chance(h.taste[0], word);
    const double if_tag = rate / kTagsAPlaylist + kPoolWordsInTitle * pool;
    const double if_not = (1 - rate) * pool + kPoolWordsInTitle * pool + 1e-4;
    chance = chance * if_tag / (chance * if_tag + (1 - chance) * if_not);
  }
  // A tiny vocabulary may not hold 10 tags besides the shown ones: any taste's words follow, at no chance.
  for (int t = 0; tag.size() < kOracleTags + q.tags.size() && t < static_cast<int>(world.tastes.size()); ++t)
    for (const auto& [word, chance] : gen.vocab().tag_chances(t)) tag.emplace(word, 0.0);
  for (const auto& t : q.tags) tag.erase(t);
  std::vector<std::pair<std::string, double>> ranked(tag.begin(), tag.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (std::size_t j = 0; j < ranked.size() && j < kOracleTags; ++j) r.tags.push_back(ranked[j].first);
  return r;
}

}  // namespace

std::vector<arena::Result> oracle_answers(const GenerateOptions& o, OracleKnows knows,
                                          const std::vector<arena::Playlist>& questions, const std::string& origin,
                                          MPI_Comm comm) {
  const SongWorld world = build_world(o.seed, o.songs, o.shape);
  const std::int64_t total = o.playlists + val_count(o.playlists) + test_count(o.playlists);
  PlaylistGenerator gen(world, o.playlists, total, o.playlist, o.vocab);
  std::unordered_map<std::int64_t, std::int64_t> index_of;
  index_of.reserve(static_cast<std::size_t>(total));
  for (std::int64_t i = 0; i < total; ++i) index_of.emplace(gen.playlist_id(i), i);

  // Ids alone do not tell datasets apart (every dataset draws them from the
  // same range), so the playlists are drawn again, as melon generate drew
  // them (in order: deep cuts go first come, first served), and every
  // question must show only its own playlist's songs and tags.
  std::int64_t last = -1;
  for (std::size_t qi = 0; qi < questions.size(); ++qi) {
    const auto it = index_of.find(questions[qi].id);
    MELON_CHECK(it != index_of.end(), origin << ": question " << qi << " (id " << questions[qi].id
                                             << ") is not a playlist of the generated dataset (seed " << o.seed << ", "
                                             << o.playlists << " playlists)");
    last = std::max(last, it->second);
  }
  std::vector<arena::Playlist> drawn(static_cast<std::size_t>(last + 1));
  {
    const std::int64_t nv = val_count(o.playlists), nt = test_count(o.playlists);
    const auto val_types = question_types(nv, o.seed, 1), test_types = question_types(nt, o.seed, 2);
    for (std::int64_t i = 0; i <= last; ++i) {
      int min_songs = 1, min_tags = 1;
      if (i >= o.playlists) {
        const auto t = i < o.playlists + nv ? val_types[i - o.playlists] : test_types[i - o.playlists - nv];
        min_songs = min_songs_for(t);
        min_tags = min_tags_for(t);
      }
      drawn[static_cast<std::size_t>(i)] = gen.next(i, min_songs, min_tags).playlist;
    }
  }

  // Each rank answers a block of the questions (each answer depends on its
  // question alone, so any rank count writes the same file).
  const int rank = mpi::rank(comm);
  const auto mine = mpi::block_range(static_cast<std::int64_t>(questions.size()), rank, mpi::size(comm));
  std::vector<arena::Result> out;
  std::vector<std::int32_t> order(world.slots.size());
  log::Progress progress("oracle (rank 0's share)", mine.end - mine.begin, "questions", 5.0, rank == 0);
  mpi::collective(comm, [&] {
    for (std::int64_t qi = mine.begin; qi < mine.end; ++qi) {
      const auto& q = questions[static_cast<std::size_t>(qi)];
      const std::int64_t index = index_of.at(q.id);
      out.push_back(answer_one(gen, world, knows, index, drawn[static_cast<std::size_t>(index)], q,
                               static_cast<std::size_t>(qi), origin, order));
      progress.update(qi - mine.begin + 1);
    }
  });
  progress.finish();
  return arena::gather_results(out, comm);
}

}  // namespace melon::generate
