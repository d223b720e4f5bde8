/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connection table's insides, shared by conntable.c (table, hashing,
 * lists, expiry), conn_tcp.c (TCP state, Zeek history/conn_state, RTTs) and
 * conn_frag.c (first-fragment cache).  Never installed.
 *
 * Memory: one entry is 176 bytes; with its hash bucket (a uint32_t; 4 to 8
 * bytes per connection, the bucket count being the power of two at or above
 * max_conns) a connection costs 180 to 184 bytes, plus its share of the
 * fragment cache (48 KiB by default: 0.2 bytes each at the default cap).
 * Entries live in one calloc'ed array (pages are touched as the table
 * fills), linked by 32-bit indices (index + 1, 0 = none) instead of
 * pointers.
 */
#ifndef NETMOON_CONNTABLE_INT_H
#define NETMOON_CONNTABLE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* Timeout classes: one LRU list each, so each list's head expires first. */
enum ct_class {
	CT_C_SYN = 0,     /* TCP SYN_SENT, SYN_RECV */
	CT_C_EST = 1,     /* TCP ESTABLISHED */
	CT_C_CLOSING = 2, /* TCP FIN_WAIT, CLOSE_WAIT, LAST_ACK */
	CT_C_CLOSED = 3,  /* TCP TIME_WAIT, RESET: lingering for late packets */
	CT_C_UDP = 4,
	CT_C_ICMP = 5,
	CT_C_OTHER = 6,
	/* Embryonic: no reply seen yet (the first to go when the table fills). */
	CT_C_UDP_NEW = 7,
	CT_C_ICMP_NEW = 8,
	CT_C_OTHER_NEW = 9,
	CT_NCLASS = 10,
};

/* Zeek's per-endpoint TCP states (its TCP_ENDPOINT_*), for conn_state. */
enum ct_zeek_ep {
	ZK_INACTIVE = 0,
	ZK_SYN_SENT = 1,
	ZK_SYN_ACK_SENT = 2,
	ZK_PARTIAL = 3,
	ZK_ESTABLISHED = 4,
	ZK_CLOSED = 5,
	ZK_RESET = 6,
};

/*
 * Hot flags (netmoon_conn::hflags): what the per-packet path of an
 * established connection looks at, kept in the first cache line.
 */
#define HF_A0 0x0001u        /* history letter A seen (orig pure ACK) */
#define HF_A1 0x0002u        /* a */
#define HF_D0 0x0004u        /* D */
#define HF_D1 0x0008u        /* d */
#define HF_FIN0 0x0010u      /* orig sent a FIN; seq_o holds its sequence number */
#define HF_FIN1 0x0020u      /* resp sent a FIN; seq_r holds it */
#define HF_RTT_ARMED 0x0040u /* a SYN or SYN/ACK was seen, the handshake ACK not yet */
#define HF_DIR_GUESSED 0x0080u
#define HF_ZK_SHIFT 8        /* 3 bits orig, 3 bits resp: enum ct_zeek_ep */
#define HF_ZK_MASK 0x7u

/* Cold flags (top 16 bits of netmoon_conn::id_cflags). */
#define CF_RTT_SYN 0x0001u    /* rtt_r holds rtt_syn */
#define CF_RTT_ACK 0x0002u    /* rtt_ack known (see netmoon__tcp_rtts) */
#define CF_HANDSHAKE 0x0004u  /* rtt_a holds the handshake RTT */
#define CF_SYN_PENDING 0x0008u /* rtt_a holds the time of the latest SYN */
#define CF_SYNACK_SEEN 0x0010u /* the first SYN/ACK was seen */
#define CF_ACK_OK 0x0020u     /* rtt_ack can still be measured */
#define CF_FACK0 0x0040u      /* orig's FIN was acknowledged */
#define CF_FACK1 0x0080u      /* resp's FIN was acknowledged */
#define CF_ISN 0x0100u        /* seq_o holds orig's initial sequence number */

#define CT_ID_BITS 48
#define CT_ID_MASK ((UINT64_C(1) << CT_ID_BITS) - 1)

/* Bits of netmoon_conn::vmeta (all of it is key). */
#define VM_VID1_SHIFT 12
#define VM_NVLAN_SHIFT 24
#define VM_V6 (1u << 26)

struct ct_dir {
	uint64_t pkts;
	uint64_t bytes;
	uint64_t ip_bytes;
	uint64_t payload_bytes;
};

/*
 * One connection.  The first 64 bytes are what a lookup and the common
 * per-packet update touch (key, hash chain, LRU links, last time); the
 * counters fill the second 64; the rest is touched by TCP control packets
 * and by readers.  The key is stored in orig order.
 */
struct netmoon_conn {
	uint64_t addr[2][2];  /* orig, resp: 16 bytes each (IPv4 in the first 4) */
	union {
		struct {
			uint32_t ports;  /* orig port | resp port << 16 (ICMP: type | id-or-code << 16) */
			uint32_t vmeta;  /* vid0 | vid1 << 12 | nvlan << 24 | v6 << 26 */
		};
		uint64_t pv;         /* the two above as one word, for compares */
	};
	uint8_t proto;
	uint8_t state;        /* enum netmoon_conn_state; 0 = free slot */
	uint16_t hflags;      /* HF_* */
	uint32_t hnext;       /* hash chain; free list when the slot is free */
	uint32_t lprev;       /* LRU list of the entry's timeout class */
	uint32_t lnext;
	int64_t ts_last;

	struct ct_dir dir[2]; /* 0 = orig -> resp, 1 = resp -> orig */

