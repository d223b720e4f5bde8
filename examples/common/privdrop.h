/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETMOON_EXAMPLE_PRIVDROP_H
#define NETMOON_EXAMPLE_PRIVDROP_H

/*
 * Run as @user from now on (its groups, gid, uid; root cannot come back).
 * Prints "PROG: ..." on failure and returns -1; 0 on success.
 */
int netmoon_example_drop_privileges(const char *prog, const char *user);

#endif
