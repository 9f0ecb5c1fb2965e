/*
 * exactscan.c: the batched exact-KNN engine and vecsearch_knn().
 *
 * One pass over the rows; for each block of rows, tiles of queries x rows go through
 * vs_kernels.dot_block, a conservative screen discards the rows that cannot enter a
 * query's top k, and the survivors are rechecked with the single-pair kernel the SQL
 * operators use, so every reported distance is bit for bit the operator's value.  Each
 * query keeps a bounded max-heap ordered by (distance, TID).  Query tiles are shared
 * among compute threads (GUC vecsearch.exact_threads, at most vecsearch.max_exact_threads);
 * the threads run pure arithmetic on memory prepared by the backend, never call
 * PostgreSQL, and are joined on every way out of a call or of the backend (an error,
 * and a FATAL too: knn_threads_exit).  See src/README, "Threads".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "distance.h"
#include "exactscan.h"
#include "vector.h"
#include "vsrandom.h"

/* Rows read from the table per block (two blocks are in memory at once). */
#define KNN_BLOCK_ROWS		2048
/* Rows per dot_block call inside a tile (the row slab stays in L2). */
#define KNN_SLAB_ROWS		256
/* Rows per tile in self mode (queries = rows): a job is a pair of such tiles. */
#define KNN_SELF_TILE		256
/* l2 table mode sorts queries and blocks by norm from this many queries on. */
#define KNN_SORT_MIN_QUERIES	256
/* Queries per tile (upper bound; fewer when there are few queries per thread). */
#define KNN_TILE_QUERIES	32

int			vs_exact_threads = VS_EXACT_THREADS_DEFAULT;
int			vs_max_exact_threads = VS_MAX_EXACT_THREADS_DEFAULT;

/* The SQL function's input function, to recognise our type when no argument gives it. */
extern PGDLLEXPORT Datum vector_in(PG_FUNCTION_ARGS);

/* Per-query state: the screen threshold and precomputed norms. */
typedef struct QueryState
{
	double		thr;			/* screen threshold (+inf until the heap is full) */
	double		qq_c;			/* l2: |q|^2 (1 - c) */
	double		qn_c;			/* ip: c |q| */
	double		qinv;			/* cosine: 1 / |q| (0 for a zero vector) */
	double		qnorm;			/* |q| */
} QueryState;

/* Self mode: an entry of a query's approximate heap (key: a lower bound). */
typedef struct ApproxEntry
{
	float		key;
	int32		idx;			/* row index in the matrix */
} ApproxEntry;

/* One block of rows as the compute threads see it. */
typedef struct RowBlock
{
	const float *x;				/* nx rows, stride ldx */
	int			ldx;
	int64		nx;
	const ItemPointerData *tids;
	const double *xr;			/* per-row screen term (see row_screen_term) */
	const double *nrm;			/* l2 table mode: row norms, ascending; or NULL */
} RowBlock;

/* Everything one call of the engine shares between its threads. */
typedef struct KnnRun
{
	const VsKnnSpec *spec;
	VsKnnResult *res;
	QueryState *qs;
	double		c;				/* relative error bound of the screen */
	int			qtile;			/* queries per tile */
	int			qtiles;			/* query tiles */
	int			ntiles;			/* jobs of the current block (or stage) */

	/* self mode (queries are the rows): all pairs of row tiles, in schedule order */
	const int32 *pairs;			/* NULL, or ntiles pairs (a, b) as pairs[2t], pairs[2t+1] */
	bool	   *tile_busy;		/* self mode with threads: row tiles in use by a job */
	bool	   *pair_taken;		/* self mode with threads: pairs handed out */
	int			pair_head;		/* first pair not handed out */
	int			self_tile;		/* rows per tile in self mode */
	bool		self_finish;	/* jobs are query tiles of the exact finish */
	int			acap;			/* approximate heap capacity per query */
	struct ApproxEntry *aheap;	/* nq x acap */
	int		   *acount;
	int64		fallbacks;		/* queries that needed the full exact pass */
	const int64 *qmap;			/* NULL, or result index of each (reordered) query */
	const double *nrm;			/* l2 self mode: row norms, ascending (rows reordered) */
	int64		skipped;		/* tile pairs skipped by the norm bound */
	int64		visited;		/* table mode: query-tile x row products computed */

	/* current block and the tile queue, protected by mu */
	RowBlock	blk;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	pthread_cond_t done_cv;
	uint64		gen;
	int			next_tile;
	int			tiles_done;
	bool		stop;
	/*
	 * Set (atomically, also under mu) when the helpers are stopped: the run is over or
	 * abandoned, so a helper leaves its job early.  Read without the lock in the long
	 * loops of the jobs (knn_abandoned), so that stopping never waits for a whole job.
	 */
	bool		abandon;

	int			nthreads;		/* including the backend itself */
	int			nstarted;		/* helper threads actually running */
	pthread_t  *threads;
	float	  **outbuf;			/* per thread: qtile x KNN_SLAB_ROWS floats */
	struct KnnRun *live_next;	/* the backend's list of runs with helpers (knn_live) */
} KnnRun;

typedef struct KnnWorker
{
	KnnRun	   *run;
	int			id;
} KnnWorker;

/* In a job: the helpers are being stopped, leave now (the answers are not used). */
static inline bool
knn_abandoned(KnnRun *r)
{
	return __atomic_load_n(&r->abandon, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------
 * Metrics and distances
 * --------------------------------------------------------------------------------- */

VsMetric
VsMetricFromName(const char *name)
{
	if (strcmp(name, "l2") == 0)
		return VS_METRIC_L2;
	if (strcmp(name, "ip") == 0)
		return VS_METRIC_IP;
	if (strcmp(name, "cosine") == 0)
		return VS_METRIC_COSINE;
	if (strcmp(name, "l1") == 0)
		return VS_METRIC_L1;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown metric \"%s\"", name),
			 errhint("Valid metrics are \"l2\", \"ip\", \"cosine\" and \"l1\".")));
	return VS_METRIC_L2;		/* keep compiler quiet */
}

const char *
VsMetricName(VsMetric metric)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return "l2";
		case VS_METRIC_IP:
			return "ip";
		case VS_METRIC_COSINE:
			return "cosine";
		case VS_METRIC_L1:
			return "l1";
	}
	return "?";
}

/*
 * The operator's value for "row <op> query".  Keep in step with the operators in
 * src/vector.c: same kernels, same argument order, same double arithmetic after.
 */
double
VsMetricDistance(VsMetric metric, const float *row, const float *query, int dim)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return sqrt((double) vs_kernels.l2sq(row, query, dim));
		case VS_METRIC_IP:
			return -(double) vs_kernels.dot(row, query, dim);
		case VS_METRIC_COSINE:
			{
				float		ab,
							aa,
							bb;
				double		sim;

				vs_kernels.cosparts(row, query, dim, &ab, &aa, &bb);
				sim = (double) ab / sqrt((double) aa * (double) bb);
				/* rounding can push |sim| a hair past 1 */
				if (sim > 1.0)
					sim = 1.0;
				else if (sim < -1.0)
					sim = -1.0;
				return 1.0 - sim;
			}
		case VS_METRIC_L1:
			return (double) vs_kernels.l1(row, query, dim);
	}
	return 0.0;					/* keep compiler quiet */
}

/* ---------------------------------------------------------------------------------
 * Bounded max-heaps ordered by (distance, TID); NaN sorts after every number, as in
 * PostgreSQL's float8 ordering.
 * --------------------------------------------------------------------------------- */

static inline int
dist_cmp(double a, double b)
{
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	if (isnan(b))
		return -1;
	return (a > b) - (a < b);
}

static inline int
tid_cmp(const ItemPointerData *a, const ItemPointerData *b)
{
	BlockNumber ba = ItemPointerGetBlockNumberNoCheck(a);
	BlockNumber bb = ItemPointerGetBlockNumberNoCheck(b);
	OffsetNumber oa,
				ob;

	if (ba != bb)
		return ba < bb ? -1 : 1;
	oa = ItemPointerGetOffsetNumberNoCheck(a);
	ob = ItemPointerGetOffsetNumberNoCheck(b);
	return (oa > ob) - (oa < ob);
}

static inline int
nbr_cmp(const VsNeighbor *a, const VsNeighbor *b)
{
	int			c = dist_cmp(a->dist, b->dist);

	return c != 0 ? c : tid_cmp(&a->tid, &b->tid);
}

static int
nbr_qsort_cmp(const void *a, const void *b)
{
	return nbr_cmp((const VsNeighbor *) a, (const VsNeighbor *) b);
}

