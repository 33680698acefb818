/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * seccomp.c - build and load the sandbox's seccomp filter with libseccomp.
 *
 * Refused calls answer EPERM (not a kill), so tools fail gracefully and say
 * why.  Two calls need their arguments looked at:
 *  - clone and unshare are refused only with a namespace flag, because
 *    threads and fork are clone too;
 *  - clone3 keeps its flags in user memory, which seccomp cannot read, so it
 *    answers ENOSYS: glibc then falls back to clone, which is filtered (an
 *    EPERM here would break thread creation in Node and everything else).
 * socket() is refused for every family but AF_UNIX, AF_INET and AF_INET6
 * (no packet, raw netlink, ...).  ioctl(TIOCSTI) and ioctl(TIOCLINUX) are
 * refused: a sandbox started from an operator's terminal shares it, and
 * TIOCSTI would push keystrokes into the operator's (root's) shell to run
 * once the sandbox exits (as bubblewrap and flatpak refuse it).  The filter is built in the launcher
 * before anything is set up, so a bad profile fails before the command.
 */
#include <errno.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "seccomp.h"

#define NS_FLAGS                                                                                             \
	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |           \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

/* SCMP_A0() leaves datum_b implicit, which clang's -Wextra refuses. */
static struct scmp_arg_cmp arg0(enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){.arg = 0, .op = op, .datum_a = a, .datum_b = b};
}

static int add_compat_arches(scmp_filter_ctx ctx)
{
	uint32_t native = seccomp_arch_native();
	int r = 0;

	/* 32-bit syscall entry points reach the same kernel: filter them. */
	if (native == SCMP_ARCH_X86_64) {
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X86)) < 0 && r != -EEXIST)
			return r;
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X32)) < 0 && r != -EEXIST)
			return r;
	} else if (native == SCMP_ARCH_AARCH64) {
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_ARM)) < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

static int deny_flags(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	for (unsigned long f = 1; f; f <<= 1) {
		if (!(NS_FLAGS & f))
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, arg0(SCMP_CMP_MASKED_EQ, f, f));
		if (r < 0)
			return r;
	}
	return 0;
}

static int deny_socket_families(scmp_filter_ctx ctx)
{
	int nr = SCMP_SYS(socket), r;

	/* Allowed: AF_UNIX (1), AF_INET (2), AF_INET6 (10). */
	for (int fam = 0; fam < AF_INET6; fam++) {
		if (fam == AF_UNIX || fam == AF_INET)
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					  arg0(SCMP_CMP_EQ, (scmp_datum_t)fam, 0))) < 0)
			return r;
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, arg0(SCMP_CMP_GT, AF_INET6, 0));
	if (r < 0)
		return r;
	/* i386's socketcall() multiplexer hides the family from seccomp. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socketcall), 0);
	return r == -EDOM ? 0 : r;
}

/* The kernel reads ioctl's request as 32 bits: compare only those, or
 * TIOCSTI | 1 << 32 would pass (flatpak's CVE-2019-10063). */
static int deny_tty_injection(scmp_filter_ctx ctx)
{
	static const unsigned long requests[] = {TIOCSTI, TIOCLINUX};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
		struct scmp_arg_cmp cmp = {
		    .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = requests[i]};
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, cmp)) < 0)
			return r;
	}
	return 0;
}

int sx_seccomp_build(const struct sx_policy *p, void **ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return log_error_errno(-ENOMEM, "cannot create a seccomp filter");
	r = add_compat_arches(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return log_error_errno(r, "cannot add the compat architectures to the seccomp filter");
	}
	for (size_t i = 0; p->seccomp_deny && p->seccomp_deny[i]; i++) {
		int nr = seccomp_syscall_resolve_name(p->seccomp_deny[i]);
		if (nr == __NR_SCMP_ERROR) {
			seccomp_release(ctx);
			return log_error_errno(-EINVAL, "policy %s: seccomp.deny: unknown system call \"%s\"",
					       p->name, p->seccomp_deny[i]);
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EEXIST) {
			seccomp_release(ctx);
			return log_error_errno(r, "seccomp: cannot refuse %s", p->seccomp_deny[i]);
		}
	}
	if ((r = deny_flags(ctx, "clone")) < 0 || (r = deny_flags(ctx, "unshare")) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0 ||
	    (r = deny_socket_families(ctx)) < 0 || (r = deny_tty_injection(ctx)) < 0) {
		seccomp_release(ctx);
		return log_error_errno(r, "seccomp: cannot build the shared rules");
	}
	*ret = ctx;
	return 0;
}

int sx_seccomp_compile(void *filter, struct sock_fprog *prog)
{
	_cleanup_close_ int fd = memfd_create("sentrix-seccomp", MFD_CLOEXEC);
	struct stat st;
	void *buf;
	int r;

	if (fd < 0)
		return log_error_errno(-errno, "cannot compile the seccomp filter");
	r = seccomp_export_bpf(filter, fd);
	if (r < 0)
		return log_error_errno(r, "cannot compile the seccomp filter");
	if (fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter))
		return log_error_errno(-EIO, "cannot compile the seccomp filter");
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return log_error_errno(-EIO, "cannot compile the seccomp filter");
	}
	prog->filter = buf;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	return 0;
}

int sx_seccomp_load(const struct sock_fprog *prog)
{
	/* The raw BPF: nothing to allocate after fork (the process is a
	 * copy-on-write child; every write costs a page fault). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return log_error_errno(-errno, "cannot load the seccomp filter");
	return 0;
}

void sx_seccomp_free(void *filter)
{
	if (filter)
		seccomp_release(filter);
}
