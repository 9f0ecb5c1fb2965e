/*
 * knn.h: the KNN engine, batched exact k-nearest-neighbour search (internal C API).
 *
 * Many query vectors against every row of a table (VsKnnTable) or of an in-memory
 * matrix (VsKnnMatrix) in one pass, with the distances exactly as the operators return
 * them; vecsearch_knn(), the LID functions, the recall reports and the hnsw build order
 * are built on it, and it is the oracle for every recall figure.  The engine is knn.c,
 * its threads knnthreads.c, its row sources knnsource.c, its SQL functions knnfuncs.c.
 * (Not to be confused with hnsw's exhaustive mode, vecsearch.exact_scan.)  See
 * src/README, section "Exact KNN engine".
 */
#ifndef VECSEARCH_KNN_H
#define VECSEARCH_KNN_H

#include "postgres.h"

#include "access/attnum.h"
#include "fmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#include "metric.h"
#include "vector.h"

/* Limits of the k argument of every function built on the engine. */
#define VS_KNN_K_MIN		1
#define VS_KNN_K_DEFAULT	10
#define VS_KNN_K_MAX		10000
/*
 * Neighbours kept by one call (16 bytes each: 1.6 GB): queries x min(k, rows), where rows
 * is the most rows the table's pages can hold (the row count for a matrix).
 */
#define VS_KNN_RESULTS_MAX	INT64CONST(100000000)

/*
 * Compute threads per call (GUC vecsearch.exact_threads, any user), at most the ceiling
 * vecsearch.max_exact_threads (superusers only; same range).
 */
#define VS_EXACT_THREADS_MIN		1
#define VS_EXACT_THREADS_DEFAULT	2
#define VS_EXACT_THREADS_MAX		64
#define VS_MAX_EXACT_THREADS_DEFAULT	4

extern int	vs_exact_threads;
extern int	vs_max_exact_threads;

/* One neighbour: its distance (exactly as the operator returns it) and its row. */
typedef struct VsNeighbor
{
	double		dist;
	ItemPointerData tid;
} VsNeighbor;

/* What to compute. */
typedef struct VsKnnSpec
{
	const float *queries;		/* nq x dim, row-major, stride ldq floats */
	int			nq;
	int			ldq;
	int			dim;
	int			k;				/* VS_KNN_K_MIN .. VS_KNN_K_MAX */
	VsMetric	metric;
	/* Optional: for query i, never return the row whose TID is exclude[i]. */
	const ItemPointerData *exclude;
	/* Ignore rows at distance exactly 0 (the LID rule for duplicates). */
	bool		skip_zero;
} VsKnnSpec;

/*
 * The answer: for query i, count[i] neighbours from VsKnnNeighbors(res, i), ascending by
 * (distance, TID).  count[i] < k only when fewer rows qualify.  The engine sizes nbr by
 * the rows it actually compares (cap = min(k, rows), grown as the scan goes), never by k
 * alone; read it only through VsKnnNeighbors.
 */
typedef struct VsKnnResult
{
	int			nq;
	int			k;				/* neighbours asked for per query */
	int		   *count;
	VsNeighbor *nbr;			/* nq x cap (NULL while cap is 0) */
	int			cap;			/* room per query, the stride of nbr (<= k) */
	Size		nbr_entries;	/* entries allocated in nbr */
	int64		rows;			/* non-NULL rows compared against */
} VsKnnResult;

/* The neighbours of query i (count[i] of them). */
static inline VsNeighbor *
VsKnnNeighbors(const VsKnnResult *res, int i)
{
	return res->nbr + (Size) i * res->cap;
}

/* Round a row length up to a whole number of 64-byte lines (in floats). */
static inline int
VsAlignedStride(int dim)
{
	return (dim + 15) & ~15;
}

/*
 * A 64-byte aligned buffer of n floats (huge allocations allowed), zeroed if asked;
 * *raw, if raw is not NULL, receives the start of the chunk (for pfree).
 */
extern float *VsAllocAlignedFloats(Size n, bool zero, void **raw);

/* --- row sources (knnsource.c) --- */

