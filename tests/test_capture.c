/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Capture files: pcap and pcapng readers, the handle's API, and agreement
 * with tshark on the shared corpus (skipped when it is absent).
 *
 * Every capture here is built byte by byte by the small writers below, from
 * the file format specifications, and the expected values (time stamps in
 * ns, lengths, offsets in messages) are worked out by hand in each test.
 * Most captures are read through every kind of source: memory, a mapped
 * temporary file, the same file read in chunks, a pipe, and a pipe with a
 * tiny buffer that makes almost every record straddle a chunk boundary.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

#include "support/tbuf.h"

/* ------------------------------------------------------------------------ */
/* Byte writers                                                              */

/* pcap: 24-byte file header and 16-byte record header. */
static void pcap_hdr(struct tbuf *b, bool be, bool nsec, uint16_t vmaj, uint16_t vmin,
		     uint32_t snaplen, uint32_t linktype)
{
	tb_u32(b, nsec ? 0xa1b23c4d : 0xa1b2c3d4, be);
	tb_u16(b, vmaj, be);
	tb_u16(b, vmin, be);
	tb_u32(b, 0, be); /* thiszone */
	tb_u32(b, 0, be); /* sigfigs */
	tb_u32(b, snaplen, be);
	tb_u32(b, linktype, be);
}

static void pcap_rec(struct tbuf *b, bool be, uint32_t sec, uint32_t frac, uint32_t caplen,
		     uint32_t wirelen, uint32_t seed)
{
	tb_u32(b, sec, be);
	tb_u32(b, frac, be);
	tb_u32(b, caplen, be);
	tb_u32(b, wirelen, be);
	tb_pattern(b, caplen, seed);
}

/* pcapng: a block is type, total length, body (padded), total length. */
static void ng_block(struct tbuf *b, bool be, uint32_t type, struct tbuf *body)
{
	tb_pad4(body);
	tb_u32(b, type, be);
	tb_u32(b, (uint32_t)body->len + 12, be);
	tb_put(b, body->p, body->len);
	tb_u32(b, (uint32_t)body->len + 12, be);
	tb_free(body);
}

static void ng_opt(struct tbuf *body, bool be, uint16_t code, const void *val, uint16_t len)
{
	tb_u16(body, code, be);
	tb_u16(body, len, be);
	tb_put(body, val, len);
	tb_pad4(body);
}

static void ng_shb_v(struct tbuf *b, bool be, uint16_t vmaj, uint16_t vmin)
{
	struct tbuf body = { 0 };

	tb_u32(&body, 0x1a2b3c4d, be);
	tb_u16(&body, vmaj, be);
	tb_u16(&body, vmin, be);
	tb_u64(&body, UINT64_MAX, be); /* section length: unspecified */
	ng_opt(&body, be, 4, "test", 4); /* shb_userappl */
	tb_u32(&body, 0, be);            /* opt_endofopt */
	ng_block(b, be, 0x0a0d0d0a, &body);
}

static void ng_shb(struct tbuf *b, bool be)
{
	ng_shb_v(b, be, 1, 0);
}

#define NO_TSRESOL (-1)

static void ng_idb_off(struct tbuf *b, bool be, uint16_t linktype, uint32_t snaplen, int tsresol,
		       bool has_off, int64_t tsoffset)
{
	struct tbuf body = { 0 };

	tb_u16(&body, linktype, be);
	tb_u16(&body, 0, be);
	tb_u32(&body, snaplen, be);
	ng_opt(&body, be, 2, "eth0", 4); /* if_name, to be skipped */
	if (tsresol != NO_TSRESOL) {
		uint8_t r = (uint8_t)tsresol;

		ng_opt(&body, be, 9, &r, 1);
	}
	if (has_off) {
		struct tbuf v = { 0 };

		tb_u64(&v, (uint64_t)tsoffset, be);
		ng_opt(&body, be, 14, v.p, 8);
		tb_free(&v);
	}
	tb_u32(&body, 0, be);
	ng_block(b, be, 1, &body);
}

static void ng_idb(struct tbuf *b, bool be, uint16_t linktype, uint32_t snaplen, int tsresol)
{
	ng_idb_off(b, be, linktype, snaplen, tsresol, false, 0);
}

static void ng_epb(struct tbuf *b, bool be, uint32_t ifid, uint64_t ts, uint32_t caplen,
		   uint32_t wirelen, uint32_t seed)
{
	struct tbuf body = { 0 };

	tb_u32(&body, ifid, be);
	tb_u32(&body, (uint32_t)(ts >> 32), be);
	tb_u32(&body, (uint32_t)ts, be);
	tb_u32(&body, caplen, be);
	tb_u32(&body, wirelen, be);
	tb_pattern(&body, caplen, seed);
	tb_pad4(&body);
	ng_opt(&body, be, 1, "hi", 2); /* opt_comment */
	ng_block(b, be, 6, &body);
}

static void ng_spb(struct tbuf *b, bool be, uint32_t wirelen, uint32_t stored, uint32_t seed)
{
	struct tbuf body = { 0 };

	tb_u32(&body, wirelen, be);
	tb_pattern(&body, stored, seed);
	ng_block(b, be, 3, &body);
}

static void ng_pb(struct tbuf *b, bool be, uint16_t ifid, uint64_t ts, uint32_t caplen,
		  uint32_t wirelen, uint32_t seed)
{
	struct tbuf body = { 0 };

	tb_u16(&body, ifid, be);
	tb_u16(&body, 0, be); /* drops */
	tb_u32(&body, (uint32_t)(ts >> 32), be);
	tb_u32(&body, (uint32_t)ts, be);
	tb_u32(&body, caplen, be);
	tb_u32(&body, wirelen, be);
	tb_pattern(&body, caplen, seed);
	ng_block(b, be, 2, &body);
}

static void ng_raw_block(struct tbuf *b, bool be, uint32_t type, size_t body_len)
{
	struct tbuf body = { 0 };

	tb_pattern(&body, body_len, 99);
	ng_block(b, be, type, &body);
}

/* ------------------------------------------------------------------------ */
/* Sources                                                                   */

enum src_kind {
	SRC_MEM,
	SRC_FILE,
	SRC_FILE_NOMMAP,
	SRC_FILE_THREAD,
	SRC_FILE_WALK,
	SRC_MEM_WALK,
	SRC_PIPE,
	SRC_PIPE_TINY,
	SRC_COUNT
};

static const char *const src_names[SRC_COUNT] = {
	"memory", "mapped file", "file read in chunks", "file read ahead by a thread",
	"mapped file walked by a thread", "memory walked by a thread",
	"pipe", "pipe with a 7-byte buffer",
};

struct tsrc {
	enum src_kind kind;
	char path[PATH_MAX];
	int rfd, wfd;
	pthread_t th;
	bool thread;
	const struct tbuf *b;
};

static void *pipe_writer(void *arg)
{
	struct tsrc *s = arg;
	size_t off = 0;

	while (off < s->b->len) {
		ssize_t w = write(s->wfd, s->b->p + off, s->b->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* the reader stopped early: EPIPE */
		}
		off += (size_t)w;
	}
	close(s->wfd);
	return NULL;
}

/* As pipe_writer(), 7 bytes at a time with a pause between writes. */
static void *trickle_writer(void *arg)
{
	struct tsrc *s = arg;
	size_t off = 0;

	while (off < s->b->len) {
		size_t n = s->b->len - off < 7 ? s->b->len - off : 7;
		ssize_t w = write(s->wfd, s->b->p + off, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
		usleep(300);
	}
	close(s->wfd);
	return NULL;
}

static void write_temp(char *path, size_t size, const struct tbuf *b)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/netmoon-capture-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
	close(fd);
}

static int tsrc_open(struct tsrc *s, enum src_kind kind, const struct tbuf *b,
		     struct netmoon_capture **cap, char *err, size_t errlen)
{
	NETMOON_OPTS(netmoon_capture_file_opts, opts);
	int pfd[2], r;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->b = b;
	s->rfd = s->wfd = -1;
	switch (kind) {
	case SRC_MEM:
	case SRC_MEM_WALK:
		snprintf(s->path, sizeof(s->path), "<memory>");
		opts.read_thread = kind == SRC_MEM_WALK;
		return netmoon_capture_open_mem(cap, b->p, b->len, &opts);
	case SRC_FILE:
	case SRC_FILE_NOMMAP:
	case SRC_FILE_THREAD:
	case SRC_FILE_WALK:
		write_temp(s->path, sizeof(s->path), b);
		opts.use_mmap = kind == SRC_FILE || kind == SRC_FILE_WALK;
		/* The smallest ring (4 chunks of 256 KiB): many chunk boundaries. */
		opts.read_thread = kind == SRC_FILE_THREAD || kind == SRC_FILE_WALK;
		opts.buffer_size = kind == SRC_FILE_THREAD ? 1 : 0;
		r = netmoon_capture_open_err(cap, s->path, &opts, err, errlen);
		unlink(s->path); /* the open handle keeps it; a failing test leaves nothing */
		return r;
	default:
		assert_int_equal(pipe(pfd), 0);
		s->rfd = pfd[0];
		s->wfd = pfd[1];
		assert_int_equal(pthread_create(&s->th, NULL, pipe_writer, s), 0);
		s->thread = true;
		snprintf(s->path, sizeof(s->path), "/dev/fd/%d", s->rfd);
		if (kind == SRC_PIPE_TINY)
			opts.buffer_size = 7;
		return netmoon_capture_open_err(cap, s->path, &opts, err, errlen);
	}
}

/* After netmoon_capture_close(): stop the writer. */
static void tsrc_close(struct tsrc *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->thread)
		pthread_join(s->th, NULL);
}

/* ------------------------------------------------------------------------ */
/* Expectations                                                              */

