/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP in the connection table: who the initiator is, the connection state,
 * Zeek's history letters and conn_state, and the handshake RTTs.
 *
 * Three views of one connection are kept side by side because each answers a
 * different question: our state (enum netmoon_conn_state) drives timeouts and
 * the close/reuse decisions; Zeek's per-endpoint states give its conn_state
 * code exactly as Zeek derives it (base/protocols/conn/main.zeek from its
 * TCP_ENDPOINT_* states); the RTTs follow Wireshark, whose
 * tcp.analysis.initial_rtt is the reference for handshake_rtt.
 */
#include "conntable_int.h"

/* Serial-number arithmetic (RFC 1982): a >= b modulo 2^32. */
static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

unsigned netmoon__tcp_first_flip(const struct netmoon_frame *f, bool *guessed)
{
	uint8_t fl = (f->layers & NETMOON_FRAME_L_L4) ?
			     f->tcp_flags & (NETMOON_TCP_SYN | NETMOON_TCP_ACK) : 0;

	if (fl == NETMOON_TCP_SYN) {
		*guessed = false;
		return 0;
	}
	*guessed = true;
	/* A SYN/ACK answers a SYN we missed: its receiver initiated. */
	if (fl == (NETMOON_TCP_SYN | NETMOON_TCP_ACK))
		return 1;
	/*
	 * Mid-stream: Zeek's heuristic, reduced to port numbers.  A packet from
	 * a well-known port to an ephemeral one is most likely the server's.
	 */
	return f->src_port < 1024 && f->dst_port >= 1024;
}

void netmoon__tcp_init(struct netmoon_conn *e, bool flipped, bool guessed)
{
	e->hflags = guessed ? HF_DIR_GUESSED : 0;
	if (flipped)
		ct_hist_add(e, H_FLIP);
}

bool netmoon__tcp_is_reuse(const struct netmoon_conn *e, unsigned d,
			   const struct netmoon_frame *f)
{
	/* tshark starts a new stream too on a SYN after FIN/RST. */
	if (e->state == NETMOON_CONN_TIME_WAIT || e->state == NETMOON_CONN_RESET)
		return true;
	/*
	 * Not closed: a retransmitted SYN carries the same ISN and stays in the
	 * connection; any other SYN is a new one on a reused tuple (Zeek's
	 * IsReuse and tshark agree).  When orig's ISN is unknown (picked up
	 * mid-stream, or its FIN's sequence number took the place), a SYN is a
	 * new connection as well.
	 */
	if (d == 0 && (ct_cflags(e) & CF_ISN) && f->tcp_seq == e->seq_o)
		return false;
	return true;
}

/*
 * Zeek's history letters for one packet (its update_history()): a packet
 * with several of SYN/FIN/RST is 'Q' (Zeek writes 'I' for FIN+RST; we fold
 * it into 'Q'); otherwise SYN gives S or H, FIN F, RST R; a packet with none
 * of them gives D when it carries payload, else A when it has ACK.
 */
static void tcp_history(struct netmoon_conn *e, unsigned d, uint8_t fl, uint32_t len)
{
	unsigned nbits = !!(fl & NETMOON_TCP_SYN) + !!(fl & NETMOON_TCP_FIN) +
			 !!(fl & NETMOON_TCP_RST);
	unsigned base = d ? H_RESP : 0;
	uint16_t bit;

	if (netmoon__likely(nbits == 0)) {
		if (len) {
			bit = d ? HF_D1 : HF_D0;
			if (!(e->hflags & bit)) {
				e->hflags |= bit;
				ct_hist_add(e, base + H_D);
			}
		} else if (fl & NETMOON_TCP_ACK) {
			bit = d ? HF_A1 : HF_A0;
			if (!(e->hflags & bit)) {
				e->hflags |= bit;
				ct_hist_add(e, base + H_A);
			}
		}
		return;
	}
	if (nbits > 1)
		ct_hist_add(e, base + H_Q);
	else if (fl & NETMOON_TCP_SYN)
		ct_hist_add(e, base + ((fl & NETMOON_TCP_ACK) ? H_H : H_S));
	else if (fl & NETMOON_TCP_FIN)
		ct_hist_add(e, base + H_F);
	else
		ct_hist_add(e, base + H_R);
}

/*
 * Zeek's endpoint state machine (TCPSessionAdapter::UpdateStateMachine and
 * its Update*State helpers), without the parts that only raise "weirds".
 */
