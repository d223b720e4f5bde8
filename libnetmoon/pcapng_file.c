/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pcapng block walker.  A file is a series of sections; each starts with
 * a Section Header Block whose byte-order magic sets the byte order of the
 * whole section, and resets the interface list.  Interface Description Blocks
 * give each interface its link type and time resolution; packets come in
 * Enhanced, Simple and (obsolete) Packet Blocks.  Every other block is
 * skipped.
 *
 * Every length read from the file is checked before it is used: a block's
 * total length (>= 12, a multiple of 4, at most NETMOON__MAX_RECORD, repeated
 * at its end), the packet inside its block, each option inside its block.
 * The interface list is capped at NG_MAX_IFACES.
 *
 * Decisions: SHB version 1.0 is read, and 1.2 too, as libpcap and the pcapng
 * specification ask (some old writers used it); anything else is
 * NETMOON_E_VERSION.  Simple Packet Blocks carry no time stamp: ts_ns is 0
 * (libpcap's choice).  Time stamps out of the int64 nanosecond range
 * saturate.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "capture_int.h"

#define BT_SHB NETMOON__PCAPNG_SHB
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u /* obsolete Packet Block */
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u

#define BOM 0x1a2b3c4du

/* Smallest total length of each block: header + fixed body + trailer. */
#define SHB_MIN 28
#define IDB_MIN 20
#define EPB_MIN 32
#define SPB_MIN 16

#define OPT_ENDOFOPT 0
#define IF_TSRESOL 9
#define IF_TSOFFSET 14

#define NG_MAX_IFACES 65536u

enum ts_kind {
	TS_MUL,   /* ns = units * 10^(9-k) */
	TS_DIV,   /* ns = units / 10^(k-9) */
	TS_SHIFT, /* ns = units * 10^9 / 2^k */
	TS_ZERO,  /* resolution so fine that any 64-bit count is under 1 ns */
};

struct ng_iface {
	uint32_t linktype;
	uint32_t snaplen;
	enum ts_kind ts_kind;
	unsigned int ts_shift;
	uint64_t ts_factor; /* multiplier or divisor */
	int64_t ts_off_ns;  /* if_tsoffset, in ns */
};

struct ng_priv {
	bool swap;            /* this section's byte order is not the host's */
	uint32_t nif;         /* interfaces of the current section */
	uint32_t if_cap;
	struct ng_iface *ifs;
};

static inline uint64_t rd64(const uint8_t *p, bool swap)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap64(v) : v;
}

/* ------------------------------------------------------------------------ */
/* Time stamps                                                               */

static void iface_set_tsresol(struct ng_iface *ifp, uint8_t resol)
{
	unsigned int k = resol & 0x7f;

	if (resol & 0x80) {
		ifp->ts_kind = TS_SHIFT;
		ifp->ts_shift = k;
	} else if (k <= 9) {
		ifp->ts_kind = TS_MUL;
		ifp->ts_factor = 1;
		for (unsigned int i = k; i < 9; i++)
			ifp->ts_factor *= 10;
	} else if (k - 9 <= 19) {
		/* 10^19 still fits in 64 bits; any finer and units / 10^(k-9) is 0. */
		ifp->ts_kind = TS_DIV;
		ifp->ts_factor = 1;
		for (unsigned int i = 9; i < k; i++)
			ifp->ts_factor *= 10;
	} else {
		ifp->ts_kind = TS_ZERO;
	}
}

