/*
 * lid.h: the LID estimator shared by the LID functions (lid.c), the LID insertion
 * orders of hnsw builds (buildorder.c) and the recall-by-LID report (recall.c), and the
 * percentile helper of the LID summary and the recall reports.  See src/README,
 * section "LID".
 */
#ifndef VECSEARCH_LID_H
#define VECSEARCH_LID_H

#include "knn.h"

/*
 * k of the LID estimate: the estimator needs two distances at least.  The LID
 * functions take up to VS_KNN_K_MAX; hnsw's lid_k option (the LID build orders) up to
 * VS_LID_K_BUILD_MAX.
 */
#define VS_LID_K_MIN		2
#define VS_LID_K_DEFAULT	100
#define VS_LID_K_BUILD_MAX	1000

/*
 * The Amsaleg et al. MLE from the ascending neighbour list nbr[0..count-1] (found with
 * skip_zero, so every distance is positive); false when undefined (see lid.c).
 */
extern bool VsLidEstimate(const VsNeighbor *nbr, int count, int k, double *lid);

/* Summary statistics of the LID summary and the recall reports (lid.c). */
extern int	VsDoubleCmp(const void *a, const void *b);
extern double VsPercentileSorted(const double *v, int64 n, double p);

#endif							/* VECSEARCH_LID_H */
