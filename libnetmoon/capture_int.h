/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside a capture handle: the byte source, the backend ops table and the
 * handle itself.  Never installed.
 *
 * The split follows libpcap's: capture.c owns the public API (sticky end
 * status, counters, loop, breakloop) and calls one backend function per
 * packet through cap->ops; each backend (pcap_file.c, pcapng_file.c, later
 * a live AF_PACKET ring) only knows how to produce the next packet into
 * cap->pkt.
 */
#ifndef NETMOON_CAPTURE_INT_H
#define NETMOON_CAPTURE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ------------------------------------------------------------------------ */
/* Byte source (source.c)                                                    */

/*
 * Largest record or block any file backend accepts (16 MiB).  It bounds how
 * far a hostile length can make us read ahead or grow a buffer, and it is
 * the same for every source so that a file read through a pipe yields the
 * same packets as the file itself.
 */
#define NETMOON__MAX_RECORD (16u << 20)

#define NETMOON__DEFAULT_BUFFER (4u << 20)

enum netmoon__source_kind {
	NETMOON__SRC_MEM = 1,  /* caller's buffer */
	NETMOON__SRC_MMAP = 2, /* whole regular file mapped */
	NETMOON__SRC_READ = 3, /* default, pipes, terminals: chunked read() */
	NETMOON__SRC_THREAD = 4, /* regular file, read ahead by a second thread */
};

struct netmoon__reader;

/*
 * A window [cur, end) of input bytes.  Records are handed out in place: for
 * MEM the window is the whole input; for MMAP it is the prefaulted part of
 * the mapping, which netmoon__source_fill() extends; for READ it is a buffer
 * that netmoon__source_fill() refills, moving only the unconsumed tail (a
 * record cut by the chunk boundary) to the front.
 */
struct netmoon__source {
	const uint8_t *cur;  /* next unconsumed byte */
	const uint8_t *end;  /* end of valid bytes */
	const uint8_t *base; /* byte at input offset base_off */
	uint64_t base_off;
	int kind;
	int fd;          /* READ only; -1 otherwise */
	bool close_fd;   /* false for standard input */
	bool eof;        /* READ: read() returned 0 */
	uint8_t *buf;    /* READ: the buffer */
	size_t buf_size; /* READ: current size of buf */
	size_t buf_max;  /* READ: buf never grows past this */
	void *map;       /* MMAP: the mapping; end marks the prefaulted part */
	size_t map_len;
	bool populate_off; /* MMAP: no MADV_POPULATE_READ on this kernel */
	const uint8_t *pf;  /* MMAP, MEM: next cache line to prefetch; NULL: none */
	struct netmoon__reader *rd; /* THREAD: the reader (source_thread.c) */
};

int netmoon__source_open_mem(struct netmoon__source *src, const void *buf, size_t len);
/*
 * Take over @fd (closed by netmoon__source_close() when close_fd): map it when
 * it is a regular file and use_mmap is set, read it ahead in a second thread
 * when it is a regular file and read_thread is set, read it in chunks
 * otherwise.
 */
int netmoon__source_open_fd(struct netmoon__source *src, int fd, bool close_fd,
			    size_t buffer_size, bool use_mmap, bool read_thread);
void netmoon__source_close(struct netmoon__source *src);

/*
 * source_thread.c: a reader thread read()s the regular file @fd into a ring
 * of chunks (@buffer_size bytes in all, 0 = default) while the caller parses.
 */
int netmoon__source_open_thread(struct netmoon__source *src, int fd, bool close_fd,
				size_t buffer_size);
void netmoon__source_close_thread(struct netmoon__source *src);
int netmoon__source_fill_thread(struct netmoon__source *src, size_t n);

/*
 * Slow path of netmoon__source_need(): make @n bytes available at cur.
 * Returns 0 when they are, 1 when the input ends first (end - cur < n, maybe
 * 0), or a negative errno from read(2) or malloc.
 */
int netmoon__source_fill(struct netmoon__source *src, size_t n);

static inline int netmoon__source_need(struct netmoon__source *src, size_t n)
{
	if (netmoon__likely((size_t)(src->end - src->cur) >= n))
		return 0;
	return netmoon__source_fill(src, n);
}

