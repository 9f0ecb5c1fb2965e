/*
 * test_distance.c: checks every kernel variant this CPU supports, scalar included,
 * against a reference computed here in double precision from the same float inputs.
 *
 * Standalone (links src/distance.c, no PostgreSQL): `make test/kernels/test_distance`
 * then run it.  Seeded random data, many lengths (1..40, odd sizes, 784, 1000, 3072),
 * unaligned pointers, dot_block over ragged shapes and strides, and fde_simhash
 * bit for bit against a double sum in index order.  Output is TAP:
 * one "ok N - ..." / "not ok N - ..." line per check, then "1..N"; the exit status is
 * non-zero if any check failed.  A variant this build or CPU cannot run (avx2 and
 * avx512 off x86, avx512 on an AVX2-only CPU) is reported as "ok N # SKIP ..." (test/run
 * counts those as skipped, not passed), after checking that VsKernelsSelect refuses it.
 * Operands placed right before a PROT_NONE page check that no variant reads past the
 * end of a vector (masked tails).
 *
 * The reference.  No variant is compared with another: the scalar kernels are the only
 * ones on arm64, and a comparison of scalar with itself could never fail.  The reference
 * sums each term exactly as a double (a float product or difference is exact in double)
 * in a plain loop that shares no code with src/distance.c.
 *
 * Tolerance.  The kernels add the terms in float, in their own order (the scalar loop
 * left to right; the SIMD ones in 16 to 64 partial sums added at the end), so they
 * differ from the reference by rounding, not by an exact amount.  For a sum of n terms
 * t_i computed in float, the classic bound on the error is about n * eps * S with
 * S = sum |t_i| (Higham, "Accuracy and Stability of Numerical Algorithms", 4.2), but on
 * random data the rounding errors behave like a random walk, of order sqrt(n) * eps * S.
 * We accept |kernel - reference| <= 8 * sqrt(n) * FLT_EPSILON * S + 1e-30.  That stays
 * well below what a real bug produces: dropping one term out of 3072 moves the result
 * by about S / 3072, i.e. 5 times the tolerance.  Measuring against S (not against the
 * result) matters for dot products, whose terms cancel.  The data are fixed by the seed,
 * so the test is deterministic.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "distance.h"

static int	ntests = 0;
static volatile float sink;		/* keeps results of the guard-page calls alive */
static int	nfailed = 0;

/* Record one TAP check. */
static void
check(int ok, const char *fmt, const char *variant, const char *what, int n, double got,
	  double want, double tol)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - ", ok ? "" : "not ", ntests);
	printf(fmt, variant, what, n);
	if (!ok)
		printf(" (got %.9g, want %.9g, tolerance %.3g)", got, want, tol);
	printf("\n");
}

/* xorshift64*: small seeded generator so the data do not depend on libc's rand(). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double
rng_uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Fill with values in [-1, 1) plus, for some, a shared offset (so l2/l1 terms vary). */
static void
fill(float *v, int n, double offset)
{
	int			i;

	for (i = 0; i < n; i++)
		v[i] = (float) (2.0 * rng_uniform() - 1.0 + offset);
}

static double
tolerance(int n, double scale)
{
	return 8.0 * sqrt((double) (n > 0 ? n : 1)) * FLT_EPSILON * scale + 1e-30;
}

/*
 * The reference of each kernel in double, and S = sum |t_i| for its tolerance.  For
 * l2sq and l1 every term is non-negative, so the reference is S itself.
 */
static double
ref_dot(const float *a, const float *b, int n)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

static double
scale_l2sq(const float *a, const float *b, int n)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
		s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
	return s;
}

static double
scale_dot(const float *a, const float *b, int n)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
		s += fabs((double) a[i] * b[i]);
	return s;
}

static double
scale_l1(const float *a, const float *b, int n)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
		s += fabs((double) a[i] - b[i]);
	return s;
}

/*
 * Compare every kernel of variant v with the double-precision reference on vectors of
 * length n starting at float offsets off_a and off_b (1..3 make them unaligned).
 */
