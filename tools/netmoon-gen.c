/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-gen: write a synthetic pcap of many concurrent TCP and UDP flows.
 *
 * The output depends only on the arguments and the seed: the same command
 * writes the same bytes on every machine (the random generator, the size
 * distributions and the file's byte order are all fixed; no floating point,
 * no clock).  It is used by the benchmarks, by tests that compare the
 * library's totals with --summary or --truth, and to seed fuzzers.
 *
 * Model.  -f slots each hold one open flow.  Each step picks a slot at
 * random and emits that flow's next packet (a train of them when it is in
 * the middle of a transfer); a flow that has finished is
 * replaced by a new one, so about -f flows are open at any time and flows
 * keep starting and ending over the whole file.  A TCP flow does the whole
 * lifecycle: SYN (MSS, SACK-permitted, timestamps, window scale),
 * SYN/ACK, ACK, request/response exchanges with correct sequence and
 * acknowledgement numbers, sent in trains, with an ACK every 2 to 8
 * segments, then FIN, FIN, ACK (or a RST; a few are refused with RST/ACK).
 * A UDP flow is request/response (DNS with well-formed messages; QUIC-,
 * NTP- and media-like).  Other payload bytes are zero; every length field
 * and checksum is right.  With the benchmark's settings (-n 5000000
 * -f 150000) the mix is IMIX-like: 35 % small frames (60-100 B), 9 % in
 * between, 56 % of 1200 B or more, 914 B on average.
 *
 * Addresses come from the benchmarking range 198.18.0.0/15 (clients in
 * 198.18/16, servers in 198.19/16) and from 2001:db8::/32.  The client
 * address and port are derived from the flow's number, so no two flows of a
 * file share a 5-tuple.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LINKTYPE_ETHERNET 1u

#define ETH_HLEN 14u
#define ETH_MIN_FRAME 60u /* without FCS: what a tap sees for a minimum frame */
#define VLAN_HLEN 4u
#define IP4_HLEN 20u
#define IP6_HLEN 40u
#define TCP_HLEN 20u
#define UDP_HLEN 8u
#define MAX_HDRS 128u     /* 14 + 8 + 40 + 60: the largest header stack built */
#define MAX_APP 256u      /* application bytes written before the zero payload */
#define OUTBUF_SIZE (4u << 20)

#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u

/* Longest train of segments one flow sends back to back. */
#define BURST_MAX 16u

#define NSEC_PER_SEC ((int64_t)1000000000)

/* Direction of a packet within its flow. */
enum { C2S = 0, S2C = 1 };

/* ---- random numbers: xoshiro256**, seeded through splitmix64 -------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n): Lemire's multiply-high, exact enough and integer-only. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)rng_below(r, (uint64_t)hi - lo + 1);
}

/* True with probability permille / 1000. */
static inline int rng_permille(struct rng *r, uint32_t permille)
{
	return rng_below(r, 1000) < permille;
}

/* A range with a weight: discrete, integer-only distributions. */
struct bucket {
	uint32_t lo, hi, weight;
};

