/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * paths.h - where sentrix keeps things on the host (see ARCHITECTURE.md).
 *
 * SENTRIX_DATADIR overrides where policy templates, templates and units are
 * read from, so the test suite can run the programs from the build tree.
 */
#pragma once

/* Where `make install` puts things (the Makefile passes its directories;
 * these defaults are its own). */
#ifndef SX_PREFIX
#define SX_PREFIX "/usr/local"
#endif
#ifndef SX_BINDIR
#define SX_BINDIR SX_PREFIX "/bin"
#endif
#ifndef SX_SBINDIR
#define SX_SBINDIR SX_PREFIX "/sbin"
#endif
#ifndef SX_DATADIR
#define SX_DATADIR SX_PREFIX "/share/sentrix"
#endif
#ifndef SX_UNITDIR
#define SX_UNITDIR SX_PREFIX "/lib/systemd/system"
#endif

#define SX_ETC_DIR "/etc/sentrix"
#define SX_STATE_DIR "/var/lib/sentrix"
/* The parent of every instance's bridge directory (the "." keeps it apart
 * from the instance names beside it). */
#define SX_BRIDGE_DIRS SX_STATE_DIR "/bridge.d"
#define SX_LOG_DIR "/var/log/sentrix"
#define SX_NETNS_DIR "/run/netns"
#define SX_NETNS_ETC_DIR "/etc/netns"
#define SX_RUN_DIR "/run/sentrix"
#define SX_LOCK_FILE "/run/lock/sentrix.lock"
#define SX_SYSTEMD_ETC "/etc/systemd/system"
#define SX_GATEWAY_USER "sentrix"

/* Directory holding policy/ and templates/ (installed: DATADIR). */
const char *sx_datadir(void);
/* Directory the template units are installed to (UNITDIR). */
const char *sx_unitdir(void);

/* Finds a sentrix program: next to the running executable first (a build
 * tree, or the install's own directory), then SBINDIR and BINDIR.
 * Returns its path (caller frees) or NULL. */
char *sx_find_program(const char *prog);
