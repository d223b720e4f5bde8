/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet writer: pcap and pcapng files read back through the library's
 * own reader, through tshark and tcpdump when they are installed, and byte
 * by byte against the file format specifications (block lengths at both
 * ends, the section header, interface descriptions, the statistics block).
 *
 * Packets are built here, with hand-picked lengths and time stamps; every
 * expected value (interface ids, truncated lengths, clamped time stamps,
 * block sizes) is worked out by hand from the formats and the API's
 * documented rules, never taken from the writer's output.
 *
 * Every file goes into one mkdtemp() directory under $TMPDIR (or /tmp) that
 * the group teardown removes, whatever the tests did.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>
#include <netmoon/writer.h>

/* ------------------------------------------------------------------------ */
/* Scratch directory and files                                               */

static char g_dir[PATH_MAX];

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	if (!t || !*t)
		t = "/tmp";
	snprintf(g_dir, sizeof(g_dir), "%s/netmoon-writer-XXXXXX", t);
	if (mkdtemp(g_dir))
		return 0;
	snprintf(g_dir, sizeof(g_dir), "/tmp/netmoon-writer-XXXXXX");
	if (mkdtemp(g_dir))
		return 0;
	g_dir[0] = '\0';
	return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_dir[0] && nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "test_writer: could not remove %s\n", g_dir);
	g_dir[0] = '\0';
	return 0;
}

/* snprintf that fails the test instead of truncating. */
static void xsnprintf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void xsnprintf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < n);
}

static void tpath(char *out, size_t n, const char *name)
{
	xsnprintf(out, n, "%s/%s", g_dir, name);
}

/* The whole file; caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, b + got, (size_t)st.st_size - got);

		assert_true(k > 0);
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	return b;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* pcapng time stamp: high word, then low word. */
static uint64_t rdts(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */

#define POOL_LEN (300000 + 512)

static uint8_t g_pool[POOL_LEN];

static void pool_init(void)
{
	uint32_t x = 0x9e3779b9u;

	if (g_pool[0] || g_pool[1])
		return;
	for (size_t i = 0; i < POOL_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		g_pool[i] = (uint8_t)x;
	}
}

/* Each packet's bytes start at its own place in the pool. */
static const uint8_t *pkt_bytes(size_t i)
{
	return g_pool + (i * 37) % 512;
}

struct spec {
	uint32_t caplen, wirelen;
	int64_t ts;
	uint32_t linktype, ifindex;
	uint32_t ng_ifid; /* the interface id a pcapng file must give it (by hand) */
};

#define LT_ETH 1u
#define LT_RAW 101u

/*
 * Sizes 0 to 70001 (not a multiple of 4, above 65535), time stamps that need
 * all nine digits, two link types and two ifindex values.  Interfaces in
 * order of first appearance: (1,0)=0, (1,7)=1, (101,0)=2, (101,7)=3.
 */
static const struct spec g_mixed[] = {
	{ 0, 0, 0, LT_ETH, 0, 0 },
	{ 1, 1, 1, LT_ETH, 0, 0 },
	{ 60, 1514, 1700000000123456789LL, LT_ETH, 7, 1 },
	{ 65535, 65535, 1700000000999999999LL, LT_RAW, 0, 2 },
	{ 65536, 65536, 1700000001000000000LL, LT_ETH, 0, 0 },
	{ 70001, 70001, 4294967295999999999LL, LT_RAW, 7, 3 },
	{ 3, 3, 1000000000LL, LT_ETH, 7, 1 },
	{ 1514, 1514, 1234567890000000001LL, LT_RAW, 0, 2 },
	{ 2, 64, 999999999LL, LT_ETH, 0, 0 },
};
#define N_MIXED (sizeof(g_mixed) / sizeof(g_mixed[0]))

static struct netmoon_packet mkpkt(const struct spec *s, size_t i, bool one_linktype)
{
	struct netmoon_packet p = {
		.sz = sizeof(p),
		.data = pkt_bytes(i),
		.caplen = s->caplen,
		.wirelen = s->wirelen,
		.ts_ns = s->ts,
		.linktype = one_linktype ? LT_ETH : s->linktype,
		.ifindex = s->ifindex,
	};

	return p;
}

/* Write @n packets; the file's writer options are @opts (may be NULL). */
static void write_specs(const char *path, const struct netmoon_writer_opts *opts,
			const struct spec *sp, size_t n, bool one_linktype,
			const uint64_t *stats /* received, dropped, or NULL */)
{
	struct netmoon_writer *w = NULL;
	char err[256] = "";
	int r;

	r = netmoon_writer_open_err(&w, path, opts, err, sizeof(err));
	if (r)
		fail_msg("open %s: %d %s", path, r, err);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		struct netmoon_packet p = mkpkt(&sp[i], i, one_linktype);

		r = netmoon_writer_write(w, &p);
		if (r)
			fail_msg("write %zu: %d %s", i, r, netmoon_writer_errmsg(w));
	}
	if (stats)
		assert_int_equal(netmoon_writer_set_stats(w, stats[0], stats[1]), 0);
	assert_string_equal(netmoon_writer_errmsg(w), "");
	r = netmoon_writer_close_err(w, err, sizeof(err));
	if (r)
		fail_msg("close %s: %d %s", path, r, err);
	assert_string_equal(err, "");
}

/* Read @path back with the library's reader and compare packet for packet. */
static void verify_specs(const char *path, const struct spec *sp, size_t n, bool pcapng,
			 bool one_linktype)
{
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	char err[256] = "";
	size_t i;
	int r;

	r = netmoon_capture_open_err(&cap, path, NULL, err, sizeof(err));
	if (r)
		fail_msg("read %s: %d %s", path, r, err);
	for (i = 0; (r = netmoon_capture_next(cap, &p)) == 1; i++) {
		const struct spec *s = &sp[i];

		if (i >= n)
			fail_msg("%s: more than %zu packets", path, n);
		assert_int_equal(p->number, i + 1);
		assert_int_equal(p->caplen, s->caplen);
		assert_int_equal(p->wirelen, s->wirelen);
		if (p->ts_ns != s->ts)
			fail_msg("%s: packet %zu: ts %" PRId64 ", wrote %" PRId64, path, i, p->ts_ns,
				 s->ts);
		assert_int_equal(p->linktype, one_linktype ? LT_ETH : s->linktype);
		assert_int_equal(p->ifindex, pcapng ? s->ng_ifid : 0);
		if (s->caplen)
			assert_memory_equal(p->data, pkt_bytes(i), s->caplen);
	}
	if (r != 0)
		fail_msg("%s: reader ended with %d: %s", path, r, netmoon_capture_errmsg(cap));
	assert_int_equal(i, n);
	netmoon_capture_close(cap);
}

/* ------------------------------------------------------------------------ */
/* pcapng structure                                                          */

struct ng_count {
	unsigned shb, idb, epb, isb, other;
	size_t isb_off; /* offset of the first ISB, or 0 */
};

