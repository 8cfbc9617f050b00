#pragma once
// The autoencoder as one more candidate source (source.hpp): "autoencoder",
// scores are its output logits.
#include <memory>

#include "melon/ae/candidates.hpp"
#include "melon/ae/model.hpp"
#include "melon/recommend/source.hpp"

namespace melon::recommend {

// m must outlive the source.
std::unique_ptr<CandidateSource> ae_source(const ae::Model& m, ae::PredictOptions opt);

}  // namespace melon::recommend
