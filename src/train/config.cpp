#include "melon/train/config.hpp"

#include <sstream>

#include "melon/error.hpp"

namespace melon::train {

InputReduce parse_input_reduce(const std::string& s) {
  if (s == "rows") return InputReduce::Rows;
  if (s == "dense") return InputReduce::Dense;
  MELON_THROW("--input-allreduce: expected rows|dense, got '" << s << "'");
}
const char* to_string(InputReduce r) { return r == InputReduce::Rows ? "rows" : "dense"; }

std::string fingerprint(const TrainConfig& c, bool with_audio) {
  std::ostringstream o;
  o.precision(17);
  o << "format=melon-ae-1\n"
    << "hidden=" << ae::join_widths(c.hidden) << "\n"
    << "min_song_count=" << c.vocab.min_song_count << "\nmin_tag_count=" << c.vocab.min_tag_count
    << "\nmin_token_count=" << c.vocab.min_token_count << "\nngram_min=" << c.vocab.tokenizer.ngram_min
    << "\nngram_max=" << c.vocab.tokenizer.ngram_max << "\n"
    << "song_weight=" << c.loss.song << "\ntag_weight=" << c.loss.tag << "\n"
    << "mask_songs_only=" << c.corruption.songs_only << "\nmask_songs_tags=" << c.corruption.songs_tags
    << "\nmask_tags_only=" << c.corruption.tags_only << "\nkeep_title=" << c.corruption.keep_title << "\n"
    << "target=" << (c.corruption.target_hidden ? "hidden" : "whole") << "\n"
    << "batch=" << c.batch << "\nlr=" << c.adam.lr << "\nbeta1=" << c.adam.beta1 << "\nbeta2=" << c.adam.beta2
    << "\neps=" << c.adam.eps << "\nweight_decay=" << c.adam.weight_decay << "\nseed=" << c.seed
    << "\nval_size=" << c.val_size << "\n"
    << "audio=" << (with_audio ? 1 : 0) << "\n"
    << "lr_final=" << c.lr_final << "\n"
    << (c.lr_final != 1.0 ? "epochs=" + std::to_string(c.epochs) + "\n" : std::string())
    << "audio_map=" << ae::to_string(c.audio_map) << "\naudio_input=" << (c.audio_input ? 1 : 0) << "\n";
  return o.str();
}

}  // namespace melon::train
