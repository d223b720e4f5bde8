/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the connection table under arbitrary packet sequences.
 *
 * The input is a small header (table options) followed by records: packets
 * (time delta, link type, frame bytes, parsed with netmoon_frame_parse()),
 * synthesised replies to the previous TCP packet, expiry at chosen times,
 * bursts, flushes and time jumps.  Two tables see the same sequence: table A
 * through netmoon_conntable_track(), one packet at a time, and table B
 * through netmoon_conntable_track_burst(), whose header promises exactly the
 * same result.  Hooks on both keep a model of which connections are alive;
 * after every step the model, the table's counters and an iteration over
 * the table must agree, and A and B must be identical.  Any disagreement
 * calls abort(), so libFuzzer reports it as a crash.
 *
 * Header (missing bytes read as zero):
 *   h0  bits 0-4: max_conns - 1 (small, so eviction runs); bit 5
 *       NETMOON_CT_F_IGNORE_VLAN; bit 6 NETMOON_CT_F_NO_EVICT; bit 7: table
 *       B's frames have a larger stride than sizeof(struct netmoon_frame)
 *   h1  2 bits each: idle, SYN, established, closing timeouts
 *   h2  2 bits each: closed, UDP, ICMP, other timeouts
 *       (0 = default, 1 = 1 ms, 2 = 1 s, 3 = 120 s)
 *   h3  bits 0-2: start time; bits 3-5: hooks fail every Kth call;
 *       bits 6-7: fragment slots
 *   h4  emergency mode: bits 0-1 high-water mark (90 %, never, 50 %, 100 %),
 *       bits 2-3 low-water mark (default, 1 %, 25 %, 49 %), bits 4-5 its
 *       timeout (default, 1 ms, 1 s, 120 s)
 * Records: an op byte, then its arguments; see run_op().
 *
 * Built with -fsanitize=fuzzer for libFuzzer, or with a replay main() for
 * plain gcc builds (each file argument is one input).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 2048
#define MAX_BURST 64
#define MAX_CONNS_CAP 32
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

/* Say what broke, then crash so that the fuzzer keeps the input. */
#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz-conntable: invariant broken at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond);                              \
			abort();                                                         \
		}                                                                        \
	} while (0)

static const uint32_t linktypes[] = { 0, 1, 12, 14, 101, 113, 228, 229, 276, 147 };

/* Timeout classes as conntable.h's options name them. */
enum { TC_SYN, TC_EST, TC_CLOSING, TC_CLOSED, TC_UDP, TC_ICMP, TC_OTHER, TC_N };

/*
 * A time delta: bits 0-1 the unit (ns, us, ms, s), bit 2 the sign, the
 * other 13 bits the amount.  Negative deltas test "time never goes back".
 */
static int64_t get_delta(struct in *in)
{
	static const int64_t unit[] = { 1, 1000, MS, SEC };
	uint16_t v = get16(in);
	int64_t d = (int64_t)(v >> 3) * unit[v & 3];

	return (v & 4) ? -d : d;
}

/* What the hooks of one table have seen. */
struct model {
	struct netmoon_conntable *ct;
	uint64_t live[MAX_CONNS_CAP];
	unsigned nlive;
	uint32_t max_conns;
	uint32_t flags;
	int64_t timeout[TC_N];
	int64_t emergency_timeout;
	uint32_t high_pct, low_pct;
	bool emergency;
	uint64_t emergencies;
	uint64_t evicted_embryonic;
	int64_t now_hi;          /* no hook runs at a table time after this */
	uint64_t created;
	uint64_t removed[6];     /* by enum netmoon_remove_reason */
	uint64_t removed_pkts;
	uint64_t hash;           /* of every hook event, in order */
	uint64_t calls;
	unsigned fail_every;     /* a hook returns -EIO on every Kth call; 0 = never */
	bool probe_busy;
	const struct netmoon_frame *probe_frame;
};

static void mix(struct model *m, uint64_t v)
{
	m->hash = (m->hash ^ v) * UINT64_C(0x100000001b3);
}

