/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The live backend: an AF_PACKET socket with a TPACKET_V3 ring, behind the
 * same ops table as the file readers.  The only file of the library that
 * talks to the packet socket layer.
 *
 * The ring is block_count blocks the kernel fills with packets and hands
 * over when full or when the block timeout expires; next() walks the
 * packets of the block it holds in place and gives the block back
 * (block_status = TP_STATUS_KERNEL) when it moves on, so a packet stays
 * valid until the next call, as the file readers promise.
 *
 * VLAN tags: the kernel (or the NIC) takes the outer tag off before the
 * socket sees the frame and reports it in tp_vlan_tci.  As libpcap does, the
 * tag is put back into the frame, in the ring, in the PACKET_RESERVE bytes
 * asked for in front of every packet.  Interfaces that are neither Ethernet
 * nor loopback, and "any", are read with SOCK_DGRAM and get a Linux SLL2
 * header written into the same reserved room.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>

#include <stddef.h>

#include "capture_int.h"
#include "filter_int.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20 */
#endif
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* Linux 6.2 */
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

#define LIVE_DEFAULT_SNAPLEN 262144u
#define LIVE_DEFAULT_BLOCK (1u << 20)
#define LIVE_DEFAULT_BLOCKS 32u
#define LIVE_DEFAULT_TIMEOUT_MS 50u
#define LIVE_MAX_BLOCK (1u << 30)
#define SLL2_LEN 20
#define VLAN_LEN 4
/* Room in front of every packet: a VLAN tag, and an SLL2 header when cooked. */
#define LIVE_RESERVE (SLL2_LEN + VLAN_LEN)

/*
 * A typed pointer at byte offset off of base: the kernel lays the ring out
 * with TPACKET_ALIGNMENT (16) for every header, so these casts are aligned.
 */
#define RING_AT(type, base, off) ((type *)(void *)((uint8_t *)(base) + (off)))
#define RING_AT_C(type, base, off) ((const type *)(const void *)((const uint8_t *)(base) + (off)))

struct live {
	int fd;
	int wake_fd;       /* eventfd: breakloop() wakes poll() */
	uint8_t *ring;
	size_t ring_len;
	uint32_t block_size;
	uint32_t nblocks;
	uint32_t cur;      /* block next() reads or waits for */
	bool held;         /* ring block cur is ours (TP_STATUS_USER seen) */
	uint32_t left;     /* packets of the held block not yet returned */
	const struct tpacket3_hdr *next_hdr;
	bool cooked;       /* SOCK_DGRAM: write an SLL2 header */
	int timeout_ms;    /* poll() timeout, -1 = none */
	int lo_ifindex;    /* loopback's index: its outgoing copies are skipped */
	uint32_t snaplen;  /* the socket filter's accept value */
	/* PACKET_STATISTICS resets on every read: the sums. */
	uint64_t k_packets, k_drops, k_freezes;
};

static inline struct tpacket_block_desc *live_block(const struct live *lv, uint32_t i)
{
	return RING_AT(struct tpacket_block_desc, lv->ring, (size_t)i * lv->block_size);
}

static void live_read_stats(struct live *lv)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (getsockopt(lv->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
		/* For TPACKET_V3 the kernel's tp_packets already includes drops. */
		lv->k_packets += st.tp_packets;
		lv->k_drops += st.tp_drops;
		lv->k_freezes += st.tp_freeze_q_cnt;
	}
}

/* Give the held block back to the kernel and move to the next one. */
static inline void live_release(struct live *lv)
{
	struct tpacket_block_desc *bd = live_block(lv, lv->cur);

	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	lv->held = false;
	lv->cur = lv->cur + 1 == lv->nblocks ? 0 : lv->cur + 1;
}

/*
 * Put the VLAN tag back (Ethernet) or write the SLL2 header (cooked) in
 * front of the frame, in the ring's reserved room; fill cap->pkt.
 */