static uint32_t rng_bucket(struct rng *r, const struct bucket *b, size_t n)
{
	uint32_t total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += b[i].weight;
	x = (uint32_t)rng_below(r, total);
	for (i = 0; i + 1 < n && x >= b[i].weight; i++)
		x -= b[i].weight;
	return rng_range(r, b[i].lo, b[i].hi);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes a server sends back for one request: heavy-tailed, like web objects. */
static const struct bucket tcp_response_sizes[] = {
	{ 100, 1000, 22 },
	{ 1000, 4000, 22 },
	{ 4000, 16000, 22 },
	{ 16000, 64000, 19 },
	{ 64000, 256000, 10 },
	{ 256000, 1000000, 4 },
	{ 1000000, 4000000, 1 },
};

/* Request sizes; a few are uploads. */
static const struct bucket tcp_request_sizes[] = {
	{ 60, 300, 30 },
	{ 300, 900, 60 },
	{ 900, 3000, 7 },
	{ 3000, 200000, 3 },
};

static const struct bucket tcp_exchanges[] = {
	{ 1, 1, 60 },
	{ 2, 4, 30 },
	{ 5, 20, 10 },
};

/* ---- options ------------------------------------------------------------ */

struct opts {
	const char *out_path;
	const char *truth_path;
	uint64_t packets;
	uint32_t flows;
	uint64_t seed;
	uint32_t snaplen;
	uint32_t ipv6_pm;     /* shares in permille, read from percent arguments */
	uint32_t vlan_pm;
	uint32_t qinq_pm;     /* of the VLAN-tagged flows */
	uint32_t udp_pm;
	uint32_t rst_pm;      /* of the TCP flows: end with RST instead of FIN */
	uint32_t refused_pm;  /* of the TCP flows: SYN answered by RST/ACK */
	uint32_t flood_pm;    /* of the packets: a lone SYN from a new source (a flood) */
	uint64_t pps;
	int64_t start_ns;
	int nsec;
	int big_endian;
	int pad;
	int summary;
};

/* ---- flows -------------------------------------------------------------- */

enum flow_kind { FK_NONE = 0, FK_TCP, FK_UDP };

enum tcp_phase {
	TP_SYN, TP_SYNACK, TP_ACK3, TP_REFUSE, TP_DATA, TP_DACK,
	TP_FIN1, TP_FIN2, TP_LASTACK, TP_RST,
};

enum udp_phase { UP_REQ, UP_RESP };

enum flow_end { FE_OPEN = 0, FE_FIN, FE_RST, FE_REFUSED, FE_DONE };

static const char *const end_names[] = { "open", "fin", "rst", "refused", "done" };

#define FO_TS 0x01u
#define FO_SACK 0x02u
#define FO_WS 0x04u

struct dir_count {
	uint64_t pkts, bytes, ip_bytes, payload_bytes;
};

struct flow {
	uint64_t id;            /* flow number in the file, from 0 */
	int64_t ts_first, ts_last;
	struct dir_count cnt[2];
	uint32_t client, server; /* host numbers, see put_addr() */
	uint32_t seq[2];        /* next sequence number of each side */
	uint32_t tsbase[2];     /* timestamp clock offsets */
	uint32_t tslast[2];     /* last TSval sent by each side */
	uint32_t left;          /* bytes (TCP) or packets (UDP) left in this transfer */
	uint32_t flowlabel;
	uint16_t cport, sport;
	uint16_t vlan[2];
	uint16_t ipid[2];
	uint16_t win[2];
	uint16_t mss;           /* payload bytes of a full segment */
	uint16_t exchanges;     /* request/response rounds left */
	uint16_t req_lo, req_hi, resp_lo, resp_hi; /* UDP payload sizes */
	uint16_t resp_pkts_max;
	uint8_t req_big;        /* UDP: some requests are full-size (QUIC) */
	uint8_t dns;            /* UDP: payloads are real DNS messages */
	uint8_t dns_label;      /* length of the query name's one label */
	uint16_t dns_id;
	uint8_t kind;           /* enum flow_kind */
	uint8_t v6;
	uint8_t nvlan;
	uint8_t phase;
	uint8_t opts;           /* FO_* */
	uint8_t sender;         /* C2S or S2C: who sends the current transfer */
	uint8_t request;        /* the current transfer is a request */
	uint8_t unacked;        /* segments since the receiver last acknowledged */
	uint8_t ack_every;      /* segments per ACK: 2 (delayed ACK), more with GRO */
	uint8_t closer;         /* who sends the first FIN or the RST */
	uint8_t abort;          /* TCP: close with RST instead of FIN */
	uint8_t end;            /* enum flow_end, once finished */
	uint8_t refused;
	uint8_t ttl[2];
};

struct totals {
	uint64_t packets, bytes, caplen_bytes, ip_bytes, payload_bytes, file_bytes;
	uint64_t flows, tcp_flows, udp_flows, ipv6_flows, vlan_flows, qinq_flows;
	uint64_t tcp_handshakes, tcp_fin, tcp_rst, tcp_refused, udp_done;
	uint64_t tcp_packets, udp_packets, ipv6_packets, vlan_packets, qinq_packets;
	uint64_t syn_packets, fin_packets, rst_packets;
	uint64_t flood_syns;
	uint64_t small, mid, large; /* frames <= 100 B, in between, >= 1200 B */
	uint64_t flows_open_at_end;
	int64_t ts_first, ts_last;
};

struct gen {
	struct opts o;
	struct rng rng;
	struct flow *slots;
	uint64_t next_flow_id;
	int64_t now;            /* time stamp of the next packet */
	int64_t gap;            /* mean gap between packets, ns */
	int fd;
	uint8_t *buf;
	size_t buflen;
	FILE *truth;
	struct totals t;
};

/* ---- output ------------------------------------------------------------- */

static void die(const char *what)
{
	fprintf(stderr, "netmoon-gen: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void out_flush(struct gen *g)
{
	size_t off = 0;

	while (off < g->buflen) {
		ssize_t n = write(g->fd, g->buf + off, g->buflen - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(g->o.out_path);
		}
		off += (size_t)n;
	}
	g->t.file_bytes += g->buflen;
	g->buflen = 0;
}

/* Room for n more bytes at the end of the output buffer. */
static uint8_t *out_reserve(struct gen *g, size_t n)
{
	if (g->buflen + n > OUTBUF_SIZE)
		out_flush(g);
	return g->buf + g->buflen;
}

/* File header fields in the byte order chosen for the file. */
static void put_file32(const struct gen *g, uint8_t *p, uint32_t v)
{
	if (g->o.big_endian) {
		p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
	}
}

static void put_file16(const struct gen *g, uint8_t *p, uint16_t v)
{
	if (g->o.big_endian) {
		p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	}
}

static void write_file_header(struct gen *g)
{
	uint8_t *p = out_reserve(g, 24);

	put_file32(g, p, g->o.nsec ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
	put_file16(g, p + 4, 2);
	put_file16(g, p + 6, 4);
	put_file32(g, p + 8, 0);  /* thiszone */
	put_file32(g, p + 12, 0); /* sigfigs */
	put_file32(g, p + 16, g->o.snaplen);
	put_file32(g, p + 20, LINKTYPE_ETHERNET);
	g->buflen += 24;
}

/* Network byte order. */
static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Ones' complement sum of big-endian 16-bit words, not yet folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Host addresses.  Clients are host numbers 1..65534 of 198.18.0.0/16 or
 * 2001:db8:c1::/64, servers of 198.19.0.0/16 or 2001:db8:5e::/64.
 */
static void put_addr(uint8_t *p, int v6, int server, uint32_t host)
{
	if (v6) {
		static const uint8_t pfx[2][8] = {
			{ 0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc1, 0, 0 },
			{ 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e, 0, 0 },
		};
		memcpy(p, pfx[server], 8);
		put32(p + 8, 0);
		put32(p + 12, host);
	} else {
		p[0] = 198;
		p[1] = server ? 19 : 18;
		put16(p + 2, host);
	}
}

static void put_mac(uint8_t *p, int server, uint32_t host)
{
	p[0] = 0x02; /* locally administered */
	p[1] = server ? 0x5e : 0xc1;
	put32(p + 2, host);
}

/* ---- building one frame ------------------------------------------------- */

/*
 * TCP options of a segment, Linux's layouts: everything 4-byte aligned.
 * Returns the option length written at p.
 */
static size_t put_tcp_opts(uint8_t *p, const struct flow *f, int dir, uint8_t flags,
			   uint32_t tsval)
{
	size_t n = 0;

	if (flags & TCP_RST)
		return 0; /* Linux sends resets without options */
	if (flags & TCP_SYN) {
		p[n++] = 2; p[n++] = 4;
		put16(p + n, (uint32_t)f->mss + (f->opts & FO_TS ? 12 : 0));
		n += 2;
		if ((f->opts & (FO_SACK | FO_TS)) == (FO_SACK | FO_TS)) {
			p[n++] = 4; p[n++] = 2;
		} else if (f->opts & FO_SACK) {
			p[n++] = 1; p[n++] = 1; p[n++] = 4; p[n++] = 2;
		} else if (f->opts & FO_TS) {
			p[n++] = 1; p[n++] = 1;
		}
		if (f->opts & FO_TS) {
			p[n++] = 8; p[n++] = 10;
			put32(p + n, tsval);
			put32(p + n + 4, dir == C2S ? 0 : f->tslast[C2S]);
			n += 8;
		}
		if (f->opts & FO_WS) {
			p[n++] = 1; p[n++] = 3; p[n++] = 3;
			p[n++] = dir == C2S ? 7 : 9;
		}
	} else if (f->opts & FO_TS) {
		p[n++] = 1; p[n++] = 1; p[n++] = 8; p[n++] = 10;
		put32(p + n, tsval);
		put32(p + n + 4, f->tslast[!dir]);
		n += 8;
	}
	return n;
}

static void count_frame(struct gen *g, struct flow *f, int dir, uint32_t wirelen,
			uint32_t caplen, uint32_t iplen, uint32_t paylen)
{
	struct totals *t = &g->t;
	struct dir_count *c = &f->cnt[dir];

	if (!t->packets)
		t->ts_first = g->now;
	t->ts_last = g->now;
	t->packets++;
	t->bytes += wirelen;
	t->caplen_bytes += caplen;
	t->ip_bytes += iplen;
	t->payload_bytes += paylen;
	if (f->kind == FK_TCP)
		t->tcp_packets++;
	else
		t->udp_packets++;
	t->ipv6_packets += f->v6;
	t->vlan_packets += f->nvlan > 0;
	t->qinq_packets += f->nvlan > 1;
	if (wirelen <= 100)
		t->small++;
	else if (wirelen >= 1200)
		t->large++;
	else
		t->mid++;

	if (!f->cnt[C2S].pkts && !f->cnt[S2C].pkts)
		f->ts_first = g->now;
	f->ts_last = g->now;
	c->pkts++;
	c->bytes += wirelen;
	c->ip_bytes += iplen;
	c->payload_bytes += paylen;
}

/*
 * Emit one frame of flow f in direction dir.  For TCP, flags and seq/ack
 * come from the flow's state.  The paylen bytes of payload are the applen
 * bytes at app, then zeros.  Only the bytes before the zeros are ever
 * summed: zeros add nothing to a ones' complement checksum.
 */
static void emit_payload(struct gen *g, struct flow *f, int dir, uint8_t flags,
			 uint32_t paylen, const uint8_t *app, size_t applen)
{
	uint8_t h[MAX_HDRS + MAX_APP];
	uint8_t *ip, *l4, *p;
	size_t l2len = ETH_HLEN + VLAN_HLEN * f->nvlan;
	size_t l3len = f->v6 ? IP6_HLEN : IP4_HLEN;
	size_t l4len, hlen;
	uint32_t iplen, wirelen, caplen, sum;
	int from_server = dir == S2C;
	uint8_t proto = f->kind == FK_TCP ? 6 : 17;

	/* link layer: destination, source, tags, ethertype */
	put_mac(h, !from_server, from_server ? f->client : f->server);
	put_mac(h + 6, from_server, from_server ? f->server : f->client);
	p = h + 12;
	if (f->nvlan == 2) {
		put16(p, 0x88a8);
		put16(p + 2, f->vlan[0]);
		put16(p + 4, 0x8100);
		put16(p + 6, f->vlan[1]);
		p += 8;
	} else if (f->nvlan == 1) {
		put16(p, 0x8100);
		put16(p + 2, f->vlan[0]);
		p += 4;
	}
	put16(p, f->v6 ? 0x86dd : 0x0800);
	ip = h + l2len;
	l4 = ip + l3len;

	/* transport header */
	if (f->kind == FK_TCP) {
		uint32_t tsval = f->tsbase[dir] + (uint32_t)(g->now / 1000000);
		size_t optlen = put_tcp_opts(l4 + TCP_HLEN, f, dir, flags, tsval);
		uint32_t seq = f->seq[dir];
		uint32_t ack = flags & TCP_ACK ? f->seq[!dir] : 0;

		l4len = TCP_HLEN + optlen;
		put16(l4, from_server ? f->sport : f->cport);
		put16(l4 + 2, from_server ? f->cport : f->sport);
		put32(l4 + 4, seq);
		put32(l4 + 8, ack);
		l4[12] = (uint8_t)(l4len / 4 << 4);
		l4[13] = flags;
		put16(l4 + 14, flags & TCP_SYN ? (dir == C2S ? 64240 : 65160) : f->win[dir]);
		put32(l4 + 16, 0); /* checksum, urgent pointer */
		if (f->opts & FO_TS)
			f->tslast[dir] = tsval;
		f->seq[dir] += paylen + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	} else {
		l4len = UDP_HLEN;
		put16(l4, from_server ? f->sport : f->cport);
		put16(l4 + 2, from_server ? f->cport : f->sport);
		put16(l4 + 4, UDP_HLEN + paylen);
		put16(l4 + 6, 0);
	}
	iplen = (uint32_t)(l3len + l4len + paylen);

	/* network layer, then the checksums that cover it */
	if (f->v6) {
		put32(ip, 6u << 28 | f->flowlabel);
		put16(ip + 4, iplen - IP6_HLEN);
		ip[6] = proto;
		ip[7] = f->ttl[dir];
		put_addr(ip + 8, 1, from_server, from_server ? f->server : f->client);
		put_addr(ip + 24, 1, !from_server, from_server ? f->client : f->server);
		sum = csum_add(0, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, iplen);
		put16(ip + 4, f->ipid[dir]++);
		put16(ip + 6, f->kind == FK_TCP ? 0x4000 : 0); /* DF on TCP */
		ip[8] = f->ttl[dir];
		ip[9] = proto;
		put16(ip + 10, 0);
		put_addr(ip + 12, 0, from_server, from_server ? f->server : f->client);
		put_addr(ip + 16, 0, !from_server, from_server ? f->client : f->server);
		put16(ip + 10, csum_fold(csum_add(0, ip, IP4_HLEN)));
		sum = csum_add(0, ip + 12, 8);
	}
	/* pseudo-header: length and protocol (IPv6's 32-bit length fits 16 bits here) */
	sum += (uint32_t)(l4len + paylen) + proto;
	sum = csum_add(sum, l4, l4len);
	if (applen) {
		/* an odd-length header would shift the words: never the case */
		memcpy(l4 + l4len, app, applen);
		sum = csum_add(sum, app, applen);
	}
	{
		uint16_t c = csum_fold(sum);

		if (f->kind == FK_UDP && c == 0)
			c = 0xffff;
		put16(l4 + (f->kind == FK_TCP ? 16 : 6), c);
	}

	/* record: headers, zero payload, zero padding up to the minimum frame */
	hlen = l2len + l3len + l4len + applen;
	wirelen = (uint32_t)(l2len + iplen);
	if (g->o.pad && wirelen < ETH_MIN_FRAME)
		wirelen = ETH_MIN_FRAME;
	caplen = wirelen < g->o.snaplen ? wirelen : g->o.snaplen;

	p = out_reserve(g, 16 + caplen);
	if (g->o.nsec) {
		put_file32(g, p, (uint32_t)(g->now / NSEC_PER_SEC));
		put_file32(g, p + 4, (uint32_t)(g->now % NSEC_PER_SEC));
	} else {
		put_file32(g, p, (uint32_t)(g->now / NSEC_PER_SEC));
		put_file32(g, p + 4, (uint32_t)(g->now % NSEC_PER_SEC / 1000));
	}
	put_file32(g, p + 8, caplen);
	put_file32(g, p + 12, wirelen);
	if (caplen <= hlen) {
		memcpy(p + 16, h, caplen);
	} else {
		memcpy(p + 16, h, hlen);
		memset(p + 16 + hlen, 0, caplen - hlen);
	}
	g->buflen += 16 + caplen;

	count_frame(g, f, dir, wirelen, caplen, iplen, paylen);
	if (flags & TCP_SYN)
		g->t.syn_packets += !(flags & TCP_ACK);
	g->t.fin_packets += !!(flags & TCP_FIN);
	g->t.rst_packets += !!(flags & TCP_RST);
}

static void emit(struct gen *g, struct flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	emit_payload(g, f, dir, flags, paylen, NULL, 0);
}

/* ---- flow lifecycles ---------------------------------------------------- */

static void flow_init_common(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	uint64_t id = g->next_flow_id++;

	memset(f, 0, sizeof(*f));
	f->id = id;
	/* The client (address, port) pair is unique per flow number. */
	f->client = (uint32_t)(id % 65534) + 1;
	f->cport = (uint16_t)(1024 + (id / 65534) % 64512);
	f->server = rng_range(r, 1, 4096);
	f->v6 = rng_permille(r, g->o.ipv6_pm);
	if (rng_permille(r, g->o.vlan_pm)) {
		if (rng_permille(r, g->o.qinq_pm)) {
			f->nvlan = 2;
			f->vlan[0] = (uint16_t)rng_range(r, 10, 13);
			f->vlan[1] = (uint16_t)rng_range(r, 100, 115);
		} else {
			f->nvlan = 1;
			f->vlan[0] = (uint16_t)rng_range(r, 100, 115);
		}
	}
	f->flowlabel = (uint32_t)rng_below(r, 1u << 20);
	f->ipid[C2S] = (uint16_t)rng_next(r);
	f->ipid[S2C] = (uint16_t)rng_next(r);
	/* as seen from a tap in the middle: a few hops from each end */
	f->ttl[C2S] = (uint8_t)rng_range(r, 60, 63);
	f->ttl[S2C] = (uint8_t)rng_range(r, 48, 58);

	g->t.flows++;
	g->t.ipv6_flows += f->v6;
	g->t.vlan_flows += f->nvlan > 0;
	g->t.qinq_flows += f->nvlan > 1;
}

static void start_tcp(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	/*
	 * Ports whose dissectors take zero payload in their stride, so that
	 * Wireshark reads the file without "malformed" notes.
	 */
	static const uint16_t ports[] = { 443, 443, 443, 443, 443, 443, 443, 443, 80, 80,
					  853, 8080, 993, 8443 };
	uint32_t mss;

	f->kind = FK_TCP;
	f->sport = ports[rng_below(r, ARRAY_SIZE(ports))];
	if (rng_permille(r, 850))
		f->opts |= FO_TS;
	if (rng_permille(r, 950))
		f->opts |= FO_SACK;
	if (rng_permille(r, 950))
		f->opts |= FO_WS;
	/* most paths have a 1500-byte MTU; some tunnels make it smaller */
	mss = f->v6 ? 1440 : 1460;
	if (rng_permille(r, 100))
		mss -= rng_range(r, 20, 100);
	f->mss = (uint16_t)(mss - (f->opts & FO_TS ? 12 : 0));
	f->seq[C2S] = (uint32_t)rng_next(r);
	f->seq[S2C] = (uint32_t)rng_next(r);
	f->tsbase[C2S] = (uint32_t)rng_next(r);
	f->tsbase[S2C] = (uint32_t)rng_next(r);
	f->win[C2S] = (uint16_t)rng_range(r, 300, 2000);
	f->win[S2C] = (uint16_t)rng_range(r, 300, 2000);
	f->exchanges = (uint16_t)rng_bucket(r, tcp_exchanges, ARRAY_SIZE(tcp_exchanges));
	/* receivers with GRO acknowledge several segments at once */
	f->ack_every = rng_permille(r, 500) ? 2 : rng_permille(r, 700) ? 4 : 8;
	f->refused = rng_permille(r, g->o.refused_pm);
	if (f->refused)
		f->seq[S2C] = 0; /* a RST answering a SYN carries sequence number 0 */
	f->abort = rng_permille(r, g->o.rst_pm);
	f->closer = rng_permille(r, 650) ? C2S : S2C;
	f->phase = TP_SYN;
	g->t.tcp_flows++;
}

static void start_udp(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	uint32_t k = (uint32_t)rng_below(r, 100);

	f->kind = FK_UDP;
	if (k < 35) {           /* DNS-like: one or two lookups */
		f->sport = 53;
		f->dns = 1;
		f->resp_pkts_max = 1;
		f->exchanges = (uint16_t)rng_range(r, 1, 2);
	} else if (k < 75) {    /* QUIC-like: full-size bursts, small client packets */
		f->sport = 443;
		f->req_lo = 30; f->req_hi = 60;
		f->req_big = 1;
		f->resp_lo = 1200; f->resp_hi = 1350;
		f->resp_pkts_max = 12;
		f->exchanges = (uint16_t)rng_range(r, 2, 30);
	} else if (k < 85) {    /* NTP-like */
		f->sport = 123;
		f->req_lo = f->req_hi = 48;
		f->resp_lo = f->resp_hi = 48;
		f->resp_pkts_max = 1;
		f->exchanges = 1;
	} else {                /* media or games: mid-size both ways */
		f->sport = (uint16_t)rng_range(r, 3478, 3497);
		f->req_lo = 100; f->req_hi = 600;
		f->resp_lo = 100; f->resp_hi = 900;
		f->resp_pkts_max = 2;
		f->exchanges = (uint16_t)rng_range(r, 5, 50);
	}
	f->phase = UP_REQ;
	g->t.udp_flows++;
}

static void write_truth(struct gen *g, const struct flow *f)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], vlan[16] = "";
	uint8_t raw[16];
	const struct dir_count *o = &f->cnt[C2S], *s = &f->cnt[S2C];

	if (!g->truth)
		return;
	put_addr(raw, f->v6, 0, f->client);
	inet_ntop(f->v6 ? AF_INET6 : AF_INET, raw, a, sizeof(a));
	put_addr(raw, f->v6, 1, f->server);
	inet_ntop(f->v6 ? AF_INET6 : AF_INET, raw, b, sizeof(b));
	if (f->nvlan == 2)
		snprintf(vlan, sizeof(vlan), "%u.%u", f->vlan[0], f->vlan[1]);
	else if (f->nvlan == 1)
		snprintf(vlan, sizeof(vlan), "%u", f->vlan[0]);
	fprintf(g->truth,
		"%" PRIu64 ",%s,%u,%s,%s,%u,%s,%u,%s,"
		"%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ","
		"%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ","
		"%" PRId64 ".%09" PRId64 ",%" PRId64 ".%09" PRId64 "\n",
		f->id, f->kind == FK_TCP ? "tcp" : "udp", f->v6 ? 6 : 4, vlan,
		a, f->cport, b, f->sport, end_names[f->end],
		o->pkts, o->bytes, o->ip_bytes, o->payload_bytes,
		s->pkts, s->bytes, s->ip_bytes, s->payload_bytes,
		f->ts_first / NSEC_PER_SEC, f->ts_first % NSEC_PER_SEC,
		f->ts_last / NSEC_PER_SEC, f->ts_last % NSEC_PER_SEC);
}

static void flow_finish(struct gen *g, struct flow *f, enum flow_end how)
{
	f->end = (uint8_t)how;
	switch (how) {
	case FE_FIN: g->t.tcp_fin++; break;
	case FE_RST: g->t.tcp_rst++; break;
	case FE_REFUSED: g->t.tcp_refused++; break;
	case FE_DONE: g->t.udp_done++; break;
	case FE_OPEN: break;
	}
	write_truth(g, f);
	f->kind = FK_NONE;
}

static void start_transfer(struct gen *g, struct flow *f, int sender, int request)
{
	struct rng *r = &g->rng;

	f->sender = (uint8_t)sender;
	f->request = (uint8_t)request;
	f->unacked = 0;
	f->left = request ? rng_bucket(r, tcp_request_sizes, ARRAY_SIZE(tcp_request_sizes))
			  : rng_bucket(r, tcp_response_sizes, ARRAY_SIZE(tcp_response_sizes));
	f->phase = TP_DATA;
}

/* After the last exchange: FIN handshake or RST, by the planned closer. */
static void start_close(struct flow *f)
{
	f->phase = f->abort ? TP_RST : TP_FIN1;
}

/* The receiver acknowledged; what comes next. */
static void after_ack(struct gen *g, struct flow *f)
{
	if (f->left) {
		f->phase = TP_DATA;
	} else if (f->request) {
		start_transfer(g, f, S2C, 0);
	} else if (--f->exchanges) {
		start_transfer(g, f, C2S, 1);
	} else {
		start_close(f);
	}
}

static void step_tcp(struct gen *g, struct flow *f)
{
	uint32_t seg;

	switch (f->phase) {
	case TP_SYN:
		emit(g, f, C2S, TCP_SYN, 0);
		f->phase = f->refused ? TP_REFUSE : TP_SYNACK;
		break;
	case TP_REFUSE:
		emit(g, f, S2C, TCP_RST | TCP_ACK, 0);
		flow_finish(g, f, FE_REFUSED);
		break;
	case TP_SYNACK:
		emit(g, f, S2C, TCP_SYN | TCP_ACK, 0);
		f->phase = TP_ACK3;
		break;
	case TP_ACK3:
		emit(g, f, C2S, TCP_ACK, 0);
		g->t.tcp_handshakes++;
		start_transfer(g, f, C2S, 1);
		break;
	case TP_DATA:
		seg = f->left < f->mss ? f->left : f->mss;
		f->left -= seg;
		emit(g, f, f->sender, TCP_ACK | (f->left ? 0 : TCP_PSH), seg);
		f->unacked++;
		if (f->left == 0 && f->request && f->unacked == 1)
			start_transfer(g, f, S2C, 0); /* the response acknowledges it */
		else if (f->left == 0 || f->unacked >= f->ack_every)
			f->phase = TP_DACK;
		break;
	case TP_DACK:
		emit(g, f, !f->sender, TCP_ACK, 0);
		f->unacked = 0;
		after_ack(g, f);
		break;
	case TP_FIN1:
		emit(g, f, f->closer, TCP_FIN | TCP_ACK, 0);
		f->phase = TP_FIN2;
		break;
	case TP_FIN2:
		emit(g, f, !f->closer, TCP_FIN | TCP_ACK, 0);
		f->phase = TP_LASTACK;
		break;
	case TP_LASTACK:
		emit(g, f, f->closer, TCP_ACK, 0);
		flow_finish(g, f, FE_FIN);
		break;
	case TP_RST:
		emit(g, f, f->closer, TCP_RST | TCP_ACK, 0);
		flow_finish(g, f, FE_RST);
		break;
	}
}

/*
 * A DNS query for one A record, or its answer with n records, so that
 * decoders see well-formed messages on port 53.  Returns the length.
 */
static size_t dns_message(uint8_t *p, const struct flow *f, unsigned int answers)
{
	static const char name[] = "netmoon-synthetic-capture-generator-query-name-for-benchmarks";
	size_t n = 12, i;

	put16(p, f->dns_id);
	put16(p + 2, answers ? 0x8180 : 0x0100); /* response, RD, RA / query, RD */
	put16(p + 4, 1);
	put16(p + 6, answers);
	put32(p + 8, 0);
	p[n++] = f->dns_label;
	memcpy(p + n, name, f->dns_label);
	n += f->dns_label;
	p[n++] = 0;
	put16(p + n, 1); /* A */
	put16(p + n + 2, 1); /* IN */
	n += 4;
	for (i = 0; i < answers; i++) {
		put16(p + n, 0xc00c); /* the question's name */
		put16(p + n + 2, 1);
		put16(p + n + 4, 1);
		put32(p + n + 6, 300);
		put16(p + n + 10, 4);
		p[n + 12] = 198; p[n + 13] = 51; p[n + 14] = 100; /* TEST-NET-2 */
		p[n + 15] = (uint8_t)(f->server + i);
		n += 16;
	}
	return n;
}

static void step_dns(struct gen *g, struct flow *f)
{
	uint8_t msg[MAX_APP];
	size_t len;

	if (f->phase == UP_REQ) {
		f->dns_id = (uint16_t)rng_next(&g->rng);
		f->dns_label = (uint8_t)rng_range(&g->rng, 12, 44);
		len = dns_message(msg, f, 0);
		emit_payload(g, f, C2S, 0, (uint32_t)len, msg, len);
		f->phase = UP_RESP;
		return;
	}
	len = dns_message(msg, f, rng_range(&g->rng, 1, 8));
	emit_payload(g, f, S2C, 0, (uint32_t)len, msg, len);
	if (--f->exchanges)
		f->phase = UP_REQ;
	else
		flow_finish(g, f, FE_DONE);
}

static void step_udp(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;

	if (f->dns) {
		step_dns(g, f);
		return;
	}
	if (f->phase == UP_REQ) {
		uint32_t len = rng_range(r, f->req_lo, f->req_hi);

		if (f->req_big && rng_permille(r, 200))
			len = rng_range(r, 1200, 1250);
		emit(g, f, C2S, 0, len);
		f->left = rng_range(r, 1, f->resp_pkts_max);
		f->phase = UP_RESP;
		return;
	}
	emit(g, f, S2C, 0, rng_range(r, f->resp_lo, f->resp_hi));
	if (--f->left)
		return;
	if (--f->exchanges)
		f->phase = UP_REQ;
	else
		flow_finish(g, f, FE_DONE);
}

static void step(struct gen *g, struct flow *f)
{
	if (f->kind == FK_NONE) {
		flow_init_common(g, f);
		if (rng_permille(&g->rng, g->o.udp_pm))
			start_udp(g, f);
		else
			start_tcp(g, f);
	}
	if (f->kind == FK_TCP)
		step_tcp(g, f);
	else
		step_udp(g, f);
}

/* ---- main --------------------------------------------------------------- */

static void print_summary(const struct gen *g)
{
	const struct totals *t = &g->t;
	uint64_t mean = t->packets ? t->bytes / t->packets : 0;

	fprintf(stderr,
		"packets=%" PRIu64 "\n"
		"bytes=%" PRIu64 "\n"
		"caplen_bytes=%" PRIu64 "\n"
		"ip_bytes=%" PRIu64 "\n"
		"payload_bytes=%" PRIu64 "\n"
		"file_bytes=%" PRIu64 "\n"
		"mean_frame=%" PRIu64 "\n"
		"frames_small=%" PRIu64 "\n"
		"frames_mid=%" PRIu64 "\n"
		"frames_large=%" PRIu64 "\n"
		"flows=%" PRIu64 "\n"
		"tcp_flows=%" PRIu64 "\n"
		"udp_flows=%" PRIu64 "\n"
		"ipv6_flows=%" PRIu64 "\n"
		"vlan_flows=%" PRIu64 "\n"
		"qinq_flows=%" PRIu64 "\n"
		"tcp_handshakes=%" PRIu64 "\n"
		"tcp_fin_closed=%" PRIu64 "\n"
		"tcp_reset=%" PRIu64 "\n"
		"tcp_refused=%" PRIu64 "\n"
		"udp_completed=%" PRIu64 "\n"
		"flows_open_at_end=%" PRIu64 "\n"
		"concurrent_flows=%" PRIu32 "\n"
		"tcp_packets=%" PRIu64 "\n"
		"udp_packets=%" PRIu64 "\n"
		"ipv6_packets=%" PRIu64 "\n"
		"vlan_packets=%" PRIu64 "\n"
		"qinq_packets=%" PRIu64 "\n"
		"syn_packets=%" PRIu64 "\n"
		"flood_syns=%" PRIu64 "\n"
		"fin_packets=%" PRIu64 "\n"
		"rst_packets=%" PRIu64 "\n"
		"ts_first=%" PRId64 ".%09" PRId64 "\n"
		"ts_last=%" PRId64 ".%09" PRId64 "\n",
		t->packets, t->bytes, t->caplen_bytes, t->ip_bytes, t->payload_bytes,
		t->file_bytes, mean, t->small, t->mid, t->large,
		t->flows, t->tcp_flows, t->udp_flows, t->ipv6_flows, t->vlan_flows, t->qinq_flows,
		t->tcp_handshakes, t->tcp_fin, t->tcp_rst, t->tcp_refused, t->udp_done,
		t->flows_open_at_end, g->o.flows,
		t->tcp_packets, t->udp_packets, t->ipv6_packets, t->vlan_packets, t->qinq_packets,
		t->syn_packets, t->flood_syns, t->fin_packets, t->rst_packets,
		t->ts_first / NSEC_PER_SEC, t->ts_first % NSEC_PER_SEC,
		t->ts_last / NSEC_PER_SEC, t->ts_last % NSEC_PER_SEC);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netmoon-gen [options]\n"
		"Write a synthetic pcap of concurrent TCP and UDP flows; the same arguments\n"
		"and seed always give the same bytes.\n\n"
		"  -o FILE             output file ('-' = standard output, the default)\n"
		"  -n PACKETS          packets to write (default 100000)\n"
		"  -f FLOWS            flows open at the same time (default 1000)\n"
		"  -s SNAPLEN          capture length limit (default 65535)\n"
		"  --seed N            random seed (default 1)\n"
		"  --ipv6-share PCT    percent of flows over IPv6 (default 20)\n"
		"  --vlan-share PCT    percent of flows with 802.1Q tags (default 10)\n"
		"  --qinq-share PCT    percent of the tagged flows that are QinQ (default 25)\n"
		"  --udp-share PCT     percent of flows that are UDP (default 20)\n"
		"  --rst-share PCT     percent of TCP flows ending with RST (default 5)\n"
		"  --refused-share PCT percent of TCP flows refused with RST/ACK (default 2)\n"
		"  --flood-share PCT   percent of packet draws that are a SYN flood: one\n"
		"                      unanswered SYN from a new source each (a transfer's\n"
		"                      burst is one draw, so fewer packets; default 0)\n"
		"  --pps N             mean packets per second of the time stamps (default 1000000)\n"
		"  --start SEC         time stamp of the first packet, epoch seconds (default 1700000000)\n"
		"  --ns                nanosecond time stamps (default microseconds)\n"
		"  --big-endian        write the file in big-endian byte order\n"
		"  --no-pad            do not pad frames to the 60-byte Ethernet minimum\n"
		"  --summary           print exact totals on standard error (key=value lines)\n"
		"  --truth FILE        write one CSV line per flow (its exact counters)\n"
		"  -h, --help          this help\n");
}

static uint64_t parse_num(const char *s, const char *name, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "netmoon-gen: %s: expected a number from %" PRIu64 " to %" PRIu64
			", got '%s'\n", name, min, max, s);
		exit(1);
	}
	return v;
}

