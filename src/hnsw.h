/*
 * hnsw.h: the hnsw index access method: limits, the on-disk format (version
 * 2: the metapage, slot pages, element and upper-record headers, each struct
 * documenting its fields, with static assertions on their sizes and
 * offsets), the in-memory helpers and the prototypes grouped by file.
 *
 * See src/README, sections "hnsw page format" and "Free lists".
 */
#ifndef VECSEARCH_HNSW_H
#define VECSEARCH_HNSW_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "lib/pairingheap.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "metric.h"
#include "vector.h"
#include "vsrandom.h"

/* ---- limits and defaults (reloptions and GUCs) ---- */
#define HNSW_M_MIN					2
#define HNSW_M_DEFAULT				16
#define HNSW_M_MAX					100
#define HNSW_EF_CONSTRUCTION_MIN	4
#define HNSW_EF_CONSTRUCTION_DEFAULT 64
#define HNSW_EF_CONSTRUCTION_MAX	1000
#define HNSW_EF_SEARCH_MIN			1
#define HNSW_EF_SEARCH_DEFAULT		40
#define HNSW_EF_SEARCH_MAX			1000
#define HNSW_SEED_MIN				0
#define HNSW_SEED_DEFAULT			42
#define HNSW_SEED_MAX				PG_INT32_MAX
#define HNSW_MAX_SCAN_TUPLES_MIN	1
#define HNSW_MAX_SCAN_TUPLES_DEFAULT 20000
#define HNSW_MAX_SCAN_TUPLES_MAX	PG_INT32_MAX
/* hnsw.scan_mem_multiplier: pgvector's name and range (hash_mem_multiplier's) */
#define HNSW_SCAN_MEM_MULTIPLIER_MIN		1.0
#define HNSW_SCAN_MEM_MULTIPLIER_DEFAULT	1.0
#define HNSW_SCAN_MEM_MULTIPLIER_MAX		1000.0
#define HNSW_MAX_LEVEL				24	/* levels above are clamped */

/* ---- format identification ---- */
#define HNSW_MAGIC					0x56534857	/* "VSHW" */
#define HNSW_VERSION				2	/* format 1 (0.1) is refused */
#define HNSW_METAPAGE_BLKNO			0
#define HNSW_PAGE_ID				0xFF95	/* last 2 bytes of every page */
#define HNSW_INVALID_ID				((uint32) 0xFFFFFFFF)

/*
 * Block 0 is the metapage; block b >= 1 holds bytes [(b - 1) * HNSW_PAGE_DATA,
 * b * HNSW_PAGE_DATA) of the slot stream, an array of slot_size-byte slots
 * (slot id i at offset i * slot_size; slots may straddle pages).  A slot
 * holds an element (HnswElementHeader, the layer-0 list of 2m ids, its code
 * for the walk (code_bytes; none without codes), dims float4 in stored form), the first slot of an upper record (HnswUpperHeader,
 * then level lists of m ids; later slots of the record have no header), part
 * of the build's packed upper area (metapage packed_start .. packed_end), or
 * nothing yet (zero bytes).  A list ends at the first HNSW_INVALID_ID.
 *
 * Slot kinds (the byte at offset 6 of either header):
 */
#define HNSW_KIND_FREE				0	/* never written */
#define HNSW_KIND_ELEMENT			1	/* live element */
#define HNSW_KIND_UPPER				2	/* first slot of an upper record */
#define HNSW_KIND_DELETED			3	/* element removed by VACUUM */

/*
 * Special space of every page (8 bytes after MAXALIGN).  flags is
 * HNSW_PAGE_META or HNSW_PAGE_SLOTS; page_id identifies hnsw pages to tools.
 */
typedef struct HnswPageOpaqueData
{
	uint16		flags;
	uint16		unused;
	uint16		unused2;
	uint16		page_id;		/* HNSW_PAGE_ID */
} HnswPageOpaqueData;

#define HNSW_PAGE_META				1
#define HNSW_PAGE_SLOTS				2

/* Bytes of the slot stream per page: 8192 - 24 - 8 = 8160 for 8 KB pages. */
#define HNSW_PAGE_DATA_START		MAXALIGN(SizeOfPageHeaderData)
#define HNSW_PAGE_DATA \
	(BLCKSZ - HNSW_PAGE_DATA_START - MAXALIGN(sizeof(HnswPageOpaqueData)))

