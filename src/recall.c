/*
 * recall.c: recall reports of an hnsw index against the KNN engine.
 *
 * vecsearch_recall() (recall@k and latency per ef_search), vecsearch_recall_by_lid()
 * (the same broken down by the LID quintile of the query) and vecsearch_tune() (the
 * smallest ef_search reaching a target recall).  The queries are a seeded sample of the
 * indexed table (each excluding its own row from both answers) or of a held-out table.
 * The ground truth comes from the KNN engine (src/knn.c); the index side runs
 * each query through SPI as "ORDER BY col <op> $1 LIMIT n" with the settings of the
 * report applied at a new GUC nest level and rolled back afterwards (on error by the
 * transaction's abort).  See src/README, section "Recall reports".
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "optimizer/plancat.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "knn.h"
#include "hnsw.h"
#include "lid.h"
#include "vector.h"

#define VS_RECALL_K_MAX			1000
#define VS_RECALL_QUERIES_MAX	100000
#define VS_RECALL_EF_MIN		HNSW_EF_SEARCH_MIN
#define VS_RECALL_EF_MAX		HNSW_EF_SEARCH_MAX
/* Recall is a mean of multiples of 1/k: compare with the target up to rounding. */
#define VS_RECALL_EPS			1e-9

/* Everything a report needs, set up once per call. */
typedef struct RecallCtx
{
	Oid			indexoid;
	char	   *indexname;
	VsMetric	metric;
	int			k;
	bool		self;			/* queries sampled from the indexed table */
	int			nq;
	int			dim;
	float	   *q;				/* nq x ldq */
	int			ldq;
	ItemPointerData *qtid;		/* self: the query rows */
	Datum	   *qdatum;			/* the queries as vectors */
	double	   *kth;			/* k-th exact distance of each query */
	double		exact_ms;		/* KNN engine wall time per query */
	Oid			vectype;
	Oid			heapoid;
	AttrNumber	attnum;
	char	   *sql;			/* the index query */
	SPIPlanPtr	plan;
	bool		plan_checked;
} RecallCtx;

/*
 * The result of one ef_search: per-query recall (rq, nq of them, valid until the next
 * run) and the mean latency; recall_runs keeps only the figures of the reports.
 */
typedef struct RecallRun
{
	int			ef;
	double	   *rq;				/* nq */
	double		index_ms;
	double		recall;			/* mean of rq */
	double		recall_min;
	double		recall_p05;
	double		group[5];		/* vecsearch_recall_by_lid: mean recall per
								 * quintile */
} RecallRun;

/* A query's position in the LID ranking. */
typedef struct LidRank
{
	double		lid;
	int			q;
} LidRank;

static void
recall_check_range(const char *name, int v, int lo, int hi)
{
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not %d", name, lo, hi, v)));
}

/* The ef_search values of an int[] argument: non-empty, no NULLs, in range. */
static int *
recall_ef_array(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			ne;
	int		   *ef;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ef_search must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(arr))));
	deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, &ne);
	if (ne == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_search must not be empty")));
	ef = palloc(sizeof(int) * ne);
	for (int i = 0; i < ne; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ef_search must not contain NULL (element %d)", i + 1)));
		ef[i] = DatumGetInt32(elems[i]);
		recall_check_range("ef_search", ef[i], VS_RECALL_EF_MIN, VS_RECALL_EF_MAX);
	}
	*n = ne;
	return ef;
}

/*
 * The index's table, column, vector type and metric: the opclass's ordering operator
 * (strategy 1) names the metric; the operator's schema-qualified name goes into the
 * index query.  Errors unless idx is a plain (non-partial, one-column) hnsw index.
 */
