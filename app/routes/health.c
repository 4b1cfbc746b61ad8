/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * health.c - the probes: /health, /health/live, /health/ready,
 * /health/detailed and /health/storage (API.md, "Health and operations").
 *
 * live does no I/O and writes a constant, so it measures the framework
 * alone.  /health answers from a per-process cache of the store checks
 * (1 s), so a probe flood cannot hammer PostgreSQL or Redis; ready,
 * detailed and storage always look afresh.  Bodies never carry secrets,
 * SQL or file paths: failing checks say "cannot connect" and the like.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/migrate.h"
#include "synthia/pool.h"
#include "synthia/providers.h"
#include "synthia/ratelimit.h"
#include "synthia/redis.h"
#include "synthia/schema.h"
#include "synthia/routes.h"
#include "synthia/str.h"
#include "synthia/tryon.h"

#define CACHE_US 1000000

typedef struct store_checks {
    int64_t at_us; /* 0: never checked */
    bool db_ok;
    bool redis_ok;
} store_checks;

static store_checks cached;

/* ------------------------------------------------------------- helpers */

static void
add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

static void
add_str(json_object *o, const char *key, const char *v)
{
    add(o, key, json_object_new_string(v));
}

/* Milliseconds with three decimals, printed as such (not 0.41999..). */
static json_object *
ms_value(int64_t us)
{
    char s[32];
    snprintf(s, sizeof(s), "%.3f", (double)us / 1000.0);
    return json_object_new_double_s((double)us / 1000.0, s);
}

static bool
crash_loop(void)
{
    return sy_pool &&
           __atomic_load_n(&sy_pool->crash_loop, __ATOMIC_RELAXED) != 0;
}

/* Value of "key:value" in an INFO reply, or an empty view. */
static sy_str
info_field(sy_str info, const char *key)
{
    size_t klen = strlen(key);
    const char *p = info.p, *end = info.p + info.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > klen && p[klen] == ':' && memcmp(p, key, klen) == 0)
            return (sy_str){p + klen + 1, n - klen - 1};
        p = eol ? eol + 1 : end;
    }
    return SY_STR_NULL;
}

static void
add_info_str(json_object *o, const char *key, sy_str info, const char *field)
{
    sy_str v = info_field(info, field);
    if (v.p)
        add(o, key, json_object_new_string_len(v.p, (int)v.len));
}

static void
add_info_int(json_object *o, const char *key, sy_str info, const char *field)
{
    int64_t v;
    if (sy_parse_i64(info_field(info, field), 0, INT64_MAX, &v) == 0)
        add(o, key, json_object_new_int64(v));
}

/* PING and INFO into o: latency_ms, version, mode, used_memory,
 * connected_clients, uptime_s.  SY_EREDIS (with "error") when down. */
static int
redis_info(sy_arena *a, json_object *o)
{
    char err[64];
    int64_t lat;
    sy_str info;
    int rc = sy_redis_info(a, &lat, &info, err, sizeof(err));
    if (rc < 0) {
        add_str(o, "error", err);
        return rc;
    }
    add(o, "latency_ms", ms_value(lat));
    add_info_str(o, "version", info, "redis_version");
    add_info_str(o, "mode", info, "redis_mode");
    add_info_int(o, "used_memory", info, "used_memory");
    add_info_int(o, "connected_clients", info, "connected_clients");
    add_info_int(o, "uptime_s", info, "uptime_in_seconds");
    return 0;
}

/* {ok, current, latest[, error]}.  A database newer than this binary
 * counts as current: during a rolling deploy the old responders keep
 * serving (migrations are written to be backward compatible). */
static bool
add_migrations(sy_arena *a, json_object *o, bool db_ok)
{
    int current = 0, latest = sy_migrate_latest();
    json_object *m = json_object_new_object();
    add(o, "migrations", m);
    bool ok = db_ok && sy_schema_version(a, &current) == 0;
    if (ok) {
        add(m, "current", json_object_new_int(current));
        ok = current >= latest;
    }
    add(m, "latest", json_object_new_int(latest));
    json_object_object_add(m, "ok", json_object_new_boolean(ok));
    if (!db_ok)
        add_str(m, "error", "database unavailable");
    else if (!ok)
        add_str(m, "error",
                current < latest ? "migrations pending"
                                 : "cannot read the version");
    return ok;
}

