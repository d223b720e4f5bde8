/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every exported function, given bad input: NULL pointers, zero and short
 * sizes, options structs from a "newer caller" with non-zero unknown bytes,
 * out-of-range values, unknown link types, output structs with a bad sz,
 * callbacks and hooks that fail or stop half-way.  Each call must return
 * the error its header documents, never crash, and leave the object it was
 * given consistent.
 *
 * The list of exported functions is read at run time from the version
 * script ($NETMOON_SRCDIR/libnetmoon/libnetmoon.map, NETMOON_SRCDIR
 * defaulting to "."), and test_every_export_has_a_misuse_test fails for
 * every mapped function without a row in `cover` below: a new export
 * without a misuse test fails this suite.
 *
 * Tests marked "KNOWN BUG" assert the documented behaviour that the code
 * does not have yet; the comment above each says what goes wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <netmoon/netmoon.h>

#define SEC(x) ((int64_t)(x) * 1000000000)
#define MS(x) ((int64_t)(x) * 1000000)
#define T0 SEC(1700000000)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* An interface name no host has: a missing check then fails with -ENODEV, not -EINVAL. */
#define NO_SUCH_IF "nmapi-nx0"

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: fixed seeds, so a failure replays. */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static const char *srcdir(void)
{
	const char *d = getenv("NETMOON_SRCDIR");

	return d && *d ? d : ".";
}

/* Read a whole file of the source tree; NULL when missing. */
static char *read_src_file(const char *rel)
{
	char path[4096];
	FILE *fp;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	fp = fopen(path, "r");
	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* A growing byte buffer, for capture files built in memory. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_put(struct bytes *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4096;

		while (nc < b->len + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		assert_non_null(b->p);
		b->cap = nc;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void bytes_put32(struct bytes *b, uint32_t v)
{
	bytes_put(b, &v, 4);
}

static void bytes_put16(struct bytes *b, uint16_t v)
{
	bytes_put(b, &v, 2);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * An Ethernet/IPv4 frame of flow i: 10.0.x.y:(40000 + i) <-> 10.0.0.254:53,
 * UDP or TCP with the given flags; reply = 1 sends from the server.
 */
static size_t mk_packet(uint8_t *buf, unsigned i, int reply, uint8_t proto, uint8_t tcp_flags)
{
	uint32_t client = 0x0a000001u + i, server = 0x0a0000feu;
	uint16_t cport = (uint16_t)(40000 + i), sport = 53;
	size_t l4 = proto == 6 ? 20 : 8, payload = 4;
	uint8_t *ip = buf + 14, *t = ip + 20;

	memset(buf, 0, 14 + 20 + l4 + payload);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	wr16(buf + 12, 0x0800);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + l4 + payload));
	wr16(ip + 4, (uint16_t)i);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, reply ? server : client);
	wr32(ip + 16, reply ? client : server);
	wr16(t, reply ? sport : cport);
	wr16(t + 2, reply ? cport : sport);
	if (proto == 6) {
		wr32(t + 4, reply ? 5000u : 1000u);
		wr32(t + 8, (tcp_flags & NETMOON_TCP_ACK) ? (reply ? 1001u : 5001u) : 0);
		t[12] = 5 << 4;
		t[13] = tcp_flags;
		wr16(t + 14, 65535);
	} else {
		wr16(t + 4, (uint16_t)(8 + payload));
	}
	return 14 + 20 + l4 + payload;
}

/* Decode a packet of mk_packet() into f. */
static void mk_frame(struct netmoon_frame *f, unsigned i, int reply, uint8_t proto,
		     uint8_t tcp_flags)
{
	uint8_t buf[128];
	size_t n = mk_packet(buf, i, reply, proto, tcp_flags);

	f->sz = sizeof(*f);
	assert_int_equal(netmoon_frame_parse(f, NETMOON_LINKTYPE_ETHERNET, buf, (uint32_t)n,
					     (uint32_t)n),
			 NETMOON_FRAME_OK);
}

/* A pcap file (microseconds, host order, Ethernet) of n UDP packets, one per flow. */
static void mk_pcap(struct bytes *b, unsigned n)
{
	memset(b, 0, sizeof(*b));
	bytes_put32(b, 0xa1b2c3d4u);
	bytes_put16(b, 2);
	bytes_put16(b, 4);
	bytes_put32(b, 0);
	bytes_put32(b, 0);
	bytes_put32(b, 65535);
	bytes_put32(b, NETMOON_LINKTYPE_ETHERNET);
	for (unsigned i = 0; i < n; i++) {
		uint8_t pkt[128];
		uint32_t len = (uint32_t)mk_packet(pkt, i, 0, 17, 0);

		bytes_put32(b, 1700000000u + i);
		bytes_put32(b, 0);
		bytes_put32(b, len);
		bytes_put32(b, len);
		bytes_put(b, pkt, len);
	}
}

/* A private directory for files the tests write. */
static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char path[512];

	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/netmoon-api-XXXXXX",
			 base && *base ? base : "/tmp");
		assert_non_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void tmp_cleanup(void)
{
	static const char *const names[] = { "w.pcap", "w.pcapng", "ok.pcap", "empty.pcap",
					     "opts.pcap", "ifaces.pcapng", "lt.pcap" };
	char path[512];

	if (!tmpdir[0])
		return;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

/*
 * Options structs: a caller with a larger struct whose unknown bytes are not
 * zero, and a caller whose sz cannot even hold sz, are refused with -EINVAL;
 * a larger struct with a zero tail, and sz = sizeof(size_t) (every member
 * defaulted), are accepted.  try() makes the call with the given options,
 * releases whatever it created on success, and returns the call's result.
 */
typedef int (*opts_try_fn)(const void *opts, void *ctx);

static void check_opts_struct(const char *what, size_t lib_sz, opts_try_fn try, void *ctx,
			      bool may_succeed)
{
	enum { EXTRA = 40 };
	const size_t small[] = { 0, 1, sizeof(size_t) - 1 };
	size_t total = lib_sz + EXTRA, pos[3], sz;
	unsigned char *buf = calloc(1, total);
	int r;

	assert_non_null(buf);
	pos[0] = lib_sz;
	pos[1] = lib_sz + EXTRA / 2;
	pos[2] = total - 1;
	for (size_t i = 0; i < ARRAY_LEN(pos); i++) {
		memset(buf, 0, total);
		sz = total;
		memcpy(buf, &sz, sizeof(sz));
		buf[pos[i]] = 0x5a;
		r = try(buf, ctx);
		if (r != -EINVAL)
			fail_msg("%s: sz %zu with a non-zero byte at %zu: got %d, want -EINVAL", what,
				 sz, pos[i], r);
	}
	for (size_t i = 0; i < ARRAY_LEN(small); i++) {
		memset(buf, 0, total);
		sz = small[i];
		memcpy(buf, &sz, sizeof(sz));
		r = try(buf, ctx);
		if (r != -EINVAL)
			fail_msg("%s: sz %zu: got %d, want -EINVAL", what, sz, r);
	}
	if (may_succeed) {
		memset(buf, 0, total);
		sz = total;
		memcpy(buf, &sz, sizeof(sz));
		r = try(buf, ctx);
		if (r != 0)
			fail_msg("%s: sz %zu with a zero tail: got %d, want 0", what, sz, r);
		memset(buf, 0, total);
		sz = sizeof(size_t);
		memcpy(buf, &sz, sizeof(sz));
		r = try(buf, ctx);
		if (r != 0)
			fail_msg("%s: sz %zu (all defaults): got %d, want 0", what, sz, r);
	}
	free(buf);
}

/*
 * Output structs ("caller's struct with sz set"): sz 0 and sz below
 * sizeof(size_t) give -EINVAL; a larger struct gets its unknown tail zeroed
 * and nothing written past its sz.  get() fills the struct and returns the
 * call's result.
 */
typedef int (*out_get_fn)(void *st, void *ctx);

static void check_out_struct(const char *what, size_t lib_sz, out_get_fn get, void *ctx)
{
	enum { EXTRA = 48, GUARD = 16 };
	const size_t bad[] = { 0, 1, sizeof(size_t) - 1 };
	size_t total = lib_sz + EXTRA + GUARD, sz;
	unsigned char *buf = malloc(total);
	int r;

	assert_non_null(buf);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		memset(buf, 0xa5, total);
		sz = bad[i];
		memcpy(buf, &sz, sizeof(sz));
		r = get(buf, ctx);
		if (r != -EINVAL)
			fail_msg("%s: output struct with sz %zu: got %d, want -EINVAL", what, sz, r);
	}
	/* A newer caller's bigger struct: the tail is zeroed, the guard left alone. */
	memset(buf, 0xa5, total);
	sz = lib_sz + EXTRA;
	memcpy(buf, &sz, sizeof(sz));
	r = get(buf, ctx);
	if (r != 0)
		fail_msg("%s: output struct with sz %zu: got %d, want 0", what, sz, r);
	memcpy(&sz, buf, sizeof(sz));
	assert_int_equal(sz, lib_sz + EXTRA);
	for (size_t i = lib_sz; i < lib_sz + EXTRA; i++)
		if (buf[i] != 0)
			fail_msg("%s: byte %zu of the caller's unknown tail left at %#x", what, i,
				 buf[i]);
	for (size_t i = lib_sz + EXTRA; i < total; i++)
		if (buf[i] != 0xa5)
			fail_msg("%s: wrote past the caller's sz at byte %zu", what, i);
	/* An older caller's struct of just sz: nothing beyond it is written. */
	memset(buf, 0xa5, total);
	sz = sizeof(size_t);
	memcpy(buf, &sz, sizeof(sz));
	r = get(buf, ctx);
	if (r != 0)
		fail_msg("%s: output struct with sz %zu: got %d, want 0", what, sz, r);
	for (size_t i = sizeof(size_t); i < total; i++)
		if (buf[i] != 0xa5)
			fail_msg("%s: sz %zu but byte %zu was written", what, sizeof(size_t), i);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* common.h, version.h                                                       */

static void check_string(const char *s, int code)
{
	if (!s)
		fail_msg("netmoon_strerror(%d) returned NULL", code);
	if (!*s)
		fail_msg("netmoon_strerror(%d) returned \"\"", code);
	/* Read it all: a sanitizer sees a string that is not NUL-terminated. */
	assert_true(strlen(s) < 4096);
}

static void *strerror_thread(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;

	for (int i = 0; i < 20000; i++) {
		int code = (int)(uint32_t)rng_next(&seed);
		const char *s = netmoon_strerror(code);

		if (!s || !*s)
			return (void *)1;
	}
	return NULL;
}

static void test_strerror(void **state)
{
	static const int lib_codes[] = {
		NETMOON_E_FORMAT,        NETMOON_E_CORRUPT, NETMOON_E_TRUNCATED,
		NETMOON_E_VERSION,       NETMOON_E_LINKTYPE, NETMOON_E_TABLE_FULL,
		NETMOON_E_NOT_SUPPORTED, NETMOON_E_BREAK,   NETMOON_E_NO_CAPABILITY,
		NETMOON_E_RING,          NETMOON_E_FANOUT,
	};
	static const int odd[] = { INT_MIN, INT_MIN + 1, INT_MAX, NETMOON_E_BASE,
				   NETMOON_E_BASE - 1, -4999, -5000, -3999, -1, 1, 2,
				   4001, 65536, -65536, -133, -134, -1000 };
	const char *unknown = netmoon_strerror(INT_MIN);
	char *hdr, *p;
	uint64_t seed = 0x1234567u;
	pthread_t th[4];
	int parsed = 0;

	(void)state;
	check_string(unknown, INT_MIN);
	check_string(netmoon_strerror(0), 0);
	/* Each library code has its own description, not the "unknown" one. */
	for (size_t i = 0; i < ARRAY_LEN(lib_codes); i++) {
		const char *s = netmoon_strerror(lib_codes[i]);

		check_string(s, lib_codes[i]);
		if (strcmp(s, unknown) == 0)
			fail_msg("netmoon_strerror(%d) is the unknown-code text \"%s\"", lib_codes[i],
				 s);
		for (size_t j = 0; j < i; j++)
			if (strcmp(s, netmoon_strerror(lib_codes[j])) == 0)
				fail_msg("codes %d and %d share the text \"%s\"", lib_codes[i],
					 lib_codes[j], s);
	}
	/* Every NETMOON_E_ code the header declares, also ones added after this test. */
	hdr = read_src_file("include/netmoon/common.h");
	if (!hdr)
		fail_msg("cannot read %s/include/netmoon/common.h (set NETMOON_SRCDIR)", srcdir());
	for (p = hdr; (p = strstr(p, "NETMOON_E_")) != NULL; p++) {
		char name[64];
		int code;

		if (sscanf(p, "%63[A-Z0-9_] = %d", name, &code) != 2)
			continue;
		parsed++;
		if (code == NETMOON_E_BASE)
			continue;
		check_string(netmoon_strerror(code), code);
		if (strcmp(netmoon_strerror(code), unknown) == 0)
			fail_msg("%s (%d) has no description in netmoon_strerror()", name, code);
	}
	free(hdr);
	assert_true(parsed >= (int)ARRAY_LEN(lib_codes) + 1);
	/* errno values get the C library's words. */
	check_string(netmoon_strerror(-EINVAL), -EINVAL);
	assert_string_not_equal(netmoon_strerror(-EINVAL), unknown);
	assert_string_not_equal(netmoon_strerror(-ENOSPC), netmoon_strerror(-EINVAL));
	/* Anything else: some text, never NULL, never a crash. */
	for (size_t i = 0; i < ARRAY_LEN(odd); i++)
		check_string(netmoon_strerror(odd[i]), odd[i]);
	for (int i = 0; i < 100000; i++) {
		int code = (int)(uint32_t)rng_next(&seed);

		check_string(netmoon_strerror(code), code);
	}
	/* Documented thread-safe: several threads at once. */
	for (uintptr_t i = 0; i < ARRAY_LEN(th); i++)
		assert_int_equal(pthread_create(&th[i], NULL, strerror_thread, (void *)(i + 7)), 0);
	for (size_t i = 0; i < ARRAY_LEN(th); i++) {
		void *ret;

		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
}

static void test_version(void **state)
{
	const char *s = netmoon_version_string();
	unsigned maj, min, pat;

	(void)state;
	/* No arguments to get wrong: the two must agree with the header and each other. */
	assert_int_equal(netmoon_version(), NETMOON_VERSION_NUMBER);
	assert_non_null(s);
	assert_string_equal(s, NETMOON_VERSION_STRING);
	assert_int_equal(sscanf(s, "%u.%u.%u", &maj, &min, &pat), 3);
	assert_int_equal(netmoon_version(), (maj << 16) | (min << 8) | pat);
}

/* ------------------------------------------------------------------------ */
/* frame.h                                                                   */

static void test_frame_parse(void **state)
{
	static const uint32_t known[] = {
		NETMOON_LINKTYPE_NULL,     NETMOON_LINKTYPE_ETHERNET, NETMOON_LINKTYPE_RAW_DLT12,
		NETMOON_LINKTYPE_RAW_DLT14, NETMOON_LINKTYPE_RAW,     NETMOON_LINKTYPE_LINUX_SLL,
		NETMOON_LINKTYPE_IPV4,     NETMOON_LINKTYPE_IPV6,    NETMOON_LINKTYPE_LINUX_SLL2,
	};
	static const uint32_t unknown_lt[] = { 2, 3, 100, 105, 127, 147, 228 + 2, 275, 277,
					       65535, 65536, 0x7fffffffu, 0xffffffffu };
	const size_t bad_sz[] = { 0, 1, sizeof(size_t), sizeof(struct netmoon_frame) - 1 };
	struct netmoon_frame f;
	uint8_t pkt[128];
	uint32_t n = (uint32_t)mk_packet(pkt, 1, 0, 6, NETMOON_TCP_SYN);
	uint64_t seed = 42;
	int r;

	(void)state;
	/* NULL frame, and a frame whose sz is too small: -EINVAL. */
	assert_int_equal(netmoon_frame_parse(NULL, NETMOON_LINKTYPE_ETHERNET, pkt, n, n), -EINVAL);
	assert_int_equal(netmoon_frame_parse(NULL, 0xffffffffu, NULL, 0, 0), -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(bad_sz); i++) {
		memset(&f, 0, sizeof(f));
		f.sz = bad_sz[i];
		assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, pkt, n, n),
				 -EINVAL);
	}

	/* Unknown link types: the documented reason code, in the return and the struct. */
	for (size_t i = 0; i < ARRAY_LEN(unknown_lt); i++) {
		memset(&f, 0xee, sizeof(f));
		f.sz = sizeof(f);
		r = netmoon_frame_parse(&f, unknown_lt[i], pkt, n, n);
		if (r != NETMOON_FRAME_R_LINKTYPE)
			fail_msg("link type %" PRIu32 ": got %d, want NETMOON_FRAME_R_LINKTYPE",
				 unknown_lt[i], r);
		assert_int_equal(f.reason, NETMOON_FRAME_R_LINKTYPE);
		assert_int_equal(f.linktype, unknown_lt[i]);
		assert_int_equal(f.caplen, n);
		assert_int_equal(f.layers & (NETMOON_FRAME_L_IP | NETMOON_FRAME_L_L4), 0);
		assert_string_equal(netmoon_frame_reason_str(r), "linktype");
	}

	/* NULL data with bytes claimed: R_BAD_ARGS for every link type. */
	for (size_t i = 0; i < ARRAY_LEN(known) + 1; i++) {
		uint32_t lt = i < ARRAY_LEN(known) ? known[i] : 0xffffffffu;

		f.sz = sizeof(f);
		assert_int_equal(netmoon_frame_parse(&f, lt, NULL, 60, 60), NETMOON_FRAME_R_BAD_ARGS);
		assert_int_equal(f.reason, NETMOON_FRAME_R_BAD_ARGS);
		assert_int_equal(f.layers, 0);
		/* NULL data with caplen 0, and zero bytes: a positive reason, never OK. */
		f.sz = sizeof(f);
		r = netmoon_frame_parse(&f, lt, NULL, 0, 0);
		assert_true(r > 0 && r < NETMOON_FRAME_R__COUNT && r != NETMOON_FRAME_R_BAD_ARGS);
		f.sz = sizeof(f);
		r = netmoon_frame_parse(&f, lt, pkt, 0, 1500);
		assert_true(r > 0 && r < NETMOON_FRAME_R__COUNT);
	}

	/* wirelen below caplen is accepted ("caplen is used"). */
	f.sz = sizeof(f);
	assert_int_equal(netmoon_frame_parse(&f, NETMOON_LINKTYPE_ETHERNET, pkt, n, 0),
			 NETMOON_FRAME_OK);

	/* A newer caller's bigger struct: parsed, and nothing written past its sz. */
	{
		enum { EXTRA = 64, GUARD = 16 };
		size_t total = sizeof(f) + EXTRA + GUARD, sz = sizeof(f) + EXTRA;
		unsigned char *big = malloc(total);

		assert_non_null(big);
		memset(big, 0xa5, total);
		memcpy(big, &sz, sizeof(sz));
		assert_int_equal(netmoon_frame_parse((struct netmoon_frame *)(void *)big,
						     NETMOON_LINKTYPE_ETHERNET, pkt, n, n),
				 NETMOON_FRAME_OK);
		for (size_t i = sizeof(f) + EXTRA; i < total; i++)
			assert_int_equal(big[i], 0xa5);
		free(big);
	}

	/*
	 * Random bytes of every length up to 96, for every link type, each in
	 * a heap block of exactly that length (a sanitizer sees any overread):
	 * a reason in range, never a crash.
	 */
	for (size_t i = 0; i < ARRAY_LEN(known) + 1; i++) {
		uint32_t lt = i < ARRAY_LEN(known) ? known[i] : 7;

		for (uint32_t len = 1; len <= 96; len++) {
			for (int k = 0; k < 8; k++) {
				uint8_t *d = malloc(len);

				assert_non_null(d);
				for (uint32_t j = 0; j < len; j++)
					d[j] = (uint8_t)rng_next(&seed);
				/* Half the time, a plausible start so the upper layers run too. */
				if (k & 1 && lt == NETMOON_LINKTYPE_ETHERNET && len > 14) {
					d[12] = 0x08;
					d[13] = 0x00;
					d[14] = 0x45;
				}
				f.sz = sizeof(f);
				r = netmoon_frame_parse(&f, lt, d, len, (uint32_t)rng_next(&seed));
				assert_true(r >= 0 && r < NETMOON_FRAME_R__COUNT);
				assert_int_equal(f.reason, r);
				free(d);
			}
		}
	}
}

