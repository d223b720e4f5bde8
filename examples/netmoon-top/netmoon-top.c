/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-top: the connection table on a terminal, redrawn every second.
 * This first version replays capture files (-r) at their own pace; live
 * capture comes with the library's live backend.  Uses only the public API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>

#include <netmoon/netmoon.h>

#define EXIT_USAGE 1
#define EXIT_RUNTIME 2
#define MAX_ROWS 4096

enum sort_key { SORT_BYTES, SORT_RTT, SORT_IDLE, SORT__COUNT };
static const char *const sort_names[] = { "bytes", "rtt", "idle" };

struct row {
	struct netmoon_conn_info ci;
	uint64_t bytes;
};

struct top {
	const char *path;
	double speed;
	int64_t redraw_ns;
	enum sort_key sort;
	int paused;
	int utf8;
	int eof;
	uint64_t packets;
	int64_t now_ns;  /* capture time of the latest packet */
	struct row *rows;
	size_t nrows;
	struct netmoon_conntable *ct;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1000 && u < 6) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void fmt_endpoint(char *buf, size_t len, int version, const uint8_t *addr, unsigned port)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(version == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	snprintf(buf, len, version == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

static int collect(const struct netmoon_conn *conn, void *user)
{
	struct top *t = user;
	struct row *r;

	if (t->nrows >= MAX_ROWS)
		return 1;
	r = &t->rows[t->nrows];
	r->ci.sz = sizeof(r->ci);
	if (netmoon_conn_get_info(conn, &r->ci) == 0) {
		r->bytes = r->ci.orig.bytes + r->ci.resp.bytes;
		t->nrows++;
	}
	return 0;
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct row *a = pa, *b = pb;
	const enum sort_key *key = arg;
	int64_t x = 0, y = 0;

	switch (*key) {
	case SORT_BYTES:
		return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
	case SORT_RTT:
		x = (a->ci.flags & NETMOON_CONN_F_HANDSHAKE) ? a->ci.handshake_rtt_ns : -1;
		y = (b->ci.flags & NETMOON_CONN_F_HANDSHAKE) ? b->ci.handshake_rtt_ns : -1;
		break;
	case SORT_IDLE:
		x = a->ci.ts_last_ns;
		y = b->ci.ts_last_ns;
		break;
	default:
		break;
	}
	return x < y ? 1 : x > y ? -1 : 0;
}

static void draw_bar(int width, uint64_t value, uint64_t max, int utf8)
{
	int filled = max ? (int)((double)value * width / (double)max + 0.5) : 0;

	for (int i = 0; i < width; i++) {
		if (utf8)
			addstr(i < filled ? "\u2588" : "\u2591");
		else
			addch(i < filled ? '#' : '.');
	}
}

static void draw(struct top *t)
{
	NETMOON_OPTS(netmoon_conntable_stats, st);
	uint64_t max = 0;
	int rows, cols, y = 0;
	char ep1[64], ep2[64], b[32];

	t->nrows = 0;
	netmoon_conntable_foreach(t->ct, collect, t);
	netmoon_conntable_get_stats(t->ct, &st);
	qsort_r(t->rows, t->nrows, sizeof(t->rows[0]), cmp_rows, &t->sort);
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].bytes > max)
			max = t->rows[i].bytes;

	getmaxyx(stdscr, rows, cols);
	erase();
	attron(A_REVERSE);
	mvprintw(y++, 0, " netmoon-top  %s  %" PRIu64 " pkts  %" PRIu64 "/%" PRIu64
		 " conns  sort:%s%s%s ", t->path, t->packets, st.active, st.max_conns,
		 sort_names[t->sort], t->paused ? "  [paused]" : "", t->eof ? "  [end of file]" : "");
	attroff(A_REVERSE);
	mvprintw(y++, 0, "%-44s %-12s %10s  %s", "orig -> resp", "state", "bytes", "share");
	for (size_t i = 0; i < t->nrows && y < rows - 1; i++, y++) {
		const struct netmoon_conn_info *ci = &t->rows[i].ci;
		int barw = cols - 72;

		fmt_endpoint(ep1, sizeof(ep1), ci->ip_version, ci->orig_addr, ci->orig_port);
		fmt_endpoint(ep2, sizeof(ep2), ci->ip_version, ci->resp_addr, ci->resp_port);
		fmt_bytes(b, sizeof(b), t->rows[i].bytes);
		move(y, 0);
		printw("%-21.21s %s %-21.21s %-12s %10s  ", ep1, t->utf8 ? "\u2192" : ">", ep2,
		       netmoon_conn_state_str(ci->state), b);
		if (barw > 4)
			draw_bar(barw > 30 ? 30 : barw, t->rows[i].bytes, max, t->utf8);
	}
	mvprintw(rows - 1, 0, "q quit  p pause  s sort");
	refresh();
}

