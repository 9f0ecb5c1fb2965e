/*
 * hnswvacuum.c: VACUUM for hnsw (ambulkdelete, amvacuumcleanup).
 *
 * ambulkdelete works in three passes over the slot stream (src/README,
 * "Vacuum"):
 *  1. find the elements whose heap rows are dead;
 *  2. repair the graph: every live list that names a dead element is
 *     re-selected (HNSW paper Alg. 4, then filled up with the nearest
 *     candidates the heuristic passed over) from its live members plus the
 *     live members of the dead elements' lists on that layer, so the paths
 *     that ran through a dead element survive; the entry point moves to the live
 *     element of highest level if it died or one of a higher level exists;
 *     then a walk from the entry point relinks live elements that lost
 *     every incoming link;
 *  3. mark the dead elements HNSW_KIND_DELETED and push each on the free
 *     list of its level in the metapage (the block-number half of a deleted
 *     slot's heap TID links to the next one); an insert of an element of
 *     level L takes a slot of level L there, element slot and upper record
 *     together, so every stale link to the slot stays a link to an element
 *     of a high enough level (src/README, "Free lists").
 * amvacuumcleanup runs the passes with no row dead when ambulkdelete was
 * not called, so the repair never waits for dead rows.
 * Elements deleted by an earlier VACUUM count as dead in pass 2 too: a
 * concurrent insert may have linked to one while it was being deleted.
 * Until pass 3 a dead element can still be returned by a concurrent scan;
 * its heap row still exists then (the heap is cleaned after the indexes).
 * Deleted elements keep their vector and lists, so a walk that reaches one
 * through a list not yet repaired still works; scans never return them.
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
	HnswReadBytes(r, (uint64) id * r->slot_size + HNSW_VECTOR_OFFSET(r->m),
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
				anydead = true;	/* (a self link is dropped as well) */
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
		nsel = HnswSelectNeighbors(cands, nids, cap, HnswPairDistDisk, &ps, upd);
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

	HnswReadBytes(r, (uint64) nb * r->slot_size + HNSW_VECTOR_OFFSET(r->m),
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
relink_orphans(HnswReader *r, uint32 entry, const bool *dead, const uint8 *kinds,
			   const uint8 *levels, uint32 nslots)
{
	bool	   *seen = palloc_extended(nslots, MCXT_ALLOC_HUGE);
	uint32	   *indeg = palloc_extended(sizeof(uint32) * nslots, MCXT_ALLOC_HUGE);
	uint32	   *queue = palloc_extended(sizeof(uint32) * nslots, MCXT_ALLOC_HUGE);
	uint32		list[2 * HNSW_M_MAX];
	float	   *vec = palloc(sizeof(float) * r->dims);

	if (entry == HNSW_INVALID_ID || entry >= nslots)
		return;
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
			bool		linked = false;

			/* drain the walk */
			while (qh < qt)
			{
				uint32		id = queue[qh++];

				CHECK_FOR_INTERRUPTS();
				for (int layer = 0; layer <= levels[id]; layer++)
				{
					int			n = HnswReadList(r, id, layer, list);

					for (int i = 0; i < n; i++)
					{
						uint32		e = list[i];

						if (e >= nslots || dead[e] || kinds[e] != HNSW_KIND_ELEMENT)
							continue;
						indeg[e]++;
						if (!seen[e])
						{
							seen[e] = true;
							queue[qt++] = e;
						}
					}
				}
			}
			if (u == nslots || seen[u] || dead[u] || kinds[u] != HNSW_KIND_ELEMENT)
				continue;
			vacuum_delay_point();
			orphans = true;
			{
				int			n = HnswReadList(r, u, 0, list);

				for (int i = 0; i < n && !linked; i++)
					if (list[i] < nslots && seen[list[i]] && !dead[list[i]])
						linked = link_orphan(r, list[i], u, indeg, nslots);
			}
			if (!linked)
			{
				/* none of its neighbours is reached: search for the nearest */
				HnswHeap	W,
							C;
				HnswVisited *v = HnswVisitedAcquire(nslots);
				int			ef = 2 * r->m;

				HnswReadBytes(r, (uint64) u * r->slot_size + HNSW_VECTOR_OFFSET(r->m),
							  vec, sizeof(float) * r->dims);
				HnswHeapInit(&W, ef + 2, true);
				HnswHeapInit(&C, ef * 4, false);
				HnswVisitedSet(v, entry);
				HnswHeapPush(&W, HnswSlotDistance(r, entry, vec), entry);
				HnswHeapPush(&C, HnswSlotDistance(r, entry, vec), entry);
				HnswSearchLayerDisk(r, vec, &W, &C, v, ef, 0, NULL);
				HnswVisitedRelease(v);
				{
					int			nw = W.n;
					HnswCand   *found = palloc(sizeof(HnswCand) * Max(nw, 1));

					for (int i = nw - 1; i >= 0; i--)
						found[i] = HnswHeapPop(&W);
					for (int i = 0; i < nw && !linked; i++)
						if (found[i].id < nslots && found[i].id != u && seen[found[i].id] &&
							!dead[found[i].id])
							linked = link_orphan(r, found[i].id, u, indeg, nslots);
					pfree(found);
				}
				pfree(W.a);
				pfree(C.a);
			}
			if (linked)
			{
				seen[u] = true;
				queue[qt++] = u;
				nlinked++;
			}
		}
		if (!orphans || nlinked == 0)
			break;
	}
}

