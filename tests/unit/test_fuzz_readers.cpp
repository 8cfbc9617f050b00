// Seeded mutation fuzzing of the input readers: from small valid inputs,
// 10,000 damaged variants per reader (tests/support/mutate.hpp). A reader may
// accept a variant or refuse it with melon::Error; any other exception fails,
// and a crash, an out-of-bounds read or undefined behaviour fails under the
// Sanitize build (ASan + UBSan), a hang under CTest's timeout. A failure
// prints the seed and iteration, which replay exactly.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "melon/arena/io.hpp"
#include "melon/cli/cli.hpp"
#include "melon/error.hpp"
#include "melon/mel/npy.hpp"
#include "../support/mutate.hpp"

using namespace melon;

namespace {
constexpr int kInputs = 10000;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string data(const std::string& name) { return slurp(std::string(MELON_TEST_DATA) + "/" + name); }

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "melon_fuzz_" + std::to_string(::getpid()) + "_" + name;
}

// The start of an input, printable, for a failure message.
std::string excerpt(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 160)) {
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

struct Tally {
  int accepted = 0, refused = 0;
  double seconds = 0;
};

// Feeds kInputs mutants of the seeds to `read`; a quarter of them are mutants
// of the previous mutant, to get further from the valid shape.
Tally fuzz(const char* reader, std::uint64_t seed, const std::vector<std::string>& seeds,
           const std::function<void(const std::string&)>& read) {
  test::Mutator mutate(seed);
  Tally t;
  const auto start = std::chrono::steady_clock::now();
  std::string prev = seeds[0];
  testing::internal::CaptureStderr();  // the readers' warnings about repeated songs and the like
  for (int i = 0; i < kInputs; ++i) {
    const std::string input = mutate(i % 4 == 3 ? prev : seeds[static_cast<std::size_t>(i) % seeds.size()]);
    prev = input;
    try {
      read(input);
      ++t.accepted;
    } catch (const Error&) {
      ++t.refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << reader << " (seed " << seed << ", input " << i << "): " << typeid(e).name()
                    << " instead of melon::Error: " << e.what() << "\n  input: " << excerpt(input);
    } catch (...) {
      ADD_FAILURE() << reader << " (seed " << seed << ", input " << i
                    << "): a non-std exception\n  input: " << excerpt(input);
    }
  }
  testing::internal::GetCapturedStderr();
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[fuzz] %-12s %d inputs: %d accepted, %d refused with melon::Error, %.2f s\n", reader, kInputs,
              t.accepted, t.refused, t.seconds);
  EXPECT_EQ(t.accepted + t.refused, kInputs);
  EXPECT_GT(t.refused, 0) << "no mutant was refused: the mutator is not reaching " << reader;
  return t;
}

// The path readers read their input from: a file in memory (memfd), so that
// 10,000 rewrites cost no disk I/O (ext4 flushes a file truncated and
// rewritten on close, which made a temporary file 20x slower).
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("melon_fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("memfd_create failed");
  }
  ~MemFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  void write(const std::string& bytes) {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
      throw std::runtime_error("writing the memfd failed");
  }

 private:
  int fd_;
};

// A (48, frames) float32 .npy as numpy writes it, and a float16 version 2.0 one.
std::string npy_f4(int frames) {
  mel::Mel m;
  m.frames = frames;
  m.data.resize(static_cast<std::size_t>(mel::kBands) * frames);
  for (std::size_t i = 0; i < m.data.size(); ++i) m.data[i] = static_cast<float>(i % 97) - 40.5f;
  m.data[3] = -std::numeric_limits<float>::infinity();
  const auto path = temp_path("seed.npy");
  mel::write_npy(path, m, false);
  auto bytes = slurp(path);
  std::remove(path.c_str());
  return bytes;
}

std::string npy_f2_v2(int frames) {
  std::string dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (48, " + std::to_string(frames) + "), }";
  dict += std::string(64 - (12 + dict.size() + 1) % 64, ' ') + "\n";
  std::string s = "\x93NUMPY";
  s += '\x02';
  s += '\x00';
  for (int b = 0; b < 4; ++b) s += static_cast<char>((dict.size() >> (8 * b)) & 0xff);
  s += dict;
  for (int i = 0; i < mel::kBands * frames; ++i) s += i % 5 == 0 ? std::string("\x00\x7c", 2) : std::string("\x55\x3c");
  return s;
}
}  // namespace

TEST(FuzzReaders, PlaylistJsonGivesAResultOrAMelonError) {
  const auto seeds = {data("playlists_small.json"),
                      std::string(R"([{"tags": ["a", "a"], "id": 7, "plylst_title": null, "songs": [3, 3, 0], )"
                                  R"("like_cnt": 2, "updt_date": "2019-02-01 11:22:33.000"}])")};
  fuzz("train.json", 1501, seeds, [](const std::string& s) { arena::parse_playlists(s, "fuzz.json"); });
}

TEST(FuzzReaders, SongMetaJsonGivesAResultOrAMelonError) {
  fuzz("song_meta", 1502, {data("song_meta_quirks.json")},
       [](const std::string& s) { arena::parse_song_meta(s, "fuzz.json"); });
}

TEST(FuzzReaders, GenreJsonGivesAResultOrAMelonError) {
  fuzz("genre_gn_all", 1503, {data("genre_small.json")},
       [](const std::string& s) { arena::parse_genres(s, "fuzz.json"); });
}

// The .npy reader works on paths (pread of a header it checks before it
// allocates): one in-memory file, rewritten for every input.
TEST(FuzzReaders, NpyGivesASpectrogramOrAMelonError) {
  MemFile file;
  const auto path = file.path();
  mel::Mel m;
  fuzz("npy", 1504, {npy_f4(6), npy_f2_v2(4)}, [&](const std::string& s) {
    file.write(s);
    mel::read_npy(path, m, 64);
  });
}

// The job-file reader through cli::parse, as every command uses it: the INI
// syntax, sections, keys and the typed values of a command's options.
TEST(FuzzReaders, JobFileGivesOptionsOrAMelonError) {
  ASSERT_TRUE(cli::find_command("split") || cli::register_command({"split", "fuzz", nullptr}));
  MemFile file;
  const auto path = file.path();
  const std::string seed =
      "\xEF\xBB\xBF# a job\nseed = 3\nthreads = 2   # shared\n\n[split]\ninput = data/train.json\n"
      "out = runs/x\nseed = 777\nrate = 0.25\nlist = a,b\ncount = 12\nflag = on\n; end\n";
  fuzz("job file", 1505, {seed}, [&](const std::string& s) {
    file.write(s);
    cli::po::options_description d;
    d.add_options()("input", cli::po::value<std::string>())("out", cli::po::value<std::string>())(
        "seed", cli::po::value<std::uint64_t>())("threads", cli::po::value<int>())("rate", cli::po::value<double>())(
        "list", cli::po::value<std::string>())("count", cli::po::value<std::int64_t>())("flag",
                                                                                        cli::po::value<std::string>());
    cli::po::variables_map vm;
    std::string arg0 = "melon split", arg1 = "--config=" + path;
    char* argv[] = {arg0.data(), arg1.data()};
    cli::parse("split", d, 2, argv, vm);
    if (vm.count("flag")) cli::parse_bool("flag", vm["flag"].as<std::string>());
  });
  std::remove(path.c_str());
}
