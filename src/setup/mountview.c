/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mountview.c - build the sandbox's filesystem view with the new mount API.
 *
 * Order matters:
 *  1. propagation private, so nothing here leaks back to the host;
 *  2. detached clones (open_tree OPEN_TREE_CLONE) of what must stay
 *     writable (home, the policy's writable paths) and of the instance's
 *     resolv.conf, taken while they are still reachable and writable;
 *  3. the whole tree read-only and nosuid in one mount_setattr(AT_RECURSIVE);
 *  4. fresh /proc (this process is in the new PID namespace), minimal /dev
 *     (bind mounts of the harmless device nodes, devpts, /dev/shm), /tmp;
 *  5. hidden paths covered: a directory by an empty tmpfs of mode 000, a
 *     file by an empty mode-000 file; a hidden directory that holds the home
 *     (/home) gets a mode-755 tmpfs in which only the home is put back;
 *  6. the clones moved into place.
 * Everything happens in a mount namespace that dies with the sandbox.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/safepath.h"
#include "../lib/util.h"
#include "mountview.h"

#define STAGE "/dev/.sentrix-empty"
#define WS_LOWER "/dev/.sentrix-workspace"

/* "~/x" → home + "/x"; "-/p" (optional) → "/p". */
static char *expand(const char *spec, const char *home, bool *optional)
{
	*optional = spec[0] == '-';
	if (*optional)
		spec++;
	if (spec[0] == '~')
		return sx_strdupf("%s%s", home, spec + 1);
	return strdup(spec);
}

static bool is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0 || streq(dir, "/"));
}

/* A policy path strictly inside the home ("~/x", or the absolute path of
 * something below it): its part relative to the home ("x"), else NULL.
 * Root reaches those only beneath a descriptor of the home, never by name:
 * the sandbox user owns everything there and could plant symlinks. */
static const char *home_relative(const char *path, const char *home)
{
	size_t n = strlen(home);

	if (strncmp(path, home, n) != 0 || path[n] != '/')
		return NULL;
	while (path[n] == '/')
		n++;
	return path[n] ? path + n : NULL;
}

/* Opens rel beneath dfd as O_PATH, refusing every symlink on the way. */
static int open_beneath(int dfd, const char *rel)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int sx_mountview_check(const struct sx_config *c, const struct sx_policy *p, const char *home, bool transient)
{
	_cleanup_close_ int home_fd = -EBADF;
	char **lists[] = {p->fs_hidden, p->fs_writable};

	(void)c;
	for (size_t l = 0; l < ELEMENTSOF(lists); l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			const char *kind = l == 0 ? "hidden" : "writable", *rel;
			_cleanup_close_ int fd = -EBADF;
			bool optional;
			_cleanup_free_ char *path = expand(lists[l][i], home, &optional);
			if (!path)
				return -ENOMEM;
			rel = home_relative(path, home);
			if (transient && (lists[l][i][0] == '~' || rel))
				continue; /* the job's home is made fresh */
			if (!rel) {
				if (!optional && !sx_path_exists(path))
					goto missing;
				continue;
			}
			if (home_fd < 0 && (home_fd = sx_safe_open_dir(home)) < 0)
				return log_error_errno(home_fd, "cannot open the sandbox home %s", home);
			fd = open_beneath(home_fd, rel);
			if (fd == -ELOOP || fd == -EXDEV)
				return log_error_errno(
				    fd,
				    "policy %s: %s path %s is, or passes through, a symbolic "
				    "link in the sandbox home; sentrix does not follow those",
				    p->name, kind, path);
			if (fd == -ENOENT && !optional)
				goto missing;
			if (fd < 0 && fd != -ENOENT)
				return log_error_errno(fd, "policy %s: cannot look at %s path %s", p->name,
						       kind, path);
			continue;
		missing:
			return log_error_errno(-ENOENT,
					       "policy %s: %s path %s does not exist on this host; create it "
					       "or mark it optional with a leading '-' (\"-%s\")",
					       p->name, kind, path, lists[l][i]);
		}
	return 0;
}

static int clone_tree(const char *path)
{
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	return fd < 0 ? log_error_errno(-errno, "cannot clone mount of %s", path) : fd;
}

static int put_tree(int fd, const char *path)
{
	if (move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return log_error_errno(-errno, "cannot mount %s", path);
	return 0;
}

static int set_attr(const char *path, bool recursive, uint64_t set, uint64_t clr)
{
	struct mount_attr a = {.attr_set = set, .attr_clr = clr};

	if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a, sizeof(a)) < 0)
		return log_error_errno(-errno, "cannot change mount attributes of %s", path);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/* A minimal /dev: a tmpfs with the harmless nodes bound from the host's
 * /dev, a private devpts and /dev/shm. */
