/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The filter compiler (tcpdump's language to classic BPF) and the BPF
 * interpreter: listings equal to tcpdump -d (libpcap 1.10), semantics over
 * crafted packets, precedence, error messages with columns, bounds checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>
#include <netmoon/filter.h>
#include "filter_int.h"

#define ETH 1

/* --- crafted packets ------------------------------------------------------------------ */

struct pkt {
	uint8_t b[256];
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* Ethernet [+ vlan tags] header; returns the network-layer offset. */
static uint32_t eth(struct pkt *p, uint16_t type, int ntags, const uint16_t *vids)
{
	uint32_t o = 12;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 6; i++) {
		p->b[i] = (uint8_t)(0x10 + i);     /* dst 10:11:12:13:14:15 */
		p->b[6 + i] = (uint8_t)(0x20 + i); /* src 20:21:22:23:24:25 */
	}
	for (int i = 0; i < ntags; i++) {
		put16(p->b + o, 0x8100);
		put16(p->b + o + 2, vids[i]);
		o += 4;
	}
	put16(p->b + o, type);
	return o + 2;
}

/* IPv4 + TCP/UDP header with ports; frag = fragment offset field. */
static void ip4(struct pkt *p, uint32_t nl, uint8_t proto, uint32_t src, uint32_t dst,
		uint16_t sport, uint16_t dport, uint16_t frag)
{
	p->b[nl] = 0x45;
	put16(p->b + nl + 2, 40);
	put16(p->b + nl + 6, frag);
	p->b[nl + 8] = 64;
	p->b[nl + 9] = proto;
	put32(p->b + nl + 12, src);
	put32(p->b + nl + 16, dst);
	put16(p->b + nl + 20, sport);
	put16(p->b + nl + 22, dport);
	p->b[nl + 32] = 0x50; /* TCP header length 20 */
	p->b[nl + 33] = 0x02; /* TCP flags: SYN */
	p->len = nl + 40;
}

static void ip6(struct pkt *p, uint32_t nl, uint8_t nh, uint8_t last, uint16_t sport,
		uint16_t dport)
{
	uint32_t l4 = nl + 40;

	p->b[nl] = 0x60;
	p->b[nl + 6] = nh;
	p->b[nl + 7] = 64;
	p->b[nl + 23] = 1;      /* src ::1 */
	p->b[nl + 24] = 0x20;   /* dst 2001:db8::2 */
	p->b[nl + 25] = 0x01;
	p->b[nl + 26] = 0x0d;
	p->b[nl + 27] = 0xb8;
	p->b[nl + 39] = 2;
	if (nh == 44) {         /* fragment header */
		p->b[l4] = last;
		l4 += 8;
	}
	put16(p->b + l4, sport);
	put16(p->b + l4 + 2, dport);
	p->len = l4 + 20;
}

static int match(const char *expr, uint32_t lt, const struct pkt *p)
{
	struct netmoon_filter *f;
	char err[256];
	int r = netmoon_filter_compile(&f, expr, lt, 0, err, sizeof(err));

	if (r < 0)
		fail_msg("'%s' does not compile: %s", expr, err);
	r = netmoon_filter_match(f, p->b, p->len, p->len);
	netmoon_filter_free(f);
	return r;
}

#define ACCEPTS(e, p) assert_int_equal(match((e), ETH, (p)), 1)
#define REJECTS(e, p) assert_int_equal(match((e), ETH, (p)), 0)

/* --- listings equal to tcpdump -d ------------------------------------------------------- */

static const struct {
	const char *expr;
	const char *listing;
} listings[] = {
	{ "ip",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 3\n"
	  "(002) ret      #262144\n"
	  "(003) ret      #0\n"
	},
	{ "arp",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x806           jt 2\tjf 3\n"
	  "(002) ret      #262144\n"
	  "(003) ret      #0\n"
	},
	{ "icmp6",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x86dd          jt 2\tjf 8\n"
	  "(002) ldb      [20]\n"
	  "(003) jeq      #0x3a            jt 7\tjf 4\n"
	  "(004) jeq      #0x2c            jt 5\tjf 8\n"
	  "(005) ldb      [54]\n"
	  "(006) jeq      #0x3a            jt 7\tjf 8\n"
	  "(007) ret      #262144\n"
	  "(008) ret      #0\n"
	},
	{ "vlan 10 and ip",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x8100          jt 4\tjf 2\n"
	  "(002) jeq      #0x88a8          jt 4\tjf 3\n"
	  "(003) jeq      #0x9100          jt 4\tjf 10\n"
	  "(004) ldh      [14]\n"
	  "(005) and      #0xfff\n"
	  "(006) jeq      #0xa             jt 7\tjf 10\n"
	  "(007) ldh      [16]\n"
	  "(008) jeq      #0x800           jt 9\tjf 10\n"
	  "(009) ret      #262144\n"
	  "(010) ret      #0\n"
	},
	{ "ether host 00:11:22:33:44:55",
	  "(000) ld       [8]\n"
	  "(001) jeq      #0x22334455      jt 2\tjf 4\n"
	  "(002) ldh      [6]\n"
	  "(003) jeq      #0x11            jt 8\tjf 4\n"
	  "(004) ld       [2]\n"
	  "(005) jeq      #0x22334455      jt 6\tjf 9\n"
	  "(006) ldh      [0]\n"
	  "(007) jeq      #0x11            jt 8\tjf 9\n"
	  "(008) ret      #262144\n"
	  "(009) ret      #0\n"
	},
	{ "net 2001:db8::/32",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x86dd          jt 2\tjf 7\n"
	  "(002) ld       [22]\n"
	  "(003) jeq      #0x20010db8      jt 6\tjf 4\n"
	  "(004) ld       [38]\n"
	  "(005) jeq      #0x20010db8      jt 6\tjf 7\n"
	  "(006) ret      #262144\n"
	  "(007) ret      #0\n"
	},
	{ "ip6 proto 17",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x86dd          jt 2\tjf 8\n"
	  "(002) ldb      [20]\n"
	  "(003) jeq      #0x11            jt 7\tjf 4\n"
	  "(004) jeq      #0x2c            jt 5\tjf 8\n"
	  "(005) ldb      [54]\n"
	  "(006) jeq      #0x11            jt 7\tjf 8\n"
	  "(007) ret      #262144\n"
	  "(008) ret      #0\n"
	},
	{ "icmp[icmptype] = icmp-echo",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 10\n"
	  "(002) ldb      [23]\n"
	  "(003) jeq      #0x1             jt 4\tjf 10\n"
	  "(004) ldh      [20]\n"
	  "(005) jset     #0x1fff          jt 10\tjf 6\n"
	  "(006) ldxb     4*([14]&0xf)\n"
	  "(007) ldb      [x + 14]\n"
	  "(008) jeq      #0x8             jt 9\tjf 10\n"
	  "(009) ret      #262144\n"
	  "(010) ret      #0\n"
	},
	{ "tcp[13] & 2 != 0",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 10\n"
	  "(002) ldb      [23]\n"
	  "(003) jeq      #0x6             jt 4\tjf 10\n"
	  "(004) ldh      [20]\n"
	  "(005) jset     #0x1fff          jt 10\tjf 6\n"
	  "(006) ldxb     4*([14]&0xf)\n"
	  "(007) ldb      [x + 27]\n"
	  "(008) jset     #0x2             jt 9\tjf 10\n"
	  "(009) ret      #262144\n"
	  "(010) ret      #0\n"
	},
	{ "ether proto 100",
	  "(000) ldh      [12]\n"
	  "(001) jgt      #0x5dc           jt 5\tjf 2\n"
	  "(002) ldb      [14]\n"
	  "(003) jeq      #0x64            jt 4\tjf 5\n"
	  "(004) ret      #262144\n"
	  "(005) ret      #0\n"
	},
	{ "greater 100",
	  "(000) ld       #pktlen\n"
	  "(001) jge      #0x64            jt 2\tjf 3\n"
	  "(002) ret      #262144\n"
	  "(003) ret      #0\n"
	},
	{ "ip host 1.2.3.4",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 7\n"
	  "(002) ld       [26]\n"
	  "(003) jeq      #0x1020304       jt 6\tjf 4\n"
	  "(004) ld       [30]\n"
	  "(005) jeq      #0x1020304       jt 6\tjf 7\n"
	  "(006) ret      #262144\n"
	  "(007) ret      #0\n"
	},
	{ "ip[8] < 64",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 5\n"
	  "(002) ldb      [22]\n"
	  "(003) jge      #0x40            jt 5\tjf 4\n"
	  "(004) ret      #262144\n"
	  "(005) ret      #0\n"
	},
	{ "udp[0:2] = 53",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x800           jt 2\tjf 10\n"
	  "(002) ldb      [23]\n"
	  "(003) jeq      #0x11            jt 4\tjf 10\n"
	  "(004) ldh      [20]\n"
	  "(005) jset     #0x1fff          jt 10\tjf 6\n"
	  "(006) ldxb     4*([14]&0xf)\n"
	  "(007) ldh      [x + 14]\n"
	  "(008) jeq      #0x35            jt 9\tjf 10\n"
	  "(009) ret      #262144\n"
	  "(010) ret      #0\n"
	},
	{ "ip6 host ::1",
	  "(000) ldh      [12]\n"
	  "(001) jeq      #0x86dd          jt 2\tjf 19\n"
	  "(002) ld       [22]\n"
	  "(003) jeq      #0x0             jt 4\tjf 10\n"
	  "(004) ld       [26]\n"
	  "(005) jeq      #0x0             jt 6\tjf 10\n"
	  "(006) ld       [30]\n"
	  "(007) jeq      #0x0             jt 8\tjf 10\n"
	  "(008) ld       [34]\n"
	  "(009) jeq      #0x1             jt 18\tjf 10\n"
	  "(010) ld       [38]\n"
	  "(011) jeq      #0x0             jt 12\tjf 19\n"
	  "(012) ld       [42]\n"
	  "(013) jeq      #0x0             jt 14\tjf 19\n"
	  "(014) ld       [46]\n"
	  "(015) jeq      #0x0             jt 16\tjf 19\n"
	  "(016) ld       [50]\n"
	  "(017) jeq      #0x1             jt 18\tjf 19\n"
	  "(018) ret      #262144\n"
	  "(019) ret      #0\n"
	},
	{ "ether broadcast",
	  "(000) ld       [2]\n"
	  "(001) jeq      #0xffffffff      jt 2\tjf 5\n"
	  "(002) ldh      [0]\n"
	  "(003) jeq      #0xffff          jt 4\tjf 5\n"
	  "(004) ret      #262144\n"
	  "(005) ret      #0\n"
	},
	{ "len > 100",
	  "(000) ld       #pktlen\n"
	  "(001) jgt      #0x64            jt 2\tjf 3\n"
	  "(002) ret      #262144\n"
	  "(003) ret      #0\n"
	},
};

static void test_listings_match_tcpdump(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		struct netmoon_filter *f;
		char err[256], buf[4096];
		int r = netmoon_filter_compile(&f, listings[i].expr, ETH, 262144, err, sizeof(err));

		if (r < 0)
			fail_msg("'%s': %s", listings[i].expr, err);
		r = netmoon_filter_dump(f, buf, sizeof(buf));
		assert_int_equal(r, (int)strlen(listings[i].listing));
		if (strcmp(buf, listings[i].listing) != 0)
			fail_msg("'%s':\n%s\nexpected (tcpdump -d):\n%s", listings[i].expr, buf,
				 listings[i].listing);
		netmoon_filter_free(f);
	}
}

