/*
 * vector.c: the vector type (text and binary I/O, typmod, casts), its operators,
 * functions and aggregates.  The SQL surface follows pgvector 0.8 so that clients and
 * ORMs work unchanged; errors follow PostgreSQL's message style with the values.
 *
 * Distances go through the kernels in distance.c (vs_kernels), so the exact scan in SQL
 * and every index share one implementation.  See src/README, section "Vector values".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/detoast.h"
#include "access/heaptoast.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "distance.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "metric.h"
#include "vector.h"

/* ------------------------------------------------------------------------
 * Helpers shared by the whole extension
 * ------------------------------------------------------------------------
 */

Vector *
InitVector(int dim)
{
	Size		size;
	Vector	   *v;

	CheckVectorDim(dim);		/* before the int16 store: 65,536 would wrap
								 * to 0 */
	size = VECTOR_SIZE(dim);
	v = (Vector *) palloc0(size);
	SET_VARSIZE(v, size);
	v->dim = (int16) dim;
	return v;
}

void
CheckVectorDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions, not %d",
						VECTOR_MAX_DIM, dim)));
}

/*
 * ReportInvalidVector: the error of a reader given a vector whose layout is impossible
 * (CheckVectorLayout in vector.h).  dim is -1 when the value is too short to hold one.
 * Always 22000 data_exception: the value exists, it is not an argument out of range.
 */
void
ReportInvalidVector(int dim, Size datasize)
{
	if (dim < 0 && datasize < offsetof(Vector, x) - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid vector of %zu bytes", datasize),
				 errdetail("A vector has a 4-byte header (dimensions and an unused field) and 4 bytes per dimension.")));
	if (dim < 1 || dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid vector with %d dimensions", dim),
				 errdetail("A vector has 1 to %d dimensions.", VECTOR_MAX_DIM),
				 errhint("Such values were stored by builds whose vector_avg did not check its input. "
						 "Find them with vector_dims(column) NOT BETWEEN 1 AND %d, and delete or replace them.",
						 VECTOR_MAX_DIM)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("invalid vector: %d dimensions in %zu bytes", dim, datasize),
			 errdetail("A vector of %d dimensions has %zu bytes after its length word.",
					   dim, VECTOR_SIZE(dim) - VARHDRSZ),
			 errhint("Such values were stored by builds whose vector_avg did not check its input; delete or replace them.")));
}

void
CheckVectorDimsMatch(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

/* ereport unless x is finite: NaN and infinity are never stored in a vector. */
static inline void
check_element(float x)
{
	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));
	if (isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/* The error of CheckVectorFinite for element i (0-based) of x. */
static void
report_non_finite(const float *x, int i, const char *what)
{
	bool		nan = isnan(x[i]);

	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 nan ? errmsg("NaN not allowed in vector") :
			 errmsg("infinite value not allowed in vector"),
			 what ? errdetail("Element %d of %s is %s.", i + 1, what, nan ? "NaN" : "infinite") :
			 errdetail("Element %d is %s.", i + 1, nan ? "NaN" : "infinite")));
}

/*
 * A float is NaN or infinite exactly when its exponent bits are all ones.  The test runs
 * on 16-byte vectors of the bits (GCC vector extensions: SSE2 on x86-64, NEON on arm64,
 * no target flags), 16 floats per iteration, and keeps no branch in the loop: the plain
 * loop is not vectorized at -O2 and cost a quarter of an exact scan of 784-dimension rows.
 */
typedef uint32 VecU4 __attribute__((vector_size(16)));
typedef int32 VecI4 __attribute__((vector_size(16)));

bool
VectorIsFinite(const float *x, int dim)
{
	const VecU4 expo = {0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000};
	VecI4		bad = {0, 0, 0, 0};
	uint32		tail = 0;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		VecU4		a,
					b,
					c,
					d;

		memcpy(&a, x + i, sizeof(a));
		memcpy(&b, x + i + 4, sizeof(b));
		memcpy(&c, x + i + 8, sizeof(c));
		memcpy(&d, x + i + 12, sizeof(d));
		bad |= ((a & expo) == expo) | ((b & expo) == expo) |
			((c & expo) == expo) | ((d & expo) == expo);
	}
	for (; i < dim; i++)
	{
		uint32		u;

		memcpy(&u, x + i, sizeof(u));
		tail |= (uint32) ((u & 0x7f800000) == 0x7f800000);
	}
	return (bad[0] | bad[1] | bad[2] | bad[3] | (int32) tail) == 0;
}

