/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-llm.c - requests on the LLM port, as libmicrohttpd hands them to
 * the gateway.
 *
 * Feeds: raw bytes as the sandbox sends them to HOST_IP:18790, one or more
 * pipelined HTTP/1.1 requests.  They go through libmicrohttpd itself (a
 * daemon without a listening socket, the bytes written into a socketpair
 * whose other end is handed over with MHD_add_connection), configured as
 * httpd.c configures the gateway's (16 KiB per connection), so that our
 * code sees exactly what libmicrohttpd makes of hostile bytes: the raw
 * URI, header names and values, body chunks.  Each request then takes the
 * LLM proxy's path through llmreq.c, the functions llmproxy.c calls: the
 * route split (/PROVIDER/REST), the token check (Authorization: Bearer or
 * x-api-key), the provider lookup, the Content-Length limit, the header
 * filter that decides what goes upstream, the upstream URL, and, with the
 * body in, the record's head (the request body as JSON, the model, stream,
 * X-Sentrix-Run), which record.c then turns into a capture record with a
 * canned answer.  libcurl and the upstream are not involved.
 *
 * Why: these bytes come straight from the agent.  Besides the sanitizers
 * the harness checks that no header line passed upstream can carry a line
 * break (header injection into the upstream request), a name that is not
 * a token, or a credential or hop-by-hop header, that the upstream URL starts with the provider's
 * base URL, and that the record is one JSON object that reads back.
 *
 * fuzz-max-len: 16384
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "fuzz.h"

#include "gateway/llmreq.h"
#include "gateway/record.h"

#define TOKEN "sxt-fuzz-token-0123456789abcdef"
#define BASE_URL "https://api.example.test/v1/"

static struct MHD_Daemon *mhd;
static bool verbose; /* FUZZ_VERBOSE=1: one line per request on stderr */

/* One request, from the URI callback to the completion callback. */
struct req {
	char *uri;
	bool begun, answered;
	char *provider, *endpoint;
	char *body;
	size_t body_len;
	bool too_big;
};

static const char *const providers[] = {"openai", "anthropic"};

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	_cleanup_free_ char *line = NULL;
	static const char *const never[] = {"authorization",  "x-api-key",	  "host",
					    "x-sentrix-run",  "connection",	  "expect",
					    "content-length", "transfer-encoding"};
	int r = sx_llm_forward_header(name, value, &line);

	FUZZ_CHECK(r >= 0, "sx_llm_forward_header failed");
	if (r == 0)
		return MHD_YES;
	FUZZ_CHECK(!strpbrk(line, "\r\n"), "a forwarded header line holds a line break: %s", line);
	for (const char *p = line; *p != ':'; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f, "a forwarded header name is not a token: %s", line);
	for (size_t i = 0; i < ELEMENTSOF(never); i++)
		FUZZ_CHECK(strncasecmp(line, never[i], strlen(never[i])) != 0 ||
			       line[strlen(never[i])] != ':',
			   "header %s is forwarded: %s", never[i], line);
	return MHD_YES;
}

