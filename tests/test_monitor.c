/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor: capture -> parse -> track, counters, snapshots, stop.
 *
 * Part A needs nothing: every capture is a pcap file built in memory, frame
 * by frame (Ethernet, IPv4, TCP or UDP, lengths and checksums written by
 * hand here), and every expected count, length and endpoint is worked out
 * from the list of packets the test itself wrote.
 *
 * Part B is live: main() moves the process into a private network
 * namespace (only root can) where "lo" carries nothing but the datagrams
 * the tests send.  Without one, the live tests are skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

#define ETH_LEN 14
#define IP_LEN 20
#define TCP_LEN 20
#define UDP_LEN 8

#define TS_BASE INT64_C(1700000000000000000) /* 2023-11-14, in ns */

/* ------------------------------------------------------------------------ */
/* A growing byte buffer                                                     */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static uint8_t *wb_room(struct wbuf *b, size_t n)
{
	uint8_t *at;

	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;

		while (nc < b->len + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		assert_non_null(b->p);
		b->cap = nc;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

/* pcap headers are written in the host's order, as libpcap writes them. */
static void wb_host32(struct wbuf *b, uint32_t v)
{
	memcpy(wb_room(b, 4), &v, 4);
}

static void wb_host16(struct wbuf *b, uint16_t v)
{
	memcpy(wb_room(b, 2), &v, 2);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* One TCP or UDP packet over IPv4 in Ethernet. */
struct pspec {
	uint8_t proto;          /* 6 or 17 */
	uint32_t saddr, daddr;  /* host order */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t payload;       /* transport payload bytes on the wire */
};

static uint16_t ip_checksum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t l4_len(uint8_t proto)
{
	return proto == 6 ? TCP_LEN : UDP_LEN;
}

/* The frame's length on the wire. */
static uint32_t spec_wirelen(const struct pspec *s)
{
	return ETH_LEN + IP_LEN + l4_len(s->proto) + s->payload;
}

/* Write the whole frame (spec_wirelen() bytes) at out. */
static void build_frame(uint8_t *out, const struct pspec *s, uint16_t ip_id, uint32_t seq)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *ip = out + ETH_LEN, *l4 = ip + IP_LEN;
	uint32_t iplen = IP_LEN + l4_len(s->proto) + s->payload;

	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	put_be16(out + 12, 0x0800);

	ip[0] = 0x45;
	ip[1] = 0;
	put_be16(ip + 2, (uint16_t)iplen);
	put_be16(ip + 4, ip_id);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = s->proto;
	put_be16(ip + 10, 0);
	put_be32(ip + 12, s->saddr);
	put_be32(ip + 16, s->daddr);
	put_be16(ip + 10, ip_checksum(ip, IP_LEN));

	put_be16(l4, s->sport);
	put_be16(l4 + 2, s->dport);
	if (s->proto == 6) {
		put_be32(l4 + 4, seq);
		put_be32(l4 + 8, (s->tcp_flags & 0x10) ? 1000 : 0);
		l4[12] = 0x50; /* 5 words, no options */
		l4[13] = s->tcp_flags;
		put_be16(l4 + 14, 65535);
		put_be16(l4 + 16, 0);
		put_be16(l4 + 18, 0);
	} else {
		put_be16(l4 + 4, (uint16_t)(UDP_LEN + s->payload));
		put_be16(l4 + 6, 0);
	}
	for (uint32_t i = 0; i < s->payload; i++)
		l4[l4_len(s->proto) + i] = (uint8_t)(i * 13 + seq);
}

/* ------------------------------------------------------------------------ */
/* pcap captures in memory, with the list of what went in                    */

struct rec {
	int64_t ts;
	uint32_t caplen, wirelen;
	size_t off; /* of the packet's bytes in the buffer */
};

struct capbuild {
	struct wbuf b;
	struct rec *recs;
	size_t n, ncap;
	uint64_t wire_total;
};

/* Nanosecond pcap, Ethernet, snaplen 65535. */
static void cb_init(struct capbuild *cb)
{
	memset(cb, 0, sizeof(*cb));
	wb_host32(&cb->b, 0xa1b23c4d);
	wb_host16(&cb->b, 2);
	wb_host16(&cb->b, 4);
	wb_host32(&cb->b, 0);
	wb_host32(&cb->b, 0);
	wb_host32(&cb->b, 65535);
	wb_host32(&cb->b, 1);
}

static void cb_add(struct capbuild *cb, int64_t ts, const uint8_t *frame, uint32_t caplen,
		   uint32_t wirelen)
{
	struct rec *r;

	if (cb->n == cb->ncap) {
		cb->ncap = cb->ncap ? 2 * cb->ncap : 64;
		cb->recs = realloc(cb->recs, cb->ncap * sizeof(*cb->recs));
		assert_non_null(cb->recs);
	}
	r = &cb->recs[cb->n++];
	r->ts = ts;
	r->caplen = caplen;
	r->wirelen = wirelen;
	wb_host32(&cb->b, (uint32_t)(ts / 1000000000));
	wb_host32(&cb->b, (uint32_t)(ts % 1000000000));
	wb_host32(&cb->b, caplen);
	wb_host32(&cb->b, wirelen);
	r->off = cb->b.len;
	memcpy(wb_room(&cb->b, caplen), frame, caplen);
	cb->wire_total += wirelen;
}

/* A TCP/UDP packet, of which the last @cut payload bytes were not captured. */
static void cb_add_spec(struct capbuild *cb, int64_t ts, const struct pspec *s, uint32_t cut)
{
	uint8_t frame[2048];
	uint32_t wl = spec_wirelen(s);

	assert_true(wl <= sizeof(frame) && cut <= s->payload);
	build_frame(frame, s, (uint16_t)cb->n, (uint32_t)cb->n * 7919u);
	cb_add(cb, ts, frame, wl - cut, wl);
}

static void cb_free(struct capbuild *cb)
{
	free(cb->b.p);
	free(cb->recs);
	memset(cb, 0, sizeof(*cb));
}

static struct netmoon_capture *cb_open(const struct capbuild *cb)
{
	struct netmoon_capture *cap = NULL;

	assert_int_equal(netmoon_capture_open_mem(&cap, cb->b.p, cb->b.len, NULL), 0);
	assert_non_null(cap);
	return cap;
}

/* ------------------------------------------------------------------------ */
/* The small scenario: 5 flows, 22 packets                                   */

struct flow {
	uint8_t proto;
	uint32_t orig, resp;
	uint16_t oport, rport;
};

static const struct flow flows[] = {
	{ 6, A4(10, 0, 0, 1), A4(10, 0, 0, 2), 40000, 80 },
	{ 6, A4(10, 0, 0, 3), A4(10, 0, 0, 2), 40001, 443 },
	{ 17, A4(10, 0, 0, 1), A4(10, 0, 0, 9), 5353, 53 },
	{ 17, A4(192, 168, 1, 5), A4(192, 168, 1, 6), 1000, 2000 },
	{ 17, A4(10, 0, 0, 1), A4(10, 0, 0, 10), 5353, 53 },
};
#define K_FLOWS (sizeof(flows) / sizeof(flows[0]))

#define S_SYN 0x02
#define S_ACK 0x10
#define S_PSH 0x08

struct step {
	uint8_t flow;
	uint8_t reply;    /* sent by the responder */
	uint8_t flags;    /* TCP */
	uint16_t payload;
	uint16_t cut;     /* payload bytes not captured */
};

/* The initiator of each flow sends its first packet (a SYN for TCP). */
static const struct step steps[] = {
	{ 0, 0, S_SYN, 0, 0 },
	{ 2, 0, 0, 40, 0 },
	{ 0, 1, S_SYN | S_ACK, 0, 0 },
	{ 1, 0, S_SYN, 0, 0 },
	{ 0, 0, S_ACK, 0, 0 },
	{ 3, 0, 0, 100, 0 },
	{ 2, 1, 0, 120, 60 },
	{ 0, 0, S_PSH | S_ACK, 100, 0 },
	{ 1, 1, S_SYN | S_ACK, 0, 0 },
	{ 3, 0, 0, 100, 0 },
	{ 0, 1, S_PSH | S_ACK, 1400, 1300 },
	{ 4, 0, 0, 33, 0 },
	{ 1, 0, S_ACK, 0, 0 },
	{ 3, 0, 0, 100, 50 },
	{ 2, 0, 0, 40, 0 },
	{ 0, 0, S_ACK, 0, 0 },
	{ 3, 0, 0, 1, 0 },
	{ 2, 1, 0, 200, 0 },
	{ 1, 0, S_PSH | S_ACK, 10, 0 },
	{ 1, 1, S_ACK, 0, 0 },
	{ 2, 0, 0, 40, 0 },
	{ 3, 0, 0, 100, 0 },
};
#define P_STEPS (sizeof(steps) / sizeof(steps[0]))

static struct pspec step_spec(const struct step *st)
{
	const struct flow *f = &flows[st->flow];
	struct pspec s = {
		.proto = f->proto,
		.saddr = st->reply ? f->resp : f->orig,
		.daddr = st->reply ? f->orig : f->resp,
		.sport = st->reply ? f->rport : f->oport,
		.dport = st->reply ? f->oport : f->rport,
		.tcp_flags = st->flags,
		.payload = st->payload,
	};
	return s;
}

static int64_t step_ts(size_t i)
{
	return TS_BASE + (int64_t)i * 1000000 + 17; /* 1 ms apart */
}

static void build_small(struct capbuild *cb)
{
	cb_init(cb);
	for (size_t i = 0; i < P_STEPS; i++) {
		struct pspec s = step_spec(&steps[i]);

		cb_add_spec(cb, step_ts(i), &s, steps[i].cut);
	}
}

/* What each flow should show, worked out from the step list. */
struct expect {
	uint64_t pkts[2], bytes[2], ip_bytes[2], payload[2];
	int64_t first, last;
};

static void expect_small(struct expect ex[K_FLOWS])
{
	memset(ex, 0, K_FLOWS * sizeof(*ex));
	for (size_t i = 0; i < P_STEPS; i++) {
		struct pspec s = step_spec(&steps[i]);
		struct expect *e = &ex[steps[i].flow];
		unsigned d = steps[i].reply;

		e->pkts[d]++;
		e->bytes[d] += spec_wirelen(&s);
		e->ip_bytes[d] += spec_wirelen(&s) - ETH_LEN;
		e->payload[d] += s.payload;
		if (!e->first)
			e->first = step_ts(i);
		e->last = step_ts(i);
	}
}

static int find_flow(const struct netmoon_conn_info *ci)
{
	for (size_t k = 0; k < K_FLOWS; k++) {
		uint8_t o[4], r[4];

		put_be32(o, flows[k].orig);
		put_be32(r, flows[k].resp);
		if (ci->proto == flows[k].proto && ci->orig_port == flows[k].oport &&
		    ci->resp_port == flows[k].rport && !memcmp(ci->orig_addr, o, 4) &&
		    !memcmp(ci->resp_addr, r, 4))
			return (int)k;
	}
	return -1;
}

/* Every flow of the small scenario, exactly once, with its counters. */
static void check_small_snapshot(struct netmoon_monitor *m)
{
	struct expect ex[K_FLOWS];
	struct netmoon_snapshot *snap = NULL;
	bool seen[K_FLOWS] = { false };
	static const uint8_t zero12[12];

	expect_small(ex);
	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	assert_non_null(snap);
	assert_int_equal(netmoon_snapshot_count(snap), K_FLOWS);
	for (size_t i = 0; i < netmoon_snapshot_count(snap); i++) {
		NETMOON_OPTS(netmoon_conn_info, ci);
		const struct netmoon_conn *c = netmoon_snapshot_conn(snap, i);
		const struct expect *e;
		int k;

		assert_non_null(c);
		assert_int_equal(netmoon_conn_get_info(c, &ci), 0);
		k = find_flow(&ci);
		assert_true(k >= 0);
		assert_false(seen[k]);
		seen[k] = true;
		e = &ex[k];
		assert_int_equal(ci.ip_version, 4);
		assert_memory_equal(ci.orig_addr + 4, zero12, 12);
		assert_memory_equal(ci.resp_addr + 4, zero12, 12);
		assert_int_equal(ci.flags & NETMOON_CONN_F_DIR_GUESSED, 0);
		assert_int_equal(ci.orig.pkts, e->pkts[0]);
		assert_int_equal(ci.resp.pkts, e->pkts[1]);
		assert_int_equal(ci.orig.bytes, e->bytes[0]);
		assert_int_equal(ci.resp.bytes, e->bytes[1]);
		assert_int_equal(ci.orig.ip_bytes, e->ip_bytes[0]);
		assert_int_equal(ci.resp.ip_bytes, e->ip_bytes[1]);
		assert_int_equal(ci.orig.payload_bytes, e->payload[0]);
		assert_int_equal(ci.resp.payload_bytes, e->payload[1]);
		assert_int_equal(ci.ts_first_ns, e->first);
		assert_int_equal(ci.ts_last_ns, e->last);
		/* Both TCP flows completed their handshake; UDP flows are live. */
		assert_int_equal(ci.state, flows[k].proto == 6 ? NETMOON_CONN_ESTABLISHED
							       : NETMOON_CONN_ACTIVE);
	}
	assert_null(netmoon_snapshot_conn(snap, K_FLOWS));
	netmoon_snapshot_free(snap);
}

/* ------------------------------------------------------------------------ */
/* Callbacks: what they saw, checked by the test afterwards                  */

struct obs {
	const struct capbuild *cb;
	struct netmoon_monitor *m;
	void *self;              /* == this, to check the user pointer */
	uint64_t calls;          /* on_packet */
	uint64_t last_number;
	uint64_t mismatches;     /* packets that were not the capture's next one */
	uint64_t fail_at;        /* on_packet returns fail_rc at this packet number */
	int fail_rc;
	uint64_t stop_at;        /* on_packet calls netmoon_monitor_stop() at this number */
	uint64_t probe_at;       /* on_packet calls flush/run at this number */
	int64_t probe_flush;
	int probe_run;
	int probe_stats;
	uint64_t probe_stats_packets;
	uint64_t new_calls, remove_calls, remove_reason[8];
	uint64_t bad_user;
	uint64_t new_fail_at;    /* on_new returns -EDOM at this call */
	uint64_t remove_fail_at; /* on_remove returns -ENOTTY at this call */
};

static void obs_init(struct obs *o, const struct capbuild *cb)
{
	memset(o, 0, sizeof(*o));
	o->cb = cb;
	o->self = o;
	o->probe_flush = 1;
	o->probe_run = 1;
	o->probe_stats = 1;
}

static int on_packet(const struct netmoon_packet *pkt, void *user)
{
	struct obs *o = user;

	if (o->self != o) {
		o->bad_user++;
		return 0;
	}
	o->calls++;
	if (pkt->number != o->last_number + 1)
		o->mismatches++;
	o->last_number = pkt->number;
	if (o->cb) {
		const struct rec *r = pkt->number >= 1 && pkt->number <= o->cb->n
					      ? &o->cb->recs[pkt->number - 1]
					      : NULL;

		if (!r || pkt->caplen != r->caplen || pkt->wirelen != r->wirelen ||
		    pkt->ts_ns != r->ts || pkt->linktype != NETMOON_LINKTYPE_ETHERNET ||
		    memcmp(pkt->data, o->cb->b.p + r->off, r->caplen) != 0)
			o->mismatches++;
	}
	if (o->probe_at && pkt->number == o->probe_at) {
		NETMOON_OPTS(netmoon_monitor_stats, st);

		o->probe_flush = netmoon_monitor_flush(o->m);
		o->probe_run = netmoon_monitor_run(o->m, 0);
		o->probe_stats = netmoon_monitor_get_stats(o->m, &st);
		o->probe_stats_packets = st.packets;
	}
	if (o->stop_at && pkt->number == o->stop_at)
		netmoon_monitor_stop(o->m);
	if (o->fail_at && pkt->number == o->fail_at)
		return o->fail_rc;
	return 0;
}

static int on_new(const struct netmoon_conn *c, void *user)
{
	struct obs *o = user;

	(void)c;
	if (o->self != o) {
		o->bad_user++;
		return 0;
	}
	o->new_calls++;
	if (o->new_fail_at && o->new_calls == o->new_fail_at)
		return -EDOM;
	return 0;
}

static int on_remove(const struct netmoon_conn *c, int reason, void *user)
{
	struct obs *o = user;

	(void)c;
	if (o->self != o) {
		o->bad_user++;
		return 0;
	}
	o->remove_calls++;
	if (reason > 0 && reason < 8)
		o->remove_reason[reason]++;
	if (o->remove_fail_at && o->remove_calls == o->remove_fail_at)
		return -ENOTTY;
	return 0;
}

static const struct netmoon_conntable_hooks obs_hooks = {
	.sz = sizeof(struct netmoon_conntable_hooks),
	.on_new = on_new,
	.on_remove = on_remove,
};

static struct netmoon_monitor *mon_new(struct netmoon_capture *cap, struct obs *o,
				       bool packets)
{
	NETMOON_OPTS(netmoon_monitor_opts, opts, .hooks = &obs_hooks, .user = o,
		     .on_packet = packets ? on_packet : NULL);
	struct netmoon_monitor *m = NULL;

	assert_int_equal(netmoon_monitor_new(&m, cap, &opts), 0);
	assert_non_null(m);
	o->m = m;
	return m;
}

static struct netmoon_monitor_stats mon_stats(struct netmoon_monitor *m)
{
	NETMOON_OPTS(netmoon_monitor_stats, st);

	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_int_equal(st.sz, sizeof(st));
	return st;
}

static uint64_t wire_sum(const struct capbuild *cb, size_t from, size_t to)
{
	uint64_t s = 0;

	for (size_t i = from; i < to; i++)
		s += cb->recs[i].wirelen;
	return s;
}

/* ------------------------------------------------------------------------ */
/* 1. A whole capture                                                        */

static void test_run_counts(void **state)
{
	struct netmoon_monitor_stats st, sst;
	struct netmoon_snapshot *snap = NULL;
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct capbuild cb;
	struct obs o;
	int64_t now = 0;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, false);

	st = mon_stats(m);
	assert_int_equal(st.packets, 0);
	assert_int_equal(st.table.created, 0);

	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.bytes, cb.wire_total);
	assert_int_equal(st.bytes, wire_sum(&cb, 0, cb.n));
	assert_int_equal(st.table.sz, sizeof(st.table));
	assert_int_equal(st.table.created, K_FLOWS);
	assert_int_equal(st.table.active, K_FLOWS);
	assert_int_equal(st.table.packets, P_STEPS);
	assert_int_equal(st.table.untracked, 0);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(st.rejects[i], 0);
	/* Files have no kernel, no ring blocks, no queue. */
	assert_int_equal(st.kernel_received, 0);
	assert_int_equal(st.kernel_dropped, 0);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.queue_hwm, 0);
	assert_int_equal(o.new_calls, K_FLOWS);
	assert_int_equal(o.remove_calls, 0);

	check_small_snapshot(m);

	/* The snapshot carries the same counters, and the latest packet's time. */
	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	sst.sz = sizeof(sst);
	assert_int_equal(netmoon_snapshot_get_stats(snap, &sst, &now), 0);
	assert_int_equal(sst.packets, P_STEPS);
	assert_int_equal(sst.bytes, cb.wire_total);
	assert_int_equal(sst.table.created, K_FLOWS);
	assert_int_equal(now, step_ts(P_STEPS - 1));
	assert_int_equal(netmoon_snapshot_get_stats(snap, &sst, NULL), 0);
	netmoon_snapshot_free(snap);

	/* The end is sticky: running again reads nothing. */
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(mon_stats(m).packets, P_STEPS);

	assert_int_equal(netmoon_monitor_flush(m), (int64_t)K_FLOWS);
	assert_int_equal(o.remove_calls, K_FLOWS);
	assert_int_equal(o.remove_reason[NETMOON_REMOVE_FLUSH], K_FLOWS);
	assert_int_equal(o.bad_user, 0);
	st = mon_stats(m);
	assert_int_equal(st.table.active, 0);
	assert_int_equal(st.table.created, K_FLOWS);
	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	assert_int_equal(netmoon_snapshot_count(snap), 0);
	assert_null(netmoon_snapshot_conn(snap, 0));
	netmoon_snapshot_free(snap);
	assert_int_equal(netmoon_monitor_flush(m), 0);

	/* Nothing left: freeing fires nothing more; the capture is not closed. */
	netmoon_monitor_free(m);
	assert_int_equal(o.remove_calls, K_FLOWS);
	{
		const struct netmoon_packet *pkt;

		assert_int_equal(netmoon_capture_next(cap, &pkt), 0);
	}
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* Freeing a monitor flushes what is left through the hooks. */
static void test_free_flushes(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, false);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.remove_calls, 0);
	netmoon_monitor_free(m);
	assert_int_equal(o.remove_calls, K_FLOWS);
	assert_int_equal(o.remove_reason[NETMOON_REMOVE_FLUSH], K_FLOWS);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* threads = 2 is accepted for a file, which the caller's thread reads. */