/* --- semantics over crafted packets -------------------------------------------------- */

static void test_protocols(void **state)
{
	struct pkt t4, u6, t6frag, a, v;
	uint16_t vid = 10;
	uint32_t nl;

	(void)state;
	ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 0x0a000001, 0xc0a80102, 1234, 80, 0);
	ip6(&u6, eth(&u6, 0x86dd, 0, NULL), 17, 0, 5353, 53);
	ip6(&t6frag, eth(&t6frag, 0x86dd, 0, NULL), 44, 6, 1, 2);
	nl = eth(&a, 0x0806, 0, NULL);
	put32(a.b + nl + 14, 0x0a000001);
	put32(a.b + nl + 24, 0x0a000002);
	a.len = nl + 28;
	ip4(&v, eth(&v, 0x0800, 1, &vid), 17, 1, 2, 3, 4, 0);

	ACCEPTS("ip", &t4); REJECTS("ip6", &t4); ACCEPTS("tcp", &t4); REJECTS("udp", &t4);
	ACCEPTS("udp", &u6); ACCEPTS("ip6", &u6); REJECTS("tcp", &u6); ACCEPTS("ip6 proto 17", &u6);
	/* protocol tests follow one IPv6 fragment header, as libpcap 1.10 does */
	ACCEPTS("tcp", &t6frag); ACCEPTS("ip6 proto 6", &t6frag); ACCEPTS("proto \\tcp", &t6frag);
	ACCEPTS("arp", &a); REJECTS("ip", &a);
	REJECTS("ip", &v); ACCEPTS("vlan", &v); ACCEPTS("vlan 10", &v); REJECTS("vlan 11", &v);
	ACCEPTS("vlan and udp", &v); REJECTS("udp", &v); ACCEPTS("vlan and ip proto 17", &v);
	ACCEPTS("not vlan or ip", &v); /* "ip" after vlan looks behind the tag */
	ACCEPTS("ether proto 0x8100", &v); REJECTS("ether proto \\ip", &v);
	ACCEPTS("icmp6 or tcp", &t4); REJECTS("icmp", &t4);
}

