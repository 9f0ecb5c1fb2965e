/*
 * hnswbuild.c: CREATE INDEX for hnsw.  Entry points: hnswbuild (collect the
 * vectors, build_graph in memory, serially or with parallel workers
 * (hnsw_parallel_build_main), write_graph sequentially; past
 * maintenance_work_mem the rest goes through the on-disk insert) and
 * hnswbuildempty.
 *
 * See src/README, section "Build".
 */
#include "postgres.h"

#include <sys/mman.h>

#include "access/generic_xlog.h"
#include "access/parallel.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "storage/smgr.h"
#include "utils/backend_status.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "distance.h"
#include "hnsw.h"

#define HNSW_PHASE_LOAD		2
#define HNSW_PHASE_GRAPH	3
#define HNSW_PHASE_WRITE	4

#define HNSW_WRITE_BATCH	32	/* pages per log_newpages call */

/*
 * Shared state of a parallel build: the graph lives in one DSM chunk after
 * this header (offsets, since each process maps it at its own address).
 */
typedef struct HnswBuildShared
{
	int			dims;
	int			m;
	int			efc;
	uint32		metric;
	int64		n;
	uint64		upperlen;
	bool		private_vecs;	/* each process reads a private copy of the
								 * vectors (see copy_vectors_private) */
	slock_t		mutex;			/* protects entry and maxlevel */
	uint32		entry;
	int			maxlevel;
	pg_atomic_uint64 next;		/* next element to insert */
	Size		off_vecs;
	Size		off_levels;
	Size		off_list0;
	Size		off_upperidx;
	Size		off_upperpool;
	Size		off_locks;
	Size		total;
} HnswBuildShared;

/* shm_toc key of the HnswBuildShared chunk */
#define PARALLEL_KEY_HNSW_SHARED	UINT64CONST(0x5653485700000001)

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	VsMetric	metric;
	HnswDistFn	dist;
	int			dims;			/* 0 until known */
	Size		vecbytes;		/* dims * 4 */
	int			m;
	int			efc;
	uint32		seed;
	int			codes;			/* HNSW_CODES_*, from the reloption */

	/* collected rows */
	float	   *vecs;			/* n * dims, stored form */
	ItemPointerData *tids;
	int64		n;
	int64		cap;
	int64		maxn;			/* fits in maintenance_work_mem */
	bool		ondisk;			/* graph written, insert the rest on disk */
	double		indtuples;
	MemoryContext tmpctx;

	/* graph, indexed by element id (= insertion position) */
	uint8	   *levels;
	uint32	   *list0;			/* n * 2m */
	uint64	   *upperidx;		/* start of each element's upper lists */
	uint32	   *upperpool;		/* level * m ids per element of level > 0 */
	uint64		upperlen;		/* entries in upperpool */
	slock_t    *locks;			/* per-element list locks (parallel only) */
	HnswBuildShared *shared;	/* parallel only */
	uint32		entry;			/* serial only (else in shared) */
	int			maxlevel;
	uint64		next;			/* next element to insert (serial) */

	/* per-process search state */
	HnswVisited visited;
	HnswHeap	W;
	HnswHeap	C;
	HnswCand   *cands;
	HnswCand   *eps;
	uint32	   *listbuf;
	MemoryContext graphctx;
	ParallelContext *pcxt;		/* of a parallel build, until written */
	int64		heapblocks;		/* table blocks, for build_progress */
} HnswBuildState;

/*
 * build_progress: report the build's phase and counters in
 * pg_stat_progress_create_index (README, "Build progress").  In the graph
 * phase the blocks are the table's, done in proportion to the elements
 * inserted, so pgvector's blocks_done / blocks_total query advances through
 * it; in the write phase they are the index's.  A negative value leaves that
 * counter as it is.
 */
static void
build_progress(HnswBuildState *st, int phase, int64 tuples_done, int64 tuples_total,
			   int64 blocks_done, int64 blocks_total)
{
	int			index[5];
	int64		val[5];
	int			n = 0;

	if (phase > 0)
	{
		index[n] = PROGRESS_CREATEIDX_SUBPHASE;
		val[n++] = phase;
	}
	if (tuples_done >= 0)
	{
		index[n] = PROGRESS_CREATEIDX_TUPLES_DONE;
		val[n++] = tuples_done;
	}
	if (tuples_total >= 0)
	{
		index[n] = PROGRESS_CREATEIDX_TUPLES_TOTAL;
		val[n++] = tuples_total;
	}
	if (blocks_done >= 0)
	{
		index[n] = PROGRESS_SCAN_BLOCKS_DONE;
		val[n++] = blocks_done;
	}
	if (blocks_total >= 0)
	{
		index[n] = PROGRESS_SCAN_BLOCKS_TOTAL;
		val[n++] = blocks_total;
	}
	pgstat_progress_update_multi_param(n, index, val);
}

/* The graph phase's counters after done of st->n elements. */
static void
build_progress_graph(HnswBuildState *st, int64 done)
{
	build_progress(st, 0, done, -1,
				   st->n > 0 ? (int64) ((double) st->heapblocks * done / st->n) : 0, -1);
}

#define VEC(st, id)		((st)->vecs + (Size) (id) * (st)->dims)

/* Distance between two elements of the in-memory graph. */
static float
pairdist_mem(void *arg, uint32 a, uint32 b)
{
	HnswBuildState *st = arg;

	return st->dist(VEC(st, a), VEC(st, b), st->dims);
}

static inline uint32 *
list_mem(HnswBuildState *st, uint32 id, int layer, int *cap)
{
	Assert(id < st->n && layer >= 0 && layer <= st->levels[id]);
	if (layer == 0)
	{
		*cap = 2 * st->m;
		return st->list0 + (Size) id * 2 * st->m;
	}
	*cap = st->m;
	return st->upperpool + st->upperidx[id] + (Size) (layer - 1) * st->m;
}