/* Offer (d, tid) to the max-heap h of n entries (capacity k); returns the new n. */
static inline int
heap_offer(VsNeighbor *h, int n, int k, double d, const ItemPointerData *tid)
{
	VsNeighbor	e;
	int			i;

	e.dist = d;
	e.tid = *tid;
	if (n < k)
	{
		/* sift up */
		i = n;
		while (i > 0)
		{
			int			p = (i - 1) / 2;

			if (nbr_cmp(&h[p], &e) >= 0)
				break;
			h[i] = h[p];
			i = p;
		}
		h[i] = e;
		return n + 1;
	}
	if (nbr_cmp(&e, &h[0]) >= 0)
		return n;
	/* replace the root and sift down */
	i = 0;
	for (;;)
	{
		int			l = 2 * i + 1;
		int			m;

		if (l >= n)
			break;
		m = l;
		if (l + 1 < n && nbr_cmp(&h[l + 1], &h[l]) > 0)
			m = l + 1;
		if (nbr_cmp(&h[m], &e) <= 0)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = e;
	return n;
}

/* ---------------------------------------------------------------------------------
 * The screen
 *
 * For l2, ip and cosine the tile gives fl(<q,x>) from dot_block; the screen value is the
 * approximate distance (squared for l2) minus a bound on its error, so a row is dropped
 * only when its exact distance is certainly larger than the k-th best so far.  With
 * gamma = dim * FLT_EPSILON / 2, every float sum of dim products (any order, with or
 * without FMA) is within gamma * sum |a_i b_i| of the exact sum (Higham, Accuracy and
 * Stability of Numerical Algorithms, 2nd ed., section 3.1).  For l2 the approximation
 * |q|^2 + |x|^2 - 2<q,x> and the recheck kernel's sum of (q_i - x_i)^2 then differ by at
 * most 4 gamma (|q|^2 + |x|^2); we use c = 4 (dim + 2) FLT_EPSILON, twice that.  The
 * same c bounds the cosine screen (in units of the distance) and, times |q||x|, the ip
 * screen.  l1 has no product form: its kernel is exact already.
 * --------------------------------------------------------------------------------- */

/* The per-row term of the screen: l2 |x|^2 (1 - c), ip |x|, cosine 1/|x| (0 if 0). */
static inline double
row_screen_term(VsMetric metric, const float *x, int dim, double c)
{
	double		xx;

	if (metric == VS_METRIC_L1)
		return 0.0;
	xx = (double) vs_kernels.dot(x, x, dim);
	switch (metric)
	{
		case VS_METRIC_L2:
			return xx * (1.0 - c);
		case VS_METRIC_IP:
			return sqrt(xx);
		case VS_METRIC_COSINE:
			return xx > 0.0 ? 1.0 / sqrt(xx) : 0.0;
		default:
			return 0.0;
	}
}

/* The screen threshold for a full heap whose worst distance is d. */
static inline double
screen_threshold(VsMetric metric, double d)
{
	if (isnan(d))
		return INFINITY;
	if (metric == VS_METRIC_L2)
		return d * d;
	return d;
}

/* Offer one row to query qi after the screen: exclusion, exact distance, heap. */
static inline void
consider(KnnRun *r, int qi, const float *row, const ItemPointerData *tid, double d,
		 bool have_d)
{
	const VsKnnSpec *s = r->spec;
	VsKnnResult *res = r->res;
	int			n;

	if (s->exclude && ItemPointerEquals((ItemPointer) &s->exclude[qi], (ItemPointer) tid))
		return;
	if (!have_d)
		d = VsMetricDistance(s->metric, row, s->queries + (Size) qi * s->ldq, s->dim);
	if (s->skip_zero && d == 0.0)
		return;
	/*
	 * res->cap < k only while fewer rows than k have been read, and then it is at least
	 * their number (see knn_result_grow), so a heap evicts only when it holds k
	 */
	n = heap_offer(VsKnnNeighbors(res, qi), res->count[qi], res->cap, d, tid);
	res->count[qi] = n;
	if (n == s->k)
		r->qs[qi].thr = screen_threshold(s->metric, VsKnnNeighbors(res, qi)[0].dist);
}

/* Offer (key, idx) to the approximate max-heap h of n entries (capacity cap). */
static inline int
aheap_offer(ApproxEntry *h, int n, int cap, float key, int32 idx)
{
	int			i;

	if (n < cap)
	{
		i = n;
		while (i > 0)
		{
			int			p = (i - 1) / 2;

			if (h[p].key >= key)
				break;
			h[i] = h[p];
			i = p;
		}
		h[i].key = key;
		h[i].idx = idx;
		return n + 1;
	}
	if (!(key < h[0].key))
		return n;
	i = 0;
	for (;;)
	{
		int			l = 2 * i + 1;
		int			m;

		if (l >= n)
			break;
		m = l;
		if (l + 1 < n && h[l + 1].key > h[l].key)
			m = l + 1;
		if (h[m].key <= key)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i].key = key;
	h[i].idx = idx;
	return n;
}

/* A float not above v (v a lower bound stays one after rounding); NaN becomes -inf. */
static inline float
float_at_most(double v)
{
	float		f = (float) v;

	if (isnan(v))
		return -INFINITY;
	if ((double) f > v)
		f = nextafterf(f, -INFINITY);
	return f;
}

static inline void
self_offer(KnnRun *r, int64 qi, int64 row, double v)
{
	int			n = r->acount[qi];
	ApproxEntry *h = r->aheap + (Size) qi * r->acap;

	n = aheap_offer(h, n, r->acap, float_at_most(v), (int32) row);
	r->acount[qi] = n;
	if (n == r->acap)
		r->qs[qi].thr = (double) h[0].key;
}

/*
 * Self mode: job t is the pair of row tiles (a, b), a <= b.  One
 * dot_block gives <x_i, x_j> for i in tile a, j in tile b.  The screen value v (a lower
 * bound of the exact distance, squared for l2) is symmetric, so each pair i < j is
 * offered to both queries' approximate heaps, which keep the acap smallest bounds; no
 * exact distance is computed here (see knn_self_finish_query).  Pure computation.
 */
static void
knn_pair(KnnRun *r, int t, float *out)
{
	const VsKnnSpec *s = r->spec;
	const RowBlock *b = &r->blk;
	int			T = r->self_tile;
	int64		a0 = (int64) r->pairs[2 * t] * T;
	int64		b0 = (int64) r->pairs[2 * t + 1] * T;
	int			na = (int) Min((int64) T, b->nx - a0);
	int			nb = (int) Min((int64) T, b->nx - b0);
	bool		diag = (a0 == b0);
	int			i,
				j;

	/*
	 * l2 with rows in ascending norm order: every row of tile b is at least
	 * g = |x_b0| - |x_(a0+na-1)| away from every row of tile a (triangle inequality).
	 * g_lb lowers g by the norms' rounding (c covers it), and (1 - c) the recheck
	 * kernel's; when g_lb^2 (1 - c) exceeds every threshold of both tiles, no row of one
	 * tile can enter a heap of the other: the pair is skipped.  Thresholds only fall,
	 * so the finish's proof (every left-out row is farther than L) still holds.
	 */
	if (r->nrm && !diag)
	{
		double		g = r->nrm[b0] - r->nrm[a0 + na - 1];
		double		g_lb = g - r->c * (r->nrm[b0] + r->nrm[a0 + na - 1]);

		if (g_lb > 0.0)
		{
			double		bound = g_lb * g_lb * (1.0 - r->c);
			bool		skip = true;

			for (i = 0; i < na && skip; i++)
				skip = bound > r->qs[a0 + i].thr;
			for (j = 0; j < nb && skip; j++)
				skip = bound > r->qs[b0 + j].thr;
			if (skip)
			{
				__atomic_fetch_add(&r->skipped, 1, __ATOMIC_RELAXED);
				return;
			}
		}
	}

	if (s->metric != VS_METRIC_L1)
		vs_kernels.dot_block(b->x + (Size) a0 * b->ldx, na, b->ldx,
							 b->x + (Size) b0 * b->ldx, nb, b->ldx, s->dim, out, T);

	for (i = 0; i < na; i++)
	{
		int64		gi = a0 + i;
		const float *o = out + (Size) i * T;
		QueryState *qi = &r->qs[gi];
		const double *xr = b->xr + b0;

		for (j = diag ? i + 1 : 0; j < nb; j++)
		{
			int64		gj = b0 + j;
			double		v;

			switch (s->metric)
			{
				case VS_METRIC_L2:
					v = qi->qq_c + xr[j] - 2.0 * (double) o[j];
					break;
				case VS_METRIC_IP:
					v = -(double) o[j] - qi->qn_c * xr[j];
					break;
				case VS_METRIC_COSINE:
					if (qi->qinv == 0.0 || xr[j] == 0.0)
						v = -INFINITY;
					else
						v = 1.0 - (double) o[j] * qi->qinv * xr[j] - r->c;
					break;
				default:
					/* l1: the kernel is the operator, v is exact */
					v = (double) vs_kernels.l1(b->x + (Size) gj * b->ldx,
											   b->x + (Size) gi * b->ldx, s->dim);
					break;
			}
			/* written so that a NaN bound (overflow) is always kept */
			if (!(v >= qi->thr))
				self_offer(r, gi, gj, v);
			if (!(v >= r->qs[gj].thr))
				self_offer(r, gj, gi, v);
		}
	}
}

/*
 * Self mode, the exact finish of query qi.  Its approximate heap holds the acap rows
 * with the smallest lower bounds; the exact distances of those rows (same kernels as
 * the operators), after the exclusion and zero rules, give the top k.  That answer is
 * exact when every row left out is certainly farther: its bound is at least the heap's
 * largest kept bound L, so L > D_k (the k-th exact distance) suffices, strictly, so that
 * no left-out row can even tie.  When the heap never filled, every row was kept.
 * Otherwise (many duplicates, near-ties at the margin) the query falls back to an
 * exact pass over all rows.  Pure computation.
 */
static void
knn_self_finish_query(KnnRun *r, int64 qi)
{
	const VsKnnSpec *s = r->spec;
	const RowBlock *b = &r->blk;
	const float *x = b->x + (Size) qi * b->ldx;
	ApproxEntry *h = r->aheap + (Size) qi * r->acap;
	int			n = r->acount[qi];
	int64		ri = r->qmap ? r->qmap[qi] : qi;
	VsNeighbor *nb = VsKnnNeighbors(r->res, ri);
	int			cap = r->res->cap;
	int			cnt = 0;
	int			e;
	bool		ok;

	for (e = 0; e < n; e++)
	{
		int64		j = h[e].idx;
		double		d;

		if (s->exclude && ItemPointerEquals((ItemPointer) &s->exclude[qi], (ItemPointer) &b->tids[j]))
			continue;
		d = VsMetricDistance(s->metric, b->x + (Size) j * b->ldx, x, s->dim);
		if (s->skip_zero && d == 0.0)
			continue;
		cnt = heap_offer(nb, cnt, cap, d, &b->tids[j]);
	}

	if (n < r->acap)
		ok = true;
	else if (cnt < s->k)
		ok = false;
	else
	{
		double		L = (double) h[0].key;
		double		dk = nb[0].dist;

		if (s->metric == VS_METRIC_L2)
			ok = L > dk * dk * (1.0 + 1e-12);
		else
			ok = L > dk;
	}

	if (!ok)
	{
		int64		j;

		cnt = 0;
		for (j = 0; j < b->nx; j++)
		{
			double		d;

			if ((j & 1023) == 0 && knn_abandoned(r))
				return;
			if (j == qi)
				continue;
			if (s->exclude && ItemPointerEquals((ItemPointer) &s->exclude[qi], (ItemPointer) &b->tids[j]))
				continue;
			d = VsMetricDistance(s->metric, b->x + (Size) j * b->ldx, x, s->dim);
			if (s->skip_zero && d == 0.0)
				continue;
			cnt = heap_offer(nb, cnt, cap, d, &b->tids[j]);
		}
		__atomic_fetch_add(&r->fallbacks, 1, __ATOMIC_RELAXED);
	}
	r->res->count[ri] = cnt;
}

/*
 * l2 table mode with the queries and the block's rows in ascending norm order: the
 * rows [*jlo, *jhi) of the block that can still enter a heap of the tile's queries
 * q0..q0+nqt-1.  With d the current k-th distance of query q (all heaps full), a row
 * whose norm differs from |q| by more than d is strictly farther than q's k-th
 * (triangle inequality), so it cannot even tie; rows outside the union of the
 * queries' windows are skipped.  The factors (1 +- c) cover the rounding of the norms
 * and of the distances.
 */
static void
knn_norm_window(KnnRun *r, const RowBlock *b, int q0, int nqt, int64 *jlo, int64 *jhi)
{
	double		c = r->c;
	double		lo = INFINITY,
				hi = -INFINITY;
	int64		l,
				h;
	int			i;

	/* the union of the queries' windows [|q| - d, |q| + d], widened for rounding */
	for (i = 0; i < nqt; i++)
	{
		const QueryState *q = &r->qs[q0 + i];
		double		d;

		if (!(q->thr < INFINITY))
			return;				/* a heap not yet full: every row may enter */
		d = sqrt(q->thr) * (1.0 + c);
		lo = Min(lo, (q->qnorm * (1.0 - c) - d) / (1.0 + c));
		hi = Max(hi, (q->qnorm * (1.0 + c) + d) / (1.0 - c));
	}

	/* in [*jlo, *jhi): first row with nrm >= lo, then first row with nrm > hi */
	l = *jlo;
	h = *jhi;
	while (l < h)
	{
		int64		m = l + (h - l) / 2;

		if (b->nrm[m] < lo)
			l = m + 1;
		else
			h = m;
	}
	*jlo = l;
	h = *jhi;
	while (l < h)
	{
		int64		m = l + (h - l) / 2;

		if (b->nrm[m] <= hi)
			l = m + 1;
		else
			h = m;
	}
	*jhi = l;
}

/*
 * Process query tile t against the current block: dot_block per slab of rows, the
 * screen, and the exact recheck of the survivors.  Pure computation: runs in helper
 * threads, so no palloc, no ereport, no PostgreSQL calls here.
 */
static void
knn_tile(KnnRun *r, int t, float *out)
{
	const VsKnnSpec *s = r->spec;
	const RowBlock *b = &r->blk;
	int			q0 = t * r->qtile;
	int			nqt = Min(r->qtile, s->nq - q0);
	int64		j0,
				jlo,
				jhi,
				next;

	if (r->pairs)
	{
		knn_pair(r, t, out);
		return;
	}
	if (r->self_finish)
	{
		for (; nqt > 0 && !knn_abandoned(r); nqt--, q0++)
			knn_self_finish_query(r, q0);
		return;
	}
	jlo = 0;
	jhi = b->nx;
	if (b->nrm)
		knn_norm_window(r, b, q0, nqt, &jlo, &jhi);
	for (j0 = jlo; j0 < jhi; j0 = next)
	{
		int			nxs = (int) Min((int64) KNN_SLAB_ROWS, jhi - j0);
		const float *xb = b->x + (Size) j0 * b->ldx;
		const ItemPointerData *tb = b->tids + j0;
		const double *xr = b->xr + j0;
		int			i,
					j;

		next = j0 + nxs;
		/* a non-self matrix job spans every row: let a stop end it between slabs */
		if (knn_abandoned(r))
			return;
		if (b->nrm)
			__atomic_fetch_add(&r->visited, (int64) nxs * nqt, __ATOMIC_RELAXED);

		if (s->metric == VS_METRIC_L1)
		{
			for (i = 0; i < nqt; i++)
			{
				const float *q = s->queries + (Size) (q0 + i) * s->ldq;
				QueryState *qs = &r->qs[q0 + i];

				for (j = 0; j < nxs; j++)
				{
					double		d = (double) vs_kernels.l1(xb + (Size) j * b->ldx, q, s->dim);

					if (!(d > qs->thr))
						consider(r, q0 + i, NULL, &tb[j], d, true);
				}
			}
			continue;
		}

		vs_kernels.dot_block(s->queries + (Size) q0 * s->ldq, nqt, s->ldq,
							 xb, nxs, b->ldx, s->dim, out, KNN_SLAB_ROWS);

		for (i = 0; i < nqt; i++)
		{
			const float *o = out + (Size) i * KNN_SLAB_ROWS;
			QueryState *qs = &r->qs[q0 + i];

			switch (s->metric)
			{
				case VS_METRIC_L2:
					for (j = 0; j < nxs; j++)
					{
						if (!(qs->qq_c + xr[j] - 2.0 * (double) o[j] > qs->thr))
							consider(r, q0 + i, xb + (Size) j * b->ldx, &tb[j], 0, false);
					}
					break;
				case VS_METRIC_IP:
					for (j = 0; j < nxs; j++)
					{
						if (!(-(double) o[j] - qs->qn_c * xr[j] > qs->thr))
							consider(r, q0 + i, xb + (Size) j * b->ldx, &tb[j], 0, false);
					}
					break;
				case VS_METRIC_COSINE:
					for (j = 0; j < nxs; j++)
					{
						double		v;

						/* a zero vector's distance is the operator's (NaN): recheck */
						if (qs->qinv == 0.0 || xr[j] == 0.0)
							v = -INFINITY;
						else
							v = 1.0 - (double) o[j] * qs->qinv * xr[j] - r->c;
						if (!(v > qs->thr))
							consider(r, q0 + i, xb + (Size) j * b->ldx, &tb[j], 0, false);
					}
					break;
				case VS_METRIC_L1:
					break;
			}
		}
		/* the thresholds fell: narrow the window for the next slab */
		if (b->nrm)
			knn_norm_window(r, b, q0, nqt, &next, &jhi);
	}
}

/* ---------------------------------------------------------------------------------
 * Threads: a tile queue per block.  Helper threads block every signal (the backend's
 * handlers run in the backend thread only) and touch only the KnnRun.
 * --------------------------------------------------------------------------------- */

/*
 * Under r->mu: the next job to run; -1 when none can start now (self mode: every pair
 * left shares a row tile with a running one), -2 when every job is handed out.
 * Self-mode pairs go in schedule order, skipping those whose tiles are busy, so two
 * threads never touch the same heaps and nobody waits at a barrier.
 */
static int
knn_take_job(KnnRun *r)
{
	int			i;
	bool		blocked = false;

	if (r->tile_busy == NULL)
		return r->next_tile < r->ntiles ? r->next_tile++ : -2;
	while (r->pair_head < r->ntiles && r->pair_taken[r->pair_head])
		r->pair_head++;
	for (i = r->pair_head; i < r->ntiles; i++)
	{
		int32		pa = r->pairs[2 * i],
					pb = r->pairs[2 * i + 1];

		if (r->pair_taken[i])
			continue;
		if (r->tile_busy[pa] || r->tile_busy[pb])
		{
			blocked = true;
			continue;
		}
		r->pair_taken[i] = true;
		r->tile_busy[pa] = r->tile_busy[pb] = true;
		return i;
	}
	return blocked ? -1 : -2;
}

/* Under r->mu: job t is done. */
static void
knn_job_done(KnnRun *r, int t)
{
	if (r->tile_busy)
		r->tile_busy[r->pairs[2 * t]] = r->tile_busy[r->pairs[2 * t + 1]] = false;
	r->tiles_done++;
	/* wakes the backend at the end, and threads waiting for a busy tile */
	pthread_cond_broadcast(&r->done_cv);
}

static void *
knn_worker_main(void *arg)
{
	KnnWorker  *w = (KnnWorker *) arg;
	KnnRun	   *r = w->run;
	uint64		seen = 0;

	pthread_mutex_lock(&r->mu);
	for (;;)
	{
		while (!r->stop && r->gen == seen)
			pthread_cond_wait(&r->work_cv, &r->mu);
		if (r->stop)
			break;
		seen = r->gen;
		while (!r->stop)
		{
			int			t = knn_take_job(r);

			if (t == -2)
				break;
			if (t == -1)
			{
				pthread_cond_wait(&r->done_cv, &r->mu);
				continue;
			}
			pthread_mutex_unlock(&r->mu);
			knn_tile(r, t, r->outbuf[w->id]);
			pthread_mutex_lock(&r->mu);
			knn_job_done(r, t);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * The runs of this backend whose helpers are running, newest first.  A run is linked
 * here from the moment its first helper exists until knn_threads_stop has joined them
 * all; only the backend thread reads or changes the list.
 */
static KnnRun *knn_live = NULL;
static bool knn_exit_hook_registered = false;

/*
 * Stop and join the helper threads of run r and unlink it from knn_live.  No
 * PostgreSQL call here: this runs on the way out of the backend too (knn_threads_exit).
 * Safe to call twice.
 */
static void
knn_threads_stop(KnnRun *r)
{
	KnnRun	  **p;
	int			i;

	if (r->nstarted == 0)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	__atomic_store_n(&r->abandon, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&r->work_cv);
	/* a helper may wait for a tile the backend held when it raised an error */
	pthread_cond_broadcast(&r->done_cv);
	pthread_mutex_unlock(&r->mu);
	for (i = 1; i <= r->nstarted; i++)
		pthread_join(r->threads[i], NULL);
	r->nstarted = 0;
	for (p = &knn_live; *p != NULL; p = &(*p)->live_next)
		if (*p == r)
		{
			*p = r->live_next;
			break;
		}
	pthread_cond_destroy(&r->done_cv);
	pthread_cond_destroy(&r->work_cv);
	pthread_mutex_destroy(&r->mu);
}

/*
 * before_shmem_exit callback: stop and join every helper still running.  A FATAL
 * (pg_terminate_backend, a fast shutdown, a lost client) leaves the backend through
 * proc_exit without the PG_FINALLY of the running call; its KnnRun (on the stack below
 * us) and the memory the helpers use are still there now, but ShutdownPostgres, the
 * before_shmem_exit callback that aborts the transaction and frees that memory, runs
 * after this one: the callbacks run last registered first, and this one is registered
 * when the first helpers start, long after InitPostgres registered ShutdownPostgres.
 * (on_proc_exit would be too late: it runs after every shmem_exit callback.)
 */
static void
knn_threads_exit(int code, Datum arg)
{
	while (knn_live != NULL)
	{
		KnnRun	   *r = knn_live;

		knn_threads_stop(r);
		if (knn_live == r)		/* cannot happen; never loop on it */
			knn_live = r->live_next;
	}
}

/*
 * Start the helper threads (as many as the system gives us; none is fine) and link the
 * run into knn_live.  The caller stops them in PG_FINALLY; knn_threads_exit does it
 * when the backend exits.
 */
static void
knn_threads_start(KnnRun *r)
{
	sigset_t	all,
				old;
	KnnWorker  *workers;
	int			i;

	r->nstarted = 0;
	if (r->nthreads <= 1)
		return;
	if (!knn_exit_hook_registered)
	{
		before_shmem_exit(knn_threads_exit, (Datum) 0);
		knn_exit_hook_registered = true;
	}
	r->threads = palloc0(sizeof(pthread_t) * r->nthreads);
	workers = palloc0(sizeof(KnnWorker) * r->nthreads);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work_cv, NULL);
	pthread_cond_init(&r->done_cv, NULL);
	r->stop = false;
	r->abandon = false;
	/* from here to the end of the function, nothing can raise an error or exit */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < r->nthreads; i++)
	{
		workers[i].run = r;
		workers[i].id = i;
		if (pthread_create(&r->threads[i], NULL, knn_worker_main, &workers[i]) != 0)
			break;
		r->nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->nstarted > 0)
	{
		r->live_next = knn_live;
		knn_live = r;
	}
	else
	{
		pthread_cond_destroy(&r->done_cv);
		pthread_cond_destroy(&r->work_cv);
		pthread_mutex_destroy(&r->mu);
	}
	/* tiles are taken from a queue, so fewer threads than planned is harmless */
}

/*
 * Hand a block to the helpers (they start on it at once): njobs jobs, query tiles, or
 * in self mode the pairs of row tiles.
 */
static void
knn_block_publish(KnnRun *r, const RowBlock *blk, const int32 *pairs, int njobs)
{
	if (r->nstarted > 0)
		pthread_mutex_lock(&r->mu);
	r->blk = *blk;
	r->pairs = pairs;
	r->ntiles = njobs;
	r->next_tile = 0;
	r->tiles_done = 0;
	if (r->nstarted > 0)
	{
		r->gen++;
		pthread_cond_broadcast(&r->work_cv);
		pthread_mutex_unlock(&r->mu);
	}
}

/* Take part in the published block and wait until every tile of it is done. */
static void
knn_block_finish(KnnRun *r)
{
	if (r->nstarted == 0)
	{
		int			t;

		for (t = 0; t < r->ntiles; t++)
		{
			knn_tile(r, t, r->outbuf[0]);
			/* one tile can be long (a whole matrix): stay interruptible */
			CHECK_FOR_INTERRUPTS();
		}
		return;
	}
	pthread_mutex_lock(&r->mu);
	for (;;)
	{
		int			t = knn_take_job(r);

		if (t == -2)
			break;
		if (t == -1)
		{
			pthread_cond_wait(&r->done_cv, &r->mu);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		knn_tile(r, t, r->outbuf[0]);
		/*
		 * an error here stops the helpers in the caller's PG_FINALLY, a FATAL in
		 * knn_threads_exit
		 */
		CHECK_FOR_INTERRUPTS();
		pthread_mutex_lock(&r->mu);
		knn_job_done(r, t);
	}
	while (r->tiles_done < r->ntiles)
		pthread_cond_wait(&r->done_cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

/* ---------------------------------------------------------------------------------
 * Setup and finish shared by the table and matrix entry points
 * --------------------------------------------------------------------------------- */

VsKnnResult *
VsKnnResultAlloc(int nq, int k)
{
	VsKnnResult *res = palloc0(sizeof(VsKnnResult));

	Assert(nq > 0 && k > 0);
	res->nq = nq;
	res->k = k;
	res->count = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(int), nq));
	memset(res->count, 0, sizeof(int) * (Size) nq);
	res->nbr = NULL;
	res->cap = 0;
	res->nbr_entries = 0;
	return res;
}

/*
 * The most rows a scan of rel can return: a heap page holds at most MaxHeapTuplesPerPage
 * tuples, and every row visible to our snapshot is in a page that existed when the
 * snapshot was taken (so counting the pages now is enough).  Other table AMs: no bound.
 */
static int64
knn_rows_bound(Relation rel)
{
	if (rel->rd_tableam != GetHeapamTableAmRoutine())
		return PG_INT64_MAX;
	return (int64) RelationGetNumberOfBlocks(rel) * MaxHeapTuplesPerPage;
}

/*
 * Up front, before any answer is allocated: nq queries keep at most min(k, rows_max)
 * neighbours each; ereport 54000 with the numbers when that is over VS_KNN_RESULTS_MAX.
 * Returns min(k, rows_max), the most room a query's heap will ever need.  rel names the
 * table in the detail (NULL: an in-memory matrix of rows_max rows).
 */
static int
knn_results_check(int nq, int k, int64 rows_max, Relation rel)
{
	int64		per = Min((int64) k, rows_max);
	int64		need = (int64) nq * per;

	if (need > VS_KNN_RESULTS_MAX)
	{
		if (rel != NULL && rows_max < PG_INT64_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%d queries with k = %d need %lld neighbours, at most %lld are supported",
							nq, k, (long long) need, (long long) VS_KNN_RESULTS_MAX),
					 errdetail("Each query keeps up to min(k, rows) neighbours; relation \"%s\" has %u pages, room for at most %lld rows.",
							   RelationGetRelationName(rel), RelationGetNumberOfBlocks(rel),
							   (long long) rows_max),
					 errhint("Use fewer queries per call, a sample, or a smaller k.")));
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d queries with k = %d need %lld neighbours, at most %lld are supported",
						nq, k, (long long) need, (long long) VS_KNN_RESULTS_MAX),
				 errhint("Use fewer queries per call, a sample, or a smaller k.")));
	}
	return (int) per;
}

