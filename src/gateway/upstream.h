/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upstream.h - libcurl's multi-socket interface on the gateway's sd-event
 * loop: every upstream request runs concurrently on the one thread.
 */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

struct sx_upstream;

/* Called once per transfer when it ends (result CURLE_OK or the error);
 * the callback owns the easy handle afterwards (it is already removed from
 * the multi handle). */
typedef void (*sx_upstream_done_fn)(CURL *easy, CURLcode result, void *data);

int sx_upstream_new(sd_event *loop, struct sx_upstream **ret);
void sx_upstream_free(struct sx_upstream *u);

/* Starts a transfer; done(data) is called when it ends. */
int sx_upstream_add(struct sx_upstream *u, CURL *easy, sx_upstream_done_fn done, void *data);

/* Cancels a running transfer without calling done. */
void sx_upstream_cancel(struct sx_upstream *u, CURL *easy);

/* Drives libcurl after curl_easy_pause() from outside a curl callback. */
void sx_upstream_kick(struct sx_upstream *u);
