/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * main.c - sentrix-gateway: options, start-up, signals, sd-notify.
 *
 *   sentrix-gateway --name NAME [--rotate-mins N] [--no-reasoning] ...
 *
 * Runs as the unprivileged system user `sentrix` (refuses root), started by
 * sentrix-gateway@NAME.service (Type=notify, WatchdogSec).  The unit grants
 * CAP_NET_BIND_SERVICE for the filtered DNS port 53 only; it is dropped as
 * soon as every socket listens.  SIGHUP re-reads
 * config.json, the token and secrets.env without touching open streams;
 * SIGTERM stops accepting, gives open streams --grace-secs to finish, then
 * records the rest as incomplete and closes the capture file.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "../lib/envfile.h"
#include "../lib/fileio.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "bridge.h"
#include "capture.h"
#include "dns.h"
#include "egress.h"
#include "egresslog.h"
#include "evloop.h"
#include "gateway.h"
#include "guardrail.h"
#include "httpd.h"
#include "patrol.h"
#include "resolver.h"
#include "llmproxy.h"

#define GRACE_SECS_DEFAULT 10

static struct sx_gateway gw; /* static: reachable for leak checkers at exit */
static bool health_only;
static const char *investigate_id; /* --investigate */
static bool rescan_only; /* --rescan */
static sd_event_source *grace_timer;

static void usage(FILE *out)
{
	fputs("Usage: sentrix-gateway --name NAME [OPTIONS]\n"
	      "\n"
	      "The sidecar of a sentrix instance: the LLM proxy on HOST_IP:18790 (adds the real\n"
	      "API key, records every call to /var/log/sentrix/NAME/llm-*.json), the egress\n"
	      "proxy on HOST_IP:18791 (CONNECT and plain HTTP to the policy's allowed domains,\n"
	      "every decision in egress.jsonl), the filtered DNS forwarder on HOST_IP:53 (DNS\n"
	      "mode \"filtered\"), /health, /metrics on HOST_IP:18792, and the browser bridge\n"
	      "(wss:// on 127.0.0.1:8766, its certificate-trust page on 8765, `sentrix chat`'s\n"
	      "socket, one paired connection to the sandbox's OpenClaw gateway).  Runs as the `sentrix`\n"
	      "user, normally from sentrix-gateway@NAME.service.\n"
	      "\n"
	      "Options:\n"
	      "  -n, --name NAME      instance (reads /etc/sentrix/NAME/config.json)\n"
	      "  --config PATH        read this config.json instead\n"
	      "  --listen ADDR        listen on ADDR instead of the instance's host IP\n"
	      "  --log-dir DIR        write capture files to DIR instead of the instance's\n"
	      "  --rotate-mins N      start a new capture file every N minutes (default: config,\n"
	      "                       else 10)\n"
	      "  --no-reasoning       leave reasoning/thinking out of records\n"
	      "  --grace-secs N       on SIGTERM, let open streams finish for N s (default 10)\n"
	      "  --dns-port N         filtered DNS on port N instead of 53 (tests)\n"
	      "  --cert PEM --key PEM the bridge's TLS certificate and key (default: generated in\n"
	      "                       /var/lib/sentrix/bridge.d/NAME, renewed before it expires)\n"
	      "  --health             ask the running gateway for /health, print it; exit 0 when\n"
	      "                       ready, 1 when not, 3 when nothing listens (any user)\n"
	      "  --investigate ID     write the case file of patrol flag ID now (police.db,\n"
	      "                       reports/), print the case id, exit (root or the gateway\n"
	      "                       user; root becomes the gateway user first)\n"
	      "  --rescan             have the patrol review every capture file again, exit\n"
	      "  --version            print the version\n"
	      "  -h, --help           this help\n"
	      "\n"
	      "Signals: SIGHUP re-reads config, token and secrets; SIGUSR1 makes the bridge\n"
	      "handshake with OpenClaw again (pairing again if the device was removed);\n"
	      "SIGTERM stops gracefully.\n",
	      out);
}

static void journal_sink(enum sx_log_level level, const char *message)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", prio[level], "SENTRIX_INSTANCE=%s",
			gw.name ? gw.name : "", "SYSLOG_IDENTIFIER=sentrix-gateway", NULL);
}