/* The same for n doubles (the sums of an avg(vector) state). */
typedef uint64 VecU2 __attribute__((vector_size(16)));
typedef int64 VecI2 __attribute__((vector_size(16)));

bool
VsDoublesAreFinite(const double *x, int n)
{
	const VecU2 expo = {UINT64CONST(0x7ff0000000000000), UINT64CONST(0x7ff0000000000000)};
	VecI2		bad = {0, 0};
	uint64		tail = 0;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		VecU2		a,
					b,
					c,
					d;

		memcpy(&a, x + i, sizeof(a));
		memcpy(&b, x + i + 2, sizeof(b));
		memcpy(&c, x + i + 4, sizeof(c));
		memcpy(&d, x + i + 6, sizeof(d));
		bad |= ((a & expo) == expo) | ((b & expo) == expo) |
			((c & expo) == expo) | ((d & expo) == expo);
	}
	for (; i < n; i++)
	{
		uint64		u;

		memcpy(&u, x + i, sizeof(u));
		tail |= (uint64) ((u & UINT64CONST(0x7ff0000000000000)) == UINT64CONST(0x7ff0000000000000));
	}
	return (bad[0] | bad[1] | (int64) tail) == 0;
}

void
CheckVectorFinite(const float *x, int dim, const char *what)
{
	if (likely(VectorIsFinite(x, dim)))
		return;
	for (int i = 0; i < dim; i++)
		if (!isfinite(x[i]))
			report_non_finite(x, i, what);
}

/* The row a DatumGetRowVector error is about. */
typedef struct RowVectorContext
{
	Relation	rel;
	ItemPointer tid;
} RowVectorContext;

static void
row_vector_context(void *arg)
{
	RowVectorContext *c = (RowVectorContext *) arg;

	errcontext("vector of row (%u,%u) of relation \"%s\"",
			   ItemPointerGetBlockNumberNoCheck(c->tid),
			   ItemPointerGetOffsetNumberNoCheck(c->tid),
			   RelationGetRelationName(c->rel));
}

Vector *
DatumGetRowVector(Datum d, Relation rel, ItemPointer tid, bool finite)
{
	RowVectorContext c = {rel, tid};
	ErrorContextCallback cb;
	Vector	   *v;

	cb.callback = row_vector_context;
	cb.arg = &c;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	v = DatumGetVector(d);
	if (finite)
		CheckVectorFinite(v->x, v->dim, NULL);
	error_context_stack = cb.previous;
	return v;
}