/*
 * Make room for min(k, rows) neighbours per query, rows being the rows read so far
 * (the heaps cannot hold more), growing geometrically up to capmax (knn_results_check's
 * answer), and keeping the heaps found so far.  Backend only, never while helper
 * threads work on a block.
 */
static void
knn_result_grow(VsKnnResult *res, int64 rows, int capmax)
{
	int64		want = Min((int64) capmax, rows);
	int64		ncap;
	Size		entries;
	VsNeighbor *nbr;

	if (want <= res->cap)
		return;
	ncap = Min((int64) capmax, Max(want, (int64) res->cap * 2));
	entries = mul_size((Size) res->nq, (Size) ncap);
	if (res->cap == 0 && entries <= res->nbr_entries)
	{
		/* nothing kept yet (a reused result): the buffer only needs the new stride */
		res->cap = (int) ncap;
		return;
	}
	nbr = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(VsNeighbor), entries));
	if (res->nbr != NULL)
	{
		for (int i = 0; i < res->nq; i++)
			memcpy(nbr + (Size) i * ncap, VsKnnNeighbors(res, i),
				   sizeof(VsNeighbor) * res->count[i]);
		pfree(res->nbr);
	}
	res->nbr = nbr;
	res->nbr_entries = entries;
	res->cap = (int) ncap;
}

