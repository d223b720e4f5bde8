/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One row per connection, formatted by hand: a capture with hundreds of
 * thousands of connections spent a quarter of its time in printf.
 */
#include <arpa/inet.h>
#include <string.h>

#include "row.h"

enum col_kind { K_NUM, K_STR, K_OPT_NUM }; /* K_OPT_NUM: empty in CSV, null in JSON */

struct line {
	char *p;
	char *end;
};

static void put_mem(struct line *l, const char *s, size_t n)
{
	if (n > (size_t)(l->end - l->p))
		n = (size_t)(l->end - l->p);
	memcpy(l->p, s, n);
	l->p += n;
}

static void put_str(struct line *l, const char *s)
{
	put_mem(l, s, strlen(s));
}

/* Two digits at a time: numbers are most of a row. */
static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
			      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
			      "8081828384858687888990919293949596979899";

/* Decimal digits of v (1 to 20). */
static inline unsigned count_digits(uint64_t v)
{
	unsigned n = 1;

	for (;;) {
		if (v < 10)
			return n;
		if (v < 100)
			return n + 1;
		if (v < 1000)
			return n + 2;
		if (v < 10000)
			return n + 3;
		v /= 10000;
		n += 4;
	}
}

/*
 * Straight into the line, right to left from its known length, two digits
 * at a time; small numbers (most of a row's) without a division.
 */
static inline void put_u64(struct line *l, uint64_t v)
{
	char *p = l->p, *q;
	unsigned n;

	if (v < 10 && p < l->end) {
		*p = (char)('0' + v);
		l->p = p + 1;
		return;
	}
	n = count_digits(v);
	if ((size_t)(l->end - p) < n) {
		l->p = l->end; /* cannot happen with ROW_MAX: cut rather than overrun */
		return;
	}
	q = p + n;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		q -= 2;
		memcpy(q, digits2 + d, 2);
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, digits2 + v * 2, 2);
	} else {
		*--q = (char)('0' + v);
	}
	l->p = p + n;
}

/* v / scale, then '.', then v % scale with exactly @digits digits. */
static inline void put_fixed(struct line *l, int64_t v, uint64_t scale, int digits)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t frac = a % scale;
	char tmp[20];

	if (v < 0)
		put_mem(l, "-", 1);
	put_u64(l, a / scale);
	put_mem(l, ".", 1);
	for (int i = digits - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	put_mem(l, tmp, (size_t)digits);
}

static void put_addr(struct line *l, int version, const uint8_t *addr)
{
	char a[INET6_ADDRSTRLEN];

	if (version != 6) {
		/* Dotted quad by hand: inet_ntop() goes through sprintf. */
		for (int i = 0; i < 4; i++) {
			if (i)
				put_mem(l, ".", 1);
			put_u64(l, addr[i]);
		}
		return;
	}
	if (!inet_ntop(AF_INET6, addr, a, sizeof(a)))
		strcpy(a, "?");
	put_str(l, a);
}

static void put_proto(struct line *l, unsigned proto)
{
	switch (proto) {
	case 6: put_str(l, "tcp"); break;
	case 17: put_str(l, "udp"); break;
	case 1: put_str(l, "icmp"); break;
	case 58: put_str(l, "icmp6"); break;
	default: put_u64(l, proto); break;
	}
}

static void put_opt_us(struct line *l, int valid, int64_t ns, int json)
{
	if (valid)
		put_fixed(l, ns, 1000, 3);
	else if (json)
		put_str(l, "null");
}

#define COLUMNS(X)                                                            \
	X(ts_first, K_NUM, put_fixed(l, ci->ts_first_ns, 1000000000, 9))     \
	X(ts_last, K_NUM, put_fixed(l, ci->ts_last_ns, 1000000000, 9))       \
	X(proto, K_STR, put_proto(l, ci->proto))                             \
	X(ip_version, K_NUM, put_u64(l, ci->ip_version))                     \
	X(vlan, K_STR, put_vlan(l, ci))                                      \
	X(orig_addr, K_STR, put_addr(l, ci->ip_version, ci->orig_addr))      \
	X(orig_port, K_NUM, put_u64(l, ci->orig_port))                       \
	X(resp_addr, K_STR, put_addr(l, ci->ip_version, ci->resp_addr))      \
	X(resp_port, K_NUM, put_u64(l, ci->resp_port))                       \
	X(dir_guessed, K_NUM, put_u64(l, !!(ci->flags & NETMOON_CONN_F_DIR_GUESSED))) \
	X(state, K_STR, put_str(l, netmoon_conn_state_str(ci->state)))        \
	X(conn_state, K_STR, put_str(l, netmoon_conn_zeek_state_str(ci->zeek_state))) \
	X(history, K_STR, put_str(l, ci->history))                           \
	X(orig_pkts, K_NUM, put_u64(l, ci->orig.pkts))                       \
	X(orig_bytes, K_NUM, put_u64(l, ci->orig.bytes))                     \
	X(orig_ip_bytes, K_NUM, put_u64(l, ci->orig.ip_bytes))               \
	X(orig_payload_bytes, K_NUM, put_u64(l, ci->orig.payload_bytes))     \
	X(resp_pkts, K_NUM, put_u64(l, ci->resp.pkts))                       \
	X(resp_bytes, K_NUM, put_u64(l, ci->resp.bytes))                     \
	X(resp_ip_bytes, K_NUM, put_u64(l, ci->resp.ip_bytes))               \
	X(resp_payload_bytes, K_NUM, put_u64(l, ci->resp.payload_bytes))     \
	X(rtt_syn_us, K_OPT_NUM, put_opt_us(l, !!(ci->flags & NETMOON_CONN_F_RTT_SYN), ci->rtt_syn_ns, json)) \
	X(rtt_ack_us, K_OPT_NUM, put_opt_us(l, !!(ci->flags & NETMOON_CONN_F_RTT_ACK), ci->rtt_ack_ns, json)) \
	X(handshake_rtt_us, K_OPT_NUM, put_opt_us(l, !!(ci->flags & NETMOON_CONN_F_HANDSHAKE), ci->handshake_rtt_ns, json))

static void put_vlan(struct line *l, const struct netmoon_conn_info *ci)
{
	for (unsigned i = 0; i < ci->vlan_count && i < 2; i++) {
		if (i)
			put_mem(l, ".", 1);
		put_u64(l, ci->vlan_ids[i]);
	}
}

const char *row_csv_header(void)
{
#define NAME(name, kind, expr) "," #name
	static const char header[] = COLUMNS(NAME) "\n";
#undef NAME

	return header + 1; /* past the first name's comma */
}

size_t row_format(char *buf, const struct netmoon_conn_info *ci, enum row_format fmt)
{
	struct line line = { buf, buf + ROW_MAX - 1 }, *l = &line;
	const int json = fmt == ROW_JSON;
	int first = 1;

#define FIELD(name, kind, expr)                                         \
	if (json) {                                                     \
		put_str(l, first ? "{\"" #name "\":" : ",\"" #name "\":"); \
		if (kind == K_STR)                                      \
			put_mem(l, "\"", 1);                            \
		expr;                                                   \
		if (kind == K_STR)                                      \
			put_mem(l, "\"", 1);                            \
	} else {                                                        \
		if (!first)                                             \
			put_mem(l, ",", 1);                             \
		expr;                                                   \
	}                                                               \
	first = 0;
	COLUMNS(FIELD)
#undef FIELD
	if (json)
		put_mem(l, "}", 1);
	*l->p++ = '\n'; /* the end leaves room for it */
	return (size_t)(l->p - buf);
}
