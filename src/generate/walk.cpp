#include "melon/generate/walk.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "melon/error.hpp"
#include "melon/generate/genres.hpp"

namespace melon::generate {
namespace {

constexpr int kEdges = 8;
// Where an edge leads: the source's own major genre, one of its related
// genres, or anywhere (the catalogue's hubs). Fitted so a playlist spans
// about as many major genres as real ones (6.5).
constexpr double kSameGenreEdge = 0.94;
constexpr double kRelatedGenreEdge = 0.05;
// Edge targets are drawn by popularity^kEdgeExponent: 1 would make the hubs
// that the walk keeps returning to (top song ~2x the real share at full size).
constexpr double kEdgeExponent = 0.8;
constexpr double kEraYears = 4.0;  // mean distance in release date that an edge spans
constexpr int kRelatedGenres = 3;
constexpr double kAlbumStep = 0.12;       // next song from the last song's album
constexpr double kArtistStep = 0.1;       // ... or from its artist
constexpr double kWalkDeepShare = 0.054;  // of song positions: deep cuts, each used by one playlist only
constexpr int kKindPatience = 4;          // refused draws of one kind before the walk tries another

int genre_of_slot(const SongWorld& w, std::int32_t slot) { return w.artists[w.slots[slot].artist].major[0]; }

}  // namespace

std::int32_t WalkGenerator::GenreSongs::draw(Rng& rng, std::int32_t from_date, std::int32_t to_date) const {
  const auto lo = std::lower_bound(dates.begin(), dates.end(), from_date) - dates.begin();
  const auto hi = std::upper_bound(dates.begin(), dates.end(), to_date) - dates.begin();
  if (lo >= hi) return -1;
  const double base = lo == 0 ? 0.0 : cum[lo - 1], top = cum[hi - 1];
  if (top <= base) return -1;
  auto it = std::upper_bound(cum.begin() + lo, cum.begin() + hi, base + rng.uniform() * (top - base));
  if (it == cum.begin() + hi) --it;
  return slots[it - cum.begin()];
}

namespace {}  // namespace

WalkGenerator::WalkGenerator(const SongWorld& world, std::int64_t n_train, std::int64_t n_total,
                             const PlaylistKnobs& knobs, const WalkKnobs& walk, const VocabKnobs& vocab_knobs)
    : w_(world), k_(knobs), walk_(walk), vocab_(world.seed, world, n_train, vocab_knobs) {
  MELON_CHECK(n_total >= 1, "generate: need at least one playlist");
  ids_ = playlist_ids(world.seed, n_total);
  const std::int32_t n_slots = static_cast<std::int32_t>(world.slots.size());

  std::vector<double> weight(n_slots);
  double total = 0;
  for (std::int32_t s = 0; s < n_slots; ++s) total += (weight[s] = world.slots[s].weight);
  if (total <= 0) std::fill(weight.begin(), weight.end(), 1.0);  // a catalogue of deep cuts only
  in_artist_ = RangeSampler(world, weight);
  global_ = AliasTable(weight);
  date_.resize(n_slots);
  for (std::int32_t s = 0; s < n_slots; ++s) date_[s] = world.date_key(world.id_of_slot[s]);

  // Songs of each major genre by release date, with running popularity sums:
  // the targets of genre edges, drawn by popularity within a span of dates.
  genre_songs_.resize(kMajorGenres);
  std::vector<std::vector<std::int32_t>> deep(kMajorGenres);
  for (std::int32_t s = 0; s < n_slots; ++s) {
    const int g = genre_of_slot(world, s);
    if (world.slots[s].flags & kFlagDeep) deep[g].push_back(s);
    if (weight[s] > 0) genre_songs_[g].slots.push_back(s);
  }
  for (auto& gs : genre_songs_) {
    std::stable_sort(gs.slots.begin(), gs.slots.end(),
                     [&](std::int32_t a, std::int32_t b) { return date_[a] < date_[b]; });
    double c = 0;
    for (auto s : gs.slots) {
      gs.dates.push_back(date_[s]);
      gs.cum.push_back(c += std::pow(weight[s], kEdgeExponent));
    }
  }
  for (int g = 0; g < kMajorGenres; ++g) genre_deep_.emplace_back(std::move(deep[g]), date_);
  taken_.assign(n_slots, 0);

  // Each genre's related genres, drawn by genre popularity: the bridges a walk crosses.
  const GenreTable& gt = genre_table();
  const AliasTable genre_pop(gt.popularity);
  std::vector<std::array<int, kRelatedGenres>> related(kMajorGenres);
  for (int g = 0; g < kMajorGenres; ++g) {
    Rng r(world.seed, kWalkGraphStream, (1ULL << 40) | static_cast<std::uint64_t>(g));
    for (int k = 0; k < kRelatedGenres; ++k) {
      int h = g;
      for (int guard = 0;
           guard < 50 && (h == g || std::find(related[g].begin(), related[g].begin() + k, h) != related[g].begin() + k);
           ++guard)
        h = static_cast<int>(genre_pop.draw(r));
      related[g][k] = h;
    }
  }

  // The graph: kEdges out-edges per song with any popularity, to other artists' songs.
  edges_.assign(static_cast<std::size_t>(n_slots) * kEdges, -1);
  for (std::int32_t s = 0; s < n_slots; ++s) {
    if (weight[s] <= 0) continue;
    Rng r(world.seed, kWalkGraphStream, static_cast<std::uint64_t>(s));
    const int g = genre_of_slot(world, s);
    for (int e = 0; e < kEdges; ++e) {
      std::int32_t t = -1;
      for (int tries = 0; tries < 4 && (t < 0 || world.slots[t].artist == world.slots[s].artist); ++tries) {
        const double u = r.uniform();
        const int tg = u < kSameGenreEdge                       ? g
                       : u < kSameGenreEdge + kRelatedGenreEdge ? related[g][r.below(kRelatedGenres)]
                                                                : -1;
        // Songs link to songs of about their own time: the span is drawn per edge.
        const std::int64_t day = ymd_to_days(std::max(date_[s], 19000101));
        const std::int64_t span = static_cast<std::int64_t>(365.25 * kEraYears * -std::log(1.0 - r.uniform()));
        t = tg >= 0 ? genre_songs_[tg].draw(r, days_to_ymd(day - span), days_to_ymd(day + span)) : -1;
        if (t < 0) t = static_cast<std::int32_t>(global_.draw(r));
      }
      edges_[static_cast<std::size_t>(s) * kEdges + e] = t;
    }
  }
}

std::span<const std::int32_t> WalkGenerator::edges(std::int32_t slot) const {
  const std::int32_t* e = edges_.data() + static_cast<std::size_t>(slot) * kEdges;
  return e[0] < 0 ? std::span<const std::int32_t>() : std::span<const std::int32_t>(e, kEdges);
}

// A deep cut near `near_slot`: one of its artist's own, else one of its genre's.
std::int32_t WalkGenerator::deep_cut(Rng& rng, std::int32_t near_slot, std::int32_t max_date) {
  const Artist& ar = w_.artists[w_.slots[near_slot].artist];
  std::int32_t pick = -1;
  int seen = 0;
  for (std::int32_t s = ar.first_slot; s < ar.end_slot; ++s)  // reservoir sampling over the eligible ones
    if ((w_.slots[s].flags & kFlagDeep) && !taken_[s] && date_[s] <= max_date &&
        rng.below(static_cast<std::uint32_t>(++seen)) == 0)
      pick = s;
  // The genre pool also holds cuts already taken through their artist: skip those.
  for (auto& pool = genre_deep_[genre_of_slot(w_, near_slot)]; pick < 0;) {
    const std::int32_t s = pool.take(rng, max_date);
    if (s < 0) break;
    if (!taken_[s]) pick = s;
  }
  if (pick >= 0) taken_[pick] = 1;
  return pick;
}

GeneratedPlaylist WalkGenerator::next(std::int64_t index, int min_songs, int min_tags) {
  MELON_ASSERT(index > last_index_ && index < static_cast<std::int64_t>(ids_.size()),
               "playlists must be generated in increasing index order");
  last_index_ = index;
  Rng rng(w_.seed, kWalkPlaylistStream, static_cast<std::uint64_t>(index));
  GeneratedPlaylist out;
  arena::Playlist& p = out.playlist;
  p.id = ids_[index];
  const std::int32_t ymd = days_to_ymd(draw_update_day(rng));
  p.updt_date = format_timestamp(ymd, static_cast<int>(rng.below(86400)));
  p.like_cnt = draw_likes(rng);

  const int length = std::max(draw_length(rng), min_songs);
  const double p_album = kAlbumStep * k_.runs, p_artist = kArtistStep * k_.runs;
  const double p_deep = kWalkDeepShare * k_.sparsity;
  std::unordered_set<std::int32_t> chosen;
  chosen.reserve(static_cast<std::size_t>(length) * 2);
  std::vector<std::int32_t> walked;  // the playlist's songs with edges, in order
  std::int32_t last = -1;            // the last song taken (a deep cut too)
  std::int32_t here = -1;            // where the walk stands: the last song with edges
  // Steps that keep being refused (too recent, already taken, no deep cut
  // left) give way to a broader one: restart from an earlier song, then teleport.
  enum Kind { kNone, kAlbum, kArtist, kDeepCut, kTeleport, kRestart, kHop, kEdge } kind = kNone;
  int tries_of_kind = 0;
  const int budget = 8 * length + 32;
  for (int attempt = 0; static_cast<int>(p.songs.size()) < length; ++attempt) {
    const bool any = attempt >= budget;
    const bool relaxed = attempt >= 2 * budget;
    if (relaxed && (static_cast<int>(p.songs.size()) >= min_songs || attempt >= 3 * budget)) break;
    if (kind == kNone) {
      const double u = rng.uniform();
      double c = 0;
      kind = here < 0                   ? kTeleport
             : u < (c += p_album)       ? kAlbum
             : u < (c += p_artist)      ? kArtist
             : u < (c += p_deep)        ? kDeepCut
             : u < (c += k_.song_noise) ? kTeleport
             : u < (c += walk_.restart) ? kRestart
                                        : kEdge;
      tries_of_kind = 0;
    } else if (++tries_of_kind > kKindPatience) {
      kind = (kind == kHop || kind == kTeleport) ? kTeleport : kHop;
      tries_of_kind = 0;
    }
    std::int32_t s = -1;
    bool deep_cut_taken = false;
    auto step_from = [&](std::int32_t from) {
      const auto e = edges(from);
      return e.empty() ? -1 : e[rng.below(static_cast<std::uint32_t>(e.size()))];
    };
    switch (kind) {
      case kAlbum: {
        const Album& al = w_.albums[w_.slots[last].album];
        s = in_artist_.draw(rng, al.artist, al.first_slot, al.end_slot);
        break;
      }
      case kArtist: {
        const Artist& ar = w_.artists[w_.slots[last].artist];
        s = in_artist_.draw(rng, w_.slots[last].artist, ar.first_slot, ar.end_slot);
        break;
      }
      case kDeepCut:
        s = deep_cut(rng, last, ymd);
        deep_cut_taken = s >= 0;
        break;
      case kRestart: s = walked.empty() ? -1 : step_from(walked.front()); break;
      case kHop:
        s = walked.empty() ? -1 : step_from(walked[rng.below(static_cast<std::uint32_t>(walked.size()))]);
        break;
      case kEdge: s = step_from(here); break;
      default: break;
    }
    if (s < 0) s = static_cast<std::int32_t>(global_.draw(rng));  // teleport, or a step with nowhere to go
    if (any) s = static_cast<std::int32_t>(global_.draw(rng));
    if (relaxed) s = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(w_.slots.size())));
    if (!admit_song(rng, stats_, chosen, s, date_[s] > ymd, relaxed || deep_cut_taken, k_.after_date, any,
                    deep_cut_taken))
      continue;
    p.songs.push_back(w_.id_of_slot[s]);
    last = s;
    if (!edges(s).empty()) {
      here = s;
      walked.push_back(s);
    }
    kind = kNone;
  }

  p.tags = vocab_.tags(rng, p.songs, std::max(draw_tag_count(rng), min_tags));
  p.title = vocab_.title(rng, p.songs, p.tags);
  return out;
}

}  // namespace melon::generate
