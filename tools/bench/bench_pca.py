#!/usr/bin/python3
"""Python side of tools/bench/bench_pca.sh: scikit-learn's randomized PCA on the same
feature matrix melon pca read, and the reconstruction error of both.

    bench_pca.py --mel-dir DIR --melon-out pca.h5 [--melon-out pca2.h5 ...]
                 --k K --p P --q Q --pool W [--seed S]

The song list is melon's own output (song_ids), so both see the same rows.
Features are built as melon builds them (include/melon/pca/features.hpp):
non-finite values -> 0, short songs padded with each band's mean, mean over
windows of W frames, band-major; with --pool 1 the row is the raw (48, 1876)
array. Prints key=value lines (the shell script formats the report):
  blas=...            numpy's BLAS as threadpoolctl sees it
  numpy_gemm_gflops   float32 square product through numpy
  read_s              one plain read of all files (np.load) into the matrix
  sklearn_fit_s       PCA(svd_solver="randomized").fit_transform wall time (best of --reps)
  sklearn_err         ||Xc - scores @ components||_F / ||Xc||_F
  sklearn_sigma_err   largest relative error of the top-k singular values against an
                      exact SVD (eigenvalues of the smaller Gram matrix, float64; --exact 1)
  melon_err[i], melon_sigma_err[i], melon_passes[i]   the same for each --melon-out file
"""
import argparse
import os
import sys
import time

import numpy as np


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        info = threadpool_info()
    except Exception as e:  # noqa: BLE001 - report, do not fail the benchmark
        return f"threadpoolctl unavailable ({e})"
    blas = [i for i in info if i.get("user_api") == "blas"]
    if not blas:
        cfg = np.__config__
        libs = getattr(cfg, "blas_opt_info", {}).get("libraries", []) if hasattr(cfg, "blas_opt_info") else []
        return f"none detected by threadpoolctl (numpy links {','.join(libs) or 'an unknown BLAS'}: likely reference BLAS)"
    return "; ".join(f"{b.get('internal_api')} {b.get('version')} threads={b.get('num_threads')} "
                     f"arch={b.get('architecture')} ({os.path.basename(b.get('filepath', ''))})" for b in blas)


def gemm_rate(n=1500, reps=2):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.copy()
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def features(m, pool, frames=1876):
    """One song's feature row, as src/pca/features.cpp makes it (log off)."""
    m = np.where(np.isfinite(m), m, np.float32(0)).astype(np.float32, copy=False)
    t = m.shape[1]
    if t >= frames:
        m = m[:, :frames]
    else:
        pad = m.mean(axis=1, dtype=np.float64).astype(np.float32)
        m = np.concatenate([m, np.repeat(pad[:, None], frames - t, axis=1)], axis=1)
    if pool == 1:
        return m.reshape(-1)
    # Each window summed left to right in float32 from 0, then over its count,
    # as melon sums it: a loop over the offset in the window, not over windows.
    full, rest = divmod(frames, pool)
    out = np.zeros((48, full + (rest > 0)), dtype=np.float32)
    for t in range(pool):
        out[:, :full] += m[:, t:full * pool:pool]
    out[:, :full] /= np.float32(pool)
    if rest:
        acc = np.zeros(48, dtype=np.float32)
        for t in range(full * pool, frames):
            acc += m[:, t]
        out[:, full] = acc / np.float32(rest)
    return out.reshape(-1)


def rel_error(x, mean, scores, comps):
    """||(X - mean) - S C||_F / ||X - mean||_F without forming an N x D residual."""
    xc_norm2 = 0.0
    cross = 0.0
    for i in range(0, x.shape[0], 1024):
        blk = x[i:i + 1024].astype(np.float64) - mean
        xc_norm2 += float(np.einsum("ij,ij->", blk, blk))
        cross += float(np.einsum("ij,ij->", blk @ comps.T, scores[i:i + 1024]))
    ss = scores.T @ scores
    cc = comps @ comps.T
    resid2 = xc_norm2 - 2 * cross + float(np.einsum("ij,ji->", ss, cc))
    return np.sqrt(max(resid2, 0.0) / xc_norm2)