struct want {
	int64_t ts_ns;
	uint32_t caplen, wirelen, linktype, ifindex;
	uint32_t seed;
};

/*
 * Read packets and compare them with @w; then expect @end (0 or an error)
 * twice, since the end is sticky.
 */
static void expect_packets(struct netmoon_capture *cap, const struct want *w, size_t n, int end,
			   const char *what)
{
	const struct netmoon_packet *p;

	for (size_t i = 0; i < n; i++) {
		int r = netmoon_capture_next(cap, &p);

		if (r != 1)
			fail_msg("%s: packet %zu: next() = %d (%s)", what, i + 1, r,
				 netmoon_capture_errmsg(cap));
		assert_int_equal(p->sz, sizeof(struct netmoon_packet));
		assert_int_equal(p->number, i + 1);
		if (p->ts_ns != w[i].ts_ns)
			fail_msg("%s: packet %zu: ts %" PRId64 " != %" PRId64, what, i + 1,
				 p->ts_ns, w[i].ts_ns);
		assert_int_equal(p->caplen, w[i].caplen);
		assert_int_equal(p->wirelen, w[i].wirelen);
		assert_int_equal(p->linktype, w[i].linktype);
		assert_int_equal(p->ifindex, w[i].ifindex);
		if (!pattern_ok(p->data, p->caplen, w[i].seed))
			fail_msg("%s: packet %zu: wrong bytes", what, i + 1);
	}
	for (int k = 0; k < 2; k++) {
		int r = netmoon_capture_next(cap, &p);

		if (r != end)
			fail_msg("%s: after %zu packets: next() = %d, want %d (%s)", what, n, r,
				 end, netmoon_capture_errmsg(cap));
		assert_null(p);
	}
}

static void expect_msg(const char *msg, const char *name, const char *needle)
{
	char prefix[PATH_MAX + 64];

	snprintf(prefix, sizeof(prefix), "%s: %s", name, needle);
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
}

/* Read @b through every source and expect the same packets and end. */
static void expect_all_sources(const struct tbuf *b, const struct want *w, size_t n, int end,
			       const char *end_msg)
{
	for (int k = 0; k < SRC_COUNT; k++) {
		struct netmoon_capture *cap = NULL;
		struct tsrc s;
		char err[256] = "";
		int r = tsrc_open(&s, (enum src_kind)k, b, &cap, err, sizeof(err));

		if (r)
			fail_msg("%s: open = %d (%s)", src_names[k], r, err);
		expect_packets(cap, w, n, end, src_names[k]);
		if (end_msg)
			expect_msg(netmoon_capture_errmsg(cap), s.path, end_msg);
		else
			assert_string_equal(netmoon_capture_errmsg(cap), "");
		netmoon_capture_close(cap);
		tsrc_close(&s);
	}
}

/* Open @b through every source and expect the open to fail. */
static void expect_open_fails(const struct tbuf *b, int err, const char *msg)
{
	for (int k = 0; k < SRC_COUNT; k++) {
		struct netmoon_capture *cap = NULL;
		struct tsrc s;
		char ebuf[256] = "";
		int r = tsrc_open(&s, (enum src_kind)k, b, &cap, ebuf, sizeof(ebuf));

		if (r != err)
			fail_msg("%s: open = %d, want %d (%s)", src_names[k], r, err, ebuf);
		assert_null(cap);
		if (msg && k != SRC_MEM && k != SRC_MEM_WALK)
			expect_msg(ebuf, s.path, msg);
		tsrc_close(&s);
	}
}

static struct netmoon_capture *open_mem_ok(const struct tbuf *b)
{
	struct netmoon_capture *cap = NULL;

	assert_int_equal(netmoon_capture_open_mem(&cap, b->p, b->len, NULL), 0);
	assert_non_null(cap);
	return cap;
}

/* ------------------------------------------------------------------------ */
/* pcap                                                                      */

static void test_pcap_byte_orders_and_resolutions(void **state)
{
	(void)state;
	for (int be = 0; be <= 1; be++) {
		for (int nsec = 0; nsec <= 1; nsec++) {
			struct tbuf b = { 0 };
			/* 1700000000 s = 2023-11-14T22:13:20Z. */
			struct want w[3] = {
				{ nsec ? 1700000000000000123 : 1700000000123456000, 60, 60, 1, 0, 1 },
				{ nsec ? 1700000001999999999 : 1700000001999999000, 1514, 1514, 1, 0, 2 },
				{ nsec ? 4294967295000000000 : 4294967295000001000, 0, 64, 1, 0, 3 },
			};

			pcap_hdr(&b, be, nsec, 2, 4, 65535, 1);
			pcap_rec(&b, be, 1700000000, nsec ? 123 : 123456, 60, 60, 1);
			pcap_rec(&b, be, 1700000001, nsec ? 999999999 : 999999, 1514, 1514, 2);
			/* The last second of unsigned 32-bit time, and an empty record. */
			pcap_rec(&b, be, 4294967295u, nsec ? 0 : 1, 0, 64, 3);
			expect_all_sources(&b, w, 3, 0, NULL);
			tb_free(&b);
		}
	}
}

static void test_pcap_snaplen_smaller_than_packets(void **state)
{
	struct tbuf b = { 0 };
	struct want w[2] = {
		{ 10000000, 64, 1514, 1, 0, 5 },
		{ 20000000, 42, 42, 1, 0, 6 },
	};
	struct netmoon_capture *cap;

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 64, 1);
	pcap_rec(&b, false, 0, 10000, 64, 1514, 5);
	pcap_rec(&b, false, 0, 20000, 42, 42, 6);
	expect_all_sources(&b, w, 2, 0, NULL);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_linktype(cap), 1);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_pcap_linktype_upper_bits(void **state)
{
	struct tbuf b = { 0 };
	struct want w[1] = { { 1000000000, 20, 20, 101, 0, 9 } };
	struct netmoon_capture *cap;

	(void)state;
	/* FCS-length bits set above LINKTYPE_RAW, as in tcpdump's fuzz files. */
	pcap_hdr(&b, true, false, 2, 4, 65535, 0x30000065);
	pcap_rec(&b, true, 1, 0, 20, 20, 9);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_linktype(cap), 101);
	netmoon_capture_close(cap);
	expect_all_sources(&b, w, 1, 0, NULL);
	tb_free(&b);
}

static void test_pcap_odd_lengths(void **state)
{
	struct tbuf b = { 0 };
	/* caplen > wirelen is delivered as recorded, like libpcap and tshark. */
	struct want w[2] = {
		{ 5000, 60, 40, 1, 0, 1 },
		/* Over the snaplen of 100, under the 256 KiB sanity bound: accepted. */
		{ 6000, 200000, 200000, 1, 0, 2 },
	};

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 100, 1);
	pcap_rec(&b, false, 0, 5, 60, 40, 1);
	pcap_rec(&b, false, 0, 6, 200000, 200000, 2);
	expect_all_sources(&b, w, 2, 0, NULL);
	tb_free(&b);
}

static void test_pcap_record_too_long(void **state)
{
	struct tbuf b = { 0 };
	struct want w[1] = { { 1000, 10, 10, 1, 0, 1 } };

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	pcap_rec(&b, false, 0, 1, 10, 10, 1);
	/* Record header at 24 + 16 + 10 = 50; 256 KiB + 1 is over the bound. */
	tb_u32(&b, 0, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, 262145, false);
	tb_u32(&b, 262145, false);
	tb_pattern(&b, 100, 0);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT, "offset 50: record length 262145");
	tb_free(&b);

	/* A large snaplen raises the bound, but never past 16 MiB. */
	pcap_hdr(&b, false, false, 2, 4, 0xffffffff, 1);
	tb_u32(&b, 0, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, (16u << 20) + 1, false);
	tb_u32(&b, 100, false);
	expect_all_sources(&b, NULL, 0, NETMOON_E_CORRUPT, "offset 24: record length 16777217");
	tb_free(&b);
}

static void test_pcap_old_versions_swap_lengths(void **state)
{
	struct tbuf b = { 0 };
	struct want w[2] = {
		{ 1000000, 50, 1000, 1, 0, 1 },
		{ 2000000, 30, 30, 1, 0, 2 },
	};

	(void)state;
	/* Before 2.3 the record header held len, then caplen. */
	pcap_hdr(&b, false, false, 2, 2, 65535, 1);
	tb_u32(&b, 0, false);
	tb_u32(&b, 1000, false);
	tb_u32(&b, 1000, false); /* len */
	tb_u32(&b, 50, false);   /* caplen */
	tb_pattern(&b, 50, 1);
	tb_u32(&b, 0, false);
	tb_u32(&b, 2000, false);
	tb_u32(&b, 30, false);
	tb_u32(&b, 30, false);
	tb_pattern(&b, 30, 2);
	expect_all_sources(&b, w, 2, 0, NULL);
	tb_free(&b);

	/* 2.3: swapped back only when the first looks like the larger. */
	pcap_hdr(&b, true, false, 2, 3, 65535, 1);
	pcap_rec(&b, true, 0, 1000, 50, 1000, 1); /* new layout */
	tb_u32(&b, 0, true);
	tb_u32(&b, 2000, true);
	tb_u32(&b, 1000, true); /* old layout: len first */
	tb_u32(&b, 50, true);
	tb_pattern(&b, 50, 2);
	{
		struct want w3[2] = {
			{ 1000000, 50, 1000, 1, 0, 1 },
			{ 2000000, 50, 1000, 1, 0, 2 },
		};

		expect_all_sources(&b, w3, 2, 0, NULL);
	}
	tb_free(&b);
}

