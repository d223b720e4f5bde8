/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcpdump's filter language: lexer and parser to a syntax tree.
 *
 * The grammar is libpcap's (grammar.y), written as recursive descent:
 * "and" and "or" have the same precedence and associate to the left, "not"
 * binds tighter; a bare address after and/or takes the qualifiers of the
 * primitive before it ("port 80 or 443"); '^' has no precedence in
 * libpcap's grammar, so yacc always shifts it: "a | b ^ c" is a | (b ^ c)
 * and "a ^ b | c" is a ^ (b | c).  Where yacc would need more lookahead
 * than one token, the parser tries one alternative and falls back to the
 * other, reporting the error of the attempt that got furthest.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "filter_int.h"

#define MAX_EXPR_LEN 65536
#define MAX_DEPTH 200
#define MAX_NODES 100000

enum tok_type {
	T_EOF = 0,
	T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COLON, T_SLASH,
	T_NOT, T_AND, T_OR,
	T_PLUS, T_MINUS, T_STAR, T_PERCENT, T_AMP, T_PIPE, T_CARET, T_LSH, T_RSH,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_NUM, T_HID, T_HID6, T_EID, T_ID, T_KW,
};

enum kw {
	K_NONE = 0,
	/* protocol names (pname) */
	K_LINK, K_IP, K_ARP, K_RARP, K_TCP, K_UDP, K_ICMP, K_IGMP, K_SCTP, K_IP6, K_ICMP6,
	/* qualifiers */
	K_SRC, K_DST, K_HOST, K_NET, K_PORT, K_PORTRANGE, K_PROTO, K_GATEWAY, K_MASK,
	/* others */
	K_LESS, K_GREATER, K_LEN, K_VLAN, K_BROADCAST, K_MULTICAST,
	/* known but not supported */
	K_UNSUPPORTED,
};

struct tok {
	uint8_t type;
	uint8_t kw;
	uint32_t col;
	uint32_t len;
	uint32_t num;
	const char *s; /* into the expression */
};

static const struct {
	const char *name;
	uint8_t kw;
} keywords[] = {
	{ "link", K_LINK }, { "ether", K_LINK }, { "ppp", K_LINK }, { "slip", K_LINK },
	{ "ip", K_IP }, { "arp", K_ARP }, { "rarp", K_RARP }, { "tcp", K_TCP }, { "udp", K_UDP },
	{ "icmp", K_ICMP }, { "igmp", K_IGMP }, { "sctp", K_SCTP }, { "ip6", K_IP6 },
	{ "icmp6", K_ICMP6 },
	{ "src", K_SRC }, { "dst", K_DST }, { "host", K_HOST }, { "net", K_NET },
	{ "port", K_PORT }, { "portrange", K_PORTRANGE }, { "proto", K_PROTO },
	{ "gateway", K_GATEWAY }, { "mask", K_MASK },
	{ "less", K_LESS }, { "greater", K_GREATER }, { "len", K_LEN }, { "length", K_LEN },
	{ "vlan", K_VLAN }, { "broadcast", K_BROADCAST }, { "multicast", K_MULTICAST },
	/* libpcap keywords this compiler does not implement (yet) */
	{ "fddi", K_UNSUPPORTED }, { "tr", K_UNSUPPORTED }, { "wlan", K_UNSUPPORTED },
	{ "igrp", K_UNSUPPORTED }, { "pim", K_UNSUPPORTED }, { "vrrp", K_UNSUPPORTED },
	{ "carp", K_UNSUPPORTED }, { "radio", K_UNSUPPORTED }, { "ah", K_UNSUPPORTED },
	{ "esp", K_UNSUPPORTED }, { "atalk", K_UNSUPPORTED }, { "aarp", K_UNSUPPORTED },
	{ "decnet", K_UNSUPPORTED }, { "lat", K_UNSUPPORTED }, { "sca", K_UNSUPPORTED },
	{ "moprc", K_UNSUPPORTED }, { "mopdl", K_UNSUPPORTED }, { "iso", K_UNSUPPORTED },
	{ "esis", K_UNSUPPORTED }, { "es-is", K_UNSUPPORTED }, { "isis", K_UNSUPPORTED },
	{ "is-is", K_UNSUPPORTED }, { "clnp", K_UNSUPPORTED }, { "stp", K_UNSUPPORTED },
	{ "ipx", K_UNSUPPORTED }, { "netbeui", K_UNSUPPORTED }, { "protochain", K_UNSUPPORTED },
	{ "byte", K_UNSUPPORTED }, { "inbound", K_UNSUPPORTED }, { "outbound", K_UNSUPPORTED },
	{ "ifindex", K_UNSUPPORTED }, { "mpls", K_UNSUPPORTED }, { "pppoed", K_UNSUPPORTED },
	{ "pppoes", K_UNSUPPORTED }, { "geneve", K_UNSUPPORTED }, { "llc", K_UNSUPPORTED },
	{ "type", K_UNSUPPORTED }, { "subtype", K_UNSUPPORTED }, { "dir", K_UNSUPPORTED },
	{ "direction", K_UNSUPPORTED }, { "ra", K_UNSUPPORTED }, { "ta", K_UNSUPPORTED },
	{ "addr1", K_UNSUPPORTED }, { "addr2", K_UNSUPPORTED }, { "addr3", K_UNSUPPORTED },
	{ "addr4", K_UNSUPPORTED }, { "address1", K_UNSUPPORTED }, { "address2", K_UNSUPPORTED },
	{ "address3", K_UNSUPPORTED }, { "address4", K_UNSUPPORTED }, { "lane", K_UNSUPPORTED },
	{ "on", K_UNSUPPORTED }, { "ifname", K_UNSUPPORTED }, { "rnr", K_UNSUPPORTED },
	{ "rulenum", K_UNSUPPORTED }, { "reason", K_UNSUPPORTED }, { "rset", K_UNSUPPORTED },
	{ "ruleset", K_UNSUPPORTED }, { "srnr", K_UNSUPPORTED }, { "subrulenum", K_UNSUPPORTED },
	{ "action", K_UNSUPPORTED }, { "l1", K_UNSUPPORTED }, { "l2", K_UNSUPPORTED },
	{ "iih", K_UNSUPPORTED }, { "lsp", K_UNSUPPORTED }, { "snp", K_UNSUPPORTED },
	{ "csnp", K_UNSUPPORTED }, { "psnp", K_UNSUPPORTED }, { "metac", K_UNSUPPORTED },
	{ "bcc", K_UNSUPPORTED }, { "oam", K_UNSUPPORTED }, { "oamf4", K_UNSUPPORTED },
	{ "sc", K_UNSUPPORTED }, { "ilmic", K_UNSUPPORTED }, { "connectmsg", K_UNSUPPORTED },
	{ "metaconnect", K_UNSUPPORTED }, { "vpi", K_UNSUPPORTED }, { "vci", K_UNSUPPORTED },
	{ "fisu", K_UNSUPPORTED }, { "lssu", K_UNSUPPORTED }, { "msu", K_UNSUPPORTED },
	{ "sio", K_UNSUPPORTED }, { "opc", K_UNSUPPORTED }, { "dpc", K_UNSUPPORTED },
	{ "sls", K_UNSUPPORTED },
};

