/*
 * muvera.c: multi-vector retrieval: max_sim(q, d), the Chamfer (ColBERT MaxSim)
 * similarity of two sets of vectors, and fde_query() / fde_document(), MUVERA's
 * fixed-dimensional encodings (Dhulipala et al., NeurIPS 2024, arXiv 2405.19504),
 * whose inner product approximates max_sim.  The encodings are IMMUTABLE and give the
 * same bits on every platform: their random numbers are VsRandom streams turned into
 * Gaussians without libm, and their SimHash sums are vs_kernels.fde_simhash.  See
 * src/README, section "Multi-vector retrieval".
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "distance.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "vector.h"
#include "vsrandom.h"

/* Parameter ranges of fde_query / fde_document (README.md documents them too). */
#define FDE_REPETITIONS_MIN			1
#define FDE_REPETITIONS_DEFAULT		20
#define FDE_REPETITIONS_MAX			1000
#define FDE_SIMHASH_BITS_MIN		0
#define FDE_SIMHASH_BITS_DEFAULT	5
#define FDE_SIMHASH_BITS_MAX		16
#define FDE_PROJECTION_DIM_MIN		0	/* 0 = identity, no inner projection */
#define FDE_PROJECTION_DIM_DEFAULT	16
#define FDE_PROJECTION_DIM_MAX		VECTOR_MAX_DIM
#define FDE_FINAL_DIM_MIN			0	/* 0 = no final projection */
#define FDE_FINAL_DIM_DEFAULT		0
#define FDE_FINAL_DIM_MAX			VECTOR_MAX_DIM

/*
 * Size limits on the work, not on the result: the encoding before the final
 * projection (repetitions * 2^simhash_bits * projection_dim), the SimHash matrix
 * (repetitions * simhash_bits * input dimensions entries, 8 bytes each) and the inner
 * count sketch (repetitions * input dimensions entries, 8 bytes each).
 */
#define FDE_INTERNAL_DIM_MAX		(1 << 20)
#define FDE_SIMHASH_ENTRIES_MAX		(1 << 21)
#define FDE_SKETCH_ENTRIES_MAX		(1 << 21)

/*
 * Scratch per chunk of points in fde_encode (SimHash sums, SimHash codes, the chunk
 * transposed and projected): the points of a set are encoded this many bytes' worth at
 * a time, so memory follows the parameters, not the number of points.
 */
#define FDE_CHUNK_BYTES				(1 << 20)

/* Tags separating the random streams drawn from one seed. */
#define FDE_STREAM_SIMHASH			1
#define FDE_STREAM_PROJECTION		2
#define FDE_STREAM_FINAL			3

/*
 * Binary constants, written as hex floats so that every compiler reads the same bits
 * (the encodings must be bit-exact on every platform).  pg_bsd_indent cannot parse
 * hex-float literals, so they are kept out of its reach (scripts/indent).
 */
/* *INDENT-OFF* */
#define FDE_SQRT_HALF			0x1.6a09e667f3bcdp-1	/* sqrt(1/2), rounded */
#define FDE_LN2					0x1.62e42fefa39efp-1	/* ln 2, rounded */
#define FDE_2_PI				0x1.921fb54442d18p+2	/* 2 pi, rounded */
#define FDE_2_POW_M53			0x1p-53					/* 2^-53, exact */
#define FDE_FLOAT4_INF_EDGE		0x1.ffffffp+127			/* FLT_MAX + half an ulp */
/* *INDENT-ON* */

/* ------------------------------------------------------------------------
 * Deterministic random numbers
 * ------------------------------------------------------------------------
 */

/*
 * Start the stream for (seed, tag), a VsRandom (vsrandom.h, splitmix64) whose state
 * is the 64-bit two's complement of seed, xor the tag times a fixed odd constant.
 * Repetition r uses seed + r (as the MUVERA reference code does); the final
 * projection uses the bare seed.
 */
static void
fde_stream_seed(VsRandom *rng, int64 seed, int tag)
{
	rng->state = ((uint64) seed) ^ ((uint64) tag * UINT64CONST(0xD1B54A32D192ED03));
}

/*
 * a * b rounded to double, in a function the compiler may not inline, so that no
 * multiplication in the series below is fused with an addition into an FMA (which
 * rounds once instead of twice and would change the last bits on some platforms).
 */
static pg_noinline double
fde_mul(double a, double b)
{
	return a * b;
}

