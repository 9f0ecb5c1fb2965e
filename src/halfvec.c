/*
 * halfvec.c: the halfvec type (half-precision vectors: text and binary I/O, typmod,
 * casts), its operators, functions and aggregates.  The SQL surface is pgvector's, so
 * schemas and dumps that use halfvec work unchanged; errors follow vector.c's.
 *
 * Values are IEEE 754 binary16 bits (halfdist.h converts); arithmetic is done in float
 * and rounded once to half, distances go through the kernels of halfdist.c.  See
 * src/README, section "halfvec".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/varbit.h"

#include "bitvec.h"
#include "halfdist.h"
#include "halfvec.h"
#include "vector.h"

/* ------------------------------------------------------------------------
 * Makers and checks
 * ------------------------------------------------------------------------
 */

void
CheckHalfVectorDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));
	if (dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("halfvec cannot have more than %d dimensions, not %d",
						HALFVEC_MAX_DIM, dim)));
}

HalfVector *
InitHalfVector(int dim)
{
	Size		size;
	HalfVector *v;

	CheckHalfVectorDim(dim);	/* before the int16 store */
	size = HALFVEC_SIZE(dim);
	v = (HalfVector *) palloc0(size);
	SET_VARSIZE(v, size);
	v->dim = (int16) dim;
	return v;
}

void
ReportInvalidHalfVector(int dim, Size datasize)
{
	if (dim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid halfvec of %zu bytes", datasize),
				 errdetail("A halfvec has a 4-byte header (dimensions and an unused field) and 2 bytes per dimension.")));
	if (dim < 1 || dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid halfvec with %d dimensions", dim),
				 errdetail("A halfvec has 1 to %d dimensions.", HALFVEC_MAX_DIM)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("invalid halfvec: %d dimensions in %zu bytes", dim, datasize),
			 errdetail("A halfvec of %d dimensions has %zu bytes after its length word.",
					   dim, HALFVEC_SIZE(dim) - VARHDRSZ)));
}

static void
check_dims_match(const HalfVector *a, const HalfVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d", a->dim, b->dim)));
}

/* ereport unless the dimensions agree with the typmod (-1: any). */
static void
check_expected_dim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* ereport unless the float f (element i, 0-based, or -1) may be stored in a halfvec. */
static void
check_float_for_half(float f, int i)
{
	if (isnan(f))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in halfvec"),
				 i >= 0 ? errdetail("Element %d is NaN.", i + 1) : 0));
	if (isinf(f))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in halfvec"),
				 i >= 0 ? errdetail("Element %d is infinite.", i + 1) : 0));
}

/*
 * The half nearest to the finite float f; ereport 22003 when it rounds to infinity
 * (|f| >= 65520), naming the value and, when i >= 0, the element.
 */
static uint16
float_to_half_checked(float f, int i)
{
	uint16		h = VsFloatToHalf(f);

	if (unlikely(VsHalfIsNonFinite(h)))
	{
		char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

		check_float_for_half(f, i);
		float_to_shortest_decimal_buf(f, buf);
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%s\" is out of range for type halfvec", buf),
				 i >= 0 ? errdetail("Element %d exceeds 65504, the largest halfvec value in magnitude.", i + 1) :
				 errdetail("The largest halfvec value in magnitude is 65504.")));
	}
	return h;
}

/*
 * The half nearest to the double d, rounded once: d goes to float by rounding to odd
 * (truncate, then set the last bit if anything was dropped), which keeps a value that
 * lies off a midpoint between halves off it, so the rounding to half sees what d
 * would give (float has 13 more significand bits than half; "round to odd" needs 2).
 * Plain (float) d could round a value just past a midpoint onto it, and the tie would
 * then go to even.  Out-of-range values come out infinite, as for VsFloatToHalf.
 */
