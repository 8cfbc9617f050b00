#include "exact_svd.hpp"

namespace melon::test_support {

ExactSvd exact_svd(const Eigen::MatrixXd& a, int factors) {
  unsigned flags = 0;
  if (factors & kThinU) flags |= Eigen::ComputeThinU;
  if (factors & kThinV) flags |= Eigen::ComputeThinV;
  Eigen::BDCSVD<Eigen::MatrixXd> svd(a, flags);
  ExactSvd out{svd.singularValues(), {}, {}};
  if (factors & kThinU) out.u = svd.matrixU();
  if (factors & kThinV) out.v = svd.matrixV();
  return out;
}

Eigen::VectorXd principal_cosines(const Eigen::MatrixXd& v1, const Eigen::MatrixXd& v2) {
  return exact_svd(v1.transpose() * v2).s;
}

}  // namespace melon::test_support
