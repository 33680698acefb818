/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * secrets.c - `sentrix secrets set|list|remove`: the upstream keys in
 * /etc/sentrix/NAME/secrets.env.
 *
 * The file is the gateway user's alone (mode 0600, owner sentrix): the
 * gateway puts a provider's key on the upstream request, and the sandbox
 * only ever holds the instance token.  A value enters through standard
 * input, never the command line (every user can read any process's argv in
 * /proc); it is never printed or logged, and the buffers that held it are
 * wiped before they are freed.  The file is replaced atomically through the
 * journalled file action, so --disable --purge still knows it.
 *
 * Format: one VAR=value per line, no quoting, the value is the rest of the
 * line; other lines (comments, other variables) are kept as they are.
 */
#include <signal.h>
#include <termios.h>

#include "../lib/envfile.h"
#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/strv.h"
#include "actions.h"
#include "instance.h"
#include "reload.h"
#include "secrets.h"
#include "users.h"

#define VALUE_MAX (64 * 1024)

void sx_wipe_free(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* True when line (up to its newline) is "var=...". */
static bool line_sets(const char *line, const char *var)
{
	size_t n = strlen(var);
	return strncmp(line, var, n) == 0 && line[n] == '=';
}

/* Appends "var=value\n" at o; returns the new end. */
static char *put_line(char *o, const char *var, const char *value)
{
	size_t n = strlen(var), m = strlen(value);

	memcpy(o, var, n);
	o[n] = '=';
	memcpy(o + n + 1, value, m);
	o[n + 1 + m] = '\n';
	return o + n + m + 2;
}

bool sx_secret_is_set(const char *text, const char *var)
{
	for (const char *p = text; p && *p;) {
		const char *eol = strchrnul(p, '\n');
		if (line_sets(p, var) && eol > p + strlen(var) + 1)
			return true;
		p = *eol ? eol + 1 : eol;
	}
	return false;
}

char *sx_secrets_edit(const char *text, const char *var, const char *value)
{
	/* at most: text, a newline after its last line, "var=value\n", NUL */
	size_t tlen = text ? strlen(text) : 0,
	       size = tlen + 1 + strlen(var) + (value ? strlen(value) : 0) + 3;
	char *out = malloc(size), *o = out;
	bool done = value == NULL;

	if (!out)
		return NULL;
	for (const char *p = text; p && *p;) {
		const char *eol = strchrnul(p, '\n');
		size_t len = (size_t)(eol - p);
		if (!line_sets(p, var)) {
			memcpy(o, p, len);
			o += len;
			*o++ = '\n';
		} else if (!done) {
			o = put_line(o, var, value);
			done = true;
		}
		p = *eol ? eol + 1 : eol;
	}
	if (!done)
		o = put_line(o, var, value);
	*o = 0;
	return out;
}

/* ---- reading the value ---- */

static struct termios saved_tio;

/* A signal while echo is off: put the terminal back, then die of it. */
static void restore_tty(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_signals(void (*handler)(int))
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	struct sigaction sa = {.sa_handler = handler};

	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Reads up to VALUE_MAX bytes from standard input into buf (size
 * VALUE_MAX + 1): one line from a terminal, everything otherwise.  Returns
 * the length or a negative errno. */
static ssize_t read_stdin(char *buf, bool tty)
{
	size_t len = 0;

	while (len <= VALUE_MAX) {
		ssize_t n = read(STDIN_FILENO, buf + len, VALUE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (tty && buf[len - 1] == '\n')
			break;
	}
	return (ssize_t)len;
}

/* The value for var from standard input, validated: one line, not empty.
 * Returns 0, -EINVAL for a value that is refused (the caller exits 2), or
 * another negative errno; logs why. */
static int read_value(const char *var, char **ret)
{
	_cleanup_wipe_ char *buf = calloc(1, VALUE_MAX + 2);
	bool tty = isatty(STDIN_FILENO);
	struct termios noecho;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (tty) {
		if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
			return log_error_errno(-errno, "cannot read the terminal's settings");
		noecho = saved_tio;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		fprintf(stderr, "Value for %s (not echoed): ", var);
		fflush(stderr);
		tty_signals(restore_tty);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0) {
			tty_signals(SIG_DFL);
			return log_error_errno(-errno, "cannot turn the terminal's echo off");
		}
	}
	n = read_stdin(buf, tty);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tty_signals(SIG_DFL);
	}
	if (n < 0)
		return log_error_errno((int)n, "cannot read the value of %s from standard input", var);
	if (n > VALUE_MAX) {
		log_error("the value of %s is longer than %d bytes; nothing changed", var, VALUE_MAX);
		return -EINVAL;
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (n == 0) {
		log_error(
		    "the value of %s is empty; pipe it on standard input (printf '%%s' \"$KEY\" | sentrix "
		    "secrets set %s); nothing changed",
		    var, var);
		return -EINVAL;
	}
	if (memchr(buf, '\n', (size_t)n) || memchr(buf, '\r', (size_t)n) || strlen(buf) != (size_t)n) {
		explicit_bzero(buf, (size_t)n); /* the cleanup wipes only up to a NUL */
		log_error("the value of %s has more than one line (or a carriage return or NUL byte); "
			  "secrets.env holds one line per variable; nothing changed",
			  var);
		return -EINVAL;
	}
	*ret = TAKE_PTR(buf);
	return 0;
}

/* ---- commands ---- */

/* "openai, other" : the providers whose key variable is var ("" if none). */
static char *users_of(const struct sx_config *c, const char *var)
{
	char **names = calloc(1, sizeof(char *));
	char *s;

	for (size_t i = 0; names && i < c->n_providers; i++)
		if (streq(c->providers[i].key_env, var) && sx_strv_push(&names, c->providers[i].name) < 0) {
			sx_strv_free(names);
			return NULL;
		}
	s = names ? sx_strv_join(names, ", ") : NULL;
	sx_strv_free(names);
	return s;
}

/* Writes text as secrets.env (0600, the gateway user's).  Returns the
 * number of changes (0 or 1) or a negative errno. */
static int store(struct sx_instance *in, const char *text)
{
	const struct sx_config *c = in->config;
	struct sx_ctx x = {.journal = in->journal, .config = c, .policy = in->policy};
	struct sx_user g;
	int r;

	r = sx_user_lookup(c->gateway_user, &g);
	if (r < 0)
		return log_error_errno(
		    r, "the gateway user %s is missing; run `sentrix sandbox setup --name %s` again",
		    c->gateway_user, c->name);
	r = sx_act_write_file(&x, c->secrets_path, text, strlen(text), 0600, g.uid, g.gid, true);
	return r < 0 ? r : (int)x.changes;
}

/* Reads secrets.env (absent: empty) and prepares its new text with var
 * set to value (NULL: removed), and the providers using var.  0, or 1
 * after logging. */
static int prepare_edit(const struct sx_instance *in, const char *var, const char *value, char **text,
			char **out, char **users)
{
	int r = sx_read_file(in->config->secrets_path, text, NULL);

	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "cannot read %s", in->config->secrets_path);
		return 1;
	}
	*out = sx_secrets_edit(*text, var, value);
	*users = users_of(in->config, var);
	return *out && *users ? 0 : 1;
}