/* ereport unless the vector's dimensions agree with the column's typmod (-1: any). */
static void
check_expected_dim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* An arithmetic result that overflowed (float4, or a float8 sum) is an error, never an infinity. */
static inline void
check_overflow(double x)
{
	if (isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow")));
}


/*
 * GetVectorArgCached: the vector in argument argno, detoasted, for functions called once
 * per row with one argument that usually stays the same (the query vector of a scan).
 *
 * A compressed or out-of-line argument would otherwise be decompressed or fetched again
 * on every call, which costs more than the distance itself.  fn_extra keeps, per argument,
 * the raw bytes last seen (compressed data or the TOAST pointer: the same raw bytes mean
 * the same value) and, once the same raw value has been seen twice in a row, its
 * detoasted copy.  Arguments that change on every call (the column) only pay a memcmp and
 * a copy of the raw bytes.  Plain and short inline values are returned as before.
 */
typedef struct VectorArgCache
{
	struct varlena *raw[2];		/* raw bytes last seen, in fn_mcxt */
	Vector	   *vec[2];			/* detoasted copy of raw, or NULL */
} VectorArgCache;

Vector *
GetVectorArgCached(FunctionCallInfo fcinfo, int argno)
{
	Datum		d = PG_GETARG_DATUM(argno);
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	VectorArgCache *cache;
	Size		rawsize;
	MemoryContext old;

	if (argno > 1 || fcinfo->flinfo == NULL ||
		!(VARATT_IS_COMPRESSED(raw) || VARATT_IS_EXTERNAL_ONDISK(raw)))
		return DatumGetVector(d);

	cache = (VectorArgCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VectorArgCache));
		fcinfo->flinfo->fn_extra = cache;
	}

	rawsize = VARSIZE_ANY(raw);
	if (cache->raw[argno] != NULL && VARSIZE_ANY(cache->raw[argno]) == rawsize &&
		memcmp(cache->raw[argno], raw, rawsize) == 0)
	{
		if (cache->vec[argno] == NULL)
		{
			old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
			cache->vec[argno] = (Vector *) detoast_attr(raw);
			MemoryContextSwitchTo(old);
			(void) CheckVectorLayout(VARDATA(cache->vec[argno]),
									 VARSIZE(cache->vec[argno]) - VARHDRSZ);
		}
		return cache->vec[argno];
	}

	/* a new value: remember its raw bytes, detoast it in the caller's context */
	if (cache->raw[argno] != NULL)
		pfree(cache->raw[argno]);
	if (cache->vec[argno] != NULL)
		pfree(cache->vec[argno]);
	cache->vec[argno] = NULL;
	cache->raw[argno] = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, rawsize);
	memcpy(cache->raw[argno], raw, rawsize);
	return DatumGetVector(d);
}

/* ------------------------------------------------------------------------
 * Text I/O
 * ------------------------------------------------------------------------
 */

static inline bool
vector_isspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* ereport for malformed text, quoting the whole input as PostgreSQL's own types do. */
static void
malformed_vector(const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vector: \"%s\"", lit),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *pt = lit;
	int			dim = 0;
	int			cap = 16;
	float	   *x = palloc(sizeof(float) * cap);
	Vector	   *result;

	while (vector_isspace(*pt))
		pt++;
	if (*pt != '[')
		malformed_vector(lit, "Vector contents must start with \"[\".");
	pt++;
	while (vector_isspace(*pt))
		pt++;
	if (*pt == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	for (;;)
	{
		char	   *end;
		float		val;

		while (vector_isspace(*pt))
			pt++;
		if (*pt == '\0')
			malformed_vector(lit, "Unexpected end of input.");
		if (*pt == ',' || *pt == ']')
			malformed_vector(lit, "Expected a number before a separator.");

		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			malformed_vector(lit, "Vector elements must be numbers.");
		if (errno == ERANGE && isinf(val))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%.*s%s\" is out of range for type vector",
							(int) Min(end - pt, 40), pt, end - pt > 40 ? "..." : "")));
		check_element(val);

		if (dim == VECTOR_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector cannot have more than %d dimensions",
							VECTOR_MAX_DIM)));
		if (dim == cap)
		{
			cap *= 2;
			x = repalloc(x, sizeof(float) * cap);
		}
		x[dim++] = val;

		pt = end;
		while (vector_isspace(*pt))
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
			malformed_vector(lit, "Unexpected end of input.");
		malformed_vector(lit, "Vector elements must be separated by \",\".");
	}

	while (vector_isspace(*pt))
		pt++;
	if (*pt != '\0')
		malformed_vector(lit, "Junk after closing right bracket.");

	check_expected_dim(typmod, dim);
	result = InitVector(dim);
	memcpy(result->x, x, sizeof(float) * dim);
	pfree(x);
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	/*
	 * Each element takes at most FLOAT_SHORTEST_DECIMAL_LEN - 1 chars plus a
	 * comma.
	 */
	initStringInfo(&buf);
	enlargeStringInfo(&buf, (int) (v->dim * FLOAT_SHORTEST_DECIMAL_LEN + 2));
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		buf.len += float_to_shortest_decimal_bufn(v->x[i], buf.data + buf.len);
	}
	appendStringInfoChar(&buf, ']');
	buf.data[buf.len] = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for vector: expected 1 value, not %d", n)));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector must be at least 1, not %d", tl[0])));
	if (tl[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d, not %d",
						VECTOR_MAX_DIM, tl[0])));
	PG_RETURN_INT32(tl[0]);
}

