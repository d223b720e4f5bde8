/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Code generation: the syntax tree to classic BPF for one link type.
 *
 * Every boolean node is compiled with two targets (jump here when true,
 * there when false), so and/or/not need no code of their own.  Targets are
 * labels, resolved when the program is laid out; conditional jumps farther
 * than 255 instructions go through an unconditional "ja".  Code that no
 * jump reaches is not emitted, so a test that is constant for the link type
 * ("ip" on LINKTYPE_IPV4) costs nothing.  The generator remembers what A
 * and X hold along the straight paths and does not reload them.
 *
 * The tests themselves follow libpcap's gencode.c: which offsets, which
 * fragment checks, which protocols a qualifier covers.  A last pass looks
 * for a path to "accept", knowing the values earlier comparisons proved;
 * when there is none, the expression is refused as tcpdump refuses it
 * ("expression rejects all packets").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "filter_int.h"

#define GEN_MAX_INSNS (4 * NETMOON_FILTER_MAX_INSNS)

enum lt_kind { LT_ETH, LT_SLL, LT_SLL2, LT_RAW, LT_IPV4, LT_IPV6 };

enum { AK_UNKNOWN = 0, AK_LOAD, AK_IMM, AK_LEN };

struct regs {
	uint8_t akind;
	uint16_t acode;
	uint32_t ak;
	uint8_t xmsh;  /* X = 4*([xk]&0xf) */
	uint32_t xk;
};

struct label {
	int32_t pos;
	uint32_t nin;
	struct regs st;
};

struct ginsn {
	uint16_t code;
	uint32_t k;
	int32_t lt, lf; /* labels of jumps (ja: lt) */
};

