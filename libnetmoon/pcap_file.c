/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Classic pcap files: a 24-byte file header, then records of a 16-byte header
 * and the captured bytes.  Both byte orders, microsecond (a1b2c3d4) and
 * nanosecond (a1b23c4d) time stamps, versions 2.x.
 *
 * Decisions, following libpcap and Wireshark so that packet counts and
 * frame.len agree with tshark:
 * - Versions before 2.3 stored caplen and len the other way round; 2.3 files
 *   exist in both layouts, so there the pair is swapped back only when caplen
 *   > len (libpcap's MAYBE_SWAPPED).
 * - A record with caplen > len is delivered as it is (wirelen < caplen);
 *   libpcap and tshark do the same, and frame.len is the recorded len.
 * - caplen above the snaplen is accepted up to a sane maximum of
 *   max(256 KiB, snaplen) (libpcap's max_snaplen_for_dlt() is 256 KiB),
 *   itself capped at NETMOON__MAX_RECORD; beyond it the record is corrupt.
 *   The bytes are not cut to the snaplen: what the file holds is delivered.
 * - The link-type field's low 16 bits are the link type; the upper bits
 *   carry FCS length and flags.
 * - Fractions of a second at or above one second (fuzzed files) are added
 *   as they are: the ns value is sec * 10^9 + frac (* 1000 for usec).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "capture_int.h"

#define PCAP_FILE_HDR 24
#define PCAP_REC_HDR 16
#define PCAP_SANE_CAPLEN (256u << 10)

enum pcap_lengths {
	LENGTHS_NORMAL,
	LENGTHS_SWAPPED,       /* 2.0 - 2.2 */
	LENGTHS_MAYBE_SWAPPED, /* 2.3 */
};

struct pcap_priv {
	uint32_t max_caplen;
	uint32_t frac_mult; /* 1000 for usec, 1 for nsec */
	enum pcap_lengths lengths;
};

/*
 * One record, any case: the refill, the version quirks, the errors.  Not
 * inlined, so that the fast path below stays a leaf function.
 */
static __attribute__((noinline)) int pcap_next_slow(struct netmoon_capture *cap, bool swap)
{
	struct netmoon__source *src = &cap->src;
	const struct pcap_priv *pp = cap->priv;
	const uint8_t *p;
	uint32_t sec, frac, caplen, len;
	int r;

	r = netmoon__source_need(src, PCAP_REC_HDR);
	if (r) {
		if (r < 0)
			return netmoon__capture_source_error(cap, r);
		if (netmoon__source_avail(src) == 0)
			return 0;
		return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, netmoon__source_offset(src),
					      "truncated record header: %zu of %d bytes",
					      netmoon__source_avail(src), PCAP_REC_HDR);
	}
	p = src->cur;
	sec = netmoon__rd32x(p, swap);
	frac = netmoon__rd32x(p + 4, swap);
	caplen = netmoon__rd32x(p + 8, swap);
	len = netmoon__rd32x(p + 12, swap);

	if (pp->lengths == LENGTHS_SWAPPED ||
	    (pp->lengths == LENGTHS_MAYBE_SWAPPED && caplen > len)) {
		uint32_t t = caplen;

		caplen = len;
		len = t;
	}
	if (caplen > pp->max_caplen)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, netmoon__source_offset(src),
					      "record length %" PRIu32 " exceeds the maximum %" PRIu32,
					      caplen, pp->max_caplen);

	r = netmoon__source_need(src, PCAP_REC_HDR + (size_t)caplen);
	if (r) {
		if (r < 0)
			return netmoon__capture_source_error(cap, r);
		return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, netmoon__source_offset(src),
					      "truncated record: %" PRIu32
					      " captured bytes announced, %zu present",
					      caplen, netmoon__source_avail(src) - PCAP_REC_HDR);
	}
	p = src->cur; /* a refill may have moved the record */

	cap->pkt.data = p + PCAP_REC_HDR;
	cap->pkt.caplen = caplen;
	cap->pkt.wirelen = len;
	cap->pkt.ts_ns = (int64_t)sec * 1000000000 + (int64_t)frac * pp->frac_mult;
	src->cur = p + PCAP_REC_HDR + caplen;
	return 1;
}

/*
 * The common case: a 2.4 record wholly inside the window (always, for a
 * mapped file but once per 8 MiB).  Instantiated twice with a constant @swap
 * so there is no byte-order branch.
 */
