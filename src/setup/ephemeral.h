/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ephemeral.h - throwaway instances for one job (`exec --ephemeral`).
 *
 * An ephemeral instance has its own name (e-XXXXXXXX), /30, netns, veth and
 * nftables tables, and runs its job as a transient uid from a reserved
 * range that no /etc/passwd entry owns.  Its record lives in
 * /run/sentrix/ephemeral/NAME/ (tmpfs: gone at reboot with everything else
 * it had).  The netns is unmounted as soon as the job runs, so the netns and
 * the veth die with the job's processes; what cannot die by itself (the
 * host nftables table, the host-wide references, the record) is removed by
 * the launcher at the end, or by sx_ephemeral_gc() when the launcher was
 * killed.  Callers hold the host-wide setup lock.
 */
#pragma once

#include <sys/types.h>

#include "../lib/config.h"
#include "../lib/policy.h"

#define SX_EPHEMERAL_DIR "/run/sentrix/ephemeral"
#define SX_EPHEMERAL_UID_MIN 600000u
#define SX_EPHEMERAL_UID_MAX 665535u
#define SX_EPHEMERAL_HOME_MB 512

/* Creates and brings up an ephemeral instance for this process. */
int sx_ephemeral_create(const char *policy, struct sx_config **ret, struct sx_policy **ret_policy,
			uid_t *uid);

/* Takes one down and removes its record. */
int sx_ephemeral_destroy(const struct sx_config *c);

/* Removes every ephemeral instance whose launcher is gone.  Returns the
 * number removed or a negative errno. */
int sx_ephemeral_gc(void);

/* Configs of the running ephemeral instances (NULL-terminated array). */
int sx_ephemeral_list(struct sx_config ***ret);
void sx_ephemeral_list_free(struct sx_config **v);
