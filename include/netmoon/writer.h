/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file writer.h
 * @brief Writing packets to pcap and pcapng files.
 *
 * A writer takes packets (struct netmoon_packet, the same record a capture
 * handle delivers, or one built by the caller) and appends them to a file or
 * to standard output, in either format:
 *
 * - **pcap**: nanosecond time stamps (magic 0xa1b23c4d), version 2.4, host
 *   byte order, one link type for the whole file.
 * - **pcapng**: one section (version 1.0, host byte order, unknown section
 *   length) naming libnetmoon in @c shb_userappl; one Interface Description
 *   Block per distinct (link type, @c ifindex) pair of the packets written,
 *   with nanosecond time stamps (@c if_tsresol 9); Enhanced Packet Blocks;
 *   and, when netmoon_writer_set_stats() was called, an Interface Statistics
 *   Block at the end.
 *
 * Memory is bounded: one output buffer of netmoon_writer_opts::buffer_size
 * bytes, allocated at open; writing a packet allocates nothing.  The buffer
 * is written out with write(2) when it fills, on netmoon_writer_flush() and
 * on netmoon_writer_close().
 *
 * Errors: a packet the format cannot hold (a second link type in a pcap
 * file, a 257th pcapng interface, a link type above 65535) is refused and
 * nothing of it is written; the writer stays usable.  A failed write(2)
 * (a full disk, a closed pipe) makes the writer *failed*: every later call
 * returns that same error without writing, and netmoon_writer_close()
 * returns it too, so that a program can exit non-zero.
 *
 * Writing to a pipe whose reader has gone raises SIGPIPE, as any write(2)
 * does; a program that ignores SIGPIPE gets -EPIPE from the writer instead.
 *
 * @par Thread safety
 * A writer is used by one thread at a time.  Different writers are
 * independent, even when they write to the same directory.  The library
 * keeps no global state: nothing needs initialising first.
 */
#ifndef NETMOON_WRITER_H
#define NETMOON_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <netmoon/common.h>
#include <netmoon/capture.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Output formats of a writer (netmoon_writer_opts::format). */
enum netmoon_writer_format {
	/** pcapng when the path ends in ".pcapng" (any case), pcap otherwise;
	 *  standard output ("-") is pcap. */
	NETMOON_WRITER_AUTO = 0,
	NETMOON_WRITER_PCAP = 1,   /**< Classic pcap, nanosecond time stamps. */
	NETMOON_WRITER_PCAPNG = 2, /**< pcapng, nanosecond time stamps. */
};

/** Opaque packet writer. */
struct netmoon_writer;

/**
 * @brief Options for netmoon_writer_open().
 *
 * Declare with NETMOON_OPTS(); zero members mean defaults; NULL means all defaults.
 */
