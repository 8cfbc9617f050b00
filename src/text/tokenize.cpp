#include "melon/text/tokenize.hpp"

#include <algorithm>

namespace melon::text {

std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      ++i;
      continue;
    }
    // Overlong forms and surrogates would give two spellings of one token.
    static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {
bool is_word_char(char32_t c) {
  if (c >= 0x80) {
    // Unicode spaces and invisible joiners separate or vanish, everything else counts.
    return !(c == 0xA0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200F) || c == 0xFEFF);
  }
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char32_t lower(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }
}  // namespace

std::vector<std::string> tokenize(std::string_view title, const TokenizerOptions& opt) {
  const auto cps = decode_utf8(title);
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < cps.size()) {
    while (i < cps.size() && !is_word_char(cps[i])) ++i;
    std::size_t j = i;
    while (j < cps.size() && is_word_char(cps[j])) ++j;
    if (j > i) {
      std::string w = "w:";
      for (auto k = i; k < j; ++k) append_utf8(w, lower(cps[k]));
      out.push_back(std::move(w));
      for (int n = std::max(opt.ngram_min, 1); n <= opt.ngram_max; ++n) {
        if (static_cast<std::size_t>(n) >= j - i) break;  // the whole word is already a token
        for (auto s = i; s + n <= j; ++s) {
          std::string g = "g:";
          for (auto k = s; k < s + n; ++k) append_utf8(g, lower(cps[k]));
          out.push_back(std::move(g));
        }
      }
    }
    i = j;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace melon::text
