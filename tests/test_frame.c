/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon_frame_parse(): every header, every malformed case.  Frames are
 * assembled byte by byte below; expected offsets and values are worked out
 * by hand from those layouts (the comments show the arithmetic).  Every
 * parse runs on a heap copy of exactly caplen bytes, so that ASan (make
 * check-asan) or valgrind catches any read past the capture.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

/* --- frame builder ------------------------------------------------------ */

struct pkt {
	uint8_t b[4096];
	size_t len;
};

static void put8(struct pkt *p, unsigned int v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = (uint8_t)v;
}

static void put16(struct pkt *p, unsigned int v)
{
	put8(p, (v >> 8) & 0xff);
	put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void putn(struct pkt *p, const void *d, size_t n)
{
	assert_true(n <= sizeof(p->b) - p->len);
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void fill(struct pkt *p, unsigned int v, size_t n)
{
	while (n--)
		put8(p, v);
}

static void set16(struct pkt *p, size_t off, unsigned int v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static const uint8_t MAC_DST[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC_SRC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t V4_SRC[4] = { 10, 0, 0, 1 };
static const uint8_t V4_DST[4] = { 192, 168, 1, 2 };
static const uint8_t V6_SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t V6_DST[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 0xcd };

/* 14 bytes */
static void eth(struct pkt *p, unsigned int type)
{
	putn(p, MAC_DST, 6);
	putn(p, MAC_SRC, 6);
	put16(p, type);
}

/* 4 bytes: the tag's TCI and the type that follows it */
static void vlan_tag(struct pkt *p, unsigned int tci, unsigned int next)
{
	put16(p, tci);
	put16(p, next);
}

/* 16 bytes */
static void sll(struct pkt *p, unsigned int pkttype, unsigned int hatype, unsigned int proto)
{
	put16(p, pkttype);
	put16(p, hatype);
	put16(p, 6);
	putn(p, MAC_SRC, 6);
	put16(p, 0);
	put16(p, proto);
}

/* 20 bytes */
static void sll2(struct pkt *p, unsigned int proto, uint32_t ifindex, unsigned int hatype,
		 unsigned int pkttype)
{
	put16(p, proto);
	put16(p, 0);
	put32(p, ifindex);
	put16(p, hatype);
	put8(p, pkttype);
	put8(p, 6);
	putn(p, MAC_SRC, 6);
	put16(p, 0);
}

/* 20 bytes + options; the total length is written by ip4_done(). */
static size_t ip4(struct pkt *p, unsigned int proto, unsigned int id, unsigned int frag,
		  const uint8_t *opts, size_t optlen)
{
	size_t off = p->len;

	assert_int_equal(optlen % 4, 0);
	put8(p, 0x40 | (unsigned int)(5 + optlen / 4));
	put8(p, 0);
	put16(p, 0);
	put16(p, id);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	putn(p, V4_SRC, 4);
	putn(p, V4_DST, 4);
	if (optlen)
		putn(p, opts, optlen);
	return off;
}

static void ip4_done(struct pkt *p, size_t off)
{
	set16(p, off + 2, (unsigned int)(p->len - off));
}

/* 40 bytes; the payload length is written by ip6_done(). */
static size_t ip6(struct pkt *p, unsigned int nxt)
{
	size_t off = p->len;

	put32(p, 0x60000000);
	put16(p, 0);
	put8(p, nxt);
	put8(p, 33);
	putn(p, V6_SRC, 16);
	putn(p, V6_DST, 16);
	return off;
}

static void ip6_done(struct pkt *p, size_t off)
{
	set16(p, off + 4, (unsigned int)(p->len - off - 40));
}

/* Hop-by-hop or destination options: (units + 1) * 8 bytes, one PadN option. */
static void ip6_opts(struct pkt *p, unsigned int nxt, unsigned int units)
{
	put8(p, nxt);
	put8(p, units);
	put8(p, 1);                /* PadN */
	put8(p, units * 8 + 4);    /* fills the rest: 2 + 2 + units*8+4 = (units+1)*8 */
	fill(p, 0, units * 8 + 4);
}

/* Routing header: (units + 1) * 8 bytes. */
static void ip6_routing(struct pkt *p, unsigned int nxt, unsigned int units)
{
	put8(p, nxt);
	put8(p, units);
	put8(p, 4);  /* segment routing */
	put8(p, 0);  /* segments left */
	fill(p, 0, 4 + units * 8);
}

/* Fragment header: 8 bytes. */
static void ip6_frag(struct pkt *p, unsigned int nxt, unsigned int offset, int more, uint32_t id)
{
	put8(p, nxt);
	put8(p, 0);
	put16(p, offset | (more ? 1 : 0));
	put32(p, id);
}

/* AH: (len + 2) * 4 bytes; 12 fixed, the rest ICV. */
static void ip6_ah(struct pkt *p, unsigned int nxt, unsigned int len)
{
	put8(p, nxt);
	put8(p, len);
	put16(p, 0);
	put32(p, 0x1000);   /* SPI */
	put32(p, 1);        /* sequence */
	fill(p, 0xee, (len + 2) * 4 - 12);
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* 20 bytes + options (a multiple of 4). */
static void tcp(struct pkt *p, unsigned int sport, unsigned int dport, uint32_t seq, uint32_t ack,
		unsigned int flags, const uint8_t *opts, size_t optlen)
{
	assert_int_equal(optlen % 4, 0);
	put16(p, sport);
	put16(p, dport);
	put32(p, seq);
	put32(p, ack);
	put8(p, (unsigned int)((20 + optlen) / 4) << 4);
	put8(p, flags);
	put16(p, 0x7210);   /* window */
	put16(p, 0);        /* checksum */
	put16(p, 0);        /* urgent */
	if (optlen)
		putn(p, opts, optlen);
}

/* 8 bytes + n bytes of payload. */
static void udp(struct pkt *p, unsigned int sport, unsigned int dport, size_t n)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, (unsigned int)(8 + n));
	put16(p, 0);
	fill(p, 'u', n);
}

/* 8 bytes */
static void icmp(struct pkt *p, unsigned int type, unsigned int code, uint32_t rest)
{
	put8(p, type);
	put8(p, code);
	put16(p, 0);
	put32(p, rest);
}

/*
 * Parse a copy of the first caplen bytes in a buffer of exactly that size.
 * The struct is filled with junk first: the parser must rewrite all of it.
 */
static int parse_n(struct netmoon_frame *f, uint32_t linktype, const struct pkt *p,
		   uint32_t caplen, uint32_t wirelen)
{
	uint8_t *copy = NULL;
	int r;

	assert_true(caplen <= p->len);
	if (caplen) {
		copy = malloc(caplen);
		assert_non_null(copy);
		memcpy(copy, p->b, caplen);
	}
	memset(f, 0x5a, sizeof(*f));
	f->sz = sizeof(*f);
	r = netmoon_frame_parse(f, linktype, copy, caplen, wirelen);
	free(copy);
	assert_int_equal(r, f->reason);
	assert_int_equal(f->caplen, caplen);
	assert_int_equal(f->wirelen, wirelen);
	assert_int_equal(f->linktype, linktype);
	return r;
}

static int parse(struct netmoon_frame *f, uint32_t linktype, const struct pkt *p)
{
	return parse_n(f, linktype, p, (uint32_t)p->len, (uint32_t)p->len);
}

static void assert_v4_addrs(const struct netmoon_frame *f)
{
	static const uint8_t zero[12];

	assert_memory_equal(f->src_addr, V4_SRC, 4);
	assert_memory_equal(f->dst_addr, V4_DST, 4);
	assert_memory_equal(f->src_addr + 4, zero, 12);
	assert_memory_equal(f->dst_addr + 4, zero, 12);
}

static void assert_v6_addrs(const struct netmoon_frame *f)
{
	assert_memory_equal(f->src_addr, V6_SRC, 16);
	assert_memory_equal(f->dst_addr, V6_DST, 16);
}

#define L_LINK NETMOON_FRAME_L_LINK
#define L_IP NETMOON_FRAME_L_IP
#define L_L4 NETMOON_FRAME_L_L4
#define L_OPT NETMOON_FRAME_L_TCPOPT
#define L_ALL (L_LINK | L_IP | L_L4 | L_OPT)

/* TCP options of a typical Linux SYN: 20 bytes, doff 10. */
static const uint8_t SYN_OPTS[20] = {
	2, 4, 0x05, 0xb4,                               /* MSS 1460 */
	4, 2,                                           /* SACK permitted */
	8, 10, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,      /* TS 0x01020304 / 0 */
	1,                                              /* NOP */
	3, 3, 7,                                        /* window scale 7 */
};

/* --- API edges ---------------------------------------------------------- */

static void test_reason_str(void **state)
{
	static const char *const want[] = {
		"ok", "linktype", "trunc-link", "trunc-vlan", "vlan-depth", "not-ip",
		"trunc-ip", "bad-ip-version", "bad-ihl", "bad-ip-len", "fragment",
		"trunc-exthdr", "exthdr-chain", "trunc-l4", "bad-tcp-doff", "bad-tcp-opts",
		"bad-udp-len", "bad-args",
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), NETMOON_FRAME_R__COUNT);
	for (int i = 0; i < NETMOON_FRAME_R__COUNT; i++)
		assert_string_equal(netmoon_frame_reason_str(i), want[i]);
	assert_string_equal(netmoon_frame_reason_str(-1), "unknown");
	assert_string_equal(netmoon_frame_reason_str(NETMOON_FRAME_R__COUNT), "unknown");
	assert_string_equal(netmoon_frame_reason_str(-EINVAL), "unknown");
	assert_string_equal(netmoon_frame_reason_str(1 << 20), "unknown");
}

static void test_bad_args(void **state)
{
	struct netmoon_frame f;
	uint8_t byte = 0x45;

	(void)state;
	assert_int_equal(netmoon_frame_parse(NULL, NETMOON_LINKTYPE_ETHERNET, &byte, 1, 1), -EINVAL);

	/* An older, smaller struct: refused, and not written. */
	memset(&f, 0x5a, sizeof(f));
	f.sz = sizeof(f) - 1;
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, &byte, 1, 1), -EINVAL);
	assert_int_equal(f.sz, sizeof(f) - 1);
	assert_int_equal(f.caplen, 0x5a5a5a5a);
	f.sz = 0;
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, &byte, 1, 1), -EINVAL);

	memset(&f, 0x5a, sizeof(f));
	f.sz = sizeof(f);
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, NULL, 14, 60),
			 NETMOON_FRAME_R_BAD_ARGS);
	assert_int_equal(f.reason, NETMOON_FRAME_R_BAD_ARGS);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
	assert_int_equal(f.caplen, 14);
	assert_int_equal(f.wirelen, 60);

	/* NULL with nothing captured is just an empty capture. */
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, NULL, 0, 60),
			 NETMOON_FRAME_R_TRUNC_LINK);
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_RAW, NULL, 0, 0),
			 NETMOON_FRAME_R_TRUNC_IP);
	assert_int_equal(netmoon_frame_parse(&f, 9999, NULL, 0, 0), NETMOON_FRAME_R_LINKTYPE);
}

