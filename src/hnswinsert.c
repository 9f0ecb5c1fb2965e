/*
 * hnswinsert.c: aminsert for hnsw, and the on-disk insert it shares with
 * builds that outgrow maintenance_work_mem.  Entry points: hnswinsert,
 * HnswInsertVector (one static function per numbered step, a retry loop in
 * the caller), and the page writers HnswWriteBytes, HnswWriteIfUnchanged and
 * HnswAddBacklink, which VACUUM uses too.  WAL through GenericXLog.
 *
 * See src/README, sections "Insert" and "Concurrency".
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

	Assert(nb != newid);
	Assert(layer >= 0 && layer <= HNSW_MAX_LEVEL);
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

			HnswReadBytes(r, (uint64) nb * r->slot_size + r->vec_off,
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
			nsel = HnswSelectNeighbors(r->metric, cands, n + 1, cap, HnswPairDistDisk, &ps, upd);
			Assert(nsel <= cap);
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
	if (!HnswIsElementSlot(mp, head))
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
	if (*next != HNSW_INVALID_ID && !HnswIsElementSlot(mp, *next))
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

/* State of one on-disk insert, filled step by step. */
typedef struct InsertState
{
	Relation	index;
	float	   *x;				/* the vector, in stored form */
	int			dims;
	ItemPointer heaptid;
	HnswMetaPageData meta;		/* the metapage as last read */
	HnswReader	r;
	int			m;
	int			level;			/* of the new element */

	/* step 2: the chosen neighbours per layer 0..top, nearest first */
	bool		searched_empty; /* the graph had no entry point */
	int			top;			/* Min(level, entry level) */
	uint32		(*nbrs)[HNSW_M_MAX];
	float		(*nbrd)[HNSW_M_MAX];
	int			nnbrs[HNSW_MAX_LEVEL + 1];

	/* step 3: where the element goes */
	uint32		slot_size;
	uint32		id;				/* element slot */
	uint32		upper;			/* first slot of its upper record */
	uint16		upper_off;		/* byte offset of the record in that slot */
	uint32		uslots;			/* slots of a new upper record */
	int			reuse_level;	/* free list the slot came from, or -1 */
	bool		first;			/* it is the entry point of an empty graph */
	Buffer		metabuf;		/* locked until step 4 when first */
} InsertState;

/*
 * Step 1: read the metapage (the first vector of an index built empty
 * freezes the dimensions), check and prepare x, and draw the level from a
 * generator seeded by the index seed and the heap TID, so inserting the
 * same rows into the same heap gives the same graph.  Returns false when x
 * is not indexed (a zero vector under cosine).
 */
static bool
insert_begin(InsertState *is, Relation index, float *x, int dims,
			 ItemPointer heaptid, bool prepared)
{
	VsRandom	rng;

	memset(is, 0, sizeof(InsertState));
	is->index = index;
	is->x = x;
	is->dims = dims;
	is->heaptid = heaptid;
	is->metabuf = InvalidBuffer;
	is->meta = HnswReadMeta(index);
	if (is->meta.dims == 0)
	{
		Buffer		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);

		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		if (HnswPageGetMeta(BufferGetPage(metabuf))->dims == 0)
		{
			HnswMetaUpdate upd;

			HnswMetaUpdateInit(&upd);
			upd.dims = dims;
			HnswUpdateMetaPage(index, metabuf, &upd);
		}
		UnlockReleaseBuffer(metabuf);
		is->meta = HnswReadMeta(index);
	}
	if ((int) is->meta.dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", is->meta.dims, dims)));
	if (!prepared && !HnswPrepareVector(is->meta.metric, x, dims))
		return false;

	HnswLevelSeed(&rng, ((uint64) is->meta.seed << 32) ^
				  ((uint64) ItemPointerGetBlockNumber(heaptid) << 16) ^
				  ItemPointerGetOffsetNumber(heaptid));
	(void) vs_random_next(&rng);
	is->m = is->meta.m;
	is->level = HnswRandomLevel(&rng, is->m);
	Assert(is->level >= 0 && is->level <= HNSW_MAX_LEVEL);
	is->nbrs = palloc(sizeof(uint32) * HNSW_M_MAX * (is->level + 1));
	is->nbrd = palloc(sizeof(float) * HNSW_M_MAX * (is->level + 1));
	return true;
}

/*
 * Step 2: search the graph of is->meta as the build does (greedy descent,
 * then SEARCH-LAYER with ef_construction on each layer from top down, the
 * heuristic choosing at most m live neighbours), with no lock held across
 * page accesses.  Deleted elements are walked through but never chosen.
 */
