/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bridge.c - the provisioner's part of the browser bridge.
 *
 * The sidecar (sentrix-gateway, as the gateway user) talks to the
 * instance's OpenClaw gateway as a paired operator device.  OpenClaw ties
 * a pairing to an Ed25519 key, so setup gives each instance one key,
 * /etc/sentrix/NAME/device.key (0600, the gateway user's: the sidecar
 * alone reads it), and keeps it across re-runs: a new key would be a new
 * device.  The sidecar keeps what it makes of the pairing (its TLS
 * certificate, the deviceToken OpenClaw returns, the chat socket) in its
 * bridge directory, SX_BRIDGE_DIRS/NAME (0750, the gateway user's).
 * /var/lib/sentrix/NAME is root's 0700 (the journal, which holds prior
 * file contents), so the bridge directory lives beside it, not in it.
 *
 * --disable removes the pairing from OpenClaw's store first, while the
 * OpenClaw gateway still runs (`openclaw devices remove` is an RPC to it),
 * then the journal walk removes the key and the directory.  The removal
 * runs as the sandbox user inside the sandbox, through the confinement
 * launcher: root never runs code from the sandbox home unconfined.  When
 * OpenClaw is not running the pairing stays in its store; without the key
 * nobody can use it (OpenClaw requires a signature by the key).
 *
 * The device id is hex SHA-256 of the raw public key.  sentrix-setup does
 * not link OpenSSL (dlsyms.h says why it keeps its start-up small): the
 * few calls here open libcrypto on first use, which only --disable does.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/safepath.h"
#include "bridge.h"
#include "child.h"
#include "dlsyms.h"
#include "netns.h"
#include "users.h"

#define UNPAIR_TIMEOUT_S 60

static int unhex(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int sx_device_key_check(const char *path, uid_t uid, unsigned char seed[32], const char **why)
{
	_cleanup_free_ char *text = NULL;
	struct stat st, read_st;
	size_t len = 0;
	bool ok;
	int r;

	*why = NULL;
	/* lstat first: sx_safe_read() would resolve a link root made. */
	r = sx_safe_stat(path, false, &st);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode)) {
		*why = S_ISLNK(st.st_mode) ? "a symlink, not a regular file" : "not a regular file";
		return -EEXIST;
	}
	if (st.st_uid != uid)
		*why = "not owned by the gateway user";
	else if ((st.st_mode & 07777) != 0600)
		*why = "its mode is not 0600";
	if (*why)
		return -EINVAL;
	r = sx_safe_read(path, 4096, &text, &len, &read_st);
	if (r == -EFBIG) {
		*why = "larger than a key";
		return -EINVAL;
	}
	if (r < 0)
		return r;
	ok = read_st.st_ino == st.st_ino && read_st.st_dev == st.st_dev && len == SX_DEVICE_KEY_SIZE &&
	    text[64] == '\n' && strspn(text, "0123456789abcdef") == 64;
	for (size_t i = 0; ok && seed && i < 32; i++)
		seed[i] = (unsigned char)(unhex(text[2 * i]) << 4 | unhex(text[2 * i + 1]));
	explicit_bzero(text, len);
	if (!ok) {
		*why = "not 64 lower-case hex digits and a newline";
		return -EINVAL;
	}
	return 0;
}

static int act_device_key(struct sx_ctx *x, uid_t uid, gid_t gid)
{
	const char *path = x->config->device_key, *why = NULL;
	unsigned char seed[32];
	char text[SX_DEVICE_KEY_SIZE + 1];
	int r;

	r = sx_device_key_check(path, uid, NULL, &why);
	if (r == 0) {
		sx_ctx_say(x, false, "device key %s is in place (kept)", path);
		return 0;
	}
	if (r == -EEXIST)
		return log_error_errno(r, "%s is %s; move it away and run setup again", path, why);
	if (r != -ENOENT && r != -EINVAL)
		return log_error_errno(r, "cannot read the bridge's device key %s", path);
	if (r == -EINVAL && !x->dry_run)
		log_warn("the bridge's device key %s is not valid (%s): replacing it with a new key; the "
			 "bridge pairs with OpenClaw again as a new device",
			 path, why);
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return log_error_errno(-errno, "cannot draw a device key");
	for (size_t i = 0; i < sizeof(seed); i++)
		snprintf(text + 2 * i, 3, "%02x", seed[i]);
	text[64] = '\n';
	text[65] = 0;
	r = sx_act_write_file(x, path, text, SX_DEVICE_KEY_SIZE, 0600, uid, gid, false);
	explicit_bzero(seed, sizeof(seed));
	explicit_bzero(text, sizeof(text));
	return r;
}

