/*
 * distance.c: the distance kernels (L2 squared, inner product, L1, cosine parts, a
 * batched inner-product block, and the FDE SimHash sums of muvera.c), in a
 * scalar version and AVX2+FMA and AVX-512F versions.
 *
 * The SIMD versions are compiled per function with target attributes, so the default
 * build stays portable (no -march=native); VsKernelsInit() picks the best variant the
 * CPU and OS support once, at load time, and stores it in vs_kernels.  No PostgreSQL
 * headers here: the standalone test and benchmark link this file directly.
 * See src/README, section "Distance kernels".
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "distance.h"

#if defined(__x86_64__) || defined(__i386__)
#define VS_X86 1
#include <immintrin.h>
#endif

/*
 * Force full unrolling of the small fixed-trip loops of the register tiles, so their
 * accumulator arrays live in registers (clang ignores GCC's spelling here).
 */
#if defined(__clang__)
#define VS_UNROLL _Pragma("clang loop unroll(full)")
#else
#define VS_UNROLL _Pragma("GCC unroll 16")
#endif

/*
 * Bytes of x rows per block of dot_block: a block is re-read once per group of queries,
 * so it should stay in L2 next to the prefetched next block and the queries.  128 KB
 * suits L2 caches from 256 KB up; on the 1 MB L2 here 96..256 KB measured the same.
 */
#ifndef VS_BLOCK_BYTES
#define VS_BLOCK_BYTES (128 * 1024)
#endif

/* ------------------------------------------------------------------------------------
 * Scalar: plain loops in index order, one accumulator.  Without -ffast-math the compiler
 * may not reorder the float sums, so these are also the reference the test compares to.
 * ------------------------------------------------------------------------------------ */

