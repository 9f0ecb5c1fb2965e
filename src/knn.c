/*
 * knn.c: the KNN engine, batched exact k-nearest-neighbour search.
 *
 * VsKnnTable runs many queries against every row of a table in one pass, VsKnnMatrix
 * against an in-memory matrix (the rows themselves, in self mode).  For each block of
 * rows, tiles of queries x rows go through vs_kernels.dot_block, a conservative screen
 * discards the rows that cannot enter a query's top k, and the survivors are rechecked
 * with the single-pair kernel the SQL operators use; each query keeps a bounded
 * max-heap ordered by (distance, TID).  The jobs run on the thread pool of
 * knnthreads.c; the rows come from knnsource.c.  See src/README, section
 * "Exact KNN engine".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "access/tableam.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "distance.h"
#include "knn.h"
#include "knnthreads.h"
#include "vector.h"


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

/* Per-query state: the screen threshold and precomputed norms. */
typedef struct QueryState
{
	double		thr;			/* screen threshold (+inf until the heap is
								 * full) */
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
	const double *nrm;			/* l2 table mode: row norms, ascending; or
								 * NULL */
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

	/*
	 * self mode (queries are the rows): all pairs of row tiles, in schedule
	 * order
	 */
	const int32 *pairs;			/* NULL, or one pair (a, b) per job, as
								 * pairs[2t], pairs[2t+1] */
	bool	   *tile_busy;		/* self mode with threads: row tiles in use by
								 * a job */
	bool	   *pair_taken;		/* self mode with threads: pairs handed out */
	int			pair_head;		/* first pair not handed out */
	int			self_tile;		/* rows per tile in self mode */
	bool		self_finish;	/* jobs are query tiles of the exact finish */
	int			acap;			/* approximate heap capacity per query */
	struct ApproxEntry *aheap;	/* nq x acap */
	int		   *acount;
	int64		fallbacks;		/* queries that needed the full exact pass */
	const int64 *qmap;			/* NULL, or result index of each (reordered)
								 * query */
	const double *nrm;			/* l2 self mode: row norms, ascending (rows
								 * reordered) */
	int64		skipped;		/* tile pairs skipped by the norm bound */
	int64		visited;		/* table mode: query-tile x row products
								 * computed */

	/* the current block (set under the pool's lock) and the helper threads */
	RowBlock	blk;
	KnnPool		pool;
	float	  **outbuf;			/* per thread: qtile x KNN_SLAB_ROWS floats */
} KnnRun;

/* In a job: the helpers are being stopped, leave now (the answers are not used). */
static inline bool
knn_abandoned(KnnRun *r)
{
	return KnnPoolAbandoned(&r->pool);
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
	 * res->cap < k only while fewer rows than k have been read, and then it
	 * is at least their number (see knn_result_grow), so a heap evicts only
	 * when it holds k
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
	 * l2 with rows in ascending norm order: every row of tile b is at least g
	 * = |x_b0| - |x_(a0+na-1)| away from every row of tile a (triangle
	 * inequality). g_lb lowers g by the norms' rounding (c covers it), and (1
	 * - c) the recheck kernel's; when g_lb^2 (1 - c) exceeds every threshold
	 * of both tiles, no row of one tile can enter a heap of the other: the
	 * pair is skipped.  Thresholds only fall, so the finish's proof (every
	 * left-out row is farther than L) still holds.
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

	/*
	 * the union of the queries' windows [|q| - d, |q| + d], widened for
	 * rounding
	 */
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

		/*
		 * a non-self matrix job spans every row: let a stop end it between
		 * slabs
		 */
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

						/*
						 * a zero vector's distance is the operator's (NaN):
						 * recheck
						 */
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
 * Jobs for the thread pool (knnthreads.c)
 * --------------------------------------------------------------------------------- */

/*
 * Self mode with helpers, under the pool's lock: the next pair of row tiles to run;
 * KNN_JOB_WAIT when every pair left shares a row tile with a running one, KNN_JOB_NONE
 * when every pair is handed out.  Pairs go in schedule order, skipping those whose
 * tiles are busy, so two threads never touch the same heaps and nobody waits at a
 * barrier.
 */
static int
knn_take_pair(void *arg)
{
	KnnRun	   *r = (KnnRun *) arg;
	int			i;
	bool		blocked = false;

	while (r->pair_head < r->pool.njobs && r->pair_taken[r->pair_head])
		r->pair_head++;
	for (i = r->pair_head; i < r->pool.njobs; i++)
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
	return blocked ? KNN_JOB_WAIT : KNN_JOB_NONE;
}

/* Under the pool's lock: job t is done (self mode: its row tiles are free again). */
static void
knn_job_done(void *arg, int t)
{
	KnnRun	   *r = (KnnRun *) arg;

	if (r->tile_busy)
		r->tile_busy[r->pairs[2 * t]] = r->tile_busy[r->pairs[2 * t + 1]] = false;
}

