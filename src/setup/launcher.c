/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * launcher.c - `sentrix sandbox exec`, from argv to exec in one flow.
 *
 *   launcher (root, host mount/PID namespaces)
 *     checks everything that can fail before anything starts: instance,
 *     policy, paths, seccomp filter, user, directory;
 *     forks PID 1 into a new PID namespace (clone(CLONE_NEWPID)); stays
 *     in the host's other namespaces itself, so it can clean up after an
 *     ephemeral job; forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/2;
 *     passes the command's exit status or signal through.
 *   the relay (`sentrix sandbox run` only: launch(o, true))
 *     forked before PID 1, so in the launcher's PID and mount namespaces;
 *     joins the instance's netns and becomes the gateway user; carries the
 *     sidecar's connections from /run/sentrix/NAME/openclaw.sock to
 *     OpenClaw on 127.0.0.1 there (relay.c); dies with the launcher, which
 *     stops it and removes the socket when the sandbox ends.
 *   PID 1 (the reaper)
 *     dies with the launcher (PR_SET_PDEATHSIG), and the whole PID
 *     namespace with it; joins the instance's netns and unshares mount, IPC
 *     and UTS; builds the filesystem view (mountview.c); sets the
 *     hostname; forks the command; drops to the sandbox user under the same
 *     filter; reaps every zombie; reports the command's status on a pipe.
 *   the command
 *     becomes the sandbox user with no capabilities and no new privileges,
 *     with the policy's rlimits, umask 077, a scrubbed environment, no
 *     inherited descriptor above 2, and the seccomp filter; execs.
 * Everything the sandbox owns lives in namespaces that die with it, so a
 * launcher killed with SIGKILL leaves nothing behind (but the relay's
 * socket file, which the next start replaces).
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../lib/config.h"
#include "../lib/log.h"
#include "../lib/policy.h"
#include "../lib/strv.h"
#include "../lib/fileio.h"
#include "ephemeral.h"
#include "launcher.h"
#include "lock.h"
#include "mountview.h"
#include "netns.h"
#include "privdrop.h"
#include "relay.h"
#include "seccomp.h"
#include "users.h"

/* What PID 1 reports: how the command ended, or that confinement failed. */
struct outcome {
	int kind; /* OUTCOME_* */
	int value;
};
enum { OUTCOME_EXITED, OUTCOME_SIGNALED, OUTCOME_FAILED };

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
static volatile pid_t forward_to = -1;