static int live_find(const struct model *m, uint64_t id)
{
	for (unsigned i = 0; i < m->nlive; i++)
		if (m->live[i] == id)
			return (int)i;
	return -1;
}

static void info_of(const struct netmoon_conn *c, struct netmoon_conn_info *info)
{
	memset(info, 0, sizeof(*info));
	info->sz = sizeof(*info);
	CHECK(netmoon_conn_get_info(c, info) == 0);
}

static bool tcp_state(int st)
{
	return st >= NETMOON_CONN_SYN_SENT && st <= NETMOON_CONN_RESET;
}

/* A state an entry may have while it is in the table. */
static void check_live_info(const struct model *m, const struct netmoon_conn_info *ci)
{
	CHECK(ci->id >= 1 && ci->id <= m->created);
	CHECK(ci->ip_version == 4 || ci->ip_version == 6);
	CHECK(ci->vlan_count <= 2);
	CHECK(ci->reserved0 == 0);
	if (ci->proto == 6)
		CHECK(tcp_state(ci->state) && ci->state != NETMOON_CONN_CLOSED);
	else
		CHECK(ci->state == NETMOON_CONN_ACTIVE);
	CHECK(ci->ts_first_ns <= ci->ts_last_ns);
	CHECK(ci->ts_last_ns <= m->now_hi);
	CHECK(ci->orig.pkts + ci->resp.pkts >= 1);
	CHECK(memchr(ci->history, '\0', sizeof(ci->history)) != NULL);
}

/* The timeout class of a connection as it leaves (after the table renamed its state). */
static int64_t timeout_of(const struct model *m, const struct netmoon_conn_info *ci)
{
	switch (ci->proto) {
	case 6:
		switch (ci->state) {
		case NETMOON_CONN_SYN_SENT:
		case NETMOON_CONN_SYN_RECV:
			return m->timeout[TC_SYN];
		case NETMOON_CONN_ESTABLISHED:
			return m->timeout[TC_EST];
		case NETMOON_CONN_FIN_WAIT:
		case NETMOON_CONN_CLOSE_WAIT:
		case NETMOON_CONN_LAST_ACK:
			return m->timeout[TC_CLOSING];
		default:
			return m->timeout[TC_CLOSED];
		}
	case 17:
		return m->timeout[TC_UDP];
	case 1:
	case 58:
		return m->timeout[TC_ICMP];
	default:
		return m->timeout[TC_OTHER];
	}
}

/*
 * Not answered yet (conntable.h, emergency_high_pct): TCP before its
 * handshake completes; other protocols while the responder never sent.
 */
static bool embryonic(const struct netmoon_conn_info *ci)
{
	if (ci->proto == 6)
		return ci->state == NETMOON_CONN_SYN_SENT || ci->state == NETMOON_CONN_SYN_RECV;
	return ci->resp.pkts == 0;
}

/* The shortest timeout the connection may have had: emergency mode shortens some. */
static int64_t min_timeout_of(const struct model *m, const struct netmoon_conn_info *ci)
{
	int64_t t = timeout_of(m, ci);

	if (embryonic(ci) && m->emergency_timeout < t)
		t = m->emergency_timeout;
	return t;
}

/* Emergency mode starts at high_pct of max_conns, ends below low_pct. */
static void emergency_step(struct model *m)
{
	uint64_t pct100 = (uint64_t)m->nlive * 100;

	if (!m->emergency && m->high_pct <= 100 &&
	    pct100 >= (uint64_t)m->high_pct * m->max_conns) {
		m->emergency = true;
		m->emergencies++;
	} else if (m->emergency && pct100 < (uint64_t)m->low_pct * m->max_conns) {
		m->emergency = false;
	}
}

static int hook_ret(struct model *m)
{
	m->calls++;
	if (m->fail_every && m->calls % m->fail_every == 0)
		return -EIO;
	return 0;
}