static void test_hosts_and_nets(void **state)
{
	struct pkt t4, a, u6;
	uint32_t nl;

	(void)state;
	ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 0x0a000001, 0xc0a80102, 1234, 80, 0);
	ACCEPTS("host 10.0.0.1", &t4); ACCEPTS("src host 10.0.0.1", &t4);
	REJECTS("dst host 10.0.0.1", &t4); ACCEPTS("dst 192.168.1.2", &t4);
	REJECTS("src and dst host 10.0.0.1", &t4); ACCEPTS("src or dst host 192.168.1.2", &t4);
	ACCEPTS("net 10", &t4); ACCEPTS("net 10.0", &t4); ACCEPTS("net 10.0.0.0/8", &t4);
	ACCEPTS("net 192.168.0.0 mask 255.255.0.0", &t4); REJECTS("net 172.16.0.0/12", &t4);
	ACCEPTS("host 10.0", &t4); /* a short host address is a prefix, as in libpcap */
	REJECTS("host 10", &t4);   /* ... but a plain number is 0.0.0.10 */
	ACCEPTS("host 1.1.1.1 or 10.0.0.1", &t4); REJECTS("host 10.0.0.1 and not 192.168.1.2", &t4);
	ACCEPTS("ether src 20:21:22:23:24:25", &t4); REJECTS("ether src 10:11:12:13:14:15", &t4);
	ACCEPTS("ether dst 1011.1213.1415", &t4); ACCEPTS("ether host 10:11:12:13:14:15", &t4);
	REJECTS("ether broadcast", &t4); REJECTS("ether multicast", &t4);

	/* host also matches ARP sender/target addresses; ip host does not */
	nl = eth(&a, 0x0806, 0, NULL);
	put32(a.b + nl + 14, 0x0a000001);
	put32(a.b + nl + 24, 0x0a000002);
	a.len = nl + 28;
	ACCEPTS("host 10.0.0.2", &a); REJECTS("ip host 10.0.0.2", &a); ACCEPTS("arp src 10.0.0.1", &a);

	ip6(&u6, eth(&u6, 0x86dd, 0, NULL), 17, 0, 5353, 53);
	ACCEPTS("host ::1", &u6); ACCEPTS("src host ::1", &u6); REJECTS("dst host ::1", &u6);
	ACCEPTS("net 2001:db8::/32", &u6); ACCEPTS("dst net 2001:db8::/32", &u6);
	REJECTS("src net 2001:db8::/32", &u6); ACCEPTS("ip6 host 2001:db8::2", &u6);
	REJECTS("net fe80::/10", &u6); ACCEPTS("net ::/0", &u6);
}