static void tcp_zeek(struct netmoon_conn *e, unsigned d, uint8_t fl, uint32_t len)
{
	bool syn = fl & NETMOON_TCP_SYN, ack = fl & NETMOON_TCP_ACK;
	bool fin = fl & NETMOON_TCP_FIN, rst = fl & NETMOON_TCP_RST;
	unsigned me = ct_zk(e, d), peer = ct_zk(e, !d);

	switch (me) {
	case ZK_INACTIVE:
		if (syn) {
			if (d == 0) {
				me = ack ? ZK_SYN_ACK_SENT : ZK_SYN_SENT;
			} else {
				if (peer == ZK_SYN_SENT)
					peer = ZK_ESTABLISHED;
				me = ZK_ESTABLISHED;
			}
		}
		if (fin)
			me = ZK_CLOSED;
		if (rst)
			me = ZK_RESET;
		if (me == ZK_INACTIVE) {
			if (d == 1 && len == 0 && peer == ZK_SYN_SENT)
				; /* an early ACK of the SYN is not a partial connection */
			else if (ack && peer == ZK_ESTABLISHED)
				me = ZK_ESTABLISHED; /* the SYN was missed */
			else
				me = ZK_PARTIAL;
		}
		break;
	case ZK_SYN_SENT:
	case ZK_SYN_ACK_SENT:
		if (fin)
			me = ZK_CLOSED;
		if (rst)
			me = ZK_RESET;
		break;
	case ZK_ESTABLISHED:
	case ZK_PARTIAL:
		if (syn && !ack && me == ZK_PARTIAL && peer == ZK_INACTIVE)
			me = ZK_SYN_SENT;
		if (fin && !rst)
			me = ZK_CLOSED;
		if (rst)
			me = ZK_RESET;
		break;
	case ZK_CLOSED:
		if (rst && peer != ZK_CLOSED)
			me = ZK_RESET;
		break;
	default:
		break;
	}
	ct_zk_set(e, d, me);
	ct_zk_set(e, !d, peer);
}

/*
 * Handshake RTTs.  Wireshark's initial RTT is measured at the first segment
 * with ACK and without SYN, from either side, after a SYN: from the most
 * recent SYN without ACK (a retransmitted SYN restarts it) to that segment.
 * rtt_syn runs from that same latest SYN to the first SYN/ACK, rtt_ack from
 * the first SYN/ACK to that segment; when a SYN is sent again after the
 * SYN/ACK, the ACK may answer a later SYN/ACK and rtt_ack is not reported.
 *
 * Times are the packets' own stamps, not the table's monotonic time.
 *
 * Two slots hold it all: rtt_a is the latest SYN's time and then the
 * handshake RTT; rtt_r is rtt_syn, or (SYN/ACK without an earlier SYN) the
 * SYN/ACK's time and then rtt_ack.  With both, rtt_ack = handshake - rtt_syn.
 */
/* a - b, saturated: packets' own time stamps may be any int64_t. */
static inline int64_t ts_sub(int64_t a, int64_t b)
{
	int64_t d;

	if (__builtin_sub_overflow(a, b, &d))
		return a < b ? INT64_MIN : INT64_MAX;
	return d;
}

static void tcp_rtt(struct netmoon_conn *e, uint8_t fl, int64_t ts)
{
	uint32_t cf = ct_cflags(e);

	if (cf & (CF_HANDSHAKE | CF_RTT_ACK))
		return; /* measured once per connection */
	if ((fl & (NETMOON_TCP_SYN | NETMOON_TCP_ACK)) == NETMOON_TCP_SYN) {
		e->rtt_a = ts;
		ct_cflags_set(e, CF_SYN_PENDING);
		if (cf & CF_RTT_SYN)
			ct_cflags_clear(e, CF_ACK_OK);
		e->hflags |= HF_RTT_ARMED;
		return;
	}
	if (fl & NETMOON_TCP_SYN) { /* SYN/ACK */
		if (cf & CF_SYNACK_SEEN)
			return;
		if (cf & CF_SYN_PENDING) {
			e->rtt_r = ts_sub(ts, e->rtt_a);
			ct_cflags_set(e, CF_SYNACK_SEEN | CF_ACK_OK | CF_RTT_SYN);
		} else {
			e->rtt_r = ts;
			ct_cflags_set(e, CF_SYNACK_SEEN | CF_ACK_OK);
		}
		e->hflags |= HF_RTT_ARMED;
		return;
	}
	if (!(fl & NETMOON_TCP_ACK) || !(cf & (CF_SYN_PENDING | CF_SYNACK_SEEN)))
		return;
	/* The segment that completes the handshake, as far as RTTs go. */
	if (cf & CF_SYN_PENDING) {
		e->rtt_a = ts_sub(ts, e->rtt_a);
		ct_cflags_set(e, CF_HANDSHAKE);
	}
	if ((cf & (CF_SYNACK_SEEN | CF_ACK_OK)) == (CF_SYNACK_SEEN | CF_ACK_OK)) {
		if (!(cf & CF_RTT_SYN))
			e->rtt_r = ts_sub(ts, e->rtt_r);
		ct_cflags_set(e, CF_RTT_ACK);
	}
	ct_cflags_clear(e, CF_SYN_PENDING);
	e->hflags &= (uint16_t)~HF_RTT_ARMED;
}

