/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connection table: hashing, the entry array, the per-class LRU lists
 * that make expiry incremental, eviction, iteration, hooks and counters.
 * TCP's own logic is in conn_tcp.c, the fragment cache in conn_frag.c.
 *
 * Lookups hash the 5-tuple (plus VLANs) symmetrically, so both directions
 * land in the same bucket without normalising the key, then compare both
 * orientations; the entry keeps its key in orig order.
 *
 * Every entry sits in exactly one LRU list, the one of its timeout class.
 * Moving an entry to the tail touches its two neighbours, two cache misses
 * per packet in a big table, so a packet moves its entry only when its time
 * has entered a new "tick" of that class (a power of two no larger than
 * 1/64 of the class's timeout).  Table time never goes backwards, so each
 * list stays sorted by the tick of the last activity and its head is the
 * next to expire, give or take one tick: expiry is never early and at most
 * timeout/64 late.  (A packet of an idle-expired connection that is still
 * in the table is checked exactly and starts a new connection.)  Expiry
 * removes heads until none is due, and an eviction victim is a head too.
 * The earliest time any head can expire is kept as a lower bound, so the
 * per-packet expiry check is a single comparison.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conntable_int.h"

#define CT_DEFAULT_MAX_CONNS 262144u
#define CT_MAX_CONNS (1u << 30)
#define CT_DEFAULT_IDLE_NS (INT64_C(60) * 1000000000)
#define CT_DEFAULT_EMERGENCY_HIGH 90u /* percent of max_conns */
#define CT_DEFAULT_EMERGENCY_NS (INT64_C(5) * 1000000000)
#define CT_DEFAULT_FRAG_SLOTS 1024u
/* Removals track() may do for expiry before its packet: bounded work per call. */
#define CT_TRACK_EXPIRE_BUDGET 8

#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ICMPV6 58

struct ct_list {
	uint32_t head; /* index + 1; 0 = empty */
	uint32_t tail;
};

struct netmoon_conntable {
	struct netmoon_conn *ents;
	uint32_t *buckets;          /* index + 1 of the chain's first entry */
	uint32_t bmask;
	uint32_t max_conns;
	uint32_t bump;              /* entries [0, bump) have been used at least once */
	uint32_t free_head;         /* freed entries, chained through hnext */
	uint32_t flags;
	uint32_t in_hook;
	struct ct_list lists[CT_NCLASS];
	int64_t timeout[CT_NCLASS];  /* in force: the emergency's while it lasts */
	int64_t normal_timeout[CT_NCLASS];
	int64_t emergency_timeout;
	uint32_t emergency_high;    /* entries: enter emergency mode at this many ... */
	uint32_t emergency_low;     /* ... leave it below this many */
	uint8_t tick_shift[CT_NCLASS]; /* log2 of the class's LRU tick */
	int64_t now;                /* latest time seen */
	int64_t next_deadline;      /* no list head expires before this */
	uint64_t next_id;
	struct netmoon_conntable_hooks hooks;
	void *user;
	struct ct_frag frag;
	struct netmoon_conntable_stats st;
};

/* The lookup key of one frame, in frame order (sender first). */
struct ct_key {
	uint64_t a[2][2];
	uint64_t pv_fwd;  /* ports | vmeta as stored when the sender is orig */
	uint64_t pv_rev;  /* ... when the sender is resp */
	uint64_t hash;
	uint8_t proto;
};

/* --- small helpers ----------------------------------------------------- */

static inline uint32_t ct_idx(const struct netmoon_conntable *ct, const struct netmoon_conn *e)
{
	return (uint32_t)(e - ct->ents);
}

static inline uint64_t ct_id(const struct netmoon_conn *e)
{
	return e->id_cflags & CT_ID_MASK;
}

static inline uint64_t pv_make(uint32_t ports, uint32_t vmeta)
{
	uint32_t w[2] = { ports, vmeta };
	uint64_t pv;

	memcpy(&pv, w, sizeof(pv)); /* the layout of netmoon_conn's ports/vmeta */
	return pv;
}

static inline bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP;
}

static inline bool proto_needs_l4(uint8_t proto)
{
	return proto_has_ports(proto) || proto == IPPROTO_NUM_ICMP || proto == IPPROTO_NUM_ICMPV6;
}

/*
 * The frame carries its protocol's key: a decoded transport header, or, for
 * a first fragment, just the ports (the parser gives them for a header cut
 * after them, and a tiny first fragment must still lead its followers to
 * the flow).  Other frames with a cut header are left untracked, as tshark's
 * conversation tables leave them out.
 */
static inline bool frame_has_key(const struct netmoon_frame *f)
{
	return (f->layers & NETMOON_FRAME_L_L4) ||
	       ((f->layers & NETMOON_FRAME_L_PORTS) && proto_has_ports(f->ip_proto) &&
		(f->ip_flags & NETMOON_FRAME_IP_F_FRAGMENT));
}

static const uint8_t tcp_class[] = {
	[NETMOON_CONN_SYN_SENT] = CT_C_SYN,
	[NETMOON_CONN_SYN_RECV] = CT_C_SYN,
	[NETMOON_CONN_ESTABLISHED] = CT_C_EST,
	[NETMOON_CONN_FIN_WAIT] = CT_C_CLOSING,
	[NETMOON_CONN_CLOSE_WAIT] = CT_C_CLOSING,
	[NETMOON_CONN_LAST_ACK] = CT_C_CLOSING,
	[NETMOON_CONN_TIME_WAIT] = CT_C_CLOSED,
	[NETMOON_CONN_CLOSED] = CT_C_CLOSED,
	[NETMOON_CONN_RESET] = CT_C_CLOSED,
	[NETMOON_CONN_ACTIVE] = CT_C_EST,
	[NETMOON_CONN_EXPIRED] = CT_C_EST,
};

/*
 * Non-TCP flows are embryonic until the responder sends (HF_D1): a flood
 * from random sources fills these classes, and eviction takes them first.
 */
static inline unsigned ct_class(const struct netmoon_conn *e)
{
	unsigned fresh = (e->hflags & HF_D1) ? 0 : CT_C_UDP_NEW - CT_C_UDP;

	switch (e->proto) {
	case IPPROTO_NUM_TCP:
		return tcp_class[e->state];
	case IPPROTO_NUM_UDP:
		return CT_C_UDP + fresh;
	case IPPROTO_NUM_ICMP:
	case IPPROTO_NUM_ICMPV6:
		return CT_C_ICMP + fresh;
	default:
		return CT_C_OTHER + fresh;
	}
}

static inline bool class_embryonic(unsigned c)
{
	return c == CT_C_SYN || c >= CT_C_UDP_NEW;
}