/* ------------------------------------------------------------------------
 * Binary I/O: uint16 dim, uint16 unused, dim x float4, network byte order
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim;
	int			unused;
	Vector	   *result;

	if (buf->len - buf->cursor < 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary vector: expected a 4-byte header, got %d bytes",
						buf->len - buf->cursor)));
	dim = pq_getmsgint(buf, sizeof(uint16));
	unused = pq_getmsgint(buf, sizeof(uint16));
	CheckVectorDim(dim);
	check_expected_dim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("expected unused to be 0, not %d", unused)));
	if ((Size) (buf->len - buf->cursor) != sizeof(float) * (Size) dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary vector: %d dimensions need %d bytes of data, got %d",
						dim, (int) (sizeof(float) * dim), buf->len - buf->cursor)));

	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		check_element(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint(&buf, v->dim, sizeof(uint16));
	pq_sendint(&buf, v->unused, sizeof(uint16));
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * Casts
 * ------------------------------------------------------------------------
 */

/* vector(vector, typmod, explicit): enforce the target column's dimensions. */
PG_FUNCTION_INFO_V1(vector);
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_VECTOR_P(v);
}

PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
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
	Vector	   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D, not %d-D", ARR_NDIM(array))));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	CheckVectorDim(n);
	check_expected_dim(typmod, n);

	result = InitVector(n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls"),
					 errdetail("Element %d is null.", i + 1)));
		switch (elemtype)
		{
			case INT4OID:
				result->x[i] = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT8OID:
				{
					double		d = DatumGetFloat8(elems[i]);

					if (!isnan(d) && !isinf(d) && (d > FLT_MAX || d < -FLT_MAX))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value %g is out of range for type vector", d)));
					result->x[i] = (float) d;
				}
				break;
			case FLOAT4OID:
				result->x[i] = DatumGetFloat4(elems[i]);
				break;
			case NUMERICOID:
				/* numeric -> float4 raises its own out-of-range error */
				result->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("unsupported array element type %s",
								format_type_be(elemtype))));
		}
		check_element(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Datum	   *d = palloc(sizeof(Datum) * v->dim);

	for (int i = 0; i < v->dim; i++)
		d[i] = Float4GetDatum(v->x[i]);
	PG_RETURN_POINTER(construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

/* ------------------------------------------------------------------------
 * Distances (the operators are VsMetricDistance, metric.h)
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(l2_distance);
Datum
l2_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8(VsMetricDistance(VS_METRIC_L2, a->x, b->x, a->dim));
}

/* Squared L2 distance: what the l2 opclass uses internally (cheaper, same order). */
PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8((double) vs_kernels.l2sq(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(inner_product);
Datum
inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8((double) vs_kernels.dot(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_negative_inner_product);
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8(VsMetricDistance(VS_METRIC_IP, a->x, b->x, a->dim));
}

/*
 * cosine_distance: 1 - cos(a, b), clamped to [0, 2].  NaN when either vector is zero
 * (the angle is undefined), as pgvector returns.
 */
PG_FUNCTION_INFO_V1(cosine_distance);
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8(VsMetricDistance(VS_METRIC_COSINE, a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(l1_distance);
Datum
l1_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = GetVectorArgCached(fcinfo, 0);
	Vector	   *b = GetVectorArgCached(fcinfo, 1);

	CheckVectorDimsMatch(a, b);
	PG_RETURN_FLOAT8(VsMetricDistance(VS_METRIC_L1, a->x, b->x, a->dim));
}

/* ------------------------------------------------------------------------
 * Planner support: the cost of a distance call
 * ------------------------------------------------------------------------
 */

/*
 * The dimensions of a vector or halfvec argument as the planner sees it: the typmod of
 * a column or cast, or the length of a constant; 0 when unknown.  *is_column is set for
 * an argument evaluated afresh for every row (anything but a constant or parameter).
 * Both types keep their dimensions at the same place (an int16 after the length word).
 */
static int
distance_arg_dims(Node *arg, bool *is_column)
{
	int32		typmod = exprTypmod(arg);

	*is_column = !(IsA(arg, Const) || IsA(arg, Param));
	if (typmod > 0)
		return typmod;
	if (IsA(arg, Const) && !((Const *) arg)->constisnull)
	{
		struct varlena *v = PG_DETOAST_DATUM(((Const *) arg)->constvalue);
		int16		dim;

		if (VARSIZE(v) < offsetof(Vector, x))
			return 0;
		memcpy(&dim, VARDATA(v), sizeof(int16));
		return dim > 0 ? dim : 0;
	}
	return 0;
}

/*
 * VsDistanceSupport: the SupportRequestCost answer of a distance function whose
 * arguments hold elem_bytes bytes per dimension (4 for vector, 2 for halfvec), or NULL
 * for another request.  A distance costs about one simple operator per 64 dimensions
 * (the kernels' throughput; with the default cost of one operator the planner keeps
 * large exact scans serial), and a column whose values cannot be inline (rows over a
 * page: more than about 2,000 dimensions of vector, 4,000 of halfvec) also pays a
 * TOAST fetch per row: its chunk pages and chunk tuples.  Without that, a table of
 * large out-of-line vectors looks nearly free to scan (its heap is tiny) and the
 * planner prefers a sort of the whole table to an index scan.
 */
Node *
VsDistanceSupport(Node *rawreq, int elem_bytes)
{
	SupportRequestCost *req;
	List	   *args;
	ListCell   *lc;
	int			dims = 0;
	double		toast = 0;

	if (!IsA(rawreq, SupportRequestCost))
		return NULL;
	req = (SupportRequestCost *) rawreq;
	if (req->node == NULL)
		return NULL;
	if (IsA(req->node, OpExpr))
		args = ((OpExpr *) req->node)->args;
	else if (IsA(req->node, FuncExpr))
		args = ((FuncExpr *) req->node)->args;
	else
		return NULL;

	foreach(lc, args)
	{
		bool		is_column;
		int			d = distance_arg_dims((Node *) lfirst(lc), &is_column);
		double		bytes = (double) offsetof(Vector, x) + (double) elem_bytes * d;

		dims = Max(dims, d);
		if (is_column && bytes > TOAST_TUPLE_TARGET_MAIN)
		{
			double		chunks = ceil(bytes / TOAST_MAX_CHUNK_SIZE);
			double		pages = ceil(chunks / EXTERN_TUPLES_PER_PAGE);

			toast += pages * seq_page_cost + chunks * (cpu_tuple_cost + cpu_index_tuple_cost);
		}
	}
	if (dims == 0)
		return NULL;			/* unknown: the function's COST applies */

	req->startup = 0;
	req->per_tuple = cpu_operator_cost * Max(1.0, dims / 64.0) + toast;
	return (Node *) req;
}

/* vector_distance_support: VsDistanceSupport for the vector distance functions. */
PG_FUNCTION_INFO_V1(vector_distance_support);
Datum
vector_distance_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(VsDistanceSupport((Node *) PG_GETARG_POINTER(0), sizeof(float)));
}

/* ------------------------------------------------------------------------
 * Other functions
 * ------------------------------------------------------------------------
 */

/*
 * vector_dims: the dimensions in the value's header.  The only reader without
 * DatumGetVector's layout check, so that values with impossible dimensions (stored by
 * builds whose vector_avg did not check its input) can be found and removed:
 * WHERE vector_dims(col) NOT BETWEEN 1 AND 16000.
 */
PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	int16		dim;

	if (VARSIZE_ANY_EXHDR(v) < offsetof(Vector, x) - VARHDRSZ)
		ReportInvalidVector(-1, VARSIZE_ANY_EXHDR(v));
	memcpy(&dim, VARDATA_ANY(v), sizeof(int16));
	PG_RETURN_INT32(dim);
}

PG_FUNCTION_INFO_V1(vector_norm);
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	double		norm = 0.0;

	for (int i = 0; i < v->dim; i++)
		norm += (double) v->x[i] * (double) v->x[i];
	PG_RETURN_FLOAT8(sqrt(norm));
}

/* l2_normalize: the unit vector in v's direction; a zero vector stays zero. */
PG_FUNCTION_INFO_V1(l2_normalize);
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Vector	   *result = InitVector(v->dim);
	double		norm = 0.0;

	for (int i = 0; i < v->dim; i++)
		norm += (double) v->x[i] * (double) v->x[i];
	norm = sqrt(norm);
	if (!isfinite(norm))
		CheckVectorFinite(v->x, v->dim, NULL);	/* a NaN or infinite element */
	if (norm > 0)
	{
		for (int i = 0; i < v->dim; i++)
			result->x[i] = (float) (v->x[i] / norm);
		/* dividing by a denormal norm can overflow */
		for (int i = 0; i < v->dim; i++)
			check_overflow(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

/*
 * subvector(v, start, count): elements start .. start + count - 1 (1-based), clipped to
 * the vector as pgvector does; an empty result is an error.
 */
PG_FUNCTION_INFO_V1(subvector);
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	int32		end;
	Vector	   *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("subvector count is %d.", count)));
	/* start + count may overflow int32: clip at the largest value */
	if (pg_add_s32_overflow(start, count, &end))
		end = PG_INT32_MAX;
	if (start < 1)
		start = 1;
	if (end > v->dim + 1)
		end = v->dim + 1;
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("subvector start %d is past the last dimension %d.",
						   PG_GETARG_INT32(1), v->dim)));

	result = InitVector(end - start);
	memcpy(result->x, v->x + (start - 1), sizeof(float) * (end - start));
	CheckVectorFinite(result->x, result->dim, NULL);
	PG_RETURN_VECTOR_P(result);
}

