/*
 * hnswcheck.c: vecsearch_index_check(regclass), a structural checker for
 * hnsw indexes in the spirit of amcheck: one row (slot, problem) per problem
 * found, no rows for a healthy index.  vecsearch_index_check runs
 * check_index in a subtransaction; check_index runs one function per check
 * (metapage, pages, slots and upper records, entry point, free lists, lists,
 * reachability), each range-checking every value it reads before using it.
 *
 * See src/README, section "Checker".
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
	int			nproblems;		/* found (the first HNSW_CHECK_MAX_PROBLEMS
								 * kept) */
	char	   *stopped;		/* the error that ended the check, or NULL */
	MemoryContext cxt;			/* where slots and texts live */
} CheckState;

#define HNSW_CHECK_MAX_PROBLEMS 1000

/* Marks in kinds[] besides the slot kinds. */
#define CHECK_KIND_PACKED		0xFE	/* the build's packed upper records */
#define CHECK_KIND_CONT			0xFF	/* continuation of an upper record */

static void report(CheckState *cs, int64 slot, const char *fmt,...) pg_attribute_printf(3, 4);

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

/* What the checks of one index share, filled by check_slots. */
typedef struct CheckIndex
{
	CheckState *cs;
	Relation	index;
	HnswMetaPageData meta;		/* validated by HnswMetaProblem */
	HnswReader	r;
	uint32		nslots;
	uint8	   *kinds;			/* per slot: kind or CHECK_KIND_* */
	uint8	   *levels;			/* per slot: level (0 when out of range) */
	bool	   *upper_ok;		/* per element: upper record in range */
	int			maxlevel;		/* highest level of a live element, or -1 */
} CheckIndex;

/*
 * The metapage: its special space, then the readers' validation (nothing
 * after it runs on a metapage it refuses), then the metric against the
 * operator class.  Returns false when the checks cannot go on.
 */
static bool
check_metapage(CheckIndex *ci, BlockNumber nblocks)
{
	CheckState *cs = ci->cs;
	Buffer		buf;
	Page		page;
	char		problem[256];

	if (nblocks == 0)
	{
		report(cs, -1, "index has no metapage");
		return false;
	}
	buf = ReadBuffer(ci->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	ci->meta = *HnswPageGetMeta(page);
	if (!special_ok(page))
		report(cs, -1, "metapage has its special space at %u", ((PageHeader) page)->pd_special);
	else
	{
		HnswPageOpaqueData *op = (HnswPageOpaqueData *) PageGetSpecialPointer(page);

		if (op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_META)
			report(cs, -1, "metapage has page id %04x and flags %d", op->page_id, op->flags);
	}
	UnlockReleaseBuffer(buf);

	if (HnswMetaProblem(&ci->meta, nblocks, problem, sizeof(problem)))
	{
		report(cs, -1, "%s", problem);
		return false;
	}
	if (ci->meta.metric != (uint32) HnswGetMetric(ci->index))
		report(cs, -1, "metapage metric %u does not match the operator class (metric %d)",
			   ci->meta.metric, (int) HnswGetMetric(ci->index));
	return ci->meta.dims != 0;	/* else no slots (HnswMetaProblem) */
}

/* Every block after the metapage is an hnsw slot page. */
static void
check_pages(CheckIndex *ci, BlockNumber nblocks)
{
	for (BlockNumber b = 1; b < nblocks; b++)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(ci->index, b);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !special_ok(page))
			report(ci->cs, -1, "block %u is not an hnsw slot page", b);
		else
		{
			HnswPageOpaqueData *op = (HnswPageOpaqueData *) PageGetSpecialPointer(page);

			if (op->page_id != HNSW_PAGE_ID || op->flags != HNSW_PAGE_SLOTS)
				report(ci->cs, -1, "block %u is not an hnsw slot page", b);
		}
		UnlockReleaseBuffer(buf);
	}
}

/*
 * A live element's code is the code of its vector: encode the vector again
 * and compare the bytes (HnswEncode is deterministic).
 */
static void
check_code(CheckIndex *ci, uint32 id)
{
	HnswReader *r = &ci->r;
	uint64		slot = (uint64) id * ci->meta.slot_size;
	float	   *vec = palloc(sizeof(float) * r->dims);
	char	   *code = palloc(r->code_bytes);
	char	   *want = palloc(r->code_bytes);

	HnswReadBytes(r, slot + r->vec_off, vec, sizeof(float) * r->dims);
	HnswReadBytes(r, slot + HNSW_CODE_OFFSET(r->m), code, r->code_bytes);
	HnswEncode(r->codes, vec, r->dims, want);
	if (memcmp(code, want, r->code_bytes) != 0)
	{
		int			k = 0;

		while (code[k] == want[k])
			k++;
		report(ci->cs, id, "%s code differs from the code of its vector at byte %d of %u",
			   HnswCodesName(r->codes), k, r->code_bytes);
	}
	pfree(vec);
	pfree(code);
	pfree(want);
}

