// Readers for the Arena JSON files, on simdjson's On-Demand API: it validates
// UTF-8 and parses at GB/s without building a DOM, so the 200 MB song_meta.json
// loads faster than Python's json.load (tools/bench/bench_parse.sh measures it).
// Every error names the file, the record (index, id once known) and the problem.
#include <simdjson.h>

#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "json_locate.hpp"
#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/util/log.hpp"

namespace melon::arena {
namespace {

namespace od = simdjson::ondemand;

const char* type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "unknown";
}

struct Loaded {
  simdjson::padded_string json;
  od::parser parser;
  od::document doc;
};

std::string_view text_of(const Loaded& L) { return {L.json.data(), L.json.size()}; }

std::string describe(const std::string& path, const detail::JsonFault& f) {
  std::string s = path;
  if (f.record >= 0) s += ": record " + std::to_string(f.record);
  if (f.id) s += " (id " + std::to_string(*f.id) + ")";
  return s + ": " + f.problem + " at " + "byte " + std::to_string(f.offset) + ", line " + std::to_string(f.line) +
         ", column " + std::to_string(f.column) + f.note;
}

// simdjson stops at the first thing it cannot use, often far from (or
// without) a position; when the text breaks the JSON grammar, the strict
// walk's position, record and id replace simdjson's words.
// " (near byte N, line L, column C)" of the parser, when it has a position.
std::string near(Loaded& L) {
  const char* loc = nullptr;
  if (L.doc.current_location().get(loc) || !loc || loc < L.json.data() || loc > L.json.data() + L.json.size())
    return "";
  return " (near " + detail::position_of(text_of(L), static_cast<std::size_t>(loc - L.json.data())) + ")";
}

[[noreturn]] void fail_at(Loaded& L, const std::string& path, const std::string& problem, bool has_doc = true) {
  if (auto f = detail::locate_json_fault(text_of(L))) throw Error(describe(path, *f));
  throw Error(path + ": " + problem + (has_doc ? near(L) : ""));
}

// Context for messages: "<path>: record <i> (id <id>): field '<f>': <problem>".
struct Where {
  const std::string& path;
  std::int64_t index = -1;
  std::int64_t id = std::numeric_limits<std::int64_t>::min();
  const char* field = nullptr;
  Loaded* loaded = nullptr;

