#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <functional>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/questions/types.hpp"

using namespace melon;

namespace {
std::string data(const std::string& name) { return std::string(MELON_TEST_DATA) + "/" + name; }

std::string write_tmp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "melon_io_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

// Asserts that reading fails with a message containing every fragment.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    FAIL() << "no error raised";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (auto* frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "missing '" << frag << "' in: " << msg;
  }
}

const char* kOk =
    R"({"tags": ["a"], "id": 1, "plylst_title": "t", "songs": [1, 2], "like_cnt": 3, "updt_date": "2015-01-01 00:00:00.000"})";
}  // namespace

TEST(ArenaIo, ReadsPlaylistsWithEmojiEmptyListsAndKoreanTitles) {
  auto pl = arena::read_playlists(data("playlists_small.json"));
  ASSERT_EQ(pl.size(), 3u);
  EXPECT_EQ(pl[0].id, 61281);
  EXPECT_EQ(pl[0].title, "여행같은 음악");
  EXPECT_EQ(pl[0].songs, (std::vector<arena::SongId>{0, 1, 2}));
  EXPECT_EQ(pl[1].title, "요즘 너 말야 😍");
  EXPECT_TRUE(pl[2].songs.empty() && pl[2].tags.empty() && pl[2].title.empty());
  EXPECT_EQ(questions::question_type(pl[2]), questions::QuestionType::TitleOnly);
  EXPECT_EQ(pl[0].like_cnt, 71);
}

TEST(ArenaIo, SongMetaSurvivesRealQuirks) {
  auto meta = arena::read_song_meta(data("song_meta_quirks.json"));
  ASSERT_EQ(meta.size(), 4u);
  EXPECT_FALSE(meta.songs[1].album_name.has_value());  // null album_name
  EXPECT_EQ(meta.songs[1].issue_date, "00000000");
  EXPECT_EQ(arena::date_key(meta.songs[1].issue_date), 0);
  EXPECT_EQ(arena::date_key(meta.songs[2].issue_date), 19860000);
  EXPECT_EQ(arena::date_key(meta.songs[3].issue_date), 20110000);  // month 51: year kept
  EXPECT_EQ(meta.songs[2].genres, std::vector<std::string>{"GN9000"});
  EXPECT_EQ(*meta.songs[2].album_name, "Hi \"quoted\" \\ 🎵");
  EXPECT_EQ(meta.songs[3].genres.size(), 2u);
}

TEST(ArenaIo, WrittenFilesReadBackIdentically) {
  auto meta = arena::read_song_meta(data("song_meta_quirks.json"));
  auto pl = arena::read_playlists(data("playlists_small.json"));
  auto g = arena::read_genres(data("genre_small.json"));
  std::string dir = ::testing::TempDir() + "melon_rt_" + std::to_string(::getpid()) + "_";
  arena::write_song_meta(dir + "m.json", meta);
  arena::write_playlists(dir + "p.json", pl);
  arena::write_genres(dir + "g.json", g);
  auto meta2 = arena::read_song_meta(dir + "m.json");
  auto pl2 = arena::read_playlists(dir + "p.json");
  EXPECT_EQ(arena::read_genres(dir + "g.json"), g);
  ASSERT_EQ(meta2.size(), meta.size());
  for (std::size_t i = 0; i < meta.size(); ++i)
    EXPECT_EQ(arena::to_json(meta2.songs[i]), arena::to_json(meta.songs[i]));
  ASSERT_EQ(pl2.size(), pl.size());
  for (std::size_t i = 0; i < pl.size(); ++i) EXPECT_EQ(arena::to_json(pl2[i]), arena::to_json(pl[i]));
}

TEST(ArenaIo, ResultsRoundTrip) {
  std::vector<arena::Result> r{{5, {1, 2, 3}, {"a", "b"}}, {6, {}, {"c\nd"}}};
  auto path = ::testing::TempDir() + "melon_results_" + std::to_string(::getpid()) + ".json";
  arena::write_results(path, r);
  auto back = arena::read_results(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].songs, r[0].songs);
  EXPECT_EQ(back[1].tags, r[1].tags);
}

TEST(ArenaIo, MalformedJsonNamesFileAndRecord) {
  auto p = write_tmp("malformed.json",
                     std::string("[") + kOk + ", {\"tags\": [\"a\"], \"id\": 2, \"songs\": [1,, 2]}]");
  expect_error([&] { arena::read_playlists(p); }, {"malformed.json", "record 1"});
}

TEST(ArenaIo, TruncatedFileIsAnError) {
  std::string s = std::string("[") + kOk + ", " + kOk;
  auto p = write_tmp("truncated.json", s.substr(0, s.size() - 20));
  expect_error([&] { arena::read_playlists(p); }, {"truncated.json"});
}