static int build_dev(void)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},	      {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
					       {"ptmx", "pts/ptmx"},	      {"core", "/proc/kcore"}};
	int fds[ELEMENTSOF(nodes)];
	int r = 0;

	for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
		_cleanup_free_ char *p = sx_strdupf("/dev/%s", nodes[i]);
		fds[i] = p ? open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -ENOMEM;
	}
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		r = log_error_errno(-errno, "cannot mount /dev");
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(nodes); i++) {
		_cleanup_free_ char *p = sx_strdupf("/dev/%s", nodes[i]);
		_cleanup_close_ int f = -EBADF;
		if (fds[i] < 0)
			continue; /* the host lacks it: so does the sandbox */
		f = p ? open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666) : -ENOMEM;
		if (f < 0)
			r = -errno;
		else
			r = put_tree(fds[i], p);
	}
	for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(links) - 1; i++) {
		_cleanup_free_ char *p = sx_strdupf("/dev/%s", links[i][0]);
		if (!p || symlink(links[i][1], p) < 0)
			r = log_error_errno(-errno, "cannot populate /dev");
	}
	if (r == 0 && (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0))
		r = log_error_errno(-errno, "cannot populate /dev");
	if (r == 0 &&
	    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620") < 0)
		r = log_error_errno(-errno, "cannot mount /dev/pts");
	if (r == 0 && mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		r = log_error_errno(-errno, "cannot mount /dev/shm");
	/* The empty mode-000 file bound over hidden files. */
	if (r == 0) {
		int f = open(STAGE, O_CREAT | O_WRONLY | O_CLOEXEC, 0000);
		if (f < 0)
			r = log_error_errno(-errno, "cannot create " STAGE);
		else
			close(f);
	}
	return r;
}

/* Covers one hidden path.  home_inside: the path is a directory holding the
 * home, which is put back afterwards. */
static int hide(const char *path, bool home_inside)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "cannot look at %s", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  home_inside ? "mode=0755,size=16k" : "mode=0000,size=4k,nr_inodes=1") < 0)
			return log_error_errno(-errno, "cannot hide %s", path);
		return 0;
	}
	if (mount(STAGE, path, NULL, MS_BIND, NULL) < 0)
		return log_error_errno(-errno, "cannot hide %s", path);
	return 0;
}

/* Covers a hidden path inside the home, reached beneath home_fd with no
 * symlink followed; the mount goes on the very object opened (its
 * /proc/self/fd link), so renaming things meanwhile changes nothing. */
static int hide_in_home(int home_fd, const char *rel, const char *path)
{
	_cleanup_close_ int fd = open_beneath(home_fd, rel);
	char target[64];
	struct stat st;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error_errno(fd < 0 ? fd : -errno, "cannot hide %s", path);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (S_ISDIR(st.st_mode) ? mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
					"mode=0000,size=4k,nr_inodes=1") < 0
				: mount(STAGE, target, NULL, MS_BIND, NULL) < 0)
		return log_error_errno(-errno, "cannot hide %s", path);
	return 0;
}

/* Writes text to a new file under /dev (still writable) and binds it over
 * target; the staging name is unlinked at once. */
static int bind_text(const char *stage, const char *text, const char *target)
{
	_cleanup_close_ int fd = open(stage, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	int r = 0;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		r = log_error_errno(-errno, "cannot write %s", stage);
	else if (mount(stage, target, NULL, MS_BIND, NULL) < 0)
		r = log_error_errno(-errno, "cannot mount %s", target);
	(void)unlink(stage);
	return r;
}

/* A user namespace whose only mapping presents host uid/gid "from" as
 * "to", for an idmapped mount.  Returns its fd. */
static int idmap_userns(uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid)
{
	char path[64], map[64];
	int sync[2], fd = -EBADF, r = 0;
	pid_t pid;
	char c;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		/* Only exists to own the namespace; waits to be killed. */
		close(sync[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!read(sync[0], &c, 1);
		_exit(0);
	}
	for (int tries = 0; tries < 1000; tries++) { /* until the child has unshared */
		char a[64], b[64];
		ssize_t n1, n2;
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		n1 = readlink(path, a, sizeof(a) - 1);
		n2 = readlink("/proc/self/ns/user", b, sizeof(b) - 1);
		if (n1 > 0 && n2 > 0 && (n1 != n2 || memcmp(a, b, (size_t)n1)))
			break;
		usleep(100);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	/* An idmapped mount shows on-disk id X as the host id that this
	 * namespace maps its own id X to: "from to 1". */
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)from_uid, (unsigned)to_uid);
	if ((r = sx_write_string(path, map)) == 0) {
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)from_gid, (unsigned)to_gid);
		r = sx_write_string(path, map);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	close(sync[0]);
	close(sync[1]);
	return r < 0 ? r : fd;
}