/*
 * Natural logarithm of u in (0, 1] from basic operations: u = m * 2^e exactly
 * (frexp), m moved into [sqrt(1/2), sqrt(2)), then
 * log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) with s = (m - 1) / (m + 1),
 * |s| <= 0.172, summed to s^25 (truncation error below 1e-20).
 */
static double
fde_log(double u)
{
	int			e;
	double		m = frexp(u, &e);
	double		s,
				s2,
				t;

	if (m < FDE_SQRT_HALF)
	{
		m = m * 2.0;			/* exact */
		e--;
	}
	s = (m - 1.0) / (m + 1.0);
	s2 = fde_mul(s, s);
	t = 1.0 / 25.0;
	for (int n = 23; n >= 1; n -= 2)
		t = 1.0 / n + fde_mul(s2, t);
	return fde_mul((double) e, FDE_LN2) + fde_mul(2.0, fde_mul(s, t));
}

/*
 * Sine and cosine of 2 pi k / 2^53 for an integer 0 <= k < 2^53.  The reduction to
 * an angle a in [0, pi/4] is exact integer arithmetic on k (quadrant, then the
 * complement within the quadrant); sin a and cos a come from their Taylor series in
 * nested form with exact small-integer divisors, to a^21 (error below 1e-21).
 */
static void
fde_sincos(uint64 k, double *sinv, double *cosv)
{
	int			quadrant = (int) (k >> 51);
	uint64		rem = k & ((UINT64CONST(1) << 51) - 1);
	bool		swap = false;
	double		a,
				a2,
				s = 1.0,
				c = 1.0,
				sn,
				cs;

	if (rem > (UINT64CONST(1) << 50))
	{
		rem = (UINT64CONST(1) << 51) - rem;
		swap = true;
	}

	/*
	 * (double) rem and the power-of-two scaling are exact; one rounding for 2
	 * pi
	 */
	a = fde_mul((double) rem * FDE_2_POW_M53, FDE_2_PI);
	a2 = fde_mul(a, a);
	for (int n = 10; n >= 1; n--)
	{
		s = 1.0 - fde_mul(a2, s) / (double) ((2 * n) * (2 * n + 1));
		c = 1.0 - fde_mul(a2, c) / (double) ((2 * n - 1) * (2 * n));
	}
	sn = fde_mul(a, s);
	cs = c;
	if (swap)
	{
		double		t = sn;

		sn = cs;
		cs = t;
	}
	/* rotate by quadrant * pi/2 */
	switch (quadrant)
	{
		case 0:
			*sinv = sn;
			*cosv = cs;
			break;
		case 1:
			*sinv = cs;
			*cosv = -sn;
			break;
		case 2:
			*sinv = -sn;
			*cosv = -cs;
			break;
		default:
			*sinv = -cs;
			*cosv = sn;
			break;
	}
}

/*
 * Two standard Gaussians by Box-Muller: with u1 uniform in (0, 1] (53 bits) and
 * k uniform in [0, 2^53), sqrt(-2 log u1) times cos (*g0) and sin (*g1) of
 * 2 pi k / 2^53 are two independent Gaussians.
 */
static void
fde_gaussian_pair(VsRandom *rng, double *g0, double *g1)
{
	double		u1,
				radius,
				sn,
				cs;

	u1 = (double) ((vs_random_next(rng) >> 11) + 1) * FDE_2_POW_M53;
	fde_sincos(vs_random_next(rng) >> 11, &sn, &cs);
	radius = sqrt(-2.0 * fde_log(u1));	/* sqrt is correctly rounded (IEEE
										 * 754) */
	*g0 = fde_mul(radius, cs);
	*g1 = fde_mul(radius, sn);
}

/*
 * One count-sketch entry: the output coordinate (the high 32 bits scaled to
 * [0, range) by a multiply-shift) and the sign (the lowest bit: 1 = negative).
 */
static void
fde_sketch_entry(VsRandom *rng, int range, int32 *index, float *sign)
{
	uint64		z = vs_random_next(rng);

	*index = (int32) (((z >> 32) * (uint64) range) >> 32);
	*sign = (z & 1) ? -1.0f : 1.0f;
}

/* ------------------------------------------------------------------------
 * Reading vector[] arguments
 * ------------------------------------------------------------------------
 */

/* Element type of the vector[] arguments, looked up once per call site. */
typedef struct VectorArrayType
{
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
} VectorArrayType;

/*
 * Copy the vectors of a one-dimensional vector[] into a new row-major float matrix
 * (one row per vector).  what names the argument in error messages.  Sets *n and
 * *dim; errors on an empty array, a multidimensional array, NULL elements,
 * elements of different dimensions, and invalid (CheckVectorLayout) or non-finite
 * vectors.
 */