/*
 * copy_list: copy element id's list on layer into out (a build worker may be
 * changing it: under the element's spinlock in a parallel build); returns
 * the number of entries.
 */
static inline int
copy_list(HnswBuildState *st, uint32 id, int layer, uint32 *out)
{
	int			cap;
	uint32	   *list = list_mem(st, id, layer, &cap);
	int			n = 0;

	if (st->locks)
		SpinLockAcquire(&st->locks[id]);
	memcpy(out, list, sizeof(uint32) * cap);
	if (st->locks)
		SpinLockRelease(&st->locks[id]);
	while (n < cap && out[n] != HNSW_INVALID_ID)
		n++;
	return n;
}

static inline void
prefetch_mem(HnswBuildState *st, uint32 id)
{
	const char *p = (const char *) VEC(st, id);

	__builtin_prefetch(p);
	__builtin_prefetch(p + 64);
}

/*
 * search_layer_mem: HNSW paper Alg. 2 over the in-memory graph.  W and C hold
 * the entry points on entry; W holds the ef nearest found on exit.  The next
 * candidate's vector is prefetched while the current one is measured.
 */
static void
search_layer_mem(HnswBuildState *st, const float *q, int ef, int layer)
{
	HnswHeap   *W = &st->W;
	HnswHeap   *C = &st->C;
	HnswVisited *v = &st->visited;
	uint32	   *list = st->listbuf;

	while (C->n > 0)
	{
		HnswCand	c = HnswHeapPop(C);
		int			n;

		if (W->n >= ef && c.dist > HnswHeapTop(W).dist)
			break;
		n = copy_list(st, c.id, layer, list);
		for (int i = 0; i < n; i++)
		{
			uint32		e = list[i];
			float		d;

			if (i + 1 < n)
				prefetch_mem(st, list[i + 1]);
			if (HnswVisitedTest(v, e))
				continue;
			HnswVisitedSet(v, e);
			d = st->dist(q, VEC(st, e), st->dims);
			if (W->n < ef || d < HnswHeapTop(W).dist)
			{
				HnswHeapPush(C, d, e);
				HnswHeapPush(W, d, e);
				if (W->n > ef)
					(void) HnswHeapPop(W);
			}
		}
	}
}

/*
 * add_link_mem: add newid to nb's list on layer (HNSW paper Alg. 1 lines
 * 11-16).  When the list is full, re-select it from its members plus newid
 * with the heuristic (Alg. 4), as hnswlib does.  In a parallel build the new
 * list is computed from a copy and written only if the list is unchanged
 * (a few retries), so no spinlock is held while distances are computed.
 */
static void
add_link_mem(HnswBuildState *st, uint32 nb, uint32 newid, int layer, float d)
{
	int			cap;
	uint32	   *list = list_mem(st, nb, layer, &cap);
	uint32		cur[2 * HNSW_M_MAX];
	uint32		upd[2 * HNSW_M_MAX];
	HnswCand   *cands = st->cands;

	Assert(nb != newid && newid < st->n);
	for (int attempt = 0; attempt < 5; attempt++)
	{
		int			n;
		int			nsel;
		bool		done = false;

		if (st->locks)
			SpinLockAcquire(&st->locks[nb]);
		memcpy(cur, list, sizeof(uint32) * cap);
		n = 0;
		while (n < cap && cur[n] != HNSW_INVALID_ID)
		{
			/* in a parallel build nb may have chosen newid itself */
			if (cur[n] == newid)
				done = true;
			n++;
		}
		if (!done && n < cap)
		{
			list[n] = newid;
			done = true;
		}
		if (st->locks)
			SpinLockRelease(&st->locks[nb]);
		if (done)
			return;

		for (int i = 0; i < n; i++)
		{
			cands[i].id = cur[i];
			cands[i].dist = pairdist_mem(st, nb, cur[i]);
		}
		cands[n].id = newid;
		cands[n].dist = d;
		qsort(cands, n + 1, sizeof(HnswCand), HnswCandCmp);
		nsel = HnswSelectNeighbors(st->metric, cands, n + 1, cap, pairdist_mem, st, upd);
		Assert(nsel <= cap);
		for (int i = nsel; i < cap; i++)
			upd[i] = HNSW_INVALID_ID;

		if (st->locks)
			SpinLockAcquire(&st->locks[nb]);
		if (memcmp(cur, list, sizeof(uint32) * cap) == 0)
		{
			memcpy(list, upd, sizeof(uint32) * cap);
			done = true;
		}
		if (st->locks)
			SpinLockRelease(&st->locks[nb]);
		if (done)
			return;
	}
}

/* The entry point and the top level (shared in a parallel build). */
static inline void
get_entry(HnswBuildState *st, uint32 *entry, int *maxlevel)
{
	if (st->shared)
	{
		SpinLockAcquire(&st->shared->mutex);
		*entry = st->shared->entry;
		*maxlevel = st->shared->maxlevel;
		SpinLockRelease(&st->shared->mutex);
	}
	else
	{
		*entry = st->entry;
		*maxlevel = st->maxlevel;
	}
}

static inline void
raise_entry(HnswBuildState *st, uint32 id, int level)
{
	if (st->shared)
	{
		SpinLockAcquire(&st->shared->mutex);
		if (level > st->shared->maxlevel)
		{
			st->shared->entry = id;
			st->shared->maxlevel = level;
		}
		SpinLockRelease(&st->shared->mutex);
	}
	else if (level > st->maxlevel)
	{
		st->entry = id;
		st->maxlevel = level;
	}
}

/*
 * insert_mem: HNSW paper Alg. 1 (INSERT) of element id into the in-memory
 * graph: greedy descent to its level, then per layer SEARCH-LAYER with
 * ef_construction, the heuristic picks at most m neighbours (under inner
 * product: the nearest m, see HnswSelectNeighbors), links both ways.
 * Element 0 is the initial entry point and is not inserted.
 */
