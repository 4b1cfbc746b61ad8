/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * openai.c - the OpenAI-compatible shape (ai_driver.h):
 * POST {base}/v1/chat/completions for chat and vision (the image as a
 * data URL in an image_url part, the answer constrained by
 * response_format json_schema) and POST {base}/v1/embeddings (with
 * `dimensions`).  The key goes in "Authorization: Bearer".
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/ai_driver.h"
#include "synthia/error.h"

#define TEXT_MAX (1024 * 1024)
#define DEFAULT_MAX_TOKENS 1024

static const char *const roles[] = {"system", "user", "assistant"};

static json_object *
message(const char *role, json_object *content)
{
    json_object *m = json_object_new_object();
    if (!m || !content) {
        json_object_put(m);
        json_object_put(content);
        return NULL;
    }
    json_object_object_add(m, "role", sy_ai_jstr(role));
    json_object_object_add(m, "content", content);
    return m;
}

static json_object *
base_body(const sy_ai_target *t, int max_tokens)
{
    json_object *b = json_object_new_object();
    if (!b)
        return NULL;
    json_object_object_add(b, "model", sy_ai_jstr(t->model));
    json_object_object_add(b, "max_tokens",
                           json_object_new_int(max_tokens > 0
                                                   ? max_tokens
                                                   : DEFAULT_MAX_TOKENS));
    json_object_object_add(b, "temperature", json_object_new_int(0));
    return b;
}

static int
vision(sy_arena *a, const sy_ai_target *t, const sy_ai_image *img,
       const char *prompt, sy_ai_schema *schema, int max_tokens,
       sy_ai_http_req *req)
{
    json_object *b = base_body(t, max_tokens), *parts, *part, *url, *rf,
                *js, *msgs, *wire = NULL;
    char *data = sy_ai_data_url(a, img);
    if (!b || !data ||
        json_object_deep_copy(schema->wire_openai, &wire, NULL) != 0) {
        json_object_put(b);
        return SY_ENOMEM;
    }
    parts = json_object_new_array();
    part = json_object_new_object();
    json_object_object_add(part, "type", sy_ai_jstr("text"));
    json_object_object_add(part, "text", sy_ai_jstr(prompt));
    json_object_array_add(parts, part);
    part = json_object_new_object();
    url = json_object_new_object();
    json_object_object_add(url, "url", sy_ai_jstr(data));
    json_object_object_add(part, "type", sy_ai_jstr("image_url"));
    json_object_object_add(part, "image_url", url);
    json_object_array_add(parts, part);
    msgs = json_object_new_array();
    json_object_array_add(msgs, message("user", parts));
    json_object_object_add(b, "messages", msgs);
    js = json_object_new_object();
    json_object_object_add(js, "name", sy_ai_jstr(schema->name));
    json_object_object_add(js, "schema", wire);
    json_object_object_add(js, "strict", json_object_new_boolean(1));
    rf = json_object_new_object();
    json_object_object_add(rf, "type", sy_ai_jstr("json_schema"));
    json_object_object_add(rf, "json_schema", js);
    json_object_object_add(b, "response_format", rf);
    return sy_ai_req(a, t, sy_ai_openai_driver.auth_prefix, "POST", b, req,
                     "/v1/chat/completions");
}

static int
chat(sy_arena *a, const sy_ai_target *t, const sy_ai_msg *msgs, int n,
     int max_tokens, sy_ai_http_req *req)
{
    json_object *b = base_body(t, max_tokens), *arr = json_object_new_array();
    if (!b || !arr) {
        json_object_put(b);
        json_object_put(arr);
        return SY_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        json_object_array_add(arr, message(roles[msgs[i].role],
                                           sy_ai_jstrn(msgs[i].text)));
    json_object_object_add(b, "messages", arr);
    return sy_ai_req(a, t, sy_ai_openai_driver.auth_prefix, "POST", b, req,
                     "/v1/chat/completions");
}

/* choices[0].message.content; a refusal or an empty answer is no text. */
static int
text(sy_arena *a, sy_str body, sy_str *out, char *why, size_t whylen)
{
    json_object *o;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    json_object *refusal = sy_ai_dig(o, "choices.0.message.refusal");
    if (refusal && json_object_is_type(refusal, json_type_string)) {
        snprintf(why, whylen, "the model refused");
        return SY_EPROVIDER;
    }
    return sy_ai_dig_str(o, "choices.0.message.content", TEXT_MAX, out, why,
                         whylen);
}

static int
embed(sy_arena *a, const sy_ai_target *t, const sy_str *texts, int n,
      int dims, sy_ai_http_req *req)
{
    json_object *b = json_object_new_object(), *in = json_object_new_array();
    if (!b || !in) {
        json_object_put(b);
        json_object_put(in);
        return SY_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        json_object_array_add(in, sy_ai_jstrn(texts[i]));
    json_object_object_add(b, "model", sy_ai_jstr(t->model));
    json_object_object_add(b, "input", in);
    json_object_object_add(b, "dimensions", json_object_new_int(dims));
    json_object_object_add(b, "encoding_format", sy_ai_jstr("float"));
    return sy_ai_req(a, t, sy_ai_openai_driver.auth_prefix, "POST", b, req,
                     "/v1/embeddings");
}

/* data: n items, each {index, embedding}, every index once. */
static int
vectors(sy_arena *a, sy_str body, int n, int dims, float *out, char *why,
        size_t whylen)
{
    json_object *o, *data;
    bool seen[SY_AI_EMBED_MAX_TEXTS] = {false};
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    data = sy_ai_dig(o, "data");
    if (!data || !json_object_is_type(data, json_type_array) ||
        json_object_array_length(data) != (size_t)n) {
        snprintf(why, whylen, "data is not an array of %d embeddings", n);
        return SY_EPROVIDER;
    }
    for (int i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(data, (size_t)i);
        json_object *idx = sy_ai_dig(item, "index");
        int64_t k = idx && json_object_is_type(idx, json_type_int)
                        ? json_object_get_int64(idx)
                        : -1;
        if (k < 0 || k >= n || seen[k]) {
            snprintf(why, whylen, "data[%d].index is missing, out of "
                     "range or repeated", i);
            return SY_EPROVIDER;
        }
        seen[k] = true;
        rc = sy_ai_floats(sy_ai_dig(item, "embedding"), dims,
                          out + (size_t)k * dims, why, whylen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const sy_ai_driver sy_ai_openai_driver = {
    .kind = SY_AI_OPENAI,
    .auth_prefix = "Authorization: Bearer ",
    .vision = vision,
    .chat = chat,
    .text = text,
    .embed = embed,
    .vectors = vectors,
};