/* Every member is rewritten, and a newer caller's unknown tail is zeroed. */
static void test_struct_rewritten(void **state)
{
	const size_t extra = 24;
	struct pkt p = { .len = 0 };
	struct netmoon_frame *f;
	uint8_t *raw;
	uint8_t tail[24];

	(void)state;
	eth(&p, 0x0806);
	fill(&p, 0, 28);

	raw = malloc(sizeof(*f) + extra);
	assert_non_null(raw);
	memset(raw, 0xa5, sizeof(*f) + extra);
	f = (struct netmoon_frame *)(void *)raw;
	f->sz = sizeof(*f) + extra;
	assert_int_equal(netmoon_frame_parse(f, NETMOON_LINKTYPE_ETHERNET, p.b, (uint32_t)p.len,
					     (uint32_t)p.len),
			 NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f->sz, sizeof(*f) + extra);
	assert_int_equal(f->layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	assert_int_equal(f->ethertype, 0x0806);
	assert_int_equal(f->vlan_count, 0);
	assert_int_equal(f->vlan_ids[3], 0);
	assert_int_equal(f->ip_version, 0);
	assert_int_equal(f->src_addr[15], 0);
	assert_int_equal(f->tcp_sack[3][1], 0);
	assert_int_equal(f->tcp_ts_ecr, 0);
	memset(tail, 0, sizeof(tail));
	assert_memory_equal(raw + sizeof(*f), tail, extra);
	free(raw);
}

static void test_unknown_linktype(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };

	(void)state;
	eth(&p, 0x0800);
	fill(&p, 0, 40);
	assert_int_equal(parse(&f, 105 /* 802.11 */, &p), NETMOON_FRAME_R_LINKTYPE);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
	/* The pcap header's FCS bits are the reader's to strip, not ours. */
	assert_int_equal(parse(&f, 0x30000001, &p), NETMOON_FRAME_R_LINKTYPE);
}

/* caplen > wirelen (seen in files): the captured bytes are used. */
static void test_caplen_above_wirelen(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 1000, 53, 12);
	ip4_done(&p, ip); /* total 40; frame 54 */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54, 30), NETMOON_FRAME_OK);
	assert_int_equal(f.wirelen, 30);
	assert_int_equal(f.ip_len, 40);
	assert_int_equal(f.payload_len, 12);
}

/* --- Ethernet, tags, LLC ---------------------------------------------- */

static void test_eth_ipv4_tcp_syn(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 0xbeef, 0x4000 /* DF */, NULL, 0);
	tcp(&p, 40000, 443, 0xdeadbeef, 0, TH_SYN, SYN_OPTS, sizeof(SYN_OPTS));
	fill(&p, 'x', 5);
	ip4_done(&p, ip);

	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.ethertype, 0x0800);
	assert_int_equal(f.vlan_count, 0);
	assert_int_equal(f.ip_version, 4);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(f.ip_ttl, 64);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_DONT_FRAG);
	assert_v4_addrs(&f);
	assert_int_equal(f.l3_offset, 14);
	assert_int_equal(f.ip_hdr_len, 20);
	assert_int_equal(f.ip_len, 20 + 40 + 5);
	assert_int_equal(f.frag_id, 0xbeef);
	assert_int_equal(f.frag_offset, 0);
	assert_int_equal(f.l4_offset, 34);
	assert_int_equal(f.payload_offset, 34 + 40);
	assert_int_equal(f.payload_len, 5);
	assert_int_equal(f.src_port, 40000);
	assert_int_equal(f.dst_port, 443);
	assert_int_equal(f.tcp_seq, 0xdeadbeef);
	assert_int_equal(f.tcp_ack, 0);
	assert_int_equal(f.tcp_flags, NETMOON_TCP_SYN);
	assert_int_equal(f.tcp_window, 0x7210);
	assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_MSS | NETMOON_TCPOPT_F_SACK_PERM |
						    NETMOON_TCPOPT_F_TIMESTAMP | NETMOON_TCPOPT_F_WSCALE);
	assert_int_equal(f.tcp_mss, 1460);
	assert_int_equal(f.tcp_wscale, 7);
	assert_int_equal(f.tcp_ts_val, 0x01020304);
	assert_int_equal(f.tcp_ts_ecr, 0);
	assert_int_equal(f.tcp_sack_count, 0);
	assert_int_equal(f.icmp_type, 0);
	assert_int_equal(f.sll_pkttype, 0);
}

static void test_tcp_sack(void **state)
{
	static const uint8_t opts[] = {
		1, 1, 5, 34,                    /* NOP NOP SACK, 4 blocks */
		0, 0, 0, 1, 0, 0, 0, 2,
		0, 0, 0, 3, 0, 0, 0, 4,
		0, 0, 0, 5, 0, 0, 0, 6,
		0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x10,
	};
	static const uint8_t opts2[] = {
		1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0,   /* NOP NOP TS 256 / 512 */
		1, 1, 5, 18,                           /* NOP NOP SACK, 2 blocks */
		0x80, 0, 0, 0, 0x80, 0, 0x10, 0,
		0x90, 0, 0, 0, 0x90, 0, 0x20, 0,
	};
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 80, 50000, 1, 2, TH_ACK, opts, sizeof(opts));
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_SACK);
	assert_int_equal(f.tcp_sack_count, 4);
	assert_int_equal(f.tcp_sack[0][0], 1);
	assert_int_equal(f.tcp_sack[0][1], 2);
	assert_int_equal(f.tcp_sack[1][0], 3);
	assert_int_equal(f.tcp_sack[2][1], 6);
	assert_int_equal(f.tcp_sack[3][0], 0xfffffff0u);
	assert_int_equal(f.tcp_sack[3][1], 0x10);
	assert_int_equal(f.payload_len, 0);
	assert_int_equal(f.payload_offset, 34 + 56);

	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 80, 50000, 1, 2, TH_ACK, opts2, sizeof(opts2));
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_SACK | NETMOON_TCPOPT_F_TIMESTAMP);
	assert_int_equal(f.tcp_ts_val, 256);
	assert_int_equal(f.tcp_ts_ecr, 512);
	assert_int_equal(f.tcp_sack_count, 2);
	assert_int_equal(f.tcp_sack[1][0], 0x90000000u);
	assert_int_equal(f.tcp_sack[1][1], 0x90002000u);
	assert_int_equal(f.tcp_sack[2][0], 0);
}

