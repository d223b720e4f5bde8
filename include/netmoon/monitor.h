/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file monitor.h
 * @brief Capture, parse and track in one running object, with snapshots.
 *
 * A monitor drives a capture handle into a connection table: it decodes
 * every packet (netmoon_frame_parse()), tracks it
 * (netmoon_conntable_track_burst()), fires the table's hooks, and counts
 * what happens at every stage.  Other threads (a UI) read the table through
 * snapshots, and stop the monitor from anywhere, a signal handler included.
 *
 * With a live capture and @c threads = 2, the seed design's split: a
 * capture thread only waits for ring blocks the kernel has filled and
 * queues them (no copy: a block is an index into the shared ring) to the
 * thread that called netmoon_monitor_run(), which parses, tracks and gives
 * the blocks back to the kernel in order.  With @c threads = 1 the calling
 * thread does both.  Files are always read by the calling thread.  A live
 * handle's read timeout is set to netmoon_monitor_opts::tick_ms.
 *
 * @since 0.2
 */
#ifndef NETMOON_MONITOR_H
#define NETMOON_MONITOR_H

#include <netmoon/capture.h>
#include <netmoon/common.h>
#include <netmoon/conntable.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque monitor. */
struct netmoon_monitor;

/** Opaque snapshot of a monitor's connection table. */
struct netmoon_snapshot;

/**
 * @brief Called for every packet the monitor reads, before it is tracked
 *        (to save packets, for instance), in the thread that runs the monitor.
 * @param pkt   The packet; valid until the callback returns.
 * @param user  netmoon_monitor_opts::user.
 * @return 0 to go on; a negative errno stops netmoon_monitor_run(), which
 *         returns it.
 */
typedef int (*netmoon_monitor_packet_cb)(const struct netmoon_packet *pkt, void *user);
/* A packet refused (negative return) is neither counted nor tracked; a later
 * netmoon_monitor_run() carries on after it. */

/** @brief Options of netmoon_monitor_new(). */
struct netmoon_monitor_opts {
	size_t sz;                 /**< Set by NETMOON_OPTS() to sizeof this struct. */
	/** Live captures: 2 = a capture thread and a parser thread, 1 = one
	 *  thread for both; 0 = the default, one thread (measured faster on a
	 *  2-core machine, see docs/BENCHMARKS.md). */
	int threads;
	/** Options of the connection table the monitor creates (NULL = defaults). */
	const struct netmoon_conntable_opts *table;
	/** Hooks on that table (NULL = none); called in the thread that runs
	 *  the monitor, with netmoon_monitor_opts::user, with the monitor's lock
	 *  held: they may call netmoon_monitor_get_stats(),
	 *  netmoon_monitor_snapshot() and netmoon_monitor_stop(); run() and
	 *  flush() return -EBUSY from them. */
	const struct netmoon_conntable_hooks *hooks;
	netmoon_monitor_packet_cb on_packet; /**< Optional per-packet callback. */
	void *user;                /**< Passed to the hooks and to on_packet. */
	/** Live captures: expire idle connections by the wall clock at least
	 *  this often (also when no packet arrives), in milliseconds; 0 = 100. */
	uint32_t tick_ms;
	/** @cond */ size_t :0; /** @endcond */
};

/** @brief Counters of every stage of a monitor. */
struct netmoon_monitor_stats {
	size_t sz;                 /**< Set by the caller. */
	uint64_t packets;          /**< Packets read from the capture. */
	uint64_t bytes;            /**< Their wire bytes. */
	uint64_t kernel_received;  /**< Live: packets the kernel passed to the socket, drops included. */
	uint64_t kernel_dropped;   /**< Live: packets the kernel dropped (ring full). */
	uint64_t kernel_freezes;   /**< Live: times the kernel froze the ring's queue. */
	uint64_t blocks;           /**< Live: ring blocks handed from capture to parser. */
	uint64_t queue_hwm;        /**< Live, 2 threads: most blocks ever waiting for the parser. */
	/** Frames the parser could not fully decode, by reason (index: enum
	 *  netmoon_frame_reason, 0 unused). */
	uint64_t rejects[32];
	struct netmoon_conntable_stats table; /**< The table's counters (table.sz is set by the library). */
	/** @cond */ size_t :0; /** @endcond */
};

/**
 * @brief Create a monitor over @p cap.
 * @param[out] m  Receives the monitor.
 * @param cap     Capture handle; the monitor uses it until
 *                netmoon_monitor_free() and does not close it.  Do not
 *                read packets from it yourself meanwhile.
 * @param opts    Options or NULL.
 * @return 0; -EINVAL for NULL arguments, bad options or a table option
 *         error; -ENOMEM.
 */
