/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * users.c - create and remove local accounts without useradd.
 *
 * We edit the four account files directly, under lckpwdf(3): that is the
 * lock shadow-utils' useradd/userdel/vipw take as well (commonio_lock calls
 * lckpwdf before its per-file locks), so we never race them.  Each file is
 * rewritten atomically with its owner and mode kept; lines are formatted by
 * hand in the colon format of passwd(5), group(5), shadow(5), gshadow(5).
 * Using the shadow library's putpwent() family would add nothing: it writes
 * to a FILE* and gives no atomic replacement.
 */
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "users.h"

int sx_user_lookup(const char *name, struct sx_user *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;

	if (!f)
		return -errno;
	while ((pw = fgetpwent(f)))
		if (streq(pw->pw_name, name)) {
			ret->uid = pw->pw_uid;
			ret->gid = pw->pw_gid;
			snprintf(ret->home, sizeof(ret->home), "%s", pw->pw_dir);
			snprintf(ret->shell, sizeof(ret->shell), "%s", pw->pw_shell);
			return 0;
		}
	return -ENOENT;
}

int sx_user_groups(const char *name, gid_t gid, gid_t *groups, size_t max, size_t *n)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
	struct group *gr;

	*n = 0;
	if (max == 0)
		return -ENOBUFS;
	groups[(*n)++] = gid;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((gr = fgetgrent(f)))
		for (char **m = gr->gr_mem; m && *m; m++)
			if (streq(*m, name) && gr->gr_gid != gid) {
				if (*n == max)
					return -ENOBUFS;
				groups[(*n)++] = gr->gr_gid;
				break;
			}
	return 0;
}

/* Field 3 (uid or gid) of a line in passwd or group format. */
static bool id_used_in(const char *text, unsigned id)
{
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p = line;
		for (int field = 0; field < 2 && p; field++) {
			p = strchr(p, ':');
			if (p)
				p++;
		}
		if (p && strtoul(p, NULL, 10) == id && *p >= '0' && *p <= '9')
			return true;
	}
	return false;
}

static bool name_in(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			return true;
	return false;
}

/* Rewrites one account file: drops name's line, appends add (if any). */
static int rewrite_account_file(const char *path, const char *name, const char *add)
{
	_cleanup_free_ char *text = NULL, *out = NULL;
	size_t n = strlen(name), len = 0;
	struct stat st;
	FILE *f;
	int r;

	r = sx_read_file(path, &text, NULL);
	if (r == -ENOENT)
		return 0; /* e.g. no gshadow on this system */
	if (r < 0)
		return log_error_errno(r, "cannot read %s", path);
	if (stat(path, &st) < 0)
		return -errno;
	f = open_memstream(&out, &len);
	if (!f)
		return -ENOMEM;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			continue;
		fprintf(f, "%s\n", line);
	}
	if (add)
		fprintf(f, "%s\n", add);
	if (fclose(f) != 0)
		return -ENOMEM;
	if (sx_file_has_content(path, out, len))
		return 0;
	r = sx_write_file_atomic(path, out, len, st.st_mode & 07777, st.st_uid, st.st_gid);
	if (r < 0)
		return log_error_errno(r, "cannot update %s", path);
	return 0;
}

static int pick_id(const char *passwd, const char *group, bool system, unsigned *ret)
{
	if (system) {
		for (unsigned id = 999; id >= 100; id--)
			if (!id_used_in(passwd, id) && !id_used_in(group, id)) {
				*ret = id;
				return 0;
			}
	} else {
		for (unsigned id = 1000; id < 60000; id++)
			if (!id_used_in(passwd, id) && !id_used_in(group, id)) {
				*ret = id;
				return 0;
			}
	}
	return -ENOSPC;
}

int sx_user_create(const char *name, bool system, const char *home, const char *shell, const char *gecos,
		   struct sx_user *ret)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL, *pw_line = NULL, *gr_line = NULL, *sp_line = NULL,
			    *sg_line = NULL;
	unsigned id;
	int r;

	if (lckpwdf() < 0)
		return log_error_errno(-errno,
				       "cannot lock the account files (lckpwdf); is useradd running?");
	r = sx_read_file("/etc/passwd", &passwd, NULL);
	if (r == 0)
		r = sx_read_file("/etc/group", &group, NULL);
	if (r < 0) {
		log_error_errno(r, "cannot read /etc/passwd or /etc/group");
		goto out;
	}
	if (name_in(passwd, name)) {
		r = -EEXIST;
		goto out;
	}
	if (name_in(group, name)) {
		r = log_error_errno(-EEXIST,
				    "a group named %s exists but no user of that name; "
				    "remove the group or choose another --user",
				    name);
		goto out;
	}
	r = pick_id(passwd, group, system, &id);
	if (r < 0) {
		log_error_errno(r, "no free user id for %s", name);
		goto out;
	}
	pw_line = sx_strdupf("%s:x:%u:%u:%s:%s:%s", name, id, id, gecos, home, shell);
	gr_line = sx_strdupf("%s:x:%u:", name, id);
	/* "!": locked password.  Nobody logs in with a password; root
	 * reaches the sandbox user through su or the launcher. */
	sp_line = sx_strdupf("%s:!:%ld::::::", name, (long)(time(NULL) / 86400));
	sg_line = sx_strdupf("%s:!::", name);
	if (!pw_line || !gr_line || !sp_line || !sg_line) {
		r = -ENOMEM;
		goto out;
	}
	/* Group before user so a user line never names a missing group. */
	if ((r = rewrite_account_file("/etc/group", name, gr_line)) < 0 ||
	    (r = rewrite_account_file("/etc/gshadow", name, sg_line)) < 0 ||
	    (r = rewrite_account_file("/etc/passwd", name, pw_line)) < 0 ||
	    (r = rewrite_account_file("/etc/shadow", name, sp_line)) < 0)
		goto out;
	if (ret) {
		ret->uid = id;
		ret->gid = id;
		snprintf(ret->home, sizeof(ret->home), "%s", home);
		snprintf(ret->shell, sizeof(ret->shell), "%s", shell);
	}
out:
	ulckpwdf();
	return r;
}

int sx_user_delete(const char *name)
{
	int r = 0;

	if (lckpwdf() < 0)
		return log_error_errno(-errno, "cannot lock the account files (lckpwdf)");
	/* Reverse order of creation: user lines first, group last. */
	if ((r = rewrite_account_file("/etc/shadow", name, NULL)) == 0 &&
	    (r = rewrite_account_file("/etc/passwd", name, NULL)) == 0 &&
	    (r = rewrite_account_file("/etc/gshadow", name, NULL)) == 0)
		r = rewrite_account_file("/etc/group", name, NULL);
	ulckpwdf();
	return r;
}
