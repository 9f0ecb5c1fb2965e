/*
 * bitdist.c: population counts for the bit functions (hamming_distance counts the bits
 * of a XOR b; jaccard_distance those of a AND b and a OR b), in a portable version and
 * POPCNT, AVX2 and AVX-512 VPOPCNTDQ versions chosen at load time (as in distance.c:
 * target attributes per function, one CPUID check).  No PostgreSQL headers here.
 * See src/README, section "bit".
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bitdist.h"

#if defined(__x86_64__) || defined(__i386__)
#define VS_X86 1
#include <immintrin.h>
#endif

/* The 64-bit word at p, unaligned; the last, partial word of a string is zero-padded. */
static inline uint64_t
load_word(const unsigned char *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint64_t
load_partial(const unsigned char *p, size_t bytes)
{
	uint64_t	w = 0;

	memcpy(&w, p, bytes);
	return w;
}

/* ------------------------------------------------------------------------------------
 * Scalar: the classic SWAR count (bits in pairs, nibbles, bytes, then one multiply to
 * add the bytes), which compiles to the same few instructions everywhere.
 * ------------------------------------------------------------------------------------ */
static inline uint64_t
swar_popcount(uint64_t x)
{
	x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
	x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
	x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (x * UINT64_C(0x0101010101010101)) >> 56;
}

/*
 * The loops of every variant but avx512's body, with the word count POP: a macro so each
 * target-attributed copy inlines its own count (POPCNT or SWAR).
 */
#define HAMMING_WORDS(POP) \
	for (; i + 8 <= bytes; i += 8) \
		d += POP(load_word(a + i) ^ load_word(b + i)); \
	if (i < bytes) \
		d += POP(load_partial(a + i, bytes - i) ^ load_partial(b + i, bytes - i))

#define JACCARD_WORDS(POP) \
	for (; i + 8 <= bytes; i += 8) \
	{ \
		uint64_t	x = load_word(a + i), y = load_word(b + i); \
		n_and += POP(x & y); \
		n_or += POP(x | y); \
	} \
	if (i < bytes) \
	{ \
		uint64_t	x = load_partial(a + i, bytes - i), y = load_partial(b + i, bytes - i); \
		n_and += POP(x & y); \
		n_or += POP(x | y); \
	}

static uint64_t
scalar_hamming(const unsigned char *a, const unsigned char *b, size_t bytes)
{
	uint64_t	d = 0;
	size_t		i = 0;

	HAMMING_WORDS(swar_popcount);
	return d;
}

static void
scalar_jaccard(const unsigned char *a, const unsigned char *b, size_t bytes,
			   uint64_t * both, uint64_t * either)
{
	uint64_t	n_and = 0,
				n_or = 0;
	size_t		i = 0;

	JACCARD_WORDS(swar_popcount);
	*both = n_and;
	*either = n_or;
}

#ifdef VS_X86

/* ------------------------------------------------------------------------------------
 * POPCNT: one instruction per 64-bit word.
 * ------------------------------------------------------------------------------------ */
#define VS_POPCNT __attribute__((target("popcnt")))
#define hw_popcount(x) ((uint64_t) __builtin_popcountll(x))

static VS_POPCNT uint64_t
popcnt_hamming(const unsigned char *a, const unsigned char *b, size_t bytes)
{
	uint64_t	d = 0;
	size_t		i = 0;

	HAMMING_WORDS(hw_popcount);
	return d;
}

static VS_POPCNT void
popcnt_jaccard(const unsigned char *a, const unsigned char *b, size_t bytes,
			   uint64_t * both, uint64_t * either)
{
	uint64_t	n_and = 0,
				n_or = 0;
	size_t		i = 0;

	JACCARD_WORDS(hw_popcount);
	*both = n_and;
	*either = n_or;
}

/* ------------------------------------------------------------------------------------
 * AVX2: the bits of each nibble looked up with vpshufb, the 32 byte counts of a step
 * summed into four 64-bit lanes with vpsadbw (W. Mula, N. Kurz, D. Lemire, "Faster
 * population counts using AVX2 instructions", 2018).  Words after the last full 32
 * bytes use POPCNT.
 * ------------------------------------------------------------------------------------ */
#define VS_AVX2 __attribute__((target("avx2,popcnt")))
#define VS_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,popcnt")))

VS_AVX2_INLINE __m256i
avx2_byte_counts(__m256i v)
{
	const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
										 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m256i		lo = _mm256_and_si256(v, low);
	__m256i		hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);

	return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

VS_AVX2_INLINE __m256i
avx2_add_counts(__m256i acc, __m256i v)
{
	return _mm256_add_epi64(acc, _mm256_sad_epu8(avx2_byte_counts(v), _mm256_setzero_si256()));
}

VS_AVX2_INLINE uint64_t
avx2_hsum64(__m256i v)
{
	uint64_t	lanes[4];

	_mm256_storeu_si256((__m256i *) lanes, v);
	return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

static VS_AVX2 uint64_t
avx2_hamming(const unsigned char *a, const unsigned char *b, size_t bytes)
{
	__m256i		acc = _mm256_setzero_si256();
	uint64_t	d;
	size_t		i = 0;

	for (; i + 32 <= bytes; i += 32)
		acc = avx2_add_counts(acc, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *) (a + i)),
													_mm256_loadu_si256((const __m256i *) (b + i))));
	d = avx2_hsum64(acc);
	HAMMING_WORDS(hw_popcount);
	return d;
}

