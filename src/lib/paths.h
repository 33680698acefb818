/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * paths.h - where sentrix keeps things on the host (see ARCHITECTURE.md).
 *
 * SENTRIX_DATADIR overrides where policy templates, templates and units are
 * read from, so the test suite can run the programs from the build tree.
 */
#pragma once

#ifndef SX_PREFIX
#define SX_PREFIX "/usr/local"
#endif

#define SX_ETC_DIR "/etc/sentrix"
#define SX_STATE_DIR "/var/lib/sentrix"
#define SX_LOG_DIR "/var/log/sentrix"
#define SX_NETNS_DIR "/run/netns"
#define SX_NETNS_ETC_DIR "/etc/netns"
#define SX_RUN_DIR "/run/sentrix"
#define SX_LOCK_FILE "/run/lock/sentrix.lock"
#define SX_SYSTEMD_ETC "/etc/systemd/system"
#define SX_GATEWAY_USER "sentrix"

/* Directory holding policy/, templates/ and units/ (installed: PREFIX/share/sentrix). */
const char *sx_datadir(void);
/* Directory the template units are installed to (PREFIX/lib/systemd/system). */
const char *sx_unitdir(void);

/* Finds a sentrix program: next to the running executable first (a build
 * tree, or the install's own directory), then PREFIX/sbin and PREFIX/bin.
 * Returns its path (caller frees) or NULL. */
char *sx_find_program(const char *prog);
