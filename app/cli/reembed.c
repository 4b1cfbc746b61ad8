/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reembed.c - `synthia reembed [--tenant ID|SLUG] [--batch N]` (cli.h):
 * the product vectors of the external embedders of [ai] embeddings, for
 * one tenant or for every tenant with active products (reembed.h says
 * what a run does; it is idempotent and resumable).
 *
 * Output: one JSON line per tenant {tenant, links: [{embedder, model,
 * embedded, skipped, calls}], pruned} and, when a provider fails, a
 * line {tenant, error, provider, model} on stdout and exit status 1
 * (what was stored stays: run it again).
 */
#include "synthia/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/reembed.h"
#include "synthia/tenants.h"
#include "synthia/text.h"
#include "synthia/vectors.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage[] =
    "usage: synthia reembed [--tenant ID|SLUG] [--batch N]\n";

static int
bad_usage(const char *why)
{
    fprintf(stderr, "synthia reembed: %s\n%s", why, usage);
    return EXIT_USAGE;
}

static int
fail(const char *what, const char *why)
{
    fprintf(stderr, "synthia reembed: %s: %s\n", what, why);
    return EXIT_FAIL;
}

static void
print_result(const char *tenant, const sy_reembed_result *r)
{
    json_object *o = json_object_new_object(), *links = json_object_new_array();
    json_object_object_add(o, "tenant", json_object_new_string(tenant));
    for (int i = 0; i < r->nlinks; i++) {
        const sy_reembed_link *l = &r->links[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "embedder",
                               json_object_new_string(l->embedder));
        json_object_object_add(j, "model", json_object_new_string(l->model));
        json_object_object_add(j, "embedded", json_object_new_int(l->embedded));
        json_object_object_add(j, "skipped", json_object_new_int(l->skipped));
        json_object_object_add(j, "calls", json_object_new_int(l->calls));
        json_object_array_add(links, j);
    }
    json_object_object_add(o, "links", links);
    json_object_object_add(o, "pruned", json_object_new_int(r->pruned));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void
print_failure(const char *tenant, const sy_reembed_result *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tenant", json_object_new_string(tenant));
    json_object_object_add(o, "error",
                           json_object_new_string(sy_ai_err_name(
                               r->failed.err)));
    json_object_object_add(o, "provider",
                           json_object_new_string(r->failed.provider
                                                      ? r->failed.provider
                                                      : ""));
    json_object_object_add(o, "model",
                           json_object_new_string(r->failed.model
                                                      ? r->failed.model
                                                      : ""));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

/* One tenant: 0 or the exit status of its failure. */
static int
one(const char *tenant, int batch)
{
    sy_arena a;
    sy_errs e;
    sy_reembed_result r;
    sy_arena_init(&a, 1 << 16, 0);
    sy_errs_init(&e, &a);
    int rc = sy_reembed_tenant(&a, tenant, batch, &e, &r), status = EXIT_OK;
    if (rc == SY_EPROVIDER) {
        print_failure(tenant, &r);
        status = EXIT_FAIL;
    } else if (rc < 0) {
        status = fail(tenant, sy_strerror(rc));
    } else {
        print_result(tenant, &r);
    }
    fflush(stdout);
    sy_arena_cleanup(&a);
    return status;
}

int
sy_cli_reembed(int argc, char **argv)
{
    const char *tenant = NULL;
    int64_t batch = SY_REEMBED_BATCH_DEFAULT;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            tenant = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (sy_parse_i64(sy_str_c(argv[++i]), 1, SY_AI_EMBED_MAX_TEXTS,
                             &batch) < 0)
                return bad_usage("--batch must be 1 to 128");
        } else
            return bad_usage("unknown option");
    }
    if (!sy_conf || !sy_conf->db_url)
        return bad_usage("database.url is not set");
    sy_arena a;
    sy_tenant t; /* ids may point into it */
    sy_arena_init(&a, 1 << 16, 0);
    const char **ids = NULL;
    int n = 0, rc = 0, status = EXIT_OK;
    if (tenant && sy_text_uuid(tenant)) {
        ids = &tenant;
        n = 1;
    } else if (tenant) {
        rc = sy_tenants_by_slug(&a, tenant, &t);
        if (rc == 0) {
            ids = &t.id;
            n = 1;
        } else if (rc == SY_ENOTFOUND)
            status = fail(tenant, "no tenant has this slug");
        else
            status = fail("cannot reach the database", sy_strerror(rc));
    } else if ((rc = sy_vectors_tenants(&a, &ids, &n)) < 0) {
        status = fail("cannot reach the database", sy_strerror(rc));
    }
    for (int i = 0; status == EXIT_OK && i < n; i++)
        status = one(ids[i], (int)batch);
    sy_arena_cleanup(&a);
    sy_db_close();
    return status;
}