/* Names the lexer turns into numbers (libpcap's scanner.l). */
static const struct {
	const char *name;
	uint32_t v;
} constants[] = {
	{ "icmptype", 0 }, { "icmpcode", 1 },
	{ "icmp-echoreply", 0 }, { "icmp-unreach", 3 }, { "icmp-sourcequench", 4 },
	{ "icmp-redirect", 5 }, { "icmp-echo", 8 }, { "icmp-routeradvert", 9 },
	{ "icmp-routersolicit", 10 }, { "icmp-timxceed", 11 }, { "icmp-paramprob", 12 },
	{ "icmp-tstamp", 13 }, { "icmp-tstampreply", 14 }, { "icmp-ireq", 15 },
	{ "icmp-ireqreply", 16 }, { "icmp-maskreq", 17 }, { "icmp-maskreply", 18 },
	{ "icmp6type", 0 }, { "icmp6code", 1 },
	{ "icmp6-destinationunreach", 1 }, { "icmp6-packettoobig", 2 },
	{ "icmp6-timeexceeded", 3 }, { "icmp6-parameterproblem", 4 },
	{ "icmp6-echo", 128 }, { "icmp6-echoreply", 129 },
	{ "icmp6-multicastlistenerquery", 130 }, { "icmp6-multicastlistenerreportv1", 131 },
	{ "icmp6-multicastlistenerdone", 132 }, { "icmp6-routersolicit", 133 },
	{ "icmp6-routeradvert", 134 }, { "icmp6-neighborsolicit", 135 },
	{ "icmp6-neighboradvert", 136 }, { "icmp6-redirect", 137 },
	{ "icmp6-routerrenum", 138 }, { "icmp6-nodeinformationquery", 139 },
	{ "icmp6-nodeinformationresponse", 140 },
	{ "icmp6-ineighbordiscoverysolicit", 141 }, { "icmp6-ineighbordiscoveryadvert", 142 },
	{ "icmp6-multicastlistenerreportv2", 143 },
	{ "icmp6-homeagentdiscoveryrequest", 144 }, { "icmp6-homeagentdiscoveryreply", 145 },
	{ "icmp6-mobileprefixsolicit", 146 }, { "icmp6-mobileprefixadvert", 147 },
	{ "icmp6-certpathsolicit", 148 }, { "icmp6-certpathadvert", 149 },
	{ "icmp6-multicastrouteradvert", 151 }, { "icmp6-multicastroutersolicit", 152 },
	{ "icmp6-multicastrouterterminate", 153 },
	{ "tcpflags", 13 }, { "tcp-fin", 0x01 }, { "tcp-syn", 0x02 }, { "tcp-rst", 0x04 },
	{ "tcp-push", 0x08 }, { "tcp-ack", 0x10 }, { "tcp-urg", 0x20 }, { "tcp-ece", 0x40 },
	{ "tcp-cwr", 0x80 },
};

/* Service names for port (both TCP and UDP in /etc/services terms). */
static const struct {
	const char *name;
	uint16_t port;
} services[] = {
	{ "ftp-data", 20 }, { "ftp", 21 }, { "ssh", 22 }, { "telnet", 23 }, { "smtp", 25 },
	{ "domain", 53 }, { "bootps", 67 }, { "bootpc", 68 }, { "tftp", 69 }, { "http", 80 },
	{ "www", 80 }, { "kerberos", 88 }, { "pop3", 110 }, { "sunrpc", 111 }, { "ntp", 123 },
	{ "netbios-ns", 137 }, { "netbios-dgm", 138 }, { "netbios-ssn", 139 }, { "imap", 143 },
	{ "imap2", 143 }, { "snmp", 161 }, { "snmp-trap", 162 }, { "bgp", 179 }, { "ldap", 389 },
	{ "https", 443 }, { "microsoft-ds", 445 }, { "syslog", 514 }, { "submission", 587 },
	{ "ldaps", 636 }, { "imaps", 993 }, { "pop3s", 995 }, { "mysql", 3306 },
	{ "postgresql", 5432 },
};

/* IP protocol names (proto \name) and Ethernet type names (ether proto \name). */
static const struct {
	const char *name;
	uint8_t v;
} ipprotos[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "egp", 8 }, { "udp", 17 }, { "ipv6", 41 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "ipv6-icmp", 58 },
	{ "ospf", 89 }, { "pim", 103 }, { "vrrp", 112 }, { "sctp", 132 },
};

static const struct {
	const char *name;
	uint16_t v;
} ethertypes[] = {
	{ "ip", 0x0800 }, { "arp", 0x0806 }, { "rarp", 0x8035 }, { "ip6", 0x86dd },
};

struct parser {
	const char *expr;
	struct tok *toks;
	size_t ntok;
	size_t pos;
	uint16_t vlan;
	unsigned depth;
	size_t nnodes;
	struct nf_node *nodes;
	/* the error of the attempt that got furthest */
	int err;
	size_t err_pos;
	char msg[256];
	char *errbuf;
	size_t errlen;
};

/* The qualifiers a primitive's address inherits (libpcap's struct qual). */
enum q_addr { QA_DEFAULT = 0, QA_HOST, QA_NET, QA_PORT, QA_PORTRANGE, QA_PROTO, QA_GATEWAY, QA_UNDEF };

struct qual {
	uint8_t proto, dir, addr;
};

static const struct qual qerr = { NFP_DEFAULT, NFD_DEFAULT, QA_UNDEF };

/* --- lexer ------------------------------------------------------------------ */

static bool is_word_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* Dotted-quad prefix: 1 to 4 decimal parts; returns the number of bits or -1. */
static int atoin(const char *s, size_t len, uint32_t *addr)
{
	uint32_t v = 0, part = 0;
	int parts = 0;
	size_t i;
	bool digits = false;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!digits || part > 255 || parts == 4)
				return -1;
			v = v << 8 | part;
			parts++;
			part = 0;
			digits = false;
		} else if (isdigit((unsigned char)s[i])) {
			part = part * 10 + (uint32_t)(s[i] - '0');
			if (part > 255)
				return -1;
			digits = true;
		} else {
			return -1;
		}
	}
	*addr = v;
	return parts * 8;
}

