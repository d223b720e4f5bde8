/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor: capture -> parse -> track, in one or two threads, with
 * snapshots and counters for other threads.
 *
 * Two threads (live only): the capture thread takes ring blocks in order
 * and pushes their indices into a bounded single-producer/single-consumer
 * queue (as deep as the ring: the kernel cannot fill more blocks than it
 * has, so a push never waits); the parser thread (the caller of run())
 * pops them, parses and tracks their packets in place and gives each block
 * back to the kernel.  Nothing is copied.
 *
 * Locking: the parser holds m->mu while it changes the table or the shared
 * counters (per burst of up to BATCH frames, a few microseconds); snapshots
 * and get_stats() take it to copy.  The queue has its own lock, taken once
 * per block.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netmoon/monitor.h>

#include "capture_int.h"
#include "conntable_int.h"

#define BATCH 256
#define DEFAULT_TICK_MS 100

_Static_assert(NETMOON_FRAME_R__COUNT <= 32, "monitor_stats.rejects is too small");

struct netmoon_monitor {
	struct netmoon_capture *cap;
	struct netmoon_conntable *ct;
	netmoon_monitor_packet_cb on_packet;
	void *user;
	int threads;
	bool live;
	int tick_ms;
	atomic_int stop;
	atomic_int running;

	pthread_mutex_t mu; /* the table and st */
	struct netmoon_monitor_stats st;

	/* Two threads: the block queue. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	uint32_t *q;
	uint32_t qcap, qhead, qlen;
	bool cap_done; /* the capture thread ended (stop, end or error) */
	int cap_err;
	bool parser_waiting;
	/* Blocks the capture thread took that the parser has not given back
	 * (queued, held or being parsed); the capture thread waits on ccv for
	 * them to come back. */
	uint32_t outstanding;
	pthread_cond_t ccv;
	bool cap_waiting;

	/* Live: the block a run() ended in the middle of, resumed first by the
	 * next run(); blocks still queued stay queued (qhead, qlen). */
	bool held;
	uint32_t held_idx;
	struct netmoon__live_iter held_it;

	/* The parser's own. */
	uint64_t max_packets;
	size_t nb;
	struct netmoon_frame batch[BATCH];
	int64_t batch_ts[BATCH];
	struct netmoon_packet pkt;
};

struct netmoon_snapshot {
	size_t n;
	int64_t now;
	struct netmoon_monitor_stats st;
	struct netmoon_conn *conns;
};

/* CLOCK_REALTIME (what pthread_cond_timedwait() uses) in ms from now. */
static void deadline_in(struct timespec *dl, int ms)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_nsec += (long)ms * 1000000L;
	dl->tv_sec += dl->tv_nsec / 1000000000L;
	dl->tv_nsec %= 1000000000L;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the parser's work ---------------------------------------------------- */

/* Track the batch (under the lock); a hook's error comes back. */
static int flush_batch(struct netmoon_monitor *m)
{
	int64_t r = 0;

	if (!m->nb)
		return 0;
	pthread_mutex_lock(&m->mu);
	r = netmoon_conntable_track_burst(m->ct, m->batch, m->batch_ts, m->nb);
	pthread_mutex_unlock(&m->mu);
	m->nb = 0;
	return r < 0 && r != NETMOON_E_TABLE_FULL ? (int)r : 0;
}

/* One packet: the callback, decoding into the batch, tracking when full. */
static int take_packet(struct netmoon_monitor *m, const struct netmoon_packet *pkt)
{
	struct netmoon_frame *f = &m->batch[m->nb];
	int r;

	if (m->on_packet) {
		r = m->on_packet(pkt, m->user);
		if (r < 0)
			return r;
	}
	f->sz = sizeof(*f);
	r = netmoon_frame_parse(f, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen);
	/* Shared counters, but only this thread writes them: relaxed stores. */
	__atomic_store_n(&m->st.packets, m->st.packets + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->st.bytes, m->st.bytes + pkt->wirelen, __ATOMIC_RELAXED);
	if (r > 0 && r < NETMOON_FRAME_R__COUNT)
		__atomic_store_n(&m->st.rejects[r], m->st.rejects[r] + 1, __ATOMIC_RELAXED);
	m->batch_ts[m->nb++] = pkt->ts_ns;
	if (m->nb == BATCH)
		return flush_batch(m);
	return 0;
}

static bool enough(const struct netmoon_monitor *m)
{
	return atomic_load_explicit(&m->stop, memory_order_relaxed) ||
	       (m->max_packets && m->st.packets >= m->max_packets);
}

/* Time passes without packets: expire by the wall clock. */
static int tick(struct netmoon_monitor *m)
{
	int64_t r;

	r = flush_batch(m);
	if (r < 0)
		return (int)r;
	pthread_mutex_lock(&m->mu);
	r = netmoon_conntable_expire(m->ct, wall_ns(), 0);
	pthread_mutex_unlock(&m->mu);
	return r < 0 ? (int)r : 0;
}

