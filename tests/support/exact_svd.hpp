#pragma once
// Exact SVDs, the references the PCA tests measure melon's randomized PCA
// against. Compiled once (exact_svd.cpp) for both test binaries: Eigen's SVD
// templates cost about 45 s of compile time in every file that instantiates
// them under the sanitizers.
#include "melon/util/eigen.hpp"

namespace melon::test_support {

// Singular values (descending) and, when asked, the thin factors.
struct ExactSvd {
  Eigen::VectorXd s;
  Eigen::MatrixXd u, v;
};
enum SvdFactors { kValuesOnly = 0, kThinU = 1, kThinV = 2 };

// Eigen's divide-and-conquer SVD (a one-sided Jacobi SVD below 16 columns).
ExactSvd exact_svd(const Eigen::MatrixXd& a, int factors = kValuesOnly);

// Cosines of the principal angles between span(v1) and span(v2), orthonormal
// columns: the singular values of v1^T v2, largest first.
Eigen::VectorXd principal_cosines(const Eigen::MatrixXd& v1, const Eigen::MatrixXd& v2);

}  // namespace melon::test_support