static void
search_neighbours(InsertState *is)
{
	HnswReader *r = &is->r;
	int			efc = is->meta.ef_construction;
	uint32		ep;
	float		epd;
	HnswHeap	W,
				C;
	HnswVisited *v;
	HnswCand   *eps;
	int			neps = 1;
	HnswDiskPair ps;

	HnswReaderInit(r, is->index, &is->meta);
	memset(is->nnbrs, 0, sizeof(is->nnbrs));
	is->searched_empty = is->meta.entry_id == HNSW_INVALID_ID;
	is->top = Min(is->level, is->meta.entry_level);
	if (is->searched_empty)
		return;

	ep = is->meta.entry_id;
	epd = HnswWalkDistance(r, ep, is->x);
	eps = palloc(sizeof(HnswCand) * (efc + 1));
	ps.r = r;
	ps.cached = HNSW_INVALID_ID;
	ps.vec = palloc(sizeof(float) * is->dims);
	HnswDescendDisk(r, is->x, &ep, &epd, is->meta.entry_level, is->level);
	eps[0].id = ep;
	eps[0].dist = epd;
	HnswHeapInit(&W, efc + 2, true);
	HnswHeapInit(&C, efc * 4, false);
	v = HnswVisitedAcquire(is->meta.next_slot);
	for (int layer = is->top; layer >= 0; layer--)
	{
		HnswCand   *live;
		int			nlive = 0;
		int			ncands;

		HnswVisitedReset(v, is->meta.next_slot);
		W.n = 0;
		C.n = 0;
		for (int i = 0; i < neps; i++)
		{
			HnswVisitedSet(v, eps[i].id);
			HnswHeapPush(&W, eps[i].dist, eps[i].id);
			HnswHeapPush(&C, eps[i].dist, eps[i].id);
		}
		HnswSearchLayerDisk(r, is->x, &W, &C, v, efc, layer, NULL);
		ncands = W.n;
		for (int i = ncands - 1; i >= 0; i--)
			eps[i] = HnswHeapPop(&W);
		neps = ncands;
		if (r->codes != HNSW_CODES_NONE)
			HnswRerank(r, is->x, eps, ncands);
		live = palloc(sizeof(HnswCand) * Max(ncands, 1));
		for (int i = 0; i < ncands; i++)
			if (is_live(r, eps[i].id))
				live[nlive++] = eps[i];
		is->nnbrs[layer] = HnswSelectNeighbors(r->metric, live, nlive, is->m,
											   HnswPairDistDisk, &ps, is->nbrs[layer]);
		Assert(is->nnbrs[layer] <= is->m);
		for (int i = 0; i < is->nnbrs[layer]; i++)
			for (int j = 0; j < nlive; j++)
				if (live[j].id == is->nbrs[layer][i])
				{
					is->nbrd[layer][i] = live[j].dist;
					break;
				}
		pfree(live);
	}
	HnswVisitedRelease(v);
}

/* Record in upd that the free list of level gets head id. */
static void
set_free_head(HnswMetaUpdate *upd, int level, uint32 id)
{
	upd->set_free[level] = true;
	upd->free_head[level] = id;
}

/*
 * Step 3, the choice of slots (metapage lock held, mp the locked metapage):
 * a slot VACUUM freed of the same level with its upper record, else, for a
 * level > 0, a level-0 slot and a new upper record at the end, else new
 * slots at the end (src/README, "Free lists").  Fills is->id, upper,
 * upper_off and reuse_level, records the free list heads in upd, extends the
 * relation for new slots and returns the new next_slot.
 */
static uint32
take_slots(InsertState *is, const HnswMetaPageData *mp, HnswMetaUpdate *upd)
{
	uint32		next_slot = mp->next_slot;
	uint32		reuse_next = HNSW_INVALID_ID;
	HnswElementHeader fh;
	bool		dropped = false;
	uint32		id;

	is->upper = HNSW_INVALID_ID;
	is->upper_off = 0;
	is->reuse_level = -1;
	id = peek_free(&is->r, is->index, mp, is->level, &fh, &reuse_next, &dropped);
	if (dropped)
		set_free_head(upd, is->level, HNSW_INVALID_ID);
	if (id != HNSW_INVALID_ID)
	{
		is->reuse_level = is->level;
		if (is->level > 0)
		{
			is->upper = HnswHeaderUpper(&fh);
			is->upper_off = fh.upper_off;
		}
	}
	else if (is->level > 0)
	{
		dropped = false;
		id = peek_free(&is->r, is->index, mp, 0, &fh, &reuse_next, &dropped);
		if (dropped)
			set_free_head(upd, 0, HNSW_INVALID_ID);
		if (id != HNSW_INVALID_ID)
			is->reuse_level = 0;
	}
	if (is->reuse_level >= 0)
		set_free_head(upd, is->reuse_level, reuse_next);
	if (is->reuse_level != is->level)
	{
		/* new slots: the element's (unless reused) and its upper record's */
		if (id == HNSW_INVALID_ID)
			id = next_slot++;
		if (is->level > 0)
		{
			is->upper = next_slot;
			next_slot += is->uslots;
		}
		ensure_blocks(is->index, blocks_for_slots(next_slot, is->slot_size));
	}
	is->id = id;
	Assert(id < next_slot);
	Assert(is->level == 0 || is->upper < next_slot);
	return next_slot;
}