/* NOP NOP TS, the options of almost every established-connection segment. */
static void test_tcp_timestamp_only(void **state)
{
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 22, 40000, 5, 6, TH_ACK, opts, sizeof(opts));
	fill(&p, 's', 48);
	ip4_done(&p, ip);
	/* options at 54..65 */
	for (uint32_t cl = 54; cl <= p.len; cl++) {
		int r = parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, cl, (uint32_t)p.len);

		assert_int_equal(f.payload_len, 48);
		assert_int_equal(f.payload_offset, 66);
		if (cl < 66) {
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_L4);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
			assert_int_equal(f.tcp_opt_present, 0);
		} else {
			assert_int_equal(r, NETMOON_FRAME_OK);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
			assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_TIMESTAMP);
			assert_int_equal(f.tcp_ts_val, 0x11223344);
			assert_int_equal(f.tcp_ts_ecr, 0x55667788);
		}
	}
	/* the same 12 bytes with a timestamp of the wrong length */
	p.b[57] = 9;
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_OPTS);
	assert_int_equal(f.tcp_opt_present, 0);
}

/* EOL ends the list: the padding after it may hold anything. */
static void test_tcp_options_eol(void **state)
{
	static const uint8_t opts[] = { 2, 4, 0x02, 0x18, 0, 0xff, 0x01, 0x99 };
	static const uint8_t unknown[] = { 30, 6, 1, 2, 3, 4, 253, 2 }; /* MPTCP, experimental */
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_SYN, opts, sizeof(opts));
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_MSS);
	assert_int_equal(f.tcp_mss, 536);

	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_SYN, unknown, sizeof(unknown));
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.tcp_opt_present, 0);
}

static void test_tcp_bad_options(void **state)
{
	static const struct {
		uint8_t o[12];
		const char *what;
	} cases[] = {
		{ { 30, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "length 1" },
		{ { 30, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "length 0" },
		{ { 1, 1, 30, 11, 1, 1, 1, 1, 1, 1, 1, 1 }, "runs past the area" },
		{ { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2 }, "kind in the last byte" },
		{ { 2, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "MSS length 3" },
		{ { 2, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "MSS length 5" },
		{ { 3, 4, 7, 0, 1, 1, 1, 1, 1, 1, 1, 1 }, "window scale length 4" },
		{ { 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "window scale length 2" },
		{ { 4, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "SACK permitted length 3" },
		{ { 8, 8, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1 }, "timestamp length 8" },
		{ { 8, 11, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 }, "timestamp length 11" },
		{ { 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "SACK without blocks" },
		{ { 5, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1 }, "SACK length 9" },
		{ { 5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, "SACK length 12" },
	};
	struct netmoon_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = { .len = 0 };
		size_t ip;

		eth(&p, 0x0800);
		ip = ip4(&p, 6, 1, 0, NULL, 0);
		tcp(&p, 1234, 80, 100, 200, TH_ACK | TH_PSH, cases[i].o, sizeof(cases[i].o));
		fill(&p, 'd', 3);
		ip4_done(&p, ip);
		/* The case index rides along so that a failure names the case. */
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p) * 100 + (int)i,
				 NETMOON_FRAME_R_BAD_TCP_OPTS * 100 + (int)i);
		/* The fixed header is fine: everything but the options stands. */
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
		assert_int_equal(f.src_port, 1234);
		assert_int_equal(f.dst_port, 80);
		assert_int_equal(f.tcp_seq, 100);
		assert_int_equal(f.tcp_ack, 200);
		assert_int_equal(f.tcp_flags, NETMOON_TCP_ACK | NETMOON_TCP_PSH);
		assert_int_equal(f.payload_offset, 34 + 32);
		assert_int_equal(f.payload_len, 3);
	}
}

/* Options decoded before the malformed one are kept. */
static void test_tcp_bad_options_keep_earlier(void **state)
{
	static const uint8_t opts[] = { 2, 4, 0x23, 0x28, 3, 3, 9, 8, 9, 0, 0, 0 };
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_SYN, opts, sizeof(opts));
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_OPTS);
	assert_int_equal(f.tcp_opt_present, NETMOON_TCPOPT_F_MSS | NETMOON_TCPOPT_F_WSCALE);
	assert_int_equal(f.tcp_mss, 9000);
	assert_int_equal(f.tcp_wscale, 9);
	assert_int_equal(f.tcp_ts_val, 0);
}

static void test_tcp_bad_doff(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/* data offset 4 (16 bytes) */
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 5555, 80, 1, 2, TH_ACK, NULL, 0);
	p.b[34 + 12] = 0x40;
	fill(&p, 'd', 10);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_DOFF);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.src_port, 5555);
	assert_int_equal(f.dst_port, 80);

	/* data offset 0 */
	p.b[34 + 12] = 0x00;
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_DOFF);

	/* data offset 15 (60 bytes) in a 30-byte segment, captured in full */
	p.b[34 + 12] = 0xf0;
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_DOFF);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);

	/* data offset 8 (32 bytes) with a 30-byte segment, even if trailer bytes follow */
	p.b[34 + 12] = 0x80;
	fill(&p, 1, 10); /* not part of the IP packet: total length still says 50 */
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_TCP_DOFF);

	/* data offset 7 (28 bytes) fits the 30-byte segment: options are NOPs */
	p.b[34 + 12] = 0x70;
	memset(p.b + 34 + 20, 1, 8);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.payload_len, 2);
}

/* Segments too short for a TCP header, complete or cut by the capture. */
static void test_tcp_short_segments(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/*
	 * A 2-byte TCP segment, Ethernet-padded to 60 bytes with bytes that
	 * would read as ports 0x1111 and a full header: the padding is not TCP.
	 */
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	put16(&p, 7777);
	ip4_done(&p, ip); /* total length 22 */
	fill(&p, 0x11, 60 - p.len);
	assert_int_equal(p.len, 60);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_len, 22);
	assert_int_equal(f.l4_offset, 34);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(f.dst_port, 0);
	assert_false(f.layers & NETMOON_FRAME_L_PORTS);

	/* 4 bytes: the ports are there (filled without L_L4), the rest is not. */
	set16(&p, 36, 8888);
	set16(&p, 16, 24);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.src_port, 7777);
	assert_int_equal(f.dst_port, 8888);
	assert_int_equal(f.tcp_flags, 0);
	assert_int_equal(f.layers, L_LINK | L_IP | NETMOON_FRAME_L_PORTS);

	/* A whole segment on the wire, but the capture ends 2 bytes into TCP. */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 7777, 8888, 1, 2, TH_ACK, NULL, 0);
	ip4_done(&p, ip);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 36, 54),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 38, 54),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.src_port, 7777);
	assert_int_equal(f.dst_port, 8888);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 53, 54),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54, 54), NETMOON_FRAME_OK);
	assert_int_equal(f.layers, L_ALL | NETMOON_FRAME_L_PORTS);
}

/*
 * Every caplen from 0 to the whole frame: Ethernet + 802.1Q + IPv4 with
 * options + TCP with options + payload.  Layout:
 *   0  Ethernet (14)      14 tag (4)      18 IPv4 (24: 4 bytes of options)
 *   42 TCP (40: 20 of options)    82 payload (10)    92 end
 */