uint32_t netmoon__tcp_rtts(const struct netmoon_conn *e, int64_t *rtt_syn, int64_t *rtt_ack,
			   int64_t *handshake)
{
	uint32_t cf = ct_cflags(e), valid = 0;

	*rtt_syn = *rtt_ack = *handshake = 0;
	if (cf & CF_RTT_SYN) {
		*rtt_syn = e->rtt_r;
		valid |= NETMOON_CONN_F_RTT_SYN;
	}
	if (cf & CF_HANDSHAKE) {
		*handshake = e->rtt_a;
		valid |= NETMOON_CONN_F_HANDSHAKE;
	}
	if (cf & CF_RTT_ACK) {
		/* With rtt_syn known, the handshake was measured as well. */
		*rtt_ack = (cf & CF_RTT_SYN) ? ts_sub(e->rtt_a, e->rtt_r) : e->rtt_r;
		valid |= NETMOON_CONN_F_RTT_ACK;
	}
	return valid;
}

/*
 * Closing: each side's FIN is remembered by its sequence number (the FIN
 * takes the number after its data, and after a SYN in the same segment) and
 * counts as acknowledged once the other side's ACK reaches past it.
 */
static void tcp_fin(struct netmoon_conn *e, unsigned d, const struct netmoon_frame *f)
{
	uint8_t fl = f->tcp_flags;
	uint16_t other_fin = d ? HF_FIN0 : HF_FIN1;
	uint32_t other_ack = d ? CF_FACK0 : CF_FACK1;

	if ((fl & NETMOON_TCP_FIN) && !(e->hflags & (d ? HF_FIN1 : HF_FIN0))) {
		uint32_t fseq = f->tcp_seq + f->payload_len + !!(fl & NETMOON_TCP_SYN);

		if (d) {
			e->seq_r = fseq;
			e->hflags |= HF_FIN1;
		} else {
			e->seq_o = fseq; /* orig's ISN is no longer needed */
			ct_cflags_clear(e, CF_ISN);
			e->hflags |= HF_FIN0;
		}
	}
	if ((fl & NETMOON_TCP_ACK) && (e->hflags & other_fin) && !(ct_cflags(e) & other_ack) &&
	    seq_geq(f->tcp_ack, (d ? e->seq_o : e->seq_r) + 1))
		ct_cflags_set(e, other_ack);
}

static uint8_t tcp_closing_state(const struct netmoon_conn *e)
{
	uint32_t cf = ct_cflags(e);
	unsigned fins = !!(e->hflags & HF_FIN0) + !!(e->hflags & HF_FIN1);
	unsigned acked = !!((e->hflags & HF_FIN0) && (cf & CF_FACK0)) +
			 !!((e->hflags & HF_FIN1) && (cf & CF_FACK1));

	if (fins == 1)
		return acked ? NETMOON_CONN_CLOSE_WAIT : NETMOON_CONN_FIN_WAIT;
	return acked == 2 ? NETMOON_CONN_TIME_WAIT : NETMOON_CONN_LAST_ACK;
}