static VS_AVX2 void
avx2_jaccard(const unsigned char *a, const unsigned char *b, size_t bytes,
			 uint64_t * both, uint64_t * either)
{
	__m256i		acc_and = _mm256_setzero_si256(),
				acc_or = _mm256_setzero_si256();
	uint64_t	n_and,
				n_or;
	size_t		i = 0;

	for (; i + 32 <= bytes; i += 32)
	{
		__m256i		x = _mm256_loadu_si256((const __m256i *) (a + i));
		__m256i		y = _mm256_loadu_si256((const __m256i *) (b + i));

		acc_and = avx2_add_counts(acc_and, _mm256_and_si256(x, y));
		acc_or = avx2_add_counts(acc_or, _mm256_or_si256(x, y));
	}
	n_and = avx2_hsum64(acc_and);
	n_or = avx2_hsum64(acc_or);
	JACCARD_WORDS(hw_popcount);
	*both = n_and;
	*either = n_or;
}

/* ------------------------------------------------------------------------------------
 * AVX-512 VPOPCNTDQ: eight 64-bit counts per instruction; words after the last full
 * 64 bytes use POPCNT.
 * ------------------------------------------------------------------------------------ */
#define VS_AVX512 __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))

static VS_AVX512 uint64_t
avx512_hamming(const unsigned char *a, const unsigned char *b, size_t bytes)
{
	__m512i		acc = _mm512_setzero_si512();
	uint64_t	d;
	size_t		i = 0;

	for (; i + 64 <= bytes; i += 64)
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i),
																		 _mm512_loadu_si512(b + i))));
	d = (uint64_t) _mm512_reduce_add_epi64(acc);
	HAMMING_WORDS(hw_popcount);
	return d;
}

static VS_AVX512 void
avx512_jaccard(const unsigned char *a, const unsigned char *b, size_t bytes,
			   uint64_t * both, uint64_t * either)
{
	__m512i		acc_and = _mm512_setzero_si512(),
				acc_or = _mm512_setzero_si512();
	uint64_t	n_and,
				n_or;
	size_t		i = 0;

	for (; i + 64 <= bytes; i += 64)
	{
		__m512i		x = _mm512_loadu_si512(a + i);
		__m512i		y = _mm512_loadu_si512(b + i);

		acc_and = _mm512_add_epi64(acc_and, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
		acc_or = _mm512_add_epi64(acc_or, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
	}
	n_and = (uint64_t) _mm512_reduce_add_epi64(acc_and);
	n_or = (uint64_t) _mm512_reduce_add_epi64(acc_or);
	JACCARD_WORDS(hw_popcount);
	*both = n_and;
	*either = n_or;
}

#endif							/* VS_X86 */

/* ------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------ */

static const VsBitKernels vs_bit_scalar = {"scalar", scalar_hamming, scalar_jaccard};

#ifdef VS_X86
static const VsBitKernels vs_bit_popcnt = {"popcnt", popcnt_hamming, popcnt_jaccard};
static const VsBitKernels vs_bit_avx2 = {"avx2", avx2_hamming, avx2_jaccard};
static const VsBitKernels vs_bit_avx512 = {"avx512", avx512_hamming, avx512_jaccard};
#endif

VsBitKernels vs_bit_kernels = {"scalar", scalar_hamming, scalar_jaccard};

static VsBitKernels vs_bit_variants[4];
static int	vs_bit_nvariants = 0;

/* What this CPU and OS can run (see distance.c on __builtin_cpu_supports). */
static void
detect_variants(void)
{
	int			nv = 0;

	if (vs_bit_nvariants > 0)
		return;
	vs_bit_variants[nv++] = vs_bit_scalar;
#ifdef VS_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("popcnt"))
	{
		vs_bit_variants[nv++] = vs_bit_popcnt;
		if (__builtin_cpu_supports("avx2"))
			vs_bit_variants[nv++] = vs_bit_avx2;
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq"))
			vs_bit_variants[nv++] = vs_bit_avx512;
	}
#endif
	vs_bit_nvariants = nv;
}

const char *
VsBitKernelsInit(void)
{
	detect_variants();
	vs_bit_kernels = vs_bit_variants[vs_bit_nvariants - 1];
	return vs_bit_kernels.name;
}

int
VsBitKernelsSelect(const char *name)
{
	detect_variants();
	if (name == NULL)
		return 0;
	for (int i = 0; i < vs_bit_nvariants; i++)
	{
		if (strcmp(vs_bit_variants[i].name, name) == 0)
		{
			vs_bit_kernels = vs_bit_variants[i];
			return 1;
		}
	}
	return 0;
}

const VsBitKernels *
VsBitKernelVariants(int *count)
{
	detect_variants();
	if (count)
		*count = vs_bit_nvariants;
	return vs_bit_variants;
}
