/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file frame.h
 * @brief The frame parser: a pure function from captured bytes to a decoded view.
 *
 * netmoon_frame_parse() decodes the link layer (Ethernet with stacked
 * 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD loopback, raw IP), the network
 * layer (IPv4 with options and fragments; IPv6 with hop-by-hop, routing,
 * destination options, fragment and AH extension headers) and the transport
 * layer (TCP with its options, UDP, ICMP, ICMPv6).  It allocates nothing,
 * performs no I/O and never reads a byte beyond the captured length.  A frame
 * it cannot decode completely is returned as far as it was decoded, with a
 * reason code (enum netmoon_frame_reason) the caller can count.
 */
#ifndef NETMOON_FRAME_H
#define NETMOON_FRAME_H

#include <netmoon/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum number of VLAN IDs stored in struct netmoon_frame (more are counted, not stored). */
#define NETMOON_FRAME_MAX_VLANS 4
/** Maximum number of SACK blocks stored from one TCP SACK option. */
#define NETMOON_FRAME_MAX_SACK 4
/** Maximum number of IPv6 extension headers walked before giving up. */
#define NETMOON_FRAME_MAX_EXTHDRS 16

/**
 * @brief Why a frame was not decoded completely.  Values never change.
 *
 * NETMOON_FRAME_OK means every layer present was decoded (a packet of an IP
 * protocol other than TCP/UDP/ICMP/ICMPv6 is OK once its IP header is).
 */
enum netmoon_frame_reason {
	NETMOON_FRAME_OK = 0,                 /**< Decoded completely. */
	NETMOON_FRAME_R_LINKTYPE = 1,         /**< Link type not supported. */
	NETMOON_FRAME_R_TRUNC_LINK = 2,       /**< Captured data ends inside the link-layer header. */
	NETMOON_FRAME_R_TRUNC_VLAN = 3,       /**< Captured data ends inside a VLAN tag. */
	NETMOON_FRAME_R_VLAN_DEPTH = 4,       /**< More stacked VLAN tags than the parser follows. */
	NETMOON_FRAME_R_NOT_IP = 5,           /**< Ethertype / protocol is not IPv4 or IPv6 (ARP, ...). */
	NETMOON_FRAME_R_TRUNC_IP = 6,         /**< Captured data ends inside the IP header. */
	NETMOON_FRAME_R_BAD_IP_VERSION = 7,   /**< Version nibble is not the expected 4 or 6. */
	NETMOON_FRAME_R_BAD_IHL = 8,          /**< IPv4 header length below 20 bytes. */
	NETMOON_FRAME_R_BAD_IP_LEN = 9,       /**< IP total/payload length smaller than the header, or larger than the frame. */
	NETMOON_FRAME_R_FRAGMENT = 10,        /**< Non-first IP fragment: no transport header in it. */
	NETMOON_FRAME_R_TRUNC_EXTHDR = 11,    /**< Captured data ends inside an IPv6 extension header. */
	NETMOON_FRAME_R_EXTHDR_CHAIN = 12,    /**< IPv6 extension header chain too long, or overruns the packet. */
	NETMOON_FRAME_R_TRUNC_L4 = 13,        /**< Captured data ends inside the TCP/UDP/ICMP header. */
	NETMOON_FRAME_R_BAD_TCP_DOFF = 14,    /**< TCP data offset below 5, or beyond the segment. */
	NETMOON_FRAME_R_BAD_TCP_OPTS = 15,    /**< TCP options malformed or running off their area (header fields still valid). */
	NETMOON_FRAME_R_BAD_UDP_LEN = 16,     /**< UDP length field below 8 or beyond the IP payload. */
	NETMOON_FRAME_R_BAD_ARGS = 17,        /**< NULL data with a non-zero captured length. */
	NETMOON_FRAME_R__COUNT = 18,          /**< Number of reason codes (for counter arrays). */
};