static void
insert_mem(HnswBuildState *st, uint32 id)
{
	const float *q = VEC(st, id);
	int			level = st->levels[id];
	uint32		ep;
	int			maxlevel;
	float		epd;
	int			ncands;
	HnswCand   *eps = st->eps;
	int			neps;
	uint32	   *list = st->listbuf;

	get_entry(st, &ep, &maxlevel);
	epd = st->dist(q, VEC(st, ep), st->dims);
	for (int layer = maxlevel; layer > level; layer--)
	{
		bool		changed = true;

		while (changed)
		{
			int			n = copy_list(st, ep, layer, list);

			changed = false;
			for (int i = 0; i < n; i++)
			{
				float		d = st->dist(q, VEC(st, list[i]), st->dims);

				if (d < epd)
				{
					epd = d;
					ep = list[i];
					changed = true;
				}
			}
		}
	}

	eps[0].id = ep;
	eps[0].dist = epd;
	neps = 1;
	for (int layer = Min(level, maxlevel); layer >= 0; layer--)
	{
		int			cap;
		uint32	   *mylist = list_mem(st, id, layer, &cap);
		uint32		sel[HNSW_M_MAX];
		int			nsel;

		HnswVisitedReset(&st->visited, st->n);
		st->W.n = 0;
		st->C.n = 0;
		HnswVisitedSet(&st->visited, id);
		for (int i = 0; i < neps; i++)
		{
			HnswVisitedSet(&st->visited, eps[i].id);
			HnswHeapPush(&st->W, eps[i].dist, eps[i].id);
			HnswHeapPush(&st->C, eps[i].dist, eps[i].id);
		}
		search_layer_mem(st, q, st->efc, layer);

		/* W, nearest first */
		ncands = st->W.n;
		for (int i = ncands - 1; i >= 0; i--)
			eps[i] = HnswHeapPop(&st->W);
		neps = ncands;

		nsel = HnswSelectNeighbors(st->metric, eps, ncands, st->m, pairdist_mem, st, sel);
		if (st->locks)
		{
			/*
			 * Parallel build: once this element is linked on a higher layer,
			 * other workers may already have added themselves to this list;
			 * keep those after the selected ones, without duplicates.
			 */
			uint32		merged[2 * HNSW_M_MAX];
			int			nm = 0;

			SpinLockAcquire(&st->locks[id]);
			for (int i = 0; i < nsel; i++)
				merged[nm++] = sel[i];
			for (int i = 0; i < cap && mylist[i] != HNSW_INVALID_ID && nm < cap; i++)
			{
				bool		dup = false;

				for (int j = 0; j < nsel && !dup; j++)
					dup = sel[j] == mylist[i];
				if (!dup)
					merged[nm++] = mylist[i];
			}
			for (int i = 0; i < cap; i++)
				mylist[i] = i < nm ? merged[i] : HNSW_INVALID_ID;
			SpinLockRelease(&st->locks[id]);
		}
		else
		{
			for (int i = 0; i < nsel; i++)
				mylist[i] = sel[i];
		}
		for (int i = 0; i < nsel; i++)
		{
			float		d = 0;

			for (int j = 0; j < ncands; j++)
				if (eps[j].id == sel[i])
				{
					d = eps[j].dist;
					break;
				}
			add_link_mem(st, sel[i], id, layer, d);
		}
	}
	if (level > maxlevel)
		raise_entry(st, id, level);
}

/* Per-process search state of the in-memory build. */
static void
init_search_state(HnswBuildState *st)
{
	st->vecbytes = sizeof(float) * st->dims;
	HnswVisitedInit(&st->visited, st->n);
	HnswHeapInit(&st->W, st->efc + 2, true);
	HnswHeapInit(&st->C, st->efc * 4, false);
	st->cands = palloc(sizeof(HnswCand) * (2 * st->m + 2));
	st->eps = palloc(sizeof(HnswCand) * (st->efc + 2));
	st->listbuf = palloc(sizeof(uint32) * 2 * st->m);
}

/*
 * insert_loop: insert elements until none is left.  In a parallel build the
 * leader and the workers take the next element from a shared counter.
 */