static void test_pcap_bad_version(void **state)
{
	static const uint16_t vers[][2] = { { 1, 4 }, { 3, 0 }, { 0, 0 }, { 543, 0 } };

	(void)state;
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		struct tbuf b = { 0 };

		pcap_hdr(&b, i % 2, false, vers[i][0], vers[i][1], 65535, 1);
		pcap_rec(&b, i % 2, 0, 0, 10, 10, 1);
		expect_open_fails(&b, NETMOON_E_VERSION, "offset 4: unsupported pcap version");
		tb_free(&b);
	}
}

static void test_pcap_truncated_last_record(void **state)
{
	struct tbuf b = { 0 };
	struct want w[3] = {
		{ 1000000000, 100, 100, 1, 0, 1 },
		{ 2000000000, 100, 100, 1, 0, 2 },
		{ 3000000000, 100, 100, 1, 0, 3 },
	};

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (uint32_t i = 1; i <= 4; i++)
		pcap_rec(&b, false, i, 0, 100, 100, i);
	/* Records of 116 bytes from 24: the fourth is at 372; cut it after 50 bytes. */
	b.len -= 66;
	expect_all_sources(&b, w, 3, NETMOON_E_TRUNCATED, "offset 372: truncated record");
	/* Cut inside its header instead. */
	b.len = 372 + 5;
	expect_all_sources(&b, w, 3, NETMOON_E_TRUNCATED, "offset 372: truncated record header");
	/* Nothing after the last complete record is a clean end. */
	b.len = 372;
	expect_all_sources(&b, w, 3, 0, NULL);
	tb_free(&b);
}

static void test_pcap_truncated_header(void **state)
{
	struct tbuf b = { 0 };

	(void)state;
	pcap_hdr(&b, false, true, 2, 4, 65535, 1);
	b.len = 10;
	expect_open_fails(&b, NETMOON_E_TRUNCATED, "offset 0: truncated pcap file header");
	tb_free(&b);
}

static void test_bad_magic_and_empty(void **state)
{
	struct tbuf b = { 0 };

	(void)state;
	tb_put(&b, "GIF89a and some more bytes to be long enough", 44);
	expect_open_fails(&b, NETMOON_E_FORMAT, "offset 0: unknown magic number 47 49 46 38");
	/* Kuznetzov's modified pcap is not read. */
	b.len = 0;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	b.p[0] = 0x34;
	b.p[1] = 0xcd;
	expect_open_fails(&b, NETMOON_E_FORMAT, "offset 0: unknown magic");
	b.len = 0;
	expect_open_fails(&b, NETMOON_E_FORMAT, "offset 0: empty file");
	tb_put(&b, "\xd4\xc3", 2);
	expect_open_fails(&b, NETMOON_E_FORMAT, "offset 0: only 2 bytes");
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* pcapng                                                                    */

static void test_pcapng_sections_change_byte_order(void **state)
{
	struct tbuf b = { 0 };
	/*
	 * Section 1 (LE): one Ethernet interface in us.  Section 2 (BE): raw IP
	 * in ns, so interface 0 means something else.  Section 3 (LE): two
	 * interfaces, SLL2 and Ethernet.
	 */
	struct want w[5] = {
		{ 1700000000000001000, 60, 60, 1, 0, 1 },
		{ 1700000000000000002, 40, 40, 101, 0, 2 },
		{ 1700000000000000003, 40, 40, 101, 0, 3 },
		{ 1700000000000005000, 80, 80, 1, 1, 4 },
		{ 1700000000000006000, 70, 70, 276, 0, 5 },
	};
	struct netmoon_capture *cap;

	(void)state;
	ng_shb(&b, false);
	ng_idb(&b, false, 1, 0, 6);
	ng_epb(&b, false, 0, 1700000000000001, 60, 60, 1);
	ng_shb(&b, true);
	ng_idb(&b, true, 101, 65535, 9);
	ng_epb(&b, true, 0, 1700000000000000002, 40, 40, 2);
	ng_epb(&b, true, 0, 1700000000000000003, 40, 40, 3);
	ng_shb(&b, false);
	ng_idb(&b, false, 276, 0, NO_TSRESOL);
	ng_idb(&b, false, 1, 0, NO_TSRESOL);
	ng_epb(&b, false, 1, 1700000000000005, 80, 80, 4);
	ng_epb(&b, false, 0, 1700000000000006, 70, 70, 5);
	expect_all_sources(&b, w, 5, 0, NULL);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_linktype(cap), 1);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_pcapng_several_interfaces(void **state)
{
	struct tbuf b = { 0 };
	struct want w[4] = {
		{ 1000, 30, 30, 113, 2, 1 },
		{ 2000, 30, 30, 1, 0, 2 },
		{ 3000, 30, 30, 229, 1, 3 },
		{ 4000, 30, 30, 113, 2, 4 },
	};
	struct netmoon_capture *cap;

	(void)state;
	ng_shb(&b, true);
	ng_idb(&b, true, 1, 0, 9);
	ng_idb(&b, true, 229, 0, 9);
	ng_idb(&b, true, 113, 0, 9);
	ng_epb(&b, true, 2, 1000, 30, 30, 1);
	ng_epb(&b, true, 0, 2000, 30, 30, 2);
	ng_epb(&b, true, 1, 3000, 30, 30, 3);
	ng_epb(&b, true, 2, 4000, 30, 30, 4);
	expect_all_sources(&b, w, 4, 0, NULL);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_linktype(cap), 1);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_pcapng_tsresol(void **state)
{
	struct tbuf b = { 0 };
	struct want w[8] = {
		/* 10^-6: 1700000000.123456 s */
		{ 1700000000123456000, 10, 10, 1, 0, 1 },
		/* 10^-9 */
		{ 1700000000123456789, 10, 10, 1, 1, 2 },
		/* 2^-20: 3.5 s exactly */
		{ 3500000000, 10, 10, 1, 2, 3 },
		/* 2^-20: one unit is 953.674... ns, rounded down */
		{ 953, 10, 10, 1, 2, 4 },
		/* 10^-3: ms */
		{ 1700000000123000000, 10, 10, 1, 3, 5 },
		/* 10^-12: ps, 12345.678901234567 s, rounded down */
		{ 12345678901234, 10, 10, 1, 4, 6 },
		/* 2^-32 (NTP-like): 2^32 units = 1 s, plus 2^31 = 0.5 s */
		{ 1500000000, 10, 10, 1, 5, 7 },
		/* 2^-32 at 1700000000.5 s: units * 10^9 needs more than 64 bits */
		{ 1700000000500000000, 10, 10, 1, 5, 8 },
	};

	(void)state;
	ng_shb(&b, false);
	ng_idb(&b, false, 1, 0, 6);
	ng_idb(&b, false, 1, 0, 9);
	ng_idb(&b, false, 1, 0, 0x80 | 20);
	ng_idb(&b, false, 1, 0, 3);
	ng_idb(&b, false, 1, 0, 12);
	ng_idb(&b, false, 1, 0, 0x80 | 32);
	ng_epb(&b, false, 0, 1700000000123456, 10, 10, 1);
	ng_epb(&b, false, 1, 1700000000123456789, 10, 10, 2);
	ng_epb(&b, false, 2, 3 * 1048576 + 524288, 10, 10, 3);
	ng_epb(&b, false, 2, 1, 10, 10, 4);
	ng_epb(&b, false, 3, 1700000000123, 10, 10, 5);
	ng_epb(&b, false, 4, 12345678901234567, 10, 10, 6);
	ng_epb(&b, false, 5, (1ull << 32) + (1ull << 31), 10, 10, 7);
	ng_epb(&b, false, 5, (1700000000ull << 32) + (1ull << 31), 10, 10, 8);
	expect_all_sources(&b, w, 8, 0, NULL);
	tb_free(&b);
}

static void test_pcapng_tsoffset_and_2106(void **state)
{
	struct tbuf b = { 0 };
	struct want w[3] = {
		/* 2.5 s after an offset of 1000000000 s */
		{ 1000000002500000000, 10, 10, 1, 0, 1 },
		/* 2^32 s (2106-02-07T06:28:16Z) in us */
		{ 4294967296000000000, 10, 10, 1, 1, 2 },
		/* a negative offset: 100 s - 40 s */
		{ 60000000000, 10, 10, 1, 2, 3 },
	};

	(void)state;
	ng_shb(&b, true);
	ng_idb_off(&b, true, 1, 0, 6, true, 1000000000);
	ng_idb(&b, true, 1, 0, NO_TSRESOL);
	ng_idb_off(&b, true, 1, 0, 9, true, -40);
	ng_epb(&b, true, 0, 2500000, 10, 10, 1);
	ng_epb(&b, true, 1, 4294967296000000, 10, 10, 2);
	ng_epb(&b, true, 2, 100000000000, 10, 10, 3);
	expect_all_sources(&b, w, 3, 0, NULL);
	tb_free(&b);
}

static void test_pcapng_epb_spb_pb(void **state)
{
	struct tbuf b = { 0 };
	struct want w[5] = {
		{ 1000, 64, 100, 1, 0, 1 },
		/* SPB: no time stamp; caplen = min(wirelen, snaplen, body) */
		{ 0, 64, 100, 1, 0, 2 },
		{ 0, 30, 30, 1, 0, 3 },
		{ 0, 20, 50, 1, 0, 4 },
		/* obsolete Packet Block on interface 1 */
		{ 7000000000, 16, 16, 113, 1, 5 },
	};

	(void)state;
	ng_shb(&b, false);
	ng_idb(&b, false, 1, 64, NO_TSRESOL);
	ng_idb(&b, false, 113, 0, 9);
	ng_epb(&b, false, 0, 1, 64, 100, 1);
	ng_spb(&b, false, 100, 64, 2); /* cut by the snaplen */
	ng_spb(&b, false, 30, 30, 3);  /* the 2 pad bytes are not packet data */
	ng_spb(&b, false, 50, 20, 4);  /* block shorter than the packet */
	ng_pb(&b, false, 1, 7000000000, 16, 16, 5);
	expect_all_sources(&b, w, 5, 0, NULL);
	tb_free(&b);
}

static void test_pcapng_unknown_blocks_skipped(void **state)
{
	struct tbuf b = { 0 };
	struct want w[2] = {
		{ 1000, 10, 10, 1, 0, 1 },
		{ 2000, 12, 12, 1, 0, 2 },
	};

	(void)state;
	ng_shb(&b, false);
	ng_raw_block(&b, false, 4, 16);          /* NRB */
	ng_idb(&b, false, 1, 0, NO_TSRESOL);
	ng_raw_block(&b, false, 0x00000bad, 20); /* custom block */
	ng_epb(&b, false, 0, 1, 10, 10, 1);
	ng_raw_block(&b, false, 5, 24);          /* ISB */
	ng_raw_block(&b, false, 0x12345678, 0);  /* unknown, empty body */
	ng_raw_block(&b, false, 0x40000bad, 4000);
	ng_epb(&b, false, 0, 2, 12, 12, 2);
	ng_raw_block(&b, false, 0x0000000a, 8);  /* DSB */
	expect_all_sources(&b, w, 2, 0, NULL);
	tb_free(&b);
}

static void test_pcapng_truncated_last_block(void **state)
{
	struct tbuf b = { 0 };
	struct want w[2] = {
		{ 1000, 10, 10, 1, 0, 1 },
		{ 2000, 10, 10, 1, 0, 2 },
	};
	size_t cut;

	(void)state;
	/* SHB: 12 + 16 + 8 (shb_userappl) + 4 = 40; IDB: 12 + 8 + 8 (if_name) + 8 (tsresol) + 4 = 40. */
	ng_shb(&b, false);
	ng_idb(&b, false, 1, 0, 9);
	assert_int_equal(b.len, 80);
	/* EPBs: 12 + 20 + 12 (10 bytes padded) + 8 (comment) = 52 each: at 80, 132, 184. */
	ng_epb(&b, false, 0, 1000, 10, 10, 1);
	ng_epb(&b, false, 0, 2000, 10, 10, 2);
	assert_int_equal(b.len, 184);
	ng_epb(&b, false, 0, 3000, 10, 10, 3);
	cut = b.len;
	b.len = cut - 1;
	expect_all_sources(&b, w, 2, NETMOON_E_TRUNCATED,
			   "offset 184: truncated block: 52 bytes announced, 51 present");
	b.len = 184 + 6;
	expect_all_sources(&b, w, 2, NETMOON_E_TRUNCATED, "offset 184: truncated block header");
	tb_free(&b);
}

static void test_pcapng_bad_versions(void **state)
{
	static const uint16_t bad[][2] = { { 0, 1 }, { 2, 0 }, { 1, 1 } };
	struct want w[1] = { { 1000, 10, 10, 1, 0, 1 } };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tbuf b = { 0 };

		ng_shb_v(&b, i % 2, bad[i][0], bad[i][1]);
		ng_idb(&b, i % 2, 1, 0, 6);
		expect_open_fails(&b, NETMOON_E_VERSION, "offset 12: unsupported pcapng version");
		tb_free(&b);
	}
	/* 1.2 was written by old tools; libpcap and the specification read it as 1.0. */
	{
		struct tbuf b = { 0 };

		ng_shb_v(&b, false, 1, 2);
		ng_idb(&b, false, 1, 0, 6);
		ng_epb(&b, false, 0, 1, 10, 10, 1);
		expect_all_sources(&b, w, 1, 0, NULL);
		tb_free(&b);
	}
	/* A bad version in a later section fails there, after the earlier packets. */
	{
		struct tbuf b = { 0 };

		ng_shb(&b, false);
		ng_idb(&b, false, 1, 0, 6);
		ng_epb(&b, false, 0, 1, 10, 10, 1);
		assert_int_equal(b.len, 132);
		ng_shb_v(&b, true, 2, 0);
		expect_all_sources(&b, w, 1, NETMOON_E_VERSION, "offset 144: unsupported pcapng");
		tb_free(&b);
	}
}

