/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file conntable.h
 * @brief The connection table: bounded, bidirectional flow tracking.
 *
 * Connections are keyed by VLAN IDs (unless turned off), IP version,
 * protocol, both addresses and both ports (ICMP: type and identifier),
 * normalised so that both directions find one entry.  The initiator
 * ("orig") is the sender of the first SYN without ACK; a TCP connection first
 * seen mid-stream has NETMOON_CONN_F_DIR_GUESSED set.  For other protocols the
 * sender of the first packet is the initiator.
 *
 * Time only comes in with each packet: the table never reads a clock, so a
 * capture file replays the same way every time.  The number of entries never
 * exceeds netmoon_conntable_opts::max_conns; when the table is full, an
 * expired entry is reused first, then the oldest connection never answered
 * (TCP before its handshake completes; UDP, ICMP and other flows whose
 * responder has not sent a first fragment or a whole packet yet), then the
 * least recently active connection.  Near the cap, an emergency mode shortens
 * the timeout of the never-answered (see netmoon_conntable_opts).
 *
 * @par Thread safety
 * A table is used by one thread at a time.  Different tables are independent.
 */
#ifndef NETMOON_CONNTABLE_H
#define NETMOON_CONNTABLE_H

#include <netmoon/common.h>
#include <netmoon/frame.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque connection table. */
struct netmoon_conntable;
/** Opaque connection entry, read with netmoon_conn_get_info(). */
struct netmoon_conn;

/** @brief TCP (and generic) connection states, as printed by netmoon_conn_state_str(). */
enum netmoon_conn_state {
	NETMOON_CONN_SYN_SENT = 1,    /**< SYN seen, no SYN/ACK yet. */
	NETMOON_CONN_SYN_RECV = 2,    /**< SYN/ACK seen, handshake not completed. */
	NETMOON_CONN_ESTABLISHED = 3, /**< Handshake completed, or connection picked up mid-stream. */
	NETMOON_CONN_FIN_WAIT = 4,    /**< One side sent FIN. */
	NETMOON_CONN_CLOSE_WAIT = 5,  /**< The first FIN was acknowledged by the other side. */
	NETMOON_CONN_LAST_ACK = 6,    /**< Both sides sent FIN; the last is not acknowledged yet. */
	NETMOON_CONN_TIME_WAIT = 7,   /**< Both FINs acknowledged. */
	NETMOON_CONN_CLOSED = 8,      /**< Closed and lingered out (reported when removed). */
	NETMOON_CONN_RESET = 9,       /**< Ended by RST. */
	NETMOON_CONN_ACTIVE = 10,     /**< Non-TCP flow that is still active. */
	NETMOON_CONN_EXPIRED = 11,    /**< Non-TCP flow removed after its idle timeout. */
};

/** @brief Zeek's conn_state summary codes, as printed by netmoon_conn_zeek_state_str(). */
enum netmoon_zeek_state {
	NETMOON_ZEEK_OTH = 0,    /**< No SYN seen, just midstream traffic. */
	NETMOON_ZEEK_S0 = 1,     /**< Connection attempt seen, no reply. */
	NETMOON_ZEEK_S1 = 2,     /**< Established, not terminated. */
	NETMOON_ZEEK_SF = 3,     /**< Normal establishment and termination. */
	NETMOON_ZEEK_REJ = 4,    /**< Connection attempt rejected. */
	NETMOON_ZEEK_S2 = 5,     /**< Established, close attempt by originator seen (no reply). */
	NETMOON_ZEEK_S3 = 6,     /**< Established, close attempt by responder seen (no reply). */
	NETMOON_ZEEK_RSTO = 7,   /**< Established, originator aborted (RST). */
	NETMOON_ZEEK_RSTR = 8,   /**< Responder sent a RST. */
	NETMOON_ZEEK_RSTOS0 = 9, /**< Originator sent a SYN then a RST, no SYN/ACK seen. */
	NETMOON_ZEEK_RSTRH = 10, /**< Responder sent a SYN/ACK then a RST, no SYN seen. */
	NETMOON_ZEEK_SH = 11,    /**< Originator sent a SYN then a FIN, no SYN/ACK seen. */
	NETMOON_ZEEK_SHR = 12,   /**< Responder sent a SYN/ACK then a FIN, no SYN seen. */
};