static void test_file_two_threads(void **state)
{
	NETMOON_OPTS(netmoon_monitor_opts, opts, .threads = 2);
	struct netmoon_capture *cap;
	struct netmoon_monitor *m = NULL;
	struct netmoon_monitor_stats st;
	struct capbuild cb;

	(void)state;
	build_small(&cb);
	cap = cb_open(&cb);
	assert_int_equal(netmoon_monitor_new(&m, cap, &opts), 0);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.table.created, K_FLOWS);
	assert_int_equal(st.blocks, 0);
	check_small_snapshot(m);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* 2. on_packet                                                              */

static void test_on_packet(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.calls, P_STEPS);
	assert_int_equal(o.last_number, P_STEPS);
	assert_int_equal(o.mismatches, 0);
	assert_int_equal(o.bad_user, 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.table.packets, P_STEPS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* A negative return from on_packet ends run() with that value. */
static void test_on_packet_error(void **state)
{
	const uint64_t at = 7;
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	o.fail_at = at;
	o.fail_rc = -ECANCELED;
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, 0), -ECANCELED);
	assert_int_equal(o.calls, at);
	assert_int_equal(o.mismatches, 0);
	/*
	 * The refused packet is neither counted nor tracked; the ones before it
	 * were tracked before run() returned (the partial batch is not lost).
	 */
	st = mon_stats(m);
	assert_int_equal(st.packets, at - 1);
	assert_int_equal(st.bytes, wire_sum(&cb, 0, at - 1));
	assert_int_equal(st.table.packets, at - 1);
	/* Flows 0, 2, 1 and 3 started in the first six packets. */
	assert_int_equal(st.table.created, 4);
	assert_int_equal(o.new_calls, 4);
	netmoon_monitor_free(m);
	assert_int_equal(o.remove_reason[NETMOON_REMOVE_FLUSH], 4);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* 3. max_packets                                                            */