/** @name Bits of netmoon_frame::layers: which headers were decoded. */
/**@{*/
#define NETMOON_FRAME_L_LINK 0x01u /**< Link-layer header decoded. */
#define NETMOON_FRAME_L_IP 0x02u   /**< IPv4 or IPv6 header decoded (addresses valid). */
#define NETMOON_FRAME_L_L4 0x04u   /**< Transport header decoded (ports / ICMP fields valid). */
#define NETMOON_FRAME_L_TCPOPT 0x08u /**< TCP options decoded without error. */
#define NETMOON_FRAME_L_PORTS 0x10u /**< TCP/UDP ports valid (set with L_L4, and alone when the header was cut after its first 4 bytes). */
/**@}*/

/** @name Bits of netmoon_frame::ip_flags. */
/**@{*/
#define NETMOON_FRAME_IP_F_FRAGMENT 0x01u /**< The packet is an IP fragment (first or not). */
#define NETMOON_FRAME_IP_F_MORE_FRAGS 0x02u /**< More-fragments bit set. */
#define NETMOON_FRAME_IP_F_DONT_FRAG 0x04u /**< IPv4 don't-fragment bit set. */
#define NETMOON_FRAME_IP_F_OPTIONS 0x08u  /**< IPv4 options or IPv6 extension headers present. */
/**@}*/

/** @name TCP flag bits (netmoon_frame::tcp_flags), as in the TCP header. */
/**@{*/
#define NETMOON_TCP_FIN 0x01u /**< FIN */
#define NETMOON_TCP_SYN 0x02u /**< SYN */
#define NETMOON_TCP_RST 0x04u /**< RST */
#define NETMOON_TCP_PSH 0x08u /**< PSH */
#define NETMOON_TCP_ACK 0x10u /**< ACK */
#define NETMOON_TCP_URG 0x20u /**< URG */
#define NETMOON_TCP_ECE 0x40u /**< ECE */
#define NETMOON_TCP_CWR 0x80u /**< CWR */
/**@}*/

/** @name Bits of netmoon_frame::tcp_opt_present. */
/**@{*/
#define NETMOON_TCPOPT_F_MSS 0x01u       /**< Maximum segment size. */
#define NETMOON_TCPOPT_F_WSCALE 0x02u    /**< Window scale. */
#define NETMOON_TCPOPT_F_SACK_PERM 0x04u /**< SACK permitted. */
#define NETMOON_TCPOPT_F_SACK 0x08u      /**< SACK blocks. */
#define NETMOON_TCPOPT_F_TIMESTAMP 0x10u /**< Timestamps. */
/**@}*/

/**
 * @brief A decoded frame.  Filled by netmoon_frame_parse(); caller-allocated.
 *
 * Set @c sz before parsing (NETMOON_OPTS() does).  All multi-byte numbers are
 * in host byte order.  Offsets are from the first captured byte.  Members of
 * a layer are valid only when its bit is set in @c layers.  New members are
 * only appended.
 */
struct netmoon_frame {
	size_t sz;               /**< Set by the caller: sizeof(struct netmoon_frame). */
	int32_t reason;          /**< enum netmoon_frame_reason. */
	uint32_t layers;         /**< NETMOON_FRAME_L_* bits. */
	uint32_t caplen;         /**< Captured bytes, as given. */
	uint32_t wirelen;        /**< Wire length, as given. */

	/* link layer */
	uint32_t linktype;       /**< As given. */
	uint16_t ethertype;      /**< Protocol after the link header and any VLAN tags. */
	uint8_t vlan_count;      /**< VLAN tags seen (may exceed NETMOON_FRAME_MAX_VLANS). */
	uint8_t sll_pkttype;     /**< SLL/SLL2 packet type (0 host, 1 broadcast, ..., 4 outgoing). */
	uint16_t vlan_ids[NETMOON_FRAME_MAX_VLANS]; /**< VLAN IDs (12 bits), outer first. */
	uint16_t vlan_tpids[NETMOON_FRAME_MAX_VLANS]; /**< Tag protocol of each tag (0x8100, 0x88a8, ...). */

