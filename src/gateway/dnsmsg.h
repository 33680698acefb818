/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dnsmsg.h - the filtered DNS forwarder's messages: TCP length framing,
 * judging a query (ldns parses it), and the answers built or relayed for
 * it.  No sockets here: dns.c feeds it what it receives, and
 * tests/fuzz/fuzz-dns.c feeds it fuzzed bytes.
 */
#pragma once

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/allowlist.h"

#define SX_DNS_UDP_PLAIN_MAX 512 /* without EDNS (RFC 1035) */

/* The whole messages at the start of a TCP stream's buffer (RFC 7766: a
 * two-byte length, then the message): calls each(msg, mlen, data) for
 * them in order, until it returns false.  Returns the bytes of the
 * messages handled, prefixes included; the caller drops them at once
 * (moving the rest after every message made a buffer of small messages
 * cost its size squared). */
size_t sx_dns_tcp_frames(const uint8_t *buf, size_t len,
			 bool (*each)(const uint8_t *msg, size_t mlen, void *data), void *data);

enum sx_dns_verdict {
	SX_DNS_IGNORE, /* not a DNS query: no answer at all */
	SX_DNS_ANSWER, /* refused: answer q->rcode with no records, reason says why */
	SX_DNS_FORWARD, /* an allowed name: forward the query as it is */
};

/* A query, as judged. */
struct sx_dns_query {
	ldns_pkt *pkt; /* the parsed query (NULL when ignored); free with sx_dns_query_done() */
	uint16_t id;
	uint16_t udp_max; /* the largest UDP answer the client takes */
	char name[SX_HOST_MAX + 1]; /* the question's name, normalized when it is one */
	char qtype[16]; /* "A", "AAAA", …; "?" */
	ldns_pkt_rcode rcode; /* SX_DNS_ANSWER: FORMERR or NXDOMAIN */
	const char *reason; /* SX_DNS_ANSWER: why (static text) */
};

/* Parses and judges one query (wire format, len bytes): a standard query
 * with one question for a host name that domains allow is forwarded,
 * anything else is answered or ignored.  Fills q. */
enum sx_dns_verdict sx_dns_judge(const uint8_t *wire, size_t len, char *const *domains,
				 struct sx_dns_query *q);
void sx_dns_query_done(struct sx_dns_query *q);

/* A new answer to from's question with no records: QR and RA set, RD
 * copied, rcode given.  NULL when out of memory. */
ldns_pkt *sx_dns_question_only(const ldns_pkt *from, ldns_pkt_rcode rcode);

/* The wire form of pkt sent back to a client: with the client's query id;
 * when it is longer than max (a UDP client's limit; 0: none, TCP) only the
 * header and question, with TC set, so that the client retries over TCP.
 * Returns it (*len bytes, free with free()) or NULL when ldns cannot write
 * it. */
uint8_t *sx_dns_answer_wire(ldns_pkt *pkt, uint16_t id, size_t max, size_t *len);

/* The first A or AAAA address in an answer, for the audit line ("" when
 * there is none). */
void sx_dns_first_address(const ldns_pkt *pkt, char out[64]);
