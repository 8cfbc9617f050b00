// The strict .npy reader and writer (src/mel/npy.cpp). Fixtures are built byte
// by byte here, the way numpy.lib.format lays them out, so no python is needed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "melon/error.hpp"
#include "melon/mel/npy.hpp"

namespace {

using melon::mel::Mel;
using melon::mel::read_npy;
using melon::mel::write_npy;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "melon_npy_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string put(const std::string& name, const std::string& bytes) const {
    std::string p = path(name);
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(f.good()) << p;
    return p;
  }

  static std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }

  std::string dir_;
};

// An .npy file as numpy lays it out: magic, version, header length, the dict
// padded with spaces and a '\n' so the data starts at a multiple of 64, payload.
std::string npy(const std::string& dict, const std::string& payload, int major = 1, int minor = 0) {
  const std::size_t pre = major == 1 ? 10 : 12;
  std::size_t total = pre + dict.size() + 1;
  std::string header = dict + std::string((total + 63) / 64 * 64 - total, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  std::uint32_t n = static_cast<std::uint32_t>(header.size());
  for (std::size_t i = 0; i < pre - 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + payload;
}

std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

std::string f32_payload(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string f16_payload(const std::vector<std::uint16_t>& v) {
  std::string s;
  for (std::uint16_t h : v) {
    s += static_cast<char>(h & 0xff);
    s += static_cast<char>(h >> 8);
  }
  return s;
}

std::string zeros(std::size_t n) { return std::string(n, '\0'); }

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 0.25f - 7.0f;
  return v;
}

// Reading `p` throws melon::Error whose message starts with the path and
// contains every one of `parts`.
void expect_error(const std::string& p, std::initializer_list<const char*> parts, int max_frames = 1 << 16) {
  try {
    read_npy(p, max_frames);
    ADD_FAILURE() << p << ": read_npy did not throw";
  } catch (const melon::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << "message does not start with the path: " << msg;
    for (const char* part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
  }
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// ---- round trip and layout ----

TEST_F(NpyTest, RoundTripWriteReadKeepsEveryValueBitExact) {
  Mel m;
  m.frames = 37;
  m.data = ramp(48 * 37);
  m.data[0] = -std::numeric_limits<float>::infinity();
  m.data[1] = std::numeric_limits<float>::infinity();
  m.data[2] = std::numeric_limits<float>::quiet_NaN();
  m.data[3] = std::numeric_limits<float>::denorm_min();
  m.data[4] = -0.0f;
  m.data[48 * 37 - 1] = 1e30f;
  const std::string p = path("rt.npy");
  write_npy(p, m);
  Mel r = read_npy(p);
  EXPECT_EQ(r.bands, 48);
  EXPECT_EQ(r.frames, 37);
  ASSERT_EQ(r.data.size(), m.data.size());
  for (std::size_t i = 0; i < m.data.size(); ++i) EXPECT_TRUE(same_bits(r.data[i], m.data[i])) << i;
}

TEST_F(NpyTest, WriteLaysOutTheHeaderAsNumpyDoes) {
  Mel m;
  m.frames = 3;
  m.data = ramp(48 * 3);
  const std::string p = path("layout.npy");
  write_npy(p, m);
  const std::string bytes = slurp(p);
  // Exactly what numpy.save(np.zeros((48, 3), '<f4')) writes before the data.
  const std::string expected = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (48, 3), }", f32_payload(m.data));
  EXPECT_EQ(bytes, expected);
  ASSERT_GE(bytes.size(), 10u);
  const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(bytes[10 + hlen - 1], '\n');
  EXPECT_EQ(bytes.size(), 10 + hlen + 48 * 3 * 4);
}

TEST_F(NpyTest, WriteIsAtomicAndLeavesNoTempFile) {
  Mel m;
  m.frames = 1;
  m.data.assign(48, 1.0f);
  const std::string p = path("atomic.npy");
  write_npy(p, m);
  write_npy(p, m);  // overwrite in place
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(read_npy(p).frames, 1);
  // Only the final file is there: no "<path>.tmp.<pid>" left behind.
  const int n = std::system(("test $(ls -A '" + dir_ + "' | wc -l) -eq 1").c_str());
  EXPECT_EQ(n, 0) << "temp files left in " << dir_;
}

TEST_F(NpyTest, WriteRejectsDataThatDoesNotMatchTheShape) {
  Mel m;
  m.frames = 2;
  m.data.assign(48 * 2 - 1, 0.0f);
  EXPECT_THROW(write_npy(path("bad.npy"), m), melon::Error);
  struct stat st;
  EXPECT_NE(::stat(path("bad.npy").c_str(), &st), 0) << "nothing may be written";
}

TEST_F(NpyTest, ReadIntoReusesTheCallersBuffer) {
  Mel m;
  m.frames = 10;
  m.data = ramp(480);
  write_npy(path("a.npy"), m);
  m.frames = 5;
  m.data = ramp(240);
  write_npy(path("b.npy"), m);
  Mel out;
  read_npy(path("a.npy"), out);
  const float* buf = out.data.data();
  read_npy(path("b.npy"), out);
  EXPECT_EQ(out.frames, 5);
  EXPECT_EQ(out.data.size(), 240u);
  EXPECT_EQ(out.data.data(), buf) << "a shorter file must not reallocate";
  EXPECT_EQ(out.data, ramp(240));
}

// ---- float16 and header variants ----

TEST_F(NpyTest, ReadsFloat16FileAsNumpyWritesIt) {
  // np.array(..., dtype='<f2').reshape(48, 2): the special values first, then 1.0.
  std::vector<std::uint16_t> h(48 * 2, 0x3c00);
  const std::uint16_t special[] = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff,
                                   0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555, 0x8001};
  std::copy(std::begin(special), std::end(special), h.begin());
  const std::string p = put("f16.npy", npy(dict("<f2", "(48, 2)"), f16_payload(h)));
  Mel r = read_npy(p);
  EXPECT_EQ(r.bands, 48);
  EXPECT_EQ(r.frames, 2);
  ASSERT_EQ(r.data.size(), 96u);
  EXPECT_EQ(r.data[0], 1.0f);
  EXPECT_EQ(r.data[1], -2.0f);
  EXPECT_EQ(r.data[2], std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(r.data[3], std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(r.data[4], std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(r.data[5], 65504.0f);                  // largest finite
  EXPECT_EQ(r.data[6], std::numeric_limits<float>::infinity());
  EXPECT_EQ(r.data[7], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(r.data[8]));
  EXPECT_TRUE(same_bits(r.data[9], -0.0f));
  EXPECT_EQ(r.data[10], 0.333251953125f);  // 0x3555
  EXPECT_EQ(r.data[11], -std::ldexp(1.0f, -24));
  for (std::size_t i = 12; i < r.data.size(); ++i) EXPECT_EQ(r.data[i], 1.0f) << i;
}

TEST_F(NpyTest, HalfToFloatIsExactForEveryBitPattern) {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    const float got = melon::mel::half_to_float(h);
    const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float want;
    if (exp == 0) want = std::ldexp(static_cast<float>(mant), -24);
    else if (exp < 31) want = std::ldexp(static_cast<float>(1024 + mant), exp - 25);
    else want = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    if (sign) want = -want;
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << b;
      std::uint32_t gb;
      std::memcpy(&gb, &got, 4);
      ASSERT_EQ(gb, (static_cast<std::uint32_t>(sign) << 31) | 0x7f800000u | (static_cast<std::uint32_t>(mant) << 13))
          << "NaN payload not kept for " << std::hex << b;
    } else {
      ASSERT_TRUE(same_bits(got, want)) << std::hex << b << ": " << got << " vs " << want;
    }
  }
}

TEST_F(NpyTest, Float16FileWithEveryBitPatternMatchesHalfToFloat) {
  // 48 x 1366 = 65568 values: all 65536 binary16 patterns (the bulk, vectorised path).
  std::vector<std::uint16_t> h(48 * 1366);
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint16_t>(i);
  Mel r = read_npy(put("all16.npy", npy(dict("<f2", "(48, 1366)"), f16_payload(h))));
  ASSERT_EQ(r.data.size(), h.size());
  for (std::size_t i = 0; i < h.size(); ++i)
    ASSERT_TRUE(same_bits(r.data[i], melon::mel::half_to_float(h[i]))) << std::hex << h[i];
}

TEST_F(NpyTest, ReadsVersion2And3Headers) {
  const std::vector<float> v = ramp(48 * 3);
  for (int major : {2, 3}) {
    const std::string p = put("v" + std::to_string(major) + ".npy", npy(dict("<f4", "(48, 3)"), f32_payload(v), major));
    Mel r = read_npy(p);
    EXPECT_EQ(r.frames, 3);
    EXPECT_EQ(r.data, v);
  }
}

TEST_F(NpyTest, HeaderToleratesSpacingOrderingAndMissingTrailingComma) {
  const std::vector<float> v = ramp(48 * 2);
  const char* dicts[] = {
      "{'shape': (48, 2), 'fortran_order': False, 'descr': '<f4'}",
      "{ \"descr\" : \"<f4\" ,\t'fortran_order':False,'shape':(48,2,),}",
      "{'fortran_order': False,\n 'descr': '<f4',\n 'shape': ( 48 , 2 )\n}",
  };
  int i = 0;
  for (const char* d : dicts) {
    const std::string p = put("ok" + std::to_string(i++) + ".npy", npy(d, f32_payload(v)));
    Mel r = read_npy(p);
    EXPECT_EQ(r.frames, 2) << d;
    EXPECT_EQ(r.data, v) << d;
  }
}

TEST_F(NpyTest, AcceptsFramesUpToMaxFrames) {
  const std::string p = put("max.npy", npy(dict("<f4", "(48, 5)"), f32_payload(ramp(48 * 5))));
  EXPECT_EQ(read_npy(p, 5).frames, 5);
  expect_error(p, {"wrong shape", "(48, 5)", "[1, 4]"}, 4);
}

// ---- each failure class ----

TEST_F(NpyTest, MissingFileSaysNoSuchFile) { expect_error(path("nope.npy"), {"no such file"}); }

TEST_F(NpyTest, DirectoryIsNotARegularFile) { expect_error(dir_, {"not a regular file"}); }

TEST_F(NpyTest, BadMagicIsRejected) {
  std::string bytes = npy(dict("<f4", "(48, 1)"), zeros(48 * 4));
  bytes[1] = 'X';
  expect_error(put("magic.npy", bytes), {"bad magic"});
  expect_error(put("empty.npy", ""), {"bad magic"});
  expect_error(put("text.npy", "hello world, not numpy at all\n"), {"bad magic"});
  expect_error(put("short.npy", "\x93NUMPY\x01"), {"truncated", "preamble"});
}

TEST_F(NpyTest, UnsupportedVersionIsRejected) {
  expect_error(put("v4.npy", npy(dict("<f4", "(48, 1)"), zeros(48 * 4), 4)), {"unsupported .npy version 4.0"});
  expect_error(put("v0.npy", npy(dict("<f4", "(48, 1)"), zeros(48 * 4), 0)), {"unsupported .npy version 0.0"});
  expect_error(put("v11.npy", npy(dict("<f4", "(48, 1)"), zeros(48 * 4), 1, 1)), {"unsupported .npy version 1.1"});
}

TEST_F(NpyTest, MalformedHeaderDictIsRejected) {
  const std::string payload = zeros(48 * 4);
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected '{'"},
      {"[1, 2]", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'shape': (48, 1)}", "missing key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (48, 1)}", "missing key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (48, 1)}", "duplicate key 'descr'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (48, 1)}", "after a dict entry, found name fortran_order"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (48, 1)}", "expected ':' after a dict key"},
      {"{'descr': '<f4', \xe9'fortran_order': False, 'shape': (48, 1)}", "as a dict key, found byte \\xe9"},
      {"{'descr' = '<f4', 'fortran_order': False, 'shape': (48, 1)}", "after a dict key, found '='"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1)", "expected '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1)} x", "text after the closing '}'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (48, 1)}", "or ','"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (48, 1)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': false, 'shape': (48, 1)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [48, 1]}", "expected '('"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1.5)}", "not a plain integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48 1)}", "or ','"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48,, 1)}", "in the 'shape' tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (048, 1)}", "leading zero"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48)}", "not a tuple"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (48, 1)}", "'descr' must be a string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1), 'descr\\x': 1}", "unsupported character"},
      {"{descr: '<f4', 'fortran_order': False, 'shape': (48, 1)}", "as a dict key"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (48, 1)", "expected '}'"},
  };
  int i = 0;
  for (const auto& [d, why] : cases) {
    SCOPED_TRACE(d);
    expect_error(put("bad" + std::to_string(i++) + ".npy", npy(d, payload)), {"malformed .npy header", why});
  }
  // An unterminated string runs to the end of the header.
  expect_error(put("unterminated.npy", npy("{'descr': '<f4", payload)), {"unterminated string"});
}