static void test_ports(void **state)
{
	struct pkt t4, frag, u6, t6frag;

	(void)state;
	ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 1, 2, 1234, 80, 0);
	ACCEPTS("port 80", &t4); ACCEPTS("tcp port 80", &t4); REJECTS("udp port 80", &t4);
	ACCEPTS("dst port 80", &t4); REJECTS("src port 80", &t4); ACCEPTS("src port 1234", &t4);
	ACCEPTS("port http", &t4); ACCEPTS("port 22 or 80", &t4); ACCEPTS("port (22 or 80)", &t4);
	REJECTS("port 22 or not 80", &t4); ACCEPTS("portrange 70-90", &t4);
	ACCEPTS("portrange 90-70", &t4); REJECTS("portrange 81-1233", &t4);
	ACCEPTS("src and dst portrange 80-1234", &t4);
	ACCEPTS("tcp[tcpflags] & tcp-syn != 0", &t4); REJECTS("tcp[tcpflags] & (tcp-ack|tcp-fin) != 0", &t4);
	ACCEPTS("tcp[13] = 2", &t4); ACCEPTS("tcp[2:2] = 80", &t4);

	/* only first fragments have ports */
	ip4(&frag, eth(&frag, 0x0800, 0, NULL), 6, 1, 2, 1234, 80, 0x0010);
	REJECTS("port 80", &frag); ACCEPTS("tcp", &frag); REJECTS("tcp[2:2] = 80", &frag);
	ACCEPTS("ip[6:2] & 0x1fff != 0", &frag);
	/* the "more fragments" flag alone does not hide the ports */
	ip4(&frag, eth(&frag, 0x0800, 0, NULL), 6, 1, 2, 1234, 80, 0x2000);
	ACCEPTS("port 80", &frag);

	ip6(&u6, eth(&u6, 0x86dd, 0, NULL), 17, 0, 5353, 53);
	ACCEPTS("port 53", &u6); ACCEPTS("udp port 5353", &u6); REJECTS("tcp port 53", &u6);
	/* IPv6 port tests do not walk extension headers */
	ip6(&t6frag, eth(&t6frag, 0x86dd, 0, NULL), 44, 6, 1, 2);
	REJECTS("port 2", &t6frag);
}

