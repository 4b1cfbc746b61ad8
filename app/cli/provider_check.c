/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * provider_check.c - `synthia provider-check`: one call to a capability
 * through the configured providers, exactly as a responder makes it
 * (router, breakers in Redis, retries, fallback), printed as one JSON
 * line.  For operators checking keys and endpoints, and for the tests.
 *
 *   provider-check status
 *   provider-check chat TEXT
 *   provider-check vision IMAGE [PROMPT]
 *   provider-check embed [--dims N] TEXT...
 *   provider-check tryon PERSON GARMENT...
 *   provider-check tryon-status PROVIDER MODEL ID
 *   provider-check tryon-result PROVIDER MODEL ID
 *
 * Exit status: 0 answered, 1 no provider answered (the outcome says
 * why), 2 usage or an unreadable file.
 */
#include "synthia/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/provider.h"
#include "synthia/str.h"

#define MAX_IMAGE (20 * 1024 * 1024)

static const char check_usage[] =
    "usage: synthia provider-check status\n"
    "       synthia provider-check chat TEXT\n"
    "       synthia provider-check vision IMAGE [PROMPT]\n"
    "       synthia provider-check embed [--dims N] TEXT...\n"
    "       synthia provider-check tryon PERSON GARMENT...\n"
    "       synthia provider-check tryon-status|tryon-result PROVIDER "
    "MODEL ID\n";

/* The schema of vision's check answer: a small, strict object. */
static sy_ai_schema check_schema = SY_AI_SCHEMA(
    "synthia_provider_check",
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"face_shape\",\"confidence\"],"
    "\"properties\":{"
    "\"face_shape\":{\"type\":\"string\",\"enum\":[\"oval\",\"round\","
    "\"square\",\"heart\",\"oblong\",\"diamond\"]},"
    "\"confidence\":{\"type\":\"string\",\"enum\":[\"low\",\"medium\","
    "\"high\"]}}}");

static int
usage_error(const char *what)
{
    fprintf(stderr, "synthia provider-check: %s\n%s", what, check_usage);
    return 2;
}

/* Read an image file; its type from its first bytes. */
static int
read_image(sy_arena *a, const char *path, sy_ai_image *img)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SY_EIO;
    unsigned char *buf = sy_arena_alloc(a, MAX_IMAGE);
    size_t n = buf ? fread(buf, 1, MAX_IMAGE, f) : 0;
    bool more = buf && fgetc(f) != EOF;
    fclose(f);
    if (!buf)
        return SY_ENOMEM;
    if (more || n < 12)
        return SY_EINVAL;
    if (buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        img->content_type = "image/jpeg";
    else if (memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
        img->content_type = "image/png";
    else if (memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
        img->content_type = "image/webp";
    else
        return SY_EINVAL;
    img->data = buf;
    img->len = n;
    return 0;
}

static json_object *
outcome_json(const sy_ai_outcome *oc)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error",
                           oc->err ? json_object_new_string(
                                         sy_ai_err_name(oc->err))
                                   : NULL);
    json_object_object_add(o, "http_status",
                           json_object_new_int(oc->http_status));
    json_object_object_add(o, "provider",
                           json_object_new_string(oc->provider));
    json_object_object_add(o, "model", json_object_new_string(oc->model));
    json_object_object_add(o, "calls", json_object_new_int(oc->calls));
    json_object_object_add(o, "skipped", json_object_new_int(oc->skipped));
    json_object_object_add(o, "fallback",
                           json_object_new_boolean(oc->fallback));
    json_object_object_add(o, "duration_ms",
                           json_object_new_int64(oc->duration_us / 1000));
    return o;
}

static int
print(int rc, const sy_ai_outcome *oc, json_object *result)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(rc == 0));
    if (oc)
        json_object_object_add(o, "outcome", outcome_json(oc));
    json_object_object_add(o, "result", rc == 0 ? result : NULL);
    if (rc != 0)
        json_object_put(result);
    puts(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(o);
    if (rc == 0 || rc == SY_EPROVIDER)
        return rc == 0 ? 0 : 1;
    fprintf(stderr, "synthia provider-check: %s\n", sy_strerror(rc));
    return rc == SY_EINVAL ? 2 : 1;
}

static int
job_of(char **argv, sy_ai_job *job)
{
    if (strlen(argv[0]) >= sizeof(job->provider) ||
        strlen(argv[1]) >= sizeof(job->model) ||
        strlen(argv[2]) >= sizeof(job->id))
        return SY_EINVAL;
    snprintf(job->provider, sizeof(job->provider), "%s", argv[0]);
    snprintf(job->model, sizeof(job->model), "%s", argv[1]);
    snprintf(job->id, sizeof(job->id), "%s", argv[2]);
    return 0;
}

