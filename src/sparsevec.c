/*
 * sparsevec.c: the sparsevec type (text and binary I/O, typmod, casts), its distance
 * operators and functions, and the btree comparison.  The SQL surface is pgvector's
 * (names, argument types, formats, SQLSTATEs), so pgvector dumps restore unchanged.
 *
 * A sparsevec keeps only its nonzero elements, as sorted index lists, and nothing in
 * this file allocates or loops by its dimensions: a value of 10^9 dimensions with three
 * elements costs three elements everywhere.  Distances merge the two index lists.  See
 * src/README, section "Sparse vectors".
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "sparsevec.h"
#include "vector.h"

/* ------------------------------------------------------------------------
 * Checks and makers
 * ------------------------------------------------------------------------
 */

void
ReportInvalidSparseVector(const SparseVector *x)
{
	if (VARSIZE(x) < offsetof(SparseVector, indices))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid sparsevec of %zu bytes", (Size) VARSIZE(x)),
				 errdetail("A sparsevec has a 16-byte header and 8 bytes per element.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("invalid sparsevec: %d dimensions, %d elements in %zu bytes",
					x->dim, x->nnz, (Size) VARSIZE(x)),
			 errdetail("A sparsevec has 1 to %d dimensions, at most %d elements and no more elements than dimensions, "
					   "in 16 bytes plus 8 per element.",
					   SPARSEVEC_MAX_DIM, SPARSEVEC_MAX_NNZ)));
}

/*
 * ereport unless 1 <= dim <= SPARSEVEC_MAX_DIM (pgvector's SQLSTATEs).  The message
 * names the dimensions as text: as written in a text input (where they may be beyond
 * int64), else NULL for dim's digits.
 */
static void
check_dim_text(int64 dim, const char *text, int textlen)
{
	char		digits[32];

	if (dim >= 1 && dim <= SPARSEVEC_MAX_DIM)
		return;
	if (text == NULL)
	{
		textlen = snprintf(digits, sizeof(digits), INT64_FORMAT, dim);
		text = digits;
	}
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec must have at least 1 dimension, not %.*s", textlen, text)));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("sparsevec cannot have more than %d dimensions, not %.*s",
					SPARSEVEC_MAX_DIM, textlen, text)));
}

static inline void
check_dim(int64 dim)
{
	check_dim_text(dim, NULL, 0);
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

/* ereport for the nnz + 1st element of a value limited to SPARSEVEC_MAX_NNZ. */
static void
report_too_many_elements(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("sparsevec cannot have more than %d non-zero elements", SPARSEVEC_MAX_NNZ),
			 errdetail("%s", detail)));
}

/* ereport unless x is finite: NaN and infinity are never stored in a sparsevec. */
static inline void
check_element(float x)
{
	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in sparsevec")));
	if (isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in sparsevec")));
}

/* ereport unless a and b have the same dimensions. */
static inline void
check_dims_match(const SparseVector *a, const SparseVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
}

/*
 * A zeroed sparsevec of dim dimensions with room for nnz elements.  The caller has
 * checked dim (check_dim) and 0 <= nnz <= Min(dim, SPARSEVEC_MAX_NNZ).
 */
static SparseVector *
init_sparsevec(int dim, int nnz)
{
	Size		size = SPARSEVEC_SIZE(nnz);
	SparseVector *x;

	Assert(dim >= 1 && dim <= SPARSEVEC_MAX_DIM);
	Assert(nnz >= 0 && nnz <= SPARSEVEC_MAX_NNZ && nnz <= dim);
	x = (SparseVector *) palloc0(size);
	SET_VARSIZE(x, size);
	x->dim = dim;
	x->nnz = nnz;
	return x;
}

/*
 * The elements collected by a maker before the value is built: 0-based indices and
 * values, in a buffer grown by doubling up to SPARSEVEC_MAX_NNZ.
 */
typedef struct SparseBuild
{
	int			n;
	int			cap;
	int64	   *index;
	float	   *value;
} SparseBuild;

static void
build_init(SparseBuild *b)
{
	b->n = 0;
	b->cap = 16;
	b->index = palloc(sizeof(int64) * b->cap);
	b->value = palloc(sizeof(float) * b->cap);
}

/* Append one element; ereport (too_many detail) past SPARSEVEC_MAX_NNZ. */
static void
build_add(SparseBuild *b, int64 index, float value, const char *too_many)
{
	if (b->n == SPARSEVEC_MAX_NNZ)
		report_too_many_elements(too_many);
	if (b->n == b->cap)
	{
		b->cap = Min(b->cap * 2, SPARSEVEC_MAX_NNZ);
		b->index = repalloc(b->index, sizeof(int64) * b->cap);
		b->value = repalloc(b->value, sizeof(float) * b->cap);
	}
	b->index[b->n] = index;
	b->value[b->n] = value;
	b->n++;
}

/*
 * The sparsevec of dim dimensions holding b's nonzero elements.  b's indices are
 * 0-based, strictly ascending and below dim (the caller checked them).
 */
static SparseVector *
build_finish(SparseBuild *b, int dim)
{
	int			nnz = 0;
	SparseVector *x;
	float	   *xv;

	for (int i = 0; i < b->n; i++)
		nnz += (b->value[i] != 0);
	x = init_sparsevec(dim, nnz);
	xv = SparseVectorValues(x);
	nnz = 0;
	for (int i = 0; i < b->n; i++)
	{
		if (b->value[i] == 0)
			continue;
		Assert(b->index[i] >= 0 && b->index[i] < dim);
		x->indices[nnz] = (int32) b->index[i];
		xv[nnz] = b->value[i];
		nnz++;
	}
	return x;
}

/* ------------------------------------------------------------------------
 * Text I/O: {index:value,...}/dim, indices 1-based
 * ------------------------------------------------------------------------
 */

static inline bool
sparsevec_isspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* ereport for malformed text, quoting the whole input as PostgreSQL's own types do. */
static void
malformed_sparsevec(const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
			 errdetail("%s", detail)));
}