static inline int64_t sat_i64(unsigned __int128 v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static inline int64_t iface_ts_ns(const struct ng_iface *ifp, uint64_t units)
{
	int64_t ns, r;

	switch (ifp->ts_kind) {
	case TS_MUL:
		ns = sat_i64((unsigned __int128)units * ifp->ts_factor);
		break;
	case TS_DIV:
		ns = sat_i64(units / ifp->ts_factor);
		break;
	case TS_SHIFT:
		/* units < 2^64 and 10^9 < 2^30: the product fits in 94 bits. */
		ns = sat_i64(((unsigned __int128)units * 1000000000u) >> ifp->ts_shift);
		break;
	default:
		ns = 0;
		break;
	}
	if (netmoon__unlikely(__builtin_add_overflow(ns, ifp->ts_off_ns, &r)))
		r = ifp->ts_off_ns < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

struct ng_opt_iter {
	const uint8_t *p, *end;
	bool swap;
};

/*
 * Next option of a block.  Returns 1 with code/len/val, 0 at opt_endofopt or
 * the end of the block, -1 when an option does not fit in its block.
 */
static int ng_opt_next(struct ng_opt_iter *it, uint16_t *code, uint16_t *len, const uint8_t **val)
{
	size_t left = (size_t)(it->end - it->p);
	size_t padded;

	if (left == 0)
		return 0;
	if (left < 4)
		return -1;
	*code = netmoon__rd16x(it->p, it->swap);
	*len = netmoon__rd16x(it->p + 2, it->swap);
	if (*code == OPT_ENDOFOPT)
		return 0;
	padded = ((size_t)*len + 3) & ~(size_t)3;
	if (padded > left - 4)
		return -1;
	*val = it->p + 4;
	it->p += 4 + padded;
	return 1;
}

static int ng_opt_overrun(struct netmoon_capture *cap, uint64_t blk_off, const char *blk,
			  const struct ng_opt_iter *it, const uint8_t *blk_start)
{
	uint64_t off = blk_off + (uint64_t)(it->p - blk_start);
	size_t left = (size_t)(it->end - it->p);

	if (left < 4)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "%s: %zu stray bytes after the options", blk, left);
	return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
				      "%s: option %u of length %u overruns the block (%zu bytes left)",
				      blk, netmoon__rd16x(it->p, it->swap), netmoon__rd16x(it->p + 2, it->swap),
				      left - 4);
}

/* ------------------------------------------------------------------------ */
/* Blocks                                                                    */

static int ng_shb(struct netmoon_capture *cap, struct ng_priv *ng, bool first)
{
	struct netmoon__source *src = &cap->src;
	uint64_t off = netmoon__source_offset(src);
	struct ng_opt_iter it;
	const uint8_t *p, *val;
	uint16_t vmaj, vmin, code, olen;
	uint32_t bom, len;
	bool swap;
	int r;

	r = netmoon__source_need(src, 12);
	if (r < 0)
		return netmoon__capture_source_error(cap, r);
	if (r)
		return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, off,
					      "truncated section header block: %zu of 12 bytes",
					      netmoon__source_avail(src));
	p = src->cur;
	memcpy(&bom, p + 8, sizeof(bom));
	if (bom == BOM)
		swap = false;
	else if (bom == __builtin_bswap32(BOM))
		swap = true;
	else
		return netmoon__capture_error(cap, first ? NETMOON_E_FORMAT : NETMOON_E_CORRUPT,
					      off + 8, "bad byte-order magic 0x%08" PRIx32
					      " in section header block", bom);
	len = netmoon__rd32x(p + 4, swap);
	if (len < SHB_MIN || len % 4 || len > NETMOON__MAX_RECORD)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "bad section header block length %" PRIu32, len);
	r = netmoon__source_need(src, len);
	if (r < 0)
		return netmoon__capture_source_error(cap, r);
	if (r)
		return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, off,
					      "truncated section header block: %zu of %" PRIu32
					      " bytes", netmoon__source_avail(src), len);
	p = src->cur;
	if (netmoon__rd32x(p + len - 4, swap) != len)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "section header block length %" PRIu32
					      " does not match its trailing length %" PRIu32,
					      len, netmoon__rd32x(p + len - 4, swap));
	vmaj = netmoon__rd16x(p + 12, swap);
	vmin = netmoon__rd16x(p + 14, swap);
	if (vmaj != 1 || (vmin != 0 && vmin != 2))
		return netmoon__capture_error(cap, NETMOON_E_VERSION, off + 12,
					      "unsupported pcapng version %u.%u (1.0 expected)",
					      vmaj, vmin);
	/* None of its options matter to us, but they must be well formed. */
	it = (struct ng_opt_iter){ .p = p + 24, .end = p + len - 4, .swap = swap };
	while ((r = ng_opt_next(&it, &code, &olen, &val)) > 0)
		;
	if (r < 0)
		return ng_opt_overrun(cap, off, "section header block", &it, p);

	ng->swap = swap;
	ng->nif = 0;
	src->cur = p + len;
	return 0;
}