def exact_singular_values(x, k):
    """The top k singular values of the centred x, exactly (to double rounding):
    eigenvalues of the smaller Gram matrix, accumulated in float64 over column
    (or row) blocks so that no centred copy of x is ever held whole."""
    n, d = x.shape
    mean = x.mean(axis=0, dtype=np.float64)
    if n <= d:  # Xc Xc^T, n x n, from blocks of columns
        g = np.zeros((n, n))
        for j in range(0, d, 2048):
            blk = x[:, j:j + 2048].astype(np.float64) - mean[j:j + 2048]
            g += blk @ blk.T
    else:  # Xc^T Xc, d x d, from blocks of rows
        g = np.zeros((d, d))
        for i in range(0, n, 2048):
            blk = x[i:i + 2048].astype(np.float64) - mean
            g += blk.T @ blk
    ev = np.linalg.eigvalsh(g)[::-1][:k]
    return np.sqrt(np.maximum(ev, 0.0))


def sigma_error(s, exact):
    k = min(len(s), len(exact))
    return float(np.max(np.abs(np.asarray(s[:k], dtype=np.float64) - exact[:k]) / exact[:k]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mel-dir", required=True)
    ap.add_argument("--melon-out", action="append", required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--p", type=int, required=True)
    ap.add_argument("--q", type=int, required=True)
    ap.add_argument("--pool", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--exact", type=int, default=1, help="1: also the top-k singular values' error against an exact SVD")
    a = ap.parse_args()
    import h5py
    import sklearn
    from sklearn.decomposition import PCA

    print(f"blas={blas_info()}")
    print(f"sklearn_version={sklearn.__version__}")
    print(f"numpy_gemm_gflops={gemm_rate():.2f}")
    with h5py.File(a.melon_out[0], "r") as f:
        ids = f["song_ids"][:]
    t0 = time.perf_counter()
    x = None
    for r, i in enumerate(ids):  # straight into one preallocated matrix: no stacking copy
        row = features(np.load(os.path.join(a.mel_dir, str(i // 1000), f"{i}.npy")), a.pool)
        if x is None:
            x = np.empty((len(ids), row.size), dtype=np.float32)
        x[r] = row
    print(f"read_s={time.perf_counter() - t0:.3f}")
    print(f"matrix={x.shape[0]}x{x.shape[1]} float32 ({x.nbytes / 1e6:.0f} MB)")
    # The best of --reps fits, as melon's runs are the best of as many.
    fits = []
    for _ in range(a.reps):
        pca = PCA(n_components=a.k, svd_solver="randomized", n_oversamples=a.p, iterated_power=a.q,
                  random_state=a.seed)
        t0 = time.perf_counter()
        scores = pca.fit_transform(x)
        fits.append(time.perf_counter() - t0)
    print(f"sklearn_fit_s={min(fits):.3f}")
    print(f"sklearn_fits={' '.join(f'{t:.3f}' for t in fits)}")
    print(f"sklearn_err={rel_error(x, pca.mean_.astype(np.float64), scores.astype(np.float64), pca.components_.astype(np.float64)):.6f}")
    print(f"sklearn_evr_sum={pca.explained_variance_ratio_.sum():.6f}")
    exact = None
    if a.exact:
        t0 = time.perf_counter()
        exact = exact_singular_values(x, a.k)
        print(f"exact_s={time.perf_counter() - t0:.1f}")
        print(f"sklearn_sigma_err={sigma_error(pca.singular_values_, exact):.3e}")
    for i, path in enumerate(a.melon_out):
        with h5py.File(path, "r") as f:
            assert np.array_equal(f["song_ids"][:], ids), f"{path}: other songs than the first output"
            err = rel_error(x, f["mean"][:], f["scores"][:].astype(np.float64), f["components"][:])
            evr = f["explained_variance_ratio"][:].sum()
            sv = f["singular_values"][:]
            passes = int(f.attrs["passes"]) if "passes" in f.attrs else -1
        print(f"melon_err{i}={err:.6f}")
        print(f"melon_passes{i}={passes}")
        if exact is not None:
            print(f"melon_sigma_err{i}={sigma_error(sv, exact):.3e}")
        print(f"melon_evr_sum{i}={evr:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