static int on_new(const struct netmoon_conn *c, void *user)
{
	struct model *m = user;
	struct netmoon_conn_info ci;

	info_of(c, &ci);
	/* Ids are sequence numbers from 1: the next one, never seen before. */
	CHECK(ci.id == m->created + 1);
	m->created++;
	CHECK(live_find(m, ci.id) < 0);
	CHECK(m->nlive < m->max_conns);
	m->live[m->nlive++] = ci.id;
	emergency_step(m);
	check_live_info(m, &ci);
	mix(m, 1);
	mix(m, ci.id);
	if (m->probe_busy && m->probe_frame) {
		int64_t ts = 0;

		/* track_burst documents -EBUSY from inside a hook. */
		CHECK(netmoon_conntable_track_burst(m->ct, m->probe_frame, &ts, 1) == -EBUSY);
	}
	return hook_ret(m);
}

static int on_state(const struct netmoon_conn *c, int old_state, void *user)
{
	struct model *m = user;
	struct netmoon_conn_info ci;

	info_of(c, &ci);
	CHECK(live_find(m, ci.id) >= 0);
	CHECK(old_state != ci.state);
	CHECK(ci.proto == 6 ? tcp_state(old_state) : old_state == NETMOON_CONN_ACTIVE);
	check_live_info(m, &ci);
	mix(m, 2);
	mix(m, ci.id);
	mix(m, (uint64_t)old_state << 8 | (uint64_t)ci.state);
	return hook_ret(m);
}

static int on_close(const struct netmoon_conn *c, void *user)
{
	struct model *m = user;
	struct netmoon_conn_info ci;

	info_of(c, &ci);
	CHECK(live_find(m, ci.id) >= 0);
	CHECK(ci.proto == 6);
	CHECK(ci.state == NETMOON_CONN_TIME_WAIT || ci.state == NETMOON_CONN_RESET);
	mix(m, 3);
	mix(m, ci.id);
	return hook_ret(m);
}

/*
 * Eviction order (conntable.h, evicted_embryonic): connections never
 * answered first, as Linux conntrack's early drop; among them, or among the
 * others when there are none, the least recently active, at the table's
 * granularity of 1/64 of a timeout.
 */
static void check_victim(const struct model *m, const struct netmoon_conn_info *v)
{
	bool v_syn = embryonic(v);
	const struct netmoon_conn *c = NULL;

	while ((c = netmoon_conntable_next(m->ct, c)) != NULL) {
		struct netmoon_conn_info ci;
		bool syn;

		info_of(c, &ci);
		if (ci.id == v->id || live_find(m, ci.id) < 0)
			continue; /* the victim, or one flushed a moment ago */
		syn = embryonic(&ci);
		if (syn)
			CHECK(v_syn);
		if (syn == v_syn)
			CHECK(v->ts_last_ns <= sat_add(ci.ts_last_ns, timeout_of(m, &ci) / 64));
	}
}

static int on_remove(const struct netmoon_conn *c, int reason, void *user)
{
	struct model *m = user;
	struct netmoon_conn_info ci;
	int i;

	info_of(c, &ci);
	/* Removed once, and only what was created. */
	i = live_find(m, ci.id);
	CHECK(i >= 0);
	CHECK(reason >= NETMOON_REMOVE_CLOSED && reason <= NETMOON_REMOVE_FLUSH);
	switch (reason) {
	case NETMOON_REMOVE_CLOSED:
		CHECK(ci.proto == 6);
		CHECK(ci.state == NETMOON_CONN_CLOSED || ci.state == NETMOON_CONN_RESET);
		/* fall through */
	case NETMOON_REMOVE_EXPIRED:
		if (reason == NETMOON_REMOVE_EXPIRED)
			CHECK(ci.proto == 6 ? ci.state != NETMOON_CONN_TIME_WAIT &&
						      ci.state != NETMOON_CONN_CLOSED &&
						      ci.state != NETMOON_CONN_RESET
					    : ci.state == NETMOON_CONN_EXPIRED);
		/* Never before its timeout (strictly past it). */
		CHECK((__int128)m->now_hi - ci.ts_last_ns > min_timeout_of(m, &ci));
		break;
	case NETMOON_REMOVE_EVICTED:
		CHECK(!(m->flags & NETMOON_CT_F_NO_EVICT));
		CHECK(m->nlive == m->max_conns);
		check_victim(m, &ci);
		if (embryonic(&ci))
			m->evicted_embryonic++;
		break;
	case NETMOON_REMOVE_REUSED:
		CHECK(ci.proto == 6);
		break;
	default:
		break;
	}
	m->live[i] = m->live[--m->nlive];
	emergency_step(m);
	m->removed[reason]++;
	m->removed_pkts += ci.orig.pkts + ci.resp.pkts;
	mix(m, 4);
	mix(m, ci.id);
	mix(m, (uint64_t)reason);
	mix(m, ci.orig.pkts << 32 ^ ci.resp.pkts);
	return hook_ret(m);
}

