/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The capture handle: opening (format detected by magic number), the sticky
 * end status of next(), loop() and breakloop(), counters and messages.  The
 * formats themselves live in pcap_file.c and pcapng_file.c, behind
 * cap->ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_int.h"
#include "filter_int.h"

/* breakloop() runs in signal handlers: the flag must be a plain store. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free");

int netmoon__capture_error(struct netmoon_capture *cap, int err, uint64_t off,
			   const char *fmt, ...)
{
	size_t n;
	va_list ap;
	int w;

	if (off == NETMOON__NO_OFFSET)
		w = snprintf(cap->errmsg, sizeof(cap->errmsg), "%s: ", cap->name);
	else
		w = snprintf(cap->errmsg, sizeof(cap->errmsg), "%s: offset %" PRIu64 ": ",
			     cap->name, off);
	n = w < 0 ? 0 : (size_t)w;
	if (n < sizeof(cap->errmsg)) {
		va_start(ap, fmt);
		vsnprintf(cap->errmsg + n, sizeof(cap->errmsg) - n, fmt, ap);
		va_end(ap);
	}
	return err;
}

int netmoon__capture_source_error(struct netmoon_capture *cap, int err)
{
	uint64_t off = netmoon__source_offset(&cap->src);

	if (err == -EFBIG)
		return netmoon__capture_error(cap, NETMOON_E_CORRUPT, off,
					      "record larger than the read buffer's limit");
	return netmoon__capture_error(cap, err, off, "read error: %s", netmoon_strerror(err));
}

static struct netmoon_capture *capture_alloc(const char *name)
{
	struct netmoon_capture *cap = calloc(1, sizeof(*cap));

	if (!cap)
		return NULL;
	cap->name = strdup(name);
	if (!cap->name) {
		free(cap);
		return NULL;
	}
	cap->src.fd = -1;
	cap->pkt.sz = sizeof(cap->pkt);
	cap->pkt.pkttype = NETMOON_PKTTYPE_UNKNOWN;
	atomic_init(&cap->break_loop, 0);
	return cap;
}

/*
 * Recognise the format by its first four bytes and let the backend read its
 * header.  An empty or 1-3 byte input is NETMOON_E_FORMAT, not TRUNCATED:
 * there is no magic number, so nothing says it was a capture at all.
 */
static int capture_detect(struct netmoon_capture *cap)
{
	struct netmoon__source *src = &cap->src;
	uint32_t magic;
	int r;

	r = netmoon__source_need(src, 4);
	if (r < 0)
		return netmoon__capture_source_error(cap, r);
	if (r) {
		size_t n = netmoon__source_avail(src);

		if (n == 0)
			return netmoon__capture_error(cap, NETMOON_E_FORMAT, 0,
						      "empty file: no capture header");
		return netmoon__capture_error(cap, NETMOON_E_FORMAT, 0,
					      "only %zu bytes: too short for a capture header", n);
	}
	memcpy(&magic, src->cur, sizeof(magic));
	if (magic == NETMOON__PCAPNG_SHB)
		return netmoon__pcapng_open(cap);
	if (magic == NETMOON__PCAP_MAGIC_US || magic == NETMOON__PCAP_MAGIC_NS ||
	    magic == __builtin_bswap32(NETMOON__PCAP_MAGIC_US) ||
	    magic == __builtin_bswap32(NETMOON__PCAP_MAGIC_NS))
		return netmoon__pcap_open(cap);
	return netmoon__capture_error(cap, NETMOON_E_FORMAT, 0,
				      "unknown magic number %02x %02x %02x %02x: not a pcap or pcapng file",
				      src->cur[0], src->cur[1], src->cur[2], src->cur[3]);
}

static void copy_msg(char *errbuf, size_t errlen, const char *msg)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", msg);
}

NETMOON_API void netmoon_capture_close(struct netmoon_capture *cap)
{
	if (!cap)
		return;
	if (cap->ops && cap->ops->close)
		cap->ops->close(cap);
	netmoon__source_close(&cap->src);
	free(cap->name);
	free(cap);
}

/*
 * Finish an open: detect the format, or fail with the message copied out.
 * With @walk, a mapped capture's records are then walked by a second thread
 * (capture_walk.c); when that thread cannot start, the caller's thread
 * walks them, as without the option.
 */
static int capture_finish(struct netmoon_capture **out, struct netmoon_capture *cap,
			  bool walk, char *errbuf, size_t errlen)
{
	int r = capture_detect(cap);

	if (r) {
		copy_msg(errbuf, errlen, cap->errmsg);
		netmoon_capture_close(cap);
		return r;
	}
	if (walk && (cap->src.kind == NETMOON__SRC_MMAP || cap->src.kind == NETMOON__SRC_MEM))
		(void)netmoon__walk_start(cap);
	*out = cap;
	return 0;
}