/* sum (a_i - b_i)^2 */
static float
scalar_l2sq(const float *a, const float *b, int n)
{
	float		s = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* sum a_i * b_i */
static float
scalar_dot(const float *a, const float *b, int n)
{
	float		s = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* sum |a_i - b_i| */
static float
scalar_l1(const float *a, const float *b, int n)
{
	float		s = 0.0f;
	int			i;

	/*
	 * fabsf compiles to a sign-bit mask; "d < 0 ? -d : d" became a
	 * mispredicted branch
	 */
	for (i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

static float
scalar_dot_u8(const float *q, const unsigned char *c, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += q[i] * (float) c[i];
	return s;
}

static float
scalar_l1_u8(const float *q, const unsigned char *c, float lo, float delta, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += fabsf(q[i] - (lo + delta * (float) c[i]));
	return s;
}

/* <a,b>, <a,a>, <b,b> in one pass */
static void
scalar_cosparts(const float *a, const float *b, int n, float *ab, float *aa, float *bb)
{
	float		sab = 0.0f,
				saa = 0.0f,
				sbb = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		sab += a[i] * b[i];
		saa += a[i] * a[i];
		sbb += b[i] * b[i];
	}
	*ab = sab;
	*aa = saa;
	*bb = sbb;
}

/* out[i * ldo + j] = <q_i, x_j>, one scalar dot product per pair */
static void
scalar_dot_block(const float *q, int nq, int ldq, const float *x, int nx, int ldx,
				 int n, float *out, int ldo)
{
	int			i,
				j;

	for (i = 0; i < nq; i++)
		for (j = 0; j < nx; j++)
			out[(size_t) i * ldo + j] = scalar_dot(q + (size_t) i * ldq,
												   x + (size_t) j * ldx, n);
}

#ifdef VS_X86

/*
 * Rows of x per block for dot_block: about VS_BLOCK_BYTES of vector data, rounded down
 * to a multiple of the tile width nr, at least nr.
 */
static int
block_rows(int n, int nr)
{
	size_t		rows = VS_BLOCK_BYTES / ((size_t) (n > 0 ? n : 1) * sizeof(float));

	rows -= rows % nr;
	if (rows < (size_t) nr)
		rows = nr;
	if (rows > (size_t) 1 << 30)
		rows = (size_t) 1 << 30;
	return (int) rows;
}

/* ------------------------------------------------------------------------------------
 * AVX2 + FMA: 8 floats per register, 4 accumulators, masked loads for the tail.
 * ------------------------------------------------------------------------------------ */
#define VS_AVX2 __attribute__((target("avx2,fma")))
#define VS_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* -1 in the first 8 entries, 0 after: a mask for the first r lanes is at 8 - r. */
static const int vs_tail_mask8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Load the first r (1..7) floats of p, zeros elsewhere; never touches p[r..7]. */
VS_AVX2_INLINE __m256
avx2_load_tail(const float *p, int r)
{
	__m256i		m = _mm256_loadu_si256((const __m256i *) (vs_tail_mask8 + 8 - r));

	return _mm256_maskload_ps(p, m);
}

/* Sum of the 8 lanes. */
VS_AVX2_INLINE float
avx2_hsum(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static VS_AVX2 float
avx2_l2sq(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		d = _mm256_sub_ps(avx2_load_tail(a + i, n - i), avx2_load_tail(b + i, n - i));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 float
avx2_dot(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < n)
		s1 = _mm256_fmadd_ps(avx2_load_tail(a + i, n - i), avx2_load_tail(b + i, n - i), s1);
	return avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 float
avx2_l1(const float *a, const float *b, int n)
{
	/* |d| by clearing the sign bit */
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_add_ps(s0, _mm256_and_ps(absmask, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(absmask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8))));
		s2 = _mm256_add_ps(s2, _mm256_and_ps(absmask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16))));
		s3 = _mm256_add_ps(s3, _mm256_and_ps(absmask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24))));
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_add_ps(s0, _mm256_and_ps(absmask, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
	if (i < n)
	{
		d = _mm256_sub_ps(avx2_load_tail(a + i, n - i), avx2_load_tail(b + i, n - i));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(absmask, d));
	}
	return avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 void
avx2_cosparts(const float *a, const float *b, int n, float *ab, float *aa, float *bb)
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
		__m256		a0 = _mm256_loadu_ps(a + i),
					a1 = _mm256_loadu_ps(a + i + 8),
					b0 = _mm256_loadu_ps(b + i),
					b1 = _mm256_loadu_ps(b + i + 8);

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
			va = _mm256_loadu_ps(a + i);
			vb = _mm256_loadu_ps(b + i);
		}
		else
		{
			va = avx2_load_tail(a + i, n - i);
			vb = avx2_load_tail(b + i, n - i);
		}
		ab0 = _mm256_fmadd_ps(va, vb, ab0);
		aa0 = _mm256_fmadd_ps(va, va, aa0);
		bb0 = _mm256_fmadd_ps(vb, vb, bb0);
	}
	*ab = avx2_hsum(_mm256_add_ps(ab0, ab1));
	*aa = avx2_hsum(_mm256_add_ps(aa0, aa1));
	*bb = avx2_hsum(_mm256_add_ps(bb0, bb1));
}

/*
 * Register tile of dot_block: the mr x nr inner products of queries q_0..q_{mr-1} and
 * rows x_0..x_{nr-1}, one 8-lane accumulator per pair (12 accumulators + 3 query
 * registers + 1 row register = the 16 ymm registers for the full 3 x 4 tile).  Each
 * step of 8 floats does mr + nr loads for mr * nr FMAs.  mr and nr are constants at
 * every call, so the loops unroll and the accumulators live in registers.
 */
#define AVX2_MR 3
#define AVX2_NR 4

