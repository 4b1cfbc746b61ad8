/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * driver.c - what the API-shape drivers share (ai_driver.h): requests
 * with their URL, key header and JSON body; answers parsed strictly with
 * typed, bounded getters.
 */
#include "synthia/ai_driver.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/json.h"

const sy_ai_driver *
sy_ai_driver_of(int kind)
{
    switch (kind) {
    case SY_AI_OPENAI: return &sy_ai_openai_driver;
    case SY_AI_GEMINI: return &sy_ai_gemini_driver;
    case SY_AI_FAL: return &sy_ai_fal_driver;
    case SY_AI_REPLICATE: return &sy_ai_replicate_driver;
    default: return NULL;
    }
}

static int
malformed(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
malformed(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && whylen)
        vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return SY_EPROVIDER;
}

int
sy_ai_req(sy_arena *a, const sy_ai_target *t, const char *auth_prefix,
          const char *method, json_object *body, sy_ai_http_req *req,
          const char *path_fmt, ...)
{
    sy_buf url;
    va_list ap;
    memset(req, 0, sizeof(*req));
    req->method = method;
    sy_buf_init(&url, a, 4096);
    sy_buf_puts(&url, t->ep->base_url);
    va_start(ap, path_fmt);
    sy_buf_vprintf(&url, path_fmt, ap);
    va_end(ap);
    req->url = sy_buf_cstr(&url);
    if (!req->url || url.failed) {
        json_object_put(body);
        return SY_ENOMEM;
    }
    if (t->ep->key) {
        sy_buf h;
        sy_buf_init(&h, a, 8192);
        sy_buf_puts(&h, auth_prefix);
        sy_buf_puts(&h, t->ep->key);
        if (!(req->auth_header = sy_buf_cstr(&h))) {
            json_object_put(body);
            return SY_ENOMEM;
        }
    }
    if (!body)
        return 0;
    size_t len;
    const char *s = json_object_to_json_string_length(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *copy = s ? sy_arena_strndup(a, s, len) : NULL;
    json_object_put(body);
    if (!copy)
        return SY_ENOMEM;
    req->body = (sy_str){copy, len};
    return 0;
}

int
sy_ai_parse(sy_arena *a, sy_str body, json_object **out, char *why,
            size_t whylen)
{
    int rc = sy_json_parse(a, body, NULL, out);
    if (rc == SY_ENOMEM)
        return rc;
    if (rc == SY_EJSON)
        return malformed(why, whylen, "the answer is not JSON");
    if (rc < 0)
        return malformed(why, whylen, "the answer is not a JSON object");
    return 0;
}

json_object *
sy_ai_dig(json_object *o, const char *path)
{
    char part[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (part[0] >= '0' && part[0] <= '9') {
            int64_t i;
            if (!json_object_is_type(o, json_type_array) ||
                sy_parse_i64(sy_str_c(part), 0, 1 << 20, &i) < 0 ||
                (size_t)i >= json_object_array_length(o))
                return NULL;
            o = json_object_array_get_idx(o, (size_t)i);
        } else if (!json_object_is_type(o, json_type_object) ||
                   !json_object_object_get_ex(o, part, &o)) {
            return NULL;
        }
    }
    return o;
}

int
sy_ai_dig_str(json_object *o, const char *path, size_t max, sy_str *out,
              char *why, size_t whylen)
{
    json_object *v = sy_ai_dig(o, path);
    if (!v || !json_object_is_type(v, json_type_string))
        return malformed(why, whylen, "%s is not a string", path);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > max)
        return malformed(why, whylen, "%s is empty or longer than %zu",
                         path, max);
    *out = (sy_str){json_object_get_string(v), n};
    return 0;
}

int
sy_ai_floats(json_object *arr, int dims, float *out, char *why,
             size_t whylen)
{
    double sum = 0;
    if (!json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) != (size_t)dims)
        return malformed(why, whylen, "a vector of %d numbers expected",
                         dims);
    for (int i = 0; i < dims; i++) {
        json_object *x = json_object_array_get_idx(arr, (size_t)i);
        if (!json_object_is_type(x, json_type_double) &&
            !json_object_is_type(x, json_type_int))
            return malformed(why, whylen, "a vector holds a non-number");
        double d = json_object_get_double(x);
        if (!isfinite(d) || fabs(d) > 1e6)
            return malformed(why, whylen, "a vector value is out of range");
        out[i] = (float)d;
        sum += d * d;
    }
    if (sum <= 0)
        return malformed(why, whylen, "an all-zero vector");
    float inv = (float)(1.0 / sqrt(sum));
    for (int i = 0; i < dims; i++)
        out[i] *= inv;
    return 0;
}

char *
sy_ai_data_url(sy_arena *a, const sy_ai_image *img)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "data:%s;base64,",
             img->content_type ? img->content_type : "image/jpeg");
    return sy_ai_base64(a, prefix, img->data, img->len);
}

json_object *
sy_ai_jstr(const char *s)
{
    return json_object_new_string(s ? s : "");
}

json_object *
sy_ai_jstrn(sy_str s)
{
    return json_object_new_string_len(s.p ? s.p : "", (int)s.len);
}

bool
sy_ai_id_ok(sy_str id)
{
    if (id.len == 0 || id.len > 127)
        return false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return !(id.len <= 2 && id.p[0] == '.');
}

int
sy_ai_copy_id(sy_str id, char *out, size_t outlen, char *why,
              size_t whylen)
{
    if (!sy_ai_id_ok(id) || id.len >= outlen)
        return malformed(why, whylen, "the job id is not 1 to 127 of "
                         "[A-Za-z0-9_.-]");
    memcpy(out, id.p, id.len);
    out[id.len] = '\0';
    return 0;
}

json_object *
sy_ai_tryon_input(sy_arena *a, const sy_ai_target *t,
                  const sy_ai_image *person, const sy_ai_image *garments,
                  int ngarments)
{
    json_object *in = json_object_new_object(), *g = NULL;
    char *p = sy_ai_data_url(a, person);
    if (!in || !p)
        goto fail;
    json_object_object_add(in, t->ep->person_field, sy_ai_jstr(p));
    if (ngarments == 1) {
        char *u = sy_ai_data_url(a, &garments[0]);
        if (!u)
            goto fail;
        g = sy_ai_jstr(u);
    } else {
        g = json_object_new_array();
        for (int i = 0; g && i < ngarments; i++) {
            char *u = sy_ai_data_url(a, &garments[i]);
            if (!u)
                goto fail;
            json_object_array_add(g, sy_ai_jstr(u));
        }
    }
    if (!g)
        goto fail;
    json_object_object_add(in, t->ep->garment_field, g);
    return in;
fail:
    json_object_put(g);
    json_object_put(in);
    return NULL;
}

int
sy_ai_submitted_id(sy_arena *a, sy_str body, const char *key, char *id,
                   size_t idlen, char *why, size_t whylen)
{
    json_object *o;
    sy_str v;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc == 0)
        rc = sy_ai_dig_str(o, key, 127, &v, why, whylen);
    return rc < 0 ? rc : sy_ai_copy_id(v, id, idlen, why, whylen);
}