/* Walk every block: lengths sane and equal at both ends; count the types. */
static void ng_walk(const uint8_t *b, size_t len, struct ng_count *c)
{
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	while (off < len) {
		uint32_t type, blen;

		if (len - off < 12)
			fail_msg("pcapng: %zu stray bytes at offset %zu", len - off, off);
		type = rd32(b + off);
		blen = rd32(b + off + 4);
		if (blen < 12 || blen % 4 || blen > len - off)
			fail_msg("pcapng: bad block length %u at offset %zu", blen, off);
		if (rd32(b + off + blen - 4) != blen)
			fail_msg("pcapng: block at offset %zu: length %u, trailing %u", off, blen,
				 rd32(b + off + blen - 4));
		switch (type) {
		case 0x0a0d0d0au:
			c->shb++;
			break;
		case 1:
			c->idb++;
			break;
		case 6:
			c->epb++;
			break;
		case 5:
			if (!c->isb++)
				c->isb_off = off;
			break;
		default:
			c->other++;
			break;
		}
		off += blen;
	}
}

/* The SHB as the specification and the API say it must be. */
static void check_shb(const uint8_t *b, size_t len)
{
	static const char appl[] = "libnetmoon " NETMOON_VERSION_STRING;
	uint32_t blen;

	assert_true(len >= 28);
	assert_int_equal(rd32(b), 0x0a0d0d0au);
	blen = rd32(b + 4);
	assert_int_equal(rd32(b + 8), 0x1a2b3c4du);
	assert_int_equal(rd16(b + 12), 1);
	assert_int_equal(rd16(b + 14), 0);
	assert_int_equal(rd64(b + 16), UINT64_MAX);
	/* shb_userappl (4), then opt_endofopt. */
	assert_int_equal(rd16(b + 24), 4);
	assert_int_equal(rd16(b + 26), strlen(appl));
	assert_memory_equal(b + 28, appl, strlen(appl));
	assert_int_equal(blen, 24 + 4 + ((strlen(appl) + 3) & ~(size_t)3) + 4 + 4);
	assert_int_equal(rd32(b + blen - 8), 0); /* opt_endofopt */
}

/* The IDB at @off: link type, snaplen, if_tsresol 9. */
static void check_idb(const uint8_t *b, size_t off, uint32_t linktype, uint32_t snaplen)
{
	const uint8_t *p = b + off;

	assert_int_equal(rd32(p), 1);
	assert_int_equal(rd32(p + 4), 32);
	assert_int_equal(rd16(p + 8), linktype);
	assert_int_equal(rd16(p + 10), 0);
	assert_int_equal(rd32(p + 12), snaplen);
	assert_int_equal(rd16(p + 16), 9); /* if_tsresol */
	assert_int_equal(rd16(p + 18), 1);
	assert_int_equal(p[20], 9);
	assert_int_equal(rd32(p + 24), 0); /* opt_endofopt */
}

struct isb_vals {
	uint32_t ifid;
	uint64_t ts;
	bool has_start, has_end, has_recv, has_drop;
	uint64_t start, end, recv, drop;
};

static void parse_isb(const uint8_t *b, size_t off, struct isb_vals *v)
{
	const uint8_t *p = b + off;
	uint32_t blen = rd32(p + 4);
	size_t o = 20;

	memset(v, 0, sizeof(*v));
	assert_int_equal(rd32(p), 5);
	v->ifid = rd32(p + 8);
	v->ts = rdts(p + 12);
	for (;;) {
		uint16_t code, olen;

		assert_true(o + 4 <= blen - 4);
		code = rd16(p + o);
		olen = rd16(p + o + 2);
		if (code == 0) {
			assert_int_equal(olen, 0);
			assert_int_equal(o + 4, blen - 4); /* nothing after opt_endofopt */
			break;
		}
		assert_int_equal(olen, 8);
		switch (code) {
		case 2:
			v->has_start = true;
			v->start = rdts(p + o + 4);
			break;
		case 3:
			v->has_end = true;
			v->end = rdts(p + o + 4);
			break;
		case 4:
			v->has_recv = true;
			v->recv = rd64(p + o + 4);
			break;
		case 5:
			v->has_drop = true;
			v->drop = rd64(p + o + 4);
			break;
		default:
			fail_msg("unexpected ISB option %u", code);
		}
		o += 4 + 8;
	}
}

/* ------------------------------------------------------------------------ */
/* 1. Round trip through the library's reader                                */

static void test_roundtrip_pcap(void **state)
{
	static const size_t bufs[] = { 0, 7, 4096, 70000 };
	char path[PATH_MAX];
	size_t len, want = 24;
	uint8_t *b;

	(void)state;
	pool_init();
	for (size_t i = 0; i < N_MIXED; i++)
		want += 16 + g_mixed[i].caplen;
	for (size_t k = 0; k < sizeof(bufs) / sizeof(bufs[0]); k++) {
		NETMOON_OPTS(netmoon_writer_opts, o, .buffer_size = bufs[k]);

		tpath(path, sizeof(path), "rt.pcap");
		write_specs(path, &o, g_mixed, N_MIXED, true, NULL);
		verify_specs(path, g_mixed, N_MIXED, false, true);

		b = slurp(path, &len);
		assert_int_equal(len, want);
		assert_int_equal(rd32(b), 0xa1b23c4du);
		assert_int_equal(rd16(b + 4), 2);
		assert_int_equal(rd16(b + 6), 4);
		assert_int_equal(rd32(b + 8), 0);
		assert_int_equal(rd32(b + 12), 0);
		assert_int_equal(rd32(b + 16), 262144);
		assert_int_equal(rd32(b + 20), LT_ETH);
		/* Third record: 1700000000 s, 123456789 ns, 60 of 1514 bytes. */
		assert_int_equal(rd32(b + 24 + 16 + 0 + 16 + 1), 1700000000u);
		assert_int_equal(rd32(b + 24 + 16 + 0 + 16 + 1 + 4), 123456789u);
		assert_int_equal(rd32(b + 24 + 16 + 0 + 16 + 1 + 8), 60);
		assert_int_equal(rd32(b + 24 + 16 + 0 + 16 + 1 + 12), 1514);
		free(b);
	}
}

static void test_roundtrip_pcapng(void **state)
{
	static const size_t bufs[] = { 0, 7, 4096, 70000 };
	static const uint32_t if_lt[4] = { LT_ETH, LT_ETH, LT_RAW, LT_RAW };
	char path[PATH_MAX];
	struct ng_count c;
	size_t len, off;
	uint8_t *b;
	unsigned idb = 0, epb = 0;

	(void)state;
	pool_init();
	for (size_t k = 0; k < sizeof(bufs) / sizeof(bufs[0]); k++) {
		NETMOON_OPTS(netmoon_writer_opts, o, .buffer_size = bufs[k]);

		/* AUTO: the name decides. */
		tpath(path, sizeof(path), "rt.pcapng");
		write_specs(path, &o, g_mixed, N_MIXED, false, NULL);
		verify_specs(path, g_mixed, N_MIXED, true, false);

		b = slurp(path, &len);
		ng_walk(b, len, &c);
		assert_int_equal(c.shb, 1);
		assert_int_equal(c.idb, 4);
		assert_int_equal(c.epb, N_MIXED);
		assert_int_equal(c.isb, 0); /* no set_stats: no ISB */
		assert_int_equal(c.other, 0);
		check_shb(b, len);
		/* Each IDB right before the first EPB that uses it; EPBs exact. */
		idb = epb = 0;
		for (off = rd32(b + 4); off < len; off += rd32(b + off + 4)) {
			const uint8_t *p = b + off;

			if (rd32(p) == 1) {
				check_idb(b, off, if_lt[idb], 262144);
				idb++;
				continue;
			}
			assert_int_equal(rd32(p), 6);
			assert_int_equal(rd32(p + 4), 32 + ((g_mixed[epb].caplen + 3) & ~3u));
			assert_int_equal(rd32(p + 8), g_mixed[epb].ng_ifid);
			assert_true(g_mixed[epb].ng_ifid < idb);
			assert_int_equal(rdts(p + 12), (uint64_t)g_mixed[epb].ts);
			assert_int_equal(rd32(p + 20), g_mixed[epb].caplen);
			assert_int_equal(rd32(p + 24), g_mixed[epb].wirelen);
			for (uint32_t z = 28 + g_mixed[epb].caplen; z < rd32(p + 4) - 4; z++)
				assert_int_equal(p[z], 0); /* padding */
			epb++;
		}
		assert_int_equal(idb, 4);
		assert_int_equal(epb, N_MIXED);
		free(b);
	}
}