static inline bool state_closed(uint8_t st)
{
	return st == NETMOON_CONN_TIME_WAIT || st == NETMOON_CONN_RESET;
}

static inline int64_t ct_deadline(const struct netmoon_conntable *ct,
				  const struct netmoon_conn *e, unsigned c)
{
	int64_t t = ct->timeout[c];

	return e->ts_last > INT64_MAX - t ? INT64_MAX : e->ts_last + t;
}

static inline void keep_err(int *err, int rc)
{
	if (rc < 0 && !*err)
		*err = rc;
}

/* --- hashing ----------------------------------------------------------- */

/*
 * One endpoint (address and, for TCP/UDP, its port).  The two endpoints'
 * values are added, which makes the hash independent of direction; a final
 * mix spreads the sum.  The constants are fixed so that replays of a file
 * always lay the table out the same way.
 */
static inline uint64_t ep_hash(const uint64_t a[2], uint64_t port)
{
	uint64_t x = (a[0] ^ port << 32 ^ (a[1] << 21 | a[1] >> 43)) * UINT64_C(0x9e3779b97f4a7c15);

	return x ^ x >> 32;
}

static inline uint64_t ct_hash(const uint64_t a0[2], const uint64_t a1[2], uint32_t ports,
			       bool per_endpoint, uint32_t vmeta, uint8_t proto)
{
	uint64_t h, meta = (uint64_t)vmeta << 8 | proto;

	if (per_endpoint) {
		h = ep_hash(a0, ports & 0xffff) + ep_hash(a1, ports >> 16);
	} else {
		h = ep_hash(a0, 0) + ep_hash(a1, 0);
		meta ^= (uint64_t)ports << 32;
	}
	h ^= meta * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return h;
}

static inline uint64_t entry_hash(const struct netmoon_conn *e)
{
	return ct_hash(e->addr[0], e->addr[1], e->ports, proto_has_ports(e->proto), e->vmeta,
		       e->proto);
}

/*
 * ICMP's "ports": echo-like messages are keyed by (request type, identifier),
 * the reply mapped to its request so both share an entry; every other
 * message by (type, code).  Unlike ports, these belong to neither endpoint.
 */
static uint32_t icmp_ports(const struct netmoon_frame *f)
{
	unsigned t = f->icmp_type;
	bool echo = false;

	if (f->ip_proto == IPPROTO_NUM_ICMP) {
		switch (t) {
		case 0: case 14: case 16: case 18:
			t = t ? t - 1 : 8;
			echo = true;
			break;
		case 8: case 13: case 15: case 17:
			echo = true;
			break;
		default:
			break;
		}
	} else if (t == 128 || t == 129) {
		t = 128;
		echo = true;
	}
	return t | (uint32_t)(echo ? f->icmp_id : f->icmp_code) << 16;
}

/*
 * The VLAN part of the key: the outermost two IDs (a provider's S-tag and the
 * customer's C-tag in Q-in-Q); deeper tags are not part of the key.
 */
static uint32_t frame_vmeta(const struct netmoon_conntable *ct, const struct netmoon_frame *f)
{
	uint32_t vm = f->ip_version == 6 ? VM_V6 : 0;
	unsigned n = f->vlan_count;

	if (n && !(ct->flags & NETMOON_CT_F_IGNORE_VLAN)) {
		if (n > 2)
			n = 2;
		vm |= (uint32_t)n << VM_NVLAN_SHIFT | (f->vlan_ids[0] & 0xfffu);
		if (n > 1)
			vm |= (uint32_t)(f->vlan_ids[1] & 0xfffu) << VM_VID1_SHIFT;
	}
	return vm;
}

/* Hot, with a caller in each entry point: inlined as when it had one. */
static inline __attribute__((always_inline)) void
key_build(const struct netmoon_conntable *ct, const struct netmoon_frame *f, struct ct_key *k)
{
	uint32_t vm = frame_vmeta(ct, f), ports = 0, rports;
	bool per_ep = proto_has_ports(f->ip_proto);

	memcpy(k->a[0], f->src_addr, 16);
	memcpy(k->a[1], f->dst_addr, 16);
	k->proto = f->ip_proto;
	if (per_ep) {
		ports = f->src_port | (uint32_t)f->dst_port << 16;
		rports = f->dst_port | (uint32_t)f->src_port << 16;
	} else {
		if ((f->ip_proto == IPPROTO_NUM_ICMP || f->ip_proto == IPPROTO_NUM_ICMPV6) &&
		    (f->layers & NETMOON_FRAME_L_L4))
			ports = icmp_ports(f);
		rports = ports;
	}
	k->pv_fwd = pv_make(ports, vm);
	k->pv_rev = pv_make(rports, vm);
	k->hash = ct_hash(k->a[0], k->a[1], ports, per_ep, vm, k->proto);
}