/* Return values of track()/track_burst() since the last check. */
struct tally {
	uint64_t sent;      /* packets given to the table */
	uint64_t tracked;   /* returned 0 (track) or counted by track_burst */
	uint64_t untracked; /* returned 1 */
	uint64_t full;      /* returned NETMOON_E_TABLE_FULL */
	int err;            /* the first hook error returned */
};

static uint64_t live_pkts(const struct model *m, unsigned *n)
{
	const struct netmoon_conn *c = NULL;
	uint64_t pkts = 0;

	*n = 0;
	while ((c = netmoon_conntable_next(m->ct, c)) != NULL) {
		struct netmoon_conn_info ci;

		info_of(c, &ci);
		CHECK(live_find(m, ci.id) >= 0);
		check_live_info(m, &ci);
		pkts += ci.orig.pkts + ci.resp.pkts;
		(*n)++;
	}
	return pkts;
}

static int count_cb(const struct netmoon_conn *c, void *user)
{
	(void)c;
	(*(unsigned *)user)++;
	return 0;
}

static void check_table(const struct model *m, const struct tally *t)
{
	NETMOON_OPTS(netmoon_conntable_stats, st);
	unsigned n, nf = 0;
	uint64_t pkts = live_pkts(m, &n);

	CHECK(netmoon_conntable_get_stats(m->ct, &st) == 0);
	CHECK(netmoon_conntable_foreach(m->ct, count_cb, &nf) == 0);
	CHECK(st.active == n && nf == n && m->nlive == n);
	CHECK(st.active <= st.max_conns && st.max_conns == m->max_conns);
	CHECK(st.peak >= st.active && st.peak <= st.max_conns);
	CHECK(st.created == m->created);
	CHECK(st.closed == m->removed[NETMOON_REMOVE_CLOSED]);
	CHECK(st.expired == m->removed[NETMOON_REMOVE_EXPIRED]);
	CHECK(st.evicted == m->removed[NETMOON_REMOVE_EVICTED]);
	CHECK(st.reused == m->removed[NETMOON_REMOVE_REUSED]);
	CHECK(st.evicted_embryonic == m->evicted_embryonic);
	CHECK(st.emergency == m->emergency && st.emergencies == m->emergencies);
	CHECK(st.created == st.active + st.closed + st.expired + st.evicted + st.reused +
				    m->removed[NETMOON_REMOVE_FLUSH]);
	if (!(m->flags & NETMOON_CT_F_NO_EVICT))
		CHECK(st.refused == 0); /* a full table always has a victim */
	/* Every packet is in one connection's counters, or counted as not in any. */
	CHECK(st.packets == t->sent);
	CHECK(st.packets == st.untracked + st.frag_unattributed + st.refused + pkts +
				    m->removed_pkts);
	if (!m->fail_every) {
		CHECK(t->tracked == st.packets - st.untracked - st.frag_unattributed - st.refused);
		CHECK(t->untracked == st.untracked + st.frag_unattributed);
		CHECK(t->full == st.refused);
		CHECK(t->err == 0);
	}
}

/* After expire(now, 0) without hook errors: nothing idle past timeout + 1/64 remains. */
static void check_expired(const struct model *m, int64_t now)
{
	const struct netmoon_conn *c = NULL;

	while ((c = netmoon_conntable_next(m->ct, c)) != NULL) {
		struct netmoon_conn_info ci;
		int64_t to;

		info_of(c, &ci);
		to = timeout_of(m, &ci);
		CHECK((__int128)now - ci.ts_last_ns <= (__int128)to + to / 64 + 1);
	}
}