static void stderr_sink(enum sx_log_level level, const char *message)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	fprintf(stderr, "sentrix-gateway[%s]: %s%s\n", gw.name ? gw.name : "", prefix[level], message);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *data)
{
	uint64_t interval = (uint64_t)(uintptr_t)data;
	sd_notify(0, "WATCHDOG=1");
	sd_event_source_set_time_relative(s, interval);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *data)
{
	struct sx_gateway *g = data;
	log_warn("%u call(s) still open after %u s: recording them as incomplete", g->open_calls,
		 g->grace_secs);
	sx_llmproxy_abort_all(g->llm, "gateway stopped before the call finished");
	sd_event_exit(g->loop, 0);
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *data)
{
	struct sx_gateway *g = data;

	if (si->ssi_signo == SIGUSR1) { /* `sentrix sandbox pair` */
		sx_bridge_repair(g->bridge);
		return 0;
	}
	if (si->ssi_signo == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		if (sx_gateway_load(g) == 0) {
			struct sx_guardrail *gr = NULL;
			sx_capture_set_rotate(g->capture, g->rotate_mins ?: g->config->rotate_mins);
			/* The guardrail follows the policy (mode, packs); a new one that
			 * cannot start leaves the old one in place. */
			if (sx_guardrail_start(g, &gr) == 0) {
				sx_guardrail_free(g->guardrail);
				g->guardrail = gr;
			}
			log_info("reloaded: %zu provider(s), %zu allowed domain(s)", g->config->n_providers,
				 sx_strv_length(g->policy->domains));
		}
		sd_notify(0, "READY=1");
		return 0;
	}
	if (g->stopping) /* a second SIGTERM: stop now */
		return on_grace_over(NULL, 0, g);
	g->stopping = true;
	sd_notify(0, "STOPPING=1");
	sx_llmproxy_quiesce(g->llm);
	sx_egress_quiesce(g->egress);
	if (g->open_calls == 0)
		return sd_event_exit(g->loop, 0);
	log_info("stopping: waiting up to %u s for %u open call(s)", g->grace_secs, g->open_calls);
	return sd_event_add_time_relative(g->loop, &grace_timer, CLOCK_MONOTONIC, g->grace_secs * 1000000ULL,
					  0, on_grace_over, g);
}

static int parse_args(int argc, char **argv, struct sx_gateway *g)
{
	enum {
		O_CONFIG = 256,
		O_LISTEN,
		O_LOGDIR,
		O_ROTATE,
		O_NOREASON,
		O_GRACE,
		O_VERSION,
		O_HEALTH,
		O_INVESTIGATE,
		O_RESCAN,
		O_DNSPORT,
		O_CERT,
		O_KEY
	};
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"log-dir", required_argument, NULL, O_LOGDIR},
	    {"rotate-mins", required_argument, NULL, O_ROTATE},
	    {"no-reasoning", no_argument, NULL, O_NOREASON},
	    {"grace-secs", required_argument, NULL, O_GRACE},
	    {"version", no_argument, NULL, O_VERSION},
	    {"health", no_argument, NULL, O_HEALTH},
	    {"investigate", required_argument, NULL, O_INVESTIGATE},
	    {"rescan", no_argument, NULL, O_RESCAN},
	    {"dns-port", required_argument, NULL, O_DNSPORT},
	    {"cert", required_argument, NULL, O_CERT},
	    {"key", required_argument, NULL, O_KEY},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int o;

	g->grace_secs = GRACE_SECS_DEFAULT;
	g->dns_port = 53;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) >= 0) {
		switch (o) {
		case 'n': g->name = optarg; break;
		case O_CONFIG: g->config_path = strdup(optarg); break;
		case O_LISTEN: g->listen_host = strdup(optarg); break;
		case O_LOGDIR: g->log_dir = strdup(optarg); break;
		case O_ROTATE:
			if (sx_parse_uint(optarg, 525600, &g->rotate_mins) < 0 || g->rotate_mins == 0) {
				log_error("--rotate-mins wants minutes, 1 to 525600, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case O_NOREASON: g->no_reasoning = true; break;
		case O_GRACE:
			if (sx_parse_uint(optarg, 3600, &g->grace_secs) < 0) {
				log_error("--grace-secs wants seconds, 0 to 3600, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case O_HEALTH: health_only = true; break;
		case O_INVESTIGATE: investigate_id = optarg; break;
		case O_RESCAN: rescan_only = true; break;
		case O_DNSPORT:
			if (sx_parse_uint(optarg, 65535, &g->dns_port) < 0 || g->dns_port == 0) {
				log_error("--dns-port wants a port number 1-65535, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case O_CERT: g->bridge_cert = optarg; break;
		case O_KEY: g->bridge_key = optarg; break;
		case O_VERSION: printf("sentrix-gateway " SX_VERSION "\n"); return 1;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!g->name || !sx_name_valid(g->name)) {
		log_error(g->name ? "invalid instance name '%s'" : "--name NAME is required%s",
			  g->name ? g->name : "");
		return -EINVAL;
	}
	if (!g->bridge_cert != !g->bridge_key) {
		log_error("--cert and --key go together: the bridge's certificate and its private key (PEM)");
		return -EINVAL;
	}
	if (!g->config_path && !(g->config_path = sx_strdupf(SX_ETC_DIR "/%s/config.json", g->name)))
		return -ENOMEM;
	return 0;
}

/* gateway.pid lets `sentrix provider|secrets` send SIGHUP.  Written in
 * place, not with sx_write_file_atomic(): that fchown()s, which the unit's
 * seccomp filter (~@privileged) kills. */
static void write_pidfile(const struct sx_gateway *g)
{
	_cleanup_free_ char *path = sx_strdupf("%s/gateway.pid", g->log_dir);
	_cleanup_close_ int fd = -EBADF;
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());

	if (path)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, pid, (size_t)n) != n)
		log_warn("cannot write %s: `sentrix provider|secrets` cannot signal this gateway",
			 path ? path : "gateway.pid");
}

static void remove_pidfile(const struct sx_gateway *g)
{
	_cleanup_free_ char *path = sx_strdupf("%s/gateway.pid", g->log_dir);
	if (path)
		unlink(path);
}

/* One gateway per instance: a second one would repair (close) the capture
 * file the first is still appending to.  The lock lives as long as the
 * process (the fd is never closed). */
static int take_instance_lock(const struct sx_gateway *g)
{
	_cleanup_free_ char *path = sx_strdupf("%s/gateway.lock", g->log_dir), *pid = NULL;
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		_cleanup_free_ char *pidfile = sx_strdupf("%s/gateway.pid", g->log_dir);
		size_t n;
		close(fd);
		if (r != -EWOULDBLOCK)
			return log_error_errno(r, "cannot lock %s", path);
		if (pidfile && sx_read_file(pidfile, &pid, &n) == 0)
			pid[strcspn(pid, "\n")] = 0;
		return log_error_errno(-EBUSY, "another gateway serves instance %s already (pid %s)", g->name,
				       pid ? pid : "unknown");
	}
	return 0;
}

/* Port 53 is bound: the one capability the unit grants is not needed any
 * more.  Clears the ambient, inheritable, permitted and effective sets. */
static void drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data) < 0)
		log_warn_errno(-errno, "cannot drop capabilities");
}

