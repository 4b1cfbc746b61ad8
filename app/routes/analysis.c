/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (routes) - POST /api/v1/analysis/chromatic (API.md
 * "Uploads, analysis, recommendations, feedback, cache"): {upload_id} ->
 * the local analyser's verdict (analysis.h), X-Cache: MISS (nothing is
 * cached yet: every answer is computed).
 */
#include "synthia/analysis.h"
#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/routes.h"

int
sy_route_analysis_chromatic(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_analysis an;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_analysis_chromatic(req->arena, tid, req->json, &res->errs,
                                   &an);
    if (rc < 0)
        return rc;
    if ((rc = sy_res_headerc(res, "X-Cache", "MISS")) < 0)
        return rc;
    return sy_res_json(res, 200, sy_analysis_json(&an));
}
