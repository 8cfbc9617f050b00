#pragma once
// The data's own ceiling: answers from the generator's own catalogue and
// rules. For each question of a taste-family dataset, the songs its playlist
// was most likely to draw and the tags it was most likely to get, given what
// the question shows (or, looser, the playlist's hidden state itself). A
// method that must learn the catalogue from the files cannot beat it but by
// chance, so its score shows how far a quality target sits from what the data
// allows. A measuring tool for the benchmark, never a recommender.
#include <mpi.h>

#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/generate.hpp"

namespace melon::generate {

// The settings a dataset was generated with, from its folder's marker (which
// melon generate writes last). Throws, naming the folder, when the folder is
// incomplete or changed since, was not written by melon generate, or is of
// another family than taste.
GenerateOptions generated_with(const std::string& data_dir);

// What the oracle knows. Playlist: each playlist's own hidden state (its
// tastes and focus points): a loose ceiling, above what any method can
// reach. Catalogue: the catalogue and the generator's rules but not the
// playlist, whose hidden state it infers from what the question shows (songs,
// tags, title words) and answers with the posterior's expected draws: the
// Bayes answer, which no method that must learn the catalogue from the
// training playlists can beat but by chance.
enum class OracleKnows { Playlist, Catalogue };
OracleKnows parse_oracle_knows(const std::string& s);

// One answer per question (100 songs, 10 tags, none of them already shown),
// on rank 0 in question order (other ranks get none; each answers a block).
// Every question must be a playlist of the dataset `o` describes and show
// only that playlist's songs and tags; the first that is not throws on every
// rank, naming it and `questions_origin`. Collective.
std::vector<arena::Result> oracle_answers(const GenerateOptions& o, OracleKnows knows,
                                          const std::vector<arena::Playlist>& questions,
                                          const std::string& questions_origin, MPI_Comm comm);

}  // namespace melon::generate