static void test_arithmetic_and_len(void **state)
{
	struct pkt t4;

	(void)state;
	ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 1, 2, 1234, 80, 0);
	/* t4.len is 54 */
	ACCEPTS("len = 54", &t4); ACCEPTS("less 54", &t4); REJECTS("less 53", &t4);
	ACCEPTS("greater 54", &t4); REJECTS("greater 55", &t4); ACCEPTS("len - 14 = 40", &t4);
	ACCEPTS("ip[8] = 64", &t4); ACCEPTS("ip[8] < 65", &t4); REJECTS("ip[8] < 64", &t4);
	ACCEPTS("ip[8] <= 64", &t4); ACCEPTS("ip[8] >= 64", &t4); REJECTS("ip[8] > 64", &t4);
	ACCEPTS("ip[8] != 63", &t4); ACCEPTS("ip[8] == 64", &t4);
	ACCEPTS("ip[8] * 2 + 1 = 129", &t4); ACCEPTS("ip[8] / 3 = 21", &t4);
	ACCEPTS("ip[8] % 10 = 4", &t4); ACCEPTS("ip[8] << 2 = 256", &t4);
	ACCEPTS("ip[8] >> 6 = 1", &t4); ACCEPTS("ip[8] | 1 = 65", &t4);
	ACCEPTS("ip[8] & 0x60 = 0x40", &t4); ACCEPTS("ip[8] - 1 = ip[9] + 57", &t4);
	ACCEPTS("-ip[8] = 0xffffffc0", &t4);
	/* precedence: * before +, + before <<, << before &, & before | */
	ACCEPTS("2 + 3 * 4 = 14", &t4); ACCEPTS("1 << 2 + 1 = 8", &t4);
	ACCEPTS("6 & 3 | 8 = 10", &t4); ACCEPTS("(2 + 3) * 4 = 20", &t4);
	/* '^' has no precedence in libpcap's grammar: a | b ^ c = a | (b ^ c), a ^ b | c = a ^ (b | c) */
	ACCEPTS("1 | 2 ^ 3 = 1", &t4); ACCEPTS("1 ^ 2 | 4 = 7", &t4); ACCEPTS("8 ^ 1 | 1 = 9", &t4);
	ACCEPTS("ether[12:2] = 0x800", &t4); ACCEPTS("ether[0] & 1 = 0", &t4);
	ACCEPTS("tcp[((tcp[12] & 0xf0) >> 2) - 20:2] = 1234", &t4);
	ACCEPTS("ip[ip[8] - 64] = 0x45", &t4);
	/* a load past the captured bytes rejects the packet, even under "not" */
	REJECTS("ether[1000] = 0", &t4); REJECTS("not ether[1000] = 0", &t4);
	REJECTS("ether[1000] = 0 or ip", &t4);
	/* ... but a guard that fails first does not load */
	ACCEPTS("not udp[1000] = 0", &t4);
}

static void test_boolean_precedence(void **state)
{
	struct pkt t4;

	(void)state;
	ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 1, 2, 1234, 80, 0);
	/* and/or: same precedence, left to right, as in tcpdump */
	REJECTS("tcp or udp and port 53", &t4); /* (tcp or udp) and port 53 */
	ACCEPTS("udp and port 53 or tcp", &t4); /* (udp and port 53) or tcp */
	ACCEPTS("tcp or (udp and port 53)", &t4);
	/* not binds tighter than and/or */
	ACCEPTS("not udp and tcp", &t4);
	ACCEPTS("not tcp or ip", &t4);
	REJECTS("not (tcp or udp)", &t4);
	ACCEPTS("!udp && tcp || arp", &t4);
	ACCEPTS("not not tcp", &t4);
	ACCEPTS("((tcp))", &t4);
	ACCEPTS("", &t4); ACCEPTS("   \t ", &t4);
}