/* One index:value pair of the text form, in input order. */
typedef struct TextElement
{
	int64		index;			/* as written: 1-based (clamped to int64) */
	float		value;
	int			pos;			/* the index's text: offset in the input */
	int			len;			/* and length */
} TextElement;

static int
compare_text_elements(const void *a, const void *b)
{
	int64		ia = ((const TextElement *) a)->index;
	int64		ib = ((const TextElement *) b)->index;

	return (ia > ib) - (ia < ib);
}

/* strtol into an int64, clamped (ERANGE) so that the checks after it still fail. */
static int64
parse_integer(const char *pt, char **end)
{
	long		l;

	errno = 0;
	l = strtol(pt, end, 10);
	if (errno == ERANGE)
		return l < 0 ? PG_INT64_MIN : PG_INT64_MAX;
	return (int64) l;
}

PG_FUNCTION_INFO_V1(sparsevec_in);
Datum
sparsevec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *pt = lit;
	TextElement *elems;
	int			n = 0;
	int			cap = 16;
	int64		dim;
	const char *dimtext;
	int			dimlen;
	SparseBuild b;

	elems = palloc(sizeof(TextElement) * cap);

	while (sparsevec_isspace(*pt))
		pt++;
	if (*pt != '{')
		malformed_sparsevec(lit, "Sparse vector contents must start with \"{\".");
	pt++;
	while (sparsevec_isspace(*pt))
		pt++;

	if (*pt == '}')
		pt++;
	else
	{
		for (;;)
		{
			char	   *end;
			int64		index;
			int			indexpos,
						indexlen;
			float		value;

			while (sparsevec_isspace(*pt))
				pt++;
			if (*pt == '\0')
				malformed_sparsevec(lit, "Unexpected end of input.");
			index = parse_integer(pt, &end);
			if (end == pt)
				malformed_sparsevec(lit, "Sparse vector elements must be index:value pairs, such as 3:1.5.");
			indexpos = (int) (pt - lit);
			indexlen = (int) Min(end - pt, 40);
			pt = end;
			while (sparsevec_isspace(*pt))
				pt++;
			if (*pt != ':')
				malformed_sparsevec(lit, "Sparse vector elements must be index:value pairs, such as 3:1.5.");
			pt++;
			while (sparsevec_isspace(*pt))
				pt++;

			errno = 0;
			value = strtof(pt, &end);
			if (end == pt)
				malformed_sparsevec(lit, "Sparse vector elements must be index:value pairs, such as 3:1.5.");
			if (errno == ERANGE && (isinf(value) || value == 0))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("\"%.*s%s\" is out of range for type sparsevec",
								(int) Min(end - pt, 40), pt, end - pt > 40 ? "..." : "")));
			check_element(value);

			/*
			 * Zeros are checked like the other elements (bounds, duplicates)
			 * and then dropped, so they count towards the limit too.
			 */
			if (n == SPARSEVEC_MAX_NNZ)
				report_too_many_elements("The text lists more than 16000 index:value pairs.");
			if (n == cap)
			{
				cap = Min(cap * 2, SPARSEVEC_MAX_NNZ);
				elems = repalloc(elems, sizeof(TextElement) * cap);
			}
			elems[n].index = index;
			elems[n].value = value;
			elems[n].pos = indexpos;
			elems[n].len = indexlen;
			n++;

			pt = end;
			while (sparsevec_isspace(*pt))
				pt++;
			if (*pt == ',')
			{
				pt++;
				continue;
			}
			if (*pt == '}')
			{
				pt++;
				break;
			}
			if (*pt == '\0')
				malformed_sparsevec(lit, "Unexpected end of input.");
			malformed_sparsevec(lit, "Sparse vector elements must be separated by \",\".");
		}
	}

	while (sparsevec_isspace(*pt))
		pt++;
	if (*pt != '/')
		malformed_sparsevec(lit, "Sparse vector elements must be followed by \"/\" and the dimensions, as in {1:1.5}/3.");
	pt++;
	while (sparsevec_isspace(*pt))
		pt++;
	dimtext = pt;
	{
		char	   *end;

		dim = parse_integer(pt, &end);
		if (end == pt)
			malformed_sparsevec(lit, "Sparse vector dimensions must be an integer after \"/\".");
		pt = end;
	}
	dimlen = (int) Min(pt - dimtext, 40);
	while (sparsevec_isspace(*pt))
		pt++;
	if (*pt != '\0')
		malformed_sparsevec(lit, "Junk after the dimensions.");

	check_dim_text(dim, dimtext, dimlen);
	check_expected_dim(typmod, (int) dim);

	qsort(elems, n, sizeof(TextElement), compare_text_elements);
	build_init(&b);
	for (int i = 0; i < n; i++)
	{
		if (elems[i].index < 1 || elems[i].index > dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec index %.*s is out of bounds",
							elems[i].len, lit + elems[i].pos),
					 errdetail("Indices run from 1 to " INT64_FORMAT ".", dim)));
		if (i > 0 && elems[i].index == elems[i - 1].index)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec indices must not contain duplicates"),
					 errdetail("Index %.*s appears more than once.",
							   elems[i].len, lit + elems[i].pos)));
		build_add(&b, elems[i].index - 1, elems[i].value, "");
	}
	pfree(elems);
	PG_RETURN_SPARSEVEC_P(build_finish(&b, (int) dim));
}