/*
 * A reused slot may be one the search chose as a neighbour, if VACUUM freed
 * it meanwhile: never link the element to itself (a new slot can only be
 * among them in a damaged index).
 */
static void
drop_self_links(InsertState *is)
{
	for (int layer = 0; layer <= is->top; layer++)
	{
		int			k = 0;

		for (int i = 0; i < is->nnbrs[layer]; i++)
			if (is->nbrs[layer][i] != is->id)
			{
				is->nbrs[layer][k] = is->nbrs[layer][i];
				is->nbrd[layer][k] = is->nbrd[layer][i];
				k++;
			}
		is->nnbrs[layer] = k;
	}
}

/*
 * Step 3: lock the metapage and allocate the slots (take_slots), then update
 * the metapage; the first element of an empty graph becomes the entry point
 * there and keeps the lock until it is written (step 4).  Returns false,
 * changing nothing, when the search found the graph empty and a concurrent
 * insert has created it since: the caller searches again.
 */
static bool
allocate_slots(InsertState *is)
{
	Buffer		metabuf = ReadBuffer(is->index, HNSW_METAPAGE_BLKNO);
	HnswMetaPageData *mp;
	HnswMetaUpdate upd;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	mp = HnswPageGetMeta(BufferGetPage(metabuf));
	if (is->searched_empty && mp->entry_id != HNSW_INVALID_ID)
	{
		is->meta = *mp;
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	is->slot_size = mp->slot_size;
	is->uslots = is->level > 0 ? HNSW_UPPER_SLOTS(is->m, is->level, is->slot_size) : 0;
	if ((uint64) mp->next_slot + 1 + is->uslots >= HNSW_INVALID_ID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw index \"%s\" is full (%u slots)",
						RelationGetRelationName(is->index), mp->next_slot)));

	HnswMetaUpdateInit(&upd);
	upd.set_next_slot = true;
	upd.next_slot = take_slots(is, mp, &upd);
	upd.count_element = true;
	drop_self_links(is);
	is->first = mp->entry_id == HNSW_INVALID_ID;
	if (is->first)
	{
		upd.set_entry = true;
		upd.entry_id = is->id;
		upd.entry_level = is->level;
	}
	HnswUpdateMetaPage(is->index, metabuf, &upd);
	if (is->first)
		is->metabuf = metabuf;
	else
		UnlockReleaseBuffer(metabuf);
	return true;
}

/*
 * Step 4: write the upper record, then the element with kind FREE (DELETED
 * for a reused slot), then flip the kind to ELEMENT: a record spanning more
 * pages than one GenericXLog record holds becomes visible to whole-index
 * passes (exact scan, VACUUM, checker) only once complete, and no list links
 * to it yet.  A new upper record takes its slots whole, a reused one its
 * bytes.  The first element of a graph is written as ELEMENT under the
 * metapage lock, which is released here.
 */
