/*
 * knnsource.c: the KNN engine's row sources.
 *
 * VsOpenVectorColumn opens a table's vector column with the caller's privileges
 * (relation kind, column privilege, row-level security, type); VsRowReader reads its
 * non-NULL vectors in TID order; VsLoadVectors loads them (or a sample) into a matrix.
 * See src/README, section "Table access".
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "halfvec.h"
#include "knn.h"
#include "vector.h"
#include "vsrandom.h"

/* Our type's input function, to recognise the type when no argument gives it. */
extern PGDLLEXPORT Datum vector_in(PG_FUNCTION_ARGS);

/* ---------------------------------------------------------------------------------
 * Opening a table's vector column with the caller's privileges
 * --------------------------------------------------------------------------------- */

/* Is typid (a base type) the type whose input function is fn?  (vector_in, halfvec_in) */
static bool
has_input_function(Oid typid, PGFunction fn)
{
	Oid			typinput,
				typioparam;
	FmgrInfo	finfo;

	getTypeInputInfo(typid, &typinput, &typioparam);
	fmgr_info(typinput, &finfo);
	return finfo.fn_addr == fn;
}

/* Is typid (a base type) our vector type?  Recognised by its input function. */
static bool
is_vector_type(Oid typid)
{
	return has_input_function(typid, vector_in);
}

Relation
VsOpenVectorColumn(Oid relid, const char *colname, Oid vectype, AttrNumber *attnum)
{
	Relation	rel;
	AttrNumber	att;
	Oid			atttype;
	Oid			basetype;
	char		relkind;
	AclResult	aclresult;

	rel = relation_open(relid, AccessShareLock);
	relkind = rel->rd_rel->relkind;
	if (relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						RelationGetRelationName(rel)),
				 errdetail("\"%s\" is a partitioned table; its rows are in its partitions, and a row_tid identifies a row only within one of them.",
						   RelationGetRelationName(rel)),
				 errhint("Call the function on each partition.")));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						RelationGetRelationName(rel))));

	att = get_attnum(relid, colname);
	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel))));
	if (att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is a system column, not a vector",
						colname, RelationGetRelationName(rel))));

	/* the caller's privileges: SELECT on the table or on the column */
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
	{
		aclresult = pg_attribute_aclcheck(relid, att, GetUserId(), ACL_SELECT);
		if (aclresult != ACLCHECK_OK)
			aclcheck_error_col(aclresult, get_relkind_objtype(relkind),
							   RelationGetRelationName(rel), colname);
	}

	/* we read every row, so row-level security policies cannot be honoured */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security is enabled for relation \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("vecsearch's exact scans read every row and cannot apply row-level security policies.")));

	/*
	 * a domain over vector is a vector (the queries' type may be a domain
	 * too)
	 */
	atttype = get_atttype(relid, att);
	basetype = getBaseType(atttype);

	/*
	 * a halfvec column is read as vectors (VsRowReaderNext converts its rows)
	 * for queries of type vector
	 */
	if (has_input_function(basetype, halfvec_in) &&
		(!OidIsValid(vectype) || is_vector_type(getBaseType(vectype))))
		;
	else if (OidIsValid(vectype) ? (basetype != getBaseType(vectype)) : !is_vector_type(basetype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is of type %s, not vector",
						colname, RelationGetRelationName(rel), format_type_be(atttype)),
				 OidIsValid(vectype) && is_vector_type(basetype) ?
				 errdetail("The queries are of type %s.", format_type_be(vectype)) : 0));

	/* what SELECT says of a materialized view never refreshed */
	if (!RelationIsPopulated(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("materialized view \"%s\" has not been populated",
						RelationGetRelationName(rel)),
				 errhint("Use the REFRESH MATERIALIZED VIEW command.")));

	/*
	 * SELECT from an inheritance parent also returns its children's rows, but
	 * TIDs (row_tid, the exclusion of a query's own row, ties) identify a row
	 * only within one table: refuse rather than answer from the parent's own
	 * rows alone.
	 */
	if (rel->rd_rel->relhassubclass)
	{
		List	   *children = find_inheritance_children(relid, NoLock);

		if (children != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg_plural("table \"%s\" has %d child table",
								   "table \"%s\" has %d child tables",
								   list_length(children),
								   RelationGetRelationName(rel), list_length(children)),
					 errdetail("SELECT from \"%s\" also reads its child tables, but a row_tid identifies a row only within one table.",
							   RelationGetRelationName(rel)),
					 errhint("Call the function on each child table.")));
	}

	*attnum = att;
	return rel;
}


/* ---------------------------------------------------------------------------------
 * Reading the table
 * --------------------------------------------------------------------------------- */

void
VsRowReaderBegin(VsRowReader *rd, Relation rel, AttrNumber attnum, int dim)
{
	rd->rel = rel;
	rd->attnum = attnum;
	rd->dim = dim;
	rd->half = has_input_function(getBaseType(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid),
								  halfvec_in);
	/* no synchronized scan: rows come in TID order from block 0 */
	rd->scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	rd->slot = table_slot_create(rel, NULL);
	rd->tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vecsearch row reader",
									   ALLOCSET_DEFAULT_SIZES);
}