static int
run_check(sy_arena *a, int argc, char **argv)
{
    sy_ai_outcome oc;
    const char *what = argv[0];
    json_object *res = NULL;
    int rc;

    if (strcmp(what, "status") == 0 && argc == 1) {
        rc = sy_ai_status_json(a, &res);
        return print(rc, NULL, res);
    }
    if (strcmp(what, "chat") == 0 && argc == 2) {
        sy_ai_msg m = {.role = SY_AI_USER, .text = sy_str_c(argv[1])};
        sy_str out;
        rc = sy_ai_chat(a, &m, 1, NULL, &out, &oc);
        if (rc == 0)
            res = json_object_new_string_len(out.p, (int)out.len);
        return print(rc, &oc, res);
    }
    if (strcmp(what, "vision") == 0 && (argc == 2 || argc == 3)) {
        sy_ai_image img;
        if (read_image(a, argv[1], &img) < 0)
            return usage_error("cannot read a JPEG, PNG or WebP image there");
        rc = sy_ai_vision(a, &img,
                          argc == 3 ? argv[2]
                                    : "Describe the face in this photo as "
                                      "JSON: its shape and your confidence.",
                          &check_schema, NULL, &res, &oc);
        if (rc == 0)
            res = json_object_get(res); /* the arena puts its own */
        return print(rc, &oc, res);
    }
    if (strcmp(what, "embed") == 0 && argc >= 2) {
        int dims = 256, i = 1;
        if (strcmp(argv[1], "--dims") == 0) {
            int64_t d;
            if (argc < 4 || sy_parse_i64(sy_str_c(argv[2]), 1, 8192, &d) < 0)
                return usage_error("--dims takes 1 to 8192");
            dims = (int)d;
            i = 3;
        }
        int n = argc - i;
        if (n > SY_AI_EMBED_MAX_TEXTS)
            return usage_error("too many texts");
        sy_str *texts = sy_arena_alloc(a, sizeof(*texts) * (size_t)n);
        if (!texts)
            return print(SY_ENOMEM, NULL, NULL);
        for (int k = 0; k < n; k++)
            texts[k] = sy_str_c(argv[i + k]);
        sy_ai_vectors v;
        rc = sy_ai_embed(a, texts, n, dims, NULL, &v, &oc);
        if (rc == 0) {
            res = json_object_new_object();
            json_object_object_add(res, "embedder",
                                   json_object_new_string(v.embedder));
            json_object_object_add(res, "model",
                                   json_object_new_string(v.model));
            json_object *vecs = json_object_new_array();
            for (int k = 0; k < v.n; k++) {
                json_object *row = json_object_new_array();
                for (int d = 0; d < v.dims; d++)
                    json_object_array_add(
                        row, json_object_new_double(
                                 v.v[(size_t)k * (size_t)v.dims + (size_t)d]));
                json_object_array_add(vecs, row);
            }
            json_object_object_add(res, "vectors", vecs);
        }
        return print(rc, &oc, res);
    }
    if (strcmp(what, "tryon") == 0 && argc >= 3 &&
        argc - 2 <= SY_AI_TRYON_MAX_GARMENTS) {
        sy_ai_image person, garments[SY_AI_TRYON_MAX_GARMENTS];
        sy_ai_job job;
        if (read_image(a, argv[1], &person) < 0)
            return usage_error("cannot read the person image");
        for (int k = 2; k < argc; k++)
            if (read_image(a, argv[k], &garments[k - 2]) < 0)
                return usage_error("cannot read a garment image");
        rc = sy_ai_tryon_submit(a, &person, garments, argc - 2, NULL, &job,
                                &oc);
        if (rc == 0) {
            res = json_object_new_object();
            json_object_object_add(res, "provider",
                                   json_object_new_string(job.provider));
            json_object_object_add(res, "model",
                                   json_object_new_string(job.model));
            json_object_object_add(res, "id", json_object_new_string(job.id));
        }
        return print(rc, &oc, res);
    }
    if (strcmp(what, "tryon-status") == 0 && argc == 4) {
        sy_ai_job job;
        int st;
        sy_str err;
        if (job_of(argv + 1, &job) < 0)
            return usage_error("PROVIDER, MODEL or ID too long");
        rc = sy_ai_tryon_status(a, &job, NULL, &st, &err, &oc);
        if (rc == 0) {
            res = json_object_new_object();
            json_object_object_add(res, "status", json_object_new_string(
                                                      sy_ai_job_status_name(st)));
            json_object_object_add(res, "error",
                                   err.len ? json_object_new_string_len(
                                                 err.p, (int)err.len)
                                           : NULL);
        }
        return print(rc, &oc, res);
    }
    if (strcmp(what, "tryon-result") == 0 && argc == 4) {
        sy_ai_job job;
        sy_ai_image img;
        if (job_of(argv + 1, &job) < 0)
            return usage_error("PROVIDER, MODEL or ID too long");
        rc = sy_ai_tryon_result(a, &job, NULL, &img, &oc);
        if (rc == 0) {
            unsigned char d[SY_SHA256_LEN];
            char hex[65];
            sy_sha256(img.data, img.len, d);
            sy_hex(hex, d, sizeof(d));
            res = json_object_new_object();
            json_object_object_add(res, "content_type",
                                   json_object_new_string(img.content_type));
            json_object_object_add(res, "bytes",
                                   json_object_new_int64((int64_t)img.len));
            json_object_object_add(res, "sha256", json_object_new_string(hex));
        }
        return print(rc, &oc, res);
    }
    return usage_error("unknown check or wrong arguments");
}

int
sy_cli_provider_check(int argc, char **argv)
{
    sy_arena a;
    if (argc < 1)
        return usage_error("missing check");
    sy_arena_init(&a, 1 << 16, 512u << 20);
    int rc = run_check(&a, argc, argv);
    sy_arena_cleanup(&a);
    return rc;
}