/* ------------------------------------------------------------------------
 * Elementwise arithmetic and concatenation
 * ------------------------------------------------------------------------
 */

typedef enum
{
	VEC_ADD,
	VEC_SUB,
	VEC_MUL
} VectorArith;

static Vector *
vector_arith(Vector *a, Vector *b, VectorArith op)
{
	Vector	   *r;

	CheckVectorDimsMatch(a, b);
	r = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		switch (op)
		{
			case VEC_ADD:
				r->x[i] = a->x[i] + b->x[i];
				break;
			case VEC_SUB:
				r->x[i] = a->x[i] - b->x[i];
				break;
			case VEC_MUL:
				r->x[i] = a->x[i] * b->x[i];
				break;
		}
	}

	/*
	 * Finite operands give finite results or infinities (overflow), never
	 * NaN.  A non-finite result is an overflow unless an operand read from
	 * storage held NaN or infinity (see vector.h), which is reported as such.
	 */
	if (unlikely(!VectorIsFinite(r->x, r->dim)))
	{
		CheckVectorFinite(a->x, a->dim, NULL);
		CheckVectorFinite(b->x, b->dim, NULL);
		for (int i = 0; i < r->dim; i++)
			check_overflow(r->x[i]);
	}

	/*
	 * a product of nonzero values that underflows to 0 is a silent wrong
	 * answer
	 */
	if (op == VEC_MUL)
		for (int i = 0; i < r->dim; i++)
			if (r->x[i] == 0 && a->x[i] != 0 && b->x[i] != 0)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("value out of range: underflow")));
	return r;
}