/* pg_bsd_indent misreads VS_UNROLL (a _Pragma) before a loop: kept as written */
/* *INDENT-OFF* */
VS_AVX2_INLINE void
avx2_tile(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo,
		  const int mr, const int nr)
{
	__m256		acc[AVX2_MR][AVX2_NR];
	__m256		qv[AVX2_MR];
	__m256		xv;
	int			i,
				j,
				k;

	VS_UNROLL
	for (i = 0; i < mr; i++)
		VS_UNROLL
		for (j = 0; j < nr; j++)
			acc[i][j] = _mm256_setzero_ps();

	for (k = 0; k + 8 <= n; k += 8)
	{
		VS_UNROLL
		for (i = 0; i < mr; i++)
			qv[i] = _mm256_loadu_ps(q + (size_t) i * ldq + k);
		VS_UNROLL
		for (j = 0; j < nr; j++)
		{
			xv = _mm256_loadu_ps(x + (size_t) j * ldx + k);
			VS_UNROLL
			for (i = 0; i < mr; i++)
				acc[i][j] = _mm256_fmadd_ps(qv[i], xv, acc[i][j]);
		}
	}
	if (k < n)
	{
		VS_UNROLL
		for (i = 0; i < mr; i++)
			qv[i] = avx2_load_tail(q + (size_t) i * ldq + k, n - k);
		VS_UNROLL
		for (j = 0; j < nr; j++)
		{
			xv = avx2_load_tail(x + (size_t) j * ldx + k, n - k);
			VS_UNROLL
			for (i = 0; i < mr; i++)
				acc[i][j] = _mm256_fmadd_ps(qv[i], xv, acc[i][j]);
		}
	}

	if (nr == 4)
	{
		/*
		 * Reduce the four accumulators of a query together: two rounds of hadd leave
		 * [x0 x1 x2 x3] partial sums in each 128-bit half; add the halves.
		 */
		VS_UNROLL
		for (i = 0; i < mr; i++)
		{
			__m256		h = _mm256_hadd_ps(_mm256_hadd_ps(acc[i][0], acc[i][1]),
										   _mm256_hadd_ps(acc[i][2], acc[i][3]));
			__m128		s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));

			_mm_storeu_ps(out + (size_t) i * ldo, s);
		}
	}
	else
	{
		VS_UNROLL
		for (i = 0; i < mr; i++)
			VS_UNROLL
			for (j = 0; j < nr; j++)
				out[(size_t) i * ldo + j] = avx2_hsum(acc[i][j]);
	}
}
/* *INDENT-ON* */

/* The tiles dot_block uses: full, a column of rows left over, a row of queries, 1 x 1. */
static VS_AVX2 void
avx2_tile_full(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx2_tile(q, ldq, x, ldx, n, out, ldo, AVX2_MR, AVX2_NR);
}

static VS_AVX2 void
avx2_tile_mr1(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx2_tile(q, ldq, x, ldx, n, out, ldo, AVX2_MR, 1);
}

static VS_AVX2 void
avx2_tile_1nr(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx2_tile(q, ldq, x, ldx, n, out, ldo, 1, AVX2_NR);
}

static VS_AVX2 void
avx2_tile_11(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx2_tile(q, ldq, x, ldx, n, out, ldo, 1, 1);
}

/*
 * The loop nest of dot_block, shared by the SIMD variants (GEMM-style blocking, as in
 * Goto and van de Geijn, "Anatomy of high-performance matrix multiplication", 2008, but
 * without packing: both operands are already contiguous along the reduction axis).
 * x is cut into blocks of rows that stay in L2; for each block, every group of mr
 * queries (in L1) sweeps the block in tiles of nr rows.  Leftover queries and rows use
 * the narrower tiles.
 *
 * While one block is computed, the next one is prefetched into L2, a few cache lines
 * before each tile, spread evenly over the block's tiles: otherwise the first query
 * group of each block waits on memory (measured with AVX-512 on 64 queries x 60,000 x
 * 784 rows from memory: about 92 GFLOP/s without, 110 with; 115 with the rows in cache).
 */
typedef void (*VsTileFn) (const float *q, int ldq, const float *x, int ldx, int n,
						  float *out, int ldo);

/* Prefetch up to count cache lines from *cur (advancing it), not past end. */
static inline void
prefetch_lines(const char **cur, const char *end, int count)
{
	const char *p = *cur;

	while (count-- > 0 && p < end)
	{
		__builtin_prefetch(p, 0, 2);
		p += 64;
	}
	*cur = p;
}

