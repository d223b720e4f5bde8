/* libFuzzer target: the filter compiler on random and mutated expression text,
 * for several link types; every program compiled must validate, stay within
 * NETMOON_FILTER_MAX_INSNS and run over a packet made of the input bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>
#include <netmoon/filter.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t linktypes[] = { 1, 101, 113, 228, 229, 276 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netmoon_filter *f = NULL;
	char err[256];
	char *expr;

	if (size < 1 || size > 4096)
		return 0;
	expr = malloc(size);
	if (!expr)
		return 0;
	memcpy(expr, data + 1, size - 1);
	expr[size - 1] = '\0';
	if (netmoon_filter_compile(&f, expr, linktypes[data[0] % 6], 0, err, sizeof(err)) == 0) {
		size_t n = netmoon_filter_insn_count(f);

		if (n == 0 || n > NETMOON_FILTER_MAX_INSNS)
			abort();
		/* run it over the expression's own bytes, short and long */
		netmoon_filter_match(f, data, (uint32_t)size, (uint32_t)size);
		netmoon_filter_match(f, data, (uint32_t)(size > 20 ? 20 : size), (uint32_t)size);
		netmoon_filter_free(f);
	} else if (err[0] == '\0') {
		abort(); /* every failure explains itself */
	}
	free(expr);
	return 0;
}
