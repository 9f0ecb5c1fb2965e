/*
 * hnswscan.c: index scans of hnsw ordered by distance: the graph scan (with
 * hnsw.iterative_scan batches) and the exact mode of vecsearch.exact_scan.
 * Entry points: hnswbeginscan, hnswrescan, hnswgettuple, hnswendscan.
 *
 * See src/README, section "Scan".
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

typedef struct HnswScanOpaqueData
{
	MemoryContext ctx;			/* reset on every rescan */
	bool		first;
	bool		exhausted;
	float	   *q;
	HnswMetaPageData meta;
	HnswReader	r;
	int			ef;
	int			iterative;
	bool		exact;

	HnswHeap	W;
	HnswHeap	C;
	HnswHeap	D;				/* evaluated, not yet returned */
	HnswVisited *v;				/* from HnswVisitedAcquire */

	HnswCand   *batch;			/* current batch, nearest first */
	int			nbatch;
	int			next;
	float		lastdist;
	bool		returned_any;

	/* exact mode: every element, as a min-heap, with its heap TID */
	HnswHeap	all;
	ItemPointerData *tids;

	BlockNumber heapblocks;		/* table blocks known to exist */
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

/*
 * check_heaptid: the heap TID of element id, about to be returned, must name
 * a row slot of a block the table has (it may have grown since the scan
 * began); else the index is damaged.
 */
static void
check_heaptid(IndexScanDesc scan, uint32 id, ItemPointer tid)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (scan->heapRelation != NULL && blk >= so->heapblocks)
		so->heapblocks = RelationGetNumberOfBlocks(scan->heapRelation);
	if (off < FirstOffsetNumber || off > MaxHeapTuplesPerPage ||
		(scan->heapRelation != NULL && blk >= so->heapblocks))
		HnswCorrupt(scan->indexRelation, "element %u names row (%u,%u), not a row of the %u blocks of the table",
					id, blk, off, so->heapblocks);
}

/* ambeginscan */
IndexScanDesc
hnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
	so->first = true;
	scan->opaque = so;
	return scan;
}

/* amrescan */
void
hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
		   int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	HnswVisitedRelease(so->v);
	so->v = NULL;
	MemoryContextReset(so->ctx);
	so->first = true;
	so->exhausted = false;
	so->batch = NULL;
	so->nbatch = 0;
	so->next = 0;
	so->returned_any = false;
}

/*
 * Take W as the next batch, nearest first (the previous one is done).  When
 * the walk measured codes, the batch is re-ranked: every element of it gets
 * its exact distance from its vector, and the batch is sorted by that, so
 * rows come in exact order.
 */
static void
take_batch(HnswScanOpaque so)
{
	int			n = so->W.n;

	if (so->batch != NULL)
		pfree(so->batch);
	so->batch = palloc(sizeof(HnswCand) * Max(n, 1));
	for (int i = n - 1; i >= 0; i--)
		so->batch[i] = HnswHeapPop(&so->W);
	if (so->r.codes != HNSW_CODES_NONE)
		HnswRerank(&so->r, so->q, so->batch, n);
	so->nbatch = n;
	so->next = 0;
}

/* The first batch: Alg. 5, descent then SEARCH-LAYER on layer 0. */
static void
first_batch(HnswScanOpaque so)
{
	uint32		ep = so->meta.entry_id;
	float		epd;

	if (ep == HNSW_INVALID_ID)
	{
		so->exhausted = true;
		return;
	}
	epd = HnswWalkDistance(&so->r, ep, so->q);
	HnswDescendDisk(&so->r, so->q, &ep, &epd, so->meta.entry_level, 0);
	HnswHeapInit(&so->W, so->ef + 2, true);
	HnswHeapInit(&so->C, so->ef * 4, false);
	HnswHeapInit(&so->D, so->iterative != HNSW_ITERATIVE_OFF ? so->ef * 8 : 16, false);
	so->v = HnswVisitedAcquire(so->meta.next_slot);
	HnswVisitedSet(so->v, ep);
	HnswHeapPush(&so->W, epd, ep);
	HnswHeapPush(&so->C, epd, ep);
	HnswSearchLayerDisk(&so->r, so->q, &so->W, &so->C, so->v, so->ef, 0,
						so->iterative != HNSW_ITERATIVE_OFF ? &so->D : NULL);
	take_batch(so);
}

/*
 * scan_mem_exceeded: true when the candidate lists of the scan (W, C, D and
 * the current batch, as allocated) take more than hnsw.scan_mem_multiplier
 * times work_mem.  The visited set (4 bytes per slot of the index) is not
 * counted: its size is the index's, not the walk's.
 */
static bool
scan_mem_exceeded(HnswScanOpaque so)
{
	double		bytes = (double) sizeof(HnswCand) *
	((double) so->W.cap + so->C.cap + so->D.cap + so->nbatch);

	return bytes > (double) work_mem * 1024.0 * hnsw_scan_mem_multiplier;
}