static void test_pcapng_bad_byte_order_magic(void **state)
{
	struct tbuf b = { 0 };
	struct want w[1] = { { 1000, 10, 10, 1, 0, 1 } };

	(void)state;
	ng_shb(&b, false);
	b.p[8] = 0x00;
	expect_open_fails(&b, NETMOON_E_FORMAT, "offset 8: bad byte-order magic");
	tb_free(&b);

	ng_shb(&b, false);
	ng_idb(&b, false, 1, 0, 6);
	ng_epb(&b, false, 0, 1, 10, 10, 1);
	ng_shb(&b, false);
	b.p[132 + 9] = 0x00;
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT, "offset 140: bad byte-order magic");
	tb_free(&b);
}

static void test_pcapng_option_overrun(void **state)
{
	struct tbuf b = { 0 }, body = { 0 };

	(void)state;
	/* SHB whose shb_userappl claims 0x3030 bytes (libpcap's shb-option-too-long). */
	tb_u32(&body, 0x1a2b3c4d, false);
	tb_u16(&body, 1, false);
	tb_u16(&body, 0, false);
	tb_u64(&body, UINT64_MAX, false);
	tb_u16(&body, 4, false);
	tb_u16(&body, 0x3030, false);
	tb_put(&body, "0000", 4);
	ng_block(&b, false, 0x0a0d0d0a, &body);
	expect_open_fails(&b, NETMOON_E_CORRUPT,
			  "offset 24: section header block: option 4 of length 12336 overruns");
	tb_free(&b);

	/* IDB with if_tsresol of length 8, which runs past the block. */
	ng_shb(&b, true);
	assert_int_equal(b.len, 40);
	tb_u16(&body, 1, true);
	tb_u16(&body, 0, true);
	tb_u32(&body, 0, true);
	tb_u16(&body, 9, true);
	tb_u16(&body, 8, true);
	tb_u32(&body, 0x06000000, true);
	ng_block(&b, true, 1, &body);
	expect_open_fails(&b, NETMOON_E_CORRUPT,
			  "offset 56: interface description block: option 9 of length 8 overruns");
	tb_free(&b);

	/* if_tsresol must be one byte. */
	ng_shb(&b, false);
	tb_u16(&body, 1, false);
	tb_u16(&body, 0, false);
	tb_u32(&body, 0, false);
	ng_opt(&body, false, 9, "\x06\x06", 2);
	ng_block(&b, false, 1, &body);
	expect_open_fails(&b, NETMOON_E_CORRUPT, "offset 56: if_tsresol option of length 2");
	tb_free(&b);
}

static void test_pcapng_bad_block_lengths(void **state)
{
	struct tbuf b = { 0 }, good = { 0 };
	struct want w[1] = { { 1000, 10, 10, 1, 0, 1 } };

	(void)state;
	ng_shb(&good, false);
	ng_idb(&good, false, 1, 0, 6);
	ng_epb(&good, false, 0, 1, 10, 10, 1);
	assert_int_equal(good.len, 132);

	/* Not a multiple of 4. */
	tb_put(&b, good.p, good.len);
	tb_u32(&b, 0x12345678, false);
	tb_u32(&b, 22, false);
	tb_pattern(&b, 20, 0);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT, "offset 132: bad block length 22");
	/* Shorter than a block can be. */
	b.len = good.len;
	tb_u32(&b, 6, false);
	tb_u32(&b, 8, false);
	tb_pattern(&b, 20, 0);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT, "offset 132: bad block length 8");
	/* Trailing length differs. */
	b.len = good.len;
	tb_u32(&b, 0x12345678, false);
	tb_u32(&b, 16, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, 20, false);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT,
			   "offset 132: block length 16 does not match its trailing length 20");
	/* Huge: refused from the header alone, without reading or allocating it. */
	b.len = good.len;
	tb_u32(&b, 6, false);
	tb_u32(&b, 0xfffffff0, false);
	tb_pattern(&b, 100, 0);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT,
			   "offset 132: block length 4294967280 exceeds the maximum 16777216");
	/* EPB shorter than its fixed part, and an EPB whose caplen runs past it. */
	b.len = good.len;
	tb_u32(&b, 6, false);
	tb_u32(&b, 16, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, 16, false);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT, "offset 132: block type 0x00000006 too short");
	b.len = good.len;
	ng_epb(&b, false, 0, 1, 8, 8, 0);
	/* 48 bytes: 32 of fixed part, 8 of data, 8 of options; so 16 of room. */
	b.p[good.len + 20] = 17;
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT,
			   "offset 132: captured length 17 overruns its block (16 bytes of room)");
	/* A packet for an interface the section does not have. */
	b.len = good.len;
	ng_epb(&b, false, 1, 1, 8, 8, 0);
	expect_all_sources(&b, w, 1, NETMOON_E_CORRUPT,
			   "offset 132: packet for interface 1, but the section has 1");
	tb_free(&b);
	/* A Simple Packet Block before any interface. */
	ng_shb(&b, false);
	ng_spb(&b, false, 10, 10, 0);
	expect_all_sources(&b, NULL, 0, NETMOON_E_CORRUPT, "offset 40: packet for interface 0");
	tb_free(&b);
	tb_free(&good);
}

static void test_pcapng_interface_cap(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	const struct netmoon_packet *p;

	(void)state;
	ng_shb(&b, false);
	for (int i = 0; i < 65536; i++)
		ng_idb(&b, false, 1, 0, 6);
	ng_epb(&b, false, 65535, 5, 10, 10, 0);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(p->ifindex, 65535);
	assert_int_equal(netmoon_capture_next(cap, &p), 0);
	netmoon_capture_close(cap);
	/* IDBs are 40 bytes: the 65537th is at 40 + 65536 * 40 = 2621480. */
	b.len = 40 + 65536 * 40;
	ng_idb(&b, false, 1, 0, 6);
	cap = NULL;
	assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len, NULL), NETMOON_E_CORRUPT);
	assert_null(cap);
	{
		char path[PATH_MAX], err[256];

		write_temp(path, sizeof(path), &b);
		assert_int_equal(netmoon_capture_open_err(&cap, path, NULL, err, sizeof(err)),
				 NETMOON_E_CORRUPT);
		expect_msg(err, path, "offset 2621480: more than 65536 interfaces");
		unlink(path);
	}
	tb_free(&b);
}