PG_FUNCTION_INFO_V1(sparsevec_out);
Datum
sparsevec_out(PG_FUNCTION_ARGS)
{
	SparseVector *x = PG_GETARG_SPARSEVEC_P(0);
	float	   *xv = SparseVectorValues(x);
	StringInfoData buf;

	/*
	 * Per element: an index of at most 10 digits, ':', a float of at most
	 * FLOAT_SHORTEST_DECIMAL_LEN - 1 chars and ','; then "}/", the dimensions
	 * and the terminator.  At most 16000 elements: no overflow.
	 */
	initStringInfo(&buf);
	enlargeStringInfo(&buf, (int) (x->nnz * (12 + FLOAT_SHORTEST_DECIMAL_LEN) + 16));
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < x->nnz; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		/* the 0-based index, 1-based in text */
		appendStringInfo(&buf, "%d:", x->indices[i] + 1);
		buf.len += float_to_shortest_decimal_bufn(xv[i], buf.data + buf.len);
		buf.data[buf.len] = '\0';
	}
	appendStringInfo(&buf, "}/%d", x->dim);
	PG_FREE_IF_COPY(x, 0);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(sparsevec_typmod_in);
Datum
sparsevec_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for sparsevec: expected 1 value, not %d", n)));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type sparsevec must be at least 1, not %d", tl[0])));
	if (tl[0] > SPARSEVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type sparsevec cannot exceed %d, not %d",
						SPARSEVEC_MAX_DIM, tl[0])));
	PG_RETURN_INT32(tl[0]);
}

