/*
 * halfdist.c: the halfvec distance kernels (L2 squared, inner product, L1, cosine parts)
 * and the bulk half-to-float conversion, in a scalar version, an AVX2 + FMA + F16C
 * version and an AVX-512F version.
 *
 * Each kernel converts the halves to float (vcvtph2ps: F16C for 8 lanes, AVX-512F for
 * 16) and sums in float, as distance.c's float kernels do, so a halfvec distance equals
 * the vector distance of the same values up to float rounding.  AVX-512 FP16 arithmetic
 * is not used even where present: sums kept in half precision lose about 3 decimal
 * digits over a few thousand terms.  Dispatch as in distance.c: target attributes per
 * function, one CPUID check in VsHalfKernelsInit().  No PostgreSQL headers here.
 * See src/README, section "halfvec".
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "halfdist.h"

#if defined(__x86_64__) || defined(__i386__)
#define VS_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------------------------
 * Scalar: plain loops in index order, one float accumulator.
 * ------------------------------------------------------------------------------------ */

static float
scalar_l2sq(const uint16_t * a, const uint16_t * b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = VsHalfToFloat(a[i]) - VsHalfToFloat(b[i]);

		s += d * d;
	}
	return s;
}

static float
scalar_dot(const uint16_t * a, const uint16_t * b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += VsHalfToFloat(a[i]) * VsHalfToFloat(b[i]);
	return s;
}

static float
scalar_l1(const uint16_t * a, const uint16_t * b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(VsHalfToFloat(a[i]) - VsHalfToFloat(b[i]));
	return s;
}

static void
scalar_cosparts(const uint16_t * a, const uint16_t * b, int n, float *ab, float *aa, float *bb)
{
	float		sab = 0.0f,
				saa = 0.0f,
				sbb = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		x = VsHalfToFloat(a[i]),
					y = VsHalfToFloat(b[i]);

		sab += x * y;
		saa += x * x;
		sbb += y * y;
	}
	*ab = sab;
	*aa = saa;
	*bb = sbb;
}

static void
scalar_to_float(const uint16_t * h, float *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = VsHalfToFloat(h[i]);
}

#ifdef VS_X86

/* ------------------------------------------------------------------------------------
 * AVX2 + FMA + F16C: 8 halves per conversion, 4 accumulators.  A tail of fewer than 8
 * halves is copied into a zeroed local block first, so nothing past the end is read.
 * ------------------------------------------------------------------------------------ */
#define VS_F16C __attribute__((target("avx2,fma,f16c")))
#define VS_F16C_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* 8 halves at p as floats */
VS_F16C_INLINE __m256
f16c_load(const uint16_t * p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
}

/* the first r (1..7) halves at p as floats, zeros after */
VS_F16C_INLINE __m256
f16c_load_tail(const uint16_t * p, int r)
{
	uint16_t	buf[8] = {0};

	memcpy(buf, p, sizeof(uint16_t) * r);
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) buf));
}