static void live_fill(struct netmoon_packet *out, const struct live *lv,
		      const struct tpacket3_hdr *h)
{
	const struct sockaddr_ll *sll = RING_AT_C(struct sockaddr_ll, h, TPACKET_ALIGN(sizeof(*h)));
	uint8_t *mac = (uint8_t *)h + h->tp_mac;
	uint32_t caplen = h->tp_snaplen, wirelen = h->tp_len;
	bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) || h->hv1.tp_vlan_tci;
	uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
								   : ETH_P_8021Q;

	if (!lv->cooked) {
		if (vlan && caplen >= 2 * ETH_ALEN) {
			uint8_t *p = mac - VLAN_LEN;

			memmove(p, mac, 2 * ETH_ALEN);
			p[12] = (uint8_t)(tpid >> 8);
			p[13] = (uint8_t)tpid;
			p[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
			p[15] = (uint8_t)h->hv1.tp_vlan_tci;
			mac = p;
			caplen += VLAN_LEN;
			wirelen += VLAN_LEN;
		}
	} else {
		uint16_t proto = ntohs(sll->sll_protocol);
		uint8_t *p;

		if (vlan) {
			/* The tag goes between the header and the network layer. */
			p = mac - VLAN_LEN;
			p[0] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
			p[1] = (uint8_t)h->hv1.tp_vlan_tci;
			p[2] = (uint8_t)(proto >> 8);
			p[3] = (uint8_t)proto;
			mac = p;
			proto = tpid;
			caplen += VLAN_LEN;
			wirelen += VLAN_LEN;
		}
		p = mac - SLL2_LEN;
		p[0] = (uint8_t)(proto >> 8);
		p[1] = (uint8_t)proto;
		p[2] = p[3] = 0;
		p[4] = (uint8_t)((uint32_t)sll->sll_ifindex >> 24);
		p[5] = (uint8_t)((uint32_t)sll->sll_ifindex >> 16);
		p[6] = (uint8_t)((uint32_t)sll->sll_ifindex >> 8);
		p[7] = (uint8_t)sll->sll_ifindex;
		p[8] = (uint8_t)(sll->sll_hatype >> 8);
		p[9] = (uint8_t)sll->sll_hatype;
		p[10] = sll->sll_pkttype;
		p[11] = sll->sll_halen > 8 ? 8 : sll->sll_halen;
		memset(p + 12, 0, 8);
		memcpy(p + 12, sll->sll_addr, p[11]);
		mac = p;
		caplen += SLL2_LEN;
		wirelen += SLL2_LEN;
	}
	if (caplen > lv->snaplen)
		caplen = lv->snaplen; /* as libpcap: the snaplen counts the header put in front */
	out->data = mac;
	out->caplen = caplen;
	out->wirelen = wirelen;
	out->ts_ns = (int64_t)h->tp_sec * 1000000000 + h->tp_nsec;
	out->ifindex = (uint32_t)sll->sll_ifindex;
	out->pkttype = sll->sll_pkttype;
}

/*
 * Fill out with the packet at h when the capture's filter accepts it.  As
 * tcpdump -i does on Linux, an expression without a vlan keyword sees a
 * tagged frame as the kernel gives it, without its outer tag (so "udp"
 * matches tagged UDP live, though not in a file); one with vlan sees the
 * tag put back, as in a file.
 */
static inline bool live_take(struct netmoon_capture *cap, const struct live *lv,
			     const struct tpacket3_hdr *h, struct netmoon_packet *out)
{
	const struct netmoon_filter *f = cap->filter;

	if (f && !f->uses_vlan && !lv->cooked &&
	    ((h->tp_status & TP_STATUS_VLAN_VALID) || h->hv1.tp_vlan_tci)) {
		if (netmoon_filter_match(f, (const uint8_t *)h + h->tp_mac, h->tp_snaplen,
					 h->tp_len) != 1) {
			cap->filtered++;
			return false;
		}
		live_fill(out, lv, h);
		return true;
	}
	live_fill(out, lv, h);
	return netmoon__capture_accept(cap, out);
}

/* The packet at h, unless it is loopback's outgoing copy (seen again arriving). */
static inline bool live_keep(const struct live *lv, const struct tpacket3_hdr *h)
{
	const struct sockaddr_ll *sll = RING_AT_C(struct sockaddr_ll, h, TPACKET_ALIGN(sizeof(*h)));

	return !(sll->sll_pkttype == PACKET_OUTGOING && sll->sll_ifindex == lv->lo_ifindex);
}