TEST_F(NpyTest, WrongDtypeIsRejectedNamingTheDtype) {
  int i = 0;
  for (const char* descr : {"<f8", ">f4", "<i4", "|u1", "<f", "f4", "=f4", "<c8"}) {
    SCOPED_TRACE(descr);
    const std::string p = put("dtype" + std::to_string(i++) + ".npy", npy(dict(descr, "(48, 1)"), zeros(48 * 8)));
    expect_error(p, {"unsupported dtype", (std::string("'") + descr + "'").c_str()});
  }
}

TEST_F(NpyTest, FortranOrderTrueIsRejected) {
  expect_error(put("fortran.npy", npy(dict("<f4", "(48, 1)", "True"), zeros(48 * 4))), {"fortran_order True"});
}

TEST_F(NpyTest, WrongShapeIsRejected) {
  const std::pair<const char*, const char*> cases[] = {
      {"(48,)", "need a 2-d array"},    {"()", "need a 2-d array"},    {"(48, 2, 1)", "need a 2-d array"},
      {"(47, 2)", "need 48 bands"},     {"(49, 2)", "need 48 bands"},  {"(2, 48)", "need 48 bands"},
      {"(48, 0)", "frames must be in"}, {"(48, -1)", "bad dimension"}, {"(-48, 2)", "bad dimension"},
  };
  int i = 0;
  for (const auto& [shape, why] : cases) {
    SCOPED_TRACE(shape);
    expect_error(put("shape" + std::to_string(i++) + ".npy", npy(dict("<f4", shape), zeros(48 * 2 * 4))),
                 {"wrong shape", shape, why});
  }
}

