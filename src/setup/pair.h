/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pair.h - `sentrix sandbox pair`: re-run and verify the browser bridge's
 * pairing with the instance's OpenClaw gateway.
 */
#pragma once

#include "options.h"

int sx_pair_main(const struct sx_options *o);
