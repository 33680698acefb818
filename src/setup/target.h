/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * target.h - start, stop, restart, enable and disable an instance's target.
 */
#pragma once

#include "options.h"
#include "units.h"

/* `sentrix sandbox start|stop|restart|enable|disable-boot`: exit status. */
int sx_target_main(const struct sx_options *o, enum sx_target_verb verb);
