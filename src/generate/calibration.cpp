#include "melon/generate/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "melon/error.hpp"
#include "melon/generate/genres.hpp"
#include "melon/generate/questions.hpp"
#include "melon/questions/types.hpp"
#include "melon/util/hash.hpp"

namespace melon::generate {
namespace {

// Real figures (arena.md).
constexpr double kRealTrain = 115071, kRealVal = 23015, kRealTest = 10740, kRealSongCount = 707989;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Nearest-rank quantile of sorted data.
template <class T>
double quantile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return 0;
  return static_cast<double>(sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5)]);
}

std::int32_t ymd_of_timestamp(const std::string& ts) {
  if (ts.size() < 10) return 0;
  return std::atoi(ts.substr(0, 4).c_str()) * 10000 + std::atoi(ts.substr(5, 2).c_str()) * 100 +
         std::atoi(ts.substr(8, 2).c_str());
}

// Whether one of the playlist's tags is a word of its title (words split at
// spaces, commas and '#', as the title templates join them).
bool title_holds_a_tag(const arena::Playlist& p) {
  std::size_t i = 0;
  const std::string& t = p.title;
  while (i < t.size()) {
    const auto j = t.find_first_of(" ,#", i);
    const std::string word = t.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!word.empty() && std::find(p.tags.begin(), p.tags.end(), word) != p.tags.end()) return true;
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return false;
}

}  // namespace

Calibration::Calibration(std::int32_t n_songs) : n_songs_(n_songs), song_uses_(n_songs, 0) {}

void Calibration::add_song(const SongWorld& w, arena::SongId id) {
  int maj[3];
  const int n = w.majors(id, maj);
  ++songs_by_majors_[n];
  if (maj[0] == kGenre9000) ++gn9000_;
  const Album& al = w.album_of(id);
  if (al.quirk != kDateOk) ++quirky_dates_;
  if (al.null_name) ++null_album_names_;
  ++songs_;
}

void Calibration::add_train(const SongWorld& w, const arena::Playlist& p) {
  lengths_.push_back(static_cast<std::uint16_t>(p.songs.size()));
  tag_counts_.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(p.tags.size(), 255)));
  title_hashes_.push_back(fnv1a64(p.title));  // only compared for equality (duplicated titles)
  if (title_holds_a_tag(p)) ++titles_with_tag_;
  likes_.push_back(p.like_cnt);
  entries_ += static_cast<std::int64_t>(p.songs.size());
  const std::int32_t date = ymd_of_timestamp(p.updt_date);
  std::uint64_t genres = 0;  // bit per major (bit 31: GN9000)
  for (auto id : p.songs) {
    ++song_uses_[id];
    int maj[3];
    const int n = w.majors(id, maj);
    for (int k = 0; k < n; ++k) genres |= 1ULL << (maj[k] == kGenre9000 ? 31 : maj[k]);
    if (w.date_key(id) > date) ++after_date_;
  }
  majors_per_playlist_ += static_cast<double>(__builtin_popcountll(genres));
  for (auto& t : p.tags) ++tag_uses_[t];
}

void Calibration::add_question(int set, const arena::Playlist& q) {
  ++types_[set][static_cast<int>(questions::question_type(q))];
}