  std::string str() const {
    std::string s = path;
    if (index >= 0) s += ": record " + std::to_string(index);
    if (id != std::numeric_limits<std::int64_t>::min()) s += " (id " + std::to_string(id) + ")";
    if (field) s += std::string(": field '") + field + "'";
    return s;
  }
};

// A problem in a record. When the text is not valid JSON up to and including
// this record, that is the real problem (simdjson reads ahead of its checks).
[[noreturn]] void fail(const Where& w, const std::string& problem) {
  if (!w.loaded) throw Error(w.str() + ": " + problem);
  if (auto f = detail::locate_json_fault(text_of(*w.loaded)); f && (w.index < 0 || f->record <= w.index))
    throw Error(describe(w.path, *f));
  throw Error(w.str() + ": " + problem + near(*w.loaded));
}

void check_ok(simdjson::error_code e, const Where& w, const char* doing) {
  if (e) fail(w, std::string(doing) + ": " + simdjson::error_message(e));
}

// Loads the file and returns its top-level array (or object, for genres).
void load(const std::string& path, Loaded& L) {
  struct stat st {};
  MELON_CHECK(::stat(path.c_str(), &st) == 0, path << ": cannot open (no such file or not readable)");
  MELON_CHECK(S_ISREG(st.st_mode), path << ": not a regular file");
  auto e = simdjson::padded_string::load(path).get(L.json);
  MELON_CHECK(!e, path << ": cannot read: " << simdjson::error_message(e));
  e = L.parser.iterate(L.json).get(L.doc);
  if (e) fail_at(L, path, std::string("not valid JSON: ") + simdjson::error_message(e), false);
}

// True when the parser has consumed the whole document (simdjson 3.0 has no
// document::at_end(): its location is out of bounds exactly then).
bool at_end(Loaded& L) {
  const char* loc = nullptr;
  return L.doc.current_location().get(loc) == simdjson::OUT_OF_BOUNDS;
}

od::json_type type_of(od::value& v, const Where& w) {
  od::json_type t{};
  check_ok(v.type().get(t), w, "reading value");
  return t;
}

void expect_type(od::value& v, od::json_type want, const Where& w) {
  auto t = type_of(v, w);
  if (t != want) fail(w, std::string("expected ") + type_name(want) + ", got " + type_name(t));
}

std::int64_t get_int(od::value& v, const Where& w) {
  expect_type(v, od::json_type::number, w);
  std::int64_t x = 0;
  auto e = v.get_int64().get(x);
  if (e) fail(w, std::string("expected an integer: ") + simdjson::error_message(e));
  return x;
}

std::string get_str(od::value& v, const Where& w) {
  expect_type(v, od::json_type::string, w);
  std::string_view s;
  check_ok(v.get_string().get(s), w, "reading string");
  return std::string(s);
}

bool is_null(od::value& v, const Where& w) { return type_of(v, w) == od::json_type::null; }

template <class F>
void for_each_element(od::value& v, const Where& w, F&& f) {
  expect_type(v, od::json_type::array, w);
  od::array arr;
  check_ok(v.get_array().get(arr), w, "reading array");
  std::size_t i = 0;
  for (auto el : arr) {
    od::value x;
    if (auto e = el.get(x)) fail(w, "element " + std::to_string(i) + ": " + simdjson::error_message(e));
    f(x, i++);
  }
}

std::vector<std::string> get_str_list(od::value& v, const Where& w) {
  std::vector<std::string> out;
  for_each_element(v, w, [&](od::value& x, std::size_t i) {
    if (type_of(x, w) != od::json_type::string)
      fail(w, "element " + std::to_string(i) + ": expected string, got " + type_name(type_of(x, w)));
    out.push_back(get_str(x, w));
  });
  return out;
}

std::vector<std::int64_t> get_int_list(od::value& v, const Where& w) {
  std::vector<std::int64_t> out;
  for_each_element(v, w, [&](od::value& x, std::size_t i) {
    std::int64_t n = 0;
    // Hot path: no separate type query; the type is looked up only to explain an error.
    if (x.get_int64().get(n)) {
      auto t = type_of(x, w);
      fail(w, "element " + std::to_string(i) + ": expected integer, got " +
                  (t == od::json_type::number ? std::string("a non-integer number") : type_name(t)));
    }
    out.push_back(n);
  });
  return out;
}

// Iterates the top-level array of objects; f(obj_fields, where) per record.
template <class F>
void for_each_record(Loaded& L, const std::string& path, F&& f) {
  od::array arr;
  auto e = L.doc.get_array().get(arr);
  if (e == simdjson::INCORRECT_TYPE) MELON_THROW(path << ": expected a JSON array of objects at the top level");
  if (e)
    fail_at(L, path, std::string("expected a JSON array of objects at the top level: ") + simdjson::error_message(e));
  std::int64_t index = 0;
  for (auto el : arr) {
    Where w{path, index};
    w.loaded = &L;
    od::value v;
    if (el.get(v)) fail(w, "malformed JSON");
    if (type_of(v, w) != od::json_type::object)
      fail(w, std::string("expected an object, got ") + type_name(type_of(v, w)));
    od::object obj;
    check_ok(v.get_object().get(obj), w, "reading object");
    // Released files put "id" after "tags": look it up first so that any later
    // error in this record can name the id, then rewind the object.
    od::value idv;
    std::int64_t id = 0;
    if (!obj.find_field_unordered("id").get(idv) && !idv.get_int64().get(id)) w.id = id;
    bool rewound = false;
    check_ok(obj.reset().get(rewound), w, "rewinding object");
    f(obj, w);
    ++index;
  }
  if (!at_end(L)) fail_at(L, path, "unexpected content after the top-level array");
}

// Generic object walk: calls on_field(key, value, where) for every field.
template <class F>
void for_each_field(od::object& obj, Where& w, F&& on_field) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) fail(w, "malformed field name");
    od::value v;
    if (field.value().get(v)) fail(w, "malformed value of field '" + std::string(key) + "'");
    on_field(key, v);
  }
}

