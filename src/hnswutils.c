/*
 * hnswutils.c: what the hnsw files share: distances per metric, the level
 * generator (HnswLevelSeed, HnswRandomLevel), candidate heaps, the visited
 * set, the neighbour-selection heuristic (HnswSelectNeighbors), page
 * initialisation, the metapage accessors (HnswReadMeta, HnswMetaProblem,
 * HnswUpdateMetaPage, the free list heads) and the on-disk graph reader
 * (HnswReader: slot stream addressing, in-place distances, SEARCH-LAYER).
 *
 * See src/README, sections "hnsw page format" and "Damaged indexes".
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "distance.h"
#include "hnsw.h"

/* ---------------------------------------------------------------------
 * Distances
 * --------------------------------------------------------------------- */

static float
hnsw_l2(const float *a, const float *b, int n)
{
	return vs_kernels.l2sq(a, b, n);
}

static float
hnsw_negdot(const float *a, const float *b, int n)
{
	return -vs_kernels.dot(a, b, n);
}

static float
hnsw_l1(const float *a, const float *b, int n)
{
	return vs_kernels.l1(a, b, n);
}

/*
 * HnswDistance: the internal distance of a metric.  Every one of them is a
 * sum over coordinates, so a vector split across pages is measured piece by
 * piece and the parts added (HnswSlotDistance relies on this).  For cosine
 * the stored and query vectors are normalised, so -<a,b> orders like 1 - cos.
 */
HnswDistFn
HnswDistance(VsMetric metric)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return hnsw_l2;
		case VS_METRIC_IP:
		case VS_METRIC_COSINE:
			return hnsw_negdot;
		case VS_METRIC_L1:
			return hnsw_l1;
	}
	elog(ERROR, "unknown hnsw metric %d", (int) metric);
	return NULL;
}

/*
 * HnswPrepareVector: put x in the stored form.  For cosine, normalise in
 * place; returns false for a zero vector (not indexed, as pgvector does).
 */
bool
HnswPrepareVector(VsMetric metric, float *x, int dims)
{
	if (metric == VS_METRIC_COSINE)
	{
		double		norm = 0;

		for (int i = 0; i < dims; i++)
			norm += (double) x[i] * x[i];
		if (norm <= 0)
			return false;
		norm = sqrt(norm);
		for (int i = 0; i < dims; i++)
			x[i] = (float) (x[i] / norm);
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Level generator: splitmix64, seeded from the index's seed option
 * --------------------------------------------------------------------- */

/*
 * HnswLevelSeed: the level stream's own seeding of a VsRandom (part of what
 * makes a build reproducible: the same seed gives the same levels).
 */
void
HnswLevelSeed(VsRandom *rng, uint64 seed)
{
	rng->state = seed * UINT64CONST(0x9E3779B97F4A7C15) + UINT64CONST(0x2545F4914F6CDD1D);
}

/*
 * HnswRandomLevel: HNSW paper (Malkov & Yashunin), Alg. 1 line 4:
 * l = floor(-ln(U) * mL) with U uniform in (0,1] and mL = 1 / ln(M).
 */
int
HnswRandomLevel(VsRandom *rng, int m)
{
	double		u = vs_random_unit(rng);
	double		l = -log(u) / log((double) m);

	if (l >= HNSW_MAX_LEVEL)
		return HNSW_MAX_LEVEL;
	return (int) l;
}

/* ---------------------------------------------------------------------
 * Heaps of (distance, id)
 * --------------------------------------------------------------------- */

void
HnswHeapInit(HnswHeap *h, int cap, bool max)
{
	h->cap = Max(cap, 16);
	h->a = palloc(sizeof(HnswCand) * h->cap);
	h->n = 0;
	h->max = max;
}

/* True when x must sit above y in the heap. */
static inline bool
heap_above(const HnswHeap *h, float x, float y)
{
	return h->max ? x > y : x < y;
}

void
HnswHeapPush(HnswHeap *h, float dist, uint32 id)
{
	int			i;

	if (h->n == h->cap)
	{
		h->cap *= 2;
		h->a = repalloc_huge(h->a, sizeof(HnswCand) * h->cap);
	}
	i = h->n++;
	while (i > 0)
	{
		int			p = (i - 1) / 2;

		if (!heap_above(h, dist, h->a[p].dist))
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i].dist = dist;
	h->a[i].id = id;
}

HnswCand
HnswHeapPop(HnswHeap *h)
{
	HnswCand	top = h->a[0];
	HnswCand	last = h->a[--h->n];
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_above(h, h->a[c + 1].dist, h->a[c].dist))
			c++;
		if (!heap_above(h, h->a[c].dist, last.dist))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n > 0)
		h->a[i] = last;
	return top;
}

/* ---------------------------------------------------------------------
 * Visited set: one uint32 tag per slot; a new search bumps the epoch
 * --------------------------------------------------------------------- */