PG_FUNCTION_INFO_V1(vector_add);
Datum
vector_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(vector_arith(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), VEC_ADD));
}

PG_FUNCTION_INFO_V1(vector_sub);
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(vector_arith(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), VEC_SUB));
}

PG_FUNCTION_INFO_V1(vector_mul);
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(vector_arith(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), VEC_MUL));
}

PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			dim = a->dim + b->dim;
	Vector	   *r;

	CheckVectorDim(dim);
	r = InitVector(dim);
	memcpy(r->x, a->x, sizeof(float) * a->dim);
	memcpy(r->x + a->dim, b->x, sizeof(float) * b->dim);
	CheckVectorFinite(r->x, r->dim, NULL);
	PG_RETURN_VECTOR_P(r);
}

/* ------------------------------------------------------------------------
 * Comparison (btree): elementwise, then by dimensions
 * ------------------------------------------------------------------------
 */

static int
vector_cmp_internal(const Vector *a, const Vector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define VECTOR_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = vector_cmp_internal(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)); \
	PG_RETURN_BOOL(expr); \
}

VECTOR_CMP_FN(vector_lt, c < 0)
VECTOR_CMP_FN(vector_le, c <= 0)
VECTOR_CMP_FN(vector_eq, c == 0)
VECTOR_CMP_FN(vector_ne, c != 0)
VECTOR_CMP_FN(vector_ge, c >= 0)
VECTOR_CMP_FN(vector_gt, c > 0)

