/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file capture.h
 * @brief One capture handle for every packet source.
 *
 * A capture handle yields packets one at a time (netmoon_capture_next()) or
 * through a callback (netmoon_capture_loop()).  Capture files in pcap format
 * (microsecond and nanosecond, either byte order) and pcapng format (several
 * sections and interfaces, per-interface time resolution and offset) are
 * detected by their magic number, never by their name.
 *
 * Packets are handed out without copying: the data pointer refers to the
 * handle's own buffer or to the mapped file.
 */
#ifndef NETMOON_CAPTURE_H
#define NETMOON_CAPTURE_H

#include <netmoon/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Link-layer header types (the LINKTYPE_ values of pcap files).
 */
enum netmoon_linktype {
	NETMOON_LINKTYPE_NULL = 0,         /**< BSD loopback: 4-byte host-order address family. */
	NETMOON_LINKTYPE_ETHERNET = 1,     /**< Ethernet II / 802.3, with optional 802.1Q/802.1ad tags. */
	NETMOON_LINKTYPE_RAW_DLT12 = 12,   /**< Raw IPv4 or IPv6 (DLT_RAW on most systems). */
	NETMOON_LINKTYPE_RAW_DLT14 = 14,   /**< Raw IPv4 or IPv6 (DLT_RAW on OpenBSD). */
	NETMOON_LINKTYPE_RAW = 101,        /**< Raw IPv4 or IPv6; the version nibble decides. */
	NETMOON_LINKTYPE_LINUX_SLL = 113,  /**< Linux "cooked" capture, version 1. */
	NETMOON_LINKTYPE_IPV4 = 228,       /**< Raw IPv4 only. */
	NETMOON_LINKTYPE_IPV6 = 229,       /**< Raw IPv6 only. */
	NETMOON_LINKTYPE_LINUX_SLL2 = 276, /**< Linux "cooked" capture, version 2. */
};

/** Opaque capture handle. */
struct netmoon_capture;

/**
 * @brief One packet as delivered by a capture handle.
 *
 * Library-owned and read-only.  Valid until the next call on the same handle
 * (netmoon_capture_next(), the next callback of netmoon_capture_loop(), or
 * netmoon_capture_close()).  New members are only appended; check @c sz
 * before reading a member added after 0.1.
 */
struct netmoon_packet {
	size_t sz;            /**< sizeof(struct netmoon_packet) of the library. */
	const uint8_t *data;  /**< First captured byte (the link-layer header). */
	uint32_t caplen;      /**< Bytes available at @c data. */
	uint32_t wirelen;     /**< Length of the packet on the wire (>= caplen for sane input). */
	int64_t ts_ns;        /**< Time stamp, nanoseconds since the Unix epoch (UTC); 0 when
	                           the record has none (pcapng Simple Packet Block). */
	uint32_t linktype;    /**< enum netmoon_linktype (or another LINKTYPE_ value). */
	uint32_t ifindex;     /**< pcapng: interface number in the file; pcap: 0; live: the kernel's interface index. */
	uint64_t number;      /**< 1-based position of the packet in the capture. */
	/** Live capture: where the packet went, as the kernel's sll_pkttype
	 *  (enum netmoon_pkttype); files: NETMOON_PKTTYPE_UNKNOWN.  @since 0.2 */
	uint32_t pkttype;
};

/** @brief Direction of a live packet (netmoon_packet::pkttype), as Linux's PACKET_* types. */
enum netmoon_pkttype {
	NETMOON_PKTTYPE_HOST = 0,      /**< To this host. */
	NETMOON_PKTTYPE_BROADCAST = 1, /**< To everyone on the link. */
	NETMOON_PKTTYPE_MULTICAST = 2, /**< To a multicast group. */
	NETMOON_PKTTYPE_OTHERHOST = 3, /**< To another host (seen in promiscuous mode). */
	NETMOON_PKTTYPE_OUTGOING = 4,  /**< Sent by this host. */
	NETMOON_PKTTYPE_UNKNOWN = 255, /**< Not known (capture files). */
};

/**
 * @brief Options for netmoon_capture_open_file() and netmoon_capture_open_mem().
 *
 * Declare with NETMOON_OPTS(); zero members mean defaults; NULL means all defaults.
 */