/** @brief Why an entry left the table (argument of the on_remove hook). */
enum netmoon_remove_reason {
	NETMOON_REMOVE_CLOSED = 1,  /**< A closed/reset connection finished lingering. */
	NETMOON_REMOVE_EXPIRED = 2, /**< Idle longer than its state's timeout. */
	NETMOON_REMOVE_EVICTED = 3, /**< Pushed out to make room while the table was full. */
	NETMOON_REMOVE_REUSED = 4,  /**< A new SYN arrived on the tuple of a closed connection. */
	NETMOON_REMOVE_FLUSH = 5,   /**< netmoon_conntable_flush() or destruction. */
};

/** @name Bits of netmoon_conn_info::flags. */
/**@{*/
#define NETMOON_CONN_F_DIR_GUESSED 0x01u /**< The initiator was not seen sending the first SYN. */
#define NETMOON_CONN_F_RTT_SYN 0x02u     /**< netmoon_conn_info::rtt_syn_ns is valid. */
#define NETMOON_CONN_F_RTT_ACK 0x04u     /**< netmoon_conn_info::rtt_ack_ns is valid. */
#define NETMOON_CONN_F_HANDSHAKE 0x08u   /**< netmoon_conn_info::handshake_rtt_ns is valid. */
/**@}*/

/** @brief Counters of one direction of a connection. */
struct netmoon_conn_dir {
	uint64_t pkts;          /**< Packets. */
	uint64_t bytes;         /**< Wire bytes (frame length, as tshark's frame.len). */
	uint64_t ip_bytes;      /**< IP bytes (IP total length). */
	uint64_t payload_bytes; /**< Transport payload bytes. */
};

/**
 * @brief Snapshot of one connection, filled by netmoon_conn_get_info().
 *
 * Caller-allocated; set @c sz (NETMOON_OPTS() does).  Members are only appended.
 */
struct netmoon_conn_info {
	size_t sz;                  /**< Set by the caller to sizeof this struct. */
	uint64_t id;                /**< Sequence number of the connection in its table, from 1. */
	int64_t ts_first_ns;        /**< Time of the first packet, ns since the epoch. */
	int64_t ts_last_ns;         /**< Time of the latest packet. */
	uint8_t ip_version;         /**< 4 or 6. */
	uint8_t proto;              /**< IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
	uint8_t vlan_count;         /**< VLAN IDs in the key (0 when untagged or VLANs are ignored). */
	uint8_t reserved0;          /**< Zero. */
	uint16_t vlan_ids[2];       /**< VLAN IDs in the key, outer first. */
	uint8_t orig_addr[16];      /**< Initiator address (IPv4 in the first 4 bytes). */
	uint8_t resp_addr[16];      /**< Responder address. */
	uint16_t orig_port;         /**< Initiator port; ICMP: the type (of the request for echo-like pairs). */
	uint16_t resp_port;         /**< Responder port; ICMP: the identifier (echo-like) or the code. */
	uint32_t flags;             /**< NETMOON_CONN_F_* bits. */
	int32_t state;              /**< enum netmoon_conn_state. */
	int32_t zeek_state;         /**< enum netmoon_zeek_state. */
	char history[24];           /**< Zeek history letters, NUL-terminated (e.g. "ShADadFf"). */
	struct netmoon_conn_dir orig; /**< Initiator to responder. */
	struct netmoon_conn_dir resp; /**< Responder to initiator. */
	int64_t rtt_syn_ns;         /**< Latest SYN before the first SYN/ACK to that SYN/ACK; valid with NETMOON_CONN_F_RTT_SYN. */
	int64_t rtt_ack_ns;         /**< First SYN/ACK to the ACK completing the handshake (not reported when the SYN was sent again after that SYN/ACK); NETMOON_CONN_F_RTT_ACK. */
	int64_t handshake_rtt_ns;   /**< Latest SYN to the ACK completing the handshake: the first segment with ACK and without SYN, from either side, after a SYN (tshark's tcp.analysis.initial_rtt; a rejected attempt's RST/ACK counts); NETMOON_CONN_F_HANDSHAKE. */
};