static void
knn_run_init(KnnRun *r, const VsKnnSpec *spec, VsKnnResult *res)
{
	int			i;

	Assert(spec->k >= VS_KNN_K_MIN && spec->k <= VS_KNN_K_MAX);
	Assert(res->nq == spec->nq && res->k == spec->k);
	memset(r, 0, sizeof(KnnRun));
	r->spec = spec;
	r->res = res;
	r->c = 4.0 * ((double) spec->dim + 2.0) * FLT_EPSILON;
	r->qs = MemoryContextAllocHuge(CurrentMemoryContext,
								   mul_size(sizeof(QueryState), spec->nq));
	/* a reused result keeps its buffer, not its heaps */
	res->cap = 0;
	for (i = 0; i < spec->nq; i++)
	{
		const float *q = spec->queries + (Size) i * spec->ldq;
		double		qq = (spec->metric == VS_METRIC_L1) ? 0.0 :
			(double) vs_kernels.dot(q, q, spec->dim);

		r->qs[i].thr = INFINITY;
		r->qs[i].qq_c = qq * (1.0 - r->c);
		r->qs[i].qn_c = r->c * sqrt(qq);
		r->qs[i].qinv = qq > 0.0 ? 1.0 / sqrt(qq) : 0.0;
		r->qs[i].qnorm = sqrt(qq);
		res->count[i] = 0;
	}
	res->rows = 0;

	/*
	 * threads: what the session asks for, within the superuser's ceiling, and never
	 * more than there are tiles of a useful size
	 */
	r->nthreads = Max(1, Min(Min(vs_exact_threads, vs_max_exact_threads), (spec->nq + 3) / 4));
	r->qtile = Min(KNN_TILE_QUERIES,
				   Max(4, (spec->nq + 2 * r->nthreads - 1) / (2 * r->nthreads)));
	r->qtiles = (spec->nq + r->qtile - 1) / r->qtile;
	r->ntiles = r->qtiles;
	r->outbuf = palloc(sizeof(float *) * r->nthreads);
	for (i = 0; i < r->nthreads; i++)
		r->outbuf[i] = palloc(sizeof(float) * r->qtile * KNN_SLAB_ROWS);
}