/* ------------------------------------------------------------------------
 * Binary I/O: int32 dim, int32 nnz, int32 unused, nnz int32 indices (0-based),
 * nnz float4 values, network byte order (pgvector's format)
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(sparsevec_recv);
Datum
sparsevec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int32		dim;
	int32		nnz;
	int32		unused;
	SparseVector *x;
	float	   *xv;

	if (buf->len - buf->cursor < 12)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sparsevec: expected a 12-byte header, got %d bytes",
						buf->len - buf->cursor)));
	dim = (int32) pq_getmsgint(buf, sizeof(int32));
	nnz = (int32) pq_getmsgint(buf, sizeof(int32));
	unused = (int32) pq_getmsgint(buf, sizeof(int32));

	check_dim(dim);
	if (nnz < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have negative number of elements, not %d", nnz)));
	if (nnz > SPARSEVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements, not %d",
						SPARSEVEC_MAX_NNZ, nnz)));
	if (nnz > dim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more elements than dimensions"),
				 errdetail("The value has %d elements and %d dimensions.", nnz, dim)));
	check_expected_dim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));
	if ((Size) (buf->len - buf->cursor) != (sizeof(int32) + sizeof(float)) * (Size) nnz)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sparsevec: %d elements need %d bytes of data, got %d",
						nnz, (int) ((sizeof(int32) + sizeof(float)) * nnz),
						buf->len - buf->cursor)));

	x = init_sparsevec(dim, nnz);
	xv = SparseVectorValues(x);
	for (int i = 0; i < nnz; i++)
	{
		int32		index = (int32) pq_getmsgint(buf, sizeof(int32));

		if (index < 0 || index >= dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec index %d is out of bounds", index),
					 errdetail("Indices of the binary format are 0-based and run from 0 to %d.", dim - 1)));
		if (i > 0 && index < x->indices[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec indices must be in ascending order"),
					 errdetail("Index %d follows index %d.", index, x->indices[i - 1])));
		if (i > 0 && index == x->indices[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec indices must not contain duplicates"),
					 errdetail("Index %d appears more than once.", index)));
		x->indices[i] = index;
	}
	for (int i = 0; i < nnz; i++)
	{
		xv[i] = pq_getmsgfloat4(buf);
		check_element(xv[i]);
		if (xv[i] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("binary representation of sparsevec cannot contain zero values"),
					 errdetail("Element %d (index %d) is zero.", i + 1, x->indices[i])));
	}
	PG_RETURN_SPARSEVEC_P(x);
}

PG_FUNCTION_INFO_V1(sparsevec_send);
Datum
sparsevec_send(PG_FUNCTION_ARGS)
{
	SparseVector *x = PG_GETARG_SPARSEVEC_P(0);
	float	   *xv = SparseVectorValues(x);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, (uint32) x->dim);
	pq_sendint32(&buf, (uint32) x->nnz);
	pq_sendint32(&buf, (uint32) x->unused);
	for (int i = 0; i < x->nnz; i++)
		pq_sendint32(&buf, (uint32) x->indices[i]);
	for (int i = 0; i < x->nnz; i++)
		pq_sendfloat4(&buf, xv[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * Casts
 * ------------------------------------------------------------------------
 */

/* sparsevec(sparsevec, typmod, explicit): enforce the target's dimensions. */
PG_FUNCTION_INFO_V1(sparsevec);
Datum
sparsevec(PG_FUNCTION_ARGS)
{
	SparseVector *x = PG_GETARG_SPARSEVEC_P(0);

	check_expected_dim(PG_GETARG_INT32(1), x->dim);
	PG_RETURN_SPARSEVEC_P(x);
}

PG_FUNCTION_INFO_V1(vector_to_sparsevec);
Datum
vector_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	SparseBuild b;

	/* at most VECTOR_MAX_DIM (16000) elements: never over SPARSEVEC_MAX_NNZ */
	StaticAssertStmt(VECTOR_MAX_DIM <= SPARSEVEC_MAX_NNZ, "a vector's elements fit a sparsevec");
	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	build_init(&b);
	for (int i = 0; i < v->dim; i++)
	{
		if (v->x[i] == 0)
			continue;
		check_element(v->x[i]);
		build_add(&b, i, v->x[i], "");
	}
	PG_RETURN_SPARSEVEC_P(build_finish(&b, v->dim));
}

/*
 * sparsevec_to_vector: the dense vector.  Its dimensions are checked against the
 * vector limit (16000) before anything is allocated, so a sparsevec of 10^9
 * dimensions is refused, not expanded.
 */
