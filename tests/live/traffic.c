/* traffic: a small, deterministic traffic generator for tests/check-live.sh.
 *
 * Plain C and libc only; built by the harness with ${CC:-cc} into a
 * temporary directory.  Every subcommand exits 0 on success and 1 with a
 * one-line message on failure.  Clients re-arm a 5-second alarm before each
 * unit of work and put timeouts on every socket, so nothing hangs; the sinks
 * serve until they are killed.
 *
 *   tcp-sink PORT [--v6]          accept connections, read and discard;
 *                                 prints "ready" once listening
 *   tcp-send ADDR PORT BYTES      one connection, exactly BYTES, shutdown(WR),
 *                                 wait for the peer's close, close
 *   tcp-many ADDR PORT N          N sequential connections of 100 bytes each
 *   udp-send ADDR PORT N SIZE     N datagrams of SIZE bytes from one socket
 *   udp-sink PORT [--v6]          receive and discard; prints "ready"
 *   icmp-echo ADDR N              N echo requests (56 data bytes), one at a
 *                                 time, each must be answered
 *   vlan-send IFACE VID N         N Ethernet frames tagged 802.1Q VID carrying
 *                                 IPv4/UDP 10.77.5.1:40000 -> 10.77.5.2:40001
 *                                 with 64 payload bytes (110-byte frames)
 *   sigdfl CMD [ARG...]           exec CMD with SIGINT/SIGQUIT/SIGTERM set to
 *                                 the default action (a non-interactive shell
 *                                 starts background jobs with SIGINT ignored)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define STEP_TIMEOUT_S 5	/* alarm re-armed before each unit of work */
#define IO_TIMEOUT_S 3		/* SO_RCVTIMEO / SO_SNDTIMEO on client sockets */
#define SINK_IDLE_S 10		/* a sink drops a connection idle that long */
#define SINK_MAX_CONNS 64
#define ICMP_DATA_LEN 56
#define VLAN_PAYLOAD_LEN 64

static const char *prog = "traffic";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "traffic: timeout\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	_exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s tcp-sink PORT [--v6]\n"
		"       %s tcp-send ADDR PORT BYTES\n"
		"       %s tcp-many ADDR PORT N\n"
		"       %s udp-send ADDR PORT N SIZE\n"
		"       %s udp-sink PORT [--v6]\n"
		"       %s icmp-echo ADDR N\n"
		"       %s vlan-send IFACE VID N\n"
		"       %s sigdfl CMD [ARG...]\n",
		prog, prog, prog, prog, prog, prog, prog, prog);
	exit(1);
}

static unsigned long parse_num(const char *s, const char *what, unsigned long min,
			       unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die("bad %s '%s' (expected %lu..%lu)", what, s, min, max);
	return v;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An IPv4 or IPv6 literal with a port. */
static socklen_t parse_addr(const char *s, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	die("not an IPv4 or IPv6 address: '%s'", s);
}

static void set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO): %s", strerror(errno));
}

/* Binds a listening or receiving socket on the wildcard address. */
static int bind_any(int type, unsigned port, int v6)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	}
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt(SO_REUSEADDR): %s", strerror(errno));
	if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("setsockopt(IPV6_V6ONLY): %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind port %u: %s", port, strerror(errno));
	return fd;
}

static void say_ready(void)
{
	printf("ready\n");
	if (fflush(stdout) != 0)
		die("stdout: %s", strerror(errno));
}

static int tcp_sink(unsigned port, int v6)
{
	struct pollfd pfd[1 + SINK_MAX_CONNS];
	double last[1 + SINK_MAX_CONNS];
	char buf[65536];
	int lfd, n = 1;

	lfd = bind_any(SOCK_STREAM, port, v6);
	if (listen(lfd, 128) < 0)
		die("listen: %s", strerror(errno));
	say_ready();
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	for (;;) {
		double t;
		int i, r;

		r = poll(pfd, (nfds_t)n, 1000);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		t = now_s();
		if (r > 0 && (pfd[0].revents & POLLIN) && n < 1 + SINK_MAX_CONNS) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (cfd >= 0) {
				pfd[n].fd = cfd;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				last[n] = t;
				n++;
			} else if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
				die("accept: %s", strerror(errno));
			}
		}
		for (i = 1; i < n; i++) {
			int done = 0;

			if (r > 0 && pfd[i].revents) {
				ssize_t got = read(pfd[i].fd, buf, sizeof(buf));

				if (got > 0)
					last[i] = t;
				else if (got == 0 || (errno != EINTR && errno != EAGAIN))
					done = 1;	/* peer closed (or reset): close our side */
			}
			if (t - last[i] > SINK_IDLE_S)
				done = 1;
			if (done) {
				close(pfd[i].fd);
				pfd[i] = pfd[n - 1];
				last[i] = last[n - 1];
				n--;
				i--;
			}
		}
	}
}

static int udp_sink(unsigned port, int v6)
{
	char buf[65536];
	int fd = bind_any(SOCK_DGRAM, port, v6);

	say_ready();
	for (;;) {
		if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR)
			die("recv: %s", strerror(errno));
	}
}