/*
 * next_batch: resume the walk for an iterative scan.  The nearest elements
 * evaluated but never returned seed W (and C, to be expanded); the walk then
 * continues with the kept candidates.  Once the candidate lists outgrow
 * hnsw.scan_mem_multiplier * work_mem, the walk stops and the batches are the
 * rest of D, nearest first (as pgvector does).  Returns false when nothing is
 * left or the hnsw.max_scan_tuples budget is spent.
 */
static bool
next_batch(HnswScanOpaque so)
{
	if (so->iterative == HNSW_ITERATIVE_OFF ||
		so->r.nfetched >= hnsw_max_scan_tuples)
		return false;
	so->W.n = 0;
	if (scan_mem_exceeded(so))
	{
		while (so->D.n > 0 && so->W.n < so->ef)
		{
			HnswCand	c = HnswHeapPop(&so->D);

			HnswHeapPush(&so->W, c.dist, c.id);
		}
		if (so->W.n == 0)
			return false;
		take_batch(so);
		return true;
	}
	while (so->D.n > 0 && so->W.n < so->ef)
	{
		HnswCand	c = HnswHeapPop(&so->D);

		HnswHeapPush(&so->W, c.dist, c.id);
		HnswHeapPush(&so->C, c.dist, c.id);
	}
	if (so->W.n == 0 && so->C.n == 0)
		return false;
	HnswSearchLayerDisk(&so->r, so->q, &so->W, &so->C, so->v, so->ef, 0, &so->D);
	if (so->W.n == 0)
		return false;
	take_batch(so);
	return true;
}

/* Let go of the page page_bytes holds (before a read that locks others). */
static void
drop_page(Buffer *buf, BlockNumber *bufblk)
{
	if (BufferIsValid(*buf))
		UnlockReleaseBuffer(*buf);
	*buf = InvalidBuffer;
	*bufblk = InvalidBlockNumber;
}

/*
 * page_bytes: the len bytes at stream offset off in place, when they lie
 * within one page, on the page held in *buf (pinned and share-locked; the
 * held page changes as the offsets move on, one pin per page), else NULL.
 */
static const char *
page_bytes(HnswReader *r, uint64 off, Size len, Buffer *buf, BlockNumber *bufblk)
{
	BlockNumber blk = HNSW_STREAM_BLOCK(off);
	uint32		in = HNSW_STREAM_INPAGE(off);

	if (in + len > HNSW_PAGE_DATA)
		return NULL;
	if (blk != *bufblk)
	{
		drop_page(buf, bufblk);
		*buf = HnswPinBlock(r, blk);
		LockBuffer(*buf, BUFFER_LOCK_SHARE);
		*bufblk = blk;
	}
	return (const char *) BufferGetPage(*buf) + HNSW_PAGE_DATA_START + in;
}

/*
 * prefetch_slot: hint the CPU at the header and the vector (area_bytes at
 * area) of the slot at stream offset off, through the buffer remembered
 * for its block (nothing when none is): the slots are far apart, so the
 * hardware prefetchers do not see them coming.
 */
#define HNSW_EXACT_AHEAD 3

static void
prefetch_slot(HnswReader *r, uint64 off, uint32 area, Size area_bytes)
{
	HnswRelCache *rc = (HnswRelCache *) r->index->rd_amcache;

	for (int part = 0; part < 2; part++)
	{
		uint64		o = part == 0 ? off : off + area;
		Size		len = part == 0 ? HNSW_ELEMENT_HEADER_SIZE : area_bytes;
		BlockNumber blk = HNSW_STREAM_BLOCK(o);
		uint32		in = HNSW_STREAM_INPAGE(o);
		const char *p;

		if (rc == NULL || blk >= rc->nrecent || rc->recent[blk] <= 0)
			return;
		p = (const char *) BufferGetBlock(rc->recent[blk]) + HNSW_PAGE_DATA_START + in;
		for (Size b = 0; b < len && in + b < HNSW_PAGE_DATA; b += 64)
			__builtin_prefetch(p + b);
	}
}

/*
 * exact_all: measure every element (vecsearch.exact_scan).  Slots are walked
 * in stream order, each header and vector read in place on its page
 * (page_bytes: one pin per page); what straddles two pages is copied out.
 * The vectors, not the codes: lower bounds from the codes with exact checks
 * of the rest ran slower on Fashion-MNIST (src/README, Codes).
 */
