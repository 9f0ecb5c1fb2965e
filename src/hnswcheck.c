/*
 * hnswcheck.c: vecsearch_index_check(regclass), a structural checker for
 * hnsw indexes in the spirit of amcheck.  It returns one row (slot, problem)
 * per problem found and no rows for a healthy index.  Checked: the metapage
 * (magic, version, sizes, entry point), every slot's kind, upper records
 * against their owners, every neighbour list (ids in range, pointing at live
 * elements of a high enough level, no self links, no duplicates, degree
 * within 2m / m, no entry after the end marker) and reachability of every
 * live element from the entry point.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "hnsw.h"

typedef struct CheckState
{
	Tuplestorestate *ts;
	TupleDesc	desc;
	int			nproblems;
} CheckState;

#define HNSW_CHECK_MAX_PROBLEMS 1000

static void
report(CheckState *cs, int64 slot, const char *fmt,...) pg_attribute_printf(3, 4);

static void
report(CheckState *cs, int64 slot, const char *fmt,...)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};
	StringInfoData buf;
	va_list		args;

	if (++cs->nproblems > HNSW_CHECK_MAX_PROBLEMS)
		return;
	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	if (slot < 0)
		nulls[0] = true;
	values[0] = Int64GetDatum(slot);
	values[1] = CStringGetTextDatum(buf.data);
	tuplestore_putvalues(cs->ts, cs->desc, values, nulls);
}

/* Check every list of element id; queue unvisited neighbours for the BFS. */
static void
check_lists(CheckState *cs, HnswReader *r, uint32 id, int level,
			const uint8 *kinds, const uint8 *levels, uint32 nslots)
{
	uint32		list[2 * HNSW_M_MAX];

	for (int layer = 0; layer <= level; layer++)
	{
		int			cap;
		uint64		off = HnswListOffset(r, id, layer, &cap);
		bool		ended = false;

		if (off == 0)
		{
			report(cs, id, "element of level %d has no list for layer %d", level, layer);
			continue;
		}
		HnswReadBytes(r, off, list, sizeof(uint32) * cap);
		for (int i = 0; i < cap; i++)
		{
			uint32		e = list[i];

			if (e == HNSW_INVALID_ID)
			{
				ended = true;
				continue;
			}
			if (ended)
			{
				report(cs, id, "layer %d list has an entry after its end marker", layer);
				break;
			}
			if (e >= nslots)
			{
				report(cs, id, "layer %d neighbour %u is beyond the last slot %u", layer, e, nslots);
				continue;
			}
			if (e == id)
				report(cs, id, "layer %d list links the element to itself", layer);
			else if (kinds[e] == HNSW_KIND_DELETED)
				report(cs, id, "layer %d neighbour %u is a deleted element", layer, e);
			else if (kinds[e] != HNSW_KIND_ELEMENT)
				report(cs, id, "layer %d neighbour %u is not an element (kind %d)", layer, e, kinds[e]);
			else if (levels[e] < layer)
				report(cs, id, "layer %d neighbour %u has level %d only", layer, e, levels[e]);
			for (int j = 0; j < i; j++)
				if (list[j] == e)
				{
					report(cs, id, "layer %d neighbour %u appears twice", layer, e);
					break;
				}
		}
	}
}

PG_FUNCTION_INFO_V1(vecsearch_index_check);

