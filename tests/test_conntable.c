/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connection table, driven with struct netmoon_frame values built here
 * field by field (as the parser would fill them).  Expected states, Zeek
 * codes, history strings, counters and RTTs are worked out by hand from the
 * packets each test sends; the comments show the arithmetic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

#define NS(x) ((int64_t)(x))
#define US(x) ((int64_t)(x) * 1000)
#define MS(x) ((int64_t)(x) * 1000000)
#define SEC(x) ((int64_t)(x) * 1000000000)
#define T0 SEC(1700000000) /* 2023-11-14, a plausible capture time */

#define SYN NETMOON_TCP_SYN
#define ACK NETMOON_TCP_ACK
#define FIN NETMOON_TCP_FIN
#define RST NETMOON_TCP_RST
#define PSH NETMOON_TCP_PSH

/* --- frames ------------------------------------------------------------- */

/* Both ends of a flow: a = the client (first to send, normally), b = the server. */
struct flow {
	int v6;
	const char *a, *b;
	uint16_t ap, bp;
	uint8_t proto;
	uint8_t nvlan;
	uint16_t vlan[3];
};

static void put_addr(uint8_t out[16], int v6, const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, s, out), 1);
}

static void mkframe(struct netmoon_frame *f, const struct flow *fl, int from_b)
{
	memset(f, 0, sizeof(*f));
	f->sz = sizeof(*f);
	f->reason = NETMOON_FRAME_OK;
	f->layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP | NETMOON_FRAME_L_L4;
	f->linktype = 1;
	f->ethertype = fl->v6 ? 0x86dd : 0x0800;
	f->vlan_count = fl->nvlan;
	for (unsigned i = 0; i < fl->nvlan && i < NETMOON_FRAME_MAX_VLANS; i++) {
		f->vlan_ids[i] = fl->vlan[i];
		f->vlan_tpids[i] = 0x8100;
	}
	f->ip_version = fl->v6 ? 6 : 4;
	f->ip_proto = fl->proto;
	f->ip_ttl = 64;
	put_addr(f->src_addr, fl->v6, from_b ? fl->b : fl->a);
	put_addr(f->dst_addr, fl->v6, from_b ? fl->a : fl->b);
	f->src_port = from_b ? fl->bp : fl->ap;
	f->dst_port = from_b ? fl->ap : fl->bp;
	f->ip_hdr_len = fl->v6 ? 40 : 20;
	f->l3_offset = 14 + 4u * fl->nvlan;
}

/* Sizes as the parser would report them: Ethernet, padded to 60 bytes. */
static void set_sizes(struct netmoon_frame *f, uint32_t l4hdr, uint32_t len)
{
	f->payload_len = len;
	f->ip_len = f->ip_hdr_len + l4hdr + len;
	f->wirelen = f->l3_offset + f->ip_len;
	if (f->wirelen < 60)
		f->wirelen = 60;
	f->caplen = f->wirelen;
}

static int tcp_tx(struct netmoon_conntable *ct, const struct flow *fl, int from_b, uint8_t flags,
		  uint32_t seq, uint32_t ack, uint32_t len, int64_t ts,
		  const struct netmoon_conn **c)
{
	struct netmoon_frame f;

	mkframe(&f, fl, from_b);
	f.tcp_flags = flags;
	f.tcp_seq = seq;
	f.tcp_ack = ack;
	f.tcp_window = 65535;
	set_sizes(&f, 20, len);
	return netmoon_conntable_track(ct, &f, ts, c);
}

static int udp_tx(struct netmoon_conntable *ct, const struct flow *fl, int from_b, uint32_t len,
		  int64_t ts, const struct netmoon_conn **c)
{
	struct netmoon_frame f;

	mkframe(&f, fl, from_b);
	set_sizes(&f, 8, len);
	return netmoon_conntable_track(ct, &f, ts, c);
}

static int icmp_tx(struct netmoon_conntable *ct, const struct flow *fl, int from_b, uint8_t type,
		   uint8_t code, uint16_t id, int64_t ts, const struct netmoon_conn **c)
{
	struct netmoon_frame f;

	mkframe(&f, fl, from_b);
	f.src_port = f.dst_port = 0;
	f.icmp_type = type;
	f.icmp_code = code;
	f.icmp_id = id;
	set_sizes(&f, 8, 56);
	return netmoon_conntable_track(ct, &f, ts, c);
}

static struct netmoon_conn_info info_of(const struct netmoon_conn *c)
{
	NETMOON_OPTS(netmoon_conn_info, in);

	assert_non_null(c);
	assert_int_equal(netmoon_conn_get_info(c, &in), 0);
	return in;
}

static struct netmoon_conntable_stats stats_of(const struct netmoon_conntable *ct)
{
	NETMOON_OPTS(netmoon_conntable_stats, st);

	assert_int_equal(netmoon_conntable_get_stats(ct, &st), 0);
	return st;
}

static const char *state_of(const struct netmoon_conn *c)
{
	return netmoon_conn_state_str(info_of(c).state);
}

static const char *zeek_of(const struct netmoon_conn *c)
{
	return netmoon_conn_zeek_state_str(info_of(c).zeek_state);
}

static struct netmoon_conntable *mktable(uint32_t max, uint32_t flags)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = max, .flags = flags);
	struct netmoon_conntable *ct = NULL;

	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	assert_non_null(ct);
	return ct;
}

/* --- hook recorder ------------------------------------------------------ */

struct rec {
	char log[8192];
	int new_ret;
	int remove_ret;       /* returned by on_remove number remove_fail_at (1-based) */
	int remove_fail_at;
	int nremove;
	int state_ret;
	int close_ret;
	struct netmoon_conn_info last_removed;
};

static void rec_add(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rec_add(struct rec *r, const char *fmt, ...)
{
	size_t n = strlen(r->log);
	va_list ap;

	if (n)
		r->log[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(r->log + n, sizeof(r->log) - n, fmt, ap);
	va_end(ap);
}

static int h_new(const struct netmoon_conn *c, void *u)
{
	struct rec *r = u;

	rec_add(r, "new(%" PRIu64 ")", info_of(c).id);
	return r->new_ret;
}

static int h_state(const struct netmoon_conn *c, int old, void *u)
{
	struct rec *r = u;
	struct netmoon_conn_info in = info_of(c);

	rec_add(r, "state(%" PRIu64 ",%s>%s)", in.id, netmoon_conn_state_str(old),
		netmoon_conn_state_str(in.state));
	return r->state_ret;
}

static int h_close(const struct netmoon_conn *c, void *u)
{
	struct rec *r = u;

	rec_add(r, "close(%" PRIu64 ")", info_of(c).id);
	return r->close_ret;
}

static const char *reason_name(int reason)
{
	switch (reason) {
	case NETMOON_REMOVE_CLOSED: return "closed";
	case NETMOON_REMOVE_EXPIRED: return "expired";
	case NETMOON_REMOVE_EVICTED: return "evicted";
	case NETMOON_REMOVE_REUSED: return "reused";
	case NETMOON_REMOVE_FLUSH: return "flush";
	default: return "?";
	}
}

static int h_remove(const struct netmoon_conn *c, int reason, void *u)
{
	struct rec *r = u;
	struct netmoon_conn_info in = info_of(c);

	r->last_removed = in;
	rec_add(r, "rm(%" PRIu64 ",%s,%s)", in.id, reason_name(reason),
		netmoon_conn_state_str(in.state));
	return ++r->nremove == r->remove_fail_at ? r->remove_ret : 0;
}

static void hook_all(struct netmoon_conntable *ct, struct rec *r)
{
	NETMOON_OPTS(netmoon_conntable_hooks, h, .on_new = h_new, .on_state = h_state,
		     .on_close = h_close, .on_remove = h_remove);

	memset(r, 0, sizeof(*r));
	assert_int_equal(netmoon_conntable_set_hooks(ct, &h, r), 0);
}

static const struct flow web4 = { 0, "10.0.0.1", "192.0.2.80", 40000, 80, 6, 0, { 0 } };

/* --- TCP: the whole life of a connection -------------------------------- */

/*
 * Client 10.0.0.1:40000, server 192.0.2.80:80; ISNs 1000 (client) and 5000
 * (server).  Sequence numbers:
 *   1 c SYN          seq 1000            -> SYN_SENT
 *   2 s SYN/ACK      seq 5000 ack 1001   -> SYN_RECV
 *   3 c ACK          seq 1001 ack 5001   -> ESTABLISHED
 *   4 c data 100     seq 1001 ack 5001
 *   5 s data 300     seq 5001 ack 1101
 *   6 c FIN/ACK      seq 1101 ack 5301   -> FIN_WAIT   (FIN takes 1101, acked by 1102)
 *   7 s ACK          seq 5301 ack 1101   (does not ack the FIN: stays FIN_WAIT)
 *   8 s ACK          seq 5301 ack 1102   -> CLOSE_WAIT
 *   9 s FIN/ACK      seq 5301 ack 1102   -> LAST_ACK   (FIN takes 5301)
 *  10 c ACK          seq 1102 ack 5302   -> TIME_WAIT
 */
static void test_tcp_lifecycle(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c = NULL, *c2 = NULL;
	struct netmoon_conn_info in;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	assert_int_equal(tcp_tx(ct, &web4, 0, SYN, 1000, 0, 0, T0, &c), 0);
	assert_string_equal(state_of(c), "SYN_SENT");
	assert_int_equal(tcp_tx(ct, &web4, 1, SYN | ACK, 5000, 1001, 0, T0 + MS(10), &c2), 0);
	assert_ptr_equal(c, c2);
	assert_string_equal(state_of(c), "SYN_RECV");
	assert_int_equal(tcp_tx(ct, &web4, 0, ACK, 1001, 5001, 0, T0 + MS(20), &c2), 0);
	assert_ptr_equal(c, c2);
	assert_string_equal(state_of(c), "ESTABLISHED");
	assert_string_equal(zeek_of(c), "S1");
	tcp_tx(ct, &web4, 0, PSH | ACK, 1001, 5001, 100, T0 + MS(30), NULL);
	tcp_tx(ct, &web4, 1, PSH | ACK, 5001, 1101, 300, T0 + MS(40), NULL);
	tcp_tx(ct, &web4, 0, FIN | ACK, 1101, 5301, 0, T0 + MS(50), NULL);
	assert_string_equal(state_of(c), "FIN_WAIT");
	assert_string_equal(zeek_of(c), "S2");
	tcp_tx(ct, &web4, 1, ACK, 5301, 1101, 0, T0 + MS(51), NULL);
	assert_string_equal(state_of(c), "FIN_WAIT");
	tcp_tx(ct, &web4, 1, ACK, 5301, 1102, 0, T0 + MS(52), NULL);
	assert_string_equal(state_of(c), "CLOSE_WAIT");
	tcp_tx(ct, &web4, 1, FIN | ACK, 5301, 1102, 0, T0 + MS(60), NULL);
	assert_string_equal(state_of(c), "LAST_ACK");
	assert_string_equal(r.log, "new(1) state(1,SYN_SENT>SYN_RECV) state(1,SYN_RECV>ESTABLISHED) "
				   "state(1,ESTABLISHED>FIN_WAIT) state(1,FIN_WAIT>CLOSE_WAIT) "
				   "state(1,CLOSE_WAIT>LAST_ACK)");
	r.log[0] = '\0';
	tcp_tx(ct, &web4, 0, ACK, 1102, 5302, 0, T0 + MS(70), NULL);
	assert_string_equal(state_of(c), "TIME_WAIT");
	assert_string_equal(r.log, "state(1,LAST_ACK>TIME_WAIT) close(1)");

	in = info_of(c);
	assert_int_equal(in.id, 1);
	assert_int_equal(in.proto, 6);
	assert_int_equal(in.ip_version, 4);
	assert_int_equal(in.orig_port, 40000);
	assert_int_equal(in.resp_port, 80);
	assert_memory_equal(in.orig_addr, "\x0a\x00\x00\x01", 4);
	assert_memory_equal(in.resp_addr, "\xc0\x00\x02\x50", 4);
	assert_int_equal(in.flags & NETMOON_CONN_F_DIR_GUESSED, 0);
	/* First occurrences: S1 h2 A3 D4 d5 F6 a7 f9. */
	assert_string_equal(in.history, "ShADdFaf");
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "SF");
	assert_int_equal(in.ts_first_ns, T0);
	assert_int_equal(in.ts_last_ns, T0 + MS(70));
	/*
	 * orig sent packets 1,3,4,6,10: 5 packets.  IP lengths 40 each plus 100
	 * bytes of data in 4: 5*40+100 = 300.  Wire: 54-byte frames pad to 60;
	 * 4 is 14+140 = 154: 4*60+154 = 394.
	 */
	assert_int_equal(in.orig.pkts, 5);
	assert_int_equal(in.orig.ip_bytes, 300);
	assert_int_equal(in.orig.bytes, 394);
	assert_int_equal(in.orig.payload_bytes, 100);
	/* resp sent 2,5,7,8,9: IP 5*40+300 = 500; wire 4*60 + (14+340) = 594. */
	assert_int_equal(in.resp.pkts, 5);
	assert_int_equal(in.resp.ip_bytes, 500);
	assert_int_equal(in.resp.bytes, 594);
	assert_int_equal(in.resp.payload_bytes, 300);
	/* RTTs: SYN/ACK - SYN = 10 ms; ACK - SYN/ACK = 10 ms; ACK - SYN = 20 ms. */
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
				     NETMOON_CONN_F_HANDSHAKE),
			 NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK | NETMOON_CONN_F_HANDSHAKE);
	assert_int_equal(in.rtt_syn_ns, MS(10));
	assert_int_equal(in.rtt_ack_ns, MS(10));
	assert_int_equal(in.handshake_rtt_ns, MS(20));

	/* A late retransmitted FIN inside the linger time counts in the same connection. */
	r.log[0] = '\0';
	assert_int_equal(tcp_tx(ct, &web4, 1, FIN | ACK, 5301, 1102, 0, T0 + SEC(1), &c2), 0);
	assert_ptr_equal(c, c2);
	assert_int_equal(info_of(c).resp.pkts, 6);
	assert_string_equal(r.log, "");
	/* Linger (default = idle timeout, 60 s) ends: removed as CLOSED, state CLOSED. */
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(61), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(61) + 1, 0), 1);
	assert_string_equal(r.log, "rm(1,closed,CLOSED)");
	assert_int_equal(stats_of(ct).closed, 1);
	assert_int_equal(stats_of(ct).active, 0);
	netmoon_conntable_free(ct);
}