/* A and B went through the same sequence: they must be the same table. */
static void check_same(const struct model *a, const struct model *b)
{
	NETMOON_OPTS(netmoon_conntable_stats, sa);
	NETMOON_OPTS(netmoon_conntable_stats, sb);
	const struct netmoon_conn *ca = NULL, *cb = NULL;

	CHECK(netmoon_conntable_get_stats(a->ct, &sa) == 0);
	CHECK(netmoon_conntable_get_stats(b->ct, &sb) == 0);
	CHECK(memcmp(&sa, &sb, sizeof(sa)) == 0);
	CHECK(a->hash == b->hash && a->calls == b->calls);
	for (;;) {
		struct netmoon_conn_info ia, ib;

		ca = netmoon_conntable_next(a->ct, ca);
		cb = netmoon_conntable_next(b->ct, cb);
		CHECK(!ca == !cb);
		if (!ca)
			break;
		info_of(ca, &ia);
		info_of(cb, &ib);
		CHECK(memcmp(&ia, &ib, sizeof(ia)) == 0);
	}
}

struct run {
	struct model a, b;
	struct tally ta, tb;
	int64_t now;             /* the tables' clock: the latest time given to them */
	int64_t last_ts;
	size_t stride;           /* B's frame stride */
	/* B's frames wait here while a burst is open; A has already had them. */
	struct netmoon_frame *pend;
	int64_t pend_ts[MAX_BURST];
	size_t npend;
	bool burst_open;
	/* A's results for the pending frames, to compare with B's burst return. */
	uint64_t pend_tracked;
	int pend_err;
	struct netmoon_frame last;
	bool have_last;
};

static void tally_add(struct tally *t, int rc)
{
	t->sent++;
	if (rc == 0)
		t->tracked++;
	else if (rc == 1)
		t->untracked++;
	else if (rc == NETMOON_E_TABLE_FULL)
		t->full++;
	else if (!t->err)
		t->err = rc;
}

static void flush_burst(struct run *r)
{
	int64_t rc;

	if (!r->npend)
		return;
	r->b.now_hi = r->a.now_hi;
	r->b.probe_frame = r->pend;
	rc = netmoon_conntable_track_burst(r->b.ct, r->pend,
					   r->pend_ts, r->npend);
	r->tb.sent += r->npend;
	if (rc >= 0) {
		CHECK(r->pend_err == 0);
		CHECK((uint64_t)rc == r->pend_tracked);
		r->tb.tracked += (uint64_t)rc;
	} else {
		/* The first hook error; A saw the same one. */
		CHECK(rc == r->pend_err);
		if (!r->tb.err)
			r->tb.err = (int)rc;
	}
	r->npend = 0;
	r->pend_tracked = 0;
	r->pend_err = 0;
	r->b.probe_frame = NULL;
	/* B's per-packet return codes are not known: only the totals are checked. */
	r->tb.untracked = r->ta.untracked;
	r->tb.full = r->ta.full;
	check_table(&r->b, &r->tb);
	check_same(&r->a, &r->b);
}

/* One decoded frame into both tables. */
static void feed(struct run *r, const struct netmoon_frame *f, int64_t ts)
{
	const struct netmoon_conn *conn = (const void *)1;
	struct netmoon_frame *slot;
	int rc;

	if (ts > r->now)
		r->now = ts;
	r->a.now_hi = r->now;
	r->a.probe_frame = f;
	rc = netmoon_conntable_track(r->a.ct, f, ts, &conn);
	r->a.probe_frame = NULL;
	if (rc == 0) {
		struct netmoon_conn_info ci;

		CHECK(conn != NULL);
		info_of(conn, &ci);
		CHECK(live_find(&r->a, ci.id) >= 0);
		CHECK(ci.ts_last_ns == r->now);
	} else if (rc > 0 || rc == NETMOON_E_TABLE_FULL) {
		CHECK(rc == 1 || rc == NETMOON_E_TABLE_FULL);
		CHECK(conn == NULL);
	}
	tally_add(&r->ta, rc);
	if (rc == 0)
		r->pend_tracked++;
	else if (rc < 0 && rc != NETMOON_E_TABLE_FULL && !r->pend_err)
		r->pend_err = rc;
	check_table(&r->a, &r->ta);

	/* Through an integer: the stride is not our sizeof. */
	slot = (struct netmoon_frame *)((uintptr_t)r->pend + r->npend * r->stride);
	memset(slot, 0, r->stride);
	memcpy(slot, f, sizeof(*f));
	slot->sz = r->stride;
	r->pend_ts[r->npend++] = ts;
	if (!r->burst_open || r->npend == MAX_BURST)
		flush_burst(r);
}

