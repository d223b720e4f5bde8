/* libFuzzer target: the pcap/pcapng reader from memory, every packet parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	NETMOON_OPTS(netmoon_frame, f);
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	uint8_t *copy = malloc(size ? size : 1);
	int n = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (netmoon_capture_open_mem(&cap, copy, size, NULL) == 0) {
		while (n++ < 100000 && netmoon_capture_next(cap, &pkt) == 1)
			netmoon_frame_parse(&f, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen);
		netmoon_capture_close(cap);
	}
	free(copy);
	return 0;
}