/* sx_act_mkdir() leaves the mode of a directory it finds alone; the
 * bridge directory is ours (when the journal says so), and status checks
 * its mode. */
static int repair_dir(struct sx_ctx *x, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	cJSON *undo = NULL;
	struct stat st;
	int r;

	if (sx_safe_stat(path, false, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    ((st.st_mode & 07777) == mode && st.st_uid == uid && st.st_gid == gid))
		return 0;
	if (x->dry_run) {
		sx_ctx_say(x, true, "repair owner and mode of %s", path);
		return 0;
	}
	if (sx_journal_get(x->journal, "dir", path, &undo) < 0)
		return 0; /* not sentrix's: left as it is */
	cJSON_Delete(undo);
	if ((r = sx_safe_chown(path, uid, gid, mode)) < 0)
		return log_error_errno(r, "cannot set owner and mode of %s", path);
	sx_ctx_say(x, true, "repair owner and mode of %s", path);
	return 0;
}

int sx_act_bridge(struct sx_ctx *x, uid_t uid, gid_t gid)
{
	const struct sx_config *c = x->config;
	int r;

	if ((r = act_device_key(x, uid, gid)) < 0 ||
	    (r = sx_act_host_dir(x, SX_BRIDGE_DIRS, 0755, false)) < 0 ||
	    (r = sx_act_mkdir(x, c->bridge_dir, 0750, uid, gid, true, false)) < 0)
		return r;
	return repair_dir(x, c->bridge_dir, 0750, uid, gid);
}

/* ---- the device id: libcrypto, opened on first use ---- */

struct crypto {
	__typeof__(EVP_PKEY_new_raw_private_key) *new_raw_private_key;
	__typeof__(EVP_PKEY_get_raw_public_key) *get_raw_public_key;
	__typeof__(EVP_PKEY_free) *pkey_free;
	__typeof__(EVP_Digest) *digest;
	__typeof__(EVP_sha256) *sha256;
};

static const struct crypto *crypto(void)
{
	static struct crypto t;
	static void *handle;
	const struct sx_dlsym syms[] = {
	    {"EVP_PKEY_new_raw_private_key", (void **)&t.new_raw_private_key},
	    {"EVP_PKEY_get_raw_public_key", (void **)&t.get_raw_public_key},
	    {"EVP_PKEY_free", (void **)&t.pkey_free},
	    {"EVP_Digest", (void **)&t.digest},
	    {"EVP_sha256", (void **)&t.sha256},
	};

	return sx_dlsyms(&handle, "libcrypto.so.3", syms, ELEMENTSOF(syms)) == 0 ? &t : NULL;
}

int sx_device_id(const unsigned char seed[32], char id[65])
{
	const struct crypto *k = crypto();
	unsigned char pub[32], md[32];
	unsigned int md_len = 0;
	size_t pub_len = sizeof(pub);
	EVP_PKEY *pkey;
	bool ok;

	if (!k)
		return -ENOPKG;
	pkey = k->new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!pkey)
		return log_error_errno(-EINVAL, "libcrypto refused the Ed25519 seed");
	ok = k->get_raw_public_key(pkey, pub, &pub_len) == 1 && pub_len == sizeof(pub) &&
	    k->digest(pub, pub_len, md, &md_len, k->sha256(), NULL) == 1 && md_len == sizeof(md);
	k->pkey_free(pkey);
	if (!ok)
		return log_error_errno(-EINVAL, "libcrypto cannot derive the Ed25519 public key");
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- --disable: remove the pairing ---- */

/* Whether something accepts TCP on 127.0.0.1:port inside the instance's
 * netns (within 2 s): the socket is made there, then used from here. */
static bool openclaw_answers(const struct sx_config *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)c->openclaw_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	_cleanup_close_ int ns = -EBADF, fd = -EBADF;
	struct pollfd p;
	int saved = -EBADF, err = 0;
	socklen_t len = sizeof(err);

	if (!sx_netns_mounted(c->netns_path) || (ns = sx_netns_open(c->netns_path)) < 0 ||
	    sx_netns_enter(ns, &saved) < 0)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sx_netns_leave(&saved) < 0 || fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return true;
	if (errno != EINPROGRESS)
		return false;
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	return poll(&p, 1, 2000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

void sx_bridge_unpair(const struct sx_config *c, FILE *out)
{
	_cleanup_free_ char *marker = sx_strdupf("%s/" SX_BRIDGE_DEVICE_TOKEN, c->bridge_dir);
	_cleanup_free_ char *prog = NULL, *token = NULL, *url = NULL, *last = NULL;
	unsigned char seed[32];
	const char *why = NULL, *what;
	struct sx_user g;
	char id[65];
	struct stat st;
	size_t len = 0;
	int r;

	/* No device token: the bridge never paired (or was never run). */
	if (!marker || sx_safe_stat(marker, false, &st) < 0)
		return;
	r = sx_user_lookup(c->gateway_user, &g);
	if (r == 0)
		r = sx_device_key_check(c->device_key, g.uid, seed, &why);
	if (r < 0) {
		log_warn("cannot remove the bridge's pairing from OpenClaw: its device key %s is %s; "
			 "`openclaw devices list` in the sandbox shows what is left",
			 c->device_key, why ? why : "unreadable");
		return;
	}
	r = sx_device_id(seed, id);
	explicit_bzero(seed, sizeof(seed));
	if (r < 0) {
		log_warn("cannot compute the bridge's OpenClaw device id, so its pairing stays in OpenClaw's "
			 "store (unusable without the key, which is removed now)");
		return;
	}
	if (!openclaw_answers(c)) {
		log_warn(
		    "the OpenClaw gateway of %s is not running, so the bridge's pairing (device %s) "
		    "stays in its store: it is unusable without the key, which is removed now (`openclaw "
		    "devices remove %s`, as the sandbox user while that OpenClaw runs, removes it)",
		    c->name, id, id);
		return;
	}
	r = sx_safe_read(c->token_path, 4096, &token, &len, NULL);
	prog = sx_find_program("sentrix-setup");
	url = sx_strdupf("ws://127.0.0.1:%u", c->openclaw_port);
	if (r < 0 || !len || !prog || !url) {
		log_warn("cannot remove the bridge's pairing (device %s) from OpenClaw: %s", id,
			 r < 0 || !len ? "no gateway token" : "sentrix-setup not found");
		return;
	}
	token[strcspn(token, "\n")] = 0;
	/* The command line shows the token for as long as it runs (as
	 * OpenClaw takes it): the instance's own, which the sandbox has. */
	char *argv[] = {prog, "exec",  "--name", c->name,   "--",  "openclaw", "devices", "remove",
			id,   "--url", url,	 "--token", token, "--json",   NULL};
	if (out) {
		fprintf(out, "  removing the bridge's device %s from OpenClaw's pairings (at most %d s)\n",
			id, UNPAIR_TIMEOUT_S);
		fflush(out);
	}
	r = sx_run_captured(argv, UNPAIR_TIMEOUT_S, true, &last);
	explicit_bzero(token, len);
	if (r == 0) {
		if (out)
			fprintf(out, "  removed: OpenClaw pairing of device %s\n", id);
		return;
	}
	what = r == 124 ? "timed out" : r < 0 ? "could not start" : "failed";
	log_warn("`openclaw devices remove %s` in the sandbox %s%s%s; its pairing may stay in OpenClaw's "
		 "store, unusable without the key, which is removed now",
		 id, what, last && *last ? ": " : "", last ? last : "");
}