/* {ok, latency_ms | error} under "database". */
static bool
add_database(json_object *checks, json_object **out)
{
    char err[64];
    int64_t lat;
    json_object *d = json_object_new_object();
    add(checks, "database", d);
    bool ok = sy_db_ping(&lat, err, sizeof(err)) == 0;
    add(d, "ok", json_object_new_boolean(ok));
    if (ok)
        add(d, "latency_ms", ms_value(lat));
    else
        add_str(d, "error", err);
    if (out)
        *out = d;
    return ok;
}

static const char *
overall(bool db_ok, bool redis_ok)
{
    if (!db_ok || (!redis_ok && sy_conf->redis_required))
        return "down";
    if (!redis_ok || crash_loop())
        return "degraded";
    return "ok";
}

/* ------------------------------------------------------------ handlers */

int
sy_route_health_live(sy_req *req, sy_res *res)
{
    static const char body[] = "{\"status\":\"alive\"}";
    return sy_res_bytes(res, 200, "application/json", body, sizeof(body) - 1);
}

int
sy_route_health_get(sy_req *req, sy_res *res)
{
    int64_t now = sy_mono_us(), lat;
    if (cached.at_us == 0 || now - cached.at_us >= CACHE_US) {
        cached.db_ok = sy_db_ping(&lat, NULL, 0) == 0;
        cached.redis_ok = sy_redis_ping(&lat, NULL, 0) == 0;
        cached.at_us = sy_mono_us();
    }
    const char *status = overall(cached.db_ok, cached.redis_ok);
    json_object *checks = json_object_new_object();
    add_str(checks, "database", cached.db_ok ? "ok" : "down");
    add_str(checks, "redis", cached.redis_ok ? "ok" : "down");
    /* Without Redis the rate limiter runs on ratelimit.on_redis_down. */
    add_str(checks, "ratelimit",
            cached.redis_ok && !sy_ratelimit_degraded() ? "ok" : "degraded");
    add_str(checks, "pool", crash_loop() ? "crash_loop" : "ok");
    json_object *body = json_object_new_object();
    add_str(body, "status", status);
    add_str(body, "version", PACKAGE_VERSION);
    add(body, "checks", checks);
    return sy_res_json(res, strcmp(status, "down") == 0 ? 503 : 200, body);
}

int
sy_route_health_ready(sy_req *req, sy_res *res)
{
    json_object *checks = json_object_new_object();
    bool db_ok = add_database(checks, NULL);
    bool ok = add_migrations(req->arena, checks, db_ok);

    char err[64];
    int64_t lat;
    json_object *r = json_object_new_object();
    bool redis_ok = sy_redis_ping(&lat, err, sizeof(err)) == 0;
    add(r, "ok", json_object_new_boolean(redis_ok));
    add(r, "required", json_object_new_boolean(sy_conf->redis_required));
    if (redis_ok)
        add(r, "latency_ms", ms_value(lat));
    else
        add_str(r, "error", err);
    add(checks, "redis", r);

    ok = ok && db_ok && (redis_ok || !sy_conf->redis_required);
    json_object *body = json_object_new_object();
    add_str(body, "status", ok ? "ready" : "not_ready");
    add(body, "checks", checks);
    return sy_res_json(res, ok ? 200 : 503, body);
}

/* Under pool: the guard's floor, deaths by cause, and the latest death
 * ({cause, signal | exit_status, at}); informational. */
static void
add_deaths(json_object *p)
{
    sy_pool_deaths d;
    char buf[16], ts[32];
    sy_pool_deaths_get(&d);
    add(p, "min_responders", json_object_new_int(d.min_responders));
    add(p, "crashes", json_object_new_uint64(d.crashes));
    add(p, "kills", json_object_new_uint64(d.kills));
    if (d.last_cause == SY_DEATH_NONE)
        return;
    json_object *l = json_object_new_object();
    add_str(l, "cause", sy_pool_death_cause_name(d.last_cause));
    if (d.last_signal)
        add_str(l, "signal", sy_pool_signal_name(d.last_signal, buf,
                                                 sizeof(buf)));
    else
        add(l, "exit_status", json_object_new_int(d.last_exit_status));
    sy_rfc3339_ms(ts, sizeof(ts), d.last_wall_ms);
    add_str(l, "at", ts);
    add(p, "last_death", l);
}