PG_FUNCTION_INFO_V1(sparsevec_to_vector);
Datum
sparsevec_to_vector(PG_FUNCTION_ARGS)
{
	SparseVector *x = PG_GETARG_SPARSEVEC_P(0);
	float	   *xv = SparseVectorValues(x);
	Vector	   *v;

	CheckVectorDim(x->dim);
	check_expected_dim(PG_GETARG_INT32(1), x->dim);
	v = InitVector(x->dim);
	for (int i = 0; i < x->nnz; i++)
	{
		if (x->indices[i] < 0 || x->indices[i] >= x->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("invalid sparsevec: index %d of %d dimensions", x->indices[i], x->dim)));
		v->x[x->indices[i]] = xv[i];
	}
	CheckVectorFinite(v->x, v->dim, NULL);
	PG_RETURN_VECTOR_P(v);
}

/*
 * array_to_sparsevec(integer[] | real[] | double precision[] | numeric[], typmod,
 * explicit): the array's nonzero elements.  The array is read through an iterator, so
 * nothing but the nonzero elements (at most 16000) is allocated.
 */
PG_FUNCTION_INFO_V1(array_to_sparsevec);
Datum
array_to_sparsevec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int			n;
	ArrayIterator it;
	Datum		d;
	bool		isnull;
	int			i = 0;
	SparseBuild b;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D, not %d-D", ARR_NDIM(array))));
	if (elemtype != INT4OID && elemtype != FLOAT4OID && elemtype != FLOAT8OID &&
		elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array element type %s", format_type_be(elemtype))));
	n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	check_dim(n);
	check_expected_dim(typmod, n);

	build_init(&b);
	it = array_create_iterator(array, 0, NULL);
	while (array_iterate(it, &d, &isnull))
	{
		float		f = 0;

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls"),
					 errdetail("Element %d is null.", i + 1)));
		switch (elemtype)
		{
			case INT4OID:
				f = (float) DatumGetInt32(d);
				break;
			case FLOAT4OID:
				f = DatumGetFloat4(d);
				break;
			case FLOAT8OID:
				{
					double		x = DatumGetFloat8(d);

					if (isfinite(x) && (x > FLT_MAX || x < -FLT_MAX))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value %g is out of range for type sparsevec", x)));
					f = (float) x;
				}
				break;
			case NUMERICOID:
				/* numeric -> float4 raises its own out-of-range error */
				f = DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
				break;
		}
		check_element(f);
		if (f != 0)
			build_add(&b, i, f, "The array has more than 16000 nonzero elements.");
		i++;
	}
	array_free_iterator(it);
	PG_RETURN_SPARSEVEC_P(build_finish(&b, n));
}

/* ------------------------------------------------------------------------
 * Distances: merges of the two sorted index lists, summed in double
 * ------------------------------------------------------------------------
 */

/* Squared L2 distance: matching indices give (a - b)^2, the others a^2 or b^2. */
static double
sparse_l2sq(const SparseVector *a, const SparseVector *b)
{
	const float *av = SparseVectorValues(a);
	const float *bv = SparseVectorValues(b);
	double		sum = 0;
	int			i = 0,
				j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		double		d;

		if (a->indices[i] == b->indices[j])
			d = (double) av[i++] - (double) bv[j++];
		else if (a->indices[i] < b->indices[j])
			d = av[i++];
		else
			d = bv[j++];
		sum += d * d;
	}
	for (; i < a->nnz; i++)
		sum += (double) av[i] * av[i];
	for (; j < b->nnz; j++)
		sum += (double) bv[j] * bv[j];
	return sum;
}

/* Inner product: only matching indices contribute. */
static double
sparse_dot(const SparseVector *a, const SparseVector *b)
{
	const float *av = SparseVectorValues(a);
	const float *bv = SparseVectorValues(b);
	double		sum = 0;
	int			i = 0,
				j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] == b->indices[j])
			sum += (double) av[i++] * bv[j++];
		else if (a->indices[i] < b->indices[j])
			i++;
		else
			j++;
	}
	return sum;
}

/* L1 distance: as sparse_l2sq with |d|. */
static double
sparse_l1(const SparseVector *a, const SparseVector *b)
{
	const float *av = SparseVectorValues(a);
	const float *bv = SparseVectorValues(b);
	double		sum = 0;
	int			i = 0,
				j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] == b->indices[j])
			sum += fabs((double) av[i++] - (double) bv[j++]);
		else if (a->indices[i] < b->indices[j])
			sum += fabs((double) av[i++]);
		else
			sum += fabs((double) bv[j++]);
	}
	for (; i < a->nnz; i++)
		sum += fabs((double) av[i]);
	for (; j < b->nnz; j++)
		sum += fabs((double) bv[j]);
	return sum;
}

