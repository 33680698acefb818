/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * render.c - @VAR@ substitution for templates/.
 */
#include <stdio.h>

#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "render.h"

int sx_render_template(const char *name, const struct sx_config *c, char **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL, *out = NULL;
	char oc[8], llm[8], eg[8];
	size_t len = 0;
	FILE *f;
	int r;

	snprintf(oc, sizeof(oc), "%u", c->openclaw_port);
	snprintf(llm, sizeof(llm), "%u", c->llm_port);
	snprintf(eg, sizeof(eg), "%u", c->egress_port);
	const char *vars[][2] = {
	    {"NAME", c->name},
	    {"HOST_IP", c->host_ip},
	    {"SANDBOX_IP", c->sandbox_ip},
	    {"USER", c->user},
	    {"HOME", c->home},
	    {"OPENCLAW_PORT", oc},
	    {"LLM_PORT", llm},
	    {"EGRESS_PORT", eg},
	    {"OPENCLAW_CONFIG", c->openclaw_config},
	    {"NETNS_PATH", c->netns_path},
	    {"SBINDIR", SX_SBINDIR},
	};

	path = sx_strdupf("%s/templates/%s", sx_datadir(), name);
	if (!path)
		return -ENOMEM;
	r = sx_read_file(path, &text, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read template %s (is sentrix installed?)", path);
	f = open_memstream(&out, &len);
	if (!f)
		return -ENOMEM;
	for (const char *p = text; *p;) {
		const char *end;
		bool done = false;

		if (*p != '@' || !(end = strchr(p + 1, '@')) || end == p + 1) {
			fputc(*p++, f);
			continue;
		}
		for (size_t i = 0; i < ELEMENTSOF(vars); i++)
			if (strlen(vars[i][0]) == (size_t)(end - p - 1) &&
			    !strncmp(p + 1, vars[i][0], (size_t)(end - p - 1))) {
				fputs(vars[i][1], f);
				done = true;
			}
		if (!done) {
			bool word = true;
			for (const char *q = p + 1; q < end; q++)
				word = word && ((*q >= 'A' && *q <= 'Z') || *q == '_');
			if (word) {
				fclose(f);
				return log_error_errno(-EINVAL, "template %s: unknown variable %.*s", path,
						       (int)(end - p + 1), p);
			}
			fputc(*p++, f);
			continue;
		}
		p = end + 1;
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int sx_render_resolv(const struct sx_config *c, char **ret)
{
	size_t len = 0;
	FILE *f = open_memstream(ret, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# sentrix instance %s: DNS mode %s (%s)\n", c->name, sx_dns_mode_name(c->dns_mode),
		c->dns_requested);
	if (c->dns_mode == SX_DNS_NONE)
		fprintf(f,
			"# no resolver: this sandbox reaches the world only through the sentrix gateway\n");
	for (size_t i = 0; c->dns_servers && c->dns_servers[i]; i++)
		fprintf(f, "nameserver %s\n", c->dns_servers[i]);
	fprintf(f, "options timeout:2 attempts:2\n");
	return fclose(f) == 0 ? 0 : -ENOMEM;
}
