/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transport layer of the frame parser: TCP (and its options), UDP, ICMP
 * and ICMPv6.  Other protocols are counted as IP payload.
 *
 * "seg" below is the transport segment's length on the wire according to
 * the IP header, "avail" how much of it was captured.  A header that does
 * not fit in avail is R_TRUNC_L4, whether the capture was cut short or the IP
 * length leaves no room for it: in both cases the bytes we have of this IP
 * packet end inside the header.
 *
 * Ports of a truncated TCP/UDP header: when at least the 4 port bytes were
 * captured, src_port/dst_port are filled even though NETMOON_FRAME_L_L4 is
 * not set (Wireshark shows ports from the same 4 bytes; a caller counting
 * truncated packets per port can use them).  L_L4 means the fixed header was
 * complete.
 */
#include "frame_int.h"

#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define ICMP_MIN 4 /* type, code, checksum */

#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

/* ICMP types whose second word is identifier + sequence. */
#define ICMP_ID_TYPES \
	(1u << 0 | 1u << 8 | 1u << 13 | 1u << 14 | 1u << 15 | 1u << 16 | 1u << 17 | 1u << 18)
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

static inline void ports(struct netmoon_frame *f, const uint8_t *p)
{
	f->src_port = netmoon__rd16be(p);
	f->dst_port = netmoon__rd16be(p + 2);
	f->layers |= NETMOON_FRAME_L_PORTS;
}

/*
 * o: the options area, len bytes by the data offset, of which have were
 * captured.  Decoding stops at EOL, at the end of the area, at a malformed
 * option (R_BAD_TCP_OPTS: a length below 2, running past the area, or wrong
 * for the kind) or at the end of the capture (R_TRUNC_L4: the header was not
 * all captured).  Options decoded before the stop are kept.
 */