static void forward(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static void set_forwarding(bool on)
{
	struct sigaction sa = {.sa_handler = on ? forward : SIG_DFL, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
}

static void block_forwarded(bool block)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

struct job {
	const struct sx_config *config;
	const struct sx_policy *policy;
	struct sx_user user;
	struct sx_view view;
	char *passwd, *group; /* ephemeral: the files that name the transient uid */
	char *workspace; /* ephemeral: the caller's directory, overlaid */
	const char *cwd;
	char **argv;
	char **env;
	void *filter;
	struct sock_fprog bpf; /* filter, compiled once before fork */
	int net_fd; /* the instance's netns */
	int status_fd; /* PID 1 → launcher */
	int alive_fd; /* hangs up when the launcher dies */
	bool unit_ipc; /* already in a private IPC namespace (the unit's) */
};

static void report(int fd, int kind, int value)
{
	struct outcome o = {kind, value};
	(void)!write(fd, &o, sizeof(o));
}

/* The command, in PID 1's namespaces: drop everything, then exec. */
static _Noreturn void run_command(struct job *j)
{
	extern char **environ;

	block_forwarded(false);
	set_forwarding(false);
	if (sx_privdrop(j->config->user, j->user.uid, j->user.gid, j->policy) < 0)
		_exit(126);
	/* As the sandbox user: the directory may be in its home, where root
	 * must not follow its symlinks. */
	if (!j->cwd || chdir(j->cwd) < 0) {
		log_error_errno(-errno, "cannot enter %s", j->cwd);
		_exit(126);
	}
	umask(077);
	environ = j->env;
	if (sx_seccomp_load(&j->bpf) < 0)
		_exit(126);
	/* Last: nothing of the launcher's may leak into the sandbox. */
	close_range(3, ~0U, 0);
	if (!j->argv || !j->argv[0])
		_exit(127);
	execvp(j->argv[0], j->argv);
	log_error_errno(-errno, "cannot run %s", j->argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

static bool launcher_gone(int alive_fd)
{
	struct pollfd p = {.fd = alive_fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

/* sentrix-sandbox@.service gives the launcher an IPC namespace of its own
 * (PrivateIPC=yes) and says so (SENTRIX_PRIVATE_IPC=1), so its
 * RestrictNamespaces= need not allow a new one.  Believed only when this
 * is not the initial IPC namespace (PROC_IPC_INIT_INO). */
static bool unit_private_ipc(void)
{
	struct stat st;

	return streq(getenv("SENTRIX_PRIVATE_IPC"), "1") && stat("/proc/self/ns/ipc", &st) == 0 &&
	    st.st_ino != 0xEFFFFFFFU;
}

/* PID 1 of the sandbox's PID namespace. */
static _Noreturn void run_pid1(struct job *j)
{
	pid_t child, w;
	int st;

	/* When the launcher dies, so does PID 1, and with it every process
	 * of the namespace.  Check once by hand for a launcher that died
	 * before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || launcher_gone(j->alive_fd))
		_exit(1);
	if ((!sx_netns_current(j->net_fd) && setns(j->net_fd, CLONE_NEWNET) < 0) ||
	    unshare(CLONE_NEWNS | CLONE_NEWUTS | (j->unit_ipc ? 0 : CLONE_NEWIPC)) < 0) {
		log_error_errno(-errno, "cannot enter the sandbox's namespaces");
		report(j->status_fd, OUTCOME_FAILED, errno);
		_exit(1);
	}
	close(j->net_fd);
	if (sethostname(j->config->name, strlen(j->config->name)) < 0 ||
	    sx_mountview_build(j->config, j->policy, &j->view) < 0) {
		report(j->status_fd, OUTCOME_FAILED, errno);
		_exit(1);
	}
	child = fork();
	if (child < 0) {
		report(j->status_fd, OUTCOME_FAILED, errno);
		_exit(1);
	}
	if (child == 0)
		run_command(j);
	forward_to = child;
	set_forwarding(true);
	block_forwarded(false);
	/* PID 1 needs nothing of root any more: it only waits. */
	if (sx_privdrop(j->config->user, j->user.uid, j->user.gid, j->policy) < 0 ||
	    /* a credential change clears the parent-death signal: again */
	    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || launcher_gone(j->alive_fd) ||
	    sx_seccomp_load(&j->bpf) < 0) {
		kill(child, SIGKILL);
		report(j->status_fd, OUTCOME_FAILED, EPERM);
		_exit(1);
	}
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || w == child)
			break;
	}
	if (w == child && WIFSIGNALED(st))
		report(j->status_fd, OUTCOME_SIGNALED, WTERMSIG(st));
	else
		report(j->status_fd, OUTCOME_EXITED, w == child ? WEXITSTATUS(st) : 1);
	_exit(0); /* the kernel kills whatever is left in the namespace */
}

/* host passwd/group plus a line naming the transient uid. */
static int transient_identity(struct job *j, const struct sx_config *c)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;

	if (sx_read_file("/etc/passwd", &passwd, NULL) < 0 || sx_read_file("/etc/group", &group, NULL) < 0)
		return log_error_errno(-EIO, "cannot read /etc/passwd and /etc/group");
	j->passwd = sx_strdupf("%s%s%s:x:%u:%u:sentrix ephemeral job:%s:/bin/sh\n", passwd,
			       *passwd && passwd[strlen(passwd) - 1] != '\n' ? "\n" : "", c->user,
			       (unsigned)j->user.uid, (unsigned)j->user.gid, c->home);
	j->group = sx_strdupf("%s%s%s:x:%u:\n", group, *group && group[strlen(group) - 1] != '\n' ? "\n" : "",
			      c->user, (unsigned)j->user.gid);
	return j->passwd && j->group ? 0 : -ENOMEM;
}

/* An ephemeral job runs in the caller's directory (or --cwd), shown
 * writable through a copy-on-write overlay (mountview.c) - unless it is a
 * place the sandbox hides or provides itself, where the job's home is used. */
static int pick_workspace(const struct sx_options *o, struct job *j)
{
	static const char *const not_here[] = {"/home",
					       "/root",
					       "/tmp",
					       "/proc",
					       "/dev",
					       "/sys",
					       "/run",
					       "/etc/sentrix",
					       "/var/lib/sentrix",
					       "/var/log/sentrix"};
	char buf[4096];
	const char *dir = o->cwd;
	struct stat st;

	if (!dir) {
		if (!getcwd(buf, sizeof(buf)))
			return 0;
		dir = buf;
	}
	if (streq(dir, "/"))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(not_here); i++) {
		size_t n = strlen(not_here[i]);
		if (strncmp(dir, not_here[i], n) == 0 && (dir[n] == 0 || dir[n] == '/')) {
			if (o->cwd)
				return log_error_errno(-EINVAL,
						       "--cwd %s: an ephemeral job cannot work under %s", dir,
						       not_here[i]);
			return 0;
		}
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "%s is not a directory", dir);
	free(j->workspace);
	j->workspace = strdup(dir);
	if (!j->workspace)
		return -ENOMEM;
	j->view.workspace = j->workspace;
	j->view.ws_uid = st.st_uid;
	j->view.ws_gid = st.st_gid;
	j->cwd = j->workspace;
	return 0;
}

/* Everything that can be checked before anything starts. */
static int prepare(const struct sx_options *o, struct sx_config **c, struct sx_policy **p, struct job *j)
{
	_cleanup_free_ char *why = NULL;
	struct stat st;
	int r;

	if (o->ephemeral) {
		/* The instance is made (and the netns up) under the lock;
		 * the transient uid has no passwd entry, by design. */
		_cleanup_close_ int lock = sx_lock_take();
		uid_t uid;
		if (lock < 0)
			return lock;
		(void)sx_ephemeral_gc();
		r = sx_ephemeral_create(o->policy ? o->policy : "default", c, p, &uid);
		if (r < 0)
			return r;
		j->user = (struct sx_user){.uid = uid, .gid = uid};
		j->view = (struct sx_view){.home = (*c)->home,
					   .transient = true,
					   .uid = uid,
					   .gid = uid,
					   .home_size_mb = SX_EPHEMERAL_HOME_MB};
		if ((r = transient_identity(j, *c)) < 0)
			return r;
		j->view.passwd = j->passwd;
		j->view.group = j->group;
		j->cwd = o->cwd ? o->cwd : (*c)->home;
		if ((r = pick_workspace(o, j)) < 0)
			return r;
		goto common;
	}
	r = sx_config_load(o->name, c, &why);
	if (r == -ENOENT)
		return log_error_errno(r,
				       "there is no instance %s here; set it up with `sentrix sandbox setup "
				       "--name %s`",
				       o->name, o->name);
	if (r < 0)
		return log_error_errno(r, "instance %s: %s", o->name, why ? why : "unreadable config.json");
	r = sx_policy_load((*c)->policy_dir, p, &why);
	if (r < 0)
		return log_error_errno(r, "instance %s: policy unusable: %s", o->name, why ? why : "");
	if (!sx_netns_mounted((*c)->netns_path))
		return log_error_errno(-ENONET,
				       "instance %s is down (no %s); bring it up with `sentrix sandbox up "
				       "--name %s`",
				       o->name, (*c)->netns_path, o->name);
	if (sx_user_lookup((*c)->user, &j->user) < 0)
		return log_error_errno(-ENOENT,
				       "the sandbox user %s of instance %s does not exist; run setup again",
				       (*c)->user, o->name);
	j->view = (struct sx_view){.home = (*c)->home};
	j->cwd = o->cwd ? o->cwd : (*c)->home;
	if (stat(j->cwd, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "--cwd %s is not a directory", j->cwd);
common:
	if ((r = sx_mountview_check(*c, *p, (*c)->home, j->view.transient)) < 0 ||
	    (r = sx_seccomp_build(*p, &j->filter)) < 0 || (r = sx_seccomp_compile(j->filter, &j->bpf)) < 0)
		return r;
	j->env = sx_sandbox_env(*c, (*c)->user, (*c)->home);
	return j->env ? 0 : -ENOMEM;
}

/* Removes an ephemeral instance, under the host-wide lock. */
static void teardown(const struct sx_config *c)
{
	_cleanup_close_ int lock = sx_lock_take();

	if (lock < 0)
		log_warn("removing ephemeral instance %s without the lock", c->name);
	if (sx_ephemeral_destroy(c) < 0)
		log_warn("ephemeral instance %s was not removed completely; `sentrix sandbox gc` retries",
			 c->name);
}

/* Passes the command's end through: its exit status, or its signal. */
static int pass_through(const struct outcome *out)
{
	if (out->kind == OUTCOME_EXITED)
		return out->value;
	if (out->kind == OUTCOME_FAILED) {
		log_error("the sandbox could not be set up (%s); nothing was started", strerror(out->value));
		return 1;
	}
	(void)prlimit(0, RLIMIT_CORE, &(struct rlimit){0, 0}, NULL);
	set_forwarding(false);
	block_forwarded(false);
	signal(out->value, SIG_DFL);
	raise(out->value);
	return 128 + out->value;
}

/* `exec` (relay false) and `run` (relay true: sx_run_main() only, so a
 * plain or ephemeral exec never starts one). */
static int launch(const struct sx_options *o, bool relay)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_close_ int netfd = -EBADF;
	struct job j = {.argv = o->argv, .unit_ipc = unit_private_ipc()};
	struct outcome out = {OUTCOME_FAILED, EPIPE};
	struct sx_relay rl = SX_RELAY_INIT;
	int status_pipe[2] = {-EBADF, -EBADF}, alive_pipe[2] = {-EBADF, -EBADF};
	pid_t pid1;
	int r, st;

	r = prepare(o, &c, &p, &j);
	j.config = c;
	j.policy = p;
	if (r < 0)
		goto out;
	netfd = sx_netns_open(c->netns_path);
	if (netfd < 0) {
		r = log_error_errno(netfd, "cannot prepare the sandbox");
		goto out;
	}
	/* Before PID 1 and every pipe of the sandbox: the relay inherits
	 * none of them, and is in no namespace of the sandbox's. */
	if (relay && !o->ephemeral && (r = sx_relay_start(c, netfd, &rl)) < 0)
		goto out;
	if (pipe2(status_pipe, O_CLOEXEC) < 0 || pipe2(alive_pipe, O_CLOEXEC) < 0) {
		r = log_error_errno(-errno, "cannot prepare the sandbox");
		goto out;
	}
	j.net_fd = netfd;
	j.status_fd = status_pipe[1];
	j.alive_fd = alive_pipe[0];
	block_forwarded(true);
	/* fork() into a new PID namespace.  clone() rather than
	 * unshare(CLONE_NEWPID) + fork(): the launcher's own later children
	 * (sanitizer helpers, for one) must not land in a namespace whose
	 * init has exited. */
	pid1 = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (pid1 < 0) {
		r = log_error_errno(-errno, "cannot start the sandbox");
		goto out;
	}
	if (pid1 == 0) {
		close(status_pipe[0]);
		close(alive_pipe[1]);
		run_pid1(&j);
	}
	forward_to = pid1;
	set_forwarding(true);
	block_forwarded(false);
	close(status_pipe[1]);
	status_pipe[1] = -EBADF;
	close(alive_pipe[0]);
	alive_pipe[0] = -EBADF;
	if (o->ephemeral) {
		/* From now on only the job's processes and the fd this
		 * launcher holds keep the netns alive: it and its veth die
		 * with the job, even if this launcher is SIGKILLed. */
		(void)sx_netns_remove(c->netns_path);
	}
	while (waitpid(pid1, &st, 0) < 0 && errno == EINTR)
		;
	if (read(status_pipe[0], &out, sizeof(out)) != (ssize_t)sizeof(out))
		out = (struct outcome){OUTCOME_FAILED, EPIPE};
	sx_relay_stop(&rl); /* before pass_through(), which may raise a signal */
	close(TAKE_FD(netfd)); /* the netns may go now */
	if (o->ephemeral)
		teardown(c);
	r = pass_through(&out);
out:
	sx_relay_stop(&rl);
	for (int i = 0; i < 2; i++) {
		if (status_pipe[i] >= 0)
			close(status_pipe[i]);
		if (alive_pipe[i] >= 0)
			close(alive_pipe[i]);
	}
	if (r < 0 && o->ephemeral && c)
		teardown(c);
	sx_strv_free(j.env);
	sx_seccomp_free(j.filter);
	free(j.bpf.filter);
	free(j.passwd);
	free(j.group);
	free(j.workspace);
	return r < 0 ? 1 : r;
}

int sx_exec_main(const struct sx_options *o)
{
	return launch(o, false);
}

int sx_run_main(const struct sx_options *o)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	struct sx_options run = *o;
	char port[16];
	char *argv[] = {"openclaw", "gateway", "--port", port, NULL};
	int r;

	r = sx_config_load(o->name, &c, &why);
	if (r == -ENOENT) {
		log_error("there is no instance %s here; set it up with `sentrix sandbox setup --name %s`",
			  o->name, o->name);
		return 1;
	}
	if (r < 0) {
		log_error_errno(r, "instance %s: %s", o->name, why ? why : "unreadable config.json");
		return 1;
	}
	/* The unit's command (templates/sandbox-dropin.conf runs `run`), with
	 * the relay that lets the sidecar reach OpenClaw over loopback. */
	snprintf(port, sizeof(port), "%u", c->openclaw_port);
	run.command = SX_CMD_EXEC;
	run.argv = argv;
	return launch(&run, true);
}