/* Formats chosen by the name, and forced against it. */
static void test_format_choice(void **state)
{
	static const struct {
		const char *name;
		int format;
		bool ng;
	} cases[] = {
		{ "a.pcapng", NETMOON_WRITER_AUTO, true },
		{ "b.PcapNG", NETMOON_WRITER_AUTO, true },
		{ "c.pcap", NETMOON_WRITER_AUTO, false },
		{ "pcapng", NETMOON_WRITER_AUTO, false },
		{ "d.pcapng.gz", NETMOON_WRITER_AUTO, false },
		{ "e.pcap", NETMOON_WRITER_PCAPNG, true },
		{ "f.pcapng", NETMOON_WRITER_PCAP, false },
	};
	char path[PATH_MAX];
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		NETMOON_OPTS(netmoon_writer_opts, o, .format = cases[i].format);

		tpath(path, sizeof(path), cases[i].name);
		write_specs(path, &o, g_mixed, 3, true, NULL);
		verify_specs(path, g_mixed, 3, cases[i].ng, true);
		b = slurp(path, &len);
		assert_int_equal(rd32(b), cases[i].ng ? 0x0a0d0d0au : 0xa1b23c4du);
		free(b);
	}
}

/* ------------------------------------------------------------------------ */
/* ISB                                                                        */

