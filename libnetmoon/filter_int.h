/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The filter compiler's insides: classic BPF opcodes, the syntax tree the
 * parser (filter_parse.c) hands to the code generator (filter_gen.c), and
 * the interpreter (filter_bpf.c).  Never installed.
 */
#ifndef NETMOON_FILTER_INT_H
#define NETMOON_FILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netmoon/filter.h>

/* Classic BPF opcodes, with the kernel's values (not its headers). */
#define NF_CLASS(c) ((c) & 0x07)
#define NF_LD 0x00
#define NF_LDX 0x01
#define NF_ST 0x02
#define NF_STX 0x03
#define NF_ALU 0x04
#define NF_JMP 0x05
#define NF_RET 0x06
#define NF_MISC 0x07
#define NF_SIZE(c) ((c) & 0x18)
#define NF_W 0x00
#define NF_H 0x08
#define NF_B 0x10
#define NF_MODE(c) ((c) & 0xe0)
#define NF_IMM 0x00
#define NF_ABS 0x20
#define NF_IND 0x40
#define NF_MEM 0x60
#define NF_LEN 0x80
#define NF_MSH 0xa0
#define NF_OP(c) ((c) & 0xf0)
#define NF_ADD 0x00
#define NF_SUB 0x10
#define NF_MUL 0x20
#define NF_DIV 0x30
#define NF_OR 0x40
#define NF_AND 0x50
#define NF_LSH 0x60
#define NF_RSH 0x70
#define NF_NEG 0x80
#define NF_MOD 0x90
#define NF_XOR 0xa0
#define NF_JA 0x00
#define NF_JEQ 0x10
#define NF_JGT 0x20
#define NF_JGE 0x30
#define NF_JSET 0x40
#define NF_SRC(c) ((c) & 0x08)
#define NF_K 0x00
#define NF_X 0x08
#define NF_RVAL(c) ((c) & 0x18)
#define NF_A 0x10
#define NF_MISCOP(c) ((c) & 0xf8)
#define NF_TAX 0x00
#define NF_TXA 0x80

#define NF_MEMWORDS 16

struct netmoon_filter {
	size_t len;
	uint32_t linktype;
	bool uses_vlan;   /* the expression has a vlan keyword */
	struct netmoon_bpf_insn insns[];
};

/* Protocol qualifiers (libpcap's Q_ values, our numbering). */
enum nf_proto {
	NFP_DEFAULT = 0,
	NFP_LINK,
	NFP_IP,
	NFP_ARP,
	NFP_RARP,
	NFP_TCP,
	NFP_UDP,
	NFP_ICMP,
	NFP_IGMP,
	NFP_SCTP,
	NFP_IP6,
	NFP_ICMP6,
};

/* Direction qualifiers. */
enum nf_dir { NFD_DEFAULT = 0, NFD_SRC, NFD_DST, NFD_OR, NFD_AND };

/* Node kinds of the syntax tree. */
enum nf_kind {
	NFN_TRUE = 1,
	NFN_FALSE,
	NFN_AND,
	NFN_OR,
	NFN_NOT,
	NFN_PROTO,    /* ip, tcp, ...: proto */
	NFN_LINKTYPE, /* ether proto v1 */
	NFN_IPPROTO,  /* proto v1 under qualifier proto (DEFAULT: IPv4 or IPv6) */
	NFN_HOST4,    /* proto (DEFAULT, IP, ARP, RARP), dir, a[0]/m[0] */
	NFN_HOST6,    /* dir, a[4]/m[4] */
	NFN_EHOST,    /* dir, mac */
	NFN_PORT,     /* proto (DEFAULT, TCP, UDP, SCTP), dir, v1..v2 */
	NFN_VLAN,     /* v2: 1 when an id v1 is tested */
	NFN_EBCAST,   /* ether broadcast */
	NFN_EMCAST,   /* ether multicast */
	NFN_IPMCAST,  /* ip multicast / ip6 multicast (proto) */
	NFN_REL,      /* op (NF_JEQ/JGT/JGE), v2: negated; l, r: arithmetic */
	/* arithmetic */
	NFA_NUM,      /* v1 */
	NFA_LEN,
	NFA_LOAD,     /* proto, size; l: index */
	NFA_BIN,      /* op (NF_ADD...); l, r */
	NFA_NEG,      /* l */
};

struct nf_node {
	uint8_t kind;
	uint8_t op;
	uint8_t proto;
	uint8_t dir;
	uint8_t size;
	uint16_t vlan; /* number of vlan keywords before this node */
	uint32_t col;  /* 1-based column of the node's first token */
	uint32_t v1, v2;
	uint32_t a[4], m[4];
	uint8_t mac[6];
	struct nf_node *l, *r;
	struct nf_node *next_alloc;
};

struct nf_ast {
	struct nf_node *root; /* NULL: accept everything */
	struct nf_node *nodes; /* every node, for freeing */
};

/* Parse expr into ast; -EINVAL with a message (with column) in errbuf. */
int netmoon__filter_parse(const char *expr, struct nf_ast *ast, char *errbuf, size_t errlen);
void netmoon__filter_ast_free(struct nf_ast *ast);

/* Generate the program; *out is malloc'ed, *n its length. */
int netmoon__filter_gen(const struct nf_ast *ast, uint32_t linktype, uint32_t snaplen,
			struct netmoon_bpf_insn **out, size_t *n, char *errbuf, size_t errlen);

/* 0 when the program is well formed (forward jumps in range, ends in ret,
 * valid opcodes and memory slots, no constant division by zero). */
int netmoon__bpf_validate(const struct netmoon_bpf_insn *p, size_t n);

/* Run a validated program: its return value (0 = reject). */
uint32_t netmoon__bpf_run(const struct netmoon_bpf_insn *p, size_t n, const uint8_t *pkt,
			  uint32_t caplen, uint32_t wirelen);

void netmoon__filter_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* NETMOON_FILTER_INT_H */