/*
 * The packets of ring block idx from *it on; the block goes back to the
 * kernel once walked.  A run that ends in its middle (max_packets, stop, an
 * error) keeps it for the next run(): its packets are not lost.
 */
static int do_block(struct netmoon_monitor *m, uint32_t idx, struct netmoon__live_iter *it)
{
	int r = 0;

	while (!r && !enough(m)) {
		if (netmoon__live_block_next(m->cap, it, &m->pkt) != 1) {
			/* Decoded frames do not point into the block: it can go now. */
			netmoon__live_block_release(m->cap, idx);
			__atomic_store_n(&m->st.blocks, m->st.blocks + 1, __ATOMIC_RELAXED);
			if (m->threads == 2) {
				pthread_mutex_lock(&m->qmu);
				m->outstanding--;
				if (m->cap_waiting)
					pthread_cond_signal(&m->ccv);
				pthread_mutex_unlock(&m->qmu);
			}
			return 0;
		}
		r = take_packet(m, &m->pkt);
	}
	m->held = true;
	m->held_idx = idx;
	m->held_it = *it;
	return r;
}

static int new_block(struct netmoon_monitor *m, uint32_t idx)
{
	struct netmoon__live_iter it;

	netmoon__live_block_begin(m->cap, idx, &it);
	return do_block(m, idx, &it);
}

/* The block the previous run() ended in, before any other. */
static int resume_block(struct netmoon_monitor *m)
{
	struct netmoon__live_iter it = m->held_it;
	int r;

	if (!m->held)
		return 0;
	m->held = false;
	r = do_block(m, m->held_idx, &it);
	return r ? r : flush_batch(m);
}

static int run_file(struct netmoon_monitor *m)
{
	const struct netmoon_packet *pkt;
	int r = 0;

	while (!r && !enough(m)) {
		r = netmoon_capture_next(m->cap, &pkt);
		if (r == 1)
			r = take_packet(m, pkt);
		else if (r == -EAGAIN || r == NETMOON_E_BREAK)
			r = 0;
		else
			break; /* 0: the end */
	}
	return r;
}

static int run_live_one(struct netmoon_monitor *m)
{
	int r = resume_block(m);

	while (!r && !enough(m)) {
		uint32_t idx;

		r = netmoon__live_block_take(m->cap, &idx);
		if (r == 1)
			r = new_block(m, idx);
		else if (r == -EAGAIN || r == NETMOON_E_BREAK)
			r = tick(m);
		if (!r) {
			/* A block may end mid-burst: track it before waiting again. */
			r = flush_batch(m);
		}
	}
	return r;
}

/* --- two threads ------------------------------------------------------------ */

static void *capture_main(void *arg)
{
	struct netmoon_monitor *m = arg;
	int r = 0;

	while (!atomic_load_explicit(&m->stop, memory_order_relaxed)) {
		uint32_t idx;
		bool busy;

		/*
		 * While the newest block taken is still the parser's, poll()
		 * reports the socket readable (the kernel's test is "the block
		 * before the one it fills is not TP_STATUS_KERNEL"): wait for
		 * the parser to give blocks back instead of spinning in it.
		 */
		pthread_mutex_lock(&m->qmu);
		if (m->outstanding && !atomic_load_explicit(&m->stop, memory_order_relaxed)) {
			struct timespec dl;

			deadline_in(&dl, m->tick_ms);
			m->cap_waiting = true;
			pthread_cond_timedwait(&m->ccv, &m->qmu, &dl);
			m->cap_waiting = false;
		}
		busy = m->outstanding != 0;
		pthread_mutex_unlock(&m->qmu);
		if (busy)
			continue;

		r = netmoon__live_block_take(m->cap, &idx);
		if (r == -EAGAIN || r == NETMOON_E_BREAK) {
			r = 0;
			continue;
		}
		if (r != 1)
			break;
		r = 0;
		pthread_mutex_lock(&m->qmu);
		/* Never full: at most qcap blocks exist, and each is queued once. */
		m->q[(m->qhead + m->qlen) % m->qcap] = idx;
		m->qlen++;
		m->outstanding++;
		if (m->qlen > m->st.queue_hwm)
			__atomic_store_n(&m->st.queue_hwm, (uint64_t)m->qlen, __ATOMIC_RELAXED);
		if (m->parser_waiting)
			pthread_cond_signal(&m->qcv);
		pthread_mutex_unlock(&m->qmu);
	}
	pthread_mutex_lock(&m->qmu);
	m->cap_done = true;
	m->cap_err = r;
	pthread_cond_signal(&m->qcv);
	pthread_mutex_unlock(&m->qmu);
	return NULL;
}

