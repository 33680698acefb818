/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * hostres.c - reference-counted host-wide resources (see hostres.h).
 *
 * host.json layout:
 *   { "dirs":   { "/etc/netns": { "users": ["a", "b"] } },
 *     "sysctl": { "net.ipv4.ip_forward": { "original": "0", "users": ["a"] } } }
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "hostres.h"

#define HOST_STORE SX_STATE_DIR "/host.json"

static int store_load(cJSON **ret)
{
	_cleanup_free_ char *why = NULL;
	int r = sx_json_load(HOST_STORE, ret, &why);

	if (r == -ENOENT) {
		*ret = cJSON_CreateObject();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return log_error_errno(r, HOST_STORE " is unreadable (%s); fix or remove it",
				       why ? why : "I/O error");
	return 0;
}

/* Writes the store, or removes it (and /var/lib/sentrix when empty) when
 * nothing is recorded any more. */
static int store_save(cJSON *root)
{
	_cleanup_free_ char *text = NULL;
	cJSON *sec, *next;

	for (sec = root->child; sec; sec = next) {
		next = sec->next;
		if (!sec->child)
			cJSON_DeleteItemFromObjectCaseSensitive(root, sec->string);
	}
	if (!root->child) {
		if (unlink(HOST_STORE) < 0 && errno != ENOENT)
			return log_error_errno(-errno, "cannot remove " HOST_STORE);
		(void)rmdir(SX_STATE_DIR);
		return 0;
	}
	if (mkdir(SX_STATE_DIR, 0755) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "cannot create " SX_STATE_DIR);
	text = sx_json_print(root);
	if (!text)
		return -ENOMEM;
	if (sx_file_has_content(HOST_STORE, text, strlen(text)))
		return 0; /* unchanged: spare the disk a write and an fsync */
	return sx_write_file_atomic(HOST_STORE, text, strlen(text), 0644, 0, 0);
}

static cJSON *section(cJSON *root, const char *name)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(root, name);
	return s ? s : cJSON_AddObjectToObject(root, name);
}

static void add_user(cJSON *entry, const char *instance)
{
	cJSON *users = cJSON_GetObjectItemCaseSensitive(entry, "users"), *it;

	if (!users)
		users = cJSON_AddArrayToObject(entry, "users");
	cJSON_ArrayForEach(it, users) if (cJSON_IsString(it) && streq(it->valuestring, instance)) return;
	cJSON_AddItemToArray(users, cJSON_CreateString(instance));
}

/* Removes instance from entry's users; returns true when none remain. */
static bool drop_user(cJSON *entry, const char *instance)
{
	cJSON *users = cJSON_GetObjectItemCaseSensitive(entry, "users");
	int i = 0;
	cJSON *it;

	cJSON_ArrayForEach(it, users)
	{
		if (cJSON_IsString(it) && streq(it->valuestring, instance)) {
			cJSON_DeleteItemFromArray(users, i);
			break;
		}
		i++;
	}
	return cJSON_GetArraySize(users) == 0;
}

int sx_host_dir_acquire(const char *path, unsigned mode, const char *instance)
{
	bool existed = sx_path_exists(path), first;
	int r;

	/* Record first, then create: a crash in between leaves a record whose
	 * release finds nothing to remove. */
	r = sx_host_ref_acquire("dirs", path, instance, NULL, existed, &first);
	if (r < 0 || (existed && first))
		return r; /* error, or there before sentrix: never ours */
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "cannot create %s", path);
	return 0;
}

int sx_host_dir_release(const char *path, const char *instance)
{
	bool last;
	int r;

	r = sx_host_ref_release("dirs", path, instance, &last, NULL);
	if (r < 0 || !last || sx_dir_entries(path) != 0)
		return r;
	/* /run/netns may be a mount point of its own (see netns.c). */
	(void)umount2(path, MNT_DETACH);
	if (rmdir(path) < 0 && errno != ENOENT)
		log_warn_errno(-errno, "cannot remove %s", path);
	return 0;
}

static char *sysctl_path(const char *key)
{
	char *p = sx_strdupf("/proc/sys/%s", key);

	/* Dots separate levels; interface names never contain dots here
	 * (instance names are [a-z0-9-]). */
	for (char *c = p ? p + 10 : NULL; c && *c; c++)
		if (*c == '.')
			*c = '/';
	return p;
}

int sx_sysctl_read(const char *key, char *buf, size_t len)
{
	_cleanup_free_ char *path = sysctl_path(key), *text = NULL;
	size_t n;
	int r;

	if (!path)
		return -ENOMEM;
	r = sx_read_file(path, &text, &n);
	if (r < 0)
		return r;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = 0;
	snprintf(buf, len, "%s", text);
	return 0;
}

int sx_sysctl_write(const char *key, const char *value)
{
	_cleanup_free_ char *path = sysctl_path(key);
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(value);

	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, n) != (ssize_t)n)
		return log_error_errno(-errno, "cannot set sysctl %s=%s", key, value);
	return 0;
}

int sx_host_sysctl_acquire(const char *key, const char *value, const char *instance)
{
	char cur[64];
	bool first;
	int r;

	r = sx_sysctl_read(key, cur, sizeof(cur));
	if (r < 0)
		return log_error_errno(r, "cannot read sysctl %s", key);
	/* Record the original first, then change it. */
	r = sx_host_ref_acquire("sysctl", key, instance, cur, false, &first);
	if (r < 0)
		return r;
	return streq(cur, value) ? 0 : sx_sysctl_write(key, value);
}

int sx_host_sysctl_release(const char *key, const char *instance)
{
	_cleanup_free_ char *orig = NULL;
	char cur[64];
	bool last;
	int r;

	r = sx_host_ref_release("sysctl", key, instance, &last, &orig);
	if (r < 0 || !last || !orig)
		return r;
	if (sx_sysctl_read(key, cur, sizeof(cur)) == 0 && streq(cur, orig))
		return 0;
	return sx_sysctl_write(key, orig);
}

int sx_host_ref_acquire(const char *section_name, const char *key, const char *instance, const char *original,
			bool only_if_known, bool *first)
{
	_cleanup_cjson_ cJSON *root = NULL;
	cJSON *sec, *entry;
	int r;

	r = store_load(&root);
	if (r < 0)
		return r;
	sec = section(root, section_name);
	entry = cJSON_GetObjectItemCaseSensitive(sec, key);
	*first = !entry;
	if (!entry) {
		if (only_if_known)
			return 0;
		entry = cJSON_AddObjectToObject(sec, key);
		if (original)
			cJSON_AddStringToObject(entry, "original", original);
	}
	add_user(entry, instance);
	return store_save(root);
}

int sx_host_ref_release(const char *section_name, const char *key, const char *instance, bool *last,
			char **original)
{
	_cleanup_cjson_ cJSON *root = NULL;
	cJSON *sec, *entry;
	int r;

	*last = false;
	r = store_load(&root);
	if (r < 0)
		return r;
	sec = section(root, section_name);
	entry = cJSON_GetObjectItemCaseSensitive(sec, key);
	if (entry && drop_user(entry, instance)) {
		*last = true;
		if (original) {
			const char *o = sx_json_str(entry, "original");
			*original = o ? strdup(o) : NULL;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(sec, key);
	}
	return store_save(root);
}
