#include "melon/ae/encode.hpp"

namespace melon::ae {

Encoded encode(const arena::Playlist& p, const Vocab& v, const text::TokenizerOptions& tok) {
  Encoded e;
  e.song_ids = p.songs;
  for (auto s : p.songs) e.songs.push_back(v.song(s));
  for (auto& t : p.tags) e.tags.push_back(v.tag(t));
  for (auto& w : text::tokenize(p.title, tok)) {
    auto k = v.token(w);
    if (k >= 0) e.tokens.push_back(k);
  }
  return e;
}

}  // namespace melon::ae
