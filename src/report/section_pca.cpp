// PCA: how the variance spreads over the components, and the songs on the
// first two of them coloured by major genre.
#include <algorithm>
#include <filesystem>
#include <map>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/report/svg.hpp"
#include "sections.hpp"

namespace melon::report {

namespace {

constexpr std::size_t kGenreColours = 8;  // the most frequent genres; the rest are "other"

}  // namespace

Section pca_section(const ReportInputs& in) {
  const char* id = "pca";
  const char* heading = "PCA of the spectrograms";
  if (!std::filesystem::exists(in.pca))
    return unavailable(id, heading, "no " + in.pca + " (the job ran without `melon pca`)");
  std::vector<double> sv, ratio;
  std::vector<std::int32_t> ids, skipped;
  std::vector<std::string> reasons;
  std::vector<float> sample_scores;  // sampled rows x 2
  std::vector<std::int32_t> sample_ids;
  std::size_t n = 0, k = 0, d = 0;
  try {
    auto f = h5::File::open(in.pca, MPI_COMM_NULL);
    sv = h5::read_all<double>(f, "singular_values");
    ratio = h5::read_all<double>(f, "explained_variance_ratio");
    ids = h5::read_all<std::int32_t>(f, "song_ids");
    skipped = h5::read_all<std::int32_t>(f, "skipped_song_ids");
    if (!skipped.empty()) reasons = h5::Dataset::open(f, "skipped_reasons").read_strings();
    d = static_cast<std::size_t>(h5::Dataset::open(f, "mean").dims().at(0));
    auto scores = h5::Dataset::open(f, "scores");
    const auto dims = scores.dims();
    n = static_cast<std::size_t>(dims.at(0));
    k = dims.size() > 1 ? static_cast<std::size_t>(dims[1]) : 1;
    // Evenly spaced rows: ids are ascending, so the sample spans the catalogue.
    const std::size_t want = std::min(n, in.scatter_songs);
    std::vector<float> row(k);
    if (k >= 2)
      for (std::size_t i = 0; i < want; ++i) {
        const std::size_t r = i * n / want;
        scores.read_rows(r, 1, row.data());
        sample_scores.push_back(row[0]);
        sample_scores.push_back(row[1]);
        sample_ids.push_back(r < ids.size() ? ids[r] : -1);
      }
  } catch (const Error& e) {
    return unavailable(id, heading, e.what());
  }
  std::string body = "<p class=\"note\">" + std::to_string(n) + " songs x " + std::to_string(d) + " features, " +
                     std::to_string(k) + " components (" + escape(in.pca) + "); " + std::to_string(skipped.size()) +
                     " songs skipped (missing or unreadable spectrograms).</p>\n";
  {
    LinePlot p;
    p.axes = {"Scree plot", "component", "explained variance (%)"};
    Series s{"explained variance", {}, {}};
    for (std::size_t i = 0; i < ratio.size(); ++i) s.x.push_back(i + 1.0), s.y.push_back(100 * ratio[i]);
    p.series.push_back(std::move(s));
    p.y_from_zero = true;
    body += line_plot(p);
  }
  {
    LinePlot p;
    p.axes = {"Cumulative explained variance", "components kept", "cumulative explained variance (%)"};
    Series s{"cumulative", {}, {}};
    double sum = 0;
    for (std::size_t i = 0; i < ratio.size(); ++i) sum += ratio[i], s.x.push_back(i + 1.0), s.y.push_back(100 * sum);
    p.series.push_back(std::move(s));
    p.y_from_zero = true;
    body += line_plot(p);
  }
  if (k >= 2 && !sample_ids.empty()) {
    // Colour by the song's first major genre, when song_meta.json is at hand.
    std::vector<std::string> genre(sample_ids.size(), "unknown");
    std::string meta_note;
    if (!in.song_meta.empty() && std::filesystem::exists(in.song_meta)) {
      try {
        const auto meta = arena::read_song_meta(in.song_meta);
        arena::GenreMap names;
        const auto gpath = std::filesystem::path(in.song_meta).parent_path() / "genre_gn_all.json";
        if (std::filesystem::exists(gpath)) names = arena::read_genres(gpath.string());
        for (std::size_t i = 0; i < sample_ids.size(); ++i) {
          const auto s = sample_ids[i];
          if (s < 0 || static_cast<std::size_t>(s) >= meta.size() || meta.songs[s].genres.empty()) continue;
          const auto& g = meta.songs[s].genres.front();
          const auto it = names.find(g);
          genre[i] = it == names.end() ? g : g + " " + it->second;
        }
      } catch (const Error& e) {
        meta_note = std::string("genres not available: ") + e.what();
      }
    } else {
      meta_note = "genres not available: no song_meta.json" + (in.song_meta.empty() ? "" : " at " + in.song_meta) +
                  " (pass --song-meta)";
    }
    std::map<std::string, std::size_t> count;
    for (auto& g : genre) ++count[g];
    std::vector<std::pair<std::size_t, std::string>> order;
    for (auto& [g, c] : count)
      if (g != "unknown") order.emplace_back(c, g);
    std::sort(order.begin(), order.end(),
              [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    Scatter sc;
    sc.axes = {"Songs on the first two components (" + std::to_string(sample_ids.size()) + " of " + std::to_string(n) +
                   ")",
               "component 1", "component 2"};
    std::map<std::string, int> cls;
    for (std::size_t i = 0; i < order.size() && i < kGenreColours; ++i) {
      cls[order[i].second] = static_cast<int>(sc.classes.size());
      sc.classes.push_back(order[i].second);
    }
    const bool has_other = order.size() > kGenreColours, has_unknown = count.count("unknown") > 0;
    if (has_other) sc.classes.push_back("other genres");
    if (has_unknown) sc.classes.push_back("unknown genre");
    for (std::size_t i = 0; i < sample_ids.size(); ++i) {
      const auto it = cls.find(genre[i]);
      const int c = it != cls.end()         ? it->second
                    : genre[i] == "unknown" ? static_cast<int>(sc.classes.size()) - 1
                                            : static_cast<int>(kGenreColours);
      sc.points.push_back({sample_scores[2 * i], sample_scores[2 * i + 1], c,
                           "song " + std::to_string(sample_ids[i]) + " (" + genre[i] +
                               "): " + num(sample_scores[2 * i]) + ", " + num(sample_scores[2 * i + 1])});
    }
    body += scatter(sc);
    if (!meta_note.empty()) body += "<p class=\"na\">" + escape(meta_note) + "</p>\n";
  }
  std::vector<std::vector<std::string>> rows;
  double sum = 0;
  for (std::size_t i = 0; i < ratio.size(); ++i) {
    sum += ratio[i];
    rows.push_back(
        {std::to_string(i + 1), i < sv.size() ? num(sv[i], 6) : "-", num(100 * ratio[i], 4), num(100 * sum, 4)});
  }
  body += table({"component", "singular value", "explained variance (%)", "cumulative (%)"}, rows);
  if (!skipped.empty()) {
    std::map<std::string, std::size_t> why;
    for (auto& r : reasons) ++why[r];
    std::vector<std::vector<std::string>> wrows;
    for (auto& [r, c] : why) wrows.push_back({r, std::to_string(c)});
    body += "<details><summary>" + std::to_string(skipped.size()) + " skipped songs by reason</summary>" +
            table({"reason", "songs"}, wrows) + "</details>\n";
  }
  return {id, heading, body};
}

}  // namespace melon::report
