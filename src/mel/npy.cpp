// Strict NumPy .npy reader/writer for (48, T) mel-spectrograms.
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   "\x93NUMPY" major minor  HEADER_LEN (u16 LE for v1, u32 LE for v2/v3)  header dict  payload
// The reader trusts nothing in the header: every size it implies is checked
// against fixed bounds and the file's real size before anything is allocated.
#include "melon/mel/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"

static_assert(std::endian::native == std::endian::little, "melon's .npy code assumes a little-endian host");
static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);

namespace melon::mel {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::uint64_t kMaxHeaderLen = 64 * 1024;

// Closes the descriptor on every path out of read_npy.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// pread exactly n bytes at off; false if the file ends first (it shrank under us).
bool pread_all(int fd, void* buf, std::size_t n, std::uint64_t off, const std::string& path) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      MELON_THROW(path << ": read failed: " << std::strerror(errno));
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<std::uint64_t>(r);
  }
  return true;
}

// ---- header dict: a tiny tokenizer and parser for the Python literal numpy writes ----

enum class Tok { LBrace, RBrace, LParen, RParen, Colon, Comma, Str, Int, Name, Other, End };

struct Token {
  Tok kind = Tok::End;
  std::string_view text;  // string contents without quotes, digits, or the name
  std::uint64_t value = 0;
  bool neg = false;
  bool overflow = false;
};

const char* tok_name(Tok k) {
  switch (k) {
    case Tok::LBrace: return "'{'";
    case Tok::RBrace: return "'}'";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::Colon: return "':'";
    case Tok::Comma: return "','";
    case Tok::Str: return "a string";
    case Tok::Int: return "an integer";
    case Tok::Name: return "a name";
    case Tok::Other: return "a stray character";
    case Tok::End: return "end of header";
  }
  return "?";
}

class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& path) : s_(s), path_(path) { advance(); }

  const Token& peek() const { return cur_; }
  Token next() {
    Token t = cur_;
    advance();
    return t;
  }
  Token expect(Tok k, const char* where) {
    if (cur_.kind != k) fail(std::string("expected ") + tok_name(k) + " " + where + ", found " + describe(cur_));
    return next();
  }
  [[noreturn]] void fail(const std::string& what) const {
    MELON_THROW(path_ << ": malformed .npy header: " << what << " (header: " << printable() << ")");
  }

  std::string describe(const Token& t) const {
    switch (t.kind) {
      case Tok::Str: return "string '" + std::string(t.text) + "'";
      case Tok::Int: return "integer " + std::string(t.neg ? "-" : "") + std::string(t.text);
      case Tok::Name: return "name " + std::string(t.text);
      case Tok::Other: {
        const auto c = static_cast<unsigned char>(t.text[0]);
        if (c >= 0x20 && c < 0x7f) return "'" + std::string(t.text) + "'";
        static const char hex[] = "0123456789abcdef";
        return std::string("byte \\x") + hex[c >> 4] + hex[c & 15];
      }
      default: return tok_name(t.kind);
    }
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

  // The header, quoted for an error message: bounded, non-printables escaped.
  std::string printable() const {
    std::string out;
    std::size_t end = s_.size();  // the padding (spaces, '\n') says nothing
    while (end > 0 && is_space(s_[end - 1])) --end;
    for (std::size_t i = 0; i < end && out.size() < 200; ++i) {
      unsigned char c = static_cast<unsigned char>(s_[i]);
      if (c == '\n') {
        out += "\\n";
      } else if (c < 0x20 || c >= 0x7f) {
        static const char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    if (out.size() >= 200) out += "...";
    return out;
  }

  void advance() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
    cur_ = Token{};
    if (pos_ == s_.size()) return;  // End
    char c = s_[pos_];
    switch (c) {
      case '{':
        cur_.kind = Tok::LBrace;
        ++pos_;
        return;
      case '}':
        cur_.kind = Tok::RBrace;
        ++pos_;
        return;
      case '(':
        cur_.kind = Tok::LParen;
        ++pos_;
        return;
      case ')':
        cur_.kind = Tok::RParen;
        ++pos_;
        return;
      case ':':
        cur_.kind = Tok::Colon;
        ++pos_;
        return;
      case ',':
        cur_.kind = Tok::Comma;
        ++pos_;
        return;
      default: break;
    }
    if (c == '\'' || c == '"') {
      std::size_t start = ++pos_;
      while (pos_ < s_.size() && s_[pos_] != c) {
        char d = s_[pos_];
        if (d == '\n') fail("unterminated string literal");
        if (d == '\\' || d == '\n' || static_cast<unsigned char>(d) < 0x20 || static_cast<unsigned char>(d) >= 0x7f)
          fail("unsupported character in string literal");
        ++pos_;
      }
      if (pos_ == s_.size()) fail("unterminated string literal");
      cur_.kind = Tok::Str;
      cur_.text = s_.substr(start, pos_ - start);
      ++pos_;
      return;
    }
    if (is_digit(c) || c == '-' || c == '+') {
      if (c == '-' || c == '+') {
        cur_.neg = (c == '-');
        ++pos_;
        while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
        if (pos_ == s_.size() || !is_digit(s_[pos_])) fail("sign without digits");
      }
      std::size_t start = pos_;
      std::uint64_t v = 0;
      while (pos_ < s_.size() && is_digit(s_[pos_])) {
        unsigned d = static_cast<unsigned>(s_[pos_] - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) cur_.overflow = true;
        else v = v * 10 + d;
        ++pos_;
      }
      // Python 3 rejects leading zeros in decimal literals ("007"); so do we.
      if (pos_ - start > 1 && s_[start] == '0') fail("integer with a leading zero");
      if (pos_ < s_.size() && (is_alpha(s_[pos_]) || s_[pos_] == '.')) fail("not a plain integer");
      cur_.kind = Tok::Int;
      cur_.text = s_.substr(start, pos_ - start);
      cur_.value = v;
      return;
    }
    if (is_alpha(c)) {
      std::size_t start = pos_;
      while (pos_ < s_.size() && (is_alpha(s_[pos_]) || is_digit(s_[pos_]))) ++pos_;
      cur_.kind = Tok::Name;
      cur_.text = s_.substr(start, pos_ - start);
      return;
    }
    // Anything else ('[', '=', a non-ASCII byte...): a token the parser rejects in context.
    cur_.kind = Tok::Other;
    cur_.text = s_.substr(pos_, 1);
    ++pos_;
  }

  std::string_view s_;
  const std::string& path_;
  std::size_t pos_ = 0;
  Token cur_;
};

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<Token> shape;
};

