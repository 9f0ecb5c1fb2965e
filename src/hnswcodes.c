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
		case HNSW_CODES_AUTO:
			return "auto";
	}
	return "unknown";
}

/*
 * HnswResolveCodes: the codes an index of dims dimensions gets for the
 * reloption's value: auto is sq8 from HNSW_CODES_AUTO_DIMS dimensions (where
 * the walk on codes was measured cheaper: 784 dims, Fashion-MNIST, plain and
 * rotated), none below (128 dims: dearer; src/README, Codes).  With dims
 * still 0 (an index built empty without a typmod) auto stays undecided.
 */
int
HnswResolveCodes(int codes, uint32 dims)
{
	if (codes != HNSW_CODES_AUTO || dims == 0)
		return codes;
	return dims >= HNSW_CODES_AUTO_DIMS ? HNSW_CODES_SQ8 : HNSW_CODES_NONE;
}

/* HnswCodeBytes: bytes of one code of a vector of dims dimensions. */
uint32
HnswCodeBytes(int codes, uint32 dims)
{
	if (codes == HNSW_CODES_SQ8 && dims > 0)
		return (uint32) HNSW_SQ8_BYTES(dims);
	return 0;
}

/* The parts of an SQ8 code of dims dimensions (src/hnsw.h). */
typedef struct Sq8View
{
	HnswSq8Header h;
	int			k;				/* outlier slots */
	const char *vals;			/* k float4, unaligned */
	const char *pos;			/* k uint16, unaligned */
	const uint8 *c;				/* dims bytes */
} Sq8View;

static void
sq8_view(const void *code, uint32 dims, Sq8View *v)
{
	const char *p = code;

	memcpy(&v->h, p, sizeof(HnswSq8Header));
	v->k = HNSW_SQ8_OUTLIERS(dims);
	v->vals = p + sizeof(HnswSq8Header);
	v->pos = v->vals + 4 * v->k;
	v->c = (const uint8 *) (v->pos + 2 * v->k);
}

static int
float_cmp(const void *a, const void *b)
{
	float		x = *(const float *) a,
				y = *(const float *) b;

	return x < y ? -1 : x > y;
}

/*
 * HnswEncode: the code of x (dims floats, in stored form) into out
 * (HnswCodeBytes bytes).  SQ8: of the K + 1 ways to set aside K extreme
 * values (t largest and K - t least), the one leaving the narrowest range;
 * those coordinates are kept exactly, the others put on 256 levels of that
 * range.  Deterministic, so the checker can encode a vector again and
 * compare the bytes.
 */
void
HnswEncode(int codes, const float *x, int dims, void *out)
{
	HnswSq8Header h;
	int			k = HNSW_SQ8_OUTLIERS(dims);
	char	   *vals = (char *) out + sizeof(HnswSq8Header);
	char	   *pos = vals + 4 * k;
	uint8	   *c = (uint8 *) (pos + 2 * k);
	float		lo,
				hi;
	int			nout = 0;
	double		sq = 0;

	if (codes != HNSW_CODES_SQ8 || dims <= 0)
		return;
	memset(out, 0, HnswCodeBytes(codes, dims));
	if (k == 0)
	{
		lo = hi = x[0];
		for (int i = 1; i < dims; i++)
		{
			lo = Min(lo, x[i]);
			hi = Max(hi, x[i]);
		}
	}
	else
	{
		float	   *s = palloc(sizeof(float) * dims);
		int			best = 0;

		memcpy(s, x, sizeof(float) * dims);
		qsort(s, dims, sizeof(float), float_cmp);
		for (int t = 1; t <= k; t++)
			if (s[dims - 1 - t] - s[k - t] < s[dims - 1 - best] - s[k - best])
				best = t;
		lo = s[k - best];
		hi = s[dims - 1 - best];
		pfree(s);
	}
	h.lo = lo;
	h.delta = (hi - lo) / 255.0f;
	for (int i = 0; i < dims; i++)
	{
		float		dec;

		if ((x[i] < lo || x[i] > hi) && nout < k)
		{
			uint16		p16 = (uint16) i;

			memcpy(vals + 4 * nout, &x[i], 4);
			memcpy(pos + 2 * nout, &p16, 2);
			nout++;
			c[i] = 0;
			dec = x[i];
		}
		else
		{
			float		v = h.delta > 0 ? rintf((x[i] - lo) / h.delta) : 0;

			c[i] = (uint8) Max(0.0f, Min(255.0f, v));
			dec = lo + h.delta * (float) c[i];
		}
		sq += (double) dec * dec;
	}
	for (int j = nout; j < k; j++)
	{
		uint16		none = HNSW_SQ8_NO_OUTLIER;

		memcpy(pos + 2 * j, &none, 2);
	}
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
				sq = 0;

	r->wq = q;
	if (r->codes == HNSW_CODES_NONE)
		return;
	for (uint32 i = 0; i < r->dims; i++)
	{
		sum += q[i];
		sq += (double) q[i] * q[i];
	}
	r->wq_sum = (float) sum;
	r->wq_sq = (float) sq;
}

/*
 * HnswCodeDistance: the walk's distance from q (prepared by HnswWalkQuery)
 * to the vector x^ a code stands for, in the metric's internal form (squared
 * L2, negative inner product, L1).  With x^_i = lo + delta c_i, and x^_j =
 * x_j at an outlier j (where c_j = 0):
 *   <q, x^> = lo sum q + delta <q, c> + sum_j q_j (x_j - lo)
 *   ||q - x^||^2 = ||q||^2 - 2 <q, x^> + sq
 * The code's bytes are any bytes: a damaged code gives a wrong distance (a
 * worse walk), never a wrong answer, as what is returned is re-ranked.
 */
float
HnswCodeDistance(const HnswReader *r, const float *q, const void *code)
{
	Sq8View		v;
	double		corr = 0,
				l1corr = 0;
	bool		l1 = r->metric == VS_METRIC_L1;

	Assert(r->codes == HNSW_CODES_SQ8 && r->wq == q);
	sq8_view(code, r->dims, &v);
	for (int j = 0; j < v.k; j++)
	{
		uint16		p;
		float		xj;

		memcpy(&p, v.pos + 2 * j, 2);
		if (p >= r->dims)
			continue;
		memcpy(&xj, v.vals + 4 * j, 4);
		if (l1)
			l1corr += fabs((double) q[p] - xj) - fabs((double) q[p] - v.h.lo);
		else
			corr += (double) q[p] * (xj - v.h.lo);
	}
	switch ((VsMetric) r->metric)
	{
		case VS_METRIC_L2:
			return (float) (r->wq_sq - 2 * ((double) v.h.lo * r->wq_sum +
											(double) v.h.delta * vs_kernels.dot_u8(q, v.c, r->dims) + corr) +
							v.h.sq);
		case VS_METRIC_IP:
		case VS_METRIC_COSINE:
			return (float) -((double) v.h.lo * r->wq_sum +
							 (double) v.h.delta * vs_kernels.dot_u8(q, v.c, r->dims) + corr);
		case VS_METRIC_L1:
			return (float) (vs_kernels.l1_u8(q, v.c, v.h.lo, v.h.delta, r->dims) + l1corr);
	}
	return 0;
}