struct netmoon_capture_file_opts {
	size_t sz;            /**< Set by NETMOON_OPTS() to sizeof this struct. */
	/** Read buffer, in bytes; 0 = 4 MiB.
	 *  A larger record grows it, up to the formats' 16 MiB record limit,
	 *  so a pipe yields the same packets as the file. */
	size_t buffer_size;
	/** Non-zero: map a regular file instead of reading it in large chunks.
	 *  Chunked read() is the default because a file truncated by another
	 *  process while mapped raises SIGBUS in the reading thread.  Mapped,
	 *  no packet is copied; a single thread then reads about 1.3 times
	 *  faster (docs/BENCHMARKS.md). */
	int use_mmap;
	/** Non-zero: a second thread works ahead of the caller's.
	 *  With use_mmap (on a regular file, standard input redirected from one
	 *  included) or on netmoon_capture_open_mem(), it walks the records
	 *  from the caller's first request on and hands the caller packet
	 *  descriptors pointing into the mapping, in batches: the caller's
	 *  thread is left with its own work, and no packet byte is copied.
	 *  Once netmoon_capture_next_frame() is called, the thread also decodes
	 *  every packet it hands over.  This is the fastest way to read a
	 *  capture file on two cores or more.
	 *  Without use_mmap, on a regular file, it read()s the next chunks
	 *  while the caller takes packets from the previous one (the
	 *  buffer_size bytes are then split into 4 chunks of at least 256 KiB);
	 *  every byte then crosses between the cores, and on the 2-core machine
	 *  of docs/BENCHMARKS.md it did not pay.
	 *  Ignored for pipes.  The thread blocks every signal but those a fault
	 *  raises (SIGBUS, SIGSEGV, SIGFPE, SIGILL): a mapped file truncated by
	 *  another process raises SIGBUS in that thread.  It ends with the
	 *  handle (netmoon_capture_close() waits for it to finish the record
	 *  it is reading).  Otherwise everything is as without it: the same
	 *  packets, errors, messages and statistics (file_offset counts the
	 *  packets handed out, not how far the thread has read). */
	int read_thread;
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Open a capture file (pcap or pcapng, detected by magic number).
 * @param[out] cap  Receives the new handle on success; untouched on failure.
 * @param path      File name; "-" reads standard input.
 * @param opts      Options, or NULL for defaults.
 * @return 0 on success; -ENOENT, -EACCES and other errno values from
 *         open(2); NETMOON_E_FORMAT when the magic number is unknown;
 *         NETMOON_E_VERSION, NETMOON_E_CORRUPT or NETMOON_E_TRUNCATED for a bad header;
 *         -EINVAL for NULL arguments or options with unknown non-zero members.
 * @note On failure no handle exists to ask for details: use
 *       netmoon_capture_open_err() to also get a message naming the file
 *       and the offset.
 */
NETMOON_API int netmoon_capture_open_file(struct netmoon_capture **cap, const char *path,
					  const struct netmoon_capture_file_opts *opts);

/**
 * @brief Like netmoon_capture_open_file(), but on failure also writes a
 *        one-line message naming the file and offset into @p errbuf.
 * @param[out] cap  Receives the new handle on success.
 * @param path      File name; "-" reads standard input.
 * @param opts      Options, or NULL.
 * @param errbuf    Buffer for the message (may be NULL).
 * @param errlen    Size of @p errbuf in bytes.
 * @return As netmoon_capture_open_file().
 */
NETMOON_API int netmoon_capture_open_err(struct netmoon_capture **cap, const char *path,
					 const struct netmoon_capture_file_opts *opts,
					 char *errbuf, size_t errlen);

/**
 * @brief Open a capture held in memory (pcap or pcapng bytes).
 *
 * The bytes are not copied: @p buf must stay valid and unchanged until
 * netmoon_capture_close().  Useful for tests and fuzzing.
 * @param[out] cap  Receives the new handle on success.
 * @param buf       The capture file's bytes.
 * @param len       Number of bytes at @p buf.
 * @param opts      Options, or NULL.
 * @return As netmoon_capture_open_file(), without the open(2) errors.
 */
NETMOON_API int netmoon_capture_open_mem(struct netmoon_capture **cap, const void *buf,
					 size_t len, const struct netmoon_capture_file_opts *opts);

/** @brief Flags of netmoon_capture_live_opts (@since 0.2). */
enum netmoon_live_flags {
	/** Do not put the interface in promiscuous mode (tcpdump's -p). */
	NETMOON_LIVE_F_NO_PROMISC = 1u << 0,
	/** Do not see packets this host sends (PACKET_IGNORE_OUTGOING, Linux
	 *  4.20; with a fanout group, every member must ask the same, Linux 6.2). */
	NETMOON_LIVE_F_IGNORE_OUTGOING = 1u << 1,
};

/** @brief How a fanout group spreads packets (netmoon_capture_live_opts::fanout_mode). */
enum netmoon_fanout_mode {
	/** By flow hash, both directions of a flow to the same member, IP
	 *  fragments reassembled for hashing first (PACKET_FANOUT_HASH with
	 *  PACKET_FANOUT_FLAG_DEFRAG): what flow tracking needs. */
	NETMOON_FANOUT_HASH = 0,
	NETMOON_FANOUT_LB = 1,  /**< Round robin (PACKET_FANOUT_LB). */
	NETMOON_FANOUT_CPU = 2, /**< By the receiving CPU (PACKET_FANOUT_CPU). */
};

/**
 * @brief Options for netmoon_capture_open_live() (@since 0.2).
 *
 * Declare with NETMOON_OPTS(); zero members mean defaults; NULL means all
 * defaults.  The ring holds block_size × block_count bytes of the kernel's
 * memory, shared with the process (a TPACKET_V3 ring: packets are read in
 * place, never copied).
 */
struct netmoon_capture_live_opts {
	size_t sz;                 /**< Set by NETMOON_OPTS() to sizeof this struct. */
	/** Bytes kept of each packet, counting the VLAN tag or SLL2 header put
	 *  back in front (as libpcap does); 0 = 262144. */
	uint32_t snaplen;
	uint32_t block_size;       /**< Ring block, a power of two of at least a page; 0 = 1 MiB. */
	uint32_t block_count;      /**< Ring blocks; 0 = 32 (a 32 MiB ring). */
	/** A block is handed over when full or after this many milliseconds,
	 *  whichever comes first; 0 = 50 (well under a 1 s display refresh). */
	uint32_t block_timeout_ms;
	/** netmoon_capture_next() returns -EAGAIN after this many
	 *  milliseconds without a packet; 0 = wait for a packet. */
	uint32_t read_timeout_ms;
	uint32_t flags;            /**< enum netmoon_live_flags bits. */
	/** Join this PACKET_FANOUT group (1 to 65535) so that several handles,
	 *  in this process or others, share the interface's packets; 0 = no
	 *  fanout. */
	uint32_t fanout_group;
	uint32_t fanout_mode;      /**< enum netmoon_fanout_mode. */
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Open a live capture on a network interface (@since 0.2).
 *
 * An AF_PACKET socket bound to @p ifname, with a TPACKET_V3 ring mapped into
 * the process.  Promiscuous mode is a membership of the socket
 * (PACKET_MR_PROMISC): it ends with the handle, even when the process
 * dies, so the interface is never left promiscuous.  VLAN tags the kernel
 * took off are put back into the frame; time stamps are the kernel's, in
 * nanoseconds; netmoon_packet::pkttype and netmoon_packet::ifindex (the kernel's interface
 * index) say where each packet went.  Ethernet and loopback interfaces give
 * NETMOON_LINKTYPE_ETHERNET frames; "any" (every interface) and other
 * interface types give NETMOON_LINKTYPE_LINUX_SLL2 frames, as libpcap does.
 *
 * netmoon_capture_next() waits for a packet (see read_timeout_ms); it
 * returns NETMOON_E_BREAK, without ending the capture, when
 * netmoon_capture_breakloop() wakes it.  netmoon_capture_get_stats()
 * adds the kernel's counters.
 * @param[out] cap  Receives the new handle on success.
 * @param ifname    Interface name, or "any".
 * @param opts      Options, or NULL for defaults.
 * @param errbuf    Buffer for a one-line message on failure (may be NULL).
 * @param errlen    Size of @p errbuf.
 * @return 0 on success; NETMOON_E_NO_CAPABILITY without CAP_NET_RAW;
 *         -ENODEV for an unknown interface; -ENETDOWN when it is down;
 *         NETMOON_E_RING when the ring cannot be allocated (too large for
 *         the memory limits, or 4 GiB and more);
 *         NETMOON_E_FANOUT when the fanout group exists with another mode
 *         or on another interface; -EINVAL for bad arguments or options
 *         (block_size not a power of two, fanout_group above 65535, unknown
 *         flags or non-zero unknown members); other negative errno values
 *         from the kernel.
 */
NETMOON_API int netmoon_capture_open_live(struct netmoon_capture **cap, const char *ifname,
					  const struct netmoon_capture_live_opts *opts,
					  char *errbuf, size_t errlen);

struct netmoon_filter;

/**
 * @brief Keep only the packets a filter accepts (@since 0.2).
 *
 * Every packet is checked in user space with netmoon_filter_match(), so
 * what is delivered is exactly what the filter accepts, on files and live.
 * A live Ethernet capture also attaches the program to its socket
 * (SO_ATTACH_FILTER), so unwanted packets never leave the kernel.  Live, a
 * VLAN-tagged frame is matched as tcpdump -i matches it on Linux: an
 * expression without the vlan keyword sees the frame as the kernel gives
 * it, without its outer tag ("udp" accepts tagged UDP live, though not in a
 * file, as with tcpdump); one with vlan sees the tag put back (the kernel
 * program then lets tagged frames through for user space to decide).
 * "any" and other cooked captures filter in user space only, on the frame
 * as delivered.  The filter must have been compiled for the capture's link
 * type.
 * @param cap  Handle.
 * @param f    Filter, or NULL to remove it; it must stay valid until the
 *             handle is closed or another filter is set.
 * @return 1 when the program also runs in the kernel, 0 when it runs in
 *         user space only; -EINVAL for NULL @p cap; NETMOON_E_LINKTYPE when
 *         @p f was compiled for another link type; a negative errno from
 *         the kernel when attaching failed (the filter is then not set).
 */
NETMOON_API int netmoon_capture_set_filter(struct netmoon_capture *cap,
					   const struct netmoon_filter *f);

/**
 * @brief Get the next packet.
 * @param cap       Handle.
 * @param[out] pkt  Receives a pointer to the packet; valid until the next
 *                  call on @p cap.
 * @return 1 when a packet was returned; 0 at the end of the capture;
 *         a negative error (NETMOON_E_TRUNCATED for a file cut short,
 *         NETMOON_E_CORRUPT for a bad record, -EIO ...) otherwise.  After an
 *         error or the end, further calls return the same value.  Live
 *         captures also return two values that do not end the capture:
 *         -EAGAIN when read_timeout_ms passed without a packet, and
 *         NETMOON_E_BREAK when netmoon_capture_breakloop() woke the wait.
 */
NETMOON_API int netmoon_capture_next(struct netmoon_capture *cap,
				     const struct netmoon_packet **pkt);

struct netmoon_frame;

/**
 * @brief Get the next packet and its decoded frame (@since 0.2).
 *
 * As netmoon_capture_next(), and the packet decoded as netmoon_frame_parse()
 * decodes it (the frame's @c reason says whether it was fully decoded).
 * With a walker thread (netmoon_capture_file_opts::read_thread on a mapped
 * file or on memory), that thread decodes the packets ahead, leaving the
 * caller's thread only what it does with the frames; otherwise the packet
 * is decoded in this call.  Mixing this call with netmoon_capture_next()
 * on one handle is fine.
 * @param cap         Handle.
 * @param[out] pkt    Receives the packet (NULL unless 1 is returned).
 * @param[out] frame  Receives the decoded frame (NULL unless 1 is returned):
 *                    library-owned and read-only, its @c sz the library's
 *                    sizeof; valid until the next call on @p cap.
 * @return As netmoon_capture_next(); -EINVAL for a NULL argument.
 */
NETMOON_API int netmoon_capture_next_frame(struct netmoon_capture *cap,
					   const struct netmoon_packet **pkt,
					   const struct netmoon_frame **frame);

/**
 * @brief Callback for netmoon_capture_loop().
 * @param pkt   The packet; valid only until the callback returns.
 * @param user  The pointer given to netmoon_capture_loop().
 * @return 0 to continue, > 0 to stop cleanly, < 0 (negative errno) to abort.
 */
typedef int (*netmoon_packet_cb)(const struct netmoon_packet *pkt, void *user);

/**
 * @brief Deliver packets to @p cb until the end, an error, @p count packets,
 *        a non-zero callback return or netmoon_capture_breakloop().
 * @param cap    Handle.
 * @param count  Maximum number of packets; 0 means no limit.
 * @param cb     Callback.
 * @param user   Passed to @p cb unchanged.
 * @return The number of packets delivered (>= 0) when the capture ended or
 *         @p count was reached; the callback's non-zero return value,
 *         unchanged, when it stopped the loop; NETMOON_E_BREAK after
 *         netmoon_capture_breakloop(); or a negative error from reading.
 */
NETMOON_API int64_t netmoon_capture_loop(struct netmoon_capture *cap, uint64_t count,
					 netmoon_packet_cb cb, void *user);

/**
 * @brief Ask a running netmoon_capture_loop() to return.
 * @param cap  Handle.
 * @par Thread safety
 * Safe to call from another thread or from a signal handler: it only sets
 * an atomic flag that the loop checks between packets, and for a live
 * capture also wakes a wait for packets (a write to an eventfd).
 */
NETMOON_API void netmoon_capture_breakloop(struct netmoon_capture *cap);

/**
 * @brief Link type of the capture.
 * @param cap  Handle.
 * @return The link type of a pcap file, or of the first interface of a pcapng
 *         file; packets carry their own in netmoon_packet::linktype, which
 *         is what to use. -ENODATA for a pcapng file with no interface
 *         before its first packet; -EINVAL for NULL.
 */
NETMOON_API int netmoon_capture_linktype(const struct netmoon_capture *cap);

/** @brief Counters of a capture handle. */
struct netmoon_capture_stats {
	size_t sz;             /**< Set by the caller to sizeof this struct. */
	uint64_t packets;      /**< Packets delivered. */
	uint64_t bytes;        /**< Sum of their wire lengths. */
	uint64_t caplen_bytes; /**< Sum of their captured lengths. */
	uint64_t file_offset;  /**< Bytes of the input consumed so far. */
	/** Live: packets the kernel passed to the socket, dropped ones included
	 *  (PACKET_STATISTICS tp_packets, summed over the handle's life); files: 0.
	 *  @since 0.2 */
	uint64_t kernel_received;
	/** Live: packets the kernel dropped because the ring was full. @since 0.2 */
	uint64_t kernel_dropped;
	/** Live: times the ring's queue was frozen (tp_freeze_q_cnt). @since 0.2 */
	uint64_t kernel_freezes;
	/** Packets read but rejected by the filter in user space (those the
	 *  kernel rejected are not counted anywhere).  @since 0.2 */
	uint64_t filtered;
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Read the handle's counters.
 * @param cap        Handle.
 * @param[in,out] st Caller's struct with @c sz set (NETMOON_OPTS() does that);
 *                   members the caller knows of are filled.
 * @return 0, or -EINVAL.
 */
NETMOON_API int netmoon_capture_get_stats(const struct netmoon_capture *cap,
					  struct netmoon_capture_stats *st);

/**
 * @brief The last detailed error message of the handle.
 * @param cap  Handle.
 * @return A NUL-terminated message such as
 *         "trace.pcap: offset 1234: record length 70000 exceeds snaplen 65535",
 *         or "" when there was no error. Valid until the next call on @p cap.
 */
NETMOON_API const char *netmoon_capture_errmsg(const struct netmoon_capture *cap);

/**
 * @brief Close the handle and free everything it owns. NULL is ignored.
 * @param cap  Handle.
 */
NETMOON_API void netmoon_capture_close(struct netmoon_capture *cap);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_CAPTURE_H */