/* One connection: connect, send exactly bytes, shutdown(WR), read until the
 * peer closes, close. */
static void tcp_one(const struct sockaddr_storage *ss, socklen_t len, unsigned long bytes)
{
	char buf[65536], rbuf[4096];
	unsigned long sent = 0;
	int fd;

	alarm(STEP_TIMEOUT_S);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	set_timeouts(fd);	/* SO_SNDTIMEO also bounds connect() */
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		die("connect: %s", errno == EINPROGRESS ? "timed out" : strerror(errno));
	memset(buf, 'x', sizeof(buf));
	while (sent < bytes) {
		size_t chunk = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);
		ssize_t w = send(fd, buf, chunk, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send: %s", strerror(errno));
		}
		sent += (unsigned long)w;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown: %s", strerror(errno));
	for (;;) {
		ssize_t got = recv(fd, rbuf, sizeof(rbuf), 0);

		if (got == 0)
			break;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			die("waiting for the peer's close: %s", strerror(errno));
		}
		/* the sink sends nothing; ignore whatever comes */
	}
	close(fd);
	alarm(0);
}

static int udp_send(const struct sockaddr_storage *ss, socklen_t len, unsigned long n,
		    unsigned long size)
{
	char *buf;
	unsigned long i;
	int fd;

	buf = calloc(1, size ? size : 1);
	if (!buf)
		die("out of memory");
	memset(buf, 'u', size);
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	set_timeouts(fd);
	/* connect() so an ICMP error from the peer shows up as a send error */
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		die("connect: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		alarm(STEP_TIMEOUT_S);
		if (send(fd, buf, size, 0) != (ssize_t)size)
			die("send datagram %lu: %s", i + 1, strerror(errno));
		sleep_us(2000);	/* pacing: no queue anywhere can overflow */
	}
	alarm(0);
	close(fd);
	free(buf);
	return 0;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int icmp_echo(const char *addr, unsigned long n)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, 0, &ss);
	int v6 = ss.ss_family == AF_INET6;
	int fd, raw = 1;
	uint16_t id = (uint16_t)(getpid() & 0xffff);
	unsigned long seq;

	fd = socket(ss.ss_family, SOCK_RAW | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		/* unprivileged: a ping socket (net.ipv4.ping_group_range) */
		raw = 0;
		fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC,
			    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	}
	if (fd < 0)
		die("icmp socket: %s", strerror(errno));
	if (!raw) {
		/* the kernel puts the socket's "port" in the identifier */
		struct sockaddr_storage local;
		socklen_t llen = sizeof(local);

		if (connect(fd, (struct sockaddr *)&ss, len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
			die("ping socket: %s", strerror(errno));
		id = ntohs(v6 ? ((struct sockaddr_in6 *)&local)->sin6_port
			      : ((struct sockaddr_in *)&local)->sin_port);
	}
	for (seq = 1; seq <= n; seq++) {
		uint8_t pkt[8 + ICMP_DATA_LEN];
		double deadline;
		size_t i;
		int answered = 0;

		alarm(STEP_TIMEOUT_S);
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		pkt[4] = (uint8_t)(id >> 8);
		pkt[5] = (uint8_t)id;
		pkt[6] = (uint8_t)(seq >> 8);
		pkt[7] = (uint8_t)seq;
		for (i = 8; i < sizeof(pkt); i++)
			pkt[i] = (uint8_t)i;
		if (!v6) {
			uint16_t c = csum(pkt, sizeof(pkt), 0);

			pkt[2] = (uint8_t)(c >> 8);
			pkt[3] = (uint8_t)c;
		}	/* ICMPv6: the kernel computes the checksum */
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) !=
		    (ssize_t)sizeof(pkt))
			die("send echo %lu: %s", seq, strerror(errno));
		deadline = now_s() + 2.0;
		while (!answered) {
			uint8_t rbuf[2048];
			const uint8_t *icmp = rbuf;
			struct pollfd pfd = { fd, POLLIN, 0 };
			double left = deadline - now_s();
			ssize_t got;

			if (left <= 0)
				die("no reply to echo %lu from %s", seq, addr);
			if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
				continue;
			got = recv(fd, rbuf, sizeof(rbuf), 0);
			if (got < 0)
				continue;
			if (raw && !v6) {	/* raw IPv4 sockets see the IP header */
				size_t hl = (size_t)(rbuf[0] & 0x0f) * 4;

				if ((size_t)got < hl + 8)
					continue;
				icmp = rbuf + hl;
				got -= (ssize_t)hl;
			}
			if (got < 8)
				continue;
			if (icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY))
				continue;
			if ((icmp[4] << 8 | icmp[5]) != id ||
			    (unsigned long)(icmp[6] << 8 | icmp[7]) != (seq & 0xffff))
				continue;
			answered = 1;
		}
		if (seq < n)
			sleep_us(10000);
	}
	alarm(0);
	close(fd);
	return 0;
}

