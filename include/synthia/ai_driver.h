/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ai_driver.h - the API shapes: one driver per provider kind
 * (app/ai/openai.c, gemini.c, fal.c, replicate.c) and their shared
 * helpers (app/ai/driver.c).
 *
 * A driver does no I/O: it builds requests (sy_ai_http_req, everything
 * but the timeouts and the size limit, which the router sets) and
 * parses answers, every field checked; an answer that is not the API's
 * shape is SY_EPROVIDER (malformed), with the reason in why.  So the
 * drivers are tested on canned answers and fuzzed without a network.
 */
#ifndef SYNTHIA_AI_DRIVER_H
#define SYNTHIA_AI_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "synthia/ai_curl.h"
#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/provider.h"
#include "synthia/str.h"

struct json_object;

/* Where a call goes: a provider kind, its model, its endpoint. */
typedef struct sy_ai_target {
    int kind;         /* enum sy_ai_kind */
    const char *name; /* "openai", ... */
    const char *model;
    const sy_ai_endpoint_conf *ep;
} sy_ai_target;

typedef struct sy_ai_driver {
    int kind;
    const char *auth_prefix; /* the key's header line up to the key */
    /* vision and chat (openai, gemini): requests, and the answer text */
    int (*vision)(sy_arena *a, const sy_ai_target *t,
                  const sy_ai_image *img, const char *prompt,
                  sy_ai_schema *schema, int max_tokens,
                  sy_ai_http_req *req);
    int (*chat)(sy_arena *a, const sy_ai_target *t, const sy_ai_msg *msgs,
                int n, int max_tokens, sy_ai_http_req *req);
    int (*text)(sy_arena *a, sy_str body, sy_str *out, char *why,
                size_t whylen);
    /* embeddings (openai, gemini): request, and n * dims floats */
    int (*embed)(sy_arena *a, const sy_ai_target *t, const sy_str *texts,
                 int n, int dims, sy_ai_http_req *req);
    int (*vectors)(sy_arena *a, sy_str body, int n, int dims, float *out,
                   char *why, size_t whylen);
    /* try-on (fal, replicate): submit -> id; status; result -> URL */
    int (*submit)(sy_arena *a, const sy_ai_target *t,
                  const sy_ai_image *person, const sy_ai_image *garments,
                  int ngarments, sy_ai_http_req *req);
    int (*submitted)(sy_arena *a, sy_str body, char *id, size_t idlen,
                     char *why, size_t whylen);
    int (*status)(sy_arena *a, const sy_ai_target *t, const char *id,
                  sy_ai_http_req *req);
    int (*status_of)(sy_arena *a, sy_str body, int *status, sy_str *error,
                     char *why, size_t whylen);
    int (*result)(sy_arena *a, const sy_ai_target *t, const char *id,
                  sy_ai_http_req *req);
    int (*result_url)(sy_arena *a, sy_str body, sy_str *url, char *why,
                      size_t whylen);
    /* try-on lookup of a submit whose answer was lost (replicate; NULL
     * for fal, whose queue cannot be listed): a page of the jobs,
     * newest first (cursor NULL: the first); found: the id of a job
     * of t->model whose input equals `input` and that did not fail,
     * created at or after since ("YYYY-MM-DDTHH:MM:SS", UTC), into id
     * ("" when none on the page), and *next the cursor of the next page
     * (NULL when there is none or the page reached past since) */
    int (*find)(sy_arena *a, const sy_ai_target *t, const char *cursor,
                sy_ai_http_req *req);
    int (*found)(sy_arena *a, sy_str body, const sy_ai_target *t,
                 struct json_object *input, const char *since, char *id,
                 size_t idlen, const char **next, char *why, size_t whylen);
} sy_ai_driver;

extern const sy_ai_driver sy_ai_openai_driver;
extern const sy_ai_driver sy_ai_gemini_driver;
extern const sy_ai_driver sy_ai_fal_driver;
extern const sy_ai_driver sy_ai_replicate_driver;

/* The driver of a kind; NULL for local and unknown kinds. */
const sy_ai_driver *sy_ai_driver_of(int kind);

/* ------------------------------------------------ helpers for drivers */

/* Start req: method, URL = the endpoint's base_url + the formatted path,
 * the key's header line (auth_prefix and the key; none without one), and body
 * (serialised, then put; NULL for none).  0, SY_ENOMEM, SY_EINVAL (the
 * path or body could not be made). */
int sy_ai_req(sy_arena *a, const sy_ai_target *t, const char *auth_prefix,
              const char *method, struct json_object *body,
              sy_ai_http_req *req, const char *path_fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Parse an answer body (a JSON object); SY_EPROVIDER with why. */
int sy_ai_parse(sy_arena *a, sy_str body, struct json_object **out,
                char *why, size_t whylen);

/* The member at a dotted path ("choices.0.message.content": numbers
 * index arrays), or NULL. */
struct json_object *sy_ai_dig(struct json_object *o, const char *path);

/* A string member at path, non-empty and at most max bytes: 0 with the
 * view (valid while o lives), or SY_EPROVIDER with why. */
int sy_ai_dig_str(struct json_object *o, const char *path, size_t max,
                  sy_str *out, char *why, size_t whylen);

/* An array of exactly dims finite numbers into out, L2-normalised (an
 * all-zero vector is refused).  0 or SY_EPROVIDER with why. */
int sy_ai_floats(struct json_object *arr, int dims, float *out, char *why,
                 size_t whylen);

/* "data:<type>;base64,<bytes>" in the arena (NULL on ENOMEM). */
char *sy_ai_data_url(sy_arena *a, const sy_ai_image *img);

/* A new JSON string of a C string / view (NULL on ENOMEM). */
struct json_object *sy_ai_jstr(const char *s);
struct json_object *sy_ai_jstrn(sy_str s);

/* A provider's job id: 1 to 127 of [A-Za-z0-9_.-] (it goes into URLs). */
bool sy_ai_id_ok(sy_str id);

/* Copy a checked string into a fixed buffer; SY_EPROVIDER when it does
 * not fit. */
int sy_ai_copy_id(sy_str id, char *out, size_t outlen, char *why,
                  size_t whylen);

/* A submit answer's job id: body parsed, its string field key copied to
 * id (sy_ai_copy_id's rules). */
int sy_ai_submitted_id(sy_arena *a, sy_str body, const char *key, char *id,
                       size_t idlen, char *why, size_t whylen);

/* Try-on input object for fal and replicate: {person_field: data URL,
 * garment_field: data URL, or an array of them when several}; NULL on
 * ENOMEM. */
struct json_object *sy_ai_tryon_input(sy_arena *a, const sy_ai_target *t,
                                      const sy_ai_image *person,
                                      const sy_ai_image *garments,
                                      int ngarments);

#endif