static void test_max_packets(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);

	assert_int_equal(netmoon_monitor_run(m, 10), 0);
	assert_int_equal(o.calls, 10);
	st = mon_stats(m);
	assert_int_equal(st.packets, 10);
	assert_int_equal(st.bytes, wire_sum(&cb, 0, 10));
	/* What was read is tracked when run() returns. */
	assert_int_equal(st.table.packets, 10);
	assert_int_equal(st.table.created, 4);

	/* The limit counts from where this run starts. */
	assert_int_equal(netmoon_monitor_run(m, 3), 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, 13);
	assert_int_equal(st.table.packets, 13);

	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.calls, P_STEPS);
	assert_int_equal(o.last_number, P_STEPS);
	assert_int_equal(o.mismatches, 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.bytes, cb.wire_total);
	assert_int_equal(st.table.packets, P_STEPS);
	assert_int_equal(st.table.created, K_FLOWS);
	check_small_snapshot(m);

	/* A limit beyond the end: the end comes first. */
	assert_int_equal(netmoon_monitor_run(m, 1000), 0);
	assert_int_equal(mon_stats(m).packets, P_STEPS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);

	/* A limit larger than the capture from the start. */
	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, P_STEPS + 1), 0);
	assert_int_equal(mon_stats(m).packets, P_STEPS);
	assert_int_equal(o.calls, P_STEPS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* 4. stop from on_packet                                                    */

static void test_stop_from_callback(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	o.stop_at = 5;
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);

	/* The stop is seen before the next packet: the fifth is the last. */
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.calls, 5);
	st = mon_stats(m);
	assert_int_equal(st.packets, 5);
	assert_int_equal(st.bytes, wire_sum(&cb, 0, 5));
	assert_int_equal(st.table.packets, 5);

	/* The stop request was used up: the next run goes on to the end. */
	o.stop_at = 0;
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.calls, P_STEPS);
	assert_int_equal(o.last_number, P_STEPS);
	assert_int_equal(o.mismatches, 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.bytes, cb.wire_total);
	assert_int_equal(st.table.packets, P_STEPS);
	check_small_snapshot(m);

	/* Stopping at the very last packet still returns 0. */
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	obs_init(&o, &cb);
	o.stop_at = P_STEPS;
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(mon_stats(m).packets, P_STEPS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* 5. Rejects                                                                */

struct bad_frame {
	const char *what;
	int reason;            /* expected enum netmoon_frame_reason */
	bool has_ip;           /* an IP header was decoded (may be tracked) */
	uint8_t bytes[64];
	uint32_t len;
};

static void make_bad_frames(struct bad_frame *bf, size_t *n)
{
	struct pspec udp = { 17, A4(10, 9, 0, 1), A4(10, 9, 0, 2), 7000, 7001, 0, 10 };
	struct pspec tcp = { 6, A4(10, 9, 0, 1), A4(10, 9, 0, 2), 7002, 7003, S_SYN, 0 };
	size_t i = 0;

	/* Shorter than an Ethernet header. */
	bf[i] = (struct bad_frame){ .what = "10-byte frame", .reason = NETMOON_FRAME_R_TRUNC_LINK };
	memset(bf[i].bytes, 0xee, 10);
	bf[i].len = 10;
	i++;

	/* An ethertype nobody registered for IP (local experimental 0x88b5). */
	bf[i] = (struct bad_frame){ .what = "ethertype 0x88b5", .reason = NETMOON_FRAME_R_NOT_IP };
	build_frame(bf[i].bytes, &udp, 1, 1);
	put_be16(bf[i].bytes + 12, 0x88b5);
	bf[i].len = spec_wirelen(&udp);
	i++;

	/* ARP. */
	bf[i] = (struct bad_frame){ .what = "ARP", .reason = NETMOON_FRAME_R_NOT_IP };
	build_frame(bf[i].bytes, &udp, 2, 2);
	put_be16(bf[i].bytes + 12, 0x0806);
	bf[i].len = ETH_LEN + 28;
	i++;

	/* IPv4, cut 10 bytes into its header. */
	bf[i] = (struct bad_frame){ .what = "IPv4 header cut", .reason = NETMOON_FRAME_R_TRUNC_IP };
	build_frame(bf[i].bytes, &udp, 3, 3);
	bf[i].len = ETH_LEN + 10;
	i++;

	/* IHL of 4 words. */
	bf[i] = (struct bad_frame){ .what = "IHL 4", .reason = NETMOON_FRAME_R_BAD_IHL };
	build_frame(bf[i].bytes, &udp, 4, 4);
	bf[i].bytes[ETH_LEN] = 0x44;
	bf[i].len = spec_wirelen(&udp);
	i++;

	/* TCP data offset of 3 words. */
	bf[i] = (struct bad_frame){ .what = "TCP doff 3", .reason = NETMOON_FRAME_R_BAD_TCP_DOFF,
				    .has_ip = true };
	build_frame(bf[i].bytes, &tcp, 5, 5);
	bf[i].bytes[ETH_LEN + IP_LEN + 12] = 0x30;
	bf[i].len = spec_wirelen(&tcp);
	i++;

	/* UDP length field of 4. */
	bf[i] = (struct bad_frame){ .what = "UDP length 4", .reason = NETMOON_FRAME_R_BAD_UDP_LEN,
				    .has_ip = true };
	build_frame(bf[i].bytes, &udp, 6, 6);
	put_be16(bf[i].bytes + ETH_LEN + IP_LEN + 4, 4);
	bf[i].len = spec_wirelen(&udp);
	i++;

	/* IPv4 header cut once more: the same reason counts twice. */
	bf[i] = (struct bad_frame){ .what = "IPv4 header cut (2)", .reason = NETMOON_FRAME_R_TRUNC_IP };
	build_frame(bf[i].bytes, &tcp, 7, 7);
	bf[i].len = ETH_LEN + 19;
	i++;

	for (size_t j = 0; j < i; j++)
		assert_true(bf[j].len <= sizeof(bf[j].bytes));
	*n = i;
}

static void test_rejects(void **state)
{
	struct bad_frame bf[16];
	uint64_t want[32] = { 0 };
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	size_t nbad, ngood = 0, p = 0, no_ip = 0;
	struct obs o;

	(void)state;
	make_bad_frames(bf, &nbad);
	cb_init(&cb);
	/* Good packets of the small scenario, with a bad frame after every other one. */
	for (size_t i = 0; i < P_STEPS; i++) {
		struct pspec s = step_spec(&steps[i]);

		cb_add_spec(&cb, TS_BASE + (int64_t)p++ * 1000, &s, steps[i].cut);
		ngood++;
		if (i % 2 == 0 && i / 2 < nbad) {
			const struct bad_frame *b = &bf[i / 2];

			cb_add(&cb, TS_BASE + (int64_t)p++ * 1000, b->bytes, b->len, b->len);
			want[b->reason]++;
			no_ip += !b->has_ip;
		}
	}
	assert_int_equal(p, ngood + nbad);

	/* The parser itself says so, for each one. */
	for (size_t j = 0; j < nbad; j++) {
		NETMOON_OPTS(netmoon_frame, f);

		if (netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, bf[j].bytes, bf[j].len,
					bf[j].len) != bf[j].reason)
			fail_msg("%s: parser gives %d, expected %d", bf[j].what,
				 netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, bf[j].bytes,
						     bf[j].len, bf[j].len),
				 bf[j].reason);
	}

	obs_init(&o, &cb);
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.mismatches, 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, p);
	assert_int_equal(st.bytes, cb.wire_total);
	for (size_t r = 0; r < 32; r++)
		if (st.rejects[r] != want[r])
			fail_msg("rejects[%zu] (%s) = %" PRIu64 ", expected %" PRIu64, r,
				 netmoon_frame_reason_str((int)r), st.rejects[r], want[r]);
	assert_int_equal(st.rejects[NETMOON_FRAME_R_TRUNC_IP], 2);
	assert_int_equal(st.rejects[NETMOON_FRAME_R_NOT_IP], 2);
	assert_int_equal(st.rejects[NETMOON_FRAME_OK], 0);
	/* Every frame went to the table; those without IP stayed untracked. */
	assert_int_equal(st.table.packets, p);
	assert_true(st.table.untracked >= no_ip);
	assert_true(st.table.untracked <= nbad);
	/* The good flows are all there and intact. */
	assert_true(st.table.created >= K_FLOWS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* 6. Bad arguments                                                          */

static void test_bad_args(void **state)
{
	struct netmoon_monitor *m = (struct netmoon_monitor *)&m; /* must be reset */
	struct netmoon_snapshot *snap = (struct netmoon_snapshot *)&snap;
	struct netmoon_monitor_stats st;
	struct netmoon_capture *cap;
	struct capbuild cb;

	(void)state;
	build_small(&cb);
	cap = cb_open(&cb);

	/* new */
	assert_int_equal(netmoon_monitor_new(NULL, cap, NULL), -EINVAL);
	assert_int_equal(netmoon_monitor_new(&m, NULL, NULL), -EINVAL);
	assert_null(m);
	{
		NETMOON_OPTS(netmoon_monitor_opts, o3, .threads = 3);
		NETMOON_OPTS(netmoon_monitor_opts, oneg, .threads = -1);

		m = (struct netmoon_monitor *)&m;
		assert_int_equal(netmoon_monitor_new(&m, cap, &o3), -EINVAL);
		assert_null(m);
		assert_int_equal(netmoon_monitor_new(&m, cap, &oneg), -EINVAL);
		assert_null(m);
	}
	{
		/* A newer caller's options: unknown members must be zero. */
		struct {
			struct netmoon_monitor_opts o;
			uint64_t tail[2];
		} big;

		memset(&big, 0, sizeof(big));
		big.o.sz = sizeof(big);
		big.tail[1] = 1;
		m = (struct netmoon_monitor *)&m;
		assert_int_equal(netmoon_monitor_new(&m, cap, &big.o), -EINVAL);
		assert_null(m);
		big.tail[1] = 0;
		assert_int_equal(netmoon_monitor_new(&m, cap, &big.o), 0);
		assert_non_null(m);
		netmoon_monitor_free(m);

		/* sz below the size of sz itself. */
		memset(&big, 0, sizeof(big));
		big.o.sz = 4;
		assert_int_equal(netmoon_monitor_new(&m, cap, &big.o), -EINVAL);
		assert_null(m);
	}
	{
		/* An older caller's options that end after threads: accepted. */
		struct netmoon_monitor_opts old;

		memset(&old, 0xff, sizeof(old)); /* bytes beyond sz must not be read */
		old.sz = offsetof(struct netmoon_monitor_opts, threads) + sizeof(int);
		old.threads = 1;
		assert_int_equal(netmoon_monitor_new(&m, cap, &old), 0);
		assert_int_equal(netmoon_monitor_run(m, 0), 0);
		assert_int_equal(mon_stats(m).packets, P_STEPS);
		netmoon_monitor_free(m);
	}
	{
		/* Bad table options and bad hooks are the table's -EINVAL. */
		struct {
			struct netmoon_conntable_opts t;
			uint64_t tail;
		} tbig;
		struct netmoon_conntable_hooks hbad = { .sz = 2 };
		NETMOON_OPTS(netmoon_monitor_opts, ot, .table = &tbig.t);
		NETMOON_OPTS(netmoon_monitor_opts, oh, .hooks = &hbad);

		memset(&tbig, 0, sizeof(tbig));
		tbig.t.sz = sizeof(tbig);
		tbig.tail = 7;
		m = (struct netmoon_monitor *)&m;
		assert_int_equal(netmoon_monitor_new(&m, cap, &ot), -EINVAL);
		assert_null(m);
		m = (struct netmoon_monitor *)&m;
		assert_int_equal(netmoon_monitor_new(&m, cap, &oh), -EINVAL);
		assert_null(m);
	}

	/* The other functions. */
	assert_int_equal(netmoon_monitor_run(NULL, 0), -EINVAL);
	netmoon_monitor_stop(NULL);
	assert_int_equal(netmoon_monitor_flush(NULL), -EINVAL);
	st.sz = sizeof(st);
	assert_int_equal(netmoon_monitor_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(netmoon_monitor_snapshot(NULL, &snap), -EINVAL);
	assert_null(snap);
	assert_int_equal(netmoon_snapshot_count(NULL), 0);
	assert_null(netmoon_snapshot_conn(NULL, 0));
	assert_int_equal(netmoon_snapshot_get_stats(NULL, &st, NULL), -EINVAL);
	netmoon_snapshot_free(NULL);
	netmoon_monitor_free(NULL);

	/* A fresh capture: the one above was read to its end. */
	netmoon_capture_close(cap);
	cap = cb_open(&cb);
	assert_int_equal(netmoon_monitor_new(&m, cap, NULL), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, NULL), -EINVAL);
	st.sz = 0;
	assert_int_equal(netmoon_monitor_get_stats(m, &st), -EINVAL);
	assert_int_equal(netmoon_monitor_snapshot(m, NULL), -EINVAL);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	assert_int_equal(netmoon_snapshot_count(snap), K_FLOWS);
	assert_non_null(netmoon_snapshot_conn(snap, K_FLOWS - 1));
	assert_null(netmoon_snapshot_conn(snap, K_FLOWS));
	assert_null(netmoon_snapshot_conn(snap, SIZE_MAX));
	assert_int_equal(netmoon_snapshot_get_stats(snap, NULL, NULL), -EINVAL);
	st.sz = 0;
	assert_int_equal(netmoon_snapshot_get_stats(snap, &st, NULL), -EINVAL);
	{
		/* An older caller's stats struct gets only what it knows of. */
		struct netmoon_monitor_stats old;
		size_t end = offsetof(struct netmoon_monitor_stats, bytes) + sizeof(uint64_t);

		memset(&old, 0xa5, sizeof(old));
		old.sz = end;
		assert_int_equal(netmoon_monitor_get_stats(m, &old), 0);
		assert_int_equal(old.sz, end);
		assert_int_equal(old.packets, P_STEPS);
		assert_int_equal(old.bytes, cb.wire_total);
		assert_int_equal(old.kernel_received, UINT64_C(0xa5a5a5a5a5a5a5a5));
		memset(&old, 0xa5, sizeof(old));
		old.sz = end;
		assert_int_equal(netmoon_snapshot_get_stats(snap, &old, NULL), 0);
		assert_int_equal(old.packets, P_STEPS);
		assert_int_equal(old.kernel_received, UINT64_C(0xa5a5a5a5a5a5a5a5));
	}
	{
		/* A newer caller's: what the library does not know is zeroed. */
		struct {
			struct netmoon_monitor_stats s;
			uint64_t extra[3];
		} nw;

		memset(&nw, 0xa5, sizeof(nw));
		nw.s.sz = sizeof(nw);
		assert_int_equal(netmoon_monitor_get_stats(m, &nw.s), 0);
		assert_int_equal(nw.s.sz, sizeof(nw));
		assert_int_equal(nw.s.packets, P_STEPS);
		assert_int_equal(nw.s.table.created, K_FLOWS);
		for (int i = 0; i < 3; i++)
			assert_int_equal(nw.extra[i], 0);
	}
	netmoon_snapshot_free(snap);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* flush() and run() from inside run() are refused; get_stats() works. */
static void test_busy(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	o.probe_at = 8;
	cap = cb_open(&cb);
	m = mon_new(cap, &o, true);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(o.probe_flush, -EBUSY);
	assert_int_equal(o.probe_run, -EBUSY);
	assert_int_equal(o.probe_stats, 0);
	/* on_packet runs before its packet is counted. */
	assert_int_equal(o.probe_stats_packets, 7);
	/* The refused calls changed nothing. */
	assert_int_equal(o.calls, P_STEPS);
	assert_int_equal(o.mismatches, 0);
	assert_int_equal(o.remove_calls, 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, P_STEPS);
	assert_int_equal(st.table.active, K_FLOWS);
	/* Not running any more: both work again. */
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(netmoon_monitor_flush(m), (int64_t)K_FLOWS);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* Hook errors come back from run() and flush(). */
static void test_hook_errors(void **state)
{
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	struct netmoon_monitor_stats st;
	struct capbuild cb;
	struct obs o;

	(void)state;
	build_small(&cb);
	obs_init(&o, &cb);
	o.new_fail_at = 3;
	cap = cb_open(&cb);
	m = mon_new(cap, &o, false);
	assert_int_equal(netmoon_monitor_run(m, 0), -EDOM);
	/* A hook error does not stop accounting the packets already read. */
	st = mon_stats(m);
	assert_true(st.packets >= 4);
	assert_int_equal(st.table.packets, st.packets);
	assert_true(st.table.created >= 3);

	o.remove_fail_at = 2;
	assert_int_equal(netmoon_monitor_flush(m), -ENOTTY);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/*
 * Hooks run while the monitor holds its lock; reading the counters or taking
 * a snapshot from one must not deadlock.  A watchdog turns a hang into a
 * failure.
 */
struct reader_obs {
	struct netmoon_monitor *m;
	unsigned news, removes, errors;
	uint64_t created_seen[K_FLOWS];
	size_t count_seen[K_FLOWS];
	size_t count_at_remove[K_FLOWS];
};

static void reader_look(struct reader_obs *ro, uint64_t *created, size_t *count)
{
	NETMOON_OPTS(netmoon_monitor_stats, st);
	struct netmoon_snapshot *snap = NULL;

	if (netmoon_monitor_get_stats(ro->m, &st) || netmoon_monitor_snapshot(ro->m, &snap)) {
		ro->errors++;
		return;
	}
	if (created)
		*created = st.table.created;
	*count = netmoon_snapshot_count(snap);
	netmoon_snapshot_free(snap);
}

static int reader_new(const struct netmoon_conn *c, void *user)
{
	struct reader_obs *ro = user;

	(void)c;
	if (ro->news < K_FLOWS)
		reader_look(ro, &ro->created_seen[ro->news], &ro->count_seen[ro->news]);
	ro->news++;
	return 0;
}

static int reader_remove(const struct netmoon_conn *c, int reason, void *user)
{
	struct reader_obs *ro = user;

	(void)c;
	(void)reason;
	if (ro->removes < K_FLOWS)
		reader_look(ro, NULL, &ro->count_at_remove[ro->removes]);
	ro->removes++;
	return 0;
}

static void watchdog_fired(int sig)
{
	static const char msg[] = "test_monitor: deadlock: a hook that called the monitor "
				  "never returned\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_hooks_read_monitor(void **state)
{
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = reader_new,
		     .on_remove = reader_remove);
	struct reader_obs ro;
	NETMOON_OPTS(netmoon_monitor_opts, opts, .hooks = &hooks, .user = &ro);
	struct sigaction sa, old;
	struct netmoon_capture *cap;
	struct capbuild cb;

	(void)state;
	memset(&ro, 0, sizeof(ro));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fired;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarm(10);

	build_small(&cb);
	cap = cb_open(&cb);
	assert_int_equal(netmoon_monitor_new(&ro.m, cap, &opts), 0);
	assert_int_equal(netmoon_monitor_run(ro.m, 0), 0);
	assert_int_equal(ro.news, K_FLOWS);
	for (size_t k = 0; k < K_FLOWS; k++) {
		/* The new connection is already in the table when its hook runs. */
		assert_int_equal(ro.created_seen[k], k + 1);
		assert_int_equal(ro.count_seen[k], k + 1);
	}
	assert_int_equal(netmoon_monitor_flush(ro.m), (int64_t)K_FLOWS);
	assert_int_equal(ro.removes, K_FLOWS);
	for (size_t k = 0; k < K_FLOWS; k++)
		assert_true(ro.count_at_remove[k] <= K_FLOWS - k);
	assert_int_equal(ro.errors, 0);
	netmoon_monitor_free(ro.m);
	netmoon_capture_close(cap);
	cb_free(&cb);

	alarm(0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
}

/* ------------------------------------------------------------------------ */
/* 7. Snapshots from another thread during a long run                        */

#define BIG_FLOWS 5000u
#define BIG_PER_FLOW 40u
#define BIG_PACKETS (BIG_FLOWS * BIG_PER_FLOW)
#define BIG_PAUSE_AT (BIG_PACKETS / 2)
#define BIG_PAYLOAD 18u

static struct pspec big_spec(uint32_t flow)
{
	struct pspec s = {
		.proto = 17,
		.saddr = A4(10, 1, flow >> 8, flow & 0xff),
		.daddr = A4(10, 2, 0, 1),
		.sport = (uint16_t)(1024 + flow),
		.dport = 53,
		.payload = BIG_PAYLOAD,
	};
	return s;
}

/* Flow f sends packets f*40 .. f*40+39: flows appear one after the other. */
static void build_big(struct capbuild *cb)
{
	uint8_t frame[256];
	uint32_t wl = spec_wirelen(&(struct pspec){ .proto = 17, .payload = BIG_PAYLOAD });

	cb_init(cb);
	for (uint32_t i = 0; i < BIG_PACKETS; i++) {
		struct pspec s = big_spec(i / BIG_PER_FLOW);

		build_frame(frame, &s, (uint16_t)i, i);
		cb_add(cb, TS_BASE + (int64_t)i * 1000, frame, wl, wl);
	}
}

struct snapper {
	struct netmoon_monitor *m;
	atomic_bool done;       /* run() returned */
	atomic_uint snaps;      /* snapshots taken */
	atomic_bool paused;     /* the run is held at BIG_PAUSE_AT */
	/* Written by the snapper thread only, read after the join. */
	unsigned errors;
	char first_error[160];
	unsigned paused_snaps;  /* snapshots taken entirely while the run was held */
	size_t paused_count;    /* the count those saw */
	size_t max_count_running;
};

static void snap_err(struct snapper *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void snap_err(struct snapper *s, const char *fmt, ...)
{
	if (!s->errors++) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
		va_end(ap);
	}
}

static void *snapper_main(void *arg)
{
	struct snapper *s = arg;
	uint64_t last_created = 0, last_packets = 0;
	int64_t last_now = INT64_MIN; /* the table's time before its first packet */

	while (!atomic_load(&s->done)) {
		NETMOON_OPTS(netmoon_monitor_stats, st);
		NETMOON_OPTS(netmoon_monitor_stats, live);
		struct netmoon_snapshot *snap = NULL;
		bool held = atomic_load(&s->paused);
		int64_t now = 0;
		size_t n;
		int r;

		r = netmoon_monitor_snapshot(s->m, &snap);
		if (r) {
			snap_err(s, "snapshot: %d", r);
			break;
		}
		n = netmoon_snapshot_count(snap);
		if (netmoon_snapshot_get_stats(snap, &st, &now))
			snap_err(s, "snapshot_get_stats failed");
		if (n != st.table.active)
			snap_err(s, "count %zu but table.active %" PRIu64, n, st.table.active);
		if (n > st.table.created)
			snap_err(s, "count %zu above created %" PRIu64, n, st.table.created);
		if (st.table.created > BIG_FLOWS || st.packets > BIG_PACKETS)
			snap_err(s, "created %" PRIu64 ", packets %" PRIu64, st.table.created,
				 st.packets);
		if (st.table.created < last_created || st.packets < last_packets ||
		    now < last_now)
			snap_err(s, "counters went back: created %" PRIu64 " < %" PRIu64
				 " or packets %" PRIu64 " < %" PRIu64 " or now %" PRId64 " < %" PRId64,
				 st.table.created, last_created, st.packets, last_packets, now,
				 last_now);
		if (st.table.packets && (now < TS_BASE || now >= TS_BASE + BIG_PACKETS * 1000))
			snap_err(s, "now %" PRId64 " after %" PRIu64 " packets", now,
				 st.table.packets);
		/* Frames reach the table in bursts: at most one burst behind. */
		if (st.table.packets > st.packets || st.packets - st.table.packets > 256)
			snap_err(s, "table.packets %" PRIu64 " vs packets %" PRIu64,
				 st.table.packets, st.packets);
		last_created = st.table.created;
		last_packets = st.packets;
		last_now = now;
		for (size_t i = 0; i < n; i++) {
			NETMOON_OPTS(netmoon_conn_info, ci);
			const struct netmoon_conn *c = netmoon_snapshot_conn(snap, i);

			if (!c || netmoon_conn_get_info(c, &ci)) {
				snap_err(s, "conn %zu unreadable", i);
				break;
			}
			if (ci.proto != 17 || ci.resp_port != 53 || ci.orig_port < 1024 ||
			    ci.orig_port >= 1024 + BIG_FLOWS || ci.orig.pkts < 1 ||
			    ci.orig.pkts > BIG_PER_FLOW || ci.resp.pkts != 0 || ci.id < 1 ||
			    ci.id > st.table.created || ci.ts_last_ns > now) {
				snap_err(s, "conn %zu: proto %u port %u pkts %" PRIu64 " id %" PRIu64,
					 i, ci.proto, ci.orig_port, ci.orig.pkts, ci.id);
				break;
			}
		}
		netmoon_snapshot_free(snap);
		if (held && atomic_load(&s->paused)) {
			s->paused_snaps++;
			s->paused_count = n;
		}
		if (!atomic_load(&s->done) && n > s->max_count_running)
			s->max_count_running = n;
		if (netmoon_monitor_get_stats(s->m, &live))
			snap_err(s, "get_stats failed");
		else if (live.packets < last_packets)
			snap_err(s, "get_stats went back");
		atomic_fetch_add(&s->snaps, 1);
	}
	return NULL;
}

/* Hold the run in the middle until the other thread took snapshots of it. */
static int big_on_packet(const struct netmoon_packet *pkt, void *user)
{
	struct snapper *s = user;

	if (pkt->number == BIG_PAUSE_AT) {
		unsigned before = atomic_load(&s->snaps);
		struct timespec t0, t;

		atomic_store(&s->paused, true);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			struct timespec nap = { 0, 200000 };

			nanosleep(&nap, NULL);
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (atomic_load(&s->snaps) < before + 3 && t.tv_sec - t0.tv_sec < 20);
		atomic_store(&s->paused, false);
	}
	return 0;
}

static void test_snapshot_concurrent(void **state)
{
	NETMOON_OPTS(netmoon_monitor_opts, opts, .on_packet = big_on_packet);
	struct netmoon_snapshot *snap = NULL;
	struct netmoon_monitor_stats st;
	struct netmoon_capture *cap;
	struct snapper s;
	struct capbuild cb;
	pthread_t th;

	(void)state;
	build_big(&cb);
	cap = cb_open(&cb);
	memset(&s, 0, sizeof(s));
	atomic_init(&s.done, false);
	atomic_init(&s.snaps, 0);
	atomic_init(&s.paused, false);
	opts.user = &s;
	assert_int_equal(netmoon_monitor_new(&s.m, cap, &opts), 0);
	assert_int_equal(pthread_create(&th, NULL, snapper_main, &s), 0);

	assert_int_equal(netmoon_monitor_run(s.m, 0), 0);
	atomic_store(&s.done, true);
	assert_int_equal(pthread_join(th, NULL), 0);

	if (s.errors)
		fail_msg("%u bad snapshots; first: %s", s.errors, s.first_error);
	assert_true(atomic_load(&s.snaps) >= 3);
	/* Held after packet BIG_PAUSE_AT was read, before it was tracked. */
	assert_true(s.paused_snaps >= 1);
	assert_true(s.paused_count >= (BIG_PAUSE_AT - 1 - 256) / BIG_PER_FLOW);
	assert_true(s.paused_count <= (BIG_PAUSE_AT - 1) / BIG_PER_FLOW + 1);
	assert_true(s.max_count_running <= BIG_FLOWS);

	st = mon_stats(s.m);
	assert_int_equal(st.packets, BIG_PACKETS);
	assert_int_equal(st.bytes, cb.wire_total);
	assert_int_equal(st.table.created, BIG_FLOWS);
	assert_int_equal(st.table.packets, BIG_PACKETS);
	assert_int_equal(netmoon_monitor_snapshot(s.m, &snap), 0);
	assert_int_equal(netmoon_snapshot_count(snap), BIG_FLOWS);
	{
		static uint8_t seen[BIG_FLOWS];

		memset(seen, 0, sizeof(seen));
		for (size_t i = 0; i < BIG_FLOWS; i++) {
			NETMOON_OPTS(netmoon_conn_info, ci);
			unsigned f;

			assert_int_equal(netmoon_conn_get_info(netmoon_snapshot_conn(snap, i), &ci), 0);
			f = (unsigned)ci.orig_port - 1024;
			assert_true(f < BIG_FLOWS);
			assert_int_equal(seen[f], 0);
			seen[f] = 1;
			assert_int_equal(ci.orig.pkts, BIG_PER_FLOW);
			assert_int_equal(ci.orig_addr[2], f >> 8);
			assert_int_equal(ci.orig_addr[3], f & 0xff);
		}
	}
	netmoon_snapshot_free(snap);
	netmoon_monitor_free(s.m);
	netmoon_capture_close(cap);
	cb_free(&cb);
}

/* ------------------------------------------------------------------------ */
/* Part B: live, on loopback in a private network namespace                  */

static bool g_live; /* main() made a namespace with lo up */

#define LIVE_PAYLOAD 32u
#define LIVE_WIRELEN (ETH_LEN + IP_LEN + UDP_LEN + LIVE_PAYLOAD)

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
			r = 0;
	}
	close(fd);
	return r;
}

/* A UDP socket on 127.0.0.1 and a kernel-chosen port. */
static int udp_socket(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void udp_send(int fd, uint16_t port, unsigned seq)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint8_t msg[LIVE_PAYLOAD];

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(msg, (int)(seq & 0xff), sizeof(msg));
	assert_int_equal(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(msg));
}

static struct netmoon_capture *open_lo(void)
{
	NETMOON_OPTS(netmoon_capture_live_opts, lo, .block_size = 1u << 16, .block_count = 8,
		     .block_timeout_ms = 10);
	struct netmoon_capture *cap = NULL;
	char err[256] = "";
	int r = netmoon_capture_open_live(&cap, "lo", &lo, err, sizeof(err));

	if (r)
		fail_msg("open_live(lo): %d %s", r, err);
	return cap;
}

struct runner {
	struct netmoon_monitor *m;
	pthread_t th;
	int rc;
	atomic_bool finished;
};

static void *runner_main(void *arg)
{
	struct runner *rn = arg;

	rn->rc = netmoon_monitor_run(rn->m, 0);
	atomic_store(&rn->finished, true);
	return NULL;
}

static void runner_start(struct runner *rn, struct netmoon_monitor *m)
{
	rn->m = m;
	rn->rc = 1;
	atomic_init(&rn->finished, false);
	assert_int_equal(pthread_create(&rn->th, NULL, runner_main, rn), 0);
}

/* Stop the monitor and wait for run() (at most 2 s); its return value. */
static int runner_stop(struct runner *rn)
{
	int64_t t0 = mono_ms();

	netmoon_monitor_stop(rn->m);
	while (!atomic_load(&rn->finished) && mono_ms() - t0 < 2000)
		sleep_ms(5);
	assert_true(atomic_load(&rn->finished));
	assert_int_equal(pthread_join(rn->th, NULL), 0);
	return rn->rc;
}

/*
 * Wait until n packets were tracked (table.packets: a packet is counted in
 * packets when read, and reaches the table, and its hooks, a moment later).
 */
static uint64_t wait_packets(struct netmoon_monitor *m, uint64_t n, unsigned timeout_ms)
{
	int64_t t0 = mono_ms();
	uint64_t got;

	for (;;) {
		got = mon_stats(m).table.packets;
		if (got >= n || mono_ms() - t0 > timeout_ms)
			return got;
		sleep_ms(5);
	}
}

/*
 * 8. UDP on loopback: every datagram is seen once (the backend skips lo's
 * outgoing copy), in one flow per destination port.
 */
#define LIVE_PORTS 4u
#define LIVE_PER_PORT 15u
#define LIVE_N (LIVE_PORTS * LIVE_PER_PORT)

static void live_udp(int threads)
{
	NETMOON_OPTS(netmoon_monitor_opts, opts, .threads = threads, .tick_ms = 50);
	struct netmoon_snapshot *snap = NULL;
	struct netmoon_monitor_stats st;
	struct netmoon_capture *cap;
	struct netmoon_monitor *m = NULL;
	uint16_t ports[LIVE_PORTS], sport;
	int rx[LIVE_PORTS], tx;
	bool seen[LIVE_PORTS] = { false };
	struct runner rn;

	if (!g_live)
		skip();
	cap = open_lo();
	assert_int_equal(netmoon_monitor_new(&m, cap, &opts), 0);
	for (unsigned i = 0; i < LIVE_PORTS; i++)
		rx[i] = udp_socket(&ports[i]);
	tx = udp_socket(&sport);

	runner_start(&rn, m);
	sleep_ms(20);
	for (unsigned i = 0; i < LIVE_N; i++)
		udp_send(tx, ports[i % LIVE_PORTS], i);
	assert_true(wait_packets(m, LIVE_N, 5000) >= LIVE_N);
	/* Longer than a block timeout: anything extra would show up now. */
	sleep_ms(150);
	assert_int_equal(runner_stop(&rn), 0);

	st = mon_stats(m);
	assert_int_equal(st.packets, LIVE_N);
	assert_int_equal(st.bytes, (uint64_t)LIVE_N * LIVE_WIRELEN);
	assert_int_equal(st.kernel_dropped, 0);
	assert_true(st.kernel_received >= LIVE_N);
	assert_true(st.blocks > 0);
	if (threads == 2)
		assert_true(st.queue_hwm >= 1);
	else
		assert_int_equal(st.queue_hwm, 0);
	for (size_t r = 0; r < 32; r++)
		assert_int_equal(st.rejects[r], 0);
	assert_int_equal(st.table.created, LIVE_PORTS);
	assert_int_equal(st.table.packets, LIVE_N);

	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	assert_int_equal(netmoon_snapshot_count(snap), LIVE_PORTS);
	for (size_t i = 0; i < LIVE_PORTS; i++) {
		NETMOON_OPTS(netmoon_conn_info, ci);
		static const uint8_t lo4[4] = { 127, 0, 0, 1 };
		unsigned k;

		assert_int_equal(netmoon_conn_get_info(netmoon_snapshot_conn(snap, i), &ci), 0);
		assert_int_equal(ci.proto, 17);
		assert_int_equal(ci.ip_version, 4);
		assert_memory_equal(ci.orig_addr, lo4, 4);
		assert_memory_equal(ci.resp_addr, lo4, 4);
		assert_int_equal(ci.orig_port, sport);
		for (k = 0; k < LIVE_PORTS && ports[k] != ci.resp_port; k++)
			;
		assert_true(k < LIVE_PORTS);
		assert_false(seen[k]);
		seen[k] = true;
		assert_int_equal(ci.orig.pkts, LIVE_PER_PORT);
		assert_int_equal(ci.orig.bytes, (uint64_t)LIVE_PER_PORT * LIVE_WIRELEN);
		assert_int_equal(ci.orig.payload_bytes, (uint64_t)LIVE_PER_PORT * LIVE_PAYLOAD);
		assert_int_equal(ci.resp.pkts, 0);
	}
	netmoon_snapshot_free(snap);

	/* A second run on the same monitor goes on where the first stopped. */
	runner_start(&rn, m);
	udp_send(tx, ports[0], 99);
	assert_true(wait_packets(m, LIVE_N + 1, 5000) >= LIVE_N + 1);
	assert_int_equal(runner_stop(&rn), 0);
	assert_int_equal(mon_stats(m).packets, LIVE_N + 1);

	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	for (unsigned i = 0; i < LIVE_PORTS; i++)
		close(rx[i]);
	close(tx);
}

static void test_live_one_thread(void **state)
{
	(void)state;
	live_udp(1);
}

static void test_live_two_threads(void **state)
{
	(void)state;
	live_udp(2);
}

/* 9. Stop from a signal handler */

static struct netmoon_monitor *volatile g_sig_monitor;

static void on_alarm(int sig)
{
	(void)sig;
	netmoon_monitor_stop(g_sig_monitor);
}

static void live_signal_stop(int threads)
{
	NETMOON_OPTS(netmoon_monitor_opts, opts, .threads = threads, .tick_ms = 50);
	struct itimerval it = { .it_value = { 0, 200000 } };
	struct sigaction sa, old;
	struct netmoon_capture *cap;
	struct netmoon_monitor *m = NULL;
	int64_t t0, dt;
	int rc;

	if (!g_live)
		skip();
	cap = open_lo();
	assert_int_equal(netmoon_monitor_new(&m, cap, &opts), 0);
	g_sig_monitor = m;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	t0 = mono_ms();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	rc = netmoon_monitor_run(m, 0);
	dt = mono_ms() - t0;
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	g_sig_monitor = NULL;
	assert_int_equal(rc, 0);
	assert_true(dt >= 150);
	if (dt >= 1000)
		fail_msg("run() took %" PRId64 " ms to stop after the signal at 200 ms", dt);
	assert_int_equal(mon_stats(m).packets, 0);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
}

static void test_live_signal_two(void **state)
{
	(void)state;
	live_signal_stop(2);
}

static void test_live_signal_one(void **state)
{
	(void)state;
	live_signal_stop(1);
}

/* 10. Idle expiry by the wall clock */

struct expiry_obs {
	atomic_uint news, expired, other;
};

static int ex_new(const struct netmoon_conn *c, void *user)
{
	struct expiry_obs *e = user;

	(void)c;
	atomic_fetch_add(&e->news, 1);
	return 0;
}

static int ex_remove(const struct netmoon_conn *c, int reason, void *user)
{
	struct expiry_obs *e = user;

	(void)c;
	if (reason == NETMOON_REMOVE_EXPIRED)
		atomic_fetch_add(&e->expired, 1);
	else
		atomic_fetch_add(&e->other, 1);
	return 0;
}

static void live_expiry(int threads)
{
	NETMOON_OPTS(netmoon_conntable_opts, topts, .udp_timeout_ns = 200000000);
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = ex_new, .on_remove = ex_remove);
	struct expiry_obs eo;
	NETMOON_OPTS(netmoon_monitor_opts, opts, .threads = threads, .tick_ms = 50,
		     .table = &topts, .hooks = &hooks, .user = &eo);
	struct netmoon_snapshot *snap = NULL;
	struct netmoon_monitor_stats st;
	struct netmoon_capture *cap;
	struct netmoon_monitor *m = NULL;
	struct runner rn;
	uint16_t rport, sport;
	int rx, tx;

	if (!g_live)
		skip();
	atomic_init(&eo.news, 0);
	atomic_init(&eo.expired, 0);
	atomic_init(&eo.other, 0);
	cap = open_lo();
	assert_int_equal(netmoon_monitor_new(&m, cap, &opts), 0);
	rx = udp_socket(&rport);
	tx = udp_socket(&sport);
	runner_start(&rn, m);
	sleep_ms(20);
	udp_send(tx, rport, 1);
	assert_int_equal(wait_packets(m, 1, 2000), 1);
	assert_int_equal(atomic_load(&eo.news), 1);
	/* Nothing arrives now; only the monitor's ticks can expire the flow. */
	sleep_ms(1000);
	assert_int_equal(atomic_load(&eo.expired), 1);
	assert_int_equal(atomic_load(&eo.other), 0);
	st = mon_stats(m);
	assert_int_equal(st.packets, 1);
	assert_int_equal(st.table.expired, 1);
	assert_int_equal(st.table.active, 0);
	assert_int_equal(netmoon_monitor_snapshot(m, &snap), 0);
	assert_int_equal(netmoon_snapshot_count(snap), 0);
	netmoon_snapshot_free(snap);
	assert_int_equal(runner_stop(&rn), 0);
	netmoon_monitor_free(m);
	assert_int_equal(atomic_load(&eo.other), 0);
	netmoon_capture_close(cap);
	close(rx);
	close(tx);
}

static void test_live_expiry_one(void **state)
{
	(void)state;
	live_expiry(1);
}

static void test_live_expiry_two(void **state)
{
	(void)state;
	live_expiry(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_counts),
		cmocka_unit_test(test_free_flushes),
		cmocka_unit_test(test_file_two_threads),
		cmocka_unit_test(test_on_packet),
		cmocka_unit_test(test_on_packet_error),
		cmocka_unit_test(test_max_packets),
		cmocka_unit_test(test_stop_from_callback),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_hook_errors),
		cmocka_unit_test(test_hooks_read_monitor),
		cmocka_unit_test(test_snapshot_concurrent),
		cmocka_unit_test(test_live_one_thread),
		cmocka_unit_test(test_live_two_threads),
		cmocka_unit_test(test_live_signal_two),
		cmocka_unit_test(test_live_signal_one),
		cmocka_unit_test(test_live_expiry_one),
		cmocka_unit_test(test_live_expiry_two),
	};

	if (unshare(CLONE_NEWNET) == 0) {
		if (lo_up() == 0)
			g_live = true;
		else
			printf("test_monitor: live tests skipped: cannot bring lo up in the new "
			       "network namespace\n");
	} else {
		printf("test_monitor: live tests skipped: cannot create a network namespace "
		       "(needs root)\n");
	}
	return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
