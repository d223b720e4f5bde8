/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The row writer thread.  Rows travel in batches of BATCH: the producer
 * fills the batch it holds without any synchronisation and hands it over
 * when full (or at the end); the writer takes full batches in order, formats
 * and writes them, and gives them back.  One lock round trip per batch, and
 * a sleeping side is only woken when there is a batch for it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rowq.h"

#define BATCH 256
#define RING 8

struct rq_batch {
	size_t n;
	struct netmoon_conn_info ci[BATCH];
};

struct rowq {
	pthread_mutex_t mu;
	pthread_cond_t full;  /* the writer waits for a batch */
	pthread_cond_t empty; /* the producer waits for a free batch */
	pthread_t thread;
	FILE *out;
	enum row_format fmt;
	unsigned head;    /* batches handed over (the writer takes head - count ...) */
	unsigned count;   /* batches handed over and not written yet */
	bool done;        /* no more batches will come */
	int err;          /* first write error (negative errno), under mu */
	uint64_t rows;    /* rows written, the writer's */
	struct rq_batch *cur; /* the producer's batch, not yet handed over */
	struct rq_batch ring[RING];
};

static void *rowq_main(void *arg)
{
	struct rowq *q = arg;
	char line[ROW_MAX];
	int err = 0;

	for (;;) {
		struct rq_batch *b;

		pthread_mutex_lock(&q->mu);
		while (!q->count && !q->done)
			pthread_cond_wait(&q->full, &q->mu);
		if (!q->count) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		b = &q->ring[(q->head - q->count) % RING];
		pthread_mutex_unlock(&q->mu);

		/* After a failed write, drain without writing: the producer must
		 * never wait on a writer that gave up. */
		for (size_t i = 0; i < b->n && !err; i++) {
			size_t n = row_format(line, &b->ci[i], q->fmt);

			errno = 0;
			if (fwrite(line, 1, n, q->out) != n)
				err = -(errno ? errno : EIO);
			else
				q->rows++;
		}

		pthread_mutex_lock(&q->mu);
		if (err && !q->err)
			q->err = err;
		q->count--;
		pthread_cond_signal(&q->empty);
		pthread_mutex_unlock(&q->mu);
	}
	return NULL;
}

/* Hand the producer's batch over (when it holds rows) and take a free one. */
static int rowq_hand_over(struct rowq *q)
{
	int err;

	pthread_mutex_lock(&q->mu);
	if (q->cur && q->cur->n) {
		q->head++;
		q->count++;
		pthread_cond_signal(&q->full);
	}
	q->cur = NULL;
	while (q->count == RING)
		pthread_cond_wait(&q->empty, &q->mu);
	q->cur = &q->ring[q->head % RING];
	q->cur->n = 0;
	err = q->err;
	pthread_mutex_unlock(&q->mu);
	return err;
}

int rowq_start(struct rowq **out, FILE *f, enum row_format fmt)
{
	struct rowq *q = calloc(1, sizeof(*q));
	sigset_t all, old;
	int rc;

	if (!q)
		return -ENOMEM;
	q->out = f;
	q->fmt = fmt;
	rc = pthread_mutex_init(&q->mu, NULL);
	if (rc)
		goto err_free;
	rc = pthread_cond_init(&q->full, NULL);
	if (rc)
		goto err_mu;
	rc = pthread_cond_init(&q->empty, NULL);
	if (rc)
		goto err_full;
	q->cur = &q->ring[0];
	/*
	 * Signals are the main thread's (SIGINT ends the run there), but
	 * SIGPIPE: a closed output (netmoon-csv ... | head) ends the process
	 * quietly, as it does when the rows are written inline.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGPIPE);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, rowq_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_empty;
	*out = q;
	return 0;

err_empty:
	pthread_cond_destroy(&q->empty);
err_full:
	pthread_cond_destroy(&q->full);
err_mu:
	pthread_mutex_destroy(&q->mu);
err_free:
	free(q);
	return -rc;
}

int rowq_push(struct rowq *q, const struct netmoon_conn_info *ci)
{
	q->cur->ci[q->cur->n++] = *ci;
	if (q->cur->n == BATCH)
		return rowq_hand_over(q);
	return 0;
}

int rowq_finish(struct rowq *q, uint64_t *rows)
{
	int err;

	pthread_mutex_lock(&q->mu);
	if (q->cur && q->cur->n) {
		q->head++;
		q->count++;
	}
	q->cur = NULL;
	q->done = true;
	pthread_cond_signal(&q->full);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	err = q->err;
	*rows = q->rows;
	pthread_cond_destroy(&q->empty);
	pthread_cond_destroy(&q->full);
	pthread_mutex_destroy(&q->mu);
	free(q);
	return err;
}
