#include "melon/generate/text.hpp"

#include <cctype>

namespace melon::generate::text {
namespace {

const char* const kSyllables[] = {
    "가", "나", "다", "라", "마", "바", "사", "아", "자", "하", "한", "국", "민", "지", "수", "영", "현", "은", "서",
    "우", "진", "성", "준", "연", "유", "정", "희", "빛", "별", "꽃", "밤", "달", "숲", "봄", "눈", "비", "향", "결",
    "온", "솔", "들", "길", "새", "물", "불", "람", "노", "래", "소", "리", "너", "내", "우", "리", "시", "간", "하",
    "늘", "바", "다", "마", "음", "사", "랑", "이", "별", "기", "억", "추", "오", "늘", "내", "일", "그", "대", "모",
    "두", "여", "름", "겨", "울", "가", "을", "새", "벽", "노", "을", "구", "름", "파", "도", "햇", "살", "미", "소",
    "행", "복", "설", "렘", "청", "춘", "꿈", "속", "너", "머", "저", "편", "안", "녕", "어", "제", "처", "음", "끝",
    "맘", "밖", "곁", "품", "잠", "빗", "방", "울", "창", "문", "거", "리", "도", "시", "섬", "강", "산", "들"};
constexpr int kNSyl = sizeof kSyllables / sizeof kSyllables[0];

const char* const kSurnames[] = {"김", "이", "박", "최", "정", "강", "조", "윤",
                                 "장", "임", "한", "오", "서", "신", "권"};
const char* const kGiven[] = {"민", "지", "서", "윤", "하", "준", "현", "수", "연", "우", "진", "은", "영", "성",
                              "유", "아", "빈", "호", "재", "원", "태", "경", "혜", "나", "리", "인", "승", "주"};

const char* const kOnsets[] = {"b", "br", "c", "ch", "d", "dr", "f",  "fl", "g",  "gr", "h",  "j", "k", "l",
                               "m", "n",  "p", "pl", "r", "s",  "sh", "sl", "st", "t",  "tr", "v", "w", "z"};
const char* const kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "y"};
const char* const kCodas[] = {"", "", "", "n", "r", "s", "l", "t", "m", "ck", "ng", "x", "ze"};

template <class T, std::size_t N>
const char* pick(const T (&arr)[N], Rng& rng) {
  return arr[rng.below(static_cast<std::uint32_t>(N))];
}

std::string capitalize(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

const std::vector<std::string>& mood_words() {
  static const std::vector<std::string> v = {
      "기분전환", "감성",       "휴식",     "잔잔한",     "드라이브", "힐링",     "사랑",     "새벽",     "밤",
      "카페",     "여름",       "매장음악", "운동",       "신나는",   "추억",     "이별",     "겨울",     "설렘",
      "우울",     "봄",         "가을",     "공부",       "집중",     "잠잘때",   "출근길",   "퇴근길",   "비오는날",
      "센치",     "그루브",     "트렌디",   "몽환",       "청량",     "여행",     "위로",     "데이트",   "행복",
      "기분좋은", "스트레스",   "슬픔",     "파티",       "클럽",     "피아노",   "어쿠스틱", "시티팝",   "레트로",
      "편안한",   "따뜻한",     "쓸쓸한",   "외로움",     "그리움",   "첫사랑",   "짝사랑",   "고백",     "명곡",
      "추천",     "띵곡",       "숨은명곡", "국내",       "해외",     "팝송",     "빌보드",   "걸그룹",   "보이그룹",
      "케이팝",   "드라마",     "영화",     "크리스마스", "캐롤",     "벚꽃",     "바다",     "산책",     "아침",
      "오후",     "저녁",       "주말",     "혼자",       "분위기",   "감성힙합", "인디팝",   "모던록",   "로파이",
      "재즈힙합", "소울",       "펑크",     "디스코",     "국힙",     "랩",       "여자보컬", "남자보컬", "듀엣",
      "커버",     "라이브",     "리메이크", "2000년대",   "90년대",   "80년대",   "7080",     "올드팝",   "뮤지컬",
      "독서",     "수면",       "요가",     "명상",       "노동요",   "작업",     "코딩",     "샤워",     "청소",
      "캠핑",     "봄노래",     "여름노래", "겨울노래",   "가을노래", "설레는",   "달달한",   "몽글몽글", "새벽감성",
      "밤감성",   "감성발라드", "인디감성", "힙한",       "세련된",   "중독성",   "떼창",     "응원",     "졸업",
      "입학",     "생일",       "결혼",     "축하",       "위로곡",   "자존감",   "용기",     "희망",     "꿈",
      "청춘",     "학창시절",   "회상",     "향수",       "노을",     "별",       "달",       "비",       "눈",
      "바람",     "하늘",       "chill",    "pop",        "jazz",     "rnb",      "hiphop",   "indie",    "acoustic",
      "kpop",     "edm",        "house",    "lofi",       "soul",     "rock",     "ballad",   "ost",      "groove",
      "vibe",     "mood",       "night",    "drive",      "love",     "summer",   "workout",  "study",    "coffee"};
  return v;
}

const std::vector<std::string>& english_words() {
  static const std::vector<std::string> v = {
      "chill",  "vibes", "mood",   "night",  "drive", "love",   "summer",  "winter", "dream",  "midnight",
      "coffee", "rainy", "sunset", "groove", "soul",  "city",   "lights",  "blue",   "golden", "mellow",
      "my",     "best",  "daily",  "sweet",  "lazy",  "sunday", "morning", "feel",   "good",   "songs",
      "music",  "mix",   "tape",   "hits",   "party", "slow",   "late",    "starry", "ocean",  "memories"};
  return v;
}

const std::vector<std::string>& title_nouns() {
  static const std::vector<std::string> v = {"노래",  "음악", "모음", "플레이리스트", "playlist", "곡",     "명곡",
                                             "songs", "mix",  "BGM",  "노래모음",     "음악들",   "리스트", "트랙"};
  return v;
}

const std::vector<std::string>& title_modifiers() {
  static const std::vector<std::string> v = {
      "듣기 좋은", "할 때 듣는", "에 듣기 좋은", "같은", "가득한", "느낌의", "분위기", "감성의",
      "생각나는",  "어울리는",   "취향저격",     "미친", "찰떡",   "ver.",   "모음집", "모아듣기"};
  return v;
}

const std::vector<std::string>& emoji() {
  static const std::vector<std::string> v = {"🎧", "🌙", "☕", "🔥", "💕", "🌸", "❄️", "🎵",
                                             "✨", "🌊", "💙", "🌿", "🍂", "🚗", "💤"};
  return v;
}

std::string join(std::initializer_list<std::string> parts, std::string_view sep) {
  std::string s;
  bool first = true;
  for (auto& p : parts) {
    if (!first) s += sep;
    first = false;
    s += p;
  }
  return s;
}

std::string korean_word(Rng& rng, int syllables) {
  std::string s;
  for (int i = 0; i < syllables; ++i) s += kSyllables[rng.below(kNSyl)];
  return s;
}

std::string english_word(Rng& rng) {
  std::string s = pick(kOnsets, rng);
  s += pick(kVowels, rng);
  if (rng.chance(0.5)) {
    s += pick(kOnsets, rng);
    s += pick(kVowels, rng);
  }
  s += pick(kCodas, rng);
  return s;
}

std::string artist_name(Rng& rng) {
  const double u = rng.uniform();
  if (u < 0.45) {  // Korean person name
    std::string s = pick(kSurnames, rng);
    s += pick(kGiven, rng);
    s += pick(kGiven, rng);
    return s;
  }
  if (u < 0.70) {
    std::string s = capitalize(english_word(rng));
    if (rng.chance(0.3)) s.append(" ").append(capitalize(english_word(rng)));
    return s;
  }
  if (u < 0.85) return "The " + capitalize(english_word(rng)) + "s";
  if (u < 0.97) return korean_word(rng, rng.range(2, 3));
  return join({pick(kOnsets, rng), pick(kOnsets, rng)}, ".") + ".";  // acronym-like
}

std::string song_name(Rng& rng) {
  const double u = rng.uniform();
  std::string s;
  if (u < 0.45) {
    s = korean_word(rng, rng.range(1, 3));
    if (rng.chance(0.4)) s.append(" ").append(korean_word(rng, rng.range(1, 3)));
  } else if (u < 0.6) {
    s = join({pick(mood_words(), rng), korean_word(rng, rng.range(1, 2))});
  } else if (u < 0.9) {
    s = capitalize(pick(english_words(), rng));
    if (rng.chance(0.6)) s.append(" ").append(capitalize(english_word(rng)));
  } else {
    s = join({capitalize(english_word(rng)), korean_word(rng, 2)}, " (") + ")";
  }
  if (rng.chance(0.04)) s += " (Feat. " + artist_name(rng) + ")";
  if (rng.chance(0.02)) s += " (Inst.)";
  if (rng.chance(0.01)) s += " " + pick(emoji(), rng);
  return s;
}

std::string album_name(Rng& rng) {
  const double u = rng.uniform();
  if (u < 0.35) return korean_word(rng, rng.range(2, 4));
  if (u < 0.65) {
    std::string s = capitalize(english_word(rng));
    if (rng.chance(0.5)) s.append(" ").append(capitalize(pick(english_words(), rng)));
    return s;
  }
  if (u < 0.8) return "Vol. " + std::to_string(rng.range(1, 9));
  if (u < 0.9) return join({pick(mood_words(), rng), std::to_string(rng.range(1, 12))}, " OST Part.");
  return join({capitalize(english_word(rng)), pick(emoji(), rng)});
}

}  // namespace melon::generate::text
