/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal helpers shared by the library's sources.  Never installed.
 */
#ifndef NETMOON_INTERNAL_H
#define NETMOON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netmoon/netmoon.h>

#define netmoon__likely(x) __builtin_expect(!!(x), 1)
#define netmoon__unlikely(x) __builtin_expect(!!(x), 0)

#define netmoon__offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/*
 * Options structs (libbpf's model): the caller's sz may be smaller than ours
 * (an older caller: missing members are defaults) or larger (a newer caller:
 * every byte we do not know must be zero, or we refuse).
 */
bool netmoon__opts_valid(const void *opts, size_t lib_sz);

#define OPTS_VALID(opts, type) netmoon__opts_valid((opts), sizeof(struct type))
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= netmoon__offsetofend(__typeof__(*(opts)), field))
#define OPTS_GET(opts, field, fallback) (OPTS_HAS(opts, field) ? (opts)->field : (fallback))

/*
 * Output structs: the library fills a full struct of its own, then copies as
 * many bytes as the caller's struct has (its sz), keeping the caller's sz.
 * Returns -EINVAL when dst is NULL or its sz cannot even hold sz.
 */
int netmoon__copy_out(void *dst, const void *src, size_t lib_sz);

/*
 * Large zeroed tables (the connection table's entries and buckets): an
 * anonymous mapping advised to use transparent huge pages, so that random
 * lookups do not also miss the TLB; pages are still only touched as used.
 * Falls back to calloc() for small sizes.  Returns NULL on overflow or when
 * out of memory; free with netmoon__big_free() and the same sizes.
 */
void *netmoon__big_calloc(size_t n, size_t size);
void netmoon__big_free(void *p, size_t n, size_t size);

static inline uint16_t netmoon__rd16be(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t netmoon__rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t netmoon__rd16le(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

static inline uint32_t netmoon__rd32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#endif /* NETMOON_INTERNAL_H */
