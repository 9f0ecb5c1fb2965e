/*
 * hnswvacuum.c: VACUUM for hnsw.  Entry points: hnswbulkdelete, which runs
 * its passes over an HnswVacuumState (find the dead elements, repair the
 * lists that name them, move the entry point, relink the elements no longer
 * reached, free the dead slots), and hnswvacuumcleanup, which runs the same
 * passes with no row dead when ambulkdelete was not called.
 *
 * See src/README, sections "Vacuum" and "Free lists".
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/* What the passes of one hnswbulkdelete share. */
typedef struct HnswVacuumState
{
	Relation	index;
	IndexBulkDeleteCallback callback;
	void	   *callback_state;
	HnswMetaPageData meta;		/* as read at the start */
	HnswReader	r;
	uint32		nslots;			/* slots [0, nslots) are visited */
	bool	   *dead;			/* per slot: a dead or deleted element */
	uint8	   *kinds;			/* per slot: its kind (pass 1) */
	uint8	   *levels;			/* per slot: its level (pass 1) */
	double		ndead;			/* elements whose rows are dead */
	double		nlive;
	double		nstale;			/* elements deleted by an earlier VACUUM */
	uint32		best;			/* a live element of the highest level */
	int			bestlevel;
	MemoryContext ctx;			/* everything above lives here */
} HnswVacuumState;

/* Re-select id's list on layer without its dead members. */
static void
repair_list(HnswReader *r, uint32 id, int layer, bool *dead,
			uint8 *kinds, uint8 *levels, uint32 nslots)
{
	int			cap;
	uint32		cur[2 * HNSW_M_MAX];
	uint32		sub[2 * HNSW_M_MAX];
	uint32		upd[2 * HNSW_M_MAX];
	float	   *vec = palloc(sizeof(float) * r->dims);
	HnswDiskPair ps;

	ps.r = r;
	ps.cached = HNSW_INVALID_ID;
	ps.vec = palloc(sizeof(float) * r->dims);
	HnswReadBytes(r, (uint64) id * r->slot_size + r->vec_off,
				  vec, sizeof(float) * r->dims);

	for (int attempt = 0; attempt < 5; attempt++)
	{
		uint64		off = HnswListOffset(r, id, layer, &cap);
		int			n = 0;
		bool		anydead = false;
		uint32	   *ids;
		int			nids = 0;
		HnswCand   *cands;
		int			nsel;

		if (off == 0)
			break;
		HnswReadBytes(r, off, cur, sizeof(uint32) * cap);
		while (n < cap && cur[n] != HNSW_INVALID_ID)
		{
			uint32		e = cur[n];

			if (e < nslots && dead[e] && kinds[e] == HNSW_KIND_DELETED)
			{
				HnswElementHeader hdr;

				/* deleted earlier: an insert may have reused the slot since */
				HnswReadHeader(r, e, &hdr);
				if (hdr.kind == HNSW_KIND_ELEMENT)
				{
					dead[e] = false;
					kinds[e] = HNSW_KIND_ELEMENT;
					levels[e] = hdr.level;	/* never below the old level */
				}
			}
			if ((e < nslots && dead[e]) || e == id)
				anydead = true; /* (a self link is dropped as well) */
			n++;
		}
		if (!anydead)
			break;

		ids = palloc(sizeof(uint32) * (cap + cap * 2 * HNSW_M_MAX));
		for (int i = 0; i < n; i++)
		{
			uint32		e = cur[i];

			if (e == id)
				continue;
			if (e >= nslots || !dead[e])
				ids[nids++] = e;
			else
			{
				int			ns = HnswReadList(r, e, layer, sub);

				for (int j = 0; j < ns; j++)
					if (sub[j] != id && sub[j] < nslots && !dead[sub[j]] &&
						kinds[sub[j]] == HNSW_KIND_ELEMENT)
						ids[nids++] = sub[j];
			}
		}
		/* dedupe */
		cands = palloc(sizeof(HnswCand) * Max(nids, 1));
		{
			int			nc = 0;

			for (int i = 0; i < nids; i++)
			{
				bool		seen = false;

				for (int j = 0; j < nc && !seen; j++)
					seen = cands[j].id == ids[i];
				if (!seen)
				{
					cands[nc].id = ids[i];
					cands[nc].dist = HnswSlotDistance(r, ids[i], vec);
					nc++;
				}
			}
			nids = nc;
		}
		qsort(cands, nids, sizeof(HnswCand), HnswCandCmp);
		nsel = HnswSelectNeighbors(r->metric, cands, nids, cap, HnswPairDistDisk, &ps, upd);
		Assert(nsel <= cap);
		/* fill the rest with the nearest candidates the heuristic passed over */
		for (int i = 0; i < nids && nsel < cap; i++)
		{
			bool		taken = false;

			for (int j = 0; j < nsel && !taken; j++)
				taken = upd[j] == cands[i].id;
			if (!taken)
				upd[nsel++] = cands[i].id;
		}
		for (int i = nsel; i < cap; i++)
			upd[i] = HNSW_INVALID_ID;
		for (int i = 0; i < nsel; i++)
			Assert(upd[i] != id);
		pfree(cands);
		pfree(ids);
		if (HnswWriteIfUnchanged(r->index, off, cur, upd, sizeof(uint32) * cap))
			break;
	}
	pfree(vec);
	pfree(ps.vec);
}