/* RST from either side: RESET, on_close; lingers, then removed with state RESET. */
static void test_tcp_reset(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0, &c);
	tcp_tx(ct, &web4, 1, SYN | ACK, 7, 2, 0, T0 + MS(1), NULL);
	tcp_tx(ct, &web4, 0, ACK, 2, 8, 0, T0 + MS(2), NULL);
	tcp_tx(ct, &web4, 0, RST | ACK, 2, 8, 0, T0 + MS(3), NULL);
	assert_string_equal(state_of(c), "RESET");
	assert_string_equal(r.log, "new(1) state(1,SYN_SENT>SYN_RECV) state(1,SYN_RECV>ESTABLISHED) "
				   "state(1,ESTABLISHED>RESET) close(1)");
	/* A RST after RESET changes nothing and fires nothing. */
	r.log[0] = '\0';
	tcp_tx(ct, &web4, 1, RST, 8, 0, 0, T0 + MS(4), NULL);
	assert_string_equal(state_of(c), "RESET");
	assert_string_equal(r.log, "");
	assert_int_equal(netmoon_conntable_expire(ct, T0 + MS(4) + SEC(60) + 1, 0), 1);
	assert_string_equal(r.log, "rm(1,closed,RESET)");
	netmoon_conntable_free(ct);
}

/*
 * FIN acknowledgement: the ACK must reach FIN's sequence number + 1, modulo
 * 2^32.  Simultaneous close goes FIN_WAIT -> LAST_ACK (both FINs out, none
 * acked) -> TIME_WAIT.
 */
static void test_tcp_fin_acked(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	/* Client ISN 0xffffff00; after the SYN its data starts at 0xffffff01. */
	tcp_tx(ct, &web4, 0, SYN, 0xffffff00u, 0, 0, T0, &c);
	tcp_tx(ct, &web4, 1, SYN | ACK, 100, 0xffffff01u, 0, T0 + 1, NULL);
	tcp_tx(ct, &web4, 0, ACK, 0xffffff01u, 101, 0, T0 + 2, NULL);
	/* 0xff bytes of data then FIN: the FIN takes 0xffffff01 + 0xff = 0 (wrapped). */
	tcp_tx(ct, &web4, 0, FIN | ACK | PSH, 0xffffff01u, 101, 0xff, T0 + 3, NULL);
	assert_string_equal(state_of(c), "FIN_WAIT");
	tcp_tx(ct, &web4, 1, ACK, 101, 0, 0, T0 + 4, NULL); /* ack 0: FIN itself, not past it */
	assert_string_equal(state_of(c), "FIN_WAIT");
	/* Simultaneous: server's FIN before it acknowledges the client's. */
	tcp_tx(ct, &web4, 1, FIN | ACK, 101, 0, 0, T0 + 5, NULL);
	assert_string_equal(state_of(c), "LAST_ACK");
	tcp_tx(ct, &web4, 0, ACK, 1, 102, 0, T0 + 6, NULL); /* acks server FIN (101 + 1) */
	assert_string_equal(state_of(c), "LAST_ACK");
	tcp_tx(ct, &web4, 1, ACK, 102, 1, 0, T0 + 7, NULL); /* ack 1 = 0 + 1: client FIN acked */
	assert_string_equal(state_of(c), "TIME_WAIT");
	assert_string_equal(r.log, "new(1) state(1,SYN_SENT>SYN_RECV) state(1,SYN_RECV>ESTABLISHED) "
				   "state(1,ESTABLISHED>FIN_WAIT) state(1,FIN_WAIT>LAST_ACK) "
				   "state(1,LAST_ACK>TIME_WAIT) close(1)");

	/* A FIN/ACK that also acknowledges the first FIN: FIN_WAIT -> LAST_ACK in one step. */
	{
		const struct flow f2 = { 0, "10.0.0.2", "192.0.2.80", 40001, 80, 6, 0, { 0 } };
		const struct netmoon_conn *d;

		tcp_tx(ct, &f2, 0, SYN, 10, 0, 0, T0 + 10, &d);
		tcp_tx(ct, &f2, 1, SYN | ACK, 20, 11, 0, T0 + 11, NULL);
		tcp_tx(ct, &f2, 0, ACK, 11, 21, 0, T0 + 12, NULL);
		tcp_tx(ct, &f2, 1, FIN | ACK, 21, 11, 0, T0 + 13, NULL); /* server closes first */
		assert_string_equal(state_of(d), "FIN_WAIT");
		tcp_tx(ct, &f2, 0, FIN | ACK, 11, 22, 0, T0 + 14, NULL);
		assert_string_equal(state_of(d), "LAST_ACK");
		tcp_tx(ct, &f2, 1, ACK, 22, 12, 0, T0 + 15, NULL);
		assert_string_equal(state_of(d), "TIME_WAIT");
		assert_string_equal(info_of(d).history, "ShAfFa");
		assert_string_equal(zeek_of(d), "SF");
	}
	netmoon_conntable_free(ct);
}

/* --- RTTs ------------------------------------------------------------------ */

static void test_rtt_values(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c;
	struct netmoon_conn_info in;

	(void)state;
	/*
	 * SYN at T0 + 0.100000001, SYN/ACK at T0 + 0.112345679, ACK at T0 + 0.113222222:
	 * rtt_syn = 12345678 ns, rtt_ack = 876543 ns, handshake = 13222221 ns.
	 */
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0 + NS(100000001), &c);
	in = info_of(c);
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
				     NETMOON_CONN_F_HANDSHAKE), 0);
	tcp_tx(ct, &web4, 1, SYN | ACK, 9, 2, 0, T0 + NS(112345679), NULL);
	in = info_of(c);
	assert_int_equal(in.flags & NETMOON_CONN_F_RTT_SYN, NETMOON_CONN_F_RTT_SYN);
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_ACK | NETMOON_CONN_F_HANDSHAKE), 0);
	assert_int_equal(in.rtt_syn_ns, 12345678);
	tcp_tx(ct, &web4, 0, ACK, 2, 10, 0, T0 + NS(113222222), NULL);
	/* Later segments change nothing. */
	tcp_tx(ct, &web4, 0, ACK | PSH, 2, 10, 10, T0 + NS(200000000), NULL);
	tcp_tx(ct, &web4, 1, ACK, 10, 12, 0, T0 + NS(300000000), NULL);
	in = info_of(c);
	assert_int_equal(in.rtt_syn_ns, 12345678);
	assert_int_equal(in.rtt_ack_ns, 876543);
	assert_int_equal(in.handshake_rtt_ns, 13222221);
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
				     NETMOON_CONN_F_HANDSHAKE),
			 NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK | NETMOON_CONN_F_HANDSHAKE);
	netmoon_conntable_free(ct);
}

/*
 * A retransmitted SYN (same ISN) stays in the connection, and RTTs run from
 * the latest SYN, as tshark's initial_rtt does:
 *   SYN T0, SYN again T0 + 1 s, SYN/ACK T0 + 1.030, ACK T0 + 1.031
 *   -> rtt_syn 30 ms, rtt_ack 1 ms, handshake 31 ms (not 1.031 s).
 */
static void test_rtt_retransmitted_syn(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c, *c2;
	struct netmoon_conn_info in;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	tcp_tx(ct, &web4, 0, SYN, 777, 0, 0, T0, &c);
	tcp_tx(ct, &web4, 0, SYN, 777, 0, 0, T0 + SEC(1), &c2);
	assert_ptr_equal(c, c2);
	assert_string_equal(state_of(c), "SYN_SENT");
	tcp_tx(ct, &web4, 1, SYN | ACK, 50, 778, 0, T0 + SEC(1) + MS(30), NULL);
	tcp_tx(ct, &web4, 0, ACK, 778, 51, 0, T0 + SEC(1) + MS(31), NULL);
	in = info_of(c);
	assert_int_equal(in.orig.pkts, 3);
	assert_int_equal(in.rtt_syn_ns, MS(30));
	assert_int_equal(in.rtt_ack_ns, MS(1));
	assert_int_equal(in.handshake_rtt_ns, MS(31));
	assert_string_equal(in.history, "ShA");
	assert_int_equal(stats_of(ct).created, 1);
	assert_int_equal(stats_of(ct).reused, 0);
	assert_string_equal(r.log, "new(1) state(1,SYN_SENT>SYN_RECV) state(1,SYN_RECV>ESTABLISHED)");

	/*
	 * The SYN sent again after the SYN/ACK (that SYN/ACK was lost on the way
	 * to the client): the handshake runs from the last SYN; which SYN/ACK the
	 * ACK answers is unknown, so rtt_ack is not reported.
	 *   SYN T, SYN/ACK T+10ms, SYN T+1s, SYN/ACK T+1.010, ACK T+1.012
	 *   -> rtt_syn 10 ms, handshake 12 ms.
	 */
	{
		const struct flow f2 = { 0, "10.0.0.9", "192.0.2.80", 41000, 80, 6, 0, { 0 } };
		const int64_t t = T0 + SEC(5);

		tcp_tx(ct, &f2, 0, SYN, 5, 0, 0, t, &c);
		tcp_tx(ct, &f2, 1, SYN | ACK, 90, 6, 0, t + MS(10), NULL);
		tcp_tx(ct, &f2, 0, SYN, 5, 0, 0, t + SEC(1), &c2);
		assert_ptr_equal(c, c2);
		tcp_tx(ct, &f2, 1, SYN | ACK, 90, 6, 0, t + SEC(1) + MS(10), NULL);
		tcp_tx(ct, &f2, 0, ACK, 6, 91, 0, t + SEC(1) + MS(12), NULL);
		in = info_of(c);
		assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
					     NETMOON_CONN_F_HANDSHAKE),
				 NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_HANDSHAKE);
		assert_int_equal(in.rtt_syn_ns, MS(10));
		assert_int_equal(in.handshake_rtt_ns, MS(12));
		assert_string_equal(state_of(c), "ESTABLISHED");
	}
	netmoon_conntable_free(ct);
}

/* SYN/ACK first: the receiver initiated; direction guessed and flipped ('^'). */
static void test_synack_first(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c, *c2;
	struct netmoon_conn_info in;

	(void)state;
	/* Server's SYN/ACK (seq 300, ack 101: the client's ISN was 100). */
	assert_int_equal(tcp_tx(ct, &web4, 1, SYN | ACK, 300, 101, 0, T0, &c), 0);
	in = info_of(c);
	assert_int_equal(in.orig_port, 40000);
	assert_int_equal(in.resp_port, 80);
	assert_memory_equal(in.orig_addr, "\x0a\x00\x00\x01", 4);
	assert_int_equal(in.flags & NETMOON_CONN_F_DIR_GUESSED, NETMOON_CONN_F_DIR_GUESSED);
	assert_string_equal(netmoon_conn_state_str(in.state), "SYN_RECV");
	assert_int_equal(in.resp.pkts, 1);
	assert_int_equal(in.orig.pkts, 0);
	assert_string_equal(in.history, "^h");
	/* The client's SYN arrives late (reordered): same ISN, same connection. */
	tcp_tx(ct, &web4, 0, SYN, 100, 0, 0, T0 + US(5), &c2);
	assert_ptr_equal(c, c2);
	assert_int_equal(stats_of(ct).created, 1);
	/* The ACK: rtt_ack = 900 us from the SYN/ACK; handshake 895 us from that SYN. */
	tcp_tx(ct, &web4, 0, ACK, 101, 301, 0, T0 + US(900), NULL);
	in = info_of(c);
	assert_string_equal(netmoon_conn_state_str(in.state), "ESTABLISHED");
	assert_string_equal(in.history, "^hSA");
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
				     NETMOON_CONN_F_HANDSHAKE),
			 NETMOON_CONN_F_RTT_ACK | NETMOON_CONN_F_HANDSHAKE);
	assert_int_equal(in.rtt_ack_ns, US(900));
	assert_int_equal(in.handshake_rtt_ns, US(895));
	netmoon_conntable_free(ct);
}

/* Picked up mid-stream: sender is orig unless it sends from a well-known port. */
static void test_midstream(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c, *c2;
	struct netmoon_conn_info in;

	(void)state;
	tcp_tx(ct, &web4, 0, ACK | PSH, 5000, 9000, 10, T0, &c);
	in = info_of(c);
	assert_int_equal(in.orig_port, 40000);
	assert_int_equal(in.flags & NETMOON_CONN_F_DIR_GUESSED, NETMOON_CONN_F_DIR_GUESSED);
	assert_string_equal(netmoon_conn_state_str(in.state), "ESTABLISHED");
	assert_string_equal(in.history, "D");
	tcp_tx(ct, &web4, 1, ACK, 9000, 5010, 0, T0 + 1, &c2);
	assert_ptr_equal(c, c2);
	in = info_of(c);
	assert_string_equal(in.history, "Da");
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "OTH");
	assert_int_equal(in.flags & (NETMOON_CONN_F_RTT_SYN | NETMOON_CONN_F_RTT_ACK |
				     NETMOON_CONN_F_HANDSHAKE), 0);

	/* First packet from port 80 to 40001: flipped, orig is the client. */
	{
		const struct flow f2 = { 0, "10.0.0.3", "192.0.2.80", 40001, 80, 6, 0, { 0 } };

		tcp_tx(ct, &f2, 1, ACK | PSH, 1, 1, 500, T0 + 2, &c);
		in = info_of(c);
		assert_int_equal(in.orig_port, 40001);
		assert_int_equal(in.resp_port, 80);
		assert_memory_equal(in.orig_addr, "\x0a\x00\x00\x03", 4);
		assert_string_equal(in.history, "^d");
		assert_int_equal(in.resp.payload_bytes, 500);
		assert_int_equal(in.flags & NETMOON_CONN_F_DIR_GUESSED, NETMOON_CONN_F_DIR_GUESSED);
	}
	/* Both ports well-known, or both ephemeral: the sender stays orig. */
	{
		const struct flow f3 = { 0, "10.0.0.4", "10.0.0.5", 179, 22, 6, 0, { 0 } };

		tcp_tx(ct, &f3, 0, ACK, 1, 1, 0, T0 + 3, &c);
		assert_int_equal(info_of(c).orig_port, 179);
		assert_string_equal(info_of(c).history, "A");
	}
	netmoon_conntable_free(ct);
}

