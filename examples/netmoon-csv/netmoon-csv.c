/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-csv: one CSV (or JSON) row per connection, written when the
 * connection leaves the table (closed, expired, evicted) and for every
 * connection still open at the end.  Uses only the public API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netmoon/netmoon.h>

#define EXIT_USAGE 1
#define EXIT_RUNTIME 2

enum format { FORMAT_CSV, FORMAT_JSON };

struct app {
	const char *prog;
	const char *read_path;
	const char *out_path;
	FILE *out;
	enum format format;
	uint64_t max_packets;
	int64_t interval_ns;
	int64_t idle_timeout_ns;
	uint32_t max_conns;
	int verbose;
	struct netmoon_capture *cap;
	struct netmoon_conntable *ct;
	uint64_t rejects[NETMOON_FRAME_R__COUNT];
	uint64_t rows;
	int write_failed;
};

/* The handle the signal handler breaks; set once before the loop starts. */
static struct netmoon_capture *volatile g_break_cap;

static void on_signal(int sig)
{
	(void)sig;
	if (g_break_cap)
		netmoon_capture_breakloop(g_break_cap);
}

static const char *const columns[] = {
	"ts_first", "ts_last", "proto", "ip_version", "vlan",
	"orig_addr", "orig_port", "resp_addr", "resp_port", "dir_guessed",
	"state", "conn_state", "history",
	"orig_pkts", "orig_bytes", "orig_ip_bytes", "orig_payload_bytes",
	"resp_pkts", "resp_bytes", "resp_ip_bytes", "resp_payload_bytes",
	"rtt_syn_us", "rtt_ack_us", "handshake_rtt_us",
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s -r FILE [options] [filter]\n"
		"Write one CSV row per connection of a capture.\n\n"
		"  -r FILE            read a pcap/pcapng capture ('-' = standard input)\n"
		"  -i IFACE           live capture (not supported yet in this version)\n"
		"  -p                 no promiscuous mode (live capture)\n"
		"  -f EXPR            filter expression (not supported yet in this version)\n"
		"  -w FILE            also save the packets (not supported yet in this version)\n"
		"  -c N               stop after N packets\n"
		"  -o FILE            write rows to FILE instead of standard output\n"
		"  --format csv|json  output format (JSON: one object per line)\n"
		"  --interval SEC     also write a row per active connection every SEC seconds\n"
		"  --idle-timeout SEC idle timeout of connections (default 60)\n"
		"  --max-conns N      maximum number of connections tracked at once\n"
		"  -v                 print statistics on standard error at the end\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this help\n",
		prog);
}

/* Seconds (possibly fractional) to nanoseconds; -1 when not a valid number. */
static int64_t parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e9)
		return -1;
	return (int64_t)(v * 1e9 + 0.5);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-' || *s == '\0')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static void fmt_ts(char *buf, size_t len, int64_t ns)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	snprintf(buf, len, "%s%" PRIu64 ".%09" PRIu64, sign, a / 1000000000u, a % 1000000000u);
}

/* Nanoseconds as microseconds with 3 decimals; empty when not valid. */
static void fmt_us(char *buf, size_t len, int valid, int64_t ns)
{
	if (!valid) {
		buf[0] = '\0';
		return;
	}
	const char *sign = ns < 0 ? "-" : "";
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	snprintf(buf, len, "%s%" PRIu64 ".%03" PRIu64, sign, a / 1000u, a % 1000u);
}

static void fmt_proto(char *buf, size_t len, unsigned proto)
{
	switch (proto) {
	case 6: snprintf(buf, len, "tcp"); break;
	case 17: snprintf(buf, len, "udp"); break;
	case 1: snprintf(buf, len, "icmp"); break;
	case 58: snprintf(buf, len, "icmp6"); break;
	default: snprintf(buf, len, "%u", proto); break;
	}
}

