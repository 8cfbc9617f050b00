#include "melon/generate/vocab.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "melon/generate/genres.hpp"
#include "melon/generate/text.hpp"

namespace melon::generate {
namespace {

// Real figures at 115,071 playlists: 29,160 distinct tags, 59.8% used once.
// Pool size and tail size were fitted to those at full scale and scale with N.
constexpr double kPoolWordsPerPlaylist = 280.0 / 115071.0;
constexpr double kTailPerPlaylist = 1.5;
constexpr double kPoolZipf = 1.1;
constexpr double kMoodZipf = 0.7;
constexpr double kPoolShare = 0.48;       // of the tags not from the open tail: the taste's pool (else its moods)
constexpr double kMoodTasteSpread = 0.9;  // lognormal sigma of a taste's bias over mood words

// Tags per playlist, 1..11: median 3, mean ~4.13 as in the real train set.
const double kTagCount[11] = {0.165, 0.2, 0.17, 0.12, 0.08, 0.06, 0.05, 0.04, 0.04, 0.04, 0.035};

void normalise(std::vector<double>& w) {
  double sum = 0;
  for (double x : w) sum += x;
  if (sum > 0)
    for (double& x : w) x /= sum;
}

}  // namespace

Vocab::Vocab(std::uint64_t seed, const SongWorld& world, std::int64_t n_train, const VocabKnobs& knobs)
    : seed_(seed), tastes_(static_cast<int>(world.tastes.size())), knobs_(knobs) {
  const GenreTable& gt = genre_table();
  const double n = static_cast<double>(std::max<std::int64_t>(n_train, 1));
  pool_words_ = std::max<std::size_t>(3, static_cast<std::size_t>(std::llround(kPoolWordsPerPlaylist * n))) + 3;
  short_title_words_ = std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(knobs.short_titles * n / tastes_)),
                                               2, pool_words_ - 3);
  tail_size_ = std::max<std::uint64_t>(64, static_cast<std::uint64_t>(std::llround(kTailPerPlaylist * n)));
  pool_zipf_w_ = zipf(pool_words_, kPoolZipf);
  pool_zipf_ = AliasTable(pool_zipf_w_);
  normalise(pool_zipf_w_);

  // Small datasets use only the head of the mood list: a fixed list would
  // otherwise dominate their distinct-tag count, which must scale with N.
  const auto& moods = text::mood_words();
  const std::size_t n_moods = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::llround(moods.size() * std::sqrt(n / 115071.0))),
      std::min<std::size_t>(12, moods.size()), moods.size());
  const auto mood_base = zipf(n_moods, kMoodZipf);
  pool_.resize(tastes_);
  for (int t = 0; t < tastes_; ++t) {
    const Taste& ts = world.tastes[t];
    auto& pool = pool_[t];
    for (int g = 0; g < ts.n_genres; ++g) pool.push_back(gt.tag_word[ts.genre[g]]);
    for (std::size_t j = 0; pool.size() < pool_words_; ++j) {
      Rng r(seed, kVocabStream, (static_cast<std::uint64_t>(t) << 32) | j);
      const double u = r.uniform();
      if (u < 0.2) pool.push_back(text::korean_word(r, 2));
      else if (u < 0.75) pool.push_back(text::korean_word(r, 3));
      else if (u < 0.9) pool.push_back(text::english_word(r));
      else pool.push_back(pick(text::mood_words(), r) + text::korean_word(r, 2));
    }
    // Each taste leans towards some moods and away from others.
    Rng r(seed, kVocabStream, (1ULL << 60) | static_cast<std::uint64_t>(t));
    std::vector<double> wm(mood_base);
    for (auto& x : wm) x *= r.lognormal(0, kMoodTasteSpread);
    mood_.emplace_back(wm);
    normalise(wm);
    mood_w_.push_back(std::move(wm));
  }
}

int draw_tag_count(Rng& rng) {
  static const AliasTable count(std::vector<double>(kTagCount, kTagCount + 11));
  return 1 + static_cast<int>(count.draw(rng));
}

int Vocab::tag_count(Rng& rng) const { return draw_tag_count(rng); }