static void test_link_types(void **state)
{
	struct pkt raw4, sll, sll2;
	struct netmoon_filter *f;
	char err[256];

	(void)state;
	memset(&raw4, 0, sizeof(raw4));
	ip4(&raw4, 0, 17, 1, 2, 53, 5353, 0);
	assert_int_equal(match("udp port 53", NETMOON_LINKTYPE_RAW, &raw4), 1);
	assert_int_equal(match("ip", NETMOON_LINKTYPE_RAW, &raw4), 1);
	assert_int_equal(match("ip6", NETMOON_LINKTYPE_RAW, &raw4), 0);
	assert_int_equal(match("udp port 53", NETMOON_LINKTYPE_IPV4, &raw4), 1);
	assert_int_equal(match("host 0.0.0.2", NETMOON_LINKTYPE_RAW_DLT12, &raw4), 1);
	/* the IPv4 link type: "ip" is always true, the program is one ret */
	assert_int_equal(netmoon_filter_compile(&f, "ip", NETMOON_LINKTYPE_IPV4, 100, err, sizeof(err)), 0);
	assert_int_equal(netmoon_filter_insn_count(f), 1);
	netmoon_filter_free(f);
	/* what cannot match on a link type is refused, as tcpdump refuses it */
	assert_int_equal(netmoon_filter_compile(&f, "arp", NETMOON_LINKTYPE_RAW, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expression rejects all packets");
	assert_int_equal(netmoon_filter_compile(&f, "ip6", NETMOON_LINKTYPE_IPV4, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(netmoon_filter_compile(&f, "vlan", NETMOON_LINKTYPE_LINUX_SLL, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(netmoon_filter_compile(&f, "ether host 1:2:3:4:5:6", NETMOON_LINKTYPE_RAW, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(netmoon_filter_compile(&f, "ip", 147, 0, err, sizeof(err)), NETMOON_E_LINKTYPE);

	memset(&sll, 0, sizeof(sll));
	put16(sll.b + 14, 0x0800);
	ip4(&sll, 16, 6, 1, 2, 3, 4, 0);
	assert_int_equal(match("tcp dst port 4", NETMOON_LINKTYPE_LINUX_SLL, &sll), 1);
	assert_int_equal(match("ip6", NETMOON_LINKTYPE_LINUX_SLL, &sll), 0);
	memset(&sll2, 0, sizeof(sll2));
	put16(sll2.b, 0x86dd);
	ip6(&sll2, 20, 58, 0, 0x8000, 0);
	assert_int_equal(match("icmp6", NETMOON_LINKTYPE_LINUX_SLL2, &sll2), 1);
	assert_int_equal(match("icmp6[icmp6type] = icmp6-echo", NETMOON_LINKTYPE_LINUX_SLL2, &sll2), 1);
	assert_int_equal(match("ip", NETMOON_LINKTYPE_LINUX_SLL2, &sll2), 0);
}

static void test_stacked_vlans(void **state)
{
	struct pkt v;
	uint16_t vids[2] = { 100, 200 };

	(void)state;
	ip4(&v, eth(&v, 0x0800, 2, vids), 6, 1, 2, 3, 80, 0);
	ACCEPTS("vlan 100 and vlan 200 and tcp port 80", &v);
	REJECTS("vlan 200 and vlan 100", &v);
	ACCEPTS("vlan and vlan and ip", &v);
	REJECTS("vlan and ip", &v);          /* one tag skipped: the ethertype is the 2nd tag */
	ACCEPTS("vlan 100 and vlan 200", &v);
	/* each vlan keyword moves the offsets for what follows, even across "or" */
	ACCEPTS("vlan 999 or vlan 200", &v); /* the second keyword reads the second tag */
	REJECTS("vlan 999 or vlan 100", &v);
	REJECTS("vlan 100 and vlan 200 and vlan", &v); /* no third tag */
}

/* --- errors -------------------------------------------------------------------------- */

static void test_errors(void **state)
{
	static const struct {
		const char *expr;
		const char *msg;
	} cases[] = {
		{ "tcp and dst port", "expected a port number after 'port' at column 17" },
		{ "host", "expected a host address after 'host' at column 5" },
		{ "net 10.1.2.3/8", "non-network bits set in \"10.1.2.3/8\" at column 5" },
		{ "net 10.0.0.0/33", "mask length must be <= 32 at column 14" },
		{ "host 10.0.0.0/8", "Mask syntax for networks only at column 6" },
		{ "port 70000", "illegal port number 70000 > 65535 at column 6" },
		{ "vlan 5000", "VLAN tag 5000 greater than maximum 4095 at column 1" },
		{ "ip[1:3] = 1", "data size must be 1, 2, or 4 at column 6" },
		{ "tcp host 1.2.3.4", "'tcp' modifier applied to host at column 10" },
		{ "ip6 host 1.2.3.4", "'ip6' modifier applied to ip host at column 10" },
		{ "ip host ::1", "'ip' modifier applied to ip6 host at column 9" },
		{ "host 1:2:3:4:5:6", "ethernet address used in non-ether expression at column 6" },
		{ "ip port 80", "illegal qualifier of 'port' at column 9" },
		{ "10.0.0.1", "expected a primitive at column 1, found '10.0.0.1' (an address needs a qualifier such as 'host')" },
		{ "tcp or 80", "expected a comparison operator after '80' at column 10" },
		{ "(tcp", "expected ')' after 'tcp' at column 5" },
		{ "tcp)", "unexpected ')' at column 4 (expected 'and', 'or' or the end)" },
		{ "tcp and", "expected a primitive after 'and' at column 8" },
		{ "ip[8] <", "expected a number, 'len' or a protocol[offset] after '<' at column 8" },
		{ "ip[8] 5", "expected a comparison operator after ']' at column 7, found '5'" },
		{ "ip[8 = 1", "expected ']' after '8' at column 6, found '='" },
		{ "ip[8] / 0 = 1", "division by zero at column 1" },
		{ "ip[8] % 0 = 1", "modulus by zero at column 1" },
		{ "ip[8] << 32 = 1", "shift by more than 31 bits at column 1" },
		{ "port nosuchservice", "unknown port 'nosuchservice' at column 6" },
		{ "proto \\nosuch", "unknown ip proto 'nosuch' at column 7" },
		{ "host example.com", "host names are not supported ('example.com' at column 6): use an address" },
		{ "tcp # 1", "unexpected character '#' at column 5" },
		{ "ip[0] = 99999999999", "number 99999999999 overflows 32 bits at column 9" },
		{ "ip and ip6", "expression rejects all packets" },
		{ "tcp and udp", "expression rejects all packets" },
		{ "ether", "link layer applied in wrong context at column 1" },
		{ "src port 1 and proto 6 and dst proto 6", "direction applied to 'proto' at column 32" },
		{ "pim", "'pim' is not supported at column 1" },
		{ "gateway 1.2.3.4", "'gateway' is not supported (it needs host names) at column 1" },
	};

	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netmoon_filter *f = NULL;
		char err[256] = "";
		int r = netmoon_filter_compile(&f, cases[i].expr, ETH, 0, err, sizeof(err));

		if (r != -EINVAL || strcmp(err, cases[i].msg) != 0) {
			print_error("'%s': got %d \"%s\", expected -EINVAL \"%s\"\n", cases[i].expr, r,
				    err, cases[i].msg);
			bad++;
		}
		assert_null(f);
	}
	assert_int_equal(bad, 0);
}

/* --- limits, API ----------------------------------------------------------------------- */

static void test_program_size_limit(void **state)
{
	struct netmoon_filter *f = NULL;
	char err[256];
	size_t cap = 64 * 1024, len = 0;
	char *e = malloc(cap);

	(void)state;
	assert_non_null(e);
	/* 600 ports: about 12 instructions each */
	for (int i = 1; i <= 600; i++)
		len += (size_t)snprintf(e + len, cap - len, "%sport %d", i > 1 ? " or " : "", i);
	assert_int_equal(netmoon_filter_compile(&f, e, ETH, 0, err, sizeof(err)), -E2BIG);
	assert_null(f);
	/* 200 ports fit, and far jumps are laid out through "ja" */
	len = 0;
	for (int i = 1; i <= 200; i++)
		len += (size_t)snprintf(e + len, cap - len, "%shost 10.0.0.%d", i > 1 ? " or " : "", i);
	assert_int_equal(netmoon_filter_compile(&f, e, ETH, 0, err, sizeof(err)), 0);
	assert_true(netmoon_filter_insn_count(f) > 256);
	assert_true(netmoon_filter_insn_count(f) <= NETMOON_FILTER_MAX_INSNS);
	{
		struct pkt t4;

		ip4(&t4, eth(&t4, 0x0800, 0, NULL), 6, 0x0a0000c8, 0x0b000001, 1, 2, 0);
		assert_int_equal(netmoon_filter_match(f, t4.b, t4.len, t4.len), 1);
		put32(t4.b + 26, 0x0a0000c9);
		assert_int_equal(netmoon_filter_match(f, t4.b, t4.len, t4.len), 0);
	}
	netmoon_filter_free(f);
	/* deep nesting is refused, not a stack overflow */
	memset(e, '(', 10000);
	strcpy(e + 10000, "tcp");
	assert_int_equal(netmoon_filter_compile(&f, e, ETH, 0, err, sizeof(err)), -EINVAL);
	free(e);
}

static void test_api(void **state)
{
	struct netmoon_filter *f;
	struct netmoon_bpf_insn prog[8];
	size_t n = 0;
	char buf[16], err[64];
	int len;

	(void)state;
	assert_int_equal(sizeof(struct netmoon_bpf_insn), 8);
	assert_int_equal(netmoon_filter_compile(NULL, "ip", ETH, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(netmoon_filter_compile(&f, "ip", ETH, 96, NULL, 0), 0);
	assert_int_equal(netmoon_filter_insn_count(f), 4);
	assert_int_equal(netmoon_filter_get_bpf(f, NULL, &n), 0);
	assert_int_equal(n, 4);
	n = 3;
	assert_int_equal(netmoon_filter_get_bpf(f, prog, &n), -ENOSPC);
	assert_int_equal(n, 4);
	n = 8;
	assert_int_equal(netmoon_filter_get_bpf(f, prog, &n), 0);
	assert_int_equal(prog[0].code, 0x28); /* ldh [12] */
	assert_int_equal(prog[0].k, 12);
	assert_int_equal(prog[1].code, 0x15); /* jeq #0x800 */
	assert_int_equal(prog[1].jt, 0);
	assert_int_equal(prog[1].jf, 1);
	assert_int_equal(prog[2].code, 0x06); /* ret #96 */
	assert_int_equal(prog[2].k, 96);
	len = netmoon_filter_dump(f, buf, sizeof(buf));
	assert_int_equal(len, 20 + 42 + 19 + 18);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "(000) ldh      [", 15);
	assert_int_equal(netmoon_filter_dump(f, NULL, 0), len);
	assert_int_equal(netmoon_filter_match(f, NULL, 0, 0), 0); /* empty packet: load fails */
	assert_int_equal(netmoon_filter_match(NULL, (const uint8_t *)buf, 0, 0), -EINVAL);
	netmoon_filter_free(f);
	netmoon_filter_free(NULL);
	assert_int_equal(netmoon_filter_insn_count(NULL), 0);
	/* snaplen 0 means 262144; an empty expression accepts everything */
	assert_int_equal(netmoon_filter_compile(&f, NULL, ETH, 0, err, sizeof(err)), 0);
	assert_int_equal(netmoon_filter_dump(f, err, sizeof(err)), 23);
	assert_string_equal(err, "(000) ret      #262144\n");
	netmoon_filter_free(f);
}

/* --- the interpreter ---------------------------------------------------------------------- */

#define I(c, t, f, k) { (uint16_t)(c), (uint8_t)(t), (uint8_t)(f), (uint32_t)(k) }

static uint32_t run(const struct netmoon_bpf_insn *p, size_t n, const uint8_t *pkt, uint32_t caplen)
{
	assert_int_equal(netmoon__bpf_validate(p, n), 0);
	return netmoon__bpf_run(p, n, pkt, caplen, caplen + 100);
}

static void test_interpreter_bounds(void **state)
{
	uint8_t pkt[64];
	const struct netmoon_bpf_insn ld_w_last[] = { I(0x20, 0, 0, 60), I(0x16, 0, 0, 0) };
	const struct netmoon_bpf_insn ld_w_over[] = { I(0x20, 0, 0, 61), I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn ld_h_over[] = { I(0x28, 0, 0, 63), I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn ld_b_huge[] = { I(0x30, 0, 0, 0xffffffff), I(0x06, 0, 0, 1) };
	/* X + k wraps in 32 bits in a naive interpreter: must still reject */
	const struct netmoon_bpf_insn ind_wrap[] = { I(0x01, 0, 0, 0xffffffff), I(0x50, 0, 0, 2),
						     I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn msh_over[] = { I(0xb1, 0, 0, 64), I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn div_x0[] = { I(0x00, 0, 0, 7), I(0x01, 0, 0, 0), I(0x3c, 0, 0, 0),
						   I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn mod_x0[] = { I(0x00, 0, 0, 7), I(0x01, 0, 0, 0), I(0x9c, 0, 0, 0),
						   I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn len[] = { I(0x80, 0, 0, 0), I(0x16, 0, 0, 0) };
	const struct netmoon_bpf_insn mem[] = { I(0x00, 0, 0, 42), I(0x02, 0, 0, 15), I(0x00, 0, 0, 0),
						I(0x60, 0, 0, 15), I(0x16, 0, 0, 0) };
	const struct netmoon_bpf_insn shift[] = { I(0x00, 0, 0, 1), I(0x01, 0, 0, 40), I(0x6c, 0, 0, 0),
						  I(0x16, 0, 0, 0) };
	const struct netmoon_bpf_insn bad_jump[] = { I(0x15, 5, 0, 0), I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn bad_mem[] = { I(0x02, 0, 0, 16), I(0x06, 0, 0, 1) };
	const struct netmoon_bpf_insn no_ret[] = { I(0x00, 0, 0, 1) };
	const struct netmoon_bpf_insn div_k0[] = { I(0x34, 0, 0, 0), I(0x06, 0, 0, 1) };

	(void)state;
	for (int i = 0; i < 64; i++)
		pkt[i] = (uint8_t)i;
	assert_int_equal(run(ld_w_last, 2, pkt, 64), 0x3c3d3e3f);
	assert_int_equal(run(ld_w_over, 2, pkt, 64), 0);
	assert_int_equal(run(ld_h_over, 2, pkt, 64), 0);
	assert_int_equal(run(ld_b_huge, 2, pkt, 64), 0);
	assert_int_equal(run(ind_wrap, 3, pkt, 64), 0);
	assert_int_equal(run(msh_over, 2, pkt, 64), 0);
	assert_int_equal(run(div_x0, 4, pkt, 64), 0);
	assert_int_equal(run(mod_x0, 4, pkt, 64), 0);
	assert_int_equal(run(len, 2, pkt, 10), 110);
	assert_int_equal(run(mem, 5, pkt, 64), 42);
	assert_int_equal(run(shift, 4, pkt, 64), 0);
	assert_int_equal(netmoon__bpf_validate(bad_jump, 2), -EINVAL);
	assert_int_equal(netmoon__bpf_validate(bad_mem, 2), -EINVAL);
	assert_int_equal(netmoon__bpf_validate(no_ret, 1), -EINVAL);
	assert_int_equal(netmoon__bpf_validate(div_k0, 2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listings_match_tcpdump),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_hosts_and_nets),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_arithmetic_and_len),
		cmocka_unit_test(test_boolean_precedence),
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_stacked_vlans),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_program_size_limit),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_interpreter_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