static int set_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_wipe_ char *value = NULL, *text = NULL, *out = NULL;
	_cleanup_free_ char *users = NULL;
	int r;

	/* Check the instance before asking for the value, and ask before
	 * taking the host lock (a person may be typing). */
	if (sx_instance_open(o->name, false, &in) < 0)
		return 1;
	sx_instance_close(&in);
	r = read_value(o->target, &value);
	if (r < 0)
		return r == -EINVAL ? 2 : 1;
	if (sx_instance_open(o->name, true, &in) < 0)
		return 1;
	if (prepare_edit(&in, o->target, value, &text, &out, &users))
		return 1;
	r = store(&in, out);
	if (r < 0)
		return 1;
	if (r == 0) {
		printf("sentrix: %s already holds this value for %s; nothing changed\n",
		       in.config->secrets_path, o->target);
		return 0;
	}
	printf("sentrix: %s stored in %s%s%s%s\n", o->target, in.config->secrets_path,
	       *users ? " (used by " : "", users, *users ? ")" : " (no provider uses it yet)");
	sx_gateway_reload(in.config, stdout, false);
	return 0;
}

static int remove_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_wipe_ char *text = NULL, *out = NULL;
	_cleanup_free_ char *users = NULL;
	int r;

	if (sx_instance_open(o->name, true, &in) < 0)
		return 1;
	if (prepare_edit(&in, o->target, NULL, &text, &out, &users))
		return 1;
	if (!sx_envfile_has(text, o->target)) {
		printf("sentrix: %s is not in %s; nothing changed\n", o->target, in.config->secrets_path);
		return 0;
	}
	r = store(&in, out);
	if (r < 0)
		return 1;
	printf("sentrix: %s removed from %s\n", o->target, in.config->secrets_path);
	if (*users)
		printf("sentrix: provider(s) %s use %s: their calls fail until it is set again\n", users,
		       o->target);
	sx_gateway_reload(in.config, stdout, false);
	return 0;
}