/* --- tuple reuse ----------------------------------------------------------- */

static void test_reuse_after_close(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c, *c2;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	tcp_tx(ct, &web4, 0, SYN, 100, 0, 0, T0, &c);
	tcp_tx(ct, &web4, 1, SYN | ACK, 200, 101, 0, T0 + 1, NULL);
	tcp_tx(ct, &web4, 0, ACK, 101, 201, 0, T0 + 2, NULL);
	tcp_tx(ct, &web4, 0, FIN | ACK, 101, 201, 0, T0 + 3, NULL);
	tcp_tx(ct, &web4, 1, FIN | ACK, 201, 102, 0, T0 + 4, NULL);
	tcp_tx(ct, &web4, 0, ACK, 102, 202, 0, T0 + 5, NULL);
	assert_string_equal(state_of(c), "TIME_WAIT");
	r.log[0] = '\0';
	/* A new SYN on the tuple, while the old one lingers: a second connection. */
	assert_int_equal(tcp_tx(ct, &web4, 0, SYN, 90000, 0, 0, T0 + MS(100), &c2), 0);
	assert_string_equal(r.log, "rm(1,reused,TIME_WAIT) new(2)");
	assert_int_equal(info_of(c2).id, 2);
	assert_string_equal(state_of(c2), "SYN_SENT");
	assert_int_equal(info_of(c2).orig.pkts, 1);
	assert_int_equal(stats_of(ct).reused, 1);
	assert_int_equal(stats_of(ct).created, 2);
	assert_int_equal(stats_of(ct).active, 1);

	/* After RESET: even the same ISN starts a new connection. */
	tcp_tx(ct, &web4, 1, RST | ACK, 0, 90001, 0, T0 + MS(101), NULL);
	assert_string_equal(state_of(c2), "RESET");
	assert_string_equal(zeek_of(c2), "REJ");
	r.log[0] = '\0';
	tcp_tx(ct, &web4, 0, SYN, 90000, 0, 0, T0 + MS(600), &c);
	assert_string_equal(r.log, "rm(2,reused,RESET) new(3)");
	assert_int_equal(stats_of(ct).reused, 2);

	/* In SYN_SENT a SYN with another ISN is a new attempt on the tuple too. */
	r.log[0] = '\0';
	tcp_tx(ct, &web4, 0, SYN, 123456, 0, 0, T0 + MS(700), &c);
	assert_string_equal(r.log, "rm(3,reused,SYN_SENT) new(4)");
	/* ... and the same ISN is a retransmission. */
	r.log[0] = '\0';
	tcp_tx(ct, &web4, 0, SYN, 123456, 0, 0, T0 + MS(1700), &c2);
	assert_ptr_equal(c, c2);
	assert_string_equal(r.log, "");
	netmoon_conntable_free(ct);
}

/* --- Zeek's conn_state and history for the classic cases ------------------- */

struct zcase {
	const char *name;
	const char *zeek;
	const char *history;
	const char *state;
	struct { int from_b; uint8_t flags; uint32_t seq, ack, len; } p[8];
	int n;
};

static void test_zeek_states(void **state)
{
	static const struct zcase cases[] = {
		{ "S0", "S0", "S", "SYN_SENT", { { 0, SYN, 1, 0, 0 } }, 1 },
		{ "REJ", "REJ", "Sr", "RESET",
		  { { 0, SYN, 1, 0, 0 }, { 1, RST | ACK, 0, 2, 0 } }, 2 },
		{ "SF", "SF", "ShADdFf", "TIME_WAIT",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 }, { 0, ACK, 2, 10, 0 },
		    { 0, ACK | PSH, 2, 10, 5 }, { 1, ACK | PSH, 10, 7, 5 },
		    { 0, FIN | ACK, 7, 15, 0 }, { 1, FIN | ACK, 15, 8, 0 }, { 0, ACK, 8, 16, 0 } },
		  8 },
		{ "RSTO", "RSTO", "ShADdR", "RESET",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 }, { 0, ACK, 2, 10, 0 },
		    { 0, ACK | PSH, 2, 10, 5 }, { 1, ACK | PSH, 10, 7, 5 },
		    { 0, RST | ACK, 7, 15, 0 } },
		  6 },
		{ "RSTR", "RSTR", "ShADdr", "RESET",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 }, { 0, ACK, 2, 10, 0 },
		    { 0, ACK | PSH, 2, 10, 5 }, { 1, ACK | PSH, 10, 7, 5 },
		    { 1, RST | ACK, 15, 7, 0 } },
		  6 },
		{ "SH", "SH", "SF", "FIN_WAIT", { { 0, SYN, 1, 0, 0 }, { 0, FIN | ACK, 2, 0, 0 } }, 2 },
		{ "RSTOS0", "RSTOS0", "SR", "RESET", { { 0, SYN, 1, 0, 0 }, { 0, RST, 2, 0, 0 } }, 2 },
		{ "OTH", "OTH", "Dd", "ESTABLISHED",
		  { { 0, ACK | PSH, 1, 1, 10 }, { 1, ACK | PSH, 1, 11, 10 } }, 2 },
		{ "S1", "S1", "ShA", "ESTABLISHED",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 }, { 0, ACK, 2, 10, 0 } }, 3 },
		{ "S1 without the ACK", "S1", "Sh", "SYN_RECV",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 } }, 2 },
		{ "S3", "S3", "ShAf", "FIN_WAIT",
		  { { 0, SYN, 1, 0, 0 }, { 1, SYN | ACK, 9, 2, 0 }, { 0, ACK, 2, 10, 0 },
		    { 1, FIN | ACK, 10, 2, 0 } },
		  4 },
		{ "SYN+FIN is Q", "SH", "Q", "FIN_WAIT", { { 0, SYN | FIN, 1, 0, 0 } }, 1 },
		{ "backscatter RST", "OTH", "R", "RESET", { { 0, RST, 1, 0, 0 } }, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct zcase *z = &cases[i];
		struct netmoon_conntable *ct = mktable(4, 0);
		const struct netmoon_conn *c = NULL;
		struct netmoon_conn_info in;

		for (int j = 0; j < z->n; j++)
			assert_int_equal(tcp_tx(ct, &web4, z->p[j].from_b, z->p[j].flags, z->p[j].seq,
						z->p[j].ack, z->p[j].len, T0 + j, &c), 0);
		in = info_of(c);
		print_message("  %-20s %-7s %-9s %s\n", z->name,
			      netmoon_conn_zeek_state_str(in.zeek_state), in.history,
			      netmoon_conn_state_str(in.state));
		assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), z->zeek);
		assert_string_equal(in.history, z->history);
		assert_string_equal(netmoon_conn_state_str(in.state), z->state);
		assert_int_equal(stats_of(ct).created, 1);
		netmoon_conntable_free(ct);
	}
}

/* --- keys --------------------------------------------------------------- */

static void test_both_directions(void **state)
{
	static const struct flow u4 = { 0, "10.1.1.1", "10.2.2.2", 5353, 53, 17, 0, { 0 } };
	static const struct flow u6 = { 1, "2001:db8::1", "2001:db8:ffff::2", 5353, 53, 17, 0, { 0 } };
	static const struct flow t6 = { 1, "2001:db8::1", "2001:db8:ffff::2", 50000, 443, 6, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(64, 0);
	const struct netmoon_conn *a, *b;
	struct netmoon_conn_info in;
	uint8_t want[16];

	(void)state;
	udp_tx(ct, &u4, 0, 30, T0, &a);
	udp_tx(ct, &u4, 1, 100, T0 + 1, &b);
	assert_ptr_equal(a, b);
	udp_tx(ct, &u6, 0, 30, T0 + 2, &b);
	assert_ptr_not_equal(a, b);
	udp_tx(ct, &u6, 1, 100, T0 + 3, &a);
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_int_equal(in.ip_version, 6);
	put_addr(want, 1, "2001:db8::1");
	assert_memory_equal(in.orig_addr, want, 16);
	put_addr(want, 1, "2001:db8:ffff::2");
	assert_memory_equal(in.resp_addr, want, 16);
	assert_int_equal(in.orig_port, 5353);
	assert_int_equal(in.resp_port, 53);
	tcp_tx(ct, &t6, 0, SYN, 1, 0, 0, T0 + 4, &a);
	tcp_tx(ct, &t6, 1, SYN | ACK, 1, 2, 0, T0 + 5, &b);
	assert_ptr_equal(a, b);
	assert_int_equal(stats_of(ct).active, 3);

	/* Same addresses, ports swapped but not mirrored: another flow. */
	{
		const struct flow x = { 0, "10.1.1.1", "10.2.2.2", 53, 5353, 17, 0, { 0 } };

		udp_tx(ct, &x, 0, 1, T0 + 6, &b);
		assert_int_equal(stats_of(ct).active, 4);
	}
	/* IPv4 10.1.1.1 and IPv6 a01:101:: have the same 16 bytes but differ in version. */
	{
		const struct flow y = { 1, "a01:101::", "a02:202::", 5353, 53, 17, 0, { 0 } };

		udp_tx(ct, &y, 0, 1, T0 + 7, &b);
		assert_int_equal(stats_of(ct).active, 5);
	}
	netmoon_conntable_free(ct);
}

static void test_vlan_key(void **state)
{
	struct flow v10 = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 1, { 10 } };
	struct flow v20 = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 1, { 20 } };
	struct flow q2 = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 2, { 100, 200 } };
	struct flow q3 = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 3, { 100, 200, 300 } };
	struct flow none = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *a, *b, *q;
	struct netmoon_conn_info in;

	(void)state;
	udp_tx(ct, &v10, 0, 1, T0, &a);
	udp_tx(ct, &v20, 1, 1, T0 + 1, &b);
	assert_ptr_not_equal(a, b);
	udp_tx(ct, &v10, 1, 1, T0 + 2, &b);
	assert_ptr_equal(a, b);
	udp_tx(ct, &none, 0, 1, T0 + 3, &b);
	assert_ptr_not_equal(a, b);
	in = info_of(a);
	assert_int_equal(in.vlan_count, 1);
	assert_int_equal(in.vlan_ids[0], 10);
	assert_int_equal(in.vlan_ids[1], 0);
	assert_int_equal(info_of(b).vlan_count, 0);
	/* Q-in-Q: both IDs, outer first; a third tag is not part of the key. */
	udp_tx(ct, &q2, 0, 1, T0 + 4, &q);
	in = info_of(q);
	assert_int_equal(in.vlan_count, 2);
	assert_int_equal(in.vlan_ids[0], 100);
	assert_int_equal(in.vlan_ids[1], 200);
	udp_tx(ct, &q3, 1, 1, T0 + 5, &b);
	assert_ptr_equal(q, b);
	/* 802.1p priority tag (VLAN 0) still differs from untagged. */
	{
		struct flow p0 = { 0, "10.0.0.1", "10.0.0.2", 1111, 2222, 17, 1, { 0 } };

		udp_tx(ct, &p0, 0, 1, T0 + 6, &b);
		assert_int_equal(info_of(b).vlan_count, 1);
	}
	assert_int_equal(stats_of(ct).active, 5);
	netmoon_conntable_free(ct);

	ct = mktable(16, NETMOON_CT_F_IGNORE_VLAN);
	udp_tx(ct, &v10, 0, 1, T0, &a);
	udp_tx(ct, &v20, 1, 1, T0 + 1, &b);
	assert_ptr_equal(a, b);
	udp_tx(ct, &q3, 0, 1, T0 + 2, &b);
	assert_ptr_equal(a, b);
	assert_int_equal(info_of(a).vlan_count, 0);
	assert_int_equal(info_of(a).orig.pkts, 2);
	assert_int_equal(info_of(a).resp.pkts, 1);
	netmoon_conntable_free(ct);
}

static void test_icmp(void **state)
{
	static const struct flow p4 = { 0, "10.0.0.1", "8.8.8.8", 0, 0, 1, 0, { 0 } };
	static const struct flow p6 = { 1, "2001:db8::1", "2001:db8::2", 0, 0, 58, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *a, *b;
	struct netmoon_conn_info in;

	(void)state;
	icmp_tx(ct, &p4, 0, 8, 0, 0x1234, T0, &a);      /* echo request */
	icmp_tx(ct, &p4, 1, 0, 0, 0x1234, T0 + 1, &b);  /* echo reply */
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_int_equal(in.proto, 1);
	assert_int_equal(in.orig_port, 8);
	assert_int_equal(in.resp_port, 0x1234);
	assert_int_equal(in.orig.pkts, 1);
	assert_int_equal(in.resp.pkts, 1);
	assert_string_equal(in.history, "Dd");
	assert_string_equal(netmoon_conn_state_str(in.state), "ACTIVE");
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "OTH");
	icmp_tx(ct, &p4, 0, 8, 0, 0x1235, T0 + 2, &b); /* another identifier */
	assert_ptr_not_equal(a, b);
	/* Timestamp request/reply (13/14) pair up the same way. */
	icmp_tx(ct, &p4, 1, 14, 0, 7, T0 + 3, &a);     /* the reply seen first */
	icmp_tx(ct, &p4, 0, 13, 0, 7, T0 + 4, &b);
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_memory_equal(in.orig_addr, "\x08\x08\x08\x08", 4); /* first sender */
	assert_int_equal(in.orig_port, 13);                       /* the request's type */
	assert_int_equal(in.resp_port, 7);
	/* Not echo-like: (type, code). */
	icmp_tx(ct, &p4, 1, 3, 1, 0, T0 + 5, &a);
	in = info_of(a);
	assert_int_equal(in.orig_port, 3);
	assert_int_equal(in.resp_port, 1);
	icmp_tx(ct, &p4, 1, 3, 3, 0, T0 + 6, &b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(stats_of(ct).active, 5);
	/* ICMPv6 echo 128/129. */
	icmp_tx(ct, &p6, 0, 128, 0, 99, T0 + 7, &a);
	icmp_tx(ct, &p6, 1, 129, 0, 99, T0 + 8, &b);
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_int_equal(in.proto, 58);
	assert_int_equal(in.orig_port, 128);
	assert_int_equal(in.resp_port, 99);
	netmoon_conntable_free(ct);
}

static void test_udp_and_other(void **state)
{
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 40000, 53, 17, 0, { 0 } };
	static const struct flow gre = { 0, "10.0.0.1", "10.0.0.2", 0, 0, 47, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *a, *b;
	struct netmoon_frame f;
	struct netmoon_conn_info in;

	(void)state;
	/* A reply from port 53 seen first: non-TCP keeps the first sender as orig. */
	udp_tx(ct, &u, 1, 100, T0, &a);
	in = info_of(a);
	assert_int_equal(in.orig_port, 53);
	assert_int_equal(in.flags & NETMOON_CONN_F_DIR_GUESSED, 0);
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "S0");
	assert_string_equal(in.history, "D");
	udp_tx(ct, &u, 0, 30, T0 + 1, &b);
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "SF");
	assert_string_equal(in.history, "Dd");
	assert_string_equal(netmoon_conn_state_str(in.state), "ACTIVE");

	/* GRE: an IP protocol without ports. */
	mkframe(&f, &gre, 0);
	f.layers &= ~NETMOON_FRAME_L_L4;
	set_sizes(&f, 4, 96);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 2, &a), 0);
	mkframe(&f, &gre, 1);
	f.layers &= ~NETMOON_FRAME_L_L4;
	set_sizes(&f, 4, 50);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 3, &b), 0);
	assert_ptr_equal(a, b);
	in = info_of(a);
	assert_int_equal(in.proto, 47);
	assert_int_equal(in.orig_port, 0);
	assert_int_equal(in.resp_port, 0);
	/* orig: IP 20+4+96 = 120, wire 134; resp: IP 74, wire 88. */
	assert_int_equal(in.orig.ip_bytes, 120);
	assert_int_equal(in.orig.bytes, 134);
	assert_int_equal(in.resp.ip_bytes, 74);
	assert_int_equal(in.resp.bytes, 88);
	assert_string_equal(netmoon_conn_zeek_state_str(in.zeek_state), "OTH");
	netmoon_conntable_free(ct);
}

