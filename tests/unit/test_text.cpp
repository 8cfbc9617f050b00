#include <gtest/gtest.h>

#include <algorithm>

#include "melon/text/tokenize.hpp"

using melon::text::tokenize;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

TEST(Tokenize, KoreanWordsAndCharacterNgrams) {
  auto t = tokenize("여행같은 음악");
  EXPECT_TRUE(has(t, "w:여행같은"));
  EXPECT_TRUE(has(t, "w:음악"));
  EXPECT_TRUE(has(t, "g:여행"));
  EXPECT_TRUE(has(t, "g:행같"));
  EXPECT_TRUE(has(t, "g:같은"));
  EXPECT_TRUE(has(t, "g:여행같"));
  EXPECT_FALSE(has(t, "g:음악"));   // a two-letter word is its own token already
  EXPECT_FALSE(has(t, "g:은 음"));  // n-grams never cross words
}

TEST(Tokenize, EnglishIsLowerCasedAndSplitOnPunctuation) {
  auto t = tokenize("Rainy-Day R&B, CHILL!!");
  EXPECT_TRUE(has(t, "w:rainy"));
  EXPECT_TRUE(has(t, "w:day"));
  EXPECT_TRUE(has(t, "w:r"));
  EXPECT_TRUE(has(t, "w:b"));
  EXPECT_TRUE(has(t, "w:chill"));
  EXPECT_TRUE(has(t, "g:ch"));
  EXPECT_FALSE(has(t, "w:Chill"));
}

TEST(Tokenize, MixedScriptsEmojiAndDuplicates) {
  auto t = tokenize("비오는날 듣기 좋은 R&B 🎵 좋은");
  EXPECT_TRUE(has(t, "w:비오는날"));
  EXPECT_TRUE(has(t, "w:🎵"));
  EXPECT_EQ(std::count(t.begin(), t.end(), "w:좋은"), 1);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
}

TEST(Tokenize, EmptyAndInvalidInputNeverFail) {
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize("   !!! ...").empty());
  // Stray continuation bytes, a truncated sequence and an overlong '/' are dropped.
  auto t = tokenize(
      std::string("ab\x80\xC0\xAF"
                  "cd \xE6\x97"));
  EXPECT_TRUE(has(t, "w:abcd"));
  for (auto& s : t) EXPECT_EQ(melon::text::decode_utf8(s).size() > 0, true);
}

TEST(Tokenize, NgramRangeIsConfigurable) {
  melon::text::TokenizerOptions words_only{2, 1};
  auto t = tokenize("플레이리스트", words_only);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0], "w:플레이리스트");
  melon::text::TokenizerOptions bigrams{2, 2};
  EXPECT_EQ(tokenize("abcd", bigrams).size(), 1u + 3u);
}

TEST(Utf8, RoundTrips) {
  std::string s = "가a€😀";
  auto cps = melon::text::decode_utf8(s);
  ASSERT_EQ(cps.size(), 4u);
  std::string back;
  for (auto c : cps) melon::text::append_utf8(back, c);
  EXPECT_EQ(back, s);
}