static uint16
double_to_half(double d)
{
	float		f = (float) d;

	if ((double) f != d && isfinite(f))
	{
		uint32		bits;

		if (fabs((double) f) > fabs(d))
			f = nextafterf(f, 0.0f);
		memcpy(&bits, &f, sizeof(bits));
		bits |= 1;
		memcpy(&f, &bits, sizeof(f));
	}
	return VsFloatToHalf(f);
}

/* An arithmetic result that is not a finite half is an overflow, never an infinity. */
static inline void
check_result(uint16 h)
{
	if (unlikely(VsHalfIsNonFinite(h)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow")));
}

/*
 * ereport unless every element of v is a finite half: a value whose bits hold NaN or
 * infinity can only come from a build that did not check (or from raw bytes).
 */
static void
check_halves_finite(const HalfVector *v)
{
	for (int i = 0; i < v->dim; i++)
		if (VsHalfIsNonFinite(v->x[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 VsHalfIsNan(v->x[i]) ? errmsg("NaN not allowed in halfvec") :
					 errmsg("infinite value not allowed in halfvec"),
					 errdetail("Element %d is %s.", i + 1, VsHalfIsNan(v->x[i]) ? "NaN" : "infinite")));
}

/* The row a DatumGetRowHalfVectorAsVector error is about. */
typedef struct RowHalfContext
{
	Relation	rel;
	ItemPointer tid;
} RowHalfContext;

static void
row_half_context(void *arg)
{
	RowHalfContext *c = (RowHalfContext *) arg;

	errcontext("halfvec of row (%u,%u) of relation \"%s\"",
			   ItemPointerGetBlockNumberNoCheck(c->tid),
			   ItemPointerGetOffsetNumberNoCheck(c->tid),
			   RelationGetRelationName(c->rel));
}

Vector *
DatumGetRowHalfVectorAsVector(Datum d, Relation rel, ItemPointer tid)
{
	RowHalfContext c = {rel, tid};
	ErrorContextCallback cb;
	HalfVector *h;
	Vector	   *v;

	cb.callback = row_half_context;
	cb.arg = &c;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	h = DatumGetHalfVector(d);
	v = InitVector(h->dim);
	vs_half_kernels.to_float(h->x, v->x, h->dim);
	if (unlikely(!VectorIsFinite(v->x, v->dim)))
		check_halves_finite(h);
	error_context_stack = cb.previous;
	return v;
}

/* ------------------------------------------------------------------------
 * Text I/O: vector's format, "[1,2,3]"
 * ------------------------------------------------------------------------
 */

static inline bool
halfvec_isspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static void
malformed_halfvec(const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
			 errdetail("%s", detail)));
}

/* ereport 22003 for the element text pt..end that does not fit in a half. */
static void
out_of_range_text(const char *pt, const char *end)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("\"%.*s%s\" is out of range for type halfvec",
					(int) Min(end - pt, 40), pt, end - pt > 40 ? "..." : ""),
			 errdetail("The largest halfvec value in magnitude is 65504.")));
}

PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *pt = lit;
	int			dim = 0;
	int			cap = 16;
	uint16	   *x = palloc(sizeof(uint16) * cap);
	HalfVector *result;

	while (halfvec_isspace(*pt))
		pt++;
	if (*pt != '[')
		malformed_halfvec(lit, "Vector contents must start with \"[\".");
	pt++;
	while (halfvec_isspace(*pt))
		pt++;
	if (*pt == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	for (;;)
	{
		char	   *end;
		float		val;
		uint16		h;

		while (halfvec_isspace(*pt))
			pt++;
		if (*pt == '\0')
			malformed_halfvec(lit, "Unexpected end of input.");
		if (*pt == ',' || *pt == ']')
			malformed_halfvec(lit, "Expected a number before a separator.");

		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			malformed_halfvec(lit, "Vector elements must be numbers.");
		if (errno == ERANGE && isinf(val))
			out_of_range_text(pt, end);
		check_float_for_half(val, -1);
		h = VsFloatToHalf(val);
		if (VsHalfIsNonFinite(h))
			out_of_range_text(pt, end);

		if (dim == HALFVEC_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("halfvec cannot have more than %d dimensions",
							HALFVEC_MAX_DIM)));
		if (dim == cap)
		{
			cap *= 2;
			x = repalloc(x, sizeof(uint16) * cap);
		}
		x[dim++] = h;

		pt = end;
		while (halfvec_isspace(*pt))
			pt++;
		if (*pt == ',')
		{
			pt++;
			continue;
		}
		if (*pt == ']')
		{
			pt++;
			break;
		}
		if (*pt == '\0')
			malformed_halfvec(lit, "Unexpected end of input.");
		malformed_halfvec(lit, "Vector elements must be separated by \",\".");
	}

	while (halfvec_isspace(*pt))
		pt++;
	if (*pt != '\0')
		malformed_halfvec(lit, "Junk after closing right bracket.");

	check_expected_dim(typmod, dim);
	result = InitHalfVector(dim);
	memcpy(result->x, x, sizeof(uint16) * dim);
	pfree(x);
	PG_RETURN_HALFVEC_P(result);
}

/* Each element in the shortest text that reads back as the same float (and half). */
PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	initStringInfo(&buf);
	enlargeStringInfo(&buf, (int) (v->dim * FLOAT_SHORTEST_DECIMAL_LEN + 2));
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		buf.len += float_to_shortest_decimal_bufn(VsHalfToFloat(v->x[i]), buf.data + buf.len);
	}
	appendStringInfoChar(&buf, ']');
	buf.data[buf.len] = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for halfvec: expected 1 value, not %d", n)));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type halfvec must be at least 1, not %d", tl[0])));
	if (tl[0] > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type halfvec cannot exceed %d, not %d",
						HALFVEC_MAX_DIM, tl[0])));
	PG_RETURN_INT32(tl[0]);
}

/* ------------------------------------------------------------------------
 * Binary I/O: int16 dim, int16 unused, dim x binary16 bits, network byte order
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim;
	int			unused;
	HalfVector *result;

	if (buf->len - buf->cursor < 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary halfvec: expected a 4-byte header, got %d bytes",
						buf->len - buf->cursor)));
	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));
	CheckHalfVectorDim(dim);
	check_expected_dim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("expected unused to be 0, not %d", unused)));
	if ((Size) (buf->len - buf->cursor) != sizeof(uint16) * (Size) dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary halfvec: %d dimensions need %d bytes of data, got %d",
						dim, (int) (sizeof(uint16) * dim), buf->len - buf->cursor)));

	result = InitHalfVector(dim);
	for (int i = 0; i < dim; i++)
		result->x[i] = (uint16) pq_getmsgint(buf, sizeof(uint16));
	check_halves_finite(result);
	PG_RETURN_HALFVEC_P(result);
}

PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, (uint16) v->dim);
	pq_sendint16(&buf, (uint16) v->unused);
	for (int i = 0; i < v->dim; i++)
		pq_sendint16(&buf, v->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * Casts
 * ------------------------------------------------------------------------
 */

/* halfvec(halfvec, typmod, explicit): enforce the target column's dimensions. */
PG_FUNCTION_INFO_V1(halfvec);
Datum
halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);

	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_HALFVEC_P(v);
}

/* Exact: every half is a float. */
PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	Vector	   *result;

	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	result = InitVector(v->dim);
	vs_half_kernels.to_float(v->x, result->x, v->dim);
	if (unlikely(!VectorIsFinite(result->x, result->dim)))
		check_halves_finite(v);
	PG_RETURN_VECTOR_P(result);
}

/* Each element rounded to the nearest half (ties to even); 22003 beyond +-65504. */
PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	HalfVector *result;

	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	result = InitHalfVector(v->dim);
	CheckVectorFinite(v->x, v->dim, NULL);
	for (int i = 0; i < v->dim; i++)
		result->x[i] = float_to_half_checked(v->x[i], i);
	PG_RETURN_HALFVEC_P(result);
}

PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	HalfVector *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D, not %d-D", ARR_NDIM(array))));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	CheckHalfVectorDim(n);
	check_expected_dim(typmod, n);

	result = InitHalfVector(n);
	for (int i = 0; i < n; i++)
	{
		float		f;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls"),
					 errdetail("Element %d is null.", i + 1)));
		switch (elemtype)
		{
			case INT4OID:
				f = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT8OID:
				{
					double		d = DatumGetFloat8(elems[i]);

					/* rounded from double directly (once), not through float */
					if (isfinite(d) && fabs(d) >= 65520.0)
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value %g is out of range for type halfvec", d),
								 errdetail("Element %d exceeds 65504, the largest halfvec value in magnitude.", i + 1)));
					check_float_for_half((float) d, i);
					result->x[i] = double_to_half(d);
					check_result(result->x[i]);
					continue;	/* to the next element */
				}
			case FLOAT4OID:
				f = DatumGetFloat4(elems[i]);
				break;
			case NUMERICOID:
				/* numeric -> float4 raises its own out-of-range error */
				f = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("unsupported array element type %s",
								format_type_be(elemtype))));
		}
		check_float_for_half(f, i);
		result->x[i] = float_to_half_checked(f, i);
	}
	PG_RETURN_HALFVEC_P(result);
}

PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	Datum	   *d = palloc(sizeof(Datum) * v->dim);

	for (int i = 0; i < v->dim; i++)
		d[i] = Float4GetDatum(VsHalfToFloat(v->x[i]));
	PG_RETURN_POINTER(construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

/* ------------------------------------------------------------------------
 * Distances: the float kernels' definitions on the halves' values
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(halfvec_l2_distance);
Datum
halfvec_l2_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(sqrt((double) vs_half_kernels.l2sq(a->x, b->x, a->dim)));
}

PG_FUNCTION_INFO_V1(halfvec_l2_squared_distance);
Datum
halfvec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vs_half_kernels.l2sq(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_inner_product);
Datum
halfvec_inner_product(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vs_half_kernels.dot(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_negative_inner_product);
Datum
halfvec_negative_inner_product(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(-(double) vs_half_kernels.dot(a->x, b->x, a->dim));
}

/* 1 - cos(a, b), clamped to [0, 2]; NaN when either vector is zero (as for vector). */
PG_FUNCTION_INFO_V1(halfvec_cosine_distance);
Datum
halfvec_cosine_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	float		ab,
				aa,
				bb;
	double		sim;

	check_dims_match(a, b);
	vs_half_kernels.cosparts(a->x, b->x, a->dim, &ab, &aa, &bb);
	sim = (double) ab / sqrt((double) aa * (double) bb);
	if (isnan(sim))
		PG_RETURN_FLOAT8((double) NAN);
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	PG_RETURN_FLOAT8(1.0 - sim);
}

PG_FUNCTION_INFO_V1(halfvec_l1_distance);
Datum
halfvec_l1_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8((double) vs_half_kernels.l1(a->x, b->x, a->dim));
}

/* halfvec_distance_support: vector_distance_support's cost at 2 bytes per dimension. */
PG_FUNCTION_INFO_V1(halfvec_distance_support);
Datum
halfvec_distance_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(VsDistanceSupport((Node *) PG_GETARG_POINTER(0), sizeof(uint16)));
}

/* ------------------------------------------------------------------------
 * Other functions
 * ------------------------------------------------------------------------
 */

/*
 * vector_dims(halfvec): the dimensions in the header, without DatumGetHalfVector's
 * layout check (as vector_dims), so that impossible values can be found.
 */
PG_FUNCTION_INFO_V1(halfvec_vector_dims);
Datum
halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	int16		dim;

	if (VARSIZE_ANY_EXHDR(v) < offsetof(HalfVector, x) - VARHDRSZ)
		ReportInvalidHalfVector(-1, VARSIZE_ANY_EXHDR(v));
	memcpy(&dim, VARDATA_ANY(v), sizeof(int16));
	PG_RETURN_INT32(dim);
}