static void
insert_loop(HnswBuildState *st, bool leader)
{
	for (;;)
	{
		uint64		id;

		if (st->shared)
			id = pg_atomic_fetch_add_u64(&st->shared->next, 1);
		else
			id = st->next++;
		if (id >= (uint64) st->n)
			break;
		insert_mem(st, (uint32) id);
		if ((id & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			if (leader)
				build_progress_graph(st, id);
		}
	}
}

/*
 * list_add_if_room: put id in the first free entry of a neighbour list of cap
 * entries; true if it was added, false if the list is full or already holds id.
 */
static bool
list_add_if_room(uint32 *list, int cap, uint32 id)
{
	for (int j = 0; j < cap; j++)
	{
		if (list[j] == id)
			return false;
		if (list[j] == HNSW_INVALID_ID)
		{
			list[j] = id;
			return true;
		}
	}
	return false;
}

/*
 * repair_reachability: HNSW with the pruning heuristic can leave a few
 * elements with no incoming link (0.4% of Fashion-MNIST): no search can
 * return them.  Link each such element from one of its own layer-0
 * neighbours, preferring one with a free entry, else replacing the last
 * (farthest kept) entry of its nearest neighbour's list; repeat while the
 * breadth-first walk from the entry point still misses elements.
 */
static void
repair_reachability(HnswBuildState *st)
{
	bool	   *seen;
	uint32	   *queue;
	int			cap0 = 2 * st->m;

	if (st->n < 2)
		return;
	seen = palloc_extended(st->n, MCXT_ALLOC_HUGE);
	queue = palloc_extended(sizeof(uint32) * st->n, MCXT_ALLOC_HUGE);
	for (int round = 0; round < 8; round++)
	{
		int64		qh = 0,
					qt = 0,
					missing = 0;

		memset(seen, 0, st->n);
		queue[qt++] = st->entry;
		seen[st->entry] = true;
		while (qh < qt)
		{
			uint32		id = queue[qh++];

			for (int layer = 0; layer <= st->levels[id]; layer++)
			{
				int			cap;
				uint32	   *list = list_mem(st, id, layer, &cap);

				for (int i = 0; i < cap && list[i] != HNSW_INVALID_ID; i++)
					if (!seen[list[i]])
					{
						seen[list[i]] = true;
						queue[qt++] = list[i];
					}
			}
		}
		for (int64 u = 0; u < st->n; u++)
		{
			uint32	   *mine = st->list0 + (Size) u * cap0;
			bool		done = false;

			if (seen[u])
				continue;
			missing++;
			/* a reachable neighbour with a free entry */
			for (int i = 0; i < cap0 && mine[i] != HNSW_INVALID_ID && !done; i++)
			{
				uint32	   *theirs = st->list0 + (Size) mine[i] * cap0;

				if (seen[mine[i]])
					done = list_add_if_room(theirs, cap0, (uint32) u);
			}
			/* a reachable neighbour of a neighbour with a free entry */
			for (int i = 0; i < cap0 && mine[i] != HNSW_INVALID_ID && !done; i++)
			{
				uint32	   *hop = st->list0 + (Size) mine[i] * cap0;

				for (int k = 0; k < cap0 && hop[k] != HNSW_INVALID_ID && !done; k++)
				{
					uint32	   *theirs = st->list0 + (Size) hop[k] * cap0;

					if (seen[hop[k]] && hop[k] != (uint32) u)
						done = list_add_if_room(theirs, cap0, (uint32) u);
				}
			}
			/* else the nearest reachable neighbour gives up its last entry */
			for (int i = 0; i < cap0 && mine[i] != HNSW_INVALID_ID && !done; i++)
			{
				uint32	   *theirs = st->list0 + (Size) mine[i] * cap0;
				bool		present = false;

				if (!seen[mine[i]])
					continue;
				for (int j = 0; j < cap0; j++)
					present |= theirs[j] == (uint32) u;
				if (!present)
					theirs[cap0 - 1] = (uint32) u;
				done = true;
			}
		}
		if (missing == 0)
			break;
	}
	pfree(seen);
	pfree(queue);
}

/*
 * build_insert_order: the permutation of the collected rows in which they are
 * inserted (order[k] = collection index of the k-th insertion), chosen by the
 * build_order reloption (HnswBuildOrder, buildorder.c).
 *
 * A parallel build keeps the order: element ids are positions in it and the
 * leader and the workers take ids from one shared counter, so element k starts
 * after elements 0..k-1 have started; at most one element per process is in
 * flight at a time.  Rows beyond maintenance_work_mem (the on-disk fallback)
 * are inserted in table order after the ordered in-memory part.
 */
static uint32 *
build_insert_order(HnswBuildState *st)
{
	return HnswBuildOrder(st->index, st->vecs, st->dims, st->n, st->tids, st->metric);
}

/* Rearrange vecs and tids so that element id k is the k-th insertion. */
static void
apply_order(HnswBuildState *st, const uint32 *order)
{
	bool		identity = true;
	float	   *nv;
	ItemPointerData *nt;

	for (int64 i = 0; i < st->n && identity; i++)
		identity = order[i] == i;
	if (identity)
		return;
	nv = palloc_extended(sizeof(float) * (Size) st->n * st->dims, MCXT_ALLOC_HUGE);
	nt = palloc_extended(sizeof(ItemPointerData) * (Size) st->n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < st->n; i++)
	{
		memcpy(nv + (Size) i * st->dims, VEC(st, order[i]), sizeof(float) * st->dims);
		nt[i] = st->tids[order[i]];
	}
	pfree(st->vecs);
	pfree(st->tids);
	st->vecs = nv;
	st->tids = nt;
}

/*
 * alloc_huge_pages: an array of bytes in the graph context, aligned to 2 MB
 * and advised to be backed by transparent huge pages.  The build reads 3 KB
 * vectors at random from an array of hundreds of MB: with 4 KB pages nearly
 * every distance also misses the TLB.  Only an advice; where THP is off
 * nothing changes.
 */
static void *
alloc_huge_pages(Size bytes)
{
	Size		huge = 2 * 1024 * 1024;
	char	   *raw = palloc_extended(bytes + huge, MCXT_ALLOC_HUGE);
	char	   *p = (char *) TYPEALIGN(huge, raw);

#ifdef MADV_HUGEPAGE
	if (bytes >= huge)
		(void) madvise(p, TYPEALIGN_DOWN(huge, bytes), MADV_HUGEPAGE);
#endif
	return p;
}

/* Point the graph arrays of st into a parallel build's shared chunk. */
static void
attach_shared(HnswBuildState *st, HnswBuildShared *sh)
{
	char	   *base = (char *) sh;

	st->shared = sh;
	st->dims = sh->dims;
	st->m = sh->m;
	st->efc = sh->efc;
	st->metric = sh->metric;
	st->dist = HnswDistance(sh->metric);
	st->n = sh->n;
	st->upperlen = sh->upperlen;
	st->vecs = (float *) (base + sh->off_vecs);
	st->levels = (uint8 *) (base + sh->off_levels);
	st->list0 = (uint32 *) (base + sh->off_list0);
	st->upperidx = (uint64 *) (base + sh->off_upperidx);
	st->upperpool = (uint32 *) (base + sh->off_upperpool);
	st->locks = (slock_t *) (base + sh->off_locks);
}

/*
 * copy_vectors_private: in a parallel build, give this process its own copy
 * of the vectors in memory advised to use transparent huge pages and read
 * that instead of the shared chunk.  The vectors never change during the
 * build (only the lists do, and those stay shared), and the dynamic shared
 * memory cannot be advised so: there every random 3 KB read also misses the
 * TLB, which made a distance about 1.5x as slow as in a serial build.
 */
static void
copy_vectors_private(HnswBuildState *st)
{
	Size		vbytes = sizeof(float) * (Size) st->n * st->dims;
	float	   *v = alloc_huge_pages(vbytes);

	memcpy(v, st->vecs, vbytes);
	st->vecs = v;
}

/*
 * build_workers: how many parallel workers to ask for.  The table's
 * parallel_workers option when set; else 2 above 16 MB of vectors (unlike
 * plan_create_index_workers, which counts heap pages and so plans none for
 * TOASTed vectors), never more than max_parallel_maintenance_workers.
 */
static int
build_workers(HnswBuildState *st, IndexInfo *indexInfo)
{
	int			w;

	if (indexInfo == NULL || !IsUnderPostmaster || IsInParallelMode() ||
		max_parallel_maintenance_workers == 0 ||
		st->heap->rd_rel->relpersistence == RELPERSISTENCE_TEMP ||
		indexInfo->ii_Expressions != NIL || indexInfo->ii_Predicate != NIL ||
		st->n < 1000)
		return 0;
	w = RelationGetParallelWorkers(st->heap, -1);
	if (w < 0)
		w = (Size) st->n * st->dims * sizeof(float) >= 16 * 1024 * 1024 ? 2 : 0;
	return Min(w, max_parallel_maintenance_workers);
}

PGDLLEXPORT void hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc);

