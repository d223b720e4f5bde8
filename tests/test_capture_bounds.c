/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile capture files, read in bounded memory and time (issue 6, item 4):
 * pcapng blocks whose options fill 16 MiB, options that overrun their block,
 * 100,000 blocks full of options, block lengths near 2 and 4 GiB or just
 * past the 16 MiB record limit or not a multiple of 4, pcap records far
 * above the snaplen, snaplens of 0 and 0xffffffff, a million empty records,
 * endless input on a pipe, input that trickles in, files cut short and
 * files that grow once their end was seen.
 *
 * Every input is built byte by byte from the pcap and pcapng format
 * definitions, and every expected value (packet counts, time stamps,
 * offsets in messages) is worked out from that construction in the test.
 * Each input is read through every kind of source: memory, memory walked by
 * a second thread, a file read in chunks (the default), a mapped file, a
 * mapped file walked by a second thread, a file read ahead by a thread, and
 * standard input that is a pipe.
 *
 * How the bounds are proved: each read runs in a forked child under
 * RLIMIT_AS (its size at the start plus LIMIT_MARGIN, far below anything a
 * 32-bit length taken at its word could ask for) and alarm() (a hang guard,
 * not a speed test).  The child reports what it saw through a pipe, and the
 * parent asserts that it ended normally, and the exact outcome: the open's
 * result, the packets before the end, the end (0 or the documented error),
 * that the end is sticky (next() twice more, then loop()), and that the
 * message names the input and the offset.
 *
 * Under ASan, whose shadow memory is far above any such limit, RLIMIT_AS is
 * not set and the child runs LeakSanitizer before it exits.  Under valgrind
 * (NETMOON_VALGRIND set by make check-valgrind) the reads run in the test
 * process itself, so that memcheck checks them and their leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

#include "support/tbuf.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
#if UNDER_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* The formats' record limit, NETMOON__MAX_RECORD of libnetmoon/capture_int.h. */
#define MAX_RECORD (16u << 20)

/* The pcap reader's bound on caplen when the snaplen is smaller (libpcap's 256 KiB). */
#define PCAP_SANE (256u << 10)

#define BT_SHB 0x0a0d0d0au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u

/* ------------------------------------------------------------------------ */
/* Byte writers                                                              */

static void tb_fill(struct tbuf *b, size_t n, uint8_t byte)
{
	size_t at = b->len;

	tb_put(b, NULL, n);
	memset(b->p + at, byte, n);
}

/* @n copies of a 4-byte unit. */
static void tb_units(struct tbuf *b, const uint8_t unit[4], size_t n)
{
	size_t at = b->len;

	tb_put(b, NULL, 4 * n);
	for (size_t i = 0; i < n; i++)
		memcpy(b->p + at + 4 * i, unit, 4);
}

/*
 * pcapng option code @code of length 0 (4 bytes, the smallest option
 * there is), in the given byte order.
 */
static void opt_unit(uint8_t unit[4], uint16_t code, bool be)
{
	unit[be ? 1 : 0] = (uint8_t)code;
	unit[be ? 0 : 1] = (uint8_t)(code >> 8);
	unit[2] = 0;
	unit[3] = 0;
}

static void tiny_opts(struct tbuf *b, bool be, uint16_t code, size_t n)
{
	uint8_t unit[4];

	opt_unit(unit, code, be);
	tb_units(b, unit, n);
}

/* pcapng Section Header Block: 28 bytes, plus 4 per tiny option (opt_comment). */
static void ng_shb(struct tbuf *b, bool be, size_t tiny)
{
	uint32_t len = 28 + 4 * (uint32_t)tiny;

	tb_u32(b, BT_SHB, be);
	tb_u32(b, len, be);
	tb_u32(b, 0x1a2b3c4d, be);
	tb_u16(b, 1, be);
	tb_u16(b, 0, be);
	tb_u64(b, UINT64_MAX, be); /* section length: not given */
	tiny_opts(b, be, 1, tiny);
	tb_u32(b, len, be);
}

#define NO_TSRESOL (-1)

/*
 * Interface Description Block: 20 bytes, plus 4 per tiny option (if_name of
 * length 0), plus 8 for an if_tsresol.
 */
static void ng_idb(struct tbuf *b, bool be, uint16_t linktype, uint32_t snaplen, size_t tiny,
		   int tsresol)
{
	uint32_t len = 20 + 4 * (uint32_t)tiny + (tsresol != NO_TSRESOL ? 8 : 0);

	tb_u32(b, BT_IDB, be);
	tb_u32(b, len, be);
	tb_u16(b, linktype, be);
	tb_u16(b, 0, be);
	tb_u32(b, snaplen, be);
	tiny_opts(b, be, 2, tiny);
	if (tsresol != NO_TSRESOL) {
		uint8_t r = (uint8_t)tsresol;

		tb_u16(b, 9, be);
		tb_u16(b, 1, be);
		tb_put(b, &r, 1);
		tb_pad4(b);
	}
	tb_u32(b, len, be);
}

/* Enhanced Packet Block: 32 bytes + the padded data + 4 per tiny option (opt_comment). */
static void ng_epb(struct tbuf *b, bool be, uint32_t ifid, uint64_t ts, uint32_t caplen,
		   uint32_t wirelen, uint32_t seed, size_t tiny)
{
	uint32_t len = 32 + ((caplen + 3) & ~3u) + 4 * (uint32_t)tiny;

	tb_u32(b, BT_EPB, be);
	tb_u32(b, len, be);
	tb_u32(b, ifid, be);
	tb_u32(b, (uint32_t)(ts >> 32), be);
	tb_u32(b, (uint32_t)ts, be);
	tb_u32(b, caplen, be);
	tb_u32(b, wirelen, be);
	tb_pattern(b, caplen, seed);
	tb_pad4(b);
	tiny_opts(b, be, 1, tiny);
	tb_u32(b, len, be);
}

/* The start of a pcapng file: SHB (28) + IDB (20, Ethernet, us) + one EPB (44): 92 bytes. */
#define NG_PREFIX_LEN 92
static void ng_prefix(struct tbuf *b, bool be)
{
	ng_shb(b, be, 0);
	ng_idb(b, be, 1, 0, 0, NO_TSRESOL);
	ng_epb(b, be, 0, 1, 10, 10, 1, 0);
	assert_int_equal(b->len, NG_PREFIX_LEN);
}

/* pcap file header (microseconds, Ethernet) and record header. */
static void pcap_hdr(struct tbuf *b, bool be, uint16_t vmin, uint32_t snaplen)
{
	tb_u32(b, 0xa1b2c3d4, be);
	tb_u16(b, 2, be);
	tb_u16(b, vmin, be);
	tb_u32(b, 0, be);
	tb_u32(b, 0, be);
	tb_u32(b, snaplen, be);
	tb_u32(b, 1, be);
}

/* @f3 and @f4 are caplen and len in 2.4 files, the other way round before 2.3. */
static void pcap_rec_hdr(struct tbuf *b, bool be, uint32_t sec, uint32_t usec, uint32_t f3,
			 uint32_t f4)
{
	tb_u32(b, sec, be);
	tb_u32(b, usec, be);
	tb_u32(b, f3, be);
	tb_u32(b, f4, be);
}

/* ------------------------------------------------------------------------ */
/* Expectations                                                              */

enum src_kind {
	SRC_MEM,
	SRC_MEM_WALK,
	SRC_READ,
	SRC_MMAP,
	SRC_MMAP_WALK,
	SRC_THREAD,
	SRC_STDIN_PIPE,
	SRC_COUNT
};

static const char *const src_names[SRC_COUNT] = {
	"memory", "memory walked by a thread", "file read in chunks", "mapped file",
	"mapped file walked by a thread", "file read ahead by a thread (4 x 256 KiB)",
	"standard input from a pipe",
};

