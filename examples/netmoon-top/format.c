/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-top's formatting helpers (see format.h).  Pure code: the only
 * outside calls are inet_ntop() and getservbyport().
 */
#include "format.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netmoon/conntable.h>

const int64_t top_rate_window_ns[TOP_RATE_WINDOWS] = {
	2000000000LL, 10000000000LL, 40000000000LL,
};

/* snprintf that reports what it really wrote. */
__attribute__((format(printf, 3, 4)))
static size_t put(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!len)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}

/*
 * Three significant digits with a unit that steps by 1000: the value is
 * scaled until it rounds below 1000 in the chosen precision, so 999.5 k
 * becomes "1.00 M", never "1000 k".
 */
static size_t sig3(char *buf, size_t len, uint64_t v, const char *const *units, int nunits,
		   const char *sep, const char *suffix)
{
	double x;
	int u;

	if (v < 1000)
		return put(buf, len, "%" PRIu64 "%s%s%s", v, sep, units[0], suffix);
	x = (double)v;
	for (u = 1; u < nunits; u++) {
		x /= 1000.0;
		if (x < 9.995)
			return put(buf, len, "%.2f%s%s%s", x, sep, units[u], suffix);
		if (x < 99.95)
			return put(buf, len, "%.1f%s%s%s", x, sep, units[u], suffix);
		if (x < 999.5 || u == nunits - 1)
			return put(buf, len, "%.0f%s%s%s", x, sep, units[u], suffix);
	}
	return put(buf, len, "?");
}

static const char *const byte_units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
static const char *const short_units[] = { "", "k", "M", "G", "T", "P", "E" };

size_t top_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	return sig3(buf, len, bytes, byte_units, 7, " ", "");
}

size_t top_fmt_bytes_short(char *buf, size_t len, uint64_t bytes)
{
	return sig3(buf, len, bytes, short_units, 7, "", "");
}

size_t top_fmt_rate(char *buf, size_t len, uint64_t bytes_per_sec)
{
	return sig3(buf, len, bytes_per_sec, byte_units, 7, " ", "/s");
}

size_t top_fmt_rtt(char *buf, size_t len, int64_t ns, int valid)
{
	static const char *const time_units[] = { "ns", "us", "ms", "s" };

	if (!valid || ns < 0)
		return put(buf, len, "-");
	if (ns >= 1000000000000LL)
		return put(buf, len, "%" PRId64 "s", ns / 1000000000);
	return sig3(buf, len, (uint64_t)ns, time_units, 4, "", "");
}

size_t top_fmt_duration(char *buf, size_t len, int64_t ns)
{
	int64_t s = ns > 0 ? ns / 1000000000 : 0;
	int64_t d = s / 86400;

	s %= 86400;
	if (d)
		return put(buf, len, "%" PRId64 "d %02d:%02d:%02d", d, (int)(s / 3600),
			   (int)(s / 60 % 60), (int)(s % 60));
	return put(buf, len, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

/* ------------------------------------------------------------------ rates */

void top_rate_init(struct top_rate *r, int64_t t_ns, uint64_t orig, uint64_t resp)
{
	memset(r, 0, sizeof(*r));
	r->s[0].t_ns = t_ns;
	r->s[0].bytes[0] = orig;
	r->s[0].bytes[1] = resp;
	r->n = 1;
}

/* Seconds since the epoch, rounded down also before it. */
static int64_t second_of(int64_t t_ns)
{
	return t_ns >= 0 ? t_ns / 1000000000 : -((-t_ns + 999999999) / 1000000000);
}

void top_rate_add(struct top_rate *r, int64_t t_ns, uint64_t orig, uint64_t resp)
{
	struct top_rate_sample *last;

	if (!r->n) {
		top_rate_init(r, t_ns, orig, resp);
		return;
	}
	last = &r->s[r->head];
	if (t_ns < last->t_ns)
		t_ns = last->t_ns;
	if (orig < last->bytes[0])
		orig = last->bytes[0];
	if (resp < last->bytes[1])
		resp = last->bytes[1];
	/* One sample per second, except that the first (the connection's
	 * start) is never replaced: it anchors young connections' rates. */
	if (r->n > 1 && second_of(t_ns) == second_of(last->t_ns)) {
		last->t_ns = t_ns;
		last->bytes[0] = orig;
		last->bytes[1] = resp;
		return;
	}
	r->head = (r->head + 1) % TOP_RATE_SLOTS;
	if (r->n < TOP_RATE_SLOTS)
		r->n++;
	r->s[r->head].t_ns = t_ns;
	r->s[r->head].bytes[0] = orig;
	r->s[r->head].bytes[1] = resp;
}

static uint64_t per_second(uint64_t delta, int64_t span_ns)
{
	double v = (double)delta * 1e9 / (double)span_ns;

	/* 2^64 is exactly representable; anything at or above it saturates. */
	return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)(v + 0.5);
}

void top_rate_get(const struct top_rate *r, int64_t now_ns, int64_t window_ns, int64_t origin_ns,
		  uint64_t *orig_bps, uint64_t *resp_bps)
{
	const struct top_rate_sample *newest, *base;
	int64_t start = now_ns - window_ns, span, least;
	unsigned i;

	*orig_bps = *resp_bps = 0;
	if (!r->n || window_ns <= 0)
		return;
	newest = &r->s[r->head];
	/* Walk from newest to oldest; stop at the first sample old enough. */
	base = newest;
	for (i = 0; i < r->n; i++) {
		base = &r->s[(r->head + TOP_RATE_SLOTS - i) % TOP_RATE_SLOTS];
		if (base->t_ns <= start)
			break;
	}
	if (base == newest)
		return;
	if (now_ns < newest->t_ns)
		now_ns = newest->t_ns;
	/* The bytes since base are spread over the whole window (as iftop
	 * does: a 100-byte burst is not 100 bytes per microsecond), or over
	 * the time measured so far when that is shorter; over more when the
	 * base is older than the window, which is what the samples can say. */
	span = now_ns - base->t_ns;
	least = now_ns - origin_ns < window_ns ? now_ns - origin_ns : window_ns;
	if (span < least)
		span = least;
	if (span <= 0)
		return;
	*orig_bps = per_second(newest->bytes[0] - base->bytes[0], span);
	*resp_bps = per_second(newest->bytes[1] - base->bytes[1], span);
}

/* ------------------------------------------------------------------- bars */

void top_bar_split(uint64_t orig, uint64_t resp, uint64_t max, int width, int *orig_cells,
		   int *resp_cells)
{
	double total = (double)orig + (double)resp;
	double cells;
	int n, o;

	*orig_cells = *resp_cells = 0;
	if (width <= 0 || max == 0 || total <= 0)
		return;
	cells = total / (double)max * width + 0.5;
	n = cells >= width ? width : (int)cells;
	if (n < 1)
		n = 1;
	o = (int)((double)orig / total * n + 0.5);
	if (o > n)
		o = n;
	*orig_cells = o;
	*resp_cells = n - o;
}

/* -------------------------------------------------------------- endpoints */

size_t top_fmt_addr(char *buf, size_t len, int ip_version, const uint8_t addr[16])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a)))
		return put(buf, len, "?");
	return put(buf, len, "%s", a);
}