static float *
read_vector_set(ArrayType *array, VectorArrayType *t, const char *what, int *n, int *dim)
{
	Datum	   *elems;
	int			count;
	int			d = 0;
	float	   *x = NULL;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional",
						what, ARR_NDIM(array))));
	if (ARR_NDIM(array) == 0 || ARR_DIMS(array)[0] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must contain at least one vector", what)));
	if (array_contains_nulls(array))
	{
		/* find the first NULL for the message */
		bits8	   *bitmap = ARR_NULLBITMAP(array);
		int			first = 0;

		while (bitmap && (bitmap[first / 8] & (1 << (first % 8))) != 0)
			first++;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls, element %d is null",
						what, first + 1)));
	}

	if (t->elemtype != ARR_ELEMTYPE(array))
	{
		t->elemtype = ARR_ELEMTYPE(array);
		get_typlenbyvalalign(t->elemtype, &t->typlen, &t->typbyval, &t->typalign);
	}
	deconstruct_array(array, t->elemtype, t->typlen, t->typbyval, t->typalign,
					  &elems, NULL, &count);

	for (int i = 0; i < count; i++)
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(elems[i]);
		const char *p = VARDATA_ANY(v);
		int			vdim = CheckVectorLayout(p, VARSIZE_ANY_EXHDR(v));

		if (i == 0)
		{
			d = vdim;
			x = (float *) palloc_extended(mul_size(mul_size(count, d), sizeof(float)),
										  MCXT_ALLOC_HUGE);
		}
		else if (vdim != d)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s have different dimensions: element 1 has %d and element %d has %d",
							what, d, i + 1, vdim)));
		memcpy(x + (Size) i * d, p + offsetof(Vector, x) - VARHDRSZ, sizeof(float) * d);
		if (unlikely(!VectorIsFinite(x + (Size) i * d, d)))
		{
			char	   *elem = psprintf("element %d of %s", i + 1, what);

			CheckVectorFinite(x + (Size) i * d, d, elem);
		}
	}
	pfree(elems);
	*n = count;
	*dim = d;
	return x;
}

/* ------------------------------------------------------------------------
 * max_sim
 * ------------------------------------------------------------------------
 */

/* Query and document vectors per block of inner products in max_sim. */
#define MAXSIM_BLOCK 256

/*
 * max_sim(q vector[], d vector[]) -> float8: sum over the vectors q_i of
 * max_j <q_i, d_j> (Chamfer similarity; ColBERT's late-interaction score).
 * The inner products come in blocks from the shared SIMD kernel dot_block; the sum
 * is in double.
 */