static void
write_element(InsertState *is)
{
	int			m = is->m;
	int			level = is->level;
	char	   *rec = palloc0(is->slot_size);
	HnswElementHeader *hdr = (HnswElementHeader *) rec;
	uint32	   *l0 = (uint32 *) (rec + HNSW_LIST0_OFFSET);
	char	   *uprec = NULL;
	Size		uplen = 0;

	for (int l = 0; l <= is->top; l++)
	{
		Assert(is->nnbrs[l] <= m);
		for (int i = 0; i < is->nnbrs[l]; i++)
			Assert(is->nbrs[l][i] != is->id);
	}
	hdr->heaptid = *is->heaptid;
	hdr->kind = is->first ? HNSW_KIND_ELEMENT :
		is->reuse_level >= 0 ? HNSW_KIND_DELETED : HNSW_KIND_FREE;
	hdr->level = level;
	HnswHeaderSetUpper(hdr, is->upper, is->upper_off);
	for (int i = 0; i < 2 * m; i++)
		l0[i] = i < is->nnbrs[0] ? is->nbrs[0][i] : HNSW_INVALID_ID;
	HnswEncode(is->meta.codes, is->x, is->dims, rec + HNSW_CODE_OFFSET(m));
	memcpy(rec + HNSW_VECTOR_OFFSET(m, is->meta.code_bytes), is->x, sizeof(float) * is->dims);
	if (level > 0)
	{
		HnswUpperHeader *uh;
		uint32	   *ul;

		uplen = is->reuse_level == level ? HNSW_UPPER_BYTES(m, level) :
			(Size) is->uslots * is->slot_size;
		uprec = palloc0(uplen);
		uh = (HnswUpperHeader *) uprec;
		ul = (uint32 *) (uprec + HNSW_UPPER_HEADER_SIZE);
		uh->owner = is->id;
		uh->kind = HNSW_KIND_UPPER;
		uh->level = level;
		for (int l = 1; l <= level; l++)
			for (int i = 0; i < m; i++)
				ul[(l - 1) * m + i] = (l <= is->top && i < is->nnbrs[l]) ?
					is->nbrs[l][i] : HNSW_INVALID_ID;
		HnswWriteBytes(is->index, (uint64) is->upper * is->slot_size + is->upper_off,
					   uprec, uplen);
	}
	HnswWriteBytes(is->index, (uint64) is->id * is->slot_size, rec, is->slot_size);
	if (is->first)
	{
		UnlockReleaseBuffer(is->metabuf);
		is->metabuf = InvalidBuffer;
	}
	else
	{
		uint8		kind = HNSW_KIND_ELEMENT;

		HnswWriteBytes(is->index, (uint64) is->id * is->slot_size +
					   offsetof(HnswElementHeader, kind), &kind, 1);
	}
}

/*
 * Step 5: add the backlinks, layer by layer (HnswAddBacklink).  When no
 * neighbour keeps the new element on layer 0, its nearest neighbour gives up
 * its last entry to it, so a new element always has an incoming link.
 */
static void
add_backlinks(InsertState *is)
{
	for (int layer = is->top; layer >= 0; layer--)
	{
		bool		linked = false;

		for (int i = 0; i < is->nnbrs[layer]; i++)
			linked |= HnswAddBacklink(&is->r, is->nbrs[layer][i], is->id, layer,
									  is->nbrd[layer][i], false);
		if (layer == 0 && !linked && is->nnbrs[0] > 0)
			(void) HnswAddBacklink(&is->r, is->nbrs[0][0], is->id, 0, is->nbrd[0][0], true);
	}
}

/* Step 6: a level above the entry point's makes the element the entry point. */
static void
raise_entry_point(InsertState *is)
{
	Buffer		metabuf;

	if (is->level <= is->meta.entry_level)
		return;
	metabuf = ReadBuffer(is->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	if (is->level > HnswPageGetMeta(BufferGetPage(metabuf))->entry_level)
	{
		HnswMetaUpdate upd;

		HnswMetaUpdateInit(&upd);
		upd.set_entry = true;
		upd.entry_id = is->id;
		upd.entry_level = is->level;
		HnswUpdateMetaPage(is->index, metabuf, &upd);
	}
	UnlockReleaseBuffer(metabuf);
}

/*
 * HnswInsertVector: insert vector x (dims floats) for heaptid into the graph
 * on disk, in the steps of src/README ("Insert").  x is in stored form
 * already when prepared is true; otherwise it is modified in place
 * (normalised for cosine) and a zero vector under cosine is skipped.
 * Returns false when nothing was inserted.
 */
bool
HnswInsertVector(Relation index, float *x, int dims, ItemPointer heaptid,
				 bool prepared)
{
	InsertState is;

	if (!insert_begin(&is, index, x, dims, heaptid, prepared))
		return false;
	do
		search_neighbours(&is);
	while (!allocate_slots(&is));
	write_element(&is);
	if (is.first)
		return true;
	add_backlinks(&is);
	raise_entry_point(&is);
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

	/*
	 * an impossible value (0 dimensions, NaN) is refused before it can set
	 * dims
	 */
	v = DatumGetRowVector(values[0], heap, heap_tid, true);
	x = palloc(sizeof(float) * v->dim);
	memcpy(x, v->x, sizeof(float) * v->dim);
	HnswInsertVector(index, x, v->dim, heap_tid, false);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return false;
}