/*
 * link_orphan: put u into nb's layer-0 list with a compare-and-write
 * (retried): in a free entry, else in place of the farthest member that
 * some other reached list names too (indeg >= 2), so that no member loses
 * its only incoming link.  Returns true when u is in the list afterwards.
 */
static bool
link_orphan(HnswReader *r, uint32 nb, uint32 u, uint32 *indeg, uint32 nslots)
{
	uint32		cur[2 * HNSW_M_MAX];
	uint32		upd[2 * HNSW_M_MAX];
	float	   *nbvec = palloc(sizeof(float) * r->dims);
	bool		linked = false;

	Assert(nb != u && nb < nslots && u < nslots);
	HnswReadBytes(r, (uint64) nb * r->slot_size + r->vec_off,
				  nbvec, sizeof(float) * r->dims);
	for (int attempt = 0; attempt < 5 && !linked; attempt++)
	{
		int			cap;
		uint64		off = HnswListOffset(r, nb, 0, &cap);
		int			n = 0;
		int			victim = -1;
		bool		present = false;

		HnswReadBytes(r, off, cur, sizeof(uint32) * cap);
		while (n < cap && cur[n] != HNSW_INVALID_ID)
			present |= cur[n++] == u;
		if (present)
		{
			linked = true;
			break;
		}
		memcpy(upd, cur, sizeof(uint32) * cap);
		if (n < cap)
			upd[n] = u;
		else
		{
			float		far = -1;

			for (int i = 0; i < n; i++)
			{
				float		d;

				if (cur[i] >= nslots || indeg[cur[i]] < 2)
					continue;
				d = HnswSlotDistance(r, cur[i], nbvec);
				if (d > far)
				{
					far = d;
					victim = i;
				}
			}
			if (victim < 0)
				break;
			upd[victim] = u;
		}
		if (HnswWriteIfUnchanged(r->index, off, cur, upd, sizeof(uint32) * cap))
		{
			if (victim >= 0)
				indeg[cur[victim]]--;
			indeg[u]++;
			linked = true;
		}
	}
	pfree(nbvec);
	return linked;
}

/*
 * link_from_neighbours: link orphan u from one of the reached elements of
 * its own layer-0 list.  Returns true when it is linked.
 */
static bool
link_from_neighbours(HnswVacuumState *vs, uint32 u, const bool *seen, uint32 *indeg)
{
	uint32		list[2 * HNSW_M_MAX];
	int			n = HnswReadList(&vs->r, u, 0, list);

	for (int i = 0; i < n; i++)
		if (list[i] < vs->nslots && seen[list[i]] && !vs->dead[list[i]] &&
			link_orphan(&vs->r, list[i], u, indeg, vs->nslots))
			return true;
	return false;
}

/*
 * link_from_search: link orphan u from the nearest reached elements that a
 * layer-0 search from the entry point finds (none of its own neighbours is
 * reached).  Returns true when it is linked.
 */