void
HnswVisitedInit(HnswVisited *v, uint32 cap)
{
	v->cap = Max(cap, 64);
	v->tag = palloc_extended(sizeof(uint32) * (Size) v->cap, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	v->epoch = 1;
}

/* Start a new search over ids < cap (grows the array when needed). */
void
HnswVisitedReset(HnswVisited *v, uint32 cap)
{
	if (cap > v->cap)
	{
		uint32		newcap = Max(cap, v->cap * 2);

		v->tag = repalloc_huge(v->tag, sizeof(uint32) * (Size) newcap);
		memset(v->tag + v->cap, 0, sizeof(uint32) * (Size) (newcap - v->cap));
		v->cap = newcap;
	}
	if (++v->epoch == 0)
	{
		memset(v->tag, 0, sizeof(uint32) * (Size) v->cap);
		v->epoch = 1;
	}
}

/*
 * A visited set kept for the whole backend life (TopMemoryContext): most
 * scans and inserts borrow it instead of allocating and zeroing one array
 * per query (240 KB for 60,000 elements).  A second concurrent user (two
 * interleaved scans) gets a private one.  Transaction end returns it, in
 * case an error skipped HnswVisitedRelease.
 */
static HnswVisited spare_visited;
static bool spare_busy = false;
static bool spare_callback = false;

static void
spare_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		spare_busy = false;
}

/* A visited set for ids < cap, cleared (by a new epoch). */
HnswVisited *
HnswVisitedAcquire(uint32 cap)
{
	HnswVisited *v;

	if (!spare_busy)
	{
		if (!spare_callback)
		{
			RegisterXactCallback(spare_xact_callback, NULL);
			spare_callback = true;
		}
		if (spare_visited.tag == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			HnswVisitedInit(&spare_visited, cap);
			MemoryContextSwitchTo(old);
		}
		else
			HnswVisitedReset(&spare_visited, cap);
		spare_busy = true;
		return &spare_visited;
	}
	v = palloc(sizeof(HnswVisited));
	HnswVisitedInit(v, cap);
	return v;
}

/* Give back a set from HnswVisitedAcquire. */
void
HnswVisitedRelease(HnswVisited *v)
{
	if (v == &spare_visited)
		spare_busy = false;
	else if (v != NULL)
	{
		pfree(v->tag);
		pfree(v);
	}
}

/* Make room for id (slots allocated by concurrent inserts during a walk). */
static inline void
visited_ensure(HnswVisited *v, uint32 id)
{
	if (id >= v->cap)
	{
		uint32		newcap = Max(id + 1, v->cap * 2);

		v->tag = repalloc_huge(v->tag, sizeof(uint32) * (Size) newcap);
		memset(v->tag + v->cap, 0, sizeof(uint32) * (Size) (newcap - v->cap));
		v->cap = newcap;
	}
}

/* ---------------------------------------------------------------------
 * Neighbour selection
 * --------------------------------------------------------------------- */

/*
 * HnswSelectNeighbors: HNSW paper Alg. 4 (SELECT-NEIGHBORS-HEURISTIC) without
 * extendCandidates and keepPrunedConnections.  cands must be sorted by
 * increasing distance to the base element; a candidate is kept only when it
 * is closer to the base than to every neighbour kept so far.  Writes at most
 * limit ids to out and returns how many.
 *
 * Under inner product the nearest limit candidates are kept, unpruned (Alg. 3,
 * SELECT-NEIGHBORS-SIMPLE): -<a,b> is no metric (a vector of large norm is
 * "closer" to every other than they are to each other), so the heuristic's
 * test drops most candidates once one such vector is kept; see
 * src/README, "Build" (its paragraph "Inner product").
 */
int
HnswSelectNeighbors(VsMetric metric, HnswCand *cands, int ncands, int limit,
					HnswPairDist pairdist, void *arg, uint32 *out)
{
	int			nout = 0;
	int		   *kept;

	if (metric == VS_METRIC_IP)
	{
		for (int i = 0; i < ncands && nout < limit; i++)
			out[nout++] = cands[i].id;
		return nout;
	}
	kept = palloc(sizeof(int) * Max(limit, 1));

	for (int i = 0; i < ncands && nout < limit; i++)
	{
		bool		good = true;

		for (int j = 0; j < nout; j++)
		{
			if (pairdist(arg, cands[i].id, cands[kept[j]].id) < cands[i].dist)
			{
				good = false;
				break;
			}
		}
		if (good)
		{
			kept[nout] = i;
			out[nout++] = cands[i].id;
		}
	}
	pfree(kept);
	return nout;
}

/* ---------------------------------------------------------------------
 * Pages
 * --------------------------------------------------------------------- */

static void
init_page(Page page, uint16 flags)
{
	HnswPageOpaqueData *op;

	PageInit(page, BLCKSZ, MAXALIGN(sizeof(HnswPageOpaqueData)));
	op = (HnswPageOpaqueData *) PageGetSpecialPointer(page);
	op->flags = flags;
	op->page_id = HNSW_PAGE_ID;
}

/* Initialise a metapage for an empty graph. */
void
HnswInitMetaPage(Page page, uint32 dims, int m, int efc, VsMetric metric,
				 uint32 seed, int codes)
{
	HnswMetaPageData *meta;

	init_page(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMetaPageData));
	meta->magic = HNSW_MAGIC;
	meta->version = HNSW_VERSION;
	meta->dims = dims;
	meta->m = m;
	meta->ef_construction = efc;
	meta->metric = metric;
	meta->seed = seed;
	meta->codes = HnswResolveCodes(codes, dims);
	meta->code_bytes = HnswCodeBytes(meta->codes, dims);
	meta->slot_size = dims > 0 ? HNSW_SLOT_SIZE(m, dims, meta->code_bytes) : 0;
	meta->next_slot = 0;
	meta->entry_id = HNSW_INVALID_ID;
	meta->entry_level = -1;
	meta->nelements = 0;
	meta->free_head = HNSW_INVALID_ID;
	meta->rng_state = seed;
	((PageHeader) page)->pd_lower = (char *) meta + sizeof(HnswMetaPageData) - (char *) page;
}

