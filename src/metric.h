/*
 * metric.h: the distance metrics (one enum for the operators, the KNN engine and hnsw).
 *
 * VsMetric names a metric; its values are the ones hnsw freezes in the metapage, so they
 * never change.  VsMetricDistance is the one distance dispatch with the operators'
 * values; the name mappings (SQL metric names, operator names, opclass support function
 * names) live in metric.c.  See src/README, section "Metrics".
 */
#ifndef VECSEARCH_METRIC_H
#define VECSEARCH_METRIC_H

#include <math.h>

#include "distance.h"

/* The metrics, named as in SQL ('l2', 'ip', 'cosine', 'l1'); on disk in hnsw metapages. */
typedef enum VsMetric
{
	VS_METRIC_L2 = 1,			/* <->: L2 distance (hnsw orders by its
								 * square) */
	VS_METRIC_IP = 2,			/* <#>: negative inner product */
	VS_METRIC_COSINE = 3,		/* <=>: 1 - cosine similarity (hnsw stores
								 * unit vectors) */
	VS_METRIC_L1 = 4			/* <+>: L1 (taxicab) distance */
} VsMetric;

#define VS_METRIC_MIN	VS_METRIC_L2
#define VS_METRIC_MAX	VS_METRIC_L1

/* Parse a metric name ('l2', ...); ereport 22023 for an unknown name. */
extern VsMetric VsMetricFromName(const char *name);
extern const char *VsMetricName(VsMetric metric);

/* The metric of a distance operator ("<->", ...); false for another operator. */
extern bool VsMetricFromOperator(const char *opname, VsMetric *metric);

/*
 * The metric of an hnsw opclass from the name of its support function 1 (has_norm: it
 * has support function 2, which marks cosine); false for another function.
 */
extern bool VsMetricFromSupportFunction(const char *procname, bool has_norm,
										VsMetric *metric);

/*
 * The distance between a row and a query, bit for bit what the SQL operator returns for
 * "row <op> query": the operators of vector.c are this function.  Thread-safe (pure
 * computation); inline, as the KNN engine's recheck calls it per surviving row.
 */
static inline double
VsMetricDistance(VsMetric metric, const float *row, const float *query, int dim)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return sqrt((double) vs_kernels.l2sq(row, query, dim));
		case VS_METRIC_IP:
			return -(double) vs_kernels.dot(row, query, dim);
		case VS_METRIC_COSINE:
			{
				float		ab,
							aa,
							bb;
				double		sim;

				vs_kernels.cosparts(row, query, dim, &ab, &aa, &bb);
				sim = (double) ab / sqrt((double) aa * (double) bb);
				/* a zero vector: the angle is undefined */
				if (isnan(sim))
					return (double) NAN;
				/* rounding can push |sim| a hair past 1 */
				if (sim > 1.0)
					sim = 1.0;
				else if (sim < -1.0)
					sim = -1.0;
				return 1.0 - sim;
			}
		case VS_METRIC_L1:
			return (double) vs_kernels.l1(row, query, dim);
	}
	return 0.0;					/* keep compiler quiet */
}

#endif							/* VECSEARCH_METRIC_H */
