/*
 * lid.c: local intrinsic dimensionality (LID) of a table's vectors.
 *
 * vecsearch_lid() (pointwise, every row or a seeded sample), vecsearch_lid_of() (any
 * vector against a table) and vecsearch_lid_summary() (harmonic mean and percentiles).
 * The k nearest neighbours come from the KNN engine (src/knn.c); the estimator
 * is the maximum-likelihood one of Amsaleg et al., see VsLidEstimate().
 * See src/README, section "LID".
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "knn.h"
#include "lid.h"
#include "vector.h"

/*
 * The MLE estimate of Amsaleg, Chelly, Furon, Girard, Houle, Kawarabayashi and Nett,
 * "Estimating local intrinsic dimensionality", KDD 2015:
 *
 *     LID = -( (1/k) * sum_{i=1..k} ln(r_i / r_k) )^-1
 *
 * over the k smallest strictly positive distances r_1 <= ... <= r_k (ascending in nbr).
 * Returns false (undefined: SQL NULL) when there are fewer than k of them, when r_k is
 * not a finite positive number, or when all k distances are equal (the sum is 0).
 */
bool
VsLidEstimate(const VsNeighbor *nbr, int count, int k, double *lid)
{
	double		rk,
				sum = 0.0;
	int			i;

	if (count < k)
		return false;
	rk = nbr[k - 1].dist;
	if (!(rk > 0.0) || isinf(rk) || isnan(rk))
		return false;
	for (i = 0; i < k - 1; i++)
		sum += log(nbr[i].dist / rk);
	if (!(sum < 0.0))
		return false;
	*lid = -(double) k / sum;
	return true;
}

/* The arguments shared by vecsearch_lid and vecsearch_lid_summary. */
typedef struct LidArgs
{
	Oid			relid;
	char	   *colname;
	int			k;
	int64		sample;			/* -1: every row */
	VsMetric	metric;
	uint64		seed;
} LidArgs;

static void
lid_check_k_metric(int k, VsMetric metric)
{
	if (k < VS_LID_K_MIN || k > VS_KNN_K_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between %d and %d, not %d",
						VS_LID_K_MIN, VS_KNN_K_MAX, k),
				 k == 1 ? errdetail("The estimate compares the k nearest distances with the k-th; it needs at least two.") : 0));
	if (metric == VS_METRIC_IP)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric \"ip\" cannot be used for LID"),
				 errdetail("The estimator needs distances that are zero or positive; the negative inner product is not one."),
				 errhint("Use \"l2\", \"cosine\" or \"l1\".")));
}

/* Read tbl, col, k, sample, metric, seed (arguments 0..5) and validate them. */
static void
lid_get_args(FunctionCallInfo fcinfo, LidArgs *a)
{
	VsCheckArgNotNull(fcinfo, 0, "tbl");
	VsCheckArgNotNull(fcinfo, 1, "col");
	VsCheckArgNotNull(fcinfo, 2, "k");
	VsCheckArgNotNull(fcinfo, 4, "metric");
	VsCheckArgNotNull(fcinfo, 5, "seed");
	a->relid = PG_GETARG_OID(0);
	a->colname = NameStr(*PG_GETARG_NAME(1));
	a->k = PG_GETARG_INT32(2);
	a->metric = VsMetricFromName(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	lid_check_k_metric(a->k, a->metric);
	a->sample = -1;
	if (!PG_ARGISNULL(3))
	{
		int32		s = PG_GETARG_INT32(3);

		if (s < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sample must be at least 1, not %d", s),
					 errhint("Pass NULL to use every row.")));
		a->sample = s;
	}
	a->seed = (uint64) (int64) PG_GETARG_INT32(5);
}

static void
lid_too_few_rows(Relation rel, int64 rows, int64 needed, int k)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("relation \"%s\" has %lld rows with a non-NULL vector, LID with k = %d needs at least %lld",
					RelationGetRelationName(rel), (long long) rows, k, (long long) needed),
			 errhint("Use a smaller k.")));
}