/*
 * The metapage contents (after the page header, pd_lower covers it).  The
 * build options are frozen here: a reloption changed later with ALTER INDEX
 * (m, ef_construction, seed) does not apply to an existing graph; ef_search
 * is read from the relation options at scan time instead.
 */
typedef struct HnswMetaPageData
{
	uint32		magic;			/* HNSW_MAGIC */
	uint32		version;		/* HNSW_VERSION */
	uint32		dims;			/* dimensions of every vector */
	uint16		m;				/* links per element on layers >= 1 */
	uint16		ef_construction;	/* search width while inserting */
	uint32		metric;			/* VsMetric (metric.h): 1..4, from the opclass */
	uint32		seed;			/* level generator seed */
	uint32		slot_size;		/* bytes per slot, a multiple of 4 */
	uint32		next_slot;		/* first slot never allocated */
	uint32		entry_id;		/* entry point element or HNSW_INVALID_ID */
	int32		entry_level;	/* its level, -1 when the graph is empty */
	uint32		nelements;		/* elements inserted (incl. later deleted) */
	uint32		packed_start;	/* slots [packed_start, packed_end) hold the */
	uint32		packed_end;		/* build's upper records packed back to back */
	uint32		free_head;		/* first deleted level-0 element slot free for
								 * reuse, or HNSW_INVALID_ID; chained through
								 * the block-number half of their heaptid */
	uint64		rng_state;		/* level generator state for aminsert */
	uint32		free_upper[HNSW_MAX_LEVEL]; /* [L - 1]: first deleted element
											 * of level L, plus 1, with its
											 * upper record; 0 when empty */
	uint32		codes;			/* HNSW_CODES_*: what the walk measures */
	uint32		code_bytes;		/* bytes of one code (HnswCodeBytes) */
} HnswMetaPageData;

/*
 * Codes: what the graph walk measures instead of the full vector, one per
 * element, stored in its slot between the layer-0 list and the vector
 * (src/README, "Codes").  The reloption codes chooses at build time.
 */
#define HNSW_CODES_NONE				0	/* the walk reads the vectors */
#define HNSW_CODES_SQ8				1	/* 8-bit scalar codes per vector */
#define HNSW_CODES_AUTO				2	/* the default: sq8 from AUTO_DIMS
										 * dims, else none; decided when dims
										 * are known (kept only while dims is
										 * 0) */
#define HNSW_CODES_AUTO_DIMS		256

/*
 * An SQ8 code: x_i ~ lo + delta * c_i for all coordinates but the K most
 * extreme ones (the outliers, K = HNSW_SQ8_OUTLIERS(dims)), which are kept
 * exactly, so that one large coordinate does not coarsen all the others; lo
 * and lo + 255 delta are the least and largest of the rest.  Layout: this
 * header (sq = sum of the decoded values squared, for the L2 walk), K float4
 * outlier values, K uint16 outlier positions (0xFFFF: unused), then dims
 * bytes c_i (0 at an outlier's position), padded to 4 bytes.
 */
typedef struct HnswSq8Header
{
	float		lo;
	float		delta;
	float		sq;
} HnswSq8Header;

#define HNSW_SQ8_OUTLIERS(dims)		((int) Min(8, (dims) / 8))
#define HNSW_SQ8_NO_OUTLIER			0xFFFF
#define HNSW_SQ8_BYTES(dims) \
	TYPEALIGN(4, sizeof(HnswSq8Header) + 6 * (Size) HNSW_SQ8_OUTLIERS(dims) + (Size) (dims))

/* Heads of the per-level free lists: */
#define HnswPageGetMeta(page)		((HnswMetaPageData *) PageGetContents(page))
extern uint32 HnswFreeHead(const HnswMetaPageData *meta, int level);

/*
 * Header of an element slot (16 bytes, 2-byte aligned within the 4-byte
 * aligned slot).  The layer-0 list (2 * m uint32) starts at offset 16, the
 * code (code_bytes) at 16 + 8 * m and the vector (dims float4) after it.  The upper record of an element of level
 * L > 0 starts at stream offset upper * slot_size + upper_off.
 */
