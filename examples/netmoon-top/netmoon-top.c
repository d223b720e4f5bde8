/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-top: the connection table on a terminal.
 *
 * A monitor (capture, parse, track) runs in a worker thread; this thread
 * only takes snapshots of its table and draws them, so a slow terminal
 * never slows the capture.  Live interfaces (-i) and capture files (-r,
 * replayed at their own pace) go through the same path.  Uses only the
 * public API.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include <netmoon/netmoon.h>

#include "../common/privdrop.h"
#include "format.h"

#define EXIT_USAGE 1
#define EXIT_RUNTIME 2

#define NS 1000000000LL
#define GONE_LINGER_NS (5 * NS)  /* rows of connections that left the table */
#define SAMPLE_MAX_NS NS         /* rate samples at least once a second */
#define KEY_ESC 27

enum sort_key { SORT_RATE, SORT_BYTES, SORT_RTT, SORT_IDLE, SORT_STATE, SORT__COUNT };
static const char *const sort_names[] = { "rate", "bytes", "rtt", "idle", "state" };
static const char *const window_names[] = { "2s", "10s", "40s" };

/* One connection on screen: the latest info the snapshots gave. */
struct entry {
	struct netmoon_conn_info ci;
	struct top_rate *rate;  /* NULL while idle longer than the longest window */
	uint64_t bps[2];        /* current rate of each direction, chosen window */
	int64_t gone_ns;        /* monotonic time it left the table; 0 while in it */
};

struct top {
	/* options */
	const char *iface;
	const char *path;
	double speed;
	int64_t redraw_ns;
	int no_promisc;
	const char *drop_user;          /* -Z USER */
	char *filter_expr;              /* -f EXPR or the trailing arguments */
	struct netmoon_filter *bpf;     /* its compiled program */
	int utf8;

	/* capture, run by the worker thread */
	struct netmoon_capture *cap;
	struct netmoon_monitor *mon;
	pthread_t worker;
	atomic_int done;
	atomic_int stopping;
	int run_rc;
	atomic_int have_first;
	_Atomic int64_t first_ts;  /* capture time of the first packet */
	int64_t wall0;             /* monotonic time it was read (pacing) */

	/* what the snapshots said */
	struct entry *ents;        /* sorted by connection id */
	size_t nents;
	struct netmoon_monitor_stats st;
	struct top_rate total;     /* all wire bytes, for the header's rate */
	int64_t now_ns;            /* capture time of the latest snapshot */
	int64_t origin_ns;         /* capture time rates are measured from */
	int64_t start_mono;
	int eof;
	char errmsg[512];

	/* view */
	size_t *order;             /* indexes into ents: filtered and sorted */
	size_t norder;
	enum sort_key sort;
	int sort_rev;
	int win;                   /* index into top_rate_window_ns */
	int paused;
	int resolve;
	int help;
	size_t scroll;
	char filter[128];
	int editing;               /* typing a filter */
	char edit[128];
};

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS), (long)(ns % NS) };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ the worker */

