/*
 * buildorder.c: the insertion order of an hnsw build (reloptions build_order, lid_k,
 * seed).
 *
 * HnswBuildOrder() returns the permutation of the collected rows in which hnswbuild.c
 * inserts them: table order (heap), a seeded shuffle (random), or the rows sorted by
 * their local intrinsic dimensionality, highest first (lid_desc) or lowest first
 * (lid_asc).  Elliott and Clark (ICTIR 2024, arXiv 2405.17813) found that inserting
 * high-LID vectors first gives the best recall and low-LID first the worst.
 *
 * LID cost: every collected vector's lid_k nearest neighbours, exact, in memory, with
 * the KNN engine (src/knn.c) and the estimator of lid.c.  Up to
 * HNSW_ORDER_EXACT_MAX_ROWS rows the neighbours come from all other rows (one self join,
 * O(n^2 d)); above, from a seeded sample of reference rows sized so that the work stays
 * that of an exact self join of HNSW_ORDER_EXACT_MAX_ROWS rows (O(n d) per reference
 * row).  See src/README, section "Build order".
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "knn.h"
#include "hnsw.h"
#include "lid.h"
#include "vsrandom.h"

/* Rows up to which the LID orders use every other row as a neighbour candidate. */
#define HNSW_ORDER_EXACT_MAX_ROWS	100000
/*
 * Above: query x reference pairs allowed, those a self join of the size above computes
 * (each pair once), so the cost stops growing with the table beyond it.
 */
#define HNSW_ORDER_PAIR_BUDGET		((int64) HNSW_ORDER_EXACT_MAX_ROWS * HNSW_ORDER_EXACT_MAX_ROWS / 2)
/* Queries per engine call in the sampled mode (bounds the answer to ~16 MB). */
#define HNSW_ORDER_RESULT_ENTRIES	1000000

/* One row's sort key. */
typedef struct OrderKey
{
	double		lid;
	bool		defined;
	uint32		idx;			/* collection position (ties) */
} OrderKey;

static bool order_desc;

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * Sort keys: defined LIDs first, by LID (descending or ascending), ties and the
 * undefined LIDs in collection order.
 */
static int
order_key_cmp(const void *a, const void *b)
{
	const OrderKey *x = a;
	const OrderKey *y = b;

	if (x->defined != y->defined)
		return x->defined ? -1 : 1;
	if (x->defined && x->lid != y->lid)
	{
		if (order_desc)
			return x->lid > y->lid ? -1 : 1;
		return x->lid < y->lid ? -1 : 1;
	}
	return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* A distinct made-up TID per collected row, so that a row can exclude itself. */
static inline void
order_tid(ItemPointerData *t, int64 i)
{
	ItemPointerSet(t, (BlockNumber) (i / 32768), (OffsetNumber) (i % 32768 + 1));
}

/*
 * order_lids: the LID (Amsaleg et al. MLE, lid.c) of each of the n vectors, with k
 * neighbours among the other vectors (every one, or a seeded sample above
 * HNSW_ORDER_EXACT_MAX_ROWS rows), distances 0 skipped as in the LID functions.
 * Cosine indexes hold normalised vectors and inner-product ones are measured in L2
 * (the estimator needs non-negative distances), so the LID metric is l2 except for
 * l1 indexes.
 */
static void
order_lids(const float *vecs, int dims, int64 n, VsMetric metric, int k, uint64 seed,
		   OrderKey *keys)
{
	ItemPointerData *tids;
	VsKnnSpec	spec;
	VsKnnResult *res;
	int64		i;

	tids = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(ItemPointerData), n));
	for (i = 0; i < n; i++)
		order_tid(&tids[i], i);
	memset(&spec, 0, sizeof(spec));
	spec.ldq = dims;
	spec.dim = dims;
	spec.k = k;
	spec.metric = metric == VS_METRIC_L1 ? VS_METRIC_L1 : VS_METRIC_L2;
	spec.skip_zero = true;

	if (n <= HNSW_ORDER_EXACT_MAX_ROWS &&
		n * k <= (int64) HNSW_ORDER_EXACT_MAX_ROWS * VS_LID_K_DEFAULT)
	{
		/* one self join over every row */
		spec.queries = vecs;
		spec.nq = (int) n;
		spec.exclude = tids;
		res = VsKnnResultAlloc((int) n, k);
		VsKnnMatrix(vecs, dims, tids, n, &spec, res);
		for (i = 0; i < n; i++)
			keys[i].defined = VsLidEstimate(VsKnnNeighbors(res, (int) i), res->count[i], k,
											&keys[i].lid);
		if (res->nbr)
			pfree(res->nbr);
		pfree(res->count);
	}
	else
	{
		/*
		 * reference rows: a seeded sample (Fisher-Yates prefix), in
		 * collection order
		 */
		int64		m = Min(n, Max((int64) 4 * k, HNSW_ORDER_PAIR_BUDGET / n));
		int64	   *pick = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(int64), n));
		float	   *ref;
		ItemPointerData *rtid;
		VsRandom	r;
		int			chunk = (int) Max(1, HNSW_ORDER_RESULT_ENTRIES / k);

		vs_random_seed(&r, seed ^ UINT64CONST(0x4C4944));
		for (i = 0; i < n; i++)
			pick[i] = i;
		for (i = 0; i < m; i++)
		{
			int64		j = i + (int64) vs_random_below(&r, (uint64) (n - i));
			int64		t = pick[i];

			pick[i] = pick[j];
			pick[j] = t;
		}
		qsort(pick, m, sizeof(int64), int64_cmp);
		ref = MemoryContextAllocHuge(CurrentMemoryContext,
									 mul_size(mul_size((Size) m, dims), sizeof(float)));
		rtid = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(ItemPointerData), m));
		for (i = 0; i < m; i++)
		{
			memcpy(ref + (Size) i * dims, vecs + (Size) pick[i] * dims, sizeof(float) * dims);
			rtid[i] = tids[pick[i]];
		}
		pfree(pick);
		ereport(DEBUG1,
				(errmsg_internal("hnsw build order: LID of %lld rows against a sample of %lld",
								 (long long) n, (long long) m)));

		res = VsKnnResultAlloc(chunk, k);
		for (i = 0; i < n; i += chunk)
		{
			int			nq = (int) Min((int64) chunk, n - i);

			spec.queries = vecs + (Size) i * dims;
			spec.nq = nq;
			spec.exclude = tids + i;
			res->nq = nq;
			VsKnnMatrix(ref, dims, rtid, m, &spec, res);
			for (int q = 0; q < nq; q++)
				keys[i + q].defined = VsLidEstimate(VsKnnNeighbors(res, q), res->count[q], k,
													&keys[i + q].lid);
			CHECK_FOR_INTERRUPTS();
		}
		pfree(ref);
		pfree(rtid);
	}
	pfree(tids);
}