/* Entry point of a parallel build worker: insert elements until done. */
void
hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	HnswBuildShared *sh = shm_toc_lookup(toc, PARALLEL_KEY_HNSW_SHARED, false);
	HnswBuildState st;

	memset(&st, 0, sizeof(st));
	attach_shared(&st, sh);
	if (sh->private_vecs)
		copy_vectors_private(&st);
	init_search_state(&st);
	insert_loop(&st, false);
}

/*
 * draw_levels: the level of every element from the seed option's stream (in
 * insertion order, so a build is reproducible), and where each element's
 * upper lists start in the pool.
 */
static void
draw_levels(HnswBuildState *st)
{
	VsRandom	rng;

	st->levels = palloc_extended(Max(st->n, 1), MCXT_ALLOC_HUGE);
	st->upperidx = palloc_extended(sizeof(uint64) * (Size) Max(st->n, 1), MCXT_ALLOC_HUGE);
	HnswLevelSeed(&rng, st->seed);
	st->upperlen = 0;
	for (int64 i = 0; i < st->n; i++)
	{
		int			level = HnswRandomLevel(&rng, st->m);

		Assert(level >= 0 && level <= HNSW_MAX_LEVEL);
		st->levels[i] = level;
		st->upperidx[i] = st->upperlen;
		st->upperlen += (uint64) st->m * level;
	}
}

/*
 * begin_parallel: enter parallel mode and move the graph (vectors, levels,
 * empty lists, locks) into one dynamic shared memory chunk for nworkers
 * workers and the leader.  Returns NULL, changing nothing, when no dynamic
 * shared memory is available: the build is then serial.
 */
static ParallelContext *
begin_parallel(HnswBuildState *st, int nworkers)
{
	ParallelContext *pcxt;
	HnswBuildShared *sh;
	Size		total = MAXALIGN(sizeof(HnswBuildShared));
	Size		off_vecs = total;
	Size		off_levels;
	Size		off_list0;
	Size		off_upperidx;
	Size		off_upperpool;
	Size		off_locks;

	total += MAXALIGN(sizeof(float) * (Size) st->n * st->dims);
	off_levels = total;
	off_list0 = (total += MAXALIGN(st->n));
	off_upperidx = (total += MAXALIGN(sizeof(uint32) * 2 * st->m * (Size) st->n));
	off_upperpool = (total += MAXALIGN(sizeof(uint64) * (Size) st->n));
	off_locks = (total += MAXALIGN(sizeof(uint32) * (Size) Max(st->upperlen, 1)));
	total += MAXALIGN(sizeof(slock_t) * (Size) st->n);

	EnterParallelMode();
	pcxt = CreateParallelContext("vecsearch", "hnsw_parallel_build_main", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, total);
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	sh = shm_toc_allocate(pcxt->toc, total);
	memset(sh, 0, sizeof(HnswBuildShared));
	sh->dims = st->dims;
	sh->m = st->m;
	sh->efc = st->efc;
	sh->metric = st->metric;
	sh->n = st->n;
	sh->upperlen = st->upperlen;
	sh->off_vecs = off_vecs;
	sh->off_levels = off_levels;
	sh->off_list0 = off_list0;
	sh->off_upperidx = off_upperidx;
	sh->off_upperpool = off_upperpool;
	sh->off_locks = off_locks;
	sh->total = total;
	SpinLockInit(&sh->mutex);
	sh->entry = 0;
	sh->maxlevel = st->levels[0];
	pg_atomic_init_u64(&sh->next, 1);
	memcpy((char *) sh + off_vecs, st->vecs, sizeof(float) * (Size) st->n * st->dims);
	memcpy((char *) sh + off_levels, st->levels, st->n);
	memcpy((char *) sh + off_upperidx, st->upperidx, sizeof(uint64) * (Size) st->n);

	/*
	 * A private copy of the vectors per process when the shared chunk and one
	 * copy per participant fit in maintenance_work_mem.
	 */
	sh->private_vecs = (Size) (nworkers + 2) * sizeof(float) * (Size) st->n * st->dims <=
		(Size) maintenance_work_mem * 1024;
	pfree(st->vecs);
	pfree(st->levels);
	pfree(st->upperidx);
	attach_shared(st, sh);
	if (sh->private_vecs)
		copy_vectors_private(st);
	for (int64 i = 0; i < st->n; i++)
		SpinLockInit(&st->locks[i]);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_HNSW_SHARED, sh);
	return pcxt;
}