/*
 * Open a table for reading a vector column with the caller's privileges: takes
 * AccessShareLock, checks the relation kind (a table or a materialized view; a
 * partitioned table is 42809), that the column exists, SELECT privilege on it (42501),
 * that row-level security does not apply, and that the column's type, domains looked
 * through, is vectype's (42804; vectype InvalidOid means "our vector type", recognised
 * by its input function) or halfvec for vector queries (read as vectors).  Then what SELECT would say or do: a materialized view never
 * refreshed is SELECT's 55000, and a table with inheritance children is refused
 * (0A000: SELECT would read the children, and TIDs name rows of one table only).
 * Returns the open relation (close with table_close(rel, AccessShareLock)).
 */
extern Relation VsOpenVectorColumn(Oid relid, const char *colname, Oid vectype,
								   AttrNumber *attnum);

/*
 * Read the non-NULL vectors of a column in TID order from block 0 (active snapshot).
 * VsRowReaderNext returns the next vector (valid until the next call) and its TID, or
 * NULL at the end; it checks the stored value (DatumGetRowVector: an impossible value,
 * 0 dimensions or NaN is an error naming the row) and the dimensions against dim (0:
 * take the first row's).  A halfvec column's rows come converted to vectors (exact).
 */
typedef struct VsRowReader
{
	Relation	rel;
	AttrNumber	attnum;
	struct TableScanDescData *scan;
	struct TupleTableSlot *slot;
	MemoryContext tmpcxt;
	int			dim;			/* expected dimensions, 0 = take the first
								 * row's */
	bool		half;			/* a halfvec column: rows are converted */
} VsRowReader;

extern void VsRowReaderBegin(VsRowReader *rd, Relation rel, AttrNumber attnum, int dim);
extern const Vector *VsRowReaderNext(VsRowReader *rd, ItemPointerData *tid);
extern void VsRowReaderEnd(VsRowReader *rd);

/* --- the engine (knn.c) --- */

/*
 * A result for nq queries and k neighbours.  Only the counts are allocated here; the
 * engine makes room for min(k, rows) neighbours per query and refuses (54000) when that
 * is more than VS_KNN_RESULTS_MAX in all.
 */
extern VsKnnResult *VsKnnResultAlloc(int nq, int k);

/*
 * Run the engine over every visible row of rel (active snapshot, NULLs skipped).
 * Refuses (54000) up front when nq x min(k, the rows rel's pages can hold) is over
 * VS_KNN_RESULTS_MAX; the answers then grow with the rows read.
 */
extern void VsKnnTable(Relation rel, AttrNumber attnum, const VsKnnSpec *spec,
					   VsKnnResult *res);

/*
 * Run the engine over an in-memory matrix of nrows rows (stride ldx) with their TIDs;
 * the answers take nq x min(k, nrows) neighbours (54000 over VS_KNN_RESULTS_MAX).
 */
extern void VsKnnMatrix(const float *rows, int ldx, const ItemPointerData *tids,
						int64 nrows, const VsKnnSpec *spec, VsKnnResult *res);

/* --- row sources (knnsource.c), continued --- */

/*
 * Read the non-NULL vectors of a column into a matrix (stride *ld floats, 64-byte
 * aligned rows).  With sample >= 0, keep a uniform sample of at most sample rows
 * (reservoir sampling, seeded private PRNG, in scan order); sample < 0 keeps all.
 * *dim is 0 when no row was read.  *total receives the number of non-NULL rows seen.
 * The buffer starts at 1,024 rows (or the sample) and doubles: it follows the rows
 * read, never the planner's estimate.  The matrix is freed with the memory context.
 */
extern void VsLoadVectors(Relation rel, AttrNumber attnum, int64 sample, uint64 seed,
						  float **matrix, int *ld, ItemPointerData **tids, int64 *nrows,
						  int *dim, int64 *total);

/* --- SQL functions (knnfuncs.c) --- */

/* ereport 22004 "<name> must not be NULL" when argument argno (0-based) is NULL. */
extern void VsCheckArgNotNull(FunctionCallInfo fcinfo, int argno, const char *name);

/* The engine's settings, registered from _PG_init. */
extern void VsKnnInit(void);

#endif							/* VECSEARCH_KNN_H */
