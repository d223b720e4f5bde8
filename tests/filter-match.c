/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test driver for the filter compiler:
 *
 *   filter-match FILE EXPR       print the numbers of the packets EXPR accepts
 *   filter-match -H FILE EXPR    print "caplen wirelen hash-of-bytes" of each
 *                                accepted packet instead (to compare with
 *                                the packets tcpdump -w wrote)
 *   filter-match -d LINKTYPE EXPR  print the program as tcpdump -d does
 *
 * The filter is compiled for each packet's own link type.  Exit status 2
 * (and the compiler's message on standard error) when EXPR does not compile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>
#include <netmoon/filter.h>

int main(int argc, char **argv)
{
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	struct netmoon_filter *f = NULL;
	uint32_t f_lt = 0;
	char err[256];
	int r, hash = 0;

	if (argc == 4 && strcmp(argv[1], "-H") == 0) {
		hash = 1;
		argv++;
		argc--;
	}
	if (argc == 4 && strcmp(argv[1], "-d") == 0) {
		char *buf;
		int len;

		r = netmoon_filter_compile(&f, argv[3], (uint32_t)strtoul(argv[2], NULL, 0), 0, err,
					   sizeof(err));
		if (r < 0) {
			fprintf(stderr, "filter-match: %s\n", err);
			return 2;
		}
		len = netmoon_filter_dump(f, NULL, 0);
		buf = malloc((size_t)len + 1);
		if (!buf)
			return 1;
		netmoon_filter_dump(f, buf, (size_t)len + 1);
		fputs(buf, stdout);
		free(buf);
		netmoon_filter_free(f);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: filter-match FILE EXPR | filter-match -d LINKTYPE EXPR\n");
		return 1;
	}
	r = netmoon_capture_open_err(&cap, argv[1], NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "filter-match: %s\n", err);
		return 1;
	}
	while ((r = netmoon_capture_next(cap, &pkt)) == 1) {
		if (!f || pkt->linktype != f_lt) {
			netmoon_filter_free(f);
			f = NULL;
			r = netmoon_filter_compile(&f, argv[2], pkt->linktype, 0, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "filter-match: %s\n", err);
				netmoon_capture_close(cap);
				return 2;
			}
			f_lt = pkt->linktype;
		}
		if (netmoon_filter_match(f, pkt->data, pkt->caplen, pkt->wirelen) != 1)
			continue;
		if (hash) {
			uint64_t h = 14695981039346656037ull;

			for (uint32_t i = 0; i < pkt->caplen; i++)
				h = (h ^ pkt->data[i]) * 1099511628211ull;
			printf("%" PRIu32 " %" PRIu32 " %016" PRIx64 "\n", pkt->caplen, pkt->wirelen, h);
		} else {
			printf("%" PRIu64 "\n", pkt->number);
		}
	}
	netmoon_filter_free(f);
	netmoon_capture_close(cap);
	return r < 0 ? 1 : 0;
}
