/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - GET /metrics: the Prometheus text exposition (format
 * 0.0.4) of the metrics registry (metrics.h): every registered counter
 * and histogram summed over the responders' slots, the master, and the
 * segments of the worker and the CLI under server.metrics_dir, then the
 * pool's gauges and the build info.
 */
#include "config.h"

#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/metrics.h"
#include "synthia/routes.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

int
sy_route_metrics_get(sy_req *req, sy_res *res)
{
    sy_buf *b = &res->body;
    (void)req;
    sy_buf_reset(b);
    int rc = sy_metrics_render(b, sy_conf ? sy_conf->metrics_dir : NULL);
    if (rc < 0)
        return rc;
    sy_metrics_header(b, "synthia_build_info", "gauge",
                      "Build version; always 1.");
    sy_buf_puts(b, "synthia_build_info{version=");
    sy_metrics_label(b, PACKAGE_VERSION);
    sy_buf_puts(b, "} 1\n");
    if (b->failed)
        return SY_ENOMEM;
    res->status = 200;
    res->content_type = SY_STR(CONTENT_TYPE);
    return 0;
}