static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	char buf[32];
	unsigned b[6];
	int n = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &n) == 6 && (size_t)n == len) {
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)b[i];
		return 0;
	}
	if (len == 14 && buf[4] == '.' && buf[9] == '.') {
		unsigned w[3];

		if (sscanf(buf, "%4x.%4x.%4x%n", &w[0], &w[1], &w[2], &n) == 3 && (size_t)n == len) {
			for (int i = 0; i < 3; i++) {
				mac[2 * i] = (uint8_t)(w[i] >> 8);
				mac[2 * i + 1] = (uint8_t)w[i];
			}
			return 0;
		}
	}
	return -1;
}

static int lex_number(const char *s, size_t len, uint32_t *v)
{
	uint64_t x = 0;
	size_t i = 0;
	unsigned base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len > 1 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		unsigned d;

		if (isdigit((unsigned char)s[i]))
			d = (unsigned)(s[i] - '0');
		else if (isxdigit((unsigned char)s[i]))
			d = (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		x = x * base + d;
		if (x > UINT32_MAX)
			return -ERANGE;
	}
	*v = (uint32_t)x;
	return 0;
}

static bool is_number_word(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < len; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		return true;
	}
	for (; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return len > 0;
}

static int lex(struct parser *p)
{
	const char *e = p->expr;
	size_t i = 0, n = strlen(e), cap = 16;

	p->toks = malloc(cap * sizeof(*p->toks));
	if (!p->toks)
		return -ENOMEM;
	p->ntok = 0;
	for (;;) {
		struct tok t = { 0 };
		unsigned char c;

		while (i < n && isspace((unsigned char)e[i]))
			i++;
		if (p->ntok + 1 >= cap) {
			struct tok *nt = realloc(p->toks, 2 * cap * sizeof(*p->toks));

			if (!nt)
				return -ENOMEM;
			p->toks = nt;
			cap *= 2;
		}
		t.col = (uint32_t)i + 1;
		t.s = e + i;
		if (i >= n) {
			t.type = T_EOF;
			p->toks[p->ntok++] = t;
			return 0;
		}
		c = (unsigned char)e[i];
		/* addresses with colons: IPv6 or MAC, the longest run of their characters */
		if (isxdigit(c) || c == ':') {
			size_t j = i;
			bool colon = false;

			while (j < n && (isxdigit((unsigned char)e[j]) || e[j] == ':' || e[j] == '.')) {
				colon |= e[j] == ':';
				j++;
			}
			if ((colon || (j - i == 14 && e[i + 4] == '.' && e[i + 9] == '.')) && j - i < 64) {
				char buf[64];
				struct in6_addr a6;
				uint8_t mac[6];

				memcpy(buf, e + i, j - i);
				buf[j - i] = '\0';
				t.len = (uint32_t)(j - i);
				if (parse_mac(e + i, j - i, mac) == 0)
					t.type = T_EID;
				else if (inet_pton(AF_INET6, buf, &a6) == 1)
					t.type = T_HID6;
				if (t.type) {
					p->toks[p->ntok++] = t;
					i = j;
					continue;
				}
				/* not an address: "tcp[0:2]" */
			}
		}
		if (isalnum(c) || c == '\\') {
			size_t j = i + 1;
			const char *w;
			size_t wl;

			if (c == '\\') {
				while (j < n && !isspace((unsigned char)e[j]) && e[j] != '!' &&
				       e[j] != '(' && e[j] != ')')
					j++;
				if (j == i + 1) {
					snprintf(p->msg, sizeof(p->msg), "unexpected '\\' at column %u", t.col);
					return -EINVAL;
				}
				t.type = T_ID;
				t.s = e + i + 1;
				t.len = (uint32_t)(j - i - 1);
				p->toks[p->ntok++] = t;
				i = j;
				continue;
			}
			while (j < n && is_word_char((unsigned char)e[j]))
				j++;
			/* libpcap's ID cannot end in '-' or '_' */
			while (j > i + 1 && (e[j - 1] == '-' || e[j - 1] == '_'))
				j--;
			w = e + i;
			wl = j - i;
			t.len = (uint32_t)wl;
			if (is_number_word(w, wl)) {
				int r = lex_number(w, wl, &t.num);

				if (r == -ERANGE) {
					snprintf(p->msg, sizeof(p->msg),
						 "number %.*s overflows 32 bits at column %u", (int)wl, w, t.col);
					return -EINVAL;
				}
				if (r < 0) {
					snprintf(p->msg, sizeof(p->msg), "invalid number '%.*s' at column %u",
						 (int)wl, w, t.col);
					return -EINVAL;
				}
				t.type = T_NUM;
			} else if (isdigit(c) && strspn(w, "0123456789.") >= wl && wl <= 15 &&
				   atoin(w, wl, &t.num) > 0) {
				t.type = T_HID;
			} else {
				size_t k;

				t.type = T_ID;
				for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
					if (strlen(keywords[k].name) == wl &&
					    memcmp(keywords[k].name, w, wl) == 0) {
						t.type = T_KW;
						t.kw = keywords[k].kw;
					}
				if (wl == 3 && memcmp(w, "and", 3) == 0)
					t.type = T_AND;
				else if (wl == 2 && memcmp(w, "or", 2) == 0)
					t.type = T_OR;
				else if (wl == 3 && memcmp(w, "not", 3) == 0)
					t.type = T_NOT;
				for (k = 0; k < sizeof(constants) / sizeof(constants[0]); k++)
					if (strlen(constants[k].name) == wl &&
					    memcmp(constants[k].name, w, wl) == 0) {
						t.type = T_NUM;
						t.num = constants[k].v;
					}
			}
			p->toks[p->ntok++] = t;
			i = j;
			continue;
		}
		t.len = 1;
		if (i + 1 < n) {
			char two[3] = { e[i], e[i + 1], 0 };
			static const struct {
				const char *s;
				uint8_t t;
			} ops2[] = { { "&&", T_AND }, { "||", T_OR }, { "==", T_EQ }, { "!=", T_NE },
				     { "<=", T_LE }, { ">=", T_GE }, { "<<", T_LSH }, { ">>", T_RSH } };

			for (size_t k = 0; k < sizeof(ops2) / sizeof(ops2[0]); k++)
				if (strcmp(two, ops2[k].s) == 0) {
					t.type = ops2[k].t;
					t.len = 2;
				}
			if (t.len == 2) {
				p->toks[p->ntok++] = t;
				i += 2;
				continue;
			}
		}
		switch (c) {
		case '(': t.type = T_LPAREN; break;
		case ')': t.type = T_RPAREN; break;
		case '[': t.type = T_LBRACK; break;
		case ']': t.type = T_RBRACK; break;
		case ':': t.type = T_COLON; break;
		case '/': t.type = T_SLASH; break;
		case '!': t.type = T_NOT; break;
		case '+': t.type = T_PLUS; break;
		case '-': t.type = T_MINUS; break;
		case '*': t.type = T_STAR; break;
		case '%': t.type = T_PERCENT; break;
		case '&': t.type = T_AMP; break;
		case '|': t.type = T_PIPE; break;
		case '^': t.type = T_CARET; break;
		case '=': t.type = T_EQ; break;
		case '<': t.type = T_LT; break;
		case '>': t.type = T_GT; break;
		default:
			snprintf(p->msg, sizeof(p->msg), "unexpected character '%c' at column %u",
				 isprint(c) ? c : '?', t.col);
			return -EINVAL;
		}
		t.len = 1;
		p->toks[p->ntok++] = t;
		i++;
	}
}

