/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The walker: the seed design's capture/parser split, for mapped captures.
 *
 * With netmoon_capture_file_opts::read_thread set on a capture whose bytes
 * are all addressable (use_mmap on a regular file, or
 * netmoon_capture_open_mem()), a second thread runs the format backend and
 * publishes what it finds, in batches, as packet descriptors pointing into
 * the mapping; the caller's thread takes them from netmoon_capture_next()
 * and is left with its own work (parsing frames, tracking connections).  No
 * packet byte is copied: only the 40-byte descriptors cross between the
 * cores, and the walker's streaming prefetch (netmoon__source_stream()) has
 * already brought the packets into the shared cache by the time the caller
 * reads them.  (The read-ahead thread of source_thread.c moves the kernel's
 * copy to the other core instead, and every byte then crosses.)  Once the
 * caller asks for frames (netmoon_capture_next_frame()), the walker also
 * decodes the packets of every batch it fills from then on; it starts
 * walking at the caller's first request, so a caller that asks for frames
 * from the start gets every packet decoded ahead.
 *
 * The backend's state moves into walker->inner at start, a handle only the
 * walker thread touches until it has published its last batch; the caller's
 * handle gets the walker as its backend.  The ring is single producer,
 * single consumer: head and tail are batch counts, and either side sleeps
 * on a condition variable only when the ring is full (the walker, until the
 * caller has emptied half of it) or empty (the caller).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture_int.h"

#define WALK_BATCH 128 /* packets per batch */
#define WALK_RING 32   /* batches: 4096 packets in flight (about 1 MB with their frames) */
#define WALK_PREFETCH 4 /* the caller's packets prefetched ahead */

struct walk_slot {
	const uint8_t *data;
	uint64_t off; /* input offset after this packet, for get_stats() */
	int64_t ts_ns;
	uint32_t caplen;
	uint32_t wirelen;
	uint32_t linktype;
	uint32_t ifindex;
};

struct walk_batch {
	uint32_t n;
	int end;      /* 1: more batches follow; else the backend's final result */
	bool decoded; /* frames[] holds the slots' packets decoded */
	struct walk_slot s[WALK_BATCH];
	struct netmoon_frame frames[WALK_BATCH];
};

struct netmoon__walker {
	struct netmoon_capture inner; /* the backend's handle: the walker thread's */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t filled;  /* the caller waits for a batch */
	pthread_cond_t emptied; /* the walker waits for free batches */
	atomic_uint head;       /* batches published */
	atomic_uint tail;       /* batches given back */
	atomic_bool walker_waits;
	atomic_bool caller_waits;
	atomic_bool stop;
	bool go;                 /* under mu: the caller asked for its first packet */
	atomic_bool want_frames; /* the caller asked for a frame: decode from now on */
	/* The caller's side. */
	const struct walk_batch *cur;
	uint32_t pos;
	uint64_t off;
	struct walk_batch ring[WALK_RING];
};

/* Wait until the walker may fill batch @head; false when asked to stop. */
static bool walk_wait_space(struct netmoon__walker *w, unsigned head)
{
	if (netmoon__likely(head - atomic_load(&w->tail) < WALK_RING))
		return !atomic_load_explicit(&w->stop, memory_order_relaxed);
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->walker_waits, true);
	/* Sleep until half the ring is free: one wake-up per WALK_RING / 2 batches. */
	while (head - atomic_load(&w->tail) > WALK_RING / 2 && !atomic_load(&w->stop))
		pthread_cond_wait(&w->emptied, &w->mu);
	atomic_store(&w->walker_waits, false);
	pthread_mutex_unlock(&w->mu);
	return !atomic_load(&w->stop);
}

static void *walk_main(void *arg)
{
	struct netmoon__walker *w = arg;
	struct netmoon_capture *in = &w->inner;
	unsigned head = 0;
	int r = 1;

	/*
	 * Nothing is read before the caller asks for a packet: a handle opened
	 * for its link type costs nothing, and a caller of
	 * netmoon_capture_next_frame() gets frames decoded from the first.
	 */
	pthread_mutex_lock(&w->mu);
	while (!w->go && !atomic_load(&w->stop))
		pthread_cond_wait(&w->emptied, &w->mu);
	pthread_mutex_unlock(&w->mu);

	while (r == 1 && walk_wait_space(w, head)) {
		struct walk_batch *b = &w->ring[head % WALK_RING];
		bool decode = atomic_load_explicit(&w->want_frames, memory_order_relaxed);
		uint32_t n = 0;

		/* Closing does not wait for a batch of hostile records. */
		while (n < WALK_BATCH && !atomic_load_explicit(&w->stop, memory_order_relaxed) &&
		       (r = in->ops->next(in)) == 1) {
			struct walk_slot *s = &b->s[n];

			s->data = in->pkt.data;
			s->off = netmoon__source_offset(&in->src);
			s->ts_ns = in->pkt.ts_ns;
			s->caplen = in->pkt.caplen;
			s->wirelen = in->pkt.wirelen;
			s->linktype = in->pkt.linktype;
			s->ifindex = in->pkt.ifindex;
			if (decode) {
				b->frames[n].sz = sizeof(b->frames[n]);
				(void)netmoon_frame_parse(&b->frames[n], s->linktype, s->data,
							  s->caplen, s->wirelen);
			}
			n++;
		}
		b->n = n;
		b->end = r;
		b->decoded = decode;
		atomic_store(&w->head, ++head);
		if (atomic_load(&w->caller_waits)) {
			pthread_mutex_lock(&w->mu);
			pthread_cond_signal(&w->filled);
			pthread_mutex_unlock(&w->mu);
		}
	}
	return NULL;
}