static uint32_t parse_pct(const char *s, const char *name)
{
	return (uint32_t)parse_num(s, name, 0, 100) * 10;
}

enum {
	OPT_SEED = 256, OPT_IPV6, OPT_VLAN, OPT_QINQ, OPT_UDP, OPT_RST, OPT_REFUSED, OPT_FLOOD,
	OPT_PPS, OPT_START, OPT_NS, OPT_BE, OPT_NOPAD, OPT_SUMMARY, OPT_TRUTH,
};

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "ipv6-share", required_argument, NULL, OPT_IPV6 },
		{ "vlan-share", required_argument, NULL, OPT_VLAN },
		{ "qinq-share", required_argument, NULL, OPT_QINQ },
		{ "udp-share", required_argument, NULL, OPT_UDP },
		{ "rst-share", required_argument, NULL, OPT_RST },
		{ "refused-share", required_argument, NULL, OPT_REFUSED },
		{ "flood-share", required_argument, NULL, OPT_FLOOD },
		{ "pps", required_argument, NULL, OPT_PPS },
		{ "start", required_argument, NULL, OPT_START },
		{ "ns", no_argument, NULL, OPT_NS },
		{ "big-endian", no_argument, NULL, OPT_BE },
		{ "no-pad", no_argument, NULL, OPT_NOPAD },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "truth", required_argument, NULL, OPT_TRUTH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){
		.out_path = "-", .packets = 100000, .flows = 1000, .seed = 1, .snaplen = 65535,
		.ipv6_pm = 200, .vlan_pm = 100, .qinq_pm = 250, .udp_pm = 200, .rst_pm = 50,
		.refused_pm = 20, .pps = 1000000, .start_ns = (int64_t)1700000000 * NSEC_PER_SEC,
		.pad = 1,
	};
	while ((c = getopt_long(argc, argv, "o:n:f:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out_path = optarg; break;
		case 'n': o->packets = parse_num(optarg, "-n", 0, UINT64_MAX); break;
		case 'f': o->flows = (uint32_t)parse_num(optarg, "-f", 1, 50000000); break;
		case 's': o->snaplen = (uint32_t)parse_num(optarg, "-s", 1, 262144); break;
		case OPT_SEED: o->seed = parse_num(optarg, "--seed", 0, UINT64_MAX); break;
		case OPT_IPV6: o->ipv6_pm = parse_pct(optarg, "--ipv6-share"); break;
		case OPT_VLAN: o->vlan_pm = parse_pct(optarg, "--vlan-share"); break;
		case OPT_QINQ: o->qinq_pm = parse_pct(optarg, "--qinq-share"); break;
		case OPT_UDP: o->udp_pm = parse_pct(optarg, "--udp-share"); break;
		case OPT_RST: o->rst_pm = parse_pct(optarg, "--rst-share"); break;
		case OPT_REFUSED: o->refused_pm = parse_pct(optarg, "--refused-share"); break;
		case OPT_FLOOD: o->flood_pm = parse_pct(optarg, "--flood-share"); break;
		case OPT_PPS: o->pps = parse_num(optarg, "--pps", 1, 1000000000); break;
		case OPT_START:
			o->start_ns = (int64_t)parse_num(optarg, "--start", 0, 4000000000u) *
				      NSEC_PER_SEC;
			break;
		case OPT_NS: o->nsec = 1; break;
		case OPT_BE: o->big_endian = 1; break;
		case OPT_NOPAD: o->pad = 0; break;
		case OPT_SUMMARY: o->summary = 1; break;
		case OPT_TRUTH: o->truth_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netmoon-gen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct gen g;
	uint64_t i;

	memset(&g, 0, sizeof(g));
	parse_args(&g.o, argc, argv);
	rng_seed(&g.rng, g.o.seed);
	g.now = g.o.start_ns;
	g.gap = NSEC_PER_SEC / (int64_t)g.o.pps;
	g.slots = calloc(g.o.flows, sizeof(*g.slots));
	g.buf = malloc(OUTBUF_SIZE);
	if (!g.slots || !g.buf)
		die("out of memory");

	if (strcmp(g.o.out_path, "-") == 0) {
		g.fd = STDOUT_FILENO;
		if (isatty(g.fd)) {
			fprintf(stderr, "netmoon-gen: refusing to write a capture to a terminal; use -o FILE\n");
			return 1;
		}
	} else {
		g.fd = open(g.o.out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (g.fd < 0)
			die(g.o.out_path);
	}
	if (g.o.truth_path) {
		g.truth = fopen(g.o.truth_path, "w");
		if (!g.truth)
			die(g.o.truth_path);
		fputs("flow,proto,ip_version,vlan,orig_addr,orig_port,resp_addr,resp_port,end,"
		      "orig_pkts,orig_bytes,orig_ip_bytes,orig_payload_bytes,"
		      "resp_pkts,resp_bytes,resp_ip_bytes,resp_payload_bytes,ts_first,ts_last\n",
		      g.truth);
	}

	write_file_header(&g);
	for (i = 0; i < g.o.packets;) {
		struct flow *f;
		uint32_t burst = 1;

		if (g.o.flood_pm && rng_permille(&g.rng, g.o.flood_pm)) {
			/* A flood: one SYN from a source never seen again. */
			struct flow ff;

			flow_init_common(&g, &ff);
			start_tcp(&g, &ff);
			step(&g, &ff);
			write_truth(&g, &ff);
			g.t.flood_syns++;
			i++;
			g.now += (int64_t)rng_below(&g.rng, 2 * (uint64_t)g.gap + 1);
			continue;
		}
		f = &g.slots[rng_below(&g.rng, g.o.flows)];

		/*
		 * A flow in the middle of a transfer sends a train of segments
		 * (its congestion window), so bulk flows get more of the link
		 * than interactive ones, as on a real one.
		 */
		if (f->kind == FK_TCP && (f->phase == TP_DATA || f->phase == TP_DACK))
			burst = rng_range(&g.rng, 1, BURST_MAX);
		do {
			step(&g, f);
			i++;
			/* uniform gap in [0, 2 * mean]: integer-only, hence portable */
			g.now += (int64_t)rng_below(&g.rng, 2 * (uint64_t)g.gap + 1);
		} while (--burst && i < g.o.packets &&
			 (f->phase == TP_DATA || f->phase == TP_DACK) && f->kind == FK_TCP);
	}
	out_flush(&g);
	if (g.fd != STDOUT_FILENO && close(g.fd) < 0)
		die(g.o.out_path);

	for (i = 0; i < g.o.flows; i++) {
		if (g.slots[i].kind != FK_NONE) {
			g.t.flows_open_at_end++;
			write_truth(&g, &g.slots[i]);
		}
	}
	if (g.truth && fclose(g.truth) != 0)
		die(g.o.truth_path);
	if (g.o.summary)
		print_summary(&g);
	free(g.slots);
	free(g.buf);
	return 0;
}
