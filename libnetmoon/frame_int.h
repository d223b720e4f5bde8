/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frame parser's layers talk to each other through these three calls:
 * frame.c (entry point, link layer) -> frame_ip.c (IPv4, IPv6 and its
 * extension headers) -> frame_l4.c (TCP and its options, UDP, ICMP, ICMPv6).
 *
 * Every function returns an enum netmoon_frame_reason and fills the struct
 * as far as it got.  Bounds are passed as offsets from the first captured
 * byte, never as pointers, so that nothing points past the buffer before it
 * has been checked.
 */
#ifndef NETMOON_FRAME_INT_H
#define NETMOON_FRAME_INT_H

#include "internal.h"

#define NETMOON__ETHERTYPE_IPV4 0x0800
#define NETMOON__ETHERTYPE_IPV6 0x86dd

/*
 * true when n bytes starting at off lie below lim.  Written as a subtraction
 * so that no offset + length sum can wrap around.
 */
static inline bool netmoon__frame_have(uint32_t off, uint32_t n, uint32_t lim)
{
	return off <= lim && lim - off >= n;
}

/*
 * The IP layer, at offset off.  caplen is the captured length; wirelen the
 * wire length, never less than caplen (the entry point sees to that).
 */
int netmoon__frame_ipv4(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
			uint32_t caplen, uint32_t wirelen);
int netmoon__frame_ipv6(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
			uint32_t caplen, uint32_t wirelen);

/*
 * The transport layer of f->ip_proto at offset off.  end is where the IP
 * packet ends according to its own length fields (so Ethernet padding and
 * trailers are not part of it); cap is min(caplen, end), the last byte + 1 of
 * it that was captured.
 */
int netmoon__frame_l4(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
		      uint32_t end, uint32_t cap);

#endif /* NETMOON_FRAME_INT_H */
