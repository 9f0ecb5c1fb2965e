/*
 * kernel_bench.c: throughput of every distance kernel variant, and of dot_block.
 *
 * Standalone (links src/distance.c): `make test/bench/kernel_bench && test/bench/kernel_bench`.
 * Part 1: for dims 128, 784, 1536, 3072, GB/s of vector data read (both operands,
 * 2 * dim * 4 bytes per call) by l2sq, dot, l1 and cosparts, over a pool of 16 vectors
 * (8 KB to 192 KB, so L1 or L2 resident), and each variant's ratio to scalar.
 * Part 2: dot_block GFLOP/s (2 * nq * nx * dim flops per call) on 64 queries x 60,000
 * rows x 784 dims (the Fashion-MNIST shape, rows streamed from memory), and the exact-KNN
 * queries/s per core that rate would allow for the inner products alone.
 * Each figure is the median of 7 timed runs (the machine is noisy); in part 1 the
 * variants take turns, so their ratios compare runs made at the same time.  Options:
 * --quick (fewer rows for the scalar dot_block), --rows N (rows in part 2).
 */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "distance.h"

#define POOL 16
#define RUNS 7

static volatile float sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 64-byte aligned allocation (posix_memalign: C99 has no aligned_alloc) */
static void *
alloc64(size_t size)
{
	void	   *p = NULL;

	if (posix_memalign(&p, 64, size) != 0)
	{
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

/* Deterministic pseudo-random floats in [0, 1). */
static void
fill(float *v, size_t n, unsigned seed)
{
	unsigned	s = seed * 2654435761u + 1;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		s = s * 1664525u + 1013904223u;
		v[i] = (float) (s >> 8) / 16777216.0f;
	}
}

enum
{
	K_L2SQ, K_DOT, K_L1, K_COS, NKERNELS
};
static const char *const kernel_names[NKERNELS] = {"l2sq", "dot", "l1", "cosparts"};

/* Run kernel k of v over iters pairs from the pool; returns seconds. */
static double
time_kernel(const VsKernels *v, int k, const float *pool, int dim, long iters)
{
	float		acc = 0.0f,
				ab,
				aa,
				bb;
	long		it;
	double		t0 = now();

	for (it = 0; it < iters; it++)
	{
		const float *a = pool + (size_t) (it % POOL) * dim;
		const float *b = pool + (size_t) ((it + 5) % POOL) * dim;

		switch (k)
		{
			case K_L2SQ:
				acc += v->l2sq(a, b, dim);
				break;
			case K_DOT:
				acc += v->dot(a, b, dim);
				break;
			case K_L1:
				acc += v->l1(a, b, dim);
				break;
			default:
				v->cosparts(a, b, dim, &ab, &aa, &bb);
				acc += ab + aa + bb;
				break;
		}
	}
	sink = acc;
	return now() - t0;
}

/*
 * GB/s of kernel k at dim for each of the nv variants, into gbps[]: each variant's
 * iteration count is calibrated to ~20 ms per run, then the variants run in turn RUNS
 * times (interleaved, so a burst of load from other processes hits all of them alike)
 * and each keeps its median.
 */
static void
kernel_gbps(const VsKernels *variants, int nv, int k, const float *pool, int dim,
			double *gbps)
{
	long		iters[8];
	double		runs[8][RUNS],
				t;
	int			vi,
				r;

	for (vi = 0; vi < nv; vi++)
	{
		iters[vi] = 1000;
		while ((t = time_kernel(&variants[vi], k, pool, dim, iters[vi])) < 0.005)
			iters[vi] *= 4;
		iters[vi] = (long) (iters[vi] * 0.02 / t) + 1;
	}
	for (r = 0; r < RUNS; r++)
		for (vi = 0; vi < nv; vi++)
			runs[vi][r] = time_kernel(&variants[vi], k, pool, dim, iters[vi]);
	for (vi = 0; vi < nv; vi++)
		gbps[vi] = (double) iters[vi] * 2.0 * dim * sizeof(float) / median(runs[vi], RUNS) / 1e9;
}

int
main(int argc, char **argv)
{
	static const int dims[] = {128, 784, 1536, 3072};
	int			nvariants,
				vi,
				d,
				k,
				quick = 0,
				nq = 64,
				nx = 60000,
				dim = 784;
	const VsKernels *variants;
	float	   *pool,
			   *q,
			   *x,
			   *out;

	for (k = 1; k < argc; k++)
	{
		if (strcmp(argv[k], "--quick") == 0)
			quick = 1;
		else if (strcmp(argv[k], "--rows") == 0 && k + 1 < argc)
			nx = atoi(argv[++k]);
		else
		{
			fprintf(stderr, "usage: %s [--quick] [--rows N]\n", argv[0]);
			return 2;
		}
	}
	if (nx < 1)
		nx = 1;

	printf("selected at load: %s; variants:", VsKernelsInit());
	variants = VsKernelVariants(&nvariants);
	if (nvariants > 8)
		nvariants = 8;
	for (vi = 0; vi < nvariants; vi++)
		printf(" %s", variants[vi].name);
	printf("\n\n");

	/* Part 1 */
	printf("Kernel throughput, GB/s of vector data read (2 x dim x 4 bytes per call),\n");
	printf("pool of %d vectors per dim, median of %d runs; (x N) = ratio to scalar\n\n",
		   POOL, RUNS);
	printf("%5s  %-9s", "dim", "kernel");
	for (vi = 0; vi < nvariants; vi++)
		printf("  %18s", variants[vi].name);
	printf("\n");
	printf("%5s  %-9s", "-----", "---------");
	for (vi = 0; vi < nvariants; vi++)
		printf("  %18s", "------------------");
	printf("\n");

	pool = alloc64(sizeof(float) * POOL * 3072);
	fill(pool, (size_t) POOL * 3072, 1);
	for (d = 0; d < (int) (sizeof(dims) / sizeof(dims[0])); d++)
	{
		for (k = 0; k < NKERNELS; k++)
		{
			double		gbps[8];

			kernel_gbps(variants, nvariants, k, pool, dims[d], gbps);
			printf("%5d  %-9s", dims[d], kernel_names[k]);
			for (vi = 0; vi < nvariants; vi++)
			{
				char		cell[32];

				snprintf(cell, sizeof(cell), "%7.1f (x%5.1f)", gbps[vi], gbps[vi] / gbps[0]);
				printf("  %18s", cell);
			}
			printf("\n");
			fflush(stdout);
		}
	}
	free(pool);

	/* Part 2 */
	printf("\ndot_block: %d queries x %d rows x %d dims, %.2f GFLOP per call\n\n",
		   nq, nx, dim, 2.0 * nq * nx * dim / 1e9);
	printf("%-8s  %10s  %8s  %12s  %s\n", "variant", "seconds", "GFLOP/s", "x scalar",
		   "exact-KNN queries/s/core on 60,000 x 784 (inner products only)");
	q = alloc64(sizeof(float) * (size_t) nq * dim);
	x = alloc64(sizeof(float) * (size_t) nx * dim);
	out = alloc64(sizeof(float) * (size_t) nq * nx);
	fill(q, (size_t) nq * dim, 2);
	fill(x, (size_t) nx * dim, 3);
	memset(out, 0, sizeof(float) * (size_t) nq * nx);
	{
		/* scalar is slow: one run, and in --quick mode a tenth of the rows */
		int			srows = quick ? (nx + 9) / 10 : nx;
		double		t[8][RUNS],
					sec[8];
		int			r;

		for (vi = 0; vi < nvariants; vi++)	/* warm up (out was zeroed: no
											 * page faults timed) */
			variants[vi].dot_block(q, nq, dim, x, nx < 4096 ? nx : 4096, dim, dim, out, nx);
		{
			double		t0 = now();

			variants[0].dot_block(q, nq, dim, x, srows, dim, dim, out, nx);
			sec[0] = (now() - t0) * ((double) nx / srows);
		}
		/* the SIMD variants take turns, as in part 1 */
		for (r = 0; r < RUNS; r++)
			for (vi = 1; vi < nvariants; vi++)
			{
				double		t0 = now();

				variants[vi].dot_block(q, nq, dim, x, nx, dim, dim, out, nx);
				t[vi][r] = now() - t0;
			}
		for (vi = 1; vi < nvariants; vi++)
			sec[vi] = median(t[vi], RUNS);
		for (vi = 0; vi < nvariants; vi++)
		{
			double		gflops = 2.0 * nq * nx * dim / sec[vi] / 1e9;
			char		ratio[32];

			snprintf(ratio, sizeof(ratio), "x%.1f", sec[0] / sec[vi]);
			printf("%-8s  %10.3f  %8.1f  %12s  %.0f\n", variants[vi].name, sec[vi], gflops,
				   ratio, gflops * 1e9 / (2.0 * 60000 * 784));
		}
	}
	sink = out[0];
	free(q);
	free(x);
	free(out);
	return 0;
}