Header parse_header(std::string_view text, const std::string& path) {
  HeaderParser p(text, path);
  Header h;
  bool have_descr = false, have_fortran = false, have_shape = false;
  p.expect(Tok::LBrace, "at the start of the header dict");
  while (p.peek().kind != Tok::RBrace) {
    Token key = p.expect(Tok::Str, "as a dict key");
    p.expect(Tok::Colon, "after a dict key");
    if (key.text == "descr") {
      if (have_descr) p.fail("duplicate key 'descr'");
      have_descr = true;
      if (p.peek().kind != Tok::Str) p.fail("'descr' must be a string (structured dtypes are not supported)");
      h.descr = std::string(p.next().text);
    } else if (key.text == "fortran_order") {
      if (have_fortran) p.fail("duplicate key 'fortran_order'");
      have_fortran = true;
      Token v = p.next();
      if (v.kind == Tok::Name && v.text == "True") h.fortran_order = true;
      else if (v.kind == Tok::Name && v.text == "False") h.fortran_order = false;
      else p.fail("'fortran_order' must be True or False");
    } else if (key.text == "shape") {
      if (have_shape) p.fail("duplicate key 'shape'");
      have_shape = true;
      p.expect(Tok::LParen, "to open the 'shape' tuple");
      bool comma_after_last = false;
      while (p.peek().kind != Tok::RParen) {
        h.shape.push_back(p.expect(Tok::Int, "in the 'shape' tuple"));
        comma_after_last = false;
        if (p.peek().kind == Tok::Comma) {
          p.next();
          comma_after_last = true;
        } else if (p.peek().kind != Tok::RParen) {
          p.expect(Tok::RParen, "or ',' in the 'shape' tuple");
        }
      }
      p.next();
      // "(48)" is an int in Python, not a 1-tuple: numpy writes "(48,)".
      if (h.shape.size() == 1 && !comma_after_last) p.fail("'shape' (N) is not a tuple; a 1-tuple is written (N,)");
      if (h.shape.size() > 32) p.fail("'shape' has more than 32 dimensions");
    } else {
      p.fail("unexpected key '" + std::string(key.text) + "' (allowed: 'descr', 'fortran_order', 'shape')");
    }
    if (p.peek().kind == Tok::Comma) p.next();
    else if (p.peek().kind != Tok::RBrace) p.expect(Tok::RBrace, "or ',' after a dict entry");
  }
  p.next();
  if (p.peek().kind != Tok::End) p.fail("text after the closing '}': " + p.describe(p.peek()));
  if (!have_descr) p.fail("missing key 'descr'");
  if (!have_fortran) p.fail("missing key 'fortran_order'");
  if (!have_shape) p.fail("missing key 'shape'");
  return h;
}

