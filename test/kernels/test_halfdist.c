/*
 * test_halfdist.c: checks the half-precision conversions, every halfvec kernel variant
 * and every bit-count variant this CPU supports against references computed here.
 *
 * Standalone (links src/halfdist.c and src/bitdist.c, no PostgreSQL), TAP output like
 * test_distance.c; a variant this CPU cannot run is reported as "ok N # SKIP" after
 * checking that the Select function refuses it.
 *
 * The references share no code with the files tested:
 * - half to float: all 65,536 bit patterns, against sign * 2^(e-15) * (1 + m/1024)
 *   (m * 2^-24 for subnormals) computed with ldexp, and each variant's bulk conversion
 *   against that.
 * - float to half: the nearest half found by binary search over the finite halves
 *   (ties to the even pattern), for every midpoint between neighbouring halves, the
 *   floats one step either side of it, the overflow threshold and a seeded sample of
 *   float bit patterns.
 * - kernels: the sum of exact double terms of the halves' values, with
 *   test_distance.c's tolerance (8 sqrt(n) FLT_EPSILON S); operands end right before
 *   a PROT_NONE page so no variant may read past them.
 * - bit counts: bit by bit, for 0 to 200 bytes and longer strings, unaligned.
 */
#include <float.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitdist.h"
#include "halfdist.h"

static int	ntests = 0;
static int	nfailed = 0;