	/* network layer */
	uint8_t ip_version;      /**< 4 or 6; 0 when no IP header. */
	uint8_t ip_proto;        /**< Transport protocol (after IPv6 extension headers). */
	uint8_t ip_ttl;          /**< IPv4 TTL or IPv6 hop limit. */
	uint8_t ip_flags;        /**< NETMOON_FRAME_IP_F_* bits. */
	uint8_t src_addr[16];    /**< Source address; IPv4 uses the first 4 bytes, rest zero. */
	uint8_t dst_addr[16];    /**< Destination address; as @c src_addr. */
	uint32_t l3_offset;      /**< Offset of the IP header. */
	uint32_t ip_hdr_len;     /**< IPv4 header incl. options; IPv6 40 + extension headers. */
	uint32_t ip_len;         /**< IPv4 total length; IPv6 40 + payload length.  Bytes of IP on the wire. */
	uint32_t frag_id;        /**< IPv4 identification or IPv6 fragment identification. */
	uint32_t frag_offset;    /**< Fragment offset in bytes. */

	/* transport layer */
	uint32_t l4_offset;      /**< Offset of the transport header (or of the fragment's data). */
	uint32_t payload_offset; /**< Offset of the transport payload. */
	uint32_t payload_len;    /**< Transport payload bytes according to the headers (may exceed what was captured); in a first fragment, those of this fragment. */
	uint16_t src_port;       /**< TCP/UDP source port (also filled without NETMOON_FRAME_L_L4 when a cut TCP/UDP header still holds the ports). */
	uint16_t dst_port;       /**< TCP/UDP destination port; as @c src_port. */
	uint8_t icmp_type;       /**< ICMP/ICMPv6 type. */
	uint8_t icmp_code;       /**< ICMP/ICMPv6 code. */
	uint16_t icmp_id;        /**< ICMP echo/timestamp/info identifier (0 for other types). */
	uint8_t tcp_flags;       /**< NETMOON_TCP_* bits. */
	uint8_t tcp_opt_present; /**< NETMOON_TCPOPT_F_* bits. */
	uint16_t tcp_window;     /**< Raw window field (unscaled). */
	uint32_t tcp_seq;        /**< Sequence number. */
	uint32_t tcp_ack;        /**< Acknowledgement number. */
	uint16_t tcp_mss;        /**< MSS option value. */
	uint8_t tcp_wscale;      /**< Window scale shift. */
	uint8_t tcp_sack_count;  /**< SACK blocks stored in @c tcp_sack. */
	uint32_t tcp_ts_val;     /**< Timestamp value. */
	uint32_t tcp_ts_ecr;     /**< Timestamp echo reply. */
	uint32_t tcp_sack[NETMOON_FRAME_MAX_SACK][2]; /**< SACK blocks: left and right edge. */
};

/**
 * @brief Decode one captured frame.
 *
 * Pure: no allocation, no I/O, no global state; safe from any thread.
 * @param[in,out] f  Caller's struct with @c sz set; every member is rewritten.
 * @param linktype   enum netmoon_linktype of the frame.
 * @param data       First captured byte.
 * @param caplen     Bytes available at @p data.
 * @param wirelen    Original length of the frame on the wire; when below
 *                   @p caplen (some files have it), @p caplen is used.
 * @return NETMOON_FRAME_OK (0) when fully decoded; a positive enum
 *         netmoon_frame_reason when decoding stopped early (the layers
 *         decoded so far are valid); -EINVAL when @p f is NULL or its
 *         @c sz is too small.
 */
NETMOON_API int netmoon_frame_parse(struct netmoon_frame *f, uint32_t linktype,
				    const uint8_t *data, uint32_t caplen, uint32_t wirelen);

/**
 * @brief Short name of a reason code, e.g. "bad-ihl".
 * @param reason  An enum netmoon_frame_reason value.
 * @return A static string; "unknown" for values out of range.
 */
NETMOON_API const char *netmoon_frame_reason_str(int reason);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_FRAME_H */