/* Files: hold each packet until its time, scaled by --speed, comes. */
static int pace_packet(const struct netmoon_packet *pkt, void *user)
{
	struct top *t = user;
	int64_t first, due;

	if (!atomic_load(&t->have_first)) {
		t->wall0 = mono_ns();
		atomic_store(&t->first_ts, pkt->ts_ns);
		atomic_store(&t->have_first, 1);
	}
	if (t->speed <= 0)
		return 0;
	first = atomic_load(&t->first_ts);
	due = t->wall0 + (int64_t)((double)(pkt->ts_ns - first) / t->speed);
	/* Short naps, so that quitting never waits for a long gap in the file. */
	while (!atomic_load(&t->stopping)) {
		int64_t wait = due - mono_ns();

		if (wait <= 0)
			break;
		sleep_ns(wait < 50000000 ? wait : 50000000);
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct top *t = arg;

	t->run_rc = netmoon_monitor_run(t->mon, 0);
	atomic_store(&t->done, 1);
	return NULL;
}

/* -------------------------------------------------------------- the model */

static int cmp_info_id(const void *pa, const void *pb)
{
	const struct netmoon_conn_info *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void entry_sample(struct entry *e, const struct netmoon_conn_info *old, int64_t now)
{
	const struct netmoon_conn_info *ci = &e->ci;

	if (!e->rate) {
		/* Idle until now (or new): start from the previous counts. */
		if (old && old->orig.bytes == ci->orig.bytes && old->resp.bytes == ci->resp.bytes)
			return;
		e->rate = malloc(sizeof(*e->rate));
		if (!e->rate)
			return;
		if (old)
			top_rate_init(e->rate, old->ts_last_ns, old->orig.bytes, old->resp.bytes);
		else
			top_rate_init(e->rate, ci->ts_first_ns, 0, 0);
	}
	top_rate_add(e->rate, now, ci->orig.bytes, ci->resp.bytes);
	if (now - ci->ts_last_ns > top_rate_window_ns[TOP_RATE_WINDOWS - 1] + 2 * NS) {
		free(e->rate);
		e->rate = NULL;
	}
}

static void compute_rates(struct top *t)
{
	for (size_t i = 0; i < t->nents; i++) {
		struct entry *e = &t->ents[i];

		e->bps[0] = e->bps[1] = 0;
		if (e->rate && !e->gone_ns)
			top_rate_get(e->rate, t->now_ns, top_rate_window_ns[t->win], t->origin_ns,
				     &e->bps[0], &e->bps[1]);
	}
}

/* Merge a snapshot into the entries: update, add, mark the ones that left. */
static int take_snapshot(struct top *t)
{
	struct netmoon_snapshot *snap;
	struct netmoon_conn_info *infos;
	struct entry *out;
	size_t n, i = 0, j = 0, k = 0;
	int64_t mono = mono_ns(), now;
	int rc;

	rc = netmoon_monitor_snapshot(t->mon, &snap);
	if (rc)
		return rc;
	n = netmoon_snapshot_count(snap);
	infos = calloc(n ? n : 1, sizeof(*infos));
	out = calloc(n + t->nents ? n + t->nents : 1, sizeof(*out));
	if (!infos || !out) {
		free(infos);
		free(out);
		netmoon_snapshot_free(snap);
		return -ENOMEM;
	}
	for (size_t s = 0; s < n; s++) {
		infos[k].sz = sizeof(infos[k]);
		if (netmoon_conn_get_info(netmoon_snapshot_conn(snap, s), &infos[k]) == 0)
			k++;
	}
	n = k;
	t->st.sz = sizeof(t->st);
	netmoon_snapshot_get_stats(snap, &t->st, &now);
	netmoon_snapshot_free(snap);
	if (now > t->now_ns)
		t->now_ns = now;
	now = t->now_ns;
	if (now && !t->origin_ns && !t->iface && atomic_load(&t->have_first))
		t->origin_ns = atomic_load(&t->first_ts);
	qsort(infos, n, sizeof(*infos), cmp_info_id);

	k = 0;
	while (i < t->nents || j < n) {
		struct entry *e;

		if (j >= n || (i < t->nents && t->ents[i].ci.id < infos[j].id)) {
			/* Left the table: keep it a few seconds, marked. */
			e = &t->ents[i++];
			if (!e->gone_ns)
				e->gone_ns = mono;
			if (mono - e->gone_ns < GONE_LINGER_NS) {
				out[k++] = *e;
			} else {
				free(e->rate);
			}
			continue;
		}
		if (i < t->nents && t->ents[i].ci.id == infos[j].id) {
			struct netmoon_conn_info old = t->ents[i].ci;

			e = &out[k++];
			*e = t->ents[i++];
			e->ci = infos[j++];
			e->gone_ns = 0;
			if (now)
				entry_sample(e, &old, now);
			continue;
		}
		e = &out[k++];
		memset(e, 0, sizeof(*e));
		e->ci = infos[j++];
		if (now)
			entry_sample(e, NULL, now);
	}
	free(infos);
	free(t->ents);
	t->ents = out;
	t->nents = k;
	if (now) {
		/* A file's rate starts at its first packet; a live one at the
		 * first snapshot. */
		if (!t->total.n && !t->iface && atomic_load(&t->have_first))
			top_rate_init(&t->total, atomic_load(&t->first_ts), 0, 0);
		top_rate_add(&t->total, now, t->st.bytes, 0);
	}
	compute_rates(t);
	return 0;
}

/* --------------------------------------------------------------- the view */

static void port_text(char *buf, size_t len, const struct netmoon_conn_info *ci, unsigned port,
		      int resolve)
{
	top_fmt_port(buf, len, port, ci->proto, resolve);
}

static int has_ports(const struct netmoon_conn_info *ci)
{
	return ci->proto == 6 || ci->proto == 17 || ci->proto == 132 || ci->proto == 33;
}

static const char *entry_state(const struct entry *e)
{
	return e->gone_ns ? "gone" : top_state_words(e->ci.state);
}

static void endpoint_text(char *buf, size_t len, const struct top *t,
			  const struct netmoon_conn_info *ci, int resp, int width)
{
	char port[40];

	if (has_ports(ci))
		port_text(port, sizeof(port), ci, resp ? ci->resp_port : ci->orig_port, t->resolve);
	top_fmt_endpoint(buf, len, ci->ip_version, resp ? ci->resp_addr : ci->orig_addr,
			 has_ports(ci) ? port : NULL, width);
}

static int entry_matches(const struct top *t, const struct entry *e)
{
	char text[256], a[80], b[80], proto[16];

	if (!t->filter[0])
		return 1;
	endpoint_text(a, sizeof(a), t, &e->ci, 0, 79);
	endpoint_text(b, sizeof(b), t, &e->ci, 1, 79);
	top_fmt_proto(proto, sizeof(proto), e->ci.proto);
	snprintf(text, sizeof(text), "%s %s %s %s", a, b, proto, entry_state(e));
	return top_match(text, t->filter);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_entries(const void *pa, const void *pb, void *arg)
{
	const struct top *t = arg;
	const struct entry *a = &t->ents[*(const size_t *)pa], *b = &t->ents[*(const size_t *)pb];
	int c = 0;

	switch (t->sort) {
	case SORT_RATE:
		c = cmp_u64(sat_add(a->bps[0], a->bps[1]), sat_add(b->bps[0], b->bps[1]));
		break;
	case SORT_BYTES:
		c = cmp_u64(sat_add(a->ci.orig.bytes, a->ci.resp.bytes),
			    sat_add(b->ci.orig.bytes, b->ci.resp.bytes));
		break;
	case SORT_RTT: {
		int64_t x = (a->ci.flags & NETMOON_CONN_F_HANDSHAKE) ? a->ci.handshake_rtt_ns : -1;
		int64_t y = (b->ci.flags & NETMOON_CONN_F_HANDSHAKE) ? b->ci.handshake_rtt_ns : -1;

		c = x < y ? -1 : x > y;
		break;
	}
	case SORT_IDLE:
		/* More idle = older last packet. */
		c = a->ci.ts_last_ns > b->ci.ts_last_ns ? -1 : a->ci.ts_last_ns < b->ci.ts_last_ns;
		break;
	case SORT_STATE:
		c = a->gone_ns || b->gone_ns ? (a->gone_ns != 0) - (b->gone_ns != 0)
					     : (a->ci.state > b->ci.state) - (a->ci.state < b->ci.state);
		c = -c; /* descending by default: earliest states first reads better */
		break;
	default:
		break;
	}
	if (!t->sort_rev)
		c = -c;
	if (!c) /* stable: oldest connection first */
		c = a->ci.id < b->ci.id ? -1 : a->ci.id > b->ci.id;
	return c;
}

static void build_order(struct top *t)
{
	size_t *o = realloc(t->order, (t->nents ? t->nents : 1) * sizeof(*o));

	if (!o)
		return;
	t->order = o;
	t->norder = 0;
	for (size_t i = 0; i < t->nents; i++)
		if (entry_matches(t, &t->ents[i]))
			t->order[t->norder++] = i;
	qsort_r(t->order, t->norder, sizeof(*t->order), cmp_entries, t);
}

/* Print at most @p width columns of an ASCII string, padded. */
static void put_cell(int y, int x, int width, const char *s, int right)
{
	if (width <= 0)
		return;
	mvprintw(y, x, right ? "%*.*s" : "%-*.*s", width, width, s);
}

static void draw_bar(int y, int x, int width, const struct entry *e, uint64_t max, int utf8)
{
	int o, r;

	top_bar_split(e->bps[0], e->bps[1], max, width, &o, &r);
	move(y, x);
	if (has_colors())
		attron(COLOR_PAIR(1));
	for (int i = 0; i < o; i++)
		addstr(utf8 ? "\u2588" : ">");
	if (has_colors()) {
		attroff(COLOR_PAIR(1));
		attron(COLOR_PAIR(2));
	}
	for (int i = 0; i < r; i++)
		addstr(utf8 ? "\u2592" : "<");
	if (has_colors())
		attroff(COLOR_PAIR(2));
	for (int i = o + r; i < width; i++)
		addstr(utf8 ? "\u2591" : ".");
}

static void draw_help(int rows, int cols)
{
	static const char *const lines[] = {
		"netmoon-top keys",
		"",
		"q          quit",
		"p          pause the display (capture goes on)",
		"s / S      next sort column / reverse the order",
		"           (rate, bytes, rtt, idle, state)",
		"1 2 3 / a  average rates over 2 s, 10 s, 40 s / cycle",
		"/          filter by text (address, port, state);",
		"           Enter applies, Esc clears",
		"r          show service names for ports",
		"arrows     scroll; PgUp PgDn Home End",
		"h          this help",
		"",
		"TX: orig -> resp, RX: resp -> orig.  Rows of",
		"connections that left the table say 'gone'.",
		"",
		"any key closes this help",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0]));
	int w = 60, h = n + 2;
	int y0 = (rows - h) / 2, x0 = (cols - w) / 2;

	if (y0 < 0)
		y0 = 0;
	if (x0 < 0)
		x0 = 0;
	for (int i = 0; i < h && y0 + i < rows; i++) {
		move(y0 + i, x0);
		for (int k = 0; k < w && x0 + k < cols; k++)
			addch(i == 0 || i == h - 1 ? '-' : (k == 0 || k == w - 1) ? '|' : ' ');
		if (i > 0 && i < h - 1)
			put_cell(y0 + i, x0 + 2, w - 4 < cols - x0 - 2 ? w - 4 : cols - x0 - 2,
				 lines[i - 1], 0);
	}
}

static void draw(struct top *t)
{
	char a[80], b[80], buf[64], rate[32], bytes[32], up[32], pkts[32];
	int rows, cols, y, page, E, barw, show_proto = 1, show_rtt = 1, fixed, need;
	uint64_t max = 0, total_o = 0, total_r = 0;
	size_t gone = 0;

	getmaxyx(stdscr, rows, cols);
	erase();
	build_order(t);
	for (size_t i = 0; i < t->norder; i++) {
		const struct entry *e = &t->ents[t->order[i]];
		uint64_t sum = sat_add(e->bps[0], e->bps[1]);

		if (sum > max)
			max = sum;
		if (e->gone_ns)
			gone++;
	}
	top_rate_get(&t->total, t->now_ns, top_rate_window_ns[t->win], t->origin_ns, &total_o,
		     &total_r);

	/* Header: where, how long, how much. */
	top_fmt_rate(rate, sizeof(rate), total_o);
	top_fmt_duration(up, sizeof(up),
			 t->iface ? mono_ns() - t->start_mono
				  : (atomic_load(&t->have_first) ? t->now_ns - atomic_load(&t->first_ts) : 0));
	snprintf(pkts, sizeof(pkts), "%" PRIu64, t->st.packets);
	attron(A_REVERSE);
	move(0, 0);
	for (int x = 0; x < cols; x++)
		addch(' ');
	if (t->iface)
		snprintf(buf, sizeof(buf), "%s", t->iface);
	else
		snprintf(buf, sizeof(buf), "%s", strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path);
	/* The long form when it fits, else a compact one. */
	for (int form = 0; form < 2; form++) {
		char line[512];
		int n = snprintf(line, sizeof(line),
				 "%s%s  %s %s  %s  %s%s%s  %s%" PRIu64 "%s  %s%" PRIu64 "/%" PRIu64 "%s%s%s",
				 form ? " " : " netmoon-top  ", buf, t->iface ? "up" : "time", up, rate,
				 form ? "" : "pkts ", pkts, form ? " pkts" : "", form ? "" : "drops ",
				 t->st.kernel_dropped, form ? " drops" : "", form ? "" : "table ",
				 t->st.table.active, t->st.table.max_conns, form ? " conns" : "",
				 t->paused ? (form ? " [P]" : "  [paused]") : "",
				 t->eof ? (form ? " [eof]" : "  [end of file]") : "");

		if (n < cols || form == 1) {
			mvprintw(0, 0, "%.*s", cols, line);
			break;
		}
	}
	attroff(A_REVERSE);
	mvprintw(1, 0, " sort: %s %s  avg: %s  names: %s  rows: %zu%s%s%s%s", sort_names[t->sort],
		 t->sort_rev ? (t->utf8 ? "\u2191" : "asc") : (t->utf8 ? "\u2193" : "desc"),
		 window_names[t->win], t->resolve ? "services" : "ports", t->norder,
		 gone ? " (" : "", gone ? "some gone" : "", gone ? ")" : "", "");
	if (t->filter[0])
		printw("  filter: %s", t->filter);
	/* The table under pressure: evictions, and the flood defence at work. */
	if (t->st.table.evicted || t->st.table.refused)
		printw("  evicted %" PRIu64 " (%" PRIu64 " unanswered) refused %" PRIu64,
		       t->st.table.evicted, t->st.table.evicted_embryonic, t->st.table.refused);
	if (t->st.table.emergency)
		printw("  EMERGENCY");

	/* Column widths: the endpoints as wide as the widest one shown, then
	 * the bar; narrow terminals lose RTT, then the protocol. */
	page = rows - 4;
	if (page < 0)
		page = 0;
	if (t->scroll + (size_t)page > t->norder)
		t->scroll = t->norder > (size_t)page ? t->norder - (size_t)page : 0;
	need = 9;
	for (size_t i = t->scroll; i < t->norder && i < t->scroll + (size_t)page; i++) {
		const struct entry *e = &t->ents[t->order[i]];
		int la, lb;

		endpoint_text(a, sizeof(a), t, &e->ci, 0, 79);
		endpoint_text(b, sizeof(b), t, &e->ci, 1, 79);
		la = (int)strlen(a);
		lb = (int)strlen(b);
		if (la > need)
			need = la;
		if (lb > need)
			need = lb;
	}
	for (;;) {
		fixed = 3 + 12 + 6 + 6 + 6 + 1 + (show_proto ? 6 : 0) + (show_rtt ? 7 : 0);
		E = (cols - fixed - 8) / 2;
		if (E >= need || E >= 21 || !show_proto)
			break;
		if (show_rtt)
			show_rtt = 0;
		else
			show_proto = 0;
	}
	if (E > need)
		E = need;
	if (E < 1)
		E = 1;
	barw = cols - fixed - 2 * E;
	if (barw > 60)
		barw = 60;

	/* Column titles. */
	{
		int x = 0;

		attron(A_BOLD | A_UNDERLINE);
		move(2, 0);
		for (int k = 0; k < cols; k++)
			addch(' ');
		put_cell(2, x, E, "ORIG", 0);
		x += E + 3;
		put_cell(2, x, E, "RESP", 0);
		x += E;
		if (show_proto) {
			put_cell(2, x + 1, 5, "PROTO", 0);
			x += 6;
		}
		put_cell(2, x + 1, 11, "STATE", 0);
		x += 12;
		put_cell(2, x + 1, 5, "BYTES", 1);
		x += 6;
		put_cell(2, x + 1, 5, "TX/s", 1);
		x += 6;
		put_cell(2, x + 1, 5, "RX/s", 1);
		x += 6;
		if (show_rtt) {
			put_cell(2, x + 1, 6, "RTT", 1);
			x += 7;
		}
		if (barw > 0)
			put_cell(2, x + 1, barw, "SHARE", 0);
		attroff(A_BOLD | A_UNDERLINE);
	}

	y = 3;
	for (size_t i = t->scroll; i < t->norder && y < rows - 1; i++, y++) {
		const struct entry *e = &t->ents[t->order[i]];
		const struct netmoon_conn_info *ci = &e->ci;
		int x = 0, dim = e->gone_ns || top_state_closed(ci->state);

		if (dim)
			attron(A_DIM);
		endpoint_text(a, sizeof(a), t, ci, 0, E);
		endpoint_text(b, sizeof(b), t, ci, 1, E);
		put_cell(y, x, E, a, 0);
		x += E;
		mvaddstr(y, x, t->utf8 ? (e->gone_ns ? " \u00d7 " : " \u2192 ") : (e->gone_ns ? " x " : " > "));
		x += 3;
		put_cell(y, x, E, b, 0);
		x += E;
		if (show_proto) {
			top_fmt_proto(buf, sizeof(buf), ci->proto);
			put_cell(y, x + 1, 5, buf, 0);
			x += 6;
		}
		put_cell(y, x + 1, 11, entry_state(e), 0);
		x += 12;
		top_fmt_bytes_short(bytes, sizeof(bytes), sat_add(ci->orig.bytes, ci->resp.bytes));
		put_cell(y, x + 1, 5, bytes, 1);
		x += 6;
		top_fmt_bytes_short(buf, sizeof(buf), e->bps[0]);
		put_cell(y, x + 1, 5, buf, 1);
		x += 6;
		top_fmt_bytes_short(buf, sizeof(buf), e->bps[1]);
		put_cell(y, x + 1, 5, buf, 1);
		x += 6;
		if (show_rtt) {
			top_fmt_rtt(buf, sizeof(buf), ci->handshake_rtt_ns,
				    !!(ci->flags & NETMOON_CONN_F_HANDSHAKE));
			put_cell(y, x + 1, 6, buf, 1);
			x += 7;
		}
		if (dim)
			attroff(A_DIM);
		if (barw > 0)
			draw_bar(y, x + 1, barw, e, max, t->utf8);
	}

	/* Status line: the filter being typed, an error, or the keys. */
	move(rows - 1, 0);
	if (t->editing) {
		printw("filter: %s", t->edit);
		curs_set(1);
	} else {
		curs_set(0);
		if (t->errmsg[0])
			printw("%.*s", cols - 1, t->errmsg);
		else
			printw("%.*s", cols - 1,
			       "q quit  p pause  s/S sort  1/2/3/a avg  / filter  r names  h help");
	}
	if (t->help)
		draw_help(rows, cols);
	refresh();
}

/* --------------------------------------------------------------- the keys */

/* Returns 1 to quit. */
static int handle_key(struct top *t, int ch)
{
	int rows = LINES, page = rows > 5 ? rows - 5 : 1;

	if (t->editing) {
		size_t n = strlen(t->edit);

		switch (ch) {
		case '\n':
		case '\r':
		case KEY_ENTER:
			snprintf(t->filter, sizeof(t->filter), "%s", t->edit);
			t->editing = 0;
			t->scroll = 0;
			break;
		case KEY_ESC:
			t->filter[0] = '\0';
			t->edit[0] = '\0';
			t->editing = 0;
			break;
		case KEY_BACKSPACE:
		case 127:
		case 8:
			if (n)
				t->edit[n - 1] = '\0';
			break;
		default:
			if (ch >= 32 && ch < 127 && n + 1 < sizeof(t->edit)) {
				t->edit[n] = (char)ch;
				t->edit[n + 1] = '\0';
			}
			break;
		}
		return 0;
	}
	if (t->help && ch != KEY_RESIZE) {
		t->help = 0;
		return 0;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case 'p':
		t->paused = !t->paused;
		break;
	case 's':
		t->sort = (t->sort + 1) % SORT__COUNT;
		break;
	case 'S':
		t->sort_rev = !t->sort_rev;
		break;
	case '1':
	case '2':
	case '3':
		t->win = ch - '1';
		compute_rates(t);
		break;
	case 'a':
		t->win = (t->win + 1) % TOP_RATE_WINDOWS;
		compute_rates(t);
		break;
	case 'r':
		t->resolve = !t->resolve;
		break;
	case '/':
		t->editing = 1;
		snprintf(t->edit, sizeof(t->edit), "%s", t->filter);
		break;
	case KEY_ESC:
		t->filter[0] = '\0';
		break;
	case 'h':
	case '?':
		t->help = 1;
		break;
	case KEY_UP:
	case 'k':
		if (t->scroll)
			t->scroll--;
		break;
	case KEY_DOWN:
	case 'j':
		t->scroll++;
		break;
	case KEY_PPAGE:
		t->scroll = t->scroll > (size_t)page ? t->scroll - (size_t)page : 0;
		break;
	case KEY_NPAGE:
		t->scroll += (size_t)page;
		break;
	case KEY_HOME:
		t->scroll = 0;
		break;
	case KEY_END:
		t->scroll = SIZE_MAX / 2;
		break;
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------ the program */

static int open_capture(struct top *t, char *errbuf, size_t errlen)
{
	int rc;

	errbuf[0] = '\0';
	if (t->iface) {
		NETMOON_OPTS(netmoon_capture_live_opts, lopts,
			     .flags = t->no_promisc ? NETMOON_LIVE_F_NO_PROMISC : 0);

		rc = netmoon_capture_open_live(&t->cap, t->iface, &lopts, errbuf, errlen);
	} else {
		rc = netmoon_capture_open_err(&t->cap, t->path, NULL, errbuf, errlen);
	}
	if (rc && !errbuf[0])
		snprintf(errbuf, errlen, "%s: %s", t->iface ? t->iface : t->path, netmoon_strerror(rc));
	if (rc)
		return rc;
	if (t->filter_expr) {
		int lt = netmoon_capture_linktype(t->cap);
		char ferr[512] = "";

		rc = netmoon_filter_compile(&t->bpf, t->filter_expr,
					    lt < 0 ? NETMOON_LINKTYPE_ETHERNET : (uint32_t)lt, 0, ferr,
					    sizeof(ferr));
		if (!rc) {
			rc = netmoon_capture_set_filter(t->cap, t->bpf);
			if (rc > 0)
				rc = 0;
			else if (rc < 0)
				snprintf(ferr, sizeof(ferr), "%s", netmoon_capture_errmsg(t->cap));
		}
		if (rc) {
			snprintf(errbuf, errlen, "filter: %s", ferr[0] ? ferr : netmoon_strerror(rc));
			netmoon_capture_close(t->cap);
			t->cap = NULL;
			return rc;
		}
	}
	{
		NETMOON_OPTS(netmoon_monitor_opts, mopts, .on_packet = t->iface ? NULL : pace_packet,
			     .user = t);

		rc = netmoon_monitor_new(&t->mon, t->cap, &mopts);
	}
	if (rc) {
		snprintf(errbuf, errlen, "monitor: %s", netmoon_strerror(rc));
		netmoon_capture_close(t->cap);
		t->cap = NULL;
	}
	return rc;
}

static int start_worker(struct top *t)
{
	sigset_t all, old;
	int rc;

	/* Signals are for the UI thread, where the screen is restored. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->worker, NULL, worker_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

static void start_screen(const struct top *t)
{
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_CYAN, -1);
	}
	(void)t;
}

/* Returns the exit status; the screen is gone when it returns. */
static int ui_loop(struct top *t, char *errbuf, size_t errlen)
{
	int64_t sample_ns = t->redraw_ns < SAMPLE_MAX_NS ? t->redraw_ns : SAMPLE_MAX_NS;
	int64_t next_sample = 0, next_draw = 0;
	int status = 0, dirty = 1;

	start_screen(t);
	while (!g_signal) {
		int64_t now = mono_ns(), wait;
		int ch;

		if (!t->eof && now >= next_sample) {
			int finished = atomic_load(&t->done);

			if (!t->paused || finished) {
				int rc = take_snapshot(t);

				if (rc) {
					snprintf(errbuf, errlen, "snapshot: %s", netmoon_strerror(rc));
					status = EXIT_RUNTIME;
					break;
				}
			}
			next_sample = now + sample_ns;
			if (finished) {
				if (t->iface) {
					/* A live capture only ends on an error. */
					snprintf(errbuf, errlen, "%s: %s", t->iface,
						 t->run_rc ? netmoon_capture_errmsg(t->cap)
							   : "the capture ended");
					if (!errbuf[0] || !strcmp(errbuf, t->iface))
						snprintf(errbuf, errlen, "%s: %s", t->iface,
							 netmoon_strerror(t->run_rc));
					status = EXIT_RUNTIME;
					break;
				}
				t->eof = 1;
				if (t->run_rc) {
					snprintf(t->errmsg, sizeof(t->errmsg), "error: %s",
						 netmoon_capture_errmsg(t->cap));
					snprintf(errbuf, errlen, "%s", netmoon_capture_errmsg(t->cap));
					status = EXIT_RUNTIME;
				}
				dirty = 1;
			}
		}
		if (dirty || (now >= next_draw && !t->paused)) {
			draw(t);
			next_draw = now + t->redraw_ns;
			dirty = 0;
		}
		wait = (t->eof ? next_draw : (next_sample < next_draw ? next_sample : next_draw)) - mono_ns();
		if (t->paused || t->eof)
			wait = 200000000;
		timeout(wait <= 0 ? 0 : wait > 200000000 ? 200 : (int)(wait / 1000000) + 1);
		ch = getch();
		if (ch == ERR)
			continue;
		do {
			if (handle_key(t, ch)) {
				endwin();
				return status;
			}
			if (ch == KEY_RESIZE)
				clearok(stdscr, TRUE);
			timeout(0);
		} while ((ch = getch()) != ERR);
		dirty = 1;
	}
	endwin();
	return status;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netmoon-top -i IFACE [-p] [--interval SEC] [-f EXPR | EXPR]\n"
		"       netmoon-top -r FILE [--speed X] [--interval SEC] [-f EXPR | EXPR]\n"
		"  -i IFACE        capture live on IFACE (needs CAP_NET_RAW)\n"
		"  -p              do not put the interface into promiscuous mode\n"
		"  -r FILE         replay a pcap or pcapng file at its own pace\n"
		"  -f EXPR         only packets matching EXPR (tcpdump syntax; or as the\n"
		"                  last arguments)\n"
		"  -Z USER         after opening the capture, run as USER\n"
		"  --speed X       replay X times faster (0 = as fast as possible)\n"
		"  --interval SEC  redraw every SEC seconds (default 1)\n"
		"Keys: q quit, p pause, s/S sort, 1/2/3/a rate window, / filter,\n"
		"      r service names, arrows/PgUp/PgDn scroll, h help\n");
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
	struct top t = { .speed = 1.0, .redraw_ns = NS };
	struct sigaction sa;
	char errbuf[768] = "";
	char *end;
	int opt, rc, status;

	const char *fopt = NULL;

	while ((opt = getopt_long(argc, argv, "r:i:pf:Z:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			t.path = optarg;
			break;
		case 'i':
			t.iface = optarg;
			break;
		case 'p':
			t.no_promisc = 1;
			break;
		case 'f':
			fopt = optarg;
			break;
		case 'Z':
			t.drop_user = optarg;
			break;
		case OPT_SPEED:
			errno = 0;
			t.speed = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(t.speed >= 0) || t.speed > 1e9) {
				fprintf(stderr, "netmoon-top: --speed: expected a number >= 0, got '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_INTERVAL: {
			double s;

			errno = 0;
			s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(s >= 0.05 && s <= 3600)) {
				fprintf(stderr,
					"netmoon-top: --interval: expected 0.05 to 3600 seconds, got '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			t.redraw_ns = (int64_t)(s * 1e9);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		/* As tcpdump: the remaining arguments, joined, are the filter. */
		size_t len = 1;

		if (fopt) {
			fprintf(stderr, "netmoon-top: give the filter with -f or as arguments, not both\n");
			return EXIT_USAGE;
		}
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		t.filter_expr = calloc(1, len);
		if (!t.filter_expr)
			return EXIT_RUNTIME;
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(t.filter_expr, " ");
			strcat(t.filter_expr, argv[i]);
		}
	} else if (fopt) {
		t.filter_expr = strdup(fopt);
		if (!t.filter_expr)
			return EXIT_RUNTIME;
	}
	if (!!t.iface == !!t.path) {
		fprintf(stderr, "netmoon-top: give exactly one of -i IFACE or -r FILE (see --help)\n");
		return EXIT_USAGE;
	}
	if (t.no_promisc && !t.iface) {
		fprintf(stderr, "netmoon-top: -p only applies to -i\n");
		return EXIT_USAGE;
	}

	setlocale(LC_ALL, "");
	t.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

	rc = open_capture(&t, errbuf, sizeof(errbuf));
	if (rc) {
		/* netmoon-csv's wording: the library's message says what to do,
		 * for instance that CAP_NET_RAW is missing. */
		fprintf(stderr, "netmoon-top: %s\n", errbuf);
		return EXIT_RUNTIME;
	}
	if (t.drop_user && netmoon_example_drop_privileges("netmoon-top", t.drop_user) < 0) {
		netmoon_monitor_free(t.mon);
		netmoon_capture_close(t.cap);
		netmoon_filter_free(t.bpf);
		free(t.filter_expr);
		return EXIT_RUNTIME;
	}
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, "netmoon-top: needs a terminal (for rows on standard output, "
				"see netmoon-csv)\n");
		netmoon_monitor_free(t.mon);
		netmoon_capture_close(t.cap);
		netmoon_filter_free(t.bpf);
		free(t.filter_expr);
		return EXIT_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	t.start_mono = mono_ns();
	{
		/* Live time stamps are the kernel's wall clock: rates are measured
		 * from now on. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (t.iface)
			t.origin_ns = (int64_t)ts.tv_sec * NS + ts.tv_nsec;
	}
	rc = start_worker(&t);
	if (rc) {
		fprintf(stderr, "netmoon-top: cannot start the capture thread: %s\n", strerror(-rc));
		netmoon_monitor_free(t.mon);
		netmoon_capture_close(t.cap);
		netmoon_filter_free(t.bpf);
		free(t.filter_expr);
		return EXIT_RUNTIME;
	}

	errbuf[0] = '\0';
	status = ui_loop(&t, errbuf, sizeof(errbuf));

	/* The screen is restored: stop the capture, then say what went wrong. */
	atomic_store(&t.stopping, 1);
	netmoon_monitor_stop(t.mon);
	pthread_join(t.worker, NULL);
	netmoon_monitor_free(t.mon);
	netmoon_capture_close(t.cap);
	netmoon_filter_free(t.bpf);
	free(t.filter_expr);
	for (size_t i = 0; i < t.nents; i++)
		free(t.ents[i].rate);
	free(t.ents);
	free(t.order);
	if (errbuf[0])
		fprintf(stderr, "netmoon-top: %s\n", errbuf);
	return status;
}