PG_FUNCTION_INFO_V1(max_sim);
Datum
max_sim(PG_FUNCTION_ARGS)
{
	ArrayType  *qa = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *da = PG_GETARG_ARRAYTYPE_P(1);
	VectorArrayType *t = (VectorArrayType *) fcinfo->flinfo->fn_extra;
	float	   *q,
			   *d;
	int			nq,
				nd,
				dimq,
				dimd;
	float	   *ip,
			   *best;
	double		sum = 0;

	if (t == NULL)
	{
		t = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VectorArrayType));
		t->elemtype = InvalidOid;
		fcinfo->flinfo->fn_extra = t;
	}
	q = read_vector_set(qa, t, "query vectors", &nq, &dimq);
	d = read_vector_set(da, t, "document vectors", &nd, &dimd);
	if (dimq != dimd)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("query vectors have %d dimensions but document vectors have %d",
						dimq, dimd)));

	/* blocks of at most MAXSIM_BLOCK x MAXSIM_BLOCK inner products */
	ip = palloc(sizeof(float) * Min(nq, MAXSIM_BLOCK) * Min(nd, MAXSIM_BLOCK));
	best = palloc(sizeof(float) * nq);
	for (int i0 = 0; i0 < nq; i0 += MAXSIM_BLOCK)
	{
		int			bq = Min(MAXSIM_BLOCK, nq - i0);

		for (int j0 = 0; j0 < nd; j0 += MAXSIM_BLOCK)
		{
			int			bd = Min(MAXSIM_BLOCK, nd - j0);

			CHECK_FOR_INTERRUPTS();
			vs_kernels.dot_block(q + (Size) i0 * dimq, bq, dimq,
								 d + (Size) j0 * dimq, bd, dimq, dimq, ip, bd);
			for (int i = 0; i < bq; i++)
			{
				const float *row = ip + (Size) i * bd;
				float		m = j0 == 0 ? row[0] : best[i0 + i];

				for (int j = 0; j < bd; j++)
					if (row[j] > m)
						m = row[j];
				best[i0 + i] = m;
			}
		}
	}
	for (int i = 0; i < nq; i++)
		sum += best[i];
	pfree(ip);
	pfree(best);
	if (isinf(sum) || isnan(sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow")));
	pfree(q);
	pfree(d);
	PG_RETURN_FLOAT8(sum);
}

/* ------------------------------------------------------------------------
 * Fixed-dimensional encodings
 * ------------------------------------------------------------------------
 */

/*
 * The random structures of one parameter setting, built once per call site
 * (fn_extra) and reused for every row, keyed by all the parameters and the input
 * dimension.
 */
typedef struct FdeState
{
	VectorArrayType type;
	bool		valid;
	/* key */
	int			dim;			/* input dimensions */
	int			reps;
	int			bits;
	int			proj;			/* projection_dim as given; 0 = identity */
	int32		seed;
	int			final_dim;
	/* derived */
	int			dproj;			/* block width: proj, or dim for identity */
	int			nbuckets;		/* 2^bits */
	int			nplanes;		/* reps * bits */
	int			planestride;	/* nplanes rounded up to a multiple of 4 */
	int			fdedim;			/* reps * nbuckets * dproj */

	/*
	 * gauss[i * planestride + r * bits + j]: coordinate i of hyperplane j of
	 * rep r, rounded to float4 and stored as double (products with float4 are
	 * then exact); the padding columns are zero
	 */
	double	   *gauss;

	/*
	 * cs_index/cs_sign[r * dim + i]: where coordinate i goes in rep r (NULL:
	 * identity)
	 */
	int32	   *cs_index;
	float	   *cs_sign;
	/* final_index/final_sign[t]: where FDE coordinate t goes (NULL: no final) */
	int32	   *final_index;
	float	   *final_sign;
} FdeState;

/* ereport unless min <= value <= max */
static void
check_fde_param(const char *name, int value, int min, int max)
{
	if (value < min || value > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not %d", name, min, max, value)));
}

/*
 * Validate the parameters against the input dimension and return the state for
 * them, building the random structures if this call site has not seen them.
 * Steps 1, 2 and 5 of MUVERA's FDE (SimHash hyperplanes, inner count-sketch
 * projection, final count-sketch projection); see fde_encode for 3 and 4.
 */
static FdeState *
get_fde_state(FunctionCallInfo fcinfo, FdeState *s, int dim, int reps, int bits,
			  int proj, int32 seed, int final_dim)
{
	MemoryContext old;
	int64		dproj,
				fdedim,
				entries;
	VsRandom	rng;

	if (s->valid && s->dim == dim && s->reps == reps && s->bits == bits &&
		s->proj == proj && s->seed == seed && s->final_dim == final_dim)
		return s;

	check_fde_param("repetitions", reps, FDE_REPETITIONS_MIN, FDE_REPETITIONS_MAX);
	check_fde_param("simhash_bits", bits, FDE_SIMHASH_BITS_MIN, FDE_SIMHASH_BITS_MAX);
	check_fde_param("projection_dim", proj, FDE_PROJECTION_DIM_MIN, FDE_PROJECTION_DIM_MAX);
	check_fde_param("final_dim", final_dim, FDE_FINAL_DIM_MIN, FDE_FINAL_DIM_MAX);

	/* all factors are bounded above, so int64 cannot overflow */
	dproj = proj == 0 ? dim : proj;
	fdedim = (int64) reps * ((int64) 1 << bits) * dproj;
	if (final_dim == 0 && fdedim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("fde would have " INT64_FORMAT " dimensions (%d repetitions * %d buckets * " INT64_FORMAT " per block), more than the maximum of %d",
						fdedim, reps, 1 << bits, dproj, VECTOR_MAX_DIM),
				 errhint("Lower the parameters, or set final_dim to project the encoding to at most %d dimensions.",
						 VECTOR_MAX_DIM)));
	if (fdedim > FDE_INTERNAL_DIM_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("fde before the final projection would have " INT64_FORMAT " dimensions (%d repetitions * %d buckets * " INT64_FORMAT " per block), more than the maximum of %d",
						fdedim, reps, 1 << bits, dproj, FDE_INTERNAL_DIM_MAX)));
	entries = (int64) reps * bits * dim;
	if (entries > FDE_SIMHASH_ENTRIES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("simhash matrix would have " INT64_FORMAT " entries (%d repetitions * %d bits * %d input dimensions), more than the maximum of %d",
						entries, reps, bits, dim, FDE_SIMHASH_ENTRIES_MAX)));
	entries = (int64) reps * dim;
	if (proj > 0 && entries > FDE_SKETCH_ENTRIES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("projection sketch would have " INT64_FORMAT " entries (%d repetitions * %d input dimensions), more than the maximum of %d",
						entries, reps, dim, FDE_SKETCH_ENTRIES_MAX),
				 errhint("Lower repetitions, or set projection_dim to 0 (identity).")));

	/* (re)build in the call site's context */
	if (s->gauss)
		pfree(s->gauss);
	if (s->cs_index)
		pfree(s->cs_index);
	if (s->cs_sign)
		pfree(s->cs_sign);
	if (s->final_index)
		pfree(s->final_index);
	if (s->final_sign)
		pfree(s->final_sign);
	s->gauss = NULL;
	s->cs_index = NULL;
	s->cs_sign = NULL;
	s->final_index = NULL;
	s->final_sign = NULL;
	s->valid = false;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	s->dim = dim;
	s->reps = reps;
	s->bits = bits;
	s->proj = proj;
	s->seed = seed;
	s->final_dim = final_dim;
	s->dproj = (int) dproj;
	s->nbuckets = 1 << bits;
	s->nplanes = reps * bits;
	s->planestride = (s->nplanes + 3) & ~3;
	s->fdedim = (int) fdedim;

	/*
	 * Step 1, SimHash: rep r draws its bits hyperplanes from stream (seed +
	 * r, SIMHASH), hyperplane by hyperplane, coordinate by coordinate.
	 */
	if (s->nplanes > 0)
	{
		s->gauss = palloc0(sizeof(double) * (Size) s->planestride * dim);
		for (int r = 0; r < reps; r++)
		{
			fde_stream_seed(&rng, (int64) seed + r, FDE_STREAM_SIMHASH);
			/* the Gaussians in pairs; an odd count drops the last one */
			for (int t = 0; t < bits * dim; t += 2)
			{
				double		g[2];

				fde_gaussian_pair(&rng, &g[0], &g[1]);
				for (int u = 0; u < 2 && t + u < bits * dim; u++)
				{
					int			j = (t + u) / dim,
								i = (t + u) % dim;

					s->gauss[(Size) i * s->planestride + r * bits + j] = (double) (float) g[u];
				}
			}
		}
	}

	/*
	 * Step 2, inner projection: a count sketch (the reference code's AMS
	 * sketch): coordinate i of rep r goes to one output coordinate with a
	 * random sign, not scaled, drawn from stream (seed + r, PROJECTION).
	 */
	if (proj > 0)
	{
		s->cs_index = palloc(sizeof(int32) * (Size) reps * dim);
		s->cs_sign = palloc(sizeof(float) * (Size) reps * dim);
		for (int r = 0; r < reps; r++)
		{
			fde_stream_seed(&rng, (int64) seed + r, FDE_STREAM_PROJECTION);
			for (int i = 0; i < dim; i++)
				fde_sketch_entry(&rng, proj, &s->cs_index[r * dim + i],
								 &s->cs_sign[r * dim + i]);
		}
	}

	/* Step 5, final projection: a count sketch from stream (seed, FINAL) */
	if (final_dim > 0)
	{
		s->final_index = palloc(sizeof(int32) * (Size) fdedim);
		s->final_sign = palloc(sizeof(float) * (Size) fdedim);
		fde_stream_seed(&rng, seed, FDE_STREAM_FINAL);
		for (int64 t = 0; t < fdedim; t++)
			fde_sketch_entry(&rng, final_dim, &s->final_index[t], &s->final_sign[t]);
	}
	MemoryContextSwitchTo(old);
	s->valid = true;
	return s;
}

