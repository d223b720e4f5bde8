/* SPDX-License-Identifier: BSD-3-Clause */
/* Error strings, version, and the options-struct helpers. */
#include <errno.h>
#include <string.h>

#include "internal.h"

bool netmoon__opts_valid(const void *opts, size_t lib_sz)
{
	const uint8_t *p = opts;
	size_t sz;

	if (!opts)
		return true;
	memcpy(&sz, opts, sizeof(sz));
	if (sz < sizeof(size_t))
		return false;
	/* A newer caller: what we do not know of must be zero. */
	for (size_t i = lib_sz; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

int netmoon__copy_out(void *dst, const void *src, size_t lib_sz)
{
	size_t sz;

	if (!dst)
		return -EINVAL;
	memcpy(&sz, dst, sizeof(sz));
	if (sz < sizeof(size_t))
		return -EINVAL;
	if (sz > lib_sz) {
		/* A newer caller: zero what we cannot fill. */
		memset((uint8_t *)dst + lib_sz, 0, sz - lib_sz);
		sz = lib_sz;
	}
	memcpy((uint8_t *)dst + sizeof(size_t), (const uint8_t *)src + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}

NETMOON_API const char *netmoon_strerror(int err)
{
	switch (err) {
	case 0:
		return "Success";
	case NETMOON_E_FORMAT:
		return "Not a pcap or pcapng capture (unknown magic number)";
	case NETMOON_E_CORRUPT:
		return "Corrupt capture data";
	case NETMOON_E_TRUNCATED:
		return "Capture truncated in the middle of a record";
	case NETMOON_E_VERSION:
		return "Unsupported capture format version";
	case NETMOON_E_LINKTYPE:
		return "Unsupported link-layer type";
	case NETMOON_E_TABLE_FULL:
		return "Connection table full";
	case NETMOON_E_NOT_SUPPORTED:
		return "Operation not supported";
	case NETMOON_E_BREAK:
		return "Loop interrupted by breakloop";
	default:
		break;
	}
	if (err < 0 && err > NETMOON_E_BASE) {
		/* strerror() is not thread-safe; strerrordesc_np() (glibc 2.32) is. */
		const char *s = strerrordesc_np(-err);

		if (s)
			return s;
	}
	return "Unknown error";
}

NETMOON_API uint32_t netmoon_version(void)
{
	return NETMOON_VERSION_NUMBER;
}

NETMOON_API const char *netmoon_version_string(void)
{
	return NETMOON_VERSION_STRING;
}
