/*
 * bitvec.c: the functions of PostgreSQL's bit strings that binary-quantized search
 * uses: hamming_distance and jaccard_distance (the <~> and <%> operators) and
 * binary_quantize(vector).  The SQL surface is pgvector's.  Bit counts go through the
 * kernels of bitdist.c.  See src/README, section "bit".
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/varbit.h"

#include "bitdist.h"
#include "bitvec.h"
#include "vector.h"

VarBit *
InitBitString(int nbits)
{
	Size		size = VARBITTOTALLEN((Size) nbits);
	VarBit	   *r = (VarBit *) palloc0(size);

	SET_VARSIZE(r, size);
	VARBITLEN(r) = nbits;
	return r;
}

/*
 * Both arguments, detoasted, of the same length (22000 otherwise, pgvector's message).
 * A bit string's padding bits after the last one are zero (PostgreSQL keeps them so),
 * so whole bytes can be counted.
 */
static void
get_bit_args(FunctionCallInfo fcinfo, VarBit **a, VarBit **b)
{
	*a = PG_GETARG_VARBIT_P(0);
	*b = PG_GETARG_VARBIT_P(1);
	if (VARBITLEN(*a) != VARBITLEN(*b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %d and %d", VARBITLEN(*a), VARBITLEN(*b))));
}

/* hamming_distance(a, b): the number of positions where a and b differ. */
PG_FUNCTION_INFO_V1(hamming_distance);
Datum
hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a,
			   *b;

	get_bit_args(fcinfo, &a, &b);
	PG_RETURN_FLOAT8((double) vs_bit_kernels.hamming(VARBITS(a), VARBITS(b), VARBITBYTES(a)));
}

/*
 * jaccard_distance(a, b): 1 - |a AND b| / |a OR b|, the share of set positions that
 * only one of them sets; 1 when they share none (two strings of zeros included), as in
 * pgvector.
 */
PG_FUNCTION_INFO_V1(jaccard_distance);
Datum
jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a,
			   *b;
	uint64		both,
				either;

	get_bit_args(fcinfo, &a, &b);
	vs_bit_kernels.jaccard(VARBITS(a), VARBITS(b), VARBITBYTES(a), &both, &either);
	if (both == 0)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(1.0 - (double) both / (double) either);
}

/* binary_quantize(vector): bit i set when element i + 1 is positive. */
PG_FUNCTION_INFO_V1(binary_quantize);
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	VarBit	   *result = InitBitString(v->dim);
	bits8	   *r = VARBITS(result);

	for (int i = 0; i < v->dim; i++)
		if (v->x[i] > 0)
			r[i / 8] |= (bits8) (0x80 >> (i % 8));
	PG_RETURN_VARBIT_P(result);
}