static void test_truncation_sweep_ipv4(void **state)
{
	static const uint8_t ipopts[4] = { 1, 1, 1, 0 }; /* NOP NOP NOP EOL */
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x8100);
	vlan_tag(&p, 0x2000 | 42, 0x0800);
	ip = ip4(&p, 6, 77, 0, ipopts, sizeof(ipopts));
	tcp(&p, 4444, 5555, 1000, 2000, TH_ACK | TH_PSH, SYN_OPTS, sizeof(SYN_OPTS));
	fill(&p, 'p', 10);
	ip4_done(&p, ip);
	assert_int_equal(p.len, 92);

	for (uint32_t cl = 0; cl <= p.len; cl++) {
		int r = parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, cl, (uint32_t)p.len);

		if (cl < 14) {
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_LINK);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
		} else if (cl < 18) {
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_VLAN);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
		} else if (cl < 42) {
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_IP);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
			assert_int_equal(f.vlan_count, 1);
			assert_int_equal(f.vlan_ids[0], 42);
			assert_int_equal(f.l3_offset, 18);
		} else if (cl < 62) {
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_L4);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
			assert_int_equal(f.ip_hdr_len, 24);
			assert_int_equal(f.l4_offset, 42);
			assert_v4_addrs(&f);
			assert_int_equal(f.src_port, cl >= 46 ? 4444 : 0);
		} else if (cl < 82) {
			/* Inside the options: the fixed header stands, options do not. */
			assert_int_equal(r, NETMOON_FRAME_R_TRUNC_L4);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
			assert_int_equal(f.tcp_seq, 1000);
			assert_int_equal(f.payload_len, 10);
			assert_int_equal(!!(f.tcp_opt_present & NETMOON_TCPOPT_F_MSS), cl >= 66);
			assert_int_equal(!!(f.tcp_opt_present & NETMOON_TCPOPT_F_TIMESTAMP),
					 cl >= 78);
		} else {
			assert_int_equal(r, NETMOON_FRAME_OK);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
			assert_int_equal(f.payload_offset, 82);
			assert_int_equal(f.payload_len, 10);
			assert_int_equal(f.tcp_wscale, 7);
		}
	}
}

/*
 * The same over IPv6 with a chain, and over every link type: nothing may
 * read past caplen (ASan, valgrind), and only the complete headers are OK.
 */
static void sweep(uint32_t linktype, const struct pkt *p, uint32_t hdr_end)
{
	struct netmoon_frame f;

	for (uint32_t cl = 0; cl <= p->len; cl++) {
		int r = parse_n(&f, linktype, p, cl, (uint32_t)p->len);

		assert_true(r >= 0 && r < NETMOON_FRAME_R__COUNT);
		assert_int_not_equal(r, NETMOON_FRAME_R_BAD_ARGS);
		if (cl < hdr_end)
			assert_int_not_equal(r, NETMOON_FRAME_OK);
		else
			assert_int_equal(r, NETMOON_FRAME_OK);
	}
}

static void test_truncation_sweep_all(void **state)
{
	struct pkt p;
	size_t ip;

	(void)state;
	/* Ethernet, IPv6 + HBH(8) + dest opts(16) + fragment(8, first) + UDP */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 0);
	ip6_opts(&p, 60, 0);
	ip6_opts(&p, 44, 1);
	ip6_frag(&p, 17, 0, 1, 0x01020304);
	udp(&p, 53, 53, 20);
	ip6_done(&p, ip);
	sweep(NETMOON_LINKTYPE_ETHERNET, &p, 14 + 40 + 32 + 8);

	/* SLL, IPv4 TCP */
	p.len = 0;
	sll(&p, 0, 1, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_SYN, SYN_OPTS, sizeof(SYN_OPTS));
	ip4_done(&p, ip);
	sweep(NETMOON_LINKTYPE_LINUX_SLL, &p, (uint32_t)p.len);

	/* SLL2, 802.1Q, IPv6 ICMPv6 echo */
	p.len = 0;
	sll2(&p, 0x8100, 3, 1, 4);
	vlan_tag(&p, 7, 0x86dd);
	ip = ip6(&p, 58);
	icmp(&p, 128, 0, 0x00420001);
	fill(&p, 0, 8);
	ip6_done(&p, ip);
	sweep(NETMOON_LINKTYPE_LINUX_SLL2, &p, 20 + 4 + 40 + 8);

	/* NULL, IPv4 ICMP */
	p.len = 0;
	put32(&p, 0x02000000); /* AF_INET, little-endian host */
	ip = ip4(&p, 1, 1, 0, NULL, 0);
	icmp(&p, 8, 0, 0x12340001);
	ip4_done(&p, ip);
	sweep(NETMOON_LINKTYPE_NULL, &p, (uint32_t)p.len);

	/* raw, IPv6 TCP behind AH */
	p.len = 0;
	ip = ip6(&p, 51);
	ip6_ah(&p, 6, 4);
	tcp(&p, 1, 2, 3, 4, TH_SYN, SYN_OPTS, sizeof(SYN_OPTS));
	ip6_done(&p, ip);
	sweep(NETMOON_LINKTYPE_RAW, &p, (uint32_t)p.len);

	/* Ethernet, LLC/SNAP, IPv4 UDP */
	p.len = 0;
	eth(&p, 0);
	put8(&p, 0xaa);
	put8(&p, 0xaa);
	put8(&p, 0x03);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 1, 2, 4);
	ip4_done(&p, ip);
	set16(&p, 12, (unsigned int)(p.len - 14));
	sweep(NETMOON_LINKTYPE_ETHERNET, &p, 14 + 8 + 20 + 8);
}

static void test_vlan_qinq(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x88a8);
	vlan_tag(&p, 0xe000 | 100, 0x8100);   /* PCP 7 must not leak into the ID */
	vlan_tag(&p, 0x1000 | 4095, 0x0800);  /* DEI set */
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 5353, 5353, 0);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
	assert_int_equal(f.vlan_count, 2);
	assert_int_equal(f.vlan_ids[0], 100);
	assert_int_equal(f.vlan_tpids[0], 0x88a8);
	assert_int_equal(f.vlan_ids[1], 4095);
	assert_int_equal(f.vlan_tpids[1], 0x8100);
	assert_int_equal(f.vlan_ids[2], 0);
	assert_int_equal(f.ethertype, 0x0800);
	assert_int_equal(f.l3_offset, 22);
	assert_int_equal(f.l4_offset, 42);
	assert_int_equal(f.payload_len, 0);
}

/* Tags beyond what is stored are walked and counted; beyond 8 we give up. */
static void test_vlan_many(void **state)
{
	static const unsigned int tpids[9] = {
		0x88a8, 0x9100, 0x9200, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100,
	};
	struct netmoon_frame f;

	(void)state;
	for (unsigned int n = 1; n <= 9; n++) {
		struct pkt p = { .len = 0 };
		size_t ip;

		eth(&p, tpids[0]);
		for (unsigned int i = 0; i < n; i++)
			vlan_tag(&p, 10 + i, i + 1 < n ? tpids[i + 1] : 0x86dd);
		ip = ip6(&p, 59);
		ip6_done(&p, ip);
		if (n <= 8) {
			assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
			assert_int_equal(f.vlan_count, n);
			assert_int_equal(f.l3_offset, 14 + 4 * n);
			assert_int_equal(f.ethertype, 0x86dd);
			assert_int_equal(f.ip_proto, 59);
		} else {
			assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p),
					 NETMOON_FRAME_R_VLAN_DEPTH);
			assert_int_equal(f.vlan_count, 8);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
		}
		for (unsigned int i = 0; i < 4; i++) {
			assert_int_equal(f.vlan_ids[i], i < n ? 10 + i : 0);
			assert_int_equal(f.vlan_tpids[i], i < n ? tpids[i] : 0);
		}
	}
}

static void test_vlan_truncated(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };

	(void)state;
	eth(&p, 0x8100);
	vlan_tag(&p, 5, 0x88a8);
	vlan_tag(&p, 6, 0x0800);
	fill(&p, 0, 20);
	/* second tag cut after its TCI */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 20, 60),
			 NETMOON_FRAME_R_TRUNC_VLAN);
	assert_int_equal(f.vlan_count, 1);
	assert_int_equal(f.vlan_ids[0], 5);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
	/* both tags complete, the IP header not */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 22, 60),
			 NETMOON_FRAME_R_TRUNC_IP);
	assert_int_equal(f.vlan_count, 2);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
}

