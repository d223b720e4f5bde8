/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Byte writers for the capture tests: a growing buffer and little- or
 * big-endian integers, to build capture files in code.  Included by the
 * test suites that need it (static inline: each takes what it uses).
 * Include after <cmocka.h>.
 */
#ifndef NETMOON_TESTS_TBUF_H
#define NETMOON_TESTS_TBUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TBUF_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TBUF_LSAN 1
#endif
#endif
#ifdef TBUF_LSAN
#include <sanitizer/lsan_interface.h>
#endif

struct tbuf {
	uint8_t *p;
	size_t len, cap;
};

static inline void tb_put(struct tbuf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;

		while (nc < b->len + n)
			nc *= 2;
#ifdef TBUF_LSAN
		/* A test failing in a forked child leaves its input behind: not
		 * a leak of the library's. */
		__lsan_disable();
#endif
		b->p = realloc(b->p, nc);
#ifdef TBUF_LSAN
		__lsan_enable();
#endif
		assert_non_null(b->p);
		b->cap = nc;
	}
	if (d && n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void tb_uint(struct tbuf *b, uint64_t v, int bytes, bool be)
{
	uint8_t d[8];

	for (int i = 0; i < bytes; i++)
		d[be ? bytes - 1 - i : i] = (uint8_t)(v >> (8 * i));
	tb_put(b, d, (size_t)bytes);
}

static inline void tb_u8(struct tbuf *b, uint8_t v)
{
	tb_put(b, &v, 1);
}

static inline void tb_u16(struct tbuf *b, uint16_t v, bool be)
{
	tb_uint(b, v, 2, be);
}

static inline void tb_u32(struct tbuf *b, uint32_t v, bool be)
{
	tb_uint(b, v, 4, be);
}

static inline void tb_u64(struct tbuf *b, uint64_t v, bool be)
{
	tb_uint(b, v, 8, be);
}

static inline void tb_pad4(struct tbuf *b)
{
	static const uint8_t zero[3];

	tb_put(b, zero, (4 - b->len % 4) % 4);
}

static inline void tb_free(struct tbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Packet bytes: byte i of the packet with seed s is (s * 7 + i) mod 256. */
static inline void tb_pattern(struct tbuf *b, size_t n, uint32_t seed)
{
	size_t at = b->len;

	tb_put(b, NULL, n);
	for (size_t i = 0; i < n; i++)
		b->p[at + i] = (uint8_t)(seed * 7 + i);
}

static inline bool pattern_ok(const uint8_t *d, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] != (uint8_t)(seed * 7 + i))
			return false;
	return true;
}

#endif