/**
 * @brief Fill @p info from @p conn.
 * @param conn       A connection handed out by the table (hook, iteration, track).
 * @param[in,out] info  Caller's struct with @c sz set.
 * @return 0, or -EINVAL for NULL arguments or a @c sz too small.
 */
NETMOON_API int netmoon_conn_get_info(const struct netmoon_conn *conn,
				      struct netmoon_conn_info *info);

/**
 * @brief Name of a connection state: "ESTABLISHED", "RESET", "ACTIVE", ...
 * @param state  enum netmoon_conn_state.
 * @return A static string; "UNKNOWN" out of range.
 */
NETMOON_API const char *netmoon_conn_state_str(int state);

/**
 * @brief Zeek's code for a conn_state value: "S0", "SF", "REJ", ...
 * @param zeek_state  enum netmoon_zeek_state.
 * @return A static string; "OTH" out of range.
 */
NETMOON_API const char *netmoon_conn_zeek_state_str(int zeek_state);

/** @name Bits of netmoon_conntable_opts::flags. */
/**@{*/
#define NETMOON_CT_F_IGNORE_VLAN 0x01u /**< Leave VLAN IDs out of the key. */
#define NETMOON_CT_F_NO_EVICT 0x02u    /**< When full, refuse new connections instead of evicting live ones (expired ones are still reused). */
/**@}*/

/**
 * @brief Options for netmoon_conntable_new().  Zero means default; NULL all defaults.
 *
 * Timeouts are in nanoseconds; a per-state timeout of 0 uses @c idle_timeout_ns.
 */