/* Every proxied call, tunnel and browser holds descriptors: take the hard
 * limit (the soft one is 1024 by default; nothing here uses select()).
 * The unit sets both (LimitNOFILE=), so there this makes no call its
 * seccomp filter (~@resources) would refuse. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Request bodies and records of 64 KiB to a few MiB come and go with every
 * call.  glibc serves blocks of 128 KiB and more with mmap() and gives them
 * back with munmap(): a call then paid for fresh zeroed pages, a page fault
 * each (a third of the CPU of a 64 KiB call).  Kept in the heap instead, and
 * the heap trimmed only past 64 MiB free. */
static void tune_malloc(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

static int start(struct sx_gateway *g)
{
	struct timespec ts;
	sigset_t mask;
	uint64_t wd;
	int r;

	r = sx_gateway_load(g);
	if (r < 0)
		return r;
	raise_fd_limit();
	tune_malloc();
	if (!g->listen_host && !(g->listen_host = strdup(g->config->host_ip)))
		return -ENOMEM;
	if (!g->log_dir && !(g->log_dir = strdup(g->config->log_dir)))
		return -ENOMEM;
	if ((r = take_instance_lock(g)) < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	g->started_usec = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;

	if ((r = sd_event_default(&g->loop)) < 0)
		return log_error_errno(r, "cannot create the event loop");
	if ((r = sx_evloop_new(g->loop, &g->evloop)) < 0)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = sd_event_add_signal(g->loop, NULL, SIGTERM, on_signal, g)) < 0 ||
	    (r = sd_event_add_signal(g->loop, NULL, SIGINT, on_signal, g)) < 0 ||
	    (r = sd_event_add_signal(g->loop, NULL, SIGHUP, on_signal, g)) < 0 ||
	    (r = sd_event_add_signal(g->loop, NULL, SIGUSR1, on_signal, g)) < 0)
		return log_error_errno(r, "cannot watch signals");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return log_error_errno(-EIO, "cannot initialise libcurl");
	r = sx_capture_start(g->loop, g->log_dir, g->rotate_mins ?: g->config->rotate_mins, g->no_reasoning,
			     &g->metrics, &g->capture);
	if (r < 0)
		return r;
	if ((r = sx_guardrail_start(g, &g->guardrail)) < 0 || (r = sx_llmproxy_new(g, &g->llm)) < 0 ||
	    (r = sx_health_start(g)) < 0)
		return r;
	if ((r = sx_egresslog_open(g->log_dir, &g->metrics, &g->egresslog)) < 0 ||
	    (r = sx_resolver_new(g->loop, g->config->resolvers, &g->resolver)) < 0 ||
	    (r = sx_egress_start(g)) < 0)
		return r;
	if (g->config->dns_mode == SX_DNS_FILTERED && (r = sx_dns_start(g, g->dns_port)) < 0)
		return r;
	if ((r = sx_bridge_start(
		 g, &(struct sx_bridge_opts){.cert_path = g->bridge_cert, .key_path = g->bridge_key},
		 &g->bridge)) < 0)
		return r;
	/* A patrol that cannot start (a broken pack) does not take the proxy
	 * down with it: /health says so and the records wait, unreviewed. */
	if ((r = sx_patrol_start(g, &g->patrol)) < 0) {
		sx_gateway_set_error(g, "the patrol did not start (%s): captured calls are not reviewed",
				     strerror(-r));
	}
	drop_capabilities();
	if (sd_watchdog_enabled(0, &wd) > 0) {
		r = sd_event_add_time_relative(g->loop, NULL, CLOCK_MONOTONIC, wd / 2, 0, on_watchdog,
					       (void *)(uintptr_t)(wd / 2));
		if (r < 0)
			return log_error_errno(r, "cannot arm the watchdog timer");
	}
	write_pidfile(g);
	log_info(
	    "listening: LLM proxy %s:%u, egress proxy %s:%u, health %s:%u%s; %zu provider(s), %zu allowed "
	    "domain(s); capture %s",
	    g->listen_host, g->config->llm_port, g->listen_host, g->config->egress_port, g->listen_host,
	    g->config->health_port, g->dns ? ", filtered DNS on port 53" : "", g->config->n_providers,
	    sx_strv_length(g->policy->domains), sx_capture_path(g->capture));
	sd_notifyf(0, "READY=1\nSTATUS=LLM proxy on %s:%u", g->listen_host, g->config->llm_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct sx_gateway *g = &gw;
	int r;

	sx_log_set_program("sentrix-gateway");
	r = parse_args(argc, argv, g);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (health_only)
		return sx_gateway_healthcheck(g->config_path, g->listen_host);
	if (investigate_id || rescan_only) {
		r = sx_gateway_oneshot_prepare(g);
		if (r >= 0)
			r = investigate_id ? sx_gateway_investigate(g, investigate_id) : sx_patrol_rescan(g);
		return r < 0 ? 1 : 0;
	}
	sx_log_set_sink(getenv("JOURNAL_STREAM") ? journal_sink : stderr_sink);
	if (geteuid() == 0) {
		log_error("refusing to run as root: the gateway runs as the `sentrix` user "
			  "(sentrix-gateway@%s.service does that; by hand: setpriv --reuid sentrix --regid "
			  "sentrix --clear-groups --inh-caps +net_bind_service --ambient-caps "
			  "+net_bind_service sentrix-gateway ...)",
			  g->name);
		return 1;
	}
	r = start(g);
	if (r >= 0)
		r = sx_evloop_run(g->evloop);
	sx_bridge_stop(g->bridge);
	g->bridge = NULL;
	sx_patrol_stop(g->patrol);
	g->patrol = NULL;
	sx_guardrail_free(g->guardrail);
	g->guardrail = NULL;
	/* Egress first: it cancels the lookups in flight, DNS's included. */
	sx_egress_stop(g->egress);
	sx_dns_stop(g->dns);
	sx_resolver_free(g->resolver);
	g->resolver = NULL;
	sx_egresslog_close(g->egresslog);
	g->egresslog = NULL;
	if (g->llm) {
		sx_llmproxy_abort_all(g->llm, "gateway stopped before the call finished");
		sx_llmproxy_free(g->llm);
		g->llm = NULL;
	}
	if (g->capture) {
		sx_capture_stop(g->capture);
		g->capture = NULL;
	}
	sx_evloop_free(g->evloop);
	g->evloop = NULL;
	if (g->log_dir)
		remove_pidfile(g);
	if (r < 0) {
		sd_notifyf(0, "STATUS=failed: %s\nERRNO=%d", strerror(-r), -r);
		return 1;
	}
	log_info("stopped");
	return 0;
}
