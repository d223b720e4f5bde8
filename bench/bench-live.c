/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-live: capture, parse and track live traffic with the monitor until
 * SIGINT/SIGTERM, then print one line of figures.
 *
 *   bench-live [--threads 1|2] [--fanout GROUP] [--blocks N] IFACE
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
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <netmoon/netmoon.h>

static struct netmoon_monitor *volatile g_mon;

static void on_signal(int sig)
{
	(void)sig;
	if (g_mon)
		netmoon_monitor_stop(g_mon);
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
		{ NULL, 0, NULL, 0 },
	};
	NETMOON_OPTS(netmoon_monitor_stats, st);
	struct netmoon_capture *cap;
	struct netmoon_monitor *mon;
	struct sigaction sa;
	char err[512];
	int threads = 1, c, r;
	unsigned fanout = 0, blocks = 0;
	double c0;

	while ((c = getopt_long(argc, argv, "t:f:b:", longopts, NULL)) != -1) {
		switch (c) {
		case 't': threads = atoi(optarg); break;
		case 'f': fanout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': blocks = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench-live [--threads 1|2] [--fanout G] [--blocks N] IFACE\n");
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: bench-live [--threads 1|2] [--fanout G] [--blocks N] IFACE\n");
		return 1;
	}
	{
		NETMOON_OPTS(netmoon_capture_live_opts, lo, .fanout_group = fanout,
			     .block_count = blocks, .flags = NETMOON_LIVE_F_NO_PROMISC);

		r = netmoon_capture_open_live(&cap, argv[optind], &lo, err, sizeof(err));
	}
	if (r) {
		fprintf(stderr, "bench-live: %s\n", err);
		return 2;
	}
	{
		NETMOON_OPTS(netmoon_monitor_opts, mo, .threads = threads);

		r = netmoon_monitor_new(&mon, cap, &mo);
	}
	if (r) {
		fprintf(stderr, "bench-live: monitor: %s\n", netmoon_strerror(r));
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	g_mon = mon;
	c0 = cpu_seconds();
	fprintf(stderr, "ready\n");
	r = netmoon_monitor_run(mon, 0);
	c0 = cpu_seconds() - c0;
	g_mon = NULL;
	if (r < 0)
		fprintf(stderr, "bench-live: %s\n", netmoon_capture_errmsg(cap));
	netmoon_monitor_get_stats(mon, &st);
	printf("bench: tool=bench-live-t%d packets=%" PRIu64 " kernel_received=%" PRIu64
	       " kernel_dropped=%" PRIu64 " cpu_seconds=%.3f cpu_ns_per_packet=%.1f conns=%" PRIu64
	       " queue_hwm=%" PRIu64 " blocks=%" PRIu64 "\n",
	       threads, st.packets, st.kernel_received, st.kernel_dropped, c0,
	       st.packets ? c0 * 1e9 / (double)st.packets : 0.0, st.table.created, st.queue_hwm,
	       st.blocks);
	netmoon_monitor_free(mon);
	netmoon_capture_close(cap);
	return r < 0 ? 2 : 0;
}
