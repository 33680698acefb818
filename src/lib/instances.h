/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * instances.h - the instances configured on this host.
 */
#pragma once

/* Names of every /etc/sentrix/NAME/ holding a config.json, sorted. */
int sx_instances_list(char ***ret);