static inline void
dot_block_driver(const float *q, int nq, int ldq, const float *x, int nx, int ldx,
				 int n, float *out, int ldo, int mr, int nr,
				 VsTileFn full, VsTileFn mr1, VsTileFn onenr, VsTileFn oneone)
{
	int			nb = block_rows(n, nr);
	int			j0;

	for (j0 = 0; j0 < nx; j0 += nb)
	{
		int			jend = nx - j0 < nb ? nx : j0 + nb;
		int			nextend = nx - jend < nb ? nx : jend + nb;
		int			i = 0,
					j;
		const char *pf = NULL,
				   *pfend = NULL;
		int			pfcount = 0;

		if (nextend > jend)
		{
			size_t		bytes = ((size_t) (nextend - 1 - jend) * ldx + n) * sizeof(float);
			size_t		tiles = (size_t) ((nq + mr - 1) / mr) * ((jend - j0 + nr - 1) / nr);

			/* rows far apart (huge ldx): leave it to the hardware */
			if (bytes <= (size_t) 2 * nb * n * sizeof(float) + 4096)
			{
				pf = (const char *) (x + (size_t) jend * ldx);
				pfend = pf + bytes;
				pfcount = (int) ((bytes / 64 + tiles) / tiles);
			}
		}

		for (; i + mr <= nq; i += mr)
		{
			const float *qi = q + (size_t) i * ldq;
			float	   *oi = out + (size_t) i * ldo;

			for (j = j0; j + nr <= jend; j += nr)
			{
				prefetch_lines(&pf, pfend, pfcount);
				full(qi, ldq, x + (size_t) j * ldx, ldx, n, oi + j, ldo);
			}
			for (; j < jend; j++)
				mr1(qi, ldq, x + (size_t) j * ldx, ldx, n, oi + j, ldo);
		}
		for (; i < nq; i++)
		{
			const float *qi = q + (size_t) i * ldq;
			float	   *oi = out + (size_t) i * ldo;

			for (j = j0; j + nr <= jend; j += nr)
			{
				prefetch_lines(&pf, pfend, pfcount);
				onenr(qi, ldq, x + (size_t) j * ldx, ldx, n, oi + j, ldo);
			}
			for (; j < jend; j++)
				oneone(qi, ldq, x + (size_t) j * ldx, ldx, n, oi + j, ldo);
		}
	}
}

static void
avx2_dot_block(const float *q, int nq, int ldq, const float *x, int nx, int ldx,
			   int n, float *out, int ldo)
{
	dot_block_driver(q, nq, ldq, x, nx, ldx, n, out, ldo, AVX2_MR, AVX2_NR,
					 avx2_tile_full, avx2_tile_mr1, avx2_tile_1nr, avx2_tile_11);
}

/* 8 code bytes widened to floats */
VS_AVX2_INLINE __m256
avx2_u8(const unsigned char *c)
{
	return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) c)));
}

static VS_AVX2 float
avx2_dot_u8(const float *q, const unsigned char *c, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), avx2_u8(c + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), avx2_u8(c + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), avx2_u8(c + i), s0);
	for (; i < n; i++)
		tail += q[i] * (float) c[i];
	return avx2_hsum(_mm256_add_ps(s0, s1)) + tail;
}

static VS_AVX2 float
avx2_l1_u8(const float *q, const unsigned char *c, float lo, float delta, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				vlo = _mm256_set1_ps(lo),
				vd = _mm256_set1_ps(delta),
				sign = _mm256_set1_ps(-0.0f);
	float		tail = 0;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(q + i),
									  _mm256_fmadd_ps(vd, avx2_u8(c + i), vlo));

		s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d));
	}
	for (; i < n; i++)
		tail += fabsf(q[i] - (lo + delta * (float) c[i]));
	return avx2_hsum(s0) + tail;
}

/* ------------------------------------------------------------------------------------
 * AVX-512F: 16 floats per register, 4 accumulators (64 floats per iteration), a masked
 * load for the tail.  Only AVX-512F instructions, so any AVX-512 CPU runs them.
 * ------------------------------------------------------------------------------------ */
#define VS_AVX512 __attribute__((target("avx512f")))
#define VS_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* Mask of the first r (0..16) lanes. */
VS_AVX512_INLINE __mmask16
avx512_mask(int r)
{
	return (__mmask16) ((1u << r) - 1u);
}

