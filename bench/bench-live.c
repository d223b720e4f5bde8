/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-live: capture, parse and track live traffic with the monitor until
 * SIGINT/SIGTERM, then print one line of figures.
 *
 *   bench-live [--threads 1|2] [--fanout GROUP] [--blocks N] [--workers N] IFACE
 *
 * --workers N (2 or more): N threads, each with its own capture in one
 * PACKET_FANOUT group (hash of the flow: both directions of a connection
 * reach the same worker) and its own one-thread monitor and table; the
 * figures are the workers' sums (tool=bench-live-wN).
 *
 * Prints on standard output, after "ready" on standard error once the ring
 * is open:
 *   bench: tool=bench-live-tN packets=P kernel_received=R kernel_dropped=D
 *          cpu_seconds=C cpu_ns_per_packet=X conns=K queue_hwm=Q blocks=B
 * CPU time is the whole process's (every thread, user + system), from
 * getrusage(), over the time between the open and the stop.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <netmoon/netmoon.h>

#define MAX_WORKERS 8

static struct netmoon_monitor *volatile g_mon[MAX_WORKERS];

static void on_signal(int sig)
{
	(void)sig;
	for (int i = 0; i < MAX_WORKERS; i++)
		if (g_mon[i])
			netmoon_monitor_stop(g_mon[i]);
}

struct worker {
	struct netmoon_capture *cap;
	struct netmoon_monitor *mon;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->rc = netmoon_monitor_run(w->mon, 0);
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "fanout", required_argument, NULL, 'f' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "workers", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
		"usage: bench-live [--threads 1|2] [--fanout G] [--blocks N] [--workers N] IFACE\n";
	struct worker wk[MAX_WORKERS] = { { 0 } };
	pthread_t th[MAX_WORKERS];
	uint64_t packets = 0, received = 0, dropped = 0, conns = 0, hwm = 0, blocks_seen = 0;
	struct sigaction sa;
	char err[512];
	int threads = 1, workers = 1, c, r = 0;
	unsigned fanout = 0, blocks = 0;
	double c0;

	while ((c = getopt_long(argc, argv, "t:f:b:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 't': threads = atoi(optarg); break;
		case 'f': fanout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': blocks = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': workers = atoi(optarg); break;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind + 1 != argc || workers < 1 || workers > MAX_WORKERS ||
	    (workers > 1 && threads != 1)) {
		fputs(usage, stderr);
		return 1;
	}
	if (workers > 1 && !fanout)
		fanout = (unsigned)getpid() & 0xffff; /* not another run's group */
	for (int i = 0; i < workers; i++) {
		NETMOON_OPTS(netmoon_capture_live_opts, lo, .fanout_group = fanout,
			     .fanout_mode = NETMOON_FANOUT_HASH, .block_count = blocks,
			     .flags = NETMOON_LIVE_F_NO_PROMISC);
		NETMOON_OPTS(netmoon_monitor_opts, mo, .threads = threads);

		r = netmoon_capture_open_live(&wk[i].cap, argv[optind], &lo, err, sizeof(err));
		if (r) {
			fprintf(stderr, "bench-live: %s\n", err);
			return 2;
		}
		r = netmoon_monitor_new(&wk[i].mon, wk[i].cap, &mo);
		if (r) {
			fprintf(stderr, "bench-live: monitor: %s\n", netmoon_strerror(r));
			return 2;
		}
		g_mon[i] = wk[i].mon;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	c0 = cpu_seconds();
	fprintf(stderr, "ready\n");
	for (int i = 1; i < workers; i++) {
		if (pthread_create(&th[i], NULL, worker_main, &wk[i])) {
			fprintf(stderr, "bench-live: cannot start worker %d\n", i);
			return 2;
		}
	}
	worker_main(&wk[0]);
	for (int i = 1; i < workers; i++)
		pthread_join(th[i], NULL);
	c0 = cpu_seconds() - c0;
	for (int i = 0; i < workers; i++) {
		NETMOON_OPTS(netmoon_monitor_stats, st);

		g_mon[i] = NULL;
		if (wk[i].rc < 0) {
			fprintf(stderr, "bench-live: %s\n", netmoon_capture_errmsg(wk[i].cap));
			r = wk[i].rc;
		}
		netmoon_monitor_get_stats(wk[i].mon, &st);
		packets += st.packets;
		received += st.kernel_received;
		dropped += st.kernel_dropped;
		conns += st.table.created;
		hwm = st.queue_hwm > hwm ? st.queue_hwm : hwm;
		blocks_seen += st.blocks;
		netmoon_monitor_free(wk[i].mon);
		netmoon_capture_close(wk[i].cap);
	}
	if (workers > 1)
		printf("bench: tool=bench-live-w%d", workers);
	else
		printf("bench: tool=bench-live-t%d", threads);
	printf(" packets=%" PRIu64 " kernel_received=%" PRIu64 " kernel_dropped=%" PRIu64
	       " cpu_seconds=%.3f cpu_ns_per_packet=%.1f conns=%" PRIu64 " queue_hwm=%" PRIu64
	       " blocks=%" PRIu64 "\n",
	       packets, received, dropped, c0, packets ? c0 * 1e9 / (double)packets : 0.0, conns,
	       hwm, blocks_seen);
	return r < 0 ? 2 : 0;
}