typedef struct HnswElementHeader
{
	ItemPointerData heaptid;	/* the indexed heap row; in a DELETED slot,
								 * the block number is the next free slot */
	uint8		kind;			/* HNSW_KIND_ELEMENT / _DELETED */
	uint8		level;			/* top layer of this element */
	uint16		upper_lo;		/* slot id where the upper record starts, */
	uint16		upper_hi;		/* split to keep 2-byte alignment */
	uint16		upper_off;		/* byte offset of the record in that slot */
	uint16		unused;
} HnswElementHeader;

#define HNSW_ELEMENT_HEADER_SIZE	16
#define HNSW_LIST0_OFFSET			HNSW_ELEMENT_HEADER_SIZE
#define HNSW_CODE_OFFSET(m)			(HNSW_ELEMENT_HEADER_SIZE + 8 * (m))
#define HNSW_VECTOR_OFFSET(m, cb)	(HNSW_CODE_OFFSET(m) + (cb))
#define HNSW_SLOT_SIZE(m, dims, cb)	(HNSW_VECTOR_OFFSET(m, cb) + 4 * (Size) (dims))

/* Header of an upper record (8 bytes); layer l list at 8 + (l - 1) * m * 4. */
typedef struct HnswUpperHeader
{
	uint32		owner;			/* element slot id this record belongs to */
	uint16		unused;
	uint8		kind;			/* HNSW_KIND_UPPER, same offset (6) as in */
	uint8		level;			/* HnswElementHeader; level: lists that follow */
} HnswUpperHeader;

#define HNSW_UPPER_HEADER_SIZE		8
#define HNSW_UPPER_BYTES(m, level)	(HNSW_UPPER_HEADER_SIZE + 4 * (Size) (m) * (level))
#define HNSW_UPPER_SLOTS(m, level, slot_size) \
	((uint32) ((HNSW_UPPER_BYTES(m, level) + (slot_size) - 1) / (slot_size)))

/* The on-disk format must not drift: sizes and offsets of every struct above. */
StaticAssertDecl(sizeof(HnswPageOpaqueData) == 8, "hnsw special space is 8 bytes");
StaticAssertDecl(offsetof(HnswPageOpaqueData, page_id) == 6, "hnsw page id is the last 2 bytes");
StaticAssertDecl(offsetof(HnswMetaPageData, m) == 12 &&
				 offsetof(HnswMetaPageData, metric) == 16 &&
				 offsetof(HnswMetaPageData, slot_size) == 24 &&
				 offsetof(HnswMetaPageData, next_slot) == 28 &&
				 offsetof(HnswMetaPageData, entry_id) == 32 &&
				 offsetof(HnswMetaPageData, entry_level) == 36 &&
				 offsetof(HnswMetaPageData, packed_start) == 44 &&
				 offsetof(HnswMetaPageData, free_head) == 52 &&
				 offsetof(HnswMetaPageData, rng_state) == 56,
				 "hnsw metapage field offsets");
StaticAssertDecl(offsetof(HnswMetaPageData, free_upper) == 64 &&
				 offsetof(HnswMetaPageData, codes) == 64 + 4 * HNSW_MAX_LEVEL &&
				 sizeof(HnswMetaPageData) == 64 + 4 * HNSW_MAX_LEVEL + 8,
				 "hnsw metapage is 64 bytes, the free_upper heads and the codes");
StaticAssertDecl(sizeof(HnswSq8Header) == 12, "sq8 code header is 12 bytes");
StaticAssertDecl(sizeof(HnswElementHeader) == HNSW_ELEMENT_HEADER_SIZE,
				 "hnsw element header is 16 bytes");
StaticAssertDecl(offsetof(HnswElementHeader, kind) == 6 &&
				 offsetof(HnswElementHeader, level) == 7 &&
				 offsetof(HnswElementHeader, upper_lo) == 8 &&
				 offsetof(HnswElementHeader, upper_hi) == 10 &&
				 offsetof(HnswElementHeader, upper_off) == 12,
				 "hnsw element header field offsets");
