// mixture: a mixture of multinomials over a playlist's songs, tags and title
// tokens (a latent-class model of playlists, the clustering side of LDA-style
// playlist models), fitted by EM. A question is answered from its posterior
// over the clusters: score(i) = sum_k p(k | shown items) phi_k(i).
//
// Why beside the kNN methods: a question that shows only tags or a title
// word has one or two items to go on; the kNN methods spread it over every
// playlist sharing them, a cluster model names the few kinds of playlist they
// are typical of, and answers from the whole kind.
//
// Parallel layout: both steps are split over the ranks and gathered. The
// E-step owns blocks of playlists (their responsibilities), the M-step blocks
// of items (their chances), cut by posting-list length. Every number is a
// sum taken in one fixed order whatever the split (an item's counts over its
// playlists in corpus order, each kind's total over the playlists in order),
// so the fit is the same bits for any rank count. Within a rank, threads take
// chunks of the same loops (the kind totals by blocks of clusters, each still
// summed over the playlists in order): the same bits for any thread count.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <string>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"
#include "melon/util/rng.hpp"
#include "melon/util/thread_pool.hpp"
#include "reference_models.hpp"

namespace melon::recommend {
namespace {

// Additive smoothing of every cluster's item counts: unseen items keep a
// small chance, so one unusual song does not veto a cluster.
constexpr double kSmoothing = 0.05;
constexpr std::uint64_t kInitSeed = 0x6d69787475726531ull;  // "mixture1": the start, fixed like the other fits
// Clusters under this posterior share are not walked when scoring (their
// summed contribution is below any candidate's resolution).
constexpr double kMinPosterior = 1e-4;
// Each cluster's most likely songs and tags, walked when scoring: deeper than
// any source's candidate list (200 songs, 20 tags by default).
constexpr std::size_t kTopSongs = 1000;
constexpr std::size_t kTopTags = 100;
// The threads' shares of work: fixed sizes, so the chunks (and every sum) do
// not depend on the thread count.
constexpr std::int64_t kPlaylistChunk = 256, kColumnChunk = 64, kClusterChunk = 32;

enum Part { kSongs = 0, kTags = 1, kTokens = 2 };

Part part_of(const Corpus& c, std::int32_t i) { return c.is_song(i) ? kSongs : c.is_tag(i) ? kTags : kTokens; }

// log(sum exp) of a row, and the row turned into probabilities in place.
double normalise_log(double* row, std::size_t k) {
  const double top = *std::max_element(row, row + k);
  double sum = 0;
  for (std::size_t j = 0; j < k; ++j) sum += row[j] = std::exp(row[j] - top);
  for (std::size_t j = 0; j < k; ++j) row[j] /= sum;
  return top + std::log(sum);
}

class Mixture : public Reference {
 public:
  explicit Mixture(const Fitted& f) : cols_(f.columns), k_(f.n_out), log_phi_(f.weights), log_prior_(f.prior) {
    std::int32_t top = -1;
    for (auto i : cols_) top = std::max(top, i);
    column_of_.assign(static_cast<std::size_t>(top + 1), -1);
    for (std::size_t j = 0; j < cols_.size(); ++j) column_of_[cols_[j]] = static_cast<std::int32_t>(j);
  }