static void
			report(int ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
report(int ok, const char *fmt,...)
{
	va_list		ap;

	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - ", ok ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) / 9007199254740992.0;
}

/* The value of half bits h, from the definition of binary16. */
static double
ref_half_value(uint16_t h)
{
	int			sign = (h & 0x8000) ? -1 : 1;
	int			e = (h >> 10) & 0x1f;
	int			m = h & 0x3ff;

	if (e == 0x1f)
		return m ? NAN : sign * INFINITY;
	if (e == 0)
		return sign * ldexp((double) m, -24);
	return sign * ldexp(1.0 + m / 1024.0, e - 15);
}

/* The nearest half to f by search over the finite non-negative halves 0..0x7bff. */
static uint16_t
ref_float_to_half(float f)
{
	double		x = fabs((double) f);
	uint16_t	sign = signbit(f) ? 0x8000 : 0;
	int			lo = 0,
				hi = 0x7bff;

	if (isnan(f))
		return 0x7e00;
	/* past the largest half by half a step (65520) or more: infinity */
	if (x >= 65520.0)
		return sign | 0x7c00;
	while (lo < hi)				/* the largest half <= x */
	{
		int			mid = (lo + hi + 1) / 2;

		if (ref_half_value((uint16_t) mid) <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo < 0x7bff)
	{
		double		below = x - ref_half_value((uint16_t) lo);
		double		above = ref_half_value((uint16_t) (lo + 1)) - x;

		if (above < below || (above == below && (lo & 1)))
			lo++;
	}
	return sign | (uint16_t) lo;
}

static int
same_float(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void
check_conversions(void)
{
	int			bad = 0,
				first = 0;
	long		checked = 0;

	for (int h = 0; h < 65536; h++)
	{
		double		want = ref_half_value((uint16_t) h);
		float		got = VsHalfToFloat((uint16_t) h);

		if (!(isnan(want) ? isnan(got) : (double) got == want && !!signbit(got) == !!signbit(want)))
		{
			if (first < 0)
				first = h;
			bad++;
		}
	}
	report(bad == 0, "VsHalfToFloat exact on all 65536 halves (%d wrong, first 0x%04x)", bad, first);

	/* every half survives the round trip (NaNs stay NaN) */
	bad = 0;
	first = 0;
	for (int h = 0; h < 65536; h++)
	{
		uint16_t	back = VsFloatToHalf(VsHalfToFloat((uint16_t) h));

		if (VsHalfIsNan((uint16_t) h) ? !VsHalfIsNan(back) : back != h)
		{
			if (first < 0)
				first = h;
			bad++;
		}
	}
	report(bad == 0, "VsFloatToHalf(VsHalfToFloat(h)) == h for all halves (%d wrong, first 0x%04x)",
		   bad, first);

	/* midpoints between neighbours, and one float step either side of each */
	bad = 0;
	first = 0;
	for (int h = 0; h < 0x7bff; h++)
	{
		float		mid = (float) ((ref_half_value((uint16_t) h) + ref_half_value((uint16_t) (h + 1))) / 2);
		float		probes[3] = {mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY)};

		for (int k = 0; k < 3; k++)
			for (int s = 0; s < 2; s++)
			{
				float		f = s ? -probes[k] : probes[k];

				checked++;
				if (VsFloatToHalf(f) != ref_float_to_half(f))
				{
					if (first < 0)
						first = h;
					bad++;
				}
			}
	}
	{
		/* the overflow threshold: 65519.996 -> 65504, 65520 -> infinity */
		float		edge[] = {65504.0f, nextafterf(65520.0f, 0.0f), 65520.0f, 1e30f, INFINITY,
		FLT_MIN, 1e-8f, 2.9802322e-8f, 5.9604645e-8f, 0.0f};

		for (int k = 0; k < (int) (sizeof(edge) / sizeof(edge[0])); k++)
		{
			checked += 2;
			if (VsFloatToHalf(edge[k]) != ref_float_to_half(edge[k]) ||
				VsFloatToHalf(-edge[k]) != ref_float_to_half(-edge[k]))
				bad++;
		}
	}
	for (int k = 0; k < 1000000; k++)
	{
		uint32_t	bits = (uint32_t) rng_next();
		float		f;

		/* mostly the range halves cover, some beyond */
		bits = (bits & 0x80000000u) | (0x30000000u + (bits & 0x7fffffffu) % 0x18000000u);
		memcpy(&f, &bits, sizeof(f));
		checked++;
		if (VsFloatToHalf(f) != ref_float_to_half(f))
			bad++;
	}
	report(bad == 0, "VsFloatToHalf rounds to nearest, ties to even, on %ld floats (%d wrong, first midpoint 0x%04x)",
		   checked, bad, first);
	report(VsFloatToHalf(NAN) == 0x7e00 && VsHalfIsNan(VsFloatToHalf(-NAN)),
		   "VsFloatToHalf keeps NaN a NaN");
}

/* Memory of n elements of size sz ending at a PROT_NONE page. */
static void *
alloc_before_guard(size_t n, size_t sz, void **base_out, size_t * len_out)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		data = (n * sz + page - 1) / page * page;
	char	   *base = mmap(NULL, data + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base + data, page, PROT_NONE) != 0)
	{
		perror("mmap");
		exit(2);
	}
	*base_out = base;
	*len_out = data + page;
	return base + data - n * sz;
}

static void
fill_half(uint16_t * v, int n, double offset)
{
	for (int i = 0; i < n; i++)
		v[i] = VsFloatToHalf((float) (2.0 * rng_uniform() - 1.0 + offset));
}

static double
tolerance(int n, double scale)
{
	return 8.0 * sqrt((double) (n > 0 ? n : 1)) * FLT_EPSILON * scale + 1e-30;
}