// Keeps the first of repeated items. Checks by sorting a copy first: almost
// every real playlist has no repeats, and a hash set per playlist was the
// slowest part of reading train.json.
template <class T>
void dedupe_in_order(std::vector<T>& v, std::int64_t& dropped) {
  if (v.size() < 2) return;
  std::vector<T> sorted(v);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) return;
  std::vector<T> out;
  std::unordered_set<T> seen;
  for (auto& x : v)
    if (seen.insert(x).second) out.push_back(x);
    else ++dropped;
  v.swap(out);
}

std::vector<Result> results_from(Loaded& L, const std::string& path);

// JSON text in memory, for the parse_* functions.
void load_text(const std::string& json, const std::string& origin, Loaded& L) {
  L.json = simdjson::padded_string(json);
  auto e = L.parser.iterate(L.json).get(L.doc);
  if (e) fail_at(L, origin, std::string("not valid JSON: ") + simdjson::error_message(e), false);
}

std::vector<Playlist> playlists_from(Loaded& L, const std::string& path);
SongMeta song_meta_from(Loaded& L, const std::string& path);
GenreMap genres_from(Loaded& L, const std::string& path);

}  // namespace

std::vector<Playlist> read_playlists(const std::string& path) {
  Loaded L;
  load(path, L);
  return playlists_from(L, path);
}

std::vector<Playlist> parse_playlists(const std::string& json, const std::string& origin) {
  Loaded L;
  load_text(json, origin, L);
  return playlists_from(L, origin);
}

SongMeta read_song_meta(const std::string& path) {
  Loaded L;
  load(path, L);
  return song_meta_from(L, path);
}

SongMeta parse_song_meta(const std::string& json, const std::string& origin) {
  Loaded L;
  load_text(json, origin, L);
  return song_meta_from(L, origin);
}

GenreMap read_genres(const std::string& path) {
  Loaded L;
  load(path, L);
  return genres_from(L, path);
}

GenreMap parse_genres(const std::string& json, const std::string& origin) {
  Loaded L;
  load_text(json, origin, L);
  return genres_from(L, origin);
}

namespace {
std::vector<Playlist> playlists_from(Loaded& L, const std::string& path) {
  std::vector<Playlist> out;
  std::unordered_map<std::int64_t, std::int64_t> index_of_id;
  std::int64_t dup_items = 0;
  for_each_record(L, path, [&](od::object& obj, Where& w) {
    Playlist p;
    // Bit per required field: tags, id, plylst_title, songs, like_cnt, updt_date.
    unsigned seen = 0;
    for_each_field(obj, w, [&](std::string_view key, od::value& v) {
      if (key == "id") {
        w.field = "id";
        p.id = get_int(v, w);
        seen |= 1;
        w.id = p.id;
      } else if (key == "songs") {
        w.field = "songs";
        for (auto s : get_int_list(v, w)) {
          if (s < 0 || s > std::numeric_limits<SongId>::max())
            fail(w, "song id " + std::to_string(s) + " out of range");
          p.songs.push_back(static_cast<SongId>(s));
        }
        seen |= 2;
      } else if (key == "tags") {
        w.field = "tags";
        p.tags = get_str_list(v, w);
        seen |= 4;
      } else if (key == "plylst_title") {
        w.field = "plylst_title";
        p.title = is_null(v, w) ? std::string() : get_str(v, w);
        seen |= 8;
      } else if (key == "like_cnt") {
        w.field = "like_cnt";
        p.like_cnt = is_null(v, w) ? 0 : get_int(v, w);
        seen |= 16;
      } else if (key == "updt_date") {
        w.field = "updt_date";
        p.updt_date = get_str(v, w);
        if (date_key(p.updt_date) == 0) fail(w, "not a date: '" + p.updt_date + "'");
        seen |= 32;
      }
      // Other fields are ignored: later releases may add some.
      w.field = nullptr;
    });
    static const char* names[] = {"id", "songs", "tags", "plylst_title", "like_cnt", "updt_date"};
    for (int b = 0; b < 6; ++b)
      if (!(seen & (1u << b))) fail(w, std::string("missing field '") + names[b] + "'");
    auto [it, fresh] = index_of_id.emplace(p.id, w.index);
    if (!fresh) fail(w, "duplicate playlist id (also record " + std::to_string(it->second) + ")");
    dedupe_in_order(p.songs, dup_items);
    dedupe_in_order(p.tags, dup_items);
    out.push_back(std::move(p));
  });
  if (dup_items > 0)
    log::warn(path + ": dropped " + std::to_string(dup_items) + " repeated songs/tags within playlists (first kept)");
  return out;
}
}  // namespace

