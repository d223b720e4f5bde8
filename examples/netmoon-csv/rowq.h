/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A row writer thread: connections are handed over as netmoon_conn_info
 * copies in batches, and a second thread formats and writes them in order,
 * so that the thread tracking packets does not spend its time in row
 * formatting (under a SYN flood, a row per evicted connection).
 */
#ifndef NETMOON_CSV_ROWQ_H
#define NETMOON_CSV_ROWQ_H

#include <stdint.h>
#include <stdio.h>

#include <netmoon/netmoon.h>

#include "row.h"

struct rowq;

/* Start the writer thread on @out; 0 or a negative errno. */
int rowq_start(struct rowq **q, FILE *out, enum row_format fmt);

/*
 * Queue one row (waits while the queue is full).  Returns 0, or the
 * negative errno of an earlier write that failed (the row is then dropped:
 * the run is failing anyway).
 */
int rowq_push(struct rowq *q, const struct netmoon_conn_info *ci);

/*
 * Write out everything queued, stop the thread and free the queue.  Returns
 * 0, or the negative errno of the first failed write; *rows receives the
 * rows written.
 */
int rowq_finish(struct rowq *q, uint64_t *rows);

#endif
