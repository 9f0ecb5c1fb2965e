/*
 * halfvec.h: the halfvec type's in-memory (and on-disk) layout and helpers.
 *
 * The varlena layout is vector's with 2-byte elements: 4-byte header, int16 dimensions,
 * int16 unused (always 0), then dim IEEE 754 binary16 values (their bits, uint16).  The
 * binary send/recv format is pgvector's: int16 dim, int16 unused, then dim values as
 * uint16 bits, in network byte order.  See src/README, section "halfvec".
 */
#ifndef VECSEARCH_HALFVEC_H
#define VECSEARCH_HALFVEC_H

#include "postgres.h"
#include "fmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#include "halfdist.h"

#define HALFVEC_MAX_DIM 16000

typedef struct HalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of dimensions, 1..HALFVEC_MAX_DIM */
	int16		unused;			/* reserved, always 0 */
	uint16		x[FLEXIBLE_ARRAY_MEMBER];	/* binary16 bits, finite */
} HalfVector;

#define HALFVEC_SIZE(_dim)		(offsetof(HalfVector, x) + sizeof(uint16) * (Size) (_dim))

/*
 * Validation follows vector.h's rules: InitHalfVector() is the only place a dimension
 * count is stored (it checks 1..HALFVEC_MAX_DIM first); every maker checks its values
 * (finite, within half range) before returning; every reader takes values with
 * DatumGetHalfVector() / PG_GETARG_HALFVEC_P(), which detoasts and checks the layout:
 * at least the header, 1..HALFVEC_MAX_DIM dimensions and exactly the bytes they need.
 */

/* ereport (22000 data_exception, "invalid halfvec ...") for a layout that failed. */
extern void ReportInvalidHalfVector(int dim, Size datasize) pg_attribute_noreturn();

/* The halfvec in d, detoasted (4-byte header, aligned), its layout checked. */
static inline HalfVector *
DatumGetHalfVector(Datum d)
{
	HalfVector *v = (HalfVector *) PG_DETOAST_DATUM(d);
	Size		datasize = VARSIZE(v) - VARHDRSZ;

	if (unlikely(datasize < offsetof(HalfVector, x) - VARHDRSZ))
		ReportInvalidHalfVector(-1, datasize);
	if (unlikely(v->dim < 1 || v->dim > HALFVEC_MAX_DIM ||
				 datasize != HALFVEC_SIZE(v->dim) - VARHDRSZ))
		ReportInvalidHalfVector(v->dim, datasize);
	return v;
}

#define PG_GETARG_HALFVEC_P(n)	DatumGetHalfVector(PG_GETARG_DATUM(n))
#define PG_RETURN_HALFVEC_P(v)	PG_RETURN_POINTER(v)

/*
 * Allocate a zeroed halfvec of dim dimensions.  ereport unless 1 <= dim <=
 * HALFVEC_MAX_DIM (22000 "halfvec must have at least 1 dimension", 54000 "halfvec
 * cannot have more than 16000 dimensions, not N"), before anything is stored.
 */
extern HalfVector *InitHalfVector(int dim);

/* ereport (as InitHalfVector) unless 1 <= dim <= HALFVEC_MAX_DIM. */
extern void CheckHalfVectorDim(int dim);

/*
 * The halfvec in d, the value of row tid of rel, as a new vector (exact): the readers
 * of the exact engine (knnsource.c).  Errors carry the row in their context, as
 * DatumGetRowVector's do.
 */
extern struct Vector *DatumGetRowHalfVectorAsVector(Datum d, Relation rel, ItemPointer tid);

/* Our type's input function, to recognise the type (the extension is relocatable). */
extern PGDLLEXPORT Datum halfvec_in(PG_FUNCTION_ARGS);

#endif							/* VECSEARCH_HALFVEC_H */
