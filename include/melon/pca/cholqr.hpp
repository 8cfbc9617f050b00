#pragma once
// Orthonormalisation of a tall-skinny matrix distributed by rows.
//
// Method: CholeskyQR2 (Fukaya et al. 2014), with shifted CholeskyQR steps in
// front when the sketch is ill-conditioned (shifted CholeskyQR3, Fukaya,
// Kannan, Nakatsukasa, Yamamoto & Yanagisawa 2020). Why this and not TSQR:
//  - l = k + p is small (tens to a few hundred) and N is huge, so each step is
//    one l x l allreduce plus local BLAS-3 work (Y^T Y and a triangular solve);
//    TSQR needs a reduction tree of Householder QRs and a second sweep to form Q.
//  - It is deterministic and its one reduction is done so that every rank gets
//    the same Gram matrix bit for bit (reduce + broadcast), so every rank takes
//    the same branch and applies the same R.
//  - Its weakness, the squared condition number of the Gram matrix, is
//    handled: sketches are re-orthonormalised after every pass, so kappa(Y) is
//    at most about sigma_1 / sigma_l of the data; when the Gram matrix says
//    kappa > 1e6 (or Cholesky fails), a shifted step (G + sI, s = 11(Nl +
//    l(l+1)) u ||Y||^2) first brings kappa down to ~u^(-1/2), which
//    CholeskyQR2 then finishes; data of rank < l take a few shifted steps.
#include <mpi.h>

#include <cstdint>

#include "melon/util/eigen.hpp"

namespace melon::pca {

struct CholQrInfo {
  int plain_steps = 0, shifted_steps = 0;
  double kappa_estimate = 0;  // of the input, from its Gram matrix
};

// Replaces y (this rank's rows of an N x l matrix, any rank may hold 0 rows)
// by Q with orthonormal columns spanning the same space; if r is given it gets
// the upper-triangular R with y_in = Q R. Collective over comm (MPI_COMM_SELF
// for a matrix held whole by the caller). Throws melon::Error when the matrix is zero.
CholQrInfo cholqr(MPI_Comm comm, Eigen::MatrixXd& y, std::int64_t global_rows, Eigen::MatrixXd* r = nullptr);

// Replaces y (this rank's rows of an N x m matrix) by an orthonormal basis of
// its numerical column space: the Gram matrix's eigenvectors with eigenvalue
// above rel_tol^2 times the largest (singular values above rel_tol times the
// largest) are kept and scaled to unit length (SVQB, Stathopoulos & Wu 2002),
// then CholeskyQR2 restores orthogonality to rounding. Why not cholqr alone:
// for a matrix that is rank-deficient up to rounding (blocks of a Krylov
// basis repeating each other's directions) its shifted steps blow rounding
// noise up into unit columns, and exactly dependent directions stay zero
// columns that are not orthonormal; here both are dropped. Every rank keeps
// the same columns (the Gram matrix is the same bits everywhere). Returns the
// number kept, between 1 and m; collective over comm. Throws melon::Error when y is zero.
int orthonormal_basis(MPI_Comm comm, Eigen::MatrixXd& y, std::int64_t global_rows, double rel_tol = 1e-6);

}  // namespace melon::pca