/* Direction counters with sizes given explicitly (the parser's numbers). */
static void test_counters(void **state)
{
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 1000, 2000, 17, 0, { 0 } };
	static const struct { int from_b; uint32_t wire, ip, payload; } pk[] = {
		{ 0, 60, 29, 1 }, { 0, 1514, 1500, 1472 }, { 1, 74, 60, 32 },
		{ 0, 98, 84, 56 }, { 1, 60, 28, 0 },
	};
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c = NULL;
	struct netmoon_conn_info in;

	(void)state;
	for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
		struct netmoon_frame f;

		mkframe(&f, &u, pk[i].from_b);
		f.wirelen = f.caplen = pk[i].wire;
		f.ip_len = pk[i].ip;
		f.payload_len = pk[i].payload;
		assert_int_equal(netmoon_conntable_track(ct, &f, T0 + (int64_t)i, &c), 0);
	}
	in = info_of(c);
	/* orig: 60+1514+98 = 1672 wire, 29+1500+84 = 1613 IP, 1+1472+56 = 1529 payload */
	assert_int_equal(in.orig.pkts, 3);
	assert_int_equal(in.orig.bytes, 1672);
	assert_int_equal(in.orig.ip_bytes, 1613);
	assert_int_equal(in.orig.payload_bytes, 1529);
	/* resp: 74+60 = 134 wire, 60+28 = 88 IP, 32 payload */
	assert_int_equal(in.resp.pkts, 2);
	assert_int_equal(in.resp.bytes, 134);
	assert_int_equal(in.resp.ip_bytes, 88);
	assert_int_equal(in.resp.payload_bytes, 32);
	assert_int_equal(in.ts_first_ns, T0);
	assert_int_equal(in.ts_last_ns, T0 + 4);
	netmoon_conntable_free(ct);
}

/* Time never goes backwards inside the table. */
static void test_time_monotonic(void **state)
{
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 1000, 2000, 17, 0, { 0 } };
	static const struct flow v = { 0, "10.0.0.3", "10.0.0.2", 1000, 2000, 17, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *a, *b;

	(void)state;
	udp_tx(ct, &u, 0, 1, T0 + SEC(10), &a);
	udp_tx(ct, &u, 1, 1, T0 + SEC(5), &a); /* earlier stamp: taken as T0+10s */
	assert_int_equal(info_of(a).ts_last_ns, T0 + SEC(10));
	udp_tx(ct, &v, 0, 1, T0 + SEC(1), &b);
	assert_int_equal(info_of(b).ts_first_ns, T0 + SEC(10));

	/*
	 * RTTs use the packets' own stamps: in a capture merged out of order, a
	 * handshake stamped T0+1.010, 1.020, 1.030 s after a packet of T0+10 s
	 * still gives 10, 10 and 20 ms, while its times are the table's (T0+10 s).
	 */
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0 + SEC(1) + MS(10), &a);
	tcp_tx(ct, &web4, 1, SYN | ACK, 9, 2, 0, T0 + SEC(1) + MS(20), NULL);
	tcp_tx(ct, &web4, 0, ACK, 2, 10, 0, T0 + SEC(1) + MS(30), NULL);
	assert_int_equal(info_of(a).rtt_syn_ns, MS(10));
	assert_int_equal(info_of(a).rtt_ack_ns, MS(10));
	assert_int_equal(info_of(a).handshake_rtt_ns, MS(20));
	assert_int_equal(info_of(a).ts_first_ns, T0 + SEC(10));
	assert_int_equal(info_of(a).ts_last_ns, T0 + SEC(10));
	netmoon_conntable_free(ct);
}

/* --- expiry ----------------------------------------------------------------- */

static void test_expiry_per_class(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 64, .idle_timeout_ns = SEC(100),
		     .tcp_syn_timeout_ns = SEC(2), .tcp_established_timeout_ns = SEC(10),
		     .tcp_closing_timeout_ns = SEC(3), .tcp_closed_timeout_ns = SEC(1),
		     .udp_timeout_ns = SEC(5), .icmp_timeout_ns = SEC(4));
	static const struct flow syn = { 0, "10.0.0.1", "10.9.0.1", 1001, 80, 6, 0, { 0 } };
	static const struct flow est = { 0, "10.0.0.2", "10.9.0.1", 1002, 80, 6, 0, { 0 } };
	static const struct flow clo = { 0, "10.0.0.3", "10.9.0.1", 1003, 80, 6, 0, { 0 } };
	static const struct flow rst = { 0, "10.0.0.4", "10.9.0.1", 1004, 80, 6, 0, { 0 } };
	static const struct flow udp = { 0, "10.0.0.5", "10.9.0.1", 1005, 53, 17, 0, { 0 } };
	static const struct flow icmp = { 0, "10.0.0.6", "10.9.0.1", 0, 0, 1, 0, { 0 } };
	static const struct flow gre = { 0, "10.0.0.7", "10.9.0.1", 0, 0, 47, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	struct netmoon_frame f;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	/* All last active at T0 (ids 1..7 in this order). */
	tcp_tx(ct, &syn, 0, SYN, 1, 0, 0, T0, NULL);                 /* 1: syn, 2 s */
	tcp_tx(ct, &est, 0, ACK, 1, 1, 0, T0, NULL);                 /* 2: established, 10 s */
	tcp_tx(ct, &clo, 0, FIN | ACK, 1, 1, 0, T0, NULL);           /* 3: closing, 3 s */
	tcp_tx(ct, &rst, 0, RST, 1, 0, 0, T0, NULL);                 /* 4: closed, 1 s */
	udp_tx(ct, &udp, 0, 1, T0, NULL);                            /* 5: udp, 5 s */
	icmp_tx(ct, &icmp, 0, 8, 0, 1, T0, NULL);                    /* 6: icmp, 4 s */
	mkframe(&f, &gre, 0);
	f.layers &= ~NETMOON_FRAME_L_L4;
	set_sizes(&f, 4, 10);
	netmoon_conntable_track(ct, &f, T0, NULL);                   /* 7: other = idle, 100 s */
	r.log[0] = '\0';

	/* Exactly at each timeout nothing goes; one nanosecond later it does. */
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(1), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(1) + 1, 0), 1);
	assert_string_equal(r.log, "rm(4,closed,RESET)");
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(2), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(2) + 1, 0), 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(3), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(3) + 1, 0), 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(4), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(4) + 1, 0), 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(5), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(5) + 1, 0), 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(10), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(10) + 1, 0), 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(100), 0), 0);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(100) + 1, 0), 1);
	assert_string_equal(r.log, "rm(4,closed,RESET) rm(1,expired,SYN_SENT) "
				   "rm(3,expired,FIN_WAIT) rm(6,expired,EXPIRED) "
				   "rm(5,expired,EXPIRED) rm(2,expired,ESTABLISHED) "
				   "rm(7,expired,EXPIRED)");
	assert_int_equal(stats_of(ct).expired, 6);
	assert_int_equal(stats_of(ct).closed, 1);
	assert_int_equal(stats_of(ct).active, 0);
	netmoon_conntable_free(ct);
}

/* Activity postpones expiry; a packet to an idled-out flow starts a new one. */
static void test_expiry_activity(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 8, .udp_timeout_ns = SEC(5));
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 1000, 2000, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	const struct netmoon_conn *a, *b;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	udp_tx(ct, &u, 0, 1, T0, &a);
	udp_tx(ct, &u, 1, 1, T0 + SEC(4), &b);
	assert_ptr_equal(a, b);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(9), 0), 0); /* 4 + 5 = 9: not yet */
	udp_tx(ct, &u, 0, 1, T0 + SEC(9), &b);
	assert_ptr_equal(a, b);
	assert_int_equal(info_of(a).orig.pkts, 2);
	/* 9 + 5 = 14: a packet just after is a new connection. */
	udp_tx(ct, &u, 1, 1, T0 + SEC(14) + 1, &b);
	assert_string_equal(r.log, "new(1) rm(1,expired,EXPIRED) new(2)");
	assert_int_equal(info_of(b).id, 2);
	assert_int_equal(info_of(b).orig_port, 2000); /* the new first sender */
	netmoon_conntable_free(ct);
}

/* Expiry is incremental: track() removes only a few; expire() honours its budget. */
static void test_expiry_budget(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 64, .udp_timeout_ns = SEC(1));
	struct netmoon_conntable *ct = NULL;
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 0, 53, 17, 0, { 0 } };
	struct flow other = { 0, "10.7.7.7", "10.0.0.2", 7, 53, 17, 0, { 0 } };
	uint64_t after_track;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	for (int i = 0; i < 40; i++) {
		u.ap = (uint16_t)(1000 + i);
		udp_tx(ct, &u, 0, 1, T0 + i, NULL);
	}
	assert_int_equal(stats_of(ct).active, 40);
	/* One packet long after: some expire, far from all 40. */
	udp_tx(ct, &other, 0, 1, T0 + SEC(10), NULL);
	after_track = stats_of(ct).expired;
	print_message("  expired by one track(): %" PRIu64 " of 40\n", after_track);
	assert_true(after_track >= 1 && after_track <= 8);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(10), 5), 5);
	assert_int_equal(stats_of(ct).expired, after_track + 5);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(10), 0), 40 - 5 - (int64_t)after_track);
	assert_int_equal(stats_of(ct).active, 1);
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(10), 0), 0);
	netmoon_conntable_free(ct);
}

/*
 * A TCP/UDP header cut after its ports: the parser sets L_PORTS without
 * L_L4.  Outside a fragment such a packet is left untracked (counted), as
 * tshark's conversation tables leave it out; a tiny first fragment is
 * tracked, so that its followers find their flow.
 */
static void test_ports_only(void **state)
{
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 4000, 5000, 17, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	NETMOON_OPTS(netmoon_conntable_stats, st);
	const struct netmoon_conn *c, *c2;
	struct netmoon_frame f;
	struct netmoon_conn_info in;

	(void)state;
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0, &c);
	tcp_tx(ct, &web4, 1, SYN | ACK, 9, 2, 0, T0 + 1, NULL);
	tcp_tx(ct, &web4, 0, ACK, 2, 10, 0, T0 + 2, NULL);
	mkframe(&f, &web4, 0);
	f.reason = NETMOON_FRAME_R_TRUNC_L4;
	f.layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP | NETMOON_FRAME_L_PORTS;
	f.tcp_flags = RST; /* not decoded: must be ignored */
	f.wirelen = 1514;
	f.ip_len = 1500;
	f.payload_len = 1480;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 3, &c2), 1);
	assert_null(c2);
	in = info_of(c);
	assert_int_equal(in.orig.pkts, 2);
	assert_string_equal(netmoon_conn_state_str(in.state), "ESTABLISHED");
	assert_string_equal(in.history, "ShA");
	assert_int_equal(netmoon_conntable_get_stats(ct, &st), 0);
	assert_int_equal(st.untracked, 1);

	/* A tiny first fragment (UDP ports only) still lets later fragments in. */
	mkframe(&f, &u, 0);
	f.reason = NETMOON_FRAME_R_TRUNC_L4;
	f.layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP | NETMOON_FRAME_L_PORTS;
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS;
	f.frag_id = 77;
	f.wirelen = 60;
	f.ip_len = 28;
	f.payload_len = 0;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 5, &c), 0);
	mkframe(&f, &u, 0);
	f.reason = NETMOON_FRAME_R_FRAGMENT;
	f.layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP;
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT;
	f.frag_id = 77;
	f.frag_offset = 8;
	f.wirelen = 1514;
	f.ip_len = 1500;
	f.payload_len = 1480;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 6, &c2), 0);
	assert_ptr_equal(c, c2);
	assert_int_equal(info_of(c).orig.ip_bytes, 28 + 1500);
	netmoon_conntable_free(ct);
}

/*
 * Expiry is never early and at most timeout/64 late.  Timeout 64 ms, so at
 * most 1 ms late.  A is active at t and t+0.2 ms, B at t+0.1 ms.
 */
static void test_expiry_granularity(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 8, .udp_timeout_ns = MS(64));
	static const struct flow a = { 0, "10.0.0.1", "10.0.0.2", 1, 53, 17, 0, { 0 } };
	static const struct flow b = { 0, "10.0.0.3", "10.0.0.2", 1, 53, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	const int64_t t = T0;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	udp_tx(ct, &a, 0, 1, t, NULL);
	udp_tx(ct, &b, 0, 1, t + US(100), NULL);
	udp_tx(ct, &a, 1, 1, t + US(200), NULL);
	r.log[0] = '\0';
	/* B's timeout is reached, not passed: nothing goes. */
	assert_int_equal(netmoon_conntable_expire(ct, t + US(100) + MS(64), 0), 0);
	/* A's timeout reached: A stays (B may go, a little late). */
	netmoon_conntable_expire(ct, t + US(200) + MS(64), 0);
	assert_null(strstr(r.log, "rm(1,"));
	/* 1 ms after B's timeout B is certainly gone. */
	netmoon_conntable_expire(ct, t + US(100) + MS(65) + 1, 0);
	assert_non_null(strstr(r.log, "rm(2,expired,EXPIRED)"));
	netmoon_conntable_free(ct);
}

