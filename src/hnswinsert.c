/*
 * hnswinsert.c: aminsert for hnsw, and the on-disk insert used by it and by
 * builds that outgrow maintenance_work_mem.  WAL through GenericXLog.
 *
 * Steps (numbered as in src/README, "Insert"):
 *  1. read the metapage; draw the level from a generator seeded by the
 *     index seed and the heap TID (reproducible);
 *  2. search the graph with no lock held across page accesses (HNSW paper
 *     Alg. 1: greedy descent, then SEARCH-LAYER with ef_construction per
 *     layer, Alg. 4 heuristic picks at most m neighbours);
 *  3. lock the metapage, allocate the slots (a slot VACUUM freed of the
 *     same level, with its upper record; else slots at the end), extend the
 *     relation, unlock;
 *  4. write the element (vector, lists, upper record) before anyone links it;
 *  5. add the backlinks, one neighbour list at a time, with a
 *     compare-and-write under exclusive page locks (retry if it changed);
 *  6. if the new level is above the entry point's, lock the metapage and
 *     make the new element the entry point.
 * Lock order: metapage before slot pages; slot pages in ascending block
 * order; at most one list (two pages) locked at a time outside step 3.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/* Blocks needed to hold slots [0, nslots). */
static BlockNumber
blocks_for_slots(uint64 nslots, uint32 slot_size)
{
	uint64		bytes = nslots * slot_size;

	return (BlockNumber) (1 + (bytes + HNSW_PAGE_DATA - 1) / HNSW_PAGE_DATA);
}

/* Extend the index to at least need blocks (metapage lock held). */
static void
ensure_blocks(Relation index, BlockNumber need)
{
	BlockNumber nblocks;

	if (RelationGetNumberOfBlocks(index) >= need)
		return;
	LockRelationForExtension(index, ExclusiveLock);
	nblocks = RelationGetNumberOfBlocks(index);
	while (nblocks < need)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
		GenericXLogState *state;
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
		HnswInitSlotPage(page);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
		nblocks++;
	}
	UnlockRelationForExtension(index, ExclusiveLock);
}

/*
 * HnswWriteBytes: copy len bytes into the slot stream at off, in GenericXLog
 * records of at most MAX_GENERIC_XLOG_PAGES pages locked in ascending order.
 */
void
HnswWriteBytes(Relation index, uint64 off, const void *src, Size len)
{
	const char *s = src;

	while (len > 0)
	{
		GenericXLogState *state = GenericXLogStart(index);
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		int			nb = 0;

		while (len > 0 && nb < MAX_GENERIC_XLOG_PAGES)
		{
			BlockNumber blk = HNSW_STREAM_BLOCK(off);
			uint32		in = HNSW_STREAM_INPAGE(off);
			Size		chunk = Min(len, (Size) (HNSW_PAGE_DATA - in));
			Buffer		buf = ReadBuffer(index, blk);
			Page		page;

			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			page = GenericXLogRegisterBuffer(state, buf, 0);
			memcpy((char *) page + HNSW_PAGE_DATA_START + in, s, chunk);
			bufs[nb++] = buf;
			s += chunk;
			off += chunk;
			len -= chunk;
		}
		GenericXLogFinish(state);
		for (int i = 0; i < nb; i++)
			UnlockReleaseBuffer(bufs[i]);
	}
}

/*
 * HnswWriteIfUnchanged: replace len bytes at off (a neighbour list, at most two
 * pages) with newbytes if they still equal expected.  Returns false, changing
 * nothing, when a concurrent writer got there first.
 */