static void fmt_addr(char *buf, size_t len, int version, const uint8_t *addr)
{
	if (!inet_ntop(version == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/*
 * Render one connection into NCOLUMNS strings.  Which values are numbers
 * (unquoted in JSON) is known from the column: see is_string_column().
 */
static void render(const struct netmoon_conn_info *ci, char vals[NCOLUMNS][64])
{
	int i = 0;

	fmt_ts(vals[i++], 64, ci->ts_first_ns);
	fmt_ts(vals[i++], 64, ci->ts_last_ns);
	fmt_proto(vals[i++], 64, ci->proto);
	snprintf(vals[i++], 64, "%u", ci->ip_version);
	if (ci->vlan_count == 0)
		vals[i++][0] = '\0';
	else if (ci->vlan_count == 1)
		snprintf(vals[i++], 64, "%u", ci->vlan_ids[0]);
	else
		snprintf(vals[i++], 64, "%u.%u", ci->vlan_ids[0], ci->vlan_ids[1]);
	fmt_addr(vals[i++], 64, ci->ip_version, ci->orig_addr);
	snprintf(vals[i++], 64, "%u", ci->orig_port);
	fmt_addr(vals[i++], 64, ci->ip_version, ci->resp_addr);
	snprintf(vals[i++], 64, "%u", ci->resp_port);
	snprintf(vals[i++], 64, "%d", (ci->flags & NETMOON_CONN_F_DIR_GUESSED) ? 1 : 0);
	snprintf(vals[i++], 64, "%s", netmoon_conn_state_str(ci->state));
	snprintf(vals[i++], 64, "%s", netmoon_conn_zeek_state_str(ci->zeek_state));
	snprintf(vals[i++], 64, "%s", ci->history);
	snprintf(vals[i++], 64, "%" PRIu64, ci->orig.pkts);
	snprintf(vals[i++], 64, "%" PRIu64, ci->orig.bytes);
	snprintf(vals[i++], 64, "%" PRIu64, ci->orig.ip_bytes);
	snprintf(vals[i++], 64, "%" PRIu64, ci->orig.payload_bytes);
	snprintf(vals[i++], 64, "%" PRIu64, ci->resp.pkts);
	snprintf(vals[i++], 64, "%" PRIu64, ci->resp.bytes);
	snprintf(vals[i++], 64, "%" PRIu64, ci->resp.ip_bytes);
	snprintf(vals[i++], 64, "%" PRIu64, ci->resp.payload_bytes);
	fmt_us(vals[i++], 64, !!(ci->flags & NETMOON_CONN_F_RTT_SYN), ci->rtt_syn_ns);
	fmt_us(vals[i++], 64, !!(ci->flags & NETMOON_CONN_F_RTT_ACK), ci->rtt_ack_ns);
	fmt_us(vals[i++], 64, !!(ci->flags & NETMOON_CONN_F_HANDSHAKE), ci->handshake_rtt_ns);
}

static int is_string_column(size_t i)
{
	switch (i) {
	case 2: case 4: case 5: case 7: case 10: case 11: case 12:
		return 1;
	default:
		return 0;
	}
}

static void write_header(struct app *app)
{
	if (app->format != FORMAT_CSV)
		return;
	for (size_t i = 0; i < NCOLUMNS; i++)
		fprintf(app->out, "%s%s", i ? "," : "", columns[i]);
	fputc('\n', app->out);
}

static int write_row(struct app *app, const struct netmoon_conn *conn)
{
	NETMOON_OPTS(netmoon_conn_info, ci);
	char vals[NCOLUMNS][64];
	int err;

	err = netmoon_conn_get_info(conn, &ci);
	if (err)
		return err;
	render(&ci, vals);
	if (app->format == FORMAT_CSV) {
		for (size_t i = 0; i < NCOLUMNS; i++)
			fprintf(app->out, "%s%s", i ? "," : "", vals[i]);
		fputc('\n', app->out);
	} else {
		fputc('{', app->out);
		for (size_t i = 0; i < NCOLUMNS; i++) {
			const char *sep = i ? "," : "";

			if (vals[i][0] == '\0' && !is_string_column(i))
				fprintf(app->out, "%s\"%s\":null", sep, columns[i]);
			else if (is_string_column(i))
				/* Our strings never hold quotes or backslashes. */
				fprintf(app->out, "%s\"%s\":\"%s\"", sep, columns[i], vals[i]);
			else
				fprintf(app->out, "%s\"%s\":%s", sep, columns[i], vals[i]);
		}
		fputs("}\n", app->out);
	}
	app->rows++;
	if (ferror(app->out)) {
		app->write_failed = errno ? errno : EIO;
		return -app->write_failed;
	}
	return 0;
}

static int on_remove(const struct netmoon_conn *conn, int reason, void *user)
{
	(void)reason;
	return write_row(user, conn);
}

static int on_interval_row(const struct netmoon_conn *conn, void *user)
{
	return write_row(user, conn);
}

static int run(struct app *app)
{
	NETMOON_OPTS(netmoon_frame, f);
	NETMOON_OPTS(netmoon_conntable_opts, ctopts, .max_conns = app->max_conns,
		     .idle_timeout_ns = app->idle_timeout_ns);
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_remove = on_remove);
	const struct netmoon_packet *pkt;
	char errbuf[512];
	int64_t next_interval = INT64_MIN;
	uint64_t npkts = 0;
	int rc, err, read_err = 0, track_err = 0;

	err = netmoon_capture_open_err(&app->cap, app->read_path, NULL, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "%s: %s\n", app->prog, errbuf[0] ? errbuf : netmoon_strerror(err));
		return EXIT_RUNTIME;
	}
	err = netmoon_conntable_new(&app->ct, &ctopts);
	if (err) {
		fprintf(stderr, "%s: connection table: %s\n", app->prog, netmoon_strerror(err));
		netmoon_capture_close(app->cap);
		return EXIT_RUNTIME;
	}
	netmoon_conntable_set_hooks(app->ct, &hooks, app);
	write_header(app);

	g_break_cap = app->cap;
	while (!app->max_packets || npkts < app->max_packets) {
		rc = netmoon_capture_next(app->cap, &pkt);
		if (rc <= 0) {
			read_err = rc;
			break;
		}
		npkts++;
		rc = netmoon_frame_parse(&f, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen);
		if (rc > 0 && rc < NETMOON_FRAME_R__COUNT)
			app->rejects[rc]++;
		if (app->interval_ns) {
			if (next_interval == INT64_MIN)
				next_interval = pkt->ts_ns + app->interval_ns;
			while (pkt->ts_ns >= next_interval) {
				netmoon_conntable_foreach(app->ct, on_interval_row, app);
				next_interval += app->interval_ns;
			}
		}
		rc = netmoon_conntable_track(app->ct, &f, pkt->ts_ns, NULL);
		if (rc < 0 && rc != NETMOON_E_TABLE_FULL) {
			track_err = rc;
			break;
		}
	}
	g_break_cap = NULL;

	/* Every remaining connection gets its row, whatever ended the loop. */
	err = (int)netmoon_conntable_flush(app->ct);
	if (app->verbose) {
		NETMOON_OPTS(netmoon_conntable_stats, st);
		NETMOON_OPTS(netmoon_capture_stats, cs);

		netmoon_capture_get_stats(app->cap, &cs);
		netmoon_conntable_get_stats(app->ct, &st);
		fprintf(stderr, "%" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " connections, "
			"%" PRIu64 " rows; table: peak %" PRIu64 "/%" PRIu64 ", %" PRIu64
			" expired, %" PRIu64 " evicted, %" PRIu64 " refused, %" PRIu64
			" untracked, %" PRIu64 "+%" PRIu64 " fragments (un)attributed\n",
			cs.packets, cs.bytes, st.created, app->rows, st.peak, st.max_conns,
			st.expired, st.evicted, st.refused, st.untracked, st.frag_attributed,
			st.frag_unattributed);
		for (int r = 1; r < NETMOON_FRAME_R__COUNT; r++)
			if (app->rejects[r])
				fprintf(stderr, "  %" PRIu64 " frames not fully decoded: %s\n",
					app->rejects[r], netmoon_frame_reason_str(r));
	}

	if (fflush(app->out) != 0 || ferror(app->out) || app->write_failed) {
		fprintf(stderr, "%s: writing %s: %s\n", app->prog,
			app->out_path ? app->out_path : "standard output",
			strerror(app->write_failed ? app->write_failed : errno));
		rc = EXIT_RUNTIME;
	} else if (read_err < 0 && read_err != NETMOON_E_BREAK) {
		const char *msg = netmoon_capture_errmsg(app->cap);

		fprintf(stderr, "%s: %s\n", app->prog, msg[0] ? msg : netmoon_strerror(read_err));
		rc = EXIT_RUNTIME;
	} else if (track_err < 0 || err < 0) {
		fprintf(stderr, "%s: connection table: %s\n", app->prog,
			netmoon_strerror(track_err < 0 ? track_err : err));
		rc = EXIT_RUNTIME;
	} else {
		rc = 0;
	}
	netmoon_conntable_free(app->ct);
	netmoon_capture_close(app->cap);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_INTERVAL, OPT_IDLE, OPT_MAXCONNS };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-conns", required_argument, NULL, OPT_MAXCONNS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct app app = { .prog = "netmoon-csv", .out = stdout };
	const char *iface = NULL, *filter = NULL, *write_path = NULL;
	struct sigaction sa;
	uint64_t v;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "r:i:pf:w:c:o:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': app.read_path = optarg; break;
		case 'i': iface = optarg; break;
		case 'p': break;
		case 'f': filter = optarg; break;
		case 'w': write_path = optarg; break;
		case 'o': app.out_path = optarg; break;
		case 'v': app.verbose = 1; break;
		case 'c':
			if (parse_u64(optarg, UINT64_MAX, &v) || v == 0) {
				fprintf(stderr, "%s: -c: expected a positive packet count, got '%s'\n",
					app.prog, optarg);
				return EXIT_USAGE;
			}
			app.max_packets = v;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "csv")) {
				app.format = FORMAT_CSV;
			} else if (!strcmp(optarg, "json")) {
				app.format = FORMAT_JSON;
			} else {
				fprintf(stderr, "%s: --format: expected csv or json, got '%s'\n",
					app.prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_INTERVAL:
			app.interval_ns = parse_seconds(optarg);
			if (app.interval_ns <= 0) {
				fprintf(stderr, "%s: --interval: expected a positive number of seconds, got '%s'\n",
					app.prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_IDLE:
			app.idle_timeout_ns = parse_seconds(optarg);
			if (app.idle_timeout_ns <= 0) {
				fprintf(stderr, "%s: --idle-timeout: expected a positive number of seconds, got '%s'\n",
					app.prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_MAXCONNS:
			if (parse_u64(optarg, UINT32_MAX, &v) || v == 0) {
				fprintf(stderr, "%s: --max-conns: expected a number from 1 to %u, got '%s'\n",
					app.prog, UINT32_MAX, optarg);
				return EXIT_USAGE;
			}
			app.max_conns = (uint32_t)v;
			break;
		case 'V':
			printf("netmoon-csv %s (libnetmoon %s)\n", NETMOON_VERSION_STRING,
			       netmoon_version_string());
			return 0;
		case 'h':
			usage(stdout, app.prog);
			return 0;
		default:
			usage(stderr, app.prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		filter = argv[optind];
	if (iface && app.read_path) {
		fprintf(stderr, "%s: -r and -i cannot be used together\n", app.prog);
		return EXIT_USAGE;
	}
	if (!iface && !app.read_path) {
		fprintf(stderr, "%s: nothing to read: give -r FILE or -i IFACE (see --help)\n", app.prog);
		return EXIT_USAGE;
	}
	if (iface) {
		fprintf(stderr, "%s: live capture (-i %s) is not supported yet in libnetmoon %s\n",
			app.prog, iface, netmoon_version_string());
		return EXIT_RUNTIME;
	}
	if (filter) {
		fprintf(stderr, "%s: filter expressions are not supported yet in libnetmoon %s\n",
			app.prog, netmoon_version_string());
		return EXIT_RUNTIME;
	}
	if (write_path) {
		fprintf(stderr, "%s: saving packets (-w) is not supported yet in libnetmoon %s\n",
			app.prog, netmoon_version_string());
		return EXIT_RUNTIME;
	}
	if (app.out_path) {
		app.out = fopen(app.out_path, "w");
		if (!app.out) {
			fprintf(stderr, "%s: %s: %s\n", app.prog, app.out_path, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	setvbuf(app.out, NULL, _IOFBF, 1 << 20);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = run(&app);
	if (app.out != stdout && fclose(app.out) != 0 && rc == 0) {
		fprintf(stderr, "%s: %s: %s\n", app.prog, app.out_path, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	return rc;
}
