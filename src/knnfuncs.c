/*
 * knnfuncs.c: the SQL interface of the KNN engine.
 *
 * vecsearch_knn() (many query vectors against a table's column), the argument check
 * the engine's SQL functions share (VsCheckArgNotNull), and the engine's settings
 * vecsearch.exact_threads and vecsearch.max_exact_threads (VsKnnInit).  See src/README,
 * section "Exact KNN engine".
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "knn.h"
#include "vector.h"

int			vs_exact_threads = VS_EXACT_THREADS_DEFAULT;
int			vs_max_exact_threads = VS_MAX_EXACT_THREADS_DEFAULT;

/* ---------------------------------------------------------------------------------
 * SQL: vecsearch_knn
 * --------------------------------------------------------------------------------- */

/* ereport 22004 when argument argno (0-based) is NULL. */
void
VsCheckArgNotNull(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/*
 * vecsearch_knn(tbl regclass, col name, queries vector[], k int, metric text)
 * RETURNS TABLE(query int, rank int, row_tid tid, distance float8)
 *
 * The exact k nearest rows of each query (1-based in array order), ranked 1..k by
 * ascending (distance, TID).  Materialized SRF.
 */
PG_FUNCTION_INFO_V1(vecsearch_knn);
Datum
vecsearch_knn(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	ArrayType  *arr;
	int			k;
	VsMetric	metric;
	Oid			vectype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nq,
				dim = 0,
				i;
	float	   *queries;
	VsKnnSpec	spec;
	VsKnnResult *res;
	Relation	rel;
	AttrNumber	attnum;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	VsCheckArgNotNull(fcinfo, 0, "tbl");
	VsCheckArgNotNull(fcinfo, 1, "col");
	VsCheckArgNotNull(fcinfo, 2, "queries");
	VsCheckArgNotNull(fcinfo, 3, "k");
	VsCheckArgNotNull(fcinfo, 4, "metric");

	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	k = PG_GETARG_INT32(3);
	metric = VsMetricFromName(text_to_cstring(PG_GETARG_TEXT_PP(4)));

	if (k < VS_KNN_K_MIN || k > VS_KNN_K_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between %d and %d, not %d",
						VS_KNN_K_MIN, VS_KNN_K_MAX, k)));

	/* the queries: a non-empty one-dimensional array of non-NULL vectors */
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("queries must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(arr))));
	vectype = ARR_ELEMTYPE(arr);
	get_typlenbyvalalign(vectype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, vectype, typlen, typbyval, typalign, &elems, &nulls, &nq);
	if (nq == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("queries must not be empty")));
	for (i = 0; i < nq; i++)
	{
		Vector	   *v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("query %d is NULL", i + 1)));
		v = DatumGetVector(elems[i]);	/* layout: 1..VECTOR_MAX_DIM
										 * dimensions */
		if (unlikely(!VectorIsFinite(v->x, v->dim)))
			CheckVectorFinite(v->x, v->dim, psprintf("query %d", i + 1));
		if (i == 0)
			dim = v->dim;
		else if (v->dim != dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %d and %d", dim, v->dim),
					 errdetail("Query 1 has %d dimensions, query %d has %d.",
							   dim, i + 1, v->dim)));
		elems[i] = PointerGetDatum(v);
	}
	queries = VsAllocAlignedFloats(mul_size((Size) nq, VsAlignedStride(dim)), true, NULL);
	for (i = 0; i < nq; i++)
		memcpy(queries + (Size) i * VsAlignedStride(dim),
			   ((Vector *) DatumGetPointer(elems[i]))->x, sizeof(float) * dim);

	rel = VsOpenVectorColumn(relid, colname, vectype, &attnum);

	memset(&spec, 0, sizeof(spec));
	spec.queries = queries;
	spec.nq = nq;
	spec.ldq = VsAlignedStride(dim);
	spec.dim = dim;
	spec.k = k;
	spec.metric = metric;
	res = VsKnnResultAlloc(nq, k);
	VsKnnTable(rel, attnum, &spec, res);
	table_close(rel, AccessShareLock);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nq; i++)
	{
		int			r;

		for (r = 0; r < res->count[i]; r++)
		{
			VsNeighbor *nb = &VsKnnNeighbors(res, i)[r];
			Datum		values[4];
			bool		isnull[4] = {false, false, false, false};

			values[0] = Int32GetDatum(i + 1);
			values[1] = Int32GetDatum(r + 1);
			values[2] = PointerGetDatum(&nb->tid);
			values[3] = Float8GetDatum(nb->dist);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
	}
	return (Datum) 0;
}

/* The KNN engine's settings, from _PG_init. */
void
VsKnnInit(void)
{
	DefineCustomIntVariable("vecsearch.exact_threads",
							"Compute threads per exact-KNN call (vecsearch_knn, LID, recall).",
							"The threads only do arithmetic on rows the backend has read; "
							"1 keeps everything in the backend.",
							&vs_exact_threads,
							VS_EXACT_THREADS_DEFAULT,
							VS_EXACT_THREADS_MIN, VS_EXACT_THREADS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vecsearch.max_exact_threads",
							"Most compute threads one exact-KNN call may use, whatever vecsearch.exact_threads asks.",
							"Only superusers can change it; a call uses the smaller of the two settings.",
							&vs_max_exact_threads,
							VS_MAX_EXACT_THREADS_DEFAULT,
							VS_EXACT_THREADS_MIN, VS_EXACT_THREADS_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
}