#define SRC_BIT(k) (1u << (k))
#define ALL_SOURCES ((1u << SRC_COUNT) - 1)
#define FILE_SOURCES \
	(SRC_BIT(SRC_READ) | SRC_BIT(SRC_MMAP) | SRC_BIT(SRC_MMAP_WALK) | SRC_BIT(SRC_THREAD))
#define PIPE_ONLY SRC_BIT(SRC_STDIN_PIPE)

static bool is_file(enum src_kind k)
{
	return (FILE_SOURCES & SRC_BIT(k)) != 0;
}

/* The input as the writer presents it. */
struct input {
	const struct tbuf *b;
	/* Non-NULL: after b, these 4 bytes again and again, forever (pipe only). */
	const uint8_t *endless;
	/* Pipe: write in pieces of 1 to 13 bytes. */
	bool dribble;
	/* Files: appended once the reader has seen the end. */
	const struct tbuf *grow;
};

/* Check packet @i (0-based); on a mismatch say why and return false. */
typedef bool (*pkt_check_fn)(uint64_t i, const struct netmoon_packet *p, const void *arg,
			     char *why, size_t whylen);

struct expect {
	int open_rc;
	uint64_t packets;   /* before the end */
	int end;            /* 0 or the error */
	const char *msg;    /* the message after "NAME: "; NULL: no message */
	pkt_check_fn check; /* NULL: none */
	const void *arg;
};

/* One packet as expected; data is the seed pattern, or @byte when >= 0. */
struct want {
	int64_t ts_ns;
	uint32_t caplen, wirelen, linktype, ifindex, seed;
	int byte;
};

struct wants {
	size_t n;
	const struct want *w;
};

static bool check_wants(uint64_t i, const struct netmoon_packet *p, const void *arg, char *why,
			size_t whylen)
{
	const struct wants *ws = arg;
	const struct want *w;

	if (i >= ws->n) {
		snprintf(why, whylen, "more packets than the %zu expected", ws->n);
		return false;
	}
	w = &ws->w[i];
	if (p->ts_ns != w->ts_ns || p->caplen != w->caplen || p->wirelen != w->wirelen ||
	    p->linktype != w->linktype || p->ifindex != w->ifindex) {
		snprintf(why, whylen,
			 "ts %" PRId64 " caplen %" PRIu32 " wirelen %" PRIu32 " linktype %" PRIu32
			 " ifindex %" PRIu32 ", want %" PRId64 " %" PRIu32 " %" PRIu32 " %" PRIu32
			 " %" PRIu32, p->ts_ns, p->caplen, p->wirelen, p->linktype, p->ifindex,
			 w->ts_ns, w->caplen, w->wirelen, w->linktype, w->ifindex);
		return false;
	}
	for (uint32_t k = 0; k < p->caplen; k++) {
		uint8_t byte = w->byte >= 0 ? (uint8_t)w->byte : (uint8_t)(w->seed * 7 + k);

		if (p->data[k] != byte) {
			snprintf(why, whylen, "byte %" PRIu32 " is 0x%02x, want 0x%02x", k,
				 p->data[k], byte);
			return false;
		}
	}
	return true;
}

#define WANTS(arr) (&(const struct wants){ sizeof(arr) / sizeof((arr)[0]), (arr) })

/* What the reader saw, sent from the child to the parent. */
struct outcome {
	int open_rc;
	int end;
	int again[2];      /* next() twice more after the end */
	bool pkt_null;     /* every next() that did not return 1 set *pkt to NULL */
	bool msg_stable;   /* the message did not change after the end */
	bool leak;         /* LeakSanitizer found a leak in the child */
	int64_t loop_rc;   /* netmoon_capture_loop() after the end */
	unsigned cb_calls; /* ... and how often it called back */
	uint64_t packets;
	uint64_t stats_packets;
	char why[512];     /* the first thing that went wrong in the child, or "" */
	char msg[768];     /* the open's message when it failed, else errmsg() at the end */
};

/* ------------------------------------------------------------------------ */
/* The reader (in the child)                                                 */

struct feed {
	int fd;
	const struct input *in;
};

/* Write everything, or stop when the reader has gone (EPIPE: SIGPIPE is ignored). */
static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void *feed_main(void *arg)
{
	const struct feed *f = arg;
	const struct tbuf *b = f->in->b;
	bool ok = true;

	if (f->in->dribble) {
		uint32_t x = 1;

		for (size_t off = 0; ok && off < b->len;) {
			size_t n;

			x = x * 1103515245u + 12345u;
			n = 1 + (x >> 16) % 13;
			if (n > b->len - off)
				n = b->len - off;
			ok = write_all(f->fd, b->p + off, n);
			off += n;
		}
	} else {
		ok = write_all(f->fd, b->p, b->len);
	}
	if (ok && f->in->endless) {
		static uint8_t chunk[64 << 10];

		for (size_t i = 0; i < sizeof(chunk); i += 4)
			memcpy(chunk + i, f->in->endless, 4);
		while (write_all(f->fd, chunk, sizeof(chunk)))
			;
	}
	close(f->fd);
	return NULL;
}

static int count_cb(const struct netmoon_packet *p, void *user)
{
	(void)p;
	(*(unsigned *)user)++;
	return 0;
}

static bool append_file(const char *path, const struct tbuf *b)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write_all(fd, b->p, b->len);
	close(fd);
	return ok;
}

/*
 * Open @in through source @k and read it to the end.  Runs in the child (or
 * in the test process under valgrind): no cmocka assertions here, every
 * finding goes into @o.
 */
static void read_source(enum src_kind k, const struct input *in, const char *path,
			const struct expect *e, struct outcome *o)
{
	NETMOON_OPTS(netmoon_capture_file_opts, opts);
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p = NULL;
	struct feed feed = { .fd = -1, .in = in };
	pthread_t writer;
	bool writing = false;
	int saved_stdin = -1;
	char err[sizeof(o->msg)] = "";
	int r;

	switch (k) {
	case SRC_MEM:
	case SRC_MEM_WALK:
		opts.read_thread = k == SRC_MEM_WALK;
		o->open_rc = netmoon_capture_open_mem(&cap, in->b->p, in->b->len, &opts);
		break;
	case SRC_READ:
	case SRC_MMAP:
	case SRC_MMAP_WALK:
	case SRC_THREAD:
		opts.use_mmap = k == SRC_MMAP || k == SRC_MMAP_WALK;
		opts.read_thread = k == SRC_MMAP_WALK || k == SRC_THREAD;
		/* The smallest ring: 4 chunks of 256 KiB, records joined across many. */
		opts.buffer_size = k == SRC_THREAD ? 1 : 0;
		o->open_rc = netmoon_capture_open_err(&cap, path, &opts, err, sizeof(err));
		break;
	default: {
		int pfd[2];

		saved_stdin = dup(STDIN_FILENO);
		if (saved_stdin < 0 || pipe(pfd) < 0) {
			snprintf(o->why, sizeof(o->why), "pipe: %s", strerror(errno));
			return;
		}
		if (dup2(pfd[0], STDIN_FILENO) < 0) {
			snprintf(o->why, sizeof(o->why), "dup2: %s", strerror(errno));
			return;
		}
		close(pfd[0]);
		feed.fd = pfd[1];
		if (pthread_create(&writer, NULL, feed_main, &feed)) {
			snprintf(o->why, sizeof(o->why), "cannot start the writer");
			return;
		}
		writing = true;
		o->open_rc = netmoon_capture_open_err(&cap, "-", NULL, err, sizeof(err));
		break;
	}
	}

	if (o->open_rc) {
		snprintf(o->msg, sizeof(o->msg), "%s", err);
		if (cap)
			snprintf(o->why, sizeof(o->why), "the open failed but gave a handle");
		goto out;
	}
	o->pkt_null = true;
	while ((r = netmoon_capture_next(cap, &p)) == 1) {
		if (p->number != o->packets + 1 && !o->why[0])
			snprintf(o->why, sizeof(o->why), "packet %" PRIu64 " numbered %" PRIu64,
				 o->packets + 1, p->number);
		if (e->check && !o->why[0]) {
			char why[sizeof(o->why) - 32];

			if (!e->check(o->packets, p, e->arg, why, sizeof(why)))
				snprintf(o->why, sizeof(o->why), "packet %" PRIu64 ": %s",
					 o->packets + 1, why);
		}
		/* Fail fast rather than at the alarm. */
		if (++o->packets > e->packets + 1000)
			break;
	}
	o->end = r;
	o->pkt_null = p == NULL;
	snprintf(o->msg, sizeof(o->msg), "%s", netmoon_capture_errmsg(cap));
	if (in->grow && !append_file(path, in->grow))
		snprintf(o->why, sizeof(o->why), "cannot append to %s", path);
	for (int i = 0; i < 2; i++) {
		static const struct netmoon_packet stale;

		p = &stale;
		o->again[i] = netmoon_capture_next(cap, &p);
		o->pkt_null = o->pkt_null && p == NULL;
	}
	o->loop_rc = netmoon_capture_loop(cap, 0, count_cb, &o->cb_calls);
	o->msg_stable = strcmp(o->msg, netmoon_capture_errmsg(cap)) == 0;
	{
		NETMOON_OPTS(netmoon_capture_stats, st);

		if (netmoon_capture_get_stats(cap, &st) == 0)
			o->stats_packets = st.packets;
	}
out:
	netmoon_capture_close(cap);
	if (saved_stdin >= 0) {
		/* Closes the pipe's last read end: an endless writer gets EPIPE. */
		dup2(saved_stdin, STDIN_FILENO);
		close(saved_stdin);
	}
	if (writing)
		pthread_join(writer, NULL);
}

