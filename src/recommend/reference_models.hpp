#pragma once
// Factories of the reference models (private to src/recommend; callers
// use make_reference in references.hpp).
#include <memory>
#include <span>
#include <vector>

#include "melon/recommend/references.hpp"

namespace melon::recommend {

std::unique_ptr<Reference> make_item_knn(const Corpus& c, const ReferenceOptions& opt);
std::unique_ptr<Reference> make_playlist_knn(const Corpus& c, const ReferenceOptions& opt);
void fit_ease(const Corpus& c, Fitted& f);  // collective: fills columns, n_out and weights
// Collective: one fit per option set (they differ only in ease_lambda) from
// one Gram matrix, the solves spread over the ranks.
std::vector<Fitted> fit_ease_lambdas(const Corpus& c, const std::vector<ReferenceOptions>& opts);
std::unique_ptr<Reference> make_ease(const Fitted& f);
// Collective: fills columns, n_out (clusters), weights and prior; the same
// bits for any rank and thread count.
void fit_mixture(const Corpus& c, Fitted& f, util::ThreadPool& threads);
std::unique_ptr<Reference> make_mixture(const Fitted& f, const Corpus& c, util::ThreadPool& threads);

// This rank's block of the questions (collective-free, the same on every
// rank), cut by estimated cost: a question walks the playlists of each of
// its items.
std::span<const arena::Playlist> question_block(const std::vector<arena::Playlist>& questions, const Corpus& c,
                                                const ReferenceOptions& opt);

}  // namespace melon::recommend