static void
recall_open_index(RecallCtx *c, Oid indexoid, char **opsql)
{
	Relation	index = relation_open(indexoid, AccessShareLock);
	Oid			opoid;
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *opname;

	c->indexoid = indexoid;
	c->indexname = pstrdup(RelationGetRelationName(index));
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL ||
		index->rd_indam->ambuild != hnswbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", c->indexname)));
	if (index->rd_index->indnatts != 1 || index->rd_index->indkey.values[0] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" is not on a plain column", c->indexname),
				 errdetail("Recall reports need an index on one table column, not on an expression.")));
	if (!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" is a partial index", c->indexname),
				 errdetail("The exact answers would include rows the index does not cover.")));
	c->heapoid = index->rd_index->indrelid;
	c->attnum = index->rd_index->indkey.values[0];

	/*
	 * a domain over vector: the queries and the index query's parameter are
	 * vectors
	 */
	c->vectype = getBaseType(get_atttype(c->heapoid, c->attnum));

	opoid = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
								index->rd_opcintype[0], 1);
	if (!OidIsValid(opoid))
		elog(ERROR, "hnsw operator family %u has no ordering operator", index->rd_opfamily[0]);
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opoid);
	op = (Form_pg_operator) GETSTRUCT(tup);
	opname = pstrdup(NameStr(op->oprname));
	*opsql = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)), opname);
	ReleaseSysCache(tup);
	if (!VsMetricFromOperator(opname, &c->metric))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ordering operator %s of index \"%s\" is not supported", opname,
						c->indexname)));
	relation_close(index, NoLock);
}

/*
 * recall_setup: validate the common arguments, sample the queries, compute the exact
 * answers (timed) and build the index query.  Arguments: idx, k, queries, seed,
 * query_tbl, query_col at argument numbers a_idx.. as given.
 */
static void
recall_setup(RecallCtx *c, FunctionCallInfo fcinfo, int a_k, int a_queries, int a_seed,
			 int a_qtbl, int a_qcol)
{
	char	   *opsql;
	char	   *colname;
	Relation	rel;
	AttrNumber	attnum;
	int64		nq64,
				total;
	int			qdim;
	uint64		seed;
	int			queries;
	VsKnnSpec	spec;
	VsKnnResult *res;
	instr_time	t0,
				t1;

	VsCheckArgNotNull(fcinfo, 0, "idx");
	VsCheckArgNotNull(fcinfo, a_k, "k");
	VsCheckArgNotNull(fcinfo, a_queries, "queries");
	VsCheckArgNotNull(fcinfo, a_seed, "seed");
	c->k = PG_GETARG_INT32(a_k);
	recall_check_range("k", c->k, 1, VS_RECALL_K_MAX);
	queries = PG_GETARG_INT32(a_queries);
	recall_check_range("queries", queries, 1, VS_RECALL_QUERIES_MAX);
	seed = (uint64) (int64) PG_GETARG_INT32(a_seed);
	if (PG_ARGISNULL(a_qtbl) != PG_ARGISNULL(a_qcol))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query_tbl and query_col must be given together"),
				 errhint("Pass both to use held-out queries, or neither to sample the indexed table.")));
	c->self = PG_ARGISNULL(a_qtbl);

	recall_open_index(c, PG_GETARG_OID(0), &opsql);
	colname = get_attname(c->heapoid, c->attnum, false);
	rel = VsOpenVectorColumn(c->heapoid, colname, c->vectype, &attnum);

	if (c->self)
	{
		VsLoadVectors(rel, attnum, queries, seed, &c->q, &c->ldq, &c->qtid, &nq64, &qdim,
					  &total);
		if (total < (int64) c->k + 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relation \"%s\" has %lld rows with a non-NULL vector, recall@%d with queries from the table needs at least %d",
							RelationGetRelationName(rel), (long long) total, c->k, c->k + 1),
					 errhint("Use a smaller k or fill the table.")));
	}
	else
	{
		Relation	qrel;
		AttrNumber	qattnum;
		ItemPointerData *qt;

		qrel = VsOpenVectorColumn(PG_GETARG_OID(a_qtbl), NameStr(*PG_GETARG_NAME(a_qcol)),
								  c->vectype, &qattnum);
		VsLoadVectors(qrel, qattnum, queries, seed, &c->q, &c->ldq, &qt, &nq64, &qdim, &total);
		if (nq64 == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relation \"%s\" has no rows with a non-NULL vector in column \"%s\"",
							RelationGetRelationName(qrel), NameStr(*PG_GETARG_NAME(a_qcol)))));
		table_close(qrel, NoLock);
		c->qtid = NULL;
	}
	c->nq = (int) nq64;
	c->dim = qdim;

	/* the exact answers: k nearest, the query row itself excluded */
	memset(&spec, 0, sizeof(spec));
	spec.queries = c->q;
	spec.nq = c->nq;
	spec.ldq = c->ldq;
	spec.dim = c->dim;
	spec.k = c->k;
	spec.metric = c->metric;
	spec.exclude = c->qtid;
	res = VsKnnResultAlloc(c->nq, c->k);
	INSTR_TIME_SET_CURRENT(t0);
	VsKnnTable(rel, attnum, &spec, res);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	c->exact_ms = INSTR_TIME_GET_MILLISEC(t1) / c->nq;
	if (res->rows < c->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has %lld rows with a non-NULL vector, recall@%d needs at least %d",
						RelationGetRelationName(rel), (long long) res->rows, c->k, c->k),
				 errhint("Use a smaller k or fill the table.")));
	c->kth = palloc(sizeof(double) * c->nq);
	for (int i = 0; i < c->nq; i++)
	{
		if (res->count[i] < c->k)
			elog(ERROR, "exact answer of query %d has %d of %d neighbours", i, res->count[i], c->k);
		c->kth[i] = VsKnnNeighbors(res, i)[c->k - 1].dist;
	}
	if (res->nbr)
		pfree(res->nbr);
	pfree(res->count);

	c->qdatum = palloc(sizeof(Datum) * c->nq);
	for (int i = 0; i < c->nq; i++)
	{
		Vector	   *v = InitVector(c->dim);

		memcpy(v->x, c->q + (Size) i * c->ldq, sizeof(float) * c->dim);
		c->qdatum[i] = PointerGetDatum(v);
	}

	/*
	 * self-queries fetch one row more: their own row is dropped from the
	 * answer
	 */
	c->sql = psprintf("SELECT ctid, %s %s $1 FROM %s ORDER BY %s %s $1 LIMIT %d",
					  quote_identifier(colname), opsql,
					  quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel)),
					  quote_identifier(colname), opsql, c->k + (c->self ? 1 : 0));
	table_close(rel, NoLock);
	c->plan = NULL;
	c->plan_checked = false;
}