static void
knn_run_finish(KnnRun *r)
{
	VsKnnResult *res = r->res;
	int			i;

	for (i = 0; i < res->nq; i++)
		if (res->count[i] > 1)
			qsort(VsKnnNeighbors(res, i), res->count[i], sizeof(VsNeighbor),
				  nbr_qsort_cmp);
}

/* Round a row length up to a whole number of 64-byte lines (in floats). */
static int
aligned_stride(int dim)
{
	return (dim + 15) & ~15;
}

/*
 * A 64-byte aligned float buffer of n floats (huge allocations allowed), zeroed if
 * asked.  Large callers fill it row by row instead: first-touch page faults are
 * expensive enough here to show in profiles.
 */
static float *
alloc_aligned_floats_raw(Size n, bool zero, void **raw)
{
	char	   *p = MemoryContextAllocHuge(CurrentMemoryContext,
										   add_size(mul_size(n, sizeof(float)), 64));

	if (raw)
		*raw = p;
	p = (char *) TYPEALIGN(64, p);
	if (zero)
		memset(p, 0, n * sizeof(float));
	return (float *) p;
}

static float *
alloc_aligned_floats_ext(Size n, bool zero)
{
	return alloc_aligned_floats_raw(n, zero, NULL);
}

static float *
alloc_aligned_floats(Size n)
{
	return alloc_aligned_floats_ext(n, true);
}

/* ---------------------------------------------------------------------------------
 * Reading the table
 * --------------------------------------------------------------------------------- */

typedef struct RowReader
{
	Relation	rel;
	AttrNumber	attnum;
	TableScanDesc scan;
	TupleTableSlot *slot;
	MemoryContext tmpcxt;
	int			dim;			/* expected dimensions, 0 = take the first row's */
} RowReader;

static void
reader_begin(RowReader *rd, Relation rel, AttrNumber attnum, int dim)
{
	rd->rel = rel;
	rd->attnum = attnum;
	rd->dim = dim;
	/* no synchronized scan: rows come in TID order from block 0 */
	rd->scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	rd->slot = table_slot_create(rel, NULL);
	rd->tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vecsearch row reader",
									   ALLOCSET_DEFAULT_SIZES);
}

/*
 * The next non-NULL vector (valid until the next call) and its TID, or NULL at the
 * end.  Checks its layout and values (DatumGetRowVector: an impossible stored value,
 * 0 dimensions or NaN, is an error naming the row) and its dimensions against rd->dim.
 */
static const Vector *
reader_next(RowReader *rd, ItemPointerData *tid)
{
	for (;;)
	{
		Datum		d;
		bool		isnull;
		Vector	   *v;
		MemoryContext old;

		if (!table_scan_getnextslot(rd->scan, ForwardScanDirection, rd->slot))
			return NULL;
		d = slot_getattr(rd->slot, rd->attnum, &isnull);
		if (isnull)
			continue;
		*tid = rd->slot->tts_tid;
		MemoryContextReset(rd->tmpcxt);
		old = MemoryContextSwitchTo(rd->tmpcxt);
		v = DatumGetRowVector(d, rd->rel, tid, true);
		MemoryContextSwitchTo(old);
		if (rd->dim == 0)
			rd->dim = v->dim;
		else if (v->dim != rd->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %d and %d", rd->dim, v->dim),
					 errdetail("Row %s of relation \"%s\" has %d dimensions, the queries have %d.",
							   DatumGetCString(DirectFunctionCall1(tidout, PointerGetDatum(tid))),
							   RelationGetRelationName(rd->rel), v->dim, rd->dim)));
		return v;
	}
}

static void
reader_end(RowReader *rd)
{
	ExecDropSingleTupleTableSlot(rd->slot);
	table_endscan(rd->scan);
	MemoryContextDelete(rd->tmpcxt);
}

/* ---------------------------------------------------------------------------------
 * Entry points
 * --------------------------------------------------------------------------------- */

/* Sort helper: row indexes by norm. */
typedef struct NormIdx
{
	double		norm;
	int64		idx;
} NormIdx;