NETMOON_API int netmoon_capture_open_err(struct netmoon_capture **out, const char *path,
					 const struct netmoon_capture_file_opts *opts,
					 char *errbuf, size_t errlen)
{
	struct netmoon_capture *cap;
	bool is_stdin;
	int fd, r;

	if (!out || !path) {
		copy_msg(errbuf, errlen, "netmoon_capture_open: NULL argument");
		return -EINVAL;
	}
	if (!OPTS_VALID(opts, netmoon_capture_file_opts)) {
		copy_msg(errbuf, errlen, "netmoon_capture_open: options have unknown non-zero members");
		return -EINVAL;
	}
	is_stdin = strcmp(path, "-") == 0;
	cap = capture_alloc(is_stdin ? "<stdin>" : path);
	if (!cap) {
		copy_msg(errbuf, errlen, "netmoon_capture_open: out of memory");
		return -ENOMEM;
	}
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			netmoon__capture_error(cap, r, NETMOON__NO_OFFSET, "%s", netmoon_strerror(r));
			copy_msg(errbuf, errlen, cap->errmsg);
			netmoon_capture_close(cap);
			return r;
		}
	}
	r = netmoon__source_open_fd(&cap->src, fd, !is_stdin, OPTS_GET(opts, buffer_size, 0),
				    OPTS_GET(opts, use_mmap, 0) != 0,
				    OPTS_GET(opts, read_thread, 0) != 0);
	if (r) {
		if (!is_stdin)
			close(fd);
		netmoon__capture_error(cap, r, NETMOON__NO_OFFSET, "%s", netmoon_strerror(r));
		copy_msg(errbuf, errlen, cap->errmsg);
		netmoon_capture_close(cap);
		return r;
	}
	return capture_finish(out, cap, OPTS_GET(opts, read_thread, 0) != 0, errbuf, errlen);
}

NETMOON_API int netmoon_capture_open_file(struct netmoon_capture **cap, const char *path,
					  const struct netmoon_capture_file_opts *opts)
{
	return netmoon_capture_open_err(cap, path, opts, NULL, 0);
}

NETMOON_API int netmoon_capture_open_mem(struct netmoon_capture **out, const void *buf,
					 size_t len, const struct netmoon_capture_file_opts *opts)
{
	struct netmoon_capture *cap;

	if (!out || (!buf && len) || !OPTS_VALID(opts, netmoon_capture_file_opts))
		return -EINVAL;
	cap = capture_alloc("<memory>");
	if (!cap)
		return -ENOMEM;
	netmoon__source_open_mem(&cap->src, buf ? buf : "", len);
	return capture_finish(out, cap, OPTS_GET(opts, read_thread, 0) != 0, NULL, 0);
}

NETMOON_API int netmoon_capture_open_live(struct netmoon_capture **out, const char *ifname,
					  const struct netmoon_capture_live_opts *opts,
					  char *errbuf, size_t errlen)
{
	struct netmoon_capture *cap;
	int r;

	copy_msg(errbuf, errlen, "");
	if (!out || !ifname) {
		copy_msg(errbuf, errlen, "netmoon_capture_open_live: NULL argument");
		return -EINVAL;
	}
	*out = NULL;
	if (!OPTS_VALID(opts, netmoon_capture_live_opts)) {
		copy_msg(errbuf, errlen,
			 "netmoon_capture_open_live: options have unknown non-zero members");
		return -EINVAL;
	}
	cap = capture_alloc(ifname);
	if (!cap) {
		copy_msg(errbuf, errlen, "netmoon_capture_open_live: out of memory");
		return -ENOMEM;
	}
	r = netmoon__live_open(cap, ifname, opts);
	if (r) {
		copy_msg(errbuf, errlen, cap->errmsg);
		netmoon_capture_close(cap);
		return r;
	}
	*out = cap;
	return 0;
}

/* next() without the argument checks; the end status is sticky. */
static inline int capture_next(struct netmoon_capture *cap)
{
	int r;

	if (netmoon__unlikely(cap->done))
		return cap->result;
	do
		r = cap->ops->next(cap);
	while (netmoon__unlikely(r == 1 && !cap->backend_filters &&
				 !netmoon__capture_accept(cap, &cap->pkt)));
	if (netmoon__likely(r == 1)) {
		cap->pkt.number++;
		cap->bytes += cap->pkt.wirelen;
		cap->caplen_bytes += cap->pkt.caplen;
		return 1;
	}
	/* A live wait that timed out or was woken: the capture goes on. */
	if ((r == -EAGAIN || r == NETMOON_E_BREAK) && netmoon__capture_is_live(cap))
		return r;
	cap->done = true;
	cap->result = r;
	return r;
}