/* An element's level and upper record (against its owner), and its code. */
static void
check_element(CheckIndex *ci, uint32 id, const HnswElementHeader *hdr)
{
	CheckState *cs = ci->cs;
	uint32		upper = HnswHeaderUpper(hdr);
	HnswUpperHeader uh;

	if (hdr->kind == HNSW_KIND_ELEMENT && ci->r.codes != HNSW_CODES_NONE)
		check_code(ci, id);

	if (hdr->level > HNSW_MAX_LEVEL)
	{
		report(cs, id, "element level %d exceeds %d", hdr->level, HNSW_MAX_LEVEL);
		ci->levels[id] = 0;		/* (its upper lists are not read) */
		return;
	}
	if (hdr->kind == HNSW_KIND_ELEMENT)
		ci->maxlevel = Max(ci->maxlevel, (int) hdr->level);
	if (hdr->level == 0)
	{
		if (upper != HNSW_INVALID_ID)
			report(cs, id, "element of level 0 has an upper record");
		return;
	}
	if (upper >= ci->nslots || hdr->upper_off >= ci->meta.slot_size ||
		hdr->upper_off + HNSW_UPPER_BYTES(ci->meta.m, hdr->level) >
		(uint64) (ci->nslots - upper) * ci->meta.slot_size)
	{
		report(cs, id, "upper record at slot %u offset %u is beyond the last slot %u",
			   upper, hdr->upper_off, ci->nslots);
		return;
	}
	ci->upper_ok[id] = true;
	HnswReadBytes(&ci->r, (uint64) upper * ci->meta.slot_size + hdr->upper_off, &uh, sizeof(uh));
	if (uh.kind != HNSW_KIND_UPPER || uh.owner != id || uh.level != hdr->level)
		report(cs, id, "upper record at slot %u does not belong to this element", upper);
}

/*
 * Every slot's kind, elements with their upper records (check_element), and
 * the first slot of each upper record aminsert wrote; fills kinds, levels,
 * upper_ok and maxlevel for the checks after it.
 */
static void
check_slots(CheckIndex *ci)
{
	uint32		nslots = ci->nslots;

	for (uint32 id = 0; id < nslots; id++)
	{
		HnswElementHeader hdr;

		CHECK_FOR_INTERRUPTS();
		if (id >= ci->meta.packed_start && id < ci->meta.packed_end)
		{
			ci->kinds[id] = CHECK_KIND_PACKED;
			continue;
		}
		HnswReadHeader(&ci->r, id, &hdr);
		ci->kinds[id] = hdr.kind;
		ci->levels[id] = hdr.level;
		if (hdr.kind == HNSW_KIND_ELEMENT || hdr.kind == HNSW_KIND_DELETED)
			check_element(ci, id, &hdr);
		else if (hdr.kind == HNSW_KIND_UPPER)
		{
			HnswUpperHeader uh;
			uint32		n;

			HnswReadBytes(&ci->r, (uint64) id * ci->meta.slot_size, &uh, sizeof(uh));
			if (uh.owner >= id || hdr.level == 0 || hdr.level > HNSW_MAX_LEVEL)
				report(ci->cs, id, "upper record names owner %u of level %d", uh.owner, hdr.level);
			n = HNSW_UPPER_SLOTS(ci->meta.m, Max(hdr.level, 1), ci->meta.slot_size);
			for (uint32 k = 1; k < n && id + k < nslots; k++)
				ci->kinds[id + k] = CHECK_KIND_CONT;
			if ((uint64) id + n > nslots)
				break;
			id += n - 1;
		}
		else if (hdr.kind != HNSW_KIND_FREE)
			report(ci->cs, id, "slot has unknown kind %d", hdr.kind);
	}
}

/* The entry point (in range: HnswMetaProblem): a live element of top level. */
static void
check_entry_point(CheckIndex *ci)
{
	uint32		entry = ci->meta.entry_id;

	if (entry == HNSW_INVALID_ID)
	{
		if (ci->maxlevel >= 0)
			report(ci->cs, -1, "index has elements but no entry point");
	}
	else if (ci->kinds[entry] != HNSW_KIND_ELEMENT)
		report(ci->cs, -1, "entry point %u is not a live element", entry);
	else if (ci->levels[entry] != ci->meta.entry_level)
		report(ci->cs, -1, "entry point level %d does not match the element's level %d",
			   ci->meta.entry_level, ci->levels[entry]);
	else if (ci->maxlevel > ci->meta.entry_level)
		report(ci->cs, -1, "an element has level %d, above the entry point's %d",
			   ci->maxlevel, ci->meta.entry_level);
}

