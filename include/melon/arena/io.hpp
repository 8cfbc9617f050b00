#pragma once
// Readers and writers for the Arena JSON files. Readers accept the released
// files unchanged and validate them; every error names the file, the record
// (index and id where known) and the problem, as a melon::Error.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::arena {

// train.json / val.json / test.json (and answer files, which share the format).
// Checks field types, required fields, unique playlist ids, non-negative song ids,
// no duplicate song within a playlist.
std::vector<Playlist> read_playlists(const std::string& path);

// Throws if any playlist names a song id >= n_songs (unknown song).
void check_song_ids(const std::vector<Playlist>& playlists, std::size_t n_songs, const std::string& path);

SongMeta read_song_meta(const std::string& path);
GenreMap read_genres(const std::string& path);

// The same readers on JSON text in memory; `origin` names it in errors.
std::vector<Playlist> parse_playlists(const std::string& json, const std::string& origin);
SongMeta parse_song_meta(const std::string& json, const std::string& origin);
GenreMap parse_genres(const std::string& json, const std::string& origin);

// results.json: exactly the official shape. Does not apply the evaluator's rules
// (100/10 unique); eval does that so it can say which rule failed.
std::vector<Result> read_results(const std::string& path);
// The same from JSON text in memory; `origin` names it in errors.
std::vector<Result> parse_results(const std::string& json, const std::string& origin);

// Serialisation of one record, byte-compatible with the released files' field names.
std::string to_json(const Playlist& p);
std::string to_json(const Song& s);
std::string to_json(const Result& r);
void append_json_string(std::string& out, std::string_view s);  // quoted, escaped, UTF-8 kept

// Whole-file writers: atomic (temp file, fsync, rename).
void write_playlists(const std::string& path, const std::vector<Playlist>& playlists);
void write_results(const std::string& path, const std::vector<Result>& results);
void write_song_meta(const std::string& path, const SongMeta& meta);
void write_genres(const std::string& path, const GenreMap& genres);

// Streams a JSON array of records into an AtomicFile-backed file, for writers
// that must not hold everything in memory (the generator at full scale).
class JsonArrayWriter {
 public:
  explicit JsonArrayWriter(const std::string& path);
  ~JsonArrayWriter();
  JsonArrayWriter(const JsonArrayWriter&) = delete;
  JsonArrayWriter& operator=(const JsonArrayWriter&) = delete;
  void add(const std::string& record_json);
  void commit();  // closes the array, fsyncs, renames into place

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace melon::arena
