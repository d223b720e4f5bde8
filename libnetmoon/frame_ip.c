/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The network layer of the frame parser: IPv4 (options, fragments, TSO) and
 * IPv6 (extension header chain, fragments, jumbograms).
 *
 * Length policy, shared by both versions: the IP header's length field
 * decides where the packet ends.  Bytes after that end (Ethernet padding, a
 * trailer, an FCS) are ignored; a length beyond what was on the wire is
 * R_BAD_IP_LEN, with the header's fields (addresses, protocol) still valid
 * but no transport layer decoded.  A length beyond what was merely captured
 * is fine: the transport layer then sees a short capture.
 */
#include "frame_int.h"

#define IPV4_HLEN 20
#define IPV6_HLEN 40

#define IPV4_MF 0x2000
#define IPV4_DF 0x4000
#define IPV4_OFFMASK 0x1fff

#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_NONE 59
#define IPPROTO_DSTOPTS 60
#define IPPROTO_MH 135
#define IPPROTO_HIP 139
#define IPPROTO_SHIM6 140

#define IP6_FRAG_HLEN 8
#define IP6_FRAG_OFFMASK 0xfff8
#define IP6_FRAG_MORE 0x0001
#define IP6OPT_PAD1 0x00
#define IP6OPT_JUMBO 0xc2

/*
 * Headers with the generic (next header, length) layout that we walk over.
 * ESP (50) is not one: what follows it is encrypted, so it is the protocol.
 */
static inline bool is_exthdr(uint8_t nxt)
{
	switch (nxt) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_AH:
	case IPPROTO_DSTOPTS:
	case IPPROTO_MH:
	case IPPROTO_HIP:
	case IPPROTO_SHIM6:
		return true;
	default:
		return false;
	}
}

/* Fill in where the transport layer would start when there is none to parse. */
static int no_transport(struct netmoon_frame *f, uint32_t off, uint32_t end, int reason)
{
	f->l4_offset = off;
	f->payload_offset = off;
	f->payload_len = end - off;
	return reason;
}

int netmoon__frame_ipv4(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
			uint32_t caplen, uint32_t wirelen)
{
	const uint8_t *ip;
	uint32_t hlen, len, end;
	uint16_t frag;

	f->l3_offset = off;
	if (netmoon__unlikely(!netmoon__frame_have(off, IPV4_HLEN, caplen)))
		return NETMOON_FRAME_R_TRUNC_IP;
	ip = data + off;
	if (netmoon__unlikely(ip[0] >> 4 != 4))
		return NETMOON_FRAME_R_BAD_IP_VERSION;
	hlen = (ip[0] & 0x0fu) * 4;
	if (netmoon__unlikely(hlen < IPV4_HLEN))
		return NETMOON_FRAME_R_BAD_IHL;
	if (netmoon__unlikely(hlen > caplen - off))
		return NETMOON_FRAME_R_TRUNC_IP;

	f->layers |= NETMOON_FRAME_L_IP;
	f->ip_version = 4;
	f->ip_ttl = ip[8];
	f->ip_proto = ip[9];
	memcpy(f->src_addr, ip + 12, 4);
	memcpy(f->dst_addr, ip + 16, 4);
	f->ip_hdr_len = hlen;
	f->frag_id = netmoon__rd16be(ip + 4);
	frag = netmoon__rd16be(ip + 6);
	f->frag_offset = (uint32_t)(frag & IPV4_OFFMASK) * 8;
	/* Branch-free: DF and MF sit where IP_F_DONT_FRAG and IP_F_MORE_FRAGS do, 12 bits up. */
	_Static_assert(IPV4_DF >> 12 == NETMOON_FRAME_IP_F_DONT_FRAG &&
			       IPV4_MF >> 12 == NETMOON_FRAME_IP_F_MORE_FRAGS,
		       "IPv4 flag bits");
	f->ip_flags = (uint8_t)((frag >> 12 & (NETMOON_FRAME_IP_F_DONT_FRAG |
					       NETMOON_FRAME_IP_F_MORE_FRAGS)) |
				(!!(frag & (IPV4_MF | IPV4_OFFMASK)) * NETMOON_FRAME_IP_F_FRAGMENT) |
				((hlen > IPV4_HLEN) * NETMOON_FRAME_IP_F_OPTIONS));

	len = netmoon__rd16be(ip + 2);
	/*
	 * Total length 0: a TSO / BIG TCP super-packet captured before the NIC
	 * split it (tcpdump__bigtcp-ipv4.pcap).  Like Wireshark (ip.len "reported
	 * as 0, presumed to be because of TSO") and tcpdump, the packet is
	 * everything that was on the wire after the link header.
	 */
	if (netmoon__unlikely(len == 0))
		len = wirelen - off;
	if (netmoon__unlikely(len > wirelen - off)) {
		/*
		 * Claims more than was on the wire.  tcpdump and tshark still decode
		 * what is there, and so do we, within the wire length; the reason
		 * code stays R_BAD_IP_LEN so callers can count it.
		 */
		int r;

		len = wirelen - off;
		f->ip_len = len;
		if (len < hlen || (frag & IPV4_OFFMASK))
			return NETMOON_FRAME_R_BAD_IP_LEN;
		r = netmoon__frame_l4(f, data, off + hlen, off + len, caplen < off + len ? caplen : off + len);
		return r ? r : NETMOON_FRAME_R_BAD_IP_LEN;
	}
	f->ip_len = len;
	if (netmoon__unlikely(len < hlen))
		return NETMOON_FRAME_R_BAD_IP_LEN;
	end = off + len;

	if (netmoon__unlikely(frag & IPV4_OFFMASK))
		return no_transport(f, off + hlen, end, NETMOON_FRAME_R_FRAGMENT);
	return netmoon__frame_l4(f, data, off + hlen, end, caplen < end ? caplen : end);
}