/*
 * HnswFreeHead: first slot of the free list of deleted elements of level
 * (src/README, "Vacuum"), or HNSW_INVALID_ID.
 */
uint32
HnswFreeHead(const HnswMetaPageData *meta, int level)
{
	if (level == 0)
		return meta->free_head;
	if (level > HNSW_MAX_LEVEL || meta->free_upper[level - 1] == 0)
		return HNSW_INVALID_ID;
	return meta->free_upper[level - 1] - 1;
}

/* meta_set_free_head: set that head in the metapage meta. */
static void
meta_set_free_head(HnswMetaPageData *meta, int level, uint32 id)
{
	Assert(level >= 0 && level <= HNSW_MAX_LEVEL);
	if (level == 0)
	{
		meta->free_head = id;
		return;
	}
	meta->free_upper[level - 1] = id == HNSW_INVALID_ID ? 0 : id + 1;
}

/*
 * HnswHoldsBufferLock: does this backend hold buf's content lock in mode (for
 * Asserts; a local buffer of a temporary index has no lock, so true)?
 */
bool
HnswHoldsBufferLock(Buffer buf, LWLockMode mode)
{
	if (BufferIsLocal(buf))
		return true;
	return LWLockHeldByMeInMode(BufferDescriptorGetContentLock(GetBufferDescriptor(buf - 1)),
								mode);
}

/* HnswMetaUpdateInit: an update that changes nothing. */
void
HnswMetaUpdateInit(HnswMetaUpdate *u)
{
	memset(u, 0, sizeof(HnswMetaUpdate));
}

/*
 * HnswUpdateMetaPage: apply u to the metapage in metabuf (exclusively locked
 * by the caller, who keeps the lock) in one GenericXLog record.  Every write
 * of the metapage after the build goes through here.  pd_lower is raised to
 * cover the whole struct: a metapage written before free_upper existed has a
 * shorter used area, and bytes past pd_lower are not kept by WAL replay.
 */
void
HnswUpdateMetaPage(Relation index, Buffer metabuf, const HnswMetaUpdate *u)
{
	GenericXLogState *state;
	Page		page;
	HnswMetaPageData *meta;
	LocationIndex need;

	Assert(BufferGetBlockNumber(metabuf) == HNSW_METAPAGE_BLKNO);
	Assert(HnswHoldsBufferLock(metabuf, LW_EXCLUSIVE));
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, metabuf, 0);
	meta = HnswPageGetMeta(page);
	need = (char *) meta + sizeof(HnswMetaPageData) - (char *) page;
	if (((PageHeader) page)->pd_lower < need)
		((PageHeader) page)->pd_lower = need;
	if (u->dims != 0)
	{
		Assert(meta->dims == 0);
		meta->dims = u->dims;
		meta->codes = HnswResolveCodes(meta->codes, u->dims);
		meta->code_bytes = HnswCodeBytes(meta->codes, u->dims);
		meta->slot_size = HNSW_SLOT_SIZE(meta->m, u->dims, meta->code_bytes);
	}
	if (u->set_next_slot)
	{
		Assert(u->next_slot >= meta->next_slot);
		meta->next_slot = u->next_slot;
	}
	if (u->count_element)
		meta->nelements++;
	if (u->set_entry)
	{
		Assert(u->entry_level <= HNSW_MAX_LEVEL);
		Assert((u->entry_id == HNSW_INVALID_ID) == (u->entry_level < 0));
		Assert(u->entry_id == HNSW_INVALID_ID || u->entry_id < meta->next_slot);
		meta->entry_id = u->entry_id;
		meta->entry_level = u->entry_level;
	}
	for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
		if (u->set_free[l])
		{
			Assert(u->free_head[l] == HNSW_INVALID_ID || u->free_head[l] < meta->next_slot);
			meta_set_free_head(meta, l, u->free_head[l]);
		}
	GenericXLogFinish(state);
}

/*
 * Initialise a slot page: the whole data area counts as used (pd_lower =
 * pd_upper), so generic WAL and full-page images carry every byte of it.
 */
