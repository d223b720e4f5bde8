/* SPDX-License-Identifier: BSD-3-Clause */
/* Rendering one connection as a CSV line or a JSON object line. */
#ifndef NETMOON_CSV_ROW_H
#define NETMOON_CSV_ROW_H

#include <stddef.h>

#include <netmoon/netmoon.h>

/* Large enough for any row of either format. */
#define ROW_MAX 2048

enum row_format { ROW_CSV, ROW_JSON };

/* The CSV header line, with its newline. */
const char *row_csv_header(void);

/* Write @ci into @buf (ROW_MAX bytes) with a trailing newline; returns the length. */
size_t row_format(char *buf, const struct netmoon_conn_info *ci, enum row_format fmt);

#endif
