/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netmoon-csv: one CSV (or JSON) row per connection, written when the
 * connection leaves the table (closed, expired, evicted) and for every
 * connection still open at the end.  Uses only the public API.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netmoon/netmoon.h>

#include "../common/privdrop.h"
#include "row.h"
#include "rowq.h"

#define EXIT_USAGE 1
#define EXIT_RUNTIME 2
#define BATCH 256 /* frames tracked together */

struct app {
	const char *prog;
	const char *read_path;
	const char *iface;
	int no_promisc;
	const char *out_path;
	const char *write_path;
	struct netmoon_writer *writer;
	char *filter_expr;
	int dump_filter;
	const char *drop_user;
	struct netmoon_filter *filter;
	FILE *out;
	enum row_format format;
	uint64_t max_packets;
	int64_t interval_ns;
	int64_t idle_timeout_ns;
	uint32_t max_conns;
	int threads;
	int verbose;
	struct netmoon_capture *cap;
	struct netmoon_conntable *ct;
	uint64_t rejects[NETMOON_FRAME_R__COUNT];
	uint64_t rows;
	int write_failed;
	struct rowq *rowq; /* rows written by a second thread (files, --threads 2) */
	struct netmoon_frame batch[BATCH];
	int64_t batch_ts[BATCH];
	char outbuf[1 << 20]; /* the rows' stdio buffer */
};

/*
 * SIGINT/SIGTERM: the loop checks g_stop between packets; breakloop() wakes
 * a live capture waiting for packets.  g_break_cap is set once before the
 * loop starts.
 */
static volatile sig_atomic_t g_stop;
static struct netmoon_capture *volatile g_break_cap;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_break_cap)
		netmoon_capture_breakloop(g_break_cap);
}

/*
 * With two threads the capture file is mapped: another process truncating
 * it under us raises SIGBUS on the next page read.  Say so, and fail.
 */
static void on_sigbus(int sig)
{
	static const char msg[] = "netmoon-csv: the capture file shrank while it was read "
				  "(SIGBUS); use --threads 1 to read a file that changes\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EXIT_RUNTIME);
}

/* A live capture's wait for packets ends this often to expire, write interval rows. */
#define LIVE_TICK_MS 100
/* ... and a batch is tracked once its first frame is this old. */
#define LIVE_BATCH_NS (100 * 1000000LL)

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s -r FILE | -i IFACE [options] [filter]\n"
		"Write one CSV row per connection of a capture.\n\n"
		"  -r FILE            read a pcap/pcapng capture ('-' = standard input)\n"
		"  -i IFACE           live capture on IFACE ('any' = every interface)\n"
		"  -p                 no promiscuous mode (live capture)\n"
		"  -f EXPR            keep only packets matching EXPR (tcpdump syntax; or give\n"
		"                     EXPR as the last arguments)\n"
		"  --dump-filter      print the compiled filter program (as tcpdump -d) and exit\n"
		"  -w FILE            also save the packets (pcap; pcapng if FILE ends in .pcapng)\n"
		"  -c N               stop after N packets\n"
		"  -o FILE            write rows to FILE instead of standard output\n"
		"  --format csv|json  output format (JSON: one object per line)\n"
		"  --interval SEC     also write a row per active connection every SEC seconds\n"
		"  --idle-timeout SEC idle timeout of connections (default 60)\n"
		"  --max-conns N      maximum number of connections tracked at once\n"
		"  --threads 1|2      -r: 2 (the default with 2 CPUs or more) maps the file and\n"
		"                     walks its records in a second thread; 1 read()s it\n"
		"  -Z USER            after opening the capture and the files, run as USER\n"
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

