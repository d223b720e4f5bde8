/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * extract-frames: turn capture files into seed inputs for the fuzz targets,
 * reading them with the library's own reader.
 *
 *   extract-frames MODE OUTDIR [-m MAX] FILE...
 *
 * MODE is the target whose input format to write:
 *   frame      one input per packet: a selector byte (fuzz-frame.c's link
 *              type index) and the packet's bytes
 *   conntable  one input per window of 48 consecutive packets, in
 *              fuzz-conntable.c's record format, ending with a full expiry
 *   writer     one input per window of 48 packets, in fuzz-writer.c's format
 * -m MAX caps the inputs written per capture file (default 64; frames are
 * then taken evenly over the file).  Files the reader rejects are skipped
 * with a message; packets of a link type the target cannot name are left
 * out.  Output names are FILE's base name, a dash and a number.
 *
 * Exit status: 0, or 1 when an argument is wrong or nothing could be written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

#define WINDOW 48
#define MAX_SNIP 16383u /* fuzz-conntable.c's caplen field has 14 bits */

/* The link type tables of the targets (their index is what the input holds). */
static const uint32_t frame_lts[] = { 0, 1, 12, 14, 101, 113, 228, 229, 276 };
static const uint32_t ct_lts[] = { 0, 1, 12, 14, 101, 113, 228, 229, 276, 147 };

enum mode { M_FRAME, M_CONNTABLE, M_WRITER };

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int put8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;

	return put(b, &c, 1);
}

static int put16(struct buf *b, unsigned v)
{
	uint8_t c[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return put(b, c, 2);
}

static int index_of(const uint32_t *t, size_t n, uint32_t lt)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] == lt)
			return (int)i;
	return -1;
}

/* A delta in the targets' 2-byte form: unit in bits 0-1, sign bit 2, 13 bits. */
static unsigned delta16(int64_t d)
{
	static const int64_t unit[] = { 1, 1000, 1000000, 1000000000 };
	unsigned neg = d < 0 ? 4 : 0;
	uint64_t a = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;

	for (unsigned u = 0; u < 4; u++) {
		uint64_t q = a / (uint64_t)unit[u];

		if (q < 8192 && (q || u == 3 || !a))
			return (unsigned)(q << 3) | neg | u;
	}
	return 8191u << 3 | neg | 3; /* longer than 8191 s: as long as it goes */
}

static int save(const char *dir, const char *base, unsigned n, const struct buf *b)
{
	char path[4096];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/%s-%u", dir, base, n);
	fp = fopen(path, "wb");
	if (!fp) {
		perror(path);
		return -1;
	}
	ok = fwrite(b->p, 1, b->len, fp) == b->len;
	ok &= fclose(fp) == 0;
	if (!ok)
		fprintf(stderr, "extract-frames: %s: write error\n", path);
	return ok ? 0 : -1;
}

static void window_start(enum mode m, struct buf *b)
{
	b->len = 0;
	if (m == M_CONNTABLE) {
		/* 16 connections, default timeouts, a 2023 clock, hooks never fail,
		 * default emergency mode. */
		put8(b, 15);
		put8(b, 0);
		put8(b, 0);
		put8(b, 0);
		put8(b, 0);
	} else {
		/* Link type from the first packet, default snaplen and buffers. */
		put8(b, 0);
		put8(b, 0);
	}
}

static int window_add(enum mode m, struct buf *b, const struct netmoon_packet *pkt,
		      int64_t delta)
{
	uint32_t len = pkt->caplen > MAX_SNIP ? MAX_SNIP : pkt->caplen;
	int rc = 0;

	if (m == M_CONNTABLE) {
		int i = index_of(ct_lts, sizeof(ct_lts) / sizeof(ct_lts[0]), pkt->linktype);
		/* wirelen: as captured, or "caplen + 1 + low byte" when it was longer. */
		unsigned lv = len | (pkt->wirelen > len ? 1u << 14 : 0);

		if (i < 0)
			return 0;
		rc |= put8(b, (unsigned)i << 3);
		rc |= put16(b, delta16(delta));
		rc |= put16(b, lv);
	} else {
		static const uint32_t wr_lts[] = { 1, 0, 101, 113, 276, 228 };
		int i = index_of(wr_lts, sizeof(wr_lts) / sizeof(wr_lts[0]), pkt->linktype);

		if (i < 0)
			i = 0;
		rc |= put8(b, (unsigned)i | (pkt->ifindex ? 1u << 3 : 0));
		rc |= put16(b, delta16(delta) == 0xffff ? 0 : delta16(delta));
		rc |= put16(b, len);
	}
	rc |= put(b, pkt->data, len);
	return rc;
}

static int extract(enum mode m, const char *dir, const char *path, unsigned max)
{
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	char err[512] = "";
	const char *base = strrchr(path, '/');
	struct buf b = { 0 };
	uint64_t total = 0, i = 0, step;
	unsigned written = 0, inwin = 0;
	int64_t prev = 0;
	int rc;

	base = base ? base + 1 : path;
	/* Count first, so that frames can be taken evenly over the file. */
	rc = netmoon_capture_open_err(&cap, path, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "extract-frames: skipped: %s\n", err);
		return 0;
	}
	while (netmoon_capture_next(cap, &pkt) == 1)
		total++;
	netmoon_capture_close(cap);
	if (netmoon_capture_open_err(&cap, path, NULL, err, sizeof(err)))
		return 0;

	step = m == M_FRAME && total > max ? (total + max - 1) / max : 1;
	if (m != M_FRAME)
		window_start(m, &b);
	while (written < max && netmoon_capture_next(cap, &pkt) == 1) {
		if (m == M_FRAME) {
			int k = index_of(frame_lts, sizeof(frame_lts) / sizeof(frame_lts[0]),
					 pkt->linktype);

			if (i++ % step || k < 0)
				continue;
			b.len = 0;
			if (put8(&b, (unsigned)k) || put(&b, pkt->data, pkt->caplen) ||
			    save(dir, base, written, &b))
				break;
			written++;
			continue;
		}
		if (window_add(m, &b, pkt, inwin ? pkt->ts_ns - prev : 0))
			break;
		prev = pkt->ts_ns;
		if (++inwin == WINDOW) {
			if (m == M_CONNTABLE) {
				/* A full expiry 8191 s later, at the end. */
				put8(&b, 5);
				put16(&b, 8191u << 3 | 3);
				put8(&b, 0);
			}
			if (save(dir, base, written++, &b))
				break;
			window_start(m, &b);
			inwin = 0;
		}
	}
	if (m != M_FRAME && inwin && written < max && save(dir, base, written, &b) == 0)
		written++;
	netmoon_capture_close(cap);
	free(b.p);
	printf("%s: %u input(s) from %" PRIu64 " packet(s)\n", base, written, total);
	return (int)written;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: extract-frames frame|conntable|writer OUTDIR [-m MAX] FILE...\n");
}

int main(int argc, char **argv)
{
	enum mode m;
	unsigned max = 64;
	int i = 3, n = 0;

	if (argc < 4) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "frame")) {
		m = M_FRAME;
	} else if (!strcmp(argv[1], "conntable")) {
		m = M_CONNTABLE;
	} else if (!strcmp(argv[1], "writer")) {
		m = M_WRITER;
	} else {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[3], "-m") && argc > 5) {
		max = (unsigned)strtoul(argv[4], NULL, 10);
		i = 5;
	}
	if (!max) {
		usage(stderr);
		return 1;
	}
	for (; i < argc; i++)
		n += extract(m, argv[2], argv[i], max);
	return n ? 0 : 1;
}
