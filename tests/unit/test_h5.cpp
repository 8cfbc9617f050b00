// The HDF5 wrapper (src/h5/h5.cpp), serial mode: round trips and error messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"

namespace {

using namespace melon::h5;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "melon_h5_" + std::to_string(::getpid()) + "_" + name;
}

TEST(H5, RoundTripsDatasetsAndAttributes) {
  const std::string path = temp_path("rt.h5");
  {
    File f = File::create(path, MPI_COMM_NULL);
    EXPECT_FALSE(f.parallel());
    {
      auto d = Dataset::create(f, "m", Type::F32, {3, 2}, {2, 2});
      const float a[] = {1, 2, 3, 4};
      const float b[] = {5, 6};
      d.write_rows(0, 2, a);
      d.write_rows(2, 1, b);
    }
    {
      auto d = Dataset::create(f, "v", Type::F64, {2});
      const double v[] = {0.5, -1e300};
      d.write_rows(0, 2, v);
      auto i = Dataset::create(f, "ids", Type::I32, {2});
      const std::int32_t ids[] = {7, 707988};
      i.write_rows(0, 2, ids);
      auto e = Dataset::create(f, "empty", Type::I32, {0});
      auto s = Dataset::create_strings(f, "why", 2, 8);
      s.write_strings(0, {"short", "longer than eight"});
    }
    f.set_attr("text", "한국어 ok");
    f.set_attr("n", std::int64_t{42});
    f.set_attr("x", 0.25);
    f.set_attr("n", std::int64_t{43});  // overwrite
    f.close();
  }
  File f = File::open(path, MPI_COMM_NULL);
  auto m = read_all<float>(f, "m");
  EXPECT_EQ(m, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  auto d = Dataset::open(f, "m");
  EXPECT_EQ(d.dims(), (std::vector<hsize_t>{3, 2}));
  EXPECT_EQ(d.type(), Type::F32);
  std::vector<double> asd(2);
  d.read_rows(1, 1, asd.data());  // converts on read
  EXPECT_EQ(asd, (std::vector<double>{3, 4}));
  EXPECT_EQ(read_all<double>(f, "v"), (std::vector<double>{0.5, -1e300}));
  EXPECT_EQ(read_all<std::int32_t>(f, "ids"), (std::vector<std::int32_t>{7, 707988}));
  EXPECT_TRUE(read_all<std::int32_t>(f, "empty").empty());
  auto why = Dataset::open(f, "why").read_strings();
  ASSERT_EQ(why.size(), 2u);
  EXPECT_EQ(why[0], "short");
  EXPECT_EQ(why[1], "longer t");
  EXPECT_EQ(f.attr_string("text"), "한국어 ok");
  EXPECT_EQ(f.attr_int("n"), 43);
  EXPECT_EQ(f.attr_double("x"), 0.25);
  EXPECT_TRUE(f.has_attr("x"));
  EXPECT_FALSE(f.has_attr("y"));
  std::remove(path.c_str());
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_sample(const std::string& path) {
  File f = File::create(path, MPI_COMM_NULL);
  {
    auto d = Dataset::create(f, "m", Type::F32, {3, 2}, {2, 2});
    const float a[] = {1, 2, 3, 4, 5, 6};
    d.write_rows(0, 3, a);
    auto s = Dataset::create_strings(f, "why", 1, 8);
    s.write_strings(0, {"reason"});
  }
  f.set_attr("n", std::int64_t{42});
  f.close();
}

// HDF5 stamps each object with its modification time unless told not to; then
// two runs of the same job, a second apart, would write different checkpoints.
TEST(H5, TheSameWritesInAnotherSecondGiveTheSameBytes) {
  const std::string a = temp_path("same_a.h5"), b = temp_path("same_b.h5");
  write_sample(a);
  const std::time_t first = std::time(nullptr);
  while (std::time(nullptr) == first) ::usleep(20'000);
  write_sample(b);
  const std::string x = slurp(a), y = slurp(b);
  EXPECT_FALSE(x.empty());
  EXPECT_TRUE(x == y) << "files written a second apart differ (" << x.size() << " and " << y.size() << " bytes)";
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(H5, ErrorsNameTheFileTheObjectAndTheOperation) {
  try {
    File::open("/nonexistent/dir/x.h5", MPI_COMM_NULL);
    FAIL();
  } catch (const melon::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("H5Fopen"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/nonexistent/dir/x.h5"), std::string::npos) << msg;
  }
  const std::string path = temp_path("err.h5");
  File f = File::create(path, MPI_COMM_NULL);
  try {
    Dataset::open(f, "missing");
    FAIL();
  } catch (const melon::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path + ":/missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("H5Dopen2"), std::string::npos) << msg;
  }
  EXPECT_THROW(f.attr_int("nope"), melon::Error);
  f.close();
  std::remove(path.c_str());
}

TEST(H5, FailedCreateIsOneLineWithTheOsErrorAndTheFinalName) {
  // A temp name "X.tmp.<pid>" is reported as X: the temp file is gone by then.
  try {
    File::create("/nonexistent/dir/x.h5.tmp.123", MPI_COMM_NULL);
    FAIL();
  } catch (const melon::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("/nonexistent/dir/x.h5: HDF5 H5Fcreate failed: No such file or directory", 0), 0u) << msg;
  }
}

}  // namespace