const Vector *
VsRowReaderNext(VsRowReader *rd, ItemPointerData *tid)
{
	for (;;)
	{
		Datum		d;
		bool		isnull;
		Vector	   *v;
		MemoryContext old;

		if (!table_scan_getnextslot(rd->scan, ForwardScanDirection, rd->slot))
			return NULL;
		d = slot_getattr(rd->slot, rd->attnum, &isnull);
		if (isnull)
			continue;
		*tid = rd->slot->tts_tid;
		MemoryContextReset(rd->tmpcxt);
		old = MemoryContextSwitchTo(rd->tmpcxt);
		v = rd->half ? DatumGetRowHalfVectorAsVector(d, rd->rel, tid) :
			DatumGetRowVector(d, rd->rel, tid, true);
		MemoryContextSwitchTo(old);
		if (rd->dim == 0)
			rd->dim = v->dim;
		else if (v->dim != rd->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %d and %d", rd->dim, v->dim),
					 errdetail("Row %s of relation \"%s\" has %d dimensions, the queries have %d.",
							   DatumGetCString(DirectFunctionCall1(tidout, PointerGetDatum(tid))),
							   RelationGetRelationName(rd->rel), v->dim, rd->dim)));
		return v;
	}
}

void
VsRowReaderEnd(VsRowReader *rd)
{
	ExecDropSingleTupleTableSlot(rd->slot);
	table_endscan(rd->scan);
	MemoryContextDelete(rd->tmpcxt);
}


/* ---------------------------------------------------------------------------------
 * Loading a column into a matrix
 * --------------------------------------------------------------------------------- */

/* Rows of VsLoadVectors' first buffer; it doubles as rows come. */
#define LOAD_FIRST_ROWS		1024

void
VsLoadVectors(Relation rel, AttrNumber attnum, int64 sample, uint64 seed,
			  float **matrix, int *ld, ItemPointerData **tids, int64 *nrows,
			  int *dim, int64 *total)
{
	VsRowReader rd;
	const Vector *v;
	ItemPointerData tid;
	int64		cap = 0,
				n = 0,
				seen = 0;
	float	   *m = NULL;
	void	   *mraw = NULL;
	ItemPointerData *t = NULL;
	VsRandom	rng;
	int			stride = 0;

	vs_random_seed(&rng, seed);
	VsRowReaderBegin(&rd, rel, attnum, 0);
	while ((v = VsRowReaderNext(&rd, &tid)) != NULL)
	{
		int64		slot;

		if (stride == 0)
		{
			/*
			 * A small first buffer, grown by doubling: the planner's
			 * reltuples can be far off (stale after a bulk DELETE), so memory
			 * follows the rows read.
			 */
			stride = VsAlignedStride(v->dim);
			cap = LOAD_FIRST_ROWS;
			if (sample >= 0)
				cap = Max(Min(cap, sample), 1);
			m = VsAllocAlignedFloats(mul_size((Size) cap, stride), false, &mraw);
			t = MemoryContextAllocHuge(CurrentMemoryContext,
									   mul_size(sizeof(ItemPointerData), (Size) cap));
		}
		seen++;
		if (sample >= 0 && n >= sample)
		{
			/*
			 * reservoir sampling, Algorithm R: keep row seen-1 with prob
			 * sample/seen
			 */
			uint64		j = vs_random_below(&rng, (uint64) seen);

			if (j >= (uint64) sample)
				continue;
			slot = (int64) j;
		}
		else
		{
			if (n == cap)
			{
				/* grow by doubling, up to the sample size */
				int64		ncap = cap * 2;
				float	   *nm;
				void	   *nraw;
				ItemPointerData *nt;

				if (sample >= 0)
					ncap = Min(ncap, sample);
				nm = VsAllocAlignedFloats(mul_size((Size) ncap, stride), false, &nraw);
				memcpy(nm, m, sizeof(float) * (Size) n * stride);
				pfree(mraw);
				nt = MemoryContextAllocHuge(CurrentMemoryContext,
											mul_size(sizeof(ItemPointerData), (Size) ncap));
				memcpy(nt, t, sizeof(ItemPointerData) * (Size) n);
				pfree(t);
				m = nm;
				mraw = nraw;
				t = nt;
				cap = ncap;
			}
			slot = n++;
		}
		memcpy(m + (Size) slot * stride, v->x, sizeof(float) * v->dim);
		/* the padding of a row stays zero (kernels may read whole lines) */
		memset(m + (Size) slot * stride + v->dim, 0, sizeof(float) * (stride - v->dim));
		t[slot] = tid;
		if ((seen & 255) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*dim = rd.dim;
	VsRowReaderEnd(&rd);
	*matrix = m;
	*ld = stride;
	*tids = t;
	*nrows = n;
	*total = seen;
}