NETMOON_API int netmoon_capture_next(struct netmoon_capture *cap,
				     const struct netmoon_packet **pkt)
{
	int r;

	if (netmoon__unlikely(!cap || !pkt))
		return -EINVAL;
	r = capture_next(cap);
	*pkt = r == 1 ? &cap->pkt : NULL;
	return r;
}

NETMOON_API int netmoon_capture_next_frame(struct netmoon_capture *cap,
					   const struct netmoon_packet **pkt,
					   const struct netmoon_frame **frame)
{
	const struct netmoon_frame *f = NULL;
	int r;

	if (netmoon__unlikely(!cap || !pkt || !frame)) {
		if (pkt)
			*pkt = NULL;
		if (frame)
			*frame = NULL;
		return -EINVAL;
	}
	if (netmoon__unlikely(!cap->frames_wanted)) {
		cap->frames_wanted = true;
		if (cap->ops && cap->ops->want_frames)
			cap->ops->want_frames(cap);
	}
	r = capture_next(cap);
	if (netmoon__unlikely(r != 1)) {
		*pkt = NULL;
		*frame = NULL;
		return r;
	}
	if (cap->ops->frame)
		f = cap->ops->frame(cap);
	if (!f) {
		cap->frame.sz = sizeof(cap->frame);
		(void)netmoon_frame_parse(&cap->frame, cap->pkt.linktype, cap->pkt.data,
					  cap->pkt.caplen, cap->pkt.wirelen);
		f = &cap->frame;
	}
	*pkt = &cap->pkt;
	*frame = f;
	return 1;
}

NETMOON_API int64_t netmoon_capture_loop(struct netmoon_capture *cap, uint64_t count,
					 netmoon_packet_cb cb, void *user)
{
	uint64_t n = 0;

	if (!cap || !cb)
		return -EINVAL;
	for (;;) {
		int r;

		/* As libpcap: the loop that sees the request consumes it. */
		if (netmoon__unlikely(atomic_load_explicit(&cap->break_loop,
							   memory_order_relaxed))) {
			atomic_store(&cap->break_loop, 0);
			return NETMOON_E_BREAK;
		}
		r = capture_next(cap);
		if (r <= 0)
			return r < 0 ? r : (int64_t)n;
		n++;
		r = cb(&cap->pkt, user);
		if (r)
			return r;
		if (count && n >= count)
			return (int64_t)n;
	}
}

NETMOON_API void netmoon_capture_breakloop(struct netmoon_capture *cap)
{
	if (!cap)
		return;
	atomic_store(&cap->break_loop, 1);
	if (cap->ops && cap->ops->breakloop)
		cap->ops->breakloop(cap);
}

NETMOON_API int netmoon_capture_set_filter(struct netmoon_capture *cap,
					   const struct netmoon_filter *f)
{
	int r = 0;

	if (!cap)
		return -EINVAL;
	if (f && (cap->linktype < 0 || f->linktype != (uint32_t)cap->linktype))
		return NETMOON_E_LINKTYPE;
	if (netmoon__capture_is_live(cap)) {
		r = netmoon__live_set_filter(cap, f ? f->insns : NULL, f ? f->len : 0,
					     f && f->uses_vlan);
		if (r < 0)
			return netmoon__capture_error(cap, r, NETMOON__NO_OFFSET,
						      "attaching the filter: %s",
						      netmoon_strerror(r));
	}
	cap->filter = f;
	return r;
}

NETMOON_API int netmoon_capture_linktype(const struct netmoon_capture *cap)
{
	if (!cap)
		return -EINVAL;
	return cap->linktype;
}

NETMOON_API int netmoon_capture_get_stats(const struct netmoon_capture *cap,
					  struct netmoon_capture_stats *st)
{
	struct netmoon_capture_stats s = { .sz = sizeof(s) };

	if (!cap || !st)
		return -EINVAL;
	s.packets = cap->pkt.number;
	s.bytes = cap->bytes;
	s.caplen_bytes = cap->caplen_bytes;
	s.file_offset = netmoon__source_offset(&cap->src);
	s.filtered = cap->filtered;
	if (cap->ops && cap->ops->stats)
		cap->ops->stats(cap, &s);
	return netmoon__copy_out(st, &s, sizeof(s));
}

NETMOON_API const char *netmoon_capture_errmsg(const struct netmoon_capture *cap)
{
	return cap ? cap->errmsg : "";
}
