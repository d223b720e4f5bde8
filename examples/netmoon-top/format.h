/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-top's formatting helpers: pure functions, no curses and no
 * library calls, so that tests/test_top_format.c can drive them at their
 * edge values.  Every string function writes a NUL-terminated string of at
 * most len - 1 bytes (nothing when len is 0) and returns its length.
 */
#ifndef NETMOON_TOP_FORMAT_H
#define NETMOON_TOP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Byte counts: "0 B", "999 B", "1.00 kB", "12.3 MB", "18.4 EB" (powers of
 * 1000, three significant digits, at most 7 characters). */
size_t top_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* The same in at most 5 characters for table cells: "999", "1.00k", "12.3M",
 * "18.4E". */
size_t top_fmt_bytes_short(char *buf, size_t len, uint64_t bytes);

/* Rates in bytes per second: top_fmt_bytes() followed by "/s". */
size_t top_fmt_rate(char *buf, size_t len, uint64_t bytes_per_sec);

/* A round-trip time: "-" when !valid or negative, "850ns", "123us",
 * "12.3ms", "1.23s", "123s" (at most 6 characters below 1000 s). */
size_t top_fmt_rtt(char *buf, size_t len, int64_t ns, int valid);

/* A duration: "0:00:05", "12:34:56", "3d 04:05:06"; negative is 0. */
size_t top_fmt_duration(char *buf, size_t len, int64_t ns);

/* Rate history of one connection, as iftop keeps it: cumulative byte counts
 * of both directions sampled at most once per second of capture time, so that
 * the average over the last 2, 10 or 40 s is a difference of two samples. */
#define TOP_RATE_SLOTS 42
#define TOP_RATE_WINDOWS 3
extern const int64_t top_rate_window_ns[TOP_RATE_WINDOWS]; /* 2 s, 10 s, 40 s */

struct top_rate_sample {
	int64_t t_ns;
	uint64_t bytes[2]; /* [0] orig -> resp, [1] resp -> orig */
};

struct top_rate {
	struct top_rate_sample s[TOP_RATE_SLOTS];
	unsigned head; /* index of the newest sample */
	unsigned n;    /* samples held */
};

/* Start a history with a first sample (a new connection: t = its first
 * packet, counts 0). */
void top_rate_init(struct top_rate *r, int64_t t_ns, uint64_t orig, uint64_t resp);

/* Add a sample.  A sample within the same second as the newest one replaces
 * it; a time before the newest is treated as the newest; counts that go
 * backwards are kept at the newest ones (rates never go negative). */
void top_rate_add(struct top_rate *r, int64_t t_ns, uint64_t orig, uint64_t resp);

/* Average rate of each direction, in bytes per second, over the last
 * @p window_ns before @p now_ns: the bytes counted since the newest sample
 * at or before now_ns - window_ns (the oldest sample when none is that
 * old), divided by the time since that sample, but by no less than the
 * window, or than now_ns - origin_ns (when measuring started) when that is
 * shorter.  A connection silent since its last sample thus decays to 0.
 * 0 when the history has fewer than two samples or the span is not
 * positive; UINT64_MAX at most. */
void top_rate_get(const struct top_rate *r, int64_t now_ns, int64_t window_ns, int64_t origin_ns,
		  uint64_t *orig_bps, uint64_t *resp_bps);

/* A bar for a connection moving @p orig + @p resp bytes per second, when the
 * busiest connection moves @p max: round((orig + resp) / max * width) cells,
 * at least 1 for any traffic, split between the directions in proportion
 * (the orig share rounded, the rest to resp).  Both 0 when width <= 0 or
 * max is 0; never more than width in total. */
void top_bar_split(uint64_t orig, uint64_t resp, uint64_t max, int width, int *orig_cells,
		   int *resp_cells);

/* An address: IPv4 dotted, IPv6 as inet_ntop writes it (IPv4-mapped as
 * "::ffff:1.2.3.4"). */
size_t top_fmt_addr(char *buf, size_t len, int ip_version, const uint8_t addr[16]);

/* An endpoint fitted in at most @p width columns: "10.0.0.1:443",
 * "[fd00::1]:443", or the address alone when @p port is NULL (ICMP).  When
 * too long, the middle of the address gives way to "~" and the port stays
 * whole; width <= 0 gives "". */
size_t top_fmt_endpoint(char *buf, size_t len, int ip_version, const uint8_t addr[16],
			const char *port, int width);

/* A port as text: the number, or with @p resolve the service name of
 * getservbyport(3) for TCP (6) and UDP (17) when there is one. Not
 * thread-safe (getservbyport). */
size_t top_fmt_port(char *buf, size_t len, unsigned port, int proto, int resolve);

/* Protocol name: "tcp", "udp", "icmp", "icmp6", "sctp", or the number. */
size_t top_fmt_proto(char *buf, size_t len, int proto);

/* enum netmoon_conn_state in words: "syn sent", "established", "time wait",
 * "reset", "active", ...; "?" for an unknown value. */
const char *top_state_words(int state);

/* Whether enum netmoon_conn_state @p state means the connection has ended. */
int top_state_closed(int state);

/* Case-insensitive substring match; an empty or NULL needle matches. */
int top_match(const char *haystack, const char *needle);

#endif /* NETMOON_TOP_FORMAT_H */