/* --- cap and eviction ------------------------------------------------------ */

static void test_eviction_order(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 4, .udp_timeout_ns = SEC(10),
		     .emergency_high_pct = 101);
	static const struct flow fu = { 0, "10.0.0.1", "10.0.1.1", 1, 53, 17, 0, { 0 } };
	static const struct flow fs = { 0, "10.0.0.2", "10.0.1.1", 2, 80, 6, 0, { 0 } };
	static const struct flow fa = { 0, "10.0.0.3", "10.0.1.1", 3, 80, 6, 0, { 0 } };
	static const struct flow fb = { 0, "10.0.0.4", "10.0.1.1", 4, 80, 6, 0, { 0 } };
	static const struct flow fx = { 0, "10.0.0.5", "10.0.1.1", 5, 53, 17, 0, { 0 } };
	static const struct flow fy = { 0, "10.0.0.6", "10.0.1.1", 6, 53, 17, 0, { 0 } };
	static const struct flow fz = { 0, "10.0.0.7", "10.0.1.1", 7, 53, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	const struct netmoon_conn *c;
	struct netmoon_conntable_stats st;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	udp_tx(ct, &fu, 0, 1, T0, NULL);                           /* 1: UDP, last at T0 */
	udp_tx(ct, &fu, 1, 1, T0, NULL);                           /* ... answered */
	tcp_tx(ct, &fs, 0, SYN, 1, 0, 0, T0 + SEC(1), NULL);       /* 2: embryonic */
	tcp_tx(ct, &fa, 0, SYN, 1, 0, 0, T0 + SEC(2), NULL);       /* 3: established below */
	tcp_tx(ct, &fa, 1, SYN | ACK, 1, 2, 0, T0 + SEC(2), NULL);
	tcp_tx(ct, &fa, 0, ACK, 2, 2, 0, T0 + SEC(2), NULL);
	tcp_tx(ct, &fb, 0, ACK, 1, 1, 0, T0 + SEC(3), NULL);       /* 4: mid-stream */
	r.log[0] = '\0';
	/* Full, nothing expired: the embryonic connection goes first. */
	assert_int_equal(udp_tx(ct, &fx, 0, 1, T0 + SEC(5), &c), 0);
	assert_string_equal(r.log, "rm(2,evicted,SYN_SENT) new(5)");
	udp_tx(ct, &fx, 1, 1, T0 + SEC(5), NULL); /* answered: not embryonic */
	/* Again: no embryonic left: the least recently active (1, at T0). */
	r.log[0] = '\0';
	assert_int_equal(udp_tx(ct, &fy, 0, 1, T0 + SEC(6), &c), 0);
	assert_string_equal(r.log, "rm(1,evicted,ACTIVE) new(6)");
	udp_tx(ct, &fy, 1, 1, T0 + SEC(6), NULL);
	/*
	 * UDP flows idle out after 10 s: flow 5 (last T0+5 s) goes with the packet
	 * at T0+16 s, flow 6 (last T0+6 s) with the one just after it, before the
	 * new flow 7 needs room.
	 */
	r.log[0] = '\0';
	tcp_tx(ct, &fa, 0, ACK, 2, 2, 0, T0 + SEC(16), NULL);
	tcp_tx(ct, &fb, 0, ACK, 1, 1, 0, T0 + SEC(16), NULL);
	assert_int_equal(udp_tx(ct, &fz, 0, 1, T0 + SEC(16) + 1, &c), 0);
	assert_string_equal(r.log, "rm(5,expired,EXPIRED) rm(6,expired,EXPIRED) new(7)");
	st = stats_of(ct);
	assert_int_equal(st.evicted, 2);
	assert_int_equal(st.evicted_embryonic, 1);
	assert_int_equal(st.emergencies, 0);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.created, 7);
	assert_int_equal(st.active, 3);
	assert_int_equal(st.peak, 4);
	assert_int_equal(st.max_conns, 4);
	assert_int_equal(st.refused, 0);
	netmoon_conntable_free(ct);
}

/* When full, the table reuses an expired entry before it evicts a live one. */
static void test_full_reuses_expired(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 2, .udp_timeout_ns = SEC(10),
		     .tcp_syn_timeout_ns = SEC(100), .emergency_high_pct = 101);
	static const struct flow f1 = { 0, "10.0.0.1", "10.0.1.1", 1, 53, 17, 0, { 0 } };
	static const struct flow f2 = { 0, "10.0.0.2", "10.0.1.1", 2, 80, 6, 0, { 0 } };
	static const struct flow f3 = { 0, "10.0.0.3", "10.0.1.1", 3, 53, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	udp_tx(ct, &f1, 0, 1, T0, NULL);
	tcp_tx(ct, &f2, 0, SYN, 1, 0, 0, T0, NULL); /* embryonic, but not expired */
	r.log[0] = '\0';
	udp_tx(ct, &f3, 0, 1, T0 + SEC(11), NULL);
	assert_string_equal(r.log, "rm(1,expired,EXPIRED) new(3)");
	assert_int_equal(stats_of(ct).evicted, 0);
	netmoon_conntable_free(ct);
}

/*
 * A SYN flood and a UDP flood from random sources into a table of 100:
 * established connections and answered UDP flows survive (the unanswered
 * go first, as with Linux conntrack's early drop), every eviction is
 * counted, memory stays at the cap; emergency mode starts at 90 entries,
 * times the unanswered out after 5 s instead of 60, and ends below 70.
 */
static void test_flood_early_drop_and_emergency(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 100);
	struct flow web = { 0, "10.1.0.1", "10.2.0.1", 0, 443, 6, 0, { 0 } };
	struct flow dns = { 0, "10.1.0.2", "10.2.0.2", 0, 53, 17, 0, { 0 } };
	struct flow syn = { 0, NULL, "10.2.0.1", 0, 80, 6, 0, { 0 } };
	struct flow udp = { 0, NULL, "10.2.0.2", 0, 53, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	struct netmoon_conntable_stats st;
	const struct netmoon_conn *c;
	char src[32];
	int64_t t = T0;
	int kept_web = 0, kept_dns = 0, n = 0;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	for (int i = 0; i < 10; i++) {
		web.ap = (uint16_t)(40000 + i);
		tcp_tx(ct, &web, 0, SYN, 1, 0, 0, t, NULL);
		tcp_tx(ct, &web, 1, SYN | ACK, 1, 2, 0, t, NULL);
		tcp_tx(ct, &web, 0, ACK, 2, 2, 0, t, NULL);
		dns.ap = (uint16_t)(50000 + i);
		udp_tx(ct, &dns, 0, 40, t, NULL);
		udp_tx(ct, &dns, 1, 80, t, NULL);
	}
	for (int i = 0; i < 20000; i++) {
		struct flow *f = i % 2 ? &udp : &syn;

		t += 100000; /* 10,000 packets a second */
		snprintf(src, sizeof(src), "172.%d.%d.%d", 16 + i / 65536, (i / 256) % 256, i % 256);
		f->a = src;
		f->ap = (uint16_t)(1024 + i % 60000);
		if (f == &syn)
			assert_int_equal(tcp_tx(ct, f, 0, SYN, 7, 0, 0, t, NULL), 0);
		else
			assert_int_equal(udp_tx(ct, f, 0, 30, t, NULL), 0);
		st = stats_of(ct);
		assert_true(st.active <= 100);
		if (i == 200) {
			assert_int_equal(st.emergency, 1);
			assert_int_equal(st.emergencies, 1);
		}
	}
	st = stats_of(ct);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.created, 20 + 20000);
	assert_int_equal(st.evicted + st.expired + st.active, 20 + 20000);
	assert_int_equal(st.evicted, st.evicted_embryonic);
	assert_true(st.evicted > 19000);
	for (c = netmoon_conntable_next(ct, NULL); c; c = netmoon_conntable_next(ct, c)) {
		struct netmoon_conn_info ci = info_of(c);

		if (ci.proto == 6 && ci.resp_port == 443) {
			assert_string_equal(state_of(c), "ESTABLISHED");
			kept_web++;
		}
		if (ci.proto == 17 && ci.resp_port == 53 && ci.resp.pkts == 1)
			kept_dns++;
		n++;
	}
	assert_int_equal(kept_web, 10);
	assert_int_equal(kept_dns, 10);
	assert_int_equal(n, (int)st.active);
	/*
	 * The flood stops.  6 s later (past the 5 s emergency timeout, well
	 * before the normal 60 s) the unanswered time out until the table is
	 * below the low-water mark (70 entries): then the emergency ends and
	 * the rest have their normal 60 s again.
	 */
	assert_int_equal(st.active, 100);
	assert_int_equal(netmoon_conntable_expire(ct, t + SEC(6), 0), 31);
	st = stats_of(ct);
	assert_int_equal(st.active, 69);
	assert_int_equal(st.emergency, 0);
	assert_int_equal(st.emergencies, 1);
	netmoon_conntable_free(ct);
}

/* Emergency settings: 101 % turns it off; low must be below high. */
static void test_emergency_options(void **state)
{
	struct netmoon_conntable *ct = NULL;
	struct flow u = { 0, NULL, "10.2.0.2", 9, 53, 17, 0, { 0 } };
	char src[32];

	(void)state;
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 10, .emergency_high_pct = 102);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 10, .emergency_high_pct = 50,
			     .emergency_low_pct = 50);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 10, .emergency_timeout_ns = -1);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 10, .emergency_high_pct = 101);

		assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
		for (int i = 0; i < 30; i++) {
			snprintf(src, sizeof(src), "172.16.0.%d", i);
			u.a = src;
			udp_tx(ct, &u, 0, 1, T0 + i, NULL);
		}
		assert_int_equal(stats_of(ct).emergencies, 0);
		assert_int_equal(stats_of(ct).evicted, 20);
		netmoon_conntable_free(ct);
	}
	{
		/* 50 % / 20 %, 1 s: on at 5 entries, off below 2. */
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 10, .emergency_high_pct = 50,
			     .emergency_low_pct = 20, .emergency_timeout_ns = SEC(1));

		assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
		for (int i = 0; i < 4; i++) {
			snprintf(src, sizeof(src), "172.16.0.%d", i);
			u.a = src;
			udp_tx(ct, &u, 0, 1, T0, NULL);
		}
		assert_int_equal(stats_of(ct).emergency, 0);
		u.a = "172.16.0.99";
		udp_tx(ct, &u, 0, 1, T0, NULL);
		assert_int_equal(stats_of(ct).emergency, 1);
		/* Below 2 entries the normal 60 s apply again: the last one stays. */
		assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(1) + 1, 0), 4);
		assert_int_equal(stats_of(ct).emergency, 0);
		assert_int_equal(stats_of(ct).active, 1);
		netmoon_conntable_free(ct);
	}
}

static void test_no_evict(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 2, .flags = NETMOON_CT_F_NO_EVICT,
		     .udp_timeout_ns = SEC(10), .emergency_high_pct = 101);
	static const struct flow f1 = { 0, "10.0.0.1", "10.0.1.1", 1, 53, 17, 0, { 0 } };
	static const struct flow f2 = { 0, "10.0.0.2", "10.0.1.1", 2, 53, 17, 0, { 0 } };
	static const struct flow f3 = { 0, "10.0.0.3", "10.0.1.1", 3, 53, 17, 0, { 0 } };
	struct netmoon_conntable *ct = NULL;
	const struct netmoon_conn *c = (const void *)&o;
	struct rec r;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	hook_all(ct, &r);
	udp_tx(ct, &f1, 0, 1, T0, NULL);
	udp_tx(ct, &f2, 0, 1, T0 + SEC(5), NULL);
	assert_int_equal(udp_tx(ct, &f3, 0, 1, T0 + SEC(6), &c), NETMOON_E_TABLE_FULL);
	assert_null(c);
	assert_int_equal(stats_of(ct).refused, 1);
	/* Known flows still count while full. */
	assert_int_equal(udp_tx(ct, &f1, 1, 1, T0 + SEC(7), &c), 0);
	assert_non_null(c);
	udp_tx(ct, &f2, 1, 1, T0 + SEC(12), NULL);
	/* At T0+17.000000001 s flow 1 (last T0+7 s) has expired: its slot is reused. */
	r.log[0] = '\0';
	assert_int_equal(udp_tx(ct, &f3, 0, 1, T0 + SEC(17) + 1, &c), 0);
	assert_non_null(c);
	assert_string_equal(r.log, "rm(1,expired,EXPIRED) new(3)");
	assert_int_equal(stats_of(ct).refused, 1);
	assert_int_equal(stats_of(ct).evicted, 0);
	netmoon_conntable_free(ct);
}

/* --- fragments and untracked ---------------------------------------------- */

