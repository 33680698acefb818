/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * seccomp-export.c - writes the seccomp filter sentrix builds for a policy
 * as raw BPF, so `make bench` can hand bwrap the very same filter.
 * Usage: seccomp-export POLICY_DIR OUTPUT
 */
#include <fcntl.h>
#include <seccomp.h>

#include "lib/log.h"
#include "lib/policy.h"
#include "setup/seccomp.h"

int main(int argc, char **argv)
{
	_cleanup_policy_ struct sx_policy *p = NULL;
	_cleanup_free_ char *why = NULL;
	void *filter = NULL;
	int fd, r;

	if (argc != 3)
		return 2;
	if (sx_policy_load(argv[1], &p, &why) < 0) {
		log_error("%s", why ? why : "bad policy");
		return 1;
	}
	if (sx_seccomp_build(p, &filter) < 0)
		return 1;
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	r = fd < 0 ? -errno : seccomp_export_bpf(filter, fd);
	if (fd >= 0)
		close(fd);
	sx_seccomp_free(filter);
	return r < 0 ? 1 : 0;
}
