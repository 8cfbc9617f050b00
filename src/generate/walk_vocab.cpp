#include "melon/generate/walk_vocab.hpp"

#include <algorithm>
#include <cmath>

#include "melon/generate/genres.hpp"
#include "melon/generate/text.hpp"

namespace melon::generate {
namespace {

// Fitted at full size (115,071 playlists) to 29,160 distinct tags, 59.8% used
// once, and 2.1% duplicated titles; pool and tail scale with the playlists.
constexpr double kWalkPoolWordsPerPlaylist = 750.0 / 115071.0;
constexpr double kWalkTailPerPlaylist = 0.8;
// One-word titles come from a genre's first kShortSet x short_titles x N / 30
// pool words; a title that must carry a tag is one word less often
// (kTagTitleShort), as a lone tag repeats far more than a genre word.
constexpr double kShortSet = 1.6;
constexpr double kTagTitleShort = 0.7;

constexpr double kWalkPoolZipf = 1.1;
constexpr double kWalkMoodZipf = 0.7;
constexpr double kMoodGenreSpread = 0.9;  // lognormal sigma of a genre's lean over mood words
// Of the tags that are not from the open tail: the decade of an old song, a
// word of a song's genre pool, else a mood word the genre leans to.
constexpr double kEraShare = 0.05;
constexpr double kGenreShare = 0.46;

bool is_tag(const std::vector<std::string>& tags, const std::string& w) {
  return std::find(tags.begin(), tags.end(), w) != tags.end();
}

// The tag people write for a song's decade; empty for recent songs (no one tags "2010s" music as such).
const char* era_word(std::int32_t date_key) {
  const std::int32_t year = date_key / 10000;
  if (year >= 1970 && year < 1980) return "7080";
  if (year >= 1980 && year < 1990) return "80년대";
  if (year >= 1990 && year < 2000) return "90년대";
  if (year >= 2000 && year < 2010) return "2000년대";
  return "";
}

}  // namespace

WalkVocab::WalkVocab(std::uint64_t seed, const SongWorld& world, std::int64_t n_train, const VocabKnobs& knobs)
    : w_(world), seed_(seed), knobs_(knobs) {
  const GenreTable& gt = genre_table();
  const double n = static_cast<double>(std::max<std::int64_t>(n_train, 1));
  const std::size_t pool_words = std::max<std::size_t>(
                                     3, static_cast<std::size_t>(std::llround(kWalkPoolWordsPerPlaylist * n))) +
                                 3;
  short_title_words_ = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::llround(kShortSet * knobs.short_titles * n / kMajorGenres)), 2, pool_words - 2);
  tail_size_ = std::max<std::uint64_t>(64, static_cast<std::uint64_t>(std::llround(kWalkTailPerPlaylist * n)));
  pool_zipf_ = AliasTable(zipf(pool_words, kWalkPoolZipf));
  genre_pick_ = AliasTable(gt.popularity);

  const auto& moods = text::mood_words();
  const std::size_t n_moods = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::llround(moods.size() * std::sqrt(n / 115071.0))),
      std::min<std::size_t>(12, moods.size()), moods.size());
  const auto mood_base = zipf(n_moods, kWalkMoodZipf);
  pool_.resize(kMajorGenres);
  for (int g = 0; g < kMajorGenres; ++g) {
    auto& pool = pool_[g];
    pool.push_back(gt.tag_word[g]);
    for (std::size_t j = 0; pool.size() < pool_words; ++j) {
      Rng r(seed, kWalkVocabStream, (static_cast<std::uint64_t>(g) << 32) | j);
      const double u = r.uniform();
      if (u < 0.2) pool.push_back(text::korean_word(r, 2));
      else if (u < 0.75) pool.push_back(text::korean_word(r, 3));
      else if (u < 0.9) pool.push_back(text::english_word(r));
      else pool.push_back(pick(text::mood_words(), r) + text::korean_word(r, 2));
    }
    Rng r(seed, kWalkVocabStream, (1ULL << 60) | static_cast<std::uint64_t>(g));
    std::vector<double> wm(mood_base);
    for (auto& x : wm) x *= r.lognormal(0, kMoodGenreSpread);
    mood_.emplace_back(wm);
  }
}