static void test_fragments(void **state)
{
	static const struct flow u = { 0, "10.0.0.1", "10.0.0.2", 4000, 5000, 17, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *a, *b;
	struct netmoon_frame f;
	struct netmoon_conntable_stats st;

	(void)state;
	/* First fragment: UDP header decoded, MF set, offset 0, id 0x4242. */
	mkframe(&f, &u, 0);
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS;
	f.frag_id = 0x4242;
	f.wirelen = 1514;
	f.ip_len = 1500;
	f.payload_len = 1472;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0, &a), 0);
	/* Second and last fragment: no transport header, its "ports" are garbage. */
	mkframe(&f, &u, 0);
	f.reason = NETMOON_FRAME_R_FRAGMENT;
	f.layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP;
	f.src_port = 9;
	f.dst_port = 9;
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT;
	f.frag_id = 0x4242;
	f.frag_offset = 1480;
	f.wirelen = 562;
	f.ip_len = 548;
	f.payload_len = 528;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 1, &b), 0);
	assert_ptr_equal(a, b);
	/* 1514 + 562 = 2076 wire, 1500 + 548 = 2048 IP, 1472 + 528 = 2000 payload */
	assert_int_equal(info_of(a).orig.pkts, 2);
	assert_int_equal(info_of(a).orig.bytes, 2076);
	assert_int_equal(info_of(a).orig.ip_bytes, 2048);
	assert_int_equal(info_of(a).orig.payload_bytes, 2000);
	assert_int_equal(info_of(a).ts_last_ns, T0 + 1);
	/* A fragment of another datagram, whose first fragment was not seen. */
	f.frag_id = 0x4343;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 2, &b), 1);
	assert_null(b);
	st = stats_of(ct);
	assert_int_equal(st.frag_attributed, 1);
	assert_int_equal(st.frag_unattributed, 1);
	assert_int_equal(st.active, 1); /* no flow was made from garbage ports */
	/* The reply direction's fragments: first fragment from the other side. */
	mkframe(&f, &u, 1);
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS;
	f.frag_id = 0x0101;
	set_sizes(&f, 8, 1472);
	netmoon_conntable_track(ct, &f, T0 + 3, NULL);
	mkframe(&f, &u, 1);
	f.layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP;
	f.src_port = f.dst_port = 0;
	f.ip_flags = NETMOON_FRAME_IP_F_FRAGMENT;
	f.frag_id = 0x0101;
	f.frag_offset = 1480;
	set_sizes(&f, 0, 100);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 4, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(info_of(a).resp.pkts, 2);
	/* Once the connection is gone, its fragments are no longer attributed. */
	assert_int_equal(netmoon_conntable_flush(ct), 1);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 5, &b), 1);
	assert_int_equal(stats_of(ct).frag_unattributed, 2);
	assert_int_equal(stats_of(ct).active, 0);
	netmoon_conntable_free(ct);
}

static void test_untracked(void **state)
{
	static const struct flow t = { 0, "10.0.0.1", "10.0.0.2", 4000, 80, 6, 0, { 0 } };
	struct netmoon_conntable *ct = mktable(16, 0);
	const struct netmoon_conn *c = (const void *)&t;
	struct netmoon_frame f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.sz = sizeof(f);
	f.reason = NETMOON_FRAME_R_NOT_IP;
	f.layers = NETMOON_FRAME_L_LINK;
	f.ethertype = 0x0806;
	f.wirelen = 60;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0, &c), 1);
	assert_null(c);
	/* TCP whose header was cut off: no ports, not tracked. */
	mkframe(&f, &t, 0);
	f.reason = NETMOON_FRAME_R_TRUNC_L4;
	f.layers &= ~NETMOON_FRAME_L_L4;
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + 1, &c), 1);
	assert_int_equal(stats_of(ct).untracked, 2);
	assert_int_equal(stats_of(ct).packets, 2);
	assert_int_equal(stats_of(ct).active, 0);
	netmoon_conntable_free(ct);
}

/* --- iteration, flush, hooks ----------------------------------------------- */

static int count_cb(const struct netmoon_conn *c, void *u)
{
	int *n = u;

	(void)c;
	return ++*n == 3 ? 7 : 0;
}

static int count_all_cb(const struct netmoon_conn *c, void *u)
{
	int *n = u;

	assert_non_null(c);
	++*n;
	return 0;
}

static void test_iteration(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	struct netmoon_conntable *other = mktable(4, 0);
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 0, 53, 17, 0, { 0 } };
	const struct netmoon_conn *c;
	uint64_t seen = 0;
	int n = 0;

	(void)state;
	assert_null(netmoon_conntable_next(ct, NULL));
	assert_int_equal(netmoon_conntable_foreach(ct, count_all_cb, &n), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 5; i++) {
		u.ap = (uint16_t)(100 + i);
		udp_tx(ct, &u, 0, 1, T0 + i, NULL);
	}
	for (c = netmoon_conntable_next(ct, NULL); c; c = netmoon_conntable_next(ct, c)) {
		seen |= UINT64_C(1) << info_of(c).id;
		n++;
	}
	assert_int_equal(n, 5);
	assert_int_equal(seen, 0x3e); /* ids 1..5, each once */
	n = 0;
	assert_int_equal(netmoon_conntable_foreach(ct, count_all_cb, &n), 0);
	assert_int_equal(n, 5);
	n = 0;
	assert_int_equal(netmoon_conntable_foreach(ct, count_cb, &n), 7);
	assert_int_equal(n, 3);
	/* Remove one in the middle: iteration skips the free slot. */
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 8, .udp_timeout_ns = SEC(1));
		struct netmoon_conntable *t2 = NULL;

		assert_int_equal(netmoon_conntable_new(&t2, &o), 0);
		u.ap = 3;
		udp_tx(t2, &u, 0, 1, T0 + SEC(1), NULL);
		u.ap = 2;
		udp_tx(t2, &u, 0, 1, T0, NULL); /* taken as T0+1 s: time does not go back */
		u.ap = 4;
		udp_tx(t2, &u, 0, 1, T0 + SEC(1) + 1, NULL);
		u.ap = 3;
		udp_tx(t2, &u, 1, 1, T0 + SEC(2), NULL);
		u.ap = 4;
		udp_tx(t2, &u, 1, 1, T0 + SEC(2), NULL);
		/* Flow 2 (last T0+1 s) idles out; 3 and 4 were active at T0+2 s. */
		assert_int_equal(netmoon_conntable_expire(t2, T0 + SEC(2) + 1, 0), 1);
		n = 0;
		for (c = netmoon_conntable_next(t2, NULL); c; c = netmoon_conntable_next(t2, c)) {
			assert_true(info_of(c).orig_port == 3 || info_of(c).orig_port == 4);
			n++;
		}
		assert_int_equal(n, 2);
		netmoon_conntable_free(t2);
	}
	/* A pointer from another table ends the walk. */
	udp_tx(other, &u, 0, 1, T0, &c);
	assert_null(netmoon_conntable_next(ct, c));
	netmoon_conntable_free(other);
	netmoon_conntable_free(ct);
}

/*
 * A flush stopped by a hook halfway through a table with long hash chains:
 * the entries it removed are gone from chains and lists (a packet for one
 * starts a new connection, and they are freed for reuse), the others are
 * still found, iterated and expired.
 */
static void test_flush_stopped_keeps_table_consistent(void **state)
{
	enum { N = 200 };
	struct netmoon_conntable *ct = mktable(N, 0);
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 0, 53, 17, 0, { 0 } };
	const struct netmoon_conn *c;
	struct rec r;
	int n = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		u.ap = (uint16_t)(1000 + i);
		assert_int_equal(udp_tx(ct, &u, 0, 10, T0 + i, NULL), 0);
	}
	hook_all(ct, &r);
	r.remove_fail_at = 50;
	r.remove_ret = -ENOSPC;
	assert_int_equal(netmoon_conntable_flush(ct), -ENOSPC);
	assert_int_equal(stats_of(ct).active, N - 50);
	for (c = netmoon_conntable_next(ct, NULL); c; c = netmoon_conntable_next(ct, c))
		n++;
	assert_int_equal(n, N - 50);
	/* Every flow again: 50 are new (in the freed slots: the table is full otherwise). */
	r.remove_fail_at = 0;
	for (int i = 0; i < N; i++) {
		u.ap = (uint16_t)(1000 + i);
		assert_int_equal(udp_tx(ct, &u, 0, 10, T0 + SEC(1) + i, NULL), 0);
	}
	assert_int_equal(stats_of(ct).created, N + 50);
	assert_int_equal(stats_of(ct).active, N);
	assert_int_equal(stats_of(ct).refused, 0);
	assert_int_equal(stats_of(ct).evicted, 0);
	/* The LRU lists hold all of them, each once. */
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(1000), 0), N);
	assert_int_equal(stats_of(ct).active, 0);
	netmoon_conntable_free(ct);
}

static void test_flush_and_free(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 0, 53, 17, 0, { 0 } };
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	for (int i = 0; i < 3; i++) {
		u.ap = (uint16_t)(100 + i);
		udp_tx(ct, &u, 0, 1, T0 + i, NULL);
	}
	r.log[0] = '\0';
	assert_int_equal(netmoon_conntable_flush(ct), 3);
	assert_string_equal(r.log, "rm(1,flush,ACTIVE) rm(2,flush,ACTIVE) rm(3,flush,ACTIVE)");
	assert_int_equal(stats_of(ct).active, 0);
	assert_null(netmoon_conntable_next(ct, NULL));
	assert_int_equal(netmoon_conntable_flush(ct), 0);
	/* The table works after a flush; free() flushes what is left. */
	udp_tx(ct, &u, 0, 1, T0 + 10, NULL);
	r.log[0] = '\0';
	netmoon_conntable_free(ct);
	assert_string_equal(r.log, "rm(4,flush,ACTIVE)");
}

static void test_hook_errors(void **state)
{
	struct netmoon_conntable *ct = mktable(16, 0);
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 0, 53, 17, 0, { 0 } };
	const struct netmoon_conn *c = NULL;
	struct rec r;

	(void)state;
	hook_all(ct, &r);
	r.new_ret = -EIO;
	u.ap = 1;
	/* The connection is created and counted; the hook's error comes back. */
	assert_int_equal(udp_tx(ct, &u, 0, 10, T0, &c), -EIO);
	assert_non_null(c);
	assert_int_equal(info_of(c).orig.pkts, 1);
	assert_int_equal(stats_of(ct).active, 1);
	r.new_ret = 0;
	/* Positive returns are not errors. */
	r.state_ret = 5;
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0 + 1, NULL);
	assert_int_equal(tcp_tx(ct, &web4, 1, SYN | ACK, 1, 2, 0, T0 + 2, NULL), 0);
	r.close_ret = -EPERM;
	assert_int_equal(tcp_tx(ct, &web4, 1, RST, 2, 0, 0, T0 + 3, &c), -EPERM);
	assert_string_equal(state_of(c), "RESET");
	for (int i = 2; i < 5; i++) {
		u.ap = (uint16_t)i;
		udp_tx(ct, &u, 0, 10, T0 + 10 + i, NULL);
	}
	assert_int_equal(stats_of(ct).active, 5);
	/* flush: the second removal fails; it is removed, the rest stay. */
	r.remove_fail_at = 2;
	r.remove_ret = -ENOSPC;
	assert_int_equal(netmoon_conntable_flush(ct), -ENOSPC);
	assert_int_equal(stats_of(ct).active, 3);
	r.remove_fail_at = 0;
	assert_int_equal(netmoon_conntable_flush(ct), 3);
	/* expire: error from on_remove. */
	u.ap = 9;
	udp_tx(ct, &u, 0, 10, T0 + SEC(1), NULL);
	r.nremove = 0;
	r.remove_fail_at = 1;
	r.remove_ret = -EINTR;
	assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(100), 0), -EINTR);
	assert_int_equal(stats_of(ct).active, 0);
	/* Hooks removed with NULL. */
	assert_int_equal(netmoon_conntable_set_hooks(ct, NULL, NULL), 0);
	r.log[0] = '\0';
	udp_tx(ct, &u, 0, 10, T0 + SEC(101), NULL);
	assert_string_equal(r.log, "");
	netmoon_conntable_free(ct);
}

/* A hook that tries to change the table from inside is refused. */
static struct netmoon_conntable *reentry_ct;
static int reentry_rc;

static int h_reenter(const struct netmoon_conn *c, void *u)
{
	(void)c;
	(void)u;
	reentry_rc = (int)netmoon_conntable_flush(reentry_ct);
	return 0;
}

static void test_hook_reentry(void **state)
{
	NETMOON_OPTS(netmoon_conntable_hooks, h, .on_new = h_reenter);
	struct flow u = { 0, "10.0.0.1", "10.0.0.2", 1, 53, 17, 0, { 0 } };

	(void)state;
	reentry_ct = mktable(4, 0);
	assert_int_equal(netmoon_conntable_set_hooks(reentry_ct, &h, NULL), 0);
	assert_int_equal(udp_tx(reentry_ct, &u, 0, 1, T0, NULL), 0);
	assert_int_equal(reentry_rc, -EBUSY);
	assert_int_equal(stats_of(reentry_ct).active, 1);
	netmoon_conntable_free(reentry_ct);
}

/* --- ABI: sz handling, options, NULLs ------------------------------------- */

static void test_get_info_sizes(void **state)
{
	struct netmoon_conntable *ct = mktable(4, 0);
	const struct netmoon_conn *c;
	struct {
		struct netmoon_conn_info in;
		uint8_t tail[32];
	} big;
	struct netmoon_conn_info small;
	size_t cut = offsetof(struct netmoon_conn_info, orig_addr);

	(void)state;
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0, &c);
	/* An older caller knows the struct only up to orig_addr. */
	memset(&small, 0xab, sizeof(small));
	small.sz = cut;
	assert_int_equal(netmoon_conn_get_info(c, &small), 0);
	assert_int_equal(small.sz, cut);
	assert_int_equal(small.id, 1);
	assert_int_equal(small.proto, 6);
	assert_int_equal(small.ts_first_ns, T0);
	for (size_t i = cut; i < sizeof(small); i++)
		assert_int_equal(((uint8_t *)&small)[i], 0xab);
	/* A newer caller's extra bytes are zeroed. */
	memset(&big, 0xab, sizeof(big));
	big.in.sz = sizeof(big);
	assert_int_equal(netmoon_conn_get_info(c, &big.in), 0);
	assert_int_equal(big.in.sz, sizeof(big));
	assert_int_equal(big.in.orig_port, 40000);
	for (size_t i = 0; i < sizeof(big.tail); i++)
		assert_int_equal(big.tail[i], 0);
	/* Too small to hold even sz. */
	small.sz = 4;
	assert_int_equal(netmoon_conn_get_info(c, &small), -EINVAL);
	/* Stats the same way. */
	{
		struct netmoon_conntable_stats st;

		memset(&st, 0xab, sizeof(st));
		st.sz = offsetof(struct netmoon_conntable_stats, peak);
		assert_int_equal(netmoon_conntable_get_stats(ct, &st), 0);
		assert_int_equal(st.active, 1);
		assert_int_equal(st.max_conns, 4);
		assert_int_equal(st.peak, UINT64_C(0xabababababababab));
	}
	netmoon_conntable_free(ct);
}