struct gen {
	struct ginsn *ins;
	size_t n, cap;
	struct label *labs;
	size_t nlab, labcap;
	int32_t pending; /* an unconditional jump not yet emitted, or -1 */
	bool reachable;
	struct regs st;
	enum lt_kind kind;
	uint32_t linktype;
	uint32_t base_lt, base_nl;
	uint32_t off_lt, off_nl;
	uint16_t regs_used;
	int err;
	char *errbuf;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static void gerr(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	if (g->err)
		return;
	g->err = -EINVAL;
	if (g->errbuf && g->errlen) {
		va_start(ap, fmt);
		vsnprintf(g->errbuf, g->errlen, fmt, ap);
		va_end(ap);
	}
}

static void nomem(struct gen *g)
{
	if (!g->err) {
		g->err = -ENOMEM;
		netmoon__filter_seterr(g->errbuf, g->errlen, "out of memory");
	}
}

static int32_t label_new(struct gen *g)
{
	if (g->nlab == g->labcap) {
		size_t nc = g->labcap ? 2 * g->labcap : 64;
		struct label *nl;

		if (g->err || nc > 8 * GEN_MAX_INSNS) {
			nomem(g);
			return 0;
		}
		nl = realloc(g->labs, nc * sizeof(*nl));
		if (!nl) {
			nomem(g);
			return 0;
		}
		g->labs = nl;
		g->labcap = nc;
	}
	g->labs[g->nlab] = (struct label){ .pos = -1 };
	return (int32_t)g->nlab++;
}

static bool regs_eq(const struct regs *a, const struct regs *b)
{
	return a->akind == b->akind && a->acode == b->acode && a->ak == b->ak &&
	       a->xmsh == b->xmsh && a->xk == b->xk;
}

static void edge(struct gen *g, int32_t l)
{
	struct label *lb = &g->labs[l];

	if (lb->nin++ == 0) {
		lb->st = g->st;
	} else if (!regs_eq(&lb->st, &g->st)) {
		if (lb->st.akind != g->st.akind || lb->st.acode != g->st.acode || lb->st.ak != g->st.ak)
			lb->st.akind = AK_UNKNOWN;
		if (lb->st.xmsh != g->st.xmsh || lb->st.xk != g->st.xk)
			lb->st.xmsh = 0;
	}
}

static void raw_emit(struct gen *g, uint16_t code, uint32_t k, int32_t lt, int32_t lf)
{
	if (g->err)
		return;
	if (g->n == g->cap) {
		size_t nc = g->cap ? 2 * g->cap : 64;
		struct ginsn *ni;

		if (nc > GEN_MAX_INSNS) {
			if (!g->err) {
				g->err = -E2BIG;
				netmoon__filter_seterr(g->errbuf, g->errlen,
						       "program too large (more than %d instructions)",
						       NETMOON_FILTER_MAX_INSNS);
			}
			return;
		}
		ni = realloc(g->ins, nc * sizeof(*ni));
		if (!ni) {
			nomem(g);
			return;
		}
		g->ins = ni;
		g->cap = nc;
	}
	g->ins[g->n++] = (struct ginsn){ code, k, lt, lf };
}

static void flush_pending(struct gen *g)
{
	if (g->pending >= 0) {
		int32_t l = g->pending;

		g->pending = -1;
		raw_emit(g, NF_JMP | NF_JA, 0, l, l);
	}
}

/* A statement (not a jump); nothing when the point is unreachable. */
static void stmt(struct gen *g, uint16_t code, uint32_t k)
{
	if (!g->reachable)
		return;
	raw_emit(g, code, k, -1, -1);
	switch (NF_CLASS(code)) {
	case NF_RET:
		g->reachable = false;
		break;
	case NF_LD:
		if (NF_MODE(code) == NF_ABS) {
			g->st.akind = AK_LOAD;
			g->st.acode = code;
			g->st.ak = k;
		} else if (NF_MODE(code) == NF_IMM) {
			g->st.akind = AK_IMM;
			g->st.ak = k;
		} else if (NF_MODE(code) == NF_LEN) {
			g->st.akind = AK_LEN;
		} else {
			g->st.akind = AK_UNKNOWN;
		}
		break;
	case NF_LDX:
		g->st.xmsh = NF_MODE(code) == NF_MSH;
		g->st.xk = k;
		break;
	case NF_ALU:
		g->st.akind = AK_UNKNOWN;
		break;
	case NF_MISC:
		if (NF_MISCOP(code) == NF_TAX)
			g->st.xmsh = 0;
		else
			g->st.akind = AK_UNKNOWN;
		break;
	default:
		break;
	}
}

static void goto_label(struct gen *g, int32_t l)
{
	if (!g->reachable)
		return;
	edge(g, l);
	g->pending = l;
	g->reachable = false;
}

static void jump(struct gen *g, uint16_t op, uint32_t k, int32_t t, int32_t f)
{
	if (!g->reachable)
		return;
	if (t == f) {
		goto_label(g, t);
		return;
	}
	raw_emit(g, NF_JMP | op, k, t, f);
	edge(g, t);
	edge(g, f);
	g->reachable = false;
}

static void place(struct gen *g, int32_t l)
{
	struct label *lb = &g->labs[l];

	if (g->err)
		return;
	if (g->pending == l) {
		/* the jump would go to the next instruction: drop it */
		g->pending = -1;
		g->reachable = true;
	} else {
		flush_pending(g);
		if (g->reachable)
			edge(g, l);
		g->reachable = lb->nin > 0;
	}
	lb->pos = (int32_t)g->n;
	g->st = lb->st;
}

/* --- loads and comparisons ----------------------------------------------------------- */

static uint16_t sz_code(uint32_t size)
{
	return size == 4 ? NF_W : size == 2 ? NF_H : NF_B;
}

static void ld_abs(struct gen *g, uint32_t size, uint32_t off)
{
	uint16_t code = NF_LD | sz_code(size) | NF_ABS;

	if (g->st.akind == AK_LOAD && g->st.acode == code && g->st.ak == off)
		return;
	stmt(g, code, off);
}

static void ldx_iphdr(struct gen *g)
{
	if (g->st.xmsh && g->st.xk == g->off_nl)
		return;
	stmt(g, NF_LDX | NF_B | NF_MSH, g->off_nl);
}

/* [off] (masked) == val */
static void mcmp(struct gen *g, uint32_t size, uint32_t off, uint32_t mask, uint32_t val,
		 int32_t t, int32_t f)
{
	uint32_t full = size == 4 ? 0xffffffff : size == 2 ? 0xffff : 0xff;

	if ((mask & full) == 0) {
		goto_label(g, (val & mask) == 0 ? t : f);
		return;
	}
	ld_abs(g, size, off);
	if ((mask & full) != full)
		stmt(g, NF_ALU | NF_AND | NF_K, mask);
	jump(g, NF_JEQ, val, t, f);
}

static void cmp(struct gen *g, uint32_t size, uint32_t off, uint32_t val, int32_t t, int32_t f)
{
	mcmp(g, size, off, 0xffffffff, val, t, f);
}

static void set_offsets(struct gen *g, const struct nf_node *n)
{
	g->off_lt = g->base_lt + 4u * n->vlan;
	g->off_nl = g->base_nl + 4u * n->vlan;
}

/* The link layer says the payload is ll_proto (libpcap's gen_linktype). */
static void linktype(struct gen *g, uint32_t proto, int32_t t, int32_t f)
{
	switch (g->kind) {
	case LT_ETH:
		if (proto <= 1500) {
			int32_t l = label_new(g);

			ld_abs(g, 2, g->off_lt);
			jump(g, NF_JGT, 1500, f, l);
			place(g, l);
			if (proto == 0x06 || proto == 0xfe || proto == 0xf0)
				cmp(g, 2, g->off_nl, proto << 8 | proto, t, f);
			else
				cmp(g, 1, g->off_lt + 2, proto, t, f);
			return;
		}
		cmp(g, 2, g->off_lt, proto, t, f);
		return;
	case LT_SLL:
	case LT_SLL2:
		if (proto <= 1500) {
			int32_t l = label_new(g);

			cmp(g, 2, g->off_lt, 4 /* LINUX_SLL_P_802_2 */, l, f);
			place(g, l);
			if (proto == 0x06 || proto == 0xfe || proto == 0xf0)
				cmp(g, 2, g->off_nl, proto << 8 | proto, t, f);
			else
				cmp(g, 1, g->off_nl, proto, t, f);
			return;
		}
		cmp(g, 2, g->off_lt, proto, t, f);
		return;
	case LT_RAW:
		if (proto == 0x0800 || proto == 0x86dd)
			mcmp(g, 1, 0, 0xf0, proto == 0x0800 ? 0x40 : 0x60, t, f);
		else
			goto_label(g, f);
		return;
	case LT_IPV4:
		goto_label(g, proto == 0x0800 ? t : f);
		return;
	case LT_IPV6:
		goto_label(g, proto == 0x86dd ? t : f);
		return;
	}
}

/* ethertype et1 or et2 (ARP and RARP) */
/* Go on when the link-layer type is @proto, jump to @f otherwise. */
static void require_linktype(struct gen *g, uint32_t proto, int32_t f)
{
	int32_t l = label_new(g);

	linktype(g, proto, l, f);
	place(g, l);
}

static void linktype2(struct gen *g, uint32_t et1, uint32_t et2, int32_t t, int32_t f)
{
	if (g->kind == LT_ETH || g->kind == LT_SLL || g->kind == LT_SLL2) {
		int32_t l = label_new(g);

		ld_abs(g, 2, g->off_lt);
		jump(g, NF_JEQ, et1, t, l);
		place(g, l);
		jump(g, NF_JEQ, et2, t, f);
		return;
	}
	goto_label(g, f); /* raw IP links carry neither */
}

static void ip4proto(struct gen *g, uint32_t v, int32_t t, int32_t f)
{
	require_linktype(g, 0x0800, f);
	cmp(g, 1, g->off_nl + 9, v, t, f);
}

/* IPv6 next header v, directly or after one fragment header (libpcap 1.10). */
static void ip6proto(struct gen *g, uint32_t v, int32_t t, int32_t f)
{
	int32_t l1 = label_new(g), l2 = label_new(g), l3 = label_new(g);

	linktype(g, 0x86dd, l1, f);
	place(g, l1);
	cmp(g, 1, g->off_nl + 6, v, t, l2);
	place(g, l2);
	cmp(g, 1, g->off_nl + 6, 44, l3, f);
	place(g, l3);
	cmp(g, 1, g->off_nl + 40, v, t, f);
}

static void ipproto_any(struct gen *g, uint32_t v, int32_t t, int32_t f)
{
	int32_t l = label_new(g);

	ip4proto(g, v, t, l);
	place(g, l);
	ip6proto(g, v, t, f);
}

static void proto_abbrev(struct gen *g, const struct nf_node *n, uint8_t proto, int32_t t,
			 int32_t f)
{
	switch (proto) {
	case NFP_IP: linktype(g, 0x0800, t, f); break;
	case NFP_IP6: linktype(g, 0x86dd, t, f); break;
	case NFP_ARP: linktype(g, 0x0806, t, f); break;
	case NFP_RARP: linktype(g, 0x8035, t, f); break;
	case NFP_TCP: ipproto_any(g, 6, t, f); break;
	case NFP_UDP: ipproto_any(g, 17, t, f); break;
	case NFP_SCTP: ipproto_any(g, 132, t, f); break;
	case NFP_ICMP: ip4proto(g, 1, t, f); break;
	case NFP_IGMP: ip4proto(g, 2, t, f); break;
	case NFP_ICMP6: ip6proto(g, 58, t, f); break;
	default:
		gerr(g, "link layer applied in wrong context at column %u", n->col);
		break;
	}
}

/* src/dst/either/both: test(off) for the source and destination offsets. */
typedef void (*addr_test)(struct gen *g, const struct nf_node *n, uint32_t off, int32_t t,
			  int32_t f);

static void dirtest(struct gen *g, const struct nf_node *n, addr_test test, uint32_t soff,
		    uint32_t doff, int32_t t, int32_t f)
{
	int32_t l;

	switch (n->dir) {
	case NFD_SRC:
		test(g, n, soff, t, f);
		break;
	case NFD_DST:
		test(g, n, doff, t, f);
		break;
	case NFD_AND:
		l = label_new(g);
		test(g, n, soff, l, f);
		place(g, l);
		test(g, n, doff, t, f);
		break;
	default:
		l = label_new(g);
		test(g, n, soff, t, l);
		place(g, l);
		test(g, n, doff, t, f);
		break;
	}
}

static void test_v4(struct gen *g, const struct nf_node *n, uint32_t off, int32_t t, int32_t f)
{
	mcmp(g, 4, off, n->m[0], n->a[0], t, f);
}

static void test_v6(struct gen *g, const struct nf_node *n, uint32_t off, int32_t t, int32_t f)
{
	int last = -1;

	for (int w = 0; w < 4; w++)
		if (n->m[w])
			last = w;
	if (last < 0) {
		goto_label(g, t);
		return;
	}
	for (int w = 0; w <= last; w++) {
		int32_t next;

		if (!n->m[w])
			continue;
		next = w == last ? t : label_new(g);
		mcmp(g, 4, off + 4u * w, n->m[w], n->a[w], next, f);
		if (w < last)
			place(g, next);
	}
}

static void test_mac(struct gen *g, const struct nf_node *n, uint32_t off, int32_t t, int32_t f)
{
	int32_t l = label_new(g);

	cmp(g, 4, off + 2, netmoon__rd32be(n->mac + 2), l, f);
	place(g, l);
	cmp(g, 2, off, netmoon__rd16be(n->mac), t, f);
}

static void test_port(struct gen *g, const struct nf_node *n, uint32_t off, int32_t t, int32_t f)
{
	/* off has the ind flag in bit 31: the v4 header length is in X */
	uint16_t code = NF_LD | NF_H | ((off & 0x80000000u) ? NF_IND : NF_ABS);

	off &= 0x7fffffff;
	if (NF_MODE(code) == NF_ABS)
		ld_abs(g, 2, off);
	else
		stmt(g, code, off);
	if (n->v1 == n->v2) {
		jump(g, NF_JEQ, n->v1, t, f);
	} else {
		int32_t l = label_new(g);

		jump(g, NF_JGE, n->v1, l, f);
		place(g, l);
		jump(g, NF_JGT, n->v2, f, t);
	}
}

static void gen_host4(struct gen *g, const struct nf_node *n, int32_t t, int32_t f)
{
	int32_t l, l2;

	switch (n->proto) {
	case NFP_IP:
		require_linktype(g, 0x0800, f);
		dirtest(g, n, test_v4, g->off_nl + 12, g->off_nl + 16, t, f);
		break;
	case NFP_ARP:
	case NFP_RARP:
		require_linktype(g, n->proto == NFP_ARP ? 0x0806 : 0x8035, f);
		dirtest(g, n, test_v4, g->off_nl + 14, g->off_nl + 24, t, f);
		break;
	default:
		l = label_new(g);
		l2 = label_new(g);
		linktype(g, 0x0800, l, l2);
		place(g, l);
		dirtest(g, n, test_v4, g->off_nl + 12, g->off_nl + 16, t, l2);
		place(g, l2);
		l = label_new(g);
		linktype2(g, 0x0806, 0x8035, l, f);
		place(g, l);
		dirtest(g, n, test_v4, g->off_nl + 14, g->off_nl + 24, t, f);
		break;
	}
}

/* ip proto in {6, 17, 132} (or just p) at offset off */
static void l4proto_set(struct gen *g, uint8_t proto, uint32_t off, int32_t t, int32_t f)
{
	int32_t l1, l2;

	switch (proto) {
	case NFP_TCP: cmp(g, 1, off, 6, t, f); return;
	case NFP_UDP: cmp(g, 1, off, 17, t, f); return;
	case NFP_SCTP: cmp(g, 1, off, 132, t, f); return;
	default:
		l1 = label_new(g);
		l2 = label_new(g);
		cmp(g, 1, off, 6, t, l1);
		place(g, l1);
		cmp(g, 1, off, 17, t, l2);
		place(g, l2);
		cmp(g, 1, off, 132, t, f);
		return;
	}
}

static void not_fragment(struct gen *g, int32_t t, int32_t f)
{
	ld_abs(g, 2, g->off_nl + 6);
	jump(g, NF_JSET, 0x1fff, f, t);
}

static void gen_port(struct gen *g, const struct nf_node *n, int32_t t, int32_t f)
{
	int32_t lip = label_new(g), l1 = label_new(g), l2 = label_new(g), l3 = label_new(g);

	/* libpcap: gen_or(gen_port6(...), gen_port(...)): IPv6 first */
	linktype(g, 0x86dd, l1, lip);
	place(g, l1);
	l4proto_set(g, n->proto, g->off_nl + 6, l2, lip);
	place(g, l2);
	dirtest(g, n, test_port, g->off_nl + 40, g->off_nl + 42, t, lip);
	place(g, lip);
	require_linktype(g, 0x0800, f);
	l4proto_set(g, n->proto, g->off_nl + 9, l3, f);
	place(g, l3);
	l2 = label_new(g);
	not_fragment(g, l2, f);
	place(g, l2);
	ldx_iphdr(g);
	dirtest(g, n, test_port, (g->off_nl + 0) | 0x80000000u, (g->off_nl + 2) | 0x80000000u, t, f);
}

/* --- arithmetic ------------------------------------------------------------------------ */

static int alloc_reg(struct gen *g)
{
	for (int i = 0; i < NF_MEMWORDS; i++)
		if (!(g->regs_used & (1u << i))) {
			g->regs_used |= (uint16_t)(1u << i);
			return i;
		}
	gerr(g, "too many registers needed to evaluate expression");
	return 0;
}

static void free_reg(struct gen *g, int r)
{
	g->regs_used &= (uint16_t)~(1u << r);
}

static bool is_transport(uint8_t proto)
{
	return proto == NFP_TCP || proto == NFP_UDP || proto == NFP_ICMP || proto == NFP_IGMP ||
	       proto == NFP_SCTP;
}

/* Constant value of an arithmetic subtree (libpcap's optimizer folds them). */
static bool const_value(struct gen *g, const struct nf_node *n, uint32_t *v)
{
	uint32_t a, b;

	switch (n->kind) {
	case NFA_NUM:
		*v = n->v1;
		return true;
	case NFA_NEG:
		if (!const_value(g, n->l, &a))
			return false;
		*v = 0u - a;
		return true;
	case NFA_BIN:
		if (!const_value(g, n->l, &a) || !const_value(g, n->r, &b))
			return false;
		switch (n->op) {
		case NF_ADD: *v = a + b; break;
		case NF_SUB: *v = a - b; break;
		case NF_MUL: *v = a * b; break;
		case NF_DIV:
		case NF_MOD:
			if (b == 0) {
				gerr(g, "%s at column %u", n->op == NF_DIV ? "division by zero" : "modulus by zero",
				     n->col);
				*v = 0;
				return true;
			}
			*v = n->op == NF_DIV ? a / b : a % b;
			break;
		case NF_AND: *v = a & b; break;
		case NF_OR: *v = a | b; break;
		case NF_XOR: *v = a ^ b; break;
		case NF_LSH: *v = b < 32 ? a << b : 0; break;
		case NF_RSH: *v = b < 32 ? a >> b : 0; break;
		default: return false;
		}
		return true;
	default:
		return false;
	}
}

/* The protocol checks an arithmetic value needs, in libpcap's order. */
static void guards(struct gen *g, const struct nf_node *n, int32_t f)
{
	int32_t l;

	switch (n->kind) {
	case NFA_BIN:
		guards(g, n->l, f);
		guards(g, n->r, f);
		break;
	case NFA_NEG:
		guards(g, n->l, f);
		break;
	case NFA_LOAD:
		set_offsets(g, n);
		switch (n->proto) {
		case NFP_LINK:
			guards(g, n->l, f);
			break;
		case NFP_IP: case NFP_ARP: case NFP_RARP: case NFP_IP6:
			guards(g, n->l, f);
			set_offsets(g, n);
			l = label_new(g);
			proto_abbrev(g, n, n->proto, l, f);
			place(g, l);
			break;
		case NFP_ICMP6:
			guards(g, n->l, f);
			set_offsets(g, n);
			require_linktype(g, 0x86dd, f);
			l = label_new(g);
			cmp(g, 1, g->off_nl + 6, 58, l, f);
			place(g, l);
			break;
		default:
			require_linktype(g, 0x0800, f);
			guards(g, n->l, f);
			set_offsets(g, n);
			/* IPv4 is known here: the protocol byte is all that is left */
			l = label_new(g);
			cmp(g, 1, g->off_nl + 9, n->proto == NFP_TCP ? 6 : n->proto == NFP_UDP ? 17 :
			    n->proto == NFP_SCTP ? 132 : n->proto == NFP_ICMP ? 1 : 2, l, f);
			place(g, l);
			l = label_new(g);
			not_fragment(g, l, f);
			place(g, l);
			break;
		}
		break;
	default:
		break;
	}
}

static void value(struct gen *g, const struct nf_node *n);

static void load_value(struct gen *g, const struct nf_node *n)
{
	uint16_t sz = sz_code(n->size);
	uint32_t c, base;
	bool k = const_value(g, n->l, &c);
	int r;

	if (n->proto == NFP_LINK) {
		base = 0;
	} else {
		set_offsets(g, n);
		base = g->off_nl + (n->proto == NFP_ICMP6 ? 40 : 0);
	}
	if (!is_transport(n->proto)) {
		if (k) {
			stmt(g, NF_LD | sz | NF_ABS, base + c);
		} else {
			value(g, n->l);
			stmt(g, NF_MISC | NF_TAX, 0);
			stmt(g, NF_LD | sz | NF_IND, base);
		}
		return;
	}
	if (k) {
		set_offsets(g, n);
		ldx_iphdr(g);
		stmt(g, NF_LD | sz | NF_IND, base + c);
		return;
	}
	value(g, n->l);
	r = alloc_reg(g);
	stmt(g, NF_ST, (uint32_t)r);
	set_offsets(g, n);
	ldx_iphdr(g);
	stmt(g, NF_LD | NF_MEM, (uint32_t)r);
	stmt(g, NF_ALU | NF_ADD | NF_X, 0);
	stmt(g, NF_MISC | NF_TAX, 0);
	stmt(g, NF_LD | sz | NF_IND, base);
	free_reg(g, r);
}

static void value(struct gen *g, const struct nf_node *n)
{
	uint32_t c;
	int r;

	if (g->err)
		return;
	if (const_value(g, n, &c)) {
		stmt(g, NF_LD | NF_IMM, c);
		return;
	}
	switch (n->kind) {
	case NFA_LEN:
		stmt(g, NF_LD | NF_W | NF_LEN, 0);
		break;
	case NFA_LOAD:
		load_value(g, n);
		break;
	case NFA_NEG:
		value(g, n->l);
		stmt(g, NF_ALU | NF_NEG, 0);
		break;
	case NFA_BIN:
		if (const_value(g, n->r, &c)) {
			if ((n->op == NF_DIV || n->op == NF_MOD) && c == 0) {
				gerr(g, "%s at column %u",
				     n->op == NF_DIV ? "division by zero" : "modulus by zero", n->col);
				return;
			}
			if ((n->op == NF_LSH || n->op == NF_RSH) && c > 31) {
				gerr(g, "shift by more than 31 bits at column %u", n->col);
				return;
			}
			value(g, n->l);
			stmt(g, NF_ALU | n->op | NF_K, c);
			break;
		}
		/* as libpcap: left into M[r], right into X, then A = M[r] op X */
		value(g, n->l);
		r = alloc_reg(g);
		stmt(g, NF_ST, (uint32_t)r);
		value(g, n->r);
		stmt(g, NF_MISC | NF_TAX, 0);
		stmt(g, NF_LD | NF_MEM, (uint32_t)r);
		stmt(g, NF_ALU | n->op | NF_X, 0);
		free_reg(g, r);
		break;
	default:
		break;
	}
}

static void gen_rel(struct gen *g, const struct nf_node *n, int32_t t, int32_t f)
{
	uint32_t c;
	int32_t tt = n->v2 ? f : t, ff = n->v2 ? t : f;

	guards(g, n->l, f);
	guards(g, n->r, f);
	if (const_value(g, n->r, &c)) {
		uint32_t mask;

		if (n->op == NF_JEQ && c == 0 && n->l->kind == NFA_BIN && n->l->op == NF_AND &&
		    const_value(g, n->l->r, &mask)) {
			/* x & k == 0: libpcap's optimizer makes it a jset */
			value(g, n->l->l);
			jump(g, NF_JSET, mask, ff, tt);
			return;
		}
		value(g, n->l);
		jump(g, n->op, c, tt, ff);
		return;
	}
	{
		int r;

		value(g, n->l);
		r = alloc_reg(g);
		stmt(g, NF_ST, (uint32_t)r);
		value(g, n->r);
		stmt(g, NF_MISC | NF_TAX, 0);
		stmt(g, NF_LD | NF_MEM, (uint32_t)r);
		free_reg(g, r);
		jump(g, n->op | NF_X, 0, tt, ff);
	}
}

/* --- boolean structure ----------------------------------------------------------------- */

static void gen_cond(struct gen *g, const struct nf_node *n, int32_t t, int32_t f);

static void gen_prim(struct gen *g, const struct nf_node *n, int32_t t, int32_t f)
{
	int32_t l, l2;

	set_offsets(g, n);
	switch (n->kind) {
	case NFN_TRUE:
		goto_label(g, t);
		break;
	case NFN_FALSE:
		goto_label(g, f);
		break;
	case NFN_PROTO:
		proto_abbrev(g, n, n->proto, t, f);
		break;
	case NFN_LINKTYPE:
		linktype(g, n->v1, t, f);
		break;
	case NFN_IPPROTO:
		if (n->proto == NFP_IP)
			ip4proto(g, n->v1, t, f);
		else if (n->proto == NFP_IP6)
			ip6proto(g, n->v1, t, f);
		else
			ipproto_any(g, n->v1, t, f);
		break;
	case NFN_HOST4:
		gen_host4(g, n, t, f);
		break;
	case NFN_HOST6:
		require_linktype(g, 0x86dd, f);
		dirtest(g, n, test_v6, g->off_nl + 8, g->off_nl + 24, t, f);
		break;
	case NFN_EHOST:
	case NFN_EBCAST:
		if (g->kind != LT_ETH) {
			gerr(g, "ethernet addresses supported only on ethernet (link type %u) at column %u",
			     g->linktype, n->col);
			break;
		}
		if (n->kind == NFN_EBCAST) {
			struct nf_node b = *n;

			memset(b.mac, 0xff, sizeof(b.mac));
			b.dir = NFD_DST;
			dirtest(g, &b, test_mac, 6, 0, t, f);
		} else {
			dirtest(g, n, test_mac, 6, 0, t, f);
		}
		break;
	case NFN_EMCAST:
		if (g->kind != LT_ETH) {
			gerr(g, "link-layer multicast filters supported only on ethernet (link type %u) "
			     "at column %u", g->linktype, n->col);
			break;
		}
		ld_abs(g, 1, 0);
		jump(g, NF_JSET, 1, t, f);
		break;
	case NFN_IPMCAST:
		l = label_new(g);
		if (n->proto == NFP_IP) {
			linktype(g, 0x0800, l, f);
			place(g, l);
			ld_abs(g, 1, g->off_nl + 16);
			jump(g, NF_JGE, 224, t, f);
		} else {
			linktype(g, 0x86dd, l, f);
			place(g, l);
			cmp(g, 1, g->off_nl + 24, 255, t, f);
		}
		break;
	case NFN_PORT:
		gen_port(g, n, t, f);
		break;
	case NFN_VLAN:
		if (g->kind != LT_ETH) {
			gerr(g, "no VLAN support for link type %u at column %u", g->linktype, n->col);
			break;
		}
		l = label_new(g);
		l2 = label_new(g);
		ld_abs(g, 2, g->off_lt);
		jump(g, NF_JEQ, 0x8100, l, l2);
		place(g, l2);
		l2 = label_new(g);
		jump(g, NF_JEQ, 0x88a8, l, l2);
		place(g, l2);
		jump(g, NF_JEQ, 0x9100, l, f);
		place(g, l);
		if (n->v2)
			mcmp(g, 2, g->off_nl, 0x0fff, n->v1, t, f);
		else
			goto_label(g, t);
		break;
	case NFN_REL:
		gen_rel(g, n, t, f);
		break;
	default:
		gerr(g, "internal error: node kind %u", n->kind);
		break;
	}
}

static void gen_cond(struct gen *g, const struct nf_node *n, int32_t t, int32_t f)
{
	int32_t l;

	if (g->err)
		return;
	switch (n->kind) {
	case NFN_AND:
		l = label_new(g);
		gen_cond(g, n->l, l, f);
		place(g, l);
		gen_cond(g, n->r, t, f);
		break;
	case NFN_OR:
		l = label_new(g);
		gen_cond(g, n->l, t, l);
		place(g, l);
		gen_cond(g, n->r, t, f);
		break;
	case NFN_NOT:
		gen_cond(g, n->l, f, t);
		break;
	default:
		gen_prim(g, n, t, f);
		break;
	}
}

/* --- layout ---------------------------------------------------------------------------- */

static int layout(struct gen *g, struct netmoon_bpf_insn **out, size_t *outn)
{
	struct netmoon_bpf_insn *p;
	bool again = true;

	while (again && !g->err) {
		again = false;
		for (size_t i = 0; i < g->n; i++) {
			struct ginsn *in = &g->ins[i];
			int32_t *side;
			int32_t far, tl;

			if (NF_CLASS(in->code) != NF_JMP || NF_OP(in->code) == NF_JA)
				continue;
			if (g->labs[in->lt].pos - (int32_t)i - 1 > 255)
				side = &in->lt;
			else if (g->labs[in->lf].pos - (int32_t)i - 1 > 255)
				side = &in->lf;
			else
				continue;
			far = *side;
			tl = label_new(g);
			if (g->err)
				break;
			/* make room at i + 1 for "ja far" */
			raw_emit(g, 0, 0, -1, -1);
			if (g->err)
				break;
			in = &g->ins[i];
			side = side == &g->ins[i].lt ? &in->lt : &in->lf;
			memmove(&g->ins[i + 2], &g->ins[i + 1], (g->n - i - 2) * sizeof(*g->ins));
			g->ins[i + 1] = (struct ginsn){ NF_JMP | NF_JA, 0, far, far };
			for (size_t k = 0; k < g->nlab; k++)
				if (g->labs[k].pos > (int32_t)i)
					g->labs[k].pos++;
			g->labs[tl].pos = (int32_t)i + 1;
			*side = tl;
			again = true;
			break;
		}
	}
	if (g->err)
		return g->err;
	if (g->n > NETMOON_FILTER_MAX_INSNS) {
		netmoon__filter_seterr(g->errbuf, g->errlen,
				       "program too large (%zu instructions, the limit is %d)", g->n,
				       NETMOON_FILTER_MAX_INSNS);
		return -E2BIG;
	}
	p = calloc(g->n, sizeof(*p));
	if (!p) {
		nomem(g);
		return g->err;
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct ginsn *in = &g->ins[i];

		p[i].code = in->code;
		p[i].k = in->k;
		if (NF_CLASS(in->code) == NF_JMP) {
			if (NF_OP(in->code) == NF_JA) {
				p[i].k = (uint32_t)(g->labs[in->lt].pos - (int32_t)i - 1);
			} else {
				p[i].jt = (uint8_t)(g->labs[in->lt].pos - (int32_t)i - 1);
				p[i].jf = (uint8_t)(g->labs[in->lf].pos - (int32_t)i - 1);
			}
		}
	}
	*out = p;
	*outn = g->n;
	return 0;
}

/* --- can anything be accepted? ------------------------------------------------------- */

#define MAX_FACTS 16
#define MAX_PATH_DEPTH 400

struct fact {
	uint16_t code;
	uint32_t k, mask, val;
	bool eq;
};

struct astate {
	uint8_t kind; /* AK_UNKNOWN, AK_LOAD (code, k, mask), AK_IMM (k) */
	uint16_t code;
	uint32_t k, mask;
	uint8_t nfacts;
	struct fact facts[MAX_FACTS];
};

static bool known_value(const struct astate *s, uint32_t *v)
{
	if (s->kind == AK_IMM) {
		*v = s->k;
		return true;
	}
	if (s->kind != AK_LOAD)
		return false;
	for (unsigned i = 0; i < s->nfacts; i++) {
		const struct fact *f = &s->facts[i];

		if (f->eq && f->code == s->code && f->k == s->k && f->mask == s->mask) {
			*v = f->val;
			return true;
		}
	}
	return false;
}

static bool known_ne(const struct astate *s, uint32_t v)
{
	for (unsigned i = 0; i < s->nfacts; i++) {
		const struct fact *f = &s->facts[i];

		if (!f->eq && f->code == s->code && f->k == s->k && f->mask == s->mask && f->val == v)
			return true;
	}
	return false;
}

static void add_fact(struct astate *s, bool eq, uint32_t v)
{
	if (s->kind != AK_LOAD || s->nfacts == MAX_FACTS)
		return;
	s->facts[s->nfacts++] = (struct fact){ s->code, s->k, s->mask, v, eq };
}

static bool accept_reachable(const struct netmoon_bpf_insn *p, size_t n, size_t pc,
			     struct astate s, unsigned long *budget, unsigned depth)
{
	if (depth > MAX_PATH_DEPTH)
		return true; /* give up: assume it can */
	while (pc < n) {
		const struct netmoon_bpf_insn *in = &p[pc];
		uint32_t v;

		if ((*budget)-- == 0)
			return true;
		switch (NF_CLASS(in->code)) {
		case NF_RET:
			return NF_RVAL(in->code) == NF_A || in->k != 0;
		case NF_LD:
			if (NF_MODE(in->code) == NF_ABS) {
				s.kind = AK_LOAD;
				s.code = in->code;
				s.k = in->k;
				s.mask = 0xffffffff;
			} else if (NF_MODE(in->code) == NF_IMM) {
				s.kind = AK_IMM;
				s.k = in->k;
			} else {
				s.kind = AK_UNKNOWN;
			}
			break;
		case NF_ALU:
			if (in->code == (NF_ALU | NF_AND | NF_K) && s.kind == AK_LOAD &&
			    s.mask == 0xffffffff)
				s.mask = in->k;
			else if (s.kind == AK_IMM && NF_SRC(in->code) == NF_K &&
				 NF_OP(in->code) == NF_AND)
				s.k &= in->k;
			else
				s.kind = AK_UNKNOWN;
			break;
		case NF_MISC:
			if (NF_MISCOP(in->code) == NF_TXA)
				s.kind = AK_UNKNOWN;
			break;
		case NF_JMP:
			if (NF_OP(in->code) == NF_JA) {
				pc += in->k;
				break;
			}
			if (NF_SRC(in->code) == NF_K && known_value(&s, &v)) {
				bool t;

				switch (NF_OP(in->code)) {
				case NF_JEQ: t = v == in->k; break;
				case NF_JGT: t = v > in->k; break;
				case NF_JGE: t = v >= in->k; break;
				default: t = (v & in->k) != 0; break;
				}
				pc += t ? in->jt : in->jf;
				break;
			}
			if (NF_OP(in->code) == NF_JEQ && NF_SRC(in->code) == NF_K) {
				struct astate ts = s;

				if (!known_ne(&s, in->k)) {
					add_fact(&ts, true, in->k);
					if (accept_reachable(p, n, pc + 1 + in->jt, ts, budget, depth + 1))
						return true;
				}
				add_fact(&s, false, in->k);
				pc += in->jf;
				break;
			}
			if (accept_reachable(p, n, pc + 1 + in->jt, s, budget, depth + 1))
				return true;
			pc += in->jf;
			break;
		default:
			break;
		}
		pc++;
	}
	return false;
}

/* --- entry points ---------------------------------------------------------------------- */

int netmoon__filter_gen(const struct nf_ast *ast, uint32_t lt, uint32_t snaplen,
			struct netmoon_bpf_insn **out, size_t *outn, char *errbuf, size_t errlen)
{
	struct gen g = { .pending = -1, .reachable = true, .errbuf = errbuf, .errlen = errlen,
			 .linktype = lt };
	int32_t acc, rej;
	int r;