static bool
link_from_search(HnswVacuumState *vs, uint32 entry, uint32 u, const bool *seen,
				 uint32 *indeg, float *vec)
{
	HnswReader *r = &vs->r;
	HnswHeap	W,
				C;
	HnswVisited *v = HnswVisitedAcquire(vs->nslots);
	int			ef = 2 * r->m;
	int			nw;
	HnswCand   *found;
	bool		linked = false;

	HnswReadBytes(r, (uint64) u * r->slot_size + r->vec_off,
				  vec, sizeof(float) * r->dims);
	HnswHeapInit(&W, ef + 2, true);
	HnswHeapInit(&C, ef * 4, false);
	HnswVisitedSet(v, entry);
	{
		float		d = HnswWalkDistance(r, entry, vec);

		HnswHeapPush(&W, d, entry);
		HnswHeapPush(&C, d, entry);
	}
	HnswSearchLayerDisk(r, vec, &W, &C, v, ef, 0, NULL);
	HnswVisitedRelease(v);
	nw = W.n;
	found = palloc(sizeof(HnswCand) * Max(nw, 1));
	for (int i = nw - 1; i >= 0; i--)
		found[i] = HnswHeapPop(&W);
	/* the walk measured codes: nearest first by the vectors */
	if (r->codes != HNSW_CODES_NONE)
		HnswRerank(r, vec, found, nw);
	for (int i = 0; i < nw && !linked; i++)
		if (found[i].id < vs->nslots && found[i].id != u && seen[found[i].id] &&
			!vs->dead[found[i].id])
			linked = link_orphan(r, found[i].id, u, indeg, vs->nslots);
	pfree(found);
	pfree(W.a);
	pfree(C.a);
	return linked;
}

/*
 * relink_orphans: after the repair, walk the graph from the entry point over
 * every layer without entering dead elements; a live element no longer
 * reached (its incoming links came from dead ones and the heuristic kept
 * none of them) is linked from a reached layer-0 neighbour of its own, or
 * else from the nearest reached elements a layer-0 search from the entry
 * point finds (link_orphan), and the walk goes on from it.  A link taken
 * away for it can, through a cycle, still cut off what the walk had reached,
 * so a round that linked anything is followed by a fresh walk (at most 4).
 */
static void
relink_orphans(HnswVacuumState *vs, uint32 entry)
{
	uint32		nslots = vs->nslots;
	bool	   *seen;
	uint32	   *indeg;
	uint32	   *queue;
	uint32		list[2 * HNSW_M_MAX];
	float	   *vec;

	if (entry == HNSW_INVALID_ID || entry >= nslots)
		return;
	seen = palloc_extended(nslots, MCXT_ALLOC_HUGE);
	indeg = palloc_extended(sizeof(uint32) * nslots, MCXT_ALLOC_HUGE);
	queue = palloc_extended(sizeof(uint32) * nslots, MCXT_ALLOC_HUGE);
	vec = palloc(sizeof(float) * vs->r.dims);
	for (int round = 0; round < 4; round++)
	{
		uint32		qh = 0,
					qt = 0;
		uint32		nlinked = 0;
		bool		orphans = false;

		memset(seen, 0, nslots);
		memset(indeg, 0, sizeof(uint32) * nslots);
		indeg[entry] = 2;		/* the root needs no incoming link */
		queue[qt++] = entry;
		seen[entry] = true;
		for (uint32 u = 0; u <= nslots; u++)
		{
			bool		linked;

			/* drain the walk */
			while (qh < qt)
			{
				uint32		id = queue[qh++];

				CHECK_FOR_INTERRUPTS();
				Assert(vs->levels[id] <= HNSW_MAX_LEVEL);
				for (int layer = 0; layer <= vs->levels[id]; layer++)
				{
					int			n = HnswReadList(&vs->r, id, layer, list);

					for (int i = 0; i < n; i++)
					{
						uint32		e = list[i];

						if (e >= nslots || vs->dead[e] || vs->kinds[e] != HNSW_KIND_ELEMENT)
							continue;
						indeg[e]++;
						if (!seen[e])
						{
							Assert(qt < nslots);
							seen[e] = true;
							queue[qt++] = e;
						}
					}
				}
			}
			if (u == nslots || seen[u] || vs->dead[u] || vs->kinds[u] != HNSW_KIND_ELEMENT)
				continue;
			vacuum_delay_point();
			orphans = true;
			linked = link_from_neighbours(vs, u, seen, indeg) ||
				link_from_search(vs, entry, u, seen, indeg, vec);
			if (linked)
			{
				Assert(qt < nslots);
				seen[u] = true;
				queue[qt++] = u;
				nlinked++;
			}
		}
		if (!orphans || nlinked == 0)
			break;
	}
}

