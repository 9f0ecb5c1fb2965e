/*
 * knnthreads.h: the KNN engine's helper-thread pool.
 *
 * A pool runs the jobs of one stage (numbered 0 .. njobs-1) on the backend and its
 * helper threads.  The engine gives three callbacks: take (optional) picks the next job
 * under the pool's lock, run computes one job, done (optional) records it under the
 * lock.  Helper threads only ever run those callbacks and the pool's own code: they
 * never call PostgreSQL, and they are stopped on every way out of the backend.  See
 * src/README, section "Threads".
 */
#ifndef VECSEARCH_KNNTHREADS_H
#define VECSEARCH_KNNTHREADS_H

#include <pthread.h>

/* KnnPool.take's answers besides a job number. */
#define KNN_JOB_WAIT	(-1)	/* none can start now: wait for a job to
								 * finish */
#define KNN_JOB_NONE	(-2)	/* every job of the stage is handed out */

typedef struct KnnPool
{
	/* set by the caller before KnnPoolStart */
	int			nthreads;		/* including the backend itself */
	void	   *arg;			/* passed to the callbacks */

	/*
	 * under mu: the next job, KNN_JOB_WAIT or KNN_JOB_NONE; NULL: jobs in
	 * order
	 */
	int			(*take) (void *arg);
	/* under mu: job is done; may be NULL */
	void		(*done) (void *arg, int job);
	/* outside mu, on any thread (thread 0 is the backend): pure computation */
	void		(*run) (void *arg, int job, int thread);

	/* the pool's own state */
	int			nstarted;		/* helper threads actually running */
	int			njobs;			/* jobs of the current stage */
	int			next_job;		/* without take: first job not handed out */
	int			jobs_done;
	uint64		gen;			/* stage counter */
	bool		stop;

	/*
	 * Set (atomically, also under mu) when the helpers are stopped: the run
	 * is over or abandoned, so a job leaves early.  Read without the lock in
	 * the long loops of the jobs (KnnPoolAbandoned), so that stopping never
	 * waits for a whole job.
	 */
	bool		abandon;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	pthread_cond_t done_cv;
	pthread_t  *threads;
	struct KnnPool *live_next;	/* the backend's pools with helpers running */
} KnnPool;

/* In a job: the helpers are being stopped, leave now (the answers are not used). */
static inline bool
KnnPoolAbandoned(KnnPool *p)
{
	return __atomic_load_n(&p->abandon, __ATOMIC_RELAXED);
}

/*
 * Start nthreads - 1 helpers (as many as the system gives; none is fine).  The caller
 * stops them with KnnPoolStop in PG_FINALLY; a FATAL stops them in a before_shmem_exit
 * callback.
 */
extern void KnnPoolStart(KnnPool *p);

/* Stop and join the helpers.  No PostgreSQL call; safe to call twice. */
extern void KnnPoolStop(KnnPool *p);

/*
 * A stage: KnnPoolBegin takes the lock (when helpers run), the caller then sets what
 * the jobs read, and KnnPoolPublish hands out njobs jobs and releases the lock.
 * KnnPoolFinish takes part in the stage and returns when every job is done.
 */
extern void KnnPoolBegin(KnnPool *p);
extern void KnnPoolPublish(KnnPool *p, int njobs);
extern void KnnPoolFinish(KnnPool *p);

#endif							/* VECSEARCH_KNNTHREADS_H */