static int ng_idb(struct netmoon_capture *cap, struct ng_priv *ng, const uint8_t *p,
		  uint32_t len, uint64_t off)
{
	struct ng_opt_iter it;
	struct ng_iface ifc = { 0 };
	const uint8_t *val;
	uint16_t code, olen;
	int r;

	if (len < IDB_MIN)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "interface description block too short (%" PRIu32
					      " bytes)", len);
	if (ng->nif >= NG_MAX_IFACES)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "more than %u interfaces in one section",
					      NG_MAX_IFACES);
	it = (struct ng_opt_iter){ .p = p + 16, .end = p + len - 4, .swap = ng->swap };
	ifc.linktype = netmoon__rd16x(p + 8, ng->swap);
	ifc.snaplen = netmoon__rd32x(p + 12, ng->swap);
	iface_set_tsresol(&ifc, 6);
	while ((r = ng_opt_next(&it, &code, &olen, &val)) > 0) {
		switch (code) {
		case IF_TSRESOL:
			if (olen != 1)
				return netmoon__capture_error(cap, NETMOON_E_CORRUPT,
							      off + (uint64_t)(val - 4 - p),
							      "if_tsresol option of length %u", olen);
			iface_set_tsresol(&ifc, val[0]);
			break;
		case IF_TSOFFSET: {
			int64_t secs;

			if (olen != 8)
				return netmoon__capture_error(cap, NETMOON_E_CORRUPT,
							      off + (uint64_t)(val - 4 - p),
							      "if_tsoffset option of length %u", olen);
			secs = (int64_t)rd64(val, ng->swap);
			if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ifc.ts_off_ns))
				ifc.ts_off_ns = secs < 0 ? INT64_MIN : INT64_MAX;
			break;
		}
		default:
			break;
		}
	}
	if (r < 0)
		return ng_opt_overrun(cap, off, "interface description block", &it, p);

	if (ng->nif == ng->if_cap) {
		uint32_t ncap = ng->if_cap ? ng->if_cap * 2 : 4;
		struct ng_iface *nifs = realloc(ng->ifs, ncap * sizeof(*nifs));

		if (!nifs)
			return netmoon__capture_error(cap, -ENOMEM, off, "out of memory");
		ng->ifs = nifs;
		ng->if_cap = ncap;
	}
	ng->ifs[ng->nif++] = ifc;
	if (cap->linktype < 0)
		cap->linktype = (int)ifc.linktype;
	return 0;
}

static int ng_bad_iface(struct netmoon_capture *cap, const struct ng_priv *ng, uint64_t off,
			uint32_t ifid)
{
	return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
				      "packet for interface %" PRIu32 ", but the section has %"
				      PRIu32, ifid, ng->nif);
}

static int ng_caplen_overrun(struct netmoon_capture *cap, uint64_t off, uint32_t caplen,
			     uint32_t room)
{
	return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
				      "captured length %" PRIu32 " overruns its block (%" PRIu32
				      " bytes of room)", caplen, room);
}

static int ng_set_packet(struct netmoon_capture *cap, const struct ng_priv *ng,
			 const uint8_t *p, uint32_t ifid, uint64_t units, uint32_t caplen,
			 uint32_t wirelen)
{
	const struct ng_iface *ifp = &ng->ifs[ifid];

	cap->pkt.data = p;
	cap->pkt.caplen = caplen;
	cap->pkt.wirelen = wirelen;
	cap->pkt.ts_ns = iface_ts_ns(ifp, units);
	cap->pkt.linktype = ifp->linktype;
	cap->pkt.ifindex = ifid;
	return 1;
}