bool
HnswWriteIfUnchanged(Relation index, uint64 off, const void *expected,
				   const void *newbytes, Size len)
{
	Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
	int			nb = 0;
	uint64		o = off;
	Size		left = len;
	Size		done = 0;
	bool		same = true;
	GenericXLogState *state;

	/* lock in ascending block order and compare */
	while (left > 0)
	{
		BlockNumber blk = HNSW_STREAM_BLOCK(o);
		uint32		in = HNSW_STREAM_INPAGE(o);
		Size		chunk = Min(left, (Size) (HNSW_PAGE_DATA - in));
		Buffer		buf;

		Assert(nb < MAX_GENERIC_XLOG_PAGES);
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		bufs[nb++] = buf;
		if (memcmp((char *) BufferGetPage(buf) + HNSW_PAGE_DATA_START + in,
				   (const char *) expected + done, chunk) != 0)
			same = false;
		o += chunk;
		left -= chunk;
		done += chunk;
	}
	if (same)
	{
		state = GenericXLogStart(index);
		o = off;
		left = len;
		done = 0;
		for (int i = 0; i < nb; i++)
		{
			uint32		in = HNSW_STREAM_INPAGE(o);
			Size		chunk = Min(left, (Size) (HNSW_PAGE_DATA - in));
			Page		page = GenericXLogRegisterBuffer(state, bufs[i], 0);

			memcpy((char *) page + HNSW_PAGE_DATA_START + in,
				   (const char *) newbytes + done, chunk);
			o += chunk;
			left -= chunk;
			done += chunk;
		}
		GenericXLogFinish(state);
	}
	for (int i = 0; i < nb; i++)
		UnlockReleaseBuffer(bufs[i]);
	return same;
}

/*
 * HnswAddBacklink: add newid (at distance d from nb) to nb's list on layer;
 * when full, re-select from the members plus newid with the heuristic.  The
 * write is a compare-and-write, retried a few times when a concurrent insert
 * or VACUUM changed the list meanwhile (then the link is dropped: a missing
 * backlink costs recall, never correctness).  With force, a full list that
 * the heuristic would not open to newid gives up its last (farthest kept)
 * entry instead, so that a new element always has an incoming link.
 * Returns true when newid is in the list afterwards.
 */
bool
HnswAddBacklink(HnswReader *r, uint32 nb, uint32 newid, int layer, float d,
			 bool force)
{
	bool		linked = false;
	int			cap;
	uint32		cur[2 * HNSW_M_MAX];
	uint32		upd[2 * HNSW_M_MAX];
	HnswCand	cands[2 * HNSW_M_MAX + 1];
	HnswDiskPair ps;

	ps.r = r;
	ps.cached = HNSW_INVALID_ID;
	ps.vec = palloc(sizeof(float) * r->dims);

	for (int attempt = 0; attempt < 5; attempt++)
	{
		uint64		off = HnswListOffset(r, nb, layer, &cap);
		int			n = 0;
		bool		present = false;

		if (off == 0)
			break;
		HnswReadBytes(r, off, cur, sizeof(uint32) * cap);
		while (n < cap && cur[n] != HNSW_INVALID_ID)
		{
			if (cur[n] == newid)
				present = true;
			n++;
		}
		if (present)
		{
			linked = true;
			break;
		}
		memcpy(upd, cur, sizeof(uint32) * cap);
		if (n < cap)
			upd[n] = newid;
		else
		{
			int			nsel;
			bool		kept = false;
			float	   *nbvec = palloc(sizeof(float) * r->dims);

			HnswReadBytes(r, (uint64) nb * r->slot_size + HNSW_VECTOR_OFFSET(r->m),
						  nbvec, sizeof(float) * r->dims);
			for (int i = 0; i < n; i++)
			{
				cands[i].id = cur[i];
				cands[i].dist = HnswSlotDistance(r, cur[i], nbvec);
			}
			pfree(nbvec);
			cands[n].id = newid;
			cands[n].dist = d;
			qsort(cands, n + 1, sizeof(HnswCand), HnswCandCmp);
			nsel = HnswSelectNeighbors(cands, n + 1, cap, HnswPairDistDisk, &ps, upd);
			for (int i = 0; i < nsel; i++)
				if (upd[i] == newid)
					kept = true;
			for (int i = nsel; i < cap; i++)
				upd[i] = HNSW_INVALID_ID;
			if (!kept)
			{
				if (!force)
					break;
				memcpy(upd, cur, sizeof(uint32) * cap);
				upd[cap - 1] = newid;
			}
		}
		if (HnswWriteIfUnchanged(r->index, off, cur, upd, sizeof(uint32) * cap))
		{
			linked = true;
			break;
		}
	}
	pfree(ps.vec);
	return linked;
}

