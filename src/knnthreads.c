/*
 * knnthreads.c: the KNN engine's helper-thread pool.
 *
 * KnnPoolStart and KnnPoolStop start and join a pool's helpers; KnnPoolBegin,
 * KnnPoolPublish and KnnPoolFinish run one stage of jobs.  Helper threads block every
 * signal (the backend's handlers run in the backend thread only), run only
 * knn_helper_main and the pool's callbacks, and never call PostgreSQL; the backend
 * stops them in the caller's PG_FINALLY, or on a FATAL in knn_pools_exit.  See
 * src/README, section "Threads".
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>

#include "miscadmin.h"
#include "storage/ipc.h"

#include "knnthreads.h"

typedef struct KnnHelper
{
	KnnPool    *pool;
	int			id;
} KnnHelper;

/* Under p->mu: the next job of the stage. */
static inline int
knn_take(KnnPool *p)
{
	if (p->take)
		return p->take(p->arg);
	return p->next_job < p->njobs ? p->next_job++ : KNN_JOB_NONE;
}

/* Under p->mu: job is done. */
static void
knn_done(KnnPool *p, int job)
{
	if (p->done)
		p->done(p->arg, job);
	p->jobs_done++;
	/* wakes the backend at the end, and helpers waiting for a busy job */
	pthread_cond_broadcast(&p->done_cv);
}

/* A helper thread: no PostgreSQL call from here on. */
static void *
knn_helper_main(void *arg)
{
	KnnHelper  *h = (KnnHelper *) arg;
	KnnPool    *p = h->pool;
	uint64		seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;)
	{
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		seen = p->gen;
		while (!p->stop)
		{
			int			t = knn_take(p);

			if (t == KNN_JOB_NONE)
				break;
			if (t == KNN_JOB_WAIT)
			{
				pthread_cond_wait(&p->done_cv, &p->mu);
				continue;
			}
			pthread_mutex_unlock(&p->mu);
			p->run(p->arg, t, h->id);
			pthread_mutex_lock(&p->mu);
			knn_done(p, t);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * The pools of this backend whose helpers are running, newest first.  A pool is linked
 * here from the moment its first helper exists until KnnPoolStop has joined them all;
 * only the backend thread reads or changes the list.
 */
static KnnPool *knn_live = NULL;
static bool knn_exit_hook_registered = false;

void
KnnPoolStop(KnnPool *p)
{
	KnnPool   **l;
	int			i;

	if (p->nstarted == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	__atomic_store_n(&p->abandon, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&p->work_cv);
	/* a helper may wait for a job the backend held when it raised an error */
	pthread_cond_broadcast(&p->done_cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 1; i <= p->nstarted; i++)
		pthread_join(p->threads[i], NULL);
	p->nstarted = 0;
	for (l = &knn_live; *l != NULL; l = &(*l)->live_next)
		if (*l == p)
		{
			*l = p->live_next;
			break;
		}
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->mu);
}

/*
 * before_shmem_exit callback: stop and join every helper still running.  A FATAL
 * (pg_terminate_backend, a fast shutdown, a lost client) leaves the backend through
 * proc_exit without the PG_FINALLY of the running call; its pool (on the stack below
 * us) and the memory the helpers use are still there now, but ShutdownPostgres, the
 * before_shmem_exit callback that aborts the transaction and frees that memory, runs
 * after this one: the callbacks run last registered first, and this one is registered
 * when the first helpers start, long after InitPostgres registered ShutdownPostgres.
 * (on_proc_exit would be too late: it runs after every shmem_exit callback.)
 */
static void
knn_pools_exit(int code, Datum arg)
{
	while (knn_live != NULL)
	{
		KnnPool    *p = knn_live;

		KnnPoolStop(p);
		if (knn_live == p)		/* cannot happen; never loop on it */
			knn_live = p->live_next;
	}
}

void
KnnPoolStart(KnnPool *p)
{
	sigset_t	all,
				old;
	KnnHelper  *helpers;
	int			i;

	p->nstarted = 0;
	p->gen = 0;
	if (p->nthreads <= 1)
		return;
	if (!knn_exit_hook_registered)
	{
		before_shmem_exit(knn_pools_exit, (Datum) 0);
		knn_exit_hook_registered = true;
	}
	p->threads = palloc0(sizeof(pthread_t) * p->nthreads);
	helpers = palloc0(sizeof(KnnHelper) * p->nthreads);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->stop = false;
	p->abandon = false;

	/*
	 * from here to the end of the function, nothing can raise an error or
	 * exit
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < p->nthreads; i++)
	{
		helpers[i].pool = p;
		helpers[i].id = i;
		if (pthread_create(&p->threads[i], NULL, knn_helper_main, &helpers[i]) != 0)
			break;
		p->nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nstarted > 0)
	{
		p->live_next = knn_live;
		knn_live = p;
	}
	else
	{
		pthread_cond_destroy(&p->done_cv);
		pthread_cond_destroy(&p->work_cv);
		pthread_mutex_destroy(&p->mu);
	}
	/* jobs are taken from a queue, so fewer threads than planned is harmless */
}

void
KnnPoolBegin(KnnPool *p)
{
	if (p->nstarted > 0)
		pthread_mutex_lock(&p->mu);
}

/* Under the lock KnnPoolBegin took: hand out njobs jobs (the helpers start at once). */
void
KnnPoolPublish(KnnPool *p, int njobs)
{
	p->njobs = njobs;
	p->next_job = 0;
	p->jobs_done = 0;
	if (p->nstarted > 0)
	{
		p->gen++;
		pthread_cond_broadcast(&p->work_cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* On the backend: take part in the stage and wait until every job of it is done. */
void
KnnPoolFinish(KnnPool *p)
{
	if (p->nstarted == 0)
	{
		int			t;

		for (t = 0; t < p->njobs; t++)
		{
			p->run(p->arg, t, 0);
			/* one job can be long (a whole matrix): stay interruptible */
			CHECK_FOR_INTERRUPTS();
		}
		return;
	}
	pthread_mutex_lock(&p->mu);
	for (;;)
	{
		int			t = knn_take(p);

		if (t == KNN_JOB_NONE)
			break;
		if (t == KNN_JOB_WAIT)
		{
			pthread_cond_wait(&p->done_cv, &p->mu);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		p->run(p->arg, t, 0);

		/*
		 * an error here stops the helpers in the caller's PG_FINALLY, a FATAL
		 * in knn_pools_exit
		 */
		CHECK_FOR_INTERRUPTS();
		pthread_mutex_lock(&p->mu);
		knn_done(p, t);
	}
	while (p->jobs_done < p->njobs)
		pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
