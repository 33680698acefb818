/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-dns.c - queries to the filtered DNS forwarder, and the answers it
 * relays.
 *
 * Feeds: what the sandbox sends to HOST_IP:53.  The first byte picks the
 * transport: bit 0 clear, the rest is one UDP datagram; set, it is a TCP
 * stream, cut into messages by their two-byte length prefixes (RFC 7766)
 * with sx_dns_tcp_frames() as dns.c does, several queries per connection.
 * Each query goes through dnsmsg.c as dns.c uses it: ldns parses it,
 * sx_dns_judge() decides (ignored, FORMERR or NXDOMAIN answered at once,
 * or forwarded when the policy's domains allow the name), and the answer
 * is built with sx_dns_question_only() and sx_dns_answer_wire() (the
 * client's id, truncated with TC past a UDP client's size).  The same
 * bytes are then taken as an upstream's answer to relay, since the agent
 * picks the names and so shapes those answers: parsed by ldns, their
 * first address read for the audit line, written back and fitted to a
 * 512-byte UDP client.
 *
 * Why: DNS is the one protocol the sandbox speaks to the gateway besides
 * HTTP, and a filter that misjudges a name is a tunnel.  Besides the
 * sanitizers the harness checks that a forwarded query asks for exactly
 * one allowed host name, that every answer built reads back with the
 * client's id and question, and that a UDP answer fits the client or has
 * TC set.
 *
 * fuzz-max-len: 8192
 */
#include "fuzz.h"

#include "gateway/dnsmsg.h"

static char *domains[] = {"allowed.test", "*.wild.test", NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* An answer as sent to a client: it must read back, with the id asked. */
static void check_answer(ldns_pkt *pkt, uint16_t id, size_t max, const char *what)
{
	size_t len = 0;
	uint8_t *wire = sx_dns_answer_wire(pkt, id, max, &len);
	ldns_pkt *back = NULL;

	if (!wire)
		return; /* ldns cannot write it: nothing is sent */
	FUZZ_CHECK(len >= 12, "%s: %zu bytes", what, len);
	FUZZ_CHECK(ldns_wire2pkt(&back, wire, len) == LDNS_STATUS_OK, "%s does not parse back", what);
	FUZZ_CHECK(ldns_pkt_id(back) == id, "%s: id %u, not %u", what, ldns_pkt_id(back), id);
	FUZZ_CHECK(!max || len <= max || ldns_pkt_tc(back), "%s: %zu bytes for a %zu-byte client, TC clear",
		   what, len, max);
	ldns_pkt_free(back);
	free(wire);
}

static void query(const uint8_t *wire, size_t len, bool tcp)
{
	struct sx_dns_query q;
	enum sx_dns_verdict v = sx_dns_judge(wire, len, domains, &q);
	ldns_pkt *a;

	switch (v) {
	case SX_DNS_IGNORE: FUZZ_CHECK(!q.pkt, "an ignored query kept its packet"); return;
	case SX_DNS_ANSWER:
		FUZZ_CHECK(q.reason && (q.rcode == LDNS_RCODE_FORMERR || q.rcode == LDNS_RCODE_NXDOMAIN),
			   "refused without a reason or with rcode %d", (int)q.rcode);
		a = sx_dns_question_only(q.pkt, q.rcode);
		FUZZ_CHECK(a, "out of memory");
		check_answer(a, q.id, tcp ? 0 : q.udp_max, "the refusal");
		ldns_pkt_free(a);
		break;
	case SX_DNS_FORWARD:
		FUZZ_CHECK(q.udp_max >= SX_DNS_UDP_PLAIN_MAX, "udp_max %u", q.udp_max);
		FUZZ_CHECK(streq(q.name, "allowed.test") ||
			       (strlen(q.name) > 10 && streq(q.name + strlen(q.name) - 10, ".wild.test")),
			   "forwarded a query for %s", q.name);
		FUZZ_CHECK(ldns_rr_list_rr_count(ldns_pkt_question(q.pkt)) == 1,
			   "forwarded several questions");
		/* The upstream failed: the client gets SERVFAIL for its question. */
		a = sx_dns_question_only(q.pkt, LDNS_RCODE_SERVFAIL);
		FUZZ_CHECK(a, "out of memory");
		check_answer(a, q.id, tcp ? 0 : q.udp_max, "the SERVFAIL answer");
		ldns_pkt_free(a);
		break;
	}
	sx_dns_query_done(&q);
}

/* The bytes as an upstream's answer to relay (dns.c on_upstream_answer). */
static void upstream_answer(const uint8_t *wire, size_t len)
{
	ldns_pkt *answer = NULL;
	char addr[64];

	if (ldns_wire2pkt(&answer, wire, len) != LDNS_STATUS_OK)
		return;
	sx_dns_first_address(answer, addr);
	FUZZ_CHECK(strlen(addr) < sizeof(addr), "address overran");
	check_answer(answer, 0x1234, SX_DNS_UDP_PLAIN_MAX, "the relayed answer");
	ldns_pkt_free(answer);
}

/* A TCP stream's next message: it must sit right after the previous one. */
struct stream {
	const uint8_t *next;
	size_t messages;
};

static bool tcp_query(const uint8_t *msg, size_t mlen, void *data)
{
	struct stream *st = data;

	FUZZ_CHECK(msg == st->next + 2 && (size_t)(st->next[0] << 8 | st->next[1]) == mlen, "bad frame");
	st->next = msg + mlen;
	st->messages++;
	query(msg, mlen, true);
	return st->messages < 1000; /* as a connection closed after an answer it could not send */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream st = {.next = data + 1};
	size_t used;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		query(data + 1, size - 1, false);
		upstream_answer(data + 1, size - 1);
		return 0;
	}
	used = sx_dns_tcp_frames(data + 1, size - 1, tcp_query, &st);
	FUZZ_CHECK(data + 1 + used == st.next && used <= size - 1, "%zu bytes used, messages end at %zu",
		   used, (size_t)(st.next - data - 1));
	return 0;
}
