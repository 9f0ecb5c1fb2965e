/*
 * hnswcodes.c: the codes the hnsw graph walk measures instead of the full
 * vectors (format 2, reloption codes): how a vector is encoded, how the
 * query is prepared for a walk, and the distance of the query to a code.
 * The walk only steers by these distances; the scan re-ranks what it found
 * with the full vectors, so answers come in exact distance order.
 *
 * See src/README, section "Codes".
 */
#include "postgres.h"

#include <math.h>

#include "distance.h"
#include "hnsw.h"

/* The reloption's spelling of a kind of codes. */
const char *
HnswCodesName(int codes)
{
	switch (codes)
	{
		case HNSW_CODES_NONE:
			return "none";
		case HNSW_CODES_SQ8:
			return "sq8";
	}
	return "unknown";
}

/* HnswCodeBytes: bytes of one code of a vector of dims dimensions. */
uint32
HnswCodeBytes(int codes, uint32 dims)
{
	if (codes == HNSW_CODES_SQ8 && dims > 0)
		return (uint32) HNSW_SQ8_BYTES(dims);
	return 0;
}

/*
 * HnswEncode: the code of x (dims floats, in stored form) into out
 * (HnswCodeBytes bytes).  SQ8: each coordinate on 256 levels between the
 * vector's least and largest value.  Deterministic, so the checker can
 * encode a vector again and compare the bytes.
 */
void
HnswEncode(int codes, const float *x, int dims, void *out)
{
	HnswSq8Header h;
	uint8	   *c = (uint8 *) out + sizeof(HnswSq8Header);
	float		lo,
				hi;
	double		sq = 0;

	if (codes != HNSW_CODES_SQ8 || dims <= 0)
		return;
	lo = hi = x[0];
	for (int i = 1; i < dims; i++)
	{
		lo = Min(lo, x[i]);
		hi = Max(hi, x[i]);
	}
	h.lo = lo;
	h.delta = (hi - lo) / 255.0f;
	for (int i = 0; i < dims; i++)
	{
		float		v = h.delta > 0 ? rintf((x[i] - lo) / h.delta) : 0;
		float		dec;

		c[i] = (uint8) Max(0.0f, Min(255.0f, v));
		dec = lo + h.delta * (float) c[i];
		sq += (double) dec * dec;
	}
	for (int i = dims; i < (int) TYPEALIGN(4, dims); i++)
		c[i] = 0;
	h.sq = (float) sq;
	memcpy(out, &h, sizeof(h));
}

/*
 * HnswWalkQuery: prepare the reader for a walk towards q (the sums the code
 * distance takes from the query).  Every walk entry point calls it, so q
 * may change between walks of one reader.
 */
void
HnswWalkQuery(HnswReader *r, const float *q)
{
	double		sum = 0,
				sq = 0,
				l1 = 0;

	r->wq = q;
	if (r->codes == HNSW_CODES_NONE)
		return;
	for (uint32 i = 0; i < r->dims; i++)
	{
		sum += q[i];
		sq += (double) q[i] * q[i];
		l1 += fabs(q[i]);
	}
	r->wq_sum = (float) sum;
	r->wq_sq = (float) sq;
	r->wq_l1 = (float) l1;
}

/*
 * HnswCodeDistance: the walk's distance from q (prepared by HnswWalkQuery)
 * to the vector a code stands for, in the metric's internal form (squared
 * L2, negative inner product, L1).  With x_i ~ lo + delta c_i:
 * <q, x> ~ lo sum q + delta <q, c>, and ||q - x||^2 = ||q||^2 - 2 <q, x> +
 * sq.  The code's bytes are any bytes: a damaged code gives a wrong
 * distance (a worse walk), never a wrong answer, as the re-rank is exact.
 */
float
HnswCodeDistance(const HnswReader *r, const float *q, const void *code)
{
	HnswSq8Header h;
	const uint8 *c = (const uint8 *) code + sizeof(HnswSq8Header);
	float		dot;

	Assert(r->codes == HNSW_CODES_SQ8 && r->wq == q);
	memcpy(&h, code, sizeof(h));
	switch ((VsMetric) r->metric)
	{
		case VS_METRIC_L2:
			dot = h.lo * r->wq_sum + h.delta * vs_kernels.dot_u8(q, c, r->dims);
			return r->wq_sq - 2 * dot + h.sq;
		case VS_METRIC_IP:
		case VS_METRIC_COSINE:
			return -(h.lo * r->wq_sum + h.delta * vs_kernels.dot_u8(q, c, r->dims));
		case VS_METRIC_L1:
			return vs_kernels.l1_u8(q, c, h.lo, h.delta, r->dims);
	}
	return 0;
}

/*
 * HnswCodeLowerBound: a value no larger than the exact internal distance
 * from q to the vector x the code stands for (the exact mode's filter).
 * Encoding moves each coordinate by at most delta / 2 (e below allows for
 * the rounding of the encoder), so with x^ the decoded code:
 *
 *   l2:         |q - x| >= |q - x^| - |x - x^| >= |q - x^| - e sqrt(dims)
 *   ip, cosine: -<q, x> >= -<q, x^> - e sum |q_i|
 *   l1:         sum |q_i - x_i| >= sum |q_i - x^_i| - e dims
 *
 * and every float sum of the code distance is widened by a relative margin
 * above its worst rounding error (dims * 2^-23 of the magnitudes summed) and
 * that of the exact distance it is compared with.  A
 * code with non-finite or negative terms (damage) bounds nothing: -infinity,
 * so that element is measured exactly.
 */
float
HnswCodeLowerBound(const HnswReader *r, const float *q, const void *code)
{
	HnswSq8Header h;
	double		d = HnswCodeDistance(r, q, code);
	double		e,
				mag,
				slack = 1e-4 + r->dims * 1.2e-7;	/* > dims * 2^-23 */

	memcpy(&h, code, sizeof(h));
	if (!isfinite(h.lo) || !isfinite(h.delta) || !isfinite(h.sq) || h.delta < 0 ||
		!isfinite(d))
		return -INFINITY;
	e = h.delta * 0.5 * (1 + slack) + 1e-30;
	mag = (fabs(h.lo) + 255.0 * h.delta) * r->wq_l1;	/* |<q, x^>| at most */
	switch ((VsMetric) r->metric)
	{
		case VS_METRIC_L2:
			{
				double		dq = d - slack * (r->wq_sq + h.sq + 2 * mag);
				double		lo = sqrt(Max(dq, 0)) - e * sqrt((double) r->dims);

				return lo > 0 ? (float) (lo * lo * (1 - slack)) : 0;
			}
		case VS_METRIC_IP:
		case VS_METRIC_COSINE:
			return (float) (d - e * r->wq_l1 - slack * mag - 1e-30);
		case VS_METRIC_L1:
			return (float) (d * (1 - slack) - e * r->dims -
							slack * (r->wq_l1 + r->dims * (fabs(h.lo) + 255.0 * h.delta)));
	}
	return -INFINITY;
}
