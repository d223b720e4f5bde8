/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet writer: pcap and pcapng files through one output buffer.
 *
 * Every record is built in a small header on the stack and copied into the
 * buffer with the packet bytes; a packet larger than the buffer's free room
 * goes through it in pieces, so memory stays at one buffer whatever the
 * packets.  write(2) is only called by wr_write_all(), the one place that
 * knows about EINTR, short writes and the sticky error.
 *
 * Decisions:
 * - Host byte order in both formats: readers handle either, and it is what
 *   libpcap writes.
 * - pcapng interfaces are keyed by (linktype, ifindex), at most
 *   WR_MAX_IFACES of them, in a fixed array searched from the last one used:
 *   a capture normally has one or two, and packets come in runs.
 * - Refusing a packet (wrong link type, too many interfaces) is checked
 *   before anything is buffered, so a refused packet leaves no trace and the
 *   writer goes on.  A failed write(2) is different: part of a record may be
 *   in the file, so the writer is failed for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <netmoon/netmoon.h>
#include <netmoon/writer.h>

#include "internal.h"

#define WR_DEFAULT_SNAPLEN 262144u
#define WR_MAX_SNAPLEN ((16u << 20) - 64)
#define WR_DEFAULT_BUFFER ((size_t)1 << 20)
#define WR_MAX_IFACES 256u
#define WR_ERRMSG_LEN 512

#define PCAP_MAGIC_NS 0xa1b23c4du

#define NG_BT_SHB 0x0a0d0d0au
#define NG_BT_IDB 0x00000001u
#define NG_BT_ISB 0x00000005u
#define NG_BT_EPB 0x00000006u
#define NG_BOM 0x1a2b3c4du

#define NG_OPT_ENDOFOPT 0
#define NG_SHB_USERAPPL 4
#define NG_IF_TSRESOL 9
#define NG_ISB_STARTTIME 2
#define NG_ISB_ENDTIME 3
#define NG_ISB_IFRECV 4
#define NG_ISB_IFDROP 5

#define NG_USERAPPL "libnetmoon " NETMOON_VERSION_STRING

struct wr_iface {
	uint32_t linktype;
	uint32_t ifindex;
};

struct netmoon_writer {
	/* Touched for every packet. */
	uint8_t *buf;
	size_t buf_len;  /* bytes waiting in buf */
	size_t buf_size;
	int fd;
	int err;         /* first write/close error; sticky */
	int format;      /* NETMOON_WRITER_PCAP or NETMOON_WRITER_PCAPNG */
	uint32_t snaplen;
	uint32_t linktype; /* pcap: the file's; pcapng: for a packet-less ISB */
	bool hdr_done;     /* pcap: the file header is buffered or written */
	uint32_t nif;      /* pcapng interfaces so far */
	uint32_t last_if;  /* pcapng: the interface of the previous packet */
	uint64_t packets;
	int64_t ts_min, ts_max; /* clamped time stamps written, for the ISB */

	/* Set once. */
	bool close_fd;     /* false for standard output */
	bool have_stats;
	uint64_t st_recv, st_drop;
	char *name;        /* for messages: the path or "<stdout>" */
	char errmsg[WR_ERRMSG_LEN];
	struct wr_iface ifs[WR_MAX_IFACES];
};

