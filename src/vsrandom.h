/*
 * vsrandom.h: VsRandom, the one private PRNG of the extension (the KNN engine's
 * sampling, the LID sample, vecsearch_synthetic(), the FDEs, hnsw's levels and
 * build orders).
 *
 * splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): a 64-bit state advanced by the golden-ratio increment and finalised by
 * a bijective mixer.  Reproducible across platforms from its seed; never touches the
 * backend's random() state.  See src/README, section "Random numbers".
 */
#ifndef VECSEARCH_VSRANDOM_H
#define VECSEARCH_VSRANDOM_H

#include "postgres.h"

#include <math.h>

typedef struct VsRandom
{
	uint64		state;
} VsRandom;

/* Seed a stream; distinct seeds give unrelated streams (the mixer is applied once). */
static inline void
vs_random_seed(VsRandom *r, uint64 seed)
{
	r->state = seed ^ UINT64CONST(0x6A09E667F3BCC909);
}

/* The next 64 uniformly distributed bits. */
static inline uint64
vs_random_next(VsRandom *r)
{
	uint64		z = (r->state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform integer in [0, n), n >= 1, by rejection (no modulo bias). */
static inline uint64
vs_random_below(VsRandom *r, uint64 n)
{
	uint64		limit = PG_UINT64_MAX - PG_UINT64_MAX % n;
	uint64		v;

	do
		v = vs_random_next(r);
	while (v >= limit);
	return v % n;
}

/* Uniform double in (0, 1]: the top 53 bits, shifted by one step so 0 never occurs. */
static inline double
vs_random_unit(VsRandom *r)
{
	return ((double) (vs_random_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

/* Standard normal deviate (Box-Muller transform, one value per two uniforms). */
static inline double
vs_random_normal(VsRandom *r)
{
	double		u1 = vs_random_unit(r);
	double		u2 = vs_random_unit(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#endif							/* VECSEARCH_VSRANDOM_H */
