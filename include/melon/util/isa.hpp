#pragma once
// The x86 instruction-set extensions a build may use, and the check that the
// CPU running it has them. melon builds with -march=native by default; started
// on an older node of a mixed cluster, such a binary dies of SIGILL in static
// initialisation, before main, with no word of why. The check runs first (a
// constructor ahead of every other one in the executable, compiled for plain
// x86-64) and refuses with the node, the missing extensions and the remedy;
// as a rank of a job it takes the job down with it (MPI_Abort).
#include <string>
#include <string_view>

namespace melon::util {

// The extensions the compiler flags of this build let it emit, space-separated
// ("" for plain x86-64 and on other architectures); written down by a source
// compiled with exactly those flags (src/util/isa_target.cpp).
std::string_view isa_target();
// The host the build was configured on.
std::string_view isa_built_on();

// Whether the check knows how to ask the CPU about `name`.
bool isa_known(std::string_view name);
// Whether this CPU has extension `name` (false for names the check does not know).
bool isa_present(std::string_view name);
// Of the space-separated `names`, those `has` says are absent, space-separated.
std::string isa_missing(std::string_view names, bool (*has)(std::string_view) = isa_present);

// The refusal printed when `missing` is not empty.
std::string isa_refusal(std::string_view missing, std::string_view host, std::string_view built_on);

}  // namespace melon::util