TEST_F(NpyTest, TruncatedPayloadNamesExpectedAndActualBytes) {
  const std::string full = f32_payload(ramp(48 * 10));
  expect_error(put("trunc.npy", npy(dict("<f4", "(48, 10)"), full.substr(0, full.size() - 3))),
               {"truncated payload", "1920", "1917"});
  expect_error(put("trunc16.npy", npy(dict("<f2", "(48, 10)"), zeros(100))), {"truncated payload", "960", "100"});
  expect_error(put("nodata.npy", npy(dict("<f4", "(48, 10)"), "")), {"truncated payload", "1920", " 0"});
}

TEST_F(NpyTest, TrailingBytesAreRejected) {
  const std::string full = f32_payload(ramp(48 * 10));
  expect_error(put("trail.npy", npy(dict("<f4", "(48, 10)"), full + "x")), {"trailing bytes", "1920", "1921"});
  // A float32 payload under a float16 header is twice too long.
  expect_error(put("trail16.npy", npy(dict("<f2", "(48, 10)"), full)), {"trailing bytes", "960", "1920"});
}

TEST_F(NpyTest, AbsurdHeaderLengthIsRejectedWithoutAllocating) {
  std::string v2 = "\x93NUMPY\x02";
  v2 += '\0';
  v2 += "\xff\xff\xff\xff";
  v2 += dict("<f4", "(48, 1)") + "\n" + zeros(48 * 4);
  expect_error(put("hlen_v2.npy", v2), {"absurd .npy header length 4294967295"});
  // Within the bound but past the end of the file.
  std::string v1 = "\x93NUMPY\x01";
  v1 += '\0';
  v1 += "\xf0\xff";
  v1 += dict("<f4", "(48, 1)") + "\n";
  expect_error(put("hlen_v1.npy", v1), {"truncated .npy header", "65520"});
}