static void test_frame_reason_str(void **state)
{
	static const int out_of_range[] = { -1, -2, NETMOON_FRAME_R__COUNT,
					    NETMOON_FRAME_R__COUNT + 1, 1000, INT_MAX, INT_MIN,
					    -EINVAL };

	(void)state;
	for (int r = 0; r < NETMOON_FRAME_R__COUNT; r++) {
		const char *s = netmoon_frame_reason_str(r);

		assert_non_null(s);
		if (strcmp(s, "unknown") == 0 || !*s)
			fail_msg("reason %d has no name", r);
		for (int j = 0; j < r; j++)
			assert_string_not_equal(s, netmoon_frame_reason_str(j));
	}
	for (size_t i = 0; i < ARRAY_LEN(out_of_range); i++)
		assert_string_equal(netmoon_frame_reason_str(out_of_range[i]), "unknown");
}

/* ------------------------------------------------------------------------ */
/* capture.h                                                                 */

static struct bytes sample10; /* a pcap of 10 UDP packets, built once */

static const struct bytes *sample(void)
{
	if (!sample10.p)
		mk_pcap(&sample10, 10);
	return &sample10;
}

static int try_open_mem_opts(const void *opts, void *ctx)
{
	struct netmoon_capture *cap = NULL;
	int r;

	(void)ctx;
	r = netmoon_capture_open_mem(&cap, sample()->p, sample()->len, opts);
	if (r == 0)
		netmoon_capture_close(cap);
	return r;
}

static int try_open_file_opts(const void *opts, void *ctx)
{
	struct netmoon_capture *cap = NULL;
	int r;

	r = netmoon_capture_open_file(&cap, ctx, opts);
	if (r == 0)
		netmoon_capture_close(cap);
	return r;
}

static int try_open_err_opts(const void *opts, void *ctx)
{
	struct netmoon_capture *cap = NULL;
	char err[256] = "";
	int r;

	r = netmoon_capture_open_err(&cap, ctx, opts, err, sizeof(err));
	if (r == 0)
		netmoon_capture_close(cap);
	else if (!err[0])
		fail_msg("netmoon_capture_open_err failed (%d) without a message", r);
	return r;
}

static void write_file(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, d, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void test_capture_open(void **state)
{
	struct netmoon_capture *const sentinel = (struct netmoon_capture *)(uintptr_t)0x10;
	struct netmoon_capture *cap;
	char path[512], empty[512], err[256];
	NETMOON_OPTS(netmoon_capture_file_opts, opts, .buffer_size = 0);

	(void)state;
	snprintf(path, sizeof(path), "%s", tmp_path("ok.pcap"));
	write_file(path, sample()->p, sample()->len);
	snprintf(empty, sizeof(empty), "%s", tmp_path("empty.pcap"));
	write_file(empty, NULL, 0);

	/* NULL arguments: -EINVAL, the out-parameter untouched. */
	assert_int_equal(netmoon_capture_open_file(NULL, path, NULL), -EINVAL);
	cap = sentinel;
	assert_int_equal(netmoon_capture_open_file(&cap, NULL, NULL), -EINVAL);
	assert_ptr_equal(cap, sentinel);
	assert_int_equal(netmoon_capture_open_file(NULL, NULL, &opts), -EINVAL);
	assert_int_equal(netmoon_capture_open_err(NULL, path, NULL, NULL, 0), -EINVAL);
	assert_int_equal(netmoon_capture_open_err(&cap, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(cap, sentinel);
	assert_int_equal(netmoon_capture_open_mem(NULL, sample()->p, sample()->len, NULL),
			 -EINVAL);
	assert_int_equal(netmoon_capture_open_mem(&cap, NULL, 24, NULL), -EINVAL);
	assert_ptr_equal(cap, sentinel);

	/* Errors of open(2) and of the format; the handle untouched. */
	assert_int_equal(netmoon_capture_open_file(&cap, tmp_path("missing.pcap"), NULL), -ENOENT);
	assert_int_equal(netmoon_capture_open_file(&cap, "", NULL), -ENOENT);
	assert_int_equal(netmoon_capture_open_file(&cap, empty, NULL), NETMOON_E_FORMAT);
	assert_true(netmoon_capture_open_file(&cap, tmpdir, NULL) < 0); /* a directory */
	assert_ptr_equal(cap, sentinel);
	/* Zero-length and tiny memory: no magic number, so NETMOON_E_FORMAT. */
	assert_int_equal(netmoon_capture_open_mem(&cap, NULL, 0, NULL), NETMOON_E_FORMAT);
	assert_int_equal(netmoon_capture_open_mem(&cap, sample()->p, 0, NULL), NETMOON_E_FORMAT);
	assert_int_equal(netmoon_capture_open_mem(&cap, sample()->p, 3, NULL), NETMOON_E_FORMAT);
	assert_int_equal(netmoon_capture_open_mem(&cap, "\0\0\0\0\0\0\0\0", 8, NULL),
			 NETMOON_E_FORMAT);
	assert_ptr_equal(cap, sentinel);

	/* errbuf: a message on failure; NULL, or a zero errlen, is never written. */
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_capture_open_err(&cap, empty, NULL, err, sizeof(err)),
			 NETMOON_E_FORMAT);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_non_null(strstr(err, empty));
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_capture_open_err(&cap, empty, NULL, err, 0), NETMOON_E_FORMAT);
	assert_int_equal((unsigned char)err[0], 0x5a);
	assert_int_equal(netmoon_capture_open_err(&cap, empty, NULL, NULL, sizeof(err)),
			 NETMOON_E_FORMAT);
	assert_int_equal(netmoon_capture_open_err(&cap, empty, NULL, err, 1), NETMOON_E_FORMAT);
	assert_int_equal(err[0], '\0');
	assert_int_equal((unsigned char)err[1], 0x5a);
	assert_int_equal(netmoon_capture_open_err(NULL, NULL, NULL, err, 1), -EINVAL);
	assert_ptr_equal(cap, sentinel);

	/* Options: newer callers with unknown bytes set, and sz too small. */
	check_opts_struct("netmoon_capture_open_mem", sizeof(struct netmoon_capture_file_opts),
			  try_open_mem_opts, NULL, true);
	check_opts_struct("netmoon_capture_open_file", sizeof(struct netmoon_capture_file_opts),
			  try_open_file_opts, path, true);
	check_opts_struct("netmoon_capture_open_err", sizeof(struct netmoon_capture_file_opts),
			  try_open_err_opts, path, true);
	/* Bad options are refused before the file is looked at. */
	{
		unsigned char big[sizeof(struct netmoon_capture_file_opts) + 8];
		size_t sz = sizeof(big);

		memset(big, 0, sizeof(big));
		memcpy(big, &sz, sizeof(sz));
		big[sizeof(big) - 1] = 1;
		assert_int_equal(netmoon_capture_open_file(&cap, tmp_path("missing.pcap"),
							   (const void *)big),
				 -EINVAL);
		assert_int_equal(netmoon_capture_open_mem(&cap, NULL, 0, (const void *)big),
				 -EINVAL);
	}
	assert_ptr_equal(cap, sentinel);
	unlink(path);
	unlink(empty);
}

static int try_open_live_opts(const void *opts, void *ctx)
{
	struct netmoon_capture *cap = NULL;
	char err[256] = "";
	int r;

	(void)ctx;
	r = netmoon_capture_open_live(&cap, NO_SUCH_IF, opts, err, sizeof(err));
	if (r == 0)
		netmoon_capture_close(cap);
	return r;
}

/*
 * Only arguments that are refused before any socket is opened: the test
 * needs no privileges.  The interface does not exist, so a check that is
 * missing shows as -ENODEV (root) or NETMOON_E_NO_CAPABILITY, not -EINVAL.
 */
static void test_capture_open_live(void **state)
{
	struct netmoon_capture *cap;
	char err[256];
	struct {
		const char *what;
		struct netmoon_capture_live_opts o;
	} bad[] = {
		{ "block_size 3 (not a power of two)", { .block_size = 3 } },
		{ "block_size 1 MiB + 4096", { .block_size = (1u << 20) + 4096 } },
		{ "block_size 0x80000001", { .block_size = 0x80000001u } },
		{ "block_size 0xffffffff", { .block_size = 0xffffffffu } },
		{ "block_size 16 (below a page)", { .block_size = 16 } },
		{ "fanout_group 65536", { .fanout_group = 65536 } },
		{ "fanout_group 0xffffffff", { .fanout_group = 0xffffffffu } },
		{ "unknown flag bit 2", { .flags = 1u << 2 } },
		{ "unknown flag bit 31", { .flags = 1u << 31 } },
		{ "every flag bit", { .flags = 0xffffffffu } },
		{ "fanout_mode 3", { .fanout_group = 1, .fanout_mode = 3 } },
		{ "fanout_mode 0xffffffff", { .fanout_group = 1, .fanout_mode = 0xffffffffu } },
		/* As an int, these timeouts are negative. */
		{ "read_timeout_ms 0x80000000", { .read_timeout_ms = 0x80000000u } },
		{ "read_timeout_ms 0xffffffff", { .read_timeout_ms = 0xffffffffu } },
	};

	(void)state;
	cap = (struct netmoon_capture *)(uintptr_t)0x10;
	assert_int_equal(netmoon_capture_open_live(NULL, NO_SUCH_IF, NULL, NULL, 0), -EINVAL);
	assert_int_equal(netmoon_capture_open_live(&cap, NULL, NULL, NULL, 0), -EINVAL);
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_capture_open_live(&cap, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_capture_open_live(NULL, NULL, NULL, err, 0), -EINVAL);
	assert_int_equal((unsigned char)err[0], 0x5a);

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int r;

		bad[i].o.sz = sizeof(bad[i].o);
		cap = NULL;
		memset(err, 0, sizeof(err));
		r = netmoon_capture_open_live(&cap, NO_SUCH_IF, &bad[i].o, err, sizeof(err));
		if (r != -EINVAL)
			fail_msg("open_live with %s: got %d (%s), want -EINVAL", bad[i].what, r, err);
		assert_null(cap);
		assert_true(err[0] != '\0');
		/* Also without an error buffer. */
		assert_int_equal(netmoon_capture_open_live(&cap, "lo", &bad[i].o, NULL, 0), -EINVAL);
		assert_null(cap);
	}
	check_opts_struct("netmoon_capture_open_live", sizeof(struct netmoon_capture_live_opts),
			  try_open_live_opts, NULL, false);
}

