// util/isa: the check that refuses a CPU without the extensions the build
// may use (a -march=native binary on an older node), instead of SIGILL.
#include <gtest/gtest.h>

#include <string>

#include "melon/util/isa.hpp"

using namespace melon;

namespace {
// A CPU with AVX2 and FMA but no AVX-512, as an older node of a mixed cluster.
bool haswell_like(std::string_view name) {
  return name == "sse3" || name == "ssse3" || name == "sse4.1" || name == "sse4.2" || name == "avx" || name == "avx2" ||
         name == "fma";
}
}  // namespace

TEST(Isa, EveryExtensionTheBuildTargetsIsOneTheCheckCanAskAbout) {
  // A name written by isa_target.cpp but unknown to the check would pass as
  // absent on every CPU: the binary would refuse to run anywhere.
  const std::string target(util::isa_target());
  std::size_t words = 0;
  for (std::size_t at = 0; at < target.size();) {
    const auto end = std::min(target.find(' ', at), target.size());
    const auto word = target.substr(at, end - at);
    EXPECT_TRUE(util::isa_known(word)) << "'" << word << "' in isa_target() \"" << target << "\"";
    ++words, at = end + 1;
  }
#if defined(__x86_64__) && defined(__AVX2__)
  EXPECT_GE(words, 2u) << "this source was compiled with AVX2, the target says \"" << target << "\"";
#endif
}

TEST(Isa, TheMachineThatBuiltTheTestsHasEverythingTheBuildTargets) {
  // The tests run where they were built: a refusal here is a wrong probe.
  EXPECT_EQ(util::isa_missing(util::isa_target()), "") << "target: " << util::isa_target();
}

TEST(Isa, MissingListsOnlyTheAbsentExtensionsInTargetOrder) {
  EXPECT_EQ(util::isa_missing("sse3 avx2 avx512f fma avx512bw", haswell_like), "avx512f avx512bw");
  EXPECT_EQ(util::isa_missing("  avx2  fma ", haswell_like), "");
  EXPECT_EQ(util::isa_missing("", haswell_like), "");
}

TEST(Isa, AnUnknownNameCountsAsAbsent) {
  EXPECT_FALSE(util::isa_known("avx1024"));
  EXPECT_FALSE(util::isa_present("avx1024"));
  EXPECT_EQ(util::isa_missing("avx1024"), "avx1024");
}

TEST(Isa, TheRefusalNamesTheNodeTheExtensionsAndTheRemedy) {
  const auto msg = util::isa_refusal("avx512f avx512bw", "node17", "login1");
  EXPECT_NE(msg.find("node17"), std::string::npos) << msg;
  EXPECT_NE(msg.find("login1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("avx512f avx512bw"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-DMELON_NATIVE=OFF"), std::string::npos) << msg;
}