static void test_pcapng_linktype_without_interfaces(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;

	(void)state;
	ng_shb(&b, false);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_linktype(cap), -ENODATA);
	expect_packets(cap, NULL, 0, 0, "empty section");
	netmoon_capture_close(cap);
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* The handle                                                                */

/* Five Ethernet packets, 1..5 s, 20 + i bytes. */
static void five_packets(struct tbuf *b)
{
	pcap_hdr(b, false, false, 2, 4, 65535, 1);
	for (uint32_t i = 1; i <= 5; i++)
		pcap_rec(b, false, i, 0, 20 + i, 100 + i, i);
}

struct loop_ctx {
	uint64_t seen[8];
	int n;
	int stop_at;  /* return stop_ret at this packet (1-based); 0 = never */
	int stop_ret;
	int break_at; /* call breakloop at this packet */
	struct netmoon_capture *cap;
};

static int loop_cb(const struct netmoon_packet *p, void *user)
{
	struct loop_ctx *c = user;

	c->seen[c->n++] = p->number;
	if (c->break_at && (int)p->number == c->break_at)
		netmoon_capture_breakloop(c->cap);
	if (c->stop_at && (int)p->number == c->stop_at)
		return c->stop_ret;
	return 0;
}

static void test_loop_count(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	struct loop_ctx c = { 0 };

	(void)state;
	five_packets(&b);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_loop(cap, 2, loop_cb, &c), 2);
	assert_int_equal(c.n, 2);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), 3);
	assert_int_equal(c.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(c.seen[i], i + 1);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), 0);
	assert_int_equal(netmoon_capture_loop(cap, 10, loop_cb, &c), 0);
	assert_int_equal(c.n, 5);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_loop_stopped_by_callback(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	const struct netmoon_packet *p;
	struct loop_ctx c = { .stop_at = 3, .stop_ret = 7 };

	(void)state;
	five_packets(&b);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), 7);
	assert_int_equal(c.n, 3);
	/* The handle goes on where the loop stopped. */
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(p->number, 4);
	c.stop_at = 5;
	c.stop_ret = -EIO;
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), -EIO);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.seen[3], 5);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_loop_returns_read_error(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	struct loop_ctx c = { 0 };

	(void)state;
	five_packets(&b);
	b.len -= 3;
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), NETMOON_E_TRUNCATED);
	assert_int_equal(c.n, 4);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), NETMOON_E_TRUNCATED);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_breakloop(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	struct loop_ctx c = { .break_at = 2 };

	(void)state;
	five_packets(&b);
	cap = open_mem_ok(&b);
	c.cap = cap;
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), NETMOON_E_BREAK);
	assert_int_equal(c.n, 2);
	/* The request was used up: the next loop runs on. */
	c.break_at = 0;
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), 3);
	assert_int_equal(c.seen[2], 3);
	/* A request made before a loop stops it before its first packet (libpcap). */
	netmoon_capture_breakloop(cap);
	assert_int_equal(netmoon_capture_loop(cap, 0, loop_cb, &c), NETMOON_E_BREAK);
	assert_int_equal(c.n, 5);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static struct netmoon_capture *sig_cap;

static void on_sigusr1(int sig)
{
	(void)sig;
	netmoon_capture_breakloop(sig_cap);
}

static int raise_cb(const struct netmoon_packet *p, void *user)
{
	int *n = user;

	(*n)++;
	if (p->number == 3)
		raise(SIGUSR1);
	return 0;
}

static void test_breakloop_from_signal_handler(void **state)
{
	struct tbuf b = { 0 };
	struct sigaction sa = { 0 }, old;
	int n = 0;

	(void)state;
	five_packets(&b);
	sig_cap = open_mem_ok(&b);
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(netmoon_capture_loop(sig_cap, 0, raise_cb, &n), NETMOON_E_BREAK);
	assert_int_equal(n, 3);
	sigaction(SIGUSR1, &old, NULL);
	netmoon_capture_close(sig_cap);
	sig_cap = NULL;
	tb_free(&b);
}

/* The stats struct of a caller built against an older library: packets only. */
struct old_stats {
	size_t sz;
	uint64_t packets;
};

static void test_stats(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	const struct netmoon_packet *p;
	NETMOON_OPTS(netmoon_capture_stats, st);
	struct old_stats old = { .sz = sizeof(old) };
	struct {
		struct netmoon_capture_stats s;
		uint64_t future;
	} big;

	(void)state;
	five_packets(&b);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.packets, 0);
	assert_int_equal(st.file_offset, 24);
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.sz, sizeof(st));
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.bytes, 101 + 102);
	assert_int_equal(st.caplen_bytes, 21 + 22);
	assert_int_equal(st.file_offset, 24 + 16 + 21 + 16 + 22);
	while (netmoon_capture_next(cap, &p) == 1)
		;
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.packets, 5);
	assert_int_equal(st.bytes, 101 + 102 + 103 + 104 + 105);
	assert_int_equal(st.caplen_bytes, 21 + 22 + 23 + 24 + 25);
	assert_int_equal(st.file_offset, b.len);

	assert_int_equal(netmoon_capture_get_stats(cap, (struct netmoon_capture_stats *)&old), 0);
	assert_int_equal(old.sz, sizeof(old));
	assert_int_equal(old.packets, 5);
	memset(&big, 0xff, sizeof(big));
	big.s.sz = sizeof(big);
	assert_int_equal(netmoon_capture_get_stats(cap, &big.s), 0);
	assert_int_equal(big.s.packets, 5);
	assert_int_equal(big.future, 0);

	assert_int_equal(netmoon_capture_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(netmoon_capture_get_stats(cap, NULL), -EINVAL);
	st.sz = 0;
	assert_int_equal(netmoon_capture_get_stats(cap, &st), -EINVAL);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_errmsg(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap;
	const struct netmoon_packet *p;
	char path[PATH_MAX];

	(void)state;
	five_packets(&b);
	b.len -= 3; /* the fifth record: at 24 + 37 + 38 + 39 + 40 = 178 */
	cap = open_mem_ok(&b);
	assert_string_equal(netmoon_capture_errmsg(cap), "");
	while (netmoon_capture_next(cap, &p) == 1)
		assert_string_equal(netmoon_capture_errmsg(cap), "");
	assert_string_equal(netmoon_capture_errmsg(cap),
			    "<memory>: offset 178: truncated record: 25 captured bytes announced, 22 present");
	netmoon_capture_close(cap);

	write_temp(path, sizeof(path), &b);
	assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
	unlink(path);
	while (netmoon_capture_next(cap, &p) == 1)
		;
	expect_msg(netmoon_capture_errmsg(cap), path, "offset 178: truncated record");
	netmoon_capture_close(cap);
	assert_string_equal(netmoon_capture_errmsg(NULL), "");
	tb_free(&b);
}

static void test_open_errors(void **state)
{
	struct netmoon_capture *cap = NULL;
	char err[256];
	char small[13];

	(void)state;
	assert_int_equal(netmoon_capture_open_err(&cap, "/nonexistent/x.pcap", NULL, err,
						  sizeof(err)), -ENOENT);
	assert_null(cap);
	assert_string_equal(err, "/nonexistent/x.pcap: No such file or directory");
	/* A short buffer gets a cut, terminated message; NULL gets nothing. */
	assert_int_equal(netmoon_capture_open_err(&cap, "/nonexistent/x.pcap", NULL, small,
						  sizeof(small)), -ENOENT);
	assert_string_equal(small, "/nonexistent");
	assert_int_equal(netmoon_capture_open_err(&cap, "/nonexistent/x.pcap", NULL, NULL, 0),
			 -ENOENT);
	assert_int_equal(netmoon_capture_open_file(&cap, "/nonexistent/x.pcap", NULL), -ENOENT);
	/* A directory opens, but cannot be read. */
	assert_int_equal(netmoon_capture_open_err(&cap, "/", NULL, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: offset 0: read error: Is a directory");
	assert_null(cap);
}

static void test_null_arguments(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	char err[128];
	struct loop_ctx c = { 0 };

	(void)state;
	five_packets(&b);
	assert_int_equal(netmoon_capture_open_file(NULL, "x", NULL), -EINVAL);
	assert_int_equal(netmoon_capture_open_file(&cap, NULL, NULL), -EINVAL);
	assert_int_equal(netmoon_capture_open_err(&cap, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(netmoon_capture_open_mem(NULL, b.p, b.len, NULL), -EINVAL);
	assert_int_equal(netmoon_capture_open_mem(&cap, NULL, 10, NULL), -EINVAL);
	assert_int_equal(netmoon_capture_open_mem(&cap, NULL, 0, NULL), NETMOON_E_FORMAT);
	assert_null(cap);
	assert_int_equal(netmoon_capture_next(NULL, &p), -EINVAL);
	assert_int_equal(netmoon_capture_loop(NULL, 0, loop_cb, &c), -EINVAL);
	assert_int_equal(netmoon_capture_linktype(NULL), -EINVAL);
	netmoon_capture_breakloop(NULL);
	netmoon_capture_close(NULL);
	cap = open_mem_ok(&b);
	assert_int_equal(netmoon_capture_next(cap, NULL), -EINVAL);
	assert_int_equal(netmoon_capture_loop(cap, 0, NULL, NULL), -EINVAL);
	/* None of that consumed a packet. */
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(p->number, 1);
	assert_int_equal(p->ts_ns, 1000000000);
	netmoon_capture_close(cap);
	tb_free(&b);
}

static void test_options(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap = NULL;
	char err[128];
	struct {
		struct netmoon_capture_file_opts o;
		uint64_t future;
	} newer;
	struct {
		size_t sz;
		size_t buffer_size;
	} older = { sizeof(older), 64 };

	(void)state;
	five_packets(&b);
	memset(&newer, 0, sizeof(newer));
	newer.o.sz = sizeof(newer);
	newer.future = 1;
	assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len, &newer.o), -EINVAL);
	assert_int_equal(netmoon_capture_open_err(&cap, "/nonexistent", &newer.o, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown non-zero"));
	assert_null(cap);
	/* Unknown but zero is fine. */
	newer.future = 0;
	assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len, &newer.o), 0);
	netmoon_capture_close(cap);
	/* A caller that knows only sz and buffer_size. */
	cap = NULL;
	assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len,
						  (const struct netmoon_capture_file_opts *)&older), 0);
	netmoon_capture_close(cap);
	/* sz too small to be a struct at all. */
	newer.o.sz = 2;
	assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len, &newer.o), -EINVAL);
	tb_free(&b);
}

