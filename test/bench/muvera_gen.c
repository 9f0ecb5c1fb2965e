/*
 * muvera_gen.c: seeded synthetic multi-vector data for test/bench/muvera.sh, printed as
 * COPY text.
 *
 *   muvera_gen docs N TOKENS DIM SEED          rows "id<TAB>{"[..]","[..]",...}"
 *   muvera_gen queries N TOKENS DIM SEED NDOCS DOCTOKENS
 *                                              rows "id<TAB>source<TAB>{...}"
 *
 * Model (a low-dimensional latent space seen through a fixed random linear map, so that
 * similarity between documents is graded rather than all-or-nothing):
 *   - A is a DIM x 16 Gaussian matrix (from SEED).
 *   - Document d has a latent centre z_d ~ N(0, I_16) and 4 sub-centres
 *     s_dj = z_d + 0.5 N(0, I_16); token k is normalize(A (s_{d, k mod 4} + 0.2 N(0, I_16))
 *     + 0.3 N(0, I_DIM)).  So a document is 4 clusters of tokens.
 *   - Query i takes document source = 1 + i * (NDOCS / N) (regenerated from the same
 *     seed) and is TOKENS noisy copies of its random tokens' latents: normalize(A (x +
 *     0.3 N(0, I_16)) + 0.3 N(0, I_DIM)).
 * Random numbers: splitmix64 and Box-Muller, one stream per document (seeded from SEED
 * and the document id), so documents do not depend on how many were generated.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LATENT 16
#define SUBS 4

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
	u1 = ((next64(r) >> 11) + 1) * 0x1 p - 53;
	u2 = (next64(r) >> 11) * 0x1 p - 53;
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

static int	dim;
static double *A;				/* dim x LATENT */

/* out = normalize(A x + noise * N(0, I_dim)) */
static void
embed(Rng *r, const double *x, double noise, float *out)
{
	double		norm = 0;

	for (int i = 0; i < dim; i++)
	{
		double		v = noise * gauss(r);

		for (int l = 0; l < LATENT; l++)
			v += A[i * LATENT + l] * x[l];
		out[i] = (float) v;
		norm += v * v;
	}
	norm = sqrt(norm);
	for (int i = 0; i < dim; i++)
		out[i] = (float) (out[i] / norm);
}

/* the latents of document d's tokens: lat[k * LATENT + l] */
static void
doc_latents(uint64_t seed, int d, int ntok, double *lat)
{
	Rng			r;
	double		z[LATENT],
				sub[SUBS][LATENT];

	seed_rng(&r, seed, 1000 + (uint64_t) d);
	for (int l = 0; l < LATENT; l++)
		z[l] = gauss(&r);
	for (int j = 0; j < SUBS; j++)
		for (int l = 0; l < LATENT; l++)
			sub[j][l] = z[l] + 0.5 * gauss(&r);
	for (int k = 0; k < ntok; k++)
		for (int l = 0; l < LATENT; l++)
			lat[k * LATENT + l] = sub[k % SUBS][l] + 0.2 * gauss(&r);
}

static void
print_set(const float *v, int n)
{
	putchar('{');
	for (int k = 0; k < n; k++)
	{
		printf(k ? ",\"[" : "\"[");
		for (int i = 0; i < dim; i++)
			printf(i ? ",%.5g" : "%.5g", v[k * dim + i]);
		printf("]\"");
	}
	putchar('}');
}

int
main(int argc, char **argv)
{
	int			n,
				ntok,
				ndocs = 0,
				doctok = 0;
	uint64_t	seed;
	Rng			r;
	double	   *lat;
	float	   *vec;
	int			queries;

	if (argc < 6 || (strcmp(argv[1], "docs") != 0 && strcmp(argv[1], "queries") != 0) ||
		(strcmp(argv[1], "queries") == 0 && argc < 8))
	{
		fprintf(stderr, "usage: %s docs N TOKENS DIM SEED | queries N TOKENS DIM SEED NDOCS DOCTOKENS\n", argv[0]);
		return 2;
	}
	queries = strcmp(argv[1], "queries") == 0;
	n = atoi(argv[2]);
	ntok = atoi(argv[3]);
	dim = atoi(argv[4]);
	seed = strtoull(argv[5], NULL, 10);
	if (queries)
	{
		ndocs = atoi(argv[6]);
		doctok = atoi(argv[7]);
	}

	A = malloc(sizeof(double) * dim * LATENT);
	seed_rng(&r, seed, 1);
	for (int i = 0; i < dim * LATENT; i++)
		A[i] = gauss(&r);
	lat = malloc(sizeof(double) * LATENT * (ntok > doctok ? ntok : doctok));
	vec = malloc(sizeof(float) * dim * ntok);

	for (int i = 0; i < n; i++)
	{
		if (!queries)
		{
			int			d = i + 1;

			doc_latents(seed, d, ntok, lat);
			seed_rng(&r, seed, 2000000000ULL + d);
			for (int k = 0; k < ntok; k++)
				embed(&r, lat + k * LATENT, 0.3, vec + k * dim);
			printf("%d\t", d);
		}
		else
		{
			int			src = 1 + i * (ndocs / n);
			double		x[LATENT];

			doc_latents(seed, src, doctok, lat);
			seed_rng(&r, seed, 4000000000ULL + i);
			for (int k = 0; k < ntok; k++)
			{
				int			t = (int) (next64(&r) % doctok);

				for (int l = 0; l < LATENT; l++)
					x[l] = lat[t * LATENT + l] + 0.3 * gauss(&r);
				embed(&r, x, 0.3, vec + k * dim);
			}
			printf("%d\t%d\t", i + 1, src);
		}
		print_set(vec, ntok);
		putchar('\n');
	}
	return 0;
}
