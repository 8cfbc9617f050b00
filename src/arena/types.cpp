#include "melon/arena/types.hpp"

#include <cctype>

namespace melon::arena {

std::int32_t date_key(const std::string& t) {
  // Accepts "YYYYMMDD..." and "YYYY-MM-DD...". Unknown month/day become 00 so
  // that the year still orders; a year of 0000 means no date at all.
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > t.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, y) || y == 0) return 0;
  std::size_t mpos = 4, dpos = 6;
  if (t.size() > 4 && t[4] == '-') {
    mpos = 5;
    dpos = 8;
  }
  if (!digits(mpos, 2, m) || m > 12) m = 0;
  if (m == 0 || !digits(dpos, 2, d) || d > 31) d = 0;
  return y * 10000 + m * 100 + d;
}

}  // namespace melon::arena