TEST_F(NpyTest, AbsurdFramesAreRejectedWithoutAllocating) {
  expect_error(put("huge.npy", npy(dict("<f4", "(48, 1000000000000)"), zeros(48 * 4))),
               {"wrong shape", "(48, 1000000000000)", "frames must be in"});
  expect_error(put("overflow.npy", npy(dict("<f4", "(48, 100000000000000000000000000000)"), zeros(48 * 4))),
               {"wrong shape", "bad dimension"});
  // Even when the caller allows huge T, the size is checked against the real
  // file before the 384 GB buffer would be allocated (ASan would abort on it).
  expect_error(put("big.npy", npy(dict("<f4", "(48, 2000000000)"), zeros(48 * 4))),
               {"truncated payload", "384000000000"}, INT_MAX);
}

TEST(NpyMelPath, SplitsByThousands) {
  EXPECT_EQ(melon::mel::mel_path("/data/arena_mel", 415263), "/data/arena_mel/415/415263.npy");
  EXPECT_EQ(melon::mel::mel_path("m", 0), "m/0/0.npy");
  EXPECT_EQ(melon::mel::mel_path("m", 999), "m/0/999.npy");
  EXPECT_EQ(melon::mel::mel_path("m", 1000), "m/1/1000.npy");
  EXPECT_EQ(melon::mel::mel_path("m", 707988), "m/707/707988.npy");
}

}  // namespace
