/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file filter.h
 * @brief tcpdump's filter language (pcap-filter(7)) compiled to classic BPF.
 *
 * netmoon_filter_compile() turns an expression such as
 * <tt>tcp port 80 and not host 10.0.0.1</tt> into a classic BPF program for
 * one link-layer type, without libpcap.  The program is the one a socket
 * filter (SO_ATTACH_FILTER) runs in the kernel; netmoon_filter_match() runs
 * the very same instructions in a bounds-checked user-space interpreter, so
 * packets read from files are accepted exactly when the kernel would accept
 * them.
 *
 * The semantics follow libpcap's code generator: @c port matches TCP, UDP
 * and SCTP over IPv4 and IPv6; IPv4 port tests only match first fragments;
 * IPv6 tests look at the fixed header's next-header field (and, for
 * protocol tests, one fragment header); @c host on Ethernet also matches ARP
 * and RARP addresses; each @c vlan keyword moves the offsets of everything
 * after it by 4 bytes; a load past the captured bytes rejects the packet.
 *
 * @par Thread safety
 * A compiled filter is immutable: any number of threads may call
 * netmoon_filter_match() on the same filter at the same time.
 */
#ifndef NETMOON_FILTER_H
#define NETMOON_FILTER_H

#include <netmoon/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque compiled filter. */
struct netmoon_filter;

/**
 * @brief One classic BPF instruction.
 *
 * The layout (8 bytes, host byte order) is the kernel's classic socket
 * filter instruction, so an array of these can be handed to
 * SO_ATTACH_FILTER as it is.
 */
struct netmoon_bpf_insn {
	uint16_t code; /**< Operation: class, size, mode and source bits. */
	uint8_t jt;    /**< Conditional jumps: instructions to skip when true. */
	uint8_t jf;    /**< Conditional jumps: instructions to skip when false. */
	uint32_t k;    /**< Constant operand: offset, immediate, jump distance or return value. */
};

/** Largest program the compiler produces (the kernel's BPF_MAXINSNS). */
#define NETMOON_FILTER_MAX_INSNS 4096

/**
 * @brief Compile a filter expression for one link-layer type.
 *
 * @param[out] f     Receives the new filter on success; untouched on failure.
 * @param expr       Expression in tcpdump syntax; NULL, empty or only
 *                   white space accepts every packet.
 * @param linktype   Link-layer type of the packets (enum netmoon_linktype):
 *                   Ethernet (1), raw IP (12, 14, 101), Linux cooked v1
 *                   (113) and v2 (276), raw IPv4 (228), raw IPv6 (229).
 * @param snaplen    Value the program returns for an accepted packet
 *                   (bytes the kernel keeps); 0 means 262144.
 * @param errbuf     Receives a one-line message on failure, naming the
 *                   column of the problem, e.g. "expected a port number
 *                   after 'port' at column 14"; may be NULL.
 * @param errlen     Size of @p errbuf in bytes.
 * @return 0 on success; -EINVAL for a syntax or semantic error (also for
 *         an expression that rejects every packet on this link type, as
 *         tcpdump refuses it); NETMOON_E_LINKTYPE for an unsupported link
 *         type; -E2BIG when the program would exceed
 *         NETMOON_FILTER_MAX_INSNS instructions; -ENOMEM.
 */
NETMOON_API int netmoon_filter_compile(struct netmoon_filter **f, const char *expr,
				       uint32_t linktype, uint32_t snaplen, char *errbuf,
				       size_t errlen);

/**
 * @brief Run a compiled filter over one packet.
 *
 * @param f        Compiled filter.
 * @param data     First byte of the link-layer header.
 * @param caplen   Bytes available at @p data; the program never reads more.
 * @param wirelen  Length of the packet on the wire (what @c len tests).
 * @return 1 when the program accepts the packet (returns non-zero), 0 when
 *         it rejects it, including when it reads past @p caplen or divides
 *         by zero, as the kernel does; -EINVAL for NULL arguments.
 * @par Thread safety
 * Safe to call concurrently on the same filter.
 */
NETMOON_API int netmoon_filter_match(const struct netmoon_filter *f, const uint8_t *data,
				     uint32_t caplen, uint32_t wirelen);

/**
 * @brief Number of instructions of the compiled program.
 * @param f  Compiled filter (NULL gives 0).
 * @return Instruction count, between 1 and NETMOON_FILTER_MAX_INSNS.
 */
NETMOON_API size_t netmoon_filter_insn_count(const struct netmoon_filter *f);

/**
 * @brief Copy the compiled program out.
 *
 * @param f          Compiled filter.
 * @param insns      Array of struct netmoon_bpf_insn to fill, or NULL to
 *                   only ask for the count.
 * @param[in,out] count  In: room at @p insns, in instructions.  Out: the
 *                   program's instruction count.
 * @return 0 on success; -ENOSPC when @p insns is too small (nothing
 *         copied, @p count set to the size needed); -EINVAL for NULL
 *         @p f or @p count.
 */
NETMOON_API int netmoon_filter_get_bpf(const struct netmoon_filter *f, void *insns,
				       size_t *count);

/**
 * @brief Print the program as <tt>tcpdump -d</tt> does.
 *
 * One line per instruction, e.g. "(000) ldh      [12]", each ending in a
 * newline.  The output is NUL-terminated and truncated to @p len bytes,
 * as snprintf() does.
 * @param f    Compiled filter.
 * @param buf  Output buffer (may be NULL when @p len is 0).
 * @param len  Size of @p buf in bytes.
 * @return The length of the full listing, without the terminating NUL
 *         (a return value >= @p len means it was truncated); -EINVAL for
 *         NULL @p f.
 */
NETMOON_API int netmoon_filter_dump(const struct netmoon_filter *f, char *buf, size_t len);

/**
 * @brief Free a compiled filter.
 * @param f  Filter to free; NULL is ignored.
 */
NETMOON_API void netmoon_filter_free(struct netmoon_filter *f);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_FILTER_H */