/* The caller is done with its batch: give it back, waking the walker if due. */
static void walk_release(struct netmoon__walker *w)
{
	unsigned tail = atomic_load_explicit(&w->tail, memory_order_relaxed) + 1;

	atomic_store(&w->tail, tail);
	w->cur = NULL;
	if (atomic_load(&w->walker_waits) &&
	    atomic_load(&w->head) - tail <= WALK_RING / 2) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->emptied);
		pthread_mutex_unlock(&w->mu);
	}
}

static const struct walk_batch *walk_take(struct netmoon__walker *w)
{
	unsigned tail = atomic_load_explicit(&w->tail, memory_order_relaxed);

	if (atomic_load(&w->head) == tail) {
		pthread_mutex_lock(&w->mu);
		if (!w->go) {
			w->go = true;
			pthread_cond_signal(&w->emptied);
		}
		atomic_store(&w->caller_waits, true);
		while (atomic_load(&w->head) == tail)
			pthread_cond_wait(&w->filled, &w->mu);
		atomic_store(&w->caller_waits, false);
		pthread_mutex_unlock(&w->mu);
	}
	w->pos = 0;
	return w->cur = &w->ring[tail % WALK_RING];
}

static int walk_next(struct netmoon_capture *cap)
{
	struct netmoon__walker *w = cap->priv;
	const struct walk_batch *b = w->cur;

	for (;;) {
		if (!b)
			b = walk_take(w);
		if (netmoon__likely(w->pos < b->n)) {
			const struct walk_slot *s = &b->s[w->pos++];

			/* The caller decodes the packets of a batch the walker did
			 * not: their first bytes, ahead.  (In integers: the last
			 * packet's second line may lie past the mapping.) */
			if (!b->decoded && w->pos + WALK_PREFETCH < b->n) {
				uintptr_t ahead = (uintptr_t)b->s[w->pos + WALK_PREFETCH].data;

				__builtin_prefetch((const void *)ahead, 0, 3);
				__builtin_prefetch((const void *)(ahead + 64), 0, 3);
			}
			cap->pkt.data = s->data;
			cap->pkt.caplen = s->caplen;
			cap->pkt.wirelen = s->wirelen;
			cap->pkt.ts_ns = s->ts_ns;
			cap->pkt.linktype = s->linktype;
			cap->pkt.ifindex = s->ifindex;
			w->off = s->off;
			return 1;
		}
		if (b->end != 1) {
			/* The walker has stopped: its handle is quiet now. */
			if (b->end < 0)
				memcpy(cap->errmsg, w->inner.errmsg, sizeof(cap->errmsg));
			w->off = netmoon__source_offset(&w->inner.src);
			return b->end;
		}
		walk_release(w);
		b = NULL;
	}
}

static void walk_want_frames(struct netmoon_capture *cap)
{
	struct netmoon__walker *w = cap->priv;

	atomic_store_explicit(&w->want_frames, true, memory_order_relaxed);
}

/* The frame of the packet walk_next() returned last, when its batch was decoded. */
static const struct netmoon_frame *walk_frame(struct netmoon_capture *cap)
{
	struct netmoon__walker *w = cap->priv;

	if (netmoon__likely(w->cur->decoded))
		return &w->cur->frames[w->pos - 1];
	return NULL;
}

/*
 * The offset after the packet handed out last.  (The file backends have no
 * stats op of their own; one added later could not be asked here while the
 * walker runs its backend.)
 */
static void walk_stats(const struct netmoon_capture *cap, struct netmoon_capture_stats *st)
{
	const struct netmoon__walker *w = cap->priv;

	st->file_offset = w->off;
}

static void walk_close(struct netmoon_capture *cap)
{
	struct netmoon__walker *w = cap->priv;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, true);
	pthread_cond_signal(&w->emptied);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->inner.ops && w->inner.ops->close)
		w->inner.ops->close(&w->inner);
	netmoon__source_close(&w->inner.src);
	pthread_cond_destroy(&w->emptied);
	pthread_cond_destroy(&w->filled);
	pthread_mutex_destroy(&w->mu);
	free(w);
	cap->priv = NULL;
}

static const struct netmoon_capture_ops walk_ops = {
	.name = "walker",
	.next = walk_next,
	.stats = walk_stats,
	.close = walk_close,
	.frame = walk_frame,
	.want_frames = walk_want_frames,
};

int netmoon__walk_start(struct netmoon_capture *cap)
{
	struct netmoon__walker *w;
	sigset_t all, old;
	int rc;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	rc = pthread_mutex_init(&w->mu, NULL);
	if (rc)
		goto err_free;
	rc = pthread_cond_init(&w->filled, NULL);
	if (rc)
		goto err_mu;
	rc = pthread_cond_init(&w->emptied, NULL);
	if (rc)
		goto err_filled;
	/* Hand the backend to the walker: its state, bytes and messages. */
	w->inner.ops = cap->ops;
	w->inner.priv = cap->priv;
	w->inner.src = cap->src;
	w->inner.pkt = cap->pkt;
	w->inner.linktype = cap->linktype;
	w->inner.name = cap->name;
	w->off = netmoon__source_offset(&cap->src);

	/*
	 * Every signal is the caller's, but those a fault raises: a blocked
	 * SIGBUS (the file truncated under the mapping) kills the process
	 * without running the application's handler.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, walk_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_emptied; /* the backend stays with the caller's handle */
	netmoon__source_open_mem(&cap->src, "", 0);
	cap->ops = &walk_ops;
	cap->priv = w;
	return 0;

err_emptied:
	pthread_cond_destroy(&w->emptied);
err_filled:
	pthread_cond_destroy(&w->filled);
err_mu:
	pthread_mutex_destroy(&w->mu);
err_free:
	free(w);
	return -rc;
}