const std::string& Vocab::pool_word(Rng& rng, int taste) const { return pool_[taste][pool_zipf_.draw(rng)]; }

std::string Vocab::tail_word(std::uint64_t index) const {
  Rng r(seed_, kTagStream, index);
  const double u = r.uniform();
  if (u < 0.6) return text::korean_word(r, r.range(3, 4));
  if (u < 0.85) return text::english_word(r) + text::english_word(r);
  return pick(text::mood_words(), r) + text::korean_word(r, 2);
}

std::string Vocab::tag(Rng& rng, int taste) const {
  const double u = rng.uniform();
  if (u < knobs_.tag_noise) return tail_word(rng.next() % tail_size_);
  // The rest splits about evenly between the taste's pool and its mood preferences.
  if (rng.chance(kPoolShare)) return pool_word(rng, taste);
  return text::mood_words()[mood_[taste].draw(rng)];
}

std::vector<std::pair<std::string, double>> Vocab::tag_chances(int taste) const {
  // tag()'s split: the open tail, then the taste's pool or its moods.
  const double pool = (1.0 - knobs_.tag_noise) * kPoolShare, mood = (1.0 - knobs_.tag_noise) * (1.0 - kPoolShare);
  std::map<std::string, double> chance;
  for (std::size_t j = 0; j < pool_[taste].size(); ++j) chance[pool_[taste][j]] += pool * pool_zipf_w_[j];
  const auto& moods = text::mood_words();
  for (std::size_t j = 0; j < mood_w_[taste].size(); ++j) chance[moods[j]] += mood * mood_w_[taste][j];
  return {chance.begin(), chance.end()};
}

double Vocab::pool_chance(int taste, const std::string& word) const {
  double c = 0;
  for (std::size_t j = 0; j < pool_[taste].size(); ++j)
    if (pool_[taste][j] == word) c += pool_zipf_w_[j];
  return c;
}

std::string Vocab::title(Rng& rng, int taste, const std::vector<std::string>& tags) const {
  const auto& nouns = text::title_nouns();
  const auto& mods = text::title_modifiers();
  const auto& emo = text::emoji();
  auto own = [&]() -> std::string {
    if (tags.empty()) return pool_word(rng, taste);
    // At rate 1 no chance is drawn, so the default keeps its datasets bit for bit.
    if (knobs_.title_tag_rate >= 1.0 || rng.chance(knobs_.title_tag_rate)) return pick(tags, rng);
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string& w = pool_word(rng, taste);
      if (std::find(tags.begin(), tags.end(), w) == tags.end()) return w;
    }
    return text::korean_word(rng, 2);
  };
  const double u = rng.uniform();
  // One-word titles from a small per-taste set: these are the duplicates.
  // (Genre words, at the head of every pool, are left out: shared across tastes they would collide far more.)
  if (u < knobs_.short_titles) return pool_[taste][3 + rng.below(static_cast<std::uint32_t>(short_title_words_))];
  // Everything else carries a free-form word, so accidental repeats stay rare.
  const double v = rng.uniform();
  std::string s;
  using text::join;
  if (v < 0.22) s = join({own(), text::korean_word(rng, rng.range(2, 3)), pick(nouns, rng)});
  else if (v < 0.40) s = join({text::korean_word(rng, rng.range(2, 3)), pick(mods, rng), own()});
  else if (v < 0.55) s = join({pool_word(rng, taste), own(), text::korean_word(rng, 2)});
  else if (v < 0.68) s = join({pick(text::english_words(), rng), text::english_word(rng), own()});
  else if (v < 0.78) s = join({std::to_string(rng.range(2005, 2020)) + "년", own(), text::korean_word(rng, 2)});
  else if (v < 0.88) s = join({pick(emo, rng), own() + ",", pool_word(rng, taste), text::korean_word(rng, 2)});
  else s = join({"", own(), pool_word(rng, taste), text::korean_word(rng, 3)}, " #").substr(1);
  if (rng.chance(0.05)) s.append(" ").append(pick(emo, rng));
  return s;
}

}  // namespace melon::generate