static int wr_error(struct netmoon_writer *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "NAME: message" into errmsg; returns err. */
static int wr_error(struct netmoon_writer *w, int err, const char *fmt, ...)
{
	size_t n;
	va_list ap;
	int k;

	k = snprintf(w->errmsg, sizeof(w->errmsg), "%s: ", w->name);
	n = k < 0 ? 0 : (size_t)k;
	if (n < sizeof(w->errmsg)) {
		va_start(ap, fmt);
		vsnprintf(w->errmsg + n, sizeof(w->errmsg) - n, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The writer fails for good: keep the first error and its message. */
static int wr_fail(struct netmoon_writer *w, int err, const char *what)
{
	if (!w->err) {
		w->err = err;
		wr_error(w, err, "%s: %s", what, netmoon_strerror(err));
	}
	return w->err;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

static int wr_write_all(struct netmoon_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return wr_fail(w, -errno, "write error");
		}
		if (k == 0) /* no progress and no errno: do not spin */
			return wr_fail(w, -EIO, "write error");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int wr_flush_buf(struct netmoon_writer *w)
{
	int r;

	if (w->err)
		return w->err;
	if (!w->buf_len)
		return 0;
	r = wr_write_all(w, w->buf, w->buf_len);
	w->buf_len = 0;
	return r;
}

/* Append n bytes (NULL: zeros) to the output, writing out full buffers. */
static int wr_put(struct netmoon_writer *w, const void *src, size_t n)
{
	const uint8_t *p = src;
	size_t room = w->buf_size - w->buf_len;
	int r;

	if (netmoon__likely(n <= room)) {
		if (p)
			memcpy(w->buf + w->buf_len, p, n);
		else
			memset(w->buf + w->buf_len, 0, n);
		w->buf_len += n;
		return 0;
	}
	while (n) {
		size_t k;

		if (w->buf_len == w->buf_size) {
			r = wr_flush_buf(w);
			if (r)
				return r;
			/* A whole buffer's worth or more: no point copying it. */
			if (p && n >= w->buf_size)
				return wr_write_all(w, p, n);
		}
		k = w->buf_size - w->buf_len;
		if (k > n)
			k = n;
		if (p) {
			memcpy(w->buf + w->buf_len, p, k);
			p += k;
		} else {
			memset(w->buf + w->buf_len, 0, k);
		}
		w->buf_len += k;
		n -= k;
	}
	return 0;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* pcapng time stamps: the high 32 bits, then the low 32 bits. */
static inline void put_ts(uint8_t *p, uint64_t ns)
{
	put32(p, (uint32_t)(ns >> 32));
	put32(p + 4, (uint32_t)ns);
}

/* ------------------------------------------------------------------------ */
/* pcap                                                                      */

static int pcap_header(struct netmoon_writer *w, uint32_t linktype)
{
	uint8_t h[24];

	put32(h, PCAP_MAGIC_NS);
	put16(h + 4, 2);
	put16(h + 6, 4);
	put32(h + 8, 0);  /* thiszone */
	put32(h + 12, 0); /* sigfigs */
	put32(h + 16, w->snaplen);
	put32(h + 20, linktype);
	w->linktype = linktype;
	w->hdr_done = true;
	return wr_put(w, h, sizeof(h));
}

static int pcap_packet(struct netmoon_writer *w, const struct netmoon_packet *pkt,
		       uint64_t ts, uint32_t caplen)
{
	uint8_t h[16];
	uint64_t sec = ts / 1000000000u;
	uint32_t nsec = (uint32_t)(ts % 1000000000u);
	int r;

	if (netmoon__unlikely(!w->hdr_done)) {
		r = pcap_header(w, pkt->linktype);
		if (r)
			return r;
	} else if (netmoon__unlikely(pkt->linktype != w->linktype)) {
		return wr_error(w, NETMOON_E_LINKTYPE,
				"packet of link type %" PRIu32 " in a pcap file of link type %"
				PRIu32 ": pcap holds one link type (write pcapng)",
				pkt->linktype, w->linktype);
	}
	if (netmoon__unlikely(sec > UINT32_MAX)) {
		sec = UINT32_MAX;
		nsec = 999999999u;
	}
	put32(h, (uint32_t)sec);
	put32(h + 4, nsec);
	put32(h + 8, caplen);
	put32(h + 12, pkt->wirelen);
	r = wr_put(w, h, sizeof(h));
	if (r)
		return r;
	return wr_put(w, pkt->data, caplen);
}

/* ------------------------------------------------------------------------ */
/* pcapng                                                                    */

static int ng_shb(struct netmoon_writer *w)
{
	/* Header 24, shb_userappl (4 + padded string), opt_endofopt 4, trailer 4. */
	enum { APPL_LEN = sizeof(NG_USERAPPL) - 1,
	       APPL_PAD = (APPL_LEN + 3) & ~3,
	       SHB_LEN = 24 + 4 + APPL_PAD + 4 + 4 };
	uint8_t b[SHB_LEN];

	memset(b, 0, sizeof(b));
	put32(b, NG_BT_SHB);
	put32(b + 4, SHB_LEN);
	put32(b + 8, NG_BOM);
	put16(b + 12, 1);
	put16(b + 14, 0);
	put64(b + 16, UINT64_MAX); /* section length: not known in advance */
	put16(b + 24, NG_SHB_USERAPPL);
	put16(b + 26, APPL_LEN);
	memcpy(b + 28, NG_USERAPPL, APPL_LEN);
	/* opt_endofopt is the zeros at 28 + APPL_PAD. */
	put32(b + SHB_LEN - 4, SHB_LEN);
	return wr_put(w, b, sizeof(b));
}

static int ng_idb(struct netmoon_writer *w, uint32_t linktype, uint32_t ifindex)
{
	/* Header 16, if_tsresol 8, opt_endofopt 4, trailer 4. */
	enum { IDB_LEN = 16 + 8 + 4 + 4 };
	uint8_t b[IDB_LEN];
	int r;

	memset(b, 0, sizeof(b));
	put32(b, NG_BT_IDB);
	put32(b + 4, IDB_LEN);
	put16(b + 8, (uint16_t)linktype);
	put32(b + 12, w->snaplen);
	put16(b + 16, NG_IF_TSRESOL);
	put16(b + 18, 1);
	b[20] = 9; /* 10^-9 s */
	put32(b + IDB_LEN - 4, IDB_LEN);
	r = wr_put(w, b, sizeof(b));
	if (r)
		return r;
	w->ifs[w->nif].linktype = linktype;
	w->ifs[w->nif].ifindex = ifindex;
	return (int)w->nif++;
}

/* The interface id of (linktype, ifindex), creating it on first use. */
static int ng_iface(struct netmoon_writer *w, uint32_t linktype, uint32_t ifindex)
{
	uint32_t i = w->last_if;

	if (netmoon__likely(i < w->nif && w->ifs[i].linktype == linktype &&
			    w->ifs[i].ifindex == ifindex))
		return (int)i;
	for (i = 0; i < w->nif; i++)
		if (w->ifs[i].linktype == linktype && w->ifs[i].ifindex == ifindex)
			return (int)i;
	if (w->nif >= WR_MAX_IFACES)
		return wr_error(w, -E2BIG,
				"packet of link type %" PRIu32 " on interface %" PRIu32
				" would be interface number %u: at most %u per file",
				linktype, ifindex, w->nif + 1, WR_MAX_IFACES);
	return ng_idb(w, linktype, ifindex);
}

static int ng_packet(struct netmoon_writer *w, const struct netmoon_packet *pkt, uint64_t ts,
		     uint32_t caplen)
{
	uint8_t h[28], t[8];
	uint32_t pad = (4 - (caplen & 3)) & 3;
	uint32_t len = 32 + caplen + pad;
	int id, r;

	id = ng_iface(w, pkt->linktype, pkt->ifindex);
	if (netmoon__unlikely(id < 0))
		return id;
	w->last_if = (uint32_t)id;
	put32(h, NG_BT_EPB);
	put32(h + 4, len);
	put32(h + 8, (uint32_t)id);
	put_ts(h + 12, ts);
	put32(h + 20, caplen);
	put32(h + 24, pkt->wirelen);
	r = wr_put(w, h, sizeof(h));
	if (r)
		return r;
	r = wr_put(w, pkt->data, caplen);
	if (r)
		return r;
	memset(t, 0, sizeof(t));
	put32(t + pad, len);
	return wr_put(w, t, pad + 4);
}

/* Interface Statistics Block for interface 0, at close. */
static int ng_isb(struct netmoon_writer *w)
{
	/* Header 20, up to four 8-byte options of 12 bytes, endofopt 4, trailer 4. */
	uint8_t b[20 + 4 * 12 + 4 + 4];
	size_t n = 20;
	int r;

	if (w->nif == 0) {
		r = ng_idb(w, w->linktype ? w->linktype : NETMOON_LINKTYPE_ETHERNET, 0);
		if (r < 0)
			return r;
	}
	memset(b, 0, sizeof(b));
	put32(b, NG_BT_ISB);
	put32(b + 8, 0); /* interface id */
	put_ts(b + 12, w->packets ? (uint64_t)w->ts_max : 0);
	if (w->packets) {
		put16(b + n, NG_ISB_STARTTIME);
		put16(b + n + 2, 8);
		put_ts(b + n + 4, (uint64_t)w->ts_min);
		n += 12;
		put16(b + n, NG_ISB_ENDTIME);
		put16(b + n + 2, 8);
		put_ts(b + n + 4, (uint64_t)w->ts_max);
		n += 12;
	}
	put16(b + n, NG_ISB_IFRECV);
	put16(b + n + 2, 8);
	put64(b + n + 4, w->st_recv);
	n += 12;
	put16(b + n, NG_ISB_IFDROP);
	put16(b + n + 2, 8);
	put64(b + n + 4, w->st_drop);
	n += 12;
	n += 4; /* opt_endofopt: zeros */
	put32(b + n, (uint32_t)(n + 4));
	n += 4;
	put32(b + 4, (uint32_t)n);
	return wr_put(w, b, n);
}

/* ------------------------------------------------------------------------ */
/* API                                                                       */

static void copy_msg(char *errbuf, size_t errlen, const char *msg)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", msg);
}

static bool ends_with_pcapng(const char *path)
{
	size_t n = strlen(path);

	return n >= 7 && strcasecmp(path + n - 7, ".pcapng") == 0;
}

static void wr_free(struct netmoon_writer *w)
{
	free(w->buf);
	free(w->name);
	free(w);
}

NETMOON_API int netmoon_writer_open_err(struct netmoon_writer **out, const char *path,
					const struct netmoon_writer_opts *opts,
					char *errbuf, size_t errlen)
{
	struct netmoon_writer *w;
	uint32_t linktype, snaplen;
	size_t buf_size;
	bool is_stdout;
	int format, r;

	if (!out || !path) {
		copy_msg(errbuf, errlen, "netmoon_writer_open: NULL argument");
		return -EINVAL;
	}
	if (!OPTS_VALID(opts, netmoon_writer_opts)) {
		copy_msg(errbuf, errlen, "netmoon_writer_open: options have unknown non-zero members");
		return -EINVAL;
	}
	is_stdout = strcmp(path, "-") == 0;
	format = OPTS_GET(opts, format, NETMOON_WRITER_AUTO);
	linktype = OPTS_GET(opts, linktype, 0);
	snaplen = OPTS_GET(opts, snaplen, 0);
	buf_size = OPTS_GET(opts, buffer_size, 0);
	if (format == NETMOON_WRITER_AUTO)
		format = !is_stdout && ends_with_pcapng(path) ? NETMOON_WRITER_PCAPNG
							      : NETMOON_WRITER_PCAP;
	if (format != NETMOON_WRITER_PCAP && format != NETMOON_WRITER_PCAPNG) {
		copy_msg(errbuf, errlen, "netmoon_writer_open: unknown format");
		return -EINVAL;
	}
	if (linktype > UINT16_MAX) {
		copy_msg(errbuf, errlen, "netmoon_writer_open: link type above 65535");
		return -EINVAL;
	}
	if (snaplen > WR_MAX_SNAPLEN) {
		copy_msg(errbuf, errlen, "netmoon_writer_open: snaplen above 16 MiB - 64");
		return -EINVAL;
	}

	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->fd = -1;
	w->format = format;
	w->snaplen = snaplen ? snaplen : WR_DEFAULT_SNAPLEN;
	w->linktype = linktype;
	w->buf_size = buf_size ? buf_size : WR_DEFAULT_BUFFER;
	w->name = strdup(is_stdout ? "<stdout>" : path);
	w->buf = malloc(w->buf_size);
	if (!w->name || !w->buf) {
		wr_free(w);
		goto nomem;
	}
	if (is_stdout) {
		w->fd = STDOUT_FILENO;
	} else {
		w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w->fd < 0) {
			r = -errno;
			wr_error(w, r, "cannot create: %s", netmoon_strerror(r));
			copy_msg(errbuf, errlen, w->errmsg);
			wr_free(w);
			return r;
		}
		w->close_fd = true;
	}
	/* Only buffered: nothing here can fail but a tiny buffer's write. */
	if (format == NETMOON_WRITER_PCAPNG)
		r = ng_shb(w);
	else
		r = linktype ? pcap_header(w, linktype) : 0;
	if (r) {
		copy_msg(errbuf, errlen, w->errmsg);
		if (w->close_fd)
			close(w->fd);
		wr_free(w);
		return r;
	}
	*out = w;
	return 0;

nomem:
	copy_msg(errbuf, errlen, "netmoon_writer_open: out of memory");
	return -ENOMEM;
}

NETMOON_API int netmoon_writer_open(struct netmoon_writer **w, const char *path,
				    const struct netmoon_writer_opts *opts)
{
	return netmoon_writer_open_err(w, path, opts, NULL, 0);
}

NETMOON_API int netmoon_writer_write(struct netmoon_writer *w, const struct netmoon_packet *pkt)
{
	uint32_t caplen;
	uint64_t ts;
	int r;

	if (netmoon__unlikely(!w || !pkt))
		return -EINVAL;
	if (netmoon__unlikely(w->err))
		return w->err;
	if (netmoon__unlikely(!pkt->data && pkt->caplen))
		return wr_error(w, -EINVAL, "packet with %" PRIu32 " captured bytes but no data",
				pkt->caplen);
	if (netmoon__unlikely(pkt->linktype > UINT16_MAX))
		return wr_error(w, NETMOON_E_LINKTYPE,
				"link type %" PRIu32 " does not fit the 16 bits of the format",
				pkt->linktype);
	caplen = pkt->caplen < w->snaplen ? pkt->caplen : w->snaplen;
	ts = pkt->ts_ns < 0 ? 0 : (uint64_t)pkt->ts_ns;
	if (w->format == NETMOON_WRITER_PCAPNG)
		r = ng_packet(w, pkt, ts, caplen);
	else
		r = pcap_packet(w, pkt, ts, caplen);
	if (netmoon__unlikely(r))
		return r;
	if (!w->packets || (int64_t)ts < w->ts_min)
		w->ts_min = (int64_t)ts;
	if (!w->packets || (int64_t)ts > w->ts_max)
		w->ts_max = (int64_t)ts;
	w->packets++;
	return 0;
}

NETMOON_API int netmoon_writer_set_stats(struct netmoon_writer *w, uint64_t received,
					 uint64_t dropped)
{
	if (!w)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->format != NETMOON_WRITER_PCAPNG)
		return 0;
	w->have_stats = true;
	w->st_recv = received;
	w->st_drop = dropped;
	return 0;
}

NETMOON_API int netmoon_writer_flush(struct netmoon_writer *w)
{
	if (!w)
		return -EINVAL;
	return wr_flush_buf(w);
}

NETMOON_API const char *netmoon_writer_errmsg(const struct netmoon_writer *w)
{
	return w ? w->errmsg : "";
}

NETMOON_API int netmoon_writer_close_err(struct netmoon_writer *w, char *errbuf, size_t errlen)
{
	int r;

	if (!w) {
		copy_msg(errbuf, errlen, "");
		return 0;
	}
	/* A failed output function has made its error sticky: nothing to check here. */
	if (!w->err) {
		if (w->format == NETMOON_WRITER_PCAP && !w->hdr_done)
			pcap_header(w, w->linktype ? w->linktype : NETMOON_LINKTYPE_ETHERNET);
		else if (w->format == NETMOON_WRITER_PCAPNG && w->have_stats)
			ng_isb(w);
		wr_flush_buf(w);
	}
	/* Linux closes the descriptor even when close(2) says EINTR: not an error. */
	if (w->close_fd && close(w->fd) < 0 && errno != EINTR)
		wr_fail(w, -errno, "close error");
	r = w->err;
	copy_msg(errbuf, errlen, r ? w->errmsg : "");
	wr_free(w);
	return r;
}

NETMOON_API int netmoon_writer_close(struct netmoon_writer *w)
{
	return netmoon_writer_close_err(w, NULL, 0);
}