void
HnswInitSlotPage(Page page)
{
	init_page(page, HNSW_PAGE_SLOTS);
	memset((char *) page + HNSW_PAGE_DATA_START, 0, HNSW_PAGE_DATA);
	((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_upper;
}

/*
 * HnswCorrupt: report damage found in the index: ERRCODE_INDEX_CORRUPTED,
 * naming the index and what was found, with a hint to rebuild it.  Every
 * check of what the access method reads from a page reports through here.
 */
void
HnswCorrupt(Relation index, const char *fmt,...)
{
	char		what[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted: %s", RelationGetRelationName(index), what),
			 errhint("REINDEX the index.")));
	pg_unreachable();
}

/*
 * HnswMetaProblem: the one validation of a metapage copy, for an index of
 * nblocks blocks.  Returns false when every field is in range and consistent
 * with the others and with the relation size; else true, with the first
 * problem described in buf.  Readers report it with HnswCorrupt, the checker
 * as a row.  What it guarantees (see src/README, "Damaged indexes"): m, dims
 * and ef_construction within their limits, slot_size derived from m and dims,
 * every slot below next_slot inside the relation, the packed area, the entry
 * point and the free list heads among those slots, the entry level at most
 * HNSW_MAX_LEVEL.  nelements counts insertions (slots reused after VACUUM
 * count again), so it bounds nothing and sizes nothing.
 */
bool
HnswMetaProblem(const HnswMetaPageData *meta, BlockNumber nblocks, char *buf,
				Size buflen)
{
	uint32		want;
	uint64		room;

#define META_PROBLEM(...) \
	do { snprintf(buf, buflen, __VA_ARGS__); return true; } while (0)

	if (meta->magic != HNSW_MAGIC)
		META_PROBLEM("metapage magic is %08x, expected %08x (not an hnsw index?)",
					 meta->magic, HNSW_MAGIC);
	if (meta->version != HNSW_VERSION)
		META_PROBLEM("metapage has format version %u, expected %u",
					 meta->version, HNSW_VERSION);
	if (meta->m < HNSW_M_MIN || meta->m > HNSW_M_MAX)
		META_PROBLEM("metapage m is %u, expected %d to %d",
					 meta->m, HNSW_M_MIN, HNSW_M_MAX);
	if (meta->ef_construction < HNSW_EF_CONSTRUCTION_MIN ||
		meta->ef_construction > HNSW_EF_CONSTRUCTION_MAX)
		META_PROBLEM("metapage ef_construction is %u, expected %d to %d",
					 meta->ef_construction, HNSW_EF_CONSTRUCTION_MIN,
					 HNSW_EF_CONSTRUCTION_MAX);
	if (meta->metric < VS_METRIC_L2 || meta->metric > VS_METRIC_L1)
		META_PROBLEM("metapage metric is %u, expected %d to %d",
					 meta->metric, VS_METRIC_L2, VS_METRIC_L1);
	if (meta->dims > VECTOR_MAX_DIM)
		META_PROBLEM("metapage has %u dimensions, expected at most %d",
					 meta->dims, VECTOR_MAX_DIM);
	if (meta->codes != HNSW_CODES_NONE && meta->codes != HNSW_CODES_SQ8 &&
		!(meta->codes == HNSW_CODES_AUTO && meta->dims == 0))
		META_PROBLEM("metapage codes kind is %u, expected %d or %d (or %d before the dimensions are known)",
					 meta->codes, HNSW_CODES_NONE, HNSW_CODES_SQ8, HNSW_CODES_AUTO);
	if (meta->code_bytes != HnswCodeBytes(meta->codes, meta->dims))
		META_PROBLEM("metapage code size is %u, expected %u for %s codes of %u dimensions",
					 meta->code_bytes, HnswCodeBytes(meta->codes, meta->dims),
					 HnswCodesName(meta->codes), meta->dims);
	want = meta->dims > 0 ?
		(uint32) HNSW_SLOT_SIZE(meta->m, meta->dims, meta->code_bytes) : 0;
	if (meta->slot_size != want)
		META_PROBLEM("metapage slot size is %u, expected %u for m %u, %u dimensions and %u code bytes",
					 meta->slot_size, want, meta->m, meta->dims, meta->code_bytes);
	if (nblocks == 0)
		META_PROBLEM("index has no metapage");
	room = want > 0 ? (uint64) (nblocks - 1) * HNSW_PAGE_DATA / want : 0;
	if (meta->next_slot > room || meta->next_slot == HNSW_INVALID_ID)
		META_PROBLEM("metapage counts %u slots, but its %u slot pages hold %llu",
					 meta->next_slot, nblocks - 1, (unsigned long long) room);
	if (meta->packed_start > meta->packed_end || meta->packed_end > meta->next_slot)
		META_PROBLEM("metapage packed upper area %u..%u is outside the %u slots",
					 meta->packed_start, meta->packed_end, meta->next_slot);
	if (meta->entry_id == HNSW_INVALID_ID)
	{
		if (meta->entry_level != -1)
			META_PROBLEM("metapage has no entry point but entry level %d",
						 meta->entry_level);
	}
	else
	{
		if (!HnswIsElementSlot(meta, meta->entry_id))
			META_PROBLEM("metapage entry point %u is not an element slot (%u slots, packed area %u..%u)",
						 meta->entry_id, meta->next_slot, meta->packed_start,
						 meta->packed_end);
		if (meta->entry_level < 0 || meta->entry_level > HNSW_MAX_LEVEL)
			META_PROBLEM("metapage entry level is %d, expected 0 to %d",
						 meta->entry_level, HNSW_MAX_LEVEL);
	}
	if (meta->free_head != HNSW_INVALID_ID && !HnswIsElementSlot(meta, meta->free_head))
		META_PROBLEM("metapage free list head %u is not an element slot (%u slots)",
					 meta->free_head, meta->next_slot);
	for (int l = 1; l <= HNSW_MAX_LEVEL; l++)
	{
		uint32		f = HnswFreeHead(meta, l);

		if (f != HNSW_INVALID_ID && !HnswIsElementSlot(meta, f))
			META_PROBLEM("metapage free list head %u of level %d is not an element slot (%u slots)",
						 f, l, meta->next_slot);
	}
#undef META_PROBLEM
	return false;
}

/*
 * HnswCheckVersion: an index of format 1 (vecsearch 0.1: no codes, another
 * slot layout) is not damaged but cannot be read: say so, and how to get a
 * readable one.  Anything else not HNSW_VERSION is left to HnswMetaProblem.
 */
void
HnswCheckVersion(Relation index, const HnswMetaPageData *meta)
{
	if (meta->magic == HNSW_MAGIC && meta->version == 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hnsw index \"%s\" has on-disk format 1, and this version of vecsearch reads format %d",
						RelationGetRelationName(index), HNSW_VERSION),
				 errdetail("Format 1 was written by vecsearch 0.1; format 2 stores codes for the graph walk."),
				 errhint("REINDEX INDEX %s;",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
													RelationGetRelationName(index)))));
}

