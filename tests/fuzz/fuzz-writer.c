/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the writers' round trip.
 *
 * Fuzz-chosen packets (lengths, time stamps, link types, interface indexes)
 * are written with netmoon_writer_*() as a pcap file and as a pcapng file,
 * each into a memfd (or a temporary file when memfd_create() is missing),
 * then read back with netmoon_capture_open_file() and compared, packet for
 * packet, with what writer.h promises: refused packets leave no trace, a
 * packet is cut to the snaplen but keeps its wirelen, pcap time stamps are
 * clamped to [0, 2106-02-07T06:28:15.999999999Z], pcapng ones below 0 to 0,
 * pcapng interfaces are numbered in order of first appearance of their
 * (link type, ifindex) pair.  Any difference calls abort().
 *
 * Header (missing bytes read as zero):
 *   h0  bits 0-1: pcap link type option (first packet's, 1, 101, 113);
 *       bits 2-4: snaplen; bits 5-7: writer buffer size (4 KiB, 1, 7, 24,
 *       64, 100, the default, 64 KiB)
 *   h1  bit 0: netmoon_writer_set_stats(); bit 1: pcap as NETMOON_WRITER_AUTO;
 *       bit 2: the reader maps the file; bits 3-4: reader buffer size
 *       (64 KiB, 1, 4 KiB, the default)
 * Records: an op byte, a time delta (0xffff: an 8-byte absolute time stamp
 * follows), a 2-byte length, then the packet's bytes; see next_packet().
 *
 * Built with -fsanitize=fuzzer for libFuzzer, or with a replay main() for
 * plain gcc builds (each file argument is one input).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <netmoon/netmoon.h>

#include "fuzz-input.h"
#include <netmoon/writer.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 1024
#define BIG_MAX 300000u             /* above the default snaplen of 262144 */
#define PCAP_TS_MAX (INT64_C(4294967295) * 1000000000 + 999999999)
#define MAX_IFACES 256

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz-writer: mismatch at %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                                      \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* One packet as given to both writers. */
struct pkt {
	const uint8_t *data; /* into the input (big packets: big_pattern()) */
	uint32_t caplen;
	uint32_t wirelen;
	int64_t ts;
	uint32_t linktype;
	uint32_t ifindex;
	uint8_t seed;        /* big packets: the pattern */
	bool big;
	bool flush;
};

/*
 * The bytes of big packets: one pattern, made once per process (making it
 * per packet cost more than the rest of the target), that no shift of
 * itself matches; a packet starts at its seed's offset.
 */
static const uint8_t *big_pattern(void)
{
	static uint8_t *big;

	if (!big) {
		big = malloc(BIG_MAX + 256);
		if (!big)
			abort();
		for (uint32_t i = 0; i < BIG_MAX + 256; i++)
			big[i] = (uint8_t)(i * 31u + (i >> 8) * 7u + (i >> 16));
	}
	return big;
}

/*
 * op bits 0-2: link type (1, 0, 101, 113, 276, 228, 65535, or 65536 and
 *       above, which no file can hold);
 * bits 3-4: ifindex (0, 1, a byte, 4 bytes);
 * bit 5: flush after the packet; bit 6: a big packet (length and pattern
 *       from 3 bytes, not the input); bit 7: a wirelen of its own (4 bytes).
 */
static bool next_packet(struct in *in, struct pkt *p, int64_t *ts)
{
	static const uint32_t lts[] = { 1, 0, 101, 113, 276, 228, 65535, 65536 };
	uint8_t op;
	uint16_t d, len;

	if (!in->n)
		return false;
	op = get8(in);
	memset(p, 0, sizeof(*p));
	p->linktype = lts[op & 7];
	if ((op & 7) == 7)
		p->linktype += get16(in) << 4;
	switch ((op >> 3) & 3) {
	case 0: p->ifindex = 0; break;
	case 1: p->ifindex = 1; break;
	case 2: p->ifindex = get8(in); break;
	default: p->ifindex = get32(in); break;
	}
	p->flush = op & 0x20;
	d = get16(in);
	if (d == 0xffff) {
		*ts = (int64_t)get64(in);
	} else {
		static const int64_t unit[] = { 1, 1000, 1000000, 1000000000 };
		int64_t delta = (int64_t)(d >> 3) * unit[d & 3];

		*ts = sat_add(*ts, (d & 4) ? -delta : delta);
	}
	p->ts = *ts;
	if (op & 0x40) {
		uint32_t v = get16(in) | (uint32_t)get8(in) << 16;

		p->big = true;
		p->caplen = v % (BIG_MAX + 1);
		p->seed = (uint8_t)(v >> 8);
	} else {
		len = get16(in);
		p->caplen = len > in->n ? (uint32_t)in->n : len;
		p->data = in->p;
		in->p += p->caplen;
		in->n -= p->caplen;
	}
	p->wirelen = (op & 0x80) ? get32(in) : p->caplen;
	return true;
}

/* A file to write to: a memfd, or an unlinked temporary file. */
static int out_file(char *path, size_t len)
{
	int fd = memfd_create("fuzz-writer", MFD_CLOEXEC);

	if (fd < 0) {
		const char *dir = getenv("TMPDIR");

		snprintf(path, len, "%s/fuzz-writer-XXXXXX", dir ? dir : "/tmp");
		fd = mkstemp(path);
		if (fd < 0)
			return -1;
		unlink(path);
	}
	/* Both the writer and the reader open it anew, through the fd's link. */
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* What writer.h says the reader gets back for one accepted packet. */
struct expect {
	const struct pkt *p;
	uint32_t linktype;
	uint32_t ifindex;
	int64_t ts;
	uint32_t caplen;
};

struct run {
	struct pkt pkts[MAX_PKTS];
	size_t npkts;
	struct expect exp[MAX_PKTS];
	uint32_t snaplen_opt;
	uint32_t snaplen;        /* effective */
	size_t buffer_size;
	uint32_t pcap_lt_opt;
	bool stats, automatic, use_mmap;
	size_t rd_buffer;
	uint64_t received, dropped;
};

static const uint8_t *pkt_bytes(const struct pkt *p)
{
	return p->big ? big_pattern() + p->seed : p->data;
}

/* Write every packet in one format; return how many were accepted into exp. */
static size_t write_all(struct run *r, const char *path, int format, int *file_lt)
{
	NETMOON_OPTS(netmoon_writer_opts, o, .snaplen = r->snaplen_opt,
		     .buffer_size = r->buffer_size);
	struct wr_pair { uint32_t lt, ifindex; } pairs[MAX_IFACES];
	uint32_t npairs = 0, lt = 0;
	bool lt_set = false; /* pcap: 0 is a link type too (BSD loopback) */
	struct netmoon_writer *w = NULL;
	size_t n = 0;

	o.format = format;
	if (format == NETMOON_WRITER_PCAP) {
		o.linktype = r->pcap_lt_opt;
		lt = r->pcap_lt_opt;
		lt_set = lt != 0;
		if (r->automatic)
			o.format = NETMOON_WRITER_AUTO; /* the path has no ".pcapng" */
	}
	CHECK(netmoon_writer_open(&w, path, &o) == 0);
	for (size_t i = 0; i < r->npkts; i++) {
		const struct pkt *p = &r->pkts[i];
		struct netmoon_packet np = {
			.sz = sizeof(np),
			.data = pkt_bytes(p),
			.caplen = p->caplen,
			.wirelen = p->wirelen,
			.ts_ns = p->ts,
			.linktype = p->linktype,
			.ifindex = p->ifindex,
			.number = i + 1,
		};
		struct expect *e = &r->exp[n];
		int rc, want = 0;
		uint32_t ifx = 0;

		if (!p->caplen && (i & 1))
			np.data = NULL; /* allowed with a zero caplen */
		rc = netmoon_writer_write(w, &np);
		if (format == NETMOON_WRITER_PCAP) {
			if (p->linktype > 65535 || (lt_set && p->linktype != lt))
				want = NETMOON_E_LINKTYPE;
			CHECK(rc == want);
			if (!rc && !lt_set) {
				lt = p->linktype; /* the first packet's, when not given */
				lt_set = true;
			}
		} else {
			while (ifx < npairs && (pairs[ifx].lt != p->linktype ||
						pairs[ifx].ifindex != p->ifindex))
				ifx++;
			if (p->linktype > 65535) {
				/* Either refusal is right: no interface can hold it. */
				CHECK(rc == NETMOON_E_LINKTYPE ||
				      (ifx == npairs && npairs == MAX_IFACES && rc == -E2BIG));
			} else if (ifx == npairs && npairs == MAX_IFACES) {
				CHECK(rc == -E2BIG);
			} else {
				CHECK(rc == 0);
				if (ifx == npairs) {
					pairs[npairs].lt = p->linktype;
					pairs[npairs++].ifindex = p->ifindex;
				}
			}
		}
		CHECK(netmoon_writer_errmsg(w) != NULL);
		if (rc == 0) {
			e->p = p;
			e->linktype = format == NETMOON_WRITER_PCAP ? lt : p->linktype;
			e->ifindex = format == NETMOON_WRITER_PCAP ? 0 : ifx;
			e->ts = p->ts < 0 ? 0 : p->ts;
			if (format == NETMOON_WRITER_PCAP && e->ts > PCAP_TS_MAX)
				e->ts = PCAP_TS_MAX;
			e->caplen = p->caplen < r->snaplen ? p->caplen : r->snaplen;
			n++;
		}
		if (p->flush)
			CHECK(netmoon_writer_flush(w) == 0);
	}
	if (r->stats)
		CHECK(netmoon_writer_set_stats(w, r->received, r->dropped) == 0);
	CHECK(netmoon_writer_close(w) == 0);
	/* A pcap file closed before any packet named its link type is Ethernet. */
	*file_lt = lt_set ? (int)lt : NETMOON_LINKTYPE_ETHERNET;
	return n;
}

static void read_back(struct run *r, const char *path, int format, size_t n, int file_lt)
{
	NETMOON_OPTS(netmoon_capture_file_opts, o, .buffer_size = r->rd_buffer,
		     .use_mmap = r->use_mmap);
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *pkt;
	char err[256] = "";
	int lt, rc;

	rc = netmoon_capture_open_err(&cap, path, &o, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fuzz-writer: reading back: %s\n", err);
	CHECK(rc == 0);
	lt = netmoon_capture_linktype(cap);
	if (format == NETMOON_WRITER_PCAP) {
		CHECK(lt == file_lt);
	} else if (n) {
		CHECK(lt == (int)r->exp[0].linktype);
	} else if (r->stats) {
		/* The statistics block needed an interface: the option's, or Ethernet. */
		CHECK(lt == NETMOON_LINKTYPE_ETHERNET);
	} else {
		CHECK(lt == -ENODATA);
	}
	for (size_t i = 0; i < n; i++) {
		const struct expect *e = &r->exp[i];

		rc = netmoon_capture_next(cap, &pkt);
		if (rc != 1)
			fprintf(stderr, "fuzz-writer: packet %zu of %zu: %d %s\n", i + 1, n, rc,
				netmoon_capture_errmsg(cap));
		CHECK(rc == 1);
		CHECK(pkt->number == i + 1);
		CHECK(pkt->linktype == e->linktype);
		CHECK(pkt->ifindex == e->ifindex);
		CHECK(pkt->ts_ns == e->ts);
		CHECK(pkt->caplen == e->caplen);
		CHECK(pkt->wirelen == e->p->wirelen);
		if (e->caplen)
			CHECK(memcmp(pkt->data, pkt_bytes(e->p), e->caplen) == 0);
	}
	rc = netmoon_capture_next(cap, &pkt);
	if (rc != 0)
		fprintf(stderr, "fuzz-writer: after the last packet: %d %s\n", rc,
			netmoon_capture_errmsg(cap));
	CHECK(rc == 0);
	netmoon_capture_close(cap);
}

static void round_trip(struct run *r, int format)
{
	char path[64];
	int fd = out_file(path, sizeof(path));
	int lt = 0;
	size_t n;

	if (fd < 0)
		return;
	n = write_all(r, path, format, &lt);
	read_back(r, path, format, n, lt);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t snaplens[] = { 0, 1, 14, 64, 100, 1500, 65535, (16u << 20) - 64 };
	/* Defaults (0: 1 MiB, 4 MiB) only when asked: ASan makes big buffers slow. */
	static const size_t bufs[] = { 4096, 1, 7, 24, 64, 100, 0, 65536 };
	static const uint32_t plts[] = { 0, 1, 101, 113 };
	static const size_t rdbufs[] = { 65536, 1, 4096, 0 };
	struct in in = { data, size };
	struct run *r = calloc(1, sizeof(*r));
	uint8_t h0, h1;
	int64_t ts = INT64_C(1700000000) * 1000000000;

	if (!r)
		return 0;
	h0 = get8(&in);
	h1 = get8(&in);
	r->pcap_lt_opt = plts[h0 & 3];
	r->snaplen_opt = snaplens[(h0 >> 2) & 7];
	/* writer.h: 0 = 262144. */
	r->snaplen = r->snaplen_opt ? r->snaplen_opt : 262144;
	r->buffer_size = bufs[h0 >> 5];
	r->stats = h1 & 1;
	r->automatic = h1 & 2;
	r->use_mmap = h1 & 4;
	r->rd_buffer = rdbufs[(h1 >> 3) & 3];
	r->received = h1;
	r->dropped = h0;
	while (r->npkts < MAX_PKTS && next_packet(&in, &r->pkts[r->npkts], &ts))
		r->npkts++;

	round_trip(r, NETMOON_WRITER_PCAP);
	round_trip(r, NETMOON_WRITER_PCAPNG);
	free(r);
	return 0;
}