/*
 * SimHash sign bits of every point in every rep: codes[p * reps + r] holds bit j of
 * rep r (1 iff <g_{r,j}, x_p> > 0) at position bits - 1 - j, so the first hyperplane
 * is the most significant bit.  acc: scratch of n * planestride doubles.
 */
static void
fde_simhash_codes(const FdeState *s, const float *x, int n, uint32 *codes, double *acc)
{
	int			np = s->planestride;

	if (s->nplanes == 0)
	{
		memset(codes, 0, sizeof(uint32) * (Size) n * s->reps);
		return;
	}
	vs_kernels.fde_simhash(s->gauss, np, x, n, s->dim, acc);
	for (int p = 0; p < n; p++)
	{
		const double *ap = acc + (Size) p * np;

		for (int r = 0; r < s->reps; r++)
		{
			uint32		code = 0;

			for (int j = 0; j < s->bits; j++)
				code = (code << 1) | (ap[r * s->bits + j] > 0 ? 1 : 0);
			codes[(Size) p * s->reps + r] = code;
		}
	}
}

/* Number of bits set (Hamming weight) of a SimHash code of at most 16 bits. */
static inline int
fde_popcount(uint32 v)
{
	v = v - ((v >> 1) & 0x55555555);
	v = (v & 0x33333333) + ((v >> 2) & 0x33333333);
	v = (v + (v >> 4)) & 0x0F0F0F0F;
	return (int) ((v * 0x01010101) >> 24);
}

