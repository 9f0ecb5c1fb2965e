/*
 * halfdist.h: IEEE 754 binary16 ("half") conversion and the halfvec distance kernels,
 * scalar and SIMD, chosen once at load time.
 *
 * Pure C with no PostgreSQL dependency, like distance.h, so the standalone kernel test
 * (test/kernels/test_halfdist.c) links src/halfdist.c directly.  A half is kept as its
 * 16 bits in a uint16_t; every kernel converts to float and sums in float.  See
 * src/README, section "halfvec".
 */
#ifndef VECSEARCH_HALFDIST_H
#define VECSEARCH_HALFDIST_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/*
 * AArch64 converts between half and float in hardware (fcvt, IEEE rounding to nearest
 * even, what the portable code below does), through the __fp16 storage type of the
 * ARM C Language Extensions; the compiler also vectorizes such loops.
 */
#if defined(__aarch64__)
#define VS_HALF_FP16_STORAGE 1
#endif

/* The largest finite half, 65504 = (2 - 2^-10) * 2^15. */
#define VS_HALF_MAX 65504.0f

/* True for the bits of a half NaN or infinity (exponent all ones). */
static inline int
VsHalfIsNonFinite(uint16_t h)
{
	return (h & 0x7c00) == 0x7c00;
}

static inline int
VsHalfIsNan(uint16_t h)
{
	return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
}

/*
 * The float of the half h, exactly (every half is a float).  Subnormal halves are
 * m * 2^-24, computed in float without rounding.
 */
static inline float
VsHalfToFloat(uint16_t h)
{
#ifdef VS_HALF_FP16_STORAGE
	__fp16		f16;

	memcpy(&f16, &h, sizeof(f16));
	return (float) f16;
#else
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	e = (h >> 10) & 0x1f;
	uint32_t	m = h & 0x3ff;
	uint32_t	bits;
	float		f;

	if (e == 0x1f)
		bits = sign | 0x7f800000 | (m << 13);
	else if (e == 0)
	{
		f = (float) m * (1.0f / 16777216.0f);
		memcpy(&bits, &f, sizeof(bits));
		bits |= sign;
	}
	else
		bits = sign | ((e + 112) << 23) | (m << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
#endif
}

/*
 * The half nearest to f, ties to even (IEEE 754's default rounding, what F16C's
 * vcvtps2ph does with imm8 = 0).  Finite values of magnitude 65520 and more round to
 * infinity: callers that must refuse overflow test VsHalfIsNonFinite of the result
 * against isfinite(f).  NaN stays NaN.
 */
static inline uint16_t
VsFloatToHalf(float f)
{
#ifdef VS_HALF_FP16_STORAGE
	__fp16		f16 = (__fp16) f;
	uint16_t	h;

	memcpy(&h, &f16, sizeof(h));
	return h;
#else
	uint32_t	x;
	uint32_t	sign;
	uint32_t	ax;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000;
	ax = x & 0x7fffffff;
	if (ax > 0x7f800000)		/* NaN: keep it quiet and a NaN */
		return (uint16_t) (sign | 0x7e00 | ((ax >> 13) & 0x3ff));
	if (ax >= 0x477ff000)		/* >= 65520 (or infinite): infinity */
		return (uint16_t) (sign | 0x7c00);
	if (ax < 0x38800000)		/* below 2^-14: a subnormal half or zero */
	{
		float		fa;

		/*
		 * the half is round(|f| * 2^24) units of 2^-24; the product is exact
		 * (a power-of-two scale of a value below 2^-14) and rintf rounds to
		 * even in the default mode.  1024 is the smallest normal half.
		 */
		memcpy(&fa, &ax, sizeof(fa));
		return (uint16_t) (sign | (uint32_t) rintf(fa * 16777216.0f));
	}
	/* normal: drop 13 mantissa bits rounding to even, rebias the exponent */
	ax += 0xfff + ((ax >> 13) & 1);
	ax -= (uint32_t) (127 - 15) << 23;
	return (uint16_t) (sign | (ax >> 13));
#endif
}

/* One implementation of every kernel (scalar, f16c = AVX2+FMA+F16C, avx512 = AVX-512F). */
typedef struct VsHalfKernels
{
	const char *name;
	/* sum (a_i - b_i)^2 */
	float		(*l2sq) (const uint16_t * a, const uint16_t * b, int n);
	/* sum a_i * b_i */
	float		(*dot) (const uint16_t * a, const uint16_t * b, int n);
	/* sum |a_i - b_i| */
	float		(*l1) (const uint16_t * a, const uint16_t * b, int n);
	/* one pass: *ab = sum a_i b_i, *aa = sum a_i^2, *bb = sum b_i^2 */
	void		(*cosparts) (const uint16_t * a, const uint16_t * b, int n,
							 float *ab, float *aa, float *bb);
	/* out[i] = the float of h[i], i < n */
	void		(*to_float) (const uint16_t * h, float *out, int n);
} VsHalfKernels;

/* The kernels in use: scalar until VsHalfKernelsInit() installs the best variant. */
extern VsHalfKernels vs_half_kernels;

/* Choose the best variant the CPU supports (idempotent). Returns its name. */
extern const char *VsHalfKernelsInit(void);

/* Force a variant by name; returns 0 if unknown or not supported here. */
extern int	VsHalfKernelsSelect(const char *name);

/* All variants compiled in and supported by this CPU, scalar first, best last. */
extern const VsHalfKernels *VsHalfKernelVariants(int *count);

#endif							/* VECSEARCH_HALFDIST_H */