static void
check_vectors(const VsKernels *v, int n, int off_a, int off_b, double offset)
{
	float	   *bufa = malloc(sizeof(float) * (n + 8));
	float	   *bufb = malloc(sizeof(float) * (n + 8));
	float	   *a = bufa + off_a,
			   *b = bufb + off_b;
	char		what[64];
	double		sc,
				tol,
				got,
				want;
	float		ab,
				aa,
				bb;
	double		rab,
				raa,
				rbb;

	fill(a, n, offset);
	fill(b, n, 0.0);
	snprintf(what, sizeof(what), "offsets %d/%d", off_a, off_b);

	sc = scale_l2sq(a, b, n);
	tol = tolerance(n, sc);
	got = v->l2sq(a, b, n);
	want = sc;
	check(fabs(got - want) <= tol, "%s l2sq %s n=%d", v->name, what, n, got, want, tol);

	sc = scale_dot(a, b, n);
	tol = tolerance(n, sc);
	got = v->dot(a, b, n);
	want = ref_dot(a, b, n);
	check(fabs(got - want) <= tol, "%s dot %s n=%d", v->name, what, n, got, want, tol);

	sc = scale_l1(a, b, n);
	tol = tolerance(n, sc);
	got = v->l1(a, b, n);
	want = sc;
	check(fabs(got - want) <= tol, "%s l1 %s n=%d", v->name, what, n, got, want, tol);

	v->cosparts(a, b, n, &ab, &aa, &bb);
	rab = ref_dot(a, b, n);
	raa = ref_dot(a, a, n);
	rbb = ref_dot(b, b, n);
	{
		double		tab = tolerance(n, scale_dot(a, b, n));
		double		taa = tolerance(n, scale_dot(a, a, n));
		double		tbb = tolerance(n, scale_dot(b, b, n));
		int			ok = fabs((double) ab - rab) <= tab &&
		fabs((double) aa - raa) <= taa &&
		fabs((double) bb - rbb) <= tbb;

		/* report the worst of the three parts if it fails */
		if (fabs((double) ab - rab) > tab)
			check(ok, "%s cosparts %s n=%d (ab)", v->name, what, n, ab, rab, tab);
		else if (fabs((double) aa - raa) > taa)
			check(ok, "%s cosparts %s n=%d (aa)", v->name, what, n, aa, raa, taa);
		else
			check(ok, "%s cosparts %s n=%d (bb)", v->name, what, n, bb, rbb, tbb);
	}

	/*
	 * the SQ8 kernels: a's floats against bytes taken from b, at byte offset
	 * off_b
	 */
	{
		unsigned char *cbuf = malloc(n + 8);
		unsigned char *c = cbuf + off_b;
		double		rd = 0,
					sd = 0,
					rl = 0,
					sl = 0;
		float		lo = -0.7f,
					delta = 0.011f;

		for (int i = 0; i < n; i++)
		{
			c[i] = (unsigned char) ((i * 37 + (int) (fabs(b[i]) * 1000)) & 255);
			rd += (double) a[i] * c[i];
			sd += fabs((double) a[i] * c[i]);
			rl += fabs((double) a[i] - ((double) lo + (double) delta * c[i]));
			sl += fabs((double) a[i]) + fabs((double) lo) + (double) delta * c[i];
		}
		got = v->dot_u8(a, c, n);
		check(fabs(got - rd) <= tolerance(n, sd), "%s dot_u8 %s n=%d", v->name, what, n, got, rd, tolerance(n, sd));
		got = v->l1_u8(a, c, lo, delta, n);
		check(fabs(got - rl) <= tolerance(n, sl), "%s l1_u8 %s n=%d", v->name, what, n, got, rl, tolerance(n, sl));
		free(cbuf);
	}
	free(bufa);
	free(bufb);
}

/*
 * fde_simhash of variant v on n points of dim coordinates and np hyperplanes, against
 * the plain double sum in index order.  gauss and x hold float4 values (as muvera.c's
 * do), so every product is exact in double and the variant must match to the bit.
 */
