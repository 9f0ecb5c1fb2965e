/*
 * format2_gen.c: seeded data for test/bench/format2.sh, read and written as COPY text
 * rows "id<TAB>[x1,x2,...]".
 *
 *   format2_gen rotate DIM SEED
 *       read rows from stdin, write them multiplied by a fixed random orthogonal
 *       DIM x DIM matrix (Gram-Schmidt, twice, on the rows of a Gaussian matrix drawn
 *       from SEED): distances and norms are kept, the values become floats.
 *   format2_gen emb START COUNT DIM SEED ALPHA MEAN
 *       write COUNT embedding-like unit vectors, ids 0..COUNT-1, the rows START ..
 *       START + COUNT - 1 of an endless seeded sequence (so a larger set holds a
 *       smaller one as its prefix, and queries taken from far away, START = 10^9,
 *       do not depend on the set's size).  Row i is normalize(MEAN * mu + G z):
 *       z_j ~ N(0, (j + 1)^-ALPHA), scaled to E|z|^2 = 1 (a power-law spectrum);
 *       G is a fixed orthogonal mixing (12 rounds of Givens rotations on random
 *       pairs of coordinates, from SEED), so the spectrum is not aligned with the
 *       axes; mu is a fixed random unit vector, the direction all rows share.
 *
 * Random numbers: splitmix64 and Box-Muller; in emb mode one stream per row (from
 * SEED and the row's number).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIX_ROUNDS 12

typedef struct
{
	uint64_t	s;
	int			have;
	double		spare;
} Rng;

static uint64_t
next64(Rng *r)
{
	uint64_t	z = (r->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double
uniform(Rng *r)
{
	return ((next64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static double
gauss(Rng *r)
{
	double		u1,
				u2,
				rad;

	if (r->have)
	{
		r->have = 0;
		return r->spare;
	}
	u1 = uniform(r);
	u2 = uniform(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2 * M_PI * u2);
	r->have = 1;
	return rad * cos(2 * M_PI * u2);
}

static void
seed_rng(Rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed * 0x2545F4914F6CDD1DULL + stream * 0x9E3779B97F4A7C15ULL;
	r->have = 0;
	next64(r);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
	{
		fprintf(stderr, "format2_gen: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static void
print_row(long id, const double *x, int dim)
{
	printf("%ld\t[", id);
	for (int j = 0; j < dim; j++)
		printf(j ? ",%.9g" : "%.9g", (float) x[j]);
	fputs("]\n", stdout);
}

/*
 * Parse "id<TAB>[x1,...,xdim]" into id and x; false at the end of input.  A row of
 * another length or shape stops the program.
 */
static int
read_row(char **line, size_t * cap, int dim, long *id, double *x)
{
	char	   *p,
			   *end;

	if (getline(line, cap, stdin) < 0)
		return 0;
	*id = strtol(*line, &p, 10);
	if (p[0] != '\t' || p[1] != '[')
		goto bad;
	p += 2;
	for (int j = 0; j < dim; j++)
	{
		x[j] = strtod(p, &end);
		if (end == p || *end != (j == dim - 1 ? ']' : ','))
			goto bad;
		p = end + 1;
	}
	return 1;
bad:
	fprintf(stderr, "format2_gen: row is not \"id<TAB>[%d floats]\": %.60s\n", dim, *line);
	exit(1);
}

/* rows of q (dim x dim): orthonormal, from Gaussian rows, Gram-Schmidt twice */
static void
random_orthogonal(double *q, int dim, uint64_t seed)
{
	Rng			r;

	seed_rng(&r, seed, 1);
	for (long i = 0; i < (long) dim * dim; i++)
		q[i] = gauss(&r);
	for (int i = 0; i < dim; i++)
	{
		double	   *qi = q + (long) i * dim;

		for (int pass = 0; pass < 2; pass++)
		{
			for (int k = 0; k < i; k++)
			{
				double	   *qk = q + (long) k * dim;
				double		dot = 0;

				for (int j = 0; j < dim; j++)
					dot += qi[j] * qk[j];
				for (int j = 0; j < dim; j++)
					qi[j] -= dot * qk[j];
			}
		}
		{
			double		norm = 0;

			for (int j = 0; j < dim; j++)
				norm += qi[j] * qi[j];
			norm = sqrt(norm);
			for (int j = 0; j < dim; j++)
				qi[j] /= norm;
		}
	}
}