/* ------------------------------------------------------------------------ */
/* The bounds                                                                */

static bool under_valgrind(void)
{
	return getenv("NETMOON_VALGRIND") != NULL;
}

/* The hang guard, in seconds: generous, and more so for the slow builds. */
static unsigned hang_guard_s(void)
{
	if (under_valgrind())
		return 600;
	return UNDER_ASAN ? 120 : 30;
}

/* A thread's stack as glibc sizes it: RLIMIT_STACK, 32 MiB taken when it is unlimited. */
static uint64_t thread_stack_bytes(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		return rl.rlim_cur;
	return 32u << 20;
}

/*
 * The address space a read may add.  The most any source needs is for a
 * 16 MiB record on the read-ahead thread's ring: a join buffer doubled to
 * 32 MiB while the 16 MiB one is still held (48 MiB), plus the ring (4 x
 * 320 KiB); the chunked reader needs 16 MiB and a 2 MiB alignment slack,
 * a mapped file its size (at most 33 MiB here).  On top: the stacks of a
 * library thread and of the pipe writer, and 32 MiB of slack.  A buffer
 * sized by a hostile length taken at its word (2 or 4 GiB) cannot fit.
 */
static uint64_t limit_margin(void)
{
	return (48u << 20) + (32u << 20) + 2 * thread_stack_bytes();
}

static uint64_t vm_size_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(f);
	return kib << 10;
}

/*
 * In the child: die of a crash (cmocka's handlers would instead carry on
 * with the next test, in the child), limit the address space (not under
 * ASan) and arm the hang guard.
 */
static void child_limits(struct outcome *o)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	if (!UNDER_ASAN) {
		uint64_t vm = vm_size_bytes();
		struct rlimit rl;

		if (!vm) {
			snprintf(o->why, sizeof(o->why), "cannot read VmSize");
		} else {
			rl.rlim_cur = rl.rlim_max = (rlim_t)(vm + limit_margin());
			if (setrlimit(RLIMIT_AS, &rl) < 0)
				snprintf(o->why, sizeof(o->why), "setrlimit: %s", strerror(errno));
		}
	}
	alarm(hang_guard_s());
}

/*
 * Read in a bounded child and fill @o; when the child did not end normally,
 * say how in @died (the caller removes its file before failing).
 */