static void
check_fde_simhash(const VsKernels *v, int np, int n, int dim)
{
	double	   *gauss = malloc(sizeof(double) * (size_t) np * dim);
	float	   *x = malloc(sizeof(float) * (size_t) n * dim);
	double	   *acc = malloc(sizeof(double) * (size_t) n * np);
	int			p,
				h,
				i,
				bad = 0;

	for (i = 0; i < np * dim; i++)
		gauss[i] = (double) (float) (4.0 * rng_uniform() - 2.0);
	fill(x, n * dim, 0.0);
	v->fde_simhash(gauss, np, x, n, dim, acc);
	for (p = 0; p < n; p++)
		for (h = 0; h < np; h++)
		{
			double		want = 0.0;

			for (i = 0; i < dim; i++)
				want += gauss[(size_t) i * np + h] * (double) x[(size_t) p * dim + i];
			if (memcmp(&want, &acc[(size_t) p * np + h], sizeof(double)) != 0)
				bad++;
		}
	ntests++;
	printf("%sok %d - %s fde_simhash bit-exact np=%d n=%d dim=%d\n", bad ? "not " : "",
		   ntests, v->name, np, n, dim);
	if (bad)
		nfailed++;
	free(gauss);
	free(x);
	free(acc);
}

/*
 * dot_block of variant v on nq queries x nx rows of length n, with strides ldq, ldx,
 * ldo (>= n, >= n, >= nx) and an unaligned start, against the reference dot product
 * of each pair.  Also checks that the padding of out between nx and ldo is untouched.
 */
static void
check_block(const VsKernels *v, int nq, int nx, int n, int ldq, int ldx, int ldo, int off)
{
	float	   *qbuf = malloc(sizeof(float) * ((size_t) nq * ldq + 4));
	float	   *xbuf = malloc(sizeof(float) * ((size_t) nx * ldx + 4));
	float	   *out = malloc(sizeof(float) * (size_t) nq * ldo);
	float	   *q = qbuf + off,
			   *x = xbuf + off;
	const float sentinel = -12345.0f;
	int			i,
				j,
				bad_i = -1,
				bad_j = -1,
				pad_ok = 1;
	double		worst_got = 0,
				worst_want = 0,
				worst_tol = 0;
	char		what[128];

	for (i = 0; i < nq; i++)
		fill(q + (size_t) i * ldq, ldq, 0.0);
	for (j = 0; j < nx; j++)
		fill(x + (size_t) j * ldx, ldx, 0.0);
	for (i = 0; i < nq * ldo; i++)
		out[i] = sentinel;

	v->dot_block(q, nq, ldq, x, nx, ldx, n, out, ldo);

	for (i = 0; i < nq; i++)
	{
		for (j = 0; j < ldo; j++)
		{
			float		got = out[(size_t) i * ldo + j];

			if (j >= nx)
			{
				if (got != sentinel)
					pad_ok = 0;
				continue;
			}
			{
				const float *qi = q + (size_t) i * ldq,
						   *xj = x + (size_t) j * ldx;
				double		want = ref_dot(qi, xj, n);
				double		tol = tolerance(n, scale_dot(qi, xj, n));

				if (!(fabs(got - want) <= tol) && bad_i < 0)
				{
					bad_i = i;
					bad_j = j;
					worst_got = got;
					worst_want = want;
					worst_tol = tol;
				}
			}
		}
	}
	snprintf(what, sizeof(what), "nq=%d nx=%d ldq=%d ldx=%d ldo=%d offset=%d",
			 nq, nx, ldq, ldx, ldo, off);
	if (bad_i >= 0)
		printf("# first mismatch at query %d row %d\n", bad_i, bad_j);
	check(bad_i < 0, "%s dot_block %s n=%d", v->name, what, n, worst_got, worst_want, worst_tol);
	check(pad_ok, "%s dot_block leaves out padding alone %s n=%d", v->name, what, n, 0, 0, 0);
	free(qbuf);
	free(xbuf);
	free(out);
}

/*
 * Memory of `floats` floats ending exactly at an inaccessible page, so a kernel that
 * reads even one float past the end of its operands crashes the test (and the TAP plan
 * line is never printed).  The mapping to release is returned in unmap_base and
 * unmap_len.
 */
static float *
alloc_before_guard(size_t floats, void **unmap_base, size_t * unmap_len)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		data = (floats * sizeof(float) + page - 1) / page * page;
	char	   *base = mmap(NULL, data + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base + data, page, PROT_NONE) != 0)
	{
		perror("mmap");
		exit(2);
	}
	*unmap_base = base;
	*unmap_len = data + page;
	return (float *) (base + data) - floats;
}