/* Returns 1 when the user asked to quit. */
static int handle_keys(struct top *t)
{
	int ch;

	while ((ch = getch()) != ERR) {
		switch (ch) {
		case 'q':
			return 1;
		case 'p':
			t->paused = !t->paused;
			break;
		case 's':
			t->sort = (t->sort + 1) % SORT__COUNT;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int run(struct top *t, char *errbuf, size_t errlen)
{
	NETMOON_OPTS(netmoon_frame, f);
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	int64_t wall0 = 0, cap0 = 0, next_draw;
	int rc;

	rc = netmoon_capture_open_err(&cap, t->path, NULL, errbuf, errlen);
	if (rc)
		return rc;
	rc = netmoon_conntable_new(&t->ct, NULL);
	if (rc) {
		netmoon_capture_close(cap);
		snprintf(errbuf, errlen, "connection table: %s", netmoon_strerror(rc));
		return rc;
	}
	setlocale(LC_ALL, "");
	initscr();
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);

	next_draw = mono_ns();
	rc = 0;
	while (!g_stop) {
		int64_t now = mono_ns();

		if (handle_keys(t))
			break;
		if (now >= next_draw) {
			if (!t->paused)
				draw(t);
			next_draw = now + t->redraw_ns;
		}
		if (t->eof) {
			napms(50);
			continue;
		}
		rc = netmoon_capture_next(cap, &pkt);
		if (rc <= 0) {
			t->eof = 1;
			if (rc < 0)
				snprintf(errbuf, errlen, "%s", netmoon_capture_errmsg(cap));
			draw(t);
			continue;
		}
		if (!t->packets) {
			wall0 = now;
			cap0 = pkt->ts_ns;
		}
		t->packets++;
		t->now_ns = pkt->ts_ns;
		netmoon_frame_parse(&f, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen);
		netmoon_conntable_track(t->ct, &f, pkt->ts_ns, NULL);
		if (t->speed > 0) {
			/* Replay at the file's own pace, scaled. */
			int64_t due = wall0 + (int64_t)((double)(pkt->ts_ns - cap0) / t->speed);
			int64_t wait = due - mono_ns();

			if (wait > 0) {
				if (wait > next_draw - mono_ns())
					wait = next_draw - mono_ns();
				if (wait > 0) {
					struct timespec ts = { wait / 1000000000, wait % 1000000000 };

					nanosleep(&ts, NULL);
				}
			}
		}
	}
	endwin();
	netmoon_conntable_free(t->ct);
	netmoon_capture_close(cap);
	return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SPEED = 256, OPT_INTERVAL };
	static const struct option longopts[] = {
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct top t = { .speed = 1.0, .redraw_ns = 1000000000 };
	const char *iface = NULL;
	struct sigaction sa;
	char errbuf[512] = "";
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "r:i:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': t.path = optarg; break;
		case 'i': iface = optarg; break;
		case OPT_SPEED:
			t.speed = strtod(optarg, &end);
			if (*end || t.speed < 0) {
				fprintf(stderr, "netmoon-top: --speed: expected a number >= 0, got '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_INTERVAL: {
			double s = strtod(optarg, &end);

			if (*end || s < 0.05 || s > 3600) {
				fprintf(stderr, "netmoon-top: --interval: expected 0.05 to 3600 seconds, got '%s'\n", optarg);
				return EXIT_USAGE;
			}
			t.redraw_ns = (int64_t)(s * 1e9);
			break;
		}
		case 'h':
			printf("Usage: netmoon-top -r FILE [--speed X] [--interval SEC]\n"
			       "  --speed X   replay speed factor (0 = as fast as possible)\n"
			       "Keys: q quit, p pause, s cycle the sort (bytes, rtt, idle)\n");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (iface) {
		fprintf(stderr, "netmoon-top: live capture (-i %s) is not supported yet in libnetmoon %s\n",
			iface, netmoon_version_string());
		return EXIT_RUNTIME;
	}
	if (!t.path) {
		fprintf(stderr, "netmoon-top: nothing to show: give -r FILE (see --help)\n");
		return EXIT_USAGE;
	}
	t.rows = calloc(MAX_ROWS, sizeof(*t.rows));
	if (!t.rows) {
		fprintf(stderr, "netmoon-top: out of memory\n");
		return EXIT_RUNTIME;
	}
	setlocale(LC_ALL, "");
	{
		const char *cs = setlocale(LC_CTYPE, NULL);

		t.utf8 = cs && (strstr(cs, "UTF-8") || strstr(cs, "utf8"));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = run(&t, errbuf, sizeof(errbuf));
	free(t.rows);
	if (rc < 0 || errbuf[0]) {
		/* The screen is restored by now: the message stays visible. */
		fprintf(stderr, "netmoon-top: %s\n", errbuf[0] ? errbuf : netmoon_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}