std::string shape_str(const std::vector<Token>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    if (shape[i].neg) s += '-';
    s += shape[i].text;
  }
  if (shape.size() == 1) s += ',';
  return s + ")";
}

std::uint32_t load_le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

}  // namespace

namespace {

// Branch-free so that the loop below vectorises. Exact: a normal binary16 moves
// its exponent bias (15 -> 127); a subnormal m * 2^-24 is renormalised by a
// float subtraction that is exact; inf/NaN keep their mantissa bits (NaN
// payload and quiet bit included).
inline std::uint32_t half_bits_to_float_bits(std::uint32_t h) {
  const std::uint32_t o = (h & 0x7fffu) << 13;  // exponent + mantissa, in float position
  const std::uint32_t exp = o & 0x0f800000u;
  const std::uint32_t normal = o + ((127u - 15u) << 23);
  const std::uint32_t infnan = o + ((255u - 31u) << 23);
  const std::uint32_t sub = std::bit_cast<std::uint32_t>(std::bit_cast<float>(o + (113u << 23)) -
                                                         std::bit_cast<float>(113u << 23));
  const std::uint32_t mag = exp == 0x0f800000u ? infnan : (exp == 0 ? sub : normal);
  return mag | (h & 0x8000u) << 16;
}

// Not inlined: inside read_npy the compiler loses __restrict and emits scalar, branchy code (7x slower).
[[gnu::noinline]] void halves_to_floats(const std::uint16_t* __restrict in, float* __restrict out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(half_bits_to_float_bits(in[i]));
}

}  // namespace

float half_to_float(std::uint16_t h) { return std::bit_cast<float>(half_bits_to_float_bits(h)); }