	int64_t ts_first;
	uint64_t id_cflags;   /* id (48 bits) | CF_* << 48 */
	uint64_t history;     /* Zeek letters, 4-bit codes, first letter in the low nibble */
	uint32_t seq_o;       /* orig's ISN (CF_ISN), then its FIN's sequence number (HF_FIN0) */
	uint32_t seq_r;       /* resp's FIN's sequence number (HF_FIN1) */
	int64_t rtt_a;        /* latest SYN's time, then the handshake RTT */
	int64_t rtt_r;        /* rtt_syn, or the first SYN/ACK's time then rtt_ack */
};

_Static_assert(sizeof(struct netmoon_conn) == 176, "connection entry grew");
_Static_assert(offsetof(struct netmoon_conn, dir) == 64, "hot part is not one line");

static inline uint32_t ct_cflags(const struct netmoon_conn *e)
{
	return (uint32_t)(e->id_cflags >> CT_ID_BITS);
}

static inline void ct_cflags_set(struct netmoon_conn *e, uint32_t bits)
{
	e->id_cflags |= (uint64_t)bits << CT_ID_BITS;
}

static inline void ct_cflags_clear(struct netmoon_conn *e, uint32_t bits)
{
	e->id_cflags &= ~((uint64_t)bits << CT_ID_BITS);
}

static inline unsigned ct_zk(const struct netmoon_conn *e, unsigned d)
{
	return (e->hflags >> (HF_ZK_SHIFT + 3 * d)) & HF_ZK_MASK;
}

static inline void ct_zk_set(struct netmoon_conn *e, unsigned d, unsigned zs)
{
	unsigned sh = HF_ZK_SHIFT + 3 * d;

	e->hflags = (uint16_t)((e->hflags & ~(HF_ZK_MASK << sh)) | (zs << sh));
}

/*
 * History: letters are 4-bit codes, appended at the first free nibble.  At
 * most 15 codes exist (7 per direction and '^'), so a history never needs
 * more than 15 of the 16 nibbles and the top one stays zero.
 */
enum ct_hist_code {
	H_S = 1, H_H, H_A, H_D, H_F, H_R, H_Q, /* orig; resp codes are these + 7 */
	H_FLIP = 15,                           /* '^' */
};
#define H_RESP 7

static inline bool ct_hist_has(uint64_t h, unsigned code)
{
	/* A nibble equal to code becomes zero; test for any zero nibble. */
	uint64_t x = h ^ (UINT64_C(0x1111111111111111) * code);

	return ((x - UINT64_C(0x1111111111111111)) & ~x & UINT64_C(0x8888888888888888)) != 0;
}

static inline void ct_hist_add(struct netmoon_conn *e, unsigned code)
{
	unsigned used;

	if (ct_hist_has(e->history, code))
		return;
	used = e->history ? (67u - (unsigned)__builtin_clzll(e->history)) / 4u : 0;
	if (used < 15)
		e->history |= (uint64_t)code << (4 * used);
}

int netmoon__ct_history_str(uint64_t h, char *buf, size_t sz);

/* --- conn_tcp.c -------------------------------------------------------- */

/* Orientation of a new TCP connection: 1 when orig is the receiver of f. */
unsigned netmoon__tcp_first_flip(const struct netmoon_frame *f, bool *guessed);
/* Prepare a fresh entry for its first TCP packet (after the key is set). */
void netmoon__tcp_init(struct netmoon_conn *e, bool flipped, bool guessed);
/* A SYN without ACK from direction d that must start a new connection. */
bool netmoon__tcp_is_reuse(const struct netmoon_conn *e, unsigned d,
			   const struct netmoon_frame *f);
/* Account one TCP packet from direction d (state, history, Zeek, RTTs); ts is its own stamp. */
void netmoon__tcp_update(struct netmoon_conn *e, unsigned d, const struct netmoon_frame *f,
			 int64_t ts);
int netmoon__tcp_zeek_state(const struct netmoon_conn *e);
/* RTTs in ns; returns the NETMOON_CONN_F_RTT_* / _HANDSHAKE bits that are valid. */
uint32_t netmoon__tcp_rtts(const struct netmoon_conn *e, int64_t *rtt_syn, int64_t *rtt_ack,
			   int64_t *handshake);

/* --- conntable.c, for the monitor's snapshots -------------------------- */

/* Live entries now. */
size_t netmoon__conntable_active(const struct netmoon_conntable *ct);
/* Copy up to max live entries to dst (memcpy: read them with netmoon_conn_get_info()). */
size_t netmoon__conntable_copy(const struct netmoon_conntable *ct, struct netmoon_conn *dst,
			       size_t max);
/* The table's time: the latest packet's or expire()'s. */
int64_t netmoon__conntable_now(const struct netmoon_conntable *ct);

/* --- conn_frag.c ------------------------------------------------------- */

struct ct_frag_slot;

struct ct_frag {
	struct ct_frag_slot *slots;
	uint32_t mask;
};

int netmoon__frag_init(struct ct_frag *fc, uint32_t slots);
void netmoon__frag_free(struct ct_frag *fc);
size_t netmoon__frag_bytes(const struct ct_frag *fc);
/* Remember the first fragment f as belonging to entry idx (id, sender direction d). */
void netmoon__frag_remember(struct ct_frag *fc, const struct netmoon_frame *f, uint32_t idx,
			    uint64_t id, unsigned d);
/* Find a non-first fragment's first fragment: false when not remembered. */
bool netmoon__frag_lookup(const struct ct_frag *fc, const struct netmoon_frame *f,
			  uint32_t *idx, uint64_t *id, unsigned *d);

#endif /* NETMOON_CONNTABLE_INT_H */
