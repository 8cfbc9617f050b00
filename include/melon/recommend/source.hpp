#pragma once
// A candidate source: anything that proposes scored songs and tags for
// questions (each reference recommender, the title-token kNN, the
// autoencoder). The reranker pools a list of them (rank/rerank.hpp) and
// `melon baseline` answers from one. A source is fitted when it is made;
// asking it for candidates changes nothing, so one source can serve several
// question sets.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "melon/arena/candidates.hpp"
#include "melon/arena/types.hpp"
#include "melon/recommend/references.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::recommend {

class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  // As logs and feature names show it ("item-knn", "title", "autoencoder").
  virtual const std::string& name() const = 0;
  // Scores are logits (relative score = score - best) rather than
  // non-negative sums (relative score = score / best).
  virtual bool logits() const { return false; }
  // Up to n_songs songs and n_tags tags for each question (Candidates'
  // rules), in question order. Local to the calling rank: no MPI.
  virtual std::vector<arena::Candidates> candidates(std::span<const arena::Playlist> questions, std::size_t n_songs,
                                                    std::size_t n_tags, util::ThreadPool& threads) const = 0;
};

// A fitted reference recommender (make_reference) as a source. The corpus it
// was fitted on and song_dates (by song id; empty: no date rule) must outlive it.
std::unique_ptr<CandidateSource> reference_source(std::string name, std::shared_ptr<const Reference> ref,
                                                  const Corpus& c, const ReferenceOptions& opt,
                                                  const std::vector<std::int32_t>& song_dates);

// The title-token kNN: an item-knn reference asked about the question's title
// tokens alone, whatever else the question shows (named "title").
std::unique_ptr<CandidateSource> title_source(std::shared_ptr<const Reference> item_knn, const Corpus& c,
                                              const ReferenceOptions& opt, const std::vector<std::int32_t>& song_dates);

}  // namespace melon::recommend
