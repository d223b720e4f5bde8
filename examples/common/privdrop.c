/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the example programs: -Z USER. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

/*
 * -Z USER, as tcpdump: once the capture and the output files are open, run
 * as USER (its groups, then its gid, then its uid), and make sure root
 * cannot come back.
 */
int netmoon_example_drop_privileges(const char *prog, const char *user)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "%s: -Z: no user '%s'%s%s\n", prog, user, errno ? ": " : "",
			errno ? strerror(errno) : "");
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "%s: -Z %s: cannot change to uid %u gid %u: %s\n", prog, user,
			(unsigned)pw->pw_uid, (unsigned)pw->pw_gid, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "%s: -Z %s: root privileges could be regained; stopping\n", prog,
			user);
		return -1;
	}
	return 0;
}