void check_song_ids(const std::vector<Playlist>& playlists, std::size_t n_songs, const std::string& path) {
  for (std::size_t i = 0; i < playlists.size(); ++i)
    for (auto s : playlists[i].songs)
      MELON_CHECK(static_cast<std::size_t>(s) < n_songs, path << ": record " << i << " (id " << playlists[i].id
                                                              << "): field 'songs': unknown song id " << s
                                                              << " (song_meta has ids 0.." << n_songs - 1 << ")");
}

namespace {
SongMeta song_meta_from(Loaded& L, const std::string& path) {
  std::vector<Song> songs;
  for_each_record(L, path, [&](od::object& obj, Where& w) {
    Song s;
    bool has_id = false;
    for_each_field(obj, w, [&](std::string_view key, od::value& v) {
      if (key == "id") {
        w.field = "id";
        auto id = get_int(v, w);
        if (id < 0 || id > std::numeric_limits<SongId>::max()) fail(w, "song id out of range");
        s.id = static_cast<SongId>(id);
        w.id = id;
        has_id = true;
      } else if (key == "song_name") {
        w.field = "song_name";
        s.name = is_null(v, w) ? std::string() : get_str(v, w);
      } else if (key == "song_gn_gnr_basket") {
        w.field = "song_gn_gnr_basket";
        s.genres = get_str_list(v, w);
      } else if (key == "song_gn_dtl_gnr_basket") {
        w.field = "song_gn_dtl_gnr_basket";
        s.detail_genres = get_str_list(v, w);
      } else if (key == "issue_date") {
        // Kept raw: the real file has "00000000", "19860000" and month 51.
        w.field = "issue_date";
        s.issue_date = is_null(v, w) ? std::string() : get_str(v, w);
      } else if (key == "album_id") {
        w.field = "album_id";
        s.album_id = is_null(v, w) ? -1 : get_int(v, w);
      } else if (key == "album_name") {
        w.field = "album_name";
        if (!is_null(v, w)) s.album_name = get_str(v, w);
      } else if (key == "artist_id_basket") {
        w.field = "artist_id_basket";
        s.artist_ids = get_int_list(v, w);
      } else if (key == "artist_name_basket") {
        w.field = "artist_name_basket";
        s.artist_names = get_str_list(v, w);
      }
      w.field = nullptr;
    });
    if (!has_id) fail(w, "missing field 'id'");
    songs.push_back(std::move(s));
  });
  // Dense ids 0..n-1, one record per id (the released file has them in order).
  SongMeta meta;
  meta.songs.resize(songs.size());
  std::vector<std::int64_t> where(songs.size(), -1);
  std::int64_t first_out_of_range = -1;
  for (std::size_t i = 0; i < songs.size(); ++i) {
    auto id = static_cast<std::size_t>(songs[i].id);
    if (id >= songs.size()) {
      if (first_out_of_range < 0) first_out_of_range = static_cast<std::int64_t>(i);
      continue;
    }
    MELON_CHECK(where[id] < 0,
                path << ": record " << i << " (id " << id << "): duplicate song id (also record " << where[id] << ")");
    where[id] = static_cast<std::int64_t>(i);
  }
  if (first_out_of_range >= 0) {
    // n records, no repeats, one id >= n: some id below n is missing. Blame
    // the gap, not the record that ends up past the end.
    const auto missing = static_cast<std::size_t>(std::find(where.begin(), where.end(), std::int64_t{-1}) -
                                                  where.begin());
    const auto range = "song ids must be 0.." + std::to_string(songs.size() - 1) + ", one record per id";
    bool in_order = missing < songs.size() && static_cast<std::size_t>(songs[missing].id) != missing;
    for (std::size_t i = 0; in_order && i < missing; ++i) in_order = static_cast<std::size_t>(songs[i].id) == i;
    if (in_order)
      MELON_THROW(path << ": record " << missing << " (id " << songs[missing].id << "): id " << songs[missing].id
                       << ", expected " << missing << ": song " << missing << " is missing (" << range << ")");
    const auto& bad = songs[static_cast<std::size_t>(first_out_of_range)];
    MELON_THROW(path << ": song " << missing << " is missing (" << range << "; record " << first_out_of_range
                     << " has id " << bad.id << ")");
  }
  for (auto& song : songs) meta.songs[static_cast<std::size_t>(song.id)] = std::move(song);
  return meta;
}

GenreMap genres_from(Loaded& L, const std::string& path) {
  od::object obj;
  auto e = L.doc.get_object().get(obj);
  if (e == simdjson::INCORRECT_TYPE) MELON_THROW(path << ": expected a JSON object of genre code -> name");
  if (e) fail_at(L, path, std::string("expected a JSON object of genre code -> name: ") + simdjson::error_message(e));
  GenreMap g;
  std::int64_t i = 0;
  for (auto field : obj) {
    std::string_view key, val;
    if (field.unescaped_key().get(key)) fail_at(L, path, "entry " + std::to_string(i) + ": malformed key");
    od::value v;
    if (field.value().get(v) || v.get_string().get(val))
      fail_at(L, path, "entry " + std::to_string(i) + " ('" + std::string(key) + "'): expected a string genre name");
    MELON_CHECK(g.emplace(std::string(key), std::string(val)).second,
                path << ": entry " << i << ": duplicate code '" << key << "'");
    ++i;
  }
  if (!at_end(L)) fail_at(L, path, "unexpected content after the top-level object");
  return g;
}
}  // namespace

