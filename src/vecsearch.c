/*
 * vecsearch.c: module entry point.  _PG_init chooses the distance kernels (float, half
 * and bit) for this CPU, registers the settings and relation options of each part of
 * the extension, and reserves the vecsearch prefix of settings.  See src/README.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "bitdist.h"
#include "distance.h"
#include "halfdist.h"
#include "hnsw.h"
#include "knn.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	VsKernelsInit();
	VsHalfKernelsInit();
	VsBitKernelsInit();
	HnswInit();
	VsKnnInit();
	/* after every vecsearch.* setting is defined (HnswInit reserves hnsw.*) */
	MarkGUCPrefixReserved("vecsearch");
}