static void test_options(void **state)
{
	struct netmoon_conntable *ct = (void *)state;
	struct {
		struct netmoon_conntable_opts o;
		uint8_t tail[16];
	} newer;

	/* NULL options: defaults (262144 connections, 60 s). */
	assert_int_equal(netmoon_conntable_new(&ct, NULL), 0);
	assert_int_equal(stats_of(ct).max_conns, 262144);
	netmoon_conntable_free(ct);

	/* A newer caller's unknown tail must be zero. */
	memset(&newer, 0, sizeof(newer));
	newer.o.sz = sizeof(newer);
	newer.o.max_conns = 8;
	assert_int_equal(netmoon_conntable_new(&ct, &newer.o), 0);
	assert_int_equal(stats_of(ct).max_conns, 8);
	netmoon_conntable_free(ct);
	newer.tail[5] = 1;
	ct = (void *)state;
	assert_int_equal(netmoon_conntable_new(&ct, &newer.o), -EINVAL);
	assert_null(ct);

	/* An older caller (sz up to flags) gets defaults for the rest. */
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 16,
			     .idle_timeout_ns = SEC(1));

		o.sz = offsetof(struct netmoon_conntable_opts, idle_timeout_ns);
		assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
		/* idle_timeout_ns was beyond its sz: 60 s applies, so nothing expires at 2 s. */
		udp_tx(ct, &(struct flow){ 0, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0, { 0 } }, 0, 1, T0,
		       NULL);
		assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(2), 0), 0);
		assert_int_equal(netmoon_conntable_expire(ct, T0 + SEC(60) + 1, 0), 1);
		netmoon_conntable_free(ct);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .idle_timeout_ns = -1);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .udp_timeout_ns = -SEC(1));

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .tcp_closed_timeout_ns = INT64_MIN);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .flags = 0x80);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = UINT32_MAX);

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	{
		struct netmoon_conntable_opts o = { .sz = 2 };

		assert_int_equal(netmoon_conntable_new(&ct, &o), -EINVAL);
	}
	/* Huge timeouts do not overflow: nothing expires. */
	{
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 4, .idle_timeout_ns = INT64_MAX);

		assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
		udp_tx(ct, &(struct flow){ 0, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0, { 0 } }, 0, 1, T0,
		       NULL);
		assert_int_equal(netmoon_conntable_expire(ct, INT64_MAX, 0), 0);
		netmoon_conntable_free(ct);
	}
	/* Hooks options: unknown non-zero tail rejected. */
	{
		struct {
			struct netmoon_conntable_hooks h;
			uint64_t tail;
		} nh = { .h = { .sz = sizeof(nh) }, .tail = 1 };

		ct = mktable(4, 0);
		assert_int_equal(netmoon_conntable_set_hooks(ct, &nh.h, NULL), -EINVAL);
		nh.tail = 0;
		assert_int_equal(netmoon_conntable_set_hooks(ct, &nh.h, NULL), 0);
		netmoon_conntable_free(ct);
	}
}

static void test_null_args(void **state)
{
	struct netmoon_conntable *ct = mktable(4, 0);
	struct netmoon_frame f;
	NETMOON_OPTS(netmoon_conn_info, in);
	NETMOON_OPTS(netmoon_conntable_stats, st);
	const struct netmoon_conn *c = (const void *)&f;

	(void)state;
	assert_int_equal(netmoon_conntable_new(NULL, NULL), -EINVAL);
	netmoon_conntable_free(NULL);
	assert_int_equal(netmoon_conntable_set_hooks(NULL, NULL, NULL), -EINVAL);
	mkframe(&f, &web4, 0);
	assert_int_equal(netmoon_conntable_track(NULL, &f, T0, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(netmoon_conntable_track(ct, NULL, T0, NULL), -EINVAL);
	f.sz = 8; /* a frame too old to have the fields the table reads */
	assert_int_equal(netmoon_conntable_track(ct, &f, T0, NULL), -EINVAL);
	assert_int_equal(netmoon_conntable_expire(NULL, T0, 0), -EINVAL);
	assert_int_equal(netmoon_conntable_flush(NULL), -EINVAL);
	assert_null(netmoon_conntable_next(NULL, NULL));
	assert_int_equal(netmoon_conntable_foreach(NULL, count_all_cb, NULL), -EINVAL);
	assert_int_equal(netmoon_conntable_foreach(ct, NULL, NULL), -EINVAL);
	assert_int_equal(netmoon_conntable_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(netmoon_conntable_get_stats(ct, NULL), -EINVAL);
	assert_int_equal(netmoon_conn_get_info(NULL, &in), -EINVAL);
	tcp_tx(ct, &web4, 0, SYN, 1, 0, 0, T0, &c);
	assert_int_equal(netmoon_conn_get_info(c, NULL), -EINVAL);
	netmoon_conntable_free(ct);
}

static void test_strings(void **state)
{
	(void)state;
	assert_string_equal(netmoon_conn_state_str(NETMOON_CONN_SYN_SENT), "SYN_SENT");
	assert_string_equal(netmoon_conn_state_str(NETMOON_CONN_CLOSE_WAIT), "CLOSE_WAIT");
	assert_string_equal(netmoon_conn_state_str(NETMOON_CONN_EXPIRED), "EXPIRED");
	assert_string_equal(netmoon_conn_state_str(0), "UNKNOWN");
	assert_string_equal(netmoon_conn_state_str(12), "UNKNOWN");
	assert_string_equal(netmoon_conn_state_str(-1), "UNKNOWN");
	assert_string_equal(netmoon_conn_zeek_state_str(NETMOON_ZEEK_RSTOS0), "RSTOS0");
	assert_string_equal(netmoon_conn_zeek_state_str(NETMOON_ZEEK_SHR), "SHR");
	assert_string_equal(netmoon_conn_zeek_state_str(NETMOON_ZEEK_OTH), "OTH");
	assert_string_equal(netmoon_conn_zeek_state_str(99), "OTH");
	assert_string_equal(netmoon_conn_zeek_state_str(-3), "OTH");
}

/* The memory budget: at most 192 bytes per connection, everything included. */
static void test_memory_budget(void **state)
{
	static const uint32_t caps[] = { 0 /* default */, 100000, 65537 };

	(void)state;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct netmoon_conntable *ct = mktable(caps[i], 0);
		struct netmoon_conntable_stats st = stats_of(ct);

		print_message("  max_conns %-8" PRIu64 " memory %" PRIu64 " bytes, %" PRIu64
			      " bytes per connection\n",
			      st.max_conns, st.memory_bytes, st.entry_bytes);
		assert_true(st.entry_bytes <= 192);
		assert_true(st.memory_bytes >= st.max_conns * st.entry_bytes);
		assert_true(st.memory_bytes < st.max_conns * (st.entry_bytes + 1));
		netmoon_conntable_free(ct);
	}
}

/* Many flows through a small table: counters stay consistent. */
static void test_churn(void **state)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 64, .udp_timeout_ns = MS(50),
		     .tcp_syn_timeout_ns = MS(20));
	struct netmoon_conntable *ct = NULL;
	struct netmoon_conntable_stats st;
	uint64_t n = 0;

	(void)state;
	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct flow fl = { (int)(i & 1), (i & 1) ? "2001:db8::1" : "10.0.0.1",
				   (i & 1) ? "2001:db8::2" : "10.0.0.2",
				   (uint16_t)(1024 + (i * 7919u) % 300), 80,
				   (uint8_t)((i % 3) ? 6 : 17), 0, { 0 } };

		if (fl.proto == 6)
			tcp_tx(ct, &fl, (int)(i % 5 == 0), SYN, i, 0, 0, T0 + MS(i), NULL);
		else
			udp_tx(ct, &fl, (int)(i % 2), 10, T0 + MS(i), NULL);
	}
	st = stats_of(ct);
	for (const struct netmoon_conn *c = netmoon_conntable_next(ct, NULL); c;
	     c = netmoon_conntable_next(ct, c))
		n++;
	assert_int_equal(n, st.active);
	assert_true(st.active <= 64);
	assert_int_equal(st.created, st.active + st.closed + st.expired + st.evicted + st.reused);
	assert_int_equal(st.packets, 5000);
	netmoon_conntable_free(ct);
}

/* --- bursts ------------------------------------------------------------------ */

/*
 * netmoon_conntable_track_burst() must leave exactly what one
 * netmoon_conntable_track() per frame leaves.  A pseudo-random mix of
 * traffic (deterministic: a fixed xorshift seed) goes through track() on
 * one table and through track_burst() in bursts of varying sizes on
 * another; the hooks of both log every event, and the logs, the stats and
 * every remaining connection must be the same.  The table is small and the
 * timeouts short, so evictions, expiry (in track's incremental expiry and
 * when full), reuse of closed tuples and refusals all happen.
 */

struct bev {
	char ev;           /* n(ew) s(tate) c(lose) r(emove) */
	int arg;           /* old state, remove reason */
	uint64_t id;
	int state;
	uint64_t pkts;     /* both directions, at the event */
};

struct blog {
	struct bev ev[60000];
	size_t n;
	int remove_err;    /* on_remove of ids divisible by 29 returns this */
};

static void blog_add(struct blog *l, char ev, int arg, const struct netmoon_conn *c)
{
	struct netmoon_conn_info in = info_of(c);

	assert_true(l->n < sizeof(l->ev) / sizeof(l->ev[0]));
	l->ev[l->n++] = (struct bev){ ev, arg, in.id, in.state, in.orig.pkts + in.resp.pkts };
}

static int bh_new(const struct netmoon_conn *c, void *u)
{
	blog_add(u, 'n', 0, c);
	return 0;
}

static int bh_state(const struct netmoon_conn *c, int old, void *u)
{
	blog_add(u, 's', old, c);
	return 0;
}

static int bh_close(const struct netmoon_conn *c, void *u)
{
	blog_add(u, 'c', 0, c);
	return 0;
}

static int bh_remove(const struct netmoon_conn *c, int reason, void *u)
{
	struct blog *l = u;

	blog_add(l, 'r', reason, c);
	return info_of(c).id % 29 == 0 ? l->remove_err : 0;
}

static uint64_t xs_state;

static uint32_t xs(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return (uint32_t)(xs_state >> 16);
}

/* One endpoint pair of the mix, with where its TCP conversation is. */
struct bflow {
	struct flow fl;
	char a[48], b[48];
	int step;
	uint32_t sa, sb;   /* next sequence numbers of a and b */
};

#define BFLOWS 150

static void bflow_init(struct bflow *bf, unsigned i)
{
	static const uint8_t protos[] = { 6, 6, 6, 6, 17, 17, 1, 58, 47 };
	uint8_t proto = protos[i % sizeof(protos)];
	int v6 = proto == 58 || i % 5 == 1;

	memset(bf, 0, sizeof(*bf));
	if (v6) {
		snprintf(bf->a, sizeof(bf->a), "2001:db8::%x", 1 + i % 7);
		snprintf(bf->b, sizeof(bf->b), "2001:db8:1::%x", 1 + i);
	} else {
		snprintf(bf->a, sizeof(bf->a), "10.0.%u.%u", i % 3, 1 + i % 7);
		snprintf(bf->b, sizeof(bf->b), "192.0.2.%u", 1 + i);
	}
	bf->fl.v6 = v6;
	bf->fl.a = bf->a;
	bf->fl.b = bf->b;
	bf->fl.proto = proto;
	bf->fl.ap = (uint16_t)(30000 + i);
	bf->fl.bp = proto == 17 ? 53 : 443;
	if (i % 11 == 3) {
		bf->fl.nvlan = 1 + (i % 2);
		bf->fl.vlan[0] = (uint16_t)(100 + i % 4);
		bf->fl.vlan[1] = 7;
	}
	bf->step = i % 4 == 2 ? 3 : 0; /* some TCP flows are picked up mid-stream */
	bf->sa = 1000 * i;
	bf->sb = 7000 * i + 13;
}

/* The next TCP segment of bf: handshake, data, then a close by FIN or RST. */
static void bflow_tcp(struct bflow *bf, struct netmoon_frame *f)
{
	int from_b = 0;
	uint8_t fl = ACK;
	uint32_t len = 0;

	switch (bf->step) {
	case 0: fl = SYN; break;
	case 1: from_b = 1; fl = SYN | ACK; break;
	case 2: break;
	case 8: /* close: FIN from a, ack, FIN from b, ack; or a RST now and then */
		if (xs() % 4 == 0) {
			from_b = (int)(xs() & 1);
			fl = RST | ACK;
			bf->step = 100;
		} else {
			fl = FIN | ACK;
		}
		break;
	case 9: from_b = 1; break;
	case 10: from_b = 1; fl = FIN | ACK; break;
	case 11: bf->step = 100; break;
	default:
		from_b = (int)(xs() & 1);
		fl = ACK | PSH;
		len = 1 + xs() % 1400;
		break;
	}
	mkframe(f, &bf->fl, from_b);
	f->tcp_flags = fl;
	f->tcp_seq = from_b ? bf->sb : bf->sa;
	f->tcp_ack = (fl & ACK) ? (from_b ? bf->sa : bf->sb) : 0;
	f->tcp_window = 1000;
	set_sizes(f, 20, len);
	if (from_b)
		bf->sb += len + !!(fl & (SYN | FIN));
	else
		bf->sa += len + !!(fl & (SYN | FIN));
	if (bf->step == 100) { /* start again on the same tuple, new ISNs */
		bf->step = 0;
		bf->sa += 100000;
		bf->sb += 300000;
	} else {
		bf->step++;
	}
}