TEST(ArenaIo, WrongFieldTypeNamesField) {
  auto p = write_tmp(
      "wrongtype.json",
      R"([{"tags": "rock", "id": 9, "plylst_title": "t", "songs": [], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}])");
  expect_error([&] { arena::read_playlists(p); }, {"wrongtype.json", "record 0", "id 9", "'tags'", "expected array"});
  auto p2 = write_tmp(
      "wrongsong.json",
      R"([{"tags": [], "id": 9, "plylst_title": "t", "songs": [1, "2"], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}])");
  expect_error([&] { arena::read_playlists(p2); }, {"'songs'", "element 1", "expected integer"});
  auto p3 = write_tmp(
      "floatsong.json",
      R"([{"tags": [], "id": 9, "plylst_title": "t", "songs": [1.5], "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}])");
  expect_error([&] { arena::read_playlists(p3); }, {"'songs'"});
}

TEST(ArenaIo, MissingFieldIsNamed) {
  auto p = write_tmp(
      "missing.json",
      R"([{"tags": [], "id": 4, "plylst_title": "t", "like_cnt": 0, "updt_date": "2015-01-01 00:00:00.000"}])");
  expect_error([&] { arena::read_playlists(p); }, {"record 0", "id 4", "missing field 'songs'"});
}

TEST(ArenaIo, DuplicatePlaylistIdsAreRejected) {
  auto p = write_tmp("dupid.json", std::string("[") + kOk + ", " + kOk + "]");
  expect_error([&] { arena::read_playlists(p); }, {"dupid.json", "record 1", "duplicate playlist id", "record 0"});
}

TEST(ArenaIo, UnknownSongIdsAreRejectedAgainstSongMeta) {
  auto pl = arena::read_playlists(data("playlists_small.json"));
  expect_error([&] { arena::check_song_ids(pl, 3, "playlists_small.json"); },
               {"playlists_small.json", "record 1", "id 10532", "unknown song id 3"});
  EXPECT_NO_THROW(arena::check_song_ids(pl, 4, "x"));
}

TEST(ArenaIo, SongMetaNeedsDenseUniqueIds) {
  auto p = write_tmp("gap.json", R"([{"id": 0, "song_name": "a"}, {"id": 5, "song_name": "b"}])");
  expect_error([&] { arena::read_song_meta(p); }, {"gap.json", "record 1", "0..1"});
  auto p2 = write_tmp("dupsong.json", R"([{"id": 0}, {"id": 0}])");
  expect_error([&] { arena::read_song_meta(p2); }, {"duplicate song id"});
}

TEST(ArenaIo, MissingFileAndTrailingGarbage) {
  expect_error([&] { arena::read_playlists("/nonexistent/train.json"); }, {"/nonexistent/train.json", "cannot open"});
  auto p = write_tmp("trailing.json", std::string("[") + kOk + "] [");
  expect_error([&] { arena::read_playlists(p); }, {"trailing.json"});
  auto p2 = write_tmp("notarray.json", "{\"a\": 1}");
  expect_error([&] { arena::read_playlists(p2); }, {"notarray.json", "array"});
}

TEST(ArenaIo, InvalidUtf8IsRejected) {
  auto p = write_tmp("badutf8.json",
                     std::string("[{\"tags\": [\"\xff\xfe\"], \"id\": 1, \"plylst_title\": \"t\", \"songs\": [], "
                                 "\"like_cnt\": 0, \"updt_date\": \"2015-01-01 00:00:00.000\"}]"));
  expect_error([&] { arena::read_playlists(p); }, {"badutf8.json"});
}

TEST(ArenaIo, AtomicWriteLeavesNoTempFileAndReplacesTarget) {
  std::string path = ::testing::TempDir() + "melon_atomic_" + std::to_string(::getpid()) + ".json";
  arena::write_results(path, {{1, {1}, {"a"}}});
  arena::write_results(path, {{2, {2}, {"b"}}});
  EXPECT_EQ(arena::read_results(path)[0].id, 2);
  std::ifstream tmp(path + ".tmp." + std::to_string(::getpid()));
  EXPECT_FALSE(tmp.good());
}

TEST(ArenaIo, DateKeysOrderReleaseAgainstUpdateDates) {
  EXPECT_EQ(arena::date_key("2013-12-19 18:36:19.000"), 20131219);
  EXPECT_EQ(arena::date_key("20140512"), 20140512);
  EXPECT_LT(arena::date_key("20131218"), arena::date_key("2013-12-19 00:00:00.000"));
  EXPECT_EQ(arena::date_key("garbage"), 0);
}

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Three playlists, one per line, as the generator and the release lay them out.
std::string three_lines() {
  std::string s = "[";
  for (int id : {1, 2, 3}) {
    std::string r = kOk;
    r.replace(r.find("\"id\": 1"), 7, "\"id\": " + std::to_string(id));
    s += (id > 1 ? ",\n" : "") + r;
  }
  return s + "]\n";
}
}  // namespace