StaticAssertDecl(sizeof(HnswUpperHeader) == HNSW_UPPER_HEADER_SIZE,
				 "hnsw upper record header is 8 bytes");
StaticAssertDecl(offsetof(HnswUpperHeader, kind) == offsetof(HnswElementHeader, kind) &&
				 offsetof(HnswUpperHeader, level) == offsetof(HnswElementHeader, level),
				 "slot kind and level at the same offset in both headers");

/* Location of a stream offset. */
#define HNSW_STREAM_BLOCK(off)		((BlockNumber) ((off) / HNSW_PAGE_DATA) + 1)
#define HNSW_STREAM_INPAGE(off)		((uint32) ((off) % HNSW_PAGE_DATA))

/* ---- reloptions ---- */
typedef struct HnswOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int			m;
	int			efConstruction;
	int			efSearch;		/* 0: not set, use hnsw.ef_search */
	int			seed;
	int			buildOrder;		/* HnswBuildOrderKind (buildorder.c) */
	int			lidK;			/* k of the LID of the lid_* build orders */
	int			codes;			/* HNSW_CODES_* */
} HnswOptions;

/* Insertion order of a build (reloption build_order); see buildorder.c. */
typedef enum HnswBuildOrderKind
{
	HNSW_BUILD_ORDER_HEAP = 0,	/* table order */
	HNSW_BUILD_ORDER_RANDOM,	/* seeded shuffle */
	HNSW_BUILD_ORDER_LID_DESC,	/* highest LID first */
	HNSW_BUILD_ORDER_LID_ASC	/* lowest LID first */
} HnswBuildOrderKind;

/* ---- GUCs ---- */
typedef enum HnswIterativeScan
{
	HNSW_ITERATIVE_OFF,
	HNSW_ITERATIVE_RELAXED,
	HNSW_ITERATIVE_STRICT
} HnswIterativeScan;

extern int	hnsw_ef_search;
extern int	hnsw_iterative_scan;
extern int	hnsw_max_scan_tuples;
extern double hnsw_scan_mem_multiplier;
extern bool vs_exact_scan;

/* ---- in-memory helpers ---- */

/* Per-metric distance on raw floats (used by build, insert, scan). */
typedef float (*HnswDistFn) (const float *a, const float *b, int n);

/* A (distance, slot id) pair, the unit of every heap and list. */
typedef struct HnswCand
{
	float		dist;
	uint32		id;
} HnswCand;

/* Binary heap of HnswCand, min-heap or max-heap by dist. */
typedef struct HnswHeap
{
	HnswCand   *a;
	int			n;
	int			cap;
	bool		max;			/* max-heap when true */
} HnswHeap;

/* Visited set: epoch-tagged array indexed by slot id (no clearing). */
typedef struct HnswVisited
{
	uint32	   *tag;
	uint32		cap;
	uint32		epoch;
} HnswVisited;

/*
 * Per-backend cache hung off rd_amcache (one palloc chunk): the frozen
 * metapage fields and the last buffer seen for each block, so most element
 * reads are ReadRecentBuffer() rechecks instead of buffer-mapping lookups.
 */
typedef struct HnswRelCache
{
	uint32		dims;
	uint32		m;
	uint32		metric;
	uint32		slot_size;
	BlockNumber nrecent;		/* entries in recent[] */
	Buffer		recent[FLEXIBLE_ARRAY_MEMBER];
} HnswRelCache;

/* Reader state for on-disk graph walks (scan and insert). */
typedef struct HnswReader
{
	Relation	index;
	HnswRelCache *cache;		/* may be replaced when the index grows */
	uint32		m;
	uint32		dims;
	uint32		metric;
	uint32		slot_size;
	uint32		codes;			/* HNSW_CODES_* */
	uint32		code_bytes;
	uint32		vec_off;		/* offset of the vector in a slot */
	HnswDistFn	dist;
	/* the query of the walk as the code distance needs it (HnswWalkQuery) */
	const float *wq;
	float		wq_sum;			/* sum of q_i */
	float		wq_sq;			/* sum of q_i^2 */
	int			nfetched;		/* distances computed (for max_scan_tuples) */
	BlockNumber nblocks;		/* blocks known to exist (a lower bound) */
	uint32		maxslots;		/* slots that fit in them: ids below are valid */
} HnswReader;