  // Each cluster's top songs and tags, by chance (then column: a total order).
  // Clusters are independent: the threads take them as they free up, each
  // with its own lists (a pair per column: megabytes, not allocated per cluster).
  void index(const Corpus& c, util::ThreadPool& threads) {
    top_.assign(k_, {});
    struct Lists {
      std::vector<std::pair<float, std::int32_t>> songs, tags;
    };
    threads.run_with_scratch<Lists>(static_cast<std::int64_t>(k_), [&](std::int64_t kk, Lists& lists) {
      const auto k = static_cast<std::size_t>(kk);
      auto& [songs, tags] = lists;
      songs.clear(), tags.clear();
      for (std::size_t j = 0; j < cols_.size(); ++j) {
        const auto part = part_of(c, cols_[j]);
        if (part == kTokens) continue;
        (part == kSongs ? songs : tags).emplace_back(log_phi_[j * k_ + k], static_cast<std::int32_t>(j));
      }
      auto& t = top_[k];
      for (auto [list, n] : {std::pair{&songs, kTopSongs}, std::pair{&tags, kTopTags}}) {
        n = std::min(n, list->size());
        std::partial_sort(
            list->begin(), list->begin() + static_cast<std::ptrdiff_t>(n), list->end(),
            [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
        for (std::size_t r = 0; r < n; ++r) t.push_back((*list)[r].second);
      }
    });
  }

  void score(const Corpus&, const Query& q, Workspace& ws) const override {
    std::vector<double> post(log_prior_.begin(), log_prior_.end());
    bool any = false;
    for (auto& [item, w] : q) {
      if (item < 0 || static_cast<std::size_t>(item) >= column_of_.size() || column_of_[item] < 0) continue;
      const float* row = log_phi_.data() + static_cast<std::size_t>(column_of_[item]) * k_;
      for (std::size_t k = 0; k < k_; ++k) post[k] += w * row[k];
      any = true;
    }
    if (!any) return;  // nothing known: the answer falls back to popularity, as for the other methods
    normalise_log(post.data(), k_);
    for (std::size_t k = 0; k < k_; ++k) {
      if (post[k] < kMinPosterior) continue;
      for (auto j : top_[k]) ws.add_item(cols_[j], post[k] * std::exp(static_cast<double>(log_phi_[j * k_ + k])));
    }
  }

 private:
  std::vector<std::int32_t> cols_;
  std::size_t k_;
  std::vector<float> log_phi_;    // columns x k_, row-major: log chance of the column's item in each cluster
  std::vector<float> log_prior_;  // k_
  std::vector<std::int32_t> column_of_;
  std::vector<std::vector<std::int32_t>> top_;  // cluster -> columns walked when scoring
};

}  // namespace

void fit_mixture(const Corpus& c, Fitted& f, util::ThreadPool& threads) {
  const auto& opt = f.opt;
  MELON_CHECK(opt.mixture_clusters >= 1,
              "mixture: --mixture-clusters must be at least 1 (got " << opt.mixture_clusters << ")");
  MELON_CHECK(opt.mixture_iterations >= 1,
              "mixture: --mixture-iterations must be at least 1 (got " << opt.mixture_iterations << ")");
  const auto K = static_cast<std::size_t>(opt.mixture_clusters);
  const auto N = c.n_playlists();
  MELON_CHECK(N > 0, "mixture: the training data has no playlists");
  // Columns: every item some training playlist holds, in item order.
  std::vector<std::int32_t> cols;
  std::vector<std::int32_t> column_of(c.n_items(), -1);
  for (std::size_t i = 0; i < c.n_items(); ++i)
    if (c.count(static_cast<std::int32_t>(i)) > 0) {
      column_of[i] = static_cast<std::int32_t>(cols.size());
      cols.push_back(static_cast<std::int32_t>(i));
    }
  const auto V = cols.size();
  const int rank = mpi::rank(mpi::world()), ranks = mpi::size(mpi::world());
  // The E-step's blocks (playlists) and the M-step's (columns, cut so that
  // their posting lists are about the same length: a popular song's column
  // costs as much as thousands of rare ones').
  std::vector<double> cost(V);
  for (std::size_t j = 0; j < V; ++j) cost[j] = 1.0 + static_cast<double>(c.count(cols[j]));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ranks)), col_counts(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const auto b = mpi::block_range(static_cast<std::int64_t>(N), r, ranks);
    counts[static_cast<std::size_t>(r)] = (b.end - b.begin) * static_cast<std::int64_t>(K);
    const auto w = mpi::weighted_range(cost, r, ranks);
    col_counts[static_cast<std::size_t>(r)] = (w.end - w.begin) * static_cast<std::int64_t>(K);
  }
  const auto mine = mpi::block_range(static_cast<std::int64_t>(N), rank, ranks);
  const auto my_cols = mpi::weighted_range(cost, rank, ranks);
  cost = {};
  // How many of each kind's items every playlist holds: a kind's total count
  // per cluster is its smoothing plus these times the responsibilities.
  std::vector<double> smoothed(3, 0.0);
  for (auto i : cols) smoothed[part_of(c, i)] += kSmoothing;
  std::vector<std::array<std::uint32_t, 3>> kinds(N, {0, 0, 0});
  for (std::size_t p = 0; p < N; ++p)
    for (auto e = c.offsets[p]; e < c.offsets[p + 1]; ++e) kinds[p][part_of(c, c.items[e])] += 1;

