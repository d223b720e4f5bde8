/* libFuzzer target: the frame parser over every supported link type, and the
 * connection table fed with whatever it decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t linktypes[] = { 0, 1, 12, 14, 101, 113, 228, 229, 276 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	NETMOON_OPTS(netmoon_frame, f);
	NETMOON_OPTS(netmoon_conntable_opts, opts, .max_conns = 64);
	struct netmoon_conntable *ct;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* An exact-size copy so any over-read is caught by ASan. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (netmoon_conntable_new(&ct, &opts) == 0) {
		uint32_t lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];

		netmoon_frame_parse(&f, lt, copy, (uint32_t)(size - 1), (uint32_t)(size - 1) + (data[0] >> 4));
		netmoon_conntable_track(ct, &f, (int64_t)data[0] * 1000000000, NULL);
		netmoon_conntable_free(ct);
	}
	free(copy);
	return 0;
}