/* Is element id a live element (not deleted, not free)? */
static bool
is_live(HnswReader *r, uint32 id)
{
	HnswElementHeader hdr;

	HnswReadHeader(r, id, &hdr);
	return hdr.kind == HNSW_KIND_ELEMENT;
}

/*
 * peek_free: the first slot of the free list of level (metapage lock held,
 * mp the locked metapage, its heads validated by HnswMetaProblem), or
 * HNSW_INVALID_ID.  *fh gets its header and *next the slot after it.  A head
 * that is not a deleted element of that level sets *dropped: the caller
 * empties the list (its slots stay unused until a REINDEX).  A link or an
 * upper record outside the slots is damage (HnswCorrupt).
 */
static uint32
peek_free(HnswReader *r, Relation index, const HnswMetaPageData *mp, int level,
		  HnswElementHeader *fh, uint32 *next, bool *dropped)
{
	uint32		head = HnswFreeHead(mp, level);
	uint32		upper;

	if (head == HNSW_INVALID_ID)
		return HNSW_INVALID_ID;
	if (head >= mp->next_slot ||
		(head >= mp->packed_start && head < mp->packed_end))
		HnswCorrupt(index, "free list head %u of level %d is not an element slot (%u slots)",
					head, level, mp->next_slot);
	HnswReadHeader(r, head, fh);
	if (fh->kind != HNSW_KIND_DELETED || fh->level != level)
	{
		elog(WARNING, "hnsw index \"%s\": free slot %u of level %d is not a deleted element of that level (kind %d, level %d); free list dropped",
			 RelationGetRelationName(index), head, level, fh->kind, fh->level);
		*dropped = true;
		return HNSW_INVALID_ID;
	}
	/* a damaged link must not reach the metapage (HnswMetaProblem) */
	*next = BlockIdGetBlockNumber(&fh->heaptid.ip_blkid);
	if (*next != HNSW_INVALID_ID &&
		(*next >= mp->next_slot ||
		 (*next >= mp->packed_start && *next < mp->packed_end)))
		HnswCorrupt(index, "free slot %u links to slot %u, outside the %u element slots",
					head, *next, mp->next_slot);
	upper = HnswHeaderUpper(fh);
	if (level > 0 &&
		(upper == HNSW_INVALID_ID || fh->upper_off >= mp->slot_size ||
		 (uint64) upper * mp->slot_size + fh->upper_off +
		 HNSW_UPPER_BYTES(mp->m, level) > (uint64) mp->next_slot * mp->slot_size))
		HnswCorrupt(index, "free slot %u of level %d has its upper record at slot %u offset %u, outside the %u slots",
					head, level, upper, fh->upper_off, mp->next_slot);
	return head;
}

/*
 * HnswInsertVector: insert vector x (dims floats) for heaptid into the graph
 * on disk.  x is in stored form already when prepared is true; otherwise it
 * is modified in place (normalised for cosine) and a zero vector under cosine
 * is skipped.  Returns false when nothing was inserted.
 */
