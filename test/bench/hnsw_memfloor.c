/*
 * hnsw_memfloor.c: the memory floor of an hnsw scan, without PostgreSQL.
 *
 * Standalone (links src/distance.c):
 *   cc -O2 -Isrc -o /tmp/hnsw_memfloor test/bench/hnsw_memfloor.c src/distance.c -lm
 *   /tmp/hnsw_memfloor
 * Lays out 60,000 slots of 3,280 bytes (the Fashion-MNIST index: 784-dim vectors at offset
 * 144 of each slot, m = 16), then measures the L2 distance from one query to 400,000 slots
 * taken at random (an hnsw scan's access pattern: every visited element is somewhere else)
 * and, for comparison, in slot order.  Prints nanoseconds per distance with 4 KB pages
 * (MADV_NOHUGEPAGE, like shared buffers without huge_pages) and with transparent huge pages,
 * for software prefetch of the next 0, 1, 2, 4 and 8 slots' vectors.  Median of 5 runs.
 * An ef_search 40 query on Fashion-MNIST measures about 415 vectors, so
 * 415 x (ns per random distance) is the floor of its backend time.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "distance.h"

#define NSLOTS	60000
#define SLOT	3280
#define VOFF	144
#define DIMS	784
#define NDIST	400000
#define RUNS	5

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* ns per distance over ids[], prefetching the vector 'ahead' slots in advance */
static double
run(const char *slots, const unsigned *ids, const float *q, int ahead, float *sink)
{
	double		t0 = now();
	float		acc = 0;

	for (int i = 0; i < NDIST; i++)
	{
		if (ahead > 0 && i + ahead < NDIST)
		{
			const char *p = slots + (size_t) ids[i + ahead] * SLOT + VOFF;

			for (int o = 0; o < DIMS * 4; o += 64)
				__builtin_prefetch(p + o);
		}
		acc += vs_kernels.l2sq(q, (const float *) (slots + (size_t) ids[i] * SLOT + VOFF), DIMS);
	}
	*sink += acc;
	return (now() - t0) / NDIST * 1e9;
}

int
main(void)
{
	size_t		bytes = (size_t) NSLOTS * SLOT;
	unsigned   *rnd = malloc(sizeof(unsigned) * NDIST);
	unsigned   *seq = malloc(sizeof(unsigned) * NDIST);
	unsigned	s = 12345;
	float		q[DIMS];
	float		sink = 0;
	static const int aheads[] = {0, 1, 2, 4, 8};

	printf("kernels: %s\n", VsKernelsInit());
	for (int i = 0; i < DIMS; i++)
		q[i] = (float) (i % 7);
	for (int i = 0; i < NDIST; i++)
	{
		s = s * 1103515245u + 12345u;
		rnd[i] = (s >> 8) % NSLOTS;
		seq[i] = i % NSLOTS;
	}
	for (int huge = 0; huge <= 1; huge++)
	{
		char	   *slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
								 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (slots == MAP_FAILED)
		{
			perror("mmap");
			return 1;
		}
		(void) madvise(slots, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		for (size_t i = 0; i < bytes / 4; i++)
			((float *) slots)[i] = (float) (i % 255);
		for (int order = 0; order <= 1; order++)
		{
			for (int a = 0; a < (int) (sizeof(aheads) / sizeof(aheads[0])); a++)
			{
				double		t[RUNS];

				if (order == 1 && aheads[a] != 0)
					continue;
				for (int r = 0; r < RUNS; r++)
					t[r] = run(slots, order ? seq : rnd, q, aheads[a], &sink);
				qsort(t, RUNS, sizeof(double), cmp_double);
				printf("%-9s pages %-7s order, prefetch %d ahead: %6.1f ns per distance\n",
					   huge ? "huge" : "4 KB", order ? "slot" : "random", aheads[a], t[RUNS / 2]);
			}
		}
		munmap(slots, bytes);
	}
	return sink == 42.0f;		/* keep the sums alive */
}