struct loop_ctx {
	int calls;
	int stop_at;
	int ret;
	uint64_t last_number;
};

static int loop_cb(const struct netmoon_packet *pkt, void *user)
{
	struct loop_ctx *c = user;

	assert_non_null(pkt);
	c->calls++;
	c->last_number = pkt->number;
	return c->calls == c->stop_at ? c->ret : 0;
}

static int get_capture_stats(void *st, void *ctx)
{
	return netmoon_capture_get_stats(ctx, st);
}

static void test_capture_handle(void **state)
{
	struct netmoon_capture *cap;
	const struct netmoon_packet *pkt;
	const struct netmoon_frame *fr;
	struct loop_ctx lc;
	NETMOON_OPTS(netmoon_capture_stats, st);

	(void)state;
	/* NULL handle: -EINVAL, "" or nothing. */
	assert_int_equal(netmoon_capture_next(NULL, &pkt), -EINVAL);
	assert_int_equal(netmoon_capture_next(NULL, NULL), -EINVAL);
	fr = (const struct netmoon_frame *)(uintptr_t)0x10;
	pkt = (const struct netmoon_packet *)(uintptr_t)0x10;
	assert_int_equal(netmoon_capture_next_frame(NULL, &pkt, &fr), -EINVAL);
	assert_null(pkt);
	assert_null(fr);
	assert_int_equal(netmoon_capture_next_frame(NULL, NULL, NULL), -EINVAL);
	memset(&lc, 0, sizeof(lc));
	assert_true(netmoon_capture_loop(NULL, 0, loop_cb, &lc) == -EINVAL);
	assert_true(netmoon_capture_loop(NULL, 5, NULL, NULL) == -EINVAL);
	assert_int_equal(lc.calls, 0);
	netmoon_capture_breakloop(NULL);
	assert_int_equal(netmoon_capture_linktype(NULL), -EINVAL);
	assert_int_equal(netmoon_capture_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(netmoon_capture_get_stats(NULL, NULL), -EINVAL);
	assert_non_null(netmoon_capture_errmsg(NULL));
	assert_string_equal(netmoon_capture_errmsg(NULL), "");
	netmoon_capture_close(NULL);

	assert_int_equal(netmoon_capture_open_mem(&cap, sample()->p, sample()->len, NULL), 0);
	assert_string_equal(netmoon_capture_errmsg(cap), "");
	assert_int_equal(netmoon_capture_linktype(cap), NETMOON_LINKTYPE_ETHERNET);
	/* NULL out-parameter or callback: -EINVAL, and no packet is consumed. */
	assert_int_equal(netmoon_capture_next(cap, NULL), -EINVAL);
	assert_int_equal(netmoon_capture_next_frame(cap, NULL, &fr), -EINVAL);
	assert_null(fr);
	assert_int_equal(netmoon_capture_next_frame(cap, &pkt, NULL), -EINVAL);
	assert_null(pkt);
	assert_true(netmoon_capture_loop(cap, 0, NULL, NULL) == -EINVAL);
	assert_int_equal(netmoon_capture_get_stats(cap, NULL), -EINVAL);
	check_out_struct("netmoon_capture_get_stats", sizeof(struct netmoon_capture_stats),
			 get_capture_stats, cap);
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.packets, 0);

	/* A callback that stops the loop at the 3rd packet: its value, unchanged. */
	memset(&lc, 0, sizeof(lc));
	lc.stop_at = 3;
	lc.ret = 7;
	assert_true(netmoon_capture_loop(cap, 0, loop_cb, &lc) == 7);
	assert_int_equal(lc.calls, 3);
	memset(&lc, 0, sizeof(lc));
	lc.stop_at = 1;
	lc.ret = -EIO;
	assert_true(netmoon_capture_loop(cap, 0, loop_cb, &lc) == -EIO);
	assert_int_equal(lc.last_number, 4);
	/* The handle goes on from the next packet. */
	assert_int_equal(netmoon_capture_next(cap, &pkt), 1);
	assert_int_equal(pkt->number, 5);
	/* A breakloop() before the loop: NETMOON_E_BREAK, no packet taken, then normal again. */
	netmoon_capture_breakloop(cap);
	memset(&lc, 0, sizeof(lc));
	assert_true(netmoon_capture_loop(cap, 0, loop_cb, &lc) == NETMOON_E_BREAK);
	assert_int_equal(lc.calls, 0);
	assert_true(netmoon_capture_loop(cap, 2, loop_cb, &lc) == 2);
	assert_int_equal(lc.last_number, 7);
	/* To the end: the count; after the end, 0 again and again. */
	assert_true(netmoon_capture_loop(cap, 0, loop_cb, &lc) == 3);
	assert_int_equal(lc.last_number, 10);
	assert_true(netmoon_capture_loop(cap, 0, loop_cb, &lc) == 0);
	pkt = (const struct netmoon_packet *)(uintptr_t)0x10;
	assert_int_equal(netmoon_capture_next(cap, &pkt), 0);
	assert_null(pkt);
	assert_int_equal(netmoon_capture_next(cap, &pkt), 0);
	fr = (const struct netmoon_frame *)(uintptr_t)0x10;
	assert_int_equal(netmoon_capture_next_frame(cap, &pkt, &fr), 0);
	assert_null(pkt);
	assert_null(fr);
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.packets, 10);
	assert_int_equal(st.file_offset, sample()->len);
	netmoon_capture_breakloop(cap); /* a request nobody consumes: harmless at close */
	netmoon_capture_close(cap);
}

/* ------------------------------------------------------------------------ */
/* conntable.h                                                               */

static struct netmoon_conntable *small_table(uint32_t max, uint32_t flags)
{
	struct netmoon_conntable *ct = NULL;
	NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = max, .flags = flags,
		     .udp_timeout_ns = SEC(1));

	assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
	assert_non_null(ct);
	return ct;
}

/* UDP flows 0..n-1, one packet each, 1 ms apart. */
static void track_udp_flows(struct netmoon_conntable *ct, unsigned first, unsigned n, int64_t t)
{
	struct netmoon_frame f;

	for (unsigned i = first; i < first + n; i++) {
		mk_frame(&f, i, 0, 17, 0);
		assert_int_equal(netmoon_conntable_track(ct, &f, t + MS(i), NULL), 0);
	}
}

static struct netmoon_conntable_stats table_stats(const struct netmoon_conntable *ct)
{
	struct netmoon_conntable_stats st;

	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	assert_int_equal(netmoon_conntable_get_stats(ct, &st), 0);
	return st;
}

/* Connections seen by netmoon_conntable_next(), all distinct and readable. */
static uint64_t count_by_next(const struct netmoon_conntable *ct)
{
	const struct netmoon_conn *c = NULL;
	uint64_t n = 0, prev_ids[4096];

	while ((c = netmoon_conntable_next(ct, c)) != NULL) {
		NETMOON_OPTS(netmoon_conn_info, info);

		assert_int_equal(netmoon_conn_get_info(c, &info), 0);
		assert_true(info.state >= NETMOON_CONN_SYN_SENT && info.state <= NETMOON_CONN_EXPIRED);
		if (n < ARRAY_LEN(prev_ids)) {
			for (uint64_t j = 0; j < n; j++)
				assert_true(prev_ids[j] != info.id);
			prev_ids[n] = info.id;
		}
		n++;
		assert_true(n <= (uint64_t)1 << 31);
	}
	return n;
}

static int count_cb(const struct netmoon_conn *c, void *user)
{
	(void)c;
	++*(uint64_t *)user;
	return 0;
}

static uint64_t count_by_foreach(const struct netmoon_conntable *ct)
{
	uint64_t n = 0;

	assert_int_equal(netmoon_conntable_foreach(ct, count_cb, &n), 0);
	return n;
}

/* The table agrees with itself: its count, both iterations, and its history. */
static void check_consistent(const struct netmoon_conntable *ct)
{
	struct netmoon_conntable_stats st = table_stats(ct);
	uint64_t by_next = count_by_next(ct);

	if (by_next != st.active)
		fail_msg("stats say %" PRIu64 " active, iteration sees %" PRIu64, st.active,
			 by_next);
	assert_int_equal(count_by_foreach(ct), st.active);
	assert_true(st.active <= st.max_conns);
	assert_true(st.peak >= st.active && st.peak <= st.max_conns);
	assert_true(st.created >= st.active);
}

static int try_conntable_new_opts(const void *opts, void *ctx)
{
	struct netmoon_conntable *ct = NULL;
	int r;

	(void)ctx;
	r = netmoon_conntable_new(&ct, opts);
	if (r == 0)
		netmoon_conntable_free(ct);
	else
		assert_null(ct);
	return r;
}

static void test_conntable_new(void **state)
{
	struct netmoon_conntable *ct;
	struct {
		const char *what;
		struct netmoon_conntable_opts o;
	} bad[] = {
		{ "max_conns 2^30 + 1", { .max_conns = (1u << 30) + 1 } },
		{ "max_conns 0xffffffff", { .max_conns = 0xffffffffu } },
		{ "unknown flag 0x04", { .flags = 0x04 } },
		{ "unknown flag 0x80000000", { .flags = 0x80000000u } },
		{ "every flag", { .flags = 0xffffffffu } },
		{ "idle_timeout_ns -1", { .idle_timeout_ns = -1 } },
		{ "idle_timeout_ns INT64_MIN", { .idle_timeout_ns = INT64_MIN } },
		{ "tcp_syn_timeout_ns -1", { .tcp_syn_timeout_ns = -1 } },
		{ "tcp_established_timeout_ns -1", { .tcp_established_timeout_ns = -1 } },
		{ "tcp_closing_timeout_ns -1", { .tcp_closing_timeout_ns = -1 } },
		{ "tcp_closed_timeout_ns INT64_MIN", { .tcp_closed_timeout_ns = INT64_MIN } },
		{ "udp_timeout_ns -1", { .udp_timeout_ns = -1 } },
		{ "icmp_timeout_ns -1", { .icmp_timeout_ns = -1 } },
		{ "other_timeout_ns -5", { .other_timeout_ns = -5 } },
		{ "frag_slots 0xffffffff", { .frag_slots = 0xffffffffu } },
		{ "emergency_high_pct 102", { .emergency_high_pct = 102 } },
		{ "emergency_high_pct 0xffffffff", { .emergency_high_pct = 0xffffffffu } },
		{ "emergency_low_pct = emergency_high_pct",
		  { .emergency_high_pct = 50, .emergency_low_pct = 50 } },
		{ "emergency_low_pct above emergency_high_pct",
		  { .emergency_high_pct = 50, .emergency_low_pct = 80 } },
		{ "emergency_low_pct 95 above the default high 90", { .emergency_low_pct = 95 } },
		{ "emergency_low_pct 0xffffffff", { .emergency_low_pct = 0xffffffffu } },
		{ "emergency_timeout_ns -1", { .emergency_timeout_ns = -1 } },
		{ "emergency_timeout_ns INT64_MIN", { .emergency_timeout_ns = INT64_MIN } },
	};

	(void)state;
	assert_int_equal(netmoon_conntable_new(NULL, NULL), -EINVAL);
	assert_int_equal(netmoon_conntable_new(NULL, &bad[0].o), -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int r;

		bad[i].o.sz = sizeof(bad[i].o);
		ct = (struct netmoon_conntable *)(uintptr_t)0x10;
		r = netmoon_conntable_new(&ct, &bad[i].o);
		if (r != -EINVAL)
			fail_msg("conntable_new with %s: got %d, want -EINVAL", bad[i].what, r);
		if (r == 0)
			netmoon_conntable_free(ct);
	}
	check_opts_struct("netmoon_conntable_new", sizeof(struct netmoon_conntable_opts),
			  try_conntable_new_opts, NULL, true);
	/* Extreme but valid values: accepted, and the table works. */
	{
		struct netmoon_frame f;
		NETMOON_OPTS(netmoon_conntable_opts, o, .max_conns = 1,
			     .idle_timeout_ns = INT64_MAX, .udp_timeout_ns = 1, .frag_slots = 1,
			     .emergency_high_pct = 1, .emergency_timeout_ns = INT64_MAX);

		assert_int_equal(netmoon_conntable_new(&ct, &o), 0);
		mk_frame(&f, 1, 0, 17, 0);
		assert_int_equal(netmoon_conntable_track(ct, &f, INT64_MAX, NULL), 0);
		mk_frame(&f, 2, 0, 17, 0);
		assert_int_equal(netmoon_conntable_track(ct, &f, INT64_MAX, NULL), 0);
		check_consistent(ct);
		assert_int_equal(table_stats(ct).active, 1);
		netmoon_conntable_free(ct);
	}
	netmoon_conntable_free(NULL);
}