/* ---- hnsw.c ---- */
extern void HnswInit(void);
extern int	HnswGetM(Relation index);
extern int	HnswGetEfConstruction(Relation index);
extern int	HnswGetSeed(Relation index);
extern int	HnswGetBuildOrder(Relation index);
extern int	HnswGetLidK(Relation index);
extern int	HnswGetCodes(Relation index);
extern int	HnswGetEfSearch(Relation index);
extern VsMetric HnswGetMetric(Relation index);

/* ---- hnswutils.c ---- */
extern HnswDistFn HnswDistance(VsMetric metric);
extern bool HnswPrepareVector(VsMetric metric, float *x, int dims);
extern void HnswLevelSeed(VsRandom *rng, uint64 seed);
extern int	HnswRandomLevel(VsRandom *rng, int m);
extern void HnswHeapInit(HnswHeap *h, int cap, bool max);
extern void HnswHeapPush(HnswHeap *h, float dist, uint32 id);
extern HnswCand HnswHeapPop(HnswHeap *h);
#define HnswHeapTop(h)	((h)->a[0])
extern void HnswVisitedInit(HnswVisited *v, uint32 cap);
extern void HnswVisitedReset(HnswVisited *v, uint32 cap);
extern HnswVisited *HnswVisitedAcquire(uint32 cap);
extern void HnswVisitedRelease(HnswVisited *v);
#define HnswVisitedTest(v, id)	((v)->tag[id] == (v)->epoch)
#define HnswVisitedSet(v, id)	((v)->tag[id] = (v)->epoch)
typedef float (*HnswPairDist) (void *arg, uint32 a, uint32 b);
extern int	HnswSelectNeighbors(VsMetric metric, HnswCand *cands, int ncands,
								int limit, HnswPairDist pairdist, void *arg,
								uint32 *out);

extern void HnswInitMetaPage(Page page, uint32 dims, int m, int efc,
							 VsMetric metric, uint32 seed, int codes);
extern void HnswInitSlotPage(Page page);

/*
 * A change to the metapage, applied by HnswUpdateMetaPage in one GenericXLog
 * record (the caller holds the exclusive lock on metabuf and decides from
 * the locked page what to change).  Start from HnswMetaUpdateInit: nothing.
 */
typedef struct HnswMetaUpdate
{
	uint32		dims;			/* nonzero: freeze dims and slot_size */
	bool		set_entry;		/* set entry_id and entry_level */
	uint32		entry_id;
	int32		entry_level;
	bool		set_next_slot;
	uint32		next_slot;
	bool		count_element;	/* nelements++ */
	bool		set_free[HNSW_MAX_LEVEL + 1];	/* set free list head of level */
	uint32		free_head[HNSW_MAX_LEVEL + 1];
} HnswMetaUpdate;
extern void HnswMetaUpdateInit(HnswMetaUpdate *u);
extern bool HnswHoldsBufferLock(Buffer buf, LWLockMode mode);
extern void HnswUpdateMetaPage(Relation index, Buffer metabuf, const HnswMetaUpdate *u);
extern void HnswCheckVersion(Relation index, const HnswMetaPageData *meta);
extern HnswMetaPageData HnswReadMeta(Relation index);
extern bool HnswMetaProblem(const HnswMetaPageData *meta, BlockNumber nblocks,
							char *buf, Size buflen);
