/*
 * vector.h: the vector type's in-memory (and on-disk) layout and helpers.
 *
 * The varlena layout is: 4-byte header, int16 dimensions, int16 unused (always 0),
 * then dim float4 values.  The binary send/recv format is pgvector's: uint16 dim,
 * uint16 unused, dim float4, all in network byte order.
 */
#ifndef VECSEARCH_VECTOR_H
#define VECSEARCH_VECTOR_H

#include "postgres.h"
#include "fmgr.h"

#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of dimensions, 1..VECTOR_MAX_DIM */
	int16		unused;			/* reserved, always 0 */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(_dim)		(offsetof(Vector, x) + sizeof(float) * (Size) (_dim))
#define DatumGetVector(d)		((Vector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n)	DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v)	PG_RETURN_POINTER(v)

/*
 * The vector in argument argno (0 or 1), detoasted; a compressed or out-of-line argument
 * that repeats from call to call (a query vector) is detoasted once per query.
 */
extern Vector *GetVectorArgCached(FunctionCallInfo fcinfo, int argno);

/* Allocate a zeroed vector of dim dimensions (dim already validated). */
extern Vector *InitVector(int dim);

/* ereport unless 1 <= dim <= VECTOR_MAX_DIM. */
extern void CheckVectorDim(int dim);

/* ereport (22000 data_exception) unless a and b have the same dimensions. */
extern void CheckVectorDimsMatch(const Vector *a, const Vector *b);

/* ereport (22P02... see vector.c) unless every element is finite. */
extern void CheckVectorFinite(const float *x, int dim);

/*
 * Note for SQL functions that need the vector type's OID (the extension is
 * relocatable): derive it from an argument, e.g. get_fn_expr_argtype() of a
 * vector or vector[] argument, never by name.
 */

#endif							/* VECSEARCH_VECTOR_H */