	switch (lt) {
	case NETMOON_LINKTYPE_ETHERNET:
		g.kind = LT_ETH; g.base_lt = 12; g.base_nl = 14;
		break;
	case NETMOON_LINKTYPE_LINUX_SLL:
		g.kind = LT_SLL; g.base_lt = 14; g.base_nl = 16;
		break;
	case NETMOON_LINKTYPE_LINUX_SLL2:
		g.kind = LT_SLL2; g.base_lt = 0; g.base_nl = 20;
		break;
	case NETMOON_LINKTYPE_RAW_DLT12:
	case NETMOON_LINKTYPE_RAW_DLT14:
	case NETMOON_LINKTYPE_RAW:
		g.kind = LT_RAW;
		break;
	case NETMOON_LINKTYPE_IPV4:
		g.kind = LT_IPV4;
		break;
	case NETMOON_LINKTYPE_IPV6:
		g.kind = LT_IPV6;
		break;
	default:
		netmoon__filter_seterr(errbuf, errlen, "link type %u is not supported by the filter "
				       "compiler", lt);
		return NETMOON_E_LINKTYPE;
	}
	acc = label_new(&g);
	rej = label_new(&g);
	if (ast->root)
		gen_cond(&g, ast->root, acc, rej);
	else
		goto_label(&g, acc);
	place(&g, acc);
	stmt(&g, NF_RET | NF_K, snaplen);
	place(&g, rej);
	stmt(&g, NF_RET | NF_K, 0);
	if (!g.err && g.labs[acc].nin == 0)
		gerr(&g, "expression rejects all packets");
	r = g.err ? g.err : layout(&g, out, outn);
	if (r == 0) {
		unsigned long budget = 200000;
		struct astate s = { 0 };

		if (!accept_reachable(*out, *outn, 0, s, &budget, 0)) {
			free(*out);
			*out = NULL;
			netmoon__filter_seterr(errbuf, errlen, "expression rejects all packets");
			r = -EINVAL;
		}
	}
	free(g.ins);
	free(g.labs);
	return r;
}

NETMOON_API int netmoon_filter_compile(struct netmoon_filter **f, const char *expr,
				       uint32_t linktype, uint32_t snaplen, char *errbuf,
				       size_t errlen)
{
	struct nf_ast ast;
	struct netmoon_bpf_insn *prog = NULL;
	struct netmoon_filter *nf;
	bool uses_vlan = false;
	size_t n = 0;
	int r;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!f) {
		netmoon__filter_seterr(errbuf, errlen, "no place for the filter (NULL)");
		return -EINVAL;
	}
	if (snaplen == 0)
		snaplen = 262144;
	r = netmoon__filter_parse(expr, &ast, errbuf, errlen);
	if (r < 0)
		return r;
	r = netmoon__filter_gen(&ast, linktype, snaplen, &prog, &n, errbuf, errlen);
	for (const struct nf_node *x = ast.nodes; x; x = x->next_alloc)
		uses_vlan |= x->kind == NFN_VLAN;
	netmoon__filter_ast_free(&ast);
	if (r < 0)
		return r;
	if (netmoon__bpf_validate(prog, n) < 0) {
		free(prog);
		netmoon__filter_seterr(errbuf, errlen, "internal error: invalid program generated");
		return -EINVAL;
	}
	nf = malloc(sizeof(*nf) + n * sizeof(nf->insns[0]));
	if (!nf) {
		free(prog);
		netmoon__filter_seterr(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	nf->len = n;
	nf->linktype = linktype;
	nf->uses_vlan = uses_vlan;
	memcpy(nf->insns, prog, n * sizeof(*prog));
	free(prog);
	*f = nf;
	return 0;
}

NETMOON_API size_t netmoon_filter_insn_count(const struct netmoon_filter *f)
{
	return f ? f->len : 0;
}

NETMOON_API int netmoon_filter_get_bpf(const struct netmoon_filter *f, void *insns, size_t *count)
{
	size_t room;

	if (!f || !count)
		return -EINVAL;
	room = *count;
	*count = f->len;
	if (!insns)
		return 0;
	if (room < f->len)
		return -ENOSPC;
	memcpy(insns, f->insns, f->len * sizeof(f->insns[0]));
	return 0;
}

NETMOON_API void netmoon_filter_free(struct netmoon_filter *f)
{
	free(f);
}