/*
 * RFC 2675: payload length 0 and a hop-by-hop header holding the real one.
 * Returns 0 and sets *plen, or a reason.
 */
static int ipv6_jumbo(const uint8_t *data, uint32_t off, uint32_t caplen, uint32_t *plen)
{
	const uint8_t *h;
	uint32_t hlen, i;

	if (!netmoon__frame_have(off, 2, caplen))
		return NETMOON_FRAME_R_TRUNC_EXTHDR;
	h = data + off;
	hlen = (h[1] + 1u) * 8;
	if (!netmoon__frame_have(off, hlen, caplen))
		return NETMOON_FRAME_R_TRUNC_EXTHDR;
	for (i = 2; i < hlen;) {
		if (h[i] == IP6OPT_PAD1) {
			i++;
			continue;
		}
		if (hlen - i < 2 || h[i + 1] > hlen - i - 2)
			break;
		if (h[i] == IP6OPT_JUMBO && h[i + 1] == 4) {
			*plen = netmoon__rd32be(h + i + 2);
			/* Below 65536 the ordinary field would have done: malformed. */
			return *plen > 0xffff ? 0 : NETMOON_FRAME_R_BAD_IP_LEN;
		}
		i += 2u + h[i + 1];
	}
	return NETMOON_FRAME_R_BAD_IP_LEN;
}

/*
 * Walk the extension headers starting at *offp with next header *nxtp, up
 * to the first header that is not one (the transport protocol, ESP, ...).
 * end is the end of the IPv6 payload; cap the end of what was captured.
 *
 * A hop-by-hop header that is not first (RFC 8200 forbids it) is walked like
 * any other: the chain stays decodable, and it is not our job to drop it.
 */