static void test_pcapng_stats(void **state)
{
	/* Time stamps out of order: start and end are the earliest and latest. */
	static const struct spec sp[] = {
		{ 100, 100, 1700000005000000007LL, LT_ETH, 0, 0 },
		{ 40, 40, 1700000001000000003LL, LT_ETH, 0, 0 },
		{ 80, 90, 1700000009999999999LL, LT_RAW, 2, 1 },
		{ 20, 20, 1700000002000000000LL, LT_ETH, 0, 0 },
	};
	const uint64_t stats[2] = { 1000, 17 };
	NETMOON_OPTS(netmoon_writer_opts, o, .linktype = 113);
	char path[PATH_MAX];
	struct ng_count c;
	struct isb_vals v;
	struct netmoon_capture *cap;
	const struct netmoon_packet *p;
	struct netmoon_writer *w;
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	tpath(path, sizeof(path), "stats.pcapng");
	write_specs(path, &o, sp, 4, false, stats);
	verify_specs(path, sp, 4, true, false); /* the ISB is skipped by readers */
	b = slurp(path, &len);
	ng_walk(b, len, &c);
	assert_int_equal(c.idb, 2);
	assert_int_equal(c.epb, 4);
	assert_int_equal(c.isb, 1);
	/* The ISB comes last. */
	assert_int_equal(c.isb_off + rd32(b + c.isb_off + 4), len);
	parse_isb(b, c.isb_off, &v);
	assert_int_equal(v.ifid, 0);
	assert_true(v.has_start && v.has_end && v.has_recv && v.has_drop);
	assert_int_equal(v.start, 1700000001000000003ULL);
	assert_int_equal(v.end, 1700000009999999999ULL);
	assert_int_equal(v.ts, 1700000009999999999ULL);
	assert_int_equal(v.recv, 1000);
	assert_int_equal(v.drop, 17);
	free(b);

	/* The last call wins. */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	{
		struct netmoon_packet pk = mkpkt(&sp[0], 0, false);

		assert_int_equal(netmoon_writer_write(w, &pk), 0);
	}
	assert_int_equal(netmoon_writer_set_stats(w, 5, 4), 0);
	assert_int_equal(netmoon_writer_set_stats(w, UINT64_MAX, 123456789012345ULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	ng_walk(b, len, &c);
	assert_int_equal(c.isb, 1);
	parse_isb(b, c.isb_off, &v);
	assert_int_equal(v.recv, UINT64_MAX);
	assert_int_equal(v.drop, 123456789012345ULL);
	assert_int_equal(v.start, 1700000005000000007ULL);
	assert_int_equal(v.end, 1700000005000000007ULL);
	free(b);

	/* No packet: an IDB of opts.linktype first, then an ISB without times. */
	assert_int_equal(netmoon_writer_open(&w, path, &o), 0);
	assert_int_equal(netmoon_writer_set_stats(w, 3, 2), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	ng_walk(b, len, &c);
	assert_int_equal(c.shb, 1);
	assert_int_equal(c.idb, 1);
	assert_int_equal(c.epb, 0);
	assert_int_equal(c.isb, 1);
	check_idb(b, rd32(b + 4), 113, 262144);
	parse_isb(b, c.isb_off, &v);
	assert_int_equal(v.ifid, 0);
	assert_false(v.has_start);
	assert_false(v.has_end);
	assert_int_equal(v.recv, 3);
	assert_int_equal(v.drop, 2);
	assert_int_equal(len, (size_t)rd32(b + 4) + 32 + (20 + 2 * 12 + 4 + 4));
	free(b);
	assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
	assert_int_equal(netmoon_capture_linktype(cap), 113);
	assert_int_equal(netmoon_capture_next(cap, &p), 0);
	netmoon_capture_close(cap);

	/* ... Ethernet when opts.linktype is 0. */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_set_stats(w, 0, 0), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	check_idb(b, rd32(b + 4), LT_ETH, 262144);
	free(b);

	/* No set_stats, no packet: the SHB alone. */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	ng_walk(b, len, &c);
	assert_int_equal(c.shb, 1);
	assert_int_equal(c.idb + c.epb + c.isb + c.other, 0);
	check_shb(b, len);
	free(b);

	/* pcap: accepted and ignored. */
	tpath(path, sizeof(path), "stats.pcap");
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	{
		struct netmoon_packet pk = mkpkt(&sp[0], 0, false);

		assert_int_equal(netmoon_writer_write(w, &pk), 0);
	}
	assert_int_equal(netmoon_writer_set_stats(w, 10, 1), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	assert_int_equal(file_size(path), 24 + 16 + 100);
}

/* ------------------------------------------------------------------------ */
/* 2. Snaplen                                                                */

static void test_snaplen(void **state)
{
	static const struct spec sp[] = {
		{ 1514, 1514, 10, LT_ETH, 0, 0 },
		{ 100, 100, 20, LT_ETH, 0, 0 },
		{ 101, 9000, 30, LT_ETH, 0, 0 },
		{ 50, 60, 40, LT_ETH, 0, 0 },
		{ 0, 1500, 50, LT_ETH, 0, 0 },
	};
	/* What must come back: cut to 100, wire lengths kept. */
	static const struct spec cut[] = {
		{ 100, 1514, 10, LT_ETH, 0, 0 },
		{ 100, 100, 20, LT_ETH, 0, 0 },
		{ 100, 9000, 30, LT_ETH, 0, 0 },
		{ 50, 60, 40, LT_ETH, 0, 0 },
		{ 0, 1500, 50, LT_ETH, 0, 0 },
	};
	char path[PATH_MAX];
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	for (int ng = 0; ng < 2; ng++) {
		NETMOON_OPTS(netmoon_writer_opts, o, .snaplen = 100,
			     .format = ng ? NETMOON_WRITER_PCAPNG : NETMOON_WRITER_PCAP);

		tpath(path, sizeof(path), ng ? "snap.pcapng" : "snap.pcap");
		write_specs(path, &o, sp, 5, true, NULL);
		verify_specs(path, cut, 5, ng, true);
		b = slurp(path, &len);
		if (ng) {
			check_idb(b, rd32(b + 4), LT_ETH, 100);
			assert_int_equal(len, rd32(b + 4) + 32 + (32 + 100) * 3 + (32 + 52) + 32);
		} else {
			assert_int_equal(rd32(b + 16), 100);
			assert_int_equal(len, 24 + (16 + 100) * 3 + 16 + 50 + 16);
		}
		free(b);
	}
}

/* Above the default snaplen of 262144: cut to it. */
static void test_default_snaplen(void **state)
{
	static const struct spec sp[] = { { 300000, 300000, 77, LT_ETH, 0, 0 } };
	static const struct spec cut[] = { { 262144, 300000, 77, LT_ETH, 0, 0 } };
	char path[PATH_MAX];

	(void)state;
	pool_init();
	tpath(path, sizeof(path), "big.pcap");
	write_specs(path, NULL, sp, 1, true, NULL);
	verify_specs(path, cut, 1, false, true);
	assert_int_equal(file_size(path), 24 + 16 + 262144);
	tpath(path, sizeof(path), "big.pcapng");
	write_specs(path, NULL, sp, 1, true, NULL);
	verify_specs(path, cut, 1, true, true);
}

/* ------------------------------------------------------------------------ */
/* 3. Link types                                                             */

static void test_pcap_linktype(void **state)
{
	static const struct spec sp[] = {
		{ 60, 60, 1000, LT_ETH, 0, 0 },
		{ 40, 40, 2000, LT_RAW, 0, 0 },
		{ 70, 70, 3000, LT_ETH, 3, 0 },
	};
	static const struct spec kept[] = {
		{ 60, 60, 1000, LT_ETH, 0, 0 },
		{ 70, 70, 3000, LT_ETH, 0, 0 },
	};
	char path[PATH_MAX], copy[PATH_MAX];
	struct netmoon_writer *w;
	struct netmoon_packet p;
	struct netmoon_capture *cap;
	const struct netmoon_packet *rp;
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	tpath(path, sizeof(path), "lt.pcap");

	/* Link type from the first packet; the second link type is refused. */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	p = mkpkt(&sp[0], 0, false);
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p = mkpkt(&sp[1], 1, false);
	assert_int_equal(netmoon_writer_write(w, &p), NETMOON_E_LINKTYPE);
	assert_non_null(strstr(netmoon_writer_errmsg(w), path));
	assert_non_null(strstr(netmoon_writer_errmsg(w), "link type 101"));
	/* Still usable; refusals are not errors of the file. */
	p = mkpkt(&sp[2], 0, false); /* pkt_bytes(0): compared as kept[1] below */
	p.data = pkt_bytes(1);
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	verify_specs(path, kept, 2, false, false);
	assert_int_equal(file_size(path), 24 + 16 + 60 + 16 + 70);

	/* Link type given: the first packet already has to match. */
	{
		NETMOON_OPTS(netmoon_writer_opts, o, .linktype = LT_RAW);

		tpath(copy, sizeof(copy), "lt2.pcap");
		assert_int_equal(netmoon_writer_open(&w, copy, &o), 0);
		p = mkpkt(&sp[0], 0, false);
		assert_int_equal(netmoon_writer_write(w, &p), NETMOON_E_LINKTYPE);
		p = mkpkt(&sp[1], 0, false);
		assert_int_equal(netmoon_writer_write(w, &p), 0);
		assert_int_equal(netmoon_writer_close(w), 0);
		assert_int_equal(netmoon_capture_open_file(&cap, copy, NULL), 0);
		assert_int_equal(netmoon_capture_linktype(cap), LT_RAW);
		assert_int_equal(netmoon_capture_next(cap, &rp), 1);
		assert_int_equal(rp->caplen, 40);
		assert_int_equal(netmoon_capture_next(cap, &rp), 0);
		netmoon_capture_close(cap);
	}

	/* Lazy header: nothing to flush before the first packet... */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_flush(w), 0);
	assert_int_equal(file_size(path), 0);
	p = mkpkt(&sp[0], 0, false);
	p.linktype = 113;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_flush(w), 0);
	assert_int_equal(file_size(path), 24 + 16 + 60);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	assert_int_equal(rd32(b + 20), 113);
	free(b);

	/* ...and a file closed without packets: Ethernet, or opts.linktype. */
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	assert_int_equal(len, 24);
	assert_int_equal(rd32(b), 0xa1b23c4du);
	assert_int_equal(rd32(b + 20), LT_ETH);
	free(b);
	{
		NETMOON_OPTS(netmoon_writer_opts, o, .linktype = 12);

		assert_int_equal(netmoon_writer_open(&w, path, &o), 0);
		assert_int_equal(netmoon_writer_close(w), 0);
		b = slurp(path, &len);
		assert_int_equal(len, 24);
		assert_int_equal(rd32(b + 20), 12);
		free(b);
	}

	/* Link types above 16 bits fit neither format. */
	for (int ng = 0; ng < 2; ng++) {
		NETMOON_OPTS(netmoon_writer_opts, o,
			     .format = ng ? NETMOON_WRITER_PCAPNG : NETMOON_WRITER_PCAP);

		assert_int_equal(netmoon_writer_open(&w, path, &o), 0);
		p = mkpkt(&sp[0], 0, false);
		p.linktype = 65536;
		assert_int_equal(netmoon_writer_write(w, &p), NETMOON_E_LINKTYPE);
		p.linktype = 65535;
		assert_int_equal(netmoon_writer_write(w, &p), 0);
		assert_int_equal(netmoon_writer_close(w), 0);
		assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
		assert_int_equal(netmoon_capture_next(cap, &rp), 1);
		assert_int_equal(rp->linktype, 65535);
		assert_int_equal(netmoon_capture_next(cap, &rp), 0);
		netmoon_capture_close(cap);
	}
}

/* pcapng: 256 interfaces, then -E2BIG, and the writer goes on. */
static void test_pcapng_iface_cap(void **state)
{
	char path[PATH_MAX];
	struct netmoon_writer *w;
	struct netmoon_capture *cap;
	const struct netmoon_packet *rp;
	uint8_t byte = 0xab;
	struct netmoon_packet p = { .sz = sizeof(p), .data = &byte, .caplen = 1, .wirelen = 1 };
	struct ng_count c;
	size_t len;
	uint8_t *b;
	uint32_t i;

	(void)state;
	tpath(path, sizeof(path), "ifaces.pcapng");
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	/* 128 ifindex values on two link types: 256 pairs. */
	for (i = 0; i < 256; i++) {
		p.linktype = i % 2 ? LT_RAW : LT_ETH;
		p.ifindex = i / 2;
		p.ts_ns = i;
		assert_int_equal(netmoon_writer_write(w, &p), 0);
	}
	p.linktype = LT_ETH;
	p.ifindex = 128;
	assert_int_equal(netmoon_writer_write(w, &p), -E2BIG);
	assert_non_null(strstr(netmoon_writer_errmsg(w), "256"));
	/* An existing pair still works: (101, 5) is interface 11. */
	p.linktype = LT_RAW;
	p.ifindex = 5;
	p.ts_ns = 999;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_close(w), 0);

	b = slurp(path, &len);
	ng_walk(b, len, &c);
	assert_int_equal(c.idb, 256);
	assert_int_equal(c.epb, 257);
	free(b);
	assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
	for (i = 0; i < 256; i++) {
		assert_int_equal(netmoon_capture_next(cap, &rp), 1);
		assert_int_equal(rp->ifindex, i);
		assert_int_equal(rp->linktype, i % 2 ? LT_RAW : LT_ETH);
		assert_int_equal(rp->ts_ns, i);
	}
	assert_int_equal(netmoon_capture_next(cap, &rp), 1);
	assert_int_equal(rp->ifindex, 11);
	assert_int_equal(rp->ts_ns, 999);
	assert_int_equal(netmoon_capture_next(cap, &rp), 0);
	netmoon_capture_close(cap);
}

/* ------------------------------------------------------------------------ */
/* 4. tshark and tcpdump                                                     */

static bool have_tool(const char *name)
{
	char cmd[128];

	xsnprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* "SEC.NNNNNNNNN" (exactly nine digits) to ns; false when not that shape. */
static bool parse_ts(const char *s, int64_t *ns)
{
	char *end;
	unsigned long long sec, frac;
	const char *dot;

	if (*s < '0' || *s > '9')
		return false;
	sec = strtoull(s, &end, 10);
	if (*end != '.')
		return false;
	dot = end;
	frac = strtoull(dot + 1, &end, 10);
	if (end - dot - 1 != 9)
		return false;
	*ns = (int64_t)(sec * 1000000000ULL + frac);
	return true;
}

static FILE *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");

	if (!f)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	return f;
}

static void end_run(FILE *f, const char *cmd, const char *errfile)
{
	int st = pclose(f);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char line[512] = "";
		FILE *e = fopen(errfile, "r");

		if (e) {
			if (!fgets(line, sizeof(line), e))
				line[0] = '\0';
			fclose(e);
		}
		fail_msg("%s: exit status 0x%x; stderr: %s", cmd, (unsigned)st, line);
	}
}

