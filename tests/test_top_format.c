/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of netmoon-top's formatting helpers (examples/netmoon-top/format.c)
 * at their edge values: 0, 1, 2^63, UINT64_MAX, widths 0/1/80/300, IPv4-mapped
 * and full-length IPv6 addresses.  Expected strings are worked out by hand.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <netmoon/conntable.h>

#include "format.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define P63 (UINT64_C(1) << 63)

static void test_bytes_units(void **state)
{
	static const struct {
		uint64_t v;
		const char *want, *want_short;
	} cases[] = {
		{ 0, "0 B", "0" },
		{ 1, "1 B", "1" },
		{ 999, "999 B", "999" },
		{ 1000, "1.00 kB", "1.00k" },
		{ 1234, "1.23 kB", "1.23k" },
		{ 9994, "9.99 kB", "9.99k" },
		{ 9995, "10.0 kB", "10.0k" },   /* rounds into the next precision */
		{ 99949, "99.9 kB", "99.9k" },
		{ 99950, "100 kB", "100k" },
		{ 999499, "999 kB", "999k" },
		{ 999500, "1.00 MB", "1.00M" }, /* never "1000 kB" */
		{ 1000000, "1.00 MB", "1.00M" },
		{ 21667, "21.7 kB", "21.7k" },
		{ UINT64_C(1000000000000000000), "1.00 EB", "1.00E" },
		{ P63, "9.22 EB", "9.22E" },
		{ UINT64_MAX, "18.4 EB", "18.4E" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(top_fmt_bytes(buf, sizeof(buf), cases[i].v), strlen(cases[i].want));
		assert_string_equal(buf, cases[i].want);
		top_fmt_bytes_short(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].want_short);
	}
}

/* Every value keeps to the column widths: 7 characters long, 5 short. */
static void test_bytes_widths(void **state)
{
	char buf[32];
	uint64_t v = 1;

	(void)state;
	for (int i = 0; i < 20; i++, v *= 10) {
		uint64_t around[] = { v - 1, v, v + 1, v / 2 * 1 + v * 9 / 10, v * 999 / 1000 + v / 2000 };

		for (size_t k = 0; k < sizeof(around) / sizeof(around[0]); k++) {
			assert_true(top_fmt_bytes(buf, sizeof(buf), around[k]) <= 7);
			assert_true(top_fmt_bytes_short(buf, sizeof(buf), around[k]) <= 5);
		}
	}
	assert_true(top_fmt_bytes_short(buf, sizeof(buf), UINT64_MAX) <= 5);
}

