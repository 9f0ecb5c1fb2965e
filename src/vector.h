/*
 * vector.h: the vector type's in-memory (and on-disk) layout and helpers.
 *
 * The varlena layout is: 4-byte header, int16 dimensions, int16 unused (always 0),
 * then dim float4 values.  The binary send/recv format is pgvector's: uint16 dim,
 * uint16 unused, dim float4, all in network byte order.  See src/README, section "Vector values".
 */
#ifndef VECSEARCH_VECTOR_H
#define VECSEARCH_VECTOR_H

#include "postgres.h"
#include "fmgr.h"
#include "storage/itemptr.h"
#include "nodes/nodes.h"
#include "utils/array.h"
#include "utils/relcache.h"

#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of dimensions, 1..VECTOR_MAX_DIM */
	int16		unused;			/* reserved, always 0 */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(_dim)		(offsetof(Vector, x) + sizeof(float) * (Size) (_dim))

/*
 * One validation for every vector (see src/README, "Vector values"):
 *
 * - Makers.  InitVector() is the only place a dimension count is stored: it checks
 *   1..VECTOR_MAX_DIM first (the int16 field would wrap), with vector_in's SQLSTATEs
 *   and messages.  Every function that fills a new vector with computed or copied
 *   values checks them with CheckVectorFinite() (or an equivalent per-element check
 *   with the same messages) before returning it.
 * - Readers.  Every vector received from a table, an index build, a query, an array
 *   or an argument is taken with DatumGetVector() / PG_GETARG_VECTOR_P(), which
 *   detoasts it and checks its layout: at least the 4-byte header, 1..VECTOR_MAX_DIM
 *   dimensions and exactly the bytes those need.  A value that fails (only a build
 *   whose aggregate support functions did not check their input could store one)
 *   raises 22000 "invalid vector ..." instead of reaching code that trusts dim.  The
 *   check is O(1); readers that keep vectors (hnsw build and insert) or take query
 *   vectors also call CheckVectorFinite().
 */

/* ereport (22000 data_exception, "invalid vector ...") for a layout that failed. */
extern void ReportInvalidVector(int dim, Size datasize) pg_attribute_noreturn();

/*
 * ereport unless datasize bytes at data (a vector's bytes after its varlena header,
 * possibly unaligned) are a valid vector: the header, 1..VECTOR_MAX_DIM dimensions,
 * 4 bytes per dimension.  Returns the dimensions.
 */
static inline int
CheckVectorLayout(const char *data, Size datasize)
{
	int16		dim;

	if (unlikely(datasize < offsetof(Vector, x) - VARHDRSZ))
		ReportInvalidVector(-1, datasize);
	memcpy(&dim, data, sizeof(int16));
	if (unlikely(dim < 1 || dim > VECTOR_MAX_DIM ||
				 datasize != VECTOR_SIZE(dim) - VARHDRSZ))
		ReportInvalidVector(dim, datasize);
	return dim;
}

/* The vector in d, detoasted (4-byte header, aligned), its layout checked. */
static inline Vector *
DatumGetVector(Datum d)
{
	Vector	   *v = (Vector *) PG_DETOAST_DATUM(d);

	(void) CheckVectorLayout(VARDATA(v), VARSIZE(v) - VARHDRSZ);
	return v;
}

#define PG_GETARG_VECTOR_P(n)	DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v)	PG_RETURN_POINTER(v)

/*
 * The vector in argument argno (0 or 1), detoasted and checked; a compressed or
 * out-of-line argument that repeats from call to call (a query vector) is detoasted
 * once per query.
 */
extern Vector *GetVectorArgCached(FunctionCallInfo fcinfo, int argno);

/*
 * Allocate a zeroed vector of dim dimensions.  ereport unless 1 <= dim <=
 * VECTOR_MAX_DIM (22000 "vector must have at least 1 dimension", 54000 "vector cannot
 * have more than 16000 dimensions, not N"), before anything is stored.
 */
extern Vector *InitVector(int dim);

/* ereport (as InitVector) unless 1 <= dim <= VECTOR_MAX_DIM. */
extern void CheckVectorDim(int dim);

/* ereport (22000 data_exception) unless a and b have the same dimensions. */
extern void CheckVectorDimsMatch(const Vector *a, const Vector *b);

/*
 * True when every element of x is finite.  O(dim), about as fast as a copy (vector.c):
 * cheap next to any computation that reads the vector.
 */
extern bool VectorIsFinite(const float *x, int dim);

/*
 * ereport unless every element is finite: 22000 "NaN not allowed in vector" or
 * "infinite value not allowed in vector" (vector_in's), with an errdetail naming the
 * element and, when what is not NULL, the vector ("query 2").
 */
extern void CheckVectorFinite(const float *x, int dim, const char *what);

/*
 * DatumGetVector for the value of row tid of rel (a table scan, an index build or
 * insert): errors carry the row in their context ("vector of row (0,3) of relation
 * \"items\""), and with finite the elements are checked too (CheckVectorFinite).
 */
extern Vector *DatumGetRowVector(Datum d, Relation rel, ItemPointer tid, bool finite);

/*
 * The state of avg(vector) and avg(halfvec): float8[] {count, sum_1 .. sum_dim} (see
 * vector.c).  type ("vector", "halfvec") names the aggregate in errors.
 */
/* the largest row count a float8 holds exactly (2^53 - 1) */
#define AVG_COUNT_MAX	9007199254740991.0

typedef struct AvgState
{
	double		count;			/* rows: a whole number, 0 .. AVG_COUNT_MAX */
	int			dim;			/* number of sums, 0 .. VECTOR_MAX_DIM */
	const float8 *sum;			/* dim finite sums; all 0 when count is 0 */
} AvgState;

/* ereport unless a is a valid state (see vector.c); describe it in *st. */
extern void VsAvgStateRead(ArrayType *a, const char *type, AvgState *st);

/* A new state of count rows and dim sums, to be filled at VsAvgStateSums(). */
extern ArrayType *VsAvgStateNew(double count, int dim);

#define VsAvgStateSums(r)	((float8 *) ARR_DATA_PTR(r) + 1)

/* ereport (22003) when count exceeds AVG_COUNT_MAX. */
extern void VsAvgCheckCount(double count, const char *type);

/* The state of both row sets; ereport for different dimensions or an overflow. */
extern ArrayType *VsAvgStateCombine(ArrayType *a, ArrayType *b, const char *type);

/* True when all n doubles are finite (vectorized, as VectorIsFinite). */
extern bool VsDoublesAreFinite(const double *x, int n);

/*
 * The planner support of a distance function (SupportRequestCost) whose arguments hold
 * elem_bytes bytes per dimension; NULL for another request (vector.c).
 */
extern Node *VsDistanceSupport(Node *rawreq, int elem_bytes);

/*
 * Note for SQL functions that need the vector type's OID (the extension is
 * relocatable): derive it from an argument, e.g. get_fn_expr_argtype() of a
 * vector or vector[] argument, never by name.
 */

#endif							/* VECSEARCH_VECTOR_H */