static int vlan_send(const char *ifname, unsigned vid, unsigned long n)
{
	uint8_t frame[14 + 4 + 20 + 8 + VLAN_PAYLOAD_LEN];
	uint8_t *ip = frame + 18, *udp = frame + 38;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	uint32_t src = htonl(0x0a4d0501), dst = htonl(0x0a4d0502);	/* 10.77.5.1 / .2 */
	uint32_t sum;
	uint16_t c;
	unsigned ifindex;
	unsigned long i;
	size_t k;
	int fd;

	alarm(STEP_TIMEOUT_S);
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		die("interface %s: %s", ifname, strerror(errno));
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);	/* protocol 0: send only */
	if (fd < 0)
		die("socket(AF_PACKET): %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR %s: %s", ifname, strerror(errno));

	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);					/* broadcast */
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	frame[12] = 0x81;					/* 802.1Q */
	frame[13] = 0x00;
	frame[14] = (uint8_t)(vid >> 8 & 0x0f);			/* PCP 0, DEI 0 */
	frame[15] = (uint8_t)vid;
	frame[16] = 0x08;					/* IPv4 */
	frame[17] = 0x00;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 8 + VLAN_PAYLOAD_LEN) >> 8);
	ip[3] = (uint8_t)(20 + 8 + VLAN_PAYLOAD_LEN);
	ip[6] = 0x40;						/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	udp[0] = 40000 >> 8;
	udp[1] = 40000 & 0xff;
	udp[2] = 40001 >> 8;
	udp[3] = 40001 & 0xff;
	udp[4] = (uint8_t)((8 + VLAN_PAYLOAD_LEN) >> 8);
	udp[5] = (uint8_t)(8 + VLAN_PAYLOAD_LEN);
	for (k = 0; k < VLAN_PAYLOAD_LEN; k++)
		udp[8 + k] = (uint8_t)('a' + k % 26);

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)ifindex;
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);

	for (i = 0; i < n; i++) {
		alarm(STEP_TIMEOUT_S);
		ip[4] = (uint8_t)(i >> 8);			/* IP id */
		ip[5] = (uint8_t)i;
		ip[10] = ip[11] = 0;
		c = csum(ip, 20, 0);
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		/* UDP checksum over the pseudo header */
		udp[6] = udp[7] = 0;
		sum = 0;
		for (k = 12; k < 20; k += 2)
			sum += (uint32_t)ip[k] << 8 | ip[k + 1];
		sum += IPPROTO_UDP + 8 + VLAN_PAYLOAD_LEN;
		c = csum(udp, 8 + VLAN_PAYLOAD_LEN, sum);
		if (c == 0)
			c = 0xffff;
		udp[6] = (uint8_t)(c >> 8);
		udp[7] = (uint8_t)c;
		if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)) !=
		    (ssize_t)sizeof(frame))
			die("send frame %lu on %s: %s", i + 1, ifname, strerror(errno));
		sleep_us(2000);
	}
	alarm(0);
	close(fd);
	return 0;
}

static int sigdfl(char **argv)
{
	sigset_t none;

	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	die("exec %s: %s", argv[0], strerror(errno));
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(cmd, "sigdfl") && argc >= 3)
		return sigdfl(argv + 2);
	if ((!strcmp(cmd, "tcp-sink") || !strcmp(cmd, "udp-sink")) &&
	    (argc == 3 || (argc == 4 && !strcmp(argv[3], "--v6")))) {
		unsigned port = (unsigned)parse_num(argv[2], "port", 1, 65535);

		return cmd[0] == 't' ? tcp_sink(port, argc == 4) : udp_sink(port, argc == 4);
	}
	if (!strcmp(cmd, "tcp-send") && argc == 5) {
		len = parse_addr(argv[2], (unsigned)parse_num(argv[3], "port", 1, 65535), &ss);
		tcp_one(&ss, len, parse_num(argv[4], "byte count", 0, ULONG_MAX));
		return 0;
	}
	if (!strcmp(cmd, "tcp-many") && argc == 5) {
		unsigned long i, n = parse_num(argv[4], "connection count", 0, 100000);

		len = parse_addr(argv[2], (unsigned)parse_num(argv[3], "port", 1, 65535), &ss);
		for (i = 0; i < n; i++)
			tcp_one(&ss, len, 100);
		return 0;
	}
	if (!strcmp(cmd, "udp-send") && argc == 6) {
		len = parse_addr(argv[2], (unsigned)parse_num(argv[3], "port", 1, 65535), &ss);
		return udp_send(&ss, len, parse_num(argv[4], "datagram count", 0, 1000000),
				parse_num(argv[5], "datagram size", 0, 65507));
	}
	if (!strcmp(cmd, "icmp-echo") && argc == 4)
		return icmp_echo(argv[2], parse_num(argv[3], "echo count", 0, 65535));
	if (!strcmp(cmd, "vlan-send") && argc == 5)
		return vlan_send(argv[2], (unsigned)parse_num(argv[3], "VLAN ID", 1, 4094),
				 parse_num(argv[4], "frame count", 0, 1000000));
	usage();
}