static int
normidx_cmp(const void *a, const void *b)
{
	const NormIdx *x = a,
			   *y = b;

	if (x->norm != y->norm)
		return x->norm < y->norm ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * The read-and-compute loop of VsExactKnnTable.  Rows are read in blocks of
 * KNN_BLOCK_ROWS into one of two buffers; while the helpers work on one block the
 * backend reads the next into the other, then joins in.  Between blocks (helpers idle)
 * the answers grow to min(k, rows read), up to capmax.
 */
static void
knn_table_loop(KnnRun *r, RowReader *rd, VsKnnResult *res, int capmax)
{
	const VsKnnSpec *spec = r->spec;
	int			ld = aligned_stride(spec->dim);
	float	   *buf[2];
	ItemPointerData *tids[2];
	double	   *xr[2];
	int			cur = 0;
	int64		n;
	bool		published = false;

	/* l2: each block is put in ascending norm order for the norm window */
	bool		sort_rows = (spec->metric == VS_METRIC_L2 && spec->nq >= KNN_SORT_MIN_QUERIES);
	float	   *sbuf = NULL;
	ItemPointerData *stids = NULL;
	double	   *sxr = NULL;
	double	   *nrm[2] = {NULL, NULL};
	NormIdx    *ni = NULL;

	for (n = 0; n < 2; n++)
	{
		buf[n] = alloc_aligned_floats((Size) KNN_BLOCK_ROWS * ld);
		tids[n] = palloc(sizeof(ItemPointerData) * KNN_BLOCK_ROWS);
		xr[n] = palloc(sizeof(double) * KNN_BLOCK_ROWS);
		if (sort_rows)
			nrm[n] = palloc(sizeof(double) * KNN_BLOCK_ROWS);
	}
	if (sort_rows)
	{
		sbuf = alloc_aligned_floats((Size) KNN_BLOCK_ROWS * ld);
		stids = palloc(sizeof(ItemPointerData) * KNN_BLOCK_ROWS);
		sxr = palloc(sizeof(double) * KNN_BLOCK_ROWS);
		ni = palloc(sizeof(NormIdx) * KNN_BLOCK_ROWS);
	}

	for (;;)
	{
		const Vector *v = NULL;
		RowBlock	blk;

		/* fill buffer cur while the helpers work on the other one */
		for (n = 0; n < KNN_BLOCK_ROWS; n++)
		{
			float	   *dst = buf[cur] + (Size) n * ld;

			v = reader_next(rd, &tids[cur][n]);
			if (v == NULL)
				break;
			memcpy(dst, v->x, sizeof(float) * spec->dim);
			xr[cur][n] = row_screen_term(spec->metric, dst, spec->dim, r->c);
			if ((n & 63) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (sort_rows && n > 0)
		{
			/* permute the block into sbuf by norm, then swap the buffers */
			int64		i;
			float	   *tf;
			ItemPointerData *tt;
			double	   *td;

			for (i = 0; i < n; i++)
			{
				ni[i].norm = sqrt(Max(xr[cur][i], 0.0) / (1.0 - r->c));
				ni[i].idx = i;
			}
			qsort(ni, n, sizeof(NormIdx), normidx_cmp);
			for (i = 0; i < n; i++)
			{
				int64		o = ni[i].idx;

				memcpy(sbuf + (Size) i * ld, buf[cur] + (Size) o * ld, sizeof(float) * ld);
				stids[i] = tids[cur][o];
				sxr[i] = xr[cur][o];
				nrm[cur][i] = ni[i].norm;
			}
			tf = buf[cur], buf[cur] = sbuf, sbuf = tf;
			tt = tids[cur], tids[cur] = stids, stids = tt;
			td = xr[cur], xr[cur] = sxr, sxr = td;
		}
		if (published)
			knn_block_finish(r);
		if (n == 0)
			break;
		res->rows += n;
		knn_result_grow(res, res->rows, capmax);
		blk.x = buf[cur];
		blk.ldx = ld;
		blk.nx = n;
		blk.tids = tids[cur];
		blk.xr = xr[cur];
		blk.nrm = nrm[cur];
		knn_block_publish(r, &blk, NULL, r->qtiles);
		published = true;
		cur = 1 - cur;
		if (v == NULL)
		{
			knn_block_finish(r);
			break;
		}
	}
}

/* The table engine on spec as given; capmax: see knn_results_check. */
static void
knn_table(Relation rel, AttrNumber attnum, const VsKnnSpec *spec, VsKnnResult *res,
		  int capmax)
{
	KnnRun		r;
	RowReader	rd;

	knn_run_init(&r, spec, res);
	reader_begin(&rd, rel, attnum, spec->dim);
	PG_TRY();
	{
		knn_threads_start(&r);
		knn_table_loop(&r, &rd, res, capmax);
	}
	PG_FINALLY();
	{
		knn_threads_stop(&r);
	}
	PG_END_TRY();
	reader_end(&rd);
	knn_run_finish(&r);
	if (r.visited > 0)
		elog(DEBUG1, "vecsearch exact scan: %lld rows, %d queries, %.1f%% of query-row products computed (norm window)",
			 (long long) res->rows, spec->nq,
			 100.0 * (double) r.visited / ((double) res->rows * spec->nq));
}

/*
 * Put the answers of a run on queries in sorted order (sorted position i is caller
 * query perm[i]) back into the caller's order, in place: each cycle of the permutation
 * is followed with two spare rows, so no second result is needed.
 */
static void
knn_result_unpermute(VsKnnResult *res, const NormIdx *perm)
{
	bool	   *done = palloc0(sizeof(bool) * res->nq);
	VsNeighbor *carry = palloc(sizeof(VsNeighbor) * Max(res->cap, 1));
	VsNeighbor *swap = palloc(sizeof(VsNeighbor) * Max(res->cap, 1));
	int			i;

	for (i = 0; i < res->nq; i++)
	{
		int			j,
					ccount;

		if (done[i])
			continue;
		/* carry holds the row that belongs at perm[j] */
		done[i] = true;
		ccount = res->count[i];
		if (ccount > 0)
			memcpy(carry, VsKnnNeighbors(res, i), sizeof(VsNeighbor) * ccount);
		for (j = (int) perm[i].idx; j != i; j = (int) perm[j].idx)
		{
			int			scount = res->count[j];

			if (scount > 0)
				memcpy(swap, VsKnnNeighbors(res, j), sizeof(VsNeighbor) * scount);
			if (ccount > 0)
				memcpy(VsKnnNeighbors(res, j), carry, sizeof(VsNeighbor) * ccount);
			res->count[j] = ccount;
			done[j] = true;
			ccount = scount;
			if (scount > 0)
				memcpy(carry, swap, sizeof(VsNeighbor) * scount);
		}
		if (ccount > 0)
			memcpy(VsKnnNeighbors(res, i), carry, sizeof(VsNeighbor) * ccount);
		res->count[i] = ccount;
	}
	pfree(done);
	pfree(carry);
	pfree(swap);
}

/*
 * Exact KNN over every visible row of rel (active snapshot, NULLs skipped).  For l2
 * with enough queries, the queries are sorted by norm (so a tile covers a narrow range
 * of norms) and each block of rows too, and knn_tile only visits the rows of a block
 * inside the tile's norm window (knn_norm_window); the answer is put back in the
 * callers' query order in place.  Refuses (54000) up front when queries x min(k, the
 * rows the table's pages can hold) is over VS_KNN_RESULTS_MAX; the answers then grow
 * with the rows actually read.
 */
void
VsExactKnnTable(Relation rel, AttrNumber attnum, const VsKnnSpec *spec, VsKnnResult *res)
{
	NormIdx    *ni;
	float	   *pq;
	ItemPointerData *pe = NULL;
	VsKnnSpec	ps;
	int			capmax;
	int			i;

	capmax = knn_results_check(spec->nq, spec->k, knn_rows_bound(rel), rel);
	if (spec->metric != VS_METRIC_L2 || spec->nq < KNN_SORT_MIN_QUERIES)
	{
		knn_table(rel, attnum, spec, res, capmax);
		return;
	}

	ni = palloc(sizeof(NormIdx) * spec->nq);
	for (i = 0; i < spec->nq; i++)
	{
		const float *q = spec->queries + (Size) i * spec->ldq;

		ni[i].norm = sqrt((double) vs_kernels.dot(q, q, spec->dim));
		ni[i].idx = i;
	}
	qsort(ni, spec->nq, sizeof(NormIdx), normidx_cmp);
	pq = alloc_aligned_floats_ext(mul_size((Size) spec->nq, spec->ldq), false);
	if (spec->exclude)
		pe = palloc(sizeof(ItemPointerData) * spec->nq);
	for (i = 0; i < spec->nq; i++)
	{
		memcpy(pq + (Size) i * spec->ldq, spec->queries + (Size) ni[i].idx * spec->ldq,
			   sizeof(float) * spec->ldq);
		if (pe)
			pe[i] = spec->exclude[ni[i].idx];
	}
	ps = *spec;
	ps.queries = pq;
	ps.exclude = pe;
	knn_table(rel, attnum, &ps, res, capmax);
	knn_result_unpermute(res, ni);
	pfree(ni);
	if (pe)
		pfree(pe);
}

/*
 * Self mode, the schedule: the row tiles 0..m-1 form m(m+1)/2 pairs (a, a + s), handed
 * out by increasing tile distance s (with l2 the tiles are bands of norms, so near
 * bands first: thresholds tighten early).  Without helper threads they simply run in
 * that order.  With helpers, knn_take_job hands out the first pair whose two tiles are
 * free, so no two running jobs share a heap and nobody waits at a barrier (which costs
 * dearly when the machine is shared).
 */
static void
knn_self_run(KnnRun *r, const RowBlock *blk)
{
	int64		m64 = (blk->nx + r->self_tile - 1) / r->self_tile;
	int			m = (int) m64;
	int64		npairs = m64 * (m64 + 1) / 2;
	int32	   *pairs;
	int64		np = 0;
	int			s,
				a;

	if (npairs > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for an all-pairs exact scan: %lld", (long long) blk->nx)));
	pairs = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(int32) * 2, npairs));
	for (s = 0; s < m; s++)
		for (a = 0; a + s < m; a++)
		{
			pairs[2 * np] = a;
			pairs[2 * np + 1] = a + s;
			np++;
		}
	if (r->nstarted > 0)
	{
		r->tile_busy = palloc0(sizeof(bool) * m);
		r->pair_taken = MemoryContextAllocHuge(CurrentMemoryContext, npairs);
		memset(r->pair_taken, 0, npairs);
		r->pair_head = 0;
	}
	knn_block_publish(r, blk, pairs, (int) npairs);
	knn_block_finish(r);
	r->tile_busy = NULL;

	/* the exact finish, by query tiles */
	r->self_finish = true;
	knn_block_publish(r, blk, NULL, r->qtiles);
	knn_block_finish(r);
	pfree(pairs);
	elog(DEBUG1, "vecsearch exact self join: %lld rows, %lld tile pairs, %lld skipped by norms, %lld exact fallbacks",
		 (long long) blk->nx, (long long) m64 * (m64 + 1) / 2, (long long) r->skipped,
		 (long long) r->fallbacks);
}

/*
 * The matrix engine.  qmap and nrm: see KnnRun (the l2 self mode on rows reordered by
 * norm); NULL otherwise.
 */
static void
knn_matrix(const float *rows, int ldx, const ItemPointerData *tids, int64 nrows,
		   const VsKnnSpec *spec, VsKnnResult *res, const int64 *qmap, const double *nrm)
{
	KnnRun		r;
	double	   *xr;
	int64		j;
	bool		self;

	knn_run_init(&r, spec, res);
	r.qmap = qmap;
	r.nrm = nrm;
	res->rows = nrows;
	if (nrows == 0)
		return;
	/* the answers: min(k, nrows) per query, never k alone */
	knn_result_grow(res, nrows, knn_results_check(spec->nq, spec->k, nrows, NULL));
	xr = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double), nrows));
	for (j = 0; j < nrows; j++)
	{
		xr[j] = row_screen_term(spec->metric, rows + (Size) j * ldx, spec->dim, r.c);
		if ((j & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	self = (rows == spec->queries && ldx == spec->ldq && nrows == spec->nq);
	if (self)
	{
		/* self mode: one pass over the upper triangle of row-tile pairs */
		int			i;

		r.self_tile = KNN_SELF_TILE;
		for (i = 0; i < r.nthreads; i++)
			r.outbuf[i] = palloc(sizeof(float) * KNN_SELF_TILE * KNN_SELF_TILE);
		/*
		 * room for the rows whose bound ties with the k-th (see the finish); a query
		 * never has more than nrows - 1 candidates, so nrows is room for all of them
		 */
		r.acap = (int) Min((int64) spec->k + Max(16, spec->k / 4), nrows);
		r.aheap = MemoryContextAllocHuge(CurrentMemoryContext,
										 mul_size(mul_size(sizeof(ApproxEntry), nrows), r.acap));
		r.acount = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(int), nrows));
		memset(r.acount, 0, sizeof(int) * (Size) nrows);
	}

	PG_TRY();
	{
		RowBlock	blk;

		knn_threads_start(&r);
		blk.x = rows;
		blk.ldx = ldx;
		blk.nx = nrows;
		blk.tids = tids;
		blk.xr = xr;
		blk.nrm = NULL;
		if (self)
			knn_self_run(&r, &blk);
		else
		{
			knn_block_publish(&r, &blk, NULL, r.qtiles);
			knn_block_finish(&r);
		}
	}
	PG_FINALLY();
	{
		knn_threads_stop(&r);
	}
	PG_END_TRY();

	knn_run_finish(&r);
	pfree(xr);
}