static void parse_and_feed(struct run *r, uint32_t lt, struct in *in, int64_t ts)
{
	NETMOON_OPTS(netmoon_frame, f);
	uint16_t lv = get16(in);
	uint32_t caplen = lv & 0x3fff, wirelen;
	uint8_t *copy;

	if (caplen > in->n)
		caplen = (uint32_t)in->n;
	switch (lv >> 14) {
	case 0: wirelen = caplen; break;
	case 1: wirelen = caplen + 1 + (lv & 0xff); break;
	case 2: wirelen = caplen / 2; break;       /* below caplen: some files have it */
	default: wirelen = caplen + 65535; break;
	}
	/* An exact-size copy, so that ASan sees any read past the frame. */
	copy = malloc(caplen ? caplen : 1);
	if (!copy)
		return;
	memcpy(copy, in->p, caplen);
	in->p += caplen;
	in->n -= caplen;
	CHECK(netmoon_frame_parse(&f, lt, copy, caplen, wirelen) >= 0);
	free(copy);
	CHECK(f.caplen == caplen && f.linktype == lt);
	feed(r, &f, ts);
	r->last = f;
	r->have_last = true;
}

/*
 * A reply (or another segment) to the previous frame, as the parser would
 * have decoded it: addresses and ports swapped when asked, new TCP flags,
 * and sequence numbers that follow on (or are chosen).  It lets the fuzzer
 * walk the TCP state machine without crafting checksummed headers.
 */
static void synth_and_feed(struct run *r, uint8_t op, struct in *in, int64_t ts)
{
	struct netmoon_frame f = r->last;
	uint8_t flags = get8(in);

	if (!r->have_last)
		return;
	if (op & 0x08) {
		uint8_t a[16];
		uint16_t p = f.src_port;
		uint32_t seq = f.tcp_seq;

		memcpy(a, f.src_addr, 16);
		memcpy(f.src_addr, f.dst_addr, 16);
		memcpy(f.dst_addr, a, 16);
		f.src_port = f.dst_port;
		f.dst_port = p;
		f.tcp_seq = f.tcp_ack;
		f.tcp_ack = seq + f.payload_len +
			    !!(r->last.tcp_flags & (NETMOON_TCP_SYN | NETMOON_TCP_FIN));
	}
	if (f.ip_proto == 6 && (f.layers & NETMOON_FRAME_L_L4)) {
		f.tcp_flags = flags;
		if (op & 0x10) {
			f.tcp_seq = (uint32_t)get64(in);
			f.tcp_ack = (uint32_t)(f.tcp_seq >> 16 ^ get16(in));
		}
		if (op & 0x20)
			f.payload_len = get8(in);
	}
	feed(r, &f, ts);
	r->last = f;
}

static void do_expire(struct run *r, int64_t now, uint64_t budget)
{
	int64_t ra, rb;

	flush_burst(r);
	/* The tables' clock only moves forward; expire() may advance it. */
	if (now > r->now)
		r->now = now;
	r->a.now_hi = r->b.now_hi = r->now;
	ra = netmoon_conntable_expire(r->a.ct, now, budget);
	rb = netmoon_conntable_expire(r->b.ct, now, budget);
	CHECK(ra == rb);
	if (ra >= 0 && budget)
		CHECK((uint64_t)ra <= budget);
	if (!r->a.fail_every) {
		CHECK(ra >= 0);
		if (!budget)
			check_expired(&r->a, r->now);
	}
	check_table(&r->a, &r->ta);
	check_table(&r->b, &r->tb);
	check_same(&r->a, &r->b);
}