static void test_not_ip_and_llc(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/* ARP */
	eth(&p, 0x0806);
	fill(&p, 0, 46);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	assert_int_equal(f.ethertype, 0x0806);

	/* ARP in a tag */
	p.len = 0;
	eth(&p, 0x8100);
	vlan_tag(&p, 9, 0x0806);
	fill(&p, 0, 46);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.ethertype, 0x0806);
	assert_int_equal(f.vlan_count, 1);

	/* 802.3 + LLC, spanning tree: no ethertype at all */
	p.len = 0;
	eth(&p, 38);
	put8(&p, 0x42);
	put8(&p, 0x42);
	put8(&p, 0x03);
	fill(&p, 0, 35);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	assert_int_equal(f.ethertype, 0);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 16, 60),
			 NETMOON_FRAME_R_TRUNC_LINK);

	/* SNAP with Cisco's OUI (CDP): not an encapsulated ethertype */
	p.len = 0;
	eth(&p, 100);
	put8(&p, 0xaa);
	put8(&p, 0xaa);
	put8(&p, 0x03);
	put8(&p, 0x00);
	put8(&p, 0x00);
	put8(&p, 0x0c);
	put16(&p, 0x2000);
	fill(&p, 0, 40);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);

	/* SNAP RFC 1042 carrying IPv4; then cut inside the SNAP header */
	p.len = 0;
	eth(&p, 0);
	put8(&p, 0xaa);
	put8(&p, 0xaa);
	put8(&p, 0x03);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 67, 68, 4);
	ip4_done(&p, ip);
	set16(&p, 12, (unsigned int)(p.len - 14));
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ethertype, 0x0800);
	assert_int_equal(f.l3_offset, 22);
	assert_int_equal(f.src_port, 67);
	assert_int_equal(f.payload_len, 4);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 20, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_LINK);

	/* Ethernet cut in its header */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 13, 64),
			 NETMOON_FRAME_R_TRUNC_LINK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
}

/* Ethernet says IPv4/IPv6 but the version nibble disagrees. */
static void test_eth_version_mismatch(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip6(&p, 59);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_VERSION);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	assert_int_equal(f.ip_version, 0);

	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 1, 2, 20);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_VERSION);
}

/* --- Linux cooked, loopback, raw --------------------------------------- */

static void test_sll(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	sll(&p, 4 /* outgoing */, 1, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 6379, 40000, 10, 20, TH_ACK | TH_PSH, NULL, 0);
	fill(&p, 'r', 7);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.sll_pkttype, 4);
	assert_int_equal(f.ethertype, 0x0800);
	assert_int_equal(f.l3_offset, 16);
	assert_int_equal(f.l4_offset, 36);
	assert_int_equal(f.payload_offset, 56);
	assert_int_equal(f.payload_len, 7);
	assert_int_equal(f.src_port, 6379);

	/* VLAN tag after the cooked header, then IPv6 */
	p.len = 0;
	sll(&p, 0, 1, 0x8100);
	vlan_tag(&p, 300, 0x86dd);
	ip = ip6(&p, 17);
	udp(&p, 547, 546, 3);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.vlan_count, 1);
	assert_int_equal(f.vlan_ids[0], 300);
	assert_int_equal(f.l3_offset, 20);
	assert_int_equal(f.l4_offset, 60);
	assert_v6_addrs(&f);

	/* protocol 0x0004: 802.2 LLC follows, here SNAP with IPv4 */
	p.len = 0;
	sll(&p, 1, 1, 0x0004);
	put8(&p, 0xaa);
	put8(&p, 0xaa);
	put8(&p, 0x03);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0x0800);
	ip = ip4(&p, 47, 1, 0, NULL, 0);
	fill(&p, 0, 4);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.sll_pkttype, 1);
	assert_int_equal(f.l3_offset, 24);
	assert_int_equal(f.ip_proto, 47);

	/* ETH_P_CAN over ARPHRD_CAN, and ARP */
	p.len = 0;
	sll(&p, 0, 280, 0x000c);
	fill(&p, 0, 16);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	set16(&p, 14, 0x0806);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL, &p), NETMOON_FRAME_R_NOT_IP);
	assert_int_equal(f.ethertype, 0x0806);

	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_LINUX_SLL, &p, 15, 32),
			 NETMOON_FRAME_R_TRUNC_LINK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, 0);
}

static void test_sll2(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	sll2(&p, 0x86dd, 2, 1, 3 /* other host */);
	ip = ip6(&p, 6);
	tcp(&p, 22, 50000, 7, 8, TH_ACK, NULL, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL2, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.sll_pkttype, 3);
	assert_int_equal(f.ethertype, 0x86dd);
	assert_int_equal(f.l3_offset, 20);
	assert_int_equal(f.ip_len, 60);
	assert_int_equal(f.ip_ttl, 33);
	assert_int_equal(f.l4_offset, 60);
	assert_int_equal(f.payload_len, 0);
	assert_v6_addrs(&f);

	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_LINUX_SLL2, &p, 19, 80),
			 NETMOON_FRAME_R_TRUNC_LINK);
	/* netlink family 0 (NETLINK_ROUTE) over ARPHRD_NETLINK */
	set16(&p, 0, 0);
	set16(&p, 8, 824);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_LINUX_SLL2, &p), NETMOON_FRAME_R_NOT_IP);
}

static void test_null(void **state)
{
	static const struct {
		uint8_t hdr[4];
		int ver;
	} cases[] = {
		{ { 2, 0, 0, 0 }, 4 },  { { 0, 0, 0, 2 }, 4 },
		{ { 10, 0, 0, 0 }, 6 }, { { 0, 0, 0, 10 }, 6 },
		{ { 24, 0, 0, 0 }, 6 }, { { 0, 0, 0, 24 }, 6 },
		{ { 28, 0, 0, 0 }, 6 }, { { 0, 0, 0, 28 }, 6 },
		{ { 30, 0, 0, 0 }, 6 }, { { 0, 0, 0, 30 }, 6 },
		{ { 7, 0, 0, 0 }, 0 },  { { 0, 0, 0, 23 }, 0 },
	};
	struct netmoon_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = { .len = 0 };
		size_t ip;

		putn(&p, cases[i].hdr, 4);
		if (cases[i].ver == 6) {
			ip = ip6(&p, 17);
			udp(&p, 1, 2, 0);
			ip6_done(&p, ip);
		} else {
			ip = ip4(&p, 17, 1, 0, NULL, 0);
			udp(&p, 1, 2, 0);
			ip4_done(&p, ip);
		}
		if (cases[i].ver) {
			assert_int_equal(parse(&f, NETMOON_LINKTYPE_NULL, &p), NETMOON_FRAME_OK);
			assert_int_equal(f.ip_version, cases[i].ver);
			assert_int_equal(f.ethertype, cases[i].ver == 4 ? 0x0800 : 0x86dd);
			assert_int_equal(f.l3_offset, 4);
			assert_int_equal(f.src_port, 1);
		} else {
			assert_int_equal(parse(&f, NETMOON_LINKTYPE_NULL, &p), NETMOON_FRAME_R_NOT_IP);
			assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
		}
		assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_NULL, &p, 3, (uint32_t)p.len),
				 NETMOON_FRAME_R_TRUNC_LINK);
	}
}

static void test_raw_linktypes(void **state)
{
	static const uint32_t raw[] = {
		NETMOON_LINKTYPE_RAW_DLT12, NETMOON_LINKTYPE_RAW_DLT14, NETMOON_LINKTYPE_RAW,
	};
	struct netmoon_frame f;
	struct pkt p4 = { .len = 0 }, p6 = { .len = 0 }, bad = { .len = 0 };
	size_t ip;

	(void)state;
	ip = ip4(&p4, 6, 1, 0, NULL, 0);
	tcp(&p4, 1, 2, 3, 4, TH_RST, NULL, 0);
	ip4_done(&p4, ip);
	ip = ip6(&p6, 6);
	tcp(&p6, 1, 2, 3, 4, TH_FIN | TH_ACK, NULL, 0);
	ip6_done(&p6, ip);
	put8(&bad, 0x55);
	fill(&bad, 0, 39);

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(parse(&f, raw[i], &p4), NETMOON_FRAME_OK);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
		assert_int_equal(f.l3_offset, 0);
		assert_int_equal(f.l4_offset, 20);
		assert_int_equal(f.ethertype, 0x0800);
		assert_int_equal(f.tcp_flags, NETMOON_TCP_RST);
		assert_int_equal(parse(&f, raw[i], &p6), NETMOON_FRAME_OK);
		assert_int_equal(f.ethertype, 0x86dd);
		assert_int_equal(f.l4_offset, 40);
		assert_int_equal(f.tcp_flags, NETMOON_TCP_FIN | NETMOON_TCP_ACK);
		assert_int_equal(parse(&f, raw[i], &bad), NETMOON_FRAME_R_BAD_IP_VERSION);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
		assert_int_equal(parse_n(&f, raw[i], &p4, 0, 40), NETMOON_FRAME_R_TRUNC_IP);
		assert_int_equal(parse_n(&f, raw[i], &p4, 1, 40), NETMOON_FRAME_R_TRUNC_IP);
	}

	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV4, &p4), NETMOON_FRAME_OK);
	assert_int_equal(f.l4_offset, 20);
	/* Like tcpdump and tshark, 228/229 go by the version nibble. */
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV4, &p6), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_version, 6);
	assert_int_equal(f.tcp_flags, NETMOON_TCP_FIN | NETMOON_TCP_ACK);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV4, &bad), NETMOON_FRAME_R_BAD_IP_VERSION);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV6, &p6), NETMOON_FRAME_OK);
	assert_int_equal(f.l4_offset, 40);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV6, &p4), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_version, 4);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_IPV6, &bad), NETMOON_FRAME_R_BAD_IP_VERSION);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_IPV6, &p6, 39, 60), NETMOON_FRAME_R_TRUNC_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
}