static inline size_t netmoon__source_avail(const struct netmoon__source *src)
{
	return (size_t)(src->end - src->cur);
}

/*
 * Walking records through a mapping is a chain of dependent cache misses:
 * where the next record starts is only known once this one's length is
 * read, and records are too irregular for the hardware prefetcher to
 * follow.  So the mapped sources (MMAP, MEM) stream every cache line from
 * STREAM_AHEAD bytes ahead of cur into the cache, the way read()'s copy
 * would bring them, without the copy: over a 4.4 GiB capture in the page
 * cache, a walk of the record headers went from 0.65 s to 0.18 s.  Read
 * sources have the bytes in cache already (pf is NULL).
 */
#define NETMOON__STREAM_AHEAD 16384

static inline void netmoon__source_stream(struct netmoon__source *src)
{
	size_t avail = netmoon__source_avail(src);
	uintptr_t cur = (uintptr_t)src->cur, p = (uintptr_t)src->pf, lim;

	if (!src->pf)
		return;
	/* In integers: the window's end is as far as pointers may go. */
	lim = cur + (avail < NETMOON__STREAM_AHEAD ? avail : NETMOON__STREAM_AHEAD);
	if (p < (cur & ~(uintptr_t)63))
		p = cur & ~(uintptr_t)63; /* after a skipped block: not what is behind */
	for (; p < lim; p += 64)
		__builtin_prefetch((const void *)p, 0, 3);
	src->pf = (const uint8_t *)p;
}

/* Input offset of cur: how many bytes were consumed. */
static inline uint64_t netmoon__source_offset(const struct netmoon__source *src)
{
	return src->base_off + (uint64_t)(src->cur - src->base);
}

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

struct netmoon_capture;

struct netmoon_capture_ops {
	const char *name;
	/*
	 * libpcap's read_op, one packet at a time: fill cap->pkt (data, caplen,
	 * wirelen, ts_ns, linktype, ifindex) and return 1; return 0 at the end,
	 * or a negative error after setting the message with
	 * netmoon__capture_error().  capture.c never calls it again after a
	 * return other than 1.
	 */
	int (*next)(struct netmoon_capture *cap);
	/*
	 * Optional: wake a backend blocked in next() (a live ring's poll).  Runs
	 * in signal handlers: async-signal-safe only.
	 */
	void (*breakloop)(struct netmoon_capture *cap);
	/* Optional: fill backend-specific counters (kernel drops, ...). */
	void (*stats)(const struct netmoon_capture *cap, struct netmoon_capture_stats *st);
	/* Free cap->priv and anything else the backend owns. */
	void (*close)(struct netmoon_capture *cap);
	/*
	 * Optional: the packet next() returned last, already decoded by the
	 * backend, or NULL (then capture.c decodes it).
	 */
	const struct netmoon_frame *(*frame)(struct netmoon_capture *cap);
	/* Optional: the caller wants frames (before its first next_frame()). */
	void (*want_frames)(struct netmoon_capture *cap);
};

/*
 * capture_live.c: set up the AF_PACKET socket and ring for @ifname, and
 * cap->ops, cap->priv and cap->linktype; on failure, set the message and
 * return the error (netmoon_capture_close() then frees what was set up).
 */
int netmoon__live_open(struct netmoon_capture *cap, const char *ifname,
		       const struct netmoon_capture_live_opts *opts);

/*
 * Block access for the monitor (monitor.c), live handles only, instead of
 * netmoon_capture_next() (never both on one handle).  The capture thread
 * takes ring blocks in order with block_take() (1, -EAGAIN after the read
 * timeout, NETMOON_E_BREAK after breakloop(), or an error); the parser
 * thread walks a block's packets and gives every block back, in the order
 * taken, with block_release().
 */
struct netmoon__live_iter {
	const void *next;
	uint32_t left;
};

bool netmoon__capture_is_live(const struct netmoon_capture *cap);
uint32_t netmoon__live_block_count(const struct netmoon_capture *cap);
/* How long block_take() and next() wait for packets: milliseconds, -1 = forever. */
void netmoon__live_set_timeout(struct netmoon_capture *cap, int timeout_ms);
int netmoon__live_block_take(struct netmoon_capture *cap, uint32_t *idx);
void netmoon__live_block_begin(const struct netmoon_capture *cap, uint32_t idx,
			       struct netmoon__live_iter *it);
