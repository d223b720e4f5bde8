/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-core: how fast libnetmoon's core path is, through the public API.
 *
 *   bench-core [--mode file|file-burst|read|mem|burst|parse] [--burst N]
 *              [--max-conns N] [--mmap] [--read-thread] FILE
 *
 * file  the whole path: netmoon_capture_open_file() -> netmoon_capture_next()
 *       -> netmoon_frame_parse() -> netmoon_conntable_track(), timed from
 *       the open to the last packet (the file should be in the page cache).
 *       --mmap and --read-thread set the capture options of the same names
 *       (both: a second thread walks the mapped file's records).
 * file-burst  as file, but with netmoon_capture_next_frame() (frames decoded
 *       by the capture's walker thread with --mmap --read-thread), tracked N
 *       at a time with netmoon_conntable_track_burst(), as netmoon-csv does.
 * read  the reader alone: open and next() to the end, nothing else.
 * mem   parse + track alone: the pcap file is mapped, its records indexed
 *       and their first 128 bytes copied into one array (untimed: frames in
 *       memory as a live ring with snaplen 128 holds them), then only
 *       netmoon_frame_parse() and netmoon_conntable_track() run.
 * burst as mem, but N packets (--burst, default 64) are parsed into an
 *       array of frames, then given to netmoon_conntable_track_burst().
 * parse as mem without the table: what parsing alone costs, to subtract.
 *
 * Prints one line: bench: tool=bench-core-MODE packets=N seconds=S ... with
 * the table's counters (entry_bytes, active, peak, ...) and the process's
 * memory (VmHWM: peak resident; RssAnon: heap and table, without the
 * mapped file).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netmoon/netmoon.h>

struct pkt_ref {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	int64_t ts_ns;
};

struct run {
	uint64_t packets;
	uint64_t not_ok;      /* frames not fully decoded */
	uint64_t refused;     /* NETMOON_E_TABLE_FULL */
	uint64_t untracked;
	double seconds;
};

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One packet through the parser and the table, as netmoon-csv does it. */
static int account(struct netmoon_conntable *ct, struct netmoon_frame *f, struct run *r,
		   uint32_t linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		   int64_t ts_ns)
{
	int rc = netmoon_frame_parse(f, linktype, data, caplen, wirelen);

	if (rc < 0)
		return rc;
	r->not_ok += rc != NETMOON_FRAME_OK;
	rc = netmoon_conntable_track(ct, f, ts_ns, NULL);
	if (rc == NETMOON_E_TABLE_FULL)
		r->refused++;
	else if (rc == 1)
		r->untracked++;
	else if (rc < 0)
		return rc;
	r->packets++;
	return 0;
}

/*
 * mode 'f': one netmoon_conntable_track() per packet; 'B': frames parsed
 * into bursts of @burst and tracked with netmoon_conntable_track_burst(),
 * as netmoon-csv does; 'r': the reader alone (next() and nothing else).
 */
static int run_file(const char *path, struct netmoon_conntable *ct, struct run *r,
		    bool read_thread, bool use_mmap, char mode, size_t burst)
{
	NETMOON_OPTS(netmoon_capture_file_opts, copts, .read_thread = read_thread,
		     .use_mmap = use_mmap);
	NETMOON_OPTS(netmoon_frame, f);
	struct netmoon_frame *frames = NULL;
	int64_t *ts = NULL;
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	char err[512] = "";
	size_t nb = 0;
	double t0;
	int rc;

	if (mode == 'B') {
		frames = calloc(burst, sizeof(*frames));
		ts = calloc(burst, sizeof(*ts));
		if (!frames || !ts) {
			free(frames);
			free(ts);
			return -ENOMEM;
		}
	}
	t0 = now_sec();
	rc = netmoon_capture_open_err(&cap, path, &copts, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "bench-core: %s\n", err[0] ? err : netmoon_strerror(rc));
		free(frames);
		free(ts);
		return rc;
	}
	for (;;) {
		const struct netmoon_frame *fr = NULL;

		/* Bursts take frames decoded by the capture (by its walker thread
		 * with --mmap --read-thread), as netmoon-csv does. */
		rc = mode == 'B' ? netmoon_capture_next_frame(cap, &pkt, &fr)
				 : netmoon_capture_next(cap, &pkt);
		if (rc != 1)
			break;
		if (mode == 'r') {
			r->packets++;
			continue;
		}
		if (mode == 'B') {
			int64_t trc;

			frames[nb] = *fr;
			r->not_ok += fr->reason != NETMOON_FRAME_OK;
			ts[nb++] = pkt->ts_ns;
			if (nb < burst)
				continue;
			trc = netmoon_conntable_track_burst(ct, frames, ts, nb);
			if (trc < 0) {
				rc = (int)trc;
				break;
			}
			r->packets += nb;
			nb = 0;
			continue;
		}
		rc = account(ct, &f, r, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen,
			     pkt->ts_ns);
		if (rc < 0)
			break;
	}
	if (rc == 0 && nb) {
		int64_t trc = netmoon_conntable_track_burst(ct, frames, ts, nb);

		if (trc < 0)
			rc = (int)trc;
		else
			r->packets += nb;
	}
	r->seconds = now_sec() - t0;
	if (rc < 0)
		fprintf(stderr, "bench-core: %s: %s %s\n", path, netmoon_strerror(rc),
			netmoon_capture_errmsg(cap));
	netmoon_capture_close(cap);
	free(frames);
	free(ts);
	return rc;
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/*
 * Index the records of a pcap file mapped at base: the work a capture
 * handle does, done once and left out of the timing.
 */
static int index_pcap(const uint8_t *base, size_t len, struct pkt_ref **out, size_t *count,
		      uint32_t *linktype)
{
	size_t off = 24, n = 0, cap = 1u << 20;
	struct pkt_ref *refs;
	uint32_t magic;
	int swap, nsec;

	if (len < 24)
		return -1;
	memcpy(&magic, base, 4);
	swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
	if (!swap && magic != 0xa1b2c3d4u && !nsec)
		return -1;
	*linktype = rd32(base + 20, swap) & 0x0fffffff;
	refs = malloc(cap * sizeof(*refs));
	if (!refs)
		return -1;
	while (len - off >= 16) {
		uint32_t caplen = rd32(base + off + 8, swap);
		uint32_t frac = rd32(base + off + 4, swap);

		if (caplen > len - off - 16)
			break; /* truncated last record */
		if (n == cap) {
			struct pkt_ref *bigger = realloc(refs, 2 * cap * sizeof(*refs));

			if (!bigger) {
				free(refs);
				return -1;
			}
			refs = bigger;
			cap *= 2;
		}
		refs[n].data = base + off + 16;
		refs[n].caplen = caplen;
		refs[n].wirelen = rd32(base + off + 12, swap);
		refs[n].ts_ns = (int64_t)rd32(base + off, swap) * 1000000000 +
				(int64_t)frac * (nsec ? 1 : 1000);
		n++;
		off += 16 + (size_t)caplen;
	}
	*out = refs;
	*count = n;
	return 0;
}

/*
 * Copy the first HEAD_BYTES of every packet into one array, HEAD_BYTES
 * apart, and point the records there: frames in memory as a live ring with
 * a 128-byte snaplen holds them (tcpdump -s 128), so what is timed is the
 * parsing and the table, not cache misses on a 4 GiB mapping.
 */
#define HEAD_BYTES 128

static uint8_t *compact_heads(struct pkt_ref *refs, size_t count)
{
	uint8_t *heads = malloc(count * HEAD_BYTES + 1);

	if (!heads)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		uint32_t n = refs[i].caplen < HEAD_BYTES ? refs[i].caplen : HEAD_BYTES;

		memcpy(heads + i * HEAD_BYTES, refs[i].data, n);
		refs[i].data = heads + i * HEAD_BYTES;
		refs[i].caplen = n;
	}
	return heads;
}

/* Parse up to burst packets from refs into frames, then track them in one call. */
static int account_burst(struct netmoon_conntable *ct, struct netmoon_frame *frames,
			 int64_t *ts, struct run *r, uint32_t linktype, const struct pkt_ref *refs,
			 size_t n)
{
	int64_t rc;

	for (size_t j = 0; j < n; j++) {
		int prc = netmoon_frame_parse(&frames[j], linktype, refs[j].data, refs[j].caplen,
					      refs[j].wirelen);

		if (prc < 0)
			return prc;
		r->not_ok += prc != NETMOON_FRAME_OK;
		ts[j] = refs[j].ts_ns;
	}
	rc = netmoon_conntable_track_burst(ct, frames, ts, n);
	if (rc < 0)
		return (int)rc;
	r->packets += n;
	return 0;
}

/* mode: 'm' parse + track, 'b' parse + track_burst, 'p' parse alone. */
static int run_mem(const char *path, struct netmoon_conntable *ct, struct run *r, char mode,
		   size_t burst)
{
	NETMOON_OPTS(netmoon_frame, f);
	struct netmoon_frame *frames = NULL;
	int64_t *ts = NULL;
	struct pkt_ref *refs = NULL;
	size_t count = 0, i;
	uint32_t linktype = 0;
	struct stat st;
	uint8_t *base, *heads;
	double t0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "bench-core: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		fprintf(stderr, "bench-core: %s: mmap: %s\n", path, strerror(errno));
		return -errno;
	}
	if (index_pcap(base, (size_t)st.st_size, &refs, &count, &linktype) < 0) {
		fprintf(stderr, "bench-core: %s: --mode mem reads pcap files only\n", path);
		munmap(base, (size_t)st.st_size);
		return -EINVAL;
	}
	heads = compact_heads(refs, count);
	munmap(base, (size_t)st.st_size);
	if (!heads) {
		free(refs);
		return -ENOMEM;
	}

	if (mode == 'b') {
		frames = calloc(burst, sizeof(*frames));
		ts = calloc(burst, sizeof(*ts));
		if (!frames || !ts) {
			free(frames);
			free(ts);
			free(refs);
			free(heads);
			return -ENOMEM;
		}
		for (i = 0; i < burst; i++)
			frames[i].sz = sizeof(frames[i]);
	}

	t0 = now_sec();
	if (mode == 'b') {
		for (i = 0; i < count; i += burst) {
			size_t n = count - i < burst ? count - i : burst;

			rc = account_burst(ct, frames, ts, r, linktype, &refs[i], n);
			if (rc < 0) {
				fprintf(stderr, "bench-core: burst at packet %zu: %s\n", i + 1,
					netmoon_strerror(rc));
				break;
			}
		}
	} else if (mode == 'p') {
		for (i = 0; i < count; i++) {
			const struct pkt_ref *p = &refs[i];

			rc = netmoon_frame_parse(&f, linktype, p->data, p->caplen, p->wirelen);
			if (rc < 0)
				break;
			r->not_ok += rc != NETMOON_FRAME_OK;
			r->packets++;
			rc = 0;
		}
	} else {
		for (i = 0; i < count; i++) {
			const struct pkt_ref *p = &refs[i];

			rc = account(ct, &f, r, linktype, p->data, p->caplen, p->wirelen, p->ts_ns);
			if (rc < 0) {
				fprintf(stderr, "bench-core: packet %zu: %s\n", i + 1,
					netmoon_strerror(rc));
				break;
			}
		}
	}
	r->seconds = now_sec() - t0;
	free(frames);
	free(ts);
	free(refs);
	free(heads);
	return rc;
}