/*
 * Copy of the metapage contents (share lock held briefly), validated by
 * HnswMetaProblem against the relation size (read after the copy: the index
 * only grows, and slots are allocated after the relation is extended).
 */
HnswMetaPageData
HnswReadMeta(Relation index)
{
	Buffer		buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	HnswMetaPageData meta;
	char		problem[256];

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = *HnswPageGetMeta(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);
	HnswCheckVersion(index, &meta);
	if (HnswMetaProblem(&meta, RelationGetNumberOfBlocks(index), problem, sizeof(problem)))
		HnswCorrupt(index, "%s", problem);
	return meta;
}

/* ---------------------------------------------------------------------
 * The on-disk reader
 * --------------------------------------------------------------------- */

/* The per-backend relcache entry of recent buffers, sized for nblocks. */
static HnswRelCache *
get_cache(Relation index, BlockNumber need)
{
	HnswRelCache *c = (HnswRelCache *) index->rd_amcache;

	if (c == NULL || need > c->nrecent)
	{
		/* need was checked against the relation size (HnswPinBlock) */
		uint64		n = Max(RelationGetNumberOfBlocks(index), need);
		HnswRelCache *nc;

		n = Min(Max(n + n / 4, 16), (uint64) MaxBlockNumber + 1);
		nc = MemoryContextAllocExtended(index->rd_indexcxt,
										offsetof(HnswRelCache, recent) + sizeof(Buffer) * (Size) n,
										MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		if (c != NULL)
		{
			memcpy(nc, c, offsetof(HnswRelCache, recent) + sizeof(Buffer) * c->nrecent);
			pfree(c);
		}
		nc->nrecent = (BlockNumber) n;
		index->rd_amcache = nc;
		c = nc;
	}
	return c;
}

/* Set up a reader from a metapage copy. */
void
HnswReaderInit(HnswReader *r, Relation index, const HnswMetaPageData *meta)
{
	r->index = index;
	r->cache = NULL;
	r->m = meta->m;
	r->dims = meta->dims;
	r->metric = meta->metric;
	r->slot_size = meta->slot_size;
	r->codes = meta->codes;
	r->code_bytes = meta->code_bytes;
	r->vec_off = HNSW_VECTOR_OFFSET(meta->m, meta->code_bytes);
	r->dist = HnswDistance(meta->metric);
	r->wq = NULL;
	r->nfetched = 0;
	r->nblocks = 0;				/* learnt on the first access */
	r->maxslots = 0;
}

/* Learn the relation size again (it grows with concurrent inserts). */
static void
reader_refresh(HnswReader *r)
{
	r->nblocks = RelationGetNumberOfBlocks(r->index);
	r->maxslots = r->slot_size == 0 || r->nblocks <= 1 ? 0 :
		(uint32) Min((uint64) (r->nblocks - 1) * HNSW_PAGE_DATA / r->slot_size,
					 (uint64) HNSW_INVALID_ID);
}

/*
 * HnswCheckIdSlow: HnswCheckId for an id beyond the slots known to exist:
 * learn the relation size again (a concurrent insert may have extended it
 * before linking its new element) and report damage if the slot still lies
 * beyond it.  Ids between next_slot and the end of the relation are zero or
 * half-written slots of concurrent inserts, harmless to read.
 */
void
HnswCheckIdSlow(HnswReader *r, uint32 id, uint32 from, int layer)
{
	reader_refresh(r);
	if (id < r->maxslots)
		return;
	if (from == HNSW_INVALID_ID)
		HnswCorrupt(r->index, "slot %u is beyond the %u slots of its %u blocks",
					id, r->maxslots, r->nblocks);
	HnswCorrupt(r->index, "element %u has neighbour %u on layer %d, beyond the %u slots of its %u blocks",
				from, id, layer, r->maxslots, r->nblocks);
}

/*
 * HnswUpperSlots: the slots taken by the upper record of level level that
 * starts at slot id (passes over all slots skip them), after checking the
 * level.
 */
uint32
HnswUpperSlots(HnswReader *r, uint32 id, int level)
{
	if (level < 1 || level > HNSW_MAX_LEVEL)
		HnswCorrupt(r->index, "upper record at slot %u has level %d, expected 1 to %d",
					id, level, HNSW_MAX_LEVEL);
	return HNSW_UPPER_SLOTS(r->m, level, r->slot_size);
}

/*
 * HnswPinBlock: pin a block, trying the buffer this backend last saw for it
 * first (ReadRecentBuffer skips the buffer-mapping hash lookup).
 */
Buffer
HnswPinBlock(HnswReader *r, BlockNumber blkno)
{
	HnswRelCache *c = (HnswRelCache *) r->index->rd_amcache;
	Buffer		buf;

	/* every block read passes here: one that does not exist is damage */
	if (unlikely(blkno >= r->nblocks))
	{
		reader_refresh(r);
		if (blkno >= r->nblocks)
			HnswCorrupt(r->index, "a slot or list at block %u lies beyond its %u blocks",
						blkno, r->nblocks);
	}
	if (c == NULL || blkno >= c->nrecent)
		c = get_cache(r->index, blkno + 1);
	buf = c->recent[blkno];
	if (BufferIsValid(buf) &&
		ReadRecentBuffer(r->index->rd_node, MAIN_FORKNUM, blkno, buf))
		return buf;
	buf = ReadBuffer(r->index, blkno);
	c->recent[blkno] = buf;
	return buf;
}

/* Copy len bytes of the slot stream at off (page by page, share locks). */
void
HnswReadBytes(HnswReader *r, uint64 off, void *dst, Size len)
{
	char	   *d = dst;

	while (len > 0)
	{
		BlockNumber blk = HNSW_STREAM_BLOCK(off);
		uint32		in = HNSW_STREAM_INPAGE(off);
		Size		chunk = Min(len, (Size) (HNSW_PAGE_DATA - in));
		Buffer		buf = HnswPinBlock(r, blk);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(d, (char *) BufferGetPage(buf) + HNSW_PAGE_DATA_START + in, chunk);
		UnlockReleaseBuffer(buf);
		d += chunk;
		off += chunk;
		len -= chunk;
	}
}

/*
 * HnswSlotDistance: distance from q to the vector of element id, computed in
 * place on the page(s) holding it.
 */
float
HnswSlotDistance(HnswReader *r, uint32 id, const float *q)
{
	uint64		off = (uint64) id * r->slot_size + r->vec_off;
	int			left = r->dims;
	float		sum = 0;

	r->nfetched++;
	while (left > 0)
	{
		BlockNumber blk = HNSW_STREAM_BLOCK(off);
		uint32		in = HNSW_STREAM_INPAGE(off);
		int			n = Min(left, (int) ((HNSW_PAGE_DATA - in) / sizeof(float)));
		Buffer		buf = HnswPinBlock(r, blk);

		/*
		 * No content lock: a vector is written before any list links to its
		 * element and changes only when VACUUM's free list hands the slot to
		 * a new element; a read racing with that may mix the two vectors (a
		 * wrong distance for one candidate, see src/README, "Free lists").
		 * The pin keeps the page in place.
		 */
		sum += r->dist(q, (const float *) ((char *) BufferGetPage(buf) + HNSW_PAGE_DATA_START + in), n);
		ReleaseBuffer(buf);
		q += n;
		left -= n;
		off += (uint64) n * sizeof(float);
	}
	return sum;
}

/* Read the header of element slot id. */
void
HnswReadHeader(HnswReader *r, uint32 id, HnswElementHeader *hdr)
{
	HnswReadBytes(r, (uint64) id * r->slot_size, hdr, HNSW_ELEMENT_HEADER_SIZE);
}

uint32
HnswHeaderUpper(const HnswElementHeader *hdr)
{
	return (uint32) hdr->upper_lo | ((uint32) hdr->upper_hi << 16);
}

void
HnswHeaderSetUpper(HnswElementHeader *hdr, uint32 upper, uint16 off)
{
	hdr->upper_lo = upper & 0xFFFF;
	hdr->upper_hi = upper >> 16;
	hdr->upper_off = off;
	hdr->unused = 0;
}

/*
 * HnswListOffset: stream offset of element id's neighbour list on layer;
 * *cap receives its capacity (2m on layer 0, m above).  Returns 0 when the
 * element has no such layer (offset 0 is never a list).
 */
uint64
HnswListOffset(HnswReader *r, uint32 id, int layer, int *cap)
{
	HnswElementHeader hdr;
	uint32		upper;
	uint64		end;

	Assert(layer >= 0 && layer <= HNSW_MAX_LEVEL);
	HnswCheckId(r, id, HNSW_INVALID_ID, layer);
	if (layer == 0)
	{
		*cap = 2 * r->m;
		return (uint64) id * r->slot_size + HNSW_LIST0_OFFSET;
	}
	*cap = r->m;
	HnswReadHeader(r, id, &hdr);
	upper = HnswHeaderUpper(&hdr);
	if (hdr.level < layer || upper == HNSW_INVALID_ID)
		return 0;
	/* the record must lie within the slots: level, slot and offset checked */
	if (hdr.level > HNSW_MAX_LEVEL || hdr.upper_off >= r->slot_size)
		HnswCorrupt(r->index, "element %u has level %d and its upper record at offset %u, expected at most %d and %u",
					id, hdr.level, hdr.upper_off, HNSW_MAX_LEVEL, r->slot_size - 1);
	end = (uint64) upper * r->slot_size + hdr.upper_off + HNSW_UPPER_BYTES(r->m, hdr.level);
	if (end > (uint64) r->maxslots * r->slot_size)
	{
		reader_refresh(r);
		if (end > (uint64) r->maxslots * r->slot_size)
			HnswCorrupt(r->index, "element %u has its upper record at slot %u, beyond the %u slots of its %u blocks",
						id, upper, r->maxslots, r->nblocks);
	}
	return (uint64) upper * r->slot_size + hdr.upper_off + HNSW_UPPER_HEADER_SIZE +
		(uint64) (layer - 1) * r->m * sizeof(uint32);
}

/*
 * Read element id's neighbour list on layer into out; returns the count.
 * Every id returned lies within the relation (HnswCheckId).
 */
int
HnswReadList(HnswReader *r, uint32 id, int layer, uint32 *out)
{
	int			n = HnswReadListRaw(r, id, layer, out);

	for (int i = 0; i < n; i++)
		HnswCheckId(r, out[i], id, layer);
	return n;
}

/* HnswReadList without checking the ids read (the checker reports them). */
int
HnswReadListRaw(HnswReader *r, uint32 id, int layer, uint32 *out)
{
	int			cap;
	uint64		off = HnswListOffset(r, id, layer, &cap);
	int			n = 0;

	if (off == 0)
		return 0;
	HnswReadBytes(r, off, out, sizeof(uint32) * cap);
	while (n < cap && out[n] != HNSW_INVALID_ID)
		n++;
	return n;
}

/*
 * batch_distances: out[i] = distance of q to slot ids[i], for n ids, on the
 * codes (exact false, in an index with codes) or on the vectors.  A pin is
 * an atomic read-modify-write on the buffer header, which also orders the
 * loads around it: one pin per element, taken just before its bytes are
 * read, serializes the cache misses of the walk.  So the CPU is first
 * hinted at every buffer header and code or vector of the call (through
 * the buffers remembered for their blocks), then the pins of a batch are
 * taken, then its elements measured; a batch stays within the backend's
 * small array of pinned buffers.  What straddles two pages is copied out.
 */
#define HNSW_PIN_BATCH 6

static void
batch_distances(HnswReader *r, const uint32 *ids, int n, const float *q,
				float *out, bool exact)
{
	bool		codes = !exact && r->codes != HNSW_CODES_NONE;
	uint32		area = codes ? HNSW_CODE_OFFSET(r->m) : r->vec_off;
	Size		bytes = codes ? r->code_bytes : (Size) r->dims * sizeof(float);
	HnswRelCache *rc = (HnswRelCache *) r->index->rd_amcache;

	for (int i = 0; rc != NULL && i < n; i++)
	{
		uint64		off = (uint64) ids[i] * r->slot_size + area;
		BlockNumber blk = HNSW_STREAM_BLOCK(off);
		uint32		in = HNSW_STREAM_INPAGE(off);
		Buffer		buf;
		const char *p;

		if (blk >= rc->nrecent || rc->recent[blk] <= 0)
			continue;
		buf = rc->recent[blk];
		__builtin_prefetch(GetBufferDescriptor(buf - 1));
		p = (const char *) BufferGetBlock(buf) + HNSW_PAGE_DATA_START + in;
		for (Size o = 0; o < bytes && in + o < HNSW_PAGE_DATA; o += 64)
			__builtin_prefetch(p + o);
	}

	for (int start = 0; start < n; start += HNSW_PIN_BATCH)
	{
		int			nb = Min(HNSW_PIN_BATCH, n - start);
		Buffer		bufs[HNSW_PIN_BATCH];
		const char *ptrs[HNSW_PIN_BATCH];

		for (int i = 0; i < nb; i++)
		{
			uint64		off = (uint64) ids[start + i] * r->slot_size + area;
			uint32		in = HNSW_STREAM_INPAGE(off);

			bufs[i] = InvalidBuffer;
			if (in + bytes > HNSW_PAGE_DATA)
				continue;
			bufs[i] = HnswPinBlock(r, HNSW_STREAM_BLOCK(off));
			ptrs[i] = (const char *) BufferGetPage(bufs[i]) + HNSW_PAGE_DATA_START + in;
		}

		/*
		 * No content lock: a code and a vector are written before any list
		 * links to their element (see HnswSlotDistance).
		 */
		for (int i = 0; i < nb; i++)
		{
			uint32		id = ids[start + i];

			if (!codes)
				out[start + i] = BufferIsValid(bufs[i]) ?
					(r->nfetched++, r->dist(q, (const float *) ptrs[i], r->dims)) :
					HnswSlotDistance(r, id, q);
			else if (BufferIsValid(bufs[i]))
			{
				r->nfetched++;
				out[start + i] = HnswCodeDistance(r, q, ptrs[i]);
			}
			else
			{
				char	   *code = palloc(bytes);

				r->nfetched++;
				HnswReadBytes(r, (uint64) id * r->slot_size + area, code, bytes);
				out[start + i] = HnswCodeDistance(r, q, code);
				pfree(code);
			}
		}
		for (int i = 0; i < nb; i++)
			if (BufferIsValid(bufs[i]))
				ReleaseBuffer(bufs[i]);
	}
}

/*
 * HnswRerank: the walk measured codes; give the n candidates their exact
 * distances to q from the vectors, and sort them nearest first.
 */
void
HnswRerank(HnswReader *r, const float *q, HnswCand *cands, int n)
{
	uint32	   *ids;
	float	   *d;

	if (n <= 0)
		return;
	ids = palloc(sizeof(uint32) * n);
	d = palloc(sizeof(float) * n);
	for (int i = 0; i < n; i++)
		ids[i] = cands[i].id;
	batch_distances(r, ids, n, q, d, true);
	for (int i = 0; i < n; i++)
		cands[i].dist = d[i];
	qsort(cands, n, sizeof(HnswCand), HnswCandCmp);
	pfree(ids);
	pfree(d);
}

/*
 * HnswWalkDistance: the distance the walk uses from q to slot id (on its
 * code when the index has codes).  Prepares the reader for q.
 */
float
HnswWalkDistance(HnswReader *r, uint32 id, const float *q)
{
	float		d;

	HnswWalkQuery(r, q);
	batch_distances(r, &id, 1, q, &d, false);
	return d;
}

/*
 * HnswDescendDisk: greedy search with ef = 1 (HNSW paper Alg. 5 lines 1-4)
 * from layer fromlevel down to layer tolevel + 1.  *ep and *epdist are the
 * current nearest element and its distance, updated in place.
 */
void
HnswDescendDisk(HnswReader *r, const float *q, uint32 *ep, float *epdist,
				int fromlevel, int tolevel)
{
	uint32	   *list = palloc(sizeof(uint32) * 2 * r->m);
	float	   *dists = palloc(sizeof(float) * 2 * r->m);

	HnswWalkQuery(r, q);
	for (int layer = fromlevel; layer > tolevel; layer--)
	{
		bool		changed = true;

		/*
		 * each round strictly lowers *epdist, so this ends; let it be
		 * cancelled
		 */
		while (changed)
		{
			int			n;

			CHECK_FOR_INTERRUPTS();
			n = HnswReadList(r, *ep, layer, list);

			changed = false;
			batch_distances(r, list, n, q, dists, false);
			for (int i = 0; i < n; i++)
			{
				float		d = dists[i];

				if (d < *epdist)
				{
					*epdist = d;
					*ep = list[i];
					changed = true;
				}
			}
		}
	}
	pfree(dists);
	pfree(list);
}


/*
 * HnswSearchLayerDisk: HNSW paper Alg. 2 (SEARCH-LAYER) on the index pages.
 * On entry W (max-heap) and C (min-heap) hold the entry points, already marked
 * in v.  On exit W holds up to ef nearest elements found.  When the nearest
 * candidate is farther than the farthest result the walk stops and that
 * candidate goes back to C, so the walk can be resumed (iterative scans).
 * Elements evaluated but not kept (or pushed out of W) go to discarded when
 * it is not NULL.
 */
void
HnswSearchLayerDisk(HnswReader *r, const float *q, HnswHeap *W, HnswHeap *C,
					HnswVisited *v, int ef, int layer, HnswHeap *discarded)
{
	int			cap = layer == 0 ? 2 * r->m : r->m;
	uint32	   *list = palloc(sizeof(uint32) * cap);
	float	   *dists = palloc(sizeof(float) * cap);

	HnswWalkQuery(r, q);
	while (C->n > 0)
	{
		HnswCand	c;
		int			n;

		/*
		 * bounded: only unvisited ids, each below the validated maxslots,
		 * enter C
		 */
		CHECK_FOR_INTERRUPTS();
		c = HnswHeapPop(C);
		if (W->n >= ef && c.dist > HnswHeapTop(W).dist)
		{
			HnswHeapPush(C, c.dist, c.id);
			break;
		}
		n = HnswReadList(r, c.id, layer, list);
		/* keep the unvisited ones */
		{
			int			k = 0;

			for (int i = 0; i < n; i++)
			{
				visited_ensure(v, list[i]);
				if (HnswVisitedTest(v, list[i]))
					continue;
				HnswVisitedSet(v, list[i]);
				list[k++] = list[i];
			}
			n = k;
		}
		/* the distances of all of them, in batches that share the pins */
		batch_distances(r, list, n, q, dists, false);
		for (int i = 0; i < n; i++)
		{
			uint32		e = list[i];
			float		d = dists[i];

			if (W->n < ef || d < HnswHeapTop(W).dist)
			{
				HnswHeapPush(C, d, e);
				HnswHeapPush(W, d, e);
				if (W->n > ef)
				{
					HnswCand	out = HnswHeapPop(W);

					if (discarded)
						HnswHeapPush(discarded, out.dist, out.id);
				}
			}
			else if (discarded)
				HnswHeapPush(discarded, d, e);
		}
	}
	pfree(dists);
	pfree(list);
}

/* Pair distances on disk for the heuristic, caching the outer vector. */
float
HnswPairDistDisk(void *arg, uint32 a, uint32 b)
{
	HnswDiskPair *ps = arg;

	if (ps->cached != a)
	{
		HnswReadBytes(ps->r, (uint64) a * ps->r->slot_size + ps->r->vec_off,
					  ps->vec, sizeof(float) * ps->r->dims);
		ps->cached = a;
	}
	return HnswSlotDistance(ps->r, b, ps->vec);
}

/* qsort comparator: candidates by ascending distance, ties by element id. */
int
HnswCandCmp(const void *a, const void *b)
{
	const HnswCand *x = a;
	const HnswCand *y = b;

	if (x->dist < y->dist)
		return -1;
	if (x->dist > y->dist)
		return 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}