/*
 * HnswBuildOrder: the insertion order of index's build over the n collected vectors
 * (stored form: normalised for cosine): order[k] = collection position of the k-th
 * row to insert, allocated in the current memory context.
 *
 * random: Fisher-Yates shuffle with the private PRNG (vsrandom.h) seeded by the seed
 * reloption (a stream distinct from the level generator's), so the same rows in the
 * same table order give the same order.  lid_desc / lid_asc: stable sort by LID, rows
 * with an undefined LID (fewer than lid_k distinct neighbours, all at one distance)
 * last, in table order.  A DEBUG1 message names the first and the last row inserted
 * (tids: the collected rows' heap TIDs).  With fewer than 3 rows the LID orders are the table order;
 * lid_k is lowered to n - 1 when the table has no more rows.
 */
uint32 *
HnswBuildOrder(Relation index, const float *vecs, int dims, int64 n,
			   const ItemPointerData *tids, VsMetric metric)
{
	uint32	   *order = MemoryContextAllocHuge(CurrentMemoryContext,
											   mul_size(sizeof(uint32), Max(n, 1)));
	int			kind = HnswGetBuildOrder(index);
	uint64		seed = (uint64) (uint32) HnswGetSeed(index);
	int64		i;

	for (i = 0; i < n; i++)
		order[i] = (uint32) i;

	if (kind == HNSW_BUILD_ORDER_RANDOM)
	{
		VsRandom	r;

		vs_random_seed(&r, seed ^ UINT64CONST(0x4F52444552));
		for (i = n - 1; i > 0; i--)
		{
			int64		j = (int64) vs_random_below(&r, (uint64) (i + 1));
			uint32		t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	else if ((kind == HNSW_BUILD_ORDER_LID_DESC || kind == HNSW_BUILD_ORDER_LID_ASC) &&
			 n >= 3)
	{
		int			k = (int) Min((int64) HnswGetLidK(index), n - 1);
		OrderKey   *keys = MemoryContextAllocHuge(CurrentMemoryContext,
												  mul_size(sizeof(OrderKey), n));
		instr_time	t0,
					t1;

		for (i = 0; i < n; i++)
		{
			keys[i].idx = (uint32) i;
			keys[i].defined = false;
			keys[i].lid = 0.0;
		}
		INSTR_TIME_SET_CURRENT(t0);
		order_lids(vecs, dims, n, metric, k, seed, keys);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		ereport(DEBUG2,
				(errmsg_internal("hnsw build order: LID of %lld rows with k = %d in %.0f ms",
								 (long long) n, k, INSTR_TIME_GET_MILLISEC(t1))));
		order_desc = (kind == HNSW_BUILD_ORDER_LID_DESC);
		qsort(keys, n, sizeof(OrderKey), order_key_cmp);
		for (i = 0; i < n; i++)
			order[i] = keys[i].idx;
		pfree(keys);
	}
	if (kind != HNSW_BUILD_ORDER_HEAP && n > 0)
		ereport(DEBUG1,
				(errmsg_internal("hnsw build order %s: %lld rows, first (%u,%u), last (%u,%u)",
								 kind == HNSW_BUILD_ORDER_RANDOM ? "random" :
								 kind == HNSW_BUILD_ORDER_LID_DESC ? "lid_desc" : "lid_asc",
								 (long long) n,
								 ItemPointerGetBlockNumber(&tids[order[0]]),
								 ItemPointerGetOffsetNumber(&tids[order[0]]),
								 ItemPointerGetBlockNumber(&tids[order[n - 1]]),
								 ItemPointerGetOffsetNumber(&tids[order[n - 1]]))));
	return order;
}
