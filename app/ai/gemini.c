/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gemini.c - the Gemini shape (ai_driver.h):
 * POST {base}/v1beta/models/{model}:generateContent for chat and vision
 * (the image as an inline_data part, the answer constrained by
 * generationConfig.responseMimeType and responseSchema; a system message
 * becomes systemInstruction), :embedContent for one text and
 * :batchEmbedContents for several (with outputDimensionality).  The key
 * goes in the x-goog-api-key header, never in the URL.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/ai_driver.h"
#include "synthia/error.h"

#define TEXT_MAX (1024 * 1024)
#define DEFAULT_MAX_TOKENS 1024

/* "models/x" and "x" name the same model; the URL wants "x". */
static const char *
bare(const char *model)
{
    return strncmp(model, "models/", 7) == 0 ? model + 7 : model;
}

static json_object *
text_part(sy_str s)
{
    json_object *p = json_object_new_object();
    if (p)
        json_object_object_add(p, "text", sy_ai_jstrn(s));
    return p;
}

static json_object *
content(const char *role, json_object *parts)
{
    json_object *c = json_object_new_object();
    if (!c) {
        json_object_put(parts);
        return NULL;
    }
    if (role)
        json_object_object_add(c, "role", sy_ai_jstr(role));
    json_object_object_add(c, "parts", parts);
    return c;
}

static json_object *
gen_config(int max_tokens)
{
    json_object *g = json_object_new_object();
    if (!g)
        return NULL;
    json_object_object_add(g, "maxOutputTokens",
                           json_object_new_int(max_tokens > 0
                                                   ? max_tokens
                                                   : DEFAULT_MAX_TOKENS));
    json_object_object_add(g, "temperature", json_object_new_int(0));
    return g;
}

static int
vision(sy_arena *a, const sy_ai_target *t, const sy_ai_image *img,
       const char *prompt, sy_ai_schema *schema, int max_tokens,
       sy_ai_http_req *req)
{
    json_object *b = json_object_new_object(), *parts, *inline_data, *p,
                *contents, *gc, *wire = NULL;
    char *data = sy_ai_base64(a, "", img->data, img->len);
    if (!b || !data ||
        json_object_deep_copy(schema->wire_gemini, &wire, NULL) != 0) {
        json_object_put(b);
        return SY_ENOMEM;
    }
    parts = json_object_new_array();
    json_object_array_add(parts, text_part(sy_str_c(prompt)));
    inline_data = json_object_new_object();
    json_object_object_add(inline_data, "mime_type",
                           sy_ai_jstr(img->content_type));
    json_object_object_add(inline_data, "data", sy_ai_jstr(data));
    p = json_object_new_object();
    json_object_object_add(p, "inline_data", inline_data);
    json_object_array_add(parts, p);
    contents = json_object_new_array();
    json_object_array_add(contents, content("user", parts));
    json_object_object_add(b, "contents", contents);
    gc = gen_config(max_tokens);
    json_object_object_add(gc, "responseMimeType",
                           sy_ai_jstr("application/json"));
    json_object_object_add(gc, "responseSchema", wire);
    json_object_object_add(b, "generationConfig", gc);
    return sy_ai_req(a, t, sy_ai_gemini_driver.auth_prefix, "POST", b, req,
                     "/v1beta/models/%s:generateContent", bare(t->model));
}

static int
chat(sy_arena *a, const sy_ai_target *t, const sy_ai_msg *msgs, int n,
     int max_tokens, sy_ai_http_req *req)
{
    json_object *b = json_object_new_object(),
                *contents = json_object_new_array();
    if (!b || !contents) {
        json_object_put(b);
        json_object_put(contents);
        return SY_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        json_object *parts = json_object_new_array();
        json_object_array_add(parts, text_part(msgs[i].text));
        if (msgs[i].role == SY_AI_SYSTEM)
            json_object_object_add(b, "systemInstruction",
                                   content(NULL, parts));
        else
            json_object_array_add(
                contents, content(msgs[i].role == SY_AI_USER ? "user"
                                                             : "model",
                                  parts));
    }
    json_object_object_add(b, "contents", contents);
    json_object_object_add(b, "generationConfig", gen_config(max_tokens));
    return sy_ai_req(a, t, sy_ai_gemini_driver.auth_prefix, "POST", b, req,
                     "/v1beta/models/%s:generateContent", bare(t->model));
}