static int get_table_stats(void *st, void *ctx)
{
	return netmoon_conntable_get_stats(ctx, st);
}

static int get_conn_info(void *st, void *ctx)
{
	return netmoon_conn_get_info(ctx, st);
}

static void test_conntable_calls(void **state)
{
	struct netmoon_conntable *ct = small_table(16, 0), *other = small_table(16, 0);
	struct netmoon_conntable_stats before, after;
	const struct netmoon_conn *c;
	struct netmoon_frame frames[4], f;
	int64_t ts[4] = { T0, T0 + 1, T0 + 2, T0 + 3 };
	NETMOON_OPTS(netmoon_conn_info, info);
	uint64_t n = 0;

	(void)state;
	mk_frame(&f, 1, 0, 17, 0);
	/* NULL table. */
	c = (const struct netmoon_conn *)(uintptr_t)0x10;
	assert_int_equal(netmoon_conntable_track(NULL, &f, T0, &c), -EINVAL);
	assert_null(c);
	assert_true(netmoon_conntable_track_burst(NULL, &f, ts, 1) == -EINVAL);
	assert_true(netmoon_conntable_track_burst(NULL, NULL, NULL, 0) == -EINVAL);
	assert_true(netmoon_conntable_expire(NULL, T0, 0) == -EINVAL);
	assert_true(netmoon_conntable_flush(NULL) == -EINVAL);
	assert_null(netmoon_conntable_next(NULL, NULL));
	assert_int_equal(netmoon_conntable_foreach(NULL, count_cb, &n), -EINVAL);
	assert_int_equal(netmoon_conntable_get_stats(NULL, &before), -EINVAL);
	assert_int_equal(netmoon_conntable_set_hooks(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(n, 0);

	/* NULL and short frames: -EINVAL, nothing counted. */
	before = table_stats(ct);
	c = (const struct netmoon_conn *)(uintptr_t)0x10;
	assert_int_equal(netmoon_conntable_track(ct, NULL, T0, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(netmoon_conntable_track(ct, NULL, T0, NULL), -EINVAL);
	for (size_t sz = 0; sz < sizeof(size_t) + 2; sz++) {
		f.sz = sz;
		assert_int_equal(netmoon_conntable_track(ct, &f, T0, NULL), -EINVAL);
	}
	f.sz = offsetof(struct netmoon_frame, tcp_seq);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0, NULL), -EINVAL);
	/* Bursts: NULL arrays, zero or bad strides, sizes that differ. */
	mk_frame(&frames[0], 1, 0, 17, 0);
	mk_frame(&frames[1], 2, 0, 17, 0);
	mk_frame(&frames[2], 3, 0, 17, 0);
	mk_frame(&frames[3], 4, 0, 17, 0);
	assert_true(netmoon_conntable_track_burst(ct, NULL, ts, 4) == -EINVAL);
	assert_true(netmoon_conntable_track_burst(ct, frames, NULL, 4) == -EINVAL);
	assert_true(netmoon_conntable_track_burst(ct, NULL, NULL, 0) == 0);
	frames[2].sz = sizeof(f) + 8;
	assert_true(netmoon_conntable_track_burst(ct, frames, ts, 4) == -EINVAL);
	frames[2].sz = sizeof(f);
	frames[0].sz = 0;
	assert_true(netmoon_conntable_track_burst(ct, frames, ts, 1) == -EINVAL);
	frames[0].sz = sizeof(f) - 1; /* not a multiple of the alignment */
	assert_true(netmoon_conntable_track_burst(ct, frames, ts, 1) == -EINVAL);
	frames[0].sz = sizeof(f);
	after = table_stats(ct);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_true(netmoon_conntable_track_burst(ct, frames, ts, 4) == 4);

	/* Untrackable frames: 1, counted, no connection. */
	{
		struct netmoon_frame g;

		memset(&g, 0, sizeof(g));
		g.sz = sizeof(g);
		c = (const struct netmoon_conn *)(uintptr_t)0x10;
		assert_int_equal(netmoon_conntable_track(ct, &g, T0, &c), 1);
		assert_null(c);
		assert_int_equal(table_stats(ct).untracked, 1);
	}

	/* Iteration: NULL callback, a pointer from elsewhere. */
	assert_int_equal(netmoon_conntable_foreach(ct, NULL, NULL), -EINVAL);
	assert_null(netmoon_conntable_next(ct, (const struct netmoon_conn *)(const void *)&f));
	assert_null(netmoon_conntable_next(ct, (const struct netmoon_conn *)(uintptr_t)1));
	track_udp_flows(other, 0, 2, T0);
	assert_null(netmoon_conntable_next(ct, netmoon_conntable_next(other, NULL)));
	c = netmoon_conntable_next(ct, NULL);
	assert_non_null(c);
	/* A pointer into the middle of an entry. */
	assert_null(netmoon_conntable_next(
		ct, (const struct netmoon_conn *)(const void *)((const char *)c + 8)));

	/* Output structs. */
	assert_int_equal(netmoon_conntable_get_stats(ct, NULL), -EINVAL);
	check_out_struct("netmoon_conntable_get_stats", sizeof(struct netmoon_conntable_stats),
			 get_table_stats, ct);
	assert_int_equal(netmoon_conn_get_info(NULL, &info), -EINVAL);
	assert_int_equal(netmoon_conn_get_info(c, NULL), -EINVAL);
	assert_int_equal(netmoon_conn_get_info(NULL, NULL), -EINVAL);
	check_out_struct("netmoon_conn_get_info", sizeof(struct netmoon_conn_info), get_conn_info,
			 (void *)(uintptr_t)c);

	/* set_hooks: bad hooks structs; NULL removes them all. */
	{
		NETMOON_OPTS(netmoon_conntable_hooks, h);

		assert_int_equal(netmoon_conntable_set_hooks(ct, &h, NULL), 0);
		assert_int_equal(netmoon_conntable_set_hooks(ct, NULL, NULL), 0);
	}

	/* Expire and flush at extreme times and budgets. */
	before = table_stats(ct);
	assert_true(netmoon_conntable_expire(ct, INT64_MIN, 0) == 0);
	assert_true(netmoon_conntable_expire(ct, INT64_MIN, UINT64_MAX) == 0);
	assert_true(netmoon_conntable_expire(ct, T0 + SEC(100), 1) == 1);
	check_consistent(ct);
	assert_true(netmoon_conntable_expire(ct, INT64_MAX, UINT64_MAX) ==
		    (int64_t)before.active - 1);
	check_consistent(ct);
	assert_int_equal(table_stats(ct).active, 0);
	assert_true(netmoon_conntable_expire(ct, INT64_MAX, 0) == 0);
	assert_true(netmoon_conntable_flush(ct) == 0);
	/* Time never goes backwards: an old packet after INT64_MAX is tracked at INT64_MAX. */
	mk_frame(&f, 1, 0, 17, 0);
	assert_int_equal(netmoon_conntable_track(ct, &f, INT64_MIN, NULL), 0);
	check_consistent(ct);
	assert_true(netmoon_conntable_flush(ct) == 1);
	check_consistent(ct);
	netmoon_conntable_free(ct);
	netmoon_conntable_free(other);
}

static int get_hooks_try_ct_dummy;

static int try_set_hooks_opts(const void *opts, void *ctx)
{
	return netmoon_conntable_set_hooks(ctx, opts, &get_hooks_try_ct_dummy);
}

/* A walk that stops at the stop_at-th connection with ret. */
struct walk_ctx {
	int calls;
	int stop_at;
	int ret;
};

static int walk_cb(const struct netmoon_conn *c, void *user)
{
	struct walk_ctx *w = user;

	assert_non_null(c);
	return ++w->calls == w->stop_at ? w->ret : 0;
}

static void test_conntable_foreach_stops(void **state)
{
	struct netmoon_conntable *ct = small_table(64, 0);
	struct netmoon_conntable_stats before, after;
	static const int rets[] = { 42, 1, -EIO, INT_MIN, INT_MAX, -1 };
	struct walk_ctx w;

	(void)state;
	/* An empty table: the callback never runs. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(netmoon_conntable_foreach(ct, walk_cb, &w), 0);
	assert_int_equal(w.calls, 0);

	track_udp_flows(ct, 0, 10, T0);
	before = table_stats(ct);
	assert_int_equal(before.active, 10);
	for (size_t i = 0; i < ARRAY_LEN(rets); i++) {
		for (int at = 1; at <= 10; at += 2) {
			memset(&w, 0, sizeof(w));
			w.stop_at = at;
			w.ret = rets[i];
			assert_int_equal(netmoon_conntable_foreach(ct, walk_cb, &w), rets[i]);
			assert_int_equal(w.calls, at);
		}
	}
	/* The brief's case: the 3rd connection stops it; the value comes back unchanged. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	w.ret = 3333;
	assert_int_equal(netmoon_conntable_foreach(ct, walk_cb, &w), 3333);
	assert_int_equal(w.calls, 3);
	/* Afterwards: every connection is still seen, the counters are unchanged. */
	after = table_stats(ct);
	assert_memory_equal(&before, &after, sizeof(before));
	memset(&w, 0, sizeof(w));
	assert_int_equal(netmoon_conntable_foreach(ct, walk_cb, &w), 0);
	assert_int_equal(w.calls, 10);
	check_consistent(ct);
	/* And the table still finds its connections: no new one for known flows. */
	track_udp_flows(ct, 0, 10, T0 + MS(100));
	assert_int_equal(table_stats(ct).created, before.created);
	netmoon_conntable_free(ct);
}

/* Hooks that fail on chosen calls, counting every call. */
struct hook_ctx {
	struct netmoon_conntable *ct;
	int new_calls, state_calls, close_calls, remove_calls;
	int new_fail_at, state_fail_at, close_fail_at, remove_fail_at; /* 0 = never, -1 = always */
	int ret;
	/* Re-entry from inside a hook. */
	bool reenter;
	int r_track, r_burst, r_expire, r_flush, r_hooks, r_stats, r_foreach;
};

static int hook_verdict(const struct hook_ctx *h, int calls, int fail_at)
{
	return fail_at == -1 || (fail_at && calls == fail_at) ? h->ret : 0;
}

static void hook_reenter(struct hook_ctx *h)
{
	struct netmoon_frame f;
	int64_t ts = T0;
	struct netmoon_conntable_stats st;
	uint64_t n = 0;

	if (!h->reenter)
		return;
	h->reenter = false;
	mk_frame(&f, 999, 0, 17, 0);
	h->r_track = netmoon_conntable_track(h->ct, &f, T0, NULL);
	h->r_burst = (int)netmoon_conntable_track_burst(h->ct, &f, &ts, 1);
	h->r_expire = (int)netmoon_conntable_expire(h->ct, INT64_MAX, 0);
	h->r_flush = (int)netmoon_conntable_flush(h->ct);
	h->r_hooks = netmoon_conntable_set_hooks(h->ct, NULL, NULL);
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	h->r_stats = netmoon_conntable_get_stats(h->ct, &st);
	h->r_foreach = netmoon_conntable_foreach(h->ct, count_cb, &n);
}

static int on_new(const struct netmoon_conn *c, void *user)
{
	struct hook_ctx *h = user;

	assert_non_null(c);
	hook_reenter(h);
	return hook_verdict(h, ++h->new_calls, h->new_fail_at);
}

static int on_state(const struct netmoon_conn *c, int old, void *user)
{
	struct hook_ctx *h = user;

	assert_non_null(c);
	assert_true(old >= NETMOON_CONN_SYN_SENT && old <= NETMOON_CONN_EXPIRED);
	return hook_verdict(h, ++h->state_calls, h->state_fail_at);
}

static int on_close(const struct netmoon_conn *c, void *user)
{
	struct hook_ctx *h = user;

	assert_non_null(c);
	return hook_verdict(h, ++h->close_calls, h->close_fail_at);
}

static int on_remove(const struct netmoon_conn *c, int reason, void *user)
{
	struct hook_ctx *h = user;

	assert_non_null(c);
	assert_true(reason >= NETMOON_REMOVE_CLOSED && reason <= NETMOON_REMOVE_FLUSH);
	hook_reenter(h);
	return hook_verdict(h, ++h->remove_calls, h->remove_fail_at);
}

static void install_hooks(struct netmoon_conntable *ct, struct hook_ctx *h)
{
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = on_new, .on_state = on_state,
		     .on_close = on_close, .on_remove = on_remove);

	h->ct = ct;
	assert_int_equal(netmoon_conntable_set_hooks(ct, &hooks, h), 0);
}

static void test_conntable_set_hooks(void **state)
{
	struct netmoon_conntable *ct = small_table(16, 0);
	struct hook_ctx h;

	(void)state;
	check_opts_struct("netmoon_conntable_set_hooks", sizeof(struct netmoon_conntable_hooks),
			  try_set_hooks_opts, ct, true);
	/* Hooks re-entering the table they are called from: refused with -EBUSY. */
	memset(&h, 0, sizeof(h));
	install_hooks(ct, &h);
	h.reenter = true;
	track_udp_flows(ct, 0, 1, T0);
	assert_int_equal(h.new_calls, 1);
	assert_int_equal(h.r_track, -EBUSY);
	assert_int_equal(h.r_burst, -EBUSY); /* documented for track_burst */
	assert_int_equal(h.r_expire, -EBUSY);
	assert_int_equal(h.r_flush, -EBUSY);
	assert_int_equal(h.r_hooks, -EBUSY);
	/* Reading is allowed. */
	assert_int_equal(h.r_stats, 0);
	assert_int_equal(h.r_foreach, 0);
	/* The hooks are still installed, and nothing else happened. */
	assert_int_equal(table_stats(ct).active, 1);
	assert_int_equal(table_stats(ct).packets, 1);
	track_udp_flows(ct, 1, 1, T0);
	assert_int_equal(h.new_calls, 2);
	/* From on_remove too (during flush). */
	h.reenter = true;
	assert_true(netmoon_conntable_flush(ct) == 2);
	assert_int_equal(h.r_track, -EBUSY);
	assert_int_equal(h.r_flush, -EBUSY);
	check_consistent(ct);
	assert_int_equal(table_stats(ct).active, 0);
	netmoon_conntable_free(ct);
}

static void test_conntable_hook_errors_track(void **state)
{
	struct netmoon_conntable *ct = small_table(64, 0);
	struct netmoon_conntable_stats st;
	const struct netmoon_conn *c;
	struct netmoon_frame f, burst[8];
	int64_t ts[8];
	struct hook_ctx h;
	NETMOON_OPTS(netmoon_conn_info, info);

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ret = -EIO;
	h.new_fail_at = -1;
	install_hooks(ct, &h);
	/* on_new fails: the error comes back, the connection exists and is consistent. */
	for (unsigned i = 0; i < 6; i++) {
		mk_frame(&f, i, 0, 17, 0);
		c = NULL;
		assert_int_equal(netmoon_conntable_track(ct, &f, T0 + i, &c), -EIO);
		assert_non_null(c);
		assert_int_equal(netmoon_conn_get_info(c, &info), 0);
		assert_int_equal(info.orig_port, 40000 + i);
		check_consistent(ct);
	}
	st = table_stats(ct);
	assert_int_equal(st.created, 6);
	assert_int_equal(st.active, 6);
	assert_int_equal(h.new_calls, 6);
	/* Known flows: found again, no hook, no error. */
	track_udp_flows(ct, 0, 6, T0 + SEC(0));
	assert_int_equal(table_stats(ct).created, 6);

	/* A burst where on_new fails once: the whole burst is accounted, the error returned. */
	h.new_calls = 0;
	h.new_fail_at = 3;
	for (unsigned i = 0; i < 8; i++) {
		mk_frame(&burst[i], 100 + i, 0, 17, 0);
		ts[i] = T0 + MS(10) + i;
	}
	assert_true(netmoon_conntable_track_burst(ct, burst, ts, 8) == -EIO);
	assert_int_equal(h.new_calls, 8);
	st = table_stats(ct);
	assert_int_equal(st.created, 14);
	assert_int_equal(st.packets, 6 + 6 + 8);
	check_consistent(ct);

	/* on_state fails on a TCP handshake step; on_close fails on the RST. */
	h.new_fail_at = 0;
	h.state_fail_at = -1;
	mk_frame(&f, 200, 0, 6, NETMOON_TCP_SYN);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + MS(20), NULL), 0);
	mk_frame(&f, 200, 1, 6, NETMOON_TCP_SYN | NETMOON_TCP_ACK);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + MS(21), &c), -EIO);
	assert_int_equal(h.state_calls, 1);
	assert_int_equal(netmoon_conn_get_info(c, &info), 0);
	assert_int_equal(info.state, NETMOON_CONN_SYN_RECV);
	check_consistent(ct);
	h.state_fail_at = 0;
	h.close_fail_at = -1;
	mk_frame(&f, 200, 0, 6, NETMOON_TCP_RST);
	assert_int_equal(netmoon_conntable_track(ct, &f, T0 + MS(22), &c), -EIO);
	assert_int_equal(h.close_calls, 1);
	assert_int_equal(netmoon_conn_get_info(c, &info), 0);
	assert_int_equal(info.state, NETMOON_CONN_RESET);
	check_consistent(ct);
	st = table_stats(ct);
	assert_int_equal(st.created, 15);
	assert_int_equal(st.active, 15);
	netmoon_conntable_free(ct); /* with hooks: on_remove for all, errors ignored */
	assert_int_equal(h.remove_calls, 15);
}

