/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a fuzz input as a stream of little-endian integers, for the
 * targets that turn it into a sequence of operations: past its end every
 * read gives 0, so any input is a valid program.
 */
#ifndef NETMOON_FUZZ_INPUT_H
#define NETMOON_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t get16(struct in *in)
{
	uint16_t lo = get8(in);

	return (uint16_t)(lo | (uint16_t)get8(in) << 8);
}

static inline uint32_t get32(struct in *in)
{
	uint32_t lo = get16(in);

	return lo | (uint32_t)get16(in) << 16;
}

static inline uint64_t get64(struct in *in)
{
	uint64_t lo = get32(in);

	return lo | (uint64_t)get32(in) << 32;
}

/* a + b, saturated: time stamps built from fuzz values never overflow. */
static inline int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

#endif