static void
recall_set(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/*
 * The settings of a report, at a new GUC nest level (the caller ends it with
 * AtEOXact_GUC(true, level); an error rolls them back with the transaction): the index
 * must be used, the scan plain (no iterative continuation, not exact), no parallel
 * plan, and the generic plan (the one checked) is the one run.
 */
static int
recall_settings_push(void)
{
	int			level = NewGUCNestLevel();

	recall_set("enable_seqscan", "off");
	recall_set("enable_bitmapscan", "off");
	recall_set("enable_indexscan", "on");
	recall_set("enable_sort", "off");
	recall_set("max_parallel_workers_per_gather", "0");
	recall_set("plan_cache_mode", "force_generic_plan");
	recall_set("hnsw.iterative_scan", "off");
	recall_set("vecsearch.exact_scan", "off");
	return level;
}

/*
 * While a report runs its queries, the planner sees only the index under test among
 * the indexes of its table (a table may have several hnsw indexes on one column, e.g.
 * one per build order): a get_relation_info hook installed for the duration of the
 * SPI session drops the others from the table's index list.
 */
static get_relation_info_hook_type recall_prev_hook = NULL;
static Oid	recall_only_heap = InvalidOid;
static Oid	recall_only_index = InvalidOid;

static void
recall_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	if (recall_prev_hook)
		recall_prev_hook(root, relid, inhparent, rel);
	if (relid == recall_only_heap && OidIsValid(recall_only_index))
	{
		List	   *keep = NIL;
		ListCell   *lc;

		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *info = lfirst(lc);

			if (info->indexoid == recall_only_index)
				keep = lappend(keep, info);
		}
		rel->indexlist = keep;
	}
}

