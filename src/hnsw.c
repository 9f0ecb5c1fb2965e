/*
 * hnsw.c: the hnsw access method's handler (hnswhandler), its reloptions
 * and GUCs (HnswInit, the HnswGet* readers), the cost estimate and
 * amvalidate.  The other callbacks live in hnswbuild.c, hnswinsert.c,
 * hnswscan.c and hnswvacuum.c.
 *
 * See src/README, section "hnsw page format".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/amapi.h"
#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "hnsw.h"
#include "lid.h"

int			hnsw_ef_search = HNSW_EF_SEARCH_DEFAULT;
int			hnsw_iterative_scan = HNSW_ITERATIVE_OFF;
int			hnsw_max_scan_tuples = HNSW_MAX_SCAN_TUPLES_DEFAULT;
double		hnsw_scan_mem_multiplier = HNSW_SCAN_MEM_MULTIPLIER_DEFAULT;
bool		vs_exact_scan = false;

static relopt_kind hnsw_relopt_kind;
static struct config_generic *ef_search_guc = NULL;

static relopt_enum_elt_def build_order_values[] = {
	{"heap", HNSW_BUILD_ORDER_HEAP},
	{"random", HNSW_BUILD_ORDER_RANDOM},
	{"lid_desc", HNSW_BUILD_ORDER_LID_DESC},
	{"lid_asc", HNSW_BUILD_ORDER_LID_ASC},
	{NULL, 0}
};

static relopt_enum_elt_def codes_values[] = {
	{"none", HNSW_CODES_NONE},
	{"sq8", HNSW_CODES_SQ8},
	{"auto", HNSW_CODES_AUTO},
	{NULL, 0}
};

static const struct config_enum_entry iterative_scan_options[] = {
	{"off", HNSW_ITERATIVE_OFF, false},
	{"relaxed_order", HNSW_ITERATIVE_RELAXED, false},
	{"strict_order", HNSW_ITERATIVE_STRICT, false},
	{NULL, 0, false}
};

/*
 * HnswInit: register the reloptions and GUCs (called from _PG_init).
 */
void
HnswInit(void)
{
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m",
					  "Links per element on layers above 0 (2m on layer 0)",
					  HNSW_M_DEFAULT, HNSW_M_MIN, HNSW_M_MAX, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the candidate list while building the graph",
					  HNSW_EF_CONSTRUCTION_DEFAULT, HNSW_EF_CONSTRUCTION_MIN,
					  HNSW_EF_CONSTRUCTION_MAX, AccessExclusiveLock);
	/* 0 = not set: scans use hnsw.ef_search */
	add_int_reloption(hnsw_relopt_kind, "ef_search",
					  "Default size of the candidate list for scans of this index (hnsw.ef_search wins when set)",
					  0, HNSW_EF_SEARCH_MIN, HNSW_EF_SEARCH_MAX, ShareUpdateExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "seed",
					  "Seed of the level generator (same rows, order and seed give the same graph)",
					  HNSW_SEED_DEFAULT, HNSW_SEED_MIN, HNSW_SEED_MAX, AccessExclusiveLock);
	add_enum_reloption(hnsw_relopt_kind, "build_order",
					   "Order in which a build inserts the rows (see buildorder.c)",
					   build_order_values, HNSW_BUILD_ORDER_HEAP,
					   "Valid values are \"heap\", \"random\", \"lid_desc\" and \"lid_asc\".",
					   AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "lid_k",
					  "Neighbours per row of the LID that orders a lid_desc or lid_asc build",
					  VS_LID_K_DEFAULT, VS_LID_K_MIN, VS_LID_K_BUILD_MAX, AccessExclusiveLock);
	add_enum_reloption(hnsw_relopt_kind, "codes",
					   "What the graph walk measures: 8-bit codes of the vectors (sq8), the vectors (none), or sq8 from 256 dimensions (auto); results are always re-ranked exactly",
					   codes_values, HNSW_CODES_AUTO,
					   "Valid values are \"auto\", \"sq8\" and \"none\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("hnsw.ef_search",
							"Size of the dynamic candidate list for hnsw scans.",
							"Larger values give higher recall and slower scans.  "
							"When set, it overrides the index's ef_search option.",
							&hnsw_ef_search, HNSW_EF_SEARCH_DEFAULT,
							HNSW_EF_SEARCH_MIN, HNSW_EF_SEARCH_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("hnsw.iterative_scan",
							 "Continue an hnsw scan past ef_search results when more rows are needed.",
							 "relaxed_order returns rows in batches (each sorted); strict_order "
							 "never returns a row closer than one already returned.",
							 &hnsw_iterative_scan, HNSW_ITERATIVE_OFF, iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.max_scan_tuples",
							"Maximum number of elements an iterative hnsw scan evaluates.",
							NULL, &hnsw_max_scan_tuples, HNSW_MAX_SCAN_TUPLES_DEFAULT,
							HNSW_MAX_SCAN_TUPLES_MIN, HNSW_MAX_SCAN_TUPLES_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("hnsw.scan_mem_multiplier",
							 "Multiple of work_mem that the candidate lists of an iterative hnsw scan may use.",
							 "When they outgrow it, the scan stops walking the graph and returns "
							 "the rows it has already evaluated, nearest first.",
							 &hnsw_scan_mem_multiplier, HNSW_SCAN_MEM_MULTIPLIER_DEFAULT,
							 HNSW_SCAN_MEM_MULTIPLIER_MIN, HNSW_SCAN_MEM_MULTIPLIER_MAX,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("vecsearch.exact_scan",
							 "Make hnsw index scans exact: compare the query with every indexed vector.",
							 NULL, &vs_exact_scan, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("hnsw");
}

/* amoptions */
static bytea *
hnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, efConstruction)},
		{"ef_search", RELOPT_TYPE_INT, offsetof(HnswOptions, efSearch)},
		{"seed", RELOPT_TYPE_INT, offsetof(HnswOptions, seed)},
		{"build_order", RELOPT_TYPE_ENUM, offsetof(HnswOptions, buildOrder)},
		{"lid_k", RELOPT_TYPE_INT, offsetof(HnswOptions, lidK)},
		{"codes", RELOPT_TYPE_ENUM, offsetof(HnswOptions, codes)},
	};

	return (bytea *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
									  sizeof(HnswOptions), tab, lengthof(tab));
}

