/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * providers.c - the AI providers as the API shows them (providers.h).
 */
#include "synthia/providers.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/provider.h"

int
sy_providers_list(sy_arena *a, json_object **out)
{
    json_object *caps;
    int rc = sy_ai_status_json(a, &caps);
    if (rc < 0)
        return rc;
    json_object *o = json_object_new_object();
    if (!o) {
        json_object_put(caps);
        return SY_ENOMEM;
    }
    json_object_object_add(o, "providers", caps);
    *out = o;
    return 0;
}

json_object *
sy_providers_health(sy_arena *a)
{
    json_object *caps;
    bool any = false, degraded = false;
    if (sy_ai_status_json(a, &caps) < 0)
        return NULL;
    json_object_object_foreach(caps, cap, list) {
        (void)cap;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *p = json_object_array_get_idx(list, i), *v;
            if (json_object_object_get_ex(p, "kind", &v) &&
                strcmp(json_object_get_string(v), "local") == 0)
                continue;
            any = true;
            if (json_object_object_get_ex(p, "healthy", &v) &&
                !json_object_get_boolean(v))
                degraded = true;
        }
    }
    json_object *o = json_object_new_object();
    if (!o) {
        json_object_put(caps);
        return NULL;
    }
    json_object_object_add(
        o, "status",
        json_object_new_string(!any ? "none" : degraded ? "degraded" : "ok"));
    json_object_object_add(o, "capabilities", caps);
    return o;
}