/*
 * alloc_graph_serial: the lists of a serial build in process memory, the
 * vectors moved to memory advised to use huge pages when they are large.
 */
static void
alloc_graph_serial(HnswBuildState *st)
{
	Size		vbytes = sizeof(float) * (Size) st->n * st->dims;

	if (vbytes >= 32 * 1024 * 1024)
	{
		float	   *hv = alloc_huge_pages(vbytes);

		memcpy(hv, st->vecs, vbytes);
		pfree(st->vecs);
		st->vecs = hv;
	}
	st->list0 = alloc_huge_pages(sizeof(uint32) * 2 * st->m * (Size) Max(st->n, 1));
	st->upperpool = palloc_extended(sizeof(uint32) * (Size) Max(st->upperlen, 1), MCXT_ALLOC_HUGE);
	st->locks = NULL;
	st->shared = NULL;
}

/*
 * insert_all: insert every element (element 0 is the first entry point),
 * the leader together with the launched workers of a parallel build.
 */
static void
insert_all(HnswBuildState *st, ParallelContext *pcxt)
{
	memset(st->list0, 0xFF, sizeof(uint32) * 2 * st->m * (Size) st->n);
	memset(st->upperpool, 0xFF, sizeof(uint32) * (Size) st->upperlen);
	init_search_state(st);
	st->entry = 0;
	st->maxlevel = st->n > 0 ? st->levels[0] : -1;
	st->next = 1;
	if (pcxt == NULL)
	{
		insert_loop(st, true);
		return;
	}
	LaunchParallelWorkers(pcxt);
	insert_loop(st, true);
	WaitForParallelWorkersToFinish(pcxt);
	st->entry = st->shared->entry;
	st->maxlevel = st->shared->maxlevel;
	ereport(DEBUG1,
			(errmsg_internal("hnsw build used %d parallel workers, vectors read from %s",
							 pcxt->nworkers_launched,
							 st->shared->private_vecs ? "private copies" : "shared memory")));
}

/*
 * build_graph: build the graph over the collected rows (all in memory), with
 * parallel workers when build_workers() asks for them and they can be
 * launched: order the rows, draw the levels, lay out the graph, insert every
 * element, then link the elements left without an incoming link.
 */
static void
build_graph(HnswBuildState *st, IndexInfo *indexInfo)
{
	uint32	   *order;
	MemoryContext old = MemoryContextSwitchTo(st->graphctx);
	int			nworkers;
	ParallelContext *pcxt = NULL;

	st->heapblocks = st->heap ? RelationGetNumberOfBlocks(st->heap) : 0;
	build_progress(st, HNSW_PHASE_GRAPH, 0, st->n, 0, st->heapblocks);

	order = build_insert_order(st);
	apply_order(st, order);
	pfree(order);

	draw_levels(st);
	nworkers = build_workers(st, indexInfo);
	if (nworkers > 0)
		pcxt = begin_parallel(st, nworkers);
	if (pcxt == NULL)
		alloc_graph_serial(st);

	insert_all(st, pcxt);
	build_progress_graph(st, st->n);
	if (st->n > 0)
		repair_reachability(st);
	else
		st->entry = HNSW_INVALID_ID;
	st->pcxt = pcxt;
	MemoryContextSwitchTo(old);
}

/* End the parallel mode of a parallel build (after the graph is written). */
static void
end_parallel(HnswBuildState *st)
{
	if (st->pcxt != NULL)
	{
		DestroyParallelContext(st->pcxt);
		ExitParallelMode();
		st->pcxt = NULL;
		st->shared = NULL;
	}
}

/* Sequential page writer for the slot stream (smgrextend + log_newpages). */
typedef struct HnswPageWriter
{
	Relation	index;
	bool		wal;
	char	   *pages;			/* HNSW_WRITE_BATCH pages */
	int			npages;			/* full pages waiting in the batch */
	BlockNumber nextblk;		/* block number of pages[0] */
	uint32		used;			/* bytes used in the current page */
} HnswPageWriter;

static void
writer_flush(HnswPageWriter *w, int npages)
{
	BlockNumber blknos[HNSW_WRITE_BATCH];
	Page		pages[HNSW_WRITE_BATCH];

	if (npages == 0)
		return;
	for (int i = 0; i < npages; i++)
	{
		blknos[i] = w->nextblk + i;
		pages[i] = w->pages + (Size) i * BLCKSZ;
	}
	if (w->wal)
		log_newpages(&w->index->rd_node, MAIN_FORKNUM, npages, blknos, pages, true);
	for (int i = 0; i < npages; i++)
	{
		PageSetChecksumInplace(pages[i], blknos[i]);
		smgrextend(RelationGetSmgr(w->index), MAIN_FORKNUM, blknos[i], pages[i], true);
	}
	w->nextblk += npages;
	pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE, w->nextblk);
	w->npages = 0;
	w->used = 0;
	for (int i = 0; i < HNSW_WRITE_BATCH; i++)
		HnswInitSlotPage((Page) (w->pages + (Size) i * BLCKSZ));
}

/* Append len bytes to the stream. */
static void
writer_emit(HnswPageWriter *w, const void *src, Size len)
{
	const char *s = src;

	while (len > 0)
	{
		Size		chunk = Min(len, (Size) (HNSW_PAGE_DATA - w->used));

		memcpy(w->pages + (Size) w->npages * BLCKSZ + HNSW_PAGE_DATA_START + w->used, s, chunk);
		w->used += chunk;
		s += chunk;
		len -= chunk;
		if (w->used == HNSW_PAGE_DATA)
		{
			w->used = 0;
			if (++w->npages == HNSW_WRITE_BATCH)
				writer_flush(w, HNSW_WRITE_BATCH);
		}
	}
}