/*
 * Wait until the socket is readable (a block may be ready): 1 when it is,
 * -EAGAIN after the read timeout, NETMOON_E_BREAK after breakloop(), or an
 * error.
 */
static int live_wait(struct netmoon_capture *cap, struct live *lv)
{
	struct pollfd pfd[2];
	int n;

	if (atomic_load_explicit(&cap->break_loop, memory_order_relaxed)) {
		uint64_t v;

		atomic_store(&cap->break_loop, 0);
		(void)!read(lv->wake_fd, &v, sizeof(v));
		return NETMOON_E_BREAK;
	}
	pfd[0] = (struct pollfd){ .fd = lv->fd, .events = POLLIN | POLLRDNORM };
	pfd[1] = (struct pollfd){ .fd = lv->wake_fd, .events = POLLIN };
	n = poll(pfd, 2, lv->timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 1; /* a signal: a breakloop() from its handler shows next time */
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET, "poll: %s",
					      strerror(errno));
	}
	if (n == 0)
		return -EAGAIN;
	if (pfd[1].revents & POLLIN) {
		uint64_t v;

		/*
		 * Empty the eventfd: a wake-up whose flag loop() has already
		 * consumed would make every later poll() return at once.  A
		 * flag still set is seen on the next call.
		 */
		(void)!read(lv->wake_fd, &v, sizeof(v));
	}
	if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(lv->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == ENETDOWN)
			return netmoon__capture_error(cap, -ENETDOWN, NETMOON__NO_OFFSET,
						      "the interface went down");
		if (err == ENODEV || (pfd[0].revents & POLLHUP))
			return netmoon__capture_error(cap, -ENODEV, NETMOON__NO_OFFSET,
						      "the interface disappeared");
		if (err)
			return netmoon__capture_error(cap, -err, NETMOON__NO_OFFSET,
						      "socket error: %s", strerror(err));
	}
	return 1; /* a block is ready, or the wake-up is seen next time */
}

static int live_next(struct netmoon_capture *cap)
{
	struct live *lv = cap->priv;

	for (;;) {
		struct tpacket_block_desc *bd;
		int n;

		if (lv->left) {
			const struct tpacket3_hdr *h = lv->next_hdr;

			lv->left--;
			lv->next_hdr = RING_AT_C(struct tpacket3_hdr, h, h->tp_next_offset);
			if (!live_keep(lv, h) || !live_take(cap, lv, h, &cap->pkt))
				continue;
			return 1;
		}
		if (lv->held)
			live_release(lv);

		bd = live_block(lv, lv->cur);
		if (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) {
			lv->held = true;
			lv->left = bd->hdr.bh1.num_pkts;
			lv->next_hdr = RING_AT_C(struct tpacket3_hdr, bd,
						 bd->hdr.bh1.offset_to_first_pkt);
			continue;
		}

		n = live_wait(cap, lv);
		if (n != 1)
			return n;
	}
}

/*
 * The socket filter.  The ring keeps whole packets: snaplen is what a
 * socket filter's accept value says (libpcap's way too), so without a user
 * filter the program is one "ret #snaplen".  The kernel runs a user filter
 * on a tagged frame with the tag taken off: right for an expression
 * without vlan (see live_take()); one with vlan runs behind a guard that
 * accepts tagged frames, which user space then decides with the tag put
 * back.  Its own returns are its accept value
 * (snaplen, as compiled) or 0; classic BPF jumps are relative, so the
 * program is appended unchanged.  Cooked captures (no link header in the
 * kernel's view) filter in user space only.
 */
_Static_assert(sizeof(struct netmoon_bpf_insn) == sizeof(struct sock_filter) &&
		       offsetof(struct netmoon_bpf_insn, k) == offsetof(struct sock_filter, k),
	       "netmoon_bpf_insn is not the kernel's sock_filter");