/*
 * Walk blocks until a packet is delivered (1), the input ends (0) or an
 * error.  With @peek (at open), stop in front of the first packet block
 * instead (2), having read the section and interface headers before it.
 * This is the general path; pcapng_next() takes the common case itself.
 */
static __attribute__((noinline)) int ng_walk(struct netmoon_capture *cap, bool peek)
{
	struct netmoon__source *src = &cap->src;
	struct ng_priv *ng = cap->priv;

	for (;;) {
		const uint8_t *p;
		uint32_t type, len, ifid, caplen, wirelen;
		uint64_t off;
		int r;

		r = netmoon__source_need(src, 8);
		if (netmoon__unlikely(r)) {
			if (r < 0)
				return netmoon__capture_source_error(cap, r);
			if (netmoon__source_avail(src) == 0)
				return 0;
			return netmoon__capture_error(cap, NETMOON_E_TRUNCATED,
						      netmoon__source_offset(src),
						      "truncated block header: %zu of 8 bytes",
						      netmoon__source_avail(src));
		}
		p = src->cur;
		type = netmoon__rd32x(p, ng->swap);
		if (type == BT_SHB) {
			/* Its length is in the byte order it is about to declare. */
			r = ng_shb(cap, ng, false);
			if (r)
				return r;
			continue;
		}
		if (peek && (type == BT_EPB || type == BT_SPB || type == BT_PB))
			return 2;

		off = netmoon__source_offset(src);
		len = netmoon__rd32x(p + 4, ng->swap);
		if (netmoon__unlikely(len < 12 || len % 4))
			return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
						      "bad block length %" PRIu32
						      " (block type 0x%08" PRIx32 ")", len, type);
		if (netmoon__unlikely(len > NETMOON__MAX_RECORD))
			return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
						      "block length %" PRIu32
						      " exceeds the maximum %u (block type 0x%08"
						      PRIx32 ")", len, NETMOON__MAX_RECORD, type);
		r = netmoon__source_need(src, len);
		if (netmoon__unlikely(r)) {
			if (r < 0)
				return netmoon__capture_source_error(cap, r);
			return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, off,
						      "truncated block: %" PRIu32
						      " bytes announced, %zu present", len,
						      netmoon__source_avail(src));
		}
		p = src->cur; /* a refill may have moved it */
		if (netmoon__unlikely(netmoon__rd32x(p + len - 4, ng->swap) != len))
			return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
						      "block length %" PRIu32
						      " does not match its trailing length %" PRIu32,
						      len, netmoon__rd32x(p + len - 4, ng->swap));

		switch (type) {
		case BT_EPB:
		case BT_PB:
			/* The same layout, but the obsolete PB has a 16-bit interface id. */
			if (netmoon__unlikely(len < EPB_MIN))
				goto too_short;
			ifid = type == BT_EPB ? netmoon__rd32x(p + 8, ng->swap)
					      : netmoon__rd16x(p + 8, ng->swap);
			caplen = netmoon__rd32x(p + 20, ng->swap);
			wirelen = netmoon__rd32x(p + 24, ng->swap);
			if (netmoon__unlikely(ifid >= ng->nif))
				return ng_bad_iface(cap, ng, off, ifid);
			if (netmoon__unlikely(caplen > len - EPB_MIN))
				return ng_caplen_overrun(cap, off, caplen, len - EPB_MIN);
			src->cur = p + len;
			netmoon__source_stream(src);
			return ng_set_packet(cap, ng, p + 28, ifid,
					     (uint64_t)netmoon__rd32x(p + 12, ng->swap) << 32 |
						     netmoon__rd32x(p + 16, ng->swap),
					     caplen, wirelen);
		case BT_SPB: {
			uint32_t room;

			if (netmoon__unlikely(len < SPB_MIN))
				goto too_short;
			room = len - SPB_MIN;
			if (netmoon__unlikely(ng->nif == 0))
				return ng_bad_iface(cap, ng, off, 0);
			/* No captured length: the wire length cut by snaplen and the block. */
			wirelen = netmoon__rd32x(p + 8, ng->swap);
			caplen = wirelen < room ? wirelen : room;
			if (ng->ifs[0].snaplen && caplen > ng->ifs[0].snaplen)
				caplen = ng->ifs[0].snaplen;
			src->cur = p + len;
			ng_set_packet(cap, ng, p + 12, 0, 0, caplen, wirelen);
			cap->pkt.ts_ns = 0; /* the block has no time stamp */
			return 1;
		}
		case BT_IDB:
			r = ng_idb(cap, ng, p, len, off);
			if (r)
				return r;
			break;
		default:
			/* NRB, ISB, DSB, custom blocks...: nothing we use. */
			break;
		}
		src->cur = p + len;
		continue;
