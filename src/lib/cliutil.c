/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cliutil.c - helpers of the front door's read commands (cliutil.h).
 * They run unprivileged: the log directory is the gateway user's 0750, so
 * the usual failure is a permission one, and the message says who may
 * read it.  Text from the capture and flag files comes from models and is
 * not trusted; sx_cli_put_text() never lets a control character through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "capture_read.h"
#include "cliutil.h"
#include "config.h"
#include "log.h"
#include "paths.h"
#include "util.h"

int64_t sx_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sx_cli_read_error(int r, const char *path)
{
	if (r == -EACCES || r == -EPERM)
		log_error("cannot read %s: %s; run as root or a member of group " SX_GATEWAY_USER, path,
			  strerror(-r));
	else
		log_error_errno(r, "cannot read %s", path);
	return r;
}

int sx_cli_log_dir(const char *name, const char *dir, char **ret)
{
	_cleanup_config_ struct sx_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	if (!dir) {
		r = sx_config_load(name, &c, &why);
		if (r == -ENOENT)
			return log_error("no instance %s (run sentrix sandbox setup)", name), r;
		if (r < 0 && why)
			return log_error("cannot load the configuration of %s: %s", name, why), r;
		if (r < 0)
			return log_error_errno(r, "cannot load " SX_ETC_DIR "/%s/config.json", name);
		if (!c->log_dir)
			return log_error("%s/config.json names no log directory; run sentrix sandbox setup",
					 c->etc_dir ? c->etc_dir : SX_ETC_DIR),
			       -EINVAL;
	}
	*ret = strdup(dir ? dir : c->log_dir);
	return *ret ? 0 : log_error_errno(-ENOMEM, "out of memory");
}

size_t sx_cli_output_width(size_t fallback)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && (v = strtol(env, NULL, 10)) > 0)
		return (size_t)v;
	return fallback;
}

void sx_cli_fmt_time(int64_t ms, bool millis, char *out, size_t size)
{
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	time_t t = (time_t)sec;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm) || !(n = strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm))) {
		snprintf(out, size, "?");
		return;
	}
	if (millis)
		snprintf(out + n, size - n, ".%03d", (int)(ms - sec * 1000));
}

/* Control characters, and the bidi overrides that reorder what follows. */
static bool unsafe_char(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

void sx_cli_put_text(FILE *f, const char *text, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, cols = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t k = sx_utf8_next(s + i, len - i, &cp);

		if (max && cols + 1 == max && i + (k ? k : 1) < len) {
			fputs("…", f);
			return;
		}
		if (!k) {
			fputc('?', f);
			k = 1;
		} else if (cp == '\t' || cp == '\n' || cp == '\r')
			fputc(' ', f);
		else if (unsafe_char(cp))
			fputc('?', f);
		else
			fwrite(s + i, 1, k, f);
		cols++;
		i += k;
	}
}

int sx_cli_exec_program(const char *prog, char **argv)
{
	_cleanup_free_ char *path = sx_find_program(prog);

	if (!path) {
		log_error("%s is not installed next to sentrix or in " SX_SBINDIR "; run `make install`",
			  prog);
		return 1;
	}
	argv[0] = path;
	execv(path, argv);
	log_error_errno(-errno, "cannot run %s", path);
	return 1;
}

char *sx_cli_since(const char *arg, int64_t *ret_ms)
{
	if (sx_parse_since(arg, sx_cli_now_ms(), ret_ms) == 0)
		return NULL;
	return sx_strdupf(
	    "--since: '%s' is neither a UTC time (2026-11-23T10:00:00Z) nor a duration (30s, 10m, 2h, "
	    "1d)",
	    arg);
}

char *sx_cli_check_instance(const char *name, const char *dir)
{
	if (!sx_name_valid(name))
		return sx_strdupf("--name: '%s' is not a valid instance name ([a-z0-9-], 1 to 11 characters)",
				  name);
	if (dir && !*dir)
		return strdup("--dir: empty directory name");
	return NULL;
}
