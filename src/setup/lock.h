/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * lock.h - one sentrix-setup at a time on a host.
 */
#pragma once

/* Takes the host-wide lock (/run/lock/sentrix.lock), waiting with a message
 * when another run holds it.  Returns the lock fd (keep it open) or -errno. */
int sx_lock_take(void);