/* --- IPv4 --------------------------------------------------------------- */

static void test_ipv4_ihl(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 1, 2, 20);
	ip4_done(&p, ip);
	for (unsigned int ihl = 0; ihl < 5; ihl++) {
		p.b[14] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IHL);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
	}
	/* IHL 15 (60 bytes) but only 48 bytes of IP: header beyond the capture */
	p.b[14] = 0x4f;
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
}

static void test_ipv4_options(void **state)
{
	static const uint8_t opts[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 }; /* router alert, NOPs, EOL */
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 2 /* IGMP */, 1, 0, opts, sizeof(opts));
	fill(&p, 0x16, 8);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.ip_hdr_len, 28);
	assert_int_equal(f.ip_len, 36);
	assert_int_equal(f.ip_proto, 2);
	assert_int_equal(f.l4_offset, 42);
	assert_int_equal(f.payload_offset, 42);
	assert_int_equal(f.payload_len, 8);
}

static void test_ipv4_lengths(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_ACK, NULL, 0);
	fill(&p, 'z', 100);
	ip4_done(&p, ip); /* total 140, frame 154 */

	/* total length below the header */
	set16(&p, 16, 19);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_len, 19);
	assert_v4_addrs(&f);

	/*
	 * Total length beyond the wire: reported as R_BAD_IP_LEN, but decoded
	 * within the wire length as tcpdump and tshark do.
	 */
	set16(&p, 16, 141);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.layers, L_LINK | L_IP | L_L4 | L_OPT | NETMOON_FRAME_L_PORTS);
	assert_int_equal(f.ip_len, 140);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(f.src_port, 1);
	assert_int_equal(f.payload_len, 100);
	assert_v4_addrs(&f);
	/* ...unless the wire does not even hold the IP header. */
	set16(&p, 16, 2000);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 30, 30), NETMOON_FRAME_R_TRUNC_IP);
	assert_false(f.layers & L_L4);

	/* beyond the capture but within the wire (snaplen): fine */
	set16(&p, 16, 140);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 64, 154), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.ip_len, 140);
	assert_int_equal(f.payload_len, 100);
	assert_int_equal(f.payload_offset, 54);

	/* total length exactly the header: an empty TCP segment cannot hold TCP */
	set16(&p, 16, 20);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.src_port, 0);
}

/* Ethernet padding and trailers are not part of the IP packet. */
static void test_ipv4_padding(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 123, 123, 2);
	ip4_done(&p, ip); /* 14 + 30 = 44 */
	fill(&p, 0xff, 16);
	assert_int_equal(p.len, 60);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_len, 30);
	assert_int_equal(f.payload_len, 2);

	/* TCP ACK: 40 bytes of IP in a 60-byte frame (+ 4-byte FCS too) */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 1, 0, NULL, 0);
	tcp(&p, 1, 2, 3, 4, TH_ACK, NULL, 0);
	ip4_done(&p, ip);
	fill(&p, 0x01, 10);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.payload_len, 0);
	assert_int_equal(f.payload_offset, 54);

	/* UDP length beyond the IP payload, though within the padded frame */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 123, 123, 2);
	ip4_done(&p, ip);
	set16(&p, 38, 20);
	fill(&p, 0, 16);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_UDP_LEN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
	assert_int_equal(f.payload_len, 2);
}

/*
 * TSO / BIG TCP: total length 0 means "the rest of the wire frame".  The
 * layout of tcpdump's bigtcp-ipv4.pcap: 80066 bytes on the wire, TCP with a
 * 12-byte timestamp option block; here only the headers are captured.
 */
static void test_ipv4_tso(void **state)
{
	static const uint8_t ts[12] = { 1, 1, 8, 10, 0xe9, 0xb7, 0xeb, 0x15, 0xbb, 0xed, 0xeb, 0x2f };
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };

	(void)state;
	eth(&p, 0x0800);
	ip4(&p, 6, 0x2eff, 0x4000, NULL, 0);
	tcp(&p, 35871, 36425, 4155358606u, 17023525, TH_ACK | TH_PSH, ts, sizeof(ts));
	fill(&p, 'b', 20);
	assert_int_equal(p.b[16] | p.b[17], 0);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len, 80066),
			 NETMOON_FRAME_OK);
	assert_int_equal(f.ip_len, 80066 - 14);
	assert_int_equal(f.payload_len, 80066 - 14 - 20 - 32);
	assert_int_equal(f.tcp_ts_val, 3921144597u);
	assert_int_equal(f.tcp_ts_ecr, 3152931631u);

	/* Total length 0 with only a header's worth on the wire: still too short */
	p.len = 0;
	eth(&p, 0x0800);
	ip4(&p, 6, 1, 0, NULL, 0);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.ip_len, 20);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 33, 33),
			 NETMOON_FRAME_R_TRUNC_IP);
}

static void test_ipv4_fragments(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/* Non-first fragment (offset 1480 = 185 * 8) with "ports" of garbage */
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 0x4242, 0x2000 | 185, NULL, 0);
	fill(&p, 0xab, 60);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_FRAGMENT);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS);
	assert_int_equal(f.frag_id, 0x4242);
	assert_int_equal(f.frag_offset, 1480);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(f.dst_port, 0);
	assert_int_equal(f.tcp_flags, 0);
	assert_int_equal(f.l4_offset, 34);
	assert_int_equal(f.payload_offset, 34);
	assert_int_equal(f.payload_len, 60);

	/* The last fragment (MF clear) */
	set16(&p, 20, 370);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_FRAGMENT);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT);
	assert_int_equal(f.frag_offset, 2960);
	assert_int_equal(f.src_port, 0);

	/* First fragment of a 3000-byte UDP datagram: decoded from what is there */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 0x99, 0x2000, NULL, 0);
	udp(&p, 4500, 4501, 32);
	set16(&p, 38, 3000);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS);
	assert_int_equal(f.frag_offset, 0);
	assert_int_equal(f.src_port, 4500);
	assert_int_equal(f.dst_port, 4501);
	assert_int_equal(f.payload_len, 32);

	/* First fragment of TCP */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 6, 0x99, 0x2000, NULL, 0);
	tcp(&p, 80, 1025, 5, 6, TH_ACK, NULL, 0);
	fill(&p, 0, 8);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.src_port, 80);
	assert_int_equal(f.payload_len, 8);

	/* A non-first fragment that would be cut by the capture: still no ports */
	p.len = 0;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 1, NULL, 0);
	fill(&p, 0x35, 100);
	ip4_done(&p, ip);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 40, (uint32_t)p.len),
			 NETMOON_FRAME_R_FRAGMENT);
	assert_int_equal(f.frag_offset, 8);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(f.payload_len, 100);
}

/* --- IPv6 --------------------------------------------------------------- */

static void test_ipv6_exthdr_chain(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/* HBH(8) routing(24) dest(16) AH(24) TCP(20) 3 bytes of data */
	eth(&p, 0x86dd);
	ip = ip6(&p, 0);
	ip6_opts(&p, 43, 0);
	ip6_routing(&p, 60, 2);
	ip6_opts(&p, 51, 1);
	ip6_ah(&p, 6, 4);
	tcp(&p, 443, 60000, 9, 10, TH_ACK | TH_FIN, NULL, 0);
	fill(&p, 'e', 3);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_ALL);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.ip_hdr_len, 40 + 8 + 24 + 16 + 24);
	assert_int_equal(f.ip_len, 40 + 72 + 23);
	assert_int_equal(f.l4_offset, 14 + 112);
	assert_int_equal(f.payload_offset, 14 + 112 + 20);
	assert_int_equal(f.payload_len, 3);
	assert_int_equal(f.src_port, 443);

	/* Mobility header (135) with its "no next header" */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 135);
	ip6_opts(&p, 59, 1);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_proto, 59);
	assert_int_equal(f.ip_hdr_len, 56);
	assert_int_equal(f.payload_len, 0);

	/* Hop-by-hop that is not first: walked all the same */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 60);
	ip6_opts(&p, 0, 0);
	ip6_opts(&p, 17, 0);
	udp(&p, 9, 9, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_proto, 17);
	assert_int_equal(f.ip_hdr_len, 56);
	assert_int_equal(f.src_port, 9);
}