/* Every kernel of v on halves of length n that end at a guard page. */
static void
check_half_kernels(const VsHalfKernels *v, int n)
{
	void	   *ma,
			   *mb,
			   *mo;
	size_t		la,
				lb,
				lo;
	uint16_t   *a = alloc_before_guard(n, sizeof(uint16_t), &ma, &la);
	uint16_t   *b = alloc_before_guard(n, sizeof(uint16_t), &mb, &lb);
	float	   *out = alloc_before_guard(n, sizeof(float), &mo, &lo);
	double		l2 = 0,
				dot = 0,
				sdot = 0,
				l1 = 0,
				aa = 0,
				saa = 0,
				bb = 0,
				sbb = 0;
	float		gab,
				gaa,
				gbb;
	int			conv_ok = 1;

	fill_half(a, n, 0.5);
	fill_half(b, n, 0.0);
	for (int i = 0; i < n; i++)
	{
		double		x = ref_half_value(a[i]),
					y = ref_half_value(b[i]);

		l2 += (x - y) * (x - y);
		dot += x * y;
		sdot += fabs(x * y);
		l1 += fabs(x - y);
		aa += x * x;
		bb += y * y;
	}
	saa = aa;
	sbb = bb;
	report(fabs(v->l2sq(a, b, n) - l2) <= tolerance(n, l2), "%s l2sq n=%d", v->name, n);
	report(fabs(v->dot(a, b, n) - dot) <= tolerance(n, sdot), "%s dot n=%d", v->name, n);
	report(fabs(v->l1(a, b, n) - l1) <= tolerance(n, l1), "%s l1 n=%d", v->name, n);
	v->cosparts(a, b, n, &gab, &gaa, &gbb);
	report(fabs(gab - dot) <= tolerance(n, sdot) && fabs(gaa - aa) <= tolerance(n, saa) &&
		   fabs(gbb - bb) <= tolerance(n, sbb), "%s cosparts n=%d", v->name, n);
	v->to_float(a, out, n);
	for (int i = 0; i < n; i++)
		if (!same_float(out[i], (float) ref_half_value(a[i])))
			conv_ok = 0;
	report(conv_ok, "%s to_float n=%d", v->name, n);
	munmap(ma, la);
	munmap(mb, lb);
	munmap(mo, lo);
}

static void
check_half_variants(void)
{
	static const char *const known[] = {"scalar", "f16c", "avx512"};
	static const int lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100,
	767, 768, 1536, 3072, 3073, 16000};
	int			nv;
	const VsHalfKernels *vs;
	const char *chosen = VsHalfKernelsInit();

	vs = VsHalfKernelVariants(&nv);
	printf("# half variants on this CPU:");
	for (int i = 0; i < nv; i++)
		printf(" %s", vs[i].name);
	printf("; VsHalfKernelsInit chose %s\n", chosen);
	report(strcmp(vs[0].name, "scalar") == 0 && strcmp(chosen, vs[nv - 1].name) == 0,
		   "half variant list starts with scalar and Init picks the last");
	report(VsHalfKernelsSelect("nonsense") == 0 && VsHalfKernelsSelect(NULL) == 0,
		   "VsHalfKernelsSelect rejects an unknown name");

	for (int k = 0; k < (int) (sizeof(known) / sizeof(known[0])); k++)
	{
		const VsHalfKernels *v = NULL;

		for (int i = 0; i < nv; i++)
			if (strcmp(vs[i].name, known[k]) == 0)
				v = &vs[i];
		if (v == NULL)
		{
			int			refused = VsHalfKernelsSelect(known[k]) == 0;

			ntests++;
			if (!refused)
				nfailed++;
			printf("%sok %d # SKIP half variant %s not supported by this CPU or build\n",
				   refused ? "" : "not ", ntests, known[k]);
			continue;
		}
		report(VsHalfKernelsSelect(v->name) == 1 && strcmp(vs_half_kernels.name, v->name) == 0,
			   "VsHalfKernelsSelect(\"%s\") installs it", v->name);
		{
			static uint16_t all[65536];
			static float out[65536];
			int			bad = 0;

			for (int h = 0; h < 65536; h++)
				all[h] = (uint16_t) h;
			v->to_float(all, out, 65536);
			for (int h = 0; h < 65536; h++)
				if (!same_float(out[h], (float) ref_half_value((uint16_t) h)))
					bad++;
			report(bad == 0, "%s to_float exact on all 65536 halves (%d wrong)", v->name, bad);
		}
		for (int j = 0; j < (int) (sizeof(lens) / sizeof(lens[0])); j++)
			check_half_kernels(v, lens[j]);
	}
	VsHalfKernelsInit();
}