/* The free lists: deleted elements of their level, no cycle. */
static void
check_free_lists(CheckIndex *ci)
{
	for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
	{
		uint32		f = HnswFreeHead(&ci->meta, l);
		uint32		steps = 0;

		while (f != HNSW_INVALID_ID)
		{
			HnswElementHeader hdr;

			CHECK_FOR_INTERRUPTS();
			if (f >= ci->nslots || ci->kinds[f] != HNSW_KIND_DELETED || ci->levels[f] != l)
			{
				report(ci->cs, f, "free list names a slot that is not a deleted element of level %d", l);
				break;
			}
			if (++steps > ci->nslots)
			{
				report(ci->cs, -1, "free list of level %d has a cycle", l);
				break;
			}
			HnswReadHeader(&ci->r, f, &hdr);
			f = BlockIdGetBlockNumber(&hdr.heaptid.ip_blkid);
		}
	}
}

/* Every list of every live element (check_lists). */
static void
check_all_lists(CheckIndex *ci)
{
	for (uint32 id = 0; id < ci->nslots; id++)
		if (ci->kinds[id] == HNSW_KIND_ELEMENT)
		{
			CHECK_FOR_INTERRUPTS();
			check_lists(ci->cs, &ci->r, id, ci->levels[id], ci->upper_ok[id],
						ci->kinds, ci->levels, ci->nslots);
		}
}

/*
 * Reachability: a breadth-first walk from the entry point over all layers
 * (through deleted elements too, as searches go); every live element it
 * does not reach is reported.
 */
static void
check_reachability(CheckIndex *ci)
{
	uint32		nslots = ci->nslots;
	uint32	   *queue = palloc_extended(sizeof(uint32) * Max(nslots, 1), MCXT_ALLOC_HUGE);
	bool	   *seen = palloc_extended(Max(nslots, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	uint32		qh = 0,
				qt = 0;
	uint32		entry = ci->meta.entry_id;

	if (entry != HNSW_INVALID_ID && ci->kinds[entry] == HNSW_KIND_ELEMENT)
	{
		queue[qt++] = entry;
		seen[entry] = true;
	}
	while (qh < qt)
	{
		uint32		id = queue[qh++];
		uint32		list[2 * HNSW_M_MAX];

		CHECK_FOR_INTERRUPTS();
		for (int layer = 0; layer <= (ci->upper_ok[id] ? ci->levels[id] : 0); layer++)
		{
			int			n = HnswReadListRaw(&ci->r, id, layer, list);

			for (int i = 0; i < n; i++)
			{
				uint32		e = list[i];

				if (e < nslots && !seen[e] &&
					(ci->kinds[e] == HNSW_KIND_ELEMENT || ci->kinds[e] == HNSW_KIND_DELETED))
				{
					Assert(qt < nslots);
					seen[e] = true;
					queue[qt++] = e;
				}
			}
		}
	}
	for (uint32 id = 0; id < nslots; id++)
		if (ci->kinds[id] == HNSW_KIND_ELEMENT && !seen[id])
			report(ci->cs, id, "element is not reachable from the entry point");
}

/* The checks, in order, on an index that is open; problems go to cs. */
static void
check_index(CheckState *cs, Relation index)
{
	CheckIndex	ci;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	Size		n;

	memset(&ci, 0, sizeof(ci));
	ci.cs = cs;
	ci.index = index;
	ci.maxlevel = -1;
	if (!check_metapage(&ci, nblocks))
		return;
	ci.nslots = ci.meta.next_slot;
	check_pages(&ci, nblocks);

	HnswReaderInit(&ci.r, index, &ci.meta);
	n = Max(ci.nslots, 1);
	ci.kinds = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ci.levels = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ci.upper_ok = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	check_slots(&ci);
	check_entry_point(&ci);
	check_free_lists(&ci);
	check_all_lists(&ci);
	check_reachability(&ci);
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
	ErrorData  *volatile edata = NULL;

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
	 * index-corruption error of the reader, PostgreSQL's "invalid page") is a
	 * row too; its rollback releases the buffers.  Other errors (cancel, out
	 * of memory) are raised again.
	 */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_index(&cs, index);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (edata != NULL)
	{
		if (edata->sqlerrcode != ERRCODE_INDEX_CORRUPTED &&
			edata->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			ReThrowError(edata);
		cs.stopped = psprintf("check stopped: %s", edata->message);
	}

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