static void do_flush(struct run *r)
{
	int64_t ra, rb;

	flush_burst(r);
	ra = netmoon_conntable_flush(r->a.ct);
	rb = netmoon_conntable_flush(r->b.ct);
	CHECK(ra == rb);
	if (!r->a.fail_every) {
		NETMOON_OPTS(netmoon_conntable_stats, st);

		CHECK(netmoon_conntable_get_stats(r->a.ct, &st) == 0);
		CHECK(ra >= 0 && st.active == 0);
	}
	check_table(&r->a, &r->ta);
	check_table(&r->b, &r->tb);
	check_same(&r->a, &r->b);
}

/*
 * op & 7:
 *   0-3  a packet: bits 3-7 pick the link type; a time delta (get_delta),
 *        then 2 bytes: bits 0-13 caplen, bits 14-15 how wirelen relates;
 *        then the frame's bytes
 *   4    open or close a burst (table B gets the frames in one call)
 *   5    expire at now + delta (may be in the past), budget byte (0 = all)
 *   6    bit 3: flush; else bit 4: jump the clock to an 8-byte time stamp
 *   7    a synthesised segment after the previous frame (synth_and_feed)
 */
static void run_op(struct run *r, uint8_t op, struct in *in)
{
	switch (op & 7) {
	case 0: case 1: case 2: case 3: {
		uint32_t lt = linktypes[(op >> 3) % (sizeof(linktypes) / sizeof(linktypes[0]))];

		r->last_ts = sat_add(r->last_ts, get_delta(in));
		parse_and_feed(r, lt, in, r->last_ts);
		break;
	}
	case 4:
		if (r->burst_open)
			flush_burst(r);
		r->burst_open = !r->burst_open;
		break;
	case 5: {
		int64_t t = sat_add(r->now > r->last_ts ? r->now : r->last_ts, get_delta(in));

		do_expire(r, t, get8(in));
		break;
	}
	case 6:
		if (op & 0x08)
			do_flush(r);
		else if (op & 0x10)
			r->last_ts = (int64_t)get64(in);
		break;
	default:
		r->last_ts = sat_add(r->last_ts, get_delta(in));
		synth_and_feed(r, op, in, r->last_ts);
		break;
	}
}

static int64_t pick_timeout(unsigned v)
{
	static const int64_t t[] = { 0, MS, SEC, 120 * SEC };

	return t[v & 3];
}

