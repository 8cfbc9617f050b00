// What this build's compiler flags let it emit, written down by the compiler
// itself: this file is compiled with the same flags as every other source
// (-march=native unless MELON_NATIVE=OFF), and only holds data, so reading it
// is safe on any CPU. The names are GCC's __builtin_cpu_supports names, which
// the check (isa_guard.cpp) asks the CPU about: the extensions of computation
// (SSE to AVX-512 and AMX, bit manipulation, crypto) that GCC 12's -march
// targets can enable, not the system ones (RDRAND, XSAVE, cache control) a
// compiler never emits for C++. No function here: code compiled with these
// flags may be what the CPU cannot run.

#ifndef MELON_BUILD_HOST
#define MELON_BUILD_HOST "?"
#endif

namespace melon::util::detail {
// One word and a space per extension the target has.
extern const char kIsaTarget[];
extern const char kIsaBuiltOn[];
const char kIsaTarget[] =
    " "
#ifdef __SSE3__
    "sse3 "
#endif
#ifdef __SSSE3__
    "ssse3 "
#endif
#ifdef __SSE4_1__
    "sse4.1 "
#endif
#ifdef __SSE4_2__
    "sse4.2 "
#endif
#ifdef __SSE4A__
    "sse4a "
#endif
#ifdef __POPCNT__
    "popcnt "
#endif
#ifdef __LZCNT__
    "lzcnt "
#endif
#ifdef __MOVBE__
    "movbe "
#endif
#ifdef __AES__
    "aes "
#endif
#ifdef __PCLMUL__
    "pclmul "
#endif
#ifdef __AVX__
    "avx "
#endif
#ifdef __AVX2__
    "avx2 "
#endif
#ifdef __FMA__
    "fma "
#endif
#ifdef __FMA4__
    "fma4 "
#endif
#ifdef __XOP__
    "xop "
#endif
#ifdef __F16C__
    "f16c "
#endif
#ifdef __BMI__
    "bmi "
#endif
#ifdef __BMI2__
    "bmi2 "
#endif
#ifdef __ADX__
    "adx "
#endif
#ifdef __SHA__
    "sha "
#endif
#ifdef __GFNI__
    "gfni "
#endif
#ifdef __VAES__
    "vaes "
#endif
#ifdef __VPCLMULQDQ__
    "vpclmulqdq "
#endif
#ifdef __AVX512F__
    "avx512f "
#endif
#ifdef __AVX512CD__
    "avx512cd "
#endif
#ifdef __AVX512BW__
    "avx512bw "
#endif
#ifdef __AVX512DQ__
    "avx512dq "
#endif
#ifdef __AVX512VL__
    "avx512vl "
#endif
#ifdef __AVX512IFMA__
    "avx512ifma "
#endif
#ifdef __AVX512VBMI__
    "avx512vbmi "
#endif
#ifdef __AVX512VBMI2__
    "avx512vbmi2 "
#endif
#ifdef __AVX512VNNI__
    "avx512vnni "
#endif
#ifdef __AVX512BITALG__
    "avx512bitalg "
#endif
#ifdef __AVX512VPOPCNTDQ__
    "avx512vpopcntdq "
#endif
#ifdef __AVX512BF16__
    "avx512bf16 "
#endif
#ifdef __AVXVNNI__
    "avxvnni "
#endif
#ifdef __AVX512FP16__
    "avx512fp16 "
#endif
#ifdef __AVX512VP2INTERSECT__
    "avx512vp2intersect "
#endif
#ifdef __AVX512ER__
    "avx512er "
#endif
#ifdef __AVX512PF__
    "avx512pf "
#endif
#ifdef __AVX5124FMAPS__
    "avx5124fmaps "
#endif
#ifdef __AVX5124VNNIW__
    "avx5124vnniw "
#endif
#ifdef __AMX_TILE__
    "amx-tile "
#endif
#ifdef __AMX_INT8__
    "amx-int8 "
#endif
#ifdef __AMX_BF16__
    "amx-bf16 "
#endif
    ;
const char kIsaBuiltOn[] = MELON_BUILD_HOST;
}  // namespace melon::util::detail
