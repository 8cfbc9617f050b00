#include "melon/recommend/ae_source.hpp"

#include <utility>

namespace melon::recommend {
namespace {

class AeSource final : public CandidateSource {
 public:
  AeSource(const ae::Model& m, ae::PredictOptions opt) : m_(m), opt_(std::move(opt)) {}
  const std::string& name() const override { return name_; }
  bool logits() const override { return true; }
  // The questions are this rank's already: batches start at the first of them.
  std::vector<arena::Candidates> candidates(std::span<const arena::Playlist> questions, std::size_t n_songs,
                                            std::size_t n_tags, util::ThreadPool& threads) const override {
    const std::vector<arena::Playlist> block(questions.begin(), questions.end());
    return ae::candidates(m_, block, opt_, n_songs, n_tags, threads, MPI_COMM_SELF);
  }

 private:
  const ae::Model& m_;
  ae::PredictOptions opt_;
  std::string name_ = "autoencoder";
};

}  // namespace

std::unique_ptr<CandidateSource> ae_source(const ae::Model& m, ae::PredictOptions opt) {
  return std::make_unique<AeSource>(m, std::move(opt));
}

}  // namespace melon::recommend
