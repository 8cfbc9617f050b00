// A strict JSON grammar walk that stops at the first fault and says where it
// is. Runs only after simdjson has refused a file, so it favours clear code
// over speed; an explicit stack (not recursion) keeps hostile nesting safe.
#include "json_locate.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace melon::arena::detail {
namespace {

// simdjson's default depth limit: deeper documents are refused there too.
constexpr std::size_t kMaxDepth = 1024;

// Length of the UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF); 0 when invalid; `left` bytes are available.
std::size_t utf8_length(const unsigned char* p, std::size_t left, bool& short_input) {
  short_input = false;
  const unsigned c = p[0];
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if (k >= left) {
      short_input = true;
      return 0;
    }
    const unsigned b = p[k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

int hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return -1;
  int v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

std::string describe_byte(unsigned char c) {
  if (c >= 0x21 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return std::string("byte ") + buf;
}

class Scanner {
  enum class Want { Value, ValueOrClose, Key, KeyOrClose, Colon, CommaOrClose };

 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  std::optional<JsonFault> run() {
    Want want = Want::Value;
    while (!hard_) {
      // A bad byte inside a string breaks no structure: read on to the end of
      // its record so that the message can name the record's id.
      if (soft_ && stack_.size() <= 1) break;
      skip_ws();
      if (i_ == s_.size()) {
        if (stack_.empty() && want == Want::CommaOrClose) break;
        if (stack_.empty() && want == Want::Value)
          fault(i_, s_.find_first_not_of(" \t\r\n") == std::string_view::npos ? "the file is empty"
                                                                              : "the file ends before any JSON value");
        else
          fault(i_, std::string("the file ends (truncated?) inside an unclosed ") +
                        (stack_.back() == '[' ? "array" : "object"));
        break;
      }
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == 0) {
        fault(i_, "NUL byte");
        break;
      }
      switch (want) {
        case Want::ValueOrClose:
          if (c == ']') {
            close();
            want = Want::CommaOrClose;
            break;
          }
          [[fallthrough]];
        case Want::Value:
          if (stack_.size() == 1 && stack_[0] == '[') begin_record();
          want = value(c);
          break;
        case Want::KeyOrClose:
          if (c == '}') {
            close();
            want = Want::CommaOrClose;
            break;
          }
          [[fallthrough]];
        case Want::Key: {
          if (stack_.size() == 1) begin_record();
          if (c != '"') {
            fault(i_, "expected a field name in double quotes, got " + describe_byte(c));
            break;
          }
          const auto start = i_ + 1;
          string();
          key_is_id_ = !hard_ && stack_.size() == 2 && stack_[0] == '[' && s_.substr(start, i_ - 1 - start) == "id";
          want = Want::Colon;
          break;
        }
        case Want::Colon:
          if (c != ':') fault(i_, "expected ':' after the field name, got " + describe_byte(c));
          ++i_;
          want = Want::Value;
          break;
        case Want::CommaOrClose:
          if (stack_.empty()) {
            fault(i_, "trailing content");
            if (soft_->problem == "trailing content") soft_->note = " (after the end of the JSON document)";
          } else if (c == ',') {
            ++i_;
            want = stack_.back() == '[' ? Want::Value : Want::Key;
          } else if (c == (stack_.back() == '[' ? ']' : '}')) {
            close();
          } else {
            fault(i_,
                  std::string("expected ',' or '") + (stack_.back() == '[' ? ']' : '}') + "', got " + describe_byte(c));
          }
          break;
      }
    }
    if (!soft_) return std::nullopt;
    if (soft_->record == record_ && record_id_) soft_->id = record_id_;
    return soft_;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  // Records the first fault; `hard` ones end the walk.
  void fault(std::size_t at, std::string problem, bool hard = true) {
    hard_ = hard_ || hard;
    if (soft_) return;
    soft_ = JsonFault{};
    soft_->offset = at;
    soft_->problem = std::move(problem);
    soft_->record = stack_.empty() ? -1 : record_;
  }

  void begin_record() {
    ++record_;
    record_id_.reset();
  }

  void close() {
    stack_.pop_back();
    ++i_;
  }

  Want value(unsigned char c) {
    if (c == '{' || c == '[') {
      if (stack_.size() >= kMaxDepth) {
        fault(i_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        return Want::CommaOrClose;
      }
      stack_.push_back(static_cast<char>(c));
      ++i_;
      return c == '{' ? Want::KeyOrClose : Want::ValueOrClose;
    }
    const bool id_here = key_is_id_;
    key_is_id_ = false;
    if (c == '"') string();
    else if (c == '-' || (c >= '0' && c <= '9')) number(id_here);
    else if (c == 't') literal("true");
    else if (c == 'f') literal("false");
    else if (c == 'n') literal("null");
    else fault(i_, "expected a JSON value, got " + describe_byte(c));
    return Want::CommaOrClose;
  }

  void literal(std::string_view word) {
    for (std::size_t k = 0; k < word.size(); ++k, ++i_) {
      if (i_ == s_.size()) return fault(i_, "the file ends (truncated?) inside '" + std::string(word) + "'");
      if (s_[i_] != word[k]) return fault(i_, "expected '" + std::string(word) + "', got " + describe_byte(s_[i_]));
    }
  }

  void number(bool is_id) {
    const auto start = i_;
    auto digits = [&] {
      const auto from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    auto bad = [&](const char* what) {
      if (i_ == s_.size()) fault(i_, "the file ends (truncated?) inside a number");
      else fault(i_, std::string("malformed number: ") + what + ", got " + describe_byte(s_[i_]));
    };
    bool integer = true;
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') ++i_;
    else if (!digits()) return bad("expected a digit");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      integer = false;
      if (!digits()) return bad("expected a digit after '.'");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      integer = false;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return bad("expected a digit in the exponent");
    }
    std::int64_t v = 0;
    if (is_id && integer && std::from_chars(s_.data() + start, s_.data() + i_, v).ec == std::errc()) record_id_ = v;
  }

  void string() {
    ++i_;  // the opening quote
    while (true) {
      if (i_ >= s_.size()) return fault(s_.size(), "the file ends (truncated?) inside a string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return;
      }
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return fault(s_.size(), "the file ends (truncated?) inside a string");
        const char e = s_[i_ + 1];
        if (e == 'u') {
          const int u = hex4(s_, i_ + 2);
          if (u < 0) return fault(i_, "malformed \\u escape in a string");
          i_ += 6;
          if (u >= 0xD800 && u <= 0xDBFF) {
            const int low = i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u' ? hex4(s_, i_ + 2) : -1;
            if (low >= 0xDC00 && low <= 0xDFFF) i_ += 6;
            else fault(i_ - 6, "unpaired UTF-16 surrogate in a \\u escape", false);
          } else if (u >= 0xDC00 && u <= 0xDFFF) {
            fault(i_ - 6, "unpaired UTF-16 surrogate in a \\u escape", false);
          }
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
          return fault(i_, "invalid escape '\\" + std::string(1, e) + "' in a string");
        i_ += 2;
        continue;
      }
      if (c < 0x20) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "control character U+%04X inside a string", c);
        fault(i_, c == 0 ? "NUL byte inside a string" : buf, false);
        ++i_;
        continue;
      }
      bool short_input = false;
      const auto n = utf8_length(reinterpret_cast<const unsigned char*>(s_.data() + i_), s_.size() - i_, short_input);
      if (short_input) return fault(s_.size(), "the file ends (truncated?) inside a string");
      if (n == 0) {
        fault(i_, "invalid UTF-8 (byte " + describe_byte(c).substr(5) + ")", false);
        ++i_;
        continue;
      }
      i_ += n;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<char> stack_;
  std::optional<JsonFault> soft_;  // the first fault, hard or soft
  bool hard_ = false, key_is_id_ = false;
  std::int64_t record_ = -1;
  std::optional<std::int64_t> record_id_;
};

}  // namespace

std::optional<JsonFault> locate_json_fault(std::string_view text) {
  auto f = Scanner(text).run();
  if (f) {
    const auto before = text.substr(0, std::min(f->offset, text.size()));
    f->line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const auto nl = before.rfind('\n');
    f->column = f->offset - (nl == std::string_view::npos ? 0 : nl + 1) + 1;
  }
  return f;
}

std::string position_of(std::string_view text, std::size_t offset) {
  const auto before = text.substr(0, std::min(offset, text.size()));
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const auto nl = before.rfind('\n');
  const auto column = offset - (nl == std::string_view::npos ? 0 : nl + 1) + 1;
  return "byte " + std::to_string(offset) + ", line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace melon::arena::detail