/* Write the metapage and the slot stream of the in-memory graph. */
static void
write_graph(HnswBuildState *st)
{
	HnswPageWriter w;
	int			codes = HnswResolveCodes(st->codes, st->dims);
	uint32		code_bytes = HnswCodeBytes(codes, st->dims);
	uint32		slot_size = st->dims > 0 ? HNSW_SLOT_SIZE(st->m, st->dims, code_bytes) : 0;
	uint32	   *upperslot = NULL;
	uint16	   *upperoff = NULL;
	uint64		packed = 0;
	uint64		next = st->n;
	Page		meta;
	HnswMetaPageData *md;
	char	   *zeros;
	char	   *code;

	/* upper records follow all elements, packed back to back */
	if (st->n > 0)
	{
		upperslot = palloc_extended(sizeof(uint32) * (Size) st->n, MCXT_ALLOC_HUGE);
		upperoff = palloc_extended(sizeof(uint16) * (Size) st->n, MCXT_ALLOC_HUGE);
	}
	for (int64 i = 0; i < st->n; i++)
	{
		if (st->levels[i] > 0)
		{
			uint64		o = (uint64) st->n * slot_size + packed;

			upperslot[i] = (uint32) (o / slot_size);
			upperoff[i] = (uint16) (o % slot_size);
			packed += HNSW_UPPER_BYTES(st->m, st->levels[i]);
		}
		else
		{
			upperslot[i] = HNSW_INVALID_ID;
			upperoff[i] = 0;
		}
	}
	if (slot_size > 0)
		next = st->n + (packed + slot_size - 1) / slot_size;
	if (next >= HNSW_INVALID_ID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw index would need %llu slots, more than the maximum of %u",
						(unsigned long long) next, HNSW_INVALID_ID - 1)));

	/* the metapage and the stream's pages */
	build_progress(st, HNSW_PHASE_WRITE, -1, -1, 0,
				   1 + (int64) ((next * slot_size + HNSW_PAGE_DATA - 1) / HNSW_PAGE_DATA));
	w.index = st->index;
	w.wal = RelationNeedsWAL(st->index);
	w.pages = palloc((Size) BLCKSZ * HNSW_WRITE_BATCH);
	w.npages = 0;
	w.used = 0;
	w.nextblk = 1;
	for (int i = 0; i < HNSW_WRITE_BATCH; i++)
		HnswInitSlotPage((Page) (w.pages + (Size) i * BLCKSZ));

	/* metapage first (block 0) */
	meta = palloc(BLCKSZ);
	HnswInitMetaPage(meta, st->dims, st->m, st->efc, st->metric, st->seed, codes);
	md = HnswPageGetMeta(meta);
	md->next_slot = (uint32) next;
	md->packed_start = (uint32) st->n;
	md->packed_end = (uint32) next;
	md->entry_id = st->entry;
	md->entry_level = st->entry == HNSW_INVALID_ID ? -1 : st->maxlevel;
	md->nelements = (uint32) st->n;
	md->rng_state = (uint64) st->seed + st->n;
	if (w.wal)
		log_newpage(&st->index->rd_node, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, meta, true);
	PageSetChecksumInplace(meta, HNSW_METAPAGE_BLKNO);
	smgrextend(RelationGetSmgr(st->index), MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, meta, true);
	pfree(meta);

	zeros = palloc0(Max(slot_size, 1));
	code = palloc0(Max(code_bytes, 1));
	for (int64 i = 0; i < st->n; i++)
	{
		HnswElementHeader hdr;

		hdr.heaptid = st->tids[i];
		hdr.kind = HNSW_KIND_ELEMENT;
		hdr.level = st->levels[i];
		HnswHeaderSetUpper(&hdr, upperslot[i], upperoff[i]);
		writer_emit(&w, &hdr, HNSW_ELEMENT_HEADER_SIZE);
		writer_emit(&w, st->list0 + (Size) i * 2 * st->m, sizeof(uint32) * 2 * st->m);
		if (code_bytes > 0)
		{
			HnswEncode(codes, VEC(st, i), st->dims, code);
			writer_emit(&w, code, code_bytes);
		}
		writer_emit(&w, VEC(st, i), sizeof(float) * st->dims);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int64 i = 0; i < st->n; i++)
	{
		HnswUpperHeader uh;

		if (st->levels[i] == 0)
			continue;
		uh.owner = (uint32) i;
		uh.kind = HNSW_KIND_UPPER;
		uh.level = st->levels[i];
		uh.unused = 0;
		writer_emit(&w, &uh, HNSW_UPPER_HEADER_SIZE);
		writer_emit(&w, st->upperpool + st->upperidx[i], sizeof(uint32) * st->m * st->levels[i]);
	}
	/* pad the packed area to a whole slot */
	for (uint64 pad = (next - st->n) * slot_size - packed; pad > 0;)
	{
		Size		c = Min(pad, (uint64) slot_size);

		writer_emit(&w, zeros, c);
		pad -= c;
	}
	/* the last, partly filled page */
	writer_flush(&w, w.npages + (w.used > 0 ? 1 : 0));

	if (RelationNeedsWAL(st->index))
		smgrimmedsync(RelationGetSmgr(st->index), MAIN_FORKNUM);
}

/* Memory for one more collected row plus its share of the graph. */
static Size
per_element_bytes(HnswBuildState *st)
{
	return sizeof(float) * st->dims + sizeof(ItemPointerData) + 1 +
		sizeof(uint32 *) + sizeof(uint32) * 2 * st->m + sizeof(uint32) +
		sizeof(uint32) * st->m / 8 + 16;
}

