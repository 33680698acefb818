/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * render.h - fill templates/ files with an instance's values.
 */
#pragma once

#include "../lib/config.h"

/* Reads DATADIR/templates/name and replaces @NAME@, @HOST_IP@,
 * @SANDBOX_IP@, @USER@, @HOME@, @OPENCLAW_PORT@, @LLM_PORT@, @EGRESS_PORT@,
 * @OPENCLAW_CONFIG@, @NETNS_PATH@, @SBINDIR@.  An unknown @WORD@ is an error,
 * so a template typo cannot reach the host. */
int sx_render_template(const char *name, const struct sx_config *c, char **ret);

/* The namespace's resolv.conf for an instance's DNS mode. */
int sx_render_resolv(const struct sx_config *c, char **ret);
