/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_provider.c - what the AI providers answer (app/ai/): every
 * driver's reading of an answer body (OpenAI and Gemini text and
 * vectors, FAL and Replicate job ids, statuses and result URLs, and
 * Replicate's list of predictions as a lookup reads it), the
 * JSON Schema check of a vision answer, Retry-After and base64.  A
 * provider is a remote party: none of it may crash or accept a wrong
 * shape.
 *
 * Input: the answer body (its first line also as a Retry-After value).
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/ai_curl.h"
#include "synthia/ai_driver.h"
#include "synthia/error.h"
#include "synthia/jsonschema.h"

const char fz_target_name[] = "provider";

static json_object *schema;
static char base_url[] = "http://h:1", human[] = "human", garm[] = "garm";
static sy_ai_endpoint_conf EP = {.base_url = base_url,
                                 .person_field = human,
                                 .garment_field = garm};

int
fz_init(void)
{
    char why[160];
    schema = json_tokener_parse(
        "{\"type\":\"object\",\"additionalProperties\":false,"
        "\"required\":[\"season\",\"palette\",\"score\"],\"properties\":{"
        "\"season\":{\"type\":\"string\",\"enum\":[\"spring\",\"winter\"]},"
        "\"palette\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":8,"
        "\"items\":{\"type\":\"string\",\"minLength\":4,\"maxLength\":7}},"
        "\"score\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
        "\"n\":{\"type\":\"integer\"}}}");
    return schema && sy_jsonschema_valid(schema, why, sizeof(why)) ? 0 : -1;
}

static void
floats(sy_buf *t, const char *label, int rc, const float *v, int n)
{
    char buf[32 * 8];
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!isfinite(v[i]) || fabsf(v[i]) > 1.0001f)
            fz_fail("%s: value %d out of [-1, 1] after normalising", label,
                    i);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%.5f ", v[i]);
    }
    fz_putc(t, label, rc, buf);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const int kinds[] = {SY_AI_OPENAI, SY_AI_GEMINI, SY_AI_FAL,
                                SY_AI_REPLICATE};
    sy_str body = {(const char *)data, size};
    sy_arena a;
    char why[160];
    sy_arena_init(&a, 4096, 1 << 20);

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const sy_ai_driver *d = sy_ai_driver_of(kinds[k]);
        sy_str s;
        int rc;
        if (d->text) {
            s = SY_STR_NULL;
            rc = d->text(&a, body, &s, why, sizeof(why));
            if (rc == 0 && (s.len == 0 || s.p[s.len] != '\0'))
                fz_fail("text: empty or not NUL-terminated");
            fz_put(t, "text", rc, rc == 0 ? s : SY_STR_NULL);
            float v[6] = {0};
            rc = d->vectors(&a, body, 1, 3, v, why, sizeof(why));
            floats(t, "vectors1", rc, v, 3);
            rc = d->vectors(&a, body, 2, 3, v, why, sizeof(why));
            floats(t, "vectors2", rc, v, 6);
        }
        if (d->submitted) {
            char id[128] = "untouched";
            rc = d->submitted(&a, body, id, sizeof(id), why, sizeof(why));
            if (rc == 0 && !sy_ai_id_ok(sy_str_c(id)))
                fz_fail("submitted: an id that is not [A-Za-z0-9_.-]");
            if (rc < 0 && strcmp(id, "untouched") != 0)
                fz_fail("submitted: wrote the id and failed");
            fz_putc(t, "id", rc, rc == 0 ? id : "");
            int st = -1;
            s = SY_STR_NULL;
            rc = d->status_of(&a, body, &st, &s, why, sizeof(why));
            if (rc == 0 && (st < SY_AI_JOB_QUEUED || st > SY_AI_JOB_CANCELED))
                fz_fail("status_of: status out of range");
            fz_puti(t, "status", rc, rc == 0 ? st : 0);
            fz_put(t, "error", rc, rc == 0 ? s : SY_STR_NULL);
            s = SY_STR_NULL;
            rc = d->result_url(&a, body, &s, why, sizeof(why));
            fz_put(t, "url", rc, rc == 0 ? s : SY_STR_NULL);
        }
        if (d->found) {
            sy_ai_target rt = {kinds[k], "replicate", "o/m:v", &EP};
            char fid[128] = "untouched";
            const char *next = NULL;
            json_object *in = json_tokener_parse("{\"human\":\"a\","
                                                 "\"garm\":\"b\"}");
            if (!in)
                fz_fail("no memory for the input");
            rc = d->found(&a, body, &rt, in, "2024-01-01T00:00:00", fid,
                          sizeof(fid), &next, why, sizeof(why));
            json_object_put(in);
            if (rc == 0 && fid[0] && !sy_ai_id_ok(sy_str_c(fid)))
                fz_fail("found: an id that is not [A-Za-z0-9_.-]");
            if (rc == 0 && next && strpbrk(next, " \t\r\n/?#\\\""))
                fz_fail("found: a cursor that could change the URL");
            if (rc == 0 && fid[0] && next)
                fz_fail("found: an id and a next page");
            fz_putc(t, "found", rc, rc == 0 ? fid : "");
            fz_putc(t, "next", rc, rc == 0 && next ? next : "");
        }
    }

    /* a vision answer against the schema */
    char *c = fz_cstr(body);
    json_object *v = json_tokener_parse(c);
    free(c);
    if (v) {
        bool ok = sy_jsonschema_check(schema, v, why, sizeof(why));
        fz_putc(t, "schema", ok ? 0 : -1, ok ? "" : why);
        /* and the body as a schema */
        ok = sy_jsonschema_valid(v, why, sizeof(why));
        fz_puti(t, "valid", ok ? 0 : -1, 0);
        if (ok) {
            json_object *o = sy_jsonschema_for_openai(v),
                        *g = sy_jsonschema_for_gemini(v);
            if (!o || !g)
                fz_fail("a valid schema has no wire form");
            json_object_put(o);
            json_object_put(g);
        }
        json_object_put(v);
    }

    sy_str line, rest;
    fz_split(body, '\n', &line, &rest);
    int64_t ms = sy_ai_retry_after_ms(line, 1700000000);
    if (ms < -1 || ms > 86400000)
        fz_fail("Retry-After out of range: %lld", (long long)ms);
    fz_puti(t, "retry_after", 0, ms);
    sy_str dec = SY_STR("untouched");
    int rc = sy_ai_unbase64(&a, line, &dec);
    if (rc == 0) {
        char *enc = sy_ai_base64(&a, "", dec.p, dec.len);
        if (enc && (strlen(enc) != line.len ||
                    memcmp(enc, line.p, line.len) != 0))
            fz_fail("base64 does not round-trip");
    }
    fz_put(t, "unbase64", rc, rc == 0 ? dec : SY_STR_NULL);
    sy_arena_cleanup(&a);
}