static void tshark_check(const char *path, const struct spec *sp, size_t n, bool pcapng)
{
	char cmd[PATH_MAX * 2 + 200], errf[PATH_MAX], line[512];
	size_t i = 0;
	FILE *f;

	xsnprintf(errf, sizeof(errf), "%s.tshark.err", path);
	xsnprintf(cmd, sizeof(cmd),
		 "tshark -n -r '%s' -T fields -e frame.time_epoch -e frame.len -e frame.cap_len"
		 " -e frame.interface_id 2>'%s'", path, errf);
	f = run(cmd);
	while (fgets(line, sizeof(line), f)) {
		char *tok[4], *save = NULL, *s = line;
		int64_t ts;
		int k;

		line[strcspn(line, "\r\n")] = '\0';
		for (k = 0; k < 4; k++, s = NULL) {
			tok[k] = strtok_r(s, "\t", &save);
			if (!tok[k])
				break;
		}
		if (i >= n)
			fail_msg("%s: tshark shows more than %zu frames", path, n);
		if (k < 3)
			fail_msg("%s: tshark line %zu: '%s'", path, i + 1, line);
		if (!parse_ts(tok[0], &ts) || ts != sp[i].ts)
			fail_msg("%s: frame %zu: tshark time %s, wrote %" PRId64, path, i + 1, tok[0],
				 sp[i].ts);
		if (strtoul(tok[1], NULL, 10) != sp[i].wirelen ||
		    strtoul(tok[2], NULL, 10) != sp[i].caplen)
			fail_msg("%s: frame %zu: tshark len %s cap_len %s, wrote %u %u", path, i + 1,
				 tok[1], tok[2], sp[i].wirelen, sp[i].caplen);
		if (pcapng && (k < 4 || strtoul(tok[3], NULL, 10) != sp[i].ng_ifid))
			fail_msg("%s: frame %zu: tshark interface %s, expected %u", path, i + 1,
				 k < 4 ? "(none)" : tok[3], sp[i].ng_ifid);
		i++;
	}
	end_run(f, cmd, errf);
	assert_int_equal(i, n);
}

static void tcpdump_check(const char *path, const struct spec *sp, size_t n)
{
	char cmd[PATH_MAX * 2 + 200], errf[PATH_MAX], line[4096];
	size_t i = 0;
	FILE *f;

	xsnprintf(errf, sizeof(errf), "%s.tcpdump.err", path);
	xsnprintf(cmd, sizeof(cmd), "tcpdump -r '%s' -nn --time-stamp-precision=nano -tt 2>'%s'",
		 path, errf);
	f = run(cmd);
	while (fgets(line, sizeof(line), f)) {
		int64_t ts;

		/* Hex dumps of unknown frames are continuation lines, indented. */
		if (line[0] == '\t' || line[0] == ' ' || line[0] == '\n')
			continue;
		if (!parse_ts(line, &ts))
			fail_msg("%s: tcpdump line without a time stamp: %s", path, line);
		if (i >= n)
			fail_msg("%s: tcpdump shows more than %zu packets", path, n);
		if (ts != sp[i].ts)
			fail_msg("%s: packet %zu: tcpdump time %.30s, wrote %" PRId64, path, i + 1,
				 line, sp[i].ts);
		i++;
	}
	end_run(f, cmd, errf);
	assert_int_equal(i, n);
}

/*
 * tcpdump (libpcap) reads pcapng files of one link type only, and prints no
 * time stamp for a packet of 0 captured bytes or one it cannot convert
 * (after 2038 here): one link type, two ifindex values, 1 byte and up.
 */
