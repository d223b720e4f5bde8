/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file version.h
 * @brief Compile-time and run-time library version.
 */
#ifndef NETMOON_VERSION_H
#define NETMOON_VERSION_H

#include <netmoon/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NETMOON_VERSION_MAJOR 0 /**< Incremented on ABI-incompatible changes. */
#define NETMOON_VERSION_MINOR 2 /**< Incremented when symbols are added. */
#define NETMOON_VERSION_PATCH 0 /**< Incremented on fixes only. */

/** Version as one number, comparable with @c >=: 0x00MMmmpp. */
#define NETMOON_VERSION_NUMBER \
	((NETMOON_VERSION_MAJOR << 16) | (NETMOON_VERSION_MINOR << 8) | NETMOON_VERSION_PATCH)

#define NETMOON_STR2_(x) #x              /**< Internal: stringify. */
#define NETMOON_STR_(x) NETMOON_STR2_(x) /**< Internal: expand, then stringify. */
/** Version as "MAJOR.MINOR.PATCH". */
#define NETMOON_VERSION_STRING                                      \
	NETMOON_STR_(NETMOON_VERSION_MAJOR) "." NETMOON_STR_(NETMOON_VERSION_MINOR) \
	"." NETMOON_STR_(NETMOON_VERSION_PATCH)

/**
 * @brief Version of the library actually loaded, as NETMOON_VERSION_NUMBER.
 * @return 0x00MMmmpp. Compare with the header's NETMOON_VERSION_NUMBER to
 *         detect a program running against an older library.
 */
NETMOON_API uint32_t netmoon_version(void);

/**
 * @brief Version of the library actually loaded, as a string.
 * @return A static string such as "0.1.0"; never NULL.
 */
NETMOON_API const char *netmoon_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* NETMOON_VERSION_H */
