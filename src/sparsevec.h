/*
 * sparsevec.h: the sparsevec type's in-memory (and on-disk) layout and readers.
 *
 * The varlena layout is: 4-byte header, int32 dim, int32 nnz, int32 unused (always 0),
 * then nnz int32 indices (0-based, strictly ascending, each < dim) and nnz float4
 * values (finite, nonzero).  The binary send/recv format is pgvector's: int32 dim,
 * int32 nnz, int32 unused, the indices, then the values, in network byte order.  See
 * src/README, section "Sparse vectors".
 */
#ifndef VECSEARCH_SPARSEVEC_H
#define VECSEARCH_SPARSEVEC_H

#include "postgres.h"
#include "fmgr.h"

#define SPARSEVEC_MAX_DIM 1000000000
#define SPARSEVEC_MAX_NNZ 16000

typedef struct SparseVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		dim;			/* number of dimensions, 1..SPARSEVEC_MAX_DIM */
	int32		nnz;			/* elements, at most dim and MAX_NNZ */
	int32		unused;			/* reserved, always 0 */
	/* nnz indices, then nnz float4 values */
	int32		indices[FLEXIBLE_ARRAY_MEMBER];
} SparseVector;

/* The size of a sparsevec of nnz elements (nnz <= SPARSEVEC_MAX_NNZ: no overflow). */
#define SPARSEVEC_SIZE(_nnz) \
	(offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * (Size) (_nnz))

/* The values array of x, after its indices. */
static inline float *
SparseVectorValues(const SparseVector *x)
{
	return (float *) ((char *) x->indices + sizeof(int32) * (Size) x->nnz);
}

/*
 * ereport (22000 data_exception, "invalid sparsevec ...") for a stored value whose
 * header does not match its size.
 */
extern void ReportInvalidSparseVector(const SparseVector *x) pg_attribute_noreturn();

/*
 * The sparsevec in d, detoasted, its header checked in O(1): 1..SPARSEVEC_MAX_DIM
 * dimensions, 0..Min(dim, SPARSEVEC_MAX_NNZ) elements, exactly the bytes those need.
 * Every value is made by a function that checks it whole (indices, values), so this
 * only guards code that trusts nnz against a damaged value.
 */
static inline SparseVector *
DatumGetSparseVector(Datum d)
{
	SparseVector *x = (SparseVector *) PG_DETOAST_DATUM(d);

	if (unlikely(VARSIZE(x) < offsetof(SparseVector, indices) ||
				 x->dim < 1 || x->dim > SPARSEVEC_MAX_DIM ||
				 x->nnz < 0 || x->nnz > SPARSEVEC_MAX_NNZ || x->nnz > x->dim ||
				 VARSIZE(x) != SPARSEVEC_SIZE(x->nnz)))
		ReportInvalidSparseVector(x);
	return x;
}

#define PG_GETARG_SPARSEVEC_P(n)	DatumGetSparseVector(PG_GETARG_DATUM(n))
#define PG_RETURN_SPARSEVEC_P(x)	PG_RETURN_POINTER(x)

#endif							/* VECSEARCH_SPARSEVEC_H */