static void
recall_hook_install(RecallCtx *c)
{
	recall_prev_hook = get_relation_info_hook;
	get_relation_info_hook = recall_relation_info;
	recall_only_heap = c->heapoid;
	recall_only_index = c->indexoid;
}

static void
recall_hook_remove(void)
{
	get_relation_info_hook = recall_prev_hook;
	recall_prev_hook = NULL;
	recall_only_heap = InvalidOid;
	recall_only_index = InvalidOid;
}

/* True when plan (or a node below it) is an index scan of indexoid. */
static bool
plan_uses_index(Plan *plan, Oid indexoid)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, IndexScan) && ((IndexScan *) plan)->indexid == indexoid)
		return true;
	return plan_uses_index(plan->lefttree, indexoid) ||
		plan_uses_index(plan->righttree, indexoid);
}

/* Prepare the index query (inside SPI, with the settings pushed) and check its plan. */
static void
recall_prepare(RecallCtx *c)
{
	CachedPlan *cplan;
	bool		ok = false;
	ListCell   *lc;

	c->plan = SPI_prepare(c->sql, 1, &c->vectype);
	if (c->plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", c->sql,
			 SPI_result_code_string(SPI_result));
	cplan = SPI_plan_get_cached_plan(c->plan);
	if (cplan == NULL)
		elog(ERROR, "no plan for \"%s\"", c->sql);
	foreach(lc, cplan->stmt_list)
	{
		PlannedStmt *ps = lfirst_node(PlannedStmt, lc);

		if (plan_uses_index(ps->planTree, c->indexoid))
			ok = true;
	}
	ReleaseCachedPlan(cplan, NULL);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the query plan of the recall report does not use index \"%s\"",
						c->indexname),
				 errdetail("Query: %s", c->sql),
				 errhint("The index may not be valid (CREATE INDEX CONCURRENTLY failed), or it cannot order by this operator.")));
	c->plan_checked = true;
}

/*
 * recall_run: every query through the index at ef_search ef (inside SPI, settings
 * pushed).  Recall@k of a query is tie-aware: a returned row counts when its distance
 * is at most the k-th exact distance.  Self-queries drop their own row (by TID) and
 * keep the first k others.
 */