/*
 * Exact KNN over an in-memory matrix (e.g. all rows of a table, for LID).  When the
 * queries are the rows (self mode) and the metric is l2, the engine works on a copy
 * of the rows in ascending norm order: neighbours by norm share tiles, thresholds
 * tighten early, and tile pairs far apart in norm are skipped (see knn_pair).
 */
void
VsExactKnnMatrix(const float *rows, int ldx, const ItemPointerData *tids, int64 nrows,
				 const VsKnnSpec *spec, VsKnnResult *res)
{
	bool		self = (rows == spec->queries && ldx == spec->ldq && nrows == spec->nq);
	NormIdx    *ni;
	float	   *pm;
	ItemPointerData *pt;
	ItemPointerData *pe = NULL;
	int64	   *perm;
	double	   *nrm;
	VsKnnSpec	ps;
	int64		j;

	/* refuse before the copies below (knn_matrix checks again, the same way) */
	(void) knn_results_check(spec->nq, spec->k, nrows, NULL);
	if (!self || spec->metric != VS_METRIC_L2 || nrows <= KNN_SELF_TILE)
	{
		knn_matrix(rows, ldx, tids, nrows, spec, res, NULL, NULL);
		return;
	}

	ni = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(NormIdx), nrows));
	for (j = 0; j < nrows; j++)
	{
		const float *x = rows + (Size) j * ldx;

		ni[j].norm = sqrt((double) vs_kernels.dot(x, x, spec->dim));
		ni[j].idx = j;
	}
	qsort(ni, nrows, sizeof(NormIdx), normidx_cmp);

	pm = alloc_aligned_floats_ext(mul_size((Size) nrows, ldx), false);
	pt = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(ItemPointerData), nrows));
	perm = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(int64), nrows));
	nrm = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(double), nrows));
	if (spec->exclude)
		pe = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(sizeof(ItemPointerData), nrows));
	for (j = 0; j < nrows; j++)
	{
		int64		o = ni[j].idx;

		memcpy(pm + (Size) j * ldx, rows + (Size) o * ldx, sizeof(float) * ldx);
		pt[j] = tids[o];
		if (pe)
			pe[j] = spec->exclude[o];
		perm[j] = o;
		nrm[j] = ni[j].norm;
		if ((j & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(ni);

	ps = *spec;
	ps.queries = pm;
	ps.exclude = pe;
	knn_matrix(pm, ldx, pt, nrows, &ps, res, perm, nrm);

	/* pm is an aligned pointer into its chunk: freed with the memory context */
	pfree(pt);
	pfree(perm);
	pfree(nrm);
	if (pe)
		pfree(pe);
}

/* Rows of VsLoadVectors' first buffer; it doubles as rows come. */
#define LOAD_FIRST_ROWS		1024

void
VsLoadVectors(Relation rel, AttrNumber attnum, int64 sample, uint64 seed,
			  float **matrix, int *ld, ItemPointerData **tids, int64 *nrows,
			  int *dim, int64 *total)
{
	RowReader	rd;
	const Vector *v;
	ItemPointerData tid;
	int64		cap = 0,
				n = 0,
				seen = 0;
	float	   *m = NULL;
	void	   *mraw = NULL;
	ItemPointerData *t = NULL;
	VsRandom	rng;
	int			stride = 0;

	vs_random_seed(&rng, seed);
	reader_begin(&rd, rel, attnum, 0);
	while ((v = reader_next(&rd, &tid)) != NULL)
	{
		int64		slot;

		if (stride == 0)
		{
			/*
			 * A small first buffer, grown by doubling: the planner's reltuples can be
			 * far off (stale after a bulk DELETE), so memory follows the rows read.
			 */
			stride = aligned_stride(v->dim);
			cap = LOAD_FIRST_ROWS;
			if (sample >= 0)
				cap = Max(Min(cap, sample), 1);
			m = alloc_aligned_floats_raw(mul_size((Size) cap, stride), false, &mraw);
			t = MemoryContextAllocHuge(CurrentMemoryContext,
									   mul_size(sizeof(ItemPointerData), (Size) cap));
		}
		seen++;
		if (sample >= 0 && n >= sample)
		{
			/* reservoir sampling, Algorithm R: keep row seen-1 with prob sample/seen */
			uint64		j = vs_random_below(&rng, (uint64) seen);

			if (j >= (uint64) sample)
				continue;
			slot = (int64) j;
		}
		else
		{
			if (n == cap)
			{
				/* grow by doubling, up to the sample size */
				int64		ncap = cap * 2;
				float	   *nm;
				void	   *nraw;
				ItemPointerData *nt;

				if (sample >= 0)
					ncap = Min(ncap, sample);
				nm = alloc_aligned_floats_raw(mul_size((Size) ncap, stride), false, &nraw);
				memcpy(nm, m, sizeof(float) * (Size) n * stride);
				pfree(mraw);
				nt = MemoryContextAllocHuge(CurrentMemoryContext,
											mul_size(sizeof(ItemPointerData), (Size) ncap));
				memcpy(nt, t, sizeof(ItemPointerData) * (Size) n);
				pfree(t);
				m = nm;
				mraw = nraw;
				t = nt;
				cap = ncap;
			}
			slot = n++;
		}
		memcpy(m + (Size) slot * stride, v->x, sizeof(float) * v->dim);
		/* the padding of a row stays zero (kernels may read whole lines) */
		memset(m + (Size) slot * stride + v->dim, 0, sizeof(float) * (stride - v->dim));
		t[slot] = tid;
		if ((seen & 255) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*dim = rd.dim;
	reader_end(&rd);
	*matrix = m;
	*ld = stride;
	*tids = t;
	*nrows = n;
	*total = seen;
}

/* ---------------------------------------------------------------------------------
 * Opening a table's vector column with the caller's privileges
 * --------------------------------------------------------------------------------- */

/* Is typid (a base type) our vector type?  Recognised by its input function. */
static bool
is_vector_type(Oid typid)
{
	Oid			typinput,
				typioparam;
	FmgrInfo	finfo;

	getTypeInputInfo(typid, &typinput, &typioparam);
	fmgr_info(typinput, &finfo);
	return finfo.fn_addr == vector_in;
}

Relation
VsOpenVectorColumn(Oid relid, const char *colname, Oid vectype, AttrNumber *attnum)
{
	Relation	rel;
	AttrNumber	att;
	Oid			atttype;
	Oid			basetype;
	char		relkind;
	AclResult	aclresult;

	rel = relation_open(relid, AccessShareLock);
	relkind = rel->rd_rel->relkind;
	if (relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						RelationGetRelationName(rel)),
				 errdetail("\"%s\" is a partitioned table; its rows are in its partitions, and a row_tid identifies a row only within one of them.",
						   RelationGetRelationName(rel)),
				 errhint("Call the function on each partition.")));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						RelationGetRelationName(rel))));

	att = get_attnum(relid, colname);
	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel))));
	if (att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is a system column, not a vector",
						colname, RelationGetRelationName(rel))));

	/* the caller's privileges: SELECT on the table or on the column */
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
	{
		aclresult = pg_attribute_aclcheck(relid, att, GetUserId(), ACL_SELECT);
		if (aclresult != ACLCHECK_OK)
			aclcheck_error_col(aclresult, get_relkind_objtype(relkind),
							   RelationGetRelationName(rel), colname);
	}

	/* we read every row, so row-level security policies cannot be honoured */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security is enabled for relation \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("vecsearch's exact scans read every row and cannot apply row-level security policies.")));

	/* a domain over vector is a vector (the queries' type may be a domain too) */
	atttype = get_atttype(relid, att);
	basetype = getBaseType(atttype);
	if (OidIsValid(vectype) ? (basetype != getBaseType(vectype)) : !is_vector_type(basetype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is of type %s, not vector",
						colname, RelationGetRelationName(rel), format_type_be(atttype)),
				 OidIsValid(vectype) && is_vector_type(basetype) ?
				 errdetail("The queries are of type %s.", format_type_be(vectype)) : 0));

	/* what SELECT says of a materialized view never refreshed */
	if (!RelationIsPopulated(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("materialized view \"%s\" has not been populated",
						RelationGetRelationName(rel)),
				 errhint("Use the REFRESH MATERIALIZED VIEW command.")));

	/*
	 * SELECT from an inheritance parent also returns its children's rows, but TIDs
	 * (row_tid, the exclusion of a query's own row, ties) identify a row only within
	 * one table: refuse rather than answer from the parent's own rows alone.
	 */
	if (rel->rd_rel->relhassubclass)
	{
		List	   *children = find_inheritance_children(relid, NoLock);

		if (children != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg_plural("table \"%s\" has %d child table",
								   "table \"%s\" has %d child tables",
								   list_length(children),
								   RelationGetRelationName(rel), list_length(children)),
					 errdetail("SELECT from \"%s\" also reads its child tables, but a row_tid identifies a row only within one table.",
							   RelationGetRelationName(rel)),
					 errhint("Call the function on each child table.")));
	}

	*attnum = att;
	return rel;
}