// The major genre of one of the songs, drawn in proportion to how many songs have it.
int WalkVocab::genre_of(Rng& rng, const std::vector<arena::SongId>& songs) const {
  if (songs.empty()) return static_cast<int>(genre_pick_.draw(rng));
  return w_.artist_of(songs[rng.below(static_cast<std::uint32_t>(songs.size()))]).major[0];
}

const std::string& WalkVocab::pool_word(Rng& rng, int genre) const { return pool_[genre][pool_zipf_.draw(rng)]; }

std::string WalkVocab::tag(Rng& rng, const std::vector<arena::SongId>& songs) const {
  if (rng.uniform() < knobs_.tag_noise) {
    Rng r(seed_, kWalkVocabStream, (1ULL << 61) | (rng.next() % tail_size_));
    const double u = r.uniform();
    if (u < 0.6) return text::korean_word(r, r.range(3, 4));
    if (u < 0.85) return text::english_word(r) + text::english_word(r);
    return pick(text::mood_words(), r) + text::korean_word(r, 2);
  }
  const double v = rng.uniform();
  if (v < kEraShare && !songs.empty()) {
    const char* era = era_word(w_.date_key(songs[rng.below(static_cast<std::uint32_t>(songs.size()))]));
    if (*era) return era;
  }
  const int g = genre_of(rng, songs);
  if (v < kEraShare + kGenreShare) return pool_word(rng, g);
  return text::mood_words()[mood_[g].draw(rng)];
}

std::vector<std::string> WalkVocab::tags(Rng& rng, const std::vector<arena::SongId>& songs, int n) const {
  std::vector<std::string> out;
  for (int attempt = 0; static_cast<int>(out.size()) < n && attempt < 16 * n + 64; ++attempt) {
    std::string t = tag(rng, songs);
    if (!is_tag(out, t)) out.push_back(std::move(t));
  }
  return out;
}

std::string WalkVocab::title(Rng& rng, const std::vector<arena::SongId>& songs,
                             const std::vector<std::string>& tags) const {
  const int g = genre_of(rng, songs);
  // Whether the title carries a tag is decided once; every other word of it
  // avoids the tags, so the share of titles holding one is the rate itself.
  const bool with_tag = !tags.empty() && rng.chance(knobs_.title_tag_rate);
  auto other = [&](auto draw) -> std::string {
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string w = draw();
      if (!is_tag(tags, w)) return w;
    }
    return text::korean_word(rng, 5);  // longer than any pool or tail word
  };
  auto genre_word = [&] { return other([&] { return pool_word(rng, g); }); };
  auto own = [&] { return with_tag ? pick(tags, rng) : genre_word(); };
  auto korean = [&](int syllables) { return other([&] { return text::korean_word(rng, syllables); }); };
  auto from = [&](const std::vector<std::string>& list) { return other([&] { return pick(list, rng); }); };

  // One-word titles: the duplicates. A tag itself, or one of a few common words of the genre.
  if (rng.uniform() < knobs_.short_titles * (with_tag ? kTagTitleShort : 1.0)) {
    if (with_tag) return pick(tags, rng);
    return other([&] { return pool_[g][1 + rng.below(static_cast<std::uint32_t>(short_title_words_))]; });
  }
  const double v = rng.uniform();
  std::string s;
  using text::join;
  if (v < 0.2) s = join({own(), korean(rng.range(2, 3)), from(text::title_nouns())});
  else if (v < 0.38) s = join({korean(rng.range(2, 3)), from(text::title_modifiers()), own()});
  else if (v < 0.52) s = join({genre_word(), own(), korean(2)});
  else if (v < 0.64) s = join({from(text::english_words()), korean(2), own()});
  else if (v < 0.74) s = join({std::to_string(rng.range(2005, 2020)) + "년", own(), korean(2)});
  else if (v < 0.86) s = join({from(text::emoji()), own() + ",", genre_word(), korean(2)});
  else s = join({"", own(), genre_word(), korean(3)}, " #").substr(1);
  if (rng.chance(0.05)) s.append(" ").append(pick(text::emoji(), rng));
  return s;
}

}  // namespace melon::generate
