/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap-empty-loop: the floor of the benchmark table.  libpcap reads a capture
 * file with pcap_loop() and a callback that only counts: whatever a flow
 * tracker costs comes on top of this.
 *
 *   pcap-empty-loop [-b BYTES] FILE
 *
 * pcap_open_offline() reads through stdio's default buffer (4 KiB: one
 * read(2) per 4 KiB).  With -b the file is opened with fopen(), given a
 * stdio buffer of BYTES, and handed to pcap_fopen_offline(): what a
 * program that cares can do with libpcap's API.
 *
 * Prints one line: bench: tool=pcap-empty-loop packets=N seconds=S ...
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

struct counter {
	uint64_t packets;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct counter *c = (struct counter *)(void *)user;

	(void)h;
	(void)bytes;
	c->packets++;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct counter c = { 0 };
	const char *path;
	size_t bufsize = 0;
	char *stdio_buf = NULL;
	pcap_t *p;
	double t0, secs;
	int rc;

	if (argc == 4 && strcmp(argv[1], "-b") == 0) {
		bufsize = strtoul(argv[2], NULL, 10);
		path = argv[3];
	} else if (argc == 2) {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: %s [-b BYTES] FILE\n", argv[0]);
		return 1;
	}
	t0 = now_sec();
	/* nanosecond precision: no conversion per packet for ns files */
	if (bufsize) {
		FILE *f = fopen(path, "rb");

		stdio_buf = malloc(bufsize);
		if (!f || !stdio_buf || setvbuf(f, stdio_buf, _IOFBF, bufsize) != 0) {
			perror(path);
			return 2;
		}
		p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	} else {
		p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	}
	if (!p) {
		fprintf(stderr, "pcap-empty-loop: %s\n", errbuf);
		return 2;
	}
	rc = pcap_loop(p, -1, on_packet, (u_char *)&c);
	secs = now_sec() - t0;
	if (rc == -1) {
		fprintf(stderr, "pcap-empty-loop: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 2;
	}
	pcap_close(p); /* closes the FILE too */
	free(stdio_buf);
	printf("bench: tool=pcap-empty-loop packets=%" PRIu64 " seconds=%.6f pps=%.0f ns_per_packet=%.2f\n",
	       c.packets, secs, secs > 0 ? (double)c.packets / secs : 0.0,
	       c.packets ? secs * 1e9 / (double)c.packets : 0.0);
	return 0;
}