static int
tid_qsort_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * The pointwise LIDs of every row (or of a seeded sample of rows): *n query rows with
 * their TIDs (ascending), lid[i] and defined[i] (false: undefined, SQL NULL).
 *
 * Every row: the whole column is loaded once and serves both as the queries and as the
 * rows (no second scan).  A sample: a reservoir sample is drawn in one scan, then the
 * engine scans the table again with the sample as queries, so memory stays at the size
 * of the sample.  Each query excludes its own row (by TID) and, by the zero-distance
 * rule, every row at distance 0 (its duplicates).
 */
static void
lid_compute(const LidArgs *a, ItemPointerData **tids_out, double **lid_out,
			bool **defined_out, int64 *n_out)
{
	Relation	rel;
	AttrNumber	attnum;
	float	   *m;
	int			ld,
				dim;
	ItemPointerData *tids;
	int64		n,
				total,
				i;
	VsKnnSpec	spec;
	VsKnnResult *res;
	double	   *lid;
	bool	   *defined;

	rel = VsOpenVectorColumn(a->relid, a->colname, InvalidOid, &attnum);
	VsLoadVectors(rel, attnum, a->sample, a->seed, &m, &ld, &tids, &n, &dim, &total);
	if (total < (int64) a->k + 1)
		lid_too_few_rows(rel, total, (int64) a->k + 1, a->k);
	if (n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("LID of %lld rows at once is not supported", (long long) n),
				 errhint("Pass a sample of at most %d rows.", PG_INT32_MAX)));

	if (a->sample >= 0)
	{
		/* the reservoir is in random order: put the sample in TID order */
		int64	   *order = palloc(sizeof(int64) * n);
		float	   *sm;
		ItemPointerData *st;

		/* sort (tid, slot) pairs via the tids, then gather */
		st = palloc(sizeof(ItemPointerData) * n);
		memcpy(st, tids, sizeof(ItemPointerData) * n);
		qsort(st, n, sizeof(ItemPointerData), tid_qsort_cmp);
		sm = MemoryContextAllocHuge(CurrentMemoryContext,
									mul_size(mul_size((Size) n, ld), sizeof(float)));
		for (i = 0; i < n; i++)
		{
			ItemPointerData *hit = bsearch(&tids[i], st, n, sizeof(ItemPointerData),
										   tid_qsort_cmp);

			order[i] = hit - st;
			memcpy(sm + (Size) order[i] * ld, m + (Size) i * ld, sizeof(float) * ld);
		}
		m = sm;
		tids = st;
	}

	memset(&spec, 0, sizeof(spec));
	spec.queries = m;
	spec.nq = (int) n;
	spec.ldq = ld;
	spec.dim = dim;
	spec.k = a->k;
	spec.metric = a->metric;
	spec.exclude = tids;
	spec.skip_zero = true;
	res = VsKnnResultAlloc((int) n, a->k);
	if (a->sample >= 0)
		VsKnnTable(rel, attnum, &spec, res);
	else
		VsKnnMatrix(m, ld, tids, n, &spec, res);
	table_close(rel, AccessShareLock);

	lid = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double), n));
	defined = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(bool), n));
	for (i = 0; i < n; i++)
		defined[i] = VsLidEstimate(VsKnnNeighbors(res, (int) i), res->count[i], a->k, &lid[i]);
	*tids_out = tids;
	*lid_out = lid;
	*defined_out = defined;
	*n_out = n;
}

/*
 * vecsearch_lid(tbl regclass, col name, k int, sample int, metric text, seed int)
 * RETURNS TABLE(row_tid tid, lid float8), in TID order.
 */