static const struct spec g_tcpdump[] = {
	{ 60, 60, 1700000000123456789LL, LT_ETH, 0, 0 },
	{ 14, 14, 1700000000123456790LL, LT_ETH, 0, 0 },
	{ 1514, 1514, 1000000001LL, LT_ETH, 3, 1 },
	{ 70001, 70001, 1600000000000000000LL, LT_ETH, 3, 1 },
	{ 1, 60, 2000000000999999999LL, LT_ETH, 0, 0 },
	{ 100, 9000, 5, LT_ETH, 3, 1 },
};
#define N_TCPDUMP (sizeof(g_tcpdump) / sizeof(g_tcpdump[0]))

static void test_external_tools(void **state)
{
	bool tshark = have_tool("tshark"), tcpdump = have_tool("tcpdump");
	const uint64_t stats[2] = { 4242, 99 };
	char path[PATH_MAX];
	struct ng_count c;
	struct isb_vals v;
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	if (!tshark)
		printf("test_writer: tshark not in PATH: tshark round trip skipped\n");
	if (!tcpdump)
		printf("test_writer: tcpdump not in PATH: tcpdump round trip skipped\n");
	if (!tshark && !tcpdump)
		skip();

	if (tshark) {
		tpath(path, sizeof(path), "tools.pcap");
		write_specs(path, NULL, g_mixed, N_MIXED, true, NULL);
		tshark_check(path, g_mixed, N_MIXED, false);

		/* Two link types, two ifindex values, and the ISB. */
		tpath(path, sizeof(path), "tools.pcapng");
		write_specs(path, NULL, g_mixed, N_MIXED, false, stats);
		tshark_check(path, g_mixed, N_MIXED, true);
		b = slurp(path, &len);
		ng_walk(b, len, &c);
		assert_int_equal(c.isb, 1);
		parse_isb(b, c.isb_off, &v);
		assert_int_equal(v.ifid, 0);
		assert_true(v.has_start && v.has_end && v.has_recv && v.has_drop);
		assert_int_equal(v.recv, 4242);
		assert_int_equal(v.drop, 99);
		assert_int_equal(v.start, 0);
		assert_int_equal(v.end, 4294967295999999999ULL);
		free(b);

		/* capinfos (Wireshark's) must have taken the ISB for interface 0. */
		if (have_tool("capinfos")) {
			char cmd[PATH_MAX + 100], line[512], errf[PATH_MAX];
			int iface = -1, stat_entries[2] = { -1, -1 };
			FILE *f;

			xsnprintf(errf, sizeof(errf), "%s.capinfos.err", path);
			xsnprintf(cmd, sizeof(cmd), "capinfos '%s' 2>'%s'", path, errf);
			f = run(cmd);
			while (fgets(line, sizeof(line), f)) {
				const char *s;

				if (sscanf(line, "Interface #%d info", &iface) == 1)
					continue;
				s = strstr(line, "Number of stat entries = ");
				if (s && iface >= 0 && iface < 2)
					stat_entries[iface] = atoi(s + 25);
			}
			end_run(f, cmd, errf);
			assert_int_equal(stat_entries[0], 1);
			assert_int_equal(stat_entries[1], 0);
		} else {
			printf("test_writer: capinfos not in PATH: its ISB check skipped\n");
		}
	}
	if (tcpdump) {
		tpath(path, sizeof(path), "tcpdump.pcap");
		write_specs(path, NULL, g_tcpdump, N_TCPDUMP, true, NULL);
		tcpdump_check(path, g_tcpdump, N_TCPDUMP);
		tpath(path, sizeof(path), "tcpdump.pcapng");
		write_specs(path, NULL, g_tcpdump, N_TCPDUMP, true, stats);
		tcpdump_check(path, g_tcpdump, N_TCPDUMP);
		if (tshark)
			tshark_check(path, g_tcpdump, N_TCPDUMP, true);
	}
}

/* ------------------------------------------------------------------------ */
/* 5. Full disk                                                              */

static void test_full_disk(void **state)
{
	NETMOON_OPTS(netmoon_writer_opts, o, .buffer_size = 4096);
	NETMOON_OPTS(netmoon_writer_opts, ng, .format = NETMOON_WRITER_PCAPNG);
	struct netmoon_writer *w;
	struct netmoon_packet p;
	char msg[256];
	int r = 0, i;

	(void)state;
	pool_init();
	if (access("/dev/full", W_OK) != 0) {
		printf("test_writer: no writable /dev/full: full-disk test skipped\n");
		skip();
	}

	/* Enough data to fill the buffer: a write fails, then every call does. */
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", &o), 0);
	p = mkpkt(&g_mixed[7], 0, true); /* 1514 bytes */
	for (i = 0; i < 10 && r == 0; i++)
		r = netmoon_writer_write(w, &p);
	assert_int_equal(r, -ENOSPC);
	assert_true(i >= 2 && i <= 4); /* 24 + 3 * 1530 > 4096 */
	assert_non_null(strstr(netmoon_writer_errmsg(w), "/dev/full: write error"));
	assert_non_null(strstr(netmoon_writer_errmsg(w), "No space left"));
	assert_int_equal(netmoon_writer_write(w, &p), -ENOSPC);
	assert_int_equal(netmoon_writer_flush(w), -ENOSPC);
	assert_int_equal(netmoon_writer_set_stats(w, 1, 1), -ENOSPC);
	assert_int_equal(netmoon_writer_write(w, NULL), -EINVAL);
	assert_non_null(strstr(netmoon_writer_errmsg(w), "No space left"));
	assert_int_equal(netmoon_writer_close(w), -ENOSPC);

	/* A big packet, larger than the buffer, written past it. */
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", &o), 0);
	p = mkpkt(&g_mixed[5], 0, true); /* 70001 bytes */
	assert_int_equal(netmoon_writer_write(w, &p), -ENOSPC);
	assert_int_equal(netmoon_writer_close(w), -ENOSPC);

	/* Little data: the error comes at close, with its message. */
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", &ng), 0);
	p = mkpkt(&g_mixed[2], 0, true);
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_set_stats(w, 5, 0), 0);
	assert_int_equal(netmoon_writer_close_err(w, msg, sizeof(msg)), -ENOSPC);
	assert_non_null(strstr(msg, "/dev/full: write error: No space left"));

	/* flush() reports it, and close() reports it again. */
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", &ng), 0);
	assert_int_equal(netmoon_writer_flush(w), -ENOSPC);
	assert_int_equal(netmoon_writer_close(w), -ENOSPC);

	/* pcap without a packet: the header written at close fails. */
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", NULL), 0);
	assert_int_equal(netmoon_writer_flush(w), 0); /* nothing to write yet */
	assert_int_equal(netmoon_writer_close_err(w, msg, sizeof(msg)), -ENOSPC);
	assert_non_null(strstr(msg, "No space left"));
}

/* ------------------------------------------------------------------------ */
/* 6. Bad input                                                              */