size_t top_fmt_endpoint(char *buf, size_t len, int ip_version, const uint8_t addr[16],
			const char *port, int width)
{
	char a[INET6_ADDRSTRLEN + 8], tail[48];
	size_t alen, tlen, keep, head;
	int v6 = ip_version == 6;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (width <= 0)
		return 0;
	top_fmt_addr(a, sizeof(a), ip_version, addr);
	alen = strlen(a);
	tlen = port ? put(tail, sizeof(tail), "%s:%s", v6 ? "]" : "", port) : 0;
	if (!port)
		tail[0] = '\0';
	if ((size_t)v6 * !!port + alen + tlen <= (size_t)width)
		return put(buf, len, "%s%s%s", v6 && port ? "[" : "", a, tail);
	/* Too long: keep the port whole when it fits with a few address
	 * characters, and cut the address in the middle. */
	if (tlen + (port && v6) + 3 > (size_t)width) {
		/* Not even that: the start of the whole string. */
		char whole[sizeof(a) + sizeof(tail) + 1];

		put(whole, sizeof(whole), "%s%s%s", v6 && port ? "[" : "", a, tail);
		return put(buf, len, "%.*s", width, whole);
	}
	keep = (size_t)width - tlen - (port && v6) - 1; /* address characters kept */
	head = (keep + 1) / 2;
	return put(buf, len, "%s%.*s~%s%s", v6 && port ? "[" : "", (int)head, a,
		   a + alen - (keep - head), tail);
}

size_t top_fmt_port(char *buf, size_t len, unsigned port, int proto, int resolve)
{
	if (resolve && (proto == 6 || proto == 17)) {
		struct servent *se = getservbyport(htons((uint16_t)port), proto == 6 ? "tcp" : "udp");

		if (se && se->s_name)
			return put(buf, len, "%s", se->s_name);
	}
	return put(buf, len, "%u", port);
}

size_t top_fmt_proto(char *buf, size_t len, int proto)
{
	switch (proto) {
	case 1: return put(buf, len, "icmp");
	case 6: return put(buf, len, "tcp");
	case 17: return put(buf, len, "udp");
	case 58: return put(buf, len, "icmp6");
	case 132: return put(buf, len, "sctp");
	default: return put(buf, len, "%d", proto);
	}
}

const char *top_state_words(int state)
{
	switch (state) {
	case NETMOON_CONN_SYN_SENT: return "syn sent";
	case NETMOON_CONN_SYN_RECV: return "syn recv";
	case NETMOON_CONN_ESTABLISHED: return "established";
	case NETMOON_CONN_FIN_WAIT: return "fin wait";
	case NETMOON_CONN_CLOSE_WAIT: return "close wait";
	case NETMOON_CONN_LAST_ACK: return "last ack";
	case NETMOON_CONN_TIME_WAIT: return "time wait";
	case NETMOON_CONN_CLOSED: return "closed";
	case NETMOON_CONN_RESET: return "reset";
	case NETMOON_CONN_ACTIVE: return "active";
	case NETMOON_CONN_EXPIRED: return "expired";
	default: return "?";
	}
}

int top_state_closed(int state)
{
	return state == NETMOON_CONN_TIME_WAIT || state == NETMOON_CONN_CLOSED ||
	       state == NETMOON_CONN_RESET || state == NETMOON_CONN_EXPIRED;
}

int top_match(const char *haystack, const char *needle)
{
	size_t n;

	if (!needle || !*needle)
		return 1;
	if (!haystack)
		return 0;
	n = strlen(needle);
	for (; *haystack; haystack++) {
		size_t i = 0;

		while (i < n && haystack[i] &&
		       tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}