/* vecsearch_index_check(idx regclass) RETURNS TABLE (slot bigint, problem text) */
Datum
vecsearch_index_check(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CheckState	cs;
	Relation	index;
	Buffer		buf;
	HnswMetaPageData meta;
	HnswPageOpaqueData *op;
	HnswReader	r;
	uint32		nslots;
	uint8	   *kinds;
	uint8	   *levels;
	uint32	   *queue;
	bool	   *seen;
	uint32		qh = 0,
				qt = 0;
	BlockNumber nblocks;
	int			maxlevel = -1;

	InitMaterializedSRF(fcinfo, 0);
	cs.ts = rsinfo->setResult;
	cs.desc = rsinfo->setDesc;
	cs.nproblems = 0;

	index = relation_open(relid, AccessShareLock);
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL ||
		index->rd_indam->ambuild != hnswbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, RelationGetRelationName(index));

	nblocks = RelationGetNumberOfBlocks(index);
	if (nblocks == 0)
	{
		report(&cs, -1, "index has no metapage");
		relation_close(index, AccessShareLock);
		return (Datum) 0;
	}
	buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = *(HnswMetaPageData *) PageGetContents(BufferGetPage(buf));
	op = (HnswPageOpaqueData *) PageGetSpecialPointer(BufferGetPage(buf));
	if (op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_META)
		report(&cs, -1, "metapage has page id %04x and flags %d", op->page_id, op->flags);
	UnlockReleaseBuffer(buf);
	if (meta.magic != HNSW_MAGIC || meta.version != HNSW_VERSION)
	{
		report(&cs, -1, "metapage has magic %08x and version %u, expected %08x and %u",
			   meta.magic, meta.version, HNSW_MAGIC, HNSW_VERSION);
		relation_close(index, AccessShareLock);
		return (Datum) 0;
	}
	if (meta.packed_start > meta.packed_end || meta.packed_end > meta.next_slot)
		report(&cs, -1, "packed upper area %u..%u is outside the %u slots",
			   meta.packed_start, meta.packed_end, meta.next_slot);
	if (meta.m < HNSW_M_MIN || meta.m > HNSW_M_MAX)
		report(&cs, -1, "metapage m %u is out of range", meta.m);
	if (meta.dims == 0)
	{
		if (meta.next_slot != 0 || meta.entry_id != HNSW_INVALID_ID)
			report(&cs, -1, "index without dimensions has %u slots", meta.next_slot);
		relation_close(index, AccessShareLock);
		return (Datum) 0;
	}
	if (meta.dims > VECTOR_MAX_DIM || meta.slot_size != HNSW_SLOT_SIZE(meta.m, meta.dims))
	{
		report(&cs, -1, "metapage slot size %u does not match m %u and %u dimensions",
			   meta.slot_size, meta.m, meta.dims);
		relation_close(index, AccessShareLock);
		return (Datum) 0;
	}
	nslots = meta.next_slot;
	if ((uint64) nslots * meta.slot_size > (uint64) (nblocks - 1) * HNSW_PAGE_DATA)
	{
		report(&cs, -1, "%u slots need more than the %u slot pages present", nslots, nblocks - 1);
		relation_close(index, AccessShareLock);
		return (Datum) 0;
	}
	for (BlockNumber b = 1; b < nblocks; b++)
	{
		buf = ReadBuffer(index, b);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		op = (HnswPageOpaqueData *) PageGetSpecialPointer(BufferGetPage(buf));
		if (PageIsNew(BufferGetPage(buf)) || op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_SLOTS)
			report(&cs, -1, "block %u is not an hnsw slot page", b);
		UnlockReleaseBuffer(buf);
	}

	HnswReaderInit(&r, index, &meta);
	kinds = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	levels = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	/* slots and upper records */
	for (uint32 id = 0; id < nslots; id++)
	{
		HnswElementHeader hdr;

		CHECK_FOR_INTERRUPTS();
		if (id >= meta.packed_start && id < meta.packed_end)
		{
			kinds[id] = 0xFE;	/* packed upper records of the build */
			continue;
		}
		HnswReadHeader(&r, id, &hdr);
		kinds[id] = hdr.kind;
		levels[id] = hdr.level;
		if (hdr.kind == HNSW_KIND_ELEMENT || hdr.kind == HNSW_KIND_DELETED)
		{
			uint32		upper = HnswHeaderUpper(&hdr);

			if (hdr.level > HNSW_MAX_LEVEL)
				report(&cs, id, "element level %d exceeds %d", hdr.level, HNSW_MAX_LEVEL);
			if (hdr.kind == HNSW_KIND_ELEMENT)
				maxlevel = Max(maxlevel, (int) hdr.level);
			if (hdr.level == 0 && upper != HNSW_INVALID_ID)
				report(&cs, id, "element of level 0 has an upper record");
			else if (hdr.level > 0)
			{
				HnswUpperHeader uh;

				if (upper >= nslots || hdr.upper_off + HNSW_UPPER_BYTES(meta.m, hdr.level) >
					(uint64) (nslots - upper) * meta.slot_size)
					report(&cs, id, "upper record at slot %u offset %u is beyond the last slot %u",
						   upper, hdr.upper_off, nslots);
				else
				{
					HnswReadBytes(&r, (uint64) upper * meta.slot_size + hdr.upper_off, &uh, sizeof(uh));
					if (uh.kind != HNSW_KIND_UPPER || uh.owner != id || uh.level != hdr.level)
						report(&cs, id, "upper record at slot %u does not belong to this element", upper);
				}
			}
		}
		else if (hdr.kind == HNSW_KIND_UPPER)
		{
			HnswUpperHeader uh;
			uint32		n = HNSW_UPPER_SLOTS(meta.m, hdr.level, meta.slot_size);

			HnswReadBytes(&r, (uint64) id * meta.slot_size, &uh, sizeof(uh));
			if (uh.owner >= id || hdr.level == 0)
				report(&cs, id, "upper record names owner %u of level %d", uh.owner, hdr.level);
			for (uint32 k = 1; k < n && id + k < nslots; k++)
				kinds[id + k] = 0xFF;	/* continuation */
			id += n - 1;
		}
		else if (hdr.kind != HNSW_KIND_FREE)
			report(&cs, id, "slot has unknown kind %d", hdr.kind);
	}

	/* entry point */
	if (meta.entry_id == HNSW_INVALID_ID)
	{
		if (maxlevel >= 0)
			report(&cs, -1, "index has elements but no entry point");
	}
	else if (meta.entry_id >= nslots || kinds[meta.entry_id] != HNSW_KIND_ELEMENT)
		report(&cs, -1, "entry point %u is not a live element", meta.entry_id);
	else if (levels[meta.entry_id] != meta.entry_level)
		report(&cs, -1, "entry point level %d does not match the element's level %d",
			   meta.entry_level, levels[meta.entry_id]);
	else if (maxlevel > meta.entry_level)
		report(&cs, -1, "an element has level %d, above the entry point's %d",
			   maxlevel, meta.entry_level);

	/* lists, and reachability by BFS over all layers */
	queue = palloc_extended(sizeof(uint32) * Max(nslots, 1), MCXT_ALLOC_HUGE);
	seen = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (uint32 id = 0; id < nslots; id++)
		if (kinds[id] == HNSW_KIND_ELEMENT)
			check_lists(&cs, &r, id, levels[id], kinds, levels, nslots);
	if (meta.entry_id < nslots && kinds[meta.entry_id] == HNSW_KIND_ELEMENT)
	{
		queue[qt++] = meta.entry_id;
		seen[meta.entry_id] = true;
	}
	while (qh < qt)
	{
		uint32		id = queue[qh++];
		uint32		list[2 * HNSW_M_MAX];

		CHECK_FOR_INTERRUPTS();
		for (int layer = 0; layer <= levels[id]; layer++)
		{
			int			n = HnswReadList(&r, id, layer, list);

			for (int i = 0; i < n; i++)
			{
				uint32		e = list[i];

				if (e < nslots && !seen[e] &&
					(kinds[e] == HNSW_KIND_ELEMENT || kinds[e] == HNSW_KIND_DELETED))
				{
					seen[e] = true;
					queue[qt++] = e;
				}
			}
		}
	}
	for (uint32 id = 0; id < nslots; id++)
		if (kinds[id] == HNSW_KIND_ELEMENT && !seen[id])
			report(&cs, id, "element is not reachable from the entry point");

	if (cs.nproblems > HNSW_CHECK_MAX_PROBLEMS)
	{
		int			more = cs.nproblems - HNSW_CHECK_MAX_PROBLEMS;

		cs.nproblems = 0;
		report(&cs, -1, "%d more problems not listed", more);
	}

	relation_close(index, AccessShareLock);
	return (Datum) 0;
}
