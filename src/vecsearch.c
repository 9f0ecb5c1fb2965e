/*
 * vecsearch.c: module entry point.  _PG_init chooses the distance kernels for this CPU
 * and registers the settings and relation options of each part of the extension.
 */
#include "postgres.h"

#include "distance.h"
#include "knn.h"
#include "fmgr.h"
#include "hnsw.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	VsKernelsInit();
	HnswInit();
	VsKnnInit();
}
