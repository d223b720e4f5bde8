/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file common.h
 * @brief Error model, export macro and options-struct helpers shared by every module.
 *
 * Every function that can fail returns @c 0 (or a count) on success and a
 * negative number on failure: a negative @c errno value (@c -EINVAL,
 * @c -ENOMEM, ...) for failures the C library already names, or one of the
 * library-specific @ref netmoon_error codes, which all lie below
 * @ref NETMOON_E_BASE and are never renumbered.
 */
#ifndef NETMOON_COMMON_H
#define NETMOON_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function as part of the exported ABI. */
#if defined(NETMOON_BUILDING) && defined(__GNUC__)
#define NETMOON_API __attribute__((visibility("default")))
#else
#define NETMOON_API
#endif

/**
 * @brief Declare and initialise an options struct of type @p TYPE.
 *
 * Sets the leading @c sz member to the size the caller was compiled with, so
 * that a newer library can tell which trailing members the caller knows of.
 * Unnamed members are zero, which always means "default".
 *
 * @code
 * NETMOON_OPTS(netmoon_conntable_opts, opts, .max_conns = 100000);
 * @endcode
 */
#define NETMOON_OPTS(TYPE, NAME, ...) \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/**
 * @brief Library-specific error codes.
 *
 * Values are fixed forever; new codes are only appended.  Functions return
 * them negated exactly as written here (they are already negative).
 */
enum netmoon_error {
	NETMOON_E_BASE = -4000,        /**< Lower bound of library codes; never returned. */
	NETMOON_E_FORMAT = -4001,      /**< Input is not in a recognised format (bad magic). */
	NETMOON_E_CORRUPT = -4002,     /**< A header or block is inconsistent or out of range. */
	NETMOON_E_TRUNCATED = -4003,   /**< Input ends in the middle of a record. */
	NETMOON_E_VERSION = -4004,     /**< The format's version is not supported. */
	NETMOON_E_LINKTYPE = -4005,    /**< The link-layer type is not supported. */
	NETMOON_E_TABLE_FULL = -4006,  /**< The connection table refused a new entry. */
	NETMOON_E_NOT_SUPPORTED = -4007, /**< The operation is not supported by this handle or build. */
	NETMOON_E_BREAK = -4008,       /**< A loop was stopped by netmoon_capture_breakloop(). */
	NETMOON_E_NO_CAPABILITY = -4009, /**< Live capture without CAP_NET_RAW (@since 0.2). */
	NETMOON_E_RING = -4010,        /**< The capture ring does not fit the memory limits (@since 0.2). */
	NETMOON_E_FANOUT = -4011,      /**< The fanout group exists with other settings (@since 0.2). */
};

/**
 * @brief Describe an error code returned by any libnetmoon function.
 * @param err A value returned by the library (negative), or 0.
 * @return A static, NUL-terminated English description; never NULL.
 * @par Thread safety
 * Safe to call from any thread; the strings are constant.
 */
NETMOON_API const char *netmoon_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_COMMON_H */