static VS_AVX512 float
avx512_l2sq(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__mmask16	m = avx512_mask(n - i);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
avx512_dot(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < n)
	{
		__mmask16	m = avx512_mask(n - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
avx512_l1(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps(),
				d;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16))));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32))));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
	if (i < n)
	{
		__mmask16	m = avx512_mask(n - i);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* 16 code bytes widened to floats; the first r lanes when masked */
VS_AVX512_INLINE __m512
avx512_u8(const unsigned char *c)
{
	return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) c)));
}

static VS_AVX512 float
avx512_dot_u8(const float *q, const unsigned char *c, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	float		tail = 0;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), avx512_u8(c + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), avx512_u8(c + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), avx512_u8(c + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), avx512_u8(c + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), avx512_u8(c + i), s0);
	for (; i < n; i++)
		tail += q[i] * (float) c[i];
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))) + tail;
}

static VS_AVX512 float
avx512_l1_u8(const float *q, const unsigned char *c, float lo, float delta, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				vlo = _mm512_set1_ps(lo),
				vd = _mm512_set1_ps(delta);
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m512		d = _mm512_sub_ps(_mm512_loadu_ps(q + i),
									  _mm512_fmadd_ps(vd, avx512_u8(c + i), vlo));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d));
	}
	for (; i < n; i++)
		tail += fabsf(q[i] - (lo + delta * (float) c[i]));
	return _mm512_reduce_add_ps(s0) + tail;
}

static VS_AVX512 void
avx512_cosparts(const float *a, const float *b, int n, float *ab, float *aa, float *bb)
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
		__m512		a0 = _mm512_loadu_ps(a + i),
					a1 = _mm512_loadu_ps(a + i + 16),
					b0 = _mm512_loadu_ps(b + i),
					b1 = _mm512_loadu_ps(b + i + 16);

		ab0 = _mm512_fmadd_ps(a0, b0, ab0);
		ab1 = _mm512_fmadd_ps(a1, b1, ab1);
		aa0 = _mm512_fmadd_ps(a0, a0, aa0);
		aa1 = _mm512_fmadd_ps(a1, a1, aa1);
		bb0 = _mm512_fmadd_ps(b0, b0, bb0);
		bb1 = _mm512_fmadd_ps(b1, b1, bb1);
	}
	for (; i < n; i += 16)
	{
		__mmask16	m = avx512_mask(n - i < 16 ? n - i : 16);

		va = _mm512_maskz_loadu_ps(m, a + i);
		vb = _mm512_maskz_loadu_ps(m, b + i);
		ab0 = _mm512_fmadd_ps(va, vb, ab0);
		aa0 = _mm512_fmadd_ps(va, va, aa0);
		bb0 = _mm512_fmadd_ps(vb, vb, bb0);
	}
	*ab = _mm512_reduce_add_ps(_mm512_add_ps(ab0, ab1));
	*aa = _mm512_reduce_add_ps(_mm512_add_ps(aa0, aa1));
	*bb = _mm512_reduce_add_ps(_mm512_add_ps(bb0, bb1));
}

/*
 * Register tile of dot_block, as avx2_tile: mr x nr accumulators of 16 lanes (16 for
 * the full 4 x 4 tile, plus 4 query registers and a row register, of 32 zmm), mr + nr
 * loads per mr * nr FMAs.  The full tile reduces its 16 accumulators with a
 * transpose-and-add tree (45 shuffles and adds instead of 16 separate reductions)
 * whose result holds query i's four sums in 128-bit lane i.
 */
#define AVX512_MR 4
#define AVX512_NR 4