/* The sum of squares of x's elements. */
static double
sparse_norm_sq(const SparseVector *x)
{
	const float *xv = SparseVectorValues(x);
	double		sum = 0;

	for (int i = 0; i < x->nnz; i++)
		sum += (double) xv[i] * xv[i];
	return sum;
}

PG_FUNCTION_INFO_V1(sparsevec_l2_distance);
Datum
sparsevec_l2_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(sqrt(sparse_l2sq(a, b)));
}

PG_FUNCTION_INFO_V1(sparsevec_l2_squared_distance);
Datum
sparsevec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(sparse_l2sq(a, b));
}

PG_FUNCTION_INFO_V1(sparsevec_inner_product);
Datum
sparsevec_inner_product(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(sparse_dot(a, b));
}

PG_FUNCTION_INFO_V1(sparsevec_negative_inner_product);
Datum
sparsevec_negative_inner_product(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(-sparse_dot(a, b));
}

/*
 * cosine_distance: 1 - cos(a, b), the cosine clamped to [-1, 1].  NaN when either
 * vector is zero (the angle is undefined), as for vector.
 */
PG_FUNCTION_INFO_V1(sparsevec_cosine_distance);
Datum
sparsevec_cosine_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	double		sim;

	check_dims_match(a, b);
	sim = sparse_dot(a, b) / sqrt(sparse_norm_sq(a) * sparse_norm_sq(b));
	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	PG_RETURN_FLOAT8(1 - sim);
}

PG_FUNCTION_INFO_V1(sparsevec_l1_distance);
Datum
sparsevec_l1_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	check_dims_match(a, b);
	PG_RETURN_FLOAT8(sparse_l1(a, b));
}

PG_FUNCTION_INFO_V1(sparsevec_l2_norm);
Datum
sparsevec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sqrt(sparse_norm_sq(PG_GETARG_SPARSEVEC_P(0))));
}

/*
 * l2_normalize: x / |x|.  Elements that underflow to 0 in float4 are dropped (a
 * sparsevec stores no zeros); a zero vector stays zero.
 */
PG_FUNCTION_INFO_V1(sparsevec_l2_normalize);
Datum
sparsevec_l2_normalize(PG_FUNCTION_ARGS)
{
	SparseVector *x = PG_GETARG_SPARSEVEC_P(0);
	const float *xv = SparseVectorValues(x);
	double		norm = sqrt(sparse_norm_sq(x));
	SparseBuild b;

	build_init(&b);
	for (int i = 0; i < x->nnz; i++)
		build_add(&b, x->indices[i], (float) (xv[i] / norm), "");
	PG_RETURN_SPARSEVEC_P(build_finish(&b, x->dim));
}

/* ------------------------------------------------------------------------
 * Comparison: the order of the dense vectors (elementwise over the common
 * dimensions, then by dimensions), computed on the index lists
 * ------------------------------------------------------------------------
 */

static int
sparsevec_cmp_internal(const SparseVector *a, const SparseVector *b)
{
	const float *av = SparseVectorValues(a);
	const float *bv = SparseVectorValues(b);
	int			common = Min(a->dim, b->dim);
	int			i = 0,
				j = 0;

	/*
	 * The first position where the dense vectors differ is the first index
	 * held by only one of them or held by both with different values.
	 */
	while (i < a->nnz || j < b->nnz)
	{
		int32		ai = i < a->nnz ? a->indices[i] : INT_MAX;
		int32		bj = j < b->nnz ? b->indices[j] : INT_MAX;
		int32		p = Min(ai, bj);
		float		va = ai == p ? av[i] : 0;
		float		vb = bj == p ? bv[j] : 0;

		if (p >= common)
			break;
		if (va < vb)
			return -1;
		if (va > vb)
			return 1;
		i += (ai == p);
		j += (bj == p);
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

#define SPARSEVEC_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = sparsevec_cmp_internal(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)); \
	PG_RETURN_BOOL(expr); \
}

SPARSEVEC_CMP_FN(sparsevec_lt, c < 0)
SPARSEVEC_CMP_FN(sparsevec_le, c <= 0)
SPARSEVEC_CMP_FN(sparsevec_eq, c == 0)
SPARSEVEC_CMP_FN(sparsevec_ne, c != 0)
SPARSEVEC_CMP_FN(sparsevec_ge, c >= 0)
SPARSEVEC_CMP_FN(sparsevec_gt, c > 0)

PG_FUNCTION_INFO_V1(sparsevec_cmp);
Datum
sparsevec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(sparsevec_cmp_internal(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)));
}
