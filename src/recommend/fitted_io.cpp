#include "melon/recommend/fitted_io.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/hash.hpp"

namespace melon::recommend {
namespace {

constexpr const char* kFormat = "melon-reference-1";

template <class T>
std::uint64_t hash_vec(const std::vector<T>& v, std::uint64_t h) {
  const std::uint64_t n = v.size();
  h = fnv1a64(&n, sizeof n, h);
  return v.empty() ? h : fnv1a64(v.data(), v.size() * sizeof(T), h);
}

template <class T>
void write_1d(h5::File& f, const std::string& name, h5::Type type, const std::vector<T>& v) {
  auto d = h5::Dataset::create(f, name, type, {static_cast<hsize_t>(v.size())});
  if (!v.empty()) d.write_rows(0, v.size(), v.data());
}

// The options a fit depends on, by their CLI names (the tokenizer is in the
// corpus fingerprint).
void set_options(h5::Object& o, const ReferenceOptions& r) {
  o.set_attr("tag-weight", r.tag_weight);
  o.set_attr("title-weight", r.title_weight);
  o.set_attr("alpha", r.alpha);
  o.set_attr("beta", r.beta);
  o.set_attr("neighbours", r.neighbours);
  o.set_attr("power", r.power);
  o.set_attr("ease-songs", r.ease_songs);
  o.set_attr("ease-tags", r.ease_tags);
  o.set_attr("ease-tokens", r.ease_tokens);
  o.set_attr("ease-lambda", r.ease_lambda);
  o.set_attr("mixture-clusters", r.mixture_clusters);
  o.set_attr("mixture-iterations", r.mixture_iterations);
}

void get_options(const h5::Object& o, ReferenceOptions& r) {
  r.tag_weight = o.attr_double("tag-weight");
  r.title_weight = o.attr_double("title-weight");
  r.alpha = o.attr_double("alpha");
  r.beta = o.attr_double("beta");
  r.neighbours = o.attr_int("neighbours");
  r.power = o.attr_double("power");
  r.ease_songs = o.attr_int("ease-songs");
  r.ease_tags = o.attr_int("ease-tags");
  r.ease_tokens = o.attr_int("ease-tokens");
  r.ease_lambda = o.attr_double("ease-lambda");
  // Files written before the mixture existed lack its options: they hold another method.
  if (o.has_attr("mixture-clusters")) r.mixture_clusters = o.attr_int("mixture-clusters");
  if (o.has_attr("mixture-iterations")) r.mixture_iterations = o.attr_int("mixture-iterations");
}

std::string json_path(const std::string& h5_path) {
  const auto dot = h5_path.rfind(".h5");
  return (dot != std::string::npos && dot + 3 == h5_path.size() ? h5_path.substr(0, dot) : h5_path) + ".json";
}

}  // namespace

std::uint64_t corpus_fingerprint(const Corpus& c) {
  std::uint64_t h = kFnvOffset;
  const std::uint64_t n_songs = c.n_songs;
  h = fnv1a64(&n_songs, sizeof n_songs, h);
  h = hash_vec(c.offsets, h);
  h = hash_vec(c.items, h);
  for (const auto* names : {&c.tags, &c.tokens}) {
    const std::uint64_t n = names->size();
    h = fnv1a64(&n, sizeof n, h);
    for (const auto& s : *names) h = fnv1a64(s.c_str(), s.size() + 1, h);  // with the NUL: "ab","c" != "a","bc"
  }
  return h;
}

std::string fitted_path(const std::string& dir, ReferenceMethod m) { return dir + "/" + to_string(m) + ".h5"; }

void write_fitted(const std::string& path, const FittedFile& f) {
  if (const auto slash = path.find_last_of('/'); slash != std::string::npos && slash > 0)
    make_dirs(path.substr(0, slash));
  TempPath staged(path);  // nothing half-written survives a failure
  const auto& tmp = staged.path();
  {
    auto h = h5::File::create(tmp, MPI_COMM_NULL);
    h.set_attr("format", kFormat);
    h.set_attr("method", to_string(f.fitted.method));
    set_options(h, f.fitted.opt);
    h.set_attr("corpus", hex64(f.corpus));
    h.set_attr("request", f.request);
    h.set_attr("chosen", static_cast<std::int64_t>(f.chosen));
    write_1d(h, "held_out", h5::Type::I64, f.held_out);
    std::vector<double> scores;
    std::vector<std::string> params;
    for (const auto& [p, score] : f.trials) {
      params.push_back(p);
      scores.push_back(score);
    }
    write_1d(h, "trial_score", h5::Type::F64, scores);
    {
      std::size_t width = 1;
      for (auto& s : params) width = std::max(width, s.size());
      auto d = h5::Dataset::create_strings(h, "trial_params", params.size(), width);
      if (!params.empty()) d.write_strings(0, params);
    }
    if (f.fitted.method == ReferenceMethod::Ease || f.fitted.method == ReferenceMethod::Mixture) {
      write_1d(h, "columns", h5::Type::I32, f.fitted.columns);
      h.set_attr("n_out", static_cast<std::int64_t>(f.fitted.n_out));
      auto d = h5::Dataset::create(
          h, "weights", h5::Type::F32,
          {static_cast<hsize_t>(f.fitted.columns.size()), static_cast<hsize_t>(f.fitted.n_out)});
      if (!f.fitted.weights.empty()) d.write_rows(0, f.fitted.columns.size(), f.fitted.weights.data());
      if (f.fitted.method == ReferenceMethod::Mixture) write_1d(h, "prior", h5::Type::F32, f.fitted.prior);
    }
    h.set_attr("done", static_cast<std::int64_t>(1));  // last: the file is complete
    h.close();
  }
  fsync_file(tmp);
  commit_rename(tmp, path);
  staged.release();

  nlohmann::json j;
  j["method"] = to_string(f.fitted.method);
  j["chosen"] = describe_tuned(f.fitted.method, f.fitted.opt);
  j["held_out_playlists"] = f.held_out.size();
  j["corpus"] = hex64(f.corpus);
  auto& trials = j["trials"] = nlohmann::json::array();
  for (const auto& [p, score] : f.trials) trials.push_back({{"params", p}, {"held_out_score", score}});
  AtomicFile out(json_path(path));
  out.write(j.dump(2) + "\n");
  out.commit();
}

FittedFile read_fitted(const std::string& path) {
  auto h = h5::File::open(path, MPI_COMM_NULL);
  MELON_CHECK(h.has_attr("format") && h.attr_string("format") == kFormat,
              path << ": not a melon fitted reference (format attribute)");
  MELON_CHECK(h.has_attr("done") && h.attr_int("done") == 1, path << ": incomplete (no done attribute)");
  FittedFile f;
  f.fitted.method = parse_reference(h.attr_string("method"));
  get_options(h, f.fitted.opt);
  f.corpus = std::stoull(h.attr_string("corpus"), nullptr, 16);
  f.request = h.attr_string("request");
  f.chosen = static_cast<std::size_t>(h.attr_int("chosen"));
  f.held_out = h5::read_all<std::int64_t>(h, "held_out");
  const auto scores = h5::read_all<double>(h, "trial_score");
  auto params_ds = h5::Dataset::open(h, "trial_params");
  const auto params = params_ds.dims().at(0) ? params_ds.read_strings() : std::vector<std::string>{};
  MELON_CHECK(scores.size() == params.size(), path << ": trial_score and trial_params differ in length");
  for (std::size_t i = 0; i < scores.size(); ++i) f.trials.emplace_back(params[i], scores[i]);
  if (f.fitted.method == ReferenceMethod::Ease || f.fitted.method == ReferenceMethod::Mixture) {
    f.fitted.columns = h5::read_all<std::int32_t>(h, "columns");
    f.fitted.n_out = static_cast<std::size_t>(h.attr_int("n_out"));
    auto d = h5::Dataset::open(h, "weights");
    const auto dims = d.dims();
    MELON_CHECK(dims.size() == 2 && dims[0] == f.fitted.columns.size() && dims[1] == f.fitted.n_out,
                path << ": weights are not columns x n_out (" << f.fitted.columns.size() << " x " << f.fitted.n_out
                     << ")");
    f.fitted.weights.resize(f.fitted.columns.size() * f.fitted.n_out);
    if (!f.fitted.weights.empty()) d.read_rows(0, dims[0], f.fitted.weights.data());
    if (f.fitted.method == ReferenceMethod::Mixture) {
      f.fitted.prior = h5::read_all<float>(h, "prior");
      MELON_CHECK(f.fitted.prior.size() == f.fitted.n_out, path << ": prior holds " << f.fitted.prior.size()
                                                                << " cluster weights for " << f.fitted.n_out
                                                                << " clusters");
    }
  }
  return f;
}

}  // namespace melon::recommend