/* pg_bsd_indent misreads VS_UNROLL (a _Pragma) before a loop: kept as written */
/* *INDENT-OFF* */
VS_AVX512_INLINE void
avx512_tile(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo,
			const int mr, const int nr)
{
	__m512		acc[AVX512_MR][AVX512_NR];
	__m512		qv[AVX512_MR];
	__m512		xv;
	int			i,
				j,
				k;

	VS_UNROLL
	for (i = 0; i < mr; i++)
		VS_UNROLL
		for (j = 0; j < nr; j++)
			acc[i][j] = _mm512_setzero_ps();

	for (k = 0; k + 16 <= n; k += 16)
	{
		VS_UNROLL
		for (i = 0; i < mr; i++)
			qv[i] = _mm512_loadu_ps(q + (size_t) i * ldq + k);
		VS_UNROLL
		for (j = 0; j < nr; j++)
		{
			xv = _mm512_loadu_ps(x + (size_t) j * ldx + k);
			VS_UNROLL
			for (i = 0; i < mr; i++)
				acc[i][j] = _mm512_fmadd_ps(qv[i], xv, acc[i][j]);
		}
	}
	if (k < n)
	{
		__mmask16	m = avx512_mask(n - k);

		VS_UNROLL
		for (i = 0; i < mr; i++)
			qv[i] = _mm512_maskz_loadu_ps(m, q + (size_t) i * ldq + k);
		VS_UNROLL
		for (j = 0; j < nr; j++)
		{
			xv = _mm512_maskz_loadu_ps(m, x + (size_t) j * ldx + k);
			VS_UNROLL
			for (i = 0; i < mr; i++)
				acc[i][j] = _mm512_fmadd_ps(qv[i], xv, acc[i][j]);
		}
	}

	if (mr == 4 && nr == 4)
	{
		__m512		t[4][2],
					u[4],
					v[2],
					w;

		/*
		 * Round 1, per query i and pair (j, j+1): within each 128-bit lane, unpacklo +
		 * unpackhi gives [s_j s_j+1 s_j s_j+1] partial sums.  Round 2 merges the pairs:
		 * u[i] lane l = [x0 x1 x2 x3] partial sums of query i.  Rounds 3 and 4 add the
		 * four 128-bit lanes of each u[i] while gathering query i into lane i.
		 */
		VS_UNROLL
		for (i = 0; i < 4; i++)
		{
			t[i][0] = _mm512_add_ps(_mm512_unpacklo_ps(acc[i][0], acc[i][1]),
									_mm512_unpackhi_ps(acc[i][0], acc[i][1]));
			t[i][1] = _mm512_add_ps(_mm512_unpacklo_ps(acc[i][2], acc[i][3]),
									_mm512_unpackhi_ps(acc[i][2], acc[i][3]));
			/* lanes: t0 = [a0+a2, b0+b2, a1+a3, b1+b3]; pick (0,1) of t0, t1 and (2,3) */
			u[i] = _mm512_add_ps(_mm512_shuffle_ps(t[i][0], t[i][1], _MM_SHUFFLE(1, 0, 1, 0)),
								 _mm512_shuffle_ps(t[i][0], t[i][1], _MM_SHUFFLE(3, 2, 3, 2)));
		}
		/* v[0] = [u0.l0+u0.l1, u0.l2+u0.l3, u1.l0+u1.l1, u1.l2+u1.l3], v[1] likewise */
		v[0] = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
							 _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
		v[1] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
							 _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
		/* w lane i = query i */
		w = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
						  _mm512_shuffle_f32x4(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
		_mm_storeu_ps(out, _mm512_castps512_ps128(w));
		_mm_storeu_ps(out + ldo, _mm512_extractf32x4_ps(w, 1));
		_mm_storeu_ps(out + (size_t) 2 * ldo, _mm512_extractf32x4_ps(w, 2));
		_mm_storeu_ps(out + (size_t) 3 * ldo, _mm512_extractf32x4_ps(w, 3));
	}
	else
	{
		VS_UNROLL
		for (i = 0; i < mr; i++)
			VS_UNROLL
			for (j = 0; j < nr; j++)
				out[(size_t) i * ldo + j] = _mm512_reduce_add_ps(acc[i][j]);
	}
}
/* *INDENT-ON* */

static VS_AVX512 void
avx512_tile_full(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx512_tile(q, ldq, x, ldx, n, out, ldo, AVX512_MR, AVX512_NR);
}

static VS_AVX512 void
avx512_tile_mr1(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx512_tile(q, ldq, x, ldx, n, out, ldo, AVX512_MR, 1);
}

static VS_AVX512 void
avx512_tile_1nr(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx512_tile(q, ldq, x, ldx, n, out, ldo, 1, AVX512_NR);
}

static VS_AVX512 void
avx512_tile_11(const float *q, int ldq, const float *x, int ldx, int n, float *out, int ldo)
{
	avx512_tile(q, ldq, x, ldx, n, out, ldo, 1, 1);
}

static void
avx512_dot_block(const float *q, int nq, int ldq, const float *x, int nx, int ldx,
				 int n, float *out, int ldo)
{
	dot_block_driver(q, nq, ldq, x, nx, ldx, n, out, ldo, AVX512_MR, AVX512_NR,
					 avx512_tile_full, avx512_tile_mr1, avx512_tile_1nr, avx512_tile_11);
}

#endif							/* VS_X86 */

/* ------------------------------------------------------------------------------------
 * FDE SimHash (muvera.c): double sums in a fixed order, the same bits in every variant
 * ------------------------------------------------------------------------------------ */

/*
 * SimHash projections of a set: acc[p * np + h] = sum_i gauss[i * np + h] * x_p[i]
 * for every point p < n and hyperplane h < np (np a multiple of 4; the padding
 * columns of gauss are zero).  Every gauss value and every coordinate is a float4
 * value, so each product is exact in double and a fused multiply-add rounds exactly
 * like a multiplication then an addition; each sum runs over i in order.  The result
 * is therefore the same with or without FMA and at any vector width.
 *
 * Speed: hyperplanes are taken 16 at a time (a 16 KB slice of gauss at 128 input
 * dimensions, kept in L1 while every point goes through it), two points at a time,
 * so eight independent vector accumulators stay in registers.  The body is compiled
 * twice, portable (the scalar variant) and for AVX2 + FMA (the avx2 and avx512
 * variants).
 */
typedef double FdeV4 __attribute__((vector_size(32)));

#define FDE_LOAD4(v, ptr)	memcpy(&(v), (ptr), sizeof(FdeV4))
#define FDE_STORE4(ptr, v)	memcpy((ptr), &(v), sizeof(FdeV4))

#define FDE_SIMHASH_BODY \
do { \
	int			h = 0; \
	for (; h + 16 <= np; h += 16) \
	{ \
		for (int p = 0; p < n; p += 2) \
		{ \
			const float *x0 = x + (size_t) p * dim; \
			const float *x1 = x + (size_t) (p + 1 < n ? p + 1 : p) * dim; \
			FdeV4		a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, \
						b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0}; \
			for (int i = 0; i < dim; i++) \
			{ \
				const double *g = gauss + (size_t) i * np + h; \
				double		u = x0[i], \
							w = x1[i]; \
				FdeV4		uv = {u, u, u, u}, \
							wv = {w, w, w, w}, \
							g0, g1, g2, g3; \
				FDE_LOAD4(g0, g); \
				FDE_LOAD4(g1, g + 4); \
				FDE_LOAD4(g2, g + 8); \
				FDE_LOAD4(g3, g + 12); \
				a0 += g0 * uv; a1 += g1 * uv; a2 += g2 * uv; a3 += g3 * uv; \
				b0 += g0 * wv; b1 += g1 * wv; b2 += g2 * wv; b3 += g3 * wv; \
			} \
			FDE_STORE4(acc + (size_t) p * np + h, a0); \
			FDE_STORE4(acc + (size_t) p * np + h + 4, a1); \
			FDE_STORE4(acc + (size_t) p * np + h + 8, a2); \
			FDE_STORE4(acc + (size_t) p * np + h + 12, a3); \
			if (p + 1 < n) \
			{ \
				FDE_STORE4(acc + (size_t) (p + 1) * np + h, b0); \
				FDE_STORE4(acc + (size_t) (p + 1) * np + h + 4, b1); \
				FDE_STORE4(acc + (size_t) (p + 1) * np + h + 8, b2); \
				FDE_STORE4(acc + (size_t) (p + 1) * np + h + 12, b3); \
			} \
		} \
	} \
	for (; h < np; h += 4) \
	{ \
		for (int p = 0; p < n; p++) \
		{ \
			const float *x0 = x + (size_t) p * dim; \
			FdeV4		a0 = {0}; \
			for (int i = 0; i < dim; i++) \
			{ \
				double		u = x0[i]; \
				FdeV4		uv = {u, u, u, u}, g0; \
				FDE_LOAD4(g0, gauss + (size_t) i * np + h); \
				a0 += g0 * uv; \
			} \
			FDE_STORE4(acc + (size_t) p * np + h, a0); \
		} \
	} \
} while (0)

