#include "melon/generate/genres.hpp"

#include <cstdio>

#include "melon/error.hpp"

namespace melon::generate {
namespace {

// Names modelled on Melon's genre list; the same names are reused where the
// real list has domestic and foreign variants of one style.
const char* const kMajorNames[kMajorGenres] = {
    "발라드",       "댄스",     "랩/힙합", "R&B/Soul",     "인디음악",        "록/메탈",    "성인가요",
    "포크/블루스",  "POP",      "록/메탈", "일렉트로니카", "랩/힙합",         "R&B/Soul",   "포크/블루스/컨트리",
    "OST",          "클래식",   "재즈",    "뉴에이지",     "J-POP",           "월드뮤직",   "CCM",
    "어린이/태교",  "종교음악", "국악",    "아이돌",       "애니메이션/웹툰", "뮤직테라피", "키즈",
    "일렉트로니카", "중국음악"};

// What people type as a tag for the genre (several majors share a word).
const char* const kTagWords[kMajorGenres] = {
    "발라드", "댄스", "힙합", "알앤비", "인디",   "락",     "트로트", "포크",     "팝",     "메탈",
    "일렉",   "외힙", "RnB",  "컨트리", "OST",    "클래식", "재즈",   "뉴에이지", "제이팝", "월드뮤직",
    "CCM",    "태교", "찬양", "국악",   "아이돌", "애니",   "명상",   "동요",     "EDM",    "중국노래"};

// Real Melon listening skews to Korean pop styles; the tail genres host few tastes.
const double kPopularity[kMajorGenres] = {10,  9,   8,   6,   7, 5, 3,   3,   8,   2.5, 4, 3,   3,   2,   5,
                                          1.5, 2.5, 1.5, 1.5, 1, 1, 0.6, 0.5, 0.5, 4,   1, 0.6, 0.5, 1.5, 0.5};

// Details per major (GNxx01 included); sums to kDetailGenres.
const int kDetailCount[kMajorGenres] = {9, 10, 8, 7, 9, 10, 7, 8, 12, 10, 9, 8, 7, 7, 9,
                                        7, 8,  8, 7, 6, 6,  5, 6, 6,  8,  5, 6, 6, 5, 5};

const char* const kDetailNames[] = {
    "'80",        "'90",    "'00",        "'10-",       "국내",       "해외",       "어쿠스틱", "모던록",
    "얼터너티브", "하드록", "헤비메탈",   "펑크",       "일렉트로닉", "하우스",     "테크노",   "트랜스",
    "덥스텝",     "소울",   "펑크(Funk)", "컨템포러리", "어반",       "트랩",       "붐뱁",     "언더그라운드",
    "드라마",     "영화",   "뮤지컬",     "게임",       "피아노",     "오케스트라", "보컬재즈", "퓨전재즈",
    "스윙",       "라운지", "힐링",       "명상",       "트로트",     "블루스",     "컨트리",   "포크록",
    "시티팝",     "레트로", "아이돌",     "걸그룹",     "보이그룹",   "솔로",       "듀엣",     "리믹스"};

GenreTable build() {
  GenreTable t;
  int total = 0;
  const int n_detail_names = static_cast<int>(sizeof kDetailNames / sizeof kDetailNames[0]);
  for (int m = 0; m < kMajorGenres; ++m) {
    char code[16];
    std::snprintf(code, sizeof code, "GN%02d00", m + 1);
    t.major_code.push_back(code);
    t.major_name.push_back(kMajorNames[m]);
    t.popularity.push_back(kPopularity[m]);
    t.tag_word.push_back(kTagWords[m]);
    std::vector<std::string> codes, names;
    for (int d = 1; d <= kDetailCount[m]; ++d) {
      std::snprintf(code, sizeof code, "GN%02d%02d", m + 1, d);
      codes.push_back(code);
      names.push_back(d == 1 ? std::string("세부장르전체") : kDetailNames[(m * 7 + d * 3) % n_detail_names]);
    }
    total += kDetailCount[m];
    t.detail_code.push_back(std::move(codes));
    t.detail_name.push_back(std::move(names));
  }
  MELON_ASSERT(total == kDetailGenres, "detail genre table sums to " << total);
  return t;
}

}  // namespace

const GenreTable& genre_table() {
  static const GenreTable t = build();
  return t;
}

arena::GenreMap genre_map() {
  const auto& t = genre_table();
  arena::GenreMap m;
  for (int g = 0; g < kMajorGenres; ++g) {
    m[t.major_code[g]] = t.major_name[g];
    for (std::size_t d = 0; d < t.detail_code[g].size(); ++d) m[t.detail_code[g][d]] = t.detail_name[g][d];
  }
  return m;
}

}  // namespace melon::generate