static void
exact_all(HnswScanOpaque so)
{
	HnswReader *r = &so->r;
	uint32		nslots = so->meta.next_slot;
	uint32		S = r->slot_size;
	Buffer		buf = InvalidBuffer;
	BlockNumber bufblk = InvalidBlockNumber;
	const float *q = so->q;
	uint32		area = r->vec_off;
	Size		area_bytes = (Size) r->dims * sizeof(float);
	char	   *copy = palloc(area_bytes);

	/* sized by the validated slot count: nelements bounds nothing */
	HnswHeapInit(&so->all, Max(Min(so->meta.nelements, nslots), 16), false);
	so->tids = palloc_extended(sizeof(ItemPointerData) * (Size) Max(nslots, 1), MCXT_ALLOC_HUGE);
	for (uint32 id = 0; id < nslots; id++)
	{
		uint64		off = (uint64) id * S;
		HnswElementHeader hdr;
		const char *p;

		if (id >= so->meta.packed_start && id < so->meta.packed_end)
		{
			id = so->meta.packed_end - 1;	/* the build's packed upper
											 * records */
			continue;
		}
		if ((id & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		prefetch_slot(r, (uint64) (id + HNSW_EXACT_AHEAD) * S, area, area_bytes);
		p = page_bytes(r, off, HNSW_ELEMENT_HEADER_SIZE, &buf, &bufblk);
		if (p != NULL)
			memcpy(&hdr, p, HNSW_ELEMENT_HEADER_SIZE);
		else
		{
			drop_page(&buf, &bufblk);
			HnswReadBytes(r, off, &hdr, HNSW_ELEMENT_HEADER_SIZE);
		}
		if (hdr.kind == HNSW_KIND_ELEMENT)
		{
			so->tids[id] = hdr.heaptid;
			p = page_bytes(r, off + area, area_bytes, &buf, &bufblk);
			if (p == NULL)
			{
				drop_page(&buf, &bufblk);
				HnswReadBytes(r, off + area, copy, area_bytes);
				p = copy;
			}
			HnswHeapPush(&so->all, r->dist(q, (const float *) p, r->dims), id);
			continue;
		}
		if (hdr.kind == HNSW_KIND_UPPER)
		{
			HnswUpperHeader *uh = (HnswUpperHeader *) &hdr;

			id += HnswUpperSlots(r, id, uh->level) - 1;
		}
	}
	drop_page(&buf, &bufblk);
	pfree(copy);
}

/* Prepare the query vector and run the first search. */
static void
start_scan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	ScanKey		key = &scan->orderByData[0];
	Vector	   *v = NULL;

	so->meta = HnswReadMeta(index);
	HnswReaderInit(&so->r, index, &so->meta);
	so->ef = HnswGetEfSearch(index);
	so->iterative = hnsw_iterative_scan;
	so->exact = vs_exact_scan;
	so->q = palloc0(sizeof(float) * Max(so->meta.dims, 1));

	/*
	 * the query's layout (1..VECTOR_MAX_DIM dimensions) and values, even on
	 * an empty index
	 */
	if (!(key->sk_flags & SK_ISNULL))
	{
		v = DatumGetVector(key->sk_argument);
		CheckVectorFinite(v->x, v->dim, "the query");
	}
	if (so->meta.dims == 0 || so->meta.entry_id == HNSW_INVALID_ID)
	{
		so->exhausted = true;
		return;
	}
	/* a NULL query orders nothing; like pgvector, scan with a zero vector */
	if (v != NULL)
	{
		if (v->dim != (int) so->meta.dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected %u dimensions, not %d", so->meta.dims, v->dim)));
		memcpy(so->q, v->x, sizeof(float) * so->meta.dims);
		(void) HnswPrepareVector(so->meta.metric, so->q, so->meta.dims);
	}

	if (so->exact)
		exact_all(so);
	else
		first_batch(so);
}

/* amgettuple */
bool
hnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext old;

	if (scan->numberOfOrderBys == 0 || scan->orderByData[0].sk_attno != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot scan hnsw index without order")));

	old = MemoryContextSwitchTo(so->ctx);
	if (so->first)
	{
		pgstat_count_index_scan(scan->indexRelation);
		so->first = false;
		start_scan(scan);
	}

	if (so->exact)
	{
		if (!so->exhausted && so->all.n > 0)
		{
			HnswCand	c = HnswHeapPop(&so->all);

			check_heaptid(scan, c.id, &so->tids[c.id]);
			scan->xs_heaptid = so->tids[c.id];
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			MemoryContextSwitchTo(old);
			return true;
		}
		MemoryContextSwitchTo(old);
		return false;
	}

	while (!so->exhausted)
	{
		while (so->next < so->nbatch)
		{
			HnswCand	c = so->batch[so->next++];
			HnswElementHeader hdr;

			if (so->iterative == HNSW_ITERATIVE_STRICT && so->returned_any &&
				c.dist < so->lastdist)
				continue;
			HnswReadHeader(&so->r, c.id, &hdr);
			if (hdr.kind != HNSW_KIND_ELEMENT)
				continue;
			check_heaptid(scan, c.id, &hdr.heaptid);
			so->lastdist = c.dist;
			so->returned_any = true;
			scan->xs_heaptid = hdr.heaptid;
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			MemoryContextSwitchTo(old);
			return true;
		}
		if (!next_batch(so))
			so->exhausted = true;
	}
	MemoryContextSwitchTo(old);
	return false;
}

/* amendscan */
void
hnswendscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	HnswVisitedRelease(so->v);
	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