/* Run job t on thread thread (0: the backend); pure computation. */
static void
knn_job_run(void *arg, int t, int thread)
{
	KnnRun	   *r = (KnnRun *) arg;

	knn_tile(r, t, r->outbuf[thread]);
}

/* Start the helpers of run r (none is fine). */
static void
knn_threads_start(KnnRun *r)
{
	r->pool.arg = r;
	r->pool.done = knn_job_done;
	r->pool.run = knn_job_run;
	KnnPoolStart(&r->pool);
}

/*
 * Hand a block to the helpers (they start on it at once): njobs jobs, query tiles, or
 * in self mode the pairs of row tiles.
 */
static void
knn_block_publish(KnnRun *r, const RowBlock *blk, const int32 *pairs, int njobs)
{
	KnnPoolBegin(&r->pool);
	r->blk = *blk;
	r->pairs = pairs;
	r->pool.take = r->tile_busy ? knn_take_pair : NULL;
	KnnPoolPublish(&r->pool, njobs);
}

/* Take part in the published block and wait until every job of it is done. */
static void
knn_block_finish(KnnRun *r)
{
	KnnPoolFinish(&r->pool);
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
		/*
		 * nothing kept yet (a reused result): the buffer only needs the new
		 * stride
		 */
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
	 * threads: what the session asks for, within the superuser's ceiling, and
	 * never more than there are tiles of a useful size
	 */
	r->pool.nthreads = Max(1, Min(Min(vs_exact_threads, vs_max_exact_threads), (spec->nq + 3) / 4));
	r->qtile = Min(KNN_TILE_QUERIES,
				   Max(4, (spec->nq + 2 * r->pool.nthreads - 1) / (2 * r->pool.nthreads)));
	r->qtiles = (spec->nq + r->qtile - 1) / r->qtile;
	r->outbuf = palloc(sizeof(float *) * r->pool.nthreads);
	for (i = 0; i < r->pool.nthreads; i++)
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

/*
 * A 64-byte aligned float buffer of n floats (huge allocations allowed), zeroed if
 * asked; *raw (if not NULL) receives the chunk to pfree.  Large callers fill it row by
 * row instead: first-touch page faults are expensive enough here to show in profiles.
 */
float *
VsAllocAlignedFloats(Size n, bool zero, void **raw)
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
 * The read-and-compute loop of VsKnnTable.  Rows are read in blocks of
 * KNN_BLOCK_ROWS into one of two buffers; while the helpers work on one block the
 * backend reads the next into the other, then joins in.  Between blocks (helpers idle)
 * the answers grow to min(k, rows read), up to capmax.
 */
static void
knn_table_loop(KnnRun *r, VsRowReader *rd, VsKnnResult *res, int capmax)
{
	const VsKnnSpec *spec = r->spec;
	int			ld = VsAlignedStride(spec->dim);
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
		buf[n] = VsAllocAlignedFloats((Size) KNN_BLOCK_ROWS * ld, true, NULL);
		tids[n] = palloc(sizeof(ItemPointerData) * KNN_BLOCK_ROWS);
		xr[n] = palloc(sizeof(double) * KNN_BLOCK_ROWS);
		if (sort_rows)
			nrm[n] = palloc(sizeof(double) * KNN_BLOCK_ROWS);
	}
	if (sort_rows)
	{
		sbuf = VsAllocAlignedFloats((Size) KNN_BLOCK_ROWS * ld, true, NULL);
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

			v = VsRowReaderNext(rd, &tids[cur][n]);
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
	VsRowReader rd;

	knn_run_init(&r, spec, res);
	VsRowReaderBegin(&rd, rel, attnum, spec->dim);
	PG_TRY();
	{
		knn_threads_start(&r);
		knn_table_loop(&r, &rd, res, capmax);
	}
	PG_FINALLY();
	{
		KnnPoolStop(&r.pool);
	}
	PG_END_TRY();
	VsRowReaderEnd(&rd);
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
VsKnnTable(Relation rel, AttrNumber attnum, const VsKnnSpec *spec, VsKnnResult *res)
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
	pq = VsAllocAlignedFloats(mul_size((Size) spec->nq, spec->ldq), false, NULL);
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
 * that order.  With helpers, knn_take_pair hands out the first pair whose two tiles are
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
	if (r->pool.nstarted > 0)
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
		for (i = 0; i < r.pool.nthreads; i++)
			r.outbuf[i] = palloc(sizeof(float) * KNN_SELF_TILE * KNN_SELF_TILE);

		/*
		 * room for the rows whose bound ties with the k-th (see the finish);
		 * a query never has more than nrows - 1 candidates, so nrows is room
		 * for all of them
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
		KnnPoolStop(&r.pool);
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
VsKnnMatrix(const float *rows, int ldx, const ItemPointerData *tids, int64 nrows,
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

	pm = VsAllocAlignedFloats(mul_size((Size) nrows, ldx), false, NULL);
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