/*
 * Run every kernel of v on operands that end right before a guard page, for lengths
 * that exercise every tail path; dot_block on 5 queries x 7 rows whose last row ends
 * there.  One check per variant (reached only if nothing crashed).
 */
static void
check_no_overread(const VsKernels *v)
{
	static const int lens[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 784, 1001};
	int			k;
	float		sum = 0.0f;

	for (k = 0; k < (int) (sizeof(lens) / sizeof(lens[0])); k++)
	{
		int			n = lens[k];
		void	   *ma,
				   *mb,
				   *mq,
				   *mx;
		size_t		la,
					lb,
					lq,
					lx;
		float	   *a = alloc_before_guard(n, &ma, &la);
		float	   *b = alloc_before_guard(n, &mb, &lb);
		float	   *q = alloc_before_guard((size_t) 5 * n, &mq, &lq);
		float	   *x = alloc_before_guard((size_t) 7 * n, &mx, &lx);
		float		out[35],
					ab,
					aa,
					bb;

		fill(a, n, 0.0);
		fill(b, n, 0.0);
		fill(q, 5 * n, 0.0);
		fill(x, 7 * n, 0.0);
		sum += v->l2sq(a, b, n) + v->dot(a, b, n) + v->l1(a, b, n);
		v->cosparts(a, b, n, &ab, &aa, &bb);
		v->dot_block(q, 5, n, x, 7, n, n, out, 7);
		sum += ab + aa + bb + out[34];
		munmap(ma, la);
		munmap(mb, lb);
		munmap(mq, lq);
		munmap(mx, lx);
	}
	ntests++;
	sink = sum;
	printf("ok %d - %s reads nothing past the end of its operands\n", ntests, v->name);
}

