#pragma once
// A seeded mutation fuzzer for the readers' tests: from a valid input, make
// damaged variants the way disks, networks and people damage files (bit flips,
// overwritten bytes, truncation, insertions, deleted and duplicated runs,
// "interesting" integers written over length fields). Same seed, same inputs,
// so a failure found in CI replays exactly.
#include <algorithm>
#include <cstdint>
#include <string>

#include "melon/util/rng.hpp"

namespace melon::test {

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  // 1 to 4 mutations of `in`, never returning it unchanged.
  std::string operator()(const std::string& in) {
    std::string s = in;
    const int n = 1 + static_cast<int>(below(4));
    for (int i = 0; i < n; ++i) mutate_once(s);
    if (s == in) s.push_back(static_cast<char>(below(256)));
    return s;
  }

 private:
  std::uint64_t below(std::uint64_t n) { return n ? rng_.next() % n : 0; }

  void mutate_once(std::string& s) {
    const std::size_t len = s.size();
    switch (below(8)) {
      case 0:  // flip one bit
        if (len) s[below(len)] ^= static_cast<char>(1u << below(8));
        break;
      case 1:  // overwrite one byte
        if (len) s[below(len)] = static_cast<char>(below(256));
        break;
      case 2:  // truncate
        s.resize(below(len + 1));
        break;
      case 3: {  // insert a few random bytes
        std::string ins(1 + below(8), '\0');
        for (auto& c : ins) c = static_cast<char>(below(256));
        s.insert(below(len + 1), ins);
        break;
      }
      case 4:  // delete a run
        if (len) {
          const auto at = below(len);
          s.erase(at, 1 + below(std::min<std::size_t>(64, len - at)));
        }
        break;
      case 5:  // duplicate a run elsewhere
        if (len) {
          const auto at = below(len);
          const auto run = s.substr(at, 1 + below(std::min<std::size_t>(64, len - at)));
          s.insert(below(len + 1), run);
        }
        break;
      case 6: {  // an "interesting" 8-byte integer over whatever is there
        static constexpr std::uint64_t kValues[] = {0,          1,          0x7f,          0x80,       0xff,
                                                    0x7fff,     0xffff,     0x7fffffff,    0xffffffff, ~0ull,
                                                    1ull << 63, 1ull << 32, 0x100000000ull};
        if (len >= 8) {
          const auto v = kValues[below(std::size(kValues))];
          const auto at = below(len - 7);
          for (int b = 0; b < 8; ++b) s[at + b] = static_cast<char>((v >> (8 * b)) & 0xff);
        }
        break;
      }
      default:  // a text-format special: quote, brace, digit, NUL, newline, high byte
        if (len) {
          static constexpr char kChars[] = {'"', '{', '}',  '[',  ']',  ',', ':', '\\', '-',    '9',
                                            '=', '#', '\0', '\n', '\r', ' ', 'e', '.',  '\xff', '\xc3'};
          s[below(len)] = kChars[below(sizeof kChars)];
        }
        break;
    }
  }

  melon::Rng rng_;
};

}  // namespace melon::test