PG_FUNCTION_INFO_V1(vecsearch_lid);
Datum
vecsearch_lid(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LidArgs		a;
	ItemPointerData *tids;
	double	   *lid;
	bool	   *defined;
	int64		n,
				i;

	lid_get_args(fcinfo, &a);
	lid_compute(&a, &tids, &lid, &defined, &n);
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, !defined[i]};

		values[0] = PointerGetDatum(&tids[i]);
		values[1] = Float8GetDatum(defined[i] ? lid[i] : 0.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* qsort comparator of doubles, ascending. */
int
VsDoubleCmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Percentile p of v[0..n-1] (sorted), interpolated as percentile_cont does. */
double
VsPercentileSorted(const double *v, int64 n, double p)
{
	double		pos = p * (double) (n - 1);
	int64		lo = (int64) floor(pos);
	int64		hi = (int64) ceil(pos);

	if (lo == hi)
		return v[lo];
	return v[lo] + (pos - (double) lo) * (v[hi] - v[lo]);
}

/*
 * vecsearch_lid_summary(tbl, col, k, sample, metric, seed)
 * RETURNS TABLE(rows_used bigint, k int, lid_harmonic_mean float8, lid_p10 float8,
 *               lid_p50 float8, lid_p90 float8)
 *
 * Over the rows whose LID is defined (rows_used of them): the harmonic mean (the mean
 * of 1/LID, inverted; MacKay and Ghahramani's dataset-level figure) and percentiles
 * interpolated as percentile_cont.  With no defined LID the figures are NULL.
 */
PG_FUNCTION_INFO_V1(vecsearch_lid_summary);
Datum
vecsearch_lid_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LidArgs		a;
	ItemPointerData *tids;
	double	   *lid;
	bool	   *defined;
	int64		n,
				i,
				used = 0;
	double		inv = 0.0;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	lid_get_args(fcinfo, &a);
	lid_compute(&a, &tids, &lid, &defined, &n);
	for (i = 0; i < n; i++)
	{
		if (!defined[i])
			continue;
		lid[used++] = lid[i];
		inv += 1.0 / lid[i];
	}
	qsort(lid, used, sizeof(double), VsDoubleCmp);

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(used);
	values[1] = Int32GetDatum(a.k);
	if (used == 0)
	{
		nulls[2] = nulls[3] = nulls[4] = nulls[5] = true;
		values[2] = values[3] = values[4] = values[5] = (Datum) 0;
	}
	else
	{
		values[2] = Float8GetDatum((double) used / inv);
		values[3] = Float8GetDatum(VsPercentileSorted(lid, used, 0.1));
		values[4] = Float8GetDatum(VsPercentileSorted(lid, used, 0.5));
		values[5] = Float8GetDatum(VsPercentileSorted(lid, used, 0.9));
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * vecsearch_lid_of(tbl regclass, col name, v vector, k int, metric text) RETURNS float8
 *
 * The LID of any vector against a table's rows (rows at distance 0 are skipped, so a
 * vector taken from the table is not its own neighbour).  NULL when undefined.
 */
PG_FUNCTION_INFO_V1(vecsearch_lid_of);
Datum
vecsearch_lid_of(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	Vector	   *v;
	int			k;
	VsMetric	metric;
	Relation	rel;
	AttrNumber	attnum;
	VsKnnSpec	spec;
	VsKnnResult *res;
	double		lid;

	VsCheckArgNotNull(fcinfo, 0, "tbl");
	VsCheckArgNotNull(fcinfo, 1, "col");
	VsCheckArgNotNull(fcinfo, 2, "v");
	VsCheckArgNotNull(fcinfo, 3, "k");
	VsCheckArgNotNull(fcinfo, 4, "metric");
	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));
	v = PG_GETARG_VECTOR_P(2);
	CheckVectorFinite(v->x, v->dim, "v");
	k = PG_GETARG_INT32(3);
	metric = VsMetricFromName(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	lid_check_k_metric(k, metric);

	rel = VsOpenVectorColumn(relid, colname, get_fn_expr_argtype(fcinfo->flinfo, 2),
							 &attnum);
	memset(&spec, 0, sizeof(spec));
	spec.queries = v->x;
	spec.nq = 1;
	spec.ldq = v->dim;
	spec.dim = v->dim;
	spec.k = k;
	spec.metric = metric;
	spec.skip_zero = true;
	res = VsKnnResultAlloc(1, k);
	VsKnnTable(rel, attnum, &spec, res);
	if (res->rows < k)
		lid_too_few_rows(rel, res->rows, k, k);
	table_close(rel, AccessShareLock);

	if (!VsLidEstimate(VsKnnNeighbors(res, 0), res->count[0], k, &lid))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(lid);
}
