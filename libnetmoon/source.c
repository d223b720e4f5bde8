/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where capture bytes come from: a caller's buffer, a mapped regular file, or
 * read() in large chunks (the default, and pipes and standard input).  The format
 * readers see one window of bytes and take records from it in place; a
 * record is only ever moved when it straddles the end of a read chunk.
 *
 * Mapping a capture FILE is fine here; only the live backend may map rings.
 * The one poll() outside the live backend is here too: a standard input left
 * non-blocking by whoever set it up is waited on as a blocking read would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

static void source_init(struct netmoon__source *src, int kind)
{
	memset(src, 0, sizeof(*src));
	src->kind = kind;
	src->fd = -1;
}

int netmoon__source_open_mem(struct netmoon__source *src, const void *buf, size_t len)
{
	source_init(src, NETMOON__SRC_MEM);
	src->base = buf;
	src->cur = buf;
	src->end = src->cur + len;
	src->pf = (const uint8_t *)((uintptr_t)src->cur & ~(uintptr_t)63);
	return 0;
}

/*
 * Map a regular file from its current position (standard input may already
 * have been read from).  Returns false when it cannot be mapped, so the
 * caller falls back to read(): empty files, /proc files that claim size 0,
 * file systems without mmap.
 */
static bool source_try_map(struct netmoon__source *src, int fd)
{
	struct stat st;
	off_t pos;
	void *map;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return false;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return false;
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0 || pos >= st.st_size)
		return false;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return false;
	/* Read-ahead on, pages behind us may go: one pass, front to back. */
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);

	source_init(src, NETMOON__SRC_MMAP);
	src->map = map;
	src->map_len = (size_t)st.st_size;
	src->base = map;
	src->cur = src->base + pos;
	src->end = src->cur;
	src->pf = (const uint8_t *)((uintptr_t)src->cur & ~(uintptr_t)63);
	return true;
}

/*
 * The window of a mapping grows MAP_WINDOW bytes at a time, each step
 * prefaulted with one MADV_POPULATE_READ: demand faults cost more than the
 * parsing itself (a plain next() loop ran about 1.5 times faster with it).  As a
 * bonus, a file truncated before we reach its end is reported as an I/O
 * error here rather than as a SIGBUS later (truncated after a window was
 * populated, it still raises SIGBUS, as with any mapped file).  Kernels
 * before 5.14 lack it: then the whole mapping is the window.
 */
#define MAP_WINDOW (8u << 20)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older C library headers lack it */
#endif

static int source_map_advance(struct netmoon__source *src, size_t n)
{
	const uint8_t *map = src->map;
	size_t done = (size_t)(src->end - map);
	size_t want = (size_t)(src->cur - map) + n;
	size_t from, to;

	if (done == src->map_len)
		return 1;
	to = done + MAP_WINDOW > want ? done + MAP_WINDOW : want;
	if (to > src->map_len)
		to = src->map_len;
	if (!src->populate_off) {
		long page = sysconf(_SC_PAGESIZE);

		from = done & ~((size_t)page - 1);
		if (madvise((uint8_t *)src->map + from, to - from, MADV_POPULATE_READ) < 0) {
			switch (errno) {
			case EFAULT: /* the file shrank under us */
			case EIO:
				return -EIO;
			case ENOMEM:
				return -ENOMEM;
			case EINVAL: /* before Linux 5.14 */
			case ENOSYS:
			case EPERM:
				src->populate_off = true;
				to = src->map_len;
				break;
			default: /* EINTR, EAGAIN...: this window faults on demand */
				break;
			}
		}
	}
	src->end = map + to;
	return (size_t)(src->end - src->cur) >= n ? 0 : 1;
}

/*
 * A pipe's 64 KiB default means a wake-up and a read() per 64 KiB, for writer
 * and reader alike: piping a 1 GB capture ran 4 times faster with 1 MiB (the
 * most an unprivileged process may ask for).  Only ever grown; a refusal
 * changes nothing but speed.
 */
#define PIPE_SIZE (1 << 20)