static enum MHD_Result answer(struct MHD_Connection *conn, const struct req *q, unsigned status)
{
	static const char body[] = "{\"ok\":true}";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (verbose)
		fprintf(stderr, "fuzz-llm: %u %s (%zu body bytes)\n", status, q->uri, q->body_len);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* llmproxy.c's begin(): route, token, provider, size; 0 to read the body,
 * else the status to answer. */
static unsigned begin(struct MHD_Connection *conn, struct req *q)
{
	const char *cl;
	bool known = false;
	_cleanup_free_ char *url = NULL;

	if (sx_llm_split_route(q->uri ? q->uri : "", &q->provider, &q->endpoint) < 0)
		return 404;
	FUZZ_CHECK(*q->provider && !strpbrk(q->provider, "/?"), "bad provider '%s' from '%s'", q->provider,
		   q->uri);
	if (!sx_llm_token_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
			     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key"), TOKEN))
		return 401;
	for (size_t i = 0; i < ELEMENTSOF(providers); i++)
		known |= streq(q->provider, providers[i]);
	if (!known)
		return 404;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (sx_llm_too_large(cl))
		return 413;
	url = sx_llm_upstream_url(BASE_URL, q->endpoint);
	FUZZ_CHECK(url && strncmp(url, BASE_URL, strlen(BASE_URL) - 1) == 0, "upstream URL %s", url);
	return 0;
}

/* llmproxy.c's send_upstream(), without the upstream: headers, head,
 * record. */
static void finish(struct MHD_Connection *conn, struct req *q, const char *method)
{
	static const char response[] = "{\"choices\":[{\"message\":{\"content\":\"ok\"}}],"
				       "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}";
	struct sx_llm_head h = {
	    .timestamp = "2026-11-23T10:00:00.000Z",
	    .id = "0123456789abcdef",
	    .instance = "sxtfuzz",
	    .provider = q->provider,
	    .endpoint = q->endpoint,
	    .method = method,
	    .run_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Sentrix-Run"),
	    .body = q->body,
	    .body_len = q->body_len,
	};
	struct sx_record_end e = {.status = 200, .first_byte_ms = 1, .total_ms = 2, .complete = true};
	_cleanup_cjson_ cJSON *head = NULL;
	_cleanup_free_ char *rec = NULL;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, check_header, NULL);
	head = sx_llm_record_head(&h);
	FUZZ_CHECK(head, "no record head");
	e.request_bytes = q->body_len;
	rec = sx_record_finish(TAKE_PTR(head), response, sizeof(response) - 1, &e);
	fuzz_check_json_object("the record", rec);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct req *q = *con_cls;
	unsigned status;

	if (!q)
		return MHD_NO;
	if (q->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!q->begun) {
		q->begun = true;
		status = begin(conn, q);
		if (status) {
			q->answered = true;
			return answer(conn, q, status);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (q->too_big || q->body_len + *upload_data_size > SX_LLM_BODY_MAX) {
			q->too_big = true;
		} else {
			char *b = realloc(q->body, q->body_len + *upload_data_size);
			FUZZ_CHECK(b, "out of memory");
			memcpy(b + q->body_len, upload_data, *upload_data_size);
			q->body = b;
			q->body_len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	q->answered = true;
	if (q->too_big)
		return answer(conn, q, 413);
	finish(conn, q, method);
	return answer(conn, q, 200);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *q = calloc(1, sizeof(*q));

	FUZZ_CHECK(q, "out of memory");
	q->uri = strdup(uri);
	return q;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	if (!q)
		return;
	*con_cls = NULL;
	free(q->uri);
	free(q->provider);
	free(q->endpoint);
	free(q->body);
	free(q);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	verbose = getenv("FUZZ_VERBOSE");
	mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
			       NULL, on_access, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024,
			       MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_URI_LOG_CALLBACK,
			       on_uri, NULL, MHD_OPTION_END);
	if (!mhd) {
		fputs("fuzz-llm: cannot start libmicrohttpd\n", stderr);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(40000),
				   .sin_addr.s_addr = htonl(0x0ac80002)}; /* the sandbox, 10.200.0.2 */
	size_t off = 0;
	char sink[4096];
	int sv[2];

	if (verbose)
		fprintf(stderr, "fuzz-llm: input of %zu bytes\n", size);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("fuzz-llm: socketpair");
		abort();
	}
	if (MHD_add_connection(mhd, sv[1], (struct sockaddr *)&peer, sizeof(peer)) != MHD_YES) {
		perror("fuzz-llm: MHD_add_connection");
		abort();
	}
	/* Write the request, let libmicrohttpd work, read its answers; at
	 * the end of the input the client half-closes.  libmicrohttpd then
	 * closes the connection when it has nothing left to do, except in
	 * the middle of a request: it reads an edge-triggered socket once per
	 * wake-up and so misses the end of the input; the client's close
	 * then tells it. */
	int round, idle = 0;
	for (round = 0; round < 10000 && idle < 3; round++) {
		ssize_t n;
		bool progress = false;
		if (off < size) {
			n = write(sv[0], data + off, size - off);
			if (n > 0)
				off += (size_t)n, progress = true;
		}
		if (off == size && (round == 0 || progress))
			shutdown(sv[0], SHUT_WR);
		MHD_run(mhd);
		while ((n = read(sv[0], sink, sizeof(sink))) > 0)
			progress = true;
		if (n == 0 && off == size)
			break; /* libmicrohttpd closed the connection */
		idle = progress ? 0 : idle + 1;
	}
	if (verbose)
		fprintf(stderr, "fuzz-llm: %d rounds\n", round);
	close(sv[0]);
	/* Reap the connection, so that nothing of this input outlives it:
	 * libFuzzer counts mallocs and frees per input and runs a slow leak
	 * check when they differ.  libmicrohttpd frees a closed connection
	 * on its next run. */
	for (round = 0; round < 100; round++) {
		const union MHD_DaemonInfo *info =
		    MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		MHD_run(mhd);
		if (!info || info->num_connections == 0)
			break;
	}
	return 0;
}