static void test_bad_input(void **state)
{
	struct {
		struct netmoon_writer_opts o;
		uint64_t newer;
	} big;
	char path[PATH_MAX], msg[256];
	struct netmoon_writer *w, *const sentinel = (struct netmoon_writer *)&big;
	struct netmoon_packet p;
	size_t len;
	uint8_t *b;

	(void)state;
	pool_init();
	tpath(path, sizeof(path), "bad.pcap");

	/* NULL arguments. */
	assert_int_equal(netmoon_writer_open(NULL, path, NULL), -EINVAL);
	w = sentinel;
	assert_int_equal(netmoon_writer_open(&w, NULL, NULL), -EINVAL);
	assert_ptr_equal(w, sentinel);
	assert_int_equal(netmoon_writer_open_err(&w, NULL, NULL, msg, sizeof(msg)), -EINVAL);
	assert_true(msg[0] != '\0');
	assert_int_equal(netmoon_writer_write(NULL, NULL), -EINVAL);
	assert_int_equal(netmoon_writer_set_stats(NULL, 1, 2), -EINVAL);
	assert_int_equal(netmoon_writer_flush(NULL), -EINVAL);
	assert_string_equal(netmoon_writer_errmsg(NULL), "");
	assert_int_equal(netmoon_writer_close(NULL), 0);
	strcpy(msg, "x");
	assert_int_equal(netmoon_writer_close_err(NULL, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");

	/* Options from a newer caller: unknown non-zero bytes refused, zeros fine. */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.newer = 1;
	w = sentinel;
	assert_int_equal(netmoon_writer_open_err(&w, path, &big.o, msg, sizeof(msg)), -EINVAL);
	assert_ptr_equal(w, sentinel);
	assert_non_null(strstr(msg, "unknown"));
	big.newer = 0;
	big.o.format = NETMOON_WRITER_PCAPNG;
	assert_int_equal(netmoon_writer_open(&w, path, &big.o), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	assert_int_equal(rd32(b), 0x0a0d0d0au);
	free(b);

	/* An older caller: members past its sz are not read. */
	memset(&big, 0, sizeof(big));
	big.o.sz = offsetof(struct netmoon_writer_opts, linktype);
	big.o.format = NETMOON_WRITER_PCAP;
	big.o.linktype = 12;     /* beyond sz: must be ignored */
	big.o.snaplen = 5;       /* idem */
	assert_int_equal(netmoon_writer_open(&w, path, &big.o), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	b = slurp(path, &len);
	assert_int_equal(len, 24);
	assert_int_equal(rd32(b + 16), 262144);
	assert_int_equal(rd32(b + 20), LT_ETH);
	free(b);
	big.o.sz = 1; /* cannot even hold sz */
	assert_int_equal(netmoon_writer_open(&w, path, &big.o), -EINVAL);

	/* Bad values. */
	{
		NETMOON_OPTS(netmoon_writer_opts, o1, .format = 3);
		NETMOON_OPTS(netmoon_writer_opts, o2, .format = -1);
		NETMOON_OPTS(netmoon_writer_opts, o3, .linktype = 65536);
		NETMOON_OPTS(netmoon_writer_opts, o4, .snaplen = 16u << 20);

		assert_int_equal(netmoon_writer_open(&w, path, &o1), -EINVAL);
		assert_int_equal(netmoon_writer_open(&w, path, &o2), -EINVAL);
		assert_int_equal(netmoon_writer_open(&w, path, &o3), -EINVAL);
		assert_int_equal(netmoon_writer_open(&w, path, &o4), -EINVAL);
	}

	/* open(2) errors, with the message naming the file. */
	tpath(path, sizeof(path), "no-such-dir/x.pcap");
	w = sentinel;
	assert_int_equal(netmoon_writer_open(&w, path, NULL), -ENOENT);
	assert_ptr_equal(w, sentinel);
	assert_int_equal(netmoon_writer_open_err(&w, path, NULL, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, "No such file or directory"));
	assert_int_equal(netmoon_writer_open(&w, g_dir, NULL), -EISDIR);

	tpath(path, sizeof(path), "bad.pcapng");
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_write(w, NULL), -EINVAL);
	/* NULL data: refused with bytes to copy, fine without. */
	p = mkpkt(&g_mixed[2], 0, true);
	p.data = NULL;
	assert_int_equal(netmoon_writer_write(w, &p), -EINVAL);
	assert_true(netmoon_writer_errmsg(w)[0] != '\0');
	p.caplen = 0;
	p.wirelen = 42;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	/* Time stamps before the epoch become 0; the largest stays as it is. */
	p = mkpkt(&g_mixed[1], 1, true);
	p.ts_ns = -1;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p.ts_ns = INT64_MIN;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p.ts_ns = INT64_MAX;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	/* Oversize caplen: cut to the snaplen. */
	p = mkpkt(&g_mixed[0], 2, true);
	p.data = g_pool;
	p.caplen = 262145;
	p.wirelen = 262145;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	{
		static const struct spec want[] = {
			{ 0, 42, 1700000000123456789LL, LT_ETH, 0, 0 },
			{ 1, 1, 0, LT_ETH, 0, 0 },
			{ 1, 1, 0, LT_ETH, 0, 0 },
			{ 1, 1, INT64_MAX, LT_ETH, 0, 0 },
			{ 262144, 262145, 0, LT_ETH, 0, 0 },
		};
		struct netmoon_capture *cap;
		const struct netmoon_packet *rp;

		assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(netmoon_capture_next(cap, &rp), 1);
			assert_int_equal(rp->caplen, want[i].caplen);
			assert_int_equal(rp->wirelen, want[i].wirelen);
			assert_int_equal(rp->ts_ns, want[i].ts);
		}
		assert_memory_equal(rp->data, g_pool, 262144);
		assert_int_equal(netmoon_capture_next(cap, &rp), 0);
		netmoon_capture_close(cap);
	}

	/* pcap: seconds are 32-bit; later time stamps become the last one. */
	tpath(path, sizeof(path), "late.pcap");
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	p = mkpkt(&g_mixed[1], 1, true);
	p.ts_ns = INT64_MAX;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p.ts_ns = 4294967296000000000LL;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p.ts_ns = -5;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	{
		static const struct spec want[] = {
			{ 1, 1, 4294967295999999999LL, LT_ETH, 0, 0 },
			{ 1, 1, 4294967295999999999LL, LT_ETH, 0, 0 },
			{ 1, 1, 0, LT_ETH, 0, 0 },
		};
		struct netmoon_capture *cap;
		const struct netmoon_packet *rp;

		assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(netmoon_capture_next(cap, &rp), 1);
			assert_int_equal(rp->ts_ns, want[i].ts);
		}
		assert_int_equal(netmoon_capture_next(cap, &rp), 0);
		netmoon_capture_close(cap);
	}
}

/* Created with mode 0644 less the umask; an existing file is truncated. */
static void test_create_mode(void **state)
{
	char path[PATH_MAX];
	struct netmoon_writer *w;
	struct stat st;
	mode_t old;
	int fd;

	(void)state;
	tpath(path, sizeof(path), "mode.pcap");
	old = umask(022);
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(unlink(path), 0);
	umask(077);
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(unlink(path), 0);
	umask(0);
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* A longer file of the same name is cut. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(write(fd, g_pool, 1000), 1000);
	close(fd);
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(netmoon_writer_close(w), 0);
	assert_int_equal(file_size(path), 24);

	/* flush() puts what is buffered in the file. */
	tpath(path, sizeof(path), "flush.pcapng");
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_int_equal(file_size(path), 0);
	assert_int_equal(netmoon_writer_flush(w), 0);
	/* SHB: 24 + shb_userappl (4 + "libnetmoon X.Y.Z" padded) + 4 + 4. */
	assert_int_equal(file_size(path),
			 24 + 4 + ((strlen("libnetmoon " NETMOON_VERSION_STRING) + 3) & ~(size_t)3) +
				 8);
	assert_int_equal(netmoon_writer_close(w), 0);
}

/* ------------------------------------------------------------------------ */
/* 7. Standard output                                                        */

static void test_stdout(void **state)
{
	char path[PATH_MAX];
	int saved, fd, r1, r2;

	(void)state;
	pool_init();
	for (int ng = 0; ng < 2; ng++) {
		NETMOON_OPTS(netmoon_writer_opts, o, .format = ng ? NETMOON_WRITER_PCAPNG
								 : NETMOON_WRITER_AUTO);
		const uint64_t stats[2] = { 9, 1 };
		struct netmoon_writer *w;
		struct ng_count c;
		size_t len;
		uint8_t *b;

		tpath(path, sizeof(path), ng ? "stdout.pcapng" : "stdout.pcap");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		assert_true(saved >= 0);
		assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
		close(fd);

		r1 = netmoon_writer_open(&w, "-", &o);
		if (r1 == 0) {
			for (size_t i = 0; i < N_MIXED && r1 == 0; i++) {
				struct netmoon_packet p = mkpkt(&g_mixed[i], i, !ng);

				r1 = netmoon_writer_write(w, &p);
			}
			if (ng && r1 == 0)
				r1 = netmoon_writer_set_stats(w, stats[0], stats[1]);
			r2 = netmoon_writer_close(w);
		} else {
			r2 = 0;
		}
		/* Standard output stays open. */
		fd = fcntl(STDOUT_FILENO, F_GETFD);
		/* Restore before asserting, so a failure prints to the terminal. */
		assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
		close(saved);
		assert_int_equal(r1, 0);
		assert_int_equal(r2, 0);
		assert_true(fd >= 0);

		/* "-" with AUTO is pcap. */
		verify_specs(path, g_mixed, N_MIXED, ng, !ng);
		b = slurp(path, &len);
		assert_int_equal(rd32(b), ng ? 0x0a0d0d0au : 0xa1b23c4du);
		if (ng) {
			struct isb_vals v;

			ng_walk(b, len, &c);
			assert_int_equal(c.isb, 1);
			parse_isb(b, c.isb_off, &v);
			assert_int_equal(v.recv, 9);
			assert_int_equal(v.drop, 1);
		}
		free(b);
	}
}

/* ------------------------------------------------------------------------ */
/* 8. Interrupted and short writes                                           */

struct sink {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	sigset_t set;
	unsigned n = 0;

	/* The timer's signals are for the writing thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		ssize_t k;

		if (s->len + 65536 > s->cap) {
			uint8_t *nb = realloc(s->buf, s->cap ? s->cap * 2 : 1 << 20);

			if (!nb) {
				s->err = ENOMEM;
				break;
			}
			s->buf = nb;
			s->cap = s->cap ? s->cap * 2 : 1 << 20;
		}
		/* Small, slow reads: the pipe stays full and writes come back short. */
		k = read(s->fd, s->buf + s->len, 1 + (n * 7919) % 9000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			s->err = errno;
			break;
		}
		if (k == 0)
			break;
		s->len += (size_t)k;
		if (++n % 16 == 0)
			usleep(200);
	}
	return NULL;
}

