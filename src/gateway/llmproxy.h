/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * llmproxy.h - the LLM proxy service (llmproxy.c): its listener, its
 * provider connections, its spool and its open calls.
 */
#pragma once

struct sx_gateway;
struct sx_llmproxy;

/* Listens on the instance's LLM port.  0 or a negative errno, logged. */
int sx_llmproxy_new(struct sx_gateway *g, struct sx_llmproxy **ret);
/* Stops accepting connections (SIGTERM); open calls carry on, and the
 * loop exits when the last one ends. */
void sx_llmproxy_quiesce(struct sx_llmproxy *p);
/* Records every open call as incomplete, with why (the grace period is
 * over, or the gateway stops). */
void sx_llmproxy_abort_all(struct sx_llmproxy *p, const char *why);
void sx_llmproxy_free(struct sx_llmproxy *p);
