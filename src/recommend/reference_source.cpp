#include <algorithm>
#include <utility>

#include "melon/recommend/source.hpp"
#include "melon/util/log.hpp"

namespace melon::recommend {
namespace {

class ReferenceSource final : public CandidateSource {
 public:
  ReferenceSource(std::string name, std::shared_ptr<const Reference> ref, const Corpus& c, const ReferenceOptions& opt,
                  const std::vector<std::int32_t>& dates, bool title_only)
      : name_(std::move(name)), ref_(std::move(ref)), corpus_(c), opt_(opt), dates_(dates), title_only_(title_only) {}

  const std::string& name() const override { return name_; }

  // Questions in slabs (progress between them), each slab in fixed chunks
  // handed to the threads as they free up. A workspace is per thread, not per
  // chunk: it holds a number per item and per playlist (megabytes at mid
  // size), allocated and zeroed once rather than for every eight questions.
  std::vector<arena::Candidates> candidates(std::span<const arena::Playlist> qs, std::size_t n_songs,
                                            std::size_t n_tags, util::ThreadPool& threads) const override {
    const std::size_t n = qs.size();
    std::vector<arena::Candidates> out(n);
    log::Progress progress(name_ + " candidates", static_cast<std::int64_t>(n), "questions", 10.0, log::rank() == 0);
    constexpr std::size_t kSlab = 256;
    constexpr std::int64_t kChunk = 8;
    for (std::size_t s0 = 0; s0 < n; s0 += kSlab) {
      const auto s1 = std::min(n, s0 + kSlab);
      for_each_chunk(threads, static_cast<std::int64_t>(s1 - s0), kChunk,
                     [&](std::int64_t b, std::int64_t e, Workspace& ws) {
                       for (auto i = s0 + static_cast<std::size_t>(b); i < s0 + static_cast<std::size_t>(e); ++i)
                         out[i] = one(qs[i], n_songs, n_tags, ws);
                     });
      progress.update(static_cast<std::int64_t>(s1));
    }
    progress.finish();
    return out;
  }

 private:
  arena::Candidates one(const arena::Playlist& q, std::size_t n_songs, std::size_t n_tags, Workspace& ws) const {
    if (!title_only_) return recommend::candidates(*ref_, corpus_, q, opt_, dates_, n_songs, n_tags, ws);
    arena::Playlist only_title = q;  // tokens become the items of a question without songs
    only_title.songs.clear();
    only_title.tags.clear();
    return recommend::candidates(*ref_, corpus_, only_title, opt_, dates_, n_songs, n_tags, ws);
  }

  std::string name_;
  std::shared_ptr<const Reference> ref_;
  const Corpus& corpus_;
  ReferenceOptions opt_;
  const std::vector<std::int32_t>& dates_;
  bool title_only_;
};

}  // namespace

std::unique_ptr<CandidateSource> reference_source(std::string name, std::shared_ptr<const Reference> ref,
                                                  const Corpus& c, const ReferenceOptions& opt,
                                                  const std::vector<std::int32_t>& song_dates) {
  return std::make_unique<ReferenceSource>(std::move(name), std::move(ref), c, opt, song_dates, false);
}

std::unique_ptr<CandidateSource> title_source(std::shared_ptr<const Reference> item_knn, const Corpus& c,
                                              const ReferenceOptions& opt,
                                              const std::vector<std::int32_t>& song_dates) {
  return std::make_unique<ReferenceSource>("title", std::move(item_knn), c, opt, song_dates, true);
}

}  // namespace melon::recommend