std::vector<Result> read_results(const std::string& path) {
  Loaded L;
  load(path, L);
  return results_from(L, path);
}

std::vector<Result> parse_results(const std::string& json, const std::string& origin) {
  Loaded L;
  load_text(json, origin, L);
  return results_from(L, origin);
}

namespace {
std::vector<Result> results_from(Loaded& L, const std::string& path) {
  std::vector<Result> out;
  for_each_record(L, path, [&](od::object& obj, Where& w) {
    Result r;
    unsigned seen = 0;
    for_each_field(obj, w, [&](std::string_view key, od::value& v) {
      if (key == "id") {
        w.field = "id";
        r.id = get_int(v, w);
        w.id = r.id;
        seen |= 1;
      } else if (key == "songs") {
        w.field = "songs";
        for (auto s : get_int_list(v, w)) {
          if (s < 0 || s > std::numeric_limits<SongId>::max())
            fail(w, "song id " + std::to_string(s) + " out of range");
          r.songs.push_back(static_cast<SongId>(s));
        }
        seen |= 2;
      } else if (key == "tags") {
        w.field = "tags";
        r.tags = get_str_list(v, w);
        seen |= 4;
      }
      w.field = nullptr;
    });
    if (!(seen & 1)) fail(w, "missing field 'id'");
    if (!(seen & 2)) fail(w, "missing field 'songs'");
    if (!(seen & 4)) fail(w, "missing field 'tags'");
    out.push_back(std::move(r));
  });
  return out;
}

}  // namespace

}  // namespace melon::arena