static void test_rate_text(void **state)
{
	char buf[32];

	(void)state;
	top_fmt_rate(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0 B/s");
	top_fmt_rate(buf, sizeof(buf), 1);
	assert_string_equal(buf, "1 B/s");
	top_fmt_rate(buf, sizeof(buf), 1250000);
	assert_string_equal(buf, "1.25 MB/s");
	top_fmt_rate(buf, sizeof(buf), P63);
	assert_string_equal(buf, "9.22 EB/s");
	top_fmt_rate(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "18.4 EB/s");
}

/* Small buffers: nothing written for 0, always NUL-terminated otherwise. */
static void test_small_buffers(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(top_fmt_bytes(buf, 0, 12345), 0);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(top_fmt_bytes(buf, 1, 12345), 0);
	assert_string_equal(buf, "");
	assert_int_equal(top_fmt_bytes(buf, 4, 12345), 3);
	assert_string_equal(buf, "12.");
	assert_int_equal(top_fmt_rate(buf, sizeof(buf), UINT64_MAX), 7);
	assert_string_equal(buf, "18.4 EB");
}

static void test_rtt_and_duration(void **state)
{
	char buf[32];

	(void)state;
	top_fmt_rtt(buf, sizeof(buf), 12345, 0);
	assert_string_equal(buf, "-");
	top_fmt_rtt(buf, sizeof(buf), -1, 1);
	assert_string_equal(buf, "-");
	top_fmt_rtt(buf, sizeof(buf), 0, 1);
	assert_string_equal(buf, "0ns");
	top_fmt_rtt(buf, sizeof(buf), 1, 1);
	assert_string_equal(buf, "1ns");
	top_fmt_rtt(buf, sizeof(buf), 31000, 1);
	assert_string_equal(buf, "31.0us");
	top_fmt_rtt(buf, sizeof(buf), 999500, 1);
	assert_string_equal(buf, "1.00ms");
	top_fmt_rtt(buf, sizeof(buf), 1500000000, 1);
	assert_string_equal(buf, "1.50s");
	top_fmt_rtt(buf, sizeof(buf), INT64_MAX, 1);
	assert_string_equal(buf, "9223372036s");

	top_fmt_duration(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0:00:00");
	top_fmt_duration(buf, sizeof(buf), -S(5));
	assert_string_equal(buf, "0:00:00");
	top_fmt_duration(buf, sizeof(buf), S(1));
	assert_string_equal(buf, "0:00:01");
	top_fmt_duration(buf, sizeof(buf), S(86399));
	assert_string_equal(buf, "23:59:59");
	top_fmt_duration(buf, sizeof(buf), S(86400));
	assert_string_equal(buf, "1d 00:00:00");
	/* 9223372036 s = 106751 days and 85636 s */
	top_fmt_duration(buf, sizeof(buf), INT64_MAX);
	assert_string_equal(buf, "106751d 23:47:16");
}

static void rate(const struct top_rate *r, int64_t now, int64_t win, int64_t origin, uint64_t *o,
		 uint64_t *x)
{
	*o = *x = 12345; /* must be overwritten */
	top_rate_get(r, now, win, origin, o, x);
}

static void test_rate_empty_and_single(void **state)
{
	struct top_rate r;
	uint64_t o, x;

	(void)state;
	memset(&r, 0, sizeof(r));
	rate(&r, S(10), S(2), 0, &o, &x);
	assert_true(o == 0 && x == 0);
	top_rate_init(&r, S(1), 500, 500);
	rate(&r, S(10), S(2), 0, &o, &x);
	assert_true(o == 0 && x == 0); /* one sample says nothing about a rate */
	rate(&r, S(10), 0, 0, &o, &x);
	assert_true(o == 0 && x == 0);
}

/* 100 B/s one way and 300 B/s back, sampled every second: each window sees it. */
static void test_rate_windows(void **state)
{
	struct top_rate r;
	uint64_t o, x;

	(void)state;
	top_rate_init(&r, 0, 0, 0);
	for (int t = 1; t <= 100; t++)
		top_rate_add(&r, S(t), 100u * (unsigned)t, 300u * (unsigned)t);
	assert_int_equal(r.n, TOP_RATE_SLOTS);
	for (int w = 0; w < TOP_RATE_WINDOWS; w++) {
		rate(&r, S(100), top_rate_window_ns[w], 0, &o, &x);
		assert_int_equal(o, 100);
		assert_int_equal(x, 300);
	}
	/* Silence: the same counts for 2 more seconds. */
	top_rate_add(&r, S(101), 10000, 30000);
	top_rate_add(&r, S(102), 10000, 30000);
	rate(&r, S(102), S(2), 0, &o, &x);
	assert_int_equal(o, 0);
	assert_int_equal(x, 0);
	/* 10 s window: 800 B in the last 10 s (from t = 92) */
	rate(&r, S(102), S(10), 0, &o, &x);
	assert_int_equal(o, 80);
	assert_int_equal(x, 240);
	/* 40 s window: 3800 B since t = 62 */
	rate(&r, S(102), S(40), 0, &o, &x);
	assert_int_equal(o, 95);
	assert_int_equal(x, 285);
}

/* A burst is spread over the window, or over the time measured so far. */
static void test_rate_burst(void **state)
{
	struct top_rate r;
	uint64_t o, x;

	(void)state;
	top_rate_init(&r, S(10), 0, 0);
	top_rate_add(&r, S(10) + 1000, 1000, 0); /* 1000 B within a microsecond */
	rate(&r, S(10) + 1000, S(2), 0, &o, &x);
	assert_int_equal(o, 500); /* over 2 s, not 10^9 B/s */
	assert_int_equal(x, 0);
	/* Measuring began at 0, 10 s before: 40 s windows see 10 s. */
	rate(&r, S(10) + 1000, S(40), 0, &o, &x);
	assert_int_equal(o, 100);
	rate(&r, S(10) + 1000, S(40), -S(100), &o, &x);
	assert_int_equal(o, 25);
	/* Measuring began 1 s before: the 40 s window is only 1 s old. */
	rate(&r, S(11), S(40), S(10), &o, &x);
	assert_int_equal(o, 1000);
}

/* Rates never go negative and saturate instead of wrapping. */
static void test_rate_edges(void **state)
{
	struct top_rate r;
	uint64_t o, x;

	(void)state;
	top_rate_init(&r, 0, 0, 0);
	top_rate_add(&r, 1, UINT64_MAX, P63);
	rate(&r, 1, S(2), 0, &o, &x);
	assert_true(o == UINT64_MAX);
	assert_true(x == UINT64_MAX); /* 2^63 B in 1 ns */

	top_rate_init(&r, 0, 0, 0);
	top_rate_add(&r, S(1), P63, P63);
	rate(&r, S(1), S(2), 0, &o, &x);
	assert_true(o == P63 && x == P63); /* 2^63 B in 1 s, 1 s measured */

	/* Counts that go backwards (a wrapped or reused counter) do not make
	 * a negative, that is huge unsigned, rate. */
	top_rate_init(&r, 0, 0, 0);
	top_rate_add(&r, S(1), 1000, 1000);
	top_rate_add(&r, S(2), 10, 10);
	top_rate_add(&r, S(3), 10, 10);
	rate(&r, S(3), S(2), 0, &o, &x);
	assert_int_equal(o, 0);
	assert_int_equal(x, 0);

	/* Time that goes backwards counts as the newest time. */
	top_rate_add(&r, S(1), 2000, 2000);
	assert_true(r.s[r.head].t_ns == S(3));

	/* Samples within one second replace each other, the first stays. */
	top_rate_init(&r, S(5), 0, 0);
	top_rate_add(&r, S(6) + 100, 10, 10);
	top_rate_add(&r, S(6) + 900000000, 20, 20);
	assert_int_equal(r.n, 2);
	assert_true(r.s[r.head].bytes[0] == 20);
	assert_true(r.s[(r.head + TOP_RATE_SLOTS - 1) % TOP_RATE_SLOTS].t_ns == S(5));
}

static void bar(uint64_t o, uint64_t r, uint64_t max, int width, int want_o, int want_r)
{
	int a = -7, b = -7;

	top_bar_split(o, r, max, width, &a, &b);
	assert_int_equal(a, want_o);
	assert_int_equal(b, want_r);
}

static void test_bar(void **state)
{
	(void)state;
	bar(0, 0, 0, 80, 0, 0);
	bar(5, 5, 0, 80, 0, 0);            /* no busiest rate */
	bar(5, 5, 10, 0, 0, 0);            /* width 0 */
	bar(5, 5, 10, -3, 0, 0);
	bar(0, 0, 10, 80, 0, 0);           /* silent */
	bar(1, 0, 1, 1, 1, 0);             /* width 1 */
	bar(0, 1, 1, 1, 0, 1);
	bar(1, 1, 2, 1, 1, 0);             /* one cell: the rounded orig share */
	bar(10, 0, 10, 80, 80, 0);
	bar(5, 5, 10, 80, 40, 40);
	bar(1, 3, 4, 80, 20, 60);
	bar(1, 3, 8, 80, 10, 30);          /* half the busiest */
	bar(1, 0, UINT64_MAX, 80, 1, 0);   /* any traffic shows */
	bar(0, 1, UINT64_MAX, 300, 0, 1);
	bar(P63, P63, UINT64_MAX, 80, 40, 40);
	bar(UINT64_MAX, UINT64_MAX, UINT64_MAX, 300, 150, 150); /* sum above max: capped */
	bar(P63, 0, P63, 300, 300, 0);
	bar(UINT64_MAX, 0, 1, 80, 80, 0);
}

static void ep(int version, const char *text, const char *port, int width, const char *want)
{
	uint8_t a[16] = { 0 };
	char buf[128];
	size_t n;

	assert_int_equal(inet_pton(version == 6 ? AF_INET6 : AF_INET, text, a), 1);
	n = top_fmt_endpoint(buf, sizeof(buf), version, a, port, width);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	assert_true(width <= 0 ? n == 0 : n <= (size_t)width);
}

static void test_endpoints(void **state)
{
	static const char *const full = "2001:db8:1234:5678:9abc:def0:1234:5678";
	static const char *const longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

	(void)state;
	ep(4, "10.0.0.1", "443", 80, "10.0.0.1:443");
	ep(4, "255.255.255.255", "65535", 21, "255.255.255.255:65535");
	ep(4, "10.0.0.1", NULL, 80, "10.0.0.1");
	ep(6, "fd77::1", "8080", 80, "[fd77::1]:8080");
	ep(6, "fd77::1", NULL, 80, "fd77::1");
	ep(6, "::ffff:192.0.2.1", "80", 80, "[::ffff:192.0.2.1]:80");
	ep(6, "::", "0", 300, "[::]:0");
	/* The longest IPv6 text: 39 characters + brackets + :65535 = 47. */
	ep(6, longest, "65535", 47, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ep(6, longest, "65535", 80, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ep(6, longest, "65535", 46, "[ffff:ffff:ffff:ffff~fff:ffff:ffff:ffff]:65535");
	/* 38 characters: 46 in all. */
	ep(6, full, "65535", 46, "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535");
	ep(6, full, "65535", 300, "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535");
	/* One column short: the middle goes, the port stays. */
	ep(6, full, "65535", 45, "[2001:db8:1234:5678~abc:def0:1234:5678]:65535");
	ep(6, full, "65535", 20, "[2001:d~:5678]:65535");
	ep(6, full, NULL, 11, "2001:~:5678");
	ep(4, "192.168.100.200", "44012", 16, "192.1~.200:44012");
	/* Too narrow even for that: the start. */
	ep(6, full, "65535", 9, "[2001:db8");
	ep(6, full, "65535", 1, "[");
	ep(4, "10.0.0.1", "443", 1, "1");
	ep(4, "10.0.0.1", "443", 0, "");
	ep(6, full, "65535", -1, "");
}

/* Rows align: every endpoint fits its column exactly or less. */
static void test_endpoint_column(void **state)
{
	static const char *const v6[] = {
		"::", "::1", "fe80::bc29:ecff:feec:b0bc", "::ffff:10.1.2.3",
		"2001:db8:1234:5678:9abc:def0:1234:5678", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	uint8_t a[16];
	char buf[128];

	(void)state;
	for (int w = 0; w <= 80; w++)
		for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
			assert_int_equal(inet_pton(AF_INET6, v6[i], a), 1);
			assert_true(top_fmt_endpoint(buf, sizeof(buf), 6, a, "65535", w) <= (size_t)w);
			assert_true(strlen(buf) <= (size_t)w);
			assert_true(top_fmt_endpoint(buf, sizeof(buf), 6, a, NULL, w) <= (size_t)w);
		}
	/* A buffer smaller than the width still ends in NUL. */
	assert_int_equal(inet_pton(AF_INET6, v6[4], a), 1);
	assert_int_equal(top_fmt_endpoint(buf, 5, 6, a, "1", 80), 4);
	assert_string_equal(buf, "[200");
}

static void test_ports_protocols_states(void **state)
{
	char buf[64];
	struct servent *se;

	(void)state;
	top_fmt_port(buf, sizeof(buf), 22, 6, 0);
	assert_string_equal(buf, "22");
	top_fmt_port(buf, sizeof(buf), 65535, 17, 0);
	assert_string_equal(buf, "65535");
	/* With names: what the system's services database says, else the number. */
	se = getservbyport(htons(22), "tcp");
	top_fmt_port(buf, sizeof(buf), 22, 6, 1);
	assert_string_equal(buf, se ? se->s_name : "22");
	top_fmt_port(buf, sizeof(buf), 8, 1, 1); /* ICMP: never a service */
	assert_string_equal(buf, "8");

	top_fmt_proto(buf, sizeof(buf), 6);
	assert_string_equal(buf, "tcp");
	top_fmt_proto(buf, sizeof(buf), 17);
	assert_string_equal(buf, "udp");
	top_fmt_proto(buf, sizeof(buf), 1);
	assert_string_equal(buf, "icmp");
	top_fmt_proto(buf, sizeof(buf), 58);
	assert_string_equal(buf, "icmp6");
	top_fmt_proto(buf, sizeof(buf), 255);
	assert_string_equal(buf, "255");

	assert_string_equal(top_state_words(NETMOON_CONN_SYN_SENT), "syn sent");
	assert_string_equal(top_state_words(NETMOON_CONN_ESTABLISHED), "established");
	assert_string_equal(top_state_words(NETMOON_CONN_TIME_WAIT), "time wait");
	assert_string_equal(top_state_words(NETMOON_CONN_RESET), "reset");
	assert_string_equal(top_state_words(NETMOON_CONN_ACTIVE), "active");
	assert_string_equal(top_state_words(0), "?");
	assert_string_equal(top_state_words(-1), "?");
	assert_string_equal(top_state_words(1000), "?");
	for (int s = NETMOON_CONN_SYN_SENT; s <= NETMOON_CONN_EXPIRED; s++)
		assert_true(strlen(top_state_words(s)) <= 11); /* the state column */
	assert_true(top_state_closed(NETMOON_CONN_RESET));
	assert_true(top_state_closed(NETMOON_CONN_TIME_WAIT));
	assert_false(top_state_closed(NETMOON_CONN_ESTABLISHED));
	assert_false(top_state_closed(NETMOON_CONN_ACTIVE));
}

static void test_match(void **state)
{
	(void)state;
	assert_true(top_match("10.0.0.1:443 time wait", NULL));
	assert_true(top_match("10.0.0.1:443 time wait", ""));
	assert_true(top_match("10.0.0.1:443 time wait", ":443"));
	assert_true(top_match("[fd77::1]:8080 ESTABLISHED", "establ"));
	assert_true(top_match("[FD77::1]:8080", "fd77::1"));
	assert_true(top_match("abc", "abc"));
	assert_false(top_match("abc", "abcd"));
	assert_false(top_match("10.0.0.1:443", "5353"));
	assert_false(top_match("", "x"));
	assert_false(top_match(NULL, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_units),
		cmocka_unit_test(test_bytes_widths),
		cmocka_unit_test(test_rate_text),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_rtt_and_duration),
		cmocka_unit_test(test_rate_empty_and_single),
		cmocka_unit_test(test_rate_windows),
		cmocka_unit_test(test_rate_burst),
		cmocka_unit_test(test_rate_edges),
		cmocka_unit_test(test_bar),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_endpoint_column),
		cmocka_unit_test(test_ports_protocols_states),
		cmocka_unit_test(test_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