/* The block's next packet into *pkt: 1, or 0 at the end of the block. */
int netmoon__live_block_next(const struct netmoon_capture *cap, struct netmoon__live_iter *it,
			     struct netmoon_packet *pkt);
void netmoon__live_block_release(const struct netmoon_capture *cap, uint32_t idx);
/*
 * Attach @n classic BPF instructions (struct netmoon_bpf_insn) as the
 * socket's filter (behind a guard that passes VLAN-tagged frames when
 * @vlan_guard), or the snaplen-only program when @insns is NULL.  Returns 1
 * when the user filter runs in the kernel, 0 when there is none or it runs
 * in user space only (cooked capture, or too long with the guard), or a
 * negative errno.
 */
int netmoon__live_set_filter(struct netmoon_capture *cap, const void *insns, size_t n,
			     bool vlan_guard);

/* The kernel's counters, summed (PACKET_STATISTICS resets on read): one caller at a time. */
void netmoon__live_kernel_stats(const struct netmoon_capture *cap, uint64_t *received,
				uint64_t *dropped, uint64_t *freezes);

/*
 * capture_walk.c: run the backend of a capture whose bytes are all mapped
 * (MMAP, MEM) in a second thread from now on; the handle's ops become the
 * walker's.  On failure (a negative errno) nothing changed.
 */
int netmoon__walk_start(struct netmoon_capture *cap);

/* Called by capture.c after it recognised the magic number at offset 0. */
int netmoon__pcap_open(struct netmoon_capture *cap);
int netmoon__pcapng_open(struct netmoon_capture *cap);

#define NETMOON__PCAP_MAGIC_US 0xa1b2c3d4u
#define NETMOON__PCAP_MAGIC_NS 0xa1b23c4du
#define NETMOON__PCAPNG_SHB 0x0a0d0d0au

/* ------------------------------------------------------------------------ */
/* The handle                                                                */

#define NETMOON__ERRMSG_LEN 512

struct netmoon_capture {
	/* Touched for every packet. */
	const struct netmoon_capture_ops *ops;
	void *priv; /* backend state */
	struct netmoon__source src;
	struct netmoon_packet pkt;
	uint64_t bytes;
	uint64_t caplen_bytes;
	atomic_int break_loop;
	bool done;  /* next() returned 0 or an error: keep returning it */
	int result; /* ... this value */

	/* netmoon_capture_set_filter(): checked for every packet. */
	const struct netmoon_filter *filter;
	uint64_t filtered;
	bool backend_filters; /* the backend applies the filter itself (live) */

	/* netmoon_capture_next_frame() decodes here when the backend did not. */
	struct netmoon_frame frame;
	bool frames_wanted; /* ops->want_frames() was called */

	/* Set at open. */
	int linktype; /* pcap: the header's; pcapng: first IDB's, or -ENODATA */
	char *name;   /* for messages: the path, "<stdin>" or "<memory>" */
	char errmsg[NETMOON__ERRMSG_LEN];
};

/*
 * Record a detailed error "NAME: offset OFF: message" (without the offset
 * part when @off is NETMOON__NO_OFFSET) and return @err, so backends can
 * write `return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off, ...)`.
 */
#define NETMOON__NO_OFFSET UINT64_MAX
int netmoon__capture_error(struct netmoon_capture *cap, int err, uint64_t off,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Message for a failed netmoon__source_fill(): "read error: ..." and so on. */
int netmoon__capture_source_error(struct netmoon_capture *cap, int err);

/* A filter set on the handle accepts pkt (counting the rejected). */
static inline bool netmoon__capture_accept(struct netmoon_capture *cap,
					   const struct netmoon_packet *pkt)
{
	if (netmoon__likely(!cap->filter))
		return true;
	if (netmoon_filter_match(cap->filter, pkt->data, pkt->caplen, pkt->wirelen) == 1)
		return true;
	cap->filtered++;
	return false;
}

/* Capture files are in either byte order: read host order, swapping when told. */
static inline uint32_t netmoon__rd32x(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static inline uint16_t netmoon__rd16x(const uint8_t *p, bool swap)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap16(v) : v;
}

#endif /* NETMOON_CAPTURE_INT_H */