static int run_live_two(struct netmoon_monitor *m)
{
	sigset_t all, old;
	pthread_t th;
	int r = 0, rc;

	/* Blocks the previous run() left in the queue are still in it. */
	m->cap_done = false;
	m->cap_err = 0;
	r = resume_block(m);
	if (r || enough(m))
		return r;
	/* Signals go to the caller's threads, not to ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&th, NULL, capture_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;

	for (;;) {
		uint32_t idx = 0;
		bool have = false, done, quit = r || enough(m);

		pthread_mutex_lock(&m->qmu);
		if (quit && m->cap_waiting)
			pthread_cond_signal(&m->ccv); /* it may be waiting for blocks back */
		if ((quit || !m->qlen) && !m->cap_done) {
			struct timespec dl;

			deadline_in(&dl, m->tick_ms);
			m->parser_waiting = true;
			pthread_cond_timedwait(&m->qcv, &m->qmu, &dl);
			m->parser_waiting = false;
		}
		if (!quit && m->qlen) {
			idx = m->q[m->qhead];
			m->qhead = (m->qhead + 1) % m->qcap;
			m->qlen--;
			have = true;
		}
		/* Stopping: what is queued stays queued for the next run(). */
		done = m->cap_done && (quit || !m->qlen);
		pthread_mutex_unlock(&m->qmu);

		if (have)
			r = new_block(m, idx);
		else if (!quit)
			r = tick(m);
		if (!r)
			r = flush_batch(m);
		if ((r || enough(m)) && !atomic_load(&m->stop)) {
			/* Stop the capture thread too, then drain the queue. */
			atomic_store(&m->stop, 1);
			netmoon_capture_breakloop(m->cap);
		}
		if (done)
			break;
	}
	pthread_join(th, NULL);
	return r ? r : m->cap_err;
}

/* --- public ------------------------------------------------------------------ */

NETMOON_API int netmoon_monitor_new(struct netmoon_monitor **out, struct netmoon_capture *cap,
				    const struct netmoon_monitor_opts *opts)
{
	struct netmoon_monitor *m;
	int threads, r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cap || !OPTS_VALID(opts, netmoon_monitor_opts))
		return -EINVAL;
	threads = OPTS_GET(opts, threads, 0);
	if (threads < 0 || threads > 2)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cap = cap;
	m->live = netmoon__capture_is_live(cap);
	m->threads = m->live && threads == 2 ? 2 : 1;
	m->on_packet = OPTS_GET(opts, on_packet, NULL);
	m->user = OPTS_GET(opts, user, NULL);
	m->tick_ms = (int)OPTS_GET(opts, tick_ms, 0);
	if (m->tick_ms <= 0)
		m->tick_ms = DEFAULT_TICK_MS;
	atomic_init(&m->stop, 0);
	atomic_init(&m->running, 0);
	m->st.sz = sizeof(m->st);
	r = netmoon_conntable_new(&m->ct, OPTS_GET(opts, table, NULL));
	if (r) {
		free(m);
		return r;
	}
	if (OPTS_GET(opts, hooks, NULL)) {
		r = netmoon_conntable_set_hooks(m->ct, opts->hooks, m->user);
		if (r) {
			netmoon_conntable_free(m->ct);
			free(m);
			return r;
		}
	}
	if (m->live) {
		m->qcap = netmoon__live_block_count(cap);
		m->q = calloc(m->qcap, sizeof(*m->q));
		if (!m->q) {
			netmoon_conntable_free(m->ct);
			free(m);
			return -ENOMEM;
		}
	}
	{
		/* Recursive: hooks run under it and may read the stats or take a snapshot. */
		pthread_mutexattr_t ma;

		pthread_mutexattr_init(&ma);
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&m->mu, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	pthread_mutex_init(&m->qmu, NULL);
	pthread_cond_init(&m->qcv, NULL);
	pthread_cond_init(&m->ccv, NULL);
	m->pkt.sz = sizeof(m->pkt);
	*out = m;
	return 0;
}

NETMOON_API int netmoon_monitor_run(struct netmoon_monitor *m, uint64_t max_packets)
{
	int expected = 0, r;

	if (!m)
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&m->running, &expected, 1))
		return -EBUSY;
	/* A limit past what a uint64_t counts is no limit (and must not wrap). */
	m->max_packets = max_packets && max_packets <= UINT64_MAX - m->st.packets
				 ? m->st.packets + max_packets
				 : 0;
	if (m->live)
		netmoon__live_set_timeout(m->cap, m->tick_ms);
	if (!m->live)
		r = run_file(m);
	else if (m->threads == 2)
		r = run_live_two(m);
	else
		r = run_live_one(m);
	if (r >= 0)
		r = flush_batch(m);
	else
		(void)flush_batch(m);
	if (!m->live)
		atomic_store(&m->cap->break_loop, 0); /* files never consume it */
	atomic_store(&m->stop, 0);
	atomic_store(&m->running, 0);
	return r;
}