extern void HnswCorrupt(Relation index, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();
extern void HnswCheckIdSlow(HnswReader *r, uint32 id, uint32 from, int layer);
extern uint32 HnswUpperSlots(HnswReader *r, uint32 id, int level);
extern void HnswReaderInit(HnswReader *r, Relation index, const HnswMetaPageData *meta);
extern Buffer HnswPinBlock(HnswReader *r, BlockNumber blkno);
extern void HnswReadBytes(HnswReader *r, uint64 off, void *dst, Size len);
extern float HnswSlotDistance(HnswReader *r, uint32 id, const float *q);
extern float HnswWalkDistance(HnswReader *r, uint32 id, const float *q);
extern void HnswRerank(HnswReader *r, const float *q, HnswCand *cands, int n);
extern void HnswReadHeader(HnswReader *r, uint32 id, HnswElementHeader *hdr);
extern uint32 HnswHeaderUpper(const HnswElementHeader *hdr);
extern void HnswHeaderSetUpper(HnswElementHeader *hdr, uint32 upper, uint16 off);
extern int	HnswReadList(HnswReader *r, uint32 id, int layer, uint32 *out);
extern int	HnswReadListRaw(HnswReader *r, uint32 id, int layer, uint32 *out);
extern uint64 HnswListOffset(HnswReader *r, uint32 id, int layer, int *cap);
extern void HnswSearchLayerDisk(HnswReader *r, const float *q, HnswHeap *W,
								HnswHeap *C, HnswVisited *v, int ef, int layer,
								HnswHeap *discarded);
extern void HnswDescendDisk(HnswReader *r, const float *q, uint32 *ep,
							float *epdist, int fromlevel, int tolevel);

/*
 * HnswCheckId: error (index corrupted) unless slot id lies within the relation;
 * from and layer name the list it was read from (HNSW_INVALID_ID: none).
 * Every id read from a page passes here before it indexes the visited set or
 * addresses a read.  See src/README, section "Damaged indexes".
 */
static inline void
HnswCheckId(HnswReader *r, uint32 id, uint32 from, int layer)
{
	if (unlikely(id >= r->maxslots))
		HnswCheckIdSlow(r, id, from, layer);
}

/*
 * HnswIsElementSlot: can slot id hold an element (below next_slot, outside the
 * build's packed upper area)?  For ids read from the metapage or a free list.
 */
static inline bool
HnswIsElementSlot(const HnswMetaPageData *meta, uint32 id)
{
	return id < meta->next_slot &&
		!(id >= meta->packed_start && id < meta->packed_end);
}

/* candidates by (distance, id) for qsort */
extern int	HnswCandCmp(const void *a, const void *b);

/* Pair distances on disk for the heuristic, caching the outer vector. */
typedef struct HnswDiskPair
{
	HnswReader *r;
	uint32		cached;
	float	   *vec;
} HnswDiskPair;
extern float HnswPairDistDisk(void *arg, uint32 a, uint32 b);

/* ---- hnswcodes.c ---- */
extern const char *HnswCodesName(int codes);
extern int	HnswResolveCodes(int codes, uint32 dims);
extern uint32 HnswCodeBytes(int codes, uint32 dims);
extern void HnswEncode(int codes, const float *x, int dims, void *out);
extern void HnswWalkQuery(HnswReader *r, const float *q);
extern float HnswCodeDistance(const HnswReader *r, const float *q, const void *code);

/* ---- buildorder.c ---- */
extern uint32 *HnswBuildOrder(Relation index, const float *vecs, int dims, int64 n,
							  const ItemPointerData *tids, VsMetric metric);

/* ---- hnswbuild.c ---- */
extern IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void hnswbuildempty(Relation index);

/* ---- hnswinsert.c ---- */
extern bool hnswinsert(Relation index, Datum *values, bool *isnull,
					   ItemPointer heap_tid, Relation heap,
					   IndexUniqueCheck checkUnique, bool indexUnchanged,
					   IndexInfo *indexInfo);
extern bool HnswInsertVector(Relation index, float *x, int dims,
							 ItemPointer heaptid, bool prepared);

extern void HnswWriteBytes(Relation index, uint64 off, const void *src, Size len);
extern bool HnswWriteIfUnchanged(Relation index, uint64 off, const void *expected,
								 const void *newbytes, Size len);
extern bool HnswAddBacklink(HnswReader *r, uint32 nb, uint32 newid, int layer,
							float d, bool force);

/* ---- hnswscan.c ---- */
extern IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys);
extern void hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
					   ScanKey orderbys, int norderbys);
extern bool hnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void hnswendscan(IndexScanDesc scan);

/* ---- hnswvacuum.c ---- */
extern IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info,
											 IndexBulkDeleteResult *stats,
											 IndexBulkDeleteCallback callback,
											 void *callback_state);
extern IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info,
												IndexBulkDeleteResult *stats);

#endif							/* VECSEARCH_HNSW_H */