/* The text parts of candidates[0], joined. */
static int
text(sy_arena *a, sy_str body, sy_str *out, char *why, size_t whylen)
{
    json_object *o, *parts;
    sy_buf b;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    parts = sy_ai_dig(o, "candidates.0.content.parts");
    if (!parts || !json_object_is_type(parts, json_type_array)) {
        snprintf(why, whylen, "candidates[0].content.parts is missing "
                 "(blocked or empty answer)");
        return SY_EPROVIDER;
    }
    sy_buf_init(&b, a, TEXT_MAX);
    for (size_t i = 0; i < json_object_array_length(parts); i++) {
        json_object *tx = sy_ai_dig(json_object_array_get_idx(parts, i),
                                    "text");
        if (tx && json_object_is_type(tx, json_type_string))
            sy_buf_append(&b, json_object_get_string(tx),
                          (size_t)json_object_get_string_len(tx));
    }
    if (b.failed || b.len == 0 || !sy_buf_cstr(&b)) {
        snprintf(why, whylen, "no text in candidates[0] (or too long)");
        return SY_EPROVIDER;
    }
    *out = sy_buf_str(&b);
    return 0;
}

static json_object *
embed_request(const sy_ai_target *t, sy_str text, int dims, bool batch)
{
    json_object *r = json_object_new_object(), *parts;
    char model[SY_AI_MODEL_MAX + 8];
    if (!r)
        return NULL;
    if (batch) {
        snprintf(model, sizeof(model), "models/%s", bare(t->model));
        json_object_object_add(r, "model", sy_ai_jstr(model));
    }
    parts = json_object_new_array();
    json_object_array_add(parts, text_part(text));
    json_object_object_add(r, "content", content(NULL, parts));
    json_object_object_add(r, "outputDimensionality",
                           json_object_new_int(dims));
    return r;
}

static int
embed(sy_arena *a, const sy_ai_target *t, const sy_str *texts, int n,
      int dims, sy_ai_http_req *req)
{
    if (n == 1)
        return sy_ai_req(a, t, sy_ai_gemini_driver.auth_prefix, "POST",
                         embed_request(t, texts[0], dims, false), req,
                         "/v1beta/models/%s:embedContent", bare(t->model));
    json_object *b = json_object_new_object(), *reqs = json_object_new_array();
    if (!b || !reqs) {
        json_object_put(b);
        json_object_put(reqs);
        return SY_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        json_object_array_add(reqs, embed_request(t, texts[i], dims, true));
    json_object_object_add(b, "requests", reqs);
    return sy_ai_req(a, t, sy_ai_gemini_driver.auth_prefix, "POST", b, req,
                     "/v1beta/models/%s:batchEmbedContents", bare(t->model));
}

/* embedding.values (one text) or embeddings[i].values, in order. */
static int
vectors(sy_arena *a, sy_str body, int n, int dims, float *out, char *why,
        size_t whylen)
{
    json_object *o, *list;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    if (n == 1 && (list = sy_ai_dig(o, "embedding.values")) != NULL)
        return sy_ai_floats(list, dims, out, why, whylen);
    list = sy_ai_dig(o, "embeddings");
    if (!list || !json_object_is_type(list, json_type_array) ||
        json_object_array_length(list) != (size_t)n) {
        snprintf(why, whylen, "embeddings is not an array of %d", n);
        return SY_EPROVIDER;
    }
    for (int i = 0; i < n; i++) {
        rc = sy_ai_floats(sy_ai_dig(json_object_array_get_idx(list,
                                                              (size_t)i),
                                    "values"),
                          dims, out + (size_t)i * dims, why, whylen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const sy_ai_driver sy_ai_gemini_driver = {
    .kind = SY_AI_GEMINI,
    .auth_prefix = "x-goog-api-key: ",
    .vision = vision,
    .chat = chat,
    .text = text,
    .embed = embed,
    .vectors = vectors,
};