bool
HnswInsertVector(Relation index, float *x, int dims, ItemPointer heaptid,
				 bool prepared)
{
	HnswMetaPageData meta;
	HnswReader	r;
	int			level;
	int			m;
	int			top;
	uint32		(*nbrs)[HNSW_M_MAX];
	float		(*nbrd)[HNSW_M_MAX];
	int			nnbrs[HNSW_MAX_LEVEL + 1];
	uint32		id;
	uint32		upper;
	uint32		uslots;
	Buffer		metabuf;
	GenericXLogState *state;
	HnswMetaPageData *mp;
	char	   *rec;
	char	   *uprec;
	Size		uplen;
	uint32		slot_size;
	uint32		next_slot;
	uint16		upper_off;
	Page		metapage;
	bool		searched_empty;
	int			reuse_level;
	uint32		reuse_next = HNSW_INVALID_ID;
	HnswElementHeader fh;
	bool		drop[2] = {false, false};
	HnswRng		rng;

	meta = HnswReadMeta(index);
	if (meta.dims == 0)
	{
		/* first vector of an index built empty: freeze the dimensions */
		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		mp = (HnswMetaPageData *) PageGetContents(BufferGetPage(metabuf));
		if (mp->dims == 0)
		{
			state = GenericXLogStart(index);
			mp = (HnswMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(state, metabuf, 0));
			mp->dims = dims;
			mp->slot_size = HNSW_SLOT_SIZE(mp->m, dims);
			GenericXLogFinish(state);
		}
		UnlockReleaseBuffer(metabuf);
		meta = HnswReadMeta(index);
	}
	if ((int) meta.dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", meta.dims, dims)));
	if (!prepared && !HnswPrepareVector(meta.metric, x, dims))
		return false;

	/*
	 * The level comes from the index seed and the heap TID, so inserting the
	 * same rows into the same heap gives the same graph.
	 */
	HnswRngSeed(&rng, ((uint64) meta.seed << 32) ^
				((uint64) ItemPointerGetBlockNumber(heaptid) << 16) ^
				ItemPointerGetOffsetNumber(heaptid));
	(void) HnswRngNext(&rng);
	m = meta.m;
	level = HnswRandomLevel(&rng, m);
	nbrs = palloc(sizeof(uint32) * HNSW_M_MAX * (level + 1));
	nbrd = palloc(sizeof(float) * HNSW_M_MAX * (level + 1));

retry:
	HnswReaderInit(&r, index, &meta);
	memset(nnbrs, 0, sizeof(nnbrs));
	searched_empty = meta.entry_id == HNSW_INVALID_ID;
	top = Min(level, meta.entry_level);
	if (!searched_empty)
	{
		uint32		ep = meta.entry_id;
		float		epd = HnswSlotDistance(&r, ep, x);
		HnswHeap	W,
					C;
		HnswVisited *v;
		HnswCand   *eps = palloc(sizeof(HnswCand) * (meta.ef_construction + 1));
		int			neps = 1;
		HnswDiskPair ps;

		ps.r = &r;
		ps.cached = HNSW_INVALID_ID;
		ps.vec = palloc(sizeof(float) * dims);
		HnswDescendDisk(&r, x, &ep, &epd, meta.entry_level, level);
		eps[0].id = ep;
		eps[0].dist = epd;
		HnswHeapInit(&W, meta.ef_construction + 2, true);
		HnswHeapInit(&C, meta.ef_construction * 4, false);
		v = HnswVisitedAcquire(meta.next_slot);
		for (int layer = top; layer >= 0; layer--)
		{
			HnswCand   *live;
			int			nlive = 0;
			int			ncands;

			HnswVisitedReset(v, meta.next_slot);
			W.n = 0;
			C.n = 0;
			for (int i = 0; i < neps; i++)
			{
				HnswVisitedSet(v, eps[i].id);
				HnswHeapPush(&W, eps[i].dist, eps[i].id);
				HnswHeapPush(&C, eps[i].dist, eps[i].id);
			}
			HnswSearchLayerDisk(&r, x, &W, &C, v, meta.ef_construction, layer, NULL);
			ncands = W.n;
			for (int i = ncands - 1; i >= 0; i--)
				eps[i] = HnswHeapPop(&W);
			neps = ncands;
			/* deleted elements stay walkable but are never chosen */
			live = palloc(sizeof(HnswCand) * Max(ncands, 1));
			for (int i = 0; i < ncands; i++)
				if (is_live(&r, eps[i].id))
					live[nlive++] = eps[i];
			nnbrs[layer] = HnswSelectNeighbors(live, nlive, m, HnswPairDistDisk, &ps, nbrs[layer]);
			for (int i = 0; i < nnbrs[layer]; i++)
				for (int j = 0; j < nlive; j++)
					if (live[j].id == nbrs[layer][i])
					{
						nbrd[layer][i] = live[j].dist;
						break;
					}
			pfree(live);
		}
		HnswVisitedRelease(v);
	}

	/* step 3: allocate the slots */
	metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	mp = (HnswMetaPageData *) PageGetContents(BufferGetPage(metabuf));
	if (searched_empty && mp->entry_id != HNSW_INVALID_ID)
	{
		/* a concurrent insert created the graph meanwhile: search it */
		meta = *mp;
		UnlockReleaseBuffer(metabuf);
		goto retry;
	}
	slot_size = mp->slot_size;
	uslots = level > 0 ? HNSW_UPPER_SLOTS(m, level, slot_size) : 0;
	if ((uint64) mp->next_slot + 1 + uslots >= HNSW_INVALID_ID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw index \"%s\" is full (%u slots)",
						RelationGetRelationName(index), mp->next_slot)));

	/*
	 * A slot VACUUM freed (src/README, "Vacuum"): one of the same level with
	 * its upper record, else, for a level > 0, a level-0 slot and a new upper
	 * record at the end, else new slots at the end.
	 */
	next_slot = mp->next_slot;
	upper = HNSW_INVALID_ID;
	upper_off = 0;
	reuse_level = -1;
	id = peek_free(&r, index, mp, level, &fh, &reuse_next, &drop[0]);
	if (id != HNSW_INVALID_ID)
	{
		reuse_level = level;
		if (level > 0)
		{
			upper = HnswHeaderUpper(&fh);
			upper_off = fh.upper_off;
		}
	}
	else if (level > 0 &&
			 (id = peek_free(&r, index, mp, 0, &fh, &reuse_next, &drop[1])) != HNSW_INVALID_ID)
		reuse_level = 0;
	if (reuse_level != level)
	{
		/* new slots: the element's (unless reused) and its upper record's */
		if (id == HNSW_INVALID_ID)
			id = next_slot++;
		if (level > 0)
		{
			upper = next_slot;
			next_slot += uslots;
		}
		ensure_blocks(index, blocks_for_slots(next_slot, slot_size));
	}

	/*
	 * A reused slot may be one the search chose as a neighbour, if VACUUM
	 * freed it meanwhile: never link the element to itself.
	 */
	if (reuse_level >= 0)
		for (int layer = 0; layer <= top; layer++)
		{
			int			k = 0;

			for (int i = 0; i < nnbrs[layer]; i++)
				if (nbrs[layer][i] != id)
				{
					nbrs[layer][k] = nbrs[layer][i];
					nbrd[layer][k] = nbrd[layer][i];
					k++;
				}
			nnbrs[layer] = k;
		}

	/*
	 * step 4: the element slot and the upper record, lists filled; a new
	 * upper record takes its uslots slots whole, a reused one its bytes
	 */
	rec = palloc0(slot_size);
	uplen = level == 0 ? 0 :
		reuse_level == level ? HNSW_UPPER_BYTES(m, level) : (Size) uslots * slot_size;
	uprec = level > 0 ? palloc0(uplen) : NULL;
	{
		HnswElementHeader *hdr = (HnswElementHeader *) rec;
		uint32	   *l0 = (uint32 *) (rec + HNSW_LIST0_OFFSET);

		hdr->heaptid = *heaptid;
		/* unseen by whole-index passes until complete (below) */
		hdr->kind = reuse_level >= 0 ? HNSW_KIND_DELETED : HNSW_KIND_FREE;
		hdr->level = level;
		HnswHeaderSetUpper(hdr, upper, upper_off);
		for (int i = 0; i < 2 * m; i++)
			l0[i] = i < nnbrs[0] ? nbrs[0][i] : HNSW_INVALID_ID;
		memcpy(rec + HNSW_VECTOR_OFFSET(m), x, sizeof(float) * dims);
		if (level > 0)
		{
			HnswUpperHeader *uh = (HnswUpperHeader *) uprec;
			uint32	   *ul = (uint32 *) (uprec + HNSW_UPPER_HEADER_SIZE);

			uh->owner = id;
			uh->kind = HNSW_KIND_UPPER;
			uh->level = level;
			for (int l = 1; l <= level; l++)
				for (int i = 0; i < m; i++)
					ul[(l - 1) * m + i] = (l <= top && i < nnbrs[l]) ? nbrs[l][i] : HNSW_INVALID_ID;
		}
	}

	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	mp = (HnswMetaPageData *) PageGetContents(metapage);
	if (drop[0])
		HnswSetFreeHead(metapage, level, HNSW_INVALID_ID);
	if (drop[1])
		HnswSetFreeHead(metapage, 0, HNSW_INVALID_ID);
	if (reuse_level >= 0)
		HnswSetFreeHead(metapage, reuse_level, reuse_next);
	mp->next_slot = next_slot;
	mp->nelements++;
	if (mp->entry_id == HNSW_INVALID_ID)
	{
		/* the first element becomes the entry point under the meta lock */
		((HnswElementHeader *) rec)->kind = HNSW_KIND_ELEMENT;
		mp->entry_id = id;
		mp->entry_level = level;
		GenericXLogFinish(state);
		if (level > 0)
			HnswWriteBytes(index, (uint64) upper * slot_size + upper_off, uprec, uplen);
		HnswWriteBytes(index, (uint64) id * slot_size, rec, slot_size);
		UnlockReleaseBuffer(metabuf);
		return true;
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);

	/*
	 * Write the upper record, then the element with kind FREE (DELETED for a
	 * reused slot), then flip the kind: a record spanning more pages than one
	 * GenericXLog record holds becomes visible to whole-index passes (exact
	 * scan, VACUUM, checker) only once complete.
	 */
	if (level > 0)
		HnswWriteBytes(index, (uint64) upper * slot_size + upper_off, uprec, uplen);
	HnswWriteBytes(index, (uint64) id * slot_size, rec, slot_size);
	{
		uint8		kind = HNSW_KIND_ELEMENT;

		HnswWriteBytes(index, (uint64) id * slot_size + offsetof(HnswElementHeader, kind),
					&kind, 1);
	}

	/* step 5: backlinks */
	for (int layer = top; layer >= 0; layer--)
	{
		bool		linked = false;

		for (int i = 0; i < nnbrs[layer]; i++)
			linked |= HnswAddBacklink(&r, nbrs[layer][i], id, layer, nbrd[layer][i], false);
		/* nobody kept the new element on layer 0: make its nearest keep it */
		if (layer == 0 && !linked && nnbrs[0] > 0)
			(void) HnswAddBacklink(&r, nbrs[0][0], id, 0, nbrd[0][0], true);
	}

	/* step 6: a new top level moves the entry point */
	if (level > meta.entry_level)
	{
		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		mp = (HnswMetaPageData *) PageGetContents(BufferGetPage(metabuf));
		if (level > mp->entry_level)
		{
			state = GenericXLogStart(index);
			mp = (HnswMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(state, metabuf, 0));
			mp->entry_id = id;
			mp->entry_level = level;
			GenericXLogFinish(state);
		}
		UnlockReleaseBuffer(metabuf);
	}
	return true;
}

/* aminsert */
bool
hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		   IndexInfo *indexInfo)
{
	MemoryContext ctx;
	MemoryContext old;
	Vector	   *v;
	float	   *x;

	if (isnull[0])
		return false;
	ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ctx);
	/* an impossible value (0 dimensions, NaN) is refused before it can set dims */
	v = DatumGetRowVector(values[0], heap, heap_tid, true);
	x = palloc(sizeof(float) * v->dim);
	memcpy(x, v->x, sizeof(float) * v->dim);
	HnswInsertVector(index, x, v->dim, heap_tid, false);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return false;
}