too_short:
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "block type 0x%08" PRIx32 " too short (%" PRIu32
					      " bytes)", type, len);
	}
}

/*
 * The common case: a well-formed Enhanced Packet Block wholly inside the
 * window.  Anything else, including every error, goes to ng_walk(), which
 * checks the same things again and says what is wrong.
 */
static inline __attribute__((always_inline)) int ng_fast(struct netmoon_capture *cap,
							  const struct ng_priv *ng, bool swap)
{
	struct netmoon__source *src = &cap->src;
	const uint8_t *p = src->cur;
	size_t avail = netmoon__source_avail(src);
	uint32_t len, ifid, caplen;

	if (netmoon__likely(avail >= EPB_MIN && netmoon__rd32x(p, swap) == BT_EPB)) {
		len = netmoon__rd32x(p + 4, swap);
		ifid = netmoon__rd32x(p + 8, swap);
		caplen = netmoon__rd32x(p + 20, swap);
		if (netmoon__likely(len % 4 == 0 && len >= EPB_MIN && len <= avail &&
				    len <= NETMOON__MAX_RECORD && netmoon__rd32x(p + len - 4, swap) == len &&
				    ifid < ng->nif && caplen <= len - EPB_MIN)) {
			src->cur = p + len;
			netmoon__source_stream(src);
			return ng_set_packet(cap, ng, p + 28, ifid,
					     (uint64_t)netmoon__rd32x(p + 12, swap) << 32 | netmoon__rd32x(p + 16, swap),
					     caplen, netmoon__rd32x(p + 24, swap));
		}
	}
	return ng_walk(cap, false);
}

static int pcapng_next(struct netmoon_capture *cap)
{
	const struct ng_priv *ng = cap->priv;

	return ng->swap ? ng_fast(cap, ng, true) : ng_fast(cap, ng, false);
}

static void pcapng_close(struct netmoon_capture *cap)
{
	struct ng_priv *ng = cap->priv;

	if (ng) {
		free(ng->ifs);
		free(ng);
	}
	cap->priv = NULL;
}

static const struct netmoon_capture_ops pcapng_ops = {
	.name = "pcapng",
	.next = pcapng_next,
	.close = pcapng_close,
};

int netmoon__pcapng_open(struct netmoon_capture *cap)
{
	struct ng_priv *ng;
	int r;

	ng = calloc(1, sizeof(*ng));
	if (!ng)
		return netmoon__capture_error(cap, -ENOMEM, NETMOON__NO_OFFSET, "out of memory");
	cap->priv = ng;
	cap->ops = &pcapng_ops;
	cap->linktype = -ENODATA;
	r = ng_shb(cap, ng, true);
	if (r)
		return r;
	/* Read the interfaces up to the first packet, for netmoon_capture_linktype(). */
	r = ng_walk(cap, true);
	return r < 0 ? r : 0;
}
