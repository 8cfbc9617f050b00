// dataset/marker: a folder is complete only with a marker that matches its JSON files.
#include "melon/dataset/marker.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {
namespace fs = std::filesystem;

std::string folder(const std::string& name) {
  auto d = ::testing::TempDir() + "melon_marker_" + std::to_string(::getpid()) + "_" + name;
  fs::remove_all(d);
  fs::create_directories(d + "/answers");
  fs::create_directories(d + "/arena_mel/0");
  std::ofstream(d + "/train.json") << R"([{"id": 1}])";
  std::ofstream(d + "/answers/val.json") << "[]";
  std::ofstream(d + "/arena_mel/0/1.npy") << "not json";
  return d;
}

TEST(DatasetMarker, MissingMarkerIsNamedWithTheWayOut) {
  const auto d = folder("none");
  const auto why = melon::dataset::check_marker(d);
  EXPECT_NE(why.find(d + " has no completion marker melon-dataset.done"), std::string::npos) << why;
  EXPECT_NE(why.find("--trust-data"), std::string::npos) << why;
  fs::remove_all(d);
}

TEST(DatasetMarker, MarkerMatchesUntilAJsonFileChanges) {
  const auto d = folder("change");
  melon::dataset::write_marker(d, "test", R"({"seed": 1})", 1);
  EXPECT_EQ(melon::dataset::check_marker(d), "");
  std::ifstream in(melon::dataset::marker_path(d));
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("\"answers/val.json\""), std::string::npos) << text;
  EXPECT_EQ(text.find("npy"), std::string::npos) << text;  // mel files are counted, not listed
  std::ofstream(d + "/train.json") << R"([{"id": 2}])";    // same size, other bytes
  auto why = melon::dataset::check_marker(d);
  EXPECT_NE(why.find("train.json differs"), std::string::npos) << why;
  std::ofstream(d + "/train.json") << R"([{"id": 22}])";
  why = melon::dataset::check_marker(d);
  EXPECT_NE(why.find("train.json has 12 bytes, melon-dataset.done says 11"), std::string::npos) << why;
  fs::remove(d + "/answers/val.json");
  melon::dataset::write_marker(d, "test", "{}", -1);
  EXPECT_EQ(melon::dataset::check_marker(d), "");
  fs::remove(d + "/train.json");
  why = melon::dataset::check_marker(d);
  EXPECT_NE(why.find("train.json is listed in melon-dataset.done but missing"), std::string::npos) << why;
  melon::dataset::remove_marker(d);
  EXPECT_FALSE(fs::exists(melon::dataset::marker_path(d)));
  fs::remove_all(d);
}

}  // namespace