/*
 * Standard input from a pipe that @writer fills with @b (five_packets() less
 * a byte): 4 packets, then NETMOON_E_TRUNCATED.
 */
static void stdin_pipe_five(const struct tbuf *b, void *(*writer)(void *), bool nonblock)
{
	struct tsrc s = { .b = b, .rfd = -1 };
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	int pfd[2], n = 0;

	assert_int_equal(pipe(pfd), 0);
	s.wfd = pfd[1];
	assert_int_equal(dup2(pfd[0], STDIN_FILENO), STDIN_FILENO);
	close(pfd[0]);
	if (nonblock)
		assert_int_equal(fcntl(STDIN_FILENO, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(pthread_create(&s.th, NULL, writer, &s), 0);
	assert_int_equal(netmoon_capture_open_file(&cap, "-", NULL), 0);
	while (netmoon_capture_next(cap, &p) == 1)
		n++;
	assert_int_equal(n, 4);
	assert_int_equal(netmoon_capture_next(cap, &p), NETMOON_E_TRUNCATED);
	netmoon_capture_close(cap);
	pthread_join(s.th, NULL);
}

static void test_stdin(void **state)
{
	struct tbuf b = { 0 };
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	int saved = dup(STDIN_FILENO);
	char path[PATH_MAX];
	int fd, n = 0;

	(void)state;
	assert_true(saved >= 0);
	five_packets(&b);
	b.len -= 1;
	/* Standard input redirected from a file (mapped) ... */
	write_temp(path, sizeof(path), &b);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	assert_int_equal(netmoon_capture_open_file(&cap, "-", NULL), 0);
	while (netmoon_capture_next(cap, &p) == 1)
		n++;
	assert_int_equal(n, 4);
	expect_msg(netmoon_capture_errmsg(cap), "<stdin>", "offset 178: truncated record");
	netmoon_capture_close(cap);
	/* ... is not closed by the handle. */
	assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
	unlink(path);
	/* ... and from a pipe, and from a pipe left non-blocking and written a
	 * few bytes at a time (the reads that find it empty wait, as blocking
	 * ones would). */
	stdin_pipe_five(&b, pipe_writer, false);
	stdin_pipe_five(&b, trickle_writer, true);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	tb_free(&b);
}

/* Records far larger than the pipe buffer make it grow, up to the format's limit. */
static void test_pipe_big_records(void **state)
{
	struct tbuf b = { 0 };
	struct want w[3] = {
		{ 1000, 10, 10, 1, 0, 1 },
		{ 2000, 3000000, 3000000, 1, 0, 2 },
		{ 3000, 10, 10, 1, 0, 3 },
	};
	struct netmoon_capture *cap;
	struct tsrc s;

	(void)state;
	ng_shb(&b, false);
	ng_idb(&b, false, 1, 0, 9);
	ng_epb(&b, false, 0, 1000, 10, 10, 1);
	ng_epb(&b, false, 0, 2000, 3000000, 3000000, 2);
	ng_epb(&b, false, 0, 3000, 10, 10, 3);
	expect_all_sources(&b, w, 3, 0, NULL);
	/* The default 4 MiB pipe buffer and a record just under the 16 MiB block limit. */
	tb_free(&b);
	ng_shb(&b, true);
	ng_idb(&b, true, 1, 0, 9);
	ng_epb(&b, true, 0, 1000, (16u << 20) - 44, (16u << 20) - 44, 7);
	assert_int_equal(tsrc_open(&s, SRC_PIPE, &b, &cap, NULL, 0), 0);
	{
		struct want w2[1] = { { 1000, (16u << 20) - 44, (16u << 20) - 44, 1, 0, 7 } };

		expect_packets(cap, w2, 1, 0, "pipe, 16 MiB block");
	}
	netmoon_capture_close(cap);
	tsrc_close(&s);
	tb_free(&b);
}

/*
 * Records of every size from 0 to 200 KiB, 3 MiB and more in all, through
 * every source: with the read-ahead thread's 256 KiB chunks, records
 * straddle chunk boundaries both shorter than its 64 KiB headroom (moved in
 * front of the next chunk) and longer (joined in a separate buffer), and
 * some span more than one chunk.  The last record is cut short.
 */
static void test_records_across_chunks(void **state)
{
	enum { N = 240 };
	struct tbuf b = { 0 };
	struct want w[N];
	uint32_t x = 12345;

	(void)state;
	pcap_hdr(&b, false, true, 2, 4, 262144, 1);
	for (int i = 0; i < N; i++) {
		uint32_t len;

		x = x * 1103515245u + 12345u;
		switch (i % 4) {
		case 0: len = (x >> 8) % 2000; break;
		case 1: len = (x >> 8) % 70000; break;
		case 2: len = 60000 + (x >> 8) % 140000; break;
		default: len = (x >> 8) % 300; break;
		}
		w[i] = (struct want){ (int64_t)i * 1000000000 + i, len, len + 4, 1, 0, (uint32_t)i + 1 };
		pcap_rec(&b, false, (uint32_t)i, (uint32_t)i, len, len + 4, (uint32_t)i + 1);
	}
	assert_true(b.len > (3u << 20));
	/* A last record whose header promises more than the file holds. */
	pcap_rec(&b, false, N, 0, 5000, 5000, 99);
	b.len -= 100;
	expect_all_sources(&b, w, N, NETMOON_E_TRUNCATED, "offset ");
	tb_free(&b);
}

/*
 * A file that grows while it is read (tcpdump -w still writing): every way
 * of reading gives the packets present, then either the appended ones or a
 * clean end, never a crash or a half record; a record cut by the writer is
 * NETMOON_E_TRUNCATED or the end, as far as the file went when it was read.
 */
static void test_file_growing_while_read(void **state)
{
	static const struct { int mmap, thread; } modes[] = { { 0, 0 }, { 1, 0 }, { 0, 1 } };
	struct tbuf b = { 0 }, more = { 0 };
	char path[PATH_MAX];

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (int i = 0; i < 50; i++)
		pcap_rec(&b, false, (uint32_t)i, 0, 300, 300, (uint32_t)i);
	for (int i = 50; i < 100; i++)
		pcap_rec(&more, false, (uint32_t)i, 0, 300, 300, (uint32_t)i);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		NETMOON_OPTS(netmoon_capture_file_opts, opts, .use_mmap = modes[m].mmap,
			     .read_thread = modes[m].thread);
		struct netmoon_capture *cap = NULL;
		const struct netmoon_packet *p;
		FILE *f;
		int r, n = 0;

		write_temp(path, sizeof(path), &b);
		assert_int_equal(netmoon_capture_open_file(&cap, path, &opts), 0);
		for (; n < 20; n++)
			assert_int_equal(netmoon_capture_next(cap, &p), 1);
		/* The writer appends 50 whole records and half of one more. */
		f = fopen(path, "ab");
		assert_non_null(f);
		assert_int_equal(fwrite(more.p, 1, more.len, f), more.len);
		assert_int_equal(fwrite(more.p, 1, 100, f), 100);
		fclose(f);
		while ((r = netmoon_capture_next(cap, &p)) == 1) {
			assert_int_equal(p->caplen, 300);
			assert_true(pattern_ok(p->data, 300, (uint32_t)n));
			n++;
		}
		/* Either the file as opened (50) or as grown (100, then the cut record). */
		if (n == 50)
			assert_true(r == 0 || r == NETMOON_E_TRUNCATED);
		else if (n == 100)
			assert_int_equal(r, NETMOON_E_TRUNCATED);
		else
			fail_msg("mode %zu: %d packets, then %d", m, n, r);
		netmoon_capture_close(cap);
		unlink(path);
	}
	tb_free(&b);
	tb_free(&more);
}

/* Closing a handle whose read-ahead thread is waiting for a free chunk. */
static void test_read_thread_close_early(void **state)
{
	NETMOON_OPTS(netmoon_capture_file_opts, opts, .read_thread = 1, .buffer_size = 1);
	struct tbuf b = { 0 };
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	char path[PATH_MAX];

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (int i = 0; i < 400; i++)
		pcap_rec(&b, false, (uint32_t)i, 0, 9000, 9000, (uint32_t)i);
	write_temp(path, sizeof(path), &b);
	assert_int_equal(netmoon_capture_open_file(&cap, path, &opts), 0);
	unlink(path);
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(p->caplen, 9000);
	usleep(20000); /* the thread fills the ring and waits */
	netmoon_capture_close(cap);
	tb_free(&b);
}

/*
 * Many batches through the walker (4,096 packets in flight): every packet in
 * order, with sizes from 0 to 1,600 bytes, through every source; then the
 * same file cut in a record's middle.
 */
static void test_many_packets_all_sources(void **state)
{
	enum { N = 10007 };
	struct tbuf b = { 0 };
	struct want *w = calloc(N, sizeof(*w));
	uint32_t x = 12345;

	(void)state;
	assert_non_null(w);
	pcap_hdr(&b, false, true, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		w[i].caplen = (x >> 8) % 1601;
		w[i].wirelen = w[i].caplen + (i % 3);
		w[i].ts_ns = (int64_t)i * 1000000000 + i;
		w[i].linktype = 1;
		w[i].seed = i;
		pcap_rec(&b, false, i, i, w[i].caplen, w[i].wirelen, i);
	}
	expect_all_sources(&b, w, N, 0, NULL);
	b.len -= 1 + w[N - 1].caplen / 2;
	expect_all_sources(&b, w, N - 1, NETMOON_E_TRUNCATED, "offset ");
	tb_free(&b);
	free(w);
}

/*
 * netmoon_capture_get_stats() with the walker: the packets and bytes handed
 * out and the offset just past the last one, as when the caller's thread
 * walks the file itself (not how far the walker has read ahead).
 */
static void test_walk_stats(void **state)
{
	enum { N = 6000 };
	struct tbuf b = { 0 };
	char path[PATH_MAX];

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++)
		pcap_rec(&b, false, i, 0, 40 + i % 50, 1000, i);
	write_temp(path, sizeof(path), &b);
	for (int walk = 0; walk < 2; walk++) {
		NETMOON_OPTS(netmoon_capture_file_opts, opts, .use_mmap = 1, .read_thread = walk);
		NETMOON_OPTS(netmoon_capture_stats, st);
		struct netmoon_capture *cap = NULL;
		const struct netmoon_packet *p;
		uint64_t off = 24, caplen = 0;

		assert_int_equal(netmoon_capture_open_file(&cap, path, &opts), 0);
		assert_int_equal(netmoon_capture_linktype(cap), 1);
		for (uint32_t i = 0; i < N; i++) {
			assert_int_equal(netmoon_capture_next(cap, &p), 1);
			off += 16 + 40 + i % 50;
			caplen += 40 + i % 50;
			if (i == 0 || i == 4095 || i == 4096 || i == 5000) {
				assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
				assert_int_equal(st.packets, i + 1);
				assert_int_equal(st.bytes, (uint64_t)(i + 1) * 1000);
				assert_int_equal(st.caplen_bytes, caplen);
				assert_int_equal(st.file_offset, off);
			}
		}
		assert_int_equal(netmoon_capture_next(cap, &p), 0);
		assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
		assert_int_equal(st.file_offset, b.len);
		assert_int_equal(st.packets, N);
		netmoon_capture_close(cap);
	}
	unlink(path);
	tb_free(&b);
}

