/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Corpus agreement: netmoon-csv against tshark's oracles.
 *
 * For every capture listed in the shared corpus' MANIFEST.tsv, run
 * "$NETMOON_BUILD/bin/netmoon-csv -r FILE" and compare its rows with what
 * tshark 4.0 printed for the same file (FILE.tshark-fields.tsv, see the
 * corpus README.md):
 *
 *  - TCP and UDP flows keyed by proto and the unordered pair of addr:port
 *    endpoints (VLANs ignored: tshark ignores them too): the same set of
 *    flows, and per flow the same packets and wire bytes (frame.len);
 *  - per flow, the set of distinct tcp.analysis.initial_rtt values equals
 *    the set of our handshake_rtt_us values, in integer nanoseconds;
 *  - every file: never a signal, exit status 0 (2 allowed, with a one-line
 *    message, for files tshark itself rejects or finds cut short), a
 *    header equal to the DESIGN.md column list, and rows that parse.
 *
 * Reading of the oracle (decided from the README):
 *  - Frames with ports in tcp.srcport/udp.srcport count for their flow.
 *  - Frames with more than one IP header whose outer protocol is ICMP or
 *    ICMPv6 are ICMP errors quoting the offending header: tshark's
 *    conversation tables do not count the quoted header, and neither do
 *    we (they are ICMP traffic, not TCP/UDP).  Any other multi-header frame
 *    (a tunnel) has no agreed reading yet and fails the file loudly.
 *  - A TCP frame with ports but no tcp.len is one whose header tshark found
 *    cut short or bogus: it stops before its conversation tap, so its
 *    conversation table does not count the frame; neither do we.  (Its
 *    initial_rtt rule still takes a SYN from such a frame; where that
 *    matters the RTTs are compared with the rule applied without them.)
 *  - tshark reassembles IP fragments, merges VLAN copies of a connection,
 *    ...: the known_diffs table lists each file where its view differs by
 *    design from ours, with the reason and what is compared instead.
 *  - tcp.analysis.initial_rtt is parsed as tshark prints it, "%d.%09d" of
 *    (secs, nsecs) without normalising, so "1.1147483649" is 2147483649 ns.
 *
 * One cmocka test per capture file, so that a failure names the file.  When
 * the corpus is absent every test is skipped with a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_FILES 256
#define MAX_REPORT 30            /* disagreement lines printed per file */
#define DEFAULT_TIMEOUT_S 300    /* per run; valgrind --trace-children is slow */
#define TSV_COLUMNS 21

/* DESIGN.md section 3, in order. */
static const char *const design_columns[] = {
	"ts_first", "ts_last", "proto", "ip_version", "vlan",
	"orig_addr", "orig_port", "resp_addr", "resp_port", "dir_guessed",
	"state", "conn_state", "history",
	"orig_pkts", "orig_bytes", "orig_ip_bytes", "orig_payload_bytes",
	"resp_pkts", "resp_bytes", "resp_ip_bytes", "resp_payload_bytes",
	"rtt_syn_us", "rtt_ack_us", "handshake_rtt_us",
};
#define NCOLS (sizeof(design_columns) / sizeof(design_columns[0]))

enum {
	C_TS_FIRST, C_TS_LAST, C_PROTO, C_IPVER, C_VLAN, C_OADDR, C_OPORT, C_RADDR,
	C_RPORT, C_DIRG, C_STATE, C_ZSTATE, C_HIST, C_OPKTS, C_OBYTES, C_OIPB, C_OPAY,
	C_RPKTS, C_RBYTES, C_RIPB, C_RPAY, C_RTT_SYN, C_RTT_ACK, C_RTT_HS,
};

/* Columns of FILE.tshark-fields.tsv (0-based). */
enum {
	T_NUM, T_EPOCH, T_LEN, T_ETYPE, T_VLAN, T_IPSRC, T_IPDST, T_IP6SRC, T_IP6DST,
	T_IPPROTO, T_IP6NXT, T_TSPORT, T_TDPORT, T_TFLAGS, T_TSEQ, T_TACK, T_TLEN,
	T_USPORT, T_UDPORT, T_IRTT, T_RETRANS,
};

/*
 * Known, explained differences between tshark's view and ours.  Every entry
 * changes how one file is compared, and the test prints the reason each
 * time it applies: nothing is skipped silently.  Numbers in the entries were
 * worked out by hand from tshark's own output with reassembly turned off
 * (tshark -o ip.defragment:FALSE -o ipv6.defragment:FALSE).
 */
enum diff_kind {
	/*
	 * tshark reassembles IPv4/IPv6 fragments and shows ports (and counts
	 * the conversation) only on the frame completing the datagram; the
	 * first fragment and the middle ones carry no ports in its output.
	 * libnetmoon attributes the first fragment by its own ports and the
	 * later ones through the first (when it saw it first).  So per flow
	 * our counts are >= tshark's, per address pair the surplus is at most
	 * tshark's port-less fragment frames of that pair, and over the file
	 * the surplus is exactly those frames minus the orphans: fragments
	 * whose first fragment is not in the capture, which nobody can
	 * attribute.
	 */
	D_FRAGMENTS = 1,
	/*
	 * The same TCP connection captured on several VLANs.  libnetmoon keys
	 * connections by VLAN (DESIGN.md section 1; netmoon-csv keeps the
	 * default), tshark merges the copies into one stream, so its
	 * initial_rtt runs from a SYN of one copy to an ACK of another.
	 * Packets and bytes per 4-tuple are still compared exactly (summed
	 * over VLANs); RTTs are compared with tshark's own rule (the most
	 * recent SYN without ACK to the first segment with ACK and without
	 * SYN, as in its packet-tcp.c) applied per VLAN to tshark's frames.
	 * The same rule applied without VLANs must reproduce tshark's
	 * initial_rtt column, which checks the emulation itself.
	 */
	D_VLAN_SPLIT = 2,
	/*
	 * UDP headers cut by the snap length right after the ports: tshark
	 * prints the ports but its conversation table does not count the
	 * frame (its tap runs only after the whole header), and libnetmoon
	 * does not track a UDP header it cannot complete.  tshark's UDP frames
	 * of such a file are not counted.
	 */
	D_UDP_CUT = 3,
};

struct known_diff {
	const char *file;
	enum diff_kind kind;
	const char *reason;
	uint64_t orphan_pkts, orphan_bytes; /* D_FRAGMENTS */
};