/* Under database: the server's fsync and synchronous_commit, as they
 * are; informational, never a reason for "degraded" (Synthia commits
 * what it acknowledges synchronously whatever they say: db.h). */
static void
add_durability(json_object *d)
{
    sy_db_durability s;
    if (sy_db_durability_settings(&s) < 0)
        return;
    json_object *o = json_object_new_object();
    add_str(o, "fsync", s.fsync);
    add_str(o, "synchronous_commit", s.synchronous_commit);
    add(d, "durability", o);
}

static json_object *
pool_stats(void)
{
    sy_pool_stats st;
    sy_pool_stats_get(&st);
    json_object *p = json_object_new_object();
    add(p, "responders", json_object_new_int(st.responders));
    add(p, "busy", json_object_new_int(st.busy));
    add(p, "idle", json_object_new_int(st.idle));
    add(p, "target", json_object_new_int(st.target));
    add(p, "served", json_object_new_uint64(st.served));
    add(p, "all_busy", json_object_new_uint64(st.all_busy));
    add(p, "deaths", json_object_new_uint64(st.deaths));
    add(p, "recycled", json_object_new_uint64(st.recycled));
    add(p, "timeouts", json_object_new_uint64(st.timeouts));
    add(p, "reloads", json_object_new_uint64(st.reloads));
    add(p, "crash_loop", json_object_new_boolean(st.crash_loop));
    add(p, "uptime_s", json_object_new_int64(st.uptime_s));
    add_deaths(p);
    return p;
}

/* "15.4" from 150004 (the numbering since PostgreSQL 10). */
static void
add_server_version(json_object *d)
{
    int v = sy_db_server_version();
    char s[32];
    if (v <= 0)
        return;
    snprintf(s, sizeof(s), "%d.%d", v / 10000, v % 10000);
    add_str(d, "server_version", s);
}

int
sy_route_health_detailed(sy_req *req, sy_res *res)
{
    json_object *body = json_object_new_object();
    json_object *d;
    bool db_ok = add_database(body, &d);
    if (db_ok)
        add_server_version(d);
    if (db_ok)
        add_durability(d);
    add_migrations(req->arena, d, db_ok);

    json_object *r = json_object_new_object();
    bool redis_ok = redis_info(req->arena, r) == 0;
    add(r, "ok", json_object_new_boolean(redis_ok));
    add(body, "redis", r);

    add(body, "pool", pool_stats());
    add(body, "providers", sy_providers_health(req->arena));
    json_object *queue = NULL;
    if (!db_ok || sy_tryon_queue_json(req->arena, &queue) < 0) {
        queue = json_object_new_object();
        add(queue, "ok", json_object_new_boolean(false));
    }
    add(body, "queue", queue);
    add_str(body, "status", overall(db_ok, redis_ok));
    add_str(body, "version", PACKAGE_VERSION);
    return sy_res_json(res, 200, body);
}

/* Import sessions (the import feature ZADDs them, scored by expiry). */
static int
active_sessions(sy_arena *a, int64_t *out)
{
    return sy_redis_count_live(a, "sy:import_sessions", sy_wall_ms(), out);
}

/* Always 200: this is a descriptive probe of where import sessions live,
 * not a readiness check; backend_type says whether Redis is there. */
int
sy_route_health_storage(sy_req *req, sy_res *res)
{
    json_object *info = json_object_new_object();
    int64_t sessions = 0;
    bool up = redis_info(req->arena, info) == 0;
    if (up && active_sessions(req->arena, &sessions) < 0)
        sessions = 0;
    json_object *body = json_object_new_object();
    add_str(body, "backend_type", up ? "redis" : "unavailable");
    add(body, "redis_info", info);
    add(body, "active_sessions", json_object_new_int64(sessions));
    return sy_res_json(res, 200, body);
}
