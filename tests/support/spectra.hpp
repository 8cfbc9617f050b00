#pragma once
// Test matrices with a known spectrum, shared by the PCA unit and MPI tests.
#include <cmath>
#include <cstdint>

#include "melon/util/eigen.hpp"
#include "melon/util/rng.hpp"

namespace melon::test_support {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// n x d with singular values sigma0 * decay^i (i < rank) over a random
// orthonormal pair, plus a column mean of mean0 + mean_slope * j and Gaussian
// noise: a known, decaying spectrum that PCA must find after centring.
inline RowMatF decaying_spectrum(int n, int d, int rank, double sigma0, double decay, double noise, std::uint64_t seed,
                                 double mean0, double mean_slope) {
  Rng rng(seed);
  Eigen::MatrixXd u(n, rank), v(d, rank);
  for (int j = 0; j < rank; ++j) {
    for (int i = 0; i < n; ++i) u(i, j) = rng.normal();
    for (int i = 0; i < d; ++i) v(i, j) = rng.normal();
  }
  u = Eigen::HouseholderQR<Eigen::MatrixXd>(u).householderQ() * Eigen::MatrixXd::Identity(n, rank);
  v = Eigen::HouseholderQR<Eigen::MatrixXd>(v).householderQ() * Eigen::MatrixXd::Identity(d, rank);
  Eigen::VectorXd s(rank);
  for (int j = 0; j < rank; ++j) s[j] = sigma0 * std::pow(decay, j);
  Eigen::MatrixXd a = u * s.asDiagonal() * v.transpose();
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) a(i, j) += mean0 + mean_slope * j + noise * rng.normal();
  return a.cast<float>();
}

}  // namespace melon::test_support