struct netmoon_conntable_opts {
	size_t sz;                  /**< Set by NETMOON_OPTS(). */
	uint32_t max_conns;         /**< Hard cap on entries; 0 = 262144; at most 2^30. */
	uint32_t flags;             /**< NETMOON_CT_F_* bits. */
	int64_t idle_timeout_ns;    /**< Default idle timeout; 0 = 60 s. */
	int64_t tcp_syn_timeout_ns; /**< TCP before the handshake completes. */
	int64_t tcp_established_timeout_ns; /**< TCP established. */
	int64_t tcp_closing_timeout_ns; /**< TCP after the first FIN. */
	int64_t tcp_closed_timeout_ns;  /**< Linger after TIME_WAIT or RESET before removal. */
	int64_t udp_timeout_ns;     /**< UDP. */
	int64_t icmp_timeout_ns;    /**< ICMP and ICMPv6. */
	int64_t other_timeout_ns;   /**< Other IP protocols. */
	uint32_t frag_slots;        /**< Remembered first fragments for attributing later ones; 0 = 1024; at most 2^24. */
	/** Emergency mode starts when the table holds this percentage of
	 *  max_conns (1 to 100; 0 = 90; 101 = never).  In it, connections
	 *  not answered yet (TCP before its handshake completes, UDP, ICMP and
	 *  others the responder never sent on) time out after
	 *  emergency_timeout_ns, as Suricata does under a flood.  @since 0.2 */
	uint32_t emergency_high_pct;
	/** ... and ends below this percentage (0 = emergency_high_pct - 20);
	 *  must be below emergency_high_pct.  @since 0.2 */
	uint32_t emergency_low_pct;
	/** Timeout of unanswered connections in emergency mode; 0 = 5 s (a
	 *  longer normal timeout is shortened to it, a shorter one is kept).
	 *  @since 0.2 */
	int64_t emergency_timeout_ns;
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Hook called for a connection event.
 * @param conn  The connection; valid only until the hook returns.
 * @param user  The pointer given to netmoon_conntable_set_hooks().
 * @return 0 to continue; a negative errno is handed back by the function
 *         that fired the hook (after the table is consistent again).
 */
typedef int (*netmoon_conn_cb)(const struct netmoon_conn *conn, void *user);

/**
 * @brief Hook called when a connection changes state.
 * @param conn       The connection, already in its new state.
 * @param old_state  The previous enum netmoon_conn_state.
 * @param user       The pointer given to netmoon_conntable_set_hooks().
 * @return As netmoon_conn_cb.
 */
typedef int (*netmoon_conn_state_cb)(const struct netmoon_conn *conn, int old_state, void *user);

/**
 * @brief Hook called just before a connection leaves the table.
 * @param conn    The connection with its final counters.
 * @param reason  enum netmoon_remove_reason.
 * @param user    The pointer given to netmoon_conntable_set_hooks().
 * @return As netmoon_conn_cb.
 */
typedef int (*netmoon_conn_remove_cb)(const struct netmoon_conn *conn, int reason, void *user);

/**
 * @brief The table's hooks.  Declare with NETMOON_OPTS(); NULL members are not called.
 *
 * Hooks must not modify the table they are called from.
 */
struct netmoon_conntable_hooks {
	size_t sz;                    /**< Set by NETMOON_OPTS(). */
	netmoon_conn_cb on_new;       /**< A connection was created. */
	netmoon_conn_state_cb on_state; /**< A connection changed state. */
	netmoon_conn_cb on_close;     /**< A TCP connection reached TIME_WAIT or RESET (it lingers for late packets). */
	netmoon_conn_remove_cb on_remove; /**< A connection is leaving the table (closed, expired, evicted, reused, flushed). */
	/** @cond */ size_t :0; /** @endcond */
};

/** @brief Counters of a table. */
struct netmoon_conntable_stats {
	size_t sz;               /**< Set by the caller. */
	uint64_t active;         /**< Entries now. */
	uint64_t max_conns;      /**< The cap. */
	uint64_t peak;           /**< Highest number of entries seen. */
	uint64_t created;        /**< Connections created. */
	uint64_t closed;         /**< Removed after closing. */
	uint64_t expired;        /**< Removed after idling out. */
	uint64_t evicted;        /**< Removed to make room. */
	uint64_t refused;        /**< New connections not created because the table was full. */
	uint64_t reused;         /**< Closed connections replaced by a new SYN on the same tuple. */
	uint64_t packets;        /**< Packets given to netmoon_conntable_track(). */
	uint64_t untracked;      /**< Packets with no IP header, or otherwise not trackable. */
	uint64_t frag_attributed;   /**< Non-first fragments attributed to a connection. */
	uint64_t frag_unattributed; /**< Non-first fragments whose first fragment was not seen. */
	uint64_t memory_bytes;   /**< Bytes the table may use at its cap (entries, buckets, fragment slots). */
	uint64_t entry_bytes;    /**< Bytes per connection at the cap, table slot included. */
	/** Of the evicted, how many had never been answered (evicted first,
	 *  as Linux conntrack's early drop does).  @since 0.2 */
	uint64_t evicted_embryonic;
	uint64_t emergencies;    /**< Times emergency mode started.  @since 0.2 */
	uint64_t emergency;      /**< 1 while in emergency mode, else 0.  @since 0.2 */
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Create a table.
 * @param[out] ct  Receives the table.
 * @param opts     Options or NULL.
 * @return 0; -ENOMEM; -EINVAL for NULL @p ct or bad options.
 */
NETMOON_API int netmoon_conntable_new(struct netmoon_conntable **ct,
				      const struct netmoon_conntable_opts *opts);

/**
 * @brief Flush (firing on_remove with NETMOON_REMOVE_FLUSH) and free. NULL is ignored.
 * @param ct  Table.
 */
NETMOON_API void netmoon_conntable_free(struct netmoon_conntable *ct);

/**
 * @brief Install hooks.
 * @param ct     Table.
 * @param hooks  Hooks (copied), or NULL to remove all.
 * @param user   Passed to every hook.
 * @return 0; -EINVAL (the hooks in place stay); -EBUSY from inside a hook.
 */
NETMOON_API int netmoon_conntable_set_hooks(struct netmoon_conntable *ct,
					    const struct netmoon_conntable_hooks *hooks, void *user);

/**
 * @brief Account one decoded frame.
 *
 * Finds or creates the connection, updates counters, state, history and
 * RTTs, fires hooks, and expires a few idle entries (incremental expiry).
 * @param ct         Table.
 * @param f          Frame decoded by netmoon_frame_parse().
 * @param ts_ns      The packet's time stamp; time never goes backwards inside
 *                   the table (an earlier time stamp is treated as the latest seen).
 * @param[out] conn  If not NULL, receives the connection (NULL when untracked);
 *                   valid until the next call that changes the table.
 * @return 0 when tracked; 1 when not trackable (no IP header, or a
 *         non-first fragment whose first fragment was not seen: counted);
 *         NETMOON_E_TABLE_FULL when a new connection was refused;
 *         a hook's negative return; -EINVAL; -EBUSY from inside a hook.
 */
NETMOON_API int netmoon_conntable_track(struct netmoon_conntable *ct,
					const struct netmoon_frame *f, int64_t ts_ns,
					const struct netmoon_conn **conn);

/**
 * @brief Account a burst of decoded frames, hiding memory latency.
 *
 * The result is exactly that of calling netmoon_conntable_track() for each
 * frame in order (same table state, counters, hooks and hook order); the
 * table looks ahead in the burst to prefetch the hash buckets and entries
 * of later frames.  Bursts of 16 to a few hundred frames gain the most.
 * @param ct     Table.
 * @param frames @p n frames decoded by netmoon_frame_parse(), one after the
 *               other with a stride of @c frames[0].sz: every frame must have
 *               that same @c sz, at least what netmoon_conntable_track()
 *               accepts and a multiple of the struct's alignment (a
 *               caller's sizeof(struct netmoon_frame) always is).
 * @param ts_ns  @p n time stamps, one per frame, as for netmoon_conntable_track().
 * @param n      Number of frames; 0 does nothing.
 * @return The number of frames tracked (those for which
 *         netmoon_conntable_track() would return 0; untracked and refused
 *         frames are counted in the table's stats as it counts them); or,
 *         when a hook returned an error, the first such error, after the
 *         whole burst was accounted (a hook error does not stop the burst,
 *         as it does not stop a packet); -EINVAL for a NULL @p ct, NULL
 *         @p frames or @p ts_ns with @p n > 0, or a bad @c sz (then nothing
 *         is done); -EBUSY from inside a hook.
 */
NETMOON_API int64_t netmoon_conntable_track_burst(struct netmoon_conntable *ct,
						  const struct netmoon_frame *frames,
						  const int64_t *ts_ns, size_t n);

/**
 * @brief Remove entries idle past their timeout at time @p now_ns.
 *
 * Entries leave in order of last activity, tracked at a granularity of
 * 1/64 of their timeout: an entry is never removed before its timeout and at
 * most that granularity after it.  (A packet that arrives for an entry past
 * its timeout always starts a new connection.)
 * @param ct      Table.
 * @param now_ns  Current time (capture time, not wall-clock, for files).
 * @param budget  At most this many removals; 0 = no limit.
 * @return Number removed, a hook's negative return, or -EBUSY from inside a hook.
 */
NETMOON_API int64_t netmoon_conntable_expire(struct netmoon_conntable *ct, int64_t now_ns,
					     uint64_t budget);

/**
 * @brief Remove every entry, firing on_remove with NETMOON_REMOVE_FLUSH.
 * @param ct  Table.
 * @return Number removed, or a hook's negative return (the rest stay);
 *         -EBUSY from inside a hook.
 */
NETMOON_API int64_t netmoon_conntable_flush(struct netmoon_conntable *ct);

/**
 * @brief Iterate: the connection after @p prev, or the first when @p prev is NULL.
 * @param ct    Table.
 * @param prev  A connection of this table, or NULL.
 * @return The next connection, or NULL at the end.  Pointers are valid until
 *         the table changes (track, expire, flush).
 */
NETMOON_API const struct netmoon_conn *netmoon_conntable_next(const struct netmoon_conntable *ct,
							      const struct netmoon_conn *prev);

/**
 * @brief Call @p cb for every connection.
 * @param ct    Table.
 * @param cb    Callback; it must not change the table.
 * @param user  Passed to @p cb.
 * @return 0 after visiting all; the callback's non-zero return when it stopped the walk.
 */
NETMOON_API int netmoon_conntable_foreach(const struct netmoon_conntable *ct, netmoon_conn_cb cb,
					  void *user);

/**
 * @brief Read the table's counters.
 * @param ct         Table.
 * @param[in,out] st Caller's struct with @c sz set.
 * @return 0 or -EINVAL.
 */
NETMOON_API int netmoon_conntable_get_stats(const struct netmoon_conntable *ct,
					    struct netmoon_conntable_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_CONNTABLE_H */