/* --- errors and nodes ------------------------------------------------------------------ */

static const struct tok *cur(const struct parser *p)
{
	return &p->toks[p->pos];
}

static void tok_text(const struct tok *t, char *buf, size_t len)
{
	if (t->type == T_EOF)
		snprintf(buf, len, "end of expression");
	else
		snprintf(buf, len, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
}

/* Record an error at token index pos, unless an earlier attempt got further. */
__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	/* the attempt that got furthest explains best; on a tie, the first one */
	if (p->err && pos <= p->err_pos)
		return -EINVAL;
	p->err = -EINVAL;
	p->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "expected X after 'prev' at column N" (or "at the start") for the current token. */
static int expected(struct parser *p, const char *what)
{
	const struct tok *t = cur(p);
	char got[64];

	if (t->type == T_EOF)
		got[0] = '\0';
	else {
		memcpy(got, ", found ", 8);
		tok_text(t, got + 8, sizeof(got) - 8);
	}
	if (p->pos == 0)
		return fail_at(p, p->pos, "expected %s at column %u%s", what, t->col, got);
	return fail_at(p, p->pos, "expected %s after '%.*s' at column %u%s", what,
		       (int)(p->toks[p->pos - 1].len > 40 ? 40 : p->toks[p->pos - 1].len),
		       p->toks[p->pos - 1].s, t->col, got);
}

static struct nf_node *node(struct parser *p, uint8_t kind, uint32_t col)
{
	struct nf_node *n;

	if (p->nnodes >= MAX_NODES) {
		fail_at(p, p->ntok, "expression too large at column %u", col);
		p->err = -E2BIG;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		p->err = -ENOMEM;
		p->err_pos = p->ntok;
		snprintf(p->msg, sizeof(p->msg), "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->col = col;
	n->vlan = p->vlan;
	n->next_alloc = p->nodes;
	p->nodes = n;
	p->nnodes++;
	return n;
}

static struct nf_node *node2(struct parser *p, uint8_t kind, struct nf_node *l, struct nf_node *r)
{
	struct nf_node *n = node(p, kind, l->col);

	if (n) {
		n->l = l;
		n->r = r;
	}
	return n;
}

static bool accept_tok(struct parser *p, uint8_t type)
{
	if (cur(p)->type != type)
		return false;
	p->pos++;
	return true;
}

static bool is_kw(const struct tok *t, uint8_t kw)
{
	return t->type == T_KW && t->kw == kw;
}

static uint8_t pname_proto(uint8_t kw)
{
	switch (kw) {
	case K_LINK: return NFP_LINK;
	case K_IP: return NFP_IP;
	case K_ARP: return NFP_ARP;
	case K_RARP: return NFP_RARP;
	case K_TCP: return NFP_TCP;
	case K_UDP: return NFP_UDP;
	case K_ICMP: return NFP_ICMP;
	case K_IGMP: return NFP_IGMP;
	case K_SCTP: return NFP_SCTP;
	case K_IP6: return NFP_IP6;
	case K_ICMP6: return NFP_ICMP6;
	default: return 0;
	}
}

static const char *proto_name(uint8_t proto)
{
	static const char *const names[] = { "", "link", "ip", "arp", "rarp", "tcp", "udp",
					     "icmp", "igmp", "sctp", "ip6", "icmp6" };

	return proto < sizeof(names) / sizeof(names[0]) ? names[proto] : "?";
}

static const char *addr_name(uint8_t addr)
{
	static const char *const names[] = { "host", "host", "net", "port", "portrange",
					     "proto", "gateway", "?" };

	return names[addr];
}

/* --- arithmetic ----------------------------------------------------------------------- */

static struct nf_node *parse_arith(struct parser *p);

static struct nf_node *parse_arith_primary(struct parser *p)
{
	const struct tok *t = cur(p);
	struct nf_node *n;
	size_t start = p->pos;

	if (++p->depth > MAX_DEPTH) {
		fail_at(p, p->pos, "expression nested too deeply at column %u", t->col);
		return NULL;
	}
	if (t->type == T_NUM) {
		p->pos++;
		n = node(p, NFA_NUM, t->col);
		if (n)
			n->v1 = t->num;
	} else if (is_kw(t, K_LEN)) {
		p->pos++;
		n = node(p, NFA_LEN, t->col);
	} else if (t->type == T_MINUS) {
		struct nf_node *c;

		p->pos++;
		c = parse_arith_primary(p);
		n = c ? node(p, NFA_NEG, t->col) : NULL;
		if (n)
			n->l = c;
	} else if (t->type == T_LPAREN) {
		p->pos++;
		n = parse_arith(p);
		if (n && !accept_tok(p, T_RPAREN)) {
			expected(p, "')'");
			n = NULL;
		}
	} else if (t->type == T_KW && pname_proto(t->kw) && p->toks[p->pos + 1].type == T_LBRACK) {
		struct nf_node *idx;
		uint32_t size = 1;

		p->pos += 2;
		idx = parse_arith(p);
		n = NULL;
		if (idx) {
			if (accept_tok(p, T_COLON)) {
				if (cur(p)->type != T_NUM) {
					expected(p, "a size (1, 2 or 4)");
					goto out;
				}
				size = cur(p)->num;
				if (size != 1 && size != 2 && size != 4) {
					fail_at(p, p->pos, "data size must be 1, 2, or 4 at column %u",
						cur(p)->col);
					goto out;
				}
				p->pos++;
			}
			if (!accept_tok(p, T_RBRACK)) {
				expected(p, "']'");
				goto out;
			}
			n = node(p, NFA_LOAD, t->col);
			if (n) {
				n->proto = pname_proto(t->kw);
				n->size = (uint8_t)size;
				n->l = idx;
			}
		}
	} else {
		expected(p, "a number, 'len' or a protocol[offset]");
		n = NULL;
	}
out:
	/* yacc shifts '^' whatever the left context: x ^ (everything that follows) */
	if (n && cur(p)->type == T_CARET) {
		struct nf_node *r;

		p->pos++;
		r = parse_arith(p);
		n = r ? node2(p, NFA_BIN, n, r) : NULL;
		if (n)
			n->op = NF_XOR;
	}
	(void)start;
	p->depth--;
	return n;
}

static int binop_level(uint8_t type, uint8_t *op)
{
	switch (type) {
	case T_PIPE: *op = NF_OR; return 1;
	case T_AMP: *op = NF_AND; return 2;
	case T_LSH: *op = NF_LSH; return 3;
	case T_RSH: *op = NF_RSH; return 3;
	case T_PLUS: *op = NF_ADD; return 4;
	case T_MINUS: *op = NF_SUB; return 4;
	case T_STAR: *op = NF_MUL; return 5;
	case T_SLASH: *op = NF_DIV; return 5;
	case T_PERCENT: *op = NF_MOD; return 5;
	default: return 0;
	}
}

static struct nf_node *parse_arith_level(struct parser *p, int min)
{
	struct nf_node *l = parse_arith_primary(p);
	uint8_t op;
	int lev;

	while (l && (lev = binop_level(cur(p)->type, &op)) >= min && lev > 0) {
		struct nf_node *r;

		p->pos++;
		r = parse_arith_level(p, lev + 1);
		if (!r)
			return NULL;
		l = node2(p, NFA_BIN, l, r);
		if (l)
			l->op = op;
	}
	return l;
}

static struct nf_node *parse_arith(struct parser *p)
{
	return parse_arith_level(p, 1);
}

static struct nf_node *parse_relation(struct parser *p)
{
	struct nf_node *l = parse_arith(p), *r, *n;
	uint8_t op, neg = 0;
	const struct tok *t;

	if (!l)
		return NULL;
	t = cur(p);
	switch (t->type) {
	case T_EQ: op = NF_JEQ; break;
	case T_NE: op = NF_JEQ; neg = 1; break;
	case T_GT: op = NF_JGT; break;
	case T_GE: op = NF_JGE; break;
	case T_LT: op = NF_JGE; neg = 1; break;
	case T_LE: op = NF_JGT; neg = 1; break;
	default:
		expected(p, "a comparison operator");
		return NULL;
	}
	p->pos++;
	r = parse_arith(p);
	if (!r)
		return NULL;
	n = node2(p, NFN_REL, l, r);
	if (n) {
		n->op = op;
		n->v2 = neg;
	}
	return n;
}

/* --- addresses ------------------------------------------------------------------------ */

static struct nf_node *host4(struct parser *p, const struct tok *t, struct qual q, uint32_t a,
			     uint32_t m)
{
	struct nf_node *n;

	switch (q.proto) {
	case NFP_DEFAULT: case NFP_IP: case NFP_ARP: case NFP_RARP:
		break;
	case NFP_LINK:
		fail_at(p, p->pos, "illegal link layer address at column %u", t->col);
		return NULL;
	case NFP_IP6:
		fail_at(p, p->pos, "'ip6' modifier applied to ip host at column %u", t->col);
		return NULL;
	default:
		fail_at(p, p->pos, "'%s' modifier applied to %s at column %u", proto_name(q.proto),
			addr_name(q.addr), t->col);
		return NULL;
	}
	n = node(p, NFN_HOST4, t->col);
	if (n) {
		n->proto = q.proto;
		n->dir = q.dir;
		n->a[0] = a;
		n->m[0] = m;
	}
	return n;
}

static struct nf_node *port_node(struct parser *p, const struct tok *t, struct qual q,
				 uint32_t lo, uint32_t hi)
{
	struct nf_node *n;
	const char *what = q.addr == QA_PORT ? "port" : "portrange";

	if (q.proto != NFP_DEFAULT && q.proto != NFP_TCP && q.proto != NFP_UDP &&
	    q.proto != NFP_SCTP) {
		fail_at(p, p->pos, "illegal qualifier of '%s' at column %u", what, t->col);
		return NULL;
	}
	if (lo > 65535 || hi > 65535) {
		fail_at(p, p->pos, "illegal port number %u > 65535 at column %u", lo > 65535 ? lo : hi,
			t->col);
		return NULL;
	}
	n = node(p, NFN_PORT, t->col);
	if (n) {
		n->proto = q.proto;
		n->dir = q.dir;
		n->v1 = lo < hi ? lo : hi;
		n->v2 = lo < hi ? hi : lo;
	}
	return n;
}

static struct nf_node *proto_node(struct parser *p, const struct tok *t, struct qual q, uint32_t v)
{
	struct nf_node *n;

	if (q.dir != NFD_DEFAULT) {
		fail_at(p, p->pos, "direction applied to 'proto' at column %u", t->col);
		return NULL;
	}
	switch (q.proto) {
	case NFP_LINK:
		if (v > 0xffff) {
			fail_at(p, p->pos, "ether proto %u is larger than 65535 at column %u", v, t->col);
			return NULL;
		}
		n = node(p, NFN_LINKTYPE, t->col);
		if (n)
			n->v1 = v;
		return n;
	case NFP_DEFAULT: case NFP_IP: case NFP_IP6:
		n = node(p, NFN_IPPROTO, t->col);
		if (n) {
			n->proto = q.proto;
			/* compared with a byte as it is: above 255 it never matches */
			n->v1 = v;
		}
		return n;
	default:
		fail_at(p, p->pos, "'%s proto' is not supported at column %u", proto_name(q.proto),
			t->col);
		return NULL;
	}
}

static int lookup_port(const char *s, size_t len, uint32_t *v)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strlen(services[i].name) == len && memcmp(services[i].name, s, len) == 0) {
			*v = services[i].port;
			return 0;
		}
	if (is_number_word(s, len))
		return lex_number(s, len, v);
	return -ENOENT;
}

/* nid: the address after a head, with the qualifiers q. */
static struct nf_node *parse_nid(struct parser *p, struct qual q)
{
	const struct tok *t = cur(p);
	struct nf_node *n = NULL;

	if (q.addr == QA_UNDEF) {
		expected(p, "a primitive (this address has no qualifier to inherit)");
		return NULL;
	}
	switch (t->type) {
	case T_NUM: {
		uint32_t v = t->num;

		p->pos++;
		switch (q.addr) {
		case QA_DEFAULT: case QA_HOST: case QA_NET: {
			uint32_t m = 0xffffffff;

			if (q.addr == QA_NET)
				while (v && (v & 0xff000000) == 0) {
					v <<= 8;
					m <<= 8;
				}
			return host4(p, t, q, v, m);
		}
		case QA_PORT: case QA_PORTRANGE:
			return port_node(p, t, q, v, v);
		case QA_PROTO:
			return proto_node(p, t, q, v);
		default:
			fail_at(p, p->pos, "'gateway' requires a name at column %u", t->col);
			return NULL;
		}
	}
	case T_HID: {
		uint32_t a, m;
		int bits;

		p->pos++;
		bits = atoin(t->s, t->len, &a);
		if (q.addr == QA_PORT || q.addr == QA_PORTRANGE || q.addr == QA_PROTO ||
		    q.addr == QA_GATEWAY) {
			fail_at(p, p->pos - 1, "'%s' modifier applied to ip host at column %u",
				addr_name(q.addr), t->col);
			return NULL;
		}
		a <<= 32 - bits;
		m = bits == 32 ? 0xffffffff : ~(0xffffffffu >> bits);
		if (cur(p)->type == T_SLASH || is_kw(cur(p), K_MASK)) {
			const struct tok *o = cur(p);
			uint32_t mm;

			p->pos++;
			if (o->type == T_SLASH) {
				if (cur(p)->type != T_NUM) {
					expected(p, "a prefix length");
					return NULL;
				}
				if (cur(p)->num > 32) {
					fail_at(p, p->pos, "mask length must be <= 32 at column %u", cur(p)->col);
					return NULL;
				}
				mm = cur(p)->num == 0 ? 0 : 0xffffffffu << (32 - cur(p)->num);
				if (a & ~mm) {
					fail_at(p, p->pos, "non-network bits set in \"%.*s/%u\" at column %u",
						(int)t->len, t->s, cur(p)->num, t->col);
					return NULL;
				}
			} else {
				int mb;

				if (cur(p)->type != T_HID) {
					expected(p, "a dotted netmask");
					return NULL;
				}
				mb = atoin(cur(p)->s, cur(p)->len, &mm);
				mm <<= 32 - mb;
				if (a & ~mm) {
					fail_at(p, p->pos, "non-network bits set in \"%.*s mask %.*s\" at column %u",
						(int)t->len, t->s, (int)cur(p)->len, cur(p)->s, t->col);
					return NULL;
				}
			}
			p->pos++;
			if (q.addr != QA_NET) {
				fail_at(p, p->pos - 1, "Mask syntax for networks only at column %u", t->col);
				return NULL;
			}
			m = mm;
		}
		return host4(p, t, q, a, m);
	}
	case T_HID6: {
		char buf[64];
		uint8_t a6[16];
		uint32_t len = 128;

		p->pos++;
		memcpy(buf, t->s, t->len);
		buf[t->len] = '\0';
		inet_pton(AF_INET6, buf, a6);
		if (q.addr == QA_PORT || q.addr == QA_PORTRANGE || q.addr == QA_PROTO ||
		    q.addr == QA_GATEWAY) {
			fail_at(p, p->pos - 1, "'%s' modifier applied to ip6 host at column %u",
				addr_name(q.addr), t->col);
			return NULL;
		}
		if (accept_tok(p, T_SLASH)) {
			if (cur(p)->type != T_NUM) {
				expected(p, "a prefix length");
				return NULL;
			}
			len = cur(p)->num;
			if (len > 128) {
				fail_at(p, p->pos, "mask length must be <= 128 at column %u", cur(p)->col);
				return NULL;
			}
			p->pos++;
			for (uint32_t b = len; b < 128; b++)
				if (a6[b / 8] & (0x80 >> (b % 8))) {
					fail_at(p, p->pos - 1, "non-network bits set in \"%s/%u\" at column %u",
						buf, len, t->col);
					return NULL;
				}
			if (len != 128 && q.addr != QA_NET) {
				fail_at(p, p->pos - 1, "Mask syntax for networks only at column %u", t->col);
				return NULL;
			}
		}
		if (q.proto != NFP_DEFAULT && q.proto != NFP_IP6) {
			fail_at(p, p->pos - 1, "'%s' modifier applied to ip6 host at column %u",
				proto_name(q.proto), t->col);
			return NULL;
		}
		n = node(p, NFN_HOST6, t->col);
		if (!n)
			return NULL;
		n->dir = q.dir;
		for (int w = 0; w < 4; w++) {
			uint32_t bits = len > 32u * w ? len - 32u * w : 0;

			n->a[w] = netmoon__rd32be(a6 + 4 * w);
			n->m[w] = bits >= 32 ? 0xffffffff : bits == 0 ? 0 : ~(0xffffffffu >> bits);
		}
		return n;
	}
	case T_EID:
		p->pos++;
		if ((q.addr != QA_HOST && q.addr != QA_DEFAULT) || q.proto != NFP_LINK) {
			fail_at(p, p->pos - 1, "ethernet address used in non-ether expression at column %u",
				t->col);
			return NULL;
		}
		n = node(p, NFN_EHOST, t->col);
		if (n) {
			n->dir = q.dir;
			parse_mac(t->s, t->len, n->mac);
		}
		return n;
	case T_ID: {
		uint32_t v, v2;

		p->pos++;
		switch (q.addr) {
		case QA_PORT:
			if (lookup_port(t->s, t->len, &v) < 0) {
				fail_at(p, p->pos - 1, "unknown port '%.*s' at column %u", (int)t->len, t->s,
					t->col);
				return NULL;
			}
			return port_node(p, t, q, v, v);
		case QA_PORTRANGE: {
			const char *dash = memchr(t->s, '-', t->len);

			if (!dash || lookup_port(t->s, (size_t)(dash - t->s), &v) < 0 ||
			    lookup_port(dash + 1, t->len - (size_t)(dash - t->s) - 1, &v2) < 0) {
				fail_at(p, p->pos - 1, "unknown port in range '%.*s' at column %u",
					(int)t->len, t->s, t->col);
				return NULL;
			}
			return port_node(p, t, q, v, v2);
		}
		case QA_PROTO:
			if (q.proto == NFP_LINK) {
				for (size_t i = 0; i < sizeof(ethertypes) / sizeof(ethertypes[0]); i++)
					if (strlen(ethertypes[i].name) == t->len &&
					    memcmp(ethertypes[i].name, t->s, t->len) == 0)
						return proto_node(p, t, q, ethertypes[i].v);
				fail_at(p, p->pos - 1, "unknown ether proto '%.*s' at column %u",
					(int)t->len, t->s, t->col);
				return NULL;
			}
			for (size_t i = 0; i < sizeof(ipprotos) / sizeof(ipprotos[0]); i++)
				if (strlen(ipprotos[i].name) == t->len &&
				    memcmp(ipprotos[i].name, t->s, t->len) == 0)
					return proto_node(p, t, q, ipprotos[i].v);
			fail_at(p, p->pos - 1, "unknown ip proto '%.*s' at column %u", (int)t->len, t->s,
				t->col);
			return NULL;
		default:
			fail_at(p, p->pos - 1,
				"host names are not supported ('%.*s' at column %u): use an address",
				(int)t->len, t->s, t->col);
			return NULL;
		}
	}
	default: {
		const char *what = "an address";

		if (q.addr == QA_PORT)
			what = "a port number";
		else if (q.addr == QA_PORTRANGE)
			what = "a port range";
		else if (q.addr == QA_PROTO)
			what = "a protocol number";
		else if (q.addr == QA_NET)
			what = "a network address";
		else if (q.addr == QA_HOST)
			what = "a host address";
		expected(p, what);
		return NULL;
	}
	}
}

static struct nf_node *parse_id(struct parser *p, struct qual q);

/* pid: id { (and|or) id }, inside parentheses after a head. */
static struct nf_node *parse_pid(struct parser *p, struct qual q)
{
	struct nf_node *n = parse_id(p, q);

	while (n && (cur(p)->type == T_AND || cur(p)->type == T_OR)) {
		uint8_t k = cur(p)->type == T_AND ? NFN_AND : NFN_OR;
		struct nf_node *r;

		p->pos++;
		r = parse_id(p, q);
		if (!r)
			return NULL;
		n = node2(p, k, n, r);
	}
	return n;
}

static struct nf_node *parse_id(struct parser *p, struct qual q)
{
	const struct tok *t = cur(p);
	struct nf_node *n;

	if (++p->depth > MAX_DEPTH) {
		fail_at(p, p->pos, "expression nested too deeply at column %u", t->col);
		return NULL;
	}
	if (t->type == T_NOT) {
		struct nf_node *c;

		p->pos++;
		c = parse_id(p, q);
		n = c ? node(p, NFN_NOT, t->col) : NULL;
		if (n)
			n->l = c;
	} else if (t->type == T_LPAREN) {
		p->pos++;
		n = parse_pid(p, q);
		if (n && !accept_tok(p, T_RPAREN)) {
			expected(p, "')'");
			n = NULL;
		}
	} else {
		n = parse_nid(p, q);
	}
	p->depth--;
	return n;
}

/* --- primitives and boolean structure ------------------------------------------------- */

static struct nf_node *parse_expr(struct parser *p, struct qual inq, struct qual *outq);

static bool is_dqual(const struct tok *t)
{
	return is_kw(t, K_SRC) || is_kw(t, K_DST);
}

static bool is_aqual(const struct tok *t)
{
	return is_kw(t, K_HOST) || is_kw(t, K_NET) || is_kw(t, K_PORT) ||
	       is_kw(t, K_PORTRANGE) || is_kw(t, K_GATEWAY);
}

/* head id: [pname] [dqual] [aqual | proto] followed by an id. */
static struct nf_node *parse_head(struct parser *p, struct qual *outq)
{
	struct qual q = { NFP_DEFAULT, NFD_DEFAULT, QA_DEFAULT };
	const struct tok *t = cur(p);

	if (t->type == T_KW && pname_proto(t->kw)) {
		q.proto = pname_proto(t->kw);
		p->pos++;
	}
	if (is_dqual(cur(p))) {
		bool src = is_kw(cur(p), K_SRC);

		q.dir = src ? NFD_SRC : NFD_DST;
		p->pos++;
		if (cur(p)->type == T_AND || cur(p)->type == T_OR) {
			bool isand = cur(p)->type == T_AND;

			p->pos++;
			if (!is_kw(cur(p), src ? K_DST : K_SRC)) {
				expected(p, src ? "'dst'" : "'src'");
				return NULL;
			}
			p->pos++;
			q.dir = isand ? NFD_AND : NFD_OR;
		}
	}
	if (is_aqual(cur(p)) || is_kw(cur(p), K_PROTO)) {
		const struct tok *a = cur(p);

		if (is_kw(a, K_PROTO) && q.dir != NFD_DEFAULT) {
			fail_at(p, p->pos, "direction applied to 'proto' at column %u", a->col);
			return NULL;
		}
		q.addr = a->kw == K_HOST ? QA_HOST : a->kw == K_NET ? QA_NET :
			 a->kw == K_PORT ? QA_PORT : a->kw == K_PORTRANGE ? QA_PORTRANGE :
			 a->kw == K_PROTO ? QA_PROTO : QA_GATEWAY;
		if (q.addr == QA_GATEWAY) {
			fail_at(p, p->pos, "'gateway' is not supported (it needs host names) at column %u",
				a->col);
			return NULL;
		}
		p->pos++;
	}
	*outq = q;
	return parse_id(p, q);
}

/* other: vlan, less, greater, broadcast, multicast. */
static struct nf_node *parse_other(struct parser *p, uint8_t proto)
{
	const struct tok *t = cur(p);
	struct nf_node *n;

	switch (t->kw) {
	case K_LESS:
	case K_GREATER: {
		struct nf_node *len, *num;

		p->pos++;
		if (cur(p)->type != T_NUM) {
			expected(p, "a length");
			return NULL;
		}
		len = node(p, NFA_LEN, t->col);
		num = len ? node(p, NFA_NUM, cur(p)->col) : NULL;
		if (!num)
			return NULL;
		num->v1 = cur(p)->num;
		p->pos++;
		n = node2(p, NFN_REL, len, num);
		if (n) {
			n->op = t->kw == K_LESS ? NF_JGT : NF_JGE;
			n->v2 = t->kw == K_LESS;
		}
		return n;
	}
	case K_VLAN: {
		uint32_t id = 0, has = 0;
		size_t save = p->pos + 1;

		p->pos++;
		/* pnum: NUM or ( pnum ) */
		{
			size_t opens = 0;

			while (p->toks[p->pos + opens].type == T_LPAREN)
				opens++;
			if (p->toks[p->pos + opens].type == T_NUM) {
				size_t k;

				for (k = 0; k < opens; k++)
					if (p->toks[p->pos + opens + 1 + k].type != T_RPAREN)
						break;
				if (k == opens) {
					id = p->toks[p->pos + opens].num;
					has = 1;
					p->pos += 2 * opens + 1;
				}
			}
		}
		(void)save;
		if (has && id > 4095) {
			fail_at(p, p->pos - 1, "VLAN tag %u greater than maximum 4095 at column %u", id,
				t->col);
			return NULL;
		}
		n = node(p, NFN_VLAN, t->col);
		if (n) {
			n->v1 = id;
			n->v2 = has;
		}
		p->vlan++; /* everything after this keyword sees the tag */
		return n;
	}
	case K_BROADCAST:
	case K_MULTICAST:
		p->pos++;
		if (t->kw == K_BROADCAST && proto != NFP_DEFAULT && proto != NFP_LINK) {
			fail_at(p, p->pos - 1, "'%s broadcast' needs the interface's netmask, which is not "
				"supported at column %u", proto_name(proto), t->col);
			return NULL;
		}
		if (t->kw == K_MULTICAST && proto != NFP_DEFAULT && proto != NFP_LINK &&
		    proto != NFP_IP && proto != NFP_IP6) {
			fail_at(p, p->pos - 1, "only link-layer/IP/IPv6 multicast filters supported at "
				"column %u", t->col);
			return NULL;
		}
		if (t->kw == K_BROADCAST)
			return node(p, NFN_EBCAST, t->col);
		if (proto == NFP_IP || proto == NFP_IP6) {
			n = node(p, NFN_IPMCAST, t->col);
			if (n)
				n->proto = proto;
			return n;
		}
		return node(p, NFN_EMCAST, t->col);
	default:
		break;
	}
	return NULL;
}

static struct nf_node *parse_rterm(struct parser *p, struct qual inq, struct qual *outq)
{
	const struct tok *t = cur(p);
	size_t start = p->pos;
	uint16_t vlan = p->vlan;
	struct nf_node *n;

	*outq = qerr;
	if (t->type == T_LPAREN) {
		/* ( expr ) or an arithmetic relation starting with '(' */
		struct qual dummy;

		p->pos++;
		n = parse_expr(p, inq, &dummy);
		if (n && accept_tok(p, T_RPAREN) && !binop_level(cur(p)->type, &(uint8_t){ 0 }) &&
		    cur(p)->type != T_CARET) {
			switch (cur(p)->type) {
			case T_EQ: case T_NE: case T_LT: case T_LE: case T_GT: case T_GE:
				break;
			default:
				*outq = inq;
				return n;
			}
		} else if (n) {
			expected(p, "')'");
		}
		p->pos = start;
		p->vlan = vlan;
		return parse_relation(p);
	}
	if (t->type == T_NUM || t->type == T_MINUS || is_kw(t, K_LEN))
		return parse_relation(p);
	if (t->type == T_KW) {
		if (t->kw == K_UNSUPPORTED) {
			fail_at(p, p->pos, "'%.*s' is not supported at column %u", (int)t->len, t->s,
				t->col);
			return NULL;
		}
		if (pname_proto(t->kw)) {
			const struct tok *nx = &p->toks[p->pos + 1];

			if (nx->type == T_LBRACK)
				return parse_relation(p);
			if (is_dqual(nx) || is_aqual(nx) || is_kw(nx, K_PROTO))
				return parse_head(p, outq);
			if (is_kw(nx, K_BROADCAST) || is_kw(nx, K_MULTICAST)) {
				p->pos++;
				return parse_other(p, pname_proto(t->kw));
			}
			p->pos++;
			n = node(p, NFN_PROTO, t->col);
			if (n)
				n->proto = pname_proto(t->kw);
			return n;
		}
		if (is_dqual(t) || is_aqual(t) || is_kw(t, K_PROTO))
			return parse_head(p, outq);
		if (t->kw == K_LESS || t->kw == K_GREATER || t->kw == K_VLAN ||
		    t->kw == K_BROADCAST || t->kw == K_MULTICAST)
			return parse_other(p, NFP_DEFAULT);
	}
	if (t->type == T_HID || t->type == T_HID6 || t->type == T_EID || t->type == T_ID) {
		char got[64];

		tok_text(t, got, sizeof(got));
		fail_at(p, p->pos, "expected a primitive at column %u, found %s (an address needs "
			"a qualifier such as 'host')", t->col, got);
		return NULL;
	}
	expected(p, "a primitive");
	return NULL;
}

static struct nf_node *parse_term(struct parser *p, struct qual inq, struct qual *outq)
{
	const struct tok *t = cur(p);
	struct nf_node *n;

	if (++p->depth > MAX_DEPTH) {
		fail_at(p, p->pos, "expression nested too deeply at column %u", t->col);
		return NULL;
	}
	if (t->type == T_NOT) {
		struct nf_node *c;

		p->pos++;
		c = parse_term(p, inq, outq);
		n = c ? node(p, NFN_NOT, t->col) : NULL;
		if (n)
			n->l = c;
	} else {
		n = parse_rterm(p, inq, outq);
	}
	p->depth--;
	return n;
}

static struct nf_node *parse_expr(struct parser *p, struct qual inq, struct qual *outq)
{
	struct qual q;
	struct nf_node *n = parse_term(p, inq, &q);

	while (n && (cur(p)->type == T_AND || cur(p)->type == T_OR)) {
		uint8_t k = cur(p)->type == T_AND ? NFN_AND : NFN_OR;
		size_t start = ++p->pos;
		uint16_t vlan = p->vlan;
		struct qual q2;
		struct nf_node *r = parse_term(p, q, &q2);

		if (r) {
			/* a term that stops where an id would go on is not what yacc
			 * would have chosen: "port 80 or (443 or 8080)" */
			q = q2;
		} else {
			p->pos = start;
			p->vlan = vlan;
			r = parse_id(p, q);
			if (!r)
				return NULL;
		}
		n = node2(p, k, n, r);
	}
	*outq = q;
	return n;
}

int netmoon__filter_parse(const char *expr, struct nf_ast *ast, char *errbuf, size_t errlen)
{
	struct parser p = { 0 };
	struct qual q;
	int r;

	memset(ast, 0, sizeof(*ast));
	if (!expr)
		return 0;
	if (strlen(expr) > MAX_EXPR_LEN) {
		netmoon__filter_seterr(errbuf, errlen, "expression longer than %d bytes", MAX_EXPR_LEN);
		return -E2BIG;
	}
	p.expr = expr;
	r = lex(&p);
	if (r < 0) {
		netmoon__filter_seterr(errbuf, errlen, "%s", r == -ENOMEM ? "out of memory" : p.msg);
		free(p.toks);
		return r;
	}
	if (p.toks[0].type != T_EOF) {
		struct nf_node *root = parse_expr(&p, qerr, &q);

		if (root && cur(&p)->type != T_EOF) {
			char got[64];

			tok_text(cur(&p), got, sizeof(got));
			fail_at(&p, p.pos, "unexpected %s at column %u (expected 'and', 'or' or the end)",
				got, cur(&p)->col);
			root = NULL;
		}
		if (!root) {
			netmoon__filter_seterr(errbuf, errlen, "%s", p.msg);
			r = p.err ? p.err : -EINVAL;
			for (struct nf_node *n = p.nodes, *nx; n; n = nx) {
				nx = n->next_alloc;
				free(n);
			}
			free(p.toks);
			return r;
		}
		ast->root = root;
	}
	ast->nodes = p.nodes;
	free(p.toks);
	return 0;
}

void netmoon__filter_ast_free(struct nf_ast *ast)
{
	struct nf_node *n, *nx;

	for (n = ast->nodes; n; n = nx) {
		nx = n->next_alloc;
		free(n);
	}
	ast->nodes = NULL;
	ast->root = NULL;
}