static double
halfvec_norm(const HalfVector *v)
{
	double		norm = 0.0;

	for (int i = 0; i < v->dim; i++)
	{
		double		x = VsHalfToFloat(v->x[i]);

		norm += x * x;
	}
	return sqrt(norm);
}

PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(halfvec_norm(PG_GETARG_HALFVEC_P(0)));
}

/*
 * l2_normalize(halfvec): the unit vector in v's direction, each element rounded to a
 * half; a zero vector stays zero.
 */
PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	HalfVector *result = InitHalfVector(v->dim);
	double		norm = halfvec_norm(v);

	if (!isfinite(norm))
		check_halves_finite(v);
	if (norm > 0)
		for (int i = 0; i < v->dim; i++)
			result->x[i] = double_to_half(VsHalfToFloat(v->x[i]) / norm);
	PG_RETURN_HALFVEC_P(result);
}

/* binary_quantize(halfvec): bit i set when element i + 1 is positive. */
PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	VarBit	   *result = InitBitString(v->dim);
	bits8	   *r = VARBITS(result);

	/* positive: sign bit clear and some other bit set (+0 is not positive) */
	for (int i = 0; i < v->dim; i++)
		if ((v->x[i] & 0x8000) == 0 && v->x[i] != 0)
			r[i / 8] |= (bits8) (0x80 >> (i % 8));
	PG_RETURN_VARBIT_P(result);
}

/*
 * subvector(v, start, count): elements start .. start + count - 1 (1-based), clipped to
 * the vector as for vector; an empty result is an error.
 */
PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	int32		end;
	HalfVector *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension"),
				 errdetail("subvector count is %d.", count)));
	if (pg_add_s32_overflow(start, count, &end))
		end = PG_INT32_MAX;
	if (start < 1)
		start = 1;
	if (end > v->dim + 1)
		end = v->dim + 1;
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension"),
				 errdetail("subvector start %d is past the last dimension %d.",
						   PG_GETARG_INT32(1), v->dim)));

	result = InitHalfVector(end - start);
	memcpy(result->x, v->x + (start - 1), sizeof(uint16) * (end - start));
	PG_RETURN_HALFVEC_P(result);
}

/* ------------------------------------------------------------------------
 * Elementwise arithmetic and concatenation.  Each result is computed in float and
 * rounded once to half: a product of halves is exact in float, and a sum or difference
 * rounded to float and then to half equals the sum rounded to half directly (the
 * smaller operand's last bit lies above the float rounding position wherever the
 * result is near a half-way point), so every result is the correctly rounded one.
 * ------------------------------------------------------------------------
 */

typedef enum
{
	HALF_ADD,
	HALF_SUB,
	HALF_MUL
} HalfArith;

static HalfVector *
halfvec_arith(HalfVector *a, HalfVector *b, HalfArith op)
{
	HalfVector *r;

	check_dims_match(a, b);
	r = InitHalfVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		x = VsHalfToFloat(a->x[i]),
					y = VsHalfToFloat(b->x[i]),
					z;

		switch (op)
		{
			case HALF_ADD:
				z = x + y;
				break;
			case HALF_SUB:
				z = x - y;
				break;
			default:
				z = x * y;
				break;
		}
		r->x[i] = VsFloatToHalf(z);
		if (unlikely(VsHalfIsNonFinite(r->x[i])))
		{
			/* a stored NaN or infinity, or an overflow */
			check_halves_finite(a);
			check_halves_finite(b);
			check_result(r->x[i]);
		}
		/* a nonzero product rounded to 0 would be a silent wrong answer */
		if (op == HALF_MUL && (r->x[i] & 0x7fff) == 0 && x != 0 && y != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: underflow")));
	}
	return r;
}

