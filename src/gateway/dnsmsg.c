/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dnsmsg.c - what the filtered DNS forwarder does with the bytes of a
 * message: find it in a TCP stream, parse and judge a query with ldns, and
 * build or fit the answer.  The sockets and the upstream lookups are in
 * dns.c; keeping the messages here lets them be fuzzed.  See dnsmsg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "dnsmsg.h"

size_t sx_dns_tcp_frames(const uint8_t *buf, size_t len,
			 bool (*each)(const uint8_t *msg, size_t mlen, void *data), void *data)
{
	size_t off = 0;

	while (len - off >= 2) {
		size_t n = (size_t)buf[off] << 8 | buf[off + 1];
		if (len - off < 2 + n)
			break;
		off += 2 + n;
		if (!each(buf + off - n, n, data))
			break;
	}
	return off;
}

enum sx_dns_verdict sx_dns_judge(const uint8_t *wire, size_t len, char *const *domains,
				 struct sx_dns_query *q)
{
	_cleanup_free_ char *owner = NULL, *type = NULL;
	ldns_rr_list *qs;
	const char *why;

	*q = (struct sx_dns_query){0};
	if (ldns_wire2pkt(&q->pkt, wire, len) != LDNS_STATUS_OK || ldns_pkt_qr(q->pkt)) {
		sx_dns_query_done(q); /* not a query: no answer (RFC 5452 spirit) */
		return SX_DNS_IGNORE;
	}
	q->id = ldns_pkt_id(q->pkt);
	q->udp_max = MAX(ldns_pkt_edns_udp_size(q->pkt), SX_DNS_UDP_PLAIN_MAX);
	qs = ldns_pkt_question(q->pkt);
	if (ldns_pkt_get_opcode(q->pkt) != LDNS_PACKET_QUERY || !qs || ldns_rr_list_rr_count(qs) != 1) {
		snprintf(q->qtype, sizeof(q->qtype), "?");
		q->rcode = LDNS_RCODE_FORMERR;
		q->reason = "not a standard query with one question";
		return SX_DNS_ANSWER;
	}
	owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
	type = ldns_rr_type2str(ldns_rr_get_type(ldns_rr_list_rr(qs, 0)));
	snprintf(q->qtype, sizeof(q->qtype), "%s", type ? type : "?");
	q->rcode = LDNS_RCODE_NXDOMAIN;
	if (!owner || sx_host_normalize(owner, q->name, &why) < 0) {
		snprintf(q->name, sizeof(q->name), "%.*s", SX_HOST_MAX, owner ? owner : "");
		q->reason = "not a host name";
		return SX_DNS_ANSWER;
	}
	if (!sx_domain_allowed(domains, q->name)) {
		q->reason = "host is not in the policy's egress.domains";
		return SX_DNS_ANSWER;
	}
	return SX_DNS_FORWARD;
}

void sx_dns_query_done(struct sx_dns_query *q)
{
	ldns_pkt_free(q->pkt);
	q->pkt = NULL;
}

ldns_pkt *sx_dns_question_only(const ldns_pkt *from, ldns_pkt_rcode rcode)
{
	ldns_pkt *a = ldns_pkt_new();
	ldns_rr_list *question;

	if (!a)
		return NULL;
	question = ldns_rr_list_clone(ldns_pkt_question(from));
	if (!question) {
		ldns_pkt_free(a);
		return NULL;
	}
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(from));
	ldns_pkt_set_ra(a, true);
	ldns_pkt_set_rcode(a, (uint8_t)rcode);
	/* ldns_pkt_new() made an empty question list; the setter only
	 * replaces the pointer (it leaked once per refused query). */
	ldns_rr_list_free(ldns_pkt_question(a));
	ldns_pkt_set_question(a, question);
	ldns_pkt_set_qdcount(a, ldns_pkt_qdcount(from));
	return a;
}

uint8_t *sx_dns_answer_wire(ldns_pkt *pkt, uint16_t id, size_t max, size_t *len)
{
	uint8_t *wire = NULL;

	ldns_pkt_set_id(pkt, id);
	if (ldns_pkt2wire(&wire, pkt, len) == LDNS_STATUS_OK && max && *len > max) {
		/* Too big for this UDP client: header and question, TC set, so
		 * it retries over TCP. */
		ldns_pkt *tc = sx_dns_question_only(pkt, ldns_pkt_get_rcode(pkt));
		if (tc) {
			ldns_pkt_set_id(tc, id);
			ldns_pkt_set_tc(tc, true);
			LDNS_FREE(wire);
			wire = NULL;
			if (ldns_pkt2wire(&wire, tc, len) != LDNS_STATUS_OK)
				wire = NULL;
			ldns_pkt_free(tc);
		}
	}
	return wire;
}

void sx_dns_first_address(const ldns_pkt *pkt, char out[64])
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);

	out[0] = 0;
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A || ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA) {
			char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			snprintf(out, 64, "%s", s ? s : "");
			free(s);
			return;
		}
	}
}