NETMOON_API void netmoon_monitor_stop(struct netmoon_monitor *m)
{
	if (!m)
		return;
	atomic_store(&m->stop, 1);
	netmoon_capture_breakloop(m->cap);
}

NETMOON_API int64_t netmoon_monitor_flush(struct netmoon_monitor *m)
{
	int64_t r;

	if (!m)
		return -EINVAL;
	if (atomic_load(&m->running))
		return -EBUSY;
	pthread_mutex_lock(&m->mu);
	r = netmoon_conntable_flush(m->ct);
	pthread_mutex_unlock(&m->mu);
	return r;
}

/* The counters as of now; called with m->mu held. */
static void stats_locked(struct netmoon_monitor *m, struct netmoon_monitor_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->sz = sizeof(*s);
	s->packets = __atomic_load_n(&m->st.packets, __ATOMIC_RELAXED);
	s->bytes = __atomic_load_n(&m->st.bytes, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < NETMOON_FRAME_R__COUNT; i++)
		s->rejects[i] = __atomic_load_n(&m->st.rejects[i], __ATOMIC_RELAXED);
	s->blocks = __atomic_load_n(&m->st.blocks, __ATOMIC_RELAXED);
	s->queue_hwm = __atomic_load_n(&m->st.queue_hwm, __ATOMIC_RELAXED);
	if (m->live)
		netmoon__live_kernel_stats(m->cap, &s->kernel_received, &s->kernel_dropped,
					   &s->kernel_freezes);
	s->table.sz = sizeof(s->table);
	netmoon_conntable_get_stats(m->ct, &s->table);
}

NETMOON_API int netmoon_monitor_get_stats(struct netmoon_monitor *m,
					  struct netmoon_monitor_stats *st)
{
	struct netmoon_monitor_stats s;

	if (!m || !st)
		return -EINVAL;
	pthread_mutex_lock(&m->mu);
	stats_locked(m, &s);
	pthread_mutex_unlock(&m->mu);
	return netmoon__copy_out(st, &s, sizeof(s));
}

NETMOON_API int netmoon_monitor_snapshot(struct netmoon_monitor *m,
					 struct netmoon_snapshot **out)
{
	struct netmoon_snapshot *s;
	size_t want;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&m->mu);
	for (;;) {
		struct netmoon_conn *c;

		want = netmoon__conntable_active(m->ct);
		if (want <= s->n && s->conns)
			break;
		/* Allocate without holding the parser up, then look again. */
		pthread_mutex_unlock(&m->mu);
		want += want / 8 + 16;
		c = realloc(s->conns, want * sizeof(*c));
		if (!c) {
			free(s->conns);
			free(s);
			return -ENOMEM;
		}
		s->conns = c;
		s->n = want;
		pthread_mutex_lock(&m->mu);
	}
	s->n = netmoon__conntable_copy(m->ct, s->conns, s->n);
	s->now = netmoon__conntable_now(m->ct);
	if (s->now == INT64_MIN)
		s->now = 0; /* nothing tracked yet */
	stats_locked(m, &s->st);
	pthread_mutex_unlock(&m->mu);
	*out = s;
	return 0;
}

NETMOON_API size_t netmoon_snapshot_count(const struct netmoon_snapshot *snap)
{
	return snap ? snap->n : 0;
}

NETMOON_API const struct netmoon_conn *netmoon_snapshot_conn(const struct netmoon_snapshot *snap,
							      size_t i)
{
	if (!snap || i >= snap->n)
		return NULL;
	return &snap->conns[i];
}

NETMOON_API int netmoon_snapshot_get_stats(const struct netmoon_snapshot *snap,
					   struct netmoon_monitor_stats *st, int64_t *now_ns)
{
	if (!snap || !st)
		return -EINVAL;
	if (now_ns)
		*now_ns = snap->now;
	return netmoon__copy_out(st, &snap->st, sizeof(snap->st));
}

NETMOON_API void netmoon_snapshot_free(struct netmoon_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->conns);
	free(snap);
}

NETMOON_API void netmoon_monitor_free(struct netmoon_monitor *m)
{
	if (!m)
		return;
	/* Blocks kept for a next run() go back to the kernel, in ring order. */
	if (m->held)
		netmoon__live_block_release(m->cap, m->held_idx);
	for (; m->qlen; m->qlen--, m->qhead = (m->qhead + 1) % m->qcap)
		netmoon__live_block_release(m->cap, m->q[m->qhead]);
	netmoon_conntable_free(m->ct);
	pthread_cond_destroy(&m->ccv);
	pthread_cond_destroy(&m->qcv);
	pthread_mutex_destroy(&m->qmu);
	pthread_mutex_destroy(&m->mu);
	free(m->q);
	free(m);
}