/* n frames of mixed traffic and their time stamps. */
static void burst_mix(struct netmoon_frame *fr, int64_t *ts, size_t n)
{
	struct bflow *flows = calloc(BFLOWS, sizeof(*flows));
	int64_t t = T0;
	uint16_t frag_id = 1;

	assert_non_null(flows);
	xs_state = 0x9e3779b97f4a7c15u;
	for (unsigned i = 0; i < BFLOWS; i++)
		bflow_init(&flows[i], i);
	for (size_t i = 0; i < n; i++) {
		/* Mostly 1-2000 us apart; now and then a gap past the short timeouts, or a step back. */
		uint32_t r = xs() % 1000;
		/* A few hot flows and a long tail: the tail churns through the small table. */
		struct bflow *bf = &flows[xs() % 4 ? xs() % 40 : xs() % BFLOWS];
		struct netmoon_frame *f = &fr[i];

		if (r < 5)
			t += SEC(3) + US(xs() % 1000000);
		else if (r < 15)
			t -= MS(50);
		else
			t += US(1 + xs() % 2000);
		ts[i] = t;
		r = xs() % 100;
		if (r < 3) {
			/* not IP */
			memset(f, 0, sizeof(*f));
			f->sz = sizeof(*f);
			f->reason = NETMOON_FRAME_R_NOT_IP;
			f->layers = NETMOON_FRAME_L_LINK;
			f->wirelen = 60;
		} else if (r < 5 && bf->fl.proto == 6) {
			/* TCP header cut off */
			mkframe(f, &bf->fl, 0);
			f->reason = NETMOON_FRAME_R_TRUNC_L4;
			f->layers &= ~NETMOON_FRAME_L_L4;
			set_sizes(f, 20, 0);
		} else if (r < 12 && i + 1 < n && bf->fl.proto != 6) {
			/* a datagram in two fragments; sometimes the first one is lost */
			int lost = xs() % 4 == 0;

			mkframe(f, &bf->fl, 0);
			f->ip_flags = NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS;
			f->frag_id = frag_id;
			f->icmp_type = bf->fl.proto == 58 ? 128 : 8;
			f->icmp_id = 77;
			set_sizes(f, 8, 1472);
			if (lost)
				f->frag_id = 0xffff; /* another datagram's first fragment */
			i++;
			ts[i] = t + 1;
			f = &fr[i];
			mkframe(f, &bf->fl, 0);
			f->reason = NETMOON_FRAME_R_FRAGMENT;
			f->layers = NETMOON_FRAME_L_LINK | NETMOON_FRAME_L_IP;
			f->src_port = f->dst_port = 9;
			f->ip_flags = NETMOON_FRAME_IP_F_FRAGMENT;
			f->frag_id = frag_id++;
			f->frag_offset = 1480;
			set_sizes(f, 0, 300);
		} else if (bf->fl.proto == 6) {
			bflow_tcp(bf, f);
		} else if (bf->fl.proto == 1 || bf->fl.proto == 58) {
			int from_b = (int)(xs() & 1);

			mkframe(f, &bf->fl, from_b);
			f->src_port = f->dst_port = 0;
			f->icmp_type = bf->fl.proto == 1 ? (from_b ? 0 : 8) : (from_b ? 129 : 128);
			f->icmp_id = 77;
			set_sizes(f, 8, 56);
		} else {
			mkframe(f, &bf->fl, (int)(xs() & 1));
			set_sizes(f, bf->fl.proto == 17 ? 8 : 4, xs() % 512);
		}
	}
	free(flows);
}

static struct netmoon_conntable *burst_table(uint32_t flags, struct blog *log, int remove_err)
{
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 64, .flags = flags,
		     .idle_timeout_ns = SEC(2), .tcp_syn_timeout_ns = SEC(1),
		     .tcp_closed_timeout_ns = MS(500), .tcp_established_timeout_ns = SEC(5),
		     .frag_slots = 16);
	NETMOON_OPTS(netmoon_conntable_hooks, h, .on_new = bh_new, .on_state = bh_state,
		     .on_close = bh_close, .on_remove = bh_remove);
	struct netmoon_conntable *ct = NULL;

	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	memset(log, 0, sizeof(*log));
	log->remove_err = remove_err;
	assert_int_equal(netmoon_conntable_set_hooks(ct, &h, log), 0);
	return ct;
}

/* Both tables hold the same connections, in the same order, with the same state. */
static void assert_same_tables(const struct netmoon_conntable *a, const struct netmoon_conntable *b)
{
	struct netmoon_conntable_stats sa = stats_of(a), sb = stats_of(b);
	const struct netmoon_conn *ca = NULL, *cb = NULL;
	size_t n = 0;

	assert_memory_equal(&sa, &sb, sizeof(sa));
	for (;;) {
		ca = netmoon_conntable_next(a, ca);
		cb = netmoon_conntable_next(b, cb);
		if (!ca || !cb)
			break;
		struct netmoon_conn_info ia = info_of(ca), ib = info_of(cb);

		assert_memory_equal(&ia, &ib, sizeof(ia));
		n++;
	}
	assert_null(ca);
	assert_null(cb);
	assert_int_equal(n, sa.active);
}

static void assert_same_logs(const struct blog *a, const struct blog *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct bev *x = &a->ev[i], *y = &b->ev[i];

		if (x->ev != y->ev || x->arg != y->arg || x->id != y->id || x->state != y->state ||
		    x->pkts != y->pkts)
			fail_msg("event %zu: %c(%" PRIu64 ",%d,%d,%" PRIu64 ") vs %c(%" PRIu64
				 ",%d,%d,%" PRIu64 ")",
				 i, x->ev, x->id, x->arg, x->state, x->pkts, y->ev, y->id, y->arg,
				 y->state, y->pkts);
	}
}

#define BURST_FRAMES 6000

/*
 * Frames copied into a buffer with another stride (a caller built against a
 * smaller or a larger struct netmoon_frame), each frame's sz set to it.
 */
static void *restride(const struct netmoon_frame *fr, size_t n, size_t stride)
{
	uint64_t *buf = calloc(n, stride);
	size_t copy = stride < sizeof(*fr) ? stride : sizeof(*fr);

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		struct netmoon_frame *f = (struct netmoon_frame *)((uintptr_t)buf + i * stride);

		memcpy(f, &fr[i], copy);
		f->sz = stride;
	}
	return buf;
}

static void burst_equivalence(uint32_t flags, int remove_err, size_t stride)
{
	static const size_t sizes[] = { 1, 7, 64, 1000, 2, 33, 17, 300, 5, 128 };
	struct netmoon_frame *fr = calloc(BURST_FRAMES, sizeof(*fr));
	int64_t *ts = calloc(BURST_FRAMES, sizeof(*ts));
	struct blog *la = malloc(sizeof(*la)), *lb = malloc(sizeof(*lb));
	struct netmoon_conntable *a, *b;
	const struct netmoon_frame *bf;
	void *alt = NULL;
	size_t i = 0, k = 0, errs = 0;

	assert_non_null(fr);
	assert_non_null(ts);
	assert_non_null(la);
	assert_non_null(lb);
	burst_mix(fr, ts, BURST_FRAMES);
	bf = fr;
	if (stride != sizeof(*fr))
		bf = alt = restride(fr, BURST_FRAMES, stride);
	a = burst_table(flags, la, remove_err);
	b = burst_table(flags, lb, remove_err);
	while (i < BURST_FRAMES) {
		size_t n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		int64_t want = 0, got;
		int err = 0;

		if (n > BURST_FRAMES - i)
			n = BURST_FRAMES - i;
		/* What the burst must return, from track()'s results frame by frame. */
		for (size_t j = i; j < i + n; j++) {
			int rc = netmoon_conntable_track(a, &fr[j], ts[j], NULL);

			assert_true(rc == 0 || rc == 1 || rc == NETMOON_E_TABLE_FULL ||
				    rc == remove_err);
			if (rc == 0)
				want++;
			else if (rc < 0 && rc != NETMOON_E_TABLE_FULL && !err)
				err = rc;
		}
		if (err) {
			want = err;
			errs++;
		}
		got = netmoon_conntable_track_burst(
			b, (const struct netmoon_frame *)((uintptr_t)bf + i * stride), &ts[i], n);
		assert_int_equal(got, want);
		i += n;
		/* Now and then compare everything mid-stream too. */
		if (k % 4 == 0) {
			assert_same_logs(la, lb);
			assert_same_tables(a, b);
		}
	}
	assert_same_logs(la, lb);
	assert_same_tables(a, b);
	/* The mix really went through the paths it is meant to cover. */
	{
		struct netmoon_conntable_stats st = stats_of(a);

		assert_int_equal(st.packets, BURST_FRAMES);
		assert_true(st.untracked > 0);
		assert_true(st.frag_attributed > 0);
		assert_true(st.frag_unattributed > 0);
		assert_true(st.expired > 0);
		assert_true(st.closed > 0);
		assert_true(st.reused > 0);
		if (flags & NETMOON_CT_F_NO_EVICT)
			assert_true(st.refused > 0);
		else
			assert_true(st.evicted > 0);
		if (remove_err)
			assert_true(errs > 0);
	}
	netmoon_conntable_free(a);
	netmoon_conntable_free(b);
	assert_same_logs(la, lb); /* the flush on free, too */
	free(alt);
	free(la);
	free(lb);
	free(ts);
	free(fr);
}

static void test_burst_equivalence(void **state)
{
	(void)state;
	burst_equivalence(0, 0, sizeof(struct netmoon_frame));
}

static void test_burst_equivalence_no_evict(void **state)
{
	(void)state;
	burst_equivalence(NETMOON_CT_F_NO_EVICT, 0, sizeof(struct netmoon_frame));
}

/* Hook errors: the burst goes on, and returns the first one. */
static void test_burst_hook_errors(void **state)
{
	(void)state;
	burst_equivalence(0, -EIO, sizeof(struct netmoon_frame));
}

/* Callers built against a smaller or larger struct netmoon_frame. */
static void test_burst_stride(void **state)
{
	/* The table reads up to tcp_ack; a smaller caller's struct ends at least there. */
	size_t small = (offsetof(struct netmoon_frame, tcp_ack) + sizeof(uint32_t) + 7) & ~(size_t)7;

	(void)state;
	burst_equivalence(0, 0, small);
	burst_equivalence(0, 0, sizeof(struct netmoon_frame) + 24);
}

static struct netmoon_conntable *burst_reentry_ct;
static int64_t burst_reentry_rc;

static int h_burst_reenter(const struct netmoon_conn *c, void *u)
{
	struct netmoon_frame f;
	int64_t ts = T0;

	(void)c;
	(void)u;
	mkframe(&f, &web4, 0);
	burst_reentry_rc = netmoon_conntable_track_burst(burst_reentry_ct, &f, &ts, 1);
	return 0;
}

static void test_burst_args(void **state)
{
	NETMOON_OPTS(netmoon_conntable_hooks, h, .on_new = h_burst_reenter);
	struct netmoon_conntable *ct = mktable(16, 0);
	struct netmoon_frame f[3];
	int64_t ts[3] = { T0, T0 + 1, T0 + 2 };
	size_t min = offsetof(struct netmoon_frame, tcp_ack) + sizeof(uint32_t);

	(void)state;
	for (int i = 0; i < 3; i++) {
		mkframe(&f[i], &web4, i & 1);
		f[i].tcp_flags = ACK;
		set_sizes(&f[i], 20, 10);
	}
	assert_int_equal(netmoon_conntable_track_burst(NULL, f, ts, 3), -EINVAL);
	assert_int_equal(netmoon_conntable_track_burst(ct, NULL, ts, 3), -EINVAL);
	assert_int_equal(netmoon_conntable_track_burst(ct, f, NULL, 3), -EINVAL);
	/* n == 0: nothing to do, whatever the arrays. */
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 0), 0);
	assert_int_equal(netmoon_conntable_track_burst(ct, NULL, NULL, 0), 0);
	/* sz too small (one byte short of tcp_ack), or not a multiple of the alignment. */
	f[0].sz = min - 1;
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 1), -EINVAL);
	f[0].sz = sizeof(f[0]) + 1;
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 1), -EINVAL);
	f[0].sz = 0;
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 1), -EINVAL);
	/* A later frame whose sz differs: refused before anything is done. */
	f[0].sz = sizeof(f[0]);
	f[2].sz = sizeof(f[2]) - 8;
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 3), -EINVAL);
	assert_int_equal(stats_of(ct).packets, 0);
	assert_int_equal(stats_of(ct).active, 0);
	/* The good burst: 3 packets of one (mid-stream) connection. */
	f[2].sz = sizeof(f[2]);
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 3), 3);
	assert_int_equal(stats_of(ct).packets, 3);
	assert_int_equal(stats_of(ct).active, 1);
	{
		const struct netmoon_conn *c = netmoon_conntable_next(ct, NULL);

		assert_non_null(c);
		/* 10.0.0.1 sent frames 0 and 2, 192.0.2.80 frame 1 */
		assert_int_equal(info_of(c).orig.pkts + info_of(c).resp.pkts, 3);
		assert_int_equal(info_of(c).ts_last_ns, T0 + 2);
	}
	/* Untracked and refused frames are not counted in the result. */
	memset(&f[1], 0, sizeof(f[1]));
	f[1].sz = sizeof(f[1]);
	f[1].layers = NETMOON_FRAME_L_LINK;
	assert_int_equal(netmoon_conntable_track_burst(ct, f, ts, 3), 2);
	assert_int_equal(stats_of(ct).untracked, 1);
	assert_int_equal(stats_of(ct).packets, 6);
	netmoon_conntable_free(ct);

	/* From inside a hook, the table refuses the burst. */
	burst_reentry_ct = mktable(4, 0);
	assert_int_equal(netmoon_conntable_set_hooks(burst_reentry_ct, &h, NULL), 0);
	assert_int_equal(netmoon_conntable_track(burst_reentry_ct, &f[0], T0, NULL), 0);
	assert_int_equal(burst_reentry_rc, -EBUSY);
	assert_int_equal(stats_of(burst_reentry_ct).packets, 1);
	netmoon_conntable_free(burst_reentry_ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_lifecycle),
		cmocka_unit_test(test_tcp_reset),
		cmocka_unit_test(test_tcp_fin_acked),
		cmocka_unit_test(test_rtt_values),
		cmocka_unit_test(test_rtt_retransmitted_syn),
		cmocka_unit_test(test_synack_first),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_reuse_after_close),
		cmocka_unit_test(test_zeek_states),
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_vlan_key),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_udp_and_other),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_time_monotonic),
		cmocka_unit_test(test_expiry_per_class),
		cmocka_unit_test(test_expiry_activity),
		cmocka_unit_test(test_expiry_budget),
		cmocka_unit_test(test_expiry_granularity),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_full_reuses_expired),
		cmocka_unit_test(test_no_evict),
		cmocka_unit_test(test_flood_early_drop_and_emergency),
		cmocka_unit_test(test_emergency_options),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_untracked),
		cmocka_unit_test(test_ports_only),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_flush_and_free),
		cmocka_unit_test(test_flush_stopped_keeps_table_consistent),
		cmocka_unit_test(test_hook_errors),
		cmocka_unit_test(test_hook_reentry),
		cmocka_unit_test(test_get_info_sizes),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_burst_equivalence),
		cmocka_unit_test(test_burst_equivalence_no_evict),
		cmocka_unit_test(test_burst_hook_errors),
		cmocka_unit_test(test_burst_stride),
		cmocka_unit_test(test_burst_args),
	};

	return cmocka_run_group_tests_name("conntable", tests, NULL, NULL);
}
