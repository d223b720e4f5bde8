/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The read-ahead source: a second thread read()s a regular file into a ring
 * of chunks while the caller's thread parses the previous one, so that the
 * kernel's copy out of the page cache (a quarter of netmoon-csv's time when
 * done inline) runs on the other core.  This is the seed design's
 * capture/parser split, applied to files.
 *
 * The ring: RING chunks, each with HEADROOM bytes in front of its data.  The
 * reader thread fills chunks in order and the consumer takes them in order;
 * the consumer holds one chunk (the window's bytes live in it) and returns
 * it to the reader when it moves on.  A record cut by a chunk boundary is
 * joined by copying the old chunk's unconsumed tail into the next chunk's
 * headroom, right before its data, so records are still handed out in
 * place; a tail longer than the headroom (a record over 64 KiB) is joined in
 * a separate buffer instead, grown up to the formats' record limit.
 *
 * Only regular files: a read() from one always returns, so closing the
 * handle never waits on a writer (pipes get the kernel's own read-ahead
 * from their writer anyway).  The thread runs with every signal blocked.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_int.h"

#define RING 4
#define HEADROOM ((size_t)64 << 10)
#define MIN_CHUNK ((size_t)256 << 10)

struct rd_chunk {
	uint8_t *mem; /* HEADROOM bytes, then the data */
	size_t len;   /* data bytes */
};

struct netmoon__reader {
	pthread_mutex_t mu;
	pthread_cond_t filled;  /* the consumer waits for a chunk */
	pthread_cond_t emptied; /* the reader waits for a free chunk */
	pthread_t thread;
	int fd;
	size_t chunk_size;
	struct rd_chunk ring[RING];
	unsigned head;   /* next chunk the consumer takes (mod RING) */
	unsigned count;  /* chunks filled and not yet returned, held one included */
	bool held;       /* the consumer holds ring[head % RING] */
	bool eof;        /* the reader saw end of file (after its chunks) */
	int err;         /* ... or this read error (negative errno) */
	bool stop;
	uint8_t *join;   /* the join buffer, for tails longer than HEADROOM */
	size_t join_size;
};

static void *reader_main(void *arg)
{
	struct netmoon__reader *rd = arg;
	unsigned tail = 0;

	for (;;) {
		struct rd_chunk *c;
		size_t got = 0;
		int err = 0;

		pthread_mutex_lock(&rd->mu);
		while (rd->count == RING && !rd->stop)
			pthread_cond_wait(&rd->emptied, &rd->mu);
		if (rd->stop) {
			pthread_mutex_unlock(&rd->mu);
			return NULL;
		}
		pthread_mutex_unlock(&rd->mu);

		/* The consumer never touches a chunk that is not filled. */
		c = &rd->ring[tail % RING];
		while (got < rd->chunk_size) {
			ssize_t r = read(rd->fd, c->mem + HEADROOM + got, rd->chunk_size - got);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				err = -errno;
				break;
			}
			if (r == 0)
				break;
			got += (size_t)r;
		}

		pthread_mutex_lock(&rd->mu);
		c->len = got;
		if (got) {
			rd->count++;
			tail++;
		}
		if (err)
			rd->err = err;
		else if (got < rd->chunk_size)
			rd->eof = true;
		pthread_cond_signal(&rd->filled);
		pthread_mutex_unlock(&rd->mu);
		if (err || got < rd->chunk_size)
			return NULL;
	}
}

static void reader_free(struct netmoon__reader *rd)
{
	for (unsigned i = 0; i < RING; i++)
		free(rd->ring[i].mem);
	free(rd->join);
	pthread_cond_destroy(&rd->emptied);
	pthread_cond_destroy(&rd->filled);
	pthread_mutex_destroy(&rd->mu);
	free(rd);
}

