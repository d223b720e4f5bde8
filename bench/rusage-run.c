/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rusage-run: run a command and report its wall time and peak resident set
 * size, measured by the kernel (wait4's rusage), not sampled.
 *
 *   rusage-run [-o FILE] COMMAND [ARG...]
 *
 * The report is one line, on standard error or appended to FILE:
 *   rusage: seconds=S maxrss_kb=K user=S sys=S status=N
 * The exit status is the command's (128 + signal when it was killed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *report = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	FILE *out = stderr;
	int argi = 1, status, code;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		report = argv[2];
		argi = 3;
	}
	if (argi >= argc) {
		fprintf(stderr, "usage: %s [-o FILE] COMMAND [ARG...]\n", argv[0]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage-run: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "rusage-run: %s: %s\n", argv[argi], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage-run: wait4");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	if (report) {
		out = fopen(report, "a");
		if (!out) {
			fprintf(stderr, "rusage-run: %s: %s\n", report, strerror(errno));
			return 1;
		}
	}
	/* ru_maxrss is in kilobytes on Linux */
	fprintf(out, "rusage: seconds=%.6f maxrss_kb=%ld user=%.3f sys=%.3f status=%d\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		ru.ru_maxrss, tv_sec(ru.ru_utime), tv_sec(ru.ru_stime), code);
	if (report && fclose(out) != 0) {
		perror("rusage-run: report");
		return 1;
	}
	return code;
}
