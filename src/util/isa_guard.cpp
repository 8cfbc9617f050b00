// The check that this CPU has what the build may use (include/melon/util/isa.hpp).
// This file is compiled for plain x86-64 whatever the build's flags
// (CMakeLists.txt), so the check itself runs on any x86-64 CPU; everything it
// executes before refusing is here or in the C and C++ runtimes.
#include "melon/util/isa.hpp"

#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace melon::util {
namespace detail {
extern const char kIsaTarget[];
extern const char kIsaBuiltOn[];
}  // namespace detail

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define MELON_ISA_CHECKED 1
struct Probe {
  const char* name;
  bool (*present)();
};
// __builtin_cpu_supports takes only literals, hence one entry per name.
constexpr Probe kProbes[] = {
    {"sse3", [] { return __builtin_cpu_supports("sse3") != 0; }},
    {"ssse3", [] { return __builtin_cpu_supports("ssse3") != 0; }},
    {"sse4.1", [] { return __builtin_cpu_supports("sse4.1") != 0; }},
    {"sse4.2", [] { return __builtin_cpu_supports("sse4.2") != 0; }},
    {"sse4a", [] { return __builtin_cpu_supports("sse4a") != 0; }},
    {"popcnt", [] { return __builtin_cpu_supports("popcnt") != 0; }},
    {"lzcnt", [] { return __builtin_cpu_supports("lzcnt") != 0; }},
    {"movbe", [] { return __builtin_cpu_supports("movbe") != 0; }},
    {"aes", [] { return __builtin_cpu_supports("aes") != 0; }},
    {"pclmul", [] { return __builtin_cpu_supports("pclmul") != 0; }},
    {"avx", [] { return __builtin_cpu_supports("avx") != 0; }},
    {"avx2", [] { return __builtin_cpu_supports("avx2") != 0; }},
    {"fma", [] { return __builtin_cpu_supports("fma") != 0; }},
    {"fma4", [] { return __builtin_cpu_supports("fma4") != 0; }},
    {"xop", [] { return __builtin_cpu_supports("xop") != 0; }},
    {"f16c", [] { return __builtin_cpu_supports("f16c") != 0; }},
    {"bmi", [] { return __builtin_cpu_supports("bmi") != 0; }},
    {"bmi2", [] { return __builtin_cpu_supports("bmi2") != 0; }},
    {"adx", [] { return __builtin_cpu_supports("adx") != 0; }},
    {"sha", [] { return __builtin_cpu_supports("sha") != 0; }},
    {"gfni", [] { return __builtin_cpu_supports("gfni") != 0; }},
    {"vaes", [] { return __builtin_cpu_supports("vaes") != 0; }},
    {"vpclmulqdq", [] { return __builtin_cpu_supports("vpclmulqdq") != 0; }},
    {"avx512f", [] { return __builtin_cpu_supports("avx512f") != 0; }},
    {"avx512cd", [] { return __builtin_cpu_supports("avx512cd") != 0; }},
    {"avx512bw", [] { return __builtin_cpu_supports("avx512bw") != 0; }},
    {"avx512dq", [] { return __builtin_cpu_supports("avx512dq") != 0; }},
    {"avx512vl", [] { return __builtin_cpu_supports("avx512vl") != 0; }},
    {"avx512ifma", [] { return __builtin_cpu_supports("avx512ifma") != 0; }},
    {"avx512vbmi", [] { return __builtin_cpu_supports("avx512vbmi") != 0; }},
    {"avx512vbmi2", [] { return __builtin_cpu_supports("avx512vbmi2") != 0; }},
    {"avx512vnni", [] { return __builtin_cpu_supports("avx512vnni") != 0; }},
    {"avx512bitalg", [] { return __builtin_cpu_supports("avx512bitalg") != 0; }},
    {"avx512vpopcntdq", [] { return __builtin_cpu_supports("avx512vpopcntdq") != 0; }},
    {"avx512bf16", [] { return __builtin_cpu_supports("avx512bf16") != 0; }},
    {"avxvnni", [] { return __builtin_cpu_supports("avxvnni") != 0; }},
    {"avx512fp16", [] { return __builtin_cpu_supports("avx512fp16") != 0; }},
    {"avx512vp2intersect", [] { return __builtin_cpu_supports("avx512vp2intersect") != 0; }},
    {"avx512er", [] { return __builtin_cpu_supports("avx512er") != 0; }},
    {"avx512pf", [] { return __builtin_cpu_supports("avx512pf") != 0; }},
    {"avx5124fmaps", [] { return __builtin_cpu_supports("avx5124fmaps") != 0; }},
    {"avx5124vnniw", [] { return __builtin_cpu_supports("avx5124vnniw") != 0; }},
    {"amx-tile", [] { return __builtin_cpu_supports("amx-tile") != 0; }},
    {"amx-int8", [] { return __builtin_cpu_supports("amx-int8") != 0; }},
    {"amx-bf16", [] { return __builtin_cpu_supports("amx-bf16") != 0; }},
};
#endif

