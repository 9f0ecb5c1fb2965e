/*
 * hnswcheck.c: vecsearch_index_check(regclass), a structural checker for
 * hnsw indexes in the spirit of amcheck.  It returns one row (slot, problem)
 * per problem found and no rows for a healthy index.  Checked: the metapage
 * (magic, version, sizes, entry point), every slot's kind, upper records
 * against their owners, every neighbour list (ids in range, pointing at live
 * elements of a high enough level, no self links, no duplicates, degree
 * within 2m / m, no entry after the end marker), the free lists and
 * reachability of every live element from the entry point.  Damage is
 * reported as rows: every value read is range-checked before it is used, and
 * an index-corruption error that a check still runs into (from the shared
 * reader, or PostgreSQL's own page verification) is caught in a
 * subtransaction and reported as the last row.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "hnsw.h"

/* Problems are collected in memory and put in the tuplestore at the end. */
typedef struct CheckState
{
	int64	   *slots;
	char	  **texts;
	int			nproblems;		/* found (the first HNSW_CHECK_MAX_PROBLEMS kept) */
	char	   *stopped;		/* the error that ended the check, or NULL */
	MemoryContext cxt;			/* where slots and texts live */
} CheckState;

#define HNSW_CHECK_MAX_PROBLEMS 1000

/* Marks in kinds[] besides the slot kinds. */
#define CHECK_KIND_PACKED		0xFE	/* the build's packed upper records */
#define CHECK_KIND_CONT			0xFF	/* continuation of an upper record */

static void
report(CheckState *cs, int64 slot, const char *fmt,...) pg_attribute_printf(3, 4);

static void
report(CheckState *cs, int64 slot, const char *fmt,...)
{
	MemoryContext old;
	StringInfoData buf;
	va_list		args;

	if (++cs->nproblems > HNSW_CHECK_MAX_PROBLEMS)
		return;
	old = MemoryContextSwitchTo(cs->cxt);
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
	cs->slots[cs->nproblems - 1] = slot;
	cs->texts[cs->nproblems - 1] = buf.data;
	MemoryContextSwitchTo(old);
}

/* Is the special space where an hnsw page has it (else it is not read)? */
static bool
special_ok(Page page)
{
	return ((PageHeader) page)->pd_special == BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData));
}

/*
 * Check every list of element id; the lists above layer 0 only when its
 * upper record was found in range (upper_ok).
 */