static void source_grow_pipe(int fd)
{
	struct stat st;
	int cur;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	cur = fcntl(fd, F_GETPIPE_SZ);
	if (cur >= 0 && cur < PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
}

int netmoon__source_open_fd(struct netmoon__source *src, int fd, bool close_fd,
			    size_t buffer_size, bool use_mmap, bool read_thread)
{
	struct stat st;
	uint8_t *buf;

	if (use_mmap && source_try_map(src, fd)) {
		/* The mapping outlives the descriptor. */
		if (close_fd)
			close(fd);
		return 0;
	}
	if (read_thread && !use_mmap && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return netmoon__source_open_thread(src, fd, close_fd, buffer_size);
	if (!buffer_size)
		buffer_size = NETMOON__DEFAULT_BUFFER;
	source_grow_pipe(fd);
	buf = netmoon__big_calloc(buffer_size, 1);
	if (!buf)
		return -ENOMEM;
	source_init(src, NETMOON__SRC_READ);
	src->fd = fd;
	src->close_fd = close_fd;
	src->buf = buf;
	src->buf_size = buffer_size;
	/* Room for the largest record plus the header in front of it. */
	src->buf_max = buffer_size > NETMOON__MAX_RECORD + 64 ? buffer_size
							     : NETMOON__MAX_RECORD + 64;
	src->base = buf;
	src->cur = buf;
	src->end = buf;
	return 0;
}

void netmoon__source_close(struct netmoon__source *src)
{
	switch (src->kind) {
	case NETMOON__SRC_MMAP:
		munmap(src->map, src->map_len);
		break;
	case NETMOON__SRC_READ:
		netmoon__big_free(src->buf, src->buf_size, 1);
		if (src->close_fd)
			close(src->fd);
		break;
	case NETMOON__SRC_THREAD:
		netmoon__source_close_thread(src);
		break;
	default:
		break;
	}
	source_init(src, 0);
}

int netmoon__source_fill(struct netmoon__source *src, size_t n)
{
	size_t have = netmoon__source_avail(src);

	if (src->kind == NETMOON__SRC_MMAP)
		return source_map_advance(src, n);
	if (src->kind == NETMOON__SRC_THREAD)
		return netmoon__source_fill_thread(src, n);
	if (src->kind != NETMOON__SRC_READ || src->eof)
		return 1;
	if (n > src->buf_max)
		return -EFBIG;
	/* Keep only the unconsumed tail, at the front of the buffer. */
	if (src->cur != src->buf) {
		src->base_off += (uint64_t)(src->cur - src->buf);
		memmove(src->buf, src->cur, have);
		src->base = src->buf;
		src->cur = src->buf;
		src->end = src->buf + have;
	}
	if (n > src->buf_size) {
		size_t sz = src->buf_size * 2 > n ? src->buf_size * 2 : n;
		uint8_t *nb;

		if (sz > src->buf_max)
			sz = src->buf_max;
		nb = netmoon__big_calloc(sz, 1);
		if (!nb)
			return -ENOMEM;
		memcpy(nb, src->buf, have);
		netmoon__big_free(src->buf, src->buf_size, 1);
		src->buf = nb;
		src->buf_size = sz;
		src->base = nb;
		src->cur = nb;
		src->end = nb + have;
	}
	/*
	 * Read only until the record is complete, not until the buffer is
	 * full: a live pipe (tcpdump -w - | ...) must not wait for megabytes
	 * before its first packet.  Each read still asks for all free space.
	 */
	while (have < n) {
		ssize_t r = read(src->fd, src->buf + have, src->buf_size - have);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Standard input left non-blocking by whoever set it up:
				 * wait as a blocking read would. */
				struct pollfd pfd = { .fd = src->fd, .events = POLLIN };

				if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
					continue;
			}
			return -errno;
		}
		if (r == 0) {
			src->eof = true;
			break;
		}
		have += (size_t)r;
		src->end = src->buf + have;
	}
	return have >= n ? 0 : 1;
}