static void
recall_run(RecallCtx *c, int ef, RecallRun *out)
{
	char		buf[16];
	double		total_ms = 0.0;

	snprintf(buf, sizeof(buf), "%d", ef);
	recall_set("hnsw.ef_search", buf);
	if (!c->plan_checked)
		recall_prepare(c);
	out->ef = ef;
	for (int i = 0; i < c->nq; i++)
	{
		instr_time	t0,
					t1;
		int			ret,
					kept = 0,
					hits = 0;
		bool		dropped = false;

		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(t0);
		ret = SPI_execute_plan(c->plan, &c->qdatum[i], NULL, true, 0);
		INSTR_TIME_SET_CURRENT(t1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan returned %s", SPI_result_code_string(ret));
		INSTR_TIME_SUBTRACT(t1, t0);
		total_ms += INSTR_TIME_GET_MILLISEC(t1);
		for (uint64 r = 0; r < SPI_processed && kept < c->k; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			bool		isnull;
			ItemPointer tid;
			double		d;

			tid = (ItemPointer) DatumGetPointer(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			if (c->self && !dropped && ItemPointerEquals(tid, &c->qtid[i]))
			{
				dropped = true;
				continue;
			}
			d = DatumGetFloat8(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			kept++;
			if (!isnull && d <= c->kth[i])
				hits++;
		}
		SPI_freetuptable(SPI_tuptable);
		out->rq[i] = (double) hits / c->k;
	}
	out->index_ms = total_ms / c->nq;
}

static double mean_of(const double *v, int n);

/*
 * The figures of a run: mean, lowest and 5th percentile of the per-query recall and,
 * with rank (nd queries ranked by LID), the mean per quintile group.  Sorts a copy
 * (sorted, nq doubles) so that rq stays in query order.
 */
static void
recall_summarize(RecallCtx *c, RecallRun *run, double *sorted, const LidRank *rank, int nd)
{
	/* the mean before sorting: the same sum as vecsearch_tune's */
	run->recall = mean_of(run->rq, c->nq);
	memcpy(sorted, run->rq, sizeof(double) * c->nq);
	qsort(sorted, c->nq, sizeof(double), VsDoubleCmp);
	run->recall_min = sorted[0];
	run->recall_p05 = VsPercentileSorted(sorted, c->nq, 0.05);
	for (int g = 0; g < 5 && rank != NULL; g++)
	{
		int			lo = (int) ((int64) g * nd / 5);
		int			hi = (int) ((int64) (g + 1) * nd / 5);
		double		sum = 0.0;

		for (int r = lo; r < hi; r++)
			sum += run->rq[rank[r].q];
		run->group[g] = hi > lo ? sum / (hi - lo) : 0.0;
	}
}

/*
 * Run the queries at each ef of efs (in order) through SPI and summarize each run as it
 * ends (see recall_summarize; rank may be NULL), so memory is two rows of nq per-query
 * recalls whatever the number of ef_search values.
 */
static RecallRun *
recall_runs(RecallCtx *c, const int *efs, int nef, const LidRank *rank, int nd)
{
	RecallRun  *runs = palloc0(sizeof(RecallRun) * nef);
	double	   *rq = palloc(sizeof(double) * c->nq);
	double	   *sorted = palloc(sizeof(double) * c->nq);
	int			level;

	for (int j = 0; j < nef; j++)
		runs[j].rq = rq;
	SPI_connect();
	level = recall_settings_push();
	recall_hook_install(c);
	PG_TRY();
	{
		/*
		 * An untimed pass at the first ef_search reads the index and the rows
		 * into shared buffers, so the first figure is not the cost of a cold
		 * cache.
		 */
		recall_run(c, efs[0], &runs[0]);
		for (int j = 0; j < nef; j++)
		{
			recall_run(c, efs[j], &runs[j]);
			recall_summarize(c, &runs[j], sorted, rank, nd);
		}
	}
	PG_FINALLY();
	{
		recall_hook_remove();
	}
	PG_END_TRY();
	AtEOXact_GUC(true, level);
	SPI_finish();
	for (int j = 0; j < nef; j++)
		runs[j].rq = NULL;
	pfree(rq);
	pfree(sorted);
	return runs;
}

static double
mean_of(const double *v, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s / n;
}

/*
 * vecsearch_recall(idx, k, queries, ef_search int[], seed, query_tbl, query_col)
 * RETURNS TABLE(ef_search, recall, recall_min, recall_p05, index_ms, exact_ms, speedup)
 */
PG_FUNCTION_INFO_V1(vecsearch_recall);
Datum
vecsearch_recall(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RecallCtx	c;
	int		   *efs;
	int			nef;
	RecallRun  *runs;

	VsCheckArgNotNull(fcinfo, 3, "ef_search");
	efs = recall_ef_array(PG_GETARG_ARRAYTYPE_P(3), &nef);
	recall_setup(&c, fcinfo, 1, 2, 4, 5, 6);
	runs = recall_runs(&c, efs, nef, NULL, 0);

	InitMaterializedSRF(fcinfo, 0);
	for (int j = 0; j < nef; j++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = Int32GetDatum(runs[j].ef);
		values[1] = Float8GetDatum(runs[j].recall);
		values[2] = Float8GetDatum(runs[j].recall_min);
		values[3] = Float8GetDatum(runs[j].recall_p05);
		values[4] = Float8GetDatum(runs[j].index_ms);
		values[5] = Float8GetDatum(c.exact_ms);
		if (runs[j].index_ms > 0.0)
			values[6] = Float8GetDatum(c.exact_ms / runs[j].index_ms);
		else
			nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static int
lidrank_cmp(const void *a, const void *b)
{
	const LidRank *x = a;
	const LidRank *y = b;

	if (x->lid != y->lid)
		return x->lid < y->lid ? -1 : 1;
	return x->q - y->q;
}

/*
 * vecsearch_recall_by_lid(idx, k, queries, ef_search int[], seed, lid_k, query_tbl,
 * query_col) RETURNS TABLE(ef_search, lid_quintile, lid_min, lid_max, queries, recall)
 *
 * The LID of each query against the indexed table (lid_k nearest rows, the estimator
 * and zero-distance rule of lid.c; l2 for inner-product indexes), queries ranked by it
 * and cut into five groups of equal size (quintile 1: lowest LID).  Queries whose LID
 * is undefined are left out (a NOTICE says how many).
 */
PG_FUNCTION_INFO_V1(vecsearch_recall_by_lid);
Datum
vecsearch_recall_by_lid(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RecallCtx	c;
	int		   *efs;
	int			nef;
	int			lid_k;
	RecallRun  *runs;
	Relation	rel;
	AttrNumber	attnum;
	VsKnnSpec	spec;
	VsKnnResult *res;
	LidRank    *rank;
	int			nd = 0;

	VsCheckArgNotNull(fcinfo, 3, "ef_search");
	VsCheckArgNotNull(fcinfo, 5, "lid_k");
	efs = recall_ef_array(PG_GETARG_ARRAYTYPE_P(3), &nef);
	lid_k = PG_GETARG_INT32(5);
	recall_check_range("lid_k", lid_k, VS_LID_K_MIN, VS_KNN_K_MAX);
	recall_setup(&c, fcinfo, 1, 2, 4, 6, 7);

	/* the LID of each query against the table */
	rel = VsOpenVectorColumn(c.heapoid, get_attname(c.heapoid, c.attnum, false), c.vectype,
							 &attnum);
	memset(&spec, 0, sizeof(spec));
	spec.queries = c.q;
	spec.nq = c.nq;
	spec.ldq = c.ldq;
	spec.dim = c.dim;
	spec.k = lid_k;
	spec.metric = c.metric == VS_METRIC_IP ? VS_METRIC_L2 : c.metric;
	spec.exclude = c.qtid;
	spec.skip_zero = true;
	res = VsKnnResultAlloc(c.nq, lid_k);
	VsKnnTable(rel, attnum, &spec, res);
	if (res->rows < (int64) lid_k + (c.self ? 1 : 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has %lld rows with a non-NULL vector, LID with lid_k = %d needs at least %d",
						RelationGetRelationName(rel), (long long) res->rows, lid_k,
						lid_k + (c.self ? 1 : 0)),
				 errhint("Use a smaller lid_k.")));
	table_close(rel, NoLock);
	rank = palloc(sizeof(LidRank) * c.nq);
	for (int i = 0; i < c.nq; i++)
	{
		double		lid;

		if (VsLidEstimate(VsKnnNeighbors(res, i), res->count[i], lid_k, &lid))
		{
			rank[nd].lid = lid;
			rank[nd].q = i;
			nd++;
		}
	}
	if (nd < c.nq)
		ereport(NOTICE,
				(errmsg("%d of %d queries have no defined LID with lid_k = %d and are left out",
						c.nq - nd, c.nq, lid_k),
				 errhint("The LID needs lid_k rows at a positive distance from the query, not all at one distance.")));
	qsort(rank, nd, sizeof(LidRank), lidrank_cmp);

	runs = recall_runs(&c, efs, nef, rank, nd);

	InitMaterializedSRF(fcinfo, 0);
	for (int j = 0; j < nef; j++)
	{
		for (int g = 0; g < 5; g++)
		{
			int			lo = (int) ((int64) g * nd / 5);
			int			hi = (int) ((int64) (g + 1) * nd / 5);
			Datum		values[6];
			bool		nulls[6] = {0};

			if (hi <= lo)
				continue;
			values[0] = Int32GetDatum(runs[j].ef);
			values[1] = Int32GetDatum(g + 1);
			values[2] = Float8GetDatum(rank[lo].lid);
			values[3] = Float8GetDatum(rank[hi - 1].lid);
			values[4] = Int32GetDatum(hi - lo);
			values[5] = Float8GetDatum(runs[j].group[g]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* vecsearch_tune: recall at ef_search e, measured once (rec[e] < 0: not yet). */
static void
tune_eval(RecallCtx *c, int e, double *rec, double *ms, RecallRun *run)
{
	if (rec[e] >= 0.0)
		return;
	recall_run(c, e, run);
	rec[e] = mean_of(run->rq, c->nq);
	ms[e] = run->index_ms;
}

/*
 * vecsearch_tune's search: ef_search doubles from 1 until the target is met, then
 * bisects between the last miss and the first hit.  Returns the smallest hit, or 0
 * when even VS_RECALL_EF_MAX misses.
 */
static int
tune_search(RecallCtx *c, double target, double *rec, double *ms, RecallRun *run)
{
	int			lo = 0,
				hi = 0,
				ef;

	for (ef = 1;; ef = Min(ef * 2, VS_RECALL_EF_MAX))
	{
		tune_eval(c, ef, rec, ms, run);
		if (rec[ef] >= target - VS_RECALL_EPS)
		{
			hi = ef;
			break;
		}
		lo = ef;
		if (ef == VS_RECALL_EF_MAX)
			break;
	}
	if (hi == 0)
		return 0;
	while (hi - lo > 1)
	{
		int			mid = lo + (hi - lo) / 2;

		tune_eval(c, mid, rec, ms, run);
		if (rec[mid] >= target - VS_RECALL_EPS)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/*
 * vecsearch_tune(idx, target_recall, k, queries, seed, query_tbl, query_col)
 * RETURNS TABLE(ef_search, recall, index_ms)
 *
 * The smallest ef_search in 1..1000 whose recall@k on the sample reaches the target:
 * ef_search doubles from 1 (1, 2, 4, ..., 512, then 1000) until the target is met, then
 * bisects between the last miss and the first hit.  Recall grows with ef_search almost
 * always but not strictly, so the answer is the smallest hit the search visits.  When
 * even 1000 misses, the best recall seen (smallest ef_search among equals), with a
 * NOTICE.
 */
PG_FUNCTION_INFO_V1(vecsearch_tune);
Datum
vecsearch_tune(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RecallCtx	c;
	double		target;
	double	   *rec = palloc(sizeof(double) * (VS_RECALL_EF_MAX + 1));
	double	   *ms = palloc(sizeof(double) * (VS_RECALL_EF_MAX + 1));
	RecallRun	run;
	int			level;
	int			best = 0;
	Datum		values[3];
	bool		nulls[3] = {0};

	VsCheckArgNotNull(fcinfo, 1, "target_recall");
	target = PG_GETARG_FLOAT8(1);
	if (!(target > 0.0 && target <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target_recall must be greater than 0 and at most 1, not %g", target)));
	recall_setup(&c, fcinfo, 2, 3, 4, 5, 6);
	for (int i = 0; i <= VS_RECALL_EF_MAX; i++)
		rec[i] = -1.0;
	run.rq = palloc(sizeof(double) * c.nq);

	SPI_connect();
	level = recall_settings_push();
	recall_hook_install(&c);
	PG_TRY();
	{
		best = tune_search(&c, target, rec, ms, &run);
	}
	PG_FINALLY();
	{
		recall_hook_remove();
	}
	PG_END_TRY();
	AtEOXact_GUC(true, level);
	SPI_finish();

	if (best == 0)
	{
		for (int e = 1; e <= VS_RECALL_EF_MAX; e++)
			if (rec[e] >= 0.0 && (best == 0 || rec[e] > rec[best]))
				best = e;
		ereport(NOTICE,
				(errmsg("no ef_search up to %d reaches recall %g on index \"%s\"; the best was %g at ef_search %d",
						VS_RECALL_EF_MAX, target, c.indexname, rec[best], best),
				 errhint("Rebuild the index with a larger m or ef_construction, try build_order = 'lid_desc', or lower the target.")));
	}

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int32GetDatum(best);
	values[1] = Float8GetDatum(rec[best]);
	values[2] = Float8GetDatum(ms[best]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