static int write_row(struct app *app, const struct netmoon_conn *conn)
{
	NETMOON_OPTS(netmoon_conn_info, ci);
	char line[ROW_MAX];
	size_t n;
	int err;

	err = netmoon_conn_get_info(conn, &ci);
	if (err)
		return err;
	if (app->rowq) {
		err = rowq_push(app->rowq, &ci);
		if (err)
			app->write_failed = -err;
		return err;
	}
	n = row_format(line, &ci, app->format);
	if (fwrite(line, 1, n, app->out) != n) {
		app->write_failed = errno ? errno : EIO;
		return -app->write_failed;
	}
	app->rows++;
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

/* Track the first @n frames of the batch; a hook's error (a write error) is returned. */
static int track_batch(struct app *app, size_t n)
{
	int64_t r = netmoon_conntable_track_burst(app->ct, app->batch, app->batch_ts, n);

	return r < 0 ? (int)r : 0;
}

static int run(struct app *app)
{
	NETMOON_OPTS(netmoon_conntable_opts, ctopts, .max_conns = app->max_conns,
		     .idle_timeout_ns = app->idle_timeout_ns);
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_remove = on_remove);
	const struct netmoon_packet *pkt;
	const struct netmoon_frame *fr;
	char errbuf[512];
	int64_t next_interval = INT64_MIN;
	uint64_t npkts = 0;
	size_t nb = 0;
	int rc, err, read_err = 0, track_err = 0, save_err = 0;
	char save_msg[512] = "";

	if (app->iface) {
		NETMOON_OPTS(netmoon_capture_live_opts, lopts, .read_timeout_ms = LIVE_TICK_MS,
			     .flags = app->no_promisc ? NETMOON_LIVE_F_NO_PROMISC : 0);

		err = netmoon_capture_open_live(&app->cap, app->iface, &lopts, errbuf,
						sizeof(errbuf));
	} else {
		/*
		 * Two threads: the file is mapped and a second thread walks its
		 * records ahead of this one (no packet is copied), which then
		 * only parses and tracks.
		 */
		NETMOON_OPTS(netmoon_capture_file_opts, fopts, .use_mmap = app->threads > 1,
			     .read_thread = app->threads > 1);

		err = netmoon_capture_open_err(&app->cap, app->read_path, &fopts, errbuf,
					       sizeof(errbuf));
	}
	if (err) {
		fprintf(stderr, "%s: %s\n", app->prog, errbuf[0] ? errbuf : netmoon_strerror(err));
		return EXIT_RUNTIME;
	}
	if (app->filter_expr) {
		int lt = netmoon_capture_linktype(app->cap);

		err = netmoon_filter_compile(&app->filter, app->filter_expr,
					     lt < 0 ? NETMOON_LINKTYPE_ETHERNET : (uint32_t)lt, 0,
					     errbuf, sizeof(errbuf));
		if (err) {
			fprintf(stderr, "%s: filter: %s\n", app->prog,
				errbuf[0] ? errbuf : netmoon_strerror(err));
			netmoon_capture_close(app->cap);
			return EXIT_USAGE;
		}
		if (app->dump_filter) {
			/* As tcpdump -d: the program for this capture's link type. */
			int need = netmoon_filter_dump(app->filter, NULL, 0);
			char *txt = need > 0 ? malloc((size_t)need + 1) : NULL;

			if (txt) {
				netmoon_filter_dump(app->filter, txt, (size_t)need + 1);
				fputs(txt, stdout);
				free(txt);
			}
			netmoon_filter_free(app->filter);
			netmoon_capture_close(app->cap);
			return txt ? 0 : EXIT_RUNTIME;
		}
		err = netmoon_capture_set_filter(app->cap, app->filter);
		if (err < 0) {
			fprintf(stderr, "%s: filter: %s\n", app->prog,
				netmoon_capture_errmsg(app->cap)[0] ? netmoon_capture_errmsg(app->cap)
								    : netmoon_strerror(err));
			netmoon_filter_free(app->filter);
			netmoon_capture_close(app->cap);
			return EXIT_RUNTIME;
		}
		if (app->iface)
			fprintf(stderr, "%s: filter: %zu instructions, %s\n", app->prog,
				netmoon_filter_insn_count(app->filter),
				err == 1 ? "run in the kernel and checked in user space"
					 : "run in user space only (cooked capture)");
	} else if (app->dump_filter) {
		fprintf(stderr, "%s: --dump-filter needs a filter expression\n", app->prog);
		netmoon_capture_close(app->cap);
		return EXIT_USAGE;
	}
	if (app->iface) {
		int lt = netmoon_capture_linktype(app->cap);

		/* As tcpdump: scripts wait for this line before they send traffic. */
		fprintf(stderr, "%s: listening on %s, link-type %s, %spromiscuous\n", app->prog,
			app->iface, lt == NETMOON_LINKTYPE_ETHERNET ? "EN10MB (Ethernet)"
								    : "LINUX_SLL2 (Linux cooked v2)",
			app->no_promisc || !strcmp(app->iface, "any") ? "not " : "");
	}
	err = netmoon_conntable_new(&app->ct, &ctopts);
	if (err) {
		fprintf(stderr, "%s: connection table: %s\n", app->prog, netmoon_strerror(err));
		netmoon_capture_close(app->cap);
		netmoon_filter_free(app->filter);
		return EXIT_RUNTIME;
	}
	netmoon_conntable_set_hooks(app->ct, &hooks, app);
	if (app->write_path) {
		err = netmoon_writer_open_err(&app->writer, app->write_path, NULL, errbuf,
					      sizeof(errbuf));
		if (err) {
			fprintf(stderr, "%s: -w: %s\n", app->prog,
				errbuf[0] ? errbuf : netmoon_strerror(err));
			netmoon_conntable_free(app->ct);
			netmoon_capture_close(app->cap);
			netmoon_filter_free(app->filter);
			return EXIT_RUNTIME;
		}
	}
	if (app->drop_user && netmoon_example_drop_privileges(app->prog, app->drop_user) < 0) {
		netmoon_writer_close(app->writer);
		netmoon_conntable_free(app->ct);
		netmoon_capture_close(app->cap);
		netmoon_filter_free(app->filter);
		return EXIT_RUNTIME;
	}
	if (app->format == ROW_CSV)
		fputs(row_csv_header(), app->out);
	/*
	 * Reading a file with two threads: the rows, too, are written by a
	 * thread of their own, in order.  Under a SYN flood every evicted
	 * connection gets a row, and formatting them took a third of the
	 * tracking thread's time.  (Live captures write their rows inline:
	 * they must come out as soon as the connection ends.)
	 */
	if (!app->iface && app->threads > 1 && rowq_start(&app->rowq, app->out, app->format) < 0)
		app->rowq = NULL; /* no thread: rows are written inline */

	/*
	 * Frames are decoded into a batch and tracked together, so the table
	 * can prefetch the buckets and entries of packets ahead (the cache
	 * misses on them are most of the cost with many flows).  Decoded frames
	 * hold no pointers into the packet, so they outlive it.
	 */
	g_break_cap = app->cap;
	while (!g_stop && (!app->max_packets || npkts < app->max_packets)) {
		struct netmoon_frame *f = &app->batch[nb];

		rc = netmoon_capture_next_frame(app->cap, &pkt, &fr);
		if (rc == -EAGAIN || rc == NETMOON_E_BREAK) {
			/* Live, and quiet: time passes without packets. */
			int64_t now = wall_ns();

			if ((track_err = track_batch(app, nb)) < 0)
				break;
			nb = 0;
			if ((track_err = (int)netmoon_conntable_expire(app->ct, now, 0)) < 0)
				break;
			if (app->interval_ns && next_interval != INT64_MIN) {
				while (now >= next_interval) {
					netmoon_conntable_foreach(app->ct, on_interval_row, app);
					next_interval += app->interval_ns;
				}
			}
			fflush(app->out);
			continue;
		}
		if (rc <= 0) {
			read_err = rc;
			break;
		}
		npkts++;
		if (app->writer && (save_err = netmoon_writer_write(app->writer, pkt)) < 0) {
			snprintf(save_msg, sizeof(save_msg), "%s",
				 netmoon_writer_errmsg(app->writer));
			break;
		}
		if (app->interval_ns) {
			if (next_interval == INT64_MIN)
				next_interval = pkt->ts_ns + app->interval_ns;
			if (pkt->ts_ns >= next_interval) {
				/* The rows describe everything before this packet. */
				if ((track_err = track_batch(app, nb)) < 0)
					break;
				nb = 0;
				f = &app->batch[0];
				while (pkt->ts_ns >= next_interval) {
					netmoon_conntable_foreach(app->ct, on_interval_row, app);
					next_interval += app->interval_ns;
				}
			}
		}
		if (app->iface && nb && pkt->ts_ns - app->batch_ts[0] > LIVE_BATCH_NS) {
			/* Live: rows of closed connections should not wait for a full batch. */
			if ((track_err = track_batch(app, nb)) < 0)
				break;
			nb = 0;
			f = &app->batch[0];
		}
		/* Decoded already (by the walker thread, with two threads). */
		if (__builtin_expect(fr->sz == sizeof(*f), 1)) {
			*f = *fr;
		} else {
			memset(f, 0, sizeof(*f));
			memcpy(f, fr, fr->sz < sizeof(*f) ? fr->sz : sizeof(*f));
			f->sz = sizeof(*f);
		}
		if (f->reason > 0 && f->reason < NETMOON_FRAME_R__COUNT)
			app->rejects[f->reason]++;
		app->batch_ts[nb++] = pkt->ts_ns;
		if (nb == BATCH) {
			if ((track_err = track_batch(app, nb)) < 0)
				break;
			nb = 0;
		}
	}
	if (track_err >= 0)
		track_err = track_batch(app, nb);
	g_break_cap = NULL;

	/* Every remaining connection gets its row, whatever ended the loop. */
	err = (int)netmoon_conntable_flush(app->ct);
	if (app->rowq) {
		int werr = rowq_finish(app->rowq, &app->rows);

		app->rowq = NULL;
		if (werr < 0 && !app->write_failed)
			app->write_failed = -werr;
	}
	if (app->iface) {
		NETMOON_OPTS(netmoon_capture_stats, cs);

		/* As tcpdump does at the end of a live capture. */
		netmoon_capture_get_stats(app->cap, &cs);
		if (app->writer)
			netmoon_writer_set_stats(app->writer, cs.kernel_received, cs.kernel_dropped);
		fprintf(stderr, "%s: %" PRIu64 " packets captured, kernel: %" PRIu64
			" received, %" PRIu64 " dropped\n",
			app->prog, cs.packets, cs.kernel_received, cs.kernel_dropped);
	}
	if (app->verbose) {
		NETMOON_OPTS(netmoon_conntable_stats, st);
		NETMOON_OPTS(netmoon_capture_stats, cs);

		netmoon_capture_get_stats(app->cap, &cs);
		netmoon_conntable_get_stats(app->ct, &st);
		fprintf(stderr, "%" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " connections, "
			"%" PRIu64 " rows; table: peak %" PRIu64 "/%" PRIu64 ", %" PRIu64
			" expired, %" PRIu64 " evicted (%" PRIu64 " never answered), %" PRIu64
			" emergencies, %" PRIu64 " refused, %" PRIu64
			" untracked, %" PRIu64 "+%" PRIu64 " fragments (un)attributed\n",
			cs.packets, cs.bytes, st.created, app->rows, st.peak, st.max_conns,
			st.expired, st.evicted, st.evicted_embryonic, st.emergencies, st.refused, st.untracked, st.frag_attributed,
			st.frag_unattributed);
		for (int r = 1; r < NETMOON_FRAME_R__COUNT; r++)
			if (app->rejects[r])
				fprintf(stderr, "  %" PRIu64 " frames not fully decoded: %s\n",
					app->rejects[r], netmoon_frame_reason_str(r));
	}

	if (app->writer) {
		/* Written to the end whatever stopped the loop: a usable file. */
		char wmsg[512] = "";
		int werr = netmoon_writer_close_err(app->writer, wmsg, sizeof(wmsg));

		app->writer = NULL;
		if (save_err >= 0 && werr < 0) {
			save_err = werr;
			snprintf(save_msg, sizeof(save_msg), "%s", wmsg);
		}
		if (save_err < 0 && !save_msg[0])
			snprintf(save_msg, sizeof(save_msg), "%s: %s", app->write_path,
				 netmoon_strerror(save_err));
		if (save_err < 0)
			fprintf(stderr, "%s: -w: %s\n", app->prog, save_msg);
	}
	if (save_err < 0) {
		rc = EXIT_RUNTIME;
	} else if (fflush(app->out) != 0 || ferror(app->out) || app->write_failed) {
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
	netmoon_filter_free(app->filter);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_INTERVAL, OPT_IDLE, OPT_MAXCONNS, OPT_DUMP, OPT_THREADS };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-conns", required_argument, NULL, OPT_MAXCONNS },
		{ "dump-filter", no_argument, NULL, OPT_DUMP },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct app app = { .prog = "netmoon-csv" }; /* big: the frame batch */
	const char *filter = NULL;
	struct sigaction sa;
	uint64_t v;
	int opt, rc;

	app.out = stdout;
	while ((opt = getopt_long(argc, argv, "r:i:pf:w:c:o:Z:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': app.read_path = optarg; break;
		case 'i': app.iface = optarg; break;
		case 'p': app.no_promisc = 1; break;
		case 'f': filter = optarg; break;
		case OPT_DUMP: app.dump_filter = 1; break;
		case 'w': app.write_path = optarg; break;
		case 'o': app.out_path = optarg; break;
		case 'v': app.verbose = 1; break;
		case 'Z': app.drop_user = optarg; break;
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
				app.format = ROW_CSV;
			} else if (!strcmp(optarg, "json")) {
				app.format = ROW_JSON;
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
		case OPT_THREADS:
			if (parse_u64(optarg, 2, &v) || v == 0) {
				fprintf(stderr, "%s: --threads: expected 1 or 2, got '%s'\n",
					app.prog, optarg);
				return EXIT_USAGE;
			}
			app.threads = (int)v;
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
	if (optind < argc) {
		/* As tcpdump: the remaining arguments, joined, are the filter. */
		size_t len = 1;

		if (filter) {
			fprintf(stderr, "%s: give the filter with -f or as arguments, not both\n",
				app.prog);
			return EXIT_USAGE;
		}
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		app.filter_expr = calloc(1, len);
		if (!app.filter_expr) {
			fprintf(stderr, "%s: out of memory\n", app.prog);
			return EXIT_RUNTIME;
		}
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(app.filter_expr, " ");
			strcat(app.filter_expr, argv[i]);
		}
	} else if (filter) {
		app.filter_expr = strdup(filter);
		if (!app.filter_expr) {
			fprintf(stderr, "%s: out of memory\n", app.prog);
			return EXIT_RUNTIME;
		}
	}
	if (app.iface && app.read_path) {
		fprintf(stderr, "%s: -r and -i cannot be used together\n", app.prog);
		return EXIT_USAGE;
	}
	if (!app.iface && !app.read_path) {
		fprintf(stderr, "%s: nothing to read: give -r FILE or -i IFACE (see --help)\n", app.prog);
		return EXIT_USAGE;
	}
	if (app.out_path) {
		app.out = fopen(app.out_path, "w");
		if (!app.out) {
			fprintf(stderr, "%s: %s: %s\n", app.prog, app.out_path, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	/* glibc ignores the size unless given the buffer: without one, every
	 * 4 KiB of rows was a write(2). */
	setvbuf(app.out, app.outbuf, _IOFBF, sizeof(app.outbuf));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!app.threads)
		app.threads = app.read_path && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
	if (app.threads > 1) {
		sa.sa_handler = on_sigbus;
		sigaction(SIGBUS, &sa, NULL);
	}

	rc = run(&app);
	free(app.filter_expr);
	if (app.out != stdout && fclose(app.out) != 0 && rc == 0) {
		fprintf(stderr, "%s: %s: %s\n", app.prog, app.out_path, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	return rc;
}