PG_FUNCTION_INFO_V1(halfvec_add);
Datum
halfvec_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(halfvec_arith(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), HALF_ADD));
}

PG_FUNCTION_INFO_V1(halfvec_sub);
Datum
halfvec_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(halfvec_arith(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), HALF_SUB));
}

PG_FUNCTION_INFO_V1(halfvec_mul);
Datum
halfvec_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(halfvec_arith(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), HALF_MUL));
}

PG_FUNCTION_INFO_V1(halfvec_concat);
Datum
halfvec_concat(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *r = InitHalfVector(a->dim + b->dim);	/* checks the sum */

	memcpy(r->x, a->x, sizeof(uint16) * a->dim);
	memcpy(r->x + a->dim, b->x, sizeof(uint16) * b->dim);
	check_halves_finite(r);
	PG_RETURN_HALFVEC_P(r);
}

/* ------------------------------------------------------------------------
 * Comparison (btree): elementwise by value (-0 = +0), then by dimensions
 * ------------------------------------------------------------------------
 */

static int
halfvec_cmp_internal(const HalfVector *a, const HalfVector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		float		x = VsHalfToFloat(a->x[i]),
					y = VsHalfToFloat(b->x[i]);

		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define HALFVEC_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = halfvec_cmp_internal(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)); \
	PG_RETURN_BOOL(expr); \
}

HALFVEC_CMP_FN(halfvec_lt, c < 0)
HALFVEC_CMP_FN(halfvec_le, c <= 0)
HALFVEC_CMP_FN(halfvec_eq, c == 0)
HALFVEC_CMP_FN(halfvec_ne, c != 0)
HALFVEC_CMP_FN(halfvec_ge, c >= 0)
HALFVEC_CMP_FN(halfvec_gt, c > 0)

PG_FUNCTION_INFO_V1(halfvec_cmp);
Datum
halfvec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(halfvec_cmp_internal(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

/* ------------------------------------------------------------------------
 * Aggregates: avg(halfvec) keeps avg(vector)'s state, float8[] {count, sums}
 * (checked by VsAvgStateRead, vector.c); sum(halfvec) uses halfvec_add.
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	HalfVector *v = PG_GETARG_HALFVEC_P(1);
	AvgState	st;
	ArrayType  *r;
	float8	   *sums;

	VsAvgStateRead(state, "halfvec", &st);
	if (st.dim > 0 && st.dim != v->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d", st.dim, v->dim)));
	VsAvgCheckCount(st.count + 1.0, "halfvec");
	r = VsAvgStateNew(st.count + 1.0, v->dim);
	sums = VsAvgStateSums(r);
	for (int i = 0; i < v->dim; i++)
		sums[i] = (st.dim == 0 ? 0.0 : st.sum[i]) + (double) VsHalfToFloat(v->x[i]);
	/* finite halves give finite sums; NaN or infinity come from v only */
	if (unlikely(!VsDoublesAreFinite(sums, v->dim)))
		check_halves_finite(v);
	PG_RETURN_ARRAYTYPE_P(r);
}

PG_FUNCTION_INFO_V1(halfvec_combine);
Datum
halfvec_combine(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(VsAvgStateCombine(PG_GETARG_ARRAYTYPE_P(0),
											PG_GETARG_ARRAYTYPE_P(1), "halfvec"));
}

/* halfvec_avg(state): the mean, each element rounded to a half; NULL for no rows. */
PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	AvgState	st;
	HalfVector *r;

	VsAvgStateRead(state, "halfvec", &st);
	if (st.count == 0)
		PG_RETURN_NULL();
	r = InitHalfVector(st.dim);
	for (int i = 0; i < st.dim; i++)
	{
		double		mean = st.sum[i] / st.count;

		/* a state given by hand may hold sums beyond the half range */
		if (fabs(mean) >= 65520.0)
			check_result(0x7c00);
		r->x[i] = double_to_half(mean);
		check_result(r->x[i]);
	}
	PG_RETURN_HALFVEC_P(r);
}