/*
 * The bucket of a SimHash code: the code read as a Gray code, i.e. the reference's
 * fold idx = (idx << 1) + (bit XOR (idx & 1)) over the bits, first hyperplane first.
 * Buckets adjacent in index then differ in one hyperplane.  The inverse is
 * idx XOR (idx >> 1).
 */
static inline uint32
fde_bucket(uint32 code)
{
	for (int shift = 1; shift < 32; shift <<= 1)
		code ^= code >> shift;
	return code;
}

/* Four doubles, the vector lanes of fde_project_rep. */
typedef double FdeV4 __attribute__((vector_size(32)));

/*
 * Step 2 for every point of one rep with the count sketch: proj[c * npad + p] =
 * sum over the input coordinates i that go to c, in increasing order, of
 * sign_i * x_p[i].  xt is the input transposed and padded ([dim][npad] doubles,
 * npad a multiple of 4), so the points are the vector lanes; each lane's sum is the
 * same sequence of double additions of exact values as a per-point loop would do.
 */
static void
fde_project_rep(const FdeState *s, int r, const double *xt, int npad, double *proj)
{
	const int32 *idx = s->cs_index + (Size) r * s->dim;
	const float *sgn = s->cs_sign + (Size) r * s->dim;

	memset(proj, 0, sizeof(double) * (Size) s->dproj * npad);
	for (int i = 0; i < s->dim; i++)
	{
		double	   *dst = proj + (Size) idx[i] * npad;
		const double *src = xt + (Size) i * npad;

		if (sgn[i] > 0)
		{
			for (int p = 0; p < npad; p += 4)
			{
				FdeV4		d,
							v;

				memcpy(&d, dst + p, sizeof(FdeV4));
				memcpy(&v, src + p, sizeof(FdeV4));
				d += v;
				memcpy(dst + p, &d, sizeof(FdeV4));
			}
		}
		else
		{
			for (int p = 0; p < npad; p += 4)
			{
				FdeV4		d,
							v;

				memcpy(&d, dst + p, sizeof(FdeV4));
				memcpy(&v, src + p, sizeof(FdeV4));
				d -= v;
				memcpy(dst + p, &d, sizeof(FdeV4));
			}
		}
	}
}

/*
 * Step 2 for one point x of rep r: out[c] (dproj doubles) as fde_project_rep computes the
 * point's lane, the same additions of the same values in the same order, so the bits
 * are the same.
 */
static void
fde_project_point(const FdeState *s, int r, const float *x, double *out)
{
	const int32 *idx = s->cs_index + (Size) r * s->dim;
	const float *sgn = s->cs_sign + (Size) r * s->dim;

	memset(out, 0, sizeof(double) * (Size) s->dproj);
	for (int i = 0; i < s->dim; i++)
	{
		if (sgn[i] > 0)
			out[idx[i]] += (double) x[i];
		else
			out[idx[i]] -= (double) x[i];
	}
}

/* Points per chunk of fde_encode: FDE_CHUNK_BYTES of scratch, a multiple of 4, >= 4. */
static int
fde_chunk_points(const FdeState *s, int n)
{
	Size		per = sizeof(double) * (Size) s->planestride + sizeof(uint32) * (Size) s->reps;
	Size		c;

	if (s->cs_index != NULL)
		per += sizeof(double) * ((Size) s->dim + s->dproj);
	c = Max(FDE_CHUNK_BYTES / per, 4) & ~(Size) 3;
	return (int) Min(c, (Size) ((n + 3) & ~3));
}