TEST(ArenaIoPositions, ATruncatedFileNamesWhereItEndsAndTheRecord) {
  const auto full = three_lines();
  const auto cut = full.find("\"songs\"", full.find("\"id\": 2"));  // inside record 1, line 2
  auto p = write_tmp("cut.json", full.substr(0, cut));
  const auto msg = error_of([&] { arena::read_playlists(p); });
  const auto col = cut - full.find('\n');
  for (auto frag : {std::string("cut.json: record 1 (id 2): the file ends"), "at byte " + std::to_string(cut),
                    "line 2, column " + std::to_string(col)})
    EXPECT_NE(msg.find(frag), std::string::npos) << "missing '" << frag << "' in: " << msg;
  EXPECT_EQ(msg.find("byte 0,"), std::string::npos) << msg;
}

TEST(ArenaIoPositions, TrailingContentIsItsOwnError) {
  auto p = write_tmp("trail.json", std::string("[") + kOk + "]\n  x");
  const auto msg = error_of([&] { arena::read_playlists(p); });
  const auto at = std::string("[") + kOk + "]\n  ";
  EXPECT_NE(msg.find("trail.json: trailing content at byte " + std::to_string(at.size()) + ", line 2, column 3"),
            std::string::npos)
      << msg;
  auto g = write_tmp("trail_genres.json", "{\"GN0100\": \"Ballad\"} {}");
  EXPECT_NE(error_of([&] { arena::read_genres(g); }).find("trailing content at byte 21, line 1, column 22"),
            std::string::npos);
}

TEST(ArenaIoPositions, InvalidUtf8NamesOffsetRecordAndId) {
  auto text = three_lines();
  const auto at = text.find("\"t\"", text.find("\"id\": 3")) + 1;  // record 2's title
  text[at] = '\xff';
  auto p = write_tmp("utf8.json", text);
  const auto msg = error_of([&] { arena::read_playlists(p); });
  EXPECT_NE(msg.find("utf8.json: record 2 (id 3): invalid UTF-8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte " + std::to_string(at) + ", line 3"), std::string::npos) << msg;
}

TEST(ArenaIoPositions, ANulByteNamesOffsetAndRecord) {
  auto text = three_lines();
  const auto at = text.find("\"t\"", text.find("\"id\": 2")) + 1;
  text[at] = '\0';
  auto p = write_tmp("nul.json", text);
  const auto msg = error_of([&] { arena::read_playlists(p); });
  EXPECT_NE(msg.find("nul.json: record 1 (id 2): NUL byte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte " + std::to_string(at) + ", line 2"), std::string::npos) << msg;
  auto text2 = three_lines();
  text2[text2.find(",\n")] = '\0';  // between records
  auto p2 = write_tmp("nul2.json", text2);
  EXPECT_NE(error_of([&] { arena::read_playlists(p2); }).find("NUL byte at byte " + std::to_string(text2.find('\0'))),
            std::string::npos);
}

TEST(ArenaIoPositions, ASyntaxErrorInsideARecordNamesItsPosition) {
  auto text = three_lines();
  const auto at = text.find("[1, 2]", text.find("\"id\": 2")) + 2;
  text.insert(at, ",");  // [1,, 2]
  auto p = write_tmp("syntax.json", text);
  const auto msg = error_of([&] { arena::read_playlists(p); });
  EXPECT_NE(msg.find("syntax.json: record 1 (id 2): expected a JSON value, got ','"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte " + std::to_string(at + 1) + ", line 2"), std::string::npos) << msg;
}

TEST(ArenaIoPositions, AMissingSongIsBlamedNotTheLastRecord) {
  std::string text = "[";
  for (int id = 0; id < 6; ++id)
    if (id != 3) text += std::string(id ? ",\n" : "") + "{\"id\": " + std::to_string(id) + ", \"song_name\": \"s\"}";
  auto p = write_tmp("meta_gap.json", text + "]");
  const auto msg = error_of([&] { arena::read_song_meta(p); });
  EXPECT_NE(msg.find("meta_gap.json: record 3 (id 4): id 4, expected 3: song 3 is missing"), std::string::npos) << msg;
  auto p2 = write_tmp("meta_shuffled_gap.json", R"([{"id": 1}, {"id": 0}, {"id": 3}])");
  EXPECT_NE(error_of([&] { arena::read_song_meta(p2); }).find("song 2 is missing"), std::string::npos);
}