/*
 * Closing a walked capture at any point: before the first packet, while the
 * walker waits for room in a full ring, and after the end.
 */
static void test_walk_close_early(void **state)
{
	enum { N = 20000 };
	NETMOON_OPTS(netmoon_capture_file_opts, opts, .read_thread = 1);
	struct tbuf b = { 0 };

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++)
		pcap_rec(&b, false, i, 0, 60, 60, i);
	for (int when = 0; when < 3; when++) {
		struct netmoon_capture *cap = NULL;
		const struct netmoon_packet *p;

		assert_int_equal(netmoon_capture_open_mem(&cap, b.p, b.len, &opts), 0);
		if (when == 1) {
			assert_int_equal(netmoon_capture_next(cap, &p), 1);
			assert_true(pattern_ok(p->data, 60, 0));
			usleep(20000); /* the walker fills the ring and waits */
		} else if (when == 2) {
			for (uint32_t i = 0; i < N; i++)
				assert_int_equal(netmoon_capture_next(cap, &p), 1);
			assert_int_equal(netmoon_capture_next(cap, &p), 0);
		}
		netmoon_capture_close(cap);
	}
	tb_free(&b);
}

/*
 * Frame i of a mixed stream: Ethernet with IPv4 or IPv6 (every 3rd), TCP or
 * UDP (odd i), ports from i, a VLAN tag on every 5th, and every 7th cut
 * inside its transport header (a frame with a reason).  Returns its length.
 */
static size_t mixed_frame(uint8_t *f, uint32_t i)
{
	bool v6 = i % 3 == 0, udp = i % 2, vlan = i % 5 == 0;
	size_t ip = 14 + (vlan ? 4 : 0), l4 = ip + (v6 ? 40 : 20);
	size_t len = l4 + (udp ? 8 : 20) + 10 + i % 50;

	memset(f, 0, len);
	memset(f, 0x02, 12);
	f[5] = (uint8_t)i;
	if (vlan) {
		f[12] = 0x81;
		f[14] = 0x00;
		f[15] = (uint8_t)(i % 100);
	}
	f[ip - 2] = v6 ? 0x86 : 0x08;
	f[ip - 1] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[ip] = 0x60;
		f[ip + 4] = (uint8_t)((len - l4) >> 8);
		f[ip + 5] = (uint8_t)(len - l4);
		f[ip + 6] = udp ? 17 : 6;
		f[ip + 7] = 64;
		f[ip + 8] = 0x20;
		f[ip + 23] = (uint8_t)i;
		f[ip + 24] = 0x20;
		f[ip + 39] = 1;
	} else {
		f[ip] = 0x45;
		f[ip + 2] = (uint8_t)((len - ip) >> 8);
		f[ip + 3] = (uint8_t)(len - ip);
		f[ip + 8] = 64;
		f[ip + 9] = udp ? 17 : 6;
		f[ip + 12] = 10;
		f[ip + 15] = (uint8_t)i;
		f[ip + 16] = 10;
		f[ip + 19] = 1;
	}
	f[l4] = (uint8_t)(i >> 8);
	f[l4 + 1] = (uint8_t)i;
	f[l4 + 3] = 80;
	if (udp) {
		f[l4 + 4] = (uint8_t)((len - l4) >> 8);
		f[l4 + 5] = (uint8_t)(len - l4);
	} else {
		f[l4 + 12] = 0x50;
		f[l4 + 13] = i % 4 ? 0x10 : 0x02;
	}
	return i % 7 == 0 ? l4 + 4 : len;
}

/*
 * netmoon_capture_next_frame(): the frame of every packet equals what
 * netmoon_frame_parse() makes of it, through every source, with
 * netmoon_capture_next() calls mixed in (a walker starts decoding at the
 * first frame asked for, so both kinds of batches are crossed), and with a
 * filter set (the frame is the one of the packet returned).
 */