/*
 * out[c] = in[c] rounded to float4, for c < n; errors if one does not fit.  The inputs
 * are checked finite (read_vector_set), so the sums are; the final check makes that the
 * encoding's own guarantee (a vector never holds NaN or infinity).
 */
static void
fde_round(const double *in, float *out, int n)
{
	bool		overflow = false;

	/*
	 * A double rounds to an infinite float4 exactly when its magnitude is at
	 * least FLT_MAX + half an ulp (FDE_FLOAT4_INF_EDGE, which rounds to even,
	 * i.e. up).
	 */
	for (int c = 0; c < n; c++)
	{
		out[c] = (float) in[c];
		overflow |= fabs(in[c]) >= FDE_FLOAT4_INF_EDGE;
	}
	if (overflow)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow"),
				 errdetail("A coordinate of the encoding does not fit in float4.")));
	CheckVectorFinite(out, n, "the encoding");
}

/*
 * Encode one set (steps 3 to 5 of MUVERA's FDE): per rep, each point's projection
 * goes to its SimHash bucket's block; query blocks are sums, document blocks means
 * (sums in point order, then times 1 / count); with fill_empty, an empty document block
 * takes the projection of the point whose sign bits are nearest in Hamming distance
 * to the bucket's (ties to the lowest index).  Layout [rep][bucket][coordinate]; then
 * the optional final count sketch.  Accumulation is in double, rounded once to float4.
 *
 * The points go through steps 1 to 3 in chunks (fde_chunk_points), every rep per chunk;
 * each block still receives its points in increasing order, so the sums are the same
 * as in one pass.  Memory: the encoding (fdedim doubles), a count and a first point per
 * rep and bucket, and one chunk's scratch, whatever the number of points.
 */
static Vector *
fde_encode(const FdeState *s, const float *x, int n, bool is_query, bool fill_empty)
{
	int			nb = s->nbuckets;
	int			dim = s->dim;
	int			dproj = s->dproj;
	int			reps = s->reps;
	int			chunk = fde_chunk_points(s, n);
	int			outdim = s->final_dim > 0 ? s->final_dim : s->fdedim;
	Size		nrb = (Size) reps * nb; /* <= FDE_INTERNAL_DIM_MAX */
	uint32	   *codes = palloc(sizeof(uint32) * (Size) chunk * reps);
	double	   *acc = NULL;
	double	   *fde = palloc0(sizeof(double) * (Size) s->fdedim);
	int		   *count = palloc0(sizeof(int) * nrb);
	uint32	   *first = palloc(sizeof(uint32) * nrb);	/* lowest point per
														 * bucket */
	uint32	   *occ_code = palloc(sizeof(uint32) * nb); /* occupied buckets'
														 * bits */
	uint32	   *occ_first = palloc(sizeof(uint32) * nb);
	double	   *xt = NULL;
	double	   *proj = NULL;
	Vector	   *result;

	if (s->nplanes > 0)
		acc = palloc(sizeof(double) * (Size) chunk * s->planestride);
	if (s->cs_index != NULL)
	{
		xt = palloc0(sizeof(double) * (Size) dim * chunk);
		proj = palloc(sizeof(double) * (Size) dproj * chunk);
	}

	for (int p0 = 0; p0 < n; p0 += chunk)
	{
		int			cn = Min(chunk, n - p0);
		int			npad = (cn + 3) & ~3;
		const float *xc = x + (Size) p0 * dim;

		fde_simhash_codes(s, xc, cn, codes, acc);
		if (xt)
		{
			/* transposed, padding lanes zero */
			for (int i = 0; i < dim; i++)
			{
				double	   *row = xt + (Size) i * npad;

				for (int p = 0; p < cn; p++)
					row[p] = xc[(Size) p * dim + i];
				for (int p = cn; p < npad; p++)
					row[p] = 0.0;
			}
		}

		for (int r = 0; r < reps; r++)
		{
			double	   *rep = fde + (Size) r * nb * dproj;
			int		   *cnt = count + (Size) r * nb;
			uint32	   *fst = first + (Size) r * nb;

			CHECK_FOR_INTERRUPTS();
			if (proj)
				fde_project_rep(s, r, xt, npad, proj);
			for (int p = 0; p < cn; p++)
			{
				uint32		b = fde_bucket(codes[(Size) p * reps + r]);
				double	   *block = rep + (Size) b * dproj;

				if (cnt[b] == 0)
					fst[b] = p0 + p;

				if (proj)
				{
					for (int c = 0; c < dproj; c++)
						block[c] += proj[(Size) c * npad + p];
				}
				else
				{
					const float *xp = xc + (Size) p * dim;

					for (int c = 0; c < dproj; c++)
						block[c] += xp[c];
				}
				cnt[b]++;
			}
		}
	}

	for (int r = 0; r < reps && !is_query; r++)
	{
		double	   *rep = fde + (Size) r * nb * dproj;
		int		   *cnt = count + (Size) r * nb;
		uint32	   *fst = first + (Size) r * nb;
		int			nocc = 0;

		CHECK_FOR_INTERRUPTS();
		for (int b = 0; b < nb; b++)
			if (cnt[b] > 0)
			{
				occ_code[nocc] = (uint32) b ^ ((uint32) b >> 1);
				occ_first[nocc++] = fst[b];
			}
		for (int b = 0; b < nb; b++)
		{
			double	   *block = rep + (Size) b * dproj;

			if (cnt[b] > 1)
			{
				double		inv = 1.0 / cnt[b];

				for (int c = 0; c < dproj; c++)
					block[c] *= inv;
			}
			else if (cnt[b] == 0 && fill_empty)
			{
				uint32		want = (uint32) b ^ ((uint32) b >> 1);
				uint64		key = PG_UINT64_MAX;
				uint32		best;

				/*
				 * The nearest occupied bucket by Hamming distance of the sign
				 * bits, ties to the lowest point index: a bucket's lowest
				 * point wins its ties, so comparing (distance, first point)
				 * keys over the occupied buckets equals comparing over all
				 * points.
				 */
				for (int o = 0; o < nocc; o++)
				{
					uint64		k = ((uint64) fde_popcount(occ_code[o] ^ want) << 32) | occ_first[o];

					key = k < key ? k : key;
				}
				best = (uint32) key;
				if (s->cs_index != NULL)
					fde_project_point(s, r, x + (Size) best * dim, block);
				else
					for (int c = 0; c < dproj; c++)
						block[c] = x[(Size) best * dim + c];
			}
		}
	}

	result = InitVector(outdim);
	if (s->final_dim > 0)
	{
		double	   *out = palloc0(sizeof(double) * outdim);

		for (int t = 0; t < s->fdedim; t++)
			out[s->final_index[t]] += s->final_sign[t] * fde[t];	/* exact */
		fde_round(out, result->x, outdim);
		pfree(out);
	}
	else
		fde_round(fde, result->x, outdim);
	pfree(codes);
	if (acc)
		pfree(acc);
	pfree(fde);
	pfree(count);
	pfree(first);
	pfree(occ_code);
	pfree(occ_first);
	if (xt)
	{
		pfree(xt);
		pfree(proj);
	}
	return result;
}