  // Responsibilities, playlist-major. The start: Dirichlet(1) draws keyed by
  // playlist, so every rank count starts from the same point. The two large
  // tables (responsibilities, items x clusters chances) are floats: at the
  // real release's size they are gigabytes on every rank; every sum over
  // them is taken in double.
  std::vector<float> resp(N * K);
  const util::Chunks all_playlists{static_cast<std::int64_t>(N), kPlaylistChunk};
  threads.run(all_playlists.count(), [&](std::int64_t ch) {
    std::vector<double> row(K);
    const auto p0 = static_cast<std::size_t>(all_playlists.begin(ch));
    for (auto p = p0; p < p0 + static_cast<std::size_t>(all_playlists.len(ch)); ++p) {
      std::uint64_t s = mix_seed(kInitSeed, p);
      double sum = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double u = (static_cast<double>(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53;
        sum += row[k] = -std::log(u);
      }
      for (std::size_t k = 0; k < K; ++k) resp[p * K + k] = static_cast<float>(row[k] / sum);
    }
  });
  std::vector<float> log_phi(V * K);
  std::vector<double> log_prior(K), total(3 * K);
  const util::Chunks clusters{static_cast<std::int64_t>(K), kClusterChunk};
  const util::Chunks my_columns{my_cols.end - my_cols.begin, kColumnChunk};
  const util::Chunks my_playlists{mine.end - mine.begin, kPlaylistChunk};
  const bool root = rank == 0;
  const auto start = std::chrono::steady_clock::now();
  if (root)
    log::info("mixture: " + std::to_string(K) + " clusters over " + std::to_string(V) + " items, " +
              std::to_string(opt.mixture_iterations) + " EM iterations");
  for (std::int64_t it = 0;; ++it) {
    // M-step. Each kind's totals and the cluster weights, in playlist order
    // on every rank (N x K, cheap); then this rank's columns (their counts,
    // each in its posting list's order), gathered.
    // Threads take blocks of clusters, each summing over every playlist
    // in order: the same sums as one thread's.
    threads.run(clusters.count(), [&](std::int64_t ch) {
      const auto k0 = static_cast<std::size_t>(clusters.begin(ch));
      const auto k1 = k0 + static_cast<std::size_t>(clusters.len(ch));
      for (std::size_t part = 0; part < 3; ++part)
        std::fill(total.begin() + part * K + k0, total.begin() + part * K + k1, smoothed[part]);
      std::fill(log_prior.begin() + k0, log_prior.begin() + k1, 1.0);
      for (std::size_t p = 0; p < N; ++p) {
        const float* r = resp.data() + p * K;
        for (std::size_t part = 0; part < 3; ++part) {
          if (kinds[p][part] == 0) continue;
          double* t = total.data() + part * K;
          for (auto k = k0; k < k1; ++k) t[k] += static_cast<double>(kinds[p][part]) * r[k];
        }
        for (auto k = k0; k < k1; ++k) log_prior[k] += r[k];
      }
      for (auto k = k0; k < k1; ++k)
        log_prior[k] = std::log(log_prior[k] / (static_cast<double>(N) + static_cast<double>(K)));
    });
    // This rank's columns in chunks, one task each (a popular song's column
    // costs far more than a rare one's: the pool hands chunks out as threads free up).
    threads.run(my_columns.count(), [&](std::int64_t ch) {
      std::vector<double> row(K);
      const auto j0 = static_cast<std::size_t>(my_cols.begin + my_columns.begin(ch));
      for (auto j = j0; j < j0 + static_cast<std::size_t>(my_columns.len(ch)); ++j) {
        const auto i = cols[j];
        std::fill(row.begin(), row.end(), kSmoothing);
        for (auto e = c.item_offsets[i]; e < c.item_offsets[i + 1]; ++e) {
          const float* r = resp.data() + static_cast<std::size_t>(c.playlists[e]) * K;
          for (std::size_t k = 0; k < K; ++k) row[k] += r[k];
        }
        const double* t = total.data() + part_of(c, i) * K;
        float* out = log_phi.data() + j * K;
        for (std::size_t k = 0; k < K; ++k) out[k] = static_cast<float>(std::log(row[k] / t[k]));
      }
    });
    mpi::allgather_blocks_inplace(mpi::world(), log_phi.data(), col_counts);
    if (it == opt.mixture_iterations) break;

    // E-step on this rank's block of playlists in chunks, then gathered.
    std::vector<double> chunk_loglik(static_cast<std::size_t>(my_playlists.count()));
    threads.run(my_playlists.count(), [&](std::int64_t ch) {
      std::vector<double> row(K);
      const auto p0 = mine.begin + my_playlists.begin(ch);
      double sum = 0;
      for (auto p = p0; p < p0 + my_playlists.len(ch); ++p) {
        std::copy(log_prior.begin(), log_prior.end(), row.begin());
        for (auto e = c.offsets[p]; e < c.offsets[p + 1]; ++e) {
          const float* l = log_phi.data() + static_cast<std::size_t>(column_of[c.items[e]]) * K;
          for (std::size_t k = 0; k < K; ++k) row[k] += l[k];
        }
        sum += normalise_log(row.data(), K);
        float* r = resp.data() + static_cast<std::size_t>(p) * K;
        for (std::size_t k = 0; k < K; ++k) r[k] = static_cast<float>(row[k]);
      }
      chunk_loglik[static_cast<std::size_t>(ch)] = sum;
    });
    mpi::allgather_blocks_inplace(mpi::world(), resp.data(), counts);
    double loglik = 0;
    for (auto x : chunk_loglik) loglik += x;
    loglik = mpi::allreduce_sum(mpi::world(), loglik);
    if (root) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const auto done = it + 1;
      log::info("mixture: EM " + std::to_string(done) + "/" + std::to_string(opt.mixture_iterations) +
                ", log-likelihood per playlist " + std::to_string(loglik / static_cast<double>(N)) + ", " +
                std::to_string(static_cast<int>(secs)) + " s, ETA " +
                std::to_string(static_cast<int>(secs / static_cast<double>(done) *
                                                static_cast<double>(opt.mixture_iterations - done))) +
                " s");
    }
  }
  f.method = ReferenceMethod::Mixture;
  f.columns = std::move(cols);
  f.n_out = K;
  f.weights = std::move(log_phi);
  f.prior.assign(log_prior.begin(), log_prior.end());
}

std::unique_ptr<Reference> make_mixture(const Fitted& f, const Corpus& c, util::ThreadPool& threads) {
  MELON_CHECK(f.n_out >= 1 && f.weights.size() == f.columns.size() * f.n_out && f.prior.size() == f.n_out,
              "mixture: fitted weights are " << f.weights.size() << " numbers for " << f.columns.size() << " items x "
                                             << f.n_out << " clusters, with " << f.prior.size() << " cluster weights");
  for (auto i : f.columns)
    MELON_CHECK(i >= 0 && static_cast<std::size_t>(i) < c.n_items(),
                "mixture: fitted item " << i << " is outside the corpus (" << c.n_items() << " items)");
  auto m = std::make_unique<Mixture>(f);
  m->index(c, threads);
  return m;
}

}  // namespace melon::recommend
