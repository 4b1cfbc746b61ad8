/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * providers.h - what Synthia shows of its AI providers
 * (app/domain/providers.c): GET /api/v1/providers and the "providers"
 * member of /health/detailed.
 */
#ifndef SYNTHIA_PROVIDERS_H
#define SYNTHIA_PROVIDERS_H

#include "synthia/arena.h"

struct json_object;

/* {providers: {capability: [{name, kind, model, healthy, circuit,
 * last_error, latency_p50_ms, shared}]}} (provider.h,
 * sy_ai_status_json), a new object the caller owns.  0 or SY_ENOMEM. */
int sy_providers_list(sy_arena *a, struct json_object **out);

/* For /health/detailed: {status: ok | degraded | none, capabilities:
 * the lists above}; degraded when any configured provider's circuit is
 * not closed, none when no remote provider is configured.  A new object
 * the caller owns, or NULL on ENOMEM. */
struct json_object *sy_providers_health(sy_arena *a);

#endif