static void
check_lists(CheckState *cs, HnswReader *r, uint32 id, int level, bool upper_ok,
			const uint8 *kinds, const uint8 *levels, uint32 nslots)
{
	uint32		list[2 * HNSW_M_MAX];

	for (int layer = 0; layer <= (upper_ok ? level : 0); layer++)
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

/* The checks, on an index that is open; problems go to cs. */
static void
check_index(CheckState *cs, Relation index)
{
	Buffer		buf;
	Page		page;
	HnswMetaPageData meta;
	HnswPageOpaqueData *op;
	HnswReader	r;
	uint32		nslots;
	uint8	   *kinds;
	uint8	   *levels;
	bool	   *upper_ok;
	uint32	   *queue;
	bool	   *seen;
	uint32		qh = 0,
				qt = 0;
	BlockNumber nblocks;
	int			maxlevel = -1;
	char		problem[256];

	nblocks = RelationGetNumberOfBlocks(index);
	if (nblocks == 0)
	{
		report(cs, -1, "index has no metapage");
		return;
	}
	buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	meta = *HnswPageGetMeta(page);
	if (!special_ok(page))
		report(cs, -1, "metapage has its special space at %u", ((PageHeader) page)->pd_special);
	else
	{
		op = (HnswPageOpaqueData *) PageGetSpecialPointer(page);
		if (op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_META)
			report(cs, -1, "metapage has page id %04x and flags %d", op->page_id, op->flags);
	}
	UnlockReleaseBuffer(buf);

	/* the readers' validation: nothing below runs on a metapage it refuses */
	if (HnswMetaProblem(&meta, nblocks, problem, sizeof(problem)))
	{
		report(cs, -1, "%s", problem);
		return;
	}
	if (meta.metric != (uint32) HnswGetMetric(index))
		report(cs, -1, "metapage metric %u does not match the operator class (metric %d)",
			   meta.metric, (int) HnswGetMetric(index));
	if (meta.dims == 0)
		return;					/* no slots (HnswMetaProblem) */
	nslots = meta.next_slot;
	for (BlockNumber b = 1; b < nblocks; b++)
	{
		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(index, b);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !special_ok(page))
			report(cs, -1, "block %u is not an hnsw slot page", b);
		else
		{
			op = (HnswPageOpaqueData *) PageGetSpecialPointer(page);
			if (op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_SLOTS)
				report(cs, -1, "block %u is not an hnsw slot page", b);
		}
		UnlockReleaseBuffer(buf);
	}

	HnswReaderInit(&r, index, &meta);
	kinds = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	levels = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	upper_ok = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	/* slots and upper records */
	for (uint32 id = 0; id < nslots; id++)
	{
		HnswElementHeader hdr;

		CHECK_FOR_INTERRUPTS();
		if (id >= meta.packed_start && id < meta.packed_end)
		{
			kinds[id] = CHECK_KIND_PACKED;
			continue;
		}
		HnswReadHeader(&r, id, &hdr);
		kinds[id] = hdr.kind;
		levels[id] = hdr.level;
		if (hdr.kind == HNSW_KIND_ELEMENT || hdr.kind == HNSW_KIND_DELETED)
		{
			uint32		upper = HnswHeaderUpper(&hdr);

			if (hdr.level > HNSW_MAX_LEVEL)
			{
				report(cs, id, "element level %d exceeds %d", hdr.level, HNSW_MAX_LEVEL);
				levels[id] = 0;	/* (its upper lists are not read) */
				continue;
			}
			if (hdr.kind == HNSW_KIND_ELEMENT)
				maxlevel = Max(maxlevel, (int) hdr.level);
			if (hdr.level == 0 && upper != HNSW_INVALID_ID)
				report(cs, id, "element of level 0 has an upper record");
			else if (hdr.level > 0)
			{
				HnswUpperHeader uh;

				if (upper >= nslots || hdr.upper_off >= meta.slot_size ||
					hdr.upper_off + HNSW_UPPER_BYTES(meta.m, hdr.level) >
					(uint64) (nslots - upper) * meta.slot_size)
					report(cs, id, "upper record at slot %u offset %u is beyond the last slot %u",
						   upper, hdr.upper_off, nslots);
				else
				{
					upper_ok[id] = true;
					HnswReadBytes(&r, (uint64) upper * meta.slot_size + hdr.upper_off, &uh, sizeof(uh));
					if (uh.kind != HNSW_KIND_UPPER || uh.owner != id || uh.level != hdr.level)
						report(cs, id, "upper record at slot %u does not belong to this element", upper);
				}
			}
		}
		else if (hdr.kind == HNSW_KIND_UPPER)
		{
			HnswUpperHeader uh;
			uint32		n;

			HnswReadBytes(&r, (uint64) id * meta.slot_size, &uh, sizeof(uh));
			if (uh.owner >= id || hdr.level == 0 || hdr.level > HNSW_MAX_LEVEL)
				report(cs, id, "upper record names owner %u of level %d", uh.owner, hdr.level);
			n = HNSW_UPPER_SLOTS(meta.m, Max(hdr.level, 1), meta.slot_size);
			for (uint32 k = 1; k < n && id + k < nslots; k++)
				kinds[id + k] = CHECK_KIND_CONT;
			if ((uint64) id + n > nslots)
				break;
			id += n - 1;
		}
		else if (hdr.kind != HNSW_KIND_FREE)
			report(cs, id, "slot has unknown kind %d", hdr.kind);
	}

	/* entry point (in range: HnswMetaProblem) */
	if (meta.entry_id == HNSW_INVALID_ID)
	{
		if (maxlevel >= 0)
			report(cs, -1, "index has elements but no entry point");
	}
	else if (kinds[meta.entry_id] != HNSW_KIND_ELEMENT)
		report(cs, -1, "entry point %u is not a live element", meta.entry_id);
	else if (levels[meta.entry_id] != meta.entry_level)
		report(cs, -1, "entry point level %d does not match the element's level %d",
			   meta.entry_level, levels[meta.entry_id]);
	else if (maxlevel > meta.entry_level)
		report(cs, -1, "an element has level %d, above the entry point's %d",
			   maxlevel, meta.entry_level);

	/* the free lists: deleted elements of their level, no cycle */
	for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
	{
		uint32		f = HnswFreeHead(&meta, l);
		uint32		steps = 0;

		while (f != HNSW_INVALID_ID)
		{
			HnswElementHeader hdr;

			CHECK_FOR_INTERRUPTS();
			if (f >= nslots || kinds[f] != HNSW_KIND_DELETED || levels[f] != l)
			{
				report(cs, f, "free list names a slot that is not a deleted element of level %d", l);
				break;
			}
			if (++steps > nslots)
			{
				report(cs, -1, "free list of level %d has a cycle", l);
				break;
			}
			HnswReadHeader(&r, f, &hdr);
			f = BlockIdGetBlockNumber(&hdr.heaptid.ip_blkid);
		}
	}

	/* lists, and reachability by BFS over all layers */
	queue = palloc_extended(sizeof(uint32) * Max(nslots, 1), MCXT_ALLOC_HUGE);
	seen = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (uint32 id = 0; id < nslots; id++)
		if (kinds[id] == HNSW_KIND_ELEMENT)
		{
			CHECK_FOR_INTERRUPTS();
			check_lists(cs, &r, id, levels[id], upper_ok[id], kinds, levels, nslots);
		}
	if (meta.entry_id != HNSW_INVALID_ID && kinds[meta.entry_id] == HNSW_KIND_ELEMENT)
	{
		queue[qt++] = meta.entry_id;
		seen[meta.entry_id] = true;
	}
	while (qh < qt)
	{
		uint32		id = queue[qh++];
		uint32		list[2 * HNSW_M_MAX];

		CHECK_FOR_INTERRUPTS();
		for (int layer = 0; layer <= (upper_ok[id] ? levels[id] : 0); layer++)
		{
			int			n = HnswReadListRaw(&r, id, layer, list);

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
			report(cs, id, "element is not reachable from the entry point");
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
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	InitMaterializedSRF(fcinfo, 0);
	cs.cxt = cxt;
	cs.nproblems = 0;
	cs.stopped = NULL;
	cs.slots = palloc(sizeof(int64) * (HNSW_CHECK_MAX_PROBLEMS + 2));
	cs.texts = palloc(sizeof(char *) * (HNSW_CHECK_MAX_PROBLEMS + 2));

	index = relation_open(relid, AccessShareLock);
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL ||
		index->rd_indam->ambuild != hnswbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, RelationGetRelationName(index));

	/*
	 * In a subtransaction, so that damage the checks still run into (an
	 * index-corruption error of the reader, PostgreSQL's "invalid page") is
	 * a row too; its rollback releases the buffers.  Other errors (cancel,
	 * out of memory) are raised again.
	 */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_index(&cs, index);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_INDEX_CORRUPTED &&
			edata->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			ReThrowError(edata);
		cs.stopped = psprintf("check stopped: %s", edata->message);
	}
	PG_END_TRY();

	if (cs.nproblems > HNSW_CHECK_MAX_PROBLEMS)
	{
		int			more = cs.nproblems - HNSW_CHECK_MAX_PROBLEMS;

		cs.slots[HNSW_CHECK_MAX_PROBLEMS] = -1;
		cs.texts[HNSW_CHECK_MAX_PROBLEMS] = psprintf("%d more problems not listed", more);
		cs.nproblems = HNSW_CHECK_MAX_PROBLEMS + 1;
	}
	if (cs.stopped != NULL)
	{
		cs.slots[cs.nproblems] = -1;
		cs.texts[cs.nproblems++] = cs.stopped;
	}
	for (int i = 0; i < cs.nproblems; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {cs.slots[i] < 0, false};

		values[0] = Int64GetDatum(cs.slots[i]);
		values[1] = CStringGetTextDatum(cs.texts[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	relation_close(index, AccessShareLock);
	return (Datum) 0;
}