static int ipv6_exthdrs(struct netmoon_frame *f, const uint8_t *data, uint32_t *offp,
			uint8_t *nxtp, uint32_t end, uint32_t cap)
{
	uint32_t off = *offp;
	uint8_t nxt = *nxtp;
	unsigned int n;

	for (n = 0;; n++) {
		const uint8_t *h;
		uint32_t hlen;

		if (!is_exthdr(nxt)) {
			*offp = off;
			*nxtp = nxt;
			return NETMOON_FRAME_OK;
		}
		f->ip_flags |= NETMOON_FRAME_IP_F_OPTIONS;
		if (n == NETMOON_FRAME_MAX_EXTHDRS)
			return NETMOON_FRAME_R_EXTHDR_CHAIN;
		/* Past the payload length is malformed; merely past the capture is not. */
		if (end - off < 2)
			return NETMOON_FRAME_R_EXTHDR_CHAIN;
		if (!netmoon__frame_have(off, 2, cap))
			return NETMOON_FRAME_R_TRUNC_EXTHDR;
		h = data + off;
		if (nxt == IPPROTO_FRAGMENT)
			hlen = IP6_FRAG_HLEN;
		else if (nxt == IPPROTO_AH)
			hlen = (h[1] + 2u) * 4; /* RFC 4302: 32-bit words, minus 2 */
		else
			hlen = (h[1] + 1u) * 8; /* 8-octet units, not counting the first */
		if (end - off < hlen)
			return NETMOON_FRAME_R_EXTHDR_CHAIN;
		if (cap - off < hlen)
			return NETMOON_FRAME_R_TRUNC_EXTHDR;

		if (nxt == IPPROTO_FRAGMENT) {
			uint16_t fo = netmoon__rd16be(h + 2);

			f->frag_id = netmoon__rd32be(h + 4);
			f->frag_offset = fo & IP6_FRAG_OFFMASK;
			if (fo & IP6_FRAG_MORE)
				f->ip_flags |= NETMOON_FRAME_IP_F_MORE_FRAGS;
			/*
			 * Offset 0 without M is an RFC 6946 "atomic fragment": the whole
			 * packet, so, as for IPv4, not flagged as a fragment.
			 */
			if (fo & (IP6_FRAG_OFFMASK | IP6_FRAG_MORE))
				f->ip_flags |= NETMOON_FRAME_IP_F_FRAGMENT;
			if (fo & IP6_FRAG_OFFMASK) {
				/* Non-first: what follows is the middle of some header or payload. */
				f->ip_proto = h[0];
				f->ip_hdr_len = off + IP6_FRAG_HLEN - f->l3_offset;
				return no_transport(f, off + IP6_FRAG_HLEN, end,
						    NETMOON_FRAME_R_FRAGMENT);
			}
		}
		nxt = h[0];
		off += hlen;
	}
}

int netmoon__frame_ipv6(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
			uint32_t caplen, uint32_t wirelen)
{
	const uint8_t *ip;
	uint32_t plen, end, cap, l4;
	uint8_t nxt;
	int r;

	f->l3_offset = off;
	if (netmoon__unlikely(!netmoon__frame_have(off, IPV6_HLEN, caplen)))
		return NETMOON_FRAME_R_TRUNC_IP;
	ip = data + off;
	if (netmoon__unlikely(ip[0] >> 4 != 6))
		return NETMOON_FRAME_R_BAD_IP_VERSION;

	f->layers |= NETMOON_FRAME_L_IP;
	f->ip_version = 6;
	plen = netmoon__rd16be(ip + 4);
	nxt = ip[6];
	f->ip_proto = nxt;
	f->ip_ttl = ip[7];
	memcpy(f->src_addr, ip + 8, 16);
	memcpy(f->dst_addr, ip + 24, 16);
	f->ip_hdr_len = IPV6_HLEN;

	/*
	 * Payload length 0 is a jumbogram, or an empty packet (next header 59).
	 * Anything else is malformed: unlike IPv4 we do not presume TSO, as
	 * Wireshark 4.0 does not either (it reports "IPv6 payload length equals
	 * 0 (maybe because of TSO)" and decodes an empty payload).
	 */
	if (netmoon__unlikely(plen == 0) && nxt != IPPROTO_NONE) {
		f->ip_len = IPV6_HLEN;
		if (nxt != IPPROTO_HOPOPTS)
			return NETMOON_FRAME_R_BAD_IP_LEN;
		r = ipv6_jumbo(data, off + IPV6_HLEN, caplen, &plen);
		if (r)
			return r;
	}
	/* Saturates for a 32-bit jumbo length, which is then rejected below. */
	f->ip_len = plen > UINT32_MAX - IPV6_HLEN ? UINT32_MAX : IPV6_HLEN + plen;
	if (netmoon__unlikely(plen > wirelen - off - IPV6_HLEN))
		return NETMOON_FRAME_R_BAD_IP_LEN;
	end = off + IPV6_HLEN + plen;
	cap = caplen < end ? caplen : end;
	l4 = off + IPV6_HLEN;

	if (is_exthdr(nxt)) {
		r = ipv6_exthdrs(f, data, &l4, &nxt, end, cap);
		if (r)
			return r;
		f->ip_proto = nxt;
		f->ip_hdr_len = l4 - off;
	}
	return netmoon__frame_l4(f, data, l4, end, cap);
}