static inline __attribute__((always_inline)) int pcap_next(struct netmoon_capture *cap, bool swap)
{
	struct netmoon__source *src = &cap->src;
	const struct pcap_priv *pp = cap->priv;
	const uint8_t *p = src->cur;
	size_t avail = netmoon__source_avail(src);
	uint32_t caplen;

	if (netmoon__likely(avail >= PCAP_REC_HDR)) {
		caplen = netmoon__rd32x(p + 8, swap);
		if (netmoon__likely(pp->lengths == LENGTHS_NORMAL && caplen <= pp->max_caplen &&
				    avail - PCAP_REC_HDR >= caplen)) {
			cap->pkt.data = p + PCAP_REC_HDR;
			cap->pkt.caplen = caplen;
			cap->pkt.wirelen = netmoon__rd32x(p + 12, swap);
			cap->pkt.ts_ns = (int64_t)netmoon__rd32x(p, swap) * 1000000000 +
					 (int64_t)netmoon__rd32x(p + 4, swap) * pp->frac_mult;
			src->cur = p + PCAP_REC_HDR + caplen;
			/* The next record's header and frame headers: the caller
			 * parses this packet meanwhile. */
			__builtin_prefetch(src->cur, 0, 3);
			__builtin_prefetch(src->cur + 64, 0, 3);
			netmoon__source_stream(src);
			return 1;
		}
	}
	return pcap_next_slow(cap, swap);
}

static int pcap_next_host(struct netmoon_capture *cap)
{
	return pcap_next(cap, false);
}

static int pcap_next_swapped(struct netmoon_capture *cap)
{
	return pcap_next(cap, true);
}

static void pcap_close(struct netmoon_capture *cap)
{
	free(cap->priv);
	cap->priv = NULL;
}

static const struct netmoon_capture_ops pcap_ops_host = {
	.name = "pcap",
	.next = pcap_next_host,
	.close = pcap_close,
};

static const struct netmoon_capture_ops pcap_ops_swapped = {
	.name = "pcap",
	.next = pcap_next_swapped,
	.close = pcap_close,
};

int netmoon__pcap_open(struct netmoon_capture *cap)
{
	struct netmoon__source *src = &cap->src;
	struct pcap_priv *pp;
	const uint8_t *p;
	uint32_t magic, snaplen, lt;
	uint16_t vmaj, vmin;
	bool swap;
	int r;

	r = netmoon__source_need(src, PCAP_FILE_HDR);
	if (r < 0)
		return netmoon__capture_source_error(cap, r);
	if (r)
		return netmoon__capture_error(cap, NETMOON_E_TRUNCATED, netmoon__source_offset(src),
					      "truncated pcap file header: %zu of %d bytes",
					      netmoon__source_avail(src), PCAP_FILE_HDR);
	p = src->cur;
	memcpy(&magic, p, sizeof(magic));
	swap = magic != NETMOON__PCAP_MAGIC_US && magic != NETMOON__PCAP_MAGIC_NS;
	magic = netmoon__rd32x(p, swap);
	vmaj = netmoon__rd16x(p + 4, swap);
	vmin = netmoon__rd16x(p + 6, swap);
	snaplen = netmoon__rd32x(p + 16, swap);
	lt = netmoon__rd32x(p + 20, swap);

	/* libpcap also reads 2.x only (and DG/UX's 543.0, which we do not). */
	if (vmaj != 2)
		return netmoon__capture_error(cap, NETMOON_E_VERSION, netmoon__source_offset(src) + 4,
					      "unsupported pcap version %u.%u (only 2.x)",
					      vmaj, vmin);

	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return netmoon__capture_error(cap, -ENOMEM, NETMOON__NO_OFFSET, "out of memory");
	pp->frac_mult = magic == NETMOON__PCAP_MAGIC_NS ? 1 : 1000;
	pp->lengths = vmin < 3 ? LENGTHS_SWAPPED : vmin == 3 ? LENGTHS_MAYBE_SWAPPED
							    : LENGTHS_NORMAL;
	pp->max_caplen = snaplen > PCAP_SANE_CAPLEN ? snaplen : PCAP_SANE_CAPLEN;
	if (pp->max_caplen > NETMOON__MAX_RECORD)
		pp->max_caplen = NETMOON__MAX_RECORD;

	cap->priv = pp;
	cap->ops = swap ? &pcap_ops_swapped : &pcap_ops_host;
	cap->linktype = (int)(lt & 0xffff);
	cap->pkt.linktype = lt & 0xffff;
	cap->pkt.ifindex = 0;
	src->cur += PCAP_FILE_HDR;
	return 0;
}