int
main(void)
{
	static const int lengths[] = {784, 1000, 3072, 47, 63, 65, 127, 129, 255, 257, 767, 785,
	1023, 1535, 1537, 2047, 3071, 3073};
	static const char *const known[] = {"scalar", "avx2", "avx512"};
	int			nvariants,
				vi,
				n,
				k;
	const VsKernels *variants;
	const VsKernels *s;
	const char *chosen;

	chosen = VsKernelsInit();
	variants = VsKernelVariants(&nvariants);
	s = &variants[0];
	printf("# variants on this CPU:");
	for (vi = 0; vi < nvariants; vi++)
		printf(" %s", variants[vi].name);
	printf("; VsKernelsInit chose %s\n", chosen);

	ntests++;
	printf("%sok %d - variant list starts with scalar and VsKernelsInit picks the last\n",
		   (strcmp(s->name, "scalar") == 0 &&
			strcmp(chosen, variants[nvariants - 1].name) == 0) ? "" : "not ", ntests);
	if (!(strcmp(s->name, "scalar") == 0 && strcmp(chosen, variants[nvariants - 1].name) == 0))
		nfailed++;

	ntests++;
	if (VsKernelsSelect("nonsense") == 0 && VsKernelsSelect(NULL) == 0)
		printf("ok %d - VsKernelsSelect rejects an unknown name\n", ntests);
	else
	{
		printf("not ok %d - VsKernelsSelect rejects an unknown name\n", ntests);
		nfailed++;
	}

	for (vi = 0; vi < nvariants; vi++)
	{
		int			ok = VsKernelsSelect(variants[vi].name) == 1 &&
		strcmp(vs_kernels.name, variants[vi].name) == 0;

		ntests++;
		printf("%sok %d - VsKernelsSelect(\"%s\") installs it\n", ok ? "" : "not ",
			   ntests, variants[vi].name);
		if (!ok)
			nfailed++;
	}
	VsKernelsInit();

	/*
	 * The variants this build knows: one that is not in the list must be
	 * refused by VsKernelsSelect, and is reported as skipped instead of being
	 * compared.
	 */
	for (k = 0; k < (int) (sizeof(known) / sizeof(known[0])); k++)
	{
		int			have = 0;

		for (vi = 0; vi < nvariants; vi++)
			have |= strcmp(variants[vi].name, known[k]) == 0;
		if (have)
			continue;
		ntests++;
		if (VsKernelsSelect(known[k]) == 0)
			printf("ok %d - VsKernelsSelect(\"%s\") refuses it here\n", ntests, known[k]);
		else
		{
			printf("not ok %d - VsKernelsSelect(\"%s\") refuses it here\n", ntests, known[k]);
			nfailed++;
		}
		ntests++;
		printf("ok %d - %s kernels # SKIP %s\n", ntests, known[k],
#if defined(__x86_64__) || defined(__i386__)
			   "not supported by this CPU"
#else
			   "x86 only, not built for this architecture"
#endif
			);
		VsKernelsInit();
	}

	/* The reference itself on a hand-computed case (exact in float too). */
	{
		const float a[3] = {1, 2, 3},
					b[3] = {4, -6, 8};
		float		ab,
					aa,
					bb;

		s->cosparts(a, b, 3, &ab, &aa, &bb);
		ntests++;
		if (scale_l2sq(a, b, 3) == 98.0 && ref_dot(a, b, 3) == 16.0 &&
			scale_l1(a, b, 3) == 16.0 && ref_dot(a, a, 3) == 14.0 && ref_dot(b, b, 3) == 116.0)
			printf("ok %d - the reference on a hand-computed example\n", ntests);
		else
		{
			printf("not ok %d - the reference on a hand-computed example\n", ntests);
			nfailed++;
		}
		ntests++;
		if (s->l2sq(a, b, 3) == 98.0f && s->dot(a, b, 3) == 16.0f && s->l1(a, b, 3) == 16.0f &&
			ab == 16.0f && aa == 14.0f && bb == 116.0f)
			printf("ok %d - scalar kernels on a hand-computed example\n", ntests);
		else
		{
			printf("not ok %d - scalar kernels on a hand-computed example\n", ntests);
			nfailed++;
		}
	}

	/* Every variant, scalar included, against the reference on many lengths. */
	for (vi = 0; vi < nvariants; vi++)
	{
		const VsKernels *v = &variants[vi];

		for (n = 1; n <= 40; n++)
			check_vectors(v, n, n % 4, (n / 4) % 4, (n % 3) * 0.5);
		for (k = 0; k < (int) (sizeof(lengths) / sizeof(lengths[0])); k++)
			check_vectors(v, lengths[k], k % 4, (k + 1) % 4, (k % 3) * 0.5);
		check_vectors(v, 0, 0, 0, 0.0);
	}

	for (vi = 0; vi < nvariants; vi++)
		check_no_overread(&variants[vi]);

	/*
	 * dot_block: ragged shapes around every tile size, strides, and a
	 * multi-block sweep
	 */
	for (vi = 0; vi < nvariants; vi++)
	{
		const VsKernels *v = &variants[vi];
		int			nq,
					nx;

		for (nq = 1; nq <= 9; nq++)
			for (nx = 1; nx <= 13; nx += (nx < 6 ? 1 : 3))
				check_block(v, nq, nx, 37 + nq, 37 + nq, 37 + nq, nx, (nq + nx) % 4);
		check_block(v, 8, 16, 784, 784, 784, 16, 0);
		check_block(v, 7, 11, 784, 790, 801, 13, 1);
		check_block(v, 5, 300, 784, 784, 784, 300, 2);	/* several blocks of
														 * rows */
		check_block(v, 6, 90, 3072, 3072, 3073, 91, 3);
		check_block(v, 3, 5, 1, 1, 1, 5, 1);
		check_block(v, 4, 4, 16, 16, 16, 4, 0);
		check_block(v, 13, 23, 1000, 1003, 1000, 29, 1);
		check_block(v, 2, 5000, 16, 16, 17, 5000, 1);	/* many blocks, short
														 * rows */
		check_block(v, 5, 100, 784, 784, 2352, 100, 0); /* rows far apart */
	}

	/* fde_simhash: the 16-plane body, the 4-plane tail, odd point counts */
	for (vi = 0; vi < nvariants; vi++)
	{
		check_fde_simhash(&variants[vi], 4, 1, 1);
		check_fde_simhash(&variants[vi], 20, 7, 128);
		check_fde_simhash(&variants[vi], 100, 32, 96);
		check_fde_simhash(&variants[vi], 64, 3, 1000);
	}

	printf("1..%d\n", ntests);
	if (nfailed > 0)
		printf("# %d of %d checks failed\n", nfailed, ntests);
	return nfailed > 0 ? 1 : 0;
}