void read_npy(const std::string& path, Mel& out, int max_frames) {
  Fd fd;
  do {
    fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd.fd < 0 && errno == EINTR);
  if (fd.fd < 0) {
    if (errno == ENOENT) MELON_THROW(path << ": no such file");
    MELON_THROW(path << ": cannot open: " << std::strerror(errno));
  }
  struct stat st;
  MELON_CHECK(::fstat(fd.fd, &st) == 0, path << ": cannot stat: " << std::strerror(errno));
  MELON_CHECK(S_ISREG(st.st_mode), path << ": not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  // Magic, version and header length: at most 12 bytes.
  unsigned char pre[12] = {};
  const std::size_t pre_avail = file_size < sizeof pre ? static_cast<std::size_t>(file_size) : sizeof pre;
  MELON_CHECK(pread_all(fd.fd, pre, pre_avail, 0, path), path << ": file shrank while reading");
  MELON_CHECK(pre_avail >= kMagicLen && std::memcmp(pre, kMagic, kMagicLen) == 0,
              path << ": bad magic: not a NumPy .npy file (" << file_size << " bytes, does not start with \\x93NUMPY)");
  MELON_CHECK(pre_avail >= 10, path << ": truncated .npy preamble (" << file_size << " bytes)");
  const int major = pre[6], minor = pre[7];
  MELON_CHECK((major == 1 || major == 2 || major == 3) && minor == 0,
              path << ": unsupported .npy version " << major << "." << minor << " (need 1.0, 2.0 or 3.0)");
  std::uint64_t header_len, header_off;
  if (major == 1) {
    header_len = std::uint64_t(pre[8]) | std::uint64_t(pre[9]) << 8;
    header_off = 10;
  } else {
    MELON_CHECK(pre_avail >= 12, path << ": truncated .npy preamble (" << file_size << " bytes)");
    header_len = load_le32(pre + 8);
    header_off = 12;
  }
  MELON_CHECK(header_len <= kMaxHeaderLen,
              path << ": absurd .npy header length " << header_len << " (limit " << kMaxHeaderLen << ")");
  MELON_CHECK(header_off + header_len <= file_size, path << ": truncated .npy header: header length " << header_len
                                                         << " but the file has only " << file_size - header_off
                                                         << " bytes after the preamble");
  std::string header(static_cast<std::size_t>(header_len), '\0');
  MELON_CHECK(pread_all(fd.fd, header.data(), header.size(), header_off, path), path << ": file shrank while reading");

  const Header h = parse_header(header, path);
  std::size_t itemsize;
  if (h.descr == "<f4") itemsize = 4;
  else if (h.descr == "<f2") itemsize = 2;
  else MELON_THROW(path << ": unsupported dtype '" << h.descr << "' (need '<f4' float32 or '<f2' float16)");
  MELON_CHECK(!h.fortran_order, path << ": fortran_order True is not supported (need C order)");
  MELON_CHECK(h.shape.size() == 2,
              path << ": wrong shape " << shape_str(h.shape) << ": need a 2-d array (" << kBands << ", T)");
  for (const Token& d : h.shape)
    MELON_CHECK(!d.neg && !d.overflow, path << ": wrong shape " << shape_str(h.shape) << ": bad dimension");
  MELON_CHECK(h.shape[0].value == static_cast<std::uint64_t>(kBands),
              path << ": wrong shape " << shape_str(h.shape) << ": need " << kBands << " bands");
  const std::uint64_t frames = h.shape[1].value;
  MELON_CHECK(frames >= 1 && frames <= static_cast<std::uint64_t>(max_frames),
              path << ": wrong shape " << shape_str(h.shape) << ": frames must be in [1, " << max_frames << "]");

  // Payload: exactly bands * T * itemsize bytes, measured against the real file.
  const std::uint64_t n = static_cast<std::uint64_t>(kBands) * frames;
  const std::uint64_t expected = n * itemsize;
  const std::uint64_t data_off = header_off + header_len;
  const std::uint64_t actual = file_size - data_off;
  MELON_CHECK(actual >= expected, path << ": truncated payload: shape " << shape_str(h.shape) << " " << h.descr
                                       << " needs " << expected << " bytes of data, file has " << actual);
  MELON_CHECK(actual == expected, path << ": trailing bytes after the payload: shape " << shape_str(h.shape) << " "
                                       << h.descr << " needs " << expected << " bytes of data, file has " << actual
                                       << " (" << actual - expected << " extra)");

  out.bands = kBands;
  out.frames = static_cast<int>(frames);
  out.data.resize(static_cast<std::size_t>(n));
  if (itemsize == 4) {
    MELON_CHECK(pread_all(fd.fd, out.data.data(), static_cast<std::size_t>(expected), data_off, path),
                path << ": file shrank while reading the payload");
  } else {
    // One scratch buffer per thread, reused across files.
    thread_local std::vector<std::uint16_t> halves;
    halves.resize(static_cast<std::size_t>(n));
    MELON_CHECK(pread_all(fd.fd, halves.data(), static_cast<std::size_t>(expected), data_off, path),
                path << ": file shrank while reading the payload");
    halves_to_floats(halves.data(), out.data.data(), static_cast<std::size_t>(n));
  }
}

Mel read_npy(const std::string& path, int max_frames) {
  Mel m;
  read_npy(path, m, max_frames);
  return m;
}

void write_npy(const std::string& path, const Mel& m, bool durable) {
  MELON_CHECK(m.bands >= 1 && m.frames >= 0, path << ": cannot write a (" << m.bands << ", " << m.frames << ") array");
  MELON_CHECK(m.data.size() == static_cast<std::size_t>(m.bands) * static_cast<std::size_t>(m.frames),
              path << ": cannot write: data has " << m.data.size() << " values, shape (" << m.bands << ", " << m.frames
                   << ") needs " << static_cast<std::size_t>(m.bands) * static_cast<std::size_t>(m.frames));
  // As numpy.lib.format writes it: dict repr, spaces, '\n', data at a multiple of 64.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.bands) + ", " +
                     std::to_string(m.frames) + "), }";
  const std::size_t preamble = 10;  // magic, version 1.0, u16 header length
  std::size_t total = preamble + dict.size() + 1;
  const std::size_t padded = (total + 63) / 64 * 64;
  std::string header = dict + std::string(padded - total, ' ') + '\n';
  MELON_ASSERT(header.size() <= 0xffff, "npy header too long");
  std::string pre(kMagic, kMagicLen);
  pre += '\x01';
  pre += '\x00';
  pre += static_cast<char>(header.size() & 0xff);
  pre += static_cast<char>(header.size() >> 8);
  pre += header;

  AtomicFile f(path, durable);
  f.write(pre);
  f.write(m.data.data(), m.data.size() * sizeof(float));
  f.commit();
}

std::string mel_path(const std::string& mel_dir, arena::SongId id) {
  return mel_dir + "/" + std::to_string(id / 1000) + "/" + std::to_string(id) + ".npy";
}

}  // namespace melon::mel
