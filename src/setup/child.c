/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * child.c - run one of sentrix's own programs (or, through the launcher,
 * a confined one) and keep the last line it printed (see child.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/util.h"
#include "child.h"

int sx_run_captured(char *const argv[], unsigned timeout_s, bool with_stderr, char **out)
{
	char buf[4096];
	size_t len = 0;
	uint64_t deadline = sx_now_usec() + (uint64_t)timeout_s * 1000000u;
	int pipefd[2], status = 0;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0 ||
		    (with_stderr && dup2(pipefd[1], STDERR_FILENO) < 0))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		uint64_t now = sx_now_usec();
		ssize_t n;
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		if (poll(&p, 1, (int)MIN((deadline - now) / 1000 + 1, 1000u)) <= 0)
			continue;
		n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1) /* keep the tail */
			memmove(buf, buf + len / 2, len - len / 2), len -= len / 2;
	}
	close(pipefd[0]);
	if (timed_out) {
		(void)kill(pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
			usleep(100000);
		if (waitpid(pid, &status, WNOHANG) == 0)
			(void)kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[len] = 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = 0;
	*out = strdup(strrchr(buf, '\n') ? strrchr(buf, '\n') + 1 : buf);
	if (timed_out)
		return 124;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