int
HnswGetM(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->m : HNSW_M_DEFAULT;
}

int
HnswGetEfConstruction(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->efConstruction : HNSW_EF_CONSTRUCTION_DEFAULT;
}

int
HnswGetSeed(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->seed : HNSW_SEED_DEFAULT;
}

int
HnswGetBuildOrder(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->buildOrder : HNSW_BUILD_ORDER_HEAP;
}

int
HnswGetLidK(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->lidK : VS_LID_K_DEFAULT;
}

/* What the walk of a new graph measures (reloption codes). */
int
HnswGetCodes(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->codes : HNSW_CODES_AUTO;
}

/* True when hnsw.ef_search was set by the user (any non-default source). */
static bool
ef_search_guc_is_set(void)
{
	if (ef_search_guc == NULL)
	{
		struct config_generic **vars = get_guc_variables();
		int			n = GetNumConfigOptions();

		for (int i = 0; i < n; i++)
			if (strcmp(vars[i]->name, "hnsw.ef_search") == 0)
			{
				ef_search_guc = vars[i];
				break;
			}
	}
	return ef_search_guc != NULL && ef_search_guc->source > PGC_S_DEFAULT;
}

/*
 * HnswGetEfSearch: the ef_search for a scan of index: hnsw.ef_search when it
 * was set, else the index's ef_search option, else the GUC's default.
 */
int
HnswGetEfSearch(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	if (!ef_search_guc_is_set() && opts != NULL && opts->efSearch > 0)
		return opts->efSearch;
	return hnsw_ef_search;
}

/*
 * HnswGetMetric: the metric of the index's opclass, recognised from the name
 * of support function 1 (and the presence of function 2, the norm, which
 * marks cosine).  Opclasses with other functions are rejected.
 */
VsMetric
HnswGetMetric(Relation index)
{
	Oid			proc1 = index_getprocid(index, 1, 1);
	bool		hasnorm = OidIsValid(index_getprocid(index, 1, 2));
	char	   *name;
	VsMetric	metric;

	if (!OidIsValid(proc1))
		elog(ERROR, "missing support function 1 for hnsw index \"%s\"",
			 RelationGetRelationName(index));
	name = get_func_name(proc1);
	if (name == NULL)
		elog(ERROR, "cache lookup failed for function %u", proc1);
	if (VsMetricFromSupportFunction(name, hasnorm, &metric))
		return metric;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("hnsw does not support distance function %s", name),
			 errhint("Use one of the operator classes vector_l2_ops, vector_ip_ops, vector_cosine_ops or vector_l1_ops.")));
	return VS_METRIC_L2;
}

/*
 * amcostestimate.  Without an ORDER BY distance the index cannot be scanned
 * (hnswgettuple refuses), yet the planner offers such paths: an index-only
 * scan when no column is needed (count(*)), and a partial index whose
 * predicate the WHERE clause implies.  They cost 1000 * disable_cost, so a
 * sequential scan wins even when enable_seqscan = off adds disable_cost to
 * it.  With an ORDER BY distance, all of the graph walk happens before the first row, so the startup
 * cost is the whole walk: about 2 * m * ef_search elements evaluated (capped
 * by the index size), each a distance and a page touch.  Graph pages are
 * small in number and hot, so they are charged at seq_page_cost.  The
 * selectivity is 1 (an iterative scan can return every row); the planner
 * scales the heap part by LIMIT.
 */