/* bits set in a op b, bit by bit */
static uint64_t
ref_count(const unsigned char *a, const unsigned char *b, size_t bytes, char op)
{
	uint64_t	n = 0;

	for (size_t i = 0; i < bytes * 8; i++)
	{
		int			x = (a[i / 8] >> (i % 8)) & 1,
					y = (b[i / 8] >> (i % 8)) & 1;

		n += op == '^' ? (x ^ y) : op == '&' ? (x & y) : (x | y);
	}
	return n;
}

static void
check_bit_variant(const VsBitKernels *v)
{
	int			bad = 0;
	size_t		first = 0;
	static const size_t longer[] = {256, 511, 1000, 2000, 4096};

	for (size_t bytes = 0; bytes < 200 + sizeof(longer) / sizeof(longer[0]); bytes++)
	{
		size_t		len = bytes < 200 ? bytes : longer[bytes - 200];
		void	   *ma,
				   *mb;
		size_t		la,
					lb;
		unsigned char *a = alloc_before_guard(len, 1, &ma, &la);
		unsigned char *b = alloc_before_guard(len, 1, &mb, &lb);
		uint64_t	both,
					either;

		/* mix dense and sparse strings */
		for (size_t i = 0; i < len; i++)
		{
			a[i] = (unsigned char) rng_next();
			b[i] = (len % 3 == 0) ? (unsigned char) (rng_next() & rng_next()) : (unsigned char) rng_next();
		}
		v->jaccard(a, b, len, &both, &either);
		if (v->hamming(a, b, len) != ref_count(a, b, len, '^') ||
			both != ref_count(a, b, len, '&') || either != ref_count(a, b, len, '|'))
		{
			if (!bad)
				first = len;
			bad++;
		}
		munmap(ma, la);
		munmap(mb, lb);
	}
	report(bad == 0, "%s hamming and jaccard counts exact for 0..199 and up to 4096 bytes, "
		   "no read past the end (%d wrong, first at %zu bytes)", v->name, bad, first);
}

static void
check_bit_variants(void)
{
	static const char *const known[] = {"scalar", "popcnt", "avx2", "avx512"};
	int			nv;
	const VsBitKernels *vs;
	const char *chosen = VsBitKernelsInit();

	vs = VsBitKernelVariants(&nv);
	printf("# bit variants on this CPU:");
	for (int i = 0; i < nv; i++)
		printf(" %s", vs[i].name);
	printf("; VsBitKernelsInit chose %s\n", chosen);
	report(strcmp(vs[0].name, "scalar") == 0 && strcmp(chosen, vs[nv - 1].name) == 0,
		   "bit variant list starts with scalar and Init picks the last");
	report(VsBitKernelsSelect("nonsense") == 0 && VsBitKernelsSelect(NULL) == 0,
		   "VsBitKernelsSelect rejects an unknown name");
	for (int k = 0; k < (int) (sizeof(known) / sizeof(known[0])); k++)
	{
		const VsBitKernels *v = NULL;

		for (int i = 0; i < nv; i++)
			if (strcmp(vs[i].name, known[k]) == 0)
				v = &vs[i];
		if (v == NULL)
		{
			int			refused = VsBitKernelsSelect(known[k]) == 0;

			ntests++;
			if (!refused)
				nfailed++;
			printf("%sok %d # SKIP bit variant %s not supported by this CPU or build\n",
				   refused ? "" : "not ", ntests, known[k]);
			continue;
		}
		report(VsBitKernelsSelect(v->name) == 1 && strcmp(vs_bit_kernels.name, v->name) == 0,
			   "VsBitKernelsSelect(\"%s\") installs it", v->name);
		check_bit_variant(v);
	}
	VsBitKernelsInit();
}

int
main(void)
{
	check_conversions();
	check_half_variants();
	check_bit_variants();
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
