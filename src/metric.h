/*
 * metric.h: the distance metrics (one enum for the operators, the KNN engine and hnsw).
 *
 * VsMetric names a metric; its values are the ones hnsw freezes in the metapage, so they
 * never change.  VsMetricDistance is the one distance dispatch with the operators'
 * values; the name mappings (SQL metric names, operator names, opclass support function
 * names) live in metric.c.  See src/README, section Exact KNN engine (the recheck).
 */
#ifndef VECSEARCH_METRIC_H
#define VECSEARCH_METRIC_H

/* The metrics, named as in SQL ('l2', 'ip', 'cosine', 'l1'); on disk in hnsw metapages. */
typedef enum VsMetric
{
	VS_METRIC_L2 = 1,			/* <->: L2 distance (hnsw orders by its square) */
	VS_METRIC_IP = 2,			/* <#>: negative inner product */
	VS_METRIC_COSINE = 3,		/* <=>: 1 - cosine similarity (hnsw stores unit vectors) */
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
 * "row <op> query".  Thread-safe (pure computation).
 */
extern double VsMetricDistance(VsMetric metric, const float *row, const float *query, int dim);

#endif							/* VECSEARCH_METRIC_H */