static void test_conntable_hook_errors_expire(void **state)
{
	struct netmoon_conntable *ct = small_table(64, 0);
	struct netmoon_conntable_stats st;
	struct hook_ctx h;
	int64_t r;

	(void)state;
	track_udp_flows(ct, 0, 10, T0);
	memset(&h, 0, sizeof(h));
	h.ret = -EIO;
	h.remove_fail_at = 3;
	install_hooks(ct, &h);
	/* Every flow is past its 1 s timeout; on_remove fails at the 3rd. */
	r = netmoon_conntable_expire(ct, T0 + SEC(10), 0);
	assert_true(r == -EIO);
	st = table_stats(ct);
	/* Every connection on_remove saw has gone; the rest are intact. */
	assert_int_equal(st.expired, (uint64_t)h.remove_calls);
	assert_int_equal(st.active, 10 - (uint64_t)h.remove_calls);
	assert_int_equal(st.active + st.expired, st.created);
	check_consistent(ct);
	/* The rest expire on the next call. */
	h.remove_fail_at = 0;
	r = netmoon_conntable_expire(ct, T0 + SEC(10), 0);
	assert_true(r == (int64_t)st.active);
	check_consistent(ct);
	assert_int_equal(table_stats(ct).active, 0);
	assert_int_equal(table_stats(ct).expired, 10);
	assert_int_equal(h.remove_calls, 10);

	/* Expiry inside track(): the hook's error comes back from track(). */
	track_udp_flows(ct, 0, 4, T0 + SEC(20));
	h.remove_calls = 0;
	h.remove_fail_at = -1;
	{
		struct netmoon_frame f;

		mk_frame(&f, 50, 0, 17, 0);
		assert_int_equal(netmoon_conntable_track(ct, &f, T0 + SEC(30), NULL), -EIO);
	}
	assert_true(h.remove_calls >= 1);
	check_consistent(ct);
	st = table_stats(ct);
	assert_int_equal(st.active + st.expired, st.created);
	assert_int_equal(st.expired, 10 + (uint64_t)h.remove_calls);
	h.remove_fail_at = 0;
	netmoon_conntable_free(ct);
}

static void test_conntable_hook_errors_flush(void **state)
{
	struct netmoon_conntable *ct = small_table(64, 0);
	struct netmoon_conntable_stats st;
	struct hook_ctx h;
	int64_t r;

	(void)state;
	track_udp_flows(ct, 0, 10, T0);
	memset(&h, 0, sizeof(h));
	h.ret = -EIO;
	h.remove_fail_at = 3;
	install_hooks(ct, &h);
	r = netmoon_conntable_flush(ct);
	assert_true(r == -EIO);
	/* "the rest stay": what on_remove saw is gone, the others are all there. */
	st = table_stats(ct);
	assert_int_equal(st.active, 10 - (uint64_t)h.remove_calls);
	assert_true(st.active > 0);
	check_consistent(ct);
	/* The survivors are still found by their flows; the removed ones come back new. */
	h.remove_fail_at = 0;
	track_udp_flows(ct, 0, 10, T0 + MS(50));
	assert_int_equal(table_stats(ct).created, 10 + (uint64_t)h.remove_calls);
	assert_int_equal(table_stats(ct).active, 10);
	check_consistent(ct);
	/* A full flush now. */
	h.remove_calls = 0;
	assert_true(netmoon_conntable_flush(ct) == 10);
	assert_int_equal(h.remove_calls, 10);
	check_consistent(ct);
	assert_int_equal(table_stats(ct).active, 0);
	/* A hook failing on the very first and on the last connection. */
	track_udp_flows(ct, 0, 5, T0 + SEC(1));
	h.remove_calls = 0;
	h.remove_fail_at = 1;
	assert_true(netmoon_conntable_flush(ct) == -EIO);
	assert_int_equal(table_stats(ct).active, 5 - (uint64_t)h.remove_calls);
	check_consistent(ct);
	h.remove_calls = 0;
	h.remove_fail_at = 4;
	assert_true(netmoon_conntable_flush(ct) == -EIO);
	assert_int_equal(table_stats(ct).active, 0);
	check_consistent(ct);
	h.remove_fail_at = 0;
	netmoon_conntable_free(ct);
}

/* Frames full of random bytes (sz set): the table stays within its cap and consistent. */
static void test_conntable_garbage_frames(void **state)
{
	static const uint32_t flag_sets[] = { 0, NETMOON_CT_F_NO_EVICT,
					      NETMOON_CT_F_IGNORE_VLAN | NETMOON_CT_F_NO_EVICT };
	uint64_t seed = 0xfeedu;

	(void)state;
	for (size_t s = 0; s < ARRAY_LEN(flag_sets); s++) {
		struct netmoon_conntable *ct = small_table(32, flag_sets[s]);
		struct netmoon_frame burst[16];
		int64_t ts[16];

		for (int i = 0; i < 3000; i++) {
			struct netmoon_frame f;
			unsigned char *p = (unsigned char *)&f;
			int64_t t = T0 + (int64_t)(rng_next(&seed) % (uint64_t)SEC(100));
			int r;

			for (size_t j = 0; j < sizeof(f); j++)
				p[j] = (unsigned char)rng_next(&seed);
			f.sz = sizeof(f);
			/* Often a plausible frame, so that lookups and state changes happen. */
			if (i & 1) {
				f.layers |= NETMOON_FRAME_L_IP | NETMOON_FRAME_L_L4;
				f.ip_proto = (uint8_t)((const uint8_t[]){ 6, 17, 1, 58, 47 })[i % 5];
				f.ip_flags &= (uint8_t)~NETMOON_FRAME_IP_F_FRAGMENT;
				memset(f.src_addr + 1, 0, 15);
				memset(f.dst_addr + 1, 0, 15);
				f.src_port &= 3;
				f.dst_port &= 3;
			}
			r = netmoon_conntable_track(ct, &f, t, NULL);
			assert_true(r == 0 || r == 1 || r == NETMOON_E_TABLE_FULL);
			if (i % 500 == 0)
				check_consistent(ct);
		}
		for (size_t j = 0; j < ARRAY_LEN(burst); j++) {
			unsigned char *p = (unsigned char *)&burst[j];

			for (size_t k = 0; k < sizeof(burst[j]); k++)
				p[k] = (unsigned char)rng_next(&seed);
			burst[j].sz = sizeof(burst[j]);
			ts[j] = (int64_t)rng_next(&seed);
		}
		assert_true(netmoon_conntable_track_burst(ct, burst, ts, ARRAY_LEN(burst)) >= 0);
		check_consistent(ct);
		assert_true(table_stats(ct).peak <= 32);
		assert_true(netmoon_conntable_expire(ct, INT64_MAX, 0) >= 0);
		check_consistent(ct);
		assert_int_equal(table_stats(ct).active, 0);
		netmoon_conntable_free(ct);
	}
}

/*
 * KNOWN BUG (conn_tcp.c tcp_rtt / netmoon__tcp_rtts): RTTs subtract the
 * packets' own time stamps, which may be any int64_t (the header only says
 * time does not go backwards *in the table*); a SYN at INT64_MAX answered at
 * INT64_MIN is a signed overflow (undefined behaviour, reported by
 * -fsanitize=undefined).  Documented: any ts_ns is accepted.
 */
static void test_conntable_extreme_timestamps(void **state)
{
	static const int64_t pairs[][3] = {
		{ INT64_MAX, INT64_MIN, 0 },
		{ INT64_MIN, INT64_MAX, INT64_MIN },
		{ -1, INT64_MAX, INT64_MIN },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
		struct netmoon_conntable *ct = small_table(8, 0);
		const struct netmoon_conn *c = NULL;
		struct netmoon_frame f;
		NETMOON_OPTS(netmoon_conn_info, info);

		mk_frame(&f, 1, 0, 6, NETMOON_TCP_SYN);
		assert_int_equal(netmoon_conntable_track(ct, &f, pairs[i][0], NULL), 0);
		mk_frame(&f, 1, 1, 6, NETMOON_TCP_SYN | NETMOON_TCP_ACK);
		assert_int_equal(netmoon_conntable_track(ct, &f, pairs[i][1], NULL), 0);
		mk_frame(&f, 1, 0, 6, NETMOON_TCP_ACK);
		assert_int_equal(netmoon_conntable_track(ct, &f, pairs[i][2], &c), 0);
		assert_int_equal(netmoon_conn_get_info(c, &info), 0);
		assert_int_equal(info.state, NETMOON_CONN_ESTABLISHED);
		check_consistent(ct);
		netmoon_conntable_free(ct);
	}
}

static void test_conn_state_strings(void **state)
{
	static const int bad[] = { 0, -1, NETMOON_CONN_EXPIRED + 1, 100, INT_MAX, INT_MIN };
	static const int bad_zeek[] = { -1, NETMOON_ZEEK_SHR + 1, 100, INT_MAX, INT_MIN };

	(void)state;
	for (int s = NETMOON_CONN_SYN_SENT; s <= NETMOON_CONN_EXPIRED; s++) {
		const char *n = netmoon_conn_state_str(s);

		assert_non_null(n);
		if (!*n || strcmp(n, "UNKNOWN") == 0)
			fail_msg("state %d has no name", s);
		for (int j = NETMOON_CONN_SYN_SENT; j < s; j++)
			assert_string_not_equal(n, netmoon_conn_state_str(j));
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_string_equal(netmoon_conn_state_str(bad[i]), "UNKNOWN");
	for (int s = NETMOON_ZEEK_OTH; s <= NETMOON_ZEEK_SHR; s++) {
		const char *n = netmoon_conn_zeek_state_str(s);

		assert_non_null(n);
		assert_true(*n);
		for (int j = NETMOON_ZEEK_OTH; j < s; j++)
			assert_string_not_equal(n, netmoon_conn_zeek_state_str(j));
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_zeek); i++)
		assert_string_equal(netmoon_conn_zeek_state_str(bad_zeek[i]), "OTH");
}