VS_F16C_INLINE float
f16c_hsum(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static VS_F16C float
f16c_l2sq(const uint16_t * a, const uint16_t * b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(f16c_load(a + i), f16c_load(b + i));
		__m256		d1 = _mm256_sub_ps(f16c_load(a + i + 8), f16c_load(b + i + 8));
		__m256		d2 = _mm256_sub_ps(f16c_load(a + i + 16), f16c_load(b + i + 16));
		__m256		d3 = _mm256_sub_ps(f16c_load(a + i + 24), f16c_load(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		d = _mm256_sub_ps(f16c_load(a + i), f16c_load(b + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		d = _mm256_sub_ps(f16c_load_tail(a + i, n - i), f16c_load_tail(b + i, n - i));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return f16c_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_F16C float
f16c_dot(const uint16_t * a, const uint16_t * b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(f16c_load(a + i), f16c_load(b + i), s0);
		s1 = _mm256_fmadd_ps(f16c_load(a + i + 8), f16c_load(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(f16c_load(a + i + 16), f16c_load(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(f16c_load(a + i + 24), f16c_load(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(f16c_load(a + i), f16c_load(b + i), s0);
	if (i < n)
		s1 = _mm256_fmadd_ps(f16c_load_tail(a + i, n - i), f16c_load_tail(b + i, n - i), s1);
	return f16c_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_F16C float
f16c_l1(const uint16_t * a, const uint16_t * b, int n)
{
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_add_ps(s0, _mm256_and_ps(absmask, _mm256_sub_ps(f16c_load(a + i), f16c_load(b + i))));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(absmask, _mm256_sub_ps(f16c_load(a + i + 8), f16c_load(b + i + 8))));
		s2 = _mm256_add_ps(s2, _mm256_and_ps(absmask, _mm256_sub_ps(f16c_load(a + i + 16), f16c_load(b + i + 16))));
		s3 = _mm256_add_ps(s3, _mm256_and_ps(absmask, _mm256_sub_ps(f16c_load(a + i + 24), f16c_load(b + i + 24))));
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_add_ps(s0, _mm256_and_ps(absmask, _mm256_sub_ps(f16c_load(a + i), f16c_load(b + i))));
	if (i < n)
	{
		d = _mm256_sub_ps(f16c_load_tail(a + i, n - i), f16c_load_tail(b + i, n - i));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(absmask, d));
	}
	return f16c_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_F16C void
f16c_cosparts(const uint16_t * a, const uint16_t * b, int n, float *ab, float *aa, float *bb)
{
	__m256		ab0 = _mm256_setzero_ps(),
				ab1 = _mm256_setzero_ps(),
				aa0 = _mm256_setzero_ps(),
				aa1 = _mm256_setzero_ps(),
				bb0 = _mm256_setzero_ps(),
				bb1 = _mm256_setzero_ps(),
				va,
				vb;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		a0 = f16c_load(a + i),
					a1 = f16c_load(a + i + 8),
					b0 = f16c_load(b + i),
					b1 = f16c_load(b + i + 8);

		ab0 = _mm256_fmadd_ps(a0, b0, ab0);
		ab1 = _mm256_fmadd_ps(a1, b1, ab1);
		aa0 = _mm256_fmadd_ps(a0, a0, aa0);
		aa1 = _mm256_fmadd_ps(a1, a1, aa1);
		bb0 = _mm256_fmadd_ps(b0, b0, bb0);
		bb1 = _mm256_fmadd_ps(b1, b1, bb1);
	}
	for (; i < n; i += 8)
	{
		if (i + 8 <= n)
		{
			va = f16c_load(a + i);
			vb = f16c_load(b + i);
		}
		else
		{
			va = f16c_load_tail(a + i, n - i);
			vb = f16c_load_tail(b + i, n - i);
		}
		ab0 = _mm256_fmadd_ps(va, vb, ab0);
		aa0 = _mm256_fmadd_ps(va, va, aa0);
		bb0 = _mm256_fmadd_ps(vb, vb, bb0);
	}
	*ab = f16c_hsum(_mm256_add_ps(ab0, ab1));
	*aa = f16c_hsum(_mm256_add_ps(aa0, aa1));
	*bb = f16c_hsum(_mm256_add_ps(bb0, bb1));
}

static VS_F16C void
f16c_to_float(const uint16_t * h, float *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, f16c_load(h + i));
	for (; i < n; i++)
		out[i] = _cvtsh_ss(h[i]);
}

/* ------------------------------------------------------------------------------------
 * AVX-512F: 16 halves per conversion (vcvtph2ps zmm), 4 accumulators, tails as above.
 * ------------------------------------------------------------------------------------ */
#define VS_AVX512 __attribute__((target("avx512f")))
#define VS_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

VS_AVX512_INLINE __m512
avx512_load(const uint16_t * p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) p));
}

/* the first r (1..15) halves at p as floats, zeros after */
VS_AVX512_INLINE __m512
avx512_load_tail(const uint16_t * p, int r)
{
	uint16_t	buf[16] = {0};

	memcpy(buf, p, sizeof(uint16_t) * r);
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) buf));
}

static VS_AVX512 float
avx512_l2sq(const uint16_t * a, const uint16_t * b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(avx512_load(a + i), avx512_load(b + i));
		__m512		d1 = _mm512_sub_ps(avx512_load(a + i + 16), avx512_load(b + i + 16));
		__m512		d2 = _mm512_sub_ps(avx512_load(a + i + 32), avx512_load(b + i + 32));
		__m512		d3 = _mm512_sub_ps(avx512_load(a + i + 48), avx512_load(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		d = _mm512_sub_ps(avx512_load(a + i), avx512_load(b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		d = _mm512_sub_ps(avx512_load_tail(a + i, n - i), avx512_load_tail(b + i, n - i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
avx512_dot(const uint16_t * a, const uint16_t * b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(avx512_load(a + i), avx512_load(b + i), s0);
		s1 = _mm512_fmadd_ps(avx512_load(a + i + 16), avx512_load(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(avx512_load(a + i + 32), avx512_load(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(avx512_load(a + i + 48), avx512_load(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(avx512_load(a + i), avx512_load(b + i), s0);
	if (i < n)
		s1 = _mm512_fmadd_ps(avx512_load_tail(a + i, n - i), avx512_load_tail(b + i, n - i), s1);
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
avx512_l1(const uint16_t * a, const uint16_t * b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(avx512_load(a + i), avx512_load(b + i))));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(avx512_load(a + i + 16), avx512_load(b + i + 16))));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(_mm512_sub_ps(avx512_load(a + i + 32), avx512_load(b + i + 32))));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(_mm512_sub_ps(avx512_load(a + i + 48), avx512_load(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(avx512_load(a + i), avx512_load(b + i))));
	if (i < n)
	{
		d = _mm512_sub_ps(avx512_load_tail(a + i, n - i), avx512_load_tail(b + i, n - i));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 void
avx512_cosparts(const uint16_t * a, const uint16_t * b, int n, float *ab, float *aa, float *bb)
{
	__m512		ab0 = _mm512_setzero_ps(),
				ab1 = _mm512_setzero_ps(),
				aa0 = _mm512_setzero_ps(),
				aa1 = _mm512_setzero_ps(),
				bb0 = _mm512_setzero_ps(),
				bb1 = _mm512_setzero_ps(),
				va,
				vb;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		a0 = avx512_load(a + i),
					a1 = avx512_load(a + i + 16),
					b0 = avx512_load(b + i),
					b1 = avx512_load(b + i + 16);

		ab0 = _mm512_fmadd_ps(a0, b0, ab0);
		ab1 = _mm512_fmadd_ps(a1, b1, ab1);
		aa0 = _mm512_fmadd_ps(a0, a0, aa0);
		aa1 = _mm512_fmadd_ps(a1, a1, aa1);
		bb0 = _mm512_fmadd_ps(b0, b0, bb0);
		bb1 = _mm512_fmadd_ps(b1, b1, bb1);
	}
	for (; i < n; i += 16)
	{
		if (i + 16 <= n)
		{
			va = avx512_load(a + i);
			vb = avx512_load(b + i);
		}
		else
		{
			va = avx512_load_tail(a + i, n - i);
			vb = avx512_load_tail(b + i, n - i);
		}
		ab0 = _mm512_fmadd_ps(va, vb, ab0);
		aa0 = _mm512_fmadd_ps(va, va, aa0);
		bb0 = _mm512_fmadd_ps(vb, vb, bb0);
	}
	*ab = _mm512_reduce_add_ps(_mm512_add_ps(ab0, ab1));
	*aa = _mm512_reduce_add_ps(_mm512_add_ps(aa0, aa1));
	*bb = _mm512_reduce_add_ps(_mm512_add_ps(bb0, bb1));
}

static VS_AVX512 void
avx512_to_float(const uint16_t * h, float *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, avx512_load(h + i));
	if (i < n)
	{
		float		buf[16];

		_mm512_storeu_ps(buf, avx512_load_tail(h + i, n - i));
		memcpy(out + i, buf, sizeof(float) * (n - i));
	}
}

#endif							/* VS_X86 */

/* ------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------ */

static const VsHalfKernels vs_half_scalar = {
	"scalar", scalar_l2sq, scalar_dot, scalar_l1, scalar_cosparts, scalar_to_float
};

#ifdef VS_X86
static const VsHalfKernels vs_half_f16c = {
	"f16c", f16c_l2sq, f16c_dot, f16c_l1, f16c_cosparts, f16c_to_float
};
static const VsHalfKernels vs_half_avx512 = {
	"avx512", avx512_l2sq, avx512_dot, avx512_l1, avx512_cosparts, avx512_to_float
};
#endif

VsHalfKernels vs_half_kernels = {
	"scalar", scalar_l2sq, scalar_dot, scalar_l1, scalar_cosparts, scalar_to_float
};

static VsHalfKernels vs_half_variants[3];
static int	vs_half_nvariants = 0;

#ifdef VS_X86
/*
 * F16C, from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
 * Its instructions use the ymm registers, whose saving by the OS the "avx2" check
 * already covers.
 */
static int
cpu_has_f16c(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return 0;
	return (ecx & (1u << 29)) != 0;
}
#endif

/*
 * What this CPU and OS can run (__builtin_cpu_supports checks CPUID and, for AVX and
 * AVX-512, that the OS saves the registers; see distance.c).
 */
static void
detect_variants(void)
{
	int			nv = 0;

	if (vs_half_nvariants > 0)
		return;
	vs_half_variants[nv++] = vs_half_scalar;
#ifdef VS_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		cpu_has_f16c())
		vs_half_variants[nv++] = vs_half_f16c;
	if (__builtin_cpu_supports("avx512f"))
		vs_half_variants[nv++] = vs_half_avx512;
#endif
	vs_half_nvariants = nv;
}

const char *
VsHalfKernelsInit(void)
{
	detect_variants();
	vs_half_kernels = vs_half_variants[vs_half_nvariants - 1];
	return vs_half_kernels.name;
}

int
VsHalfKernelsSelect(const char *name)
{
	detect_variants();
	if (name == NULL)
		return 0;
	for (int i = 0; i < vs_half_nvariants; i++)
	{
		if (strcmp(vs_half_variants[i].name, name) == 0)
		{
			vs_half_kernels = vs_half_variants[i];
			return 1;
		}
	}
	return 0;
}

const VsHalfKernels *
VsHalfKernelVariants(int *count)
{
	detect_variants();
	if (count)
		*count = vs_half_nvariants;
	return vs_half_variants;
}
