// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized inside Eigen's
// packet transposes (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/pca/cholqr.hpp"

#include <cmath>
#include <limits>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::pca {
namespace {

// y^T y summed over the ranks, the same bits on every rank.
Eigen::MatrixXd gram(MPI_Comm comm, const Eigen::MatrixXd& y) {
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(y.cols(), y.cols());
  if (y.rows() > 0) g.noalias() += y.transpose() * y;
  mpi::allreduce_sum_same(comm, g.data(), static_cast<std::size_t>(g.size()));
  return g.selfadjointView<Eigen::Lower>();  // symmetric by construction, not by rounding
}

}  // namespace

CholQrInfo cholqr(MPI_Comm comm, Eigen::MatrixXd& y, std::int64_t global_rows, Eigen::MatrixXd* r_out) {
  const Eigen::Index l = y.cols();
  CholQrInfo info;
  if (l == 0) return info;
  const double u = std::numeric_limits<double>::epsilon() / 2;
  // kappa(Y) <= 1e6 keeps the Gram matrix's condition (1e12) well inside what
  // Cholesky in double resolves, so two plain steps give orthogonality to ~u.
  const double plain_ratio = 1e-12;
  int plain_in_a_row = 0;
  if (r_out) *r_out = Eigen::MatrixXd::Identity(l, l);
  // Each shifted step improves kappa by ~u^(-1/2)/sqrt(11 N l); a dozen steps
  // cover any finite input. Exactly-zero directions (rank < l with no rounding
  // noise at all) cannot be orthonormalised and stay zero columns, which the
  // range finder tolerates: they only add zero rows to B.
  for (int step = 0; step < 12 && plain_in_a_row < 2; ++step) {
    Eigen::MatrixXd g = gram(comm, y);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(g, Eigen::EigenvaluesOnly);
    const double lmax = es.eigenvalues().maxCoeff(), lmin = es.eigenvalues().minCoeff();
    MELON_CHECK(std::isfinite(lmax) && std::isfinite(lmin),
                "QR of the sketch: non-finite values (the features overflow float?)");
    if (step == 0) {
      MELON_CHECK(lmax > 0, "QR of the sketch: the sketch is zero (the centred data has no variance)");
      info.kappa_estimate = lmin > 0 ? std::sqrt(lmax / lmin) : std::numeric_limits<double>::infinity();
    }
    bool shifted = !(lmin > lmax * plain_ratio);
    Eigen::LLT<Eigen::MatrixXd> llt;
    if (!shifted) {
      llt.compute(g);
      if (llt.info() != Eigen::Success) shifted = true;
    }
    if (shifted) {
      double s = 11.0 * (static_cast<double>(global_rows) * l + static_cast<double>(l) * (l + 1)) * u * lmax;
      for (int tries = 0; tries < 8; ++tries, s *= 100) {
        Eigen::MatrixXd gs = g;
        gs.diagonal().array() += s;
        llt.compute(gs);
        if (llt.info() == Eigen::Success) break;
      }
      MELON_ASSERT(llt.info() == Eigen::Success, "shifted Cholesky failed on a finite Gram matrix");
    }
    Eigen::MatrixXd r = llt.matrixU();
    if (y.rows() > 0) r.triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(y);
    if (r_out) *r_out = (r.triangularView<Eigen::Upper>() * *r_out).eval();
    if (shifted) {
      ++info.shifted_steps;
      plain_in_a_row = 0;
    } else {
      ++info.plain_steps;
      ++plain_in_a_row;
    }
  }
  return info;
}

int orthonormal_basis(MPI_Comm comm, Eigen::MatrixXd& y, std::int64_t global_rows, double rel_tol) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(gram(comm, y));
  MELON_CHECK(es.info() == Eigen::Success && es.eigenvalues().allFinite(),
              "basis of the sketch: non-finite values (the features overflow float?)");
  const Eigen::Index m = y.cols();
  const double lmax = es.eigenvalues()(m - 1);  // ascending
  MELON_CHECK(lmax > 0, "basis of the sketch: the sketch is zero (the centred data has no variance)");
  Eigen::Index kept = 0;
  while (kept < m && es.eigenvalues()(m - 1 - kept) > lmax * rel_tol * rel_tol) ++kept;
  // Largest first; each direction scaled to unit length.
  Eigen::MatrixXd t(m, kept);
  for (Eigen::Index j = 0; j < kept; ++j)
    t.col(j) = es.eigenvectors().col(m - 1 - j) / std::sqrt(es.eigenvalues()(m - 1 - j));
  Eigen::MatrixXd scaled(y.rows(), kept);
  if (y.rows() > 0) scaled.noalias() = y * t;
  y = std::move(scaled);
  cholqr(comm, y, global_rows);
  return static_cast<int>(kept);
}

}  // namespace melon::pca
