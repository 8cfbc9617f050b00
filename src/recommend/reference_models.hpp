#pragma once
// Factories of the three reference models (private to src/recommend; callers
// use make_reference in references.hpp).
#include <memory>

#include "melon/recommend/references.hpp"

namespace melon::recommend {

std::unique_ptr<Reference> make_item_knn(const Corpus& c, const ReferenceOptions& opt);
std::unique_ptr<Reference> make_playlist_knn(const Corpus& c, const ReferenceOptions& opt);
std::unique_ptr<Reference> make_ease(const Corpus& c, const ReferenceOptions& opt);  // collective

}  // namespace melon::recommend