/* The shared body of fde_query and fde_document. */
static Datum
fde_common(FunctionCallInfo fcinfo, bool is_query)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		reps = PG_GETARG_INT32(1);
	int32		bits = PG_GETARG_INT32(2);
	int32		proj = PG_GETARG_INT32(3);
	int32		seed = PG_GETARG_INT32(4);
	int32		final_dim = PG_GETARG_INT32(5);
	bool		fill_empty = is_query ? false : PG_GETARG_BOOL(6);
	FdeState   *s = (FdeState *) fcinfo->flinfo->fn_extra;
	float	   *x;
	int			n,
				dim;
	Vector	   *result;

	if (s == NULL)
	{
		s = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FdeState));
		s->type.elemtype = InvalidOid;
		fcinfo->flinfo->fn_extra = s;
	}
	x = read_vector_set(array, &s->type, "vectors", &n, &dim);
	s = get_fde_state(fcinfo, s, dim, reps, bits, proj, seed, final_dim);
	result = fde_encode(s, x, n, is_query, fill_empty);
	pfree(x);
	PG_RETURN_VECTOR_P(result);
}

/*
 * fde_query(vectors, repetitions, simhash_bits, projection_dim, seed, final_dim):
 * the query-side FDE (blocks are sums).
 */
PG_FUNCTION_INFO_V1(fde_query);
Datum
fde_query(PG_FUNCTION_ARGS)
{
	return fde_common(fcinfo, true);
}

/*
 * fde_document(vectors, repetitions, simhash_bits, projection_dim, seed, final_dim,
 * fill_empty): the document-side FDE (blocks are means, empty blocks optionally
 * filled from the Hamming-nearest point).
 */
PG_FUNCTION_INFO_V1(fde_document);
Datum
fde_document(PG_FUNCTION_ARGS)
{
	return fde_common(fcinfo, false);
}
