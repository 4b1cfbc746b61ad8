/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobs.c (domain) - who may see which try-on job, and how it looks
 * (jobs.h).
 */
#include "synthia/jobs.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/text.h"

int
sy_jobs_get(sy_arena *a, const char *tenant, const char *id,
            const sy_jobq_owner *owner, sy_errs *e, sy_job *out)
{
    if (!id || !sy_text_uuid(id))
        return sy_errs_fail(e, SY_ENOTFOUND, "not_found", "no such job");
    int rc = sy_jobs_db_get(a, tenant, id, owner->user_id,
                            owner->keys_only, out);
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "not_found", "no such job");
    return rc;
}

bool
sy_jobs_finished(const sy_job *j)
{
    return strcmp(j->status, "done") == 0 ||
           strcmp(j->status, "error") == 0 ||
           strcmp(j->status, "canceled") == 0;
}

static json_object *
str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *
ms_or_null(int64_t v)
{
    return v >= 0 ? json_object_new_int64(v) : NULL;
}

json_object *
sy_jobs_view(const sy_job *j)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    char url[80];
    snprintf(url, sizeof(url), "/api/v1/jobs/%s/result", j->id);
    json_object_object_add(o, "id", json_object_new_string(j->id));
    json_object_object_add(o, "status", json_object_new_string(j->status));
    json_object_object_add(o, "attempts", json_object_new_int64(j->attempts));
    json_object_object_add(o, "provider", str_or_null(j->provider));
    json_object_object_add(o, "result_url",
                           j->has_result ? json_object_new_string(url) : NULL);
    json_object_object_add(o, "error", str_or_null(j->error));
    json_object_object_add(o, "duration_ms", ms_or_null(j->duration_ms));
    json_object_object_add(o, "provider_duration_ms",
                           ms_or_null(j->provider_duration_ms));
    json_object_object_add(o, "cold_start",
                           j->cold_start < 0
                               ? NULL
                               : json_object_new_boolean(j->cold_start));
    json_object_object_add(o, "created_at", str_or_null(j->created_at));
    json_object_object_add(o, "completed_at", str_or_null(j->completed_at));
    return o;
}

void
sy_jobs_etag(const sy_job *j, char out[SY_JOBS_ETAG_MAX])
{
    snprintf(out, SY_JOBS_ETAG_MAX, "\"%s.%lld\"", j->id,
             (long long)j->version);
}

int
sy_jobs_wait_parse(sy_str v, sy_errs *e, int *secs)
{
    int64_t n;
    if (sy_parse_i64(v, 0, SY_JOBS_WAIT_MAX, &n) < 0) {
        sy_errs_field(e, "wait", "must be an integer from 0 to 30 (seconds)");
        return SY_EVALIDATION;
    }
    *secs = (int)n;
    return 0;
}
