#pragma once
// Eigen, included through here only. With -march=native on an AVX-512 CPU,
// GCC 12 reports Eigen 3.4's AVX-512 transposes as reading an uninitialised
// value: the intrinsics' own `__m512 __Y = __Y;` (_mm512_undefined_ps), a
// known false positive that filled the CI log with about 700 warnings and
// hid any real one. The warning's location is inside the intrinsics' header,
// first included here, so silencing it for that region leaves the check on
// for melon's own code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <Eigen/Dense>
#pragma GCC diagnostic pop
#else
#include <Eigen/Dense>
#endif