/* ---------------------------------------------------------------------------------
 * SQL: vecsearch_knn
 * --------------------------------------------------------------------------------- */

/* ereport 22004 when argument argno (0-based) is NULL. */
void
VsCheckArgNotNull(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/*
 * vecsearch_knn(tbl regclass, col name, queries vector[], k int, metric text)
 * RETURNS TABLE(query int, rank int, row_tid tid, distance float8)
 *
 * The exact k nearest rows of each query (1-based in array order), ranked 1..k by
 * ascending (distance, TID).  Materialized SRF.
 */
PG_FUNCTION_INFO_V1(vecsearch_knn);
Datum
vecsearch_knn(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	ArrayType  *arr;
	int			k;
	VsMetric	metric;
	Oid			vectype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nq,
				dim = 0,
				i;
	float	   *queries;
	VsKnnSpec	spec;
	VsKnnResult *res;
	Relation	rel;
	AttrNumber	attnum;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	VsCheckArgNotNull(fcinfo, 0, "tbl");
	VsCheckArgNotNull(fcinfo, 1, "col");
	VsCheckArgNotNull(fcinfo, 2, "queries");
	VsCheckArgNotNull(fcinfo, 3, "k");
	VsCheckArgNotNull(fcinfo, 4, "metric");

	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	k = PG_GETARG_INT32(3);
	metric = VsMetricFromName(text_to_cstring(PG_GETARG_TEXT_PP(4)));

	if (k < VS_KNN_K_MIN || k > VS_KNN_K_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between %d and %d, not %d",
						VS_KNN_K_MIN, VS_KNN_K_MAX, k)));

	/* the queries: a non-empty one-dimensional array of non-NULL vectors */
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("queries must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(arr))));
	vectype = ARR_ELEMTYPE(arr);
	get_typlenbyvalalign(vectype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, vectype, typlen, typbyval, typalign, &elems, &nulls, &nq);
	if (nq == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("queries must not be empty")));
	for (i = 0; i < nq; i++)
	{
		Vector	   *v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("query %d is NULL", i + 1)));
		v = DatumGetVector(elems[i]);	/* layout: 1..VECTOR_MAX_DIM dimensions */
		if (unlikely(!VectorIsFinite(v->x, v->dim)))
			CheckVectorFinite(v->x, v->dim, psprintf("query %d", i + 1));
		if (i == 0)
			dim = v->dim;
		else if (v->dim != dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %d and %d", dim, v->dim),
					 errdetail("Query 1 has %d dimensions, query %d has %d.",
							   dim, i + 1, v->dim)));
		elems[i] = PointerGetDatum(v);
	}
	queries = alloc_aligned_floats(mul_size((Size) nq, aligned_stride(dim)));
	for (i = 0; i < nq; i++)
		memcpy(queries + (Size) i * aligned_stride(dim),
			   ((Vector *) DatumGetPointer(elems[i]))->x, sizeof(float) * dim);

	rel = VsOpenVectorColumn(relid, colname, vectype, &attnum);

	memset(&spec, 0, sizeof(spec));
	spec.queries = queries;
	spec.nq = nq;
	spec.ldq = aligned_stride(dim);
	spec.dim = dim;
	spec.k = k;
	spec.metric = metric;
	res = VsKnnResultAlloc(nq, k);
	VsExactKnnTable(rel, attnum, &spec, res);
	table_close(rel, AccessShareLock);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nq; i++)
	{
		int			r;

		for (r = 0; r < res->count[i]; r++)
		{
			VsNeighbor *nb = &VsKnnNeighbors(res, i)[r];
			Datum		values[4];
			bool		isnull[4] = {false, false, false, false};

			values[0] = Int32GetDatum(i + 1);
			values[1] = Int32GetDatum(r + 1);
			values[2] = PointerGetDatum(&nb->tid);
			values[3] = Float8GetDatum(nb->dist);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
	}
	return (Datum) 0;
}

/* GUCs of the exact engine. */
void
VsExactScanInit(void)
{
	DefineCustomIntVariable("vecsearch.exact_threads",
							"Compute threads per exact-KNN call (vecsearch_knn, LID, recall).",
							"The threads only do arithmetic on rows the backend has read; "
							"1 keeps everything in the backend.",
							&vs_exact_threads,
							VS_EXACT_THREADS_DEFAULT,
							VS_EXACT_THREADS_MIN, VS_EXACT_THREADS_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vecsearch.max_exact_threads",
							"Most compute threads one exact-KNN call may use, whatever vecsearch.exact_threads asks.",
							"Only superusers can change it; a call uses the smaller of the two settings.",
							&vs_max_exact_threads,
							VS_MAX_EXACT_THREADS_DEFAULT,
							VS_EXACT_THREADS_MIN, VS_EXACT_THREADS_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
}