static void test_ipv6_no_next_header(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x86dd);
	ip = ip6(&p, 59);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_proto, 59);
	assert_int_equal(f.ip_len, 40);
	assert_int_equal(f.payload_len, 0);

	/* ESP is a protocol, not a header to walk */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 50);
	fill(&p, 0xe5, 24);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_proto, 50);
	assert_int_equal(f.ip_flags, 0);
	assert_int_equal(f.payload_offset, 54);
	assert_int_equal(f.payload_len, 24);
}

static void test_ipv6_exthdr_limits(void **state)
{
	struct netmoon_frame f;
	struct pkt p;
	size_t ip;

	(void)state;
	/* 100 destination options headers: a loop in all but name */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 60);
	for (int i = 0; i < 100; i++)
		ip6_opts(&p, i < 99 ? 60 : 6, 0);
	tcp(&p, 1, 2, 3, 4, TH_SYN, NULL, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_EXTHDR_CHAIN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.src_port, 0);

	/* exactly NETMOON_FRAME_MAX_EXTHDRS (16) is fine, one more is not */
	for (int n = 16; n <= 17; n++) {
		p.len = 0;
		eth(&p, 0x86dd);
		ip = ip6(&p, 60);
		for (int i = 0; i < n; i++)
			ip6_opts(&p, i < n - 1 ? 60 : 17, 0);
		udp(&p, 1, 2, 0);
		ip6_done(&p, ip);
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p),
				 n == 16 ? NETMOON_FRAME_OK : NETMOON_FRAME_R_EXTHDR_CHAIN);
		if (n == 16)
			assert_int_equal(f.ip_hdr_len, 40 + 16 * 8);
	}

	/* a header whose length runs past the payload length */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 60);
	ip6_opts(&p, 6, 1);          /* 16 bytes */
	ip6_done(&p, ip);
	set16(&p, 18, 8);            /* payload length says 8 */
	fill(&p, 0, 20);             /* what follows on the wire is not IPv6's */
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_EXTHDR_CHAIN);

	/* payload ends right after a header that promises another */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 0);
	ip6_opts(&p, 60, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_EXTHDR_CHAIN);

	/* payload ends right after the chain, which says TCP: no room for it */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 0);
	ip6_opts(&p, 6, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.ip_proto, 6);

	/* a header cut by the capture (but inside the payload length) */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 43);
	ip6_routing(&p, 6, 2);      /* 24 bytes */
	tcp(&p, 1, 2, 3, 4, TH_ACK, NULL, 0);
	ip6_done(&p, ip);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54 + 1, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_EXTHDR);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54 + 20, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_EXTHDR);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54 + 24, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_hdr_len, 64);
}

static void test_ipv6_fragments(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	/* non-first (offset 1232), M set, garbage where ports would be */
	eth(&p, 0x86dd);
	ip = ip6(&p, 44);
	ip6_frag(&p, 17, 1232, 1, 0xfedcba98);
	fill(&p, 0xcd, 64);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_FRAGMENT);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS |
					     NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.frag_id, 0xfedcba98u);
	assert_int_equal(f.frag_offset, 1232);
	assert_int_equal(f.ip_proto, 17);
	assert_int_equal(f.ip_hdr_len, 48);
	assert_int_equal(f.ip_len, 40 + 8 + 64);
	assert_int_equal(f.l4_offset, 62);
	assert_int_equal(f.payload_offset, 62);
	assert_int_equal(f.payload_len, 64);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(f.dst_port, 0);

	/* last fragment behind a destination options header */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 60);
	ip6_opts(&p, 44, 0);
	ip6_frag(&p, 6, 8, 0, 7);
	fill(&p, 0xcd, 30);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_FRAGMENT);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.frag_offset, 8);
	assert_int_equal(f.ip_proto, 6);
	assert_int_equal(f.ip_hdr_len, 56);
	assert_int_equal(f.l4_offset, 70);
	assert_int_equal(f.payload_len, 30);
	assert_int_equal(f.tcp_flags, 0);

	/* first fragment of a 2000-byte DNS answer: UDP decoded */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 44);
	ip6_frag(&p, 17, 0, 1, 0x11);
	udp(&p, 53, 51851, 100);
	set16(&p, 62 + 4, 2000);
	ip6_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_FRAGMENT | NETMOON_FRAME_IP_F_MORE_FRAGS |
					     NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.frag_id, 0x11);
	assert_int_equal(f.src_port, 53);
	assert_int_equal(f.dst_port, 51851);
	assert_int_equal(f.payload_len, 100);

	/* atomic fragment (offset 0, M clear): a whole packet */
	p.b[14 + 40 + 3] = 0;
	set16(&p, 62 + 4, 108);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_flags, NETMOON_FRAME_IP_F_OPTIONS);
	assert_int_equal(f.frag_id, 0x11);
	assert_int_equal(f.payload_len, 100);

	/* fragment header cut by the capture */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 14 + 40 + 7, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_EXTHDR);
}

static void test_ipv6_lengths(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x86dd);
	ip = ip6(&p, 6);
	tcp(&p, 1, 2, 3, 4, TH_ACK, NULL, 0);
	fill(&p, 'q', 30);
	ip6_done(&p, ip); /* payload length 50, frame 104 */

	/* payload length beyond the wire */
	set16(&p, 18, 51);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_len, 91);
	assert_v6_addrs(&f);
	assert_int_equal(f.src_port, 0);

	/* beyond the capture only */
	set16(&p, 18, 50);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 74, 104), NETMOON_FRAME_OK);
	assert_int_equal(f.payload_len, 30);

	/* shorter than the frame: the rest is a trailer */
	set16(&p, 18, 25);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.ip_len, 65);
	assert_int_equal(f.payload_len, 5);

	/* 0 with TCP next and no jumbo option: malformed (Wireshark 4.0 agrees) */
	set16(&p, 18, 0);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_len, 40);

	/* header cut */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 53, 104),
			 NETMOON_FRAME_R_TRUNC_IP);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK);
}

/* RFC 2675 jumbogram: payload length 0, the real one in hop-by-hop. */
static void test_ipv6_jumbo(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;
	const uint32_t jumbo = 70000;

	(void)state;
	eth(&p, 0x86dd);
	ip = ip6(&p, 0);
	put8(&p, 17);   /* HBH: next UDP, 8 bytes */
	put8(&p, 0);
	put8(&p, 0xc2); /* jumbo payload */
	put8(&p, 4);
	put32(&p, jumbo);
	udp(&p, 7000, 7001, 32);
	set16(&p, 62 + 4, 0);   /* a jumbo UDP length is 0 */
	(void)ip;
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len,
				 14 + 40 + jumbo),
			 NETMOON_FRAME_OK);
	assert_int_equal(f.ip_len, 40 + jumbo);
	assert_int_equal(f.ip_hdr_len, 48);
	assert_int_equal(f.ip_proto, 17);
	assert_int_equal(f.src_port, 7000);
	assert_int_equal(f.payload_len, jumbo - 8 - 8);

	/* the wire is one byte short of the jumbo length */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len,
				 14 + 40 + jumbo - 1),
			 NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);

	/* a 32-bit jumbo length must not wrap ip_len around */
	p.b[58] = p.b[59] = p.b[60] = p.b[61] = 0xff;
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len, UINT32_MAX),
			 NETMOON_FRAME_R_BAD_IP_LEN);
	assert_int_equal(f.ip_len, UINT32_MAX);

	/* jumbo length below 65536 is malformed */
	p.b[58] = 0;
	p.b[59] = 0;
	p.b[60] = 0x01;
	p.b[61] = 0x00;
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len, 100000),
			 NETMOON_FRAME_R_BAD_IP_LEN);

	/* hop-by-hop without the option */
	p.b[56] = 1;   /* PadN of 4 */
	p.b[57] = 4;
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, (uint32_t)p.len, 100000),
			 NETMOON_FRAME_R_BAD_IP_LEN);

	/* hop-by-hop cut by the capture */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 60, 100000),
			 NETMOON_FRAME_R_TRUNC_EXTHDR);
}