/* Build the graph from what was collected, write it, continue on disk. */
static void
spill_to_disk(HnswBuildState *st)
{
	int64		blocks_done = MyBEEntry ? MyBEEntry->st_progress_param[PROGRESS_SCAN_BLOCKS_DONE] : 0;
	int64		blocks_total = MyBEEntry ? MyBEEntry->st_progress_param[PROGRESS_SCAN_BLOCKS_TOTAL] : 0;

	ereport(NOTICE,
			(errmsg("hnsw graph no longer fits into maintenance_work_mem after %lld tuples",
					(long long) st->n),
			 errdetail("Building will take significantly more time."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	build_graph(st, NULL);
	write_graph(st);
	MemoryContextReset(st->graphctx);
	st->vecs = NULL;
	st->tids = NULL;
	st->ondisk = true;
	/* back to the table scan, at the block it had reached */
	build_progress(st, HNSW_PHASE_LOAD, (int64) st->indtuples, 0, blocks_done, blocks_total);
}

/* table_index_build_scan callback: collect one row. */
static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	HnswBuildState *st = state;
	MemoryContext old;
	Vector	   *v;

	if (isnull[0])
		return;

	old = MemoryContextSwitchTo(st->tmpctx);

	/*
	 * an impossible stored value (0 dimensions, NaN) is an error naming the
	 * row
	 */
	v = DatumGetRowVector(values[0], st->heap, tid, true);
	if (st->dims == 0)
	{
		st->dims = v->dim;
		st->maxn = Max((int64) 16, (int64) ((Size) maintenance_work_mem * 1024 / per_element_bytes(st)));
	}
	else if (v->dim != st->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", st->dims, v->dim)));

	if (st->ondisk)
	{
		float	   *x = palloc(sizeof(float) * st->dims);

		memcpy(x, v->x, sizeof(float) * st->dims);
		if (HnswInsertVector(st->index, x, st->dims, tid, false))
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) ++st->indtuples);
		MemoryContextSwitchTo(old);
		MemoryContextReset(st->tmpctx);
		return;
	}

	MemoryContextSwitchTo(st->graphctx);
	if (st->n == st->cap)
	{
		int64		newcap;

		if (st->n >= st->maxn || st->n >= (int64) HNSW_INVALID_ID / 2)
		{
			MemoryContextSwitchTo(old);
			spill_to_disk(st);
			build_callback(index, tid, values, isnull, tupleIsAlive, state);
			return;
		}
		newcap = Min(Max(st->cap * 2, 1024), st->maxn);
		if (st->vecs == NULL)
		{
			st->vecs = palloc_extended(sizeof(float) * (Size) newcap * st->dims, MCXT_ALLOC_HUGE);
			st->tids = palloc_extended(sizeof(ItemPointerData) * (Size) newcap, MCXT_ALLOC_HUGE);
		}
		else
		{
			st->vecs = repalloc_huge(st->vecs, sizeof(float) * (Size) newcap * st->dims);
			st->tids = repalloc_huge(st->tids, sizeof(ItemPointerData) * (Size) newcap);
		}
		st->cap = newcap;
	}
	memcpy(VEC(st, st->n), v->x, sizeof(float) * st->dims);
	if (HnswPrepareVector(st->metric, VEC(st, st->n), st->dims))
	{
		st->tids[st->n] = *tid;
		st->n++;
		st->indtuples++;
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) st->indtuples);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->tmpctx);
}

/* Check the build options and fill the common state. */
static void
init_build_state(HnswBuildState *st, Relation heap, Relation index)
{
	Form_pg_attribute att = TupleDescAttr(index->rd_att, 0);
	int32		typmod = att->atttypmod;

	/* a column of a domain over vector(n): the domain's n */
	if (typmod < 0)
		(void) getBaseTypeAndTypmod(att->atttypid, &typmod);
	memset(st, 0, sizeof(HnswBuildState));
	st->heap = heap;
	st->index = index;
	st->m = HnswGetM(index);
	st->efc = HnswGetEfConstruction(index);
	st->seed = (uint32) HnswGetSeed(index);
	st->codes = HnswGetCodes(index);
	if (st->efc < 2 * st->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction (%d) must be greater than or equal to 2 * m (%d)",
						st->efc, 2 * st->m)));
	/* like pgvector: the dimensions come from the column (or the cast) */
	if (typmod < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column as vector(n), or index a cast such as (embedding::vector(n)).")));
	st->metric = HnswGetMetric(index);
	st->dist = HnswDistance(st->metric);
	st->dims = typmod > 0 ? typmod : 0;
	if (st->dims > 0)
		st->maxn = Max((int64) 16, (int64) ((Size) maintenance_work_mem * 1024 / per_element_bytes(st)));
}

/* ambuild */
IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	HnswBuildState st;
	double		reltuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	init_build_state(&st, heap, index);
	st.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build tuple",
									  ALLOCSET_DEFAULT_SIZES);
	st.graphctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build graph",
										ALLOCSET_DEFAULT_SIZES);

	build_progress(&st, HNSW_PHASE_LOAD, 0, 0, -1, -1);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   build_callback, &st, NULL);

	if (!st.ondisk)
	{
		build_graph(&st, indexInfo);
		write_graph(&st);
		end_parallel(&st);
	}

	MemoryContextDelete(st.graphctx);
	MemoryContextDelete(st.tmpctx);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = st.indtuples;
	return result;
}

/* ambuildempty: the init fork of an UNLOGGED index is an empty metapage. */
void
hnswbuildempty(Relation index)
{
	HnswBuildState st;
	Page		page = palloc(BLCKSZ);

	init_build_state(&st, NULL, index);
	HnswInitMetaPage(page, st.dims, st.m, st.efc, st.metric, st.seed, st.codes);
	PageSetChecksumInplace(page, HNSW_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, HNSW_METAPAGE_BLKNO, (char *) page, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM,
				HNSW_METAPAGE_BLKNO, page, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
	pfree(page);
}