static void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	IndexOptInfo *info = path->indexinfo;
	double		ntuples = Max(info->tuples, 1);
	double		npages = Max(info->pages, 1);
	Relation	index;
	int			m;
	int			ef;
	double		visited;
	double		ppt;
	double		touched;
	Cost		cost;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = 1000.0 * disable_cost;
		*indexTotalCost = 1000.0 * disable_cost;
		*indexSelectivity = 1.0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	index = index_open(info->indexoid, NoLock);
	m = HnswGetM(index);
	ef = HnswGetEfSearch(index);
	index_close(index, NoLock);

	visited = Min(ntuples, 2.0 * m * ef + m * log(ntuples + 1));
	ppt = Max(npages / ntuples, 1e-6);
	/* distinct pages touched by visited random elements */
	touched = npages * (1.0 - exp(-visited * Max(ppt, 1.0) / npages));
	touched = Max(1, Min(npages, touched));
	cost = touched * seq_page_cost + visited * (cpu_index_tuple_cost + cpu_operator_cost);

	*indexStartupCost = cost;
	*indexTotalCost = cost;
	*indexSelectivity = 1.0;
	*indexCorrelation = 0;
	*indexPages = touched;
}

/* amvalidate: report problems with INFO messages, like the core AMs. */
static bool
hnswvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	HeapTuple	familytup;
	char	   *opfamilyname;
	CatCList   *proclist,
			   *oprlist;
	bool		has_proc1 = false;
	bool		has_op1 = false;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	if (!HeapTupleIsValid(familytup))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	opfamilyname = NameStr(((Form_pg_opfamily) GETSTRUCT(familytup))->opfname);

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));

	for (int i = 0; i < proclist->n_members; i++)
	{
		HeapTuple	proctup = &proclist->members[i]->tuple;
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(proctup);
		bool		ok;

		if (procform->amproclefttype != procform->amprocrighttype)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains support function %s with different left and right input types",
							opfamilyname, "hnsw", format_procedure(procform->amproc))));
			result = false;
			continue;
		}
		switch (procform->amprocnum)
		{
			case 1:
				ok = check_amproc_signature(procform->amproc, FLOAT8OID, true,
											2, 2, procform->amproclefttype,
											procform->amproclefttype);
				if (procform->amproclefttype == opcintype)
					has_proc1 = true;
				break;
			case 2:
				ok = check_amproc_signature(procform->amproc, FLOAT8OID, true,
											1, 1, procform->amproclefttype);
				break;
			default:
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("operator family \"%s\" of access method %s contains function %s with invalid support number %d",
								opfamilyname, "hnsw", format_procedure(procform->amproc),
								procform->amprocnum)));
				result = false;
				continue;
		}
		if (!ok)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains function %s with wrong signature for support number %d",
							opfamilyname, "hnsw", format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
		}
	}

	for (int i = 0; i < oprlist->n_members; i++)
	{
		HeapTuple	oprtup = &oprlist->members[i]->tuple;
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(oprtup);

		if (oprform->amopstrategy != 1)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains operator %s with invalid strategy number %d",
							opfamilyname, "hnsw", format_operator(oprform->amopopr),
							oprform->amopstrategy)));
			result = false;
			continue;
		}
		if (oprform->amoppurpose != AMOP_ORDER ||
			!OidIsValid(oprform->amopsortfamily) ||
			!opfamily_can_sort_type(oprform->amopsortfamily, FLOAT8OID))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains operator %s that is not an ordering operator sorted by float8",
							opfamilyname, "hnsw", format_operator(oprform->amopopr))));
			result = false;
			continue;
		}
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains operator %s with wrong signature",
							opfamilyname, "hnsw", format_operator(oprform->amopopr))));
			result = false;
			continue;
		}
		if (oprform->amoplefttype == opcintype && oprform->amoprighttype == opcintype)
			has_op1 = true;
	}

	if (!has_proc1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing support function 1",
						opclassname, "hnsw")));
		result = false;
	}
	if (!has_op1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing its ordering operator",
						opclassname, "hnsw")));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(familytup);
	ReleaseSysCache(classtup);
	return result;
}

/* Names of the build phases for pg_stat_progress_create_index. */
static char *
hnswbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case 2:
			return "loading tuples";
		case 3:
			return "building graph";
		case 4:
			return "writing index";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(hnswhandler);

/* The index access method handler. */
Datum
hnswhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 2;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = hnswbuild;
	amroutine->ambuildempty = hnswbuildempty;
	amroutine->aminsert = hnswinsert;
	amroutine->ambulkdelete = hnswbulkdelete;
	amroutine->amvacuumcleanup = hnswvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = hnswcostestimate;
	amroutine->amoptions = hnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = hnswbuildphasename;
	amroutine->amvalidate = hnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = hnswbeginscan;
	amroutine->amrescan = hnswrescan;
	amroutine->amgettuple = hnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = hnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
