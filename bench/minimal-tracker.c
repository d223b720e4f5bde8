/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * minimal-tracker: the "competent minimal flow tracker" baseline.
 *
 * What a careful programmer writes in an afternoon: read() the pcap file
 * into a 1 MiB buffer, parse Ethernet (with stacked VLAN tags), IPv4, IPv6
 * (fixed header only), TCP and UDP ports, and count packets and bytes per
 * bidirectional flow in one open-addressing hash table.  No state machine,
 * no timeouts, no bounds on memory: it is what libnetmoon's extra work is
 * measured against, so it is kept honest (bounds-checked, correct keys)
 * but deliberately simple.
 *
 *   minimal-tracker FILE
 *
 * Prints one line: bench: tool=minimal-tracker packets=N seconds=S flows=F ...
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1u << 20)

/* A flow key with both endpoints in a fixed order, so both directions match. */
struct key {
	uint8_t a[16], b[16];
	uint16_t port_a, port_b;
	uint16_t vlan;
	uint8_t version, proto;
};

struct entry {
	struct key k;
	uint64_t packets; /* 0: free slot */
	uint64_t bytes;
};

struct table {
	struct entry *e;
	size_t mask;
	size_t used;
};

static uint64_t hash_key(const struct key *k)
{
	uint64_t w[5], h = 0x9e3779b97f4a7c15ull;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static int table_init(struct table *t, size_t slots)
{
	t->e = calloc(slots, sizeof(*t->e));
	t->mask = slots - 1;
	t->used = 0;
	return t->e ? 0 : -ENOMEM;
}

static struct entry *table_slot(struct table *t, const struct key *k)
{
	size_t i = hash_key(k) & t->mask;

	while (t->e[i].packets && memcmp(&t->e[i].k, k, sizeof(*k)) != 0)
		i = (i + 1) & t->mask;
	return &t->e[i];
}

static int table_grow(struct table *t)
{
	struct table n;
	size_t i;

	if (table_init(&n, (t->mask + 1) * 2) < 0)
		return -ENOMEM;
	for (i = 0; i <= t->mask; i++) {
		if (t->e[i].packets) {
			*table_slot(&n, &t->e[i].k) = t->e[i];
			n.used++;
		}
	}
	free(t->e);
	*t = n;
	return 0;
}

static int table_add(struct table *t, const struct key *k, uint32_t wirelen)
{
	struct entry *e = table_slot(t, k);

	if (!e->packets) {
		/* keep the load under 3/4 so probes stay short */
		if ((t->used + 1) * 4 > (t->mask + 1) * 3) {
			if (table_grow(t) < 0)
				return -ENOMEM;
			e = table_slot(t, k);
		}
		e->k = *k;
		t->used++;
	}
	e->packets++;
	e->bytes += wirelen;
	return 0;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Fill k from one Ethernet frame; returns 0 when it has an IP header. */
static int parse(const uint8_t *p, uint32_t len, struct key *k)
{
	const uint8_t *src, *dst;
	uint32_t off = 14, alen, l4;
	uint16_t type, sport = 0, dport = 0;
	int swap;

	if (len < 14)
		return -1;
	memset(k, 0, sizeof(*k));
	type = rd16(p + 12);
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
		if (len < off + 4)
			return -1;
		if (!k->vlan)
			k->vlan = rd16(p + off) & 0x0fff;
		type = rd16(p + off + 2);
		off += 4;
	}
	if (type == 0x0800) {
		uint32_t ihl;

		if (len < off + 20 || p[off] >> 4 != 4)
			return -1;
		ihl = (p[off] & 0x0f) * 4u;
		if (ihl < 20 || len < off + ihl)
			return -1;
		k->version = 4;
		k->proto = p[off + 9];
		src = p + off + 12;
		dst = p + off + 16;
		alen = 4;
		/* only the first fragment carries ports */
		l4 = (rd16(p + off + 6) & 0x1fff) ? 0 : off + ihl;
	} else if (type == 0x86dd) {
		if (len < off + 40 || p[off] >> 4 != 6)
			return -1;
		k->version = 6;
		k->proto = p[off + 6];
		src = p + off + 8;
		dst = p + off + 24;
		alen = 16;
		l4 = off + 40;
	} else {
		return -1;
	}
	if (l4 && (k->proto == 6 || k->proto == 17) && len >= l4 + 4) {
		sport = rd16(p + l4);
		dport = rd16(p + l4 + 2);
	}
	swap = memcmp(src, dst, alen) > 0 || (memcmp(src, dst, alen) == 0 && sport > dport);
	memcpy(k->a, swap ? dst : src, alen);
	memcpy(k->b, swap ? src : dst, alen);
	k->port_a = swap ? dport : sport;
	k->port_b = swap ? sport : dport;
	return 0;
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Move the unread tail to the front and read more; returns bytes read, 0 at EOF. */
static ssize_t refill(int fd, uint8_t *buf, size_t *have, size_t *pos)
{
	ssize_t n;

	memmove(buf, buf + *pos, *have - *pos);
	*have -= *pos;
	*pos = 0;
	do
		n = read(fd, buf + *have, BUF_SIZE - *have);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		*have += (size_t)n;
	return n;
}

int main(int argc, char **argv)
{
	uint64_t packets = 0, bytes = 0, untracked = 0;
	size_t have = 0, pos = 0;
	struct table t = { 0 };
	uint8_t *buf;
	uint32_t magic;
	double t0, secs;
	int fd, swap, eof = 0, rc = 2;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 1;
	}
	t0 = now_sec();
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "minimal-tracker: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	buf = malloc(BUF_SIZE);
	if (!buf || table_init(&t, 1u << 16) < 0) {
		fprintf(stderr, "minimal-tracker: out of memory\n");
		goto out;
	}

	while (have < 24) {
		ssize_t n = refill(fd, buf, &have, &pos);

		if (n <= 0) {
			fprintf(stderr, "minimal-tracker: %s: no pcap file header\n", argv[1]);
			goto out;
		}
	}
	memcpy(&magic, buf, 4);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		swap = 0;
	} else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
		swap = 1;
	} else {
		fprintf(stderr, "minimal-tracker: %s: not a pcap file\n", argv[1]);
		goto out;
	}
	if (rd32(buf + 20, swap) != 1) {
		fprintf(stderr, "minimal-tracker: %s: only Ethernet captures\n", argv[1]);
		goto out;
	}
	pos = 24;

	for (;;) {
		size_t avail = have - pos;
		uint32_t caplen = 0, wirelen;
		struct key k;

		if (avail >= 16) {
			caplen = rd32(buf + pos + 8, swap);
			if (caplen > BUF_SIZE - 16) {
				fprintf(stderr, "minimal-tracker: record of %u bytes\n", caplen);
				goto out;
			}
		}
		if (avail < 16 || avail < 16 + (size_t)caplen) {
			ssize_t n;

			if (eof)
				break; /* a truncated last record is ignored */
			n = refill(fd, buf, &have, &pos);
			if (n < 0) {
				fprintf(stderr, "minimal-tracker: read: %s\n", strerror(errno));
				goto out;
			}
			eof = n == 0;
			continue;
		}
		wirelen = rd32(buf + pos + 12, swap);
		packets++;
		bytes += wirelen;
		if (parse(buf + pos + 16, caplen, &k) == 0) {
			if (table_add(&t, &k, wirelen) < 0) {
				fprintf(stderr, "minimal-tracker: out of memory\n");
				goto out;
			}
		} else {
			untracked++;
		}
		pos += 16 + (size_t)caplen;
	}
	secs = now_sec() - t0;
	printf("bench: tool=minimal-tracker packets=%" PRIu64 " seconds=%.6f pps=%.0f "
	       "ns_per_packet=%.2f flows=%zu bytes=%" PRIu64 " untracked=%" PRIu64 "\n",
	       packets, secs, secs > 0 ? (double)packets / secs : 0.0,
	       packets ? secs * 1e9 / (double)packets : 0.0, t.used, bytes, untracked);
	rc = 0;
out:
	close(fd);
	free(t.e);
	free(buf);
	return rc;
}
