/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * chat.c - `sentrix chat [--name NAME] [-m MESSAGE]`.
 *
 * Connects to the bridge's chat socket (bridge_dir/chat.sock, 0660 owned
 * by the gateway user and its group: root and members of the `sentrix`
 * group get in, nobody else; no Origin is involved) and speaks the
 * browser's protocol over it (docs/bridge.md): one message with -m, else
 * a loop reading lines from standard input.  Replies stream to standard
 * output as they come; Ctrl+C aborts the turn in progress, a second one
 * quits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/config.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "chat.h"

#define TICK_US (50 * LWS_US_PER_MS)

enum phase { CONNECTING, WAITING_AGENT, IDLE, IN_TURN, DONE };

struct chat {
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t tick;
	enum phase phase;
	const char *one; /* -m */
	unsigned wait_s; /* how long to wait for the agent side */
	unsigned waited_ticks;
	bool interactive, tty, printed, abort_sent, agent_up;
	int status; /* exit status */
	unsigned next_id;
	char *pending; /* frame to send */
	char line[65536];
	size_t line_len;
	char *rx;
	size_t rx_len;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted++;
}

static void queue(struct chat *c, char *frame)
{
	free(c->pending);
	c->pending = frame;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

static void send_chat(struct chat *c, const char *text)
{
	cJSON *o = cJSON_CreateObject(), *p;

	cJSON_AddStringToObject(o, "type", "chat");
	cJSON_AddNumberToObject(o, "id", ++c->next_id);
	p = cJSON_AddObjectToObject(o, "payload");
	cJSON_AddStringToObject(p, "text", text);
	queue(c, cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
	c->phase = IN_TURN;
	c->printed = false;
	c->abort_sent = false;
}

static void prompt(struct chat *c)
{
	if (c->tty) {
		fputs("> ", stderr);
		fflush(stderr);
	}
}

static void finish(struct chat *c, int status)
{
	c->status = status;
	c->phase = DONE;
	lws_cancel_service(c->ctx);
}

static void turn_over(struct chat *c, int status)
{
	if (!c->interactive)
		finish(c, status);
	else {
		c->phase = IDLE;
		prompt(c);
	}
}

static void on_frame(struct chat *c, const char *buf, size_t len)
{
	_cleanup_cjson_ cJSON *j = cJSON_ParseWithLength(buf, len);
	const char *type = cJSON_IsObject(j) ? sx_json_str(j, "type") : NULL;
	const cJSON *p = cJSON_GetObjectItem(j, "payload");
	const char *text = sx_json_str(p, "text"), *status = sx_json_str(p, "status");

	if (!type)
		return;
	if (streq(type, "bridge.ready") || streq(type, "bridge.status")) {
		c->agent_up = streq(status, "connected");
		if (!c->agent_up && c->phase == CONNECTING)
			fprintf(stderr,
				"sentrix chat: the agent side is down (%s); waiting up to %u s for it\n",
				sx_json_str(p, "detail") ? sx_json_str(p, "detail")
							 : "OpenClaw's gateway is not connected",
				c->wait_s);
		if (c->agent_up && (c->phase == CONNECTING || c->phase == WAITING_AGENT)) {
			if (c->interactive) {
				c->phase = IDLE;
				prompt(c);
			} else
				send_chat(c, c->one);
		} else if (!c->agent_up && c->phase == CONNECTING)
			c->phase = WAITING_AGENT;
		else if (!c->agent_up && c->phase != WAITING_AGENT)
			fprintf(stderr, "sentrix chat: the agent side went down\n");
	} else if (streq(type, "response.delta") && text) {
		fputs(text, stdout);
		fflush(stdout);
		c->printed = true;
	} else if (streq(type, "response")) {
		const char *state = sx_json_str(p, "state");
		if (streq(state, "final")) {
			if (!c->printed && text)
				fputs(text, stdout);
			fputc('\n', stdout);
			fflush(stdout);
			turn_over(c, 0);
		} else {
			if (c->printed)
				fputc('\n', stdout);
			fflush(stdout);
			fprintf(stderr, "sentrix chat: %s: %s\n",
				streq(state, "aborted") ? "aborted" : "error", text ? text : "");
			turn_over(c, streq(state, "aborted") ? 130 : 1);
		}
	} else if (streq(type, "error")) {
		fprintf(stderr, "sentrix chat: the bridge says: %s\n", sx_json_str(p, "message") ?: "?");
		if (c->phase == IN_TURN && !c->abort_sent)
			turn_over(c, 1);
	}
}

/* Standard input, without blocking, a byte at a time: a line is sent when
 * the previous reply has ended (tick() reads only then), and what follows
 * it stays unread until then.  A last line without a newline is sent at
 * the end of the input; the end of the input, once idle, ends the chat. */
static void read_stdin(struct chat *c)
{
	ssize_t n;
	char ch;

	while ((n = read(STDIN_FILENO, &ch, 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: nothing more yet */
		}
		if (ch != '\n') {
			if (c->line_len < sizeof(c->line) - 1)
				c->line[c->line_len++] = ch;
			continue;
		}
		if (c->line_len)
			break;
		prompt(c);
	}
	if (!c->line_len) {
		finish(c, c->status);
		return;
	}
	c->line[c->line_len] = 0;
	c->line_len = 0;
	send_chat(c, c->line);
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct chat *c = lws_container_of(sul, struct chat, tick);

	if (interrupted) {
		if (c->phase == IN_TURN && !c->abort_sent && interrupted == 1) {
			fprintf(stderr, "\nsentrix chat: aborting (Ctrl+C again quits)\n");
			queue(c, strdup("{\"type\":\"abort\"}"));
			c->abort_sent = true;
			interrupted = 0;
		} else if (!(c->phase == IN_TURN && interrupted == 1)) {
			finish(c, 130);
			return;
		}
	}
	if (c->phase == WAITING_AGENT && ++c->waited_ticks > c->wait_s * 20) {
		fprintf(stderr,
			"sentrix chat: the agent side did not come up in %u s; is the sandbox running "
			"(`sentrix sandbox status`)?\n",
			c->wait_s);
		finish(c, 1);
		return;
	}
	if (c->interactive && c->phase == IDLE)
		read_stdin(c);
	lws_sul_schedule(c->ctx, 0, &c->tick, tick, TICK_US);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct chat *c = lws_context_user(lws_get_context(wsi));
	unsigned char *buf;
	size_t n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "sentrix chat: cannot reach the bridge: %s\n",
			in ? (const char *)in : "connection failed");
		c->wsi = NULL;
		finish(c, 1);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		char *m;
		if (c->rx_len + len > 16 * 1024 * 1024)
			return -1;
		m = realloc(c->rx, c->rx_len + len + 1);
		if (!m)
			return -1;
		c->rx = m;
		memcpy(c->rx + c->rx_len, in, len);
		c->rx_len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_frame(c, c->rx, c->rx_len);
			c->rx_len = 0;
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!c->pending)
			return 0;
		n = strlen(c->pending);
		buf = malloc(LWS_PRE + n);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, c->pending, n);
		free(c->pending);
		c->pending = NULL;
		n = (size_t)lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
		free(buf);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->wsi = NULL;
		if (c->phase != DONE) {
			fprintf(stderr,
				"sentrix chat: the bridge closed the connection (gateway stopped?)\n");
			finish(c, 1);
		}
		return 0;
	default: return 0;
	}
}