static void test_next_frame(void **state)
{
	enum { N = 9000 };
	struct tbuf b = { 0 };
	uint8_t fbuf[256];

	(void)state;
	pcap_hdr(&b, false, false, 2, 4, 65535, 1);
	for (uint32_t i = 0; i < N; i++) {
		size_t len = mixed_frame(fbuf, i);

		tb_u32(&b, i, false);
		tb_u32(&b, 0, false);
		tb_u32(&b, (uint32_t)len, false);
		tb_u32(&b, (uint32_t)len + (i % 7 == 0 ? 30 : 0), false);
		tb_put(&b, fbuf, len);
	}
	for (int k = 0; k < SRC_COUNT; k++) {
		for (int filtered = 0; filtered < 2; filtered++) {
			NETMOON_OPTS(netmoon_frame, want);
			struct netmoon_filter *flt = NULL;
			struct netmoon_capture *cap = NULL;
			const struct netmoon_packet *p;
			const struct netmoon_frame *fr;
			struct tsrc s;
			char err[256] = "";
			uint32_t got = 0, reasons = 0;
			int r;

			r = tsrc_open(&s, (enum src_kind)k, &b, &cap, err, sizeof(err));
			if (r)
				fail_msg("%s: open = %d (%s)", src_names[k], r, err);
			if (filtered) {
				assert_int_equal(netmoon_filter_compile(&flt, "udp", 1, 65535, NULL, 0), 0);
				assert_int_equal(netmoon_capture_set_filter(cap, flt), 0);
			}
			for (;;) {
				/* next() for the first 300 packets, then every 10th. */
				bool plain = got < 300 || got % 10 == 0;

				if (plain) {
					r = netmoon_capture_next(cap, &p);
					fr = NULL;
				} else {
					r = netmoon_capture_next_frame(cap, &p, &fr);
				}
				if (r != 1)
					break;
				got++;
				if (plain)
					continue;
				assert_non_null(fr);
				assert_int_equal(fr->sz, sizeof(struct netmoon_frame));
				netmoon_frame_parse(&want, p->linktype, p->data, p->caplen, p->wirelen);
				if (memcmp(&want, fr, sizeof(want)) != 0)
					fail_msg("%s%s: packet %" PRIu64 ": frame differs from netmoon_frame_parse()",
						 src_names[k], filtered ? " (filtered)" : "", p->number);
				reasons += fr->reason != NETMOON_FRAME_OK;
			}
			assert_int_equal(r, 0);
			/* Filtered: the UDP frames (odd i; the filter reads the IP
			 * protocol, so the cut ones too) but the VLAN-tagged ones (a
			 * file's "udp" does not look behind a tag, as tcpdump -r). */
			if (filtered) {
				uint32_t udp = 0;

				for (uint32_t i = 1; i < N; i += 2)
					udp += i % 5 != 0;
				assert_int_equal(got, udp);
			} else {
				assert_int_equal(got, N);
			}
			assert_true(filtered || reasons > 0);
			netmoon_capture_close(cap);
			netmoon_filter_free(flt);
			tsrc_close(&s);
		}
	}
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* The corpus: packet counts, time stamps and wire lengths against tshark.   */

static const char *corpus_dir(void)
{
	static const char *const dirs[] = { "../shared/corpus", "../../shared/corpus" };
	const char *env = getenv("NETMOON_CORPUS");
	char p[PATH_MAX];

	if (env && *env) {
		snprintf(p, sizeof(p), "%s/MANIFEST.tsv", env);
		return access(p, R_OK) == 0 ? env : NULL;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/MANIFEST.tsv", dirs[i]);
		if (access(p, R_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

/* Split a TSV line in place; returns the number of fields. */
static int split_tsv(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = 0;
	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = 0;
	}
	return n;
}

/*
 * tshark's frame.time_epoch as ns.  It prints "sec.frac" with 9 digits, but
 * an invalid fraction (>= 10^9, fuzzed files) as its own 10-digit integer:
 * sec * 10^9 + frac is then what the file says, and what we compute too.
 * A leading '-' is tshark's sign overflow of such a fraction: not compared.
 */
static bool tshark_ts(const char *s, int64_t *ns)
{
	const char *dot = strchr(s, '.');
	int64_t frac = 0;
	int digits = 0;

	if (!*s) {
		*ns = 0; /* no time stamp (Simple Packet Block) */
		return true;
	}
	if (*s == '-' || !dot)
		return false;
	for (const char *c = dot + 1; *c >= '0' && *c <= '9'; c++, digits++)
		frac = frac * 10 + (*c - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = strtoll(s, NULL, 10) * 1000000000 + frac;
	return true;
}

/*
 * tshark also shows pcapng Custom Blocks as frames; we deliver packets only.
 * Walk the blocks (type and length are all we need) and mark which of
 * tshark's frames are packets.  Returns the number of frames, or -1 when
 * this is not a pcapng file.
 */
static int pcapng_frame_kinds(const char *path, bool *is_packet, int max)
{
	FILE *f = fopen(path, "rb");
	uint8_t h[12];
	bool be = false;
	int n = 0;

	if (!f)
		return -1;
	if (fread(h, 1, 4, f) != 4 || memcmp(h, "\x0a\x0d\x0d\x0a", 4) != 0) {
		fclose(f);
		return -1;
	}
	rewind(f);
	while (fread(h, 1, 12, f) == 12) {
		uint32_t type, len;

		if (memcmp(h, "\x0a\x0d\x0d\x0a", 4) == 0)
			be = h[8] == 0x1a;
		type = be ? (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3]
			  : (uint32_t)h[3] << 24 | h[2] << 16 | h[1] << 8 | h[0];
		len = be ? (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7]
			 : (uint32_t)h[7] << 24 | h[6] << 16 | h[5] << 8 | h[4];
		if (n < max && (type == 2 || type == 3 || type == 6))
			is_packet[n++] = true;
		else if (n < max && (type == 0x00000bad || type == 0x40000bad))
			is_packet[n++] = false;
		if (len < 12 || fseek(f, (long)len - 12, SEEK_CUR) != 0)
			break;
	}
	fclose(f);
	return n;
}

struct corpus_result {
	int files_ok, files_rejected, ts_skipped;
	uint64_t packets;
};

static void corpus_one(const char *dir, char **m, struct corpus_result *res)
{
	char path[PATH_MAX], fpath[PATH_MAX + 32], err[512], line[4096];
	const char *file = m[0], *status = m[11];
	bool ok = strcmp(status, "ok") == 0;
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	static bool kinds[100000];
	int nkinds, frame = 0;
	uint64_t got = 0;
	FILE *fields;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(fpath, sizeof(fpath), "%s.tshark-fields.tsv", path);
	nkinds = pcapng_frame_kinds(path, kinds, (int)(sizeof(kinds) / sizeof(kinds[0])));
	fields = fopen(fpath, "r");
	if (!fields)
		fail_msg("%s: no oracle %s", file, fpath);

	r = netmoon_capture_open_err(&cap, path, NULL, err, sizeof(err));
	if (r) {
		if (ok)
			fail_msg("%s: open = %d (%s)", file, r, err);
		/* A clean refusal: a message naming the file, nothing read. */
		if (strncmp(err, path, strlen(path)) != 0)
			fail_msg("%s: message \"%s\" does not name the file", file, err);
		if (fgets(line, sizeof(line), fields))
			fail_msg("%s: refused, but tshark read a frame", file);
		fclose(fields);
		res->files_rejected++;
		return;
	}
	while ((r = netmoon_capture_next(cap, &p)) == 1) {
		char *f[21];
		int64_t ts;

		got++;
		/* The oracle line of this packet: skip tshark's custom-block frames. */
		do {
			if (!fgets(line, sizeof(line), fields))
				fail_msg("%s: packet %" PRIu64 " beyond tshark's frames", file, got);
			frame++;
		} while (nkinds >= 0 && frame <= nkinds && !kinds[frame - 1]);
		if (split_tsv(line, f, 21) < 3)
			fail_msg("%s: bad oracle line %d", file, frame);
		if (strtoull(f[2], NULL, 10) != p->wirelen)
			fail_msg("%s: packet %" PRIu64 ": wire length %u, tshark's frame.len %s",
				 file, got, p->wirelen, f[2]);
		if (tshark_ts(f[1], &ts)) {
			if (ts != p->ts_ns)
				fail_msg("%s: packet %" PRIu64 ": ts %" PRId64
					 " ns, tshark's frame.time_epoch %s", file, got, p->ts_ns, f[1]);
		} else {
			res->ts_skipped++;
		}
	}
	if (ok) {
		int64_t want = strtoll(m[5], NULL, 10);

		for (int i = 0; i < nkinds; i++)
			want -= !kinds[i];
		if (r != 0)
			fail_msg("%s: next() = %d after %" PRIu64 " packets (%s)", file, r, got,
				 netmoon_capture_errmsg(cap));
		if ((int64_t)got != want)
			fail_msg("%s: %" PRIu64 " packets, tshark %s (less %d custom blocks)", file,
				 got, m[5], nkinds > 0 ? (int)(strtoll(m[5], NULL, 10) - want) : 0);
		res->files_ok++;
	} else {
		/* Complete records, then an error naming the file; tshark read as many. */
		if (r >= 0)
			fail_msg("%s: tshark fails on it (%s), we ended cleanly", file, status);
		if (strncmp(netmoon_capture_errmsg(cap), path, strlen(path)) != 0)
			fail_msg("%s: message \"%s\" does not name the file", file,
				 netmoon_capture_errmsg(cap));
		if (fgets(line, sizeof(line), fields))
			fail_msg("%s: tshark read more frames than our %" PRIu64, file, got);
		res->files_rejected++;
	}
	res->packets += got;
	fclose(fields);
	netmoon_capture_close(cap);
}

static void test_corpus(void **state)
{
	const char *dir = corpus_dir();
	struct corpus_result res = { 0 };
	char path[PATH_MAX], line[8192];
	FILE *man;

	(void)state;
	if (!dir) {
		printf("corpus: not found (../shared/corpus or $NETMOON_CORPUS); skipped\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
	man = fopen(path, "r");
	assert_non_null(man);
	assert_non_null(fgets(line, sizeof(line), man)); /* header */
	while (fgets(line, sizeof(line), man)) {
		char *m[16];

		if (split_tsv(line, m, 16) < 12)
			continue;
		corpus_one(dir, m, &res);
	}
	fclose(man);
	printf("corpus: %d files agree with tshark, %d refused as tshark refuses them, "
	       "%" PRIu64 " packets, %d time stamps not comparable\n",
	       res.files_ok, res.files_rejected, res.packets, res.ts_skipped);
	assert_true(res.files_ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_byte_orders_and_resolutions),
		cmocka_unit_test(test_records_across_chunks),
		cmocka_unit_test(test_read_thread_close_early),
		cmocka_unit_test(test_many_packets_all_sources),
		cmocka_unit_test(test_walk_stats),
		cmocka_unit_test(test_walk_close_early),
		cmocka_unit_test(test_next_frame),
		cmocka_unit_test(test_file_growing_while_read),
		cmocka_unit_test(test_pcap_snaplen_smaller_than_packets),
		cmocka_unit_test(test_pcap_linktype_upper_bits),
		cmocka_unit_test(test_pcap_odd_lengths),
		cmocka_unit_test(test_pcap_record_too_long),
		cmocka_unit_test(test_pcap_old_versions_swap_lengths),
		cmocka_unit_test(test_pcap_bad_version),
		cmocka_unit_test(test_pcap_truncated_last_record),
		cmocka_unit_test(test_pcap_truncated_header),
		cmocka_unit_test(test_bad_magic_and_empty),
		cmocka_unit_test(test_pcapng_sections_change_byte_order),
		cmocka_unit_test(test_pcapng_several_interfaces),
		cmocka_unit_test(test_pcapng_tsresol),
		cmocka_unit_test(test_pcapng_tsoffset_and_2106),
		cmocka_unit_test(test_pcapng_epb_spb_pb),
		cmocka_unit_test(test_pcapng_unknown_blocks_skipped),
		cmocka_unit_test(test_pcapng_truncated_last_block),
		cmocka_unit_test(test_pcapng_bad_versions),
		cmocka_unit_test(test_pcapng_bad_byte_order_magic),
		cmocka_unit_test(test_pcapng_option_overrun),
		cmocka_unit_test(test_pcapng_bad_block_lengths),
		cmocka_unit_test(test_pcapng_interface_cap),
		cmocka_unit_test(test_pcapng_linktype_without_interfaces),
		cmocka_unit_test(test_loop_count),
		cmocka_unit_test(test_loop_stopped_by_callback),
		cmocka_unit_test(test_loop_returns_read_error),
		cmocka_unit_test(test_breakloop),
		cmocka_unit_test(test_breakloop_from_signal_handler),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_errmsg),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_pipe_big_records),
		cmocka_unit_test(test_corpus),
	};

	/* A reader that stops early closes the pipe under its writer. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