/* A "Name:   123 kB" line of /proc/self/status, in kB; -1 when absent. */
static long proc_status_kb(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--mode file|file-burst|read|mem|burst|parse] [--burst N] [--max-conns N] [--read-thread] [--mmap] FILE\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "burst", required_argument, NULL, 'b' },
		{ "read-thread", no_argument, NULL, 't' },
		{ "mmap", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	NETMOON_OPTS(netmoon_conntable_stats, st);
	struct netmoon_conntable *ct;
	struct run r = { 0 };
	const char *mode = "file";
	uint32_t max_conns = 0;
	size_t burst = 64;
	bool read_thread = false, use_mmap = false;
	long anon_kb;
	int c, rc;

	while ((c = getopt_long(argc, argv, "m:c:b:tMh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'c': max_conns = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': burst = strtoul(optarg, NULL, 10); break;
		case 't': read_thread = true; break;
		case 'M': use_mmap = true; break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 1;
		}
	}
	if (optind + 1 != argc || !burst ||
	    (strcmp(mode, "file") != 0 && strcmp(mode, "file-burst") != 0 &&
	     strcmp(mode, "read") != 0 && strcmp(mode, "mem") != 0 &&
	     strcmp(mode, "burst") != 0 && strcmp(mode, "parse") != 0)) {
		usage(stderr, argv[0]);
		return 1;
	}

	{
		NETMOON_OPTS(netmoon_conntable_opts, opts, .max_conns = max_conns);

		rc = netmoon_conntable_new(&ct, &opts);
		if (rc < 0) {
			fprintf(stderr, "bench-core: conntable: %s\n", netmoon_strerror(rc));
			return 2;
		}
	}
	if (strcmp(mode, "file") == 0 || strcmp(mode, "read") == 0)
		rc = run_file(argv[optind], ct, &r, read_thread, use_mmap, mode[0], burst);
	else if (strcmp(mode, "file-burst") == 0)
		rc = run_file(argv[optind], ct, &r, read_thread, use_mmap, 'B', burst);
	else
		rc = run_mem(argv[optind], ct, &r, mode[0], burst);
	if (rc < 0) {
		netmoon_conntable_free(ct);
		return 2;
	}

	netmoon_conntable_get_stats(ct, &st);
	if (strcmp(mode, "burst") == 0 || strcmp(mode, "file-burst") == 0) {
		/* What account() counts from track()'s results, from the counters. */
		r.untracked = st.untracked + st.frag_unattributed;
		r.refused = st.refused;
	}
	anon_kb = proc_status_kb("RssAnon");
	printf("bench: tool=bench-core-%s packets=%" PRIu64 " seconds=%.6f pps=%.0f "
	       "ns_per_packet=%.2f not_decoded=%" PRIu64 " untracked=%" PRIu64
	       " refused=%" PRIu64 " entry_bytes=%" PRIu64 " memory_bytes=%" PRIu64
	       " active=%" PRIu64 " peak=%" PRIu64 " created=%" PRIu64 " closed=%" PRIu64
	       " evicted=%" PRIu64 " max_conns=%" PRIu64 " vm_hwm_kb=%ld rss_anon_kb=%ld\n",
	       mode, r.packets, r.seconds, r.seconds > 0 ? (double)r.packets / r.seconds : 0.0,
	       r.packets ? r.seconds * 1e9 / (double)r.packets : 0.0, r.not_ok, r.untracked,
	       r.refused, st.entry_bytes, st.memory_bytes, st.active, st.peak, st.created,
	       st.closed, st.evicted, st.max_conns, proc_status_kb("VmHWM"), anon_kb);
	netmoon_conntable_free(ct);
	return 0;
}
