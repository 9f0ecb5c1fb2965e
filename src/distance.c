/*
 * distance.c: placeholder scalar kernels (replaced by the SIMD module).
 */
#include "distance.h"

#include <math.h>
#include <string.h>

static float
l2sq_scalar(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	return s;
}

static float
dot_scalar(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static float
l1_scalar(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

static void
cosparts_scalar(const float *a, const float *b, int n, float *ab, float *aa, float *bb)
{
	float		x = 0, y = 0, z = 0;

	for (int i = 0; i < n; i++)
	{
		x += a[i] * b[i];
		y += a[i] * a[i];
		z += b[i] * b[i];
	}
	*ab = x;
	*aa = y;
	*bb = z;
}

static void
dot_block_scalar(const float *q, int nq, int ldq, const float *x, int nx, int ldx,
				 int n, float *out, int ldo)
{
	for (int i = 0; i < nq; i++)
		for (int j = 0; j < nx; j++)
			out[(long) i * ldo + j] = dot_scalar(q + (long) i * ldq, x + (long) j * ldx, n);
}

static const VsKernels scalar = {"scalar", l2sq_scalar, dot_scalar, l1_scalar,
cosparts_scalar, dot_block_scalar};

VsKernels	vs_kernels;

const char *
VsKernelsInit(void)
{
	vs_kernels = scalar;
	return vs_kernels.name;
}

int
VsKernelsSelect(const char *name)
{
	if (strcmp(name, "scalar") != 0)
		return 0;
	vs_kernels = scalar;
	return 1;
}

const VsKernels *
VsKernelVariants(int *count)
{
	*count = 1;
	return &scalar;
}
