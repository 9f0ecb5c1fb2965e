/*
 * distance.h: the distance kernels, scalar and SIMD, chosen once at load time.
 *
 * Pure C with no PostgreSQL dependency, so the standalone kernel test and benchmark
 * (test/kernels, test/bench) link src/distance.c directly.  Every caller goes through
 * the function pointers in vs_kernels; VsKernelsInit() fills them after a CPUID check.  See src/README,
 * section "Distance kernels".
 */
#ifndef VECSEARCH_DISTANCE_H
#define VECSEARCH_DISTANCE_H

/* One implementation of every kernel (scalar, avx2 = AVX2+FMA, avx512 = AVX-512F). */
typedef struct VsKernels
{
	const char *name;
	/* sum (a_i - b_i)^2 */
	float		(*l2sq) (const float *a, const float *b, int n);
	/* sum a_i * b_i */
	float		(*dot) (const float *a, const float *b, int n);
	/* sum |a_i - b_i| */
	float		(*l1) (const float *a, const float *b, int n);
	/* one pass: *ab = sum a_i b_i, *aa = sum a_i^2, *bb = sum b_i^2 */
	void		(*cosparts) (const float *a, const float *b, int n,
							 float *ab, float *aa, float *bb);

	/*
	 * Block of inner products for batched exact KNN: out[i * ldo + j] = <q_i,
	 * x_j> for i < nq, j < nx.  q_i starts at q + i * ldq, x_j at x + j * ldx
	 * (strides in floats). Fastest with many queries (>= 16) per call: each
	 * row is then reused from cache. out[i * ldo + j] for j >= nx is not
	 * touched.
	 */
	void		(*dot_block) (const float *q, int nq, int ldq,
							  const float *x, int nx, int ldx,
							  int n, float *out, int ldo);

	/*
	 * FDE SimHash projections (muvera.c): acc[p * np + h] = sum_i gauss[i *
	 * np + h] * x_p[i] in double, i in order, for p < n (x_p at x + p * dim)
	 * and h < np (a multiple of 4).  With float4-valued gauss and x every
	 * variant gives the same bits.
	 */
	void		(*fde_simhash) (const double *gauss, int np, const float *x, int n,
								int dim, double *acc);

	/* hnsw SQ8 codes (hnswcodes.c): sum q_i * c_i over n bytes c */
	float		(*dot_u8) (const float *q, const unsigned char *c, int n);
	/* sum |q_i - (lo + delta * c_i)| */
	float		(*l1_u8) (const float *q, const unsigned char *c, float lo,
						  float delta, int n);
} VsKernels;

/* The kernels in use: scalar until VsKernelsInit() installs the best variant. */
extern VsKernels vs_kernels;

/* Choose the best variant the CPU supports (idempotent). Returns its name. */
extern const char *VsKernelsInit(void);

/*
 * Force a variant by name ("scalar", "avx2", "avx512"); returns 0 if unknown or not
 * supported by this CPU or build.  Used by tests and the benchmark.
 */
extern int	VsKernelsSelect(const char *name);

/*
 * All variants compiled in and supported by this CPU: *count entries, scalar first and
 * the best last (a static array).
 */
extern const VsKernels *VsKernelVariants(int *count);

#endif							/* VECSEARCH_DISTANCE_H */