// The rank in launchers' words, before MPI_Init can say it; "" when no
// launcher started this process (the variables mpi::launched() reads).
std::string launcher_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* r = std::getenv(v)) return r;
  return "";
}

// Runs ahead of every other static constructor of the executable (priority
// 101, the first one not reserved): theirs may already be code the CPU lacks.
__attribute__((constructor(101))) void refuse_a_cpu_without_the_build_isa() {
  const auto missing = isa_missing(isa_target());
  if (missing.empty()) return;
  char host[256] = "?";
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '?', host[1] = 0;
  host[sizeof host - 1] = 0;
  const auto rank = launcher_rank();
  std::fprintf(stderr, "[melon%s%s] %s\n", rank.empty() ? "" : " r", rank.c_str(),
               isa_refusal(missing, host, isa_built_on()).c_str());
  std::fflush(stderr);
  if (!rank.empty()) {
    // The other ranks wait in MPI_Init for this one, and a launcher does not
    // always end them when a rank exits first (srun without
    // --kill-on-bad-exit leaves them there for good). MPI is a shared
    // library built for any x86-64, so joining the job only to abort it runs
    // nothing this CPU lacks.
    int argc = 0;
    char** argv = nullptr;
    if (MPI_Init(&argc, &argv) == MPI_SUCCESS) MPI_Abort(MPI_COMM_WORLD, 2);
  }
  _exit(2);  // no exit(): the other static objects were never constructed
}

}  // namespace

std::string_view isa_target() { return trimmed(detail::kIsaTarget); }
std::string_view isa_built_on() { return detail::kIsaBuiltOn; }

bool isa_known([[maybe_unused]] std::string_view name) {
#ifdef MELON_ISA_CHECKED
  for (const auto& p : kProbes)
    if (name == p.name) return true;
#endif
  return false;
}

bool isa_present([[maybe_unused]] std::string_view name) {
#ifdef MELON_ISA_CHECKED
  __builtin_cpu_init();  // constructors may run before libgcc's own
  for (const auto& p : kProbes)
    if (name == p.name) return p.present();
#endif
  return false;
}

std::string isa_missing(std::string_view names, bool (*has)(std::string_view)) {
  std::string out;
  names = trimmed(names);
  while (!names.empty()) {
    const auto end = names.find(' ');
    const auto word = names.substr(0, end);
    if (!word.empty() && !has(word)) out += (out.empty() ? "" : " ") + std::string(word);
    names = end == std::string_view::npos ? std::string_view{} : names.substr(end + 1);
  }
  return out;
}

std::string isa_refusal(std::string_view missing, std::string_view host, std::string_view built_on) {
  return "melon cannot run on " + std::string(host) + ": it was compiled (on " + std::string(built_on) +
         ") for a CPU with " + std::string(missing) +
         ", which this one lacks. Where the nodes' CPUs differ, build with cmake -DMELON_NATIVE=OFF, or on a node "
         "of the oldest kind (README, \"Building without root\").";
}

}  // namespace melon::util
