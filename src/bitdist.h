/*
 * bitdist.h: the bit-string kernels behind hamming_distance and jaccard_distance
 * (population counts of a XOR b, a AND b, a OR b), scalar and SIMD, chosen once at
 * load time.
 *
 * Pure C with no PostgreSQL dependency, like distance.h; the standalone kernel test
 * (test/kernels/test_halfdist.c) links src/bitdist.c directly.  See src/README, section
 * "bit".
 */
#ifndef VECSEARCH_BITDIST_H
#define VECSEARCH_BITDIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * One implementation of every kernel: scalar (portable bit counting), popcnt (the POPCNT
 * instruction on 64-bit words), avx2 (nibble lookup with vpshufb, 32 bytes a step),
 * avx512 (AVX-512 VPOPCNTDQ, 64 bytes a step).
 */
typedef struct VsBitKernels
{
	const char *name;
	/* the number of bits set in a XOR b over the first bytes bytes */
				uint64_t(*hamming) (const unsigned char *a, const unsigned char *b, size_t bytes);
	/* *both = bits set in a AND b, *either = bits set in a OR b */
	void		(*jaccard) (const unsigned char *a, const unsigned char *b, size_t bytes,
							uint64_t * both, uint64_t * either);
} VsBitKernels;

/* The kernels in use: scalar until VsBitKernelsInit() installs the best variant. */
extern VsBitKernels vs_bit_kernels;

/* Choose the best variant the CPU supports (idempotent). Returns its name. */
extern const char *VsBitKernelsInit(void);

/* Force a variant by name; returns 0 if unknown or not supported here. */
extern int	VsBitKernelsSelect(const char *name);

/* All variants compiled in and supported by this CPU, scalar first, best last. */
extern const VsBitKernels *VsBitKernelVariants(int *count);

#endif							/* VECSEARCH_BITDIST_H */