/* The working directory of an ephemeral job: an overlay at the same path,
 * lower = the host's directory, idmapped so its owner's files are the
 * job's; upper and work on the job's home tmpfs.  Writes never reach the
 * host and vanish with the job. */
static int workspace_overlay(const struct sx_view *v)
{
	_cleanup_close_ int ns = -EBADF, tree = -EBADF;
	_cleanup_free_ char *upper = sx_strdupf("%s/.sentrix-workspace/upper", v->home),
			    *work = sx_strdupf("%s/.sentrix-workspace/work", v->home), *opts = NULL;
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP};
	int r;

	if (!upper || !work)
		return -ENOMEM;
	ns = idmap_userns(v->ws_uid, v->ws_gid, v->uid, v->gid);
	if (ns < 0)
		return log_error_errno(ns, "cannot prepare the id mapping for %s", v->workspace);
	a.userns_fd = (uint64_t)ns;
	tree = open_tree(AT_FDCWD, v->workspace, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return log_error_errno(-errno, "cannot idmap %s", v->workspace);
	if (mkdir(WS_LOWER, 0700) < 0 || (r = put_tree(tree, WS_LOWER)) < 0)
		return log_error_errno(-errno, "cannot stage %s", v->workspace);
	if ((r = mkdir_p(upper, 0700)) < 0 || (r = mkdir_p(work, 0700)) < 0 ||
	    chown(upper, v->uid, v->gid) < 0 || chown(work, v->uid, v->gid) < 0)
		return log_error_errno(r < 0 ? r : -errno, "cannot prepare the workspace overlay");
	opts = sx_strdupf("lowerdir=" WS_LOWER ",upperdir=%s,workdir=%s", upper, work);
	if (!opts)
		return -ENOMEM;
	if (mount("overlay", v->workspace, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return log_error_errno(-errno, "cannot mount the workspace overlay on %s", v->workspace);
	/* The overlay holds its own reference to the lower layer. */
	(void)umount2(WS_LOWER, MNT_DETACH);
	(void)rmdir(WS_LOWER);
	return 0;
}

/* The ephemeral job's home: a tmpfs of its own under a covered /home. */
static int transient_home(const struct sx_view *v)
{
	_cleanup_free_ char *opts = sx_strdupf("mode=0700,uid=%u,gid=%u,size=%lum", (unsigned)v->uid,
					       (unsigned)v->gid, v->home_size_mb);
	int r;

	if (!opts)
		return -ENOMEM;
	if (mount("tmpfs", "/home", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k") < 0)
		return log_error_errno(-errno, "cannot cover /home");
	if ((r = mkdir_p(v->home, 0755)) < 0)
		return log_error_errno(r, "cannot create %s", v->home);
	if (mount("tmpfs", v->home, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return log_error_errno(-errno, "cannot mount the job's home %s", v->home);
	if ((r = bind_text("/dev/.sentrix-passwd", v->passwd, "/etc/passwd")) < 0 ||
	    (r = bind_text("/dev/.sentrix-group", v->group, "/etc/group")) < 0)
		return r;
	return set_attr("/home", false, MOUNT_ATTR_RDONLY, 0);
}

/* A detached clone of a writable tree, and where it goes: an absolute
 * path, or (rel) a path beneath the home. */
struct writable {
	int fd;
	char *path;
	const char *rel;
};

/* Clones the policy's writable trees while they are reachable.  Paths in
 * the home are opened beneath its descriptor, no symlink followed. */
static int clone_writable(const struct sx_policy *p, const struct sx_view *v, int home_dir,
			  struct writable *w, size_t *n)
{
	for (size_t i = 0; p->fs_writable && p->fs_writable[i]; i++) {
		bool optional;
		_cleanup_free_ char *path = expand(p->fs_writable[i], v->home, &optional);
		const char *rel;
		int fd;

		if (!path)
			return -ENOMEM;
		rel = home_relative(path, v->home);
		/* Home and /tmp have their own handling; a job's home is new. */
		if (streq(path, v->home) || streq(path, "/tmp") || (rel && v->transient))
			continue;
		if (rel) {
			_cleanup_close_ int at = open_beneath(home_dir, rel);
			if (at == -ENOENT)
				continue;
			if (at < 0)
				return log_error_errno(at, "cannot open %s", path);
			fd = open_tree(at, "",
				       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
			if (fd < 0)
				return log_error_errno(-errno, "cannot clone mount of %s", path);
		} else {
			if (!sx_path_exists(path))
				continue;
			fd = clone_tree(path);
			if (fd < 0)
				return fd;
		}
		w[*n] = (struct writable){.fd = fd, .path = TAKE_PTR(path)};
		w[*n].rel = rel ? home_relative(w[*n].path, v->home) : NULL;
		(*n)++;
	}
	return 0;
}

/* Puts each writable clone in place; those in the home onto the object
 * found beneath the (new) home's descriptor. */
static int place_writable(struct writable *w, size_t n, int home_now)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int at = -EBADF;
		if (!w[i].rel) {
			int r = put_tree(w[i].fd, w[i].path);
			if (r < 0)
				return r;
			continue;
		}
		at = open_beneath(home_now, w[i].rel);
		if (at < 0 ||
		    move_mount(w[i].fd, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return log_error_errno(at < 0 ? at : -errno, "cannot mount %s", w[i].path);
	}
	return 0;
}

int sx_mountview_build(const struct sx_config *c, const struct sx_policy *p, const struct sx_view *v)
{
	const char *home = v->home;
	_cleanup_close_ int home_dir = -EBADF, home_fd = -EBADF, home_now = -EBADF, resolv_fd = -EBADF;
	char resolv_target[4096];
	size_t n_writable = sx_strv_length(p->fs_writable), nw = 0;
	struct writable w[n_writable + 1];
	int r = 0;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return log_error_errno(-errno, "cannot make the mount namespace private");

	if (!v->transient) {
		/* The home itself is reached as safepath.h says; below it,
		 * only beneath this descriptor. */
		home_dir = sx_safe_open_dir(home);
		if (home_dir < 0)
			return log_error_errno(home_dir, "cannot open the sandbox home %s", home);
		home_fd = open_tree(home_dir, "",
				    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
		if (home_fd < 0)
			return log_error_errno(-errno, "cannot clone mount of %s", home);
	}
	if ((r = clone_writable(p, v, home_dir, w, &nw)) < 0)
		goto out;
	resolv_fd = open_tree(AT_FDCWD, c->resolv_conf, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (!realpath("/etc/resolv.conf", resolv_target))
		snprintf(resolv_target, sizeof(resolv_target), "/etc/resolv.conf");

	if ((r = set_attr("/", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)) < 0)
		goto out;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = log_error_errno(-errno, "cannot mount /proc");
		goto out;
	}
	if ((r = build_dev()) < 0)
		goto out;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) {
		r = log_error_errno(-errno, "cannot mount /tmp");
		goto out;
	}

	if (v->transient && (r = transient_home(v)) < 0)
		goto out;
	if (v->workspace && (r = workspace_overlay(v)) < 0)
		goto out;
	for (size_t i = 0; p->fs_hidden && p->fs_hidden[i]; i++) {
		bool optional;
		_cleanup_free_ char *h = expand(p->fs_hidden[i], home, &optional);
		if (!h) {
			r = -ENOMEM;
			goto out;
		}
		if (home_relative(h, home) || (v->transient && is_under(home, h)))
			continue; /* below: in the home / covered by transient_home() */
		if ((r = hide(h, is_under(home, h))) < 0)
			goto out;
		/* Put the home back where a hidden directory covered it. */
		if (is_under(home, h) &&
		    ((r = mkdir_p(home, 0755)) < 0 || (r = set_attr(h, false, MOUNT_ATTR_RDONLY, 0)) < 0))
			goto out;
	}
	if (home_fd >= 0) {
		if ((r = put_tree(home_fd, home)) < 0)
			goto out;
		/* The path is root's up to the home, which is now the clone. */
		home_now = open(home, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (home_now < 0) {
			r = log_error_errno(-errno, "cannot open %s", home);
			goto out;
		}
		for (size_t i = 0; p->fs_hidden && p->fs_hidden[i]; i++) {
			bool optional;
			_cleanup_free_ char *h = expand(p->fs_hidden[i], home, &optional);
			const char *rel = h ? home_relative(h, home) : NULL;
			if (rel && (r = hide_in_home(home_now, rel, h)) < 0)
				goto out;
		}
	}
	(void)unlink(STAGE);
	if ((r = set_attr("/dev", false, MOUNT_ATTR_RDONLY, 0)) < 0)
		goto out;

	if ((r = place_writable(w, nw, home_now)) < 0)
		goto out;
	if (resolv_fd >= 0 && (r = put_tree(resolv_fd, resolv_target)) < 0)
		goto out;
out:
	for (size_t i = 0; i < nw; i++) {
		close(w[i].fd);
		free(w[i].path);
	}
	return r;
}
