/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * judge.h - the optional LLM judge of the patrol and the police
 * (docs/patrol.md, "Judge"): one provider of the gateway's config, asked
 * with the real key over libcurl, answers a fixed JSON object about a
 * redacted sample.  The calls block: they run on the patrol thread (or in a
 * one-shot command), never on the proxy's event loop.
 *
 * Not thread-safe: a struct sx_judge belongs to one thread.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SX_JUDGE_THRESHOLD_DEFAULT 0.6
#define SX_JUDGE_TIMEOUT_MS 30000L
#define SX_JUDGE_ANSWER_MAX (1024 * 1024) /* bytes of a provider's response */

/* What a judge is made of: the policy's patrol.judge, the provider's
 * settings from config.json, its key from secrets.env, the PATROL_*
 * environment overrides.  Every string is malloc'd. */
struct sx_judge_settings {
	char *provider, *api, *base_url, *key, *ca_file;
	char *model, *version;
	unsigned max_tokens;
	double threshold;
};
/* Frees the strings (the key wiped first). */
void sx_judge_settings_clear(struct sx_judge_settings *s);

/* Applies PATROL_MODEL, PATROL_MODEL_VERSION, PATROL_MAX_TOKENS and
 * PATROL_CONFIDENCE_THRESHOLD from the environment to s.  Returns 0, or
 * -EINVAL with *why (caller frees) naming the variable that is wrong, or
 * -ENOMEM. */
int sx_judge_settings_env(struct sx_judge_settings *s, char **why);

/* The confidence threshold without a judge's settings: from
 * PATROL_CONFIDENCE_THRESHOLD when valid, else the default. */
double sx_judge_threshold_env(void);

struct sx_judge;

/* Takes s over (s is cleared) and makes a judge with its own libcurl
 * handle.  Returns 0 or -ENOMEM. */
int sx_judge_new(struct sx_judge_settings *s, struct sx_judge **ret);
void sx_judge_free(struct sx_judge *j);

/* "MODEL@VERSION", as patrol_state.db and the flags record it. */
const char *sx_judge_version(const struct sx_judge *j);
const char *sx_judge_model(const struct sx_judge *j);
double sx_judge_threshold(const struct sx_judge *j);
/* A call in progress is abandoned (a failure) once *stop is true. */
void sx_judge_set_cancel(struct sx_judge *j, atomic_bool *stop);

/* The judge's answer about a sample. */
struct sx_judge_verdict {
	int severity; /* 0: NONE, else an enum sx_severity */
	double confidence; /* 0-1 */
	char *category; /* what the judge says it judged */
	char **labels; /* NULL-terminated, may be empty */
	char *observation;
};
void sx_judge_verdict_clear(struct sx_judge_verdict *v);
/* "NONE", "LOW", "MEDIUM" or "HIGH". */
const char *sx_judge_severity_name(int severity);

/* The assistant's text in a provider's response body (api
 * "openai-completions": choices[0].message.content; "anthropic-messages":
 * the text blocks of content).  Returns 0 with *content (caller frees), or
 * -EBADMSG with *why (caller frees), or -ENOMEM. */
int sx_judge_parse_content(const char *api, const char *body, size_t len, char **content, char **why);

/* Parses the judge's answer (the assistant's text: one JSON object,
 * ```json fences allowed) into v: severity NONE|LOW|MEDIUM|HIGH,
 * confidence 0-1, category, labels (strings), observation, all required;
 * other keys are ignored.  Returns 0, -EBADMSG with *why, or -ENOMEM. */
int sx_judge_parse_verdict(const char *content, struct sx_judge_verdict *v, char **why);

/* Parses the answer to a case: summary, recommended_action (non-empty
 * strings) and severity (LOW, MEDIUM, HIGH or CRITICAL).  Returns 0 with
 * the three malloc'd, -EBADMSG with *why, or -ENOMEM. */
int sx_judge_parse_case(const char *content, char **summary, char **action, char **severity, char **why);

/* Asks the judge about sample (text built by the patrol: redacted) for
 * category.  Returns 0 with *v filled, or a negative errno with *why
 * (caller frees): -EIO the call failed (network, HTTP status), -EBADMSG
 * the answer is malformed, -ECANCELED stopped, -ENOMEM. */
int sx_judge_review(struct sx_judge *j, const char *category, const char *sample, struct sx_judge_verdict *v,
		    char **why);

/* The police's judge hook (sx_police_judge_fn; judge: a struct sx_judge):
 * a summary, a recommended action and a severity for a case file.
 * Returns 0 or a negative errno as sx_judge_review(); why is logged when
 * the judge starts failing and when it answers again. */
int sx_judge_case(void *judge, const char *case_json, char **summary, char **action, char **severity);
/* As sx_judge_case(), and *why (caller frees) says what failed. */
int sx_judge_case_why(struct sx_judge *j, const char *case_json, char **summary, char **action,
		      char **severity, char **why);
