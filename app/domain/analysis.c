/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (domain) - colour analysis of an upload (analysis.h): read
 * the upload_id, decode the tenant's upload at the analyser's size, run
 * the local analyser, time it.
 */
#include "synthia/analysis.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/text.h"
#include "synthia/uploads.h"

int
sy_analysis_chromatic(sy_arena *a, const char *tenant_id,
                      json_object *body, sy_errs *e, sy_analysis *out)
{
    sy_str id;
    int rc = sy_json_str(e, body, "upload_id", true, 36, 36, &id);
    if (rc < 0)
        return rc;
    char uid[37];
    memcpy(uid, id.p, 36);
    uid[36] = '\0';
    if (!sy_text_uuid(uid))
        return sy_errs_field(e, "upload_id", "must be a UUID");
    int64_t t0 = sy_mono_us();
    sy_image img;
    rc = sy_uploads_decode(a, tenant_id, uid, SY_CHROMATIC_SIDE, e, NULL,
                           &img);
    if (rc < 0)
        return rc;
    sy_analysis an;
    memset(&an, 0, sizeof(an));
    const char *why = NULL;
    rc = sy_chromatic_analyse(a, &img, &an.result, &why);
    if (rc == SY_EVALIDATION)
        return sy_errs_fail(e, rc, "no_skin_found", why);
    if (rc < 0)
        return rc == SY_EINVAL ? SY_EINTERNAL : rc;
    an.duration_us = sy_mono_us() - t0;
    sy_uuid_v4(an.id);
    memcpy(an.upload_id, uid, sizeof(uid));
    *out = an;
    return 0;
}

static json_object *
str_array(const char *const *v, int n)
{
    json_object *arr = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

json_object *
sy_analysis_json(const sy_analysis *an)
{
    const sy_chromatic *c = &an->result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(an->id));
    json_object_object_add(o, "type", json_object_new_string("chromatic"));
    json_object_object_add(o, "upload_id",
                           json_object_new_string(an->upload_id));
    json_object_object_add(o, "season", json_object_new_string(c->season));
    json_object_object_add(o, "undertone",
                           json_object_new_string(c->undertone));
    json_object_object_add(o, "value", json_object_new_string(c->value));
    json_object_object_add(o, "contrast",
                           json_object_new_string(c->contrast));
    json_object_object_add(o, "chroma", json_object_new_string(c->chroma));
    json_object_object_add(o, "skin", json_object_new_string(c->skin_hex));
    json_object_object_add(o, "palette",
                           str_array(c->palette, SY_CHROMATIC_PALETTE));
    json_object_object_add(o, "avoid",
                           str_array(c->avoid, SY_CHROMATIC_AVOID));
    json_object_object_add(o, "provider",
                           json_object_new_string(SY_ANALYSIS_PROVIDER_LOCAL));
    json_object_object_add(o, "method",
                           json_object_new_string(SY_CHROMATIC_METHOD));
    json_object_object_add(o, "cached", json_object_new_boolean(0));
    char ms[32];
    double d = (double)an->duration_us / 1000.0;
    snprintf(ms, sizeof(ms), "%.3f", d);
    json_object_object_add(o, "duration_ms", json_object_new_double_s(d, ms));
    return o;
}