PG_FUNCTION_INFO_V1(vector_cmp);
Datum
vector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(vector_cmp_internal(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

/* ------------------------------------------------------------------------
 * Aggregates: avg(vector) keeps float8[] {count, sum_1 .. sum_dim}; sum(vector) uses
 * vector_add as transition and combine function.
 *
 * The state functions can be called directly, and a user's aggregate can give them any
 * INITCOND, so a state is input like any other: VsAvgStateRead checks all of it before
 * it is used, and a final vector passes InitVector and the float4 range check.
 * ------------------------------------------------------------------------
 */

#define AVG_STATE_FORMAT "The state of avg(%s) is a double precision array {count, sum_1, ..., sum_n}."

/*
 * VsAvgStateRead: check the state array a of avg(type) (type "vector" or "halfvec",
 * named in the errors) and describe it in *st.  Valid: one-dimensional, double
 * precision, no NULLs, 1 + dim elements with dim <= VECTOR_MAX_DIM; a whole row count,
 * then finite sums.  Count 0 means no rows yet (the initial '{0}', or a state sized for
 * dim dimensions like '{0,0,0}') and needs every sum 0; a positive count needs at least
 * one sum.  Errors use vector_in's SQLSTATEs and messages where they apply.
 */
void
VsAvgStateRead(ArrayType *a, const char *type, AvgState *st)
{
	int			n;
	const float8 *s;

	if (ARR_NDIM(a) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("avg(%s) state must not be empty", type),
				 errdetail(AVG_STATE_FORMAT, type)));
	if (ARR_NDIM(a) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("avg(%s) state must be a one-dimensional array, not %d-dimensional",
						type, ARR_NDIM(a)),
				 errdetail(AVG_STATE_FORMAT, type)));
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("avg(%s) state must be an array of double precision, not of %s",
						type, format_type_be(ARR_ELEMTYPE(a)))));
	n = ARR_DIMS(a)[0];
	if (ARR_HASNULL(a))
	{
		const bits8 *bitmap = ARR_NULLBITMAP(a);

		for (int i = 0; i < n; i++)
			if ((bitmap[i / 8] & (1 << (i % 8))) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("avg(%s) state must not contain nulls", type),
						 errdetail("Element %d is null.", i + 1)));
	}
	if (n - 1 > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d dimensions, not %d",
						type, VECTOR_MAX_DIM, n - 1),
				 errdetail("The avg(%s) state has %d elements: a row count and %d sums.",
						   type, n, n - 1)));

	s = (const float8 *) ARR_DATA_PTR(a);
	if (!(s[0] >= 0 && s[0] <= AVG_COUNT_MAX && s[0] == floor(s[0])))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid row count %.17g in avg(%s) state", s[0], type),
				 errdetail("The first element of the state counts the rows: a whole number from 0 to 2^53 - 1.")));

	/*
	 * the usual state (rows counted, finite sums) passes in one vectorized
	 * pass
	 */
	if (!(s[0] > 0 && VsDoublesAreFinite(s + 1, n - 1)))
	{
		for (int i = 1; i < n; i++)
		{
			if (isnan(s[i]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("NaN not allowed in %s", type),
						 errdetail("Sum %d of the avg(%s) state is NaN.", i, type)));
			if (isinf(s[i]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("infinite value not allowed in %s", type),
						 errdetail("Sum %d of the avg(%s) state is infinite.", i, type)));
			if (s[0] == 0 && s[i] != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("avg(%s) state counts 0 rows but has a nonzero sum", type),
						 errdetail("Sum %d is %g.", i, s[i])));
		}
	}
	if (s[0] > 0 && n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must have at least 1 dimension", type),
				 errdetail_plural("The avg(%s) state counts %.0f row but has no sums.",
								  "The avg(%s) state counts %.0f rows but has no sums.",
								  (unsigned long) s[0], type, s[0])));

	st->count = s[0];
	st->dim = n - 1;
	st->sum = s + 1;
}