struct netmoon_writer_opts {
	size_t sz;          /**< Set by NETMOON_OPTS() to sizeof this struct. */
	/** An enum netmoon_writer_format; 0 (NETMOON_WRITER_AUTO) chooses by
	 *  the file name. */
	int format;
	/** pcap: the file's link type (an enum netmoon_linktype or another
	 *  LINKTYPE_ value, at most 65535).  0 takes it from the first packet
	 *  written, and the file header is then written with that packet (or at
	 *  close: a file closed without packets gets NETMOON_LINKTYPE_ETHERNET).
	 *  pcapng: only used for the interface that an Interface Statistics
	 *  Block needs when no packet was written (0 = Ethernet); every packet
	 *  gets an interface of its own link type. */
	uint32_t linktype;
	/** Largest number of bytes kept of a packet; 0 = 262144.  Longer
	 *  packets are cut to it (their caplen), their wirelen is kept.  At most
	 *  16 MiB - 64, so that every record stays within what readers accept. */
	uint32_t snaplen;
	/** Output buffer, in bytes; 0 = 1 MiB.  Packets larger than the buffer
	 *  are written through it in pieces. */
	size_t buffer_size;
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Create (or truncate) a capture file and start writing it.
 *
 * The file is opened with O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC and mode
 * 0644 (less the umask).  The file header (pcapng: the Section Header
 * Block) goes into the output buffer at once, except that of a pcap file
 * whose link type comes from its first packet; nothing reaches the file
 * before the buffer fills or netmoon_writer_flush() / netmoon_writer_close().
 *
 * @param[out] w  Receives the new writer on success; untouched on failure.
 *                The caller owns it and must pass it to netmoon_writer_close().
 * @param path    File name; "-" writes to standard output, which is flushed
 *                but never closed.  Copied: need not outlive the call.
 * @param opts    Options, or NULL for defaults.
 * @return 0 on success; -ENOENT, -EACCES, -EISDIR and other errno values
 *         from open(2); -ENOMEM; -EINVAL for NULL arguments, an unknown
 *         format, a link type above 65535, a snaplen above 16 MiB - 64, or
 *         options with unknown non-zero members; an errno value from
 *         write(2) when a buffer smaller than the file header had to be
 *         written out at once and could not be.
 * @note On failure no writer exists to ask for details: use
 *       netmoon_writer_open_err() to also get a message naming the file.
 * @par Thread safety
 * Safe to call from any thread: each call creates a writer of its own.
 */
NETMOON_API int netmoon_writer_open(struct netmoon_writer **w, const char *path,
				    const struct netmoon_writer_opts *opts);

/**
 * @brief Like netmoon_writer_open(), but on failure also writes a one-line
 *        message naming the file into @p errbuf.
 * @param[out] w  Receives the new writer on success; untouched on failure.
 * @param path    File name; "-" writes to standard output.
 * @param opts    Options, or NULL.
 * @param errbuf  Buffer for the message, such as
 *                "out/x.pcap: cannot create: No such file or directory"
 *                (may be NULL).  Left untouched on success.
 * @param errlen  Size of @p errbuf in bytes.
 * @return As netmoon_writer_open().
 * @par Thread safety
 * As netmoon_writer_open().
 */
NETMOON_API int netmoon_writer_open_err(struct netmoon_writer **w, const char *path,
					const struct netmoon_writer_opts *opts,
					char *errbuf, size_t errlen);

/**
 * @brief Append one packet.
 *
 * Time stamps before the epoch are written as 0; a pcap file, whose seconds
 * are 32-bit, holds time stamps up to 2106-02-07T06:28:15.999999999Z, and a
 * later one is written as that.  A packet longer than the snaplen is cut
 * to it; its wirelen is written as given.  pcapng: the packet goes to the
 * interface of its (linktype, ifindex) pair, which is created on first use
 * (interface ids 0, 1, 2... in order of first appearance); pcap: its
 * ifindex is not recorded.  The members read are @c data, @c caplen,
 * @c wirelen, @c ts_ns, @c linktype and @c ifindex, which all exist since
 * 0.1; @c sz and @c number are not read.
 *
 * @param w    Writer.
 * @param pkt  The packet; only read during the call (the bytes are copied
 *             or written before it returns).
 * @return 0 when the packet was buffered or written;
 *         -EINVAL for a NULL argument or NULL data with a non-zero caplen;
 *         NETMOON_E_LINKTYPE (nothing written, the writer stays usable) for
 *         a pcap file whose link type differs from the packet's, or a link
 *         type above 65535;
 *         -E2BIG (nothing written, the writer stays usable) for a pcapng
 *         packet that would need a 257th interface;
 *         a negative errno from write(2) (-ENOSPC, -EPIPE, -EIO...) when the
 *         buffer could not be written out: the writer is then failed, and
 *         this call and every later one return that error.
 *         The details are in netmoon_writer_errmsg().
 * @par Thread safety
 * One writer is used by one thread at a time; different writers are independent.
 */
NETMOON_API int netmoon_writer_write(struct netmoon_writer *w, const struct netmoon_packet *pkt);

/**
 * @brief Record the capture's own counters, for the end of a pcapng file.
 *
 * pcapng: at netmoon_writer_close(), an Interface Statistics Block for
 * interface 0 records them (@c isb_ifrecv, @c isb_ifdrop) with
 * @c isb_starttime and @c isb_endtime, the earliest and latest time stamps
 * written (omitted when no packet was written).  When no packet was written,
 * an interface of netmoon_writer_opts::linktype (0 = Ethernet) is created
 * first so that the block has one.  A later call replaces the counters.
 * pcap files have no place for them: ignored.
 *
 * @param w         Writer.
 * @param received  Packets the capture received (the kernel's count).
 * @param dropped   Packets the capture dropped.
 * @return 0, also for pcap; -EINVAL for NULL; the writer's error when it
 *         has failed.
 * @par Thread safety
 * One writer is used by one thread at a time; different writers are independent.
 */
NETMOON_API int netmoon_writer_set_stats(struct netmoon_writer *w, uint64_t received,
					 uint64_t dropped);

/**
 * @brief Write out everything buffered so far.
 *
 * The file is not synced to disk (no fsync(2)).  A pcap file whose link
 * type is still to come from its first packet has nothing to write yet.
 * @param w  Writer.
 * @return 0, or the writer's error (a negative errno from write(2)) when
 *         it has failed, now or before; -EINVAL for NULL.
 * @par Thread safety
 * One writer is used by one thread at a time; different writers are independent.
 */
NETMOON_API int netmoon_writer_flush(struct netmoon_writer *w);

/**
 * @brief The last detailed error message of the writer.
 * @param w  Writer (may be NULL: "").
 * @return A NUL-terminated message such as
 *         "trace.pcap: write error: No space left on device", or "" when
 *         there was no error.  Owned by the writer; valid until the next
 *         call on @p w.  Once the writer has failed, it names that failure.
 *         Read it before netmoon_writer_close(), which frees it (or use
 *         netmoon_writer_close_err()).
 * @par Thread safety
 * One writer is used by one thread at a time; different writers are independent.
 */
NETMOON_API const char *netmoon_writer_errmsg(const struct netmoon_writer *w);

/**
 * @brief Finish the file, close it and free the writer.
 *
 * Writes the pcap header if no packet brought it, the Interface Statistics
 * Block of a pcapng file after netmoon_writer_set_stats(), flushes the
 * buffer and closes the file (standard output is flushed, not closed).
 * The writer is freed in every case, also on failure; NULL is a no-op.
 *
 * @param w  Writer, or NULL.  Invalid after the call.
 * @return 0 when every byte reached the file and close(2) succeeded;
 *         otherwise the first write or close error of the writer's life
 *         (such as -ENOSPC), including one an earlier call already returned.
 *         Refused packets (NETMOON_E_LINKTYPE, -E2BIG) are not errors of
 *         the file and are not returned here.  Use netmoon_writer_close_err()
 *         to also get the message.
 * @par Thread safety
 * Called once, by the thread that owns the writer, when no other call on it
 * is running.
 */
NETMOON_API int netmoon_writer_close(struct netmoon_writer *w);

/**
 * @brief Like netmoon_writer_close(), but on failure also copies the
 *        writer's message (netmoon_writer_errmsg()) into @p errbuf.
 * @param w       Writer, or NULL.  Freed in every case.
 * @param errbuf  Buffer for the message (may be NULL); set to "" on success.
 * @param errlen  Size of @p errbuf in bytes.
 * @return As netmoon_writer_close().
 * @par Thread safety
 * As netmoon_writer_close().
 */
NETMOON_API int netmoon_writer_close_err(struct netmoon_writer *w, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_WRITER_H */
