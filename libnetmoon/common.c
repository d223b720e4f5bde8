/* SPDX-License-Identifier: BSD-3-Clause */
/* Error strings, version, and the options-struct helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Below this, calloc(): a huge page would mostly be wasted. */
#define BIG_MIN ((size_t)2 << 20)

#define HUGE_ALIGN ((size_t)2 << 20)

void *netmoon__big_calloc(size_t n, size_t size)
{
	uint8_t *p, *a;
	size_t len, head;

	if (size && n > SIZE_MAX / size)
		return NULL;
	len = n * size;
	if (len < BIG_MIN)
		return calloc(n ? n : 1, size ? size : 1);
	if (len > SIZE_MAX - HUGE_ALIGN)
		return NULL;
	/* Over-map, then trim to a 2 MiB boundary so huge pages can back it all. */
	p = mmap(NULL, len + HUGE_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
	head = (size_t)(a - p);
	if (head)
		munmap(p, head);
	if (HUGE_ALIGN - head)
		munmap(a + len, HUGE_ALIGN - head);
#ifdef MADV_HUGEPAGE
	(void)madvise(a, len, MADV_HUGEPAGE); /* advice only: fine if refused */
#endif
	return a;
}

void netmoon__big_free(void *p, size_t n, size_t size)
{
	if (!p)
		return;
	if (n * size < BIG_MIN)
		free(p);
	else
		munmap(p, n * size);
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
	case NETMOON_E_NO_CAPABILITY:
		return "Live capture needs CAP_NET_RAW (run as root or grant the capability)";
	case NETMOON_E_RING:
		return "Capture ring too large for the memory limits";
	case NETMOON_E_FANOUT:
		return "Fanout group already exists with other settings";
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