static void
scalar_fde_simhash(const double *gauss, int np, const float *x, int n, int dim,
				   double *acc)
{
	FDE_SIMHASH_BODY;
}

#ifdef VS_X86
__attribute__((target("avx2,fma")))
static void
avx2_fde_simhash(const double *gauss, int np, const float *x, int n, int dim,
				 double *acc)
{
	FDE_SIMHASH_BODY;
}
#endif

/* ------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------ */

static const VsKernels vs_scalar = {
	"scalar", scalar_l2sq, scalar_dot, scalar_l1, scalar_cosparts, scalar_dot_block,
	scalar_fde_simhash, scalar_dot_u8, scalar_l1_u8
};

#ifdef VS_X86
static const VsKernels vs_avx2 = {
	"avx2", avx2_l2sq, avx2_dot, avx2_l1, avx2_cosparts, avx2_dot_block,
	avx2_fde_simhash, avx2_dot_u8, avx2_l1_u8
};
static const VsKernels vs_avx512 = {
	"avx512", avx512_l2sq, avx512_dot, avx512_l1, avx512_cosparts, avx512_dot_block,
	scalar_fde_simhash,			/* avx2_fde_simhash when the CPU has AVX2 +
								 * FMA */
	avx512_dot_u8, avx512_l1_u8
};
#endif