static const struct known_diff known_diffs[] = {
	{ "zeek__ipv4__fragmented-4.pcap", D_FRAGMENTS,
	  "tshark reassembles IPv4 fragments (ports on the completing frame only)", 0, 0 },
	/* Frame 4 (404 bytes) is a non-first fragment (offset 362, id 1)
	 * whose first fragment was never captured. */
	{ "zeek__ipv6-fragmented-dns.pcap", D_FRAGMENTS,
	  "tshark reassembles IPv6 fragments (ports on the completing frame only); "
	  "1 fragment's first fragment is not in the capture", 1, 404 },
	{ "zeek__dns-edns-ecs.pcap", D_FRAGMENTS,
	  "tshark reassembles IPv4 fragments of DNS/UDP responses", 0, 0 },
	/* Four trains of 313 fragments, all with IP ID 0xa0, each starting
	 * with an offset-0 fragment that holds 16 bytes of the TCP header;
	 * tshark completes each train on its last frame. */
	{ "ndpi__ip_fragmented_garbage.pcap", D_FRAGMENTS,
	  "tshark reassembles IPv4 fragments (4 trains reusing one IP ID)", 0, 0 },
	{ "ndpi__mongodb.pcap", D_VLAN_SPLIT,
	  "the same connections captured on two VLANs; tshark merges them into one stream", 0, 0 },
	{ "tcpdump__udp-length-heapoverflow.pcap", D_UDP_CUT,
	  "the UDP header is cut after its ports (caplen 38); tshark shows the ports but its "
	  "conversation table does not count the frame", 0, 0 },
};

enum file_kind {
	FILE_OK,        /* tshark read the whole file */
	FILE_REJECTED,  /* tshark refused the file (rc=2, no packets) */
	FILE_CUT_SHORT, /* tshark stopped at a record cut short: compare the complete ones */
};

struct corpus_file {
	char name[256];
	char path[PATH_MAX];
	enum file_kind kind;
	int fuzz;                 /* fuzz-derived or a crasher reproducer */
	const struct known_diff *diff;
	const char *prog;         /* netmoon-csv */
	const char *corpus;       /* NULL: corpus absent */
};

/* --- small utilities ---------------------------------------------------- */

struct vec {
	void *p;
	size_t n, cap, elsz;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *p = realloc(v->p, cap * v->elsz);

		assert_non_null(p);
		v->p = p;
		v->cap = cap;
	}
	void *e = (char *)v->p + v->n++ * v->elsz;

	memset(e, 0, v->elsz);
	return e;
}

static void vec_free(struct vec *v)
{
	free(v->p);
	v->p = NULL;
	v->n = v->cap = 0;
}

/* Whole file into a NUL-terminated buffer; NULL (errno set) on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 65536) {
			char *p = realloc(buf, cap + 65536 + 1);

			if (!p) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Split @s in place at @sep into at most @max fields; returns the count. */
static size_t split(char *s, char sep, char **fields, size_t max)
{
	size_t n = 0;

	for (;;) {
		char *e = strchr(s, sep);

		if (n < max)
			fields[n] = s;
		n++;
		if (!e)
			break;
		*e = '\0';
		s = e + 1;
	}
	return n;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/*
 * "[-]INT.FRAC" with exactly @decimals fraction digits, as the integer
 * INT * @mult_int + FRAC: seconds with 9 decimals and @mult_int 10^9 give
 * ns, microseconds with 3 decimals and @mult_int 1000 give ns too.  Exact
 * integer arithmetic, no floating point.
 *
 * With @nonnorm, FRAC may have more digits than @decimals: tshark prints
 * time differences as "%d.%09d" of (secs, nsecs) without normalising them,
 * so for captures with invalid fractions (nsecs >= 10^9) it writes e.g.
 * "1.1147483649" for 1 s + 1147483649 ns.
 */
static int parse_fixed(const char *s, unsigned decimals, int64_t mult_int, int nonnorm,
		       int64_t *out)
{
	int neg = 0;
	uint64_t ip = 0, fp = 0;
	unsigned nd = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (ip > (uint64_t)INT64_MAX / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*s - '0');
	}
	if (*s++ != '.')
		return -1;
	for (; *s >= '0' && *s <= '9' && nd < 18; s++, nd++)
		fp = fp * 10 + (uint64_t)(*s - '0');
	if (*s || nd < decimals || (nd > decimals && !nonnorm))
		return -1;
	if (ip > (uint64_t)INT64_MAX / (uint64_t)mult_int ||
	    fp > (uint64_t)INT64_MAX - ip * (uint64_t)mult_int)
		return -1;
	int64_t v = (int64_t)(ip * (uint64_t)mult_int + fp);

	*out = neg ? -v : v;
	return 0;
}

/* --- flow keys ---------------------------------------------------------- */

/* Unordered endpoint pair, smaller (addr, port) first.  No padding. */
struct key {
	uint8_t proto;   /* 6 or 17 */
	uint8_t family;  /* 4 or 6 */
	uint16_t port[2];
	uint8_t addr[2][16];
};

static int key_cmp(const struct key *a, const struct key *b)
{
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (int i = 0; i < 2; i++) {
		int c = memcmp(a->addr[i], b->addr[i], 16);

		if (c)
			return c;
		if (a->port[i] != b->port[i])
			return a->port[i] < b->port[i] ? -1 : 1;
	}
	return 0;
}

/* Address-pair part only (the group of a fragment). */
static int pair_cmp(const struct key *a, const struct key *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(a->addr[0], b->addr[0], 16);

	return c ? c : memcmp(a->addr[1], b->addr[1], 16);
}

static int make_key(struct key *k, unsigned proto, int family, const char *src,
		    const char *sport, const char *dst, const char *dport)
{
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	uint16_t pa = 0, pb = 0;
	int af = family == 6 ? AF_INET6 : AF_INET;

	memset(k, 0, sizeof(*k));
	if (inet_pton(af, src, a) != 1 || inet_pton(af, dst, b) != 1)
		return -1;
	if (sport && (parse_port(sport, &pa) || parse_port(dport, &pb)))
		return -1;
	k->proto = (uint8_t)proto;
	k->family = (uint8_t)family;
	int c = memcmp(a, b, 16);

	if (c < 0 || (c == 0 && pa <= pb)) {
		memcpy(k->addr[0], a, 16);
		memcpy(k->addr[1], b, 16);
		k->port[0] = pa;
		k->port[1] = pb;
	} else {
		memcpy(k->addr[0], b, 16);
		memcpy(k->addr[1], a, 16);
		k->port[0] = pb;
		k->port[1] = pa;
	}
	return 0;
}

static void key_str(const struct key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af = k->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, k->addr[0], a, sizeof(a));
	inet_ntop(af, k->addr[1], b, sizeof(b));
	if (k->family == 6)
		snprintf(buf, len, "%s [%s]:%u <-> [%s]:%u", k->proto == 6 ? "tcp" : "udp",
			 a, k->port[0], b, k->port[1]);
	else
		snprintf(buf, len, "%s %s:%u <-> %s:%u", k->proto == 6 ? "tcp" : "udp",
			 a, k->port[0], b, k->port[1]);
}