static inline bool addr_eq(const uint64_t x[2], const uint64_t y[2])
{
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* Find the entry of k; *d = 0 when the frame's sender is its orig. */
static inline __attribute__((always_inline)) struct netmoon_conn *
ct_lookup(const struct netmoon_conntable *ct, const struct ct_key *k, unsigned *d)
{
	uint32_t i = ct->buckets[k->hash & ct->bmask];

	while (i) {
		struct netmoon_conn *e = &ct->ents[i - 1];

		if (e->proto == k->proto) {
			if (e->pv == k->pv_fwd && addr_eq(e->addr[0], k->a[0]) &&
			    addr_eq(e->addr[1], k->a[1])) {
				*d = 0;
				return e;
			}
			if (e->pv == k->pv_rev && addr_eq(e->addr[0], k->a[1]) &&
			    addr_eq(e->addr[1], k->a[0])) {
				*d = 1;
				return e;
			}
		}
		i = e->hnext;
	}
	return NULL;
}

static void hash_insert(struct netmoon_conntable *ct, struct netmoon_conn *e, uint64_t hash)
{
	uint32_t *b = &ct->buckets[hash & ct->bmask];

	e->hnext = *b;
	*b = ct_idx(ct, e) + 1;
}

static void hash_unlink(struct netmoon_conntable *ct, struct netmoon_conn *e)
{
	uint32_t *p = &ct->buckets[entry_hash(e) & ct->bmask];
	uint32_t me = ct_idx(ct, e) + 1;

	while (*p && *p != me)
		p = &ct->ents[*p - 1].hnext;
	if (*p)
		*p = e->hnext;
}

/* --- LRU lists --------------------------------------------------------- */

static void lru_append(struct netmoon_conntable *ct, unsigned c, struct netmoon_conn *e)
{
	struct ct_list *l = &ct->lists[c];
	uint32_t me = ct_idx(ct, e) + 1;

	e->lnext = 0;
	e->lprev = l->tail;
	if (l->tail) {
		ct->ents[l->tail - 1].lnext = me;
	} else {
		int64_t dl = ct_deadline(ct, e, c);

		l->head = me;
		if (dl < ct->next_deadline)
			ct->next_deadline = dl;
	}
	l->tail = me;
}

static void lru_unlink(struct netmoon_conntable *ct, unsigned c, struct netmoon_conn *e)
{
	struct ct_list *l = &ct->lists[c];

	if (e->lprev)
		ct->ents[e->lprev - 1].lnext = e->lnext;
	else
		l->head = e->lnext;
	if (e->lnext)
		ct->ents[e->lnext - 1].lprev = e->lprev;
	else
		l->tail = e->lprev;
}

/* After a packet at now on an entry last active at before, in class c. */
static inline void lru_touch(struct netmoon_conntable *ct, unsigned c, struct netmoon_conn *e,
			     int64_t before, int64_t now)
{
	if (!(((uint64_t)before ^ (uint64_t)now) >> ct->tick_shift[c]))
		return; /* same tick: the list order still holds */
	if (ct->lists[c].tail == ct_idx(ct, e) + 1)
		return;
	lru_unlink(ct, c, e);
	lru_append(ct, c, e);
}

static void recompute_deadline(struct netmoon_conntable *ct)
{
	int64_t best = INT64_MAX;

	for (unsigned c = 0; c < CT_NCLASS; c++) {
		if (ct->lists[c].head) {
			int64_t dl = ct_deadline(ct, &ct->ents[ct->lists[c].head - 1], c);

			if (dl < best)
				best = dl;
		}
	}
	ct->next_deadline = best;
}

/* --- hooks ------------------------------------------------------------- */

static int fire_conn(struct netmoon_conntable *ct, netmoon_conn_cb cb, struct netmoon_conn *e)
{
	int rc;

	if (!cb)
		return 0;
	ct->in_hook++;
	rc = cb(e, ct->user);
	ct->in_hook--;
	return rc < 0 ? rc : 0;
}

static int fire_state(struct netmoon_conntable *ct, struct netmoon_conn *e, int old)
{
	int rc = 0;

	if (ct->hooks.on_state) {
		ct->in_hook++;
		rc = ct->hooks.on_state(e, old, ct->user);
		ct->in_hook--;
		if (rc > 0)
			rc = 0; /* only negative values are errors */
	}
	if (state_closed(e->state) && !state_closed((uint8_t)old))
		keep_err(&rc, fire_conn(ct, ct->hooks.on_close, e));
	return rc;
}

/* --- entries ----------------------------------------------------------- */

/*
 * Emergency mode (Suricata's idea): while the table is nearly full,
 * connections that never got an answer time out after emergency_timeout
 * instead of their normal timeout, so a flood of them clears itself; it
 * ends once the table is below the low-water mark.
 */
static void emergency_update(struct netmoon_conntable *ct)
{
	if (!ct->st.emergency && ct->st.active >= ct->emergency_high) {
		for (unsigned c = 0; c < CT_NCLASS; c++)
			if (class_embryonic(c) && ct->emergency_timeout < ct->timeout[c])
				ct->timeout[c] = ct->emergency_timeout;
		ct->st.emergency = 1;
		ct->st.emergencies++;
		recompute_deadline(ct);
	} else if (ct->st.emergency && ct->st.active < ct->emergency_low) {
		memcpy(ct->timeout, ct->normal_timeout, sizeof(ct->timeout));
		ct->st.emergency = 0;
		recompute_deadline(ct);
	}
}

static struct netmoon_conn *ct_alloc(struct netmoon_conntable *ct)
{
	struct netmoon_conn *e;

	if (ct->free_head) {
		e = &ct->ents[ct->free_head - 1];
		ct->free_head = e->hnext;
	} else if (ct->bump < ct->max_conns) {
		e = &ct->ents[ct->bump++];
	} else {
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	return e;
}

/*
 * Take e out of the table.  The hook sees it with its final state and
 * counters, already unlinked (the table is consistent during the hook); the
 * slot is freed when the hook returns.
 */
static int ct_remove(struct netmoon_conntable *ct, struct netmoon_conn *e, int reason)
{
	int rc = 0;

	lru_unlink(ct, ct_class(e), e);
	hash_unlink(ct, e);
	ct->st.active--;
	switch (reason) {
	case NETMOON_REMOVE_CLOSED:
		ct->st.closed++;
		if (e->state == NETMOON_CONN_TIME_WAIT)
			e->state = NETMOON_CONN_CLOSED;
		break;
	case NETMOON_REMOVE_EXPIRED:
		ct->st.expired++;
		if (e->proto != IPPROTO_NUM_TCP)
			e->state = NETMOON_CONN_EXPIRED;
		break;
	case NETMOON_REMOVE_EVICTED:
		ct->st.evicted++;
		break;
	case NETMOON_REMOVE_REUSED:
		ct->st.reused++;
		break;
	default:
		break;
	}
	if (ct->hooks.on_remove) {
		ct->in_hook++;
		rc = ct->hooks.on_remove(e, reason, ct->user);
		ct->in_hook--;
	}
	e->state = 0;
	e->hnext = ct->free_head;
	ct->free_head = ct_idx(ct, e) + 1;
	if (netmoon__unlikely(ct->st.emergency))
		emergency_update(ct);
	return rc < 0 ? rc : 0;
}

/* Idle past its class's timeout at now (strictly: exactly the timeout is not yet idle). */
static inline int expiry_reason(const struct netmoon_conntable *ct, const struct netmoon_conn *e,
				int64_t now)
{
	unsigned c = ct_class(e);

	if (now <= ct_deadline(ct, e, c))
		return 0;
	return c == CT_C_CLOSED ? NETMOON_REMOVE_CLOSED : NETMOON_REMOVE_EXPIRED;
}

/* Remove due list heads, earliest deadline first, at most budget (0 = all). */
static int64_t ct_expire(struct netmoon_conntable *ct, int64_t now, uint64_t budget, int *err)
{
	int64_t n = 0;
	int rc;

	while (!budget || (uint64_t)n < budget) {
		struct netmoon_conn *victim = NULL;
		int64_t best = INT64_MAX;
		unsigned best_c = 0;

		for (unsigned c = 0; c < CT_NCLASS; c++) {
			if (ct->lists[c].head) {
				struct netmoon_conn *h = &ct->ents[ct->lists[c].head - 1];
				int64_t dl = ct_deadline(ct, h, c);

				if (dl < now && dl < best) {
					best = dl;
					victim = h;
					best_c = c;
				}
			}
		}
		if (!victim)
			break;
		n++;
		rc = ct_remove(ct, victim, best_c == CT_C_CLOSED ? NETMOON_REMOVE_CLOSED
							      : NETMOON_REMOVE_EXPIRED);
		if (rc < 0) {
			keep_err(err, rc);
			break;
		}
	}
	recompute_deadline(ct);
	return n;
}

/*
 * Room for one more entry in a full table: an expired entry first, then the
 * oldest connection still in its handshake, then the least recently active
 * one (the oldest of the list heads).  Returns 0 when a slot is free,
 * NETMOON_E_TABLE_FULL when NO_EVICT forbids evicting; hook errors go to *err.
 */
static int ct_make_room(struct netmoon_conntable *ct, int64_t now, int *err)
{
	struct netmoon_conn *victim = NULL;

	if (ct_expire(ct, now, 1, err) > 0)
		return 0;
	if (ct->flags & NETMOON_CT_F_NO_EVICT)
		return NETMOON_E_TABLE_FULL;
	/* Linux conntrack's early drop: what never got an answer goes first. */
	for (int pass = 0; pass < 2 && !victim; pass++) {
		for (unsigned c = 0; c < CT_NCLASS; c++) {
			struct netmoon_conn *h;

			if (!ct->lists[c].head || (pass == 0 && !class_embryonic(c)))
				continue;
			h = &ct->ents[ct->lists[c].head - 1];
			if (!victim || h->ts_last < victim->ts_last)
				victim = h;
		}
	}
	if (!victim)
		return NETMOON_E_TABLE_FULL; /* cannot happen: a full table has heads */
	if (class_embryonic(ct_class(victim)))
		ct->st.evicted_embryonic++;
	keep_err(err, ct_remove(ct, victim, NETMOON_REMOVE_EVICTED));
	return 0;
}

/* Counters, time, and the protocol's own bookkeeping for one packet. */
static inline void ct_account(struct netmoon_conn *e, unsigned d, const struct netmoon_frame *f,
			      int64_t now)
{
	struct ct_dir *cd = &e->dir[d];

	cd->pkts++;
	cd->bytes += f->wirelen;
	cd->ip_bytes += f->ip_len;
	cd->payload_bytes += f->payload_len;
	e->ts_last = now;
}

/*
 * now is the table's time (never earlier than before), ts the packet's own
 * time stamp: RTTs are measured between packets' own stamps, as tshark does,
 * so a capture merged slightly out of order does not turn them into zeros.
 */
static inline void ct_packet(struct netmoon_conn *e, unsigned d, const struct netmoon_frame *f,
			     int64_t now, int64_t ts)
{
	ct_account(e, d, f, now);
	if (e->proto == IPPROTO_NUM_TCP) {
		if (netmoon__likely(f->layers & NETMOON_FRAME_L_L4))
			netmoon__tcp_update(e, d, f, ts);
		else if (!e->state)
			e->state = NETMOON_CONN_ESTABLISHED; /* flags unknown: as mid-stream */
	} else {
		/* As Zeek does for UDP: D / d once each side has sent. */
		uint16_t bit = d ? HF_D1 : HF_D0;

		if (netmoon__unlikely(!(e->hflags & bit))) {
			e->hflags |= bit;
			ct_hist_add(e, d ? H_RESP + H_D : H_D);
		}
	}
}

static struct netmoon_conn *ct_create(struct netmoon_conntable *ct, const struct netmoon_frame *f,
				      const struct ct_key *k, int64_t now, int64_t ts, unsigned *d,
				      int *err)
{
	struct netmoon_conn *e = ct_alloc(ct);
	unsigned flip = 0;
	bool guessed = false;

	if (!e) {
		int rc = ct_make_room(ct, now, err);

		if (rc < 0) {
			ct->st.refused++;
			return NULL;
		}
		e = ct_alloc(ct);
	}
	if (k->proto == IPPROTO_NUM_TCP)
		flip = netmoon__tcp_first_flip(f, &guessed);
	memcpy(e->addr[0], k->a[flip], 16);
	memcpy(e->addr[1], k->a[!flip], 16);
	e->pv = flip ? k->pv_rev : k->pv_fwd;
	e->proto = k->proto;
	e->ts_first = now;
	e->id_cflags = ++ct->next_id & CT_ID_MASK;
	if (k->proto == IPPROTO_NUM_TCP)
		netmoon__tcp_init(e, flip, guessed);
	else
		e->state = NETMOON_CONN_ACTIVE;
	hash_insert(ct, e, k->hash);
	*d = flip;
	ct_packet(e, flip, f, now, ts);
	lru_append(ct, ct_class(e), e);
	ct->st.created++;
	if (++ct->st.active > ct->st.peak)
		ct->st.peak = ct->st.active;
	if (netmoon__unlikely(ct->st.active >= ct->emergency_high))
		emergency_update(ct);
	keep_err(err, fire_conn(ct, ct->hooks.on_new, e));
	if (state_closed(e->state))
		keep_err(err, fire_conn(ct, ct->hooks.on_close, e));
	return e;
}

static inline bool frame_nonfirst_fragment(const struct netmoon_frame *f)
{
	return f->reason == NETMOON_FRAME_R_FRAGMENT ||
	       ((f->ip_flags & NETMOON_FRAME_IP_F_FRAGMENT) && f->frag_offset);
}

/* A later fragment of a TCP/UDP/ICMP datagram: count it where its first fragment went. */
static int ct_track_fragment(struct netmoon_conntable *ct, const struct netmoon_frame *f,
			     int64_t now, const struct netmoon_conn **out, int err)
{
	struct netmoon_conn *e;
	int64_t before;
	uint32_t idx;
	uint64_t id;
	unsigned d;

	if (!netmoon__frag_lookup(&ct->frag, f, &idx, &id, &d) || idx >= ct->bump)
		goto unattributed;
	e = &ct->ents[idx];
	if (!e->state || ct_id(e) != id)
		goto unattributed;
	if (expiry_reason(ct, e, now)) {
		keep_err(&err, ct_remove(ct, e, expiry_reason(ct, e, now)));
		goto unattributed;
	}
	before = e->ts_last;
	ct_account(e, d, f, now);
	lru_touch(ct, ct_class(e), e, before, now);
	ct->st.frag_attributed++;
	if (out)
		*out = e;
	return err;

unattributed:
	ct->st.frag_unattributed++;
	return err ? err : 1;
}

/* What the table makes of a frame: a function of the frame alone. */
enum ct_frame_kind {
	FK_UNTRACKED = 0, /* no IP header, or a TCP/UDP/ICMP frame without its key */
	FK_FRAGMENT,      /* a later fragment of a TCP/UDP/ICMP datagram: the fragment cache */
	FK_KEYED,         /* looked up by its key */
	FK_KEYED_LATER,   /* a later fragment of a protocol without ports: keyed by addresses */
};

static inline unsigned frame_kind(const struct netmoon_frame *f)
{
	bool nonfirst;

	if (netmoon__unlikely(!(f->layers & NETMOON_FRAME_L_IP)))
		return FK_UNTRACKED;
	nonfirst = frame_nonfirst_fragment(f);
	if (netmoon__unlikely(proto_needs_l4(f->ip_proto) && (nonfirst || !frame_has_key(f))))
		return nonfirst ? FK_FRAGMENT : FK_UNTRACKED;
	return nonfirst ? FK_KEYED_LATER : FK_KEYED;
}

/*
 * One packet, after the arguments were checked: the single code path of
 * netmoon_conntable_track() and netmoon_conntable_track_burst().  kind is
 * frame_kind(f); k its key (built by key_build()) when kind is FK_KEYED or
 * FK_KEYED_LATER, unused otherwise.  Returns what track() documents.
 * Inlined into both, so that track() costs what it did before bursts.
 */
static inline __attribute__((always_inline)) int
ct_track(struct netmoon_conntable *ct, const struct netmoon_frame *f, int64_t ts_ns,
	 unsigned kind, const struct ct_key *k, const struct netmoon_conn **conn)
{
	struct netmoon_conn *e;
	int64_t now;
	unsigned d = 0;
	int err = 0;

	now = ts_ns > ct->now ? ts_ns : ct->now;
	ct->now = now;
	ct->st.packets++;
	if (netmoon__unlikely(now > ct->next_deadline))
		ct_expire(ct, now, CT_TRACK_EXPIRE_BUDGET, &err);

	if (netmoon__unlikely(kind == FK_UNTRACKED)) {
		ct->st.untracked++;
		return err ? err : 1;
	}
	if (netmoon__unlikely(kind == FK_FRAGMENT))
		return ct_track_fragment(ct, f, now, conn, err);

	e = ct_lookup(ct, k, &d);
	if (e) {
		int why = expiry_reason(ct, e, now);

		if (netmoon__unlikely(why)) {
			keep_err(&err, ct_remove(ct, e, why));
			e = NULL;
		} else if (netmoon__unlikely(e->proto == IPPROTO_NUM_TCP &&
					     (f->tcp_flags & (NETMOON_TCP_SYN | NETMOON_TCP_ACK)) ==
						     NETMOON_TCP_SYN &&
					     (f->layers & NETMOON_FRAME_L_L4) &&
					     netmoon__tcp_is_reuse(e, d, f))) {
			keep_err(&err, ct_remove(ct, e, NETMOON_REMOVE_REUSED));
			e = NULL;
		}
	}
	if (e) {
		unsigned c_old = ct_class(e), c_new;
		uint8_t old = e->state;
		int64_t before = e->ts_last;

		ct_packet(e, d, f, now, ts_ns);
		c_new = ct_class(e);
		if (c_new != c_old) {
			lru_unlink(ct, c_old, e);
			lru_append(ct, c_new, e);
		} else {
			lru_touch(ct, c_new, e, before, now);
		}
		if (netmoon__unlikely(e->state != old))
			keep_err(&err, fire_state(ct, e, old));
	} else {
		e = ct_create(ct, f, k, now, ts_ns, &d, &err);
		if (!e)
			return err ? err : NETMOON_E_TABLE_FULL;
	}
	if (kind == FK_KEYED_LATER)
		ct->st.frag_attributed++; /* a fragment of a protocol without ports */
	else if (netmoon__unlikely(f->ip_flags & NETMOON_FRAME_IP_F_FRAGMENT) &&
		 proto_needs_l4(f->ip_proto))
		netmoon__frag_remember(&ct->frag, f, ct_idx(ct, e), ct_id(e), d);
	if (conn)
		*conn = e;
	return err;
}

/* The part of struct netmoon_frame the table reads. */
#define CT_FRAME_MIN_SZ netmoon__offsetofend(struct netmoon_frame, tcp_ack)

NETMOON_API int netmoon_conntable_track(struct netmoon_conntable *ct,
					const struct netmoon_frame *f, int64_t ts_ns,
					const struct netmoon_conn **conn)
{
	struct ct_key k;
	unsigned kind;

	if (conn)
		*conn = NULL;
	if (!ct || !f || f->sz < CT_FRAME_MIN_SZ)
		return -EINVAL;
	if (ct->in_hook)
		return -EBUSY;
	kind = frame_kind(f);
	if (kind >= FK_KEYED)
		key_build(ct, f, &k);
	return ct_track(ct, f, ts_ns, kind, &k, conn);
}

/*
 * Bursts: the keys of the frames ahead are computed into a ring, their
 * buckets prefetched CT_PF_BUCKET frames ahead, and those buckets read to
 * prefetch the chain's first entry CT_PF_ENTRY frames ahead, so the two
 * dependent cache misses of a lookup overlap with the work on earlier
 * frames.  The prefetches are only hints: an earlier frame of the burst may
 * create, evict or move the entry in between, and ct_track() looks it up
 * again from scratch.
 */
#define CT_PF_BUCKET 16
#define CT_PF_ENTRY 8
#define CT_RING 32 /* a power of two above CT_PF_BUCKET */

_Static_assert(CT_RING > CT_PF_BUCKET && CT_PF_BUCKET > CT_PF_ENTRY &&
		       (CT_RING & (CT_RING - 1)) == 0,
	       "prefetch distances do not fit the ring");

struct ct_ahead {
	struct ct_key k;
	unsigned kind;
};

static inline const struct netmoon_frame *burst_frame(const struct netmoon_frame *frames,
						      size_t stride, size_t i)
{
	/* Through an integer: the stride is the caller's sizeof, not ours. */
	return (const struct netmoon_frame *)((uintptr_t)frames + i * stride);
}

/* Classify and key frame f into a, and prefetch its bucket. */
static inline void burst_prepare(const struct netmoon_conntable *ct,
				 const struct netmoon_frame *f, struct ct_ahead *a)
{
	a->kind = frame_kind(f);
	if (a->kind >= FK_KEYED) {
		key_build(ct, f, &a->k);
		__builtin_prefetch(&ct->buckets[a->k.hash & ct->bmask], 0, 3);
	}
}

/*
 * Prefetch the first 128 bytes of an entry: the key and links, and the
 * counters.  Entries are 176 bytes and only 16-byte aligned, so those bytes
 * span two or three cache lines.  Read prefetches: a write hint is
 * PREFETCHW, which the x86-64 baseline lacks.  Always inlined, here and in
 * burst_prefetch_entry(): gcc finds a function that only prefetches pure,
 * and then deletes the calls to it (its result is unused).
 */
static inline __attribute__((always_inline)) void prefetch_entry(const struct netmoon_conn *e)
{
	uintptr_t p = (uintptr_t)e;

	__builtin_prefetch((const void *)p, 0, 3);
	__builtin_prefetch((const void *)(p + 64), 0, 3);
	__builtin_prefetch((const void *)(p + 127), 0, 3);
}

/* Prefetch the first entry of a's bucket. */
static inline __attribute__((always_inline)) void
burst_prefetch_entry(const struct netmoon_conntable *ct, const struct ct_ahead *a)
{
	uint32_t i;

	if (a->kind < FK_KEYED)
		return;
	i = ct->buckets[a->k.hash & ct->bmask];
	if (i)
		prefetch_entry(&ct->ents[i - 1]);
}

NETMOON_API int64_t netmoon_conntable_track_burst(struct netmoon_conntable *ct,
						  const struct netmoon_frame *frames,
						  const int64_t *ts_ns, size_t n)
{
	struct ct_ahead ring[CT_RING];
	size_t stride, i;
	int64_t tracked = 0;
	int err = 0;

	if (!ct)
		return -EINVAL;
	if (!n)
		return 0;
	if (!frames || !ts_ns)
		return -EINVAL;
	stride = frames->sz;
	if (stride < CT_FRAME_MIN_SZ || stride % _Alignof(struct netmoon_frame))
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (burst_frame(frames, stride, i)->sz != stride)
			return -EINVAL;
	if (ct->in_hook)
		return -EBUSY;

	for (i = 0; i < n && i < CT_PF_BUCKET; i++)
		burst_prepare(ct, burst_frame(frames, stride, i), &ring[i]);
	for (i = 0; i < n && i < CT_PF_ENTRY; i++)
		burst_prefetch_entry(ct, &ring[i]);
	for (i = 0; i < n; i++) {
		const struct ct_ahead *a = &ring[i % CT_RING];
		int rc;

		if (i + CT_PF_BUCKET < n)
			burst_prepare(ct, burst_frame(frames, stride, i + CT_PF_BUCKET),
				      &ring[(i + CT_PF_BUCKET) % CT_RING]);
		if (i + CT_PF_ENTRY < n)
			burst_prefetch_entry(ct, &ring[(i + CT_PF_ENTRY) % CT_RING]);
		rc = ct_track(ct, burst_frame(frames, stride, i), ts_ns[i], a->kind, &a->k, NULL);
		if (netmoon__likely(rc == 0))
			tracked++;
		else if (rc < 0 && rc != NETMOON_E_TABLE_FULL && !err)
			err = rc;
	}
	return err ? err : tracked;
}

/*
 * After a flush stopped early: unlink the entries it removed (state 0 but
 * still on a hash chain and an LRU list) and free them, keeping the order
 * of everything else.  Entries free before the flush are on neither.
 */
static void ct_sweep(struct netmoon_conntable *ct)
{
	for (uint32_t b = 0; b <= ct->bmask; b++) {
		uint32_t *p = &ct->buckets[b];

		while (*p) {
			struct netmoon_conn *e = &ct->ents[*p - 1];
			uint32_t me = *p;

			if (e->state) {
				p = &e->hnext;
				continue;
			}
			*p = e->hnext;
			e->hnext = ct->free_head;
			ct->free_head = me;
		}
	}
	for (unsigned c = 0; c < CT_NCLASS; c++) {
		uint32_t i = ct->lists[c].head;

		while (i) {
			struct netmoon_conn *e = &ct->ents[i - 1];
			uint32_t next = e->lnext;

			if (!e->state)
				lru_unlink(ct, c, e);
			i = next;
		}
	}
}

/*
 * Remove everything: the hooks run in array order (memory order, no random
 * access), and the hash chains and lists are emptied at the end in one go
 * instead of unlinking entry by entry (a quarter of the cost of ending a
 * capture with 200,000 connections).  A hook's negative return stops it
 * when stop is set; the entries not reached stay.
 */
static int64_t ct_flush(struct netmoon_conntable *ct, bool stop)
{
	int64_t n = 0;
	int rc = 0;

	for (uint32_t i = 0; i < ct->bump; i++) {
		struct netmoon_conn *e = &ct->ents[i];

		if (!e->state)
			continue;
		ct->st.active--;
		n++;
		if (ct->hooks.on_remove) {
			ct->in_hook++;
			rc = ct->hooks.on_remove(e, NETMOON_REMOVE_FLUSH, ct->user);
			ct->in_hook--;
		}
		e->state = 0;
		if (rc < 0 && stop)
			break;
	}
	if (!ct->st.active) {
		/* Start again from the front of the array: iteration stays short. */
		memset(ct->buckets, 0, ((size_t)ct->bmask + 1) * sizeof(*ct->buckets));
		memset(ct->lists, 0, sizeof(ct->lists));
		ct->bump = 0;
		ct->free_head = 0;
	} else {
		ct_sweep(ct);
	}
	if (ct->st.emergency)
		emergency_update(ct);
	recompute_deadline(ct);
	return rc < 0 && stop ? rc : n;
}

/* --- public: life cycle ------------------------------------------------ */

static int opt_timeout(int64_t v, int64_t dflt, int64_t *out)
{
	if (v < 0)
		return -EINVAL;
	*out = v ? v : dflt;
	return 0;
}

NETMOON_API int netmoon_conntable_new(struct netmoon_conntable **ctp,
				      const struct netmoon_conntable_opts *opts)
{
	struct netmoon_conntable *ct;
	uint32_t max, flags, nb = 1, fslots, hi_pct, lo_pct;
	int64_t idle;
	int rc = 0;

	if (!ctp)
		return -EINVAL;
	*ctp = NULL;
	if (!OPTS_VALID(opts, netmoon_conntable_opts))
		return -EINVAL;
	max = OPTS_GET(opts, max_conns, 0);
	if (!max)
		max = CT_DEFAULT_MAX_CONNS;
	flags = OPTS_GET(opts, flags, 0);
	idle = OPTS_GET(opts, idle_timeout_ns, 0);
	fslots = OPTS_GET(opts, frag_slots, 0);
	hi_pct = OPTS_GET(opts, emergency_high_pct, 0);
	lo_pct = OPTS_GET(opts, emergency_low_pct, 0);
	if (max > CT_MAX_CONNS || (flags & ~(NETMOON_CT_F_IGNORE_VLAN | NETMOON_CT_F_NO_EVICT)) ||
	    idle < 0)
		return -EINVAL;
	if (!idle)
		idle = CT_DEFAULT_IDLE_NS;
	if (!fslots)
		fslots = CT_DEFAULT_FRAG_SLOTS;

	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	rc |= opt_timeout(OPTS_GET(opts, tcp_syn_timeout_ns, 0), idle, &ct->timeout[CT_C_SYN]);
	rc |= opt_timeout(OPTS_GET(opts, tcp_established_timeout_ns, 0), idle,
			  &ct->timeout[CT_C_EST]);
	rc |= opt_timeout(OPTS_GET(opts, tcp_closing_timeout_ns, 0), idle,
			  &ct->timeout[CT_C_CLOSING]);
	rc |= opt_timeout(OPTS_GET(opts, tcp_closed_timeout_ns, 0), idle,
			  &ct->timeout[CT_C_CLOSED]);
	rc |= opt_timeout(OPTS_GET(opts, udp_timeout_ns, 0), idle, &ct->timeout[CT_C_UDP]);
	rc |= opt_timeout(OPTS_GET(opts, icmp_timeout_ns, 0), idle, &ct->timeout[CT_C_ICMP]);
	rc |= opt_timeout(OPTS_GET(opts, other_timeout_ns, 0), idle,
			  &ct->timeout[CT_C_OTHER]);
	rc |= opt_timeout(OPTS_GET(opts, emergency_timeout_ns, 0), CT_DEFAULT_EMERGENCY_NS,
			  &ct->emergency_timeout);
	hi_pct = hi_pct ? hi_pct : CT_DEFAULT_EMERGENCY_HIGH;
	if (!lo_pct)
		lo_pct = hi_pct > 20 ? hi_pct - 20 : 0;
	if (rc || hi_pct > 101 || (hi_pct <= 100 && lo_pct >= hi_pct) || lo_pct > 100) {
		free(ct);
		return -EINVAL;
	}
	ct->timeout[CT_C_UDP_NEW] = ct->timeout[CT_C_UDP];
	ct->timeout[CT_C_ICMP_NEW] = ct->timeout[CT_C_ICMP];
	ct->timeout[CT_C_OTHER_NEW] = ct->timeout[CT_C_OTHER];
	memcpy(ct->normal_timeout, ct->timeout, sizeof(ct->timeout));
	/* 101 %: never. */
	ct->emergency_high = hi_pct > 100 ? UINT32_MAX
					  : (uint32_t)(((uint64_t)max * hi_pct + 99) / 100);
	/* Rounded up like the high mark: "below 70 %" of 15 entries is below 11. */
	ct->emergency_low = (uint32_t)(((uint64_t)max * lo_pct + 99) / 100);
	for (unsigned c = 0; c < CT_NCLASS; c++) {
		uint8_t sh = 0;

		while (sh < 56 && (INT64_C(64) << (sh + 1)) <= ct->timeout[c])
			sh++;
		ct->tick_shift[c] = sh;
	}
	while (nb < max)
		nb <<= 1;
	rc = netmoon__frag_init(&ct->frag, fslots);
	if (rc) {
		free(ct);
		return rc;
	}
	ct->ents = netmoon__big_calloc(max, sizeof(*ct->ents));
	ct->buckets = netmoon__big_calloc(nb, sizeof(*ct->buckets));
	if (!ct->ents || !ct->buckets) {
		netmoon__big_free(ct->ents, max, sizeof(*ct->ents));
		netmoon__big_free(ct->buckets, nb, sizeof(*ct->buckets));
		netmoon__frag_free(&ct->frag);
		free(ct);
		return -ENOMEM;
	}
	ct->bmask = nb - 1;
	ct->max_conns = max;
	ct->flags = flags;
	ct->now = INT64_MIN;
	ct->next_deadline = INT64_MAX;
	*ctp = ct;
	return 0;
}

NETMOON_API void netmoon_conntable_free(struct netmoon_conntable *ct)
{
	if (!ct)
		return;
	ct_flush(ct, false);
	netmoon__big_free(ct->ents, ct->max_conns, sizeof(*ct->ents));
	netmoon__big_free(ct->buckets, (size_t)ct->bmask + 1, sizeof(*ct->buckets));
	netmoon__frag_free(&ct->frag);
	free(ct);
}

NETMOON_API int netmoon_conntable_set_hooks(struct netmoon_conntable *ct,
					    const struct netmoon_conntable_hooks *hooks, void *user)
{
	if (!ct)
		return -EINVAL;
	if (ct->in_hook)
		return -EBUSY;
	/* Refused hooks leave the old ones in place. */
	if (hooks && !OPTS_VALID(hooks, netmoon_conntable_hooks))
		return -EINVAL;
	memset(&ct->hooks, 0, sizeof(ct->hooks));
	ct->user = user;
	if (!hooks)
		return 0;
	ct->hooks.on_new = OPTS_GET(hooks, on_new, NULL);
	ct->hooks.on_state = OPTS_GET(hooks, on_state, NULL);
	ct->hooks.on_close = OPTS_GET(hooks, on_close, NULL);
	ct->hooks.on_remove = OPTS_GET(hooks, on_remove, NULL);
	return 0;
}

NETMOON_API int64_t netmoon_conntable_expire(struct netmoon_conntable *ct, int64_t now_ns,
					     uint64_t budget)
{
	int64_t n;
	int err = 0;

	if (!ct)
		return -EINVAL;
	if (ct->in_hook)
		return -EBUSY;
	if (now_ns > ct->now)
		ct->now = now_ns;
	n = ct_expire(ct, ct->now, budget, &err);
	return err ? err : n;
}

NETMOON_API int64_t netmoon_conntable_flush(struct netmoon_conntable *ct)
{
	if (!ct)
		return -EINVAL;
	if (ct->in_hook)
		return -EBUSY;
	return ct_flush(ct, true);
}

/* --- for the monitor ---------------------------------------------------- */

size_t netmoon__conntable_active(const struct netmoon_conntable *ct)
{
	return (size_t)ct->st.active;
}

size_t netmoon__conntable_copy(const struct netmoon_conntable *ct, struct netmoon_conn *dst,
			       size_t max)
{
	size_t n = 0;

	for (uint32_t i = 0; i < ct->bump && n < max; i++)
		if (ct->ents[i].state)
			dst[n++] = ct->ents[i];
	return n;
}

int64_t netmoon__conntable_now(const struct netmoon_conntable *ct)
{
	return ct->now;
}

/* --- public: reading --------------------------------------------------- */

NETMOON_API const struct netmoon_conn *netmoon_conntable_next(const struct netmoon_conntable *ct,
							      const struct netmoon_conn *prev)
{
	uint32_t i = 0;

	if (!ct)
		return NULL;
	if (prev) {
		uintptr_t p = (uintptr_t)prev, base = (uintptr_t)ct->ents;

		if (p < base || p >= base + (uintptr_t)ct->bump * sizeof(*prev) ||
		    (p - base) % sizeof(*prev))
			return NULL;
		i = (uint32_t)((p - base) / sizeof(*prev)) + 1;
	}
	for (; i < ct->bump; i++)
		if (ct->ents[i].state)
			return &ct->ents[i];
	return NULL;
}

NETMOON_API int netmoon_conntable_foreach(const struct netmoon_conntable *ct, netmoon_conn_cb cb,
					  void *user)
{
	if (!ct || !cb)
		return -EINVAL;
	for (uint32_t i = 0; i < ct->bump; i++) {
		if (ct->ents[i].state) {
			int rc = cb(&ct->ents[i], user);

			if (rc)
				return rc;
		}
	}
	return 0;
}

NETMOON_API int netmoon_conntable_get_stats(const struct netmoon_conntable *ct,
					    struct netmoon_conntable_stats *st)
{
	struct netmoon_conntable_stats o;

	if (!ct || !st)
		return -EINVAL;
	o = ct->st;
	o.sz = sizeof(o);
	o.max_conns = ct->max_conns;
	o.memory_bytes = (uint64_t)ct->max_conns * sizeof(*ct->ents) +
			 ((uint64_t)ct->bmask + 1) * sizeof(*ct->buckets) +
			 netmoon__frag_bytes(&ct->frag);
	o.entry_bytes = o.memory_bytes / ct->max_conns;
	return netmoon__copy_out(st, &o, sizeof(o));
}

int netmoon__ct_history_str(uint64_t h, char *buf, size_t sz)
{
	static const char letters[] = "?SHADFRQshadfrq^";
	size_t i = 0;

	for (; h && i + 1 < sz; h >>= 4)
		buf[i++] = letters[h & 0xf];
	if (sz)
		buf[i] = '\0';
	return (int)i;
}

NETMOON_API int netmoon_conn_get_info(const struct netmoon_conn *e,
				      struct netmoon_conn_info *info)
{
	struct netmoon_conn_info o;
	unsigned nvlan;

	if (!e || !info)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.id = ct_id(e);
	o.ts_first_ns = e->ts_first;
	o.ts_last_ns = e->ts_last;
	o.ip_version = (e->vmeta & VM_V6) ? 6 : 4;
	o.proto = e->proto;
	nvlan = (e->vmeta >> VM_NVLAN_SHIFT) & 3;
	o.vlan_count = (uint8_t)nvlan;
	if (nvlan > 0)
		o.vlan_ids[0] = e->vmeta & 0xfff;
	if (nvlan > 1)
		o.vlan_ids[1] = (e->vmeta >> VM_VID1_SHIFT) & 0xfff;
	memcpy(o.orig_addr, e->addr[0], 16);
	memcpy(o.resp_addr, e->addr[1], 16);
	o.orig_port = e->ports & 0xffff;
	o.resp_port = (uint16_t)(e->ports >> 16);
	o.flags = (e->hflags & HF_DIR_GUESSED) ? NETMOON_CONN_F_DIR_GUESSED : 0;
	o.state = e->state;
	if (e->proto == IPPROTO_NUM_TCP) {
		o.flags |= netmoon__tcp_rtts(e, &o.rtt_syn_ns, &o.rtt_ack_ns, &o.handshake_rtt_ns);
		o.zeek_state = netmoon__tcp_zeek_state(e);
	} else if (e->proto == IPPROTO_NUM_UDP) {
		o.zeek_state = e->dir[1].pkts ? NETMOON_ZEEK_SF : NETMOON_ZEEK_S0;
	} else {
		o.zeek_state = NETMOON_ZEEK_OTH; /* as Zeek: conn_state is TCP's and UDP's */
	}
	netmoon__ct_history_str(e->history, o.history, sizeof(o.history));
	memcpy(&o.orig, &e->dir[0], sizeof(o.orig));
	memcpy(&o.resp, &e->dir[1], sizeof(o.resp));
	return netmoon__copy_out(info, &o, sizeof(o));
}

NETMOON_API const char *netmoon_conn_state_str(int state)
{
	static const char *const names[] = {
		[NETMOON_CONN_SYN_SENT] = "SYN_SENT",
		[NETMOON_CONN_SYN_RECV] = "SYN_RECV",
		[NETMOON_CONN_ESTABLISHED] = "ESTABLISHED",
		[NETMOON_CONN_FIN_WAIT] = "FIN_WAIT",
		[NETMOON_CONN_CLOSE_WAIT] = "CLOSE_WAIT",
		[NETMOON_CONN_LAST_ACK] = "LAST_ACK",
		[NETMOON_CONN_TIME_WAIT] = "TIME_WAIT",
		[NETMOON_CONN_CLOSED] = "CLOSED",
		[NETMOON_CONN_RESET] = "RESET",
		[NETMOON_CONN_ACTIVE] = "ACTIVE",
		[NETMOON_CONN_EXPIRED] = "EXPIRED",
	};

	if (state < 1 || state >= (int)(sizeof(names) / sizeof(names[0])))
		return "UNKNOWN";
	return names[state];
}

NETMOON_API const char *netmoon_conn_zeek_state_str(int zeek_state)
{
	static const char *const names[] = {
		[NETMOON_ZEEK_OTH] = "OTH",    [NETMOON_ZEEK_S0] = "S0",
		[NETMOON_ZEEK_S1] = "S1",      [NETMOON_ZEEK_SF] = "SF",
		[NETMOON_ZEEK_REJ] = "REJ",    [NETMOON_ZEEK_S2] = "S2",
		[NETMOON_ZEEK_S3] = "S3",      [NETMOON_ZEEK_RSTO] = "RSTO",
		[NETMOON_ZEEK_RSTR] = "RSTR",  [NETMOON_ZEEK_RSTOS0] = "RSTOS0",
		[NETMOON_ZEEK_RSTRH] = "RSTRH", [NETMOON_ZEEK_SH] = "SH",
		[NETMOON_ZEEK_SHR] = "SHR",
	};

	if (zeek_state < 0 || zeek_state >= (int)(sizeof(names) / sizeof(names[0])))
		return "OTH";
	return names[zeek_state];
}