void netmoon__tcp_update(struct netmoon_conn *e, unsigned d, const struct netmoon_frame *f,
			 int64_t ts)
{
	uint8_t fl = f->tcp_flags, st = e->state;
	bool syn = fl & NETMOON_TCP_SYN, ack = fl & NETMOON_TCP_ACK;

	tcp_history(e, d, fl, f->payload_len);
	if ((fl & (NETMOON_TCP_SYN | NETMOON_TCP_FIN | NETMOON_TCP_RST)) ||
	    ct_zk(e, d) < ZK_PARTIAL)
		tcp_zeek(e, d, fl, f->payload_len);
	if (syn || (e->hflags & HF_RTT_ARMED))
		tcp_rtt(e, fl, ts);

	/* Remember orig's ISN to tell a retransmitted SYN from a new connection. */
	if (syn && !(e->hflags & HF_FIN0) && !(ct_cflags(e) & CF_ISN)) {
		if (d == 0 && !ack) {
			e->seq_o = f->tcp_seq;
			ct_cflags_set(e, CF_ISN);
		} else if (d == 1 && ack) {
			e->seq_o = f->tcp_ack - 1;
			ct_cflags_set(e, CF_ISN);
		}
	}

	if (netmoon__likely(st == NETMOON_CONN_ESTABLISHED &&
			    !(fl & (NETMOON_TCP_FIN | NETMOON_TCP_RST))))
		return;
	if (st == NETMOON_CONN_TIME_WAIT || st == NETMOON_CONN_RESET)
		return; /* closed: late packets are counted, nothing changes */
	if (fl & NETMOON_TCP_RST) {
		e->state = NETMOON_CONN_RESET;
		return;
	}
	switch (st) {
	case 0: /* the connection's first packet */
		if (syn)
			st = ack ? NETMOON_CONN_SYN_RECV : NETMOON_CONN_SYN_SENT;
		else
			st = NETMOON_CONN_ESTABLISHED;
		break;
	case NETMOON_CONN_SYN_SENT:
		if (d == 1 && syn && ack)
			st = NETMOON_CONN_SYN_RECV;
		else if (d == 0 && ack && !syn)
			st = NETMOON_CONN_ESTABLISHED; /* the SYN/ACK was not captured */
		break;
	case NETMOON_CONN_SYN_RECV:
		if (d == 0 && ack && !syn)
			st = NETMOON_CONN_ESTABLISHED;
		break;
	default:
		break;
	}
	tcp_fin(e, d, f);
	if (e->hflags & (HF_FIN0 | HF_FIN1))
		st = tcp_closing_state(e);
	e->state = st;
}

/* Zeek's /^\^?S[^HAFGIQ]*R.*$/ on the history: orig sent SYN then RST only. */
static bool hist_rstos0(uint64_t h)
{
	if ((h & 0xf) == H_FLIP)
		h >>= 4;
	if ((h & 0xf) != H_S)
		return false;
	for (h >>= 4; h; h >>= 4) {
		unsigned c = h & 0xf;

		if (c == H_R)
			return true;
		if (c == H_H || c == H_A || c == H_F || c == H_Q)
			return false;
	}
	return false;
}

/* Zeek's conn_state() for TCP, from the two endpoint states. */
int netmoon__tcp_zeek_state(const struct netmoon_conn *e)
{
	unsigned os = ct_zk(e, 0), rs = ct_zk(e, 1);
	bool o_inactive = os == ZK_INACTIVE || os == ZK_PARTIAL;
	bool r_inactive = rs == ZK_INACTIVE || rs == ZK_PARTIAL;

	if (rs == ZK_RESET) {
		if (os == ZK_SYN_SENT || os == ZK_SYN_ACK_SENT ||
		    (os == ZK_RESET && !e->dir[0].payload_bytes && !e->dir[1].payload_bytes))
			return NETMOON_ZEEK_REJ;
		return o_inactive ? NETMOON_ZEEK_RSTRH : NETMOON_ZEEK_RSTR;
	}
	if (os == ZK_RESET) {
		if (r_inactive)
			return hist_rstos0(e->history) ? NETMOON_ZEEK_RSTOS0 : NETMOON_ZEEK_OTH;
		return NETMOON_ZEEK_RSTO;
	}
	if (rs == ZK_CLOSED && os == ZK_CLOSED)
		return NETMOON_ZEEK_SF;
	if (os == ZK_CLOSED)
		return r_inactive ? NETMOON_ZEEK_SH : NETMOON_ZEEK_S2;
	if (rs == ZK_CLOSED)
		return o_inactive ? NETMOON_ZEEK_SHR : NETMOON_ZEEK_S3;
	if (os == ZK_SYN_SENT && rs == ZK_INACTIVE)
		return NETMOON_ZEEK_S0;
	if (os == ZK_ESTABLISHED && rs == ZK_ESTABLISHED)
		return NETMOON_ZEEK_S1;
	return NETMOON_ZEEK_OTH;
}