std::vector<CalibrationRow> Calibration::rows() const {
  const double n = static_cast<double>(lengths_.size());
  const double sn = n / kRealTrain;                                  // playlist scale
  const double sm = static_cast<double>(n_songs_) / kRealSongCount;  // song scale
  std::vector<CalibrationRow> r;
  auto add = [&](std::string key, std::string label, double gen, double real, double scaled, int digits) {
    r.push_back({std::move(key), std::move(label), gen, real, scaled, digits});
  };

  std::vector<std::uint16_t> len(lengths_);
  std::sort(len.begin(), len.end());
  double mean = 0, sq = 0;
  for (auto x : len) mean += x;
  mean /= std::max(n, 1.0);
  for (auto x : len) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / std::max(n, 1.0));
  std::int64_t used = 0, once = 0, most = 0;
  for (auto c : song_uses_) {
    used += c > 0;
    once += c == 1;
    most = std::max<std::int64_t>(most, c);
  }
  std::vector<std::uint8_t> tc(tag_counts_);
  std::sort(tc.begin(), tc.end());
  double tag_mean = 0;
  for (auto x : tc) tag_mean += x;
  tag_mean /= std::max(n, 1.0);
  std::int64_t tags_once = 0;
  for (auto& [t, c] : tag_uses_) tags_once += c == 1;
  std::vector<std::uint64_t> th(title_hashes_);
  std::sort(th.begin(), th.end());
  const double distinct_titles = static_cast<double>(std::unique(th.begin(), th.end()) - th.begin());
  std::vector<std::int64_t> lk(likes_);
  std::sort(lk.begin(), lk.end());

  add("train_playlists", "train playlists", n, kRealTrain, n, 0);
  add("song_ids", "song ids in song_meta", static_cast<double>(n_songs_), kRealSongCount, n_songs_, 0);
  add("len_min", "songs/playlist min", len.empty() ? 0 : len.front(), 1, 1, 0);
  add("len_q1", "songs/playlist 1st quartile", quantile(len, 0.25), 19, 19, 0);
  add("len_median", "songs/playlist median", quantile(len, 0.5), 30, 30, 0);
  add("len_q3", "songs/playlist 3rd quartile", quantile(len, 0.75), 54, 54, 0);
  add("len_mean", "songs/playlist mean", mean, 45.9, 45.9, 1);
  add("len_sd", "songs/playlist sd", sd, 43.9, 43.9, 1);
  add("len_max", "songs/playlist max", len.empty() ? 0 : len.back(), 200, 200, 0);
  add("song_entries", "song entries in train", static_cast<double>(entries_), 5285871, 5285871 * sn, 0);
  add("distinct_songs", "distinct songs in train", static_cast<double>(used), 615142, 615142 * sm, 0);
  add("used_song_share", "share of song ids used in train", used / std::max(1.0, (double)n_songs_),
      615142 / kRealSongCount, 615142 / kRealSongCount, 3);
  add("used_once_share", "share of used songs in exactly 1 playlist", once / std::max(1.0, (double)used), 0.486, 0.486,
      3);
  add("top_song_count", "most frequent song: playlists", static_cast<double>(most), 2175, 2175 * sn, 0);
  add("top_song_share", "most frequent song: share of playlists", most / std::max(n, 1.0), 2175 / kRealTrain,
      2175 / kRealTrain, 4);
  add("tags_min", "tags/playlist min", tc.empty() ? 0 : tc.front(), 1, 1, 0);
  add("tags_median", "tags/playlist median", quantile(tc, 0.5), 3, 3, 0);
  add("tags_mean", "tags/playlist mean", tag_mean, 4.14, 4.14, 2);
  add("tags_max", "tags/playlist max", tc.empty() ? 0 : tc.back(), 11, 11, 0);
  add("distinct_tags", "distinct tags in train", static_cast<double>(tag_uses_.size()), 29160, 29160 * sn, 0);
  add("tags_once_share", "share of tags used by 1 playlist", tags_once / std::max(1.0, (double)tag_uses_.size()), 0.598,
      0.598, 3);
  add("majors_per_playlist", "major genres per playlist (mean)", majors_per_playlist_ / std::max(n, 1.0), 6.5, 6.5, 2);
  add("songs_1_major", "songs with 1 major genre", songs_by_majors_[1] / std::max(1.0, (double)songs_), 0.867, 0.867,
      3);
  add("songs_2_majors", "songs with 2 major genres", songs_by_majors_[2] / std::max(1.0, (double)songs_), 0.131, 0.131,
      3);
  add("songs_gn9000", "songs with GN9000", static_cast<double>(gn9000_), kNaN, kNaN, 0);
  add("quirky_issue_dates", "issue_date not a date (songs)", static_cast<double>(quirky_dates_), 2800, 2800 * sm, 0);
  add("null_album_names", "album_name null (songs)", static_cast<double>(null_album_names_), kNaN, kNaN, 0);
  add("dup_title_share", "duplicated titles (1 - distinct/playlists)", 1.0 - distinct_titles / std::max(n, 1.0), 0.021,
      0.021, 3);
  add("title_tag_share", "titles holding one of their tags", titles_with_tag_ / std::max(n, 1.0), kNaN, kNaN, 3);
  add("after_date_share", "song entries released after updt_date", after_date_ / std::max(1.0, (double)entries_), kNaN,
      kNaN, 4);
  add("like_median", "like_cnt median", quantile(lk, 0.5), kNaN, kNaN, 0);
  add("like_max", "like_cnt max", lk.empty() ? 0 : static_cast<double>(lk.back()), kNaN, kNaN, 0);
  const char* set_name[2] = {"val", "test"};
  const double real_sets[2] = {kRealVal, kRealTest};
  for (int s = 0; s < 2; ++s) {
    double total = 0;
    for (int k = 0; k < 4; ++k) total += static_cast<double>(types_[s][k]);
    add(std::string(set_name[s]) + "_questions", std::string(set_name[s]) + " questions", total, real_sets[s],
        real_sets[s] * sn, 0);
    for (int k = 0; k < 4; ++k) {
      const auto t = static_cast<questions::QuestionType>(k);
      add(std::string(set_name[s]) + "_" + questions::name(t, questions::Spelling::Key),
          std::string(set_name[s]) + " share " + questions::name(t, questions::Spelling::Arena),
          types_[s][k] / std::max(total, 1.0), kQuestionMix[k], kQuestionMix[k], 3);
    }
  }
  return r;
}

std::string Calibration::table(const std::vector<CalibrationRow>& rows) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-44s %14s %14s %14s\n", "figure", "generated", "real", "real, scaled");
  out += buf;
  auto fmt = [](double v, int digits) {
    char b[32];
    if (std::isnan(v)) return std::string("-");
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return std::string(b);
  };
  for (auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%-44s %14s %14s %14s\n", r.label.c_str(), fmt(r.generated, r.digits).c_str(),
                  fmt(r.real, r.digits).c_str(), fmt(r.real_scaled, r.digits).c_str());
    out += buf;
  }
  return out;
}

std::string Calibration::json(const std::vector<CalibrationRow>& rows, const std::string& extra) {
  nlohmann::ordered_json j = extra.empty() ? nlohmann::ordered_json::object() : nlohmann::ordered_json::parse(extra);
  nlohmann::ordered_json fig = nlohmann::ordered_json::object();
  for (auto& r : rows) {
    nlohmann::ordered_json e;
    e["label"] = r.label;
    e["generated"] = r.generated;
    e["real"] = std::isnan(r.real) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.real);
    e["real_scaled"] = std::isnan(r.real_scaled) ? nlohmann::ordered_json(nullptr)
                                                 : nlohmann::ordered_json(r.real_scaled);
    fig[r.key] = e;
  }
  j["figures"] = fig;
  return j.dump(2) + "\n";
}

}  // namespace melon::generate