int netmoon__live_set_filter(struct netmoon_capture *cap, const void *insns, size_t n,
			     bool vlan_guard)
{
	struct live *lv = cap->priv;
	struct sock_filter *prog;
	struct sock_fprog fp;
	size_t len = 0;
	int r = 1;

	if (!insns || lv->cooked || n > BPF_MAXINSNS - 3) {
		/* No filter, or one for user space only (cooked, or too long
		 * with the guard): the kernel keeps snaplen bytes of everything. */
		struct sock_filter keep = BPF_STMT(BPF_RET | BPF_K, lv->snaplen);

		fp = (struct sock_fprog){ .len = 1, .filter = &keep };
		if (setsockopt(lv->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
			return -errno;
		return 0;
	}
	prog = calloc(n + 3, sizeof(*prog));
	if (!prog)
		return -ENOMEM;
	if (vlan_guard) {
		prog[len++] = (struct sock_filter)BPF_STMT(
			BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
		prog[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
		prog[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, lv->snaplen);
	}
	memcpy(prog + len, insns, n * sizeof(*prog));
	len += n;
	fp = (struct sock_fprog){ .len = (unsigned short)len, .filter = prog };
	if (setsockopt(lv->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		r = -errno;
	free(prog);
	return r;
}

/* --- block access, for the monitor's capture and parser threads --------- */

bool netmoon__capture_is_live(const struct netmoon_capture *cap)
{
	return cap->ops && cap->ops->next == live_next;
}

void netmoon__live_set_timeout(struct netmoon_capture *cap, int timeout_ms)
{
	((struct live *)cap->priv)->timeout_ms = timeout_ms;
}

uint32_t netmoon__live_block_count(const struct netmoon_capture *cap)
{
	return ((const struct live *)cap->priv)->nblocks;
}

int netmoon__live_block_take(struct netmoon_capture *cap, uint32_t *idx)
{
	struct live *lv = cap->priv;

	for (;;) {
		struct tpacket_block_desc *bd = live_block(lv, lv->cur);
		int n;

		if (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) {
			*idx = lv->cur;
			lv->cur = lv->cur + 1 == lv->nblocks ? 0 : lv->cur + 1;
			return 1;
		}
		n = live_wait(cap, lv);
		if (n != 1)
			return n;
	}
}

void netmoon__live_block_begin(const struct netmoon_capture *cap, uint32_t idx,
			       struct netmoon__live_iter *it)
{
	const struct tpacket_block_desc *bd = live_block(cap->priv, idx);

	it->next = (const uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	it->left = bd->hdr.bh1.num_pkts;
}

int netmoon__live_block_next(const struct netmoon_capture *cap, struct netmoon__live_iter *it,
			     struct netmoon_packet *pkt)
{
	const struct live *lv = cap->priv;

	while (it->left) {
		const struct tpacket3_hdr *h = it->next;

		it->left--;
		it->next = (const uint8_t *)h + h->tp_next_offset;
		pkt->linktype = (uint32_t)cap->linktype;
		if (live_keep(lv, h) && live_take((struct netmoon_capture *)cap, lv, h, pkt))
			return 1;
	}
	return 0;
}

void netmoon__live_block_release(const struct netmoon_capture *cap, uint32_t idx)
{
	struct tpacket_block_desc *bd = live_block(cap->priv, idx);

	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

void netmoon__live_kernel_stats(const struct netmoon_capture *cap, uint64_t *received,
				uint64_t *dropped, uint64_t *freezes)
{
	struct live *lv = cap->priv;

	live_read_stats(lv);
	*received = lv->k_packets;
	*dropped = lv->k_drops;
	*freezes = lv->k_freezes;
}

static void live_breakloop(struct netmoon_capture *cap)
{
	struct live *lv = cap->priv;
	uint64_t one = 1;

	/* write(2) is async-signal-safe; a full counter is as good as a write. */
	if (lv && lv->wake_fd >= 0)
		(void)!write(lv->wake_fd, &one, sizeof(one));
}

static void live_stats(const struct netmoon_capture *cap, struct netmoon_capture_stats *st)
{
	struct live *lv = cap->priv;

	live_read_stats(lv);
	st->kernel_received = lv->k_packets;
	st->kernel_dropped = lv->k_drops;
	st->kernel_freezes = lv->k_freezes;
	st->file_offset = 0;
}

static void live_close(struct netmoon_capture *cap)
{
	struct live *lv = cap->priv;

	if (!lv)
		return;
	if (lv->ring)
		munmap(lv->ring, lv->ring_len);
	if (lv->fd >= 0)
		close(lv->fd); /* the promiscuous membership ends here */
	if (lv->wake_fd >= 0)
		close(lv->wake_fd);
	free(lv);
	cap->priv = NULL;
}

static const struct netmoon_capture_ops live_ops = {
	.name = "live",
	.next = live_next,
	.breakloop = live_breakloop,
	.stats = live_stats,
	.close = live_close,
};

/* --- opening ------------------------------------------------------------ */

static int live_socket(struct netmoon_capture *cap, int type, int *fdp)
{
	/* Protocol 0: nothing arrives before bind() picks the interface. */
	int fd = socket(AF_PACKET, type | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		int e = errno;

		if (e == EPERM || e == EACCES)
			return netmoon__capture_error(cap, NETMOON_E_NO_CAPABILITY, NETMOON__NO_OFFSET,
						      "live capture needs CAP_NET_RAW: run as root, or "
						      "grant it (setcap cap_net_raw,cap_net_admin+ep PROGRAM)");
		if (e == EAFNOSUPPORT)
			return netmoon__capture_error(cap, -e, NETMOON__NO_OFFSET,
						      "this kernel has no AF_PACKET sockets");
		return netmoon__capture_error(cap, -e, NETMOON__NO_OFFSET, "socket: %s",
					      strerror(e));
	}
	*fdp = fd;
	return 0;
}

static int sockopt(struct netmoon_capture *cap, int fd, int opt, const void *val, socklen_t len,
		   const char *what)
{
	if (setsockopt(fd, SOL_PACKET, opt, val, len) == 0)
		return 0;
	return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET, "%s: %s", what,
				      strerror(errno));
}

/* Look the interface up: index, whether it is up, its hardware type. */
static int live_ifinfo(struct netmoon_capture *cap, int fd, const char *ifname, int *ifindex,
		       int *hatype)
{
	struct ifreq ifr;

	if (strlen(ifname) >= IFNAMSIZ || !*ifname)
		return netmoon__capture_error(cap, -ENODEV, NETMOON__NO_OFFSET,
					      "no such interface (names have 1 to %d characters)",
					      IFNAMSIZ - 1);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		if (errno == ENODEV)
			return netmoon__capture_error(cap, -ENODEV, NETMOON__NO_OFFSET,
						      "no such interface (see ip link)");
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET,
					      "SIOCGIFINDEX: %s", strerror(errno));
	}
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET,
					      "SIOCGIFFLAGS: %s", strerror(errno));
	if (!(ifr.ifr_flags & IFF_UP))
		return netmoon__capture_error(cap, -ENETDOWN, NETMOON__NO_OFFSET,
					      "the interface is down (ip link set %s up)", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET,
					      "SIOCGIFHWADDR: %s", strerror(errno));
	*hatype = ifr.ifr_hwaddr.sa_family;
	return 0;
}

/* The loopback interface's index (the first with IFF_LOOPBACK), or -1. */
static int live_loopback_index(int fd)
{
	struct if_nameindex *all = if_nameindex(), *i;
	int found = -1;

	if (!all)
		return -1;
	for (i = all; i->if_index && found < 0; i++) {
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK))
			found = (int)i->if_index;
	}
	if_freenameindex(all);
	return found;
}

static int live_ring(struct netmoon_capture *cap, struct live *lv, uint32_t snaplen,
		     uint32_t timeout_ms)
{
	int version = TPACKET_V3, reserve = LIVE_RESERVE;
	struct tpacket_req3 req;
	size_t len = (size_t)lv->block_size * lv->nblocks;
	void *ring;
	int r;

	r = sockopt(cap, lv->fd, PACKET_VERSION, &version, sizeof(version), "PACKET_VERSION");
	if (r)
		return r;
	r = sockopt(cap, lv->fd, PACKET_RESERVE, &reserve, sizeof(reserve), "PACKET_RESERVE");
	if (r)
		return r;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = lv->block_size;
	req.tp_block_nr = lv->nblocks;
	/* V3 packs packets of any size into a block; the frame size only has to divide it. */
	req.tp_frame_size = TPACKET_ALIGNMENT << 7;
	if (req.tp_frame_size > lv->block_size)
		req.tp_frame_size = lv->block_size;
	req.tp_frame_nr = (lv->block_size / req.tp_frame_size) * lv->nblocks;
	req.tp_retire_blk_tov = timeout_ms;
	if (setsockopt(lv->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		int e = errno;

		if (e == ENOMEM || e == ENOBUFS)
			return netmoon__capture_error(cap, NETMOON_E_RING, NETMOON__NO_OFFSET,
						      "a ring of %" PRIu32 " blocks of %" PRIu32
						      " bytes does not fit the memory limits: %s",
						      lv->nblocks, lv->block_size, strerror(e));
		return netmoon__capture_error(cap, -e, NETMOON__NO_OFFSET,
					      "PACKET_RX_RING (%" PRIu32 " blocks of %" PRIu32
					      " bytes, snaplen %" PRIu32 "): %s",
					      lv->nblocks, lv->block_size, snaplen, strerror(e));
	}
	ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, lv->fd, 0);
	if (ring == MAP_FAILED) {
		int e = errno;

		if (e == ENOMEM || e == EAGAIN)
			return netmoon__capture_error(cap, NETMOON_E_RING, NETMOON__NO_OFFSET,
						      "mapping the %zu-byte ring: %s", len,
						      strerror(e));
		return netmoon__capture_error(cap, -e, NETMOON__NO_OFFSET, "mmap: %s",
					      strerror(e));
	}
	lv->ring = ring;
	lv->ring_len = len;
	return 0;
}

static int live_fanout(struct netmoon_capture *cap, struct live *lv, uint32_t group,
		       uint32_t mode, uint32_t flags)
{
	static const int modes[] = {
		[NETMOON_FANOUT_HASH] = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG,
		[NETMOON_FANOUT_LB] = PACKET_FANOUT_LB,
		[NETMOON_FANOUT_CPU] = PACKET_FANOUT_CPU,
	};
	uint32_t type = (uint32_t)modes[mode];
	int arg;

	/* The group's hook, not the member's socket option, decides (Linux 6.2). */
	if (flags & NETMOON_LIVE_F_IGNORE_OUTGOING)
		type |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	arg = (int)(group | type << 16);

	if (setsockopt(lv->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) == 0)
		return 0;
	if (errno == EINVAL || errno == EALREADY || errno == EBUSY)
		return netmoon__capture_error(cap, NETMOON_E_FANOUT, NETMOON__NO_OFFSET,
					      "fanout group %" PRIu32
					      " exists with another mode or on another interface",
					      group);
	return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET, "PACKET_FANOUT: %s",
				      strerror(errno));
}

int netmoon__live_open(struct netmoon_capture *cap, const char *ifname,
		       const struct netmoon_capture_live_opts *opts)
{
	uint32_t snaplen = OPTS_GET(opts, snaplen, 0);
	uint32_t bsize = OPTS_GET(opts, block_size, 0);
	uint32_t nblocks = OPTS_GET(opts, block_count, 0);
	uint32_t tmo = OPTS_GET(opts, block_timeout_ms, 0);
	uint32_t rtmo = OPTS_GET(opts, read_timeout_ms, 0);
	uint32_t flags = OPTS_GET(opts, flags, 0);
	uint32_t fgroup = OPTS_GET(opts, fanout_group, 0);
	uint32_t fmode = OPTS_GET(opts, fanout_mode, 0);
	bool any = strcmp(ifname, "any") == 0;
	long page = sysconf(_SC_PAGESIZE);
	struct sockaddr_ll sll;
	struct live *lv;
	int ifindex = 0, hatype = ARPHRD_ETHER, r;

	snaplen = snaplen ? snaplen : LIVE_DEFAULT_SNAPLEN;
	bsize = bsize ? bsize : LIVE_DEFAULT_BLOCK;
	nblocks = nblocks ? nblocks : LIVE_DEFAULT_BLOCKS;
	tmo = tmo ? tmo : LIVE_DEFAULT_TIMEOUT_MS;
	if ((bsize & (bsize - 1)) || bsize < (uint32_t)page || bsize > LIVE_MAX_BLOCK ||
	    snaplen > INT_MAX - LIVE_RESERVE ||
	    (flags & ~(uint32_t)(NETMOON_LIVE_F_NO_PROMISC | NETMOON_LIVE_F_IGNORE_OUTGOING)) ||
	    fgroup > 0xffff || fmode > NETMOON_FANOUT_CPU || rtmo > INT_MAX)
		return netmoon__capture_error(cap, -EINVAL, NETMOON__NO_OFFSET,
					      "invalid live capture options (block size %" PRIu32
					      ", %" PRIu32 " blocks, snaplen %" PRIu32
					      ", flags %#" PRIx32 ", fanout %" PRIu32 "/%" PRIu32 ")",
					      bsize, nblocks, snaplen, flags, fgroup, fmode);

	if (nblocks > UINT32_MAX / bsize)
		return netmoon__capture_error(cap, NETMOON_E_RING, NETMOON__NO_OFFSET,
					      "a ring of %" PRIu32 " blocks of %" PRIu32
					      " bytes: 4 GiB or more", nblocks, bsize);

	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return netmoon__capture_error(cap, -ENOMEM, NETMOON__NO_OFFSET, "out of memory");
	lv->fd = -1;
	lv->wake_fd = -1;
	lv->lo_ifindex = -1;
	lv->block_size = bsize;
	lv->nblocks = nblocks;
	lv->timeout_ms = rtmo ? (int)rtmo : -1;
	cap->priv = lv;
	cap->ops = &live_ops;
	cap->backend_filters = true;

	r = live_socket(cap, SOCK_RAW, &lv->fd);
	if (r)
		return r;
	if (!any) {
		r = live_ifinfo(cap, lv->fd, ifname, &ifindex, &hatype);
		if (r)
			return r;
	}
	lv->cooked = any || (hatype != ARPHRD_ETHER && hatype != ARPHRD_LOOPBACK);
	if (any || hatype == ARPHRD_LOOPBACK)
		lv->lo_ifindex = live_loopback_index(lv->fd);
	if (lv->cooked) {
		close(lv->fd);
		lv->fd = -1;
		r = live_socket(cap, SOCK_DGRAM, &lv->fd);
		if (r)
			return r;
	}
	cap->linktype = lv->cooked ? NETMOON_LINKTYPE_LINUX_SLL2 : NETMOON_LINKTYPE_ETHERNET;
	cap->pkt.linktype = (uint32_t)cap->linktype;

	lv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lv->wake_fd < 0)
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET, "eventfd: %s",
					      strerror(errno));
	r = live_ring(cap, lv, snaplen, tmo);
	if (r)
		return r;
	lv->snaplen = snaplen;
	r = netmoon__live_set_filter(cap, NULL, 0, false);
	if (r < 0)
		return netmoon__capture_error(cap, r, NETMOON__NO_OFFSET, "SO_ATTACH_FILTER: %s",
					      strerror(-r));
	if (flags & NETMOON_LIVE_F_IGNORE_OUTGOING) {
		int one = 1;

		r = sockopt(cap, lv->fd, PACKET_IGNORE_OUTGOING, &one, sizeof(one),
			    "PACKET_IGNORE_OUTGOING");
		if (r)
			return r;
	}

	/*
	 * Counters start at the open.  The socket (protocol 0) receives
	 * nothing before bind(); after it every packet counts, also those that
	 * arrive while the rest of the setup runs.
	 */
	live_read_stats(lv);
	lv->k_packets = lv->k_drops = lv->k_freezes = 0;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(lv->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		if (errno == ENETDOWN)
			return netmoon__capture_error(cap, -ENETDOWN, NETMOON__NO_OFFSET,
						      "the interface is down");
		if (errno == ENODEV)
			return netmoon__capture_error(cap, -ENODEV, NETMOON__NO_OFFSET,
						      "no such interface");
		return netmoon__capture_error(cap, -errno, NETMOON__NO_OFFSET, "bind: %s",
					      strerror(errno));
	}
	if (!any && !(flags & NETMOON_LIVE_F_NO_PROMISC)) {
		struct packet_mreq mr;

		memset(&mr, 0, sizeof(mr));
		mr.mr_ifindex = ifindex;
		mr.mr_type = PACKET_MR_PROMISC;
		r = sockopt(cap, lv->fd, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr),
			    "promiscuous mode (PACKET_ADD_MEMBERSHIP)");
		if (r)
			return r;
	}
	if (fgroup) {
		r = live_fanout(cap, lv, fgroup, fmode, flags);
		if (r)
			return r;
	}
	return 0;
}