/* --- UDP, ICMP, other ---------------------------------------------------- */

static void test_udp(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 17, 1, 0, NULL, 0);
	udp(&p, 33333, 53, 17);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
	assert_int_equal(f.src_port, 33333);
	assert_int_equal(f.dst_port, 53);
	assert_int_equal(f.l4_offset, 34);
	assert_int_equal(f.payload_offset, 42);
	assert_int_equal(f.payload_len, 17);
	assert_int_equal(f.tcp_flags, 0);

	/* UDP length shorter than the IP payload: the rest is not UDP's */
	set16(&p, 38, 8 + 10);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.payload_len, 10);

	/* below 8, and beyond the IP payload: ports stand */
	for (unsigned int bad = 0; bad < 8; bad++) {
		set16(&p, 38, bad);
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p),
				 NETMOON_FRAME_R_BAD_UDP_LEN);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
		assert_int_equal(f.src_port, 33333);
		assert_int_equal(f.payload_len, 17);
	}
	set16(&p, 38, 8 + 18);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_BAD_UDP_LEN);
	assert_int_equal(f.dst_port, 53);
	assert_int_equal(f.payload_len, 17);

	/* header cut: 6 bytes (ports only), 3 bytes (nothing) */
	set16(&p, 38, 8 + 17);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 40, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.src_port, 33333);
	assert_int_equal(f.dst_port, 53);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 37, (uint32_t)p.len),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.src_port, 0);
	/* header whole, payload cut: fine */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 42, (uint32_t)p.len),
			 NETMOON_FRAME_OK);
	assert_int_equal(f.payload_len, 17);
}

static void test_icmp(void **state)
{
	static const struct {
		unsigned int type;
		int has_id;
	} types[] = {
		{ 0, 1 }, { 8, 1 }, { 13, 1 }, { 14, 1 }, { 15, 1 }, { 16, 1 }, { 17, 1 }, { 18, 1 },
		{ 3, 0 }, { 5, 0 }, { 11, 0 }, { 9, 0 }, { 200, 0 },
	};
	struct netmoon_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct pkt p = { .len = 0 };
		size_t ip;

		eth(&p, 0x0800);
		ip = ip4(&p, 1, 1, 0, NULL, 0);
		icmp(&p, types[i].type, 1, 0xabcd0007);
		fill(&p, 0, 12);
		ip4_done(&p, ip);
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
		assert_int_equal(f.icmp_type, types[i].type);
		assert_int_equal(f.icmp_code, 1);
		assert_int_equal(f.icmp_id, types[i].has_id ? 0xabcd : 0);
		assert_int_equal(f.payload_offset, 42);
		assert_int_equal(f.payload_len, 12);
	}
}

/* An ICMP error's quoted header stays payload: its ports are not ours. */
static void test_icmp_error_not_decoded(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip, inner;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 1, 1, 0, NULL, 0);
	icmp(&p, 3, 3, 0);
	inner = ip4(&p, 17, 2, 0, NULL, 0);
	udp(&p, 61011, 53, 0);
	ip4_done(&p, inner);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.icmp_type, 3);
	assert_int_equal(f.icmp_code, 3);
	assert_int_equal(f.icmp_id, 0);
	assert_int_equal(f.ip_proto, 1);
	assert_int_equal(f.src_port, 0);
	assert_int_equal(f.dst_port, 0);
	assert_int_equal(f.payload_offset, 42);
	assert_int_equal(f.payload_len, 28);
}

static void test_icmp_truncated(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 1, 1, 0, NULL, 0);
	icmp(&p, 8, 0, 0x12340001);
	ip4_done(&p, ip);
	/* 3 bytes: nothing; 4-7: type and code but no identifier */
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 37, 42),
			 NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	for (uint32_t cl = 38; cl < 42; cl++) {
		assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, cl, 42),
				 NETMOON_FRAME_R_TRUNC_L4);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
		assert_int_equal(f.icmp_type, 8);
		assert_int_equal(f.icmp_id, 0);
	}
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.icmp_id, 0x1234);
	assert_int_equal(f.payload_len, 0);

	/* an IP payload of 4 bytes: as short on the wire as in the capture */
	set16(&p, 16, 24);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_R_TRUNC_L4);
	assert_int_equal(f.icmp_type, 8);
	assert_int_equal(f.payload_len, 0);
	assert_int_equal(f.payload_offset, 38);
}

static void test_icmpv6(void **state)
{
	static const struct {
		unsigned int type;
		int has_id;
	} types[] = {
		{ 128, 1 }, { 129, 1 }, { 135, 0 }, { 136, 0 }, { 1, 0 }, { 3, 0 }, { 8, 0 },
	};
	struct netmoon_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct pkt p = { .len = 0 };
		size_t ip;

		eth(&p, 0x86dd);
		ip = ip6(&p, 58);
		icmp(&p, types[i].type, 0, 0x0bad0002);
		fill(&p, 0, 16);
		ip6_done(&p, ip);
		assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
		assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP | L_L4);
		assert_int_equal(f.ip_proto, 58);
		assert_int_equal(f.icmp_type, types[i].type);
		assert_int_equal(f.icmp_id, types[i].has_id ? 0x0bad : 0);
		assert_int_equal(f.payload_offset, 62);
		assert_int_equal(f.payload_len, 16);
	}
}

static void test_other_protocols(void **state)
{
	struct netmoon_frame f;
	struct pkt p = { .len = 0 };
	size_t ip;

	(void)state;
	eth(&p, 0x0800);
	ip = ip4(&p, 47 /* GRE */, 1, 0, NULL, 0);
	fill(&p, 0x47, 44);
	ip4_done(&p, ip);
	assert_int_equal(parse(&f, NETMOON_LINKTYPE_ETHERNET, &p), NETMOON_FRAME_OK);
	assert_int_equal(f.layers & ~NETMOON_FRAME_L_PORTS, L_LINK | L_IP);
	assert_int_equal(f.ip_proto, 47);
	assert_int_equal(f.l4_offset, 34);
	assert_int_equal(f.payload_offset, 34);
	assert_int_equal(f.payload_len, 44);
	assert_int_equal(f.src_port, 0);

	/* SCTP over IPv6, only the IP header captured */
	p.len = 0;
	eth(&p, 0x86dd);
	ip = ip6(&p, 132);
	fill(&p, 0x84, 100);
	ip6_done(&p, ip);
	assert_int_equal(parse_n(&f, NETMOON_LINKTYPE_ETHERNET, &p, 54, (uint32_t)p.len),
			 NETMOON_FRAME_OK);
	assert_int_equal(f.ip_proto, 132);
	assert_int_equal(f.payload_len, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_str),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_struct_rewritten),
		cmocka_unit_test(test_unknown_linktype),
		cmocka_unit_test(test_caplen_above_wirelen),
		cmocka_unit_test(test_eth_ipv4_tcp_syn),
		cmocka_unit_test(test_tcp_sack),
		cmocka_unit_test(test_tcp_timestamp_only),
		cmocka_unit_test(test_tcp_options_eol),
		cmocka_unit_test(test_tcp_bad_options),
		cmocka_unit_test(test_tcp_bad_options_keep_earlier),
		cmocka_unit_test(test_tcp_bad_doff),
		cmocka_unit_test(test_tcp_short_segments),
		cmocka_unit_test(test_truncation_sweep_ipv4),
		cmocka_unit_test(test_truncation_sweep_all),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_vlan_many),
		cmocka_unit_test(test_vlan_truncated),
		cmocka_unit_test(test_not_ip_and_llc),
		cmocka_unit_test(test_eth_version_mismatch),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_raw_linktypes),
		cmocka_unit_test(test_ipv4_ihl),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_lengths),
		cmocka_unit_test(test_ipv4_padding),
		cmocka_unit_test(test_ipv4_tso),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_exthdr_chain),
		cmocka_unit_test(test_ipv6_no_next_header),
		cmocka_unit_test(test_ipv6_exthdr_limits),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_ipv6_lengths),
		cmocka_unit_test(test_ipv6_jumbo),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_icmp_error_not_decoded),
		cmocka_unit_test(test_icmp_truncated),
		cmocka_unit_test(test_icmpv6),
		cmocka_unit_test(test_other_protocols),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
