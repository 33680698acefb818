/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * police.h - `sentrix police cases|show|investigate` and `sentrix patrol
 * status|rescan`: the investigator's case files and the patrol's state.
 * The read-only ones run in-process; investigate and rescan change state
 * the gateway user owns and exec sentrix-gateway.
 */
#pragma once

/* argv[0] is "police"; returns the exit status (0 done, 1 failure, 2 bad
 * usage), or does not return (exec). */
int sx_police_main(int argc, char **argv);

/* argv[0] is "patrol"; as sx_police_main(). */
int sx_patrol_main(int argc, char **argv);