static void run_bounded(enum src_kind k, const struct input *in, const char *path,
			const struct expect *e, struct outcome *o, char *died, size_t diedlen)
{
	size_t got = 0;
	int pfd[2], st;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	died[0] = '\0';
	if (under_valgrind()) {
		alarm(hang_guard_s());
		read_source(k, in, path, e, o);
		alarm(0);
		return;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(died, diedlen, "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(died, diedlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_limits(o);
		if (!o->why[0])
			read_source(k, in, path, e, o);
#if UNDER_ASAN
		o->leak = __lsan_do_recoverable_leak_check() != 0;
#endif
		_exit(write_all(pfd[1], (const uint8_t *)o, sizeof(*o)) ? 0 : 3);
	}
	close(pfd[1]);
	while (got < sizeof(*o)) {
		ssize_t n = read(pfd[0], (uint8_t *)o + got, sizeof(*o) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(died, diedlen, "waitpid: %s", strerror(errno));
			return;
		}
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(died, diedlen, "no end after %u s (the hang guard fired)",
			 hang_guard_s());
	else if (WIFSIGNALED(st))
		snprintf(died, diedlen, "the reader died with signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		snprintf(died, diedlen, "the reader exited with status %d",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	else if (got != sizeof(*o))
		snprintf(died, diedlen, "short report from the reader");
}

static void write_temp(char *path, size_t size, const struct tbuf *b)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/netmoon-bounds-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write_all(fd, b->p, b->len));
	close(fd);
}

static void check_outcome(enum src_kind k, const char *path, const struct expect *e,
			  const struct outcome *o, const char *what)
{
	const char *src = src_names[k];
	const char *name = path;

	if (k == SRC_MEM || k == SRC_MEM_WALK)
		name = "<memory>";
	else if (k == SRC_STDIN_PIPE)
		name = "<stdin>";

	if (o->open_rc != e->open_rc)
		fail_msg("%s, %s: open = %d, want %d (%s) %s", what, src, o->open_rc, e->open_rc,
			 o->msg, o->why);
	if (o->why[0])
		fail_msg("%s, %s: %s", what, src, o->why);
	if (o->leak)
		fail_msg("%s, %s: LeakSanitizer found a leak (its report is above)", what, src);
	if (o->open_rc == 0) {
		int want_loop = e->end < 0 ? e->end : 0;

		if (o->packets != e->packets || o->end != e->end)
			fail_msg("%s, %s: %" PRIu64 " packets, then %d; want %" PRIu64
				 ", then %d (%s)", what, src, o->packets, o->end, e->packets,
				 e->end, o->msg);
		if (o->again[0] != e->end || o->again[1] != e->end)
			fail_msg("%s, %s: after the end next() gave %d and %d, want %d again", what,
				 src, o->again[0], o->again[1], e->end);
		if (o->loop_rc != want_loop || o->cb_calls)
			fail_msg("%s, %s: loop() after the end gave %" PRId64 " and %u packets, "
				 "want %d and none", what, src, o->loop_rc, o->cb_calls, want_loop);
		if (!o->pkt_null)
			fail_msg("%s, %s: next() without a packet left *pkt set", what, src);
		if (!o->msg_stable)
			fail_msg("%s, %s: the message changed after the end", what, src);
		if (o->stats_packets != o->packets)
			fail_msg("%s, %s: stats say %" PRIu64 " packets, next() gave %" PRIu64,
				 what, src, o->stats_packets, o->packets);
	} else if (k == SRC_MEM || k == SRC_MEM_WALK) {
		return; /* open_mem() has no message to give */
	}
	if (!e->msg) {
		if (o->msg[0])
			fail_msg("%s, %s: unexpected message \"%s\"", what, src, o->msg);
	} else {
		char prefix[PATH_MAX + 256];

		snprintf(prefix, sizeof(prefix), "%s: %s", name, e->msg);
		if (strncmp(o->msg, prefix, strlen(prefix)) != 0)
			fail_msg("%s, %s: message \"%s\" does not start with \"%s\"", what, src,
				 o->msg, prefix);
	}
}

/* Read @in through every source in @mask, each in a bounded child. */
static void expect_sources(const struct input *in, unsigned mask, const struct expect *e,
			   const char *what)
{
	for (int k = 0; k < SRC_COUNT; k++) {
		struct outcome o;
		char path[PATH_MAX] = "", died[160];

		if (!(mask & SRC_BIT(k)))
			continue;
		if (is_file((enum src_kind)k))
			write_temp(path, sizeof(path), in->b);
		run_bounded((enum src_kind)k, in, path, e, &o, died, sizeof(died));
		if (path[0])
			unlink(path);
		if (died[0])
			fail_msg("%s, %s: %s", what, src_names[k], died);
		check_outcome((enum src_kind)k, path, e, &o, what);
	}
}

static void expect_all(const struct tbuf *b, const struct expect *e, const char *what)
{
	const struct input in = { .b = b };

	expect_sources(&in, ALL_SOURCES, e, what);
}

/* ------------------------------------------------------------------------ */
/* pcapng: endless option lists                                              */

/*
 * A Section Header Block of exactly 16 MiB (the largest block allowed),
 * its 16777188 bytes of options 4194297 options of 4 bytes, without an
 * opt_endofopt: every option is walked, and the section is good.  Then the
 * same block whose last option (at 16 MiB - 12) claims 8 bytes where 4 are
 * left.
 */
static void test_shb_16mib_of_options(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = { { 5000, 60, 60, 1, 0, 1, -1 } };
	struct expect e = { 0, 1, 0, NULL, check_wants, WANTS(w) };

	(void)state;
	ng_shb(&b, false, (MAX_RECORD - 28) / 4);
	assert_int_equal(b.len, MAX_RECORD);
	ng_idb(&b, false, 1, 0, 0, NO_TSRESOL);
	ng_epb(&b, false, 0, 5, 60, 60, 1, 0);
	expect_all(&b, &e, "SHB with 4194297 options");
	tb_free(&b);

	tb_u32(&b, BT_SHB, true);
	tb_u32(&b, MAX_RECORD, true);
	tb_u32(&b, 0x1a2b3c4d, true);
	tb_u16(&b, 1, true);
	tb_u16(&b, 0, true);
	tb_u64(&b, UINT64_MAX, true);
	tiny_opts(&b, true, 1, (MAX_RECORD - 12 - 24) / 4);
	assert_int_equal(b.len, MAX_RECORD - 12);
	tb_u16(&b, 1, true);
	tb_u16(&b, 8, true);
	tb_pattern(&b, 4, 0);
	tb_u32(&b, MAX_RECORD, true);
	ng_idb(&b, true, 1, 0, 0, NO_TSRESOL);
	ng_epb(&b, true, 0, 5, 60, 60, 1, 0);
	e = (struct expect){ NETMOON_E_CORRUPT, 0, 0,
			     "offset 16777204: section header block: option 1 of length 8 overruns "
			     "the block (4 bytes left)", NULL, NULL };
	expect_all(&b, &e, "SHB with 4194295 options, the last one overrunning");
	tb_free(&b);
}

/*
 * An Interface Description Block of 16 MiB: one if_name of length 0, then
 * 2097149 if_tsresol options (8 bytes each), all 3 (ms) but the last, 9
 * (ns), which must be the one that holds.  Then the largest single option,
 * 65535 bytes padded to 65536, filling an IDB exactly, and the same IDB
 * 4 bytes shorter, which it overruns.
 */
static void test_idb_16mib_of_options(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = { { 1234567, 60, 60, 1, 0, 2, -1 } };
	const struct want w2[] = { { 9000, 10, 10, 1, 0, 3, -1 } };
	struct expect e = { 0, 1, 0, NULL, check_wants, WANTS(w) };
	const size_t nres = (MAX_RECORD - 20 - 4) / 8;

	(void)state;
	ng_shb(&b, false, 0);
	tb_u32(&b, BT_IDB, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_u16(&b, 1, false);
	tb_u16(&b, 0, false);
	tb_u32(&b, 0, false);
	tiny_opts(&b, false, 2, 1);
	assert_int_equal(nres, 2097149);
	for (size_t i = 0; i < nres; i++) {
		const uint8_t opt[8] = { 9, 0, 1, 0, i + 1 < nres ? 3 : 9, 0, 0, 0 };

		tb_put(&b, opt, sizeof(opt));
	}
	tb_u32(&b, MAX_RECORD, false);
	assert_int_equal(b.len, 28 + MAX_RECORD);
	ng_epb(&b, false, 0, 1234567, 60, 60, 2, 0);
	expect_all(&b, &e, "IDB with 2097150 options");
	tb_free(&b);

	/* IDB at 28: 16 fixed + 4 option header + 65536 value + 4 trailer. */
	ng_shb(&b, false, 0);
	tb_u32(&b, BT_IDB, false);
	tb_u32(&b, 65560, false);
	tb_u16(&b, 1, false);
	tb_u16(&b, 0, false);
	tb_u32(&b, 0, false);
	tb_u16(&b, 2, false);
	tb_u16(&b, 0xffff, false);
	tb_fill(&b, 0xffff, 'x');
	tb_pad4(&b);
	tb_u32(&b, 65560, false);
	assert_int_equal(b.len, 28 + 65560);
	ng_epb(&b, false, 0, 9, 10, 10, 3, 0);
	e = (struct expect){ 0, 1, 0, NULL, check_wants, WANTS(w2) };
	expect_all(&b, &e, "IDB with an option of 65535 bytes");
	tb_free(&b);

	ng_shb(&b, false, 0);
	tb_u32(&b, BT_IDB, false);
	tb_u32(&b, 65556, false);
	tb_u16(&b, 1, false);
	tb_u16(&b, 0, false);
	tb_u32(&b, 0, false);
	tb_u16(&b, 2, false);
	tb_u16(&b, 0xffff, false);
	tb_fill(&b, 65532, 'x');
	tb_u32(&b, 65556, false);
	ng_epb(&b, false, 0, 9, 10, 10, 3, 0);
	e = (struct expect){ NETMOON_E_CORRUPT, 0, 0,
			     "offset 44: interface description block: option 2 of length 65535 "
			     "overruns the block (65532 bytes left)", NULL, NULL };
	expect_all(&b, &e, "IDB with an option of 65535 bytes in 65532");
	tb_free(&b);
}

/* An Enhanced Packet Block of 16 MiB: 60 bytes of packet and 4194281 options. */
static void test_epb_16mib_of_options(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = {
		{ 6000, 60, 60, 1, 0, 1, -1 },
		{ 7000, 10, 10, 1, 0, 2, -1 },
	};
	const struct expect e = { 0, 2, 0, NULL, check_wants, WANTS(w) };

	(void)state;
	ng_shb(&b, false, 0);
	ng_idb(&b, false, 1, 0, 0, NO_TSRESOL);
	ng_epb(&b, false, 0, 6, 60, 60, 1, (MAX_RECORD - 32 - 60) / 4);
	assert_int_equal(b.len, 48 + MAX_RECORD);
	ng_epb(&b, false, 0, 7, 10, 10, 2, 0);
	expect_all(&b, &e, "EPB with 4194281 options");
	tb_free(&b);
}

/*
 * 34,000 sections, alternately little- and big-endian, each an SHB with 32
 * options (156 bytes), an IDB with 31 options and if_tsresol 9 (152) and an
 * EPB of 4 bytes with 32 options (164): 102,000 blocks.  The last EPB is cut
 * 4 bytes short.
 */
enum { MANY_SECTIONS = 34000, SECTION_LEN = 156 + 152 + 164 };

static bool check_many(uint64_t i, const struct netmoon_packet *p, const void *arg, char *why,
		       size_t whylen)
{
	const struct want w = { (int64_t)i + 1, 4, 4, 1, 0, (uint32_t)i, -1 };

	(void)arg;
	return check_wants(0, p, &(const struct wants){ 1, &w }, why, whylen);
}

static void test_many_blocks_with_many_options(void **state)
{
	struct tbuf b = { 0 };
	char msg[128];
	struct expect e = { 0, MANY_SECTIONS - 1, NETMOON_E_TRUNCATED, msg, check_many, NULL };

	(void)state;
	for (uint32_t s = 0; s < MANY_SECTIONS; s++) {
		bool be = s & 1;

		ng_shb(&b, be, 32);
		ng_idb(&b, be, 1, 0, 31, 9);
		ng_epb(&b, be, 0, s + 1, 4, 4, s, 32);
	}
	assert_int_equal(b.len, (size_t)MANY_SECTIONS * SECTION_LEN);
	b.len -= 4;
	snprintf(msg, sizeof(msg), "offset %u: truncated block: 164 bytes announced, 160 present",
		 (MANY_SECTIONS - 1) * SECTION_LEN + 156 + 152);
	expect_all(&b, &e, "102,000 blocks with 32 options each");
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* pcapng: huge and impossible block lengths                                 */

/*
 * After the 92-byte prefix (one packet), a block header of each type with
 * each bad length, and 100 bytes: refused from the header alone, whatever
 * the length asks for.  A length of exactly 16 MiB is allowed, so there the
 * input is cut short instead.  Both byte orders.
 */
static void test_huge_block_lengths(void **state)
{
	static const struct {
		uint32_t type, len;
	} bad[] = {
		{ BT_EPB, 0xffffffff },
		{ BT_EPB, 0xfffffffc },
		{ 0x40000bad, 0x7fffffff },
		{ BT_IDB, 0x7ffffffc },
		{ BT_SPB, 0x80000000 },
		{ BT_PB, MAX_RECORD + 4 },
		{ BT_EPB, MAX_RECORD + 1 },
		{ 0x00000bad, MAX_RECORD - 2 },
		{ BT_EPB, 13 },
		{ BT_EPB, 0 },
		{ BT_SPB, 4 },
		{ 0x00000bad, 8 },
		{ BT_IDB, MAX_RECORD },
		{ BT_EPB, MAX_RECORD },
	};
	const struct want w[] = { { 1000, 10, 10, 1, 0, 1, -1 } };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int be = 0; be < 2; be++) {
			struct tbuf b = { 0 };
			char msg[160], what[96];
			struct expect e = { 0, 1, NETMOON_E_CORRUPT, msg, check_wants, WANTS(w) };
			uint32_t type = bad[i].type, len = bad[i].len;

			ng_prefix(&b, be);
			tb_u32(&b, type, be);
			tb_u32(&b, len, be);
			tb_pattern(&b, 100, 0);
			if (len < 12 || len % 4) {
				snprintf(msg, sizeof(msg), "offset 92: bad block length %" PRIu32
					 " (block type 0x%08" PRIx32 ")", len, type);
			} else if (len > MAX_RECORD) {
				snprintf(msg, sizeof(msg), "offset 92: block length %" PRIu32
					 " exceeds the maximum %u (block type 0x%08" PRIx32 ")",
					 len, MAX_RECORD, type);
			} else {
				e.end = NETMOON_E_TRUNCATED;
				snprintf(msg, sizeof(msg), "offset 92: truncated block: %" PRIu32
					 " bytes announced, 108 present", len);
			}
			snprintf(what, sizeof(what), "block 0x%08" PRIx32 " of length %" PRIu32
				 " (%s)", type, len, be ? "big-endian" : "little-endian");
			expect_all(&b, &e, what);
			tb_free(&b);
		}
	}
}

/*
 * Where the bad length is decides when it is seen: open() reads up to the
 * first packet block, so a bad IDB there fails the open; a packet block is
 * only looked at by next().  And a 16 MiB block that is all there is read
 * and skipped, before the first packet and between packets.
 */
static void test_huge_block_before_the_first_packet(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = {
		{ 1000, 10, 10, 1, 0, 1, -1 },
		{ 2000, 10, 10, 1, 0, 2, -1 },
	};
	struct expect e = { NETMOON_E_CORRUPT, 0, 0,
			    "offset 28: block length 4294967292 exceeds the maximum 16777216 "
			    "(block type 0x00000001)", NULL, NULL };

	(void)state;
	ng_shb(&b, false, 0);
	tb_u32(&b, BT_IDB, false);
	tb_u32(&b, 0xfffffffc, false);
	tb_pattern(&b, 100, 0);
	expect_all(&b, &e, "IDB of 4 GiB - 4 first");
	tb_free(&b);

	ng_shb(&b, true, 0);
	ng_idb(&b, true, 1, 0, 0, NO_TSRESOL);
	tb_u32(&b, BT_EPB, true);
	tb_u32(&b, 0xfffffffc, true);
	tb_pattern(&b, 100, 0);
	e = (struct expect){ 0, 0, NETMOON_E_CORRUPT,
			     "offset 48: block length 4294967292 exceeds the maximum 16777216 "
			     "(block type 0x00000006)", NULL, NULL };
	expect_all(&b, &e, "EPB of 4 GiB - 4 first");
	tb_free(&b);

	/* 16 MiB blocks of an unknown type, whole: skipped. */
	ng_shb(&b, false, 0);
	tb_u32(&b, 0x00000bad, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_pattern(&b, MAX_RECORD - 12, 5);
	tb_u32(&b, MAX_RECORD, false);
	ng_idb(&b, false, 1, 0, 0, NO_TSRESOL);
	ng_epb(&b, false, 0, 1, 10, 10, 1, 0);
	tb_u32(&b, 0x00000bad, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_pattern(&b, MAX_RECORD - 12, 6);
	tb_u32(&b, MAX_RECORD, false);
	ng_epb(&b, false, 0, 2, 10, 10, 2, 0);
	e = (struct expect){ 0, 2, 0, NULL, check_wants, WANTS(w) };
	expect_all(&b, &e, "two 16 MiB unknown blocks");
	tb_free(&b);
}

/* The Section Header Block's own length: first in the file, and later. */
static void test_huge_section_header_lengths(void **state)
{
	static const uint32_t lens[] = {
		0xfffffffc, 0xffffffff, 0x7ffffffc, MAX_RECORD + 4, 16, 0,
	};
	const struct want w[] = { { 1000, 10, 10, 1, 0, 1, -1 } };

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct tbuf b = { 0 };
		char msg[128], what[64];
		struct expect e = { NETMOON_E_CORRUPT, 0, 0, msg, NULL, NULL };

		/* First: the open fails. */
		tb_u32(&b, BT_SHB, false);
		tb_u32(&b, lens[i], false);
		tb_u32(&b, 0x1a2b3c4d, false);
		tb_pattern(&b, 100, 0);
		snprintf(msg, sizeof(msg), "offset 0: bad section header block length %" PRIu32,
			 lens[i]);
		snprintf(what, sizeof(what), "first SHB of length %" PRIu32, lens[i]);
		expect_all(&b, &e, what);
		tb_free(&b);

		/* After a packet, big-endian: next() fails. */
		ng_prefix(&b, true);
		tb_u32(&b, BT_SHB, true);
		tb_u32(&b, lens[i], true);
		tb_u32(&b, 0x1a2b3c4d, true);
		tb_pattern(&b, 100, 0);
		snprintf(msg, sizeof(msg), "offset 92: bad section header block length %" PRIu32,
			 lens[i]);
		snprintf(what, sizeof(what), "second SHB of length %" PRIu32, lens[i]);
		e = (struct expect){ 0, 1, NETMOON_E_CORRUPT, msg, check_wants, WANTS(w) };
		expect_all(&b, &e, what);
		tb_free(&b);
	}
	{
		struct tbuf b = { 0 };
		const struct expect e = {
			0, 1, NETMOON_E_TRUNCATED,
			"offset 92: truncated section header block: 112 of 16777216 bytes",
			check_wants, WANTS(w)
		};

		ng_prefix(&b, false);
		tb_u32(&b, BT_SHB, false);
		tb_u32(&b, MAX_RECORD, false);
		tb_u32(&b, 0x1a2b3c4d, false);
		tb_pattern(&b, 100, 0);
		expect_all(&b, &e, "second SHB of 16 MiB, cut short");
		tb_free(&b);
	}
}

/*
 * Packet lengths inside their blocks.  A Simple Packet Block has no
 * captured length: it is the smallest of the original length, the
 * interface's snaplen (0: none) and the block's room, so an original length
 * of 4 GiB - 1 gives what the block holds.  An Enhanced (or obsolete) Packet
 * Block's captured length must fit its block; lengths near 4 GiB, which wrap
 * to small numbers when 32 bytes of fixed part are added to them in 32 bits,
 * must not.
 */
static void ng_spb(struct tbuf *b, bool be, uint32_t wirelen, uint32_t stored, uint32_t seed)
{
	uint32_t len = 16 + ((stored + 3) & ~3u);

	tb_u32(b, BT_SPB, be);
	tb_u32(b, len, be);
	tb_u32(b, wirelen, be);
	tb_pattern(b, stored, seed);
	tb_pad4(b);
	tb_u32(b, len, be);
}

static void test_packet_lengths_in_blocks(void **state)
{
	static const struct {
		uint32_t snaplen, stored, caplen;
	} spb[] = {
		{ 0, 100, 100 },
		{ 0xffffffff, 100, 100 },
		{ 64, 100, 64 },
		{ 0, MAX_RECORD - 16, MAX_RECORD - 16 },
	};
	static const struct {
		uint32_t type, caplen;
	} epb[] = {
		{ BT_EPB, 0xfffffff0 },
		{ BT_EPB, 0xffffffff },
		{ BT_EPB, 17 },
		{ BT_PB, 0xffffffe4 },
	};
	const struct want w1[] = { { 1000, 10, 10, 1, 0, 1, -1 } };

	(void)state;
	for (size_t i = 0; i < sizeof(spb) / sizeof(spb[0]); i++) {
		struct tbuf b = { 0 };
		const struct want w[] = { { 0, spb[i].caplen, 0xffffffff, 1, 0, 1, -1 } };
		const struct expect e = { 0, 1, 0, NULL, check_wants, WANTS(w) };
		char what[96];

		ng_shb(&b, i & 1, 0);
		ng_idb(&b, i & 1, 1, spb[i].snaplen, 0, NO_TSRESOL);
		ng_spb(&b, i & 1, 0xffffffff, spb[i].stored, 1);
		snprintf(what, sizeof(what), "SPB of %" PRIu32 " bytes, snaplen %" PRIu32,
			 spb[i].stored, spb[i].snaplen);
		expect_all(&b, &e, what);
		tb_free(&b);
	}
	for (size_t i = 0; i < sizeof(epb) / sizeof(epb[0]); i++) {
		struct tbuf b = { 0 };
		char msg[128], what[96];
		const struct expect e = { 0, 1, NETMOON_E_CORRUPT, msg, check_wants, WANTS(w1) };

		/* 48 bytes: 8 of header, 20 fixed, 16 of room, 4 of trailer. */
		ng_prefix(&b, false);
		tb_u32(&b, epb[i].type, false);
		tb_u32(&b, 48, false);
		if (epb[i].type == BT_PB) {
			tb_u16(&b, 0, false);
			tb_u16(&b, 0, false);
		} else {
			tb_u32(&b, 0, false);
		}
		tb_u32(&b, 0, false);
		tb_u32(&b, 2, false);
		tb_u32(&b, epb[i].caplen, false);
		tb_u32(&b, 10, false);
		tb_pattern(&b, 16, 2);
		tb_u32(&b, 48, false);
		snprintf(msg, sizeof(msg), "offset 92: captured length %" PRIu32
			 " overruns its block (16 bytes of room)", epb[i].caplen);
		snprintf(what, sizeof(what), "block 0x%08" PRIx32 " with caplen %" PRIu32 " in 16",
			 epb[i].type, epb[i].caplen);
		expect_all(&b, &e, what);
		tb_free(&b);
	}
}

/* ------------------------------------------------------------------------ */
/* pcap: records far above the snaplen                                      */

static void test_pcap_snaplen_zero(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = {
		{ 1000, 0, 0, 1, 0, 0, -1 },
		{ 2000, 100, 100, 1, 0, 1, -1 },
		{ 3000, PCAP_SANE, PCAP_SANE, 1, 0, 2, -1 },
	};
	/* 24 + (16 + 0) + (16 + 100) + (16 + 262144) */
	const struct expect e = {
		0, 3, NETMOON_E_CORRUPT,
		"offset 262316: record length 4294967295 exceeds the maximum 262144",
		check_wants, WANTS(w)
	};

	(void)state;
	pcap_hdr(&b, false, 4, 0);
	pcap_rec_hdr(&b, false, 0, 1, 0, 0);
	pcap_rec_hdr(&b, false, 0, 2, 100, 100);
	tb_pattern(&b, 100, 1);
	pcap_rec_hdr(&b, false, 0, 3, PCAP_SANE, PCAP_SANE);
	tb_pattern(&b, PCAP_SANE, 2);
	pcap_rec_hdr(&b, false, 0, 4, 0xffffffff, 0xffffffff);
	tb_pattern(&b, 100, 3);
	expect_all(&b, &e, "pcap, snaplen 0");
	tb_free(&b);
}

static void test_pcap_snaplen_max(void **state)
{
	static const uint32_t huge[] = { 0x7fffffff, 0x80000000, 0xffffffff, MAX_RECORD + 1 };
	struct tbuf b = { 0 };
	const struct want w[] = { { 1000000000, MAX_RECORD, MAX_RECORD, 1, 0, 3, -1 } };
	struct expect e = { 0, 1, NETMOON_E_CORRUPT,
			    "offset 16777256: record length 16777217 exceeds the maximum 16777216",
			    check_wants, WANTS(w) };

	(void)state;
	/* 16 MiB is the most, inclusive, whatever the snaplen says. */
	pcap_hdr(&b, true, 4, 0xffffffff);
	pcap_rec_hdr(&b, true, 1, 0, MAX_RECORD, MAX_RECORD);
	tb_pattern(&b, MAX_RECORD, 3);
	pcap_rec_hdr(&b, true, 2, 0, MAX_RECORD + 1, MAX_RECORD + 1);
	tb_pattern(&b, 100, 4);
	expect_all(&b, &e, "pcap, snaplen 0xffffffff, a 16 MiB record");
	tb_free(&b);

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		char msg[128], what[64];

		pcap_hdr(&b, false, 4, 0xffffffff);
		pcap_rec_hdr(&b, false, 1, 0, huge[i], 60);
		tb_pattern(&b, 100, 0);
		snprintf(msg, sizeof(msg), "offset 24: record length %" PRIu32
			 " exceeds the maximum 16777216", huge[i]);
		snprintf(what, sizeof(what), "pcap record of %" PRIu32 " bytes", huge[i]);
		e = (struct expect){ 0, 0, NETMOON_E_CORRUPT, msg, NULL, NULL };
		expect_all(&b, &e, what);
		tb_free(&b);
	}

	/* 16 MiB announced, 100 bytes there. */
	pcap_hdr(&b, false, 4, 0xffffffff);
	pcap_rec_hdr(&b, false, 1, 0, MAX_RECORD, MAX_RECORD);
	tb_pattern(&b, 100, 0);
	e = (struct expect){ 0, 0, NETMOON_E_TRUNCATED,
			     "offset 24: truncated record: 16777216 captured bytes announced, "
			     "100 present", NULL, NULL };
	expect_all(&b, &e, "pcap record of 16 MiB, cut short");
	tb_free(&b);
}

/*
 * A small snaplen: caplen above it is delivered up to 256 KiB; 2.2 files
 * (lengths the other way round) and 2.3 files (swapped only when caplen >
 * len) bring a huge length into caplen.
 */
static void test_pcap_caplen_above_snaplen(void **state)
{
	struct tbuf b = { 0 };
	const struct want w[] = { { 1000, PCAP_SANE, PCAP_SANE, 1, 0, 1, -1 } };
	const struct want w22[] = { { 1000, 10, 20, 1, 0, 4, -1 } };
	const struct want w23[] = { { 1000, 10, 0xffffffff, 1, 0, 5, -1 } };
	struct expect e = { 0, 1, NETMOON_E_CORRUPT,
			    "offset 262184: record length 262145 exceeds the maximum 262144",
			    check_wants, WANTS(w) };

	(void)state;
	pcap_hdr(&b, false, 4, 65535);
	pcap_rec_hdr(&b, false, 0, 1, PCAP_SANE, PCAP_SANE);
	tb_pattern(&b, PCAP_SANE, 1);
	pcap_rec_hdr(&b, false, 0, 2, PCAP_SANE + 1, PCAP_SANE + 1);
	tb_pattern(&b, 100, 2);
	expect_all(&b, &e, "pcap, snaplen 65535, records of 256 KiB and 256 KiB + 1");
	tb_free(&b);

	pcap_hdr(&b, true, 2, 65535);
	pcap_rec_hdr(&b, true, 0, 1, 20, 10);
	tb_pattern(&b, 10, 4);
	pcap_rec_hdr(&b, true, 0, 2, 10, 0xffffffff);
	tb_pattern(&b, 100, 0);
	e = (struct expect){ 0, 1, NETMOON_E_CORRUPT,
			     "offset 50: record length 4294967295 exceeds the maximum 262144",
			     check_wants, WANTS(w22) };
	expect_all(&b, &e, "pcap 2.2, a 4 GiB caplen in the len field");
	tb_free(&b);

	pcap_hdr(&b, false, 3, 65535);
	pcap_rec_hdr(&b, false, 0, 1, 0xffffffff, 10);
	tb_pattern(&b, 10, 5);
	pcap_rec_hdr(&b, false, 0, 2, 0xffffffff, 0xfffffffe);
	tb_pattern(&b, 100, 0);
	e = (struct expect){ 0, 1, NETMOON_E_CORRUPT,
			     "offset 50: record length 4294967294 exceeds the maximum 262144",
			     check_wants, WANTS(w23) };
	expect_all(&b, &e, "pcap 2.3, 4 GiB lengths");
	tb_free(&b);
}

/* A million empty records (16 MB of headers), then 8 bytes of a record header. */
enum { MILLION = 1000000 };

static bool check_million(uint64_t i, const struct netmoon_packet *p, const void *arg, char *why,
			  size_t whylen)
{
	const struct want w = { (int64_t)(i / 1000) * 1000000000 + (int64_t)(i % 1000) * 1000000,
				0, (uint32_t)i, 1, 0, 0, -1 };

	(void)arg;
	return check_wants(0, p, &(const struct wants){ 1, &w }, why, whylen);
}

static void test_pcap_million_empty_records(void **state)
{
	struct tbuf b = { 0 };
	const struct expect e = { 0, MILLION, NETMOON_E_TRUNCATED,
				  "offset 16000024: truncated record header: 8 of 16 bytes",
				  check_million, NULL };

	(void)state;
	pcap_hdr(&b, false, 4, 65535);
	for (uint32_t i = 0; i < MILLION; i++)
		pcap_rec_hdr(&b, false, i / 1000, (i % 1000) * 1000, 0, i);
	tb_u32(&b, 0, false);
	tb_u32(&b, 0, false);
	expect_all(&b, &e, "a million empty pcap records");
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Zero-length and cut inputs                                                */

static void test_zero_length_and_cut_headers(void **state)
{
	struct tbuf b = { 0 };
	struct expect e = { NETMOON_E_FORMAT, 0, 0, "offset 0: empty file: no capture header",
			    NULL, NULL };

	(void)state;
	expect_all(&b, &e, "empty input");

	pcap_hdr(&b, false, 4, 65535);
	e = (struct expect){ 0, 0, 0, NULL, NULL, NULL };
	expect_all(&b, &e, "pcap header alone");
	b.len = 23;
	e = (struct expect){ NETMOON_E_TRUNCATED, 0, 0,
			     "offset 0: truncated pcap file header: 23 of 24 bytes", NULL, NULL };
	expect_all(&b, &e, "pcap header cut at 23");
	tb_free(&b);

	ng_shb(&b, false, 0);
	e = (struct expect){ 0, 0, 0, NULL, NULL, NULL };
	expect_all(&b, &e, "SHB alone");
	b.len = 20;
	e = (struct expect){ NETMOON_E_TRUNCATED, 0, 0,
			     "offset 0: truncated section header block: 20 of 28 bytes",
			     NULL, NULL };
	expect_all(&b, &e, "SHB cut at 20");
	tb_free(&b);

	ng_shb(&b, false, 0);
	ng_idb(&b, false, 1, 0, 0, NO_TSRESOL);
	tb_u32(&b, BT_EPB, false);
	tb_put(&b, "\0\0\0", 3);
	e = (struct expect){ NETMOON_E_TRUNCATED, 0, 0,
			     "offset 48: truncated block header: 7 of 8 bytes", NULL, NULL };
	expect_all(&b, &e, "block header cut at 7");
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Endless and trickling pipes                                               */

/*
 * A writer that never stops: a block that claims 16 MiB and then options
 * (01 00 00 00: opt_comment of length 0, the u32 1 in little-endian)
 * forever.  The reader reads 16 MiB, finds a trailing length of 1, and
 * stops; the writer then gets EPIPE.
 */
static void test_pipe_endless_options(void **state)
{
	static const uint8_t opt1[4] = { 1, 0, 0, 0 };
	static const uint8_t ff[4] = { 0xff, 0xff, 0xff, 0xff };
	struct tbuf b = { 0 };
	struct input in = { .b = &b, .endless = opt1 };
	const struct want w[] = { { 1000, 10, 10, 1, 0, 1, -1 } };
	const struct want wff[] = { { 0, MAX_RECORD, MAX_RECORD, 1, 0, 0, 0xff } };
	struct expect e = { NETMOON_E_CORRUPT, 0, 0,
			    "offset 0: section header block length 16777216 does not match its "
			    "trailing length 1", NULL, NULL };

	(void)state;
	tb_u32(&b, BT_SHB, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_u32(&b, 0x1a2b3c4d, false);
	tb_u16(&b, 1, false);
	tb_u16(&b, 0, false);
	tb_u64(&b, UINT64_MAX, false);
	expect_sources(&in, PIPE_ONLY, &e, "SHB with endless options");
	tb_free(&b);

	ng_shb(&b, false, 0);
	tb_u32(&b, BT_IDB, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_u16(&b, 1, false);
	tb_u16(&b, 0, false);
	tb_u32(&b, 0, false);
	e.msg = "offset 28: block length 16777216 does not match its trailing length 1";
	expect_sources(&in, PIPE_ONLY, &e, "IDB with endless options");
	tb_free(&b);

	ng_prefix(&b, false);
	tb_u32(&b, BT_EPB, false);
	tb_u32(&b, MAX_RECORD, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, 0, false);
	tb_u32(&b, 2, false);
	tb_u32(&b, 100, false);
	tb_u32(&b, 100, false);
	e = (struct expect){ 0, 1, NETMOON_E_CORRUPT,
			     "offset 92: block length 16777216 does not match its trailing "
			     "length 1", check_wants, WANTS(w) };
	expect_sources(&in, PIPE_ONLY, &e, "EPB with endless options");
	tb_free(&b);

	/* pcap: a 16 MiB record, then 0xff forever: a record of caplen 0xffffffff. */
	pcap_hdr(&b, false, 4, 0xffffffff);
	pcap_rec_hdr(&b, false, 0, 0, MAX_RECORD, MAX_RECORD);
	in.endless = ff;
	e = (struct expect){ 0, 1, NETMOON_E_CORRUPT,
			     "offset 16777256: record length 4294967295 exceeds the maximum "
			     "16777216",
			     check_wants, WANTS(wff) };
	expect_sources(&in, PIPE_ONLY, &e, "pcap, endless 0xff");
	tb_free(&b);
}

/*
 * Input that trickles in, 1 to 13 bytes per write(): every record is
 * assembled from many short reads.  300 packets with up to 4 options each,
 * then a block that promises 1000 bytes and brings 20.
 */
static bool check_trickle(uint64_t i, const struct netmoon_packet *p, const void *arg, char *why,
			  size_t whylen)
{
	const struct want w = { (int64_t)i * 1000, (uint32_t)(i % 97), (uint32_t)(i % 97) + 3,
				1, 0, (uint32_t)i, -1 };

	(void)arg;
	return check_wants(0, p, &(const struct wants){ 1, &w }, why, whylen);
}

static void test_pipe_trickle(void **state)
{
	struct tbuf b = { 0 };
	struct input in = { .b = &b, .dribble = true };
	char msg[128];
	struct expect e = { 0, 300, NETMOON_E_TRUNCATED, msg, check_trickle, NULL };
	size_t cut;

	(void)state;
	ng_shb(&b, true, 3);
	ng_idb(&b, true, 1, 0, 2, NO_TSRESOL);
	for (uint32_t i = 0; i < 300; i++)
		ng_epb(&b, true, 0, i, i % 97, i % 97 + 3, i, i % 5);
	cut = b.len;
	tb_u32(&b, BT_EPB, true);
	tb_u32(&b, 1000, true);
	tb_pattern(&b, 12, 0);
	snprintf(msg, sizeof(msg), "offset %zu: truncated block: 1000 bytes announced, 20 present",
		 cut);
	expect_sources(&in, ALL_SOURCES, &e, "pcapng written 1 to 13 bytes at a time");
	tb_free(&b);

	pcap_hdr(&b, false, 4, 65535);
	for (uint32_t i = 0; i < 300; i++) {
		pcap_rec_hdr(&b, false, 0, i, i % 97, i % 97 + 3);
		tb_pattern(&b, i % 97, i);
	}
	cut = b.len;
	pcap_rec_hdr(&b, false, 0, 0, 1000, 1000);
	tb_pattern(&b, 4, 0);
	snprintf(msg, sizeof(msg),
		 "offset %zu: truncated record: 1000 captured bytes announced, 4 present", cut);
	expect_sources(&in, ALL_SOURCES, &e, "pcap written 1 to 13 bytes at a time");
	tb_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Files that grow once their end was seen                                   */

/*
 * The writer finishes the cut record, and adds a whole one, after the
 * reader saw the cut: the end stays what it was (next() twice, then loop(),
 * are checked after the append).  Likewise a clean end stays 0.
 */
static void test_file_grows_after_the_end(void **state)
{
	struct tbuf b = { 0 }, more = { 0 };
	struct input in = { .b = &b, .grow = &more };
	const struct want w[] = {
		{ 1000, 100, 100, 1, 0, 0, -1 },
		{ 2000, 100, 100, 1, 0, 1, -1 },
		{ 3000, 100, 100, 1, 0, 2, -1 },
	};
	const struct want w1[] = { { 1000, 10, 10, 1, 0, 1, -1 } };
	/* 24 + 3 * (16 + 100) */
	struct expect e = { 0, 3, NETMOON_E_TRUNCATED,
			    "offset 372: truncated record: 1000 captured bytes announced, "
			    "10 present",
			    check_wants, WANTS(w) };

	(void)state;
	pcap_hdr(&b, false, 4, 65535);
	for (uint32_t i = 0; i < 3; i++) {
		pcap_rec_hdr(&b, false, 0, i + 1, 100, 100);
		tb_pattern(&b, 100, i);
	}
	pcap_rec_hdr(&b, false, 0, 4, 1000, 1000);
	tb_pattern(&b, 10, 3);
	tb_pattern(&more, 990, 3);
	pcap_rec_hdr(&more, false, 0, 5, 100, 100);
	tb_pattern(&more, 100, 4);
	expect_sources(&in, FILE_SOURCES, &e, "pcap cut, then completed");

	/* Cut at a record boundary: a clean end, which stays. */
	b.len = 24 + 3 * 116;
	e = (struct expect){ 0, 3, 0, NULL, check_wants, WANTS(w) };
	tb_free(&more);
	pcap_rec_hdr(&more, false, 0, 4, 100, 100);
	tb_pattern(&more, 100, 3);
	expect_sources(&in, FILE_SOURCES, &e, "pcap ended, then grown");
	tb_free(&b);
	tb_free(&more);

	/* pcapng: the second EPB (44 bytes at 92) cut after 30. */
	ng_prefix(&b, false);
	ng_epb(&b, false, 0, 2, 10, 10, 2, 0);
	tb_put(&more, b.p + NG_PREFIX_LEN + 30, 14);
	b.len = NG_PREFIX_LEN + 30;
	ng_epb(&more, false, 0, 3, 10, 10, 3, 0);
	e = (struct expect){ 0, 1, NETMOON_E_TRUNCATED,
			     "offset 92: truncated block: 44 bytes announced, 30 present",
			     check_wants, WANTS(w1) };
	expect_sources(&in, FILE_SOURCES, &e, "pcapng cut, then completed");
	tb_free(&b);
	tb_free(&more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shb_16mib_of_options),
		cmocka_unit_test(test_idb_16mib_of_options),
		cmocka_unit_test(test_epb_16mib_of_options),
		cmocka_unit_test(test_many_blocks_with_many_options),
		cmocka_unit_test(test_huge_block_lengths),
		cmocka_unit_test(test_huge_block_before_the_first_packet),
		cmocka_unit_test(test_huge_section_header_lengths),
		cmocka_unit_test(test_packet_lengths_in_blocks),
		cmocka_unit_test(test_pcap_snaplen_zero),
		cmocka_unit_test(test_pcap_snaplen_max),
		cmocka_unit_test(test_pcap_caplen_above_snaplen),
		cmocka_unit_test(test_pcap_million_empty_records),
		cmocka_unit_test(test_zero_length_and_cut_headers),
		cmocka_unit_test(test_pipe_endless_options),
		cmocka_unit_test(test_pipe_trickle),
		cmocka_unit_test(test_file_grows_after_the_end),
	};

	/* A reader that stops early closes the pipe under its writer. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("capture_bounds", tests, NULL, NULL);
}
