/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * nft.h - the instance's nftables tables, through libnftables.
 *
 * Two tables, both owned by sentrix and touched by nothing else:
 *   host:    inet sentrix_NAME in the host namespace (input, forward, nat)
 *   sandbox: inet sentrix inside the instance's namespace (output, input)
 * Each is replaced as one transaction; other tables are never listed for
 * editing, flushed or changed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../lib/config.h"
#include "../lib/policy.h"

struct sx_ruleset {
	char *text; /* nft syntax, ready for nft_run_cmd_from_buffer() */
	char tag[17]; /* fingerprint stored as the table comment */
	unsigned rules; /* number of rules, to notice hand edits */
};

void sx_ruleset_clear(struct sx_ruleset *rs);

/* Renders the host or sandbox table for an instance and its policy. */
int sx_nft_render_host(const struct sx_config *c, const struct sx_policy *p, struct sx_ruleset *out);
int sx_nft_render_sandbox(const struct sx_config *c, const struct sx_policy *p, struct sx_ruleset *out);

/* An nftables context bound to one network namespace. */
struct sx_nft;

/* Opens a context inside the namespace netns_fd (-1: the current one). */
int sx_nft_open(int netns_fd, struct sx_nft **ret);
void sx_nft_close(struct sx_nft *n);

/* Applies a rendered table, replacing any previous version of the same
 * table atomically. */
int sx_nft_apply(struct sx_nft *n, const char *table, const struct sx_ruleset *rs);

/* Deletes a table; missing is not an error. */
int sx_nft_delete(struct sx_nft *n, const char *table);

struct sx_nft_state {
	bool present;
	char tag[17]; /* fingerprint found in the table comment */
	unsigned rules;
	uint64_t dropped_packets;
};

int sx_nft_inspect(struct sx_nft *n, const char *table, struct sx_nft_state *st);