/* ------------------------------------------------------------------------ */
/* monitor.h                                                                 */

static struct netmoon_capture *open_sample(void)
{
	struct netmoon_capture *cap = NULL;

	assert_int_equal(netmoon_capture_open_mem(&cap, sample()->p, sample()->len, NULL), 0);
	return cap;
}

struct mon_try {
	struct netmoon_capture *cap;
};

static int try_monitor_opts(const void *opts, void *ctx)
{
	struct mon_try *t = ctx;
	struct netmoon_monitor *m = NULL;
	int r;

	r = netmoon_monitor_new(&m, t->cap, opts);
	if (r == 0)
		netmoon_monitor_free(m);
	else
		assert_null(m);
	return r;
}

static void test_monitor_new(void **state)
{
	struct netmoon_capture *cap = open_sample();
	struct netmoon_monitor *m;
	struct mon_try t = { cap };
	NETMOON_OPTS(netmoon_conntable_opts, bad_table, .max_conns = 0xffffffffu);
	struct netmoon_conntable_hooks bad_hooks;
	struct {
		const char *what;
		struct netmoon_monitor_opts o;
	} bad[] = {
		{ "threads -1", { .threads = -1 } },
		{ "threads 3", { .threads = 3 } },
		{ "threads INT_MIN", { .threads = INT_MIN } },
		{ "a bad table option", { .table = &bad_table } },
		{ "a hooks struct with sz 0", { .hooks = &bad_hooks } },
	};

	(void)state;
	memset(&bad_hooks, 0, sizeof(bad_hooks));
	assert_int_equal(netmoon_monitor_new(NULL, cap, NULL), -EINVAL);
	m = (struct netmoon_monitor *)(uintptr_t)0x10;
	assert_int_equal(netmoon_monitor_new(&m, NULL, NULL), -EINVAL);
	assert_null(m);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int r;

		bad[i].o.sz = sizeof(bad[i].o);
		m = NULL;
		r = netmoon_monitor_new(&m, cap, &bad[i].o);
		if (r != -EINVAL)
			fail_msg("monitor_new with %s: got %d, want -EINVAL", bad[i].what, r);
		assert_null(m);
	}
	check_opts_struct("netmoon_monitor_new", sizeof(struct netmoon_monitor_opts),
			  try_monitor_opts, &t, true);
	netmoon_monitor_free(NULL);
	netmoon_capture_close(cap);
}

static int get_monitor_stats(void *st, void *ctx)
{
	return netmoon_monitor_get_stats(ctx, st);
}

struct snap_try {
	struct netmoon_snapshot *s;
	int64_t now;
};

static int get_snapshot_stats(void *st, void *ctx)
{
	struct snap_try *t = ctx;

	return netmoon_snapshot_get_stats(t->s, st, &t->now);
}

static void test_monitor_calls(void **state)
{
	struct netmoon_capture *cap = open_sample();
	struct netmoon_monitor *m = NULL;
	struct netmoon_snapshot *s;
	struct netmoon_monitor_stats st;
	struct snap_try t;
	int64_t now = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	/* NULL monitor. */
	assert_int_equal(netmoon_monitor_run(NULL, 0), -EINVAL);
	netmoon_monitor_stop(NULL);
	assert_true(netmoon_monitor_flush(NULL) == -EINVAL);
	assert_int_equal(netmoon_monitor_get_stats(NULL, &st), -EINVAL);
	s = (struct netmoon_snapshot *)(uintptr_t)0x10;
	assert_int_equal(netmoon_monitor_snapshot(NULL, &s), -EINVAL);
	assert_null(s);

	assert_int_equal(netmoon_monitor_new(&m, cap, NULL), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, NULL), -EINVAL);
	assert_int_equal(netmoon_monitor_snapshot(m, NULL), -EINVAL);
	check_out_struct("netmoon_monitor_get_stats", sizeof(struct netmoon_monitor_stats),
			 get_monitor_stats, m);
	/* A stop() before run(): it returns at once or after the packets, never hangs. */
	netmoon_monitor_stop(m);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_true(st.packets <= 10);
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_int_equal(st.packets, 10);
	assert_int_equal(st.table.active, 10);

	/* Snapshots: NULL, indexes out of range, output structs. */
	assert_int_equal(netmoon_snapshot_count(NULL), 0);
	assert_null(netmoon_snapshot_conn(NULL, 0));
	assert_null(netmoon_snapshot_conn(NULL, SIZE_MAX));
	assert_int_equal(netmoon_snapshot_get_stats(NULL, &st, &now), -EINVAL);
	netmoon_snapshot_free(NULL);
	assert_int_equal(netmoon_monitor_snapshot(m, &s), 0);
	assert_int_equal(netmoon_snapshot_count(s), 10);
	for (size_t i = 0; i < 10; i++) {
		NETMOON_OPTS(netmoon_conn_info, info);

		assert_non_null(netmoon_snapshot_conn(s, i));
		assert_int_equal(netmoon_conn_get_info(netmoon_snapshot_conn(s, i), &info), 0);
	}
	assert_null(netmoon_snapshot_conn(s, 10));
	assert_null(netmoon_snapshot_conn(s, SIZE_MAX));
	assert_int_equal(netmoon_snapshot_get_stats(s, NULL, &now), -EINVAL);
	assert_int_equal(netmoon_snapshot_get_stats(s, &st, NULL), 0);
	assert_int_equal(st.table.active, 10);
	t.s = s;
	check_out_struct("netmoon_snapshot_get_stats", sizeof(struct netmoon_monitor_stats),
			 get_snapshot_stats, &t);
	assert_true(netmoon_conn_get_info(netmoon_snapshot_conn(s, 0), NULL) == -EINVAL);
	netmoon_snapshot_free(s);

	assert_true(netmoon_monitor_flush(m) == 10);
	assert_true(netmoon_monitor_flush(m) == 0);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
}

/* on_packet: fails, stops, or calls back into the monitor. */
struct mon_ctx {
	struct netmoon_monitor *m;
	int calls;
	int fail_at;
	int ret;
	int stop_at;
	bool reenter;
	int r_run, r_flush, r_stats, r_snap;
	size_t snap_count;
};

static int mon_on_packet(const struct netmoon_packet *pkt, void *user)
{
	struct mon_ctx *c = user;

	assert_non_null(pkt);
	c->calls++;
	if (c->reenter) {
		struct netmoon_monitor_stats st;
		struct netmoon_snapshot *s = NULL;

		c->reenter = false;
		c->r_run = netmoon_monitor_run(c->m, 0);
		c->r_flush = (int)netmoon_monitor_flush(c->m);
		memset(&st, 0, sizeof(st));
		st.sz = sizeof(st);
		c->r_stats = netmoon_monitor_get_stats(c->m, &st);
		c->r_snap = netmoon_monitor_snapshot(c->m, &s);
		c->snap_count = netmoon_snapshot_count(s);
		netmoon_snapshot_free(s);
	}
	if (c->stop_at && c->calls == c->stop_at)
		netmoon_monitor_stop(c->m);
	return c->fail_at && c->calls == c->fail_at ? c->ret : 0;
}

static void monitor_consistent(struct netmoon_monitor *m)
{
	struct netmoon_monitor_stats st;
	struct netmoon_snapshot *s = NULL;

	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_int_equal(netmoon_monitor_snapshot(m, &s), 0);
	assert_int_equal(netmoon_snapshot_count(s), st.table.active);
	assert_true(st.table.active <= st.packets);
	assert_true(st.table.packets <= st.packets);
	netmoon_snapshot_free(s);
}

static void test_monitor_callbacks(void **state)
{
	struct netmoon_capture *cap = open_sample();
	struct netmoon_monitor *m = NULL;
	struct netmoon_monitor_stats st;
	struct mon_ctx c;
	NETMOON_OPTS(netmoon_monitor_opts, o, .on_packet = mon_on_packet, .user = &c);

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	assert_int_equal(netmoon_monitor_new(&m, cap, &o), 0);
	c.m = m;
	/* Calls back into the running monitor: run and flush are -EBUSY, reads work. */
	c.reenter = true;
	c.fail_at = 3;
	c.ret = -EIO;
	assert_int_equal(netmoon_monitor_run(m, 0), -EIO);
	assert_int_equal(c.calls, 3);
	assert_int_equal(c.r_run, -EBUSY);
	assert_int_equal(c.r_flush, -EBUSY);
	assert_int_equal(c.r_stats, 0);
	assert_int_equal(c.r_snap, 0);
	monitor_consistent(m);
	/* It runs again after the error, and stops when asked from the callback. */
	c.fail_at = 0;
	c.stop_at = 5;
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	assert_true(c.calls >= 5 && c.calls <= 10); /* "returns soon" */
	monitor_consistent(m);
	c.stop_at = 0;
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	monitor_consistent(m);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_true(st.packets >= 8 && st.packets <= 10);
	/* Not running any more: flush works. */
	assert_true(netmoon_monitor_flush(m) == (int64_t)st.table.active);
	monitor_consistent(m);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
}

static void test_monitor_hook_errors(void **state)
{
	struct netmoon_capture *cap = open_sample();
	struct netmoon_monitor *m = NULL;
	struct hook_ctx h;
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = on_new, .on_remove = on_remove);
	NETMOON_OPTS(netmoon_monitor_opts, o, .hooks = &hooks, .user = &h);

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ret = -EIO;
	h.new_fail_at = 4;
	assert_int_equal(netmoon_monitor_new(&m, cap, &o), 0);
	/* A hook's error ends run() with it; the table is consistent. */
	assert_int_equal(netmoon_monitor_run(m, 0), -EIO);
	monitor_consistent(m);
	h.new_fail_at = 0;
	assert_int_equal(netmoon_monitor_run(m, 0), 0);
	monitor_consistent(m);
	/* flush with on_remove failing: its error, the rest stay. */
	h.remove_fail_at = 2;
	assert_true(netmoon_monitor_flush(m) == -EIO);
	monitor_consistent(m);
	h.remove_fail_at = 0;
	assert_true(netmoon_monitor_flush(m) >= 0);
	monitor_consistent(m);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
}

/*
 * KNOWN BUG (monitor.c netmoon_monitor_run): max_packets is added to the
 * packets already read, and the sum wraps: after run(m, 2), run(m,
 * UINT64_MAX) computes a limit of 1 and returns at once, reading nothing.
 * Documented: it runs until the capture ends (or the limit, which a
 * uint64_t of packets never reaches).
 */