static const struct lws_protocols protocols[] = {{"sentrix-chat", callback, 0, 0, 0, NULL, 0},
						 {NULL, NULL, 0, 0, 0, NULL, 0}};

static void usage(FILE *out)
{
	fputs("Usage: sentrix chat [--name NAME] [-m MESSAGE] [--wait SECS]\n"
	      "\n"
	      "Chat with an instance's agent (the OpenClaw gateway in its sandbox) through the\n"
	      "sentrix gateway's bridge.  With -m, send MESSAGE, print the reply as it streams\n"
	      "and exit: 0 when it is complete, 1 on an error, 130 when aborted.  Without -m,\n"
	      "read one message per line from standard input.  Ctrl+C aborts the reply in\n"
	      "progress; a second Ctrl+C quits.\n"
	      "\n"
	      "For root and members of the `sentrix` group: the bridge's chat socket\n"
	      "(/var/lib/sentrix/bridge.d/NAME/chat.sock) admits no one else.\n"
	      "\n"
	      "Options:\n"
	      "  -n, --name NAME   instance (default sandbox0)\n"
	      "  -m, --message M   send M and exit after the reply\n"
	      "  --wait SECS       wait up to SECS for the agent side to come up (default 30)\n"
	      "  --config PATH     read this config.json instead of the instance's\n"
	      "  -h, --help        this help\n",
	      out);
}