int netmoon__source_open_thread(struct netmoon__source *src, int fd, bool close_fd,
				size_t buffer_size)
{
	struct netmoon__reader *rd;
	sigset_t all, old;
	int rc;

	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	if (pthread_mutex_init(&rd->mu, NULL)) {
		free(rd);
		return -ENOMEM;
	}
	pthread_cond_init(&rd->filled, NULL);
	pthread_cond_init(&rd->emptied, NULL);
	/* buffer_size is the whole ring; a chunk is a quarter of it. */
	rd->chunk_size = (buffer_size ? buffer_size : NETMOON__DEFAULT_BUFFER) / RING;
	if (rd->chunk_size < MIN_CHUNK)
		rd->chunk_size = MIN_CHUNK;
	rd->fd = fd;
	for (unsigned i = 0; i < RING; i++) {
		rd->ring[i].mem = malloc(HEADROOM + rd->chunk_size);
		if (!rd->ring[i].mem) {
			reader_free(rd);
			return -ENOMEM;
		}
	}

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&rd->thread, NULL, reader_main, rd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		reader_free(rd);
		return -rc;
	}

	memset(src, 0, sizeof(*src));
	src->kind = NETMOON__SRC_THREAD;
	src->fd = fd;
	src->close_fd = close_fd;
	src->rd = rd;
	src->base = src->cur = src->end = rd->ring[0].mem + HEADROOM;
	return 0;
}

void netmoon__source_close_thread(struct netmoon__source *src)
{
	struct netmoon__reader *rd = src->rd;

	pthread_mutex_lock(&rd->mu);
	rd->stop = true;
	pthread_cond_signal(&rd->emptied);
	pthread_mutex_unlock(&rd->mu);
	pthread_join(rd->thread, NULL);
	reader_free(rd);
	if (src->close_fd)
		close(src->fd);
}

/* Give the held chunk back to the reader.  Called with the lock held. */
static void reader_release(struct netmoon__reader *rd)
{
	if (!rd->held)
		return;
	rd->held = false;
	rd->head++;
	rd->count--;
	pthread_cond_signal(&rd->emptied);
}

/* Move the window onto [p, p + len), whose first byte is at input offset off. */
static void window_move(struct netmoon__source *src, uint64_t off, const uint8_t *p, size_t len)
{
	src->base_off = off;
	src->base = p;
	src->cur = p;
	src->end = p + len;
}

int netmoon__source_fill_thread(struct netmoon__source *src, size_t n)
{
	struct netmoon__reader *rd = src->rd;

	if (n > NETMOON__MAX_RECORD + 64)
		return -EFBIG;
	while (netmoon__source_avail(src) < n) {
		size_t have = netmoon__source_avail(src);
		uint64_t off = netmoon__source_offset(src);
		struct rd_chunk *c;
		int err;

		pthread_mutex_lock(&rd->mu);
		/* The held chunk (if any) is ring[head]; the next one follows it. */
		while (rd->count < (rd->held ? 2u : 1u) && !rd->eof && !rd->err)
			pthread_cond_wait(&rd->filled, &rd->mu);
		if (rd->count < (rd->held ? 2u : 1u)) {
			err = rd->err;
			pthread_mutex_unlock(&rd->mu);
			return err ? err : 1;
		}
		pthread_mutex_unlock(&rd->mu);
		c = &rd->ring[(rd->head + (rd->held ? 1u : 0u)) % RING];

		if (have <= HEADROOM) {
			/* The usual case: the tail goes right before the new data. */
			uint8_t *p = c->mem + HEADROOM - have;

			memcpy(p, src->cur, have);
			pthread_mutex_lock(&rd->mu);
			reader_release(rd);
			rd->held = true;
			pthread_mutex_unlock(&rd->mu);
			window_move(src, off, p, have + c->len);
		} else {
			/* A long record: join tail and chunk in the join buffer. */
			size_t need = have + c->len;

			if (need > rd->join_size) {
				size_t sz = rd->join_size ? rd->join_size : HEADROOM;
				uint8_t *nj;

				while (sz < need)
					sz *= 2;
				nj = malloc(sz);
				if (!nj)
					return -ENOMEM;
				memcpy(nj, src->cur, have);
				free(rd->join);
				rd->join = nj;
				rd->join_size = sz;
			} else {
				memmove(rd->join, src->cur, have); /* cur may be in join */
			}
			memcpy(rd->join + have, c->mem + HEADROOM, c->len);
			pthread_mutex_lock(&rd->mu);
			reader_release(rd); /* the chunk the tail came from, if any */
			rd->held = true;    /* c, now copied ... */
			reader_release(rd); /* ... goes back at once */
			pthread_mutex_unlock(&rd->mu);
			window_move(src, off, rd->join, need);
		}
	}
	return 0;
}