/* ambulkdelete */
IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	HnswMetaPageData meta = HnswReadMeta(index);
	HnswReader	r;
	uint32		nslots = meta.next_slot;
	bool	   *dead;
	uint8	   *kinds;
	uint8	   *levels;
	double		ndead = 0;
	double		nlive = 0;
	double		nstale = 0;
	uint32		best = HNSW_INVALID_ID;
	int			bestlevel = -1;
	Buffer		metabuf;
	HnswMetaPageData *mp;
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);

	if (stats == NULL)
		stats = MemoryContextAllocZero(old, sizeof(IndexBulkDeleteResult));
	if (meta.dims == 0 || nslots == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(ctx);
		return stats;
	}
	HnswReaderInit(&r, index, &meta);
	dead = palloc_extended(nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	kinds = palloc_extended(nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	levels = palloc_extended(nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	/* pass 1 */
	for (uint32 id = 0; id < nslots; id++)
	{
		HnswElementHeader hdr;

		vacuum_delay_point();
		if (id >= meta.packed_start && id < meta.packed_end)
		{
			id = meta.packed_end - 1;	/* the build's packed upper records */
			continue;
		}
		HnswReadHeader(&r, id, &hdr);
		kinds[id] = hdr.kind;
		levels[id] = hdr.level;
		if ((hdr.kind == HNSW_KIND_ELEMENT || hdr.kind == HNSW_KIND_DELETED) &&
			hdr.level > HNSW_MAX_LEVEL)
			HnswCorrupt(index, "element %u has level %d, expected at most %d",
						id, hdr.level, HNSW_MAX_LEVEL);
		if (hdr.kind == HNSW_KIND_ELEMENT)
		{
			if (callback(&hdr.heaptid, callback_state))
			{
				dead[id] = true;
				ndead++;
			}
			else
			{
				nlive++;
				if ((int) hdr.level > bestlevel)
				{
					bestlevel = hdr.level;
					best = id;
				}
			}
		}
		else if (hdr.kind == HNSW_KIND_DELETED)
		{
			/* deleted by an earlier VACUUM; links made to it since get repaired */
			dead[id] = true;
			nstale++;
		}
		else if (hdr.kind == HNSW_KIND_UPPER)
			id += HnswUpperSlots(&r, id, hdr.level) - 1;
	}

	/* pass 2 */
	if (ndead > 0 || nstale > 0)
	{
		for (uint32 id = 0; id < nslots; id++)
		{
			if (kinds[id] != HNSW_KIND_ELEMENT || dead[id])
				continue;
			vacuum_delay_point();
			for (int layer = 0; layer <= levels[id]; layer++)
				repair_list(&r, id, layer, dead, kinds, levels, nslots);
		}
	}

	/*
	 * entry point: the live element of highest level if it died, or if
	 * one of a higher level exists (an insert racing with an earlier
	 * VACUUM's move of the entry point can leave one above it)
	 */
	metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	mp = (HnswMetaPageData *) PageGetContents(BufferGetPage(metabuf));
	if ((mp->entry_id != HNSW_INVALID_ID && mp->entry_id < nslots && dead[mp->entry_id]) ||
		(best != HNSW_INVALID_ID && bestlevel > mp->entry_level))
	{
		GenericXLogState *state = GenericXLogStart(index);

		mp = (HnswMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(state, metabuf, 0));
		mp->entry_id = best;
		mp->entry_level = best == HNSW_INVALID_ID ? -1 : bestlevel;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(metabuf);

	relink_orphans(&r, HnswReadMeta(index).entry_id, dead, kinds, levels, nslots);

	if (ndead > 0)
	{
		/*
		 * pass 3, under the metapage lock (before any slot page, as always):
		 * mark the dead elements and push each on the free list of its level
		 * (src/README, "Vacuum": why reuse is safe with concurrent scans)
		 */
		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		{
			HnswMetaPageData *cur = (HnswMetaPageData *) PageGetContents(BufferGetPage(metabuf));
			uint32		heads[HNSW_MAX_LEVEL + 1];
			bool		pushed[HNSW_MAX_LEVEL + 1];

			for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
			{
				heads[l] = HnswFreeHead(cur, l);
				pushed[l] = false;
			}
			for (uint32 id = nslots; id-- > 0;)
			{
				struct
				{
					ItemPointerData tid;
					uint8		kind;
				}			upd;
				int			l = levels[id];

				if (!dead[id] || kinds[id] == HNSW_KIND_DELETED)
					continue;
				if (l > HNSW_MAX_LEVEL)
				{
					/* not an element aminsert could give this layout to */
					uint8		kind = HNSW_KIND_DELETED;

					HnswWriteBytes(index, (uint64) id * meta.slot_size +
								   offsetof(HnswElementHeader, kind), &kind, 1);
					continue;
				}
				ItemPointerSetBlockNumber(&upd.tid, heads[l]);
				upd.tid.ip_posid = 0;
				upd.kind = HNSW_KIND_DELETED;
				HnswWriteBytes(index, (uint64) id * meta.slot_size, &upd,
							   offsetof(HnswElementHeader, kind) + 1);
				heads[l] = id;
				pushed[l] = true;
			}
			for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
				if (pushed[l])
				{
					GenericXLogState *state = GenericXLogStart(index);
					Page		page = GenericXLogRegisterBuffer(state, metabuf, 0);

					for (int k = l; k <= HNSW_MAX_LEVEL; k++)
						if (pushed[k])
							HnswSetFreeHead(page, k, heads[k]);
					GenericXLogFinish(state);
					break;
				}
		}
		UnlockReleaseBuffer(metabuf);
	}

	stats->tuples_removed += ndead;
	stats->num_index_tuples = nlive;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
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