static volatile sig_atomic_t g_alarms;

static void on_alarm(int sig)
{
	(void)sig;
	g_alarms++;
}

static void test_interrupted_writes(void **state)
{
	NETMOON_OPTS(netmoon_writer_opts, o, .format = NETMOON_WRITER_PCAP,
		     .buffer_size = 256 << 10);
	struct sigaction sa = { .sa_handler = on_alarm }, old_sa;
	struct itimerval it = { .it_interval = { 0, 300 }, .it_value = { 0, 300 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	const struct timespec zero = { 0, 0 };
	sigset_t alrm, old_mask;
	struct netmoon_capture *cap;
	const struct netmoon_packet *rp;
	struct netmoon_writer *w;
	struct sink s = { .fd = -1 };
	pthread_t th;
	int pfd[2], saved, r1 = -1, r2 = -1;
	const size_t npkt = 64, plen = 30000;
	size_t i;

	(void)state;
	pool_init();
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	(void)fcntl(pfd[1], F_SETPIPE_SZ, 4096);
	s.fd = pfd[0];
	assert_int_equal(pthread_create(&th, NULL, sink_main, &s), 0);

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pfd[1], STDOUT_FILENO), STDOUT_FILENO);
	close(pfd[1]);

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: write(2) returns EINTR or short */
	g_alarms = 0;
	sigaction(SIGALRM, &sa, &old_sa);
	setitimer(ITIMER_REAL, &it, NULL);

	if (netmoon_writer_open(&w, "-", &o) == 0) {
		r1 = 0;
		for (i = 0; i < npkt && r1 == 0; i++) {
			struct netmoon_packet p = {
				.sz = sizeof(p), .data = pkt_bytes(i), .caplen = (uint32_t)(plen - i),
				.wirelen = (uint32_t)(plen - i), .ts_ns = (int64_t)i * 1000000001,
				.linktype = LT_ETH,
			};

			r1 = netmoon_writer_write(w, &p);
		}
		r2 = netmoon_writer_close(w);
	}

	/* Stop the timer and take any signal still pending before the default action is back. */
	setitimer(ITIMER_REAL, &off, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old_mask);
	while (sigtimedwait(&alrm, NULL, &zero) > 0)
		;
	sigaction(SIGALRM, &old_sa, NULL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	/* Closing the last write end ends the reader. */
	dup2(saved, STDOUT_FILENO);
	close(saved);
	pthread_join(th, NULL);
	close(pfd[0]);

	printf("test_writer: %d timer signals during the pipe writes\n", (int)g_alarms);
	assert_int_equal(r1, 0);
	assert_int_equal(r2, 0);
	assert_int_equal(s.err, 0);
	assert_int_equal(netmoon_capture_open_mem(&cap, s.buf, s.len, NULL), 0);
	for (i = 0; i < npkt; i++) {
		assert_int_equal(netmoon_capture_next(cap, &rp), 1);
		assert_int_equal(rp->caplen, plen - i);
		assert_int_equal(rp->ts_ns, (int64_t)i * 1000000001);
		assert_memory_equal(rp->data, pkt_bytes(i), plen - i);
	}
	assert_int_equal(netmoon_capture_next(cap, &rp), 0);
	netmoon_capture_close(cap);
	free(s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_pcap),
		cmocka_unit_test(test_roundtrip_pcapng),
		cmocka_unit_test(test_format_choice),
		cmocka_unit_test(test_pcapng_stats),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_default_snaplen),
		cmocka_unit_test(test_pcap_linktype),
		cmocka_unit_test(test_pcapng_iface_cap),
		cmocka_unit_test(test_external_tools),
		cmocka_unit_test(test_full_disk),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_create_mode),
		cmocka_unit_test(test_stdout),
		cmocka_unit_test(test_interrupted_writes),
	};

	return cmocka_run_group_tests_name("writer", tests, group_setup, group_teardown);
}
