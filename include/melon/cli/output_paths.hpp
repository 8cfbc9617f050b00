#pragma once
// Output paths checked before any work starts: a typo in --out must fail in
// seconds on every rank, not after hours ("cannot rename ... Is a directory").
// Rank 0 checks (the outputs' writer), the outcome is broadcast over
// mpi::world(): every rank throws the same melon::Error, naming the option.
// Checks: not empty; a file is not an existing folder and a folder not an
// existing file; the folder that will hold it exists (for a folder output,
// its nearest existing ancestor: the command creates the rest); and that
// folder takes a new file (a probe file created and removed at once).
// Nothing is left behind: no folder is created here.
#include <string>

namespace melon::cli {

// parent_may_be_missing: the writer creates missing parent folders itself
// (report), so the nearest existing ancestor is checked instead.
void check_output_file(const std::string& option, const std::string& path, bool parent_may_be_missing = false);
void check_output_dir(const std::string& option, const std::string& path);

}  // namespace melon::cli
