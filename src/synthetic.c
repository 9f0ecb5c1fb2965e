/*
 * synthetic.c: vecsearch_synthetic(), seeded vectors with a chosen intrinsic dimension.
 *
 * The generator of Elliott and Clark (ICTIR 2024, arXiv 2405.17813), in our own code:
 * an orthonormal basis of intrinsic_dim directions in dim dimensions (Gram-Schmidt on
 * Gaussian vectors), and each vector a random combination of those directions.  The
 * points lie on an intrinsic_dim-dimensional linear subspace, so their LID reads close
 * to intrinsic_dim (for small intrinsic_dim; the MLE undercounts large dimensions).
 * See src/README, section "Synthetic data".
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "vector.h"
#include "vsrandom.h"

/* Largest basis (dim * intrinsic_dim doubles) we build: 128 MB. */
#define VS_SYNTHETIC_BASIS_MAX	(16 * 1000 * 1000)

typedef struct SyntheticState
{
	VsRandom	rng;
	int			dim;
	int			d;				/* intrinsic dimension */
	double	   *basis;			/* d rows of dim doubles, orthonormal */
	double	   *acc;			/* dim doubles of scratch */
} SyntheticState;

/*
 * Fill basis (d x dim) with orthonormal rows: each row starts as i.i.d. N(0,1) entries;
 * modified Gram-Schmidt removes its components along the earlier rows, twice (the
 * second pass repairs the rounding of the first, "twice is enough"), then it is
 * normalised.  A row whose remainder is tiny is drawn again (practically never).
 */
static void
synthetic_basis(VsRandom *rng, double *basis, int d, int dim)
{
	int			i,
				j,
				t;

	for (i = 0; i < d; i++)
	{
		double	   *b = basis + (Size) i * dim;
		double		norm;

		for (;;)
		{
			int			pass;

			for (t = 0; t < dim; t++)
				b[t] = vs_random_normal(rng);
			for (pass = 0; pass < 2; pass++)
			{
				for (j = 0; j < i; j++)
				{
					const double *e = basis + (Size) j * dim;
					double		p = 0.0;

					for (t = 0; t < dim; t++)
						p += b[t] * e[t];
					for (t = 0; t < dim; t++)
						b[t] -= p * e[t];
				}
			}
			norm = 0.0;
			for (t = 0; t < dim; t++)
				norm += b[t] * b[t];
			norm = sqrt(norm);
			if (norm > 1e-6)
				break;
		}
		for (t = 0; t < dim; t++)
			b[t] /= norm;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * vecsearch_synthetic(n int, dim int, intrinsic_dim int, seed int) RETURNS SETOF vector
 *
 * n vectors of dim dimensions, each sum_j c_j e_j over the orthonormal basis e_1..e_d
 * (d = intrinsic_dim) with c_j i.i.d. standard normal.  The PRNG is vsrandom.h's
 * splitmix64 seeded with seed: the basis is drawn first, then the coefficients of the
 * vectors in order, so the same arguments give the same vectors everywhere.
 */
PG_FUNCTION_INFO_V1(vecsearch_synthetic);
Datum
vecsearch_synthetic(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SyntheticState *st;

	if (SRF_IS_FIRSTCALL())
	{
		int32		n = PG_GETARG_INT32(0);
		int32		dim = PG_GETARG_INT32(1);
		int32		d = PG_GETARG_INT32(2);
		int32		seed = PG_GETARG_INT32(3);
		MemoryContext old;

		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must not be negative, not %d", n)));
		if (dim < 1 || dim > VECTOR_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dim must be between 1 and %d, not %d", VECTOR_MAX_DIM, dim)));
		if (d < 1 || d > dim)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("intrinsic_dim must be between 1 and dim (%d), not %d", dim, d)));
		if ((int64) d * dim > VS_SYNTHETIC_BASIS_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("dim * intrinsic_dim must be at most %d, not %lld",
							VS_SYNTHETIC_BASIS_MAX, (long long) d * dim)));

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc(sizeof(SyntheticState));
		vs_random_seed(&st->rng, (uint64) (int64) seed);
		st->dim = dim;
		st->d = d;
		st->basis = palloc(sizeof(double) * (Size) d * dim);
		st->acc = palloc(sizeof(double) * (Size) dim);
		synthetic_basis(&st->rng, st->basis, d, dim);
		MemoryContextSwitchTo(old);
		funcctx->user_fctx = st;
		funcctx->max_calls = n;
	}

	funcctx = SRF_PERCALL_SETUP();
	st = (SyntheticState *) funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		Vector	   *v = InitVector(st->dim);
		int			j,
					t;

		memset(st->acc, 0, sizeof(double) * st->dim);
		for (j = 0; j < st->d; j++)
		{
			double		c = vs_random_normal(&st->rng);
			const double *e = st->basis + (Size) j * st->dim;

			for (t = 0; t < st->dim; t++)
				st->acc[t] += c * e[t];
		}
		for (t = 0; t < st->dim; t++)
			v->x[t] = (float) st->acc[t];
		CheckVectorFinite(v->x, st->dim, NULL);
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(v));
	}
	SRF_RETURN_DONE(funcctx);
}