/*
 * A new state {count, sum_1 .. sum_dim}, built in place (one allocation per row of the
 * aggregate): the caller fills the dim sums at VsAvgStateSums().
 */
ArrayType  *
VsAvgStateNew(double count, int dim)
{
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * (Size) (dim + 1);
	ArrayType  *r = (ArrayType *) palloc0(size);

	SET_VARSIZE(r, size);
	r->ndim = 1;
	r->dataoffset = 0;
	r->elemtype = FLOAT8OID;
	ARR_DIMS(r)[0] = dim + 1;
	ARR_LBOUND(r)[0] = 1;
	((float8 *) ARR_DATA_PTR(r))[0] = count;
	return r;
}

/* A row count past AVG_COUNT_MAX would no longer count. */
void
VsAvgCheckCount(double count, const char *type)
{
	if (count > AVG_COUNT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow"),
				 errdetail("avg(%s) counts at most 2^53 - 1 rows.", type)));
}

/* vector_accum(state, v): the state with v added; '{0}' takes v's dimensions. */
PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *v = PG_GETARG_VECTOR_P(1);
	AvgState	st;
	ArrayType  *r;
	float8	   *sums;

	VsAvgStateRead(state, "vector", &st);
	if (st.dim > 0 && st.dim != v->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", st.dim, v->dim)));
	VsAvgCheckCount(st.count + 1.0, "vector");
	r = VsAvgStateNew(st.count + 1.0, v->dim);
	sums = VsAvgStateSums(r);
	if (st.dim == 0)
		for (int i = 0; i < v->dim; i++)
			sums[i] = (double) v->x[i];
	else
		for (int i = 0; i < v->dim; i++)
			sums[i] = st.sum[i] + (double) v->x[i];

	/*
	 * finite sums of float4 values overflow in no realistic case; NaN comes
	 * from v only
	 */
	if (unlikely(!VsDoublesAreFinite(sums, v->dim)))
	{
		CheckVectorFinite(v->x, v->dim, NULL);	/* a NaN or infinity read from
												 * storage */
		for (int i = 0; i < v->dim; i++)
			check_overflow(sums[i]);
	}
	PG_RETURN_ARRAYTYPE_P(r);
}

/*
 * VsAvgStateCombine(a, b): the state of both row sets (vector_combine and
 * halfvec_combine).  A state with no rows is the identity, so combine('{0}', '{0}') is
 * '{0}': parallel workers that saw no rows hand in '{0}', and the leader's state starts
 * as '{0}'.
 */
ArrayType  *
VsAvgStateCombine(ArrayType *sa, ArrayType *sb, const char *type)
{
	AvgState	a,
				b;
	ArrayType  *r;
	float8	   *sums;

	VsAvgStateRead(sa, type, &a);
	VsAvgStateRead(sb, type, &b);
	if (a.count == 0)
		return sb;
	if (b.count == 0)
		return sa;
	if (a.dim != b.dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different %s dimensions %d and %d", type, a.dim, b.dim)));
	VsAvgCheckCount(a.count + b.count, type);
	r = VsAvgStateNew(a.count + b.count, a.dim);
	sums = VsAvgStateSums(r);
	for (int i = 0; i < a.dim; i++)
	{
		sums[i] = a.sum[i] + b.sum[i];
		check_overflow(sums[i]);
	}
	return r;
}

PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(VsAvgStateCombine(PG_GETARG_ARRAYTYPE_P(0),
											PG_GETARG_ARRAYTYPE_P(1), "vector"));
}

/* vector_avg(state): the mean vector, NULL for no rows. */
PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	AvgState	st;
	Vector	   *r;

	VsAvgStateRead(state, "vector", &st);
	if (st.count == 0)
		PG_RETURN_NULL();
	r = InitVector(st.dim);
	for (int i = 0; i < st.dim; i++)
	{
		r->x[i] = (float) (st.sum[i] / st.count);
		check_overflow(r->x[i]);
	}
	PG_RETURN_VECTOR_P(r);
}