/* Adds one row of the listing (human or JSON). */
static void list_row(const struct sx_config *c, const char *var, bool set, cJSON *arr)
{
	_cleanup_free_ char *users = users_of(c, var);
	cJSON *o, *a;

	if (!arr) {
		printf("%-32s %-8s %s\n", var, set ? "set" : "not set", users && *users ? users : "-");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", var);
	cJSON_AddBoolToObject(o, "set", set);
	a = cJSON_AddArrayToObject(o, "providers");
	for (size_t i = 0; i < c->n_providers; i++)
		if (streq(c->providers[i].key_env, var))
			cJSON_AddItemToArray(a, cJSON_CreateString(c->providers[i].name));
	cJSON_AddItemToArray(arr, o);
}

static int list_main(const struct sx_options *o)
{
	_cleanup_(sx_instance_close) struct sx_instance in = {.lock = -EBADF};
	_cleanup_wipe_ char *text = NULL;
	_cleanup_cjson_ cJSON *j = NULL;
	_cleanup_free_ char *printed = NULL;
	cJSON *arr = NULL;
	char **names = NULL;
	const struct sx_config *c;
	int r;

	if (sx_instance_open(o->name, false, &in) < 0)
		return 1;
	c = in.config;
	r = sx_read_file(c->secrets_path, &text, NULL);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "cannot read %s", c->secrets_path);
		return 1;
	}
	names = sx_envfile_names(text ? text : "");
	if (!names)
		return 1;
	if (o->json) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "instance", c->name);
		arr = cJSON_AddArrayToObject(j, "secrets");
	} else
		printf("%-32s %-8s %s\n", "VARIABLE", "STATE", "USED BY");
	for (size_t i = 0; names[i]; i++)
		list_row(c, names[i], sx_secret_is_set(text, names[i]), arr);
	/* Key variables a provider needs that the file does not have. */
	for (size_t i = 0; i < c->n_providers; i++) {
		const char *var = c->providers[i].key_env;
		bool seen = sx_strv_contains(names, var);
		for (size_t k = 0; k < i && !seen; k++)
			seen = streq(c->providers[k].key_env, var);
		if (!seen)
			list_row(c, var, false, arr);
	}
	sx_strv_free(names);
	if (j) {
		printed = sx_json_print(j);
		if (printed)
			fputs(printed, stdout);
	}
	return 0;
}

int sx_secrets_main(const struct sx_options *o)
{
	switch (o->command) {
	case SX_CMD_SECRETS_SET: return set_main(o);
	case SX_CMD_SECRETS_REMOVE: return remove_main(o);
	case SX_CMD_SECRETS_LIST: return list_main(o);
	default: return 2;
	}
}