NETMOON_API int netmoon_monitor_new(struct netmoon_monitor **m, struct netmoon_capture *cap,
				    const struct netmoon_monitor_opts *opts);

/**
 * @brief Run until the capture ends, @p max_packets were read (0 = no
 *        limit), netmoon_monitor_stop() or an error.
 *
 * The calling thread parses and tracks; with two threads a capture thread
 * is started and joined before this returns.  Connections still in the
 * table stay there: flush them with netmoon_monitor_flush().
 * @param m            Monitor.
 * @param max_packets  Stop after this many packets; 0 = no limit.
 * @return 0 when the capture ended, the limit was reached or the monitor
 *         was stopped; a negative error from the capture (its message in
 *         netmoon_capture_errmsg()), from a hook or from on_packet.
 *         -EBUSY when already running.
 */
NETMOON_API int netmoon_monitor_run(struct netmoon_monitor *m, uint64_t max_packets);

/**
 * @brief Ask a running netmoon_monitor_run() to return soon.
 * @param m  Monitor.
 * @par Thread safety
 * Safe from any thread and from signal handlers (atomic stores and
 * netmoon_capture_breakloop()).
 */
NETMOON_API void netmoon_monitor_stop(struct netmoon_monitor *m);

/**
 * @brief Remove every connection from the table, firing the hooks
 *        (NETMOON_REMOVE_FLUSH).  Not while running.
 * @param m  Monitor.
 * @return Connections removed, a hook's error, or -EBUSY while running.
 */
NETMOON_API int64_t netmoon_monitor_flush(struct netmoon_monitor *m);

/**
 * @brief Read the monitor's counters.
 * @param m               Monitor.
 * @param[in,out] st      Caller's struct with @c sz set.
 * @return 0 or -EINVAL.
 * @par Thread safety
 * Safe from any thread while the monitor runs; the counters are read under
 * the monitor's lock.
 */
NETMOON_API int netmoon_monitor_get_stats(struct netmoon_monitor *m,
					  struct netmoon_monitor_stats *st);

/**
 * @brief Copy the connection table, for another thread.
 *
 * The running monitor is held only while its entries are copied (a memcpy
 * of each live entry, not a formatting pass): about 2 ms per 100,000
 * connections.
 * @param m          Monitor.
 * @param[out] snap  Receives the snapshot; free it with netmoon_snapshot_free().
 * @return 0, -ENOMEM or -EINVAL.
 * @par Thread safety
 * Safe from any thread, while the monitor runs or not.
 */
NETMOON_API int netmoon_monitor_snapshot(struct netmoon_monitor *m,
					 struct netmoon_snapshot **snap);

/**
 * @brief Number of connections in a snapshot.
 * @param snap  Snapshot.
 * @return The count (0 for NULL).
 */
NETMOON_API size_t netmoon_snapshot_count(const struct netmoon_snapshot *snap);

/**
 * @brief One connection of a snapshot, to read with netmoon_conn_get_info().
 * @param snap  Snapshot.
 * @param i     Index, below netmoon_snapshot_count().
 * @return The connection, valid until netmoon_snapshot_free(); NULL when
 *         @p i is out of range.
 */
NETMOON_API const struct netmoon_conn *netmoon_snapshot_conn(const struct netmoon_snapshot *snap,
							      size_t i);

/**
 * @brief The monitor's counters and table time when the snapshot was taken.
 * @param snap         Snapshot.
 * @param[in,out] st   Caller's struct with @c sz set.
 * @param[out] now_ns  Time of the latest packet tracked (or of the latest
 *                     tick), 0 before any; or NULL.
 * @return 0 or -EINVAL.
 */
NETMOON_API int netmoon_snapshot_get_stats(const struct netmoon_snapshot *snap,
					   struct netmoon_monitor_stats *st, int64_t *now_ns);

/**
 * @brief Free a snapshot. NULL is ignored.
 * @param snap  Snapshot.
 */
NETMOON_API void netmoon_snapshot_free(struct netmoon_snapshot *snap);

/**
 * @brief Free the monitor and its table (firing on_remove with
 *        NETMOON_REMOVE_FLUSH for what is left); not the capture handle.
 *        NULL is ignored.  Not while running.
 * @param m  Monitor.
 */
NETMOON_API void netmoon_monitor_free(struct netmoon_monitor *m);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_MONITOR_H */