/*
 * Pass 1: read every slot's header; an element whose heap row the callback
 * names is dead, one deleted by an earlier VACUUM counts as dead too (a
 * concurrent insert may have linked to it since).  Also finds a live element
 * of the highest level for the entry point.
 */
static void
find_dead(HnswVacuumState *vs)
{
	for (uint32 id = 0; id < vs->nslots; id++)
	{
		HnswElementHeader hdr;

		vacuum_delay_point();
		if (id >= vs->meta.packed_start && id < vs->meta.packed_end)
		{
			id = vs->meta.packed_end - 1;	/* the build's packed upper
											 * records */
			continue;
		}
		HnswReadHeader(&vs->r, id, &hdr);
		vs->kinds[id] = hdr.kind;
		vs->levels[id] = hdr.level;
		if ((hdr.kind == HNSW_KIND_ELEMENT || hdr.kind == HNSW_KIND_DELETED) &&
			hdr.level > HNSW_MAX_LEVEL)
			HnswCorrupt(vs->index, "element %u has level %d, expected at most %d",
						id, hdr.level, HNSW_MAX_LEVEL);
		if (hdr.kind == HNSW_KIND_ELEMENT)
		{
			if (vs->callback(&hdr.heaptid, vs->callback_state))
			{
				vs->dead[id] = true;
				vs->ndead++;
			}
			else
			{
				vs->nlive++;
				if ((int) hdr.level > vs->bestlevel)
				{
					vs->bestlevel = hdr.level;
					vs->best = id;
				}
			}
		}
		else if (hdr.kind == HNSW_KIND_DELETED)
		{
			vs->dead[id] = true;
			vs->nstale++;
		}
		else if (hdr.kind == HNSW_KIND_UPPER)
			id += HnswUpperSlots(&vs->r, id, hdr.level) - 1;
	}
}

/* Pass 2: re-select every live list that names a dead element (repair_list). */
static void
repair_lists(HnswVacuumState *vs)
{
	if (vs->ndead == 0 && vs->nstale == 0)
		return;
	for (uint32 id = 0; id < vs->nslots; id++)
	{
		if (vs->kinds[id] != HNSW_KIND_ELEMENT || vs->dead[id])
			continue;
		vacuum_delay_point();
		Assert(vs->levels[id] <= HNSW_MAX_LEVEL);
		for (int layer = 0; layer <= vs->levels[id]; layer++)
			repair_list(&vs->r, id, layer, vs->dead, vs->kinds, vs->levels, vs->nslots);
	}
}

/*
 * Pass 2, entry point: the live element of highest level if the entry point
 * died, or if one of a higher level exists (an insert racing with an earlier
 * VACUUM's move of the entry point can leave one above it).
 */
static void
move_entry_point(HnswVacuumState *vs)
{
	Buffer		metabuf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
	HnswMetaPageData *mp;
	bool		entry_dead;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	mp = HnswPageGetMeta(BufferGetPage(metabuf));
	entry_dead = mp->entry_id != HNSW_INVALID_ID && mp->entry_id < vs->nslots &&
		vs->dead[mp->entry_id];
	if (entry_dead && vs->kinds[mp->entry_id] == HNSW_KIND_DELETED)
	{
		HnswElementHeader hdr;

		/*
		 * On a free list when find_dead read it: an insert may have reused it
		 * since, as the first element of an emptied graph.  Read it again
		 * (metapage before slot page, the lock order).
		 */
		HnswReadHeader(&vs->r, mp->entry_id, &hdr);
		entry_dead = hdr.kind != HNSW_KIND_ELEMENT;
	}
	if (entry_dead ||
		(vs->best != HNSW_INVALID_ID && vs->bestlevel > mp->entry_level))
	{
		HnswMetaUpdate upd;

		HnswMetaUpdateInit(&upd);
		upd.set_entry = true;
		upd.entry_id = vs->best;
		upd.entry_level = vs->best == HNSW_INVALID_ID ? -1 : vs->bestlevel;
		HnswUpdateMetaPage(vs->index, metabuf, &upd);
	}
	UnlockReleaseBuffer(metabuf);
}