/* Scalar until VsKernelsInit() runs, so an early caller still gets right answers. */
VsKernels	vs_kernels = {
	"scalar", scalar_l2sq, scalar_dot, scalar_l1, scalar_cosparts, scalar_dot_block,
	scalar_fde_simhash, scalar_dot_u8, scalar_l1_u8
};

/* Supported variants, scalar first, best last; filled once by detect_variants(). */
static VsKernels vs_variants[3];
static int	vs_nvariants = 0;

/*
 * Fill vs_variants with what this CPU and OS can run.  __builtin_cpu_supports reads
 * CPUID and, for AVX and AVX-512, also checks with XGETBV that the OS saves the wider
 * registers (GCC's libgcc and LLVM's compiler-rt both do), so a feature the kernel
 * has disabled is reported as missing.
 */
static void
detect_variants(void)
{
	int			nv = 0;
#ifdef VS_X86
	int			have_avx2;
#endif

	if (vs_nvariants > 0)
		return;
	vs_variants[nv++] = vs_scalar;
#ifdef VS_X86
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (have_avx2)
		vs_variants[nv++] = vs_avx2;
	if (__builtin_cpu_supports("avx512f"))
	{
		vs_variants[nv] = vs_avx512;
		/* the FDE SimHash has no AVX-512 body; AVX2's gives the same bits */
		if (have_avx2)
			vs_variants[nv].fde_simhash = avx2_fde_simhash;
		nv++;
	}
#endif
	vs_nvariants = nv;
}

const char *
VsKernelsInit(void)
{
	detect_variants();
	vs_kernels = vs_variants[vs_nvariants - 1];
	return vs_kernels.name;
}

int
VsKernelsSelect(const char *name)
{
	int			i;

	detect_variants();
	if (name == NULL)
		return 0;
	for (i = 0; i < vs_nvariants; i++)
	{
		if (strcmp(vs_variants[i].name, name) == 0)
		{
			vs_kernels = vs_variants[i];
			return 1;
		}
	}
	return 0;
}

const VsKernels *
VsKernelVariants(int *count)
{
	detect_variants();
	if (count)
		*count = vs_nvariants;
	return vs_variants;
}
