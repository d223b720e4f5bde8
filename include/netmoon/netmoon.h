/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file netmoon.h
 * @brief Umbrella header: the only include a libnetmoon user needs.
 */
#ifndef NETMOON_NETMOON_H
#define NETMOON_NETMOON_H

#include <netmoon/common.h>
#include <netmoon/version.h>
#include <netmoon/capture.h>
#include <netmoon/frame.h>
#include <netmoon/conntable.h>
#include <netmoon/monitor.h>
#include <netmoon/writer.h>
#include <netmoon/filter.h>

#endif /* NETMOON_NETMOON_H */
