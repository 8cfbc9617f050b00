// Writers for the Arena JSON files. Field order and separators follow the
// released files (Python's json.dump with ensure_ascii=False), so a file we
// write reads like one Kakao wrote.
#include <charconv>
#include <cstdio>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"

namespace melon::arena {
namespace {

void append_int(std::string& out, std::int64_t x) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, end);
}

template <class T>
void append_int_list(std::string& out, const std::vector<T>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    append_int(out, v[i]);
  }
  out += ']';
}

void append_str_list(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    append_json_string(out, v[i]);
  }
  out += ']';
}

template <class T, class F>
void write_array(const std::string& path, const std::vector<T>& items, F&& to) {
  JsonArrayWriter w(path);
  for (auto& x : items) w.add(to(x));
  w.commit();
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through, as ensure_ascii=False writes it
        }
    }
  }
  out += '"';
}

std::string to_json(const Playlist& p) {
  std::string o;
  o.reserve(64 + p.songs.size() * 8 + p.tags.size() * 12 + p.title.size());
  o += "{\"tags\": ";
  append_str_list(o, p.tags);
  o += ", \"id\": ";
  append_int(o, p.id);
  o += ", \"plylst_title\": ";
  append_json_string(o, p.title);
  o += ", \"songs\": ";
  append_int_list(o, p.songs);
  o += ", \"like_cnt\": ";
  append_int(o, p.like_cnt);
  o += ", \"updt_date\": ";
  append_json_string(o, p.updt_date);
  o += '}';
  return o;
}

std::string to_json(const Song& s) {
  std::string o;
  o.reserve(256);
  o += "{\"song_gn_dtl_gnr_basket\": ";
  append_str_list(o, s.detail_genres);
  o += ", \"issue_date\": ";
  append_json_string(o, s.issue_date);
  o += ", \"album_name\": ";
  if (s.album_name) append_json_string(o, *s.album_name);
  else o += "null";
  o += ", \"album_id\": ";
  if (s.album_id >= 0) append_int(o, s.album_id);
  else o += "null";
  o += ", \"artist_id_basket\": ";
  append_int_list(o, s.artist_ids);
  o += ", \"song_name\": ";
  append_json_string(o, s.name);
  o += ", \"song_gn_gnr_basket\": ";
  append_str_list(o, s.genres);
  o += ", \"artist_name_basket\": ";
  append_str_list(o, s.artist_names);
  o += ", \"id\": ";
  append_int(o, s.id);
  o += '}';
  return o;
}

std::string to_json(const Result& r) {
  std::string o;
  o.reserve(64 + r.songs.size() * 8 + r.tags.size() * 12);
  o += "{\"id\": ";
  append_int(o, r.id);
  o += ", \"songs\": ";
  append_int_list(o, r.songs);
  o += ", \"tags\": ";
  append_str_list(o, r.tags);
  o += '}';
  return o;
}

struct JsonArrayWriter::Impl {
  AtomicFile file;
  bool first = true;
  explicit Impl(const std::string& path) : file(path) {}
};

JsonArrayWriter::JsonArrayWriter(const std::string& path) : impl_(new Impl(path)) { impl_->file.write("["); }
JsonArrayWriter::~JsonArrayWriter() { delete impl_; }

void JsonArrayWriter::add(const std::string& record_json) {
  impl_->file.write(impl_->first ? std::string_view("") : std::string_view(", "));
  impl_->first = false;
  impl_->file.write(record_json);
}

void JsonArrayWriter::commit() {
  impl_->file.write("]");
  impl_->file.commit();
}

void write_playlists(const std::string& path, const std::vector<Playlist>& v) {
  write_array(path, v, [](const Playlist& p) { return to_json(p); });
}
void write_results(const std::string& path, const std::vector<Result>& v) {
  write_array(path, v, [](const Result& r) { return to_json(r); });
}
void write_song_meta(const std::string& path, const SongMeta& meta) {
  write_array(path, meta.songs, [](const Song& s) { return to_json(s); });
}

void write_genres(const std::string& path, const GenreMap& genres) {
  std::string o = "{";
  bool first = true;
  for (auto& [code, name] : genres) {
    if (!first) o += ", ";
    first = false;
    append_json_string(o, code);
    o += ": ";
    append_json_string(o, name);
  }
  o += "}";
  AtomicFile f(path);
  f.write(o);
  f.commit();
}

}  // namespace melon::arena