static void test_monitor_max_packets(void **state)
{
	struct netmoon_capture *cap = open_sample();
	struct netmoon_monitor *m = NULL;
	struct netmoon_monitor_stats st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	assert_int_equal(netmoon_monitor_new(&m, cap, NULL), 0);
	assert_int_equal(netmoon_monitor_run(m, 2), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	assert_int_equal(st.packets, 2);
	assert_int_equal(netmoon_monitor_run(m, UINT64_MAX), 0);
	assert_int_equal(netmoon_monitor_get_stats(m, &st), 0);
	netmoon_monitor_free(m);
	netmoon_capture_close(cap);
	if (st.packets != 10)
		fail_msg("KNOWN BUG: run(m, UINT64_MAX) after 2 packets read %" PRIu64
			 " packets in all, want 10 (max_packets wraps)",
			 st.packets);
}

/*
 * KNOWN BUG (monitor.c flush_batch): the table's hooks run with the
 * monitor's lock held, and netmoon_monitor_get_stats() and
 * netmoon_monitor_snapshot() take that lock: called from a hook (the thread
 * that runs the monitor) they deadlock.  Documented: both are "safe from any
 * thread while the monitor runs", and the header forbids hooks only to
 * modify the table.  The monitor runs in a thread here, so that a deadlock
 * fails this test after 3 s instead of hanging the suite (the stuck thread
 * and its monitor are then left behind).
 */
struct deadlock_ctx {
	struct netmoon_capture *cap;
	struct netmoon_monitor *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int run_ret, stats_ret, hook_calls;
};

static int stats_from_hook(const struct netmoon_conn *c, void *user)
{
	struct deadlock_ctx *d = user;
	struct netmoon_monitor_stats st;

	(void)c;
	memset(&st, 0, sizeof(st));
	st.sz = sizeof(st);
	d->hook_calls++;
	if (d->hook_calls == 1)
		d->stats_ret = netmoon_monitor_get_stats(d->m, &st);
	return 0;
}

static void *deadlock_run(void *arg)
{
	struct deadlock_ctx *d = arg;
	int r = netmoon_monitor_run(d->m, 0);

	pthread_mutex_lock(&d->mu);
	d->run_ret = r;
	d->done = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void test_monitor_hook_reads_stats(void **state)
{
	static struct deadlock_ctx d; /* static: a stuck thread may still use it */
	NETMOON_OPTS(netmoon_conntable_hooks, hooks, .on_new = stats_from_hook);
	NETMOON_OPTS(netmoon_monitor_opts, o, .hooks = &hooks, .user = &d);
	struct timespec dl;
	pthread_t th;
	bool done;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.stats_ret = 1;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	d.cap = open_sample();
	assert_int_equal(netmoon_monitor_new(&d.m, d.cap, &o), 0);
	assert_int_equal(pthread_create(&th, NULL, deadlock_run, &d), 0);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	pthread_mutex_lock(&d.mu);
	while (!d.done)
		if (pthread_cond_timedwait(&d.cv, &d.mu, &dl) != 0)
			break;
	done = d.done;
	pthread_mutex_unlock(&d.mu);
	if (!done) {
		pthread_detach(th);
		fail_msg("KNOWN BUG: netmoon_monitor_get_stats() from a table hook deadlocks "
			 "(monitor.c holds m->mu while the hooks run)");
	}
	pthread_join(th, NULL);
	assert_int_equal(d.run_ret, 0);
	assert_int_equal(d.stats_ret, 0);
	assert_int_equal(d.hook_calls, 10);
	netmoon_monitor_free(d.m);
	netmoon_capture_close(d.cap);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
}

/* ------------------------------------------------------------------------ */
/* writer.h                                                                  */

static int try_writer_opts(const void *opts, void *ctx)
{
	struct netmoon_writer *w = NULL;
	int r;

	(void)ctx;
	r = netmoon_writer_open(&w, tmp_path("opts.pcap"), opts);
	if (r == 0)
		r = netmoon_writer_close(w);
	return r;
}

static int try_writer_err_opts(const void *opts, void *ctx)
{
	struct netmoon_writer *w = NULL;
	char err[256] = "";
	int r;

	(void)ctx;
	r = netmoon_writer_open_err(&w, tmp_path("opts.pcap"), opts, err, sizeof(err));
	if (r == 0)
		r = netmoon_writer_close(w);
	else if (!err[0])
		fail_msg("netmoon_writer_open_err failed (%d) without a message", r);
	return r;
}

static void test_writer_open(void **state)
{
	struct netmoon_writer *const sentinel = (struct netmoon_writer *)(uintptr_t)0x10;
	struct netmoon_writer *w;
	char err[256], path[512];
	struct {
		const char *what;
		struct netmoon_writer_opts o;
	} bad[] = {
		{ "format 3", { .format = 3 } },
		{ "format -1", { .format = -1 } },
		{ "format INT_MIN", { .format = INT_MIN } },
		{ "linktype 65536", { .linktype = 65536 } },
		{ "linktype 0xffffffff", { .linktype = 0xffffffffu } },
		{ "snaplen 16 MiB - 63", { .snaplen = (16u << 20) - 63 } },
		{ "snaplen 0xffffffff", { .snaplen = 0xffffffffu } },
		{ "pcapng, linktype 65536", { .format = NETMOON_WRITER_PCAPNG, .linktype = 65536 } },
	};

	(void)state;
	snprintf(path, sizeof(path), "%s", tmp_path("w.pcap"));
	assert_int_equal(netmoon_writer_open(NULL, path, NULL), -EINVAL);
	w = sentinel;
	assert_int_equal(netmoon_writer_open(&w, NULL, NULL), -EINVAL);
	assert_ptr_equal(w, sentinel);
	memset(err, 0, sizeof(err));
	assert_int_equal(netmoon_writer_open_err(&w, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_writer_open_err(NULL, path, NULL, err, 0), -EINVAL);
	assert_int_equal((unsigned char)err[0], 0x5a);
	assert_int_equal(netmoon_writer_open_err(NULL, NULL, NULL, NULL, 100), -EINVAL);
	assert_ptr_equal(w, sentinel);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int r;

		bad[i].o.sz = sizeof(bad[i].o);
		memset(err, 0, sizeof(err));
		r = netmoon_writer_open_err(&w, path, &bad[i].o, err, sizeof(err));
		if (r != -EINVAL)
			fail_msg("writer_open with %s: got %d, want -EINVAL", bad[i].what, r);
		assert_true(err[0] != '\0');
		assert_ptr_equal(w, sentinel);
	}
	/* Errors of open(2): a missing directory, a directory, an empty name. */
	assert_int_equal(netmoon_writer_open(&w, tmp_path("no/such/dir.pcap"), NULL), -ENOENT);
	assert_int_equal(netmoon_writer_open(&w, tmpdir, NULL), -EISDIR);
	assert_int_equal(netmoon_writer_open(&w, "", NULL), -ENOENT);
	memset(err, 0, sizeof(err));
	assert_int_equal(netmoon_writer_open_err(&w, tmpdir, NULL, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, tmpdir));
	assert_ptr_equal(w, sentinel);
	check_opts_struct("netmoon_writer_open", sizeof(struct netmoon_writer_opts),
			  try_writer_opts, NULL, true);
	check_opts_struct("netmoon_writer_open_err", sizeof(struct netmoon_writer_opts),
			  try_writer_err_opts, NULL, true);
	/* errbuf is left untouched on success. */
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_writer_open_err(&w, path, NULL, err, sizeof(err)), 0);
	assert_int_equal((unsigned char)err[0], 0x5a);
	assert_int_equal(netmoon_writer_close(w), 0);
	unlink(path);
	unlink(tmp_path("opts.pcap"));
}

static struct netmoon_packet packet(const uint8_t *data, uint32_t len, uint32_t linktype,
				    uint32_t ifindex)
{
	struct netmoon_packet p;

	memset(&p, 0, sizeof(p));
	p.sz = sizeof(p);
	p.data = data;
	p.caplen = len;
	p.wirelen = len;
	p.ts_ns = T0;
	p.linktype = linktype;
	p.ifindex = ifindex;
	return p;
}

static uint64_t count_packets(const char *path)
{
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *pkt;
	uint64_t n = 0;
	int r;

	assert_int_equal(netmoon_capture_open_file(&cap, path, NULL), 0);
	while ((r = netmoon_capture_next(cap, &pkt)) == 1)
		n++;
	assert_int_equal(r, 0);
	netmoon_capture_close(cap);
	return n;
}

static void test_writer_calls(void **state)
{
	struct netmoon_writer *w = NULL;
	uint8_t frame[128];
	uint32_t n = (uint32_t)mk_packet(frame, 1, 0, 17, 0);
	struct netmoon_packet p = packet(frame, n, NETMOON_LINKTYPE_ETHERNET, 0);
	char err[256], path[512];

	(void)state;
	/* NULL writer. */
	assert_int_equal(netmoon_writer_write(NULL, &p), -EINVAL);
	assert_int_equal(netmoon_writer_write(NULL, NULL), -EINVAL);
	assert_int_equal(netmoon_writer_set_stats(NULL, 1, 2), -EINVAL);
	assert_int_equal(netmoon_writer_flush(NULL), -EINVAL);
	assert_non_null(netmoon_writer_errmsg(NULL));
	assert_string_equal(netmoon_writer_errmsg(NULL), "");
	assert_int_equal(netmoon_writer_close(NULL), 0);
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_writer_close_err(NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(netmoon_writer_close_err(NULL, NULL, 10), 0);

	/* pcap: refused packets leave no trace and the writer goes on. */
	snprintf(path, sizeof(path), "%s", tmp_path("lt.pcap"));
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	assert_string_equal(netmoon_writer_errmsg(w), "");
	assert_int_equal(netmoon_writer_write(w, NULL), -EINVAL);
	{
		struct netmoon_packet q = packet(NULL, 10, NETMOON_LINKTYPE_ETHERNET, 0);

		assert_int_equal(netmoon_writer_write(w, &q), -EINVAL);
		q.linktype = 65536;
		q.data = frame;
		assert_int_equal(netmoon_writer_write(w, &q), NETMOON_E_LINKTYPE);
		q.linktype = 0xffffffffu;
		assert_int_equal(netmoon_writer_write(w, &q), NETMOON_E_LINKTYPE);
		assert_true(netmoon_writer_errmsg(w)[0] != '\0');
	}
	assert_int_equal(netmoon_writer_write(w, &p), 0); /* the file's link type: Ethernet */
	{
		struct netmoon_packet q = packet(frame, n, NETMOON_LINKTYPE_LINUX_SLL, 0);

		assert_int_equal(netmoon_writer_write(w, &q), NETMOON_E_LINKTYPE);
	}
	/* sz and number are not read: a packet with sz 0 is written. */
	p.sz = 0;
	p.number = UINT64_MAX;
	assert_int_equal(netmoon_writer_write(w, &p), 0);
	p.sz = sizeof(p);
	/* Empty packets, time stamps out of range, a caplen above the snaplen. */
	{
		struct netmoon_packet q = packet(NULL, 0, NETMOON_LINKTYPE_ETHERNET, 0);

		assert_int_equal(netmoon_writer_write(w, &q), 0);
		q = packet(frame, n, NETMOON_LINKTYPE_ETHERNET, 7);
		q.ts_ns = INT64_MIN;
		assert_int_equal(netmoon_writer_write(w, &q), 0);
		q.ts_ns = INT64_MAX;
		q.wirelen = 0;
		assert_int_equal(netmoon_writer_write(w, &q), 0);
	}
	assert_int_equal(netmoon_writer_set_stats(w, UINT64_MAX, UINT64_MAX), 0); /* pcap: ignored */
	assert_int_equal(netmoon_writer_flush(w), 0);
	assert_int_equal(netmoon_writer_flush(w), 0);
	memset(err, 0x5a, sizeof(err));
	assert_int_equal(netmoon_writer_close_err(w, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(count_packets(path), 5);
	unlink(path);
}

static void test_writer_interfaces(void **state)
{
	struct netmoon_writer *w = NULL;
	uint8_t frame[128];
	uint32_t n = (uint32_t)mk_packet(frame, 1, 0, 17, 0);
	char path[512];
	uint64_t written = 0;

	(void)state;
	/* pcapng: 256 interfaces, then the 257th is -E2BIG and the writer goes on. */
	snprintf(path, sizeof(path), "%s", tmp_path("ifaces.pcapng"));
	assert_int_equal(netmoon_writer_open(&w, path, NULL), 0);
	for (uint32_t i = 0; i < 256; i++) {
		struct netmoon_packet p = packet(frame, n, NETMOON_LINKTYPE_ETHERNET, i);

		assert_int_equal(netmoon_writer_write(w, &p), 0);
		written++;
	}
	{
		struct netmoon_packet p = packet(frame, n, NETMOON_LINKTYPE_ETHERNET, 256);

		assert_int_equal(netmoon_writer_write(w, &p), -E2BIG);
		assert_true(netmoon_writer_errmsg(w)[0] != '\0');
		p.linktype = NETMOON_LINKTYPE_RAW;
		p.ifindex = 0;
		assert_int_equal(netmoon_writer_write(w, &p), -E2BIG);
		p.linktype = 70000;
		assert_int_equal(netmoon_writer_write(w, &p), NETMOON_E_LINKTYPE);
		p.linktype = NETMOON_LINKTYPE_ETHERNET;
		p.ifindex = 200;
		assert_int_equal(netmoon_writer_write(w, &p), 0);
		written++;
	}
	assert_int_equal(netmoon_writer_set_stats(w, 10, 1), 0);
	assert_int_equal(netmoon_writer_set_stats(w, UINT64_MAX, UINT64_MAX), 0);
	/* Refused packets are not errors of the file. */
	assert_int_equal(netmoon_writer_close(w), 0);
	assert_int_equal(count_packets(path), written);
	unlink(path);
}

/* A full disk: the writer fails for good, with the same error everywhere. */
static void test_writer_failed(void **state)
{
	struct netmoon_writer *w = NULL;
	uint8_t frame[128];
	uint32_t n = (uint32_t)mk_packet(frame, 1, 0, 17, 0);
	struct netmoon_packet p = packet(frame, n, NETMOON_LINKTYPE_ETHERNET, 0);
	NETMOON_OPTS(netmoon_writer_opts, o, .format = NETMOON_WRITER_PCAPNG, .buffer_size = 64);
	char err[256];
	int r = 0;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	assert_int_equal(netmoon_writer_open(&w, "/dev/full", &o), 0);
	for (int i = 0; i < 10 && r == 0; i++)
		r = netmoon_writer_write(w, &p);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(netmoon_writer_write(w, &p), -ENOSPC);
	assert_int_equal(netmoon_writer_flush(w), -ENOSPC);
	assert_int_equal(netmoon_writer_set_stats(w, 1, 1), -ENOSPC);
	/* Refusals are still reported as the failure: the writer is failed for good. */
	{
		struct netmoon_packet q = packet(NULL, 10, NETMOON_LINKTYPE_ETHERNET, 0);

		assert_true(netmoon_writer_write(w, &q) < 0);
	}
	assert_non_null(strstr(netmoon_writer_errmsg(w), "/dev/full"));
	memset(err, 0, sizeof(err));
	assert_int_equal(netmoon_writer_close_err(w, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "/dev/full"));
	/* A buffer of 1 byte: every header goes out at once, and fails at open. */
	o.buffer_size = 1;
	w = NULL;
	memset(err, 0, sizeof(err));
	assert_int_equal(netmoon_writer_open_err(&w, "/dev/full", &o, err, sizeof(err)), -ENOSPC);
	assert_null(w);
	assert_true(err[0] != '\0');
}

/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* filter.h  (draft: add with the netmoon_filter_* rows once they are in the map) */

static void test_filter(void **state)
{
	struct netmoon_filter *const sentinel = (struct netmoon_filter *)(uintptr_t)0x10;
	struct netmoon_filter *f = sentinel;
	uint8_t pkt[128];
	uint32_t n = (uint32_t)mk_packet(pkt, 1, 0, 17, 0);
	char err[256], dump[64];
	size_t count;
	static const char *const bad_expr[] = { "port", "port 70000", "host 1.2.3.4.5",
						"tcp and", "(", ")", "udp port 53 or",
						"\x01\x02", "len > > 3" };

	(void)state;
	/* compile: NULL arguments, bad expressions, unknown link types. */
	assert_int_equal(netmoon_filter_compile(NULL, "udp", NETMOON_LINKTYPE_ETHERNET, 0, NULL, 0),
			 -EINVAL);
	/* NULL and empty expressions accept everything (documented). */
	assert_int_equal(netmoon_filter_compile(&f, NULL, NETMOON_LINKTYPE_ETHERNET, 0, NULL, 0), 0);
	assert_int_equal(netmoon_filter_match(f, pkt, n, n), 1);
	netmoon_filter_free(f);
	f = sentinel;
	assert_int_equal(netmoon_filter_compile(&f, " \t", NETMOON_LINKTYPE_ETHERNET, 0, NULL, 0), 0);
	netmoon_filter_free(f);
	f = sentinel;
	for (size_t i = 0; i < ARRAY_LEN(bad_expr); i++) {
		int r;

		memset(err, 0, sizeof(err));
		r = netmoon_filter_compile(&f, bad_expr[i], NETMOON_LINKTYPE_ETHERNET, 0, err,
					   sizeof(err));
		if (r != -EINVAL)
			fail_msg("filter \"%s\": got %d, want -EINVAL", bad_expr[i], r);
		assert_true(err[0] != '\0');
		memset(err, 0x5a, sizeof(err));
		assert_int_equal(netmoon_filter_compile(&f, bad_expr[i], NETMOON_LINKTYPE_ETHERNET,
							0, err, 0),
				 -EINVAL);
		assert_int_equal((unsigned char)err[0], 0x5a);
	}
	assert_int_equal(netmoon_filter_compile(&f, "udp", 2, 0, NULL, 0), NETMOON_E_LINKTYPE);
	assert_int_equal(netmoon_filter_compile(&f, "udp", 0xffffffffu, 0, NULL, 0),
			 NETMOON_E_LINKTYPE);
	/* The NULL filter everywhere. */
	assert_int_equal(netmoon_filter_match(NULL, pkt, n, n), -EINVAL);
	assert_int_equal(netmoon_filter_insn_count(NULL), 0);
	count = 16;
	assert_int_equal(netmoon_filter_get_bpf(NULL, NULL, &count), -EINVAL);
	assert_int_equal(netmoon_filter_dump(NULL, dump, sizeof(dump)), -EINVAL);
	netmoon_filter_free(NULL);

	f = NULL;
	assert_int_equal(netmoon_filter_compile(&f, "udp port 53", NETMOON_LINKTYPE_ETHERNET, 0,
						NULL, 0),
			 0);
	assert_non_null(f);
	/* match: NULL data with bytes claimed, short packets, caplen 0: never a crash. */
	assert_int_equal(netmoon_filter_match(f, NULL, n, n), -EINVAL);
	assert_int_equal(netmoon_filter_match(f, pkt, n, n), 1);
	for (uint32_t len = 0; len < n; len++) {
		uint8_t *d = malloc(len ? len : 1);

		assert_non_null(d);
		memcpy(d, pkt, len);
		/* Accepted once the bytes the program reads are there (the
		 * UDP ports end at 14 + 20 + 4), rejected before: never a read past. */
		assert_int_equal(netmoon_filter_match(f, d, len, n), len >= 38 ? 1 : 0);
		free(d);
	}
	/* get_bpf: NULL count, too small an array, the count query. */
	assert_int_equal(netmoon_filter_get_bpf(f, NULL, NULL), -EINVAL);
	count = 0;
	assert_int_equal(netmoon_filter_get_bpf(f, NULL, &count), 0);
	assert_int_equal(count, netmoon_filter_insn_count(f));
	assert_true(count >= 1 && count <= NETMOON_FILTER_MAX_INSNS);
	{
		struct netmoon_bpf_insn *insns = calloc(count + 1, sizeof(*insns));
		size_t room = count - 1;

		assert_non_null(insns);
		memset(insns, 0xa5, (count + 1) * sizeof(*insns));
		assert_int_equal(netmoon_filter_get_bpf(f, insns, &room), -ENOSPC);
		assert_int_equal(room, count);
		for (size_t i = 0; i < (count + 1) * sizeof(*insns); i++)
			assert_int_equal(((unsigned char *)insns)[i], 0xa5); /* nothing copied */
		free(insns);
	}
	/* dump: NULL buffer with len 0, truncation. */
	{
		int full = netmoon_filter_dump(f, NULL, 0);

		assert_true(full > 0);
		memset(dump, 0x5a, sizeof(dump));
		assert_int_equal(netmoon_filter_dump(f, dump, 1), full);
		assert_int_equal(dump[0], '\0');
		assert_int_equal((unsigned char)dump[1], 0x5a);
		assert_int_equal(netmoon_filter_dump(f, dump, sizeof(dump)), full);
		assert_non_null(memchr(dump, '\0', sizeof(dump)));
	}
	netmoon_filter_free(f);
}


/* netmoon_capture_set_filter(): NULL handle, wrong link type, remove, file filtering. */
static void test_capture_set_filter(void **state)
{
	struct netmoon_filter *udp = NULL, *raw = NULL;
	struct netmoon_capture *cap = NULL;
	const struct netmoon_packet *p;
	NETMOON_OPTS(netmoon_capture_stats, st);
	uint8_t file[24 + 2 * (16 + 128)];
	size_t len = 0;
	uint8_t pkt[128];
	size_t n;

	(void)state;
	assert_int_equal(netmoon_filter_compile(&udp, "udp", NETMOON_LINKTYPE_ETHERNET, 0, NULL, 0),
			 0);
	assert_int_equal(netmoon_filter_compile(&raw, "udp", NETMOON_LINKTYPE_RAW, 0, NULL, 0), 0);
	assert_int_equal(netmoon_capture_set_filter(NULL, udp), -EINVAL);
	assert_int_equal(netmoon_capture_set_filter(NULL, NULL), -EINVAL);
	/* A pcap in memory: one UDP packet, one TCP packet, Ethernet. */
	{
		static const uint8_t hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
						 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0 };

		memcpy(file, hdr, sizeof(hdr));
		len = sizeof(hdr);
		for (int i = 0; i < 2; i++) {
			uint32_t rec[4];

			n = mk_packet(pkt, 1, 0, i ? 6 : 17, 0);
			rec[0] = 1;
			rec[1] = (uint32_t)i;
			rec[2] = rec[3] = (uint32_t)n;
			memcpy(file + len, rec, sizeof(rec));
			memcpy(file + len + 16, pkt, n);
			len += 16 + n;
		}
	}
	assert_int_equal(netmoon_capture_open_mem(&cap, file, len, NULL), 0);
	assert_int_equal(netmoon_capture_set_filter(cap, raw), NETMOON_E_LINKTYPE);
	assert_int_equal(netmoon_capture_set_filter(cap, udp), 0); /* a file: user space */
	assert_int_equal(netmoon_capture_next(cap, &p), 1);
	assert_int_equal(p->number, 1);
	assert_int_equal(netmoon_capture_next(cap, &p), 0); /* the TCP packet is filtered out */
	assert_int_equal(netmoon_capture_get_stats(cap, &st), 0);
	assert_int_equal(st.filtered, 1);
	assert_int_equal(st.packets, 1);
	assert_int_equal(netmoon_capture_set_filter(cap, NULL), 0);
	netmoon_capture_close(cap);
	netmoon_filter_free(udp);
	netmoon_filter_free(raw);
}
/* The table of covered functions, and the check against the version script  */

struct cover {
	const char *name;     /* exported function */
	void (*fn)(void);     /* its address: the row does not compile without it */
	CMUnitTestFunction test;
	const char *test_name;
};

#define COVER(f, t) { #f, (void (*)(void))(f), t, #t }

static const struct cover cover[] = {
	COVER(netmoon_strerror, test_strerror),
	COVER(netmoon_version, test_version),
	COVER(netmoon_version_string, test_version),

	COVER(netmoon_frame_parse, test_frame_parse),
	COVER(netmoon_frame_reason_str, test_frame_reason_str),

	COVER(netmoon_capture_open_file, test_capture_open),
	COVER(netmoon_capture_open_err, test_capture_open),
	COVER(netmoon_capture_open_mem, test_capture_open),
	COVER(netmoon_capture_open_live, test_capture_open_live),
	COVER(netmoon_capture_set_filter, test_capture_set_filter),
	COVER(netmoon_filter_compile, test_filter),
	COVER(netmoon_filter_match, test_filter),
	COVER(netmoon_filter_insn_count, test_filter),
	COVER(netmoon_filter_get_bpf, test_filter),
	COVER(netmoon_filter_dump, test_filter),
	COVER(netmoon_filter_free, test_filter),
	COVER(netmoon_capture_next, test_capture_handle),
	COVER(netmoon_capture_next_frame, test_capture_handle),
	COVER(netmoon_capture_loop, test_capture_handle),
	COVER(netmoon_capture_breakloop, test_capture_handle),
	COVER(netmoon_capture_linktype, test_capture_handle),
	COVER(netmoon_capture_get_stats, test_capture_handle),
	COVER(netmoon_capture_errmsg, test_capture_handle),
	COVER(netmoon_capture_close, test_capture_handle),

	COVER(netmoon_conntable_new, test_conntable_new),
	COVER(netmoon_conntable_free, test_conntable_new),
	COVER(netmoon_conntable_track, test_conntable_calls),
	COVER(netmoon_conntable_track_burst, test_conntable_calls),
	COVER(netmoon_conntable_expire, test_conntable_calls),
	COVER(netmoon_conntable_flush, test_conntable_calls),
	COVER(netmoon_conntable_next, test_conntable_calls),
	COVER(netmoon_conntable_get_stats, test_conntable_calls),
	COVER(netmoon_conn_get_info, test_conntable_calls),
	COVER(netmoon_conntable_foreach, test_conntable_foreach_stops),
	COVER(netmoon_conntable_set_hooks, test_conntable_set_hooks),
	COVER(netmoon_conntable_track, test_conntable_hook_errors_track),
	COVER(netmoon_conntable_track_burst, test_conntable_hook_errors_track),
	COVER(netmoon_conntable_expire, test_conntable_hook_errors_expire),
	COVER(netmoon_conntable_flush, test_conntable_hook_errors_flush),
	COVER(netmoon_conntable_track, test_conntable_garbage_frames),
	COVER(netmoon_conn_state_str, test_conn_state_strings),
	COVER(netmoon_conn_zeek_state_str, test_conn_state_strings),

	COVER(netmoon_monitor_new, test_monitor_new),
	COVER(netmoon_monitor_free, test_monitor_new),
	COVER(netmoon_monitor_run, test_monitor_calls),
	COVER(netmoon_monitor_stop, test_monitor_calls),
	COVER(netmoon_monitor_flush, test_monitor_calls),
	COVER(netmoon_monitor_get_stats, test_monitor_calls),
	COVER(netmoon_monitor_snapshot, test_monitor_calls),
	COVER(netmoon_snapshot_count, test_monitor_calls),
	COVER(netmoon_snapshot_conn, test_monitor_calls),
	COVER(netmoon_snapshot_get_stats, test_monitor_calls),
	COVER(netmoon_snapshot_free, test_monitor_calls),
	COVER(netmoon_monitor_run, test_monitor_callbacks),
	COVER(netmoon_monitor_run, test_monitor_hook_errors),
	COVER(netmoon_monitor_run, test_monitor_max_packets),
	COVER(netmoon_monitor_get_stats, test_monitor_hook_reads_stats),

	COVER(netmoon_writer_open, test_writer_open),
	COVER(netmoon_writer_open_err, test_writer_open),
	COVER(netmoon_writer_write, test_writer_calls),
	COVER(netmoon_writer_set_stats, test_writer_calls),
	COVER(netmoon_writer_flush, test_writer_calls),
	COVER(netmoon_writer_errmsg, test_writer_calls),
	COVER(netmoon_writer_close, test_writer_calls),
	COVER(netmoon_writer_close_err, test_writer_calls),
	COVER(netmoon_writer_write, test_writer_interfaces),
	COVER(netmoon_writer_write, test_writer_failed),

	/* Last: a build with -fno-sanitize-recover stops at its known undefined behaviour. */
	COVER(netmoon_conntable_track, test_conntable_extreme_timestamps),
};

static bool covered(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(cover); i++)
		if (strcmp(cover[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Names of the version script's global symbols: lines such as
 * "\t\tnetmoon_capture_next;" (any leading white space).  Returns the count.
 */
static size_t map_symbols(char *map, char **names, size_t max)
{
	size_t n = 0;

	for (char *line = strtok(map, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = line, *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "netmoon_", 8) != 0)
			continue;
		end = p;
		while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
		       (*end >= '0' && *end <= '9') || *end == '_')
			end++;
		if (*end != ';')
			continue;
		*end = '\0';
		if (n < max)
			names[n] = p;
		n++;
	}
	return n;
}

static void test_every_export_has_a_misuse_test(void **state)
{
	char *map = read_src_file("libnetmoon/libnetmoon.map");
	char *names[1024];
	char missing[8192] = "", stale[4096] = "";
	size_t n;

	(void)state;
	if (!map)
		fail_msg("cannot read %s/libnetmoon/libnetmoon.map (run from the repository root "
			 "or set NETMOON_SRCDIR)",
			 srcdir());
	n = map_symbols(map, names, ARRAY_LEN(names));
	assert_true(n > 0 && n <= ARRAY_LEN(names));
	for (size_t i = 0; i < n; i++) {
		if (!covered(names[i])) {
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, names[i], sizeof(missing) - strlen(missing) - 1);
		}
	}
	/* A row for a function the map does not export is a typo or a removed export. */
	for (size_t i = 0; i < ARRAY_LEN(cover); i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = strcmp(names[j], cover[i].name) == 0;
		if (!found && !strstr(stale, cover[i].name)) {
			strncat(stale, " ", sizeof(stale) - strlen(stale) - 1);
			strncat(stale, cover[i].name, sizeof(stale) - strlen(stale) - 1);
		}
	}
	free(map);
	if (missing[0] || stale[0])
		fail_msg("exported in libnetmoon.map without a misuse test in tests/test_api.c:%s%s"
			 "\ncovered by tests/test_api.c but not exported by libnetmoon.map:%s%s",
			 missing[0] ? "" : " (none)", missing, stale[0] ? "" : " (none)", stale);
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_LEN(cover) + 1];
	size_t n = 0;
	int r;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_export_has_a_misuse_test);
	for (size_t i = 0; i < ARRAY_LEN(cover); i++) {
		bool dup = false;

		for (size_t j = 1; j < n && !dup; j++)
			dup = tests[j].test_func == cover[i].test;
		if (dup)
			continue;
		memset(&tests[n], 0, sizeof(tests[n]));
		tests[n].name = cover[i].test_name;
		tests[n].test_func = cover[i].test;
		n++;
	}
	r = _cmocka_run_group_tests("api", tests, n, NULL, NULL);
	free(sample10.p);
	tmp_cleanup();
	return r;
}
