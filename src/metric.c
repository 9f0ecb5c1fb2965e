/*
 * metric.c: the name mappings of the metrics.
 *
 * VsMetricFromName and VsMetricName map SQL metric names, VsMetricFromOperator the
 * distance operators, VsMetricFromSupportFunction hnsw's opclass support functions
 * (VsMetricDistance, the distances, is inline in metric.h).  See
 * src/README, section "Metrics".
 */
#include "postgres.h"

#include "metric.h"

VsMetric
VsMetricFromName(const char *name)
{
	if (strcmp(name, "l2") == 0)
		return VS_METRIC_L2;
	if (strcmp(name, "ip") == 0)
		return VS_METRIC_IP;
	if (strcmp(name, "cosine") == 0)
		return VS_METRIC_COSINE;
	if (strcmp(name, "l1") == 0)
		return VS_METRIC_L1;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown metric \"%s\"", name),
			 errhint("Valid metrics are \"l2\", \"ip\", \"cosine\" and \"l1\".")));
	return VS_METRIC_L2;		/* keep compiler quiet */
}

const char *
VsMetricName(VsMetric metric)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return "l2";
		case VS_METRIC_IP:
			return "ip";
		case VS_METRIC_COSINE:
			return "cosine";
		case VS_METRIC_L1:
			return "l1";
	}
	return "?";
}

bool
VsMetricFromOperator(const char *opname, VsMetric *metric)
{
	if (strcmp(opname, "<->") == 0)
		*metric = VS_METRIC_L2;
	else if (strcmp(opname, "<#>") == 0)
		*metric = VS_METRIC_IP;
	else if (strcmp(opname, "<=>") == 0)
		*metric = VS_METRIC_COSINE;
	else if (strcmp(opname, "<+>") == 0)
		*metric = VS_METRIC_L1;
	else
		return false;
	return true;
}

bool
VsMetricFromSupportFunction(const char *procname, bool has_norm, VsMetric *metric)
{
	if (strcmp(procname, "vector_l2_squared_distance") == 0 ||
		strcmp(procname, "l2_distance") == 0)
		*metric = VS_METRIC_L2;
	else if (strcmp(procname, "vector_negative_inner_product") == 0)
		*metric = has_norm ? VS_METRIC_COSINE : VS_METRIC_IP;
	else if (strcmp(procname, "cosine_distance") == 0)
		*metric = VS_METRIC_COSINE;
	else if (strcmp(procname, "l1_distance") == 0)
		*metric = VS_METRIC_L1;
	else
		return false;
	return true;
}