/* One contribution to a flow: a tshark frame or one of our rows. */
struct rec {
	struct key k;
	uint64_t pkts, bytes;
};

/* One (flow, RTT) pair. */
struct krtt {
	struct key k;
	int64_t ns;
};

static int rec_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct rec *)a)->k, &((const struct rec *)b)->k);
}

static int krtt_cmp(const void *a, const void *b)
{
	const struct krtt *x = a, *y = b;
	int c = key_cmp(&x->k, &y->k);

	if (c)
		return c;
	return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* Sort and sum records of equal keys in place. */
static void aggregate(struct vec *v)
{
	struct rec *r = v->p;
	size_t out = 0;

	if (!v->n)
		return;
	qsort(r, v->n, sizeof(*r), rec_cmp);
	for (size_t i = 1; i < v->n; i++) {
		if (key_cmp(&r[out].k, &r[i].k) == 0) {
			r[out].pkts += r[i].pkts;
			r[out].bytes += r[i].bytes;
		} else {
			r[++out] = r[i];
		}
	}
	v->n = out + 1;
}

static void uniq_rtts(struct vec *v)
{
	struct krtt *r = v->p;
	size_t out = 0;

	if (!v->n)
		return;
	qsort(r, v->n, sizeof(*r), krtt_cmp);
	for (size_t i = 1; i < v->n; i++)
		if (krtt_cmp(&r[out], &r[i]) != 0)
			r[++out] = r[i];
	v->n = out + 1;
}

/* --- per-file context ----------------------------------------------------- */

struct ctx {
	const struct corpus_file *cf;
	unsigned problems;   /* failures found */
	unsigned reported;   /* lines printed */
	/* tshark's view */
	struct vec t_flows;  /* struct rec */
	struct vec t_rtts;   /* struct krtt */
	struct vec t_frags;  /* struct rec: port-less TCP/UDP-protocol frames, key = addr pair */
	uint64_t t_quoted;   /* ICMP errors with a quoted TCP/UDP header */
	uint64_t t_cut;      /* TCP frames whose header tshark could not complete */
	uint64_t t_cut_udp;  /* D_UDP_CUT: UDP frames not counted */
	struct vec t_segs;   /* struct seg: D_VLAN_SPLIT only */
	/* ours */
	struct vec o_flows;
	struct vec o_rtts;
	uint64_t o_rows;
};

static void problem(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->problems++;
	if (c->reported++ >= MAX_REPORT) {
		if (c->reported == MAX_REPORT + 1)
			printf("%s: ... (more disagreements not shown)\n", c->cf->name);
		return;
	}
	printf("%s: ", c->cf->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* One TCP frame of tshark's, for emulating its initial_rtt rule. */
struct seg {
	struct key k;
	char vlan[32];
	int64_t ts;
	unsigned flags;
	size_t order;
	int cut;             /* no tcp.len: header cut short or bogus */
};

static void ctx_free(struct ctx *c)
{
	vec_free(&c->t_segs);
	vec_free(&c->t_flows);
	vec_free(&c->t_rtts);
	vec_free(&c->t_frags);
	vec_free(&c->o_flows);
	vec_free(&c->o_rtts);
}

static size_t nvals(const char *s)
{
	size_t n = *s ? 1 : 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* The first comma-separated value of @s as an unsigned number; -1 if none. */
static long first_num(const char *s)
{
	char *end;
	long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || (*end && *end != ','))
		return -1;
	return v;
}

static int has_num(const char *s, long want)
{
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			return 0;
		if (v == want)
			return 1;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Remember a TCP frame of tshark's for emulating its initial_rtt rule. */
static void add_seg(struct ctx *c, const struct key *k, char **f, size_t lineno, int cut)
{
	struct seg *sg = vec_push(&c->t_segs);
	char *end;

	sg->k = *k;
	snprintf(sg->vlan, sizeof(sg->vlan), "%s", f[T_VLAN]);
	sg->order = lineno;
	sg->cut = cut;
	sg->flags = (unsigned)strtoul(f[T_TFLAGS], &end, 16);
	if (!f[T_TFLAGS][0] || *end)
		sg->flags = 0; /* header cut before the flags: no part in the rule */
	if (parse_fixed(f[T_EPOCH], 9, 1000000000, 1, &sg->ts)) {
		problem(c, "oracle frame %s: bad frame.time_epoch '%s'", f[T_NUM], f[T_EPOCH]);
		c->t_segs.n--;
	}
}

/* Read FILE.tshark-fields.tsv into c->t_*. */
static void load_oracle(struct ctx *c)
{
	char path[PATH_MAX + 64];
	char *buf, *line, *next;
	size_t lineno = 0;

	snprintf(path, sizeof(path), "%s.tshark-fields.tsv", c->cf->path);
	buf = slurp(path, NULL);
	if (!buf) {
		problem(c, "cannot read oracle %s: %s", path, strerror(errno));
		return;
	}
	c->t_flows.elsz = sizeof(struct rec);
	c->t_frags.elsz = sizeof(struct rec);
	c->t_rtts.elsz = sizeof(struct krtt);
	c->t_segs.elsz = sizeof(struct seg);
	for (line = buf; *line; line = next) {
		char *f[TSV_COLUMNS];
		size_t nf;
		uint64_t len;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		nf = split(line, '\t', f, TSV_COLUMNS);
		if (nf != TSV_COLUMNS || parse_u64(f[T_LEN], &len)) {
			problem(c, "oracle line %zu: %zu columns or bad frame.len", lineno, nf);
			continue;
		}

		size_t n4 = nvals(f[T_IPSRC]), n6 = nvals(f[T_IP6SRC]);
		int tcp = f[T_TSPORT][0] != '\0', udp = f[T_USPORT][0] != '\0';

		if (n4 + n6 == 0)
			continue; /* not IP (ARP, ...) or undecodable */
		if (n4 + n6 > 1) {
			long outer = n4 ? first_num(f[T_IPPROTO]) : first_num(f[T_IP6NXT]);

			if (n4 && n6) {
				problem(c, "oracle frame %s has IPv4 and IPv6 headers (a tunnel): "
					"no agreed reading; extend the test", f[T_NUM]);
			} else if (outer == 1 || outer == 58) {
				/* An ICMP error quoting a header: not TCP/UDP traffic. */
				if (tcp || udp)
					c->t_quoted++;
			} else if (tcp || udp) {
				problem(c, "oracle frame %s has %zu IP headers (outer protocol "
					"%ld, a tunnel): no agreed reading; extend the test",
					f[T_NUM], n4 + n6, outer);
			}
			continue;
		}

		int family = n4 ? 4 : 6;
		const char *src = n4 ? f[T_IPSRC] : f[T_IP6SRC];
		const char *dst = n4 ? f[T_IPDST] : f[T_IP6DST];

		if (tcp && udp) {
			problem(c, "oracle frame %s has TCP and UDP ports: extend the test",
				f[T_NUM]);
			continue;
		}
		if (!tcp && !udp) {
			/* A fragment, or a truncated transport header: keep its pair. */
			int l4 = n4 ? (has_num(f[T_IPPROTO], 6) || has_num(f[T_IPPROTO], 17))
				    : (has_num(f[T_IP6NXT], 6) || has_num(f[T_IP6NXT], 17) ||
				       has_num(f[T_IP6NXT], 44));

			if (!l4)
				continue;
			struct rec *r = vec_push(&c->t_frags);

			if (make_key(&r->k, 0, family, src, NULL, dst, NULL)) {
				c->t_frags.n--;
				continue; /* unparsable address (truncated header) */
			}
			r->pkts = 1;
			r->bytes = len;
			continue;
		}

		/*
		 * No tcp.len: tshark found the TCP header cut short or its data
		 * offset bogus and stopped before its conversation tap, so its
		 * conversation table does not count the frame; neither do we.
		 */
		if (tcp && !f[T_TLEN][0]) {
			struct key k;

			c->t_cut++;
			if (!make_key(&k, 6, family, src, f[T_TSPORT], dst, f[T_TDPORT]))
				add_seg(c, &k, f, lineno, 1);
			continue;
		}
		if (udp && c->cf->diff && c->cf->diff->kind == D_UDP_CUT) {
			c->t_cut_udp++;
			continue;
		}

		struct rec *r = vec_push(&c->t_flows);

		if (make_key(&r->k, tcp ? 6 : 17, family, src, tcp ? f[T_TSPORT] : f[T_USPORT],
			     dst, tcp ? f[T_TDPORT] : f[T_UDPORT])) {
			problem(c, "oracle frame %s: bad address or port", f[T_NUM]);
			c->t_flows.n--;
			continue;
		}
		r->pkts = 1;
		r->bytes = len;
		if (tcp)
			add_seg(c, &r->k, f, lineno, 0);
		if (tcp && f[T_IRTT][0]) {
			struct krtt *kr = vec_push(&c->t_rtts);

			kr->k = r->k;
			if (parse_fixed(f[T_IRTT], 9, 1000000000, 1, &kr->ns)) {
				problem(c, "oracle frame %s: bad initial_rtt '%s'", f[T_NUM],
					f[T_IRTT]);
				c->t_rtts.n--;
			}
		}
	}
	free(buf);
	aggregate(&c->t_flows);
	uniq_rtts(&c->t_rtts);
}

/* --- tshark's initial_rtt rule, for D_VLAN_SPLIT ------------------------- */

static int seg_cmp_vlan(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	int c = key_cmp(&x->k, &y->k);

	if (!c)
		c = strcmp(x->vlan, y->vlan);
	if (!c)
		c = x->order < y->order ? -1 : x->order > y->order;
	return c;
}

static int seg_cmp_novlan(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	int c = key_cmp(&x->k, &y->k);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/*
 * packet-tcp.c (Wireshark 4.0): every SYN without ACK sets ts_mru_syn; the
 * first segment with ACK and without SYN after that, from either side,
 * sets ts_first_rtt = its time - ts_mru_syn, once per stream.  A stream is
 * a 4-tuple here, with or without the VLAN IDs (@per_vlan).
 */
static void emulate_initial_rtt(struct vec *segs, int per_vlan, int with_cut, struct vec *out)
{
	struct seg *sg = segs->p;
	size_t i = 0;

	out->elsz = sizeof(struct krtt);
	qsort(sg, segs->n, sizeof(*sg), per_vlan ? seg_cmp_vlan : seg_cmp_novlan);
	while (i < segs->n) {
		size_t j = i;
		int64_t mru = 0;
		int have_syn = 0, done = 0;

		for (; j < segs->n && key_cmp(&sg[j].k, &sg[i].k) == 0 &&
		       (!per_vlan || !strcmp(sg[j].vlan, sg[i].vlan)); j++) {
			unsigned fl = sg[j].flags & 0x12;

			if (sg[j].cut && !with_cut)
				continue;
			if (fl == 0x02) {
				mru = sg[j].ts;
				have_syn = 1;
			} else if (fl == 0x10 && have_syn && !done) {
				struct krtt *kr = vec_push(out);

				kr->k = sg[j].k;
				kr->ns = sg[j].ts - mru;
				done = 1;
			}
		}
		i = j;
	}
	uniq_rtts(out);
}

static int same_rtts(const struct vec *a, const struct vec *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (krtt_cmp((const struct krtt *)a->p + i, (const struct krtt *)b->p + i))
			return 0;
	return 1;
}

/*
 * Where tshark's initial_rtt depends on frames we do not compare (VLAN
 * copies merged, or segments whose header tshark found cut short, which it
 * leaves out of its conversation table yet still takes as a SYN), replace
 * its RTTs with its own rule applied to the frames we do compare.  The rule
 * applied to all its frames must first reproduce what it printed.
 */
static void emulated_rtts(struct ctx *c, int per_vlan)
{
	struct vec all = { 0 }, sel = { 0 };

	emulate_initial_rtt(&c->t_segs, 0, 1, &all);
	if (!same_rtts(&all, &c->t_rtts)) {
		problem(c, "emulating tshark's initial_rtt rule gives %zu values, tshark printed "
			"%zu (or other values): the emulation does not fit this file", all.n,
			c->t_rtts.n);
		vec_free(&all);
		return;
	}
	emulate_initial_rtt(&c->t_segs, per_vlan, 0, &sel);
	vec_free(&all);
	vec_free(&c->t_rtts);
	c->t_rtts = sel;
}

/* --- running netmoon-csv ------------------------------------------------ */

struct run {
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
	int status;     /* waitpid() status */
	int timed_out;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int timeout_s(void)
{
	const char *s = getenv("NETMOON_CORPUS_TIMEOUT");
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : DEFAULT_TIMEOUT_S;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * fork+exec (no shell), so that valgrind --trace-children follows the
 * program itself; stdout through a pipe, stderr into an unlinked temp file.
 */
static void run_csv(const char *prog, const char *file, struct run *r)
{
	char tmpl[PATH_MAX];
	const char *tmpdir = getenv("TMPDIR");
	int pfd[2], efd, devnull;
	size_t cap = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	snprintf(tmpl, sizeof(tmpl), "%s/netmoon-corpus-XXXXXX", tmpdir);
	efd = mkostemp(tmpl, O_CLOEXEC);
	assert_true(efd >= 0);
	unlink(tmpl);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(devnull >= 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(efd, 2) < 0)
			_exit(126);
		execl(prog, prog, "-r", file, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	close(devnull);

	int64_t deadline = now_ms() + (int64_t)timeout_s() * 1000;

	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			r->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!p.revents)
			continue;
		if (cap - r->out_len < 65536) {
			char *np = realloc(r->out, cap + 65536 + 1);

			assert_non_null(np);
			r->out = np;
			cap += 65536;
		}
		n = read(pfd[0], r->out + r->out_len, cap - r->out_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->out_len += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	if (!r->out) {
		r->out = malloc(1);
		assert_non_null(r->out);
	}
	r->out[r->out_len] = '\0';

	struct stat st;

	assert_int_equal(fstat(efd, &st), 0);
	r->err = malloc((size_t)st.st_size + 1);
	assert_non_null(r->err);
	r->err_len = (size_t)pread(efd, r->err, (size_t)st.st_size, 0);
	if (r->err_len > (size_t)st.st_size)
		r->err_len = 0;
	r->err[r->err_len] = '\0';
	close(efd);
}

/* --- our rows ------------------------------------------------------------- */

static const char *const tcp_states[] = {
	"SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
	"TIME_WAIT", "CLOSED", "RESET", "ACTIVE", "EXPIRED", NULL,
};
static const char *const zeek_states[] = {
	"OTH", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH",
	"SH", "SHR", NULL,
};

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static int valid_vlan(const char *s)
{
	uint64_t v;
	char buf[64], *f[3];
	size_t n;

	if (!*s)
		return 1;
	if (strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	n = split(buf, '.', f, 3);
	if (n > 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (parse_u64(f[i], &v) || v > 4095)
			return 0;
	return 1;
}

static int valid_history(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '^'))
			return 0;
	return 1;
}

/* Check one row fully; add TCP/UDP rows to c->o_*.  @line is modified. */
static void take_row(struct ctx *c, char *line, size_t lineno)
{
	char *f[NCOLS + 1];
	size_t nf = split(line, ',', f, NCOLS + 1);
	uint64_t u[4] = { 0 }, cnt;
	int64_t t0, t1, rtt;
	uint8_t addr[16];
	uint16_t port;
	int af;

	if (nf != NCOLS) {
		problem(c, "output line %zu: %zu columns, want %zu", lineno, nf, NCOLS);
		return;
	}
	if (parse_fixed(f[C_TS_FIRST], 9, 1000000000, 0, &t0) ||
	    parse_fixed(f[C_TS_LAST], 9, 1000000000, 0, &t1) || t1 < t0)
		problem(c, "output line %zu: bad ts_first/ts_last '%s' '%s'", lineno,
			f[C_TS_FIRST], f[C_TS_LAST]);
	if (strcmp(f[C_IPVER], "4") && strcmp(f[C_IPVER], "6")) {
		problem(c, "output line %zu: bad ip_version '%s'", lineno, f[C_IPVER]);
		return;
	}
	af = f[C_IPVER][0] == '6' ? AF_INET6 : AF_INET;
	if (inet_pton(af, f[C_OADDR], addr) != 1 || inet_pton(af, f[C_RADDR], addr) != 1)
		problem(c, "output line %zu: bad address '%s' or '%s'", lineno, f[C_OADDR],
			f[C_RADDR]);
	if (parse_port(f[C_OPORT], &port) || parse_port(f[C_RPORT], &port))
		problem(c, "output line %zu: bad port '%s' or '%s'", lineno, f[C_OPORT],
			f[C_RPORT]);
	if (!valid_vlan(f[C_VLAN]))
		problem(c, "output line %zu: bad vlan '%s'", lineno, f[C_VLAN]);
	if (strcmp(f[C_DIRG], "0") && strcmp(f[C_DIRG], "1"))
		problem(c, "output line %zu: bad dir_guessed '%s'", lineno, f[C_DIRG]);
	if (!in_list(f[C_STATE], tcp_states))
		problem(c, "output line %zu: bad state '%s'", lineno, f[C_STATE]);
	if (!in_list(f[C_ZSTATE], zeek_states))
		problem(c, "output line %zu: bad conn_state '%s'", lineno, f[C_ZSTATE]);
	if (!valid_history(f[C_HIST]))
		problem(c, "output line %zu: bad history '%s'", lineno, f[C_HIST]);
	for (int i = C_OPKTS; i <= C_RPAY; i++)
		if (parse_u64(f[i], &cnt))
			problem(c, "output line %zu: bad %s '%s'", lineno, design_columns[i], f[i]);
	for (int i = C_RTT_SYN; i <= C_RTT_HS; i++)
		if (f[i][0] && parse_fixed(f[i], 3, 1000, 0, &rtt))
			problem(c, "output line %zu: bad %s '%s'", lineno, design_columns[i], f[i]);

	unsigned proto;

	if (!strcmp(f[C_PROTO], "tcp"))
		proto = 6;
	else if (!strcmp(f[C_PROTO], "udp"))
		proto = 17;
	else if (!strcmp(f[C_PROTO], "icmp") || !strcmp(f[C_PROTO], "icmp6"))
		return;
	else if (parse_u64(f[C_PROTO], &cnt) || cnt > 255 || cnt == 6 || cnt == 17 ||
		 cnt == 1 || cnt == 58) {
		problem(c, "output line %zu: bad proto '%s'", lineno, f[C_PROTO]);
		return;
	} else {
		return;
	}

	struct rec *r = vec_push(&c->o_flows);

	if (make_key(&r->k, proto, af == AF_INET6 ? 6 : 4, f[C_OADDR], f[C_OPORT], f[C_RADDR],
		     f[C_RPORT]) ||
	    parse_u64(f[C_OPKTS], &u[0]) || parse_u64(f[C_RPKTS], &u[1]) ||
	    parse_u64(f[C_OBYTES], &u[2]) || parse_u64(f[C_RBYTES], &u[3])) {
		c->o_flows.n--;
		return; /* reported above */
	}
	r->pkts = u[0] + u[1];
	r->bytes = u[2] + u[3];
	if (r->pkts == 0)
		problem(c, "output line %zu: a connection without packets", lineno);
	if (f[C_RTT_HS][0] && !parse_fixed(f[C_RTT_HS], 3, 1000, 0, &rtt)) {
		struct krtt *kr = vec_push(&c->o_rtts);

		kr->k = r->k;
		kr->ns = rtt;
	}
}

static void take_output(struct ctx *c, struct run *r)
{
	char header[1024] = "";
	char *line, *next;
	size_t lineno = 0;

	c->o_flows.elsz = sizeof(struct rec);
	c->o_rtts.elsz = sizeof(struct krtt);
	for (size_t i = 0; i < NCOLS; i++) {
		if (i)
			strcat(header, ",");
		strcat(header, design_columns[i]);
	}
	if (r->out_len == 0)
		return; /* the caller decides whether silence is right */
	if (r->out[r->out_len - 1] != '\n')
		problem(c, "output does not end with a complete line");
	if (strlen(r->out) != r->out_len)
		problem(c, "output holds a NUL byte");
	for (line = r->out; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (lineno++ == 0) {
			if (strcmp(line, header))
				problem(c, "header line is '%s', want '%s'", line, header);
			continue;
		}
		c->o_rows++;
		take_row(c, line, lineno);
	}
	aggregate(&c->o_flows);
	uniq_rtts(&c->o_rtts);
}

/* --- comparison ----------------------------------------------------------- */

/* Per address pair: tshark's counts, ours, and tshark's port-less fragments. */
struct pairsum {
	struct key k;
	uint64_t t_pkts, t_bytes, o_pkts, o_bytes, f_pkts, f_bytes;
};

static int pairsum_cmp(const void *a, const void *b)
{
	return pair_cmp(&((const struct pairsum *)a)->k, &((const struct pairsum *)b)->k);
}

static struct pairsum *find_pair(struct vec *v, const struct key *k)
{
	struct pairsum want = { .k = *k };

	return bsearch(&want, v->p, v->n, sizeof(struct pairsum), pairsum_cmp);
}

static void add_pairs(struct vec *pairs, const struct vec *recs, int which)
{
	const struct rec *r = recs->p;

	for (size_t i = 0; i < recs->n; i++) {
		struct pairsum *p = vec_push(pairs);

		p->k = r[i].k;
		p->k.proto = 0;
		p->k.port[0] = p->k.port[1] = 0;
		/* make_key ordered by (addr, port): re-sort the pair by address alone */
		if (memcmp(p->k.addr[0], p->k.addr[1], 16) > 0) {
			uint8_t t[16];

			memcpy(t, p->k.addr[0], 16);
			memcpy(p->k.addr[0], p->k.addr[1], 16);
			memcpy(p->k.addr[1], t, 16);
		}
		if (which == 0) {
			p->t_pkts = r[i].pkts;
			p->t_bytes = r[i].bytes;
		} else if (which == 1) {
			p->o_pkts = r[i].pkts;
			p->o_bytes = r[i].bytes;
		} else {
			p->f_pkts = r[i].pkts;
			p->f_bytes = r[i].bytes;
		}
	}
}

/* Group tshark flows, our flows and port-less fragments by address pair. */
static void build_pairs(const struct ctx *c, struct vec *pairs)
{
	struct pairsum *p;
	size_t out = 0;

	pairs->elsz = sizeof(struct pairsum);
	add_pairs(pairs, &c->t_flows, 0);
	add_pairs(pairs, &c->o_flows, 1);
	add_pairs(pairs, &c->t_frags, 2);
	if (!pairs->n)
		return;
	p = pairs->p;
	qsort(p, pairs->n, sizeof(*p), pairsum_cmp);
	for (size_t i = 1; i < pairs->n; i++) {
		if (pair_cmp(&p[out].k, &p[i].k) == 0) {
			p[out].t_pkts += p[i].t_pkts;
			p[out].t_bytes += p[i].t_bytes;
			p[out].o_pkts += p[i].o_pkts;
			p[out].o_bytes += p[i].o_bytes;
			p[out].f_pkts += p[i].f_pkts;
			p[out].f_bytes += p[i].f_bytes;
		} else {
			p[++out] = p[i];
		}
	}
	pairs->n = out + 1;
}

static void pair_str(const struct key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af = k->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, k->addr[0], a, sizeof(a));
	inet_ntop(af, k->addr[1], b, sizeof(b));
	snprintf(buf, len, "%s <-> %s", a, b);
}

static int frag_mode(const struct ctx *c)
{
	return c->cf->diff && c->cf->diff->kind == D_FRAGMENTS;
}

static void compare_flows(struct ctx *c, struct vec *pairs)
{
	const struct rec *t = c->t_flows.p, *o = c->o_flows.p;
	size_t i = 0, j = 0;
	int frag = frag_mode(c);
	char ks[256];

	while (i < c->t_flows.n || j < c->o_flows.n) {
		int cmp;

		if (i == c->t_flows.n)
			cmp = 1;
		else if (j == c->o_flows.n)
			cmp = -1;
		else
			cmp = key_cmp(&t[i].k, &o[j].k);

		if (cmp < 0) {
			key_str(&t[i].k, ks, sizeof(ks));
			problem(c, "missing flow %s (tshark: %" PRIu64 " packets, %" PRIu64
				" bytes)", ks, t[i].pkts, t[i].bytes);
			i++;
		} else if (cmp > 0) {
			key_str(&o[j].k, ks, sizeof(ks));
			/* With fragments, a first fragment of a datagram tshark
			 * never completed makes a flow only we see; the pair
			 * check below bounds it. */
			struct pairsum *p = frag ? find_pair(pairs, &o[j].k) : NULL;

			if (!p || p->f_pkts == 0)
				problem(c, "extra flow %s (ours: %" PRIu64 " packets, %" PRIu64
					" bytes)", ks, o[j].pkts, o[j].bytes);
			j++;
		} else {
			key_str(&t[i].k, ks, sizeof(ks));
			if (!frag && (t[i].pkts != o[j].pkts || t[i].bytes != o[j].bytes))
				problem(c, "flow %s: tshark %" PRIu64 " packets %" PRIu64
					" bytes, ours %" PRIu64 " packets %" PRIu64 " bytes",
					ks, t[i].pkts, t[i].bytes, o[j].pkts, o[j].bytes);
			if (frag && (o[j].pkts < t[i].pkts || o[j].bytes < t[i].bytes))
				problem(c, "flow %s: ours %" PRIu64 " packets %" PRIu64 " bytes, "
					"below tshark's %" PRIu64 " packets %" PRIu64 " bytes", ks,
					o[j].pkts, o[j].bytes, t[i].pkts, t[i].bytes);
			i++;
			j++;
		}
	}
	if (!frag)
		return;

	/*
	 * Fragments: per address pair tshark <= ours <= tshark + port-less
	 * fragments; over the file, ours - tshark = fragments - orphans.
	 */
	const struct pairsum *p = pairs->p;
	uint64_t sp = 0, sb = 0, fp = 0, fb = 0;

	for (size_t k = 0; k < pairs->n; k++) {
		fp += p[k].f_pkts;
		fb += p[k].f_bytes;
		if (p[k].o_pkts < p[k].t_pkts || p[k].o_bytes < p[k].t_bytes ||
		    p[k].o_pkts - p[k].t_pkts > p[k].f_pkts ||
		    p[k].o_bytes - p[k].t_bytes > p[k].f_bytes) {
			pair_str(&p[k].k, ks, sizeof(ks));
			problem(c, "pair %s: ours %" PRIu64 " packets %" PRIu64 " bytes, tshark %"
				PRIu64 " packets %" PRIu64 " bytes with ports + %" PRIu64
				" port-less fragments (%" PRIu64 " bytes); want tshark <= ours <= "
				"tshark + fragments", ks, p[k].o_pkts, p[k].o_bytes, p[k].t_pkts,
				p[k].t_bytes, p[k].f_pkts, p[k].f_bytes);
			continue;
		}
		sp += p[k].o_pkts - p[k].t_pkts;
		sb += p[k].o_bytes - p[k].t_bytes;
	}
	if (sp + c->cf->diff->orphan_pkts != fp || sb + c->cf->diff->orphan_bytes != fb)
		problem(c, "ours exceed tshark's counts by %" PRIu64 " packets %" PRIu64 " bytes; "
			"want the %" PRIu64 " port-less fragments (%" PRIu64 " bytes) less %" PRIu64
			" orphans (%" PRIu64 " bytes)", sp, sb, fp, fb, c->cf->diff->orphan_pkts,
			c->cf->diff->orphan_bytes);
}

static void compare_rtts(struct ctx *c)
{
	const struct krtt *t = c->t_rtts.p, *o = c->o_rtts.p;
	size_t i = 0, j = 0;
	char ks[256];

	while (i < c->t_rtts.n || j < c->o_rtts.n) {
		int cmp = i == c->t_rtts.n ? 1 : j == c->o_rtts.n ? -1 : krtt_cmp(&t[i], &o[j]);

		if (cmp < 0) {
			key_str(&t[i].k, ks, sizeof(ks));
			problem(c, "flow %s: tshark initial_rtt %" PRId64 " ns not among our "
				"handshake_rtt_us", ks, t[i].ns);
			i++;
		} else if (cmp > 0) {
			key_str(&o[j].k, ks, sizeof(ks));
			problem(c, "flow %s: our handshake_rtt %" PRId64 " ns not among tshark's "
				"initial_rtt", ks, o[j].ns);
			j++;
		} else {
			i++;
			j++;
		}
	}
}

static uint64_t sum_pkts(const struct vec *v, uint64_t *bytes)
{
	const struct rec *r = v->p;
	uint64_t p = 0, b = 0;

	for (size_t i = 0; i < v->n; i++) {
		p += r[i].pkts;
		b += r[i].bytes;
	}
	*bytes = b;
	return p;
}

/* Exit status and stderr: the rules of DESIGN.md section 3. */
static void check_exit(struct ctx *c, const struct run *r, int *code)
{
	*code = -1;
	if (r->timed_out) {
		problem(c, "netmoon-csv did not finish within %d s (killed)", timeout_s());
		return;
	}
	if (WIFSIGNALED(r->status)) {
		problem(c, "netmoon-csv killed by signal %d (%s)", WTERMSIG(r->status),
			strsignal(WTERMSIG(r->status)));
		return;
	}
	if (!WIFEXITED(r->status)) {
		problem(c, "netmoon-csv: odd wait status 0x%x", r->status);
		return;
	}
	*code = WEXITSTATUS(r->status);
	if (*code == 127 || *code == 126)
		return; /* the caller stops here */
	if (c->cf->kind == FILE_OK && *code != 0)
		problem(c, "exit status %d for a file tshark reads completely, want 0", *code);
	else if (*code != 0 && *code != 2)
		problem(c, "exit status %d, want 0 or 2", *code);

	size_t lines = 0;

	for (size_t i = 0; i < r->err_len; i++)
		lines += r->err[i] == '\n';
	if (*code == 2 && (lines != 1 || r->err_len < 2 || r->err[r->err_len - 1] != '\n'))
		problem(c, "exit status 2 wants one message line on stderr, got %zu bytes in "
			"%zu lines", r->err_len, lines);
	if (*code == 0 && r->err_len)
		problem(c, "exit status 0 but stderr is not empty");
}

static void test_file(void **state)
{
	const struct corpus_file *cf = *state;
	struct ctx c = { .cf = cf };
	struct run r;
	struct vec pairs = { .elsz = sizeof(struct pairsum) };
	uint64_t tb, ob, tp, op;
	int code;

	if (!cf->corpus) {
		printf("corpus not found at %s: skipped\n", cf->path);
		skip();
	}

	run_csv(cf->prog, cf->path, &r);
	check_exit(&c, &r, &code);
	if (code == 126 || code == 127) {
		run_free(&r);
		fail_msg("%s: cannot run %s", cf->name, cf->prog);
	}
	take_output(&c, &r);
	if (r.out_len == 0 && code != 2)
		problem(&c, "no output at all (not even the header line)");

	switch (cf->kind) {
	case FILE_REJECTED:
		/* Robustness only: tshark printed nothing to compare with. */
		printf("%s: tshark rejects this file; checking exit status and output format only "
		       "(exit %d, %" PRIu64 " rows)\n", cf->name, code, c.o_rows);
		if (code == 0 && c.o_flows.n)
			printf("%s: NOTE: accepted with %zu TCP/UDP flows although tshark "
			       "rejects the file\n", cf->name, c.o_flows.n);
		break;
	case FILE_CUT_SHORT:
		printf("%s: tshark stops at a record cut short; comparing the complete records\n",
		       cf->name);
		/* fall through */
	case FILE_OK:
		load_oracle(&c);
		if (cf->diff && cf->diff->kind == D_FRAGMENTS)
			printf("%s: %s; comparing per address pair (tshark's flows <= ours <= "
			       "tshark's flows + %zu port-less fragments, less %" PRIu64
			       " orphans over the file) instead\n", cf->name, cf->diff->reason,
			       c.t_frags.n, cf->diff->orphan_pkts);
		else if (cf->diff && cf->diff->kind == D_VLAN_SPLIT)
			printf("%s: %s; comparing RTTs with tshark's rule applied per VLAN "
			       "instead\n", cf->name, cf->diff->reason);
		else if (cf->diff && cf->diff->kind == D_UDP_CUT)
			printf("%s: %s; not counting tshark's %" PRIu64 " UDP frames\n", cf->name,
			       cf->diff->reason, c.t_cut_udp);
		if (c.t_frags.n && !frag_mode(&c))
			printf("%s: NOTE: %zu frames of TCP/UDP protocol without ports in tshark's "
			       "view (truncated or fragments); compared exactly\n", cf->name,
			       c.t_frags.n);
		if (c.t_quoted)
			printf("%s: %" PRIu64 " ICMP errors quote a TCP/UDP header: not counted "
			       "(as in tshark's conversation tables)\n", cf->name, c.t_quoted);
		if (c.t_cut)
			printf("%s: %" PRIu64 " TCP frames with ports but no tcp.len (header "
			       "cut short or bogus): not counted (as in tshark's conversation "
			       "tables)\n", cf->name, c.t_cut);
		if (cf->diff && cf->diff->kind == D_VLAN_SPLIT) {
			emulated_rtts(&c, 1);
		} else if (c.t_cut) {
			printf("%s: tshark's initial_rtt rule also takes SYNs from those frames; "
			       "comparing RTTs with its rule applied without them\n", cf->name);
			emulated_rtts(&c, 0);
		}
		build_pairs(&c, &pairs);
		compare_flows(&c, &pairs);
		compare_rtts(&c);
		tp = sum_pkts(&c.t_flows, &tb);
		op = sum_pkts(&c.o_flows, &ob);
		printf("%s:%s exit %d, %" PRIu64 " rows; flows tshark %zu ours %zu; packets "
		       "tshark %" PRIu64 " ours %" PRIu64 "; bytes tshark %" PRIu64 " ours %" PRIu64
		       "; rtts tshark %zu ours %zu%s\n", cf->name, cf->fuzz ? " (fuzzed)" : "",
		       code, c.o_rows, c.t_flows.n, c.o_flows.n, tp, op, tb, ob, c.t_rtts.n,
		       c.o_rtts.n, c.problems ? " -- DISAGREES" : "");
		break;
	}
	if (c.problems && r.err_len)
		printf("%s: stderr of netmoon-csv:\n%.*s%s", cf->name,
		       (int)(r.err_len > 4000 ? 4000 : r.err_len), r.err,
		       r.err[r.err_len - 1] == '\n' ? "" : "\n");
	fflush(stdout);
	vec_free(&pairs);
	run_free(&r);
	ctx_free(&c);
	if (c.problems)
		fail_msg("%s: %u disagreement(s) with tshark or the output contract", cf->name,
			 c.problems);
}

/* --- the manifest ------------------------------------------------------- */

static const struct known_diff *find_diff(const char *name)
{
	for (size_t i = 0; i < sizeof(known_diffs) / sizeof(known_diffs[0]); i++)
		if (!strcmp(known_diffs[i].file, name))
			return &known_diffs[i];
	return NULL;
}

/* Fill @files from MANIFEST.tsv; returns the count, or -1 (message printed). */
static int load_manifest(const char *corpus, const char *prog, struct corpus_file *files, int max)
{
	char path[PATH_MAX];
	char *buf, *line, *next;
	int n = 0, lineno = 0, col_status = -1, col_file = -1, col_ex = -1;

	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", corpus);
	buf = slurp(path, NULL);
	if (!buf)
		return -1;
	for (line = buf; *line; line = next) {
		char *f[32];
		size_t nf;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		nf = split(line, '\t', f, 32);
		if (lineno++ == 0) {
			for (size_t i = 0; i < nf && i < 32; i++) {
				if (!strcmp(f[i], "file"))
					col_file = (int)i;
				else if (!strcmp(f[i], "tshark_status"))
					col_status = (int)i;
				else if (!strcmp(f[i], "exercises"))
					col_ex = (int)i;
			}
			if (col_file < 0 || col_status < 0 || col_ex < 0) {
				printf("%s: header lacks file/exercises/tshark_status columns\n",
				       path);
				free(buf);
				return -1;
			}
			continue;
		}
		if (nf <= (size_t)col_status || nf <= (size_t)col_ex || !f[col_file][0])
			continue;
		if (n == max) {
			printf("%s: more than %d captures; testing the first %d\n", path, max, max);
			break;
		}

		struct corpus_file *cf = &files[n++];
		const char *st = f[col_status], *ex = f[col_ex];

		snprintf(cf->name, sizeof(cf->name), "%s", f[col_file]);
		snprintf(cf->path, sizeof(cf->path), "%s/%s", corpus, f[col_file]);
		if (!strcmp(st, "ok"))
			cf->kind = FILE_OK;
		else if (!strncmp(st, "rc=2", 4) && strstr(st, "cut short"))
			cf->kind = FILE_CUT_SHORT;
		else
			cf->kind = FILE_REJECTED;
		cf->fuzz = strcasestr(ex, "fuzz") || strcasestr(cf->name, "fuzz") ||
			   strcasestr(cf->name, "overflow") || strcasestr(cf->name, "oobr") ||
			   strcasestr(cf->name, "asan");
		cf->diff = find_diff(cf->name);
		cf->prog = prog;
		cf->corpus = corpus;
	}
	free(buf);
	return n;
}

int main(void)
{
	static struct corpus_file files[MAX_FILES];
	static struct corpus_file absent;
	struct CMUnitTest *tests;
	const char *corpus = getenv("NETMOON_CORPUS");
	const char *build = getenv("NETMOON_BUILD");
	char prog[PATH_MAX];
	int n, rc;

	if (!corpus || !*corpus)
		corpus = "../shared/corpus";
	if (!build || !*build)
		build = "build";
	snprintf(prog, sizeof(prog), "%s/bin/netmoon-csv", build);
	n = load_manifest(corpus, prog, files, MAX_FILES);
	if (n < 0) {
		const struct CMUnitTest skipped[] = {
			{ "corpus", test_file, NULL, NULL, &absent },
		};

		snprintf(absent.path, sizeof(absent.path), "%s", corpus);
		absent.corpus = NULL;
		return cmocka_run_group_tests_name("corpus", skipped, NULL, NULL);
	}
	if (access(prog, X_OK) != 0)
		printf("warning: %s is not executable (%s); every file will fail\n", prog,
		       strerror(errno));

	tests = calloc((size_t)n ? (size_t)n : 1, sizeof(*tests));
	assert_non_null(tests);
	for (int i = 0; i < n; i++) {
		tests[i].name = files[i].name;
		tests[i].test_func = test_file;
		tests[i].initial_state = &files[i];
	}
	rc = _cmocka_run_group_tests("corpus", tests, (size_t)n, NULL, NULL);
	free(tests);
	return rc;
}
