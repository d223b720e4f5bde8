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
	uint32_t ifindex;     /**< pcapng: interface number in the file; pcap: 0. */
	uint64_t number;      /**< 1-based position of the packet in the capture. */
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
	 *  Chunked read() is the default: it measured faster here, and a file
	 *  truncated by another process while mapped could raise SIGBUS. */
	int use_mmap;
	/** Non-zero: a second thread reads the next chunks of a regular file
	 *  while the caller's thread takes packets from the previous one (the
	 *  buffer_size bytes are then split into 4 chunks of at least 256 KiB).
	 *  Whether it pays depends on the machine: the kernel's copy moves to
	 *  the other core, but every byte then crosses between cores; on the
	 *  2-core machine of docs/BENCHMARKS.md it did not.  Ignored for
	 *  standard input, pipes, memory and use_mmap.  The thread blocks every
	 *  signal and ends with the handle. */
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

/**
 * @brief Get the next packet.
 * @param cap       Handle.
 * @param[out] pkt  Receives a pointer to the packet; valid until the next
 *                  call on @p cap.
 * @return 1 when a packet was returned; 0 at the end of the capture;
 *         a negative error (NETMOON_E_TRUNCATED for a file cut short,
 *         NETMOON_E_CORRUPT for a bad record, -EIO ...) otherwise.  After an
 *         error or the end, further calls return the same value.
 */
NETMOON_API int netmoon_capture_next(struct netmoon_capture *cap,
				     const struct netmoon_packet **pkt);

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
 * an atomic flag that the loop checks between packets.
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