static void quiet_lws(int level, const char *line)
{
}

int sx_chat_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'}, {"message", required_argument, NULL, 'm'},
	    {"wait", required_argument, NULL, 'w'}, {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0}};
	_cleanup_config_ struct sx_config *cfg = NULL;
	_cleanup_free_ char *why = NULL, *address = NULL;
	const char *name = "sandbox0", *config = NULL;
	struct lws_context_creation_info info = {0};
	struct lws_client_connect_info ci = {0};
	struct chat c = {.wait_s = 30};
	struct sigaction sa = {.sa_handler = on_sigint};
	int o, r;

	while ((o = getopt_long(argc, argv, "n:m:h", opts, NULL)) >= 0) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'm': c.one = optarg; break;
		case 'c': config = optarg; break;
		case 'w':
			if (sx_parse_uint(optarg, 3600, &c.wait_s) < 0) {
				log_error("--wait wants seconds, 0 to 3600, not '%s'", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (a message goes after -m, quoted)", argv[optind]);
		return 2;
	}
	if (c.one && !*c.one) {
		log_error("-m wants a message");
		return 2;
	}
	if (!sx_name_valid(name)) {
		log_error("invalid instance name '%s'", name);
		return 2;
	}
	r = config ? sx_config_load_path(config, &cfg, &why) : sx_config_load(name, &cfg, &why);
	if (r < 0) {
		log_error_errno(r, "instance %s: %s", name, why ? why : "no config.json; is it set up?");
		return 1;
	}
	if (!cfg->bridge_port) {
		log_error("instance %s has no bridge (bridge.port is 0); `sentrix sandbox setup --name %s "
			  "--bridge-port N` gives it one",
			  name, name);
		return 1;
	}
	address = sx_strdupf("+%s/chat.sock", cfg->bridge_dir);
	if (!address)
		return 1;
	c.interactive = !c.one;
	c.tty = isatty(STDIN_FILENO);
	if (c.interactive)
		(void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, quiet_lws);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = &c;
	c.ctx = lws_create_context(&info);
	if (!c.ctx) {
		log_error("cannot create the libwebsockets context");
		return 1;
	}
	ci.context = c.ctx;
	ci.address = address;
	ci.port = 0;
	ci.path = "/";
	ci.host = "localhost";
	ci.local_protocol_name = protocols[0].name;
	ci.pwsi = &c.wsi;
	if (access(address + 1, F_OK) < 0) {
		log_error_errno(-errno,
				"no chat socket at %s: is the gateway of %s running (`sentrix sandbox "
				"status --name %s`)?",
				address + 1, name, name);
		lws_context_destroy(c.ctx);
		return 1;
	}
	if (!lws_client_connect_via_info(&ci)) {
		log_error("cannot connect to %s", address + 1);
		lws_context_destroy(c.ctx);
		return 1;
	}
	lws_sul_schedule(c.ctx, 0, &c.tick, tick, TICK_US);
	while (c.phase != DONE && lws_service(c.ctx, 0) >= 0)
		;
	lws_context_destroy(c.ctx);
	free(c.pending);
	free(c.rx);
	return c.status;
}