/*
 * Pass 3, under the metapage lock (before any slot page, as always): mark
 * the dead elements DELETED and push each on the free list of its level;
 * the block-number half of a deleted slot's heap TID links to the next one
 * (src/README, "Free lists": why reuse is safe with concurrent scans).
 */
static void
free_dead(HnswVacuumState *vs)
{
	Buffer		metabuf;
	const HnswMetaPageData *cur;
	HnswMetaUpdate upd;
	bool		any = false;
	uint32		slot_size = vs->meta.slot_size;

	if (vs->ndead == 0)
		return;
	metabuf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	cur = HnswPageGetMeta(BufferGetPage(metabuf));
	HnswMetaUpdateInit(&upd);
	for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
		upd.free_head[l] = HnswFreeHead(cur, l);
	for (uint32 id = vs->nslots; id-- > 0;)
	{
		HnswElementHeader hdr;
		int			l = vs->levels[id];

		if (!vs->dead[id] || vs->kinds[id] == HNSW_KIND_DELETED)
			continue;
		Assert(l <= HNSW_MAX_LEVEL);	/* find_dead refused higher levels */
		/* the heap TID (the link) and the kind; the rest stays as it is */
		memset(&hdr, 0, sizeof(hdr));
		ItemPointerSetBlockNumber(&hdr.heaptid, upd.free_head[l]);
		hdr.heaptid.ip_posid = 0;
		hdr.kind = HNSW_KIND_DELETED;
		HnswWriteBytes(vs->index, (uint64) id * slot_size, &hdr,
					   offsetof(HnswElementHeader, kind) + 1);
		upd.free_head[l] = id;
		upd.set_free[l] = true;
		any = true;
	}
	if (any)
		HnswUpdateMetaPage(vs->index, metabuf, &upd);
	UnlockReleaseBuffer(metabuf);
}

/* ambulkdelete: the passes of src/README, "Vacuum". */
IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	HnswVacuumState vs;
	MemoryContext old;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	memset(&vs, 0, sizeof(vs));
	vs.index = info->index;
	vs.callback = callback;
	vs.callback_state = callback_state;
	vs.meta = HnswReadMeta(vs.index);
	vs.nslots = vs.meta.next_slot;
	if (vs.meta.dims == 0 || vs.nslots == 0)
		return stats;
	vs.best = HNSW_INVALID_ID;
	vs.bestlevel = -1;
	vs.ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
								   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(vs.ctx);
	HnswReaderInit(&vs.r, vs.index, &vs.meta);
	vs.dead = palloc_extended(vs.nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	vs.kinds = palloc_extended(vs.nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	vs.levels = palloc_extended(vs.nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	find_dead(&vs);
	repair_lists(&vs);
	move_entry_point(&vs);
	relink_orphans(&vs, HnswReadMeta(vs.index).entry_id);
	free_dead(&vs);

	stats->tuples_removed += vs.ndead;
	stats->num_index_tuples = vs.nlive;
	stats->num_pages = RelationGetNumberOfBlocks(vs.index);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(vs.ctx);
	return stats;
}

/* A bulk-delete callback for which no row is dead. */
static bool
none_dead(ItemPointer itemptr, void *state)
{
	return false;
}

/*
 * amvacuumcleanup.  When this VACUUM did not call ambulkdelete (the heap had
 * no dead rows), run its repair here with no row dead, as GiST's cleanup
 * scans when bulk delete did not: links that inserts racing with an earlier
 * VACUUM made to deleted elements, elements a re-selected list left without
 * an incoming link, and an entry point below a newer element are repaired by
 * the next VACUUM whatever it finds in the heap.
 */
IndexBulkDeleteResult *
hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
		stats = hnswbulkdelete(info, NULL, none_dead, NULL);
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