static int setup(struct model *m, struct run *r, const uint8_t h[5], void *hooks_user)
{
	static const int64_t start[] = {
		INT64_C(1700000000) * SEC, 0, -INT64_C(1000000) * SEC, INT64_MAX - 4096 * SEC,
		INT64_MIN + 4096 * SEC, 1, INT64_C(4102444800) * SEC, -1,
	};
	static const unsigned fail[] = { 0, 0, 0, 0, 2, 3, 7, 64 };
	static const uint32_t fslots[] = { 0, 1, 2, 16 };
	static const uint32_t hi[] = { 0, 101, 50, 100 };
	static const uint32_t lo[] = { 0, 1, 25, 49 };
	NETMOON_OPTS(netmoon_conntable_opts, o);
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = on_new, .on_state = on_state,
		     .on_close = on_close, .on_remove = on_remove);
	int64_t idle;

	o.max_conns = 1 + (h[0] & 31u);
	o.flags = (h[0] & 0x20 ? NETMOON_CT_F_IGNORE_VLAN : 0) |
		  (h[0] & 0x40 ? NETMOON_CT_F_NO_EVICT : 0);
	o.idle_timeout_ns = pick_timeout(h[1]);
	o.tcp_syn_timeout_ns = pick_timeout(h[1] >> 2);
	o.tcp_established_timeout_ns = pick_timeout(h[1] >> 4);
	o.tcp_closing_timeout_ns = pick_timeout(h[1] >> 6);
	o.tcp_closed_timeout_ns = pick_timeout(h[2]);
	o.udp_timeout_ns = pick_timeout(h[2] >> 2);
	o.icmp_timeout_ns = pick_timeout(h[2] >> 4);
	o.other_timeout_ns = pick_timeout(h[2] >> 6);
	o.frag_slots = fslots[h[3] >> 6];
	o.emergency_high_pct = hi[h[4] & 3];
	o.emergency_low_pct = lo[(h[4] >> 2) & 3];
	o.emergency_timeout_ns = pick_timeout(h[4] >> 4);

	memset(m, 0, sizeof(*m));
	m->max_conns = o.max_conns;
	m->flags = o.flags;
	/* conntable.h: 0 means the default; a per-state 0 means the idle timeout. */
	idle = o.idle_timeout_ns ? o.idle_timeout_ns : 60 * SEC;
	m->timeout[TC_SYN] = o.tcp_syn_timeout_ns ? o.tcp_syn_timeout_ns : idle;
	m->timeout[TC_EST] = o.tcp_established_timeout_ns ? o.tcp_established_timeout_ns : idle;
	m->timeout[TC_CLOSING] = o.tcp_closing_timeout_ns ? o.tcp_closing_timeout_ns : idle;
	m->timeout[TC_CLOSED] = o.tcp_closed_timeout_ns ? o.tcp_closed_timeout_ns : idle;
	m->timeout[TC_UDP] = o.udp_timeout_ns ? o.udp_timeout_ns : idle;
	m->timeout[TC_ICMP] = o.icmp_timeout_ns ? o.icmp_timeout_ns : idle;
	m->timeout[TC_OTHER] = o.other_timeout_ns ? o.other_timeout_ns : idle;
	/* conntable.h: high 0 = 90 %, low 0 = high - 20 %, timeout 0 = 5 s. */
	m->high_pct = o.emergency_high_pct ? o.emergency_high_pct : 90;
	m->low_pct = o.emergency_low_pct ? o.emergency_low_pct
					 : (m->high_pct > 20 ? m->high_pct - 20 : 0);
	m->emergency_timeout = o.emergency_timeout_ns ? o.emergency_timeout_ns : 5 * SEC;
	m->fail_every = fail[(h[3] >> 3) & 7];
	m->probe_busy = (h[3] & 0x38) == 0x08;
	m->hash = UINT64_C(0xcbf29ce484222325);
	r->last_ts = start[h[3] & 7];
	r->now = INT64_MIN; /* a new table's clock: the first packet sets it */
	m->now_hi = INT64_MIN;
	if (netmoon_conntable_new(&m->ct, &o) != 0)
		return -1;
	CHECK(netmoon_conntable_set_hooks(m->ct, &hooks, hooks_user) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct run *r;
	uint8_t h[5];
	unsigned ops = 0;

	for (int i = 0; i < 5; i++)
		h[i] = get8(&in);
	r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	/* B's stride: the caller's struct may be newer (larger) than ours. */
	r->stride = sizeof(struct netmoon_frame) + ((h[0] & 0x80) ? 16 : 0);
	r->pend = calloc(MAX_BURST, r->stride);
	if (!r->pend || setup(&r->a, r, h, &r->a) || setup(&r->b, r, h, &r->b))
		goto out;

	while (in.n && ops++ < MAX_OPS)
		run_op(r, get8(&in), &in);
	flush_burst(r);
	check_table(&r->a, &r->ta);
	check_table(&r->b, &r->tb);
	check_same(&r->a, &r->b);

	/* Destruction flushes: every connection still alive leaves exactly once. */
	netmoon_conntable_free(r->a.ct);
	r->a.ct = NULL;
	CHECK(r->a.nlive == 0);
	CHECK(r->a.created == r->a.removed[1] + r->a.removed[2] + r->a.removed[3] +
				      r->a.removed[4] + r->a.removed[5]);
out:
	if (r->a.ct)
		netmoon_conntable_free(r->a.ct);
	if (r->b.ct) {
		netmoon_conntable_free(r->b.ct);
		CHECK(r->b.nlive == 0);
	}
	free(r->pend);
	free(r);
	return 0;
}
