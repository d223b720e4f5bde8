/*
 * libFuzzer target: the pcap/pcapng reader from memory, every packet decoded
 * (netmoon_capture_next_frame()).  One input in eight is also read with a
 * walker thread (read_thread), which must give the same packets, frames, end
 * status and message as the inline read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACKETS 100000

/* What a read gives: enough to compare two reads of the same bytes. */
struct outcome {
	int open_rc, end;
	uint64_t packets, digest, offset;
	char msg[512];
};

static void read_all(const uint8_t *buf, size_t size, int walk, struct outcome *o)
{
	NETMOON_OPTS(netmoon_capture_file_opts, opts, .read_thread = walk);
	NETMOON_OPTS(netmoon_capture_stats, st);
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	const struct netmoon_frame *fr;
	int r = 0;

	memset(o, 0, sizeof(*o));
	o->open_rc = netmoon_capture_open_mem(&cap, buf, size, &opts);
	if (o->open_rc)
		return;
	while (o->packets < MAX_PACKETS && (r = netmoon_capture_next_frame(cap, &pkt, &fr)) == 1) {
		const uint8_t *fb = (const uint8_t *)fr;

		o->packets++;
		o->digest = o->digest * 31 + (uint64_t)(pkt->data - buf) + pkt->caplen;
		o->digest = o->digest * 31 + pkt->wirelen + (uint64_t)pkt->ts_ns + pkt->ifindex;
		o->digest = o->digest * 31 + pkt->linktype;
		for (size_t i = 0; i < sizeof(*fr); i++)
			o->digest = o->digest * 131 + fb[i];
	}
	o->end = r;
	snprintf(o->msg, sizeof(o->msg), "%s", netmoon_capture_errmsg(cap));
	netmoon_capture_get_stats(cap, &st);
	o->offset = st.file_offset;
	netmoon_capture_close(cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	read_all(copy, size, 0, &a);
	if (size % 8 == 0) {
		read_all(copy, size, 1, &b);
		if (a.open_rc != b.open_rc || a.end != b.end || a.packets != b.packets ||
		    a.digest != b.digest || a.offset != b.offset || strcmp(a.msg, b.msg) != 0) {
			fprintf(stderr, "walker differs: open %d/%d end %d/%d packets %llu/%llu "
				"offset %llu/%llu msg \"%s\" / \"%s\"\n", a.open_rc, b.open_rc, a.end,
				b.end, (unsigned long long)a.packets, (unsigned long long)b.packets,
				(unsigned long long)a.offset, (unsigned long long)b.offset, a.msg,
				b.msg);
			abort();
		}
	}
	free(copy);
	return 0;
}