static int tcp_options(struct netmoon_frame *f, const uint8_t *o, uint32_t len, uint32_t have)
{
	uint32_t i = 0;

	while (i < len) {
		uint32_t olen, n, k;

		if (i >= have)
			return NETMOON_FRAME_R_TRUNC_L4;
		if (o[i] == TCPOPT_EOL)
			break;
		if (o[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return NETMOON_FRAME_R_BAD_TCP_OPTS;
		if (have - i < 2)
			return NETMOON_FRAME_R_TRUNC_L4;
		olen = o[i + 1];
		if (olen < 2 || olen > len - i)
			return NETMOON_FRAME_R_BAD_TCP_OPTS;
		if (olen > have - i)
			return NETMOON_FRAME_R_TRUNC_L4;
		switch (o[i]) {
		case TCPOPT_MSS:
			if (olen != 4)
				return NETMOON_FRAME_R_BAD_TCP_OPTS;
			f->tcp_mss = netmoon__rd16be(o + i + 2);
			f->tcp_opt_present |= NETMOON_TCPOPT_F_MSS;
			break;
		case TCPOPT_WSCALE:
			if (olen != 3)
				return NETMOON_FRAME_R_BAD_TCP_OPTS;
			f->tcp_wscale = o[i + 2];
			f->tcp_opt_present |= NETMOON_TCPOPT_F_WSCALE;
			break;
		case TCPOPT_SACK_PERM:
			if (olen != 2)
				return NETMOON_FRAME_R_BAD_TCP_OPTS;
			f->tcp_opt_present |= NETMOON_TCPOPT_F_SACK_PERM;
			break;
		case TCPOPT_SACK:
			/* RFC 2018: 8*n + 2; an empty SACK (n = 0) says nothing and is malformed. */
			if (olen < 10 || (olen - 2) % 8)
				return NETMOON_FRAME_R_BAD_TCP_OPTS;
			n = (olen - 2) / 8;
			if (n > NETMOON_FRAME_MAX_SACK)
				n = NETMOON_FRAME_MAX_SACK; /* cannot happen in 40 bytes */
			for (k = 0; k < n; k++) {
				f->tcp_sack[k][0] = netmoon__rd32be(o + i + 2 + 8 * k);
				f->tcp_sack[k][1] = netmoon__rd32be(o + i + 6 + 8 * k);
			}
			f->tcp_sack_count = (uint8_t)n;
			f->tcp_opt_present |= NETMOON_TCPOPT_F_SACK;
			break;
		case TCPOPT_TIMESTAMP:
			if (olen != 10)
				return NETMOON_FRAME_R_BAD_TCP_OPTS;
			f->tcp_ts_val = netmoon__rd32be(o + i + 2);
			f->tcp_ts_ecr = netmoon__rd32be(o + i + 6);
			f->tcp_opt_present |= NETMOON_TCPOPT_F_TIMESTAMP;
			break;
		default:
			break;
		}
		i += olen;
	}
	f->layers |= NETMOON_FRAME_L_TCPOPT;
	return NETMOON_FRAME_OK;
}

static int tcp(struct netmoon_frame *f, const uint8_t *data, uint32_t off, uint32_t seg,
	       uint32_t avail)
{
	const uint8_t *t;
	uint32_t doff, have;

	if (netmoon__unlikely(avail < TCP_HLEN)) {
		if (avail >= 4)
			ports(f, data + off);
		return NETMOON_FRAME_R_TRUNC_L4;
	}
	t = data + off;
	ports(f, t);
	doff = (uint32_t)(t[12] >> 4) * 4;
	/* seg >= 20 here, since avail <= seg. */
	if (netmoon__unlikely(doff < TCP_HLEN || doff > seg))
		return NETMOON_FRAME_R_BAD_TCP_DOFF;
	f->layers |= NETMOON_FRAME_L_L4;
	f->tcp_seq = netmoon__rd32be(t + 4);
	f->tcp_ack = netmoon__rd32be(t + 8);
	f->tcp_flags = t[13];
	f->tcp_window = netmoon__rd16be(t + 14);
	f->payload_offset = off + doff;
	f->payload_len = seg - doff;
	if (doff == TCP_HLEN) {
		f->layers |= NETMOON_FRAME_L_TCPOPT;
		return NETMOON_FRAME_OK;
	}
	have = avail < doff ? avail : doff;
	/*
	 * NOP, NOP, timestamps: what nearly every segment of an established
	 * Linux or BSD connection carries.  Worth a third of the parse time.
	 */
	if (netmoon__likely(doff == TCP_HLEN + 12 && have == doff) &&
	    netmoon__rd32be(t + TCP_HLEN) == 0x0101080a) {
		f->tcp_ts_val = netmoon__rd32be(t + TCP_HLEN + 4);
		f->tcp_ts_ecr = netmoon__rd32be(t + TCP_HLEN + 8);
		f->tcp_opt_present = NETMOON_TCPOPT_F_TIMESTAMP;
		f->layers |= NETMOON_FRAME_L_TCPOPT;
		return NETMOON_FRAME_OK;
	}
	return tcp_options(f, t + TCP_HLEN, doff - TCP_HLEN, have - TCP_HLEN);
}

static int udp(struct netmoon_frame *f, const uint8_t *data, uint32_t off, uint32_t seg,
	       uint32_t avail)
{
	uint32_t ulen;

	if (netmoon__unlikely(avail < UDP_HLEN)) {
		if (avail >= 4)
			ports(f, data + off);
		return NETMOON_FRAME_R_TRUNC_L4;
	}
	ports(f, data + off);
	f->layers |= NETMOON_FRAME_L_L4;
	f->payload_offset = off + UDP_HLEN;
	ulen = netmoon__rd16be(data + off + 4);
	/* RFC 2675: a jumbogram's UDP length is 0; the IPv6 length rules. */
	if (netmoon__unlikely(ulen == 0) && seg > 0xffff)
		ulen = seg;
	/*
	 * A first fragment holds only the start of the datagram the length
	 * describes: there the fragment's own length is what we have.
	 */
	if (netmoon__unlikely(f->ip_flags & NETMOON_FRAME_IP_F_FRAGMENT) && ulen >= UDP_HLEN) {
		f->payload_len = seg - UDP_HLEN;
		return NETMOON_FRAME_OK;
	}
	if (netmoon__unlikely(ulen < UDP_HLEN || ulen > seg)) {
		f->payload_len = seg - UDP_HLEN;
		return NETMOON_FRAME_R_BAD_UDP_LEN;
	}
	f->payload_len = ulen - UDP_HLEN;
	return NETMOON_FRAME_OK;
}

/*
 * ICMP errors quote the offending packet's IP header; that stays payload
 * (the caller can find it at payload_offset): decoding it as if it were this
 * packet's own headers is how flow tables get poisoned.
 */
static int icmp(struct netmoon_frame *f, const uint8_t *data, uint32_t off, uint32_t seg,
		uint32_t avail)
{
	const uint8_t *p;
	uint32_t hlen = seg < ICMP_HLEN ? seg : ICMP_HLEN;
	bool has_id;

	if (netmoon__unlikely(avail < ICMP_MIN))
		return NETMOON_FRAME_R_TRUNC_L4;
	p = data + off;
	f->icmp_type = p[0];
	f->icmp_code = p[1];
	f->layers |= NETMOON_FRAME_L_L4;
	f->payload_offset = off + hlen;
	f->payload_len = seg - hlen;
	if (netmoon__unlikely(avail < ICMP_HLEN))
		return NETMOON_FRAME_R_TRUNC_L4;
	if (f->ip_proto == IPPROTO_ICMP)
		has_id = p[0] < 32 && (ICMP_ID_TYPES >> p[0] & 1);
	else
		has_id = p[0] == ICMP6_ECHO_REQUEST || p[0] == ICMP6_ECHO_REPLY;
	if (has_id)
		f->icmp_id = netmoon__rd16be(p + 4);
	return NETMOON_FRAME_OK;
}

int netmoon__frame_l4(struct netmoon_frame *f, const uint8_t *data, uint32_t off,
		      uint32_t end, uint32_t cap)
{
	uint32_t seg = end - off;
	uint32_t avail = cap > off ? cap - off : 0;

	f->l4_offset = off;
	switch (f->ip_proto) {
	case IPPROTO_TCP:
		return tcp(f, data, off, seg, avail);
	case IPPROTO_UDP:
		return udp(f, data, off, seg, avail);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return icmp(f, data, off, seg, avail);
	default:
		/* Not ours to decode (ESP, GRE, SCTP, no next header, ...): all payload. */
		f->payload_offset = off;
		f->payload_len = seg;
		return NETMOON_FRAME_OK;
	}
}