static int
rotate(int dim, uint64_t seed)
{
	double	   *q = xmalloc(sizeof(double) * dim * dim);
	double	   *x = xmalloc(sizeof(double) * dim);
	double	   *y = xmalloc(sizeof(double) * dim);
	char	   *line = NULL;
	size_t		cap = 0;
	long		id;

	random_orthogonal(q, dim, seed);
	while (read_row(&line, &cap, dim, &id, x))
	{
		for (int i = 0; i < dim; i++)
		{
			const double *qi = q + (long) i * dim;
			double		s = 0;

			for (int j = 0; j < dim; j++)
				s += qi[j] * x[j];
			y[i] = s;
		}
		print_row(id, y, dim);
	}
	free(line);
	return 0;
}

static int
emb(long start, long count, int dim, uint64_t seed, double alpha, double mean)
{
	double	   *sd = xmalloc(sizeof(double) * dim);
	double	   *mu = xmalloc(sizeof(double) * dim);
	int		   *pa = xmalloc(sizeof(int) * MIX_ROUNDS * dim);
	double	   *co = xmalloc(sizeof(double) * MIX_ROUNDS * (dim / 2));
	double	   *si = xmalloc(sizeof(double) * MIX_ROUNDS * (dim / 2));
	double	   *x = xmalloc(sizeof(double) * dim);
	double		total = 0,
				norm = 0;
	Rng			r;

	/* the spectrum, scaled to a total variance of 1 */
	for (int j = 0; j < dim; j++)
		total += pow(j + 1, -alpha);
	for (int j = 0; j < dim; j++)
		sd[j] = sqrt(pow(j + 1, -alpha) / total);

	/*
	 * the mixing: per round a random permutation paired up, a random angle
	 * per pair
	 */
	seed_rng(&r, seed, 2);
	for (int k = 0; k < MIX_ROUNDS; k++)
	{
		int		   *p = pa + k * dim;

		for (int j = 0; j < dim; j++)
			p[j] = j;
		for (int j = dim - 1; j > 0; j--)
		{
			int			t = (int) (next64(&r) % (uint64_t) (j + 1));
			int			v = p[j];

			p[j] = p[t];
			p[t] = v;
		}
		for (int j = 0; j < dim / 2; j++)
		{
			double		a = 2 * M_PI * uniform(&r);

			co[k * (dim / 2) + j] = cos(a);
			si[k * (dim / 2) + j] = sin(a);
		}
	}

	/* the shared direction */
	for (int j = 0; j < dim; j++)
	{
		mu[j] = gauss(&r);
		norm += mu[j] * mu[j];
	}
	for (int j = 0; j < dim; j++)
		mu[j] /= sqrt(norm);

	for (long i = 0; i < count; i++)
	{
		double		n2 = 0;

		seed_rng(&r, seed, 1000 + (uint64_t) (start + i));
		for (int j = 0; j < dim; j++)
			x[j] = sd[j] * gauss(&r);
		for (int k = 0; k < MIX_ROUNDS; k++)
		{
			const int  *p = pa + k * dim;

			for (int j = 0; j < dim / 2; j++)
			{
				double		c = co[k * (dim / 2) + j],
							s = si[k * (dim / 2) + j],
							a = x[p[2 * j]],
							b = x[p[2 * j + 1]];

				x[p[2 * j]] = c * a - s * b;
				x[p[2 * j + 1]] = s * a + c * b;
			}
		}
		for (int j = 0; j < dim; j++)
		{
			x[j] += mean * mu[j];
			n2 += x[j] * x[j];
		}
		for (int j = 0; j < dim; j++)
			x[j] /= sqrt(n2);
		print_row(i, x, dim);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "rotate") == 0)
	{
		int			dim = atoi(argv[2]);

		if (dim < 1 || dim > 16000)
		{
			fprintf(stderr, "format2_gen: DIM must be between 1 and 16000, not %s\n", argv[2]);
			return 2;
		}
		return rotate(dim, strtoull(argv[3], NULL, 10));
	}
	if (argc == 8 && strcmp(argv[1], "emb") == 0)
	{
		int			dim = atoi(argv[4]);

		if (dim < 2 || dim > 16000)
		{
			fprintf(stderr, "format2_gen: DIM must be between 2 and 16000, not %s\n", argv[4]);
			return 2;
		}
		return emb(atol(argv[2]), atol(argv[3]), dim, strtoull(argv[5], NULL, 10),
				   atof(argv[6]), atof(argv[7]));
	}
	fprintf(stderr, "usage: format2_gen rotate DIM SEED <rows\n"
			"       format2_gen emb START COUNT DIM SEED ALPHA MEAN\n");
	return 2;
}
