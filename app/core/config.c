/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.c - configuration: one table of keys, a file parser, environment
 * overrides, validation and secret files.
 *
 * Order of precedence: built-in default < file < environment.  Every key
 * is typed; a value that does not parse or is out of range stops start-up
 * with a message naming the key and where the value came from.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/str.h"

const sy_config *sy_conf;

enum key_type {
    T_STR,      /* char * (NULL when empty) */
    T_INT,      /* int64_t within [min, max] */
    T_DURATION, /* int64_t milliseconds within [min, max] */
    T_SIZE,     /* int64_t bytes within [min, max] */
    T_BOOL,     /* bool */
    T_OCTAL,    /* int64_t, file mode */
    T_LEVEL,    /* int log level */
    T_RLDOWN,   /* int enum sy_redis_down_policy */
};

typedef struct key_def {
    const char *section;
    const char *key;
    int type;
    size_t off;
    const char *def;
    int64_t min, max;
    const char *help;
} key_def;

#define O(f) offsetof(sy_config, f)
#define DAY (86400LL * 1000)

static const key_def keys[] = {
    {"server", "listen", T_STR, O(listen), "", 0, 0,
     "FastCGI socket: unix:/path, host:port or [v6]:port; empty: the "
     "socket on fd 0 or from systemd (LISTEN_FDS)"},
    {"server", "listen_mode", T_OCTAL, O(listen_mode), "0660", 0, 0777,
     "permissions of a unix socket created by --listen/server.listen"},
    {"server", "listen_owner", T_STR, O(listen_owner), "", 0, 0,
     "owner (user name or uid) of a unix socket created by "
     "--listen/server.listen; empty: the user synthia runs as (changing "
     "it needs root)"},
    {"server", "listen_group", T_STR, O(listen_group), "", 0, 0,
     "group (name or gid) of a unix socket created by --listen/"
     "server.listen, e.g. www-data so the web server may connect; empty: "
     "the process's group (needs root unless synthia's user is a member)"},
    {"server", "backlog", T_INT, O(backlog), "1024", 1, 65535,
     "listen(2) backlog of a socket created by synthia"},
    {"server", "workers", T_INT, O(workers), "4", 0, 64,
     "responder processes; 0 runs one responder without a master "
     "(for spawn-fcgi -F N)"},
    {"server", "responder_connections", T_INT, O(responder_connections),
     "32", 1, 1000, "FastCGI connections one responder keeps open at once "
     "(the web server's kept connections); at the limit the least recently "
     "used idle one is closed for a new one"},
    {"server", "parked_requests", T_INT, O(parked_requests), "256", 0,
     10000, "requests one responder holds parked (GET /jobs/{id}?wait=) "
     "on top of responder_connections; beyond it a request that would "
     "wait is answered at once with its current state and Retry-After"},
    {"server", "max_requests", T_INT, O(max_requests), "0", 0,
     1000000000, "recycle a responder after this many requests (0: never, "
     "the default, as php-fpm's pm.max_requests: a responder keeps its "
     "connections and caches; set it only to bound a slow leak); its "
     "successor is started before it leaves"},
    {"server", "request_timeout", T_DURATION, O(request_timeout_ms), "30s",
     100, DAY, "end a request that runs longer with 503 and replace its "
     "responder"},
    {"server", "slow_request", T_DURATION, O(slow_request_ms), "1s", 0, DAY,
     "log requests slower than this with where the time went (0: off)"},
    {"server", "drain_timeout", T_DURATION, O(drain_timeout_ms), "30s", 0,
     DAY, "on SIGTERM or SIGHUP, wait this long for requests in flight"},
    {"server", "max_body", T_SIZE, O(max_body), "1M", 1024, 1LL << 30,
     "largest request body a route accepts unless it sets its own"},
    {"server", "request_memory", T_SIZE, O(request_memory), "64M",
     1LL << 20, 1LL << 32, "memory budget of one request"},
    {"server", "crash_loop_deaths", T_INT, O(crash_loop_deaths), "10", 1,
     10000, "this many responder crashes (SIGSEGV, SIGBUS, SIGABRT, SIGILL, "
     "SIGFPE or a failing exit; not kills such as SIGKILL) ..."},
    {"server", "crash_loop_window", T_DURATION, O(crash_loop_window_ms),
     "60s", 1000, DAY, "... within this window trip the crash-loop guard"},
    {"server", "min_responders", T_INT, O(min_responders), "0", 0, 64,
     "responders kept running even while the crash-loop guard holds back "
     "respawns (0: half of server.workers rounded up; at most "
     "server.workers)"},
    {"server", "access_log", T_BOOL, O(access_log), "on", 0, 0,
     "write one JSON access-log line per request to stderr"},
    {"server", "access_log_buffer", T_SIZE, O(access_log_buffer), "4k", 0,
     4096, "batch access lines up to this many bytes per write (0: one "
     "write per line); a batch is written when full, when its oldest line "
     "is 100 ms old, or when the responder is idle"},
    {"server", "trusted_networks", T_STR, O(trusted_networks),
     "127.0.0.0/8 ::1/128", 0, 0,
     "networks (CIDR, space-separated) that may read /health/detailed "
     "and /metrics without a token"},
    {"server", "metrics_dir", T_STR, O(metrics_dir), "/run/synthia", 0, 0,
     "directory of the metric segments of processes outside the pool "
     "(worker.seg, cli.seg), which /metrics adds up; empty: none"},
    {"server", "runtime_dir", T_STR, O(runtime_dir), "/run/synthia", 0, 0,
     "directory of the files the responders of this host share (product "
     "vectors, mapped read-only by each); empty or not writable: each "
     "responder loads its own copy"},

    {"database", "url", T_STR, O(db_url), "", 0, 0,
     "libpq connection URI, e.g. postgresql://synthia@/synthia?host="
     "/run/postgresql (required)"},
    {"database", "read_url", T_STR, O(db_read_url), "", 0, 0,
     "optional read replica for read-only routes"},
    {"database", "password_file", T_STR, O(db_password_file), "", 0, 0,
     "file holding the database password (never put it in the URL)"},
    {"database", "connect_timeout", T_DURATION, O(db_connect_timeout_ms),
     "2s", 1000, 60000, "PostgreSQL connect timeout"},
    {"database", "statement_timeout", T_DURATION,
     O(db_statement_timeout_ms), "10s", 0, DAY,
     "PostgreSQL statement_timeout (0: none)"},
    {"database", "prepared", T_BOOL, O(db_prepared), "on", 0, 0,
     "prepare statements on connect; off behind PgBouncer in transaction "
     "mode"},

    {"redis", "url", T_STR, O(redis_url), "redis://127.0.0.1:6379/0", 0, 0,
     "redis://host:port/db or unix:///path/redis.sock?db=N (put the "
     "password in redis.password_file, not in the URL)"},
    {"redis", "required", T_BOOL, O(redis_required), "false", 0, 0,
     "when true, /health/ready fails while Redis is down"},
    {"redis", "password_file", T_STR, O(redis_password_file), "", 0, 0,
     "file holding the Redis AUTH password"},
    {"redis", "timeout", T_DURATION, O(redis_timeout_ms), "500ms", 10,
     60000, "Redis connect and command timeout"},
    {"redis", "retry", T_DURATION, O(redis_retry_ms), "1s", 0, 60000,
     "after a Redis failure, wait this long before reconnecting"},

    {"auth", "jwt_secret_file", T_STR, O(jwt_secret_file), "", 0, 0,
     "file holding the HS256 secret, at least 32 bytes (required)"},
    {"auth", "issuer", T_STR, O(issuer), "synthia", 0, 0,
     "iss claim of issued tokens, checked on every token"},
    {"auth", "access_ttl", T_DURATION, O(access_ttl_ms), "15m", 10000, DAY,
     "lifetime of access tokens"},
    {"auth", "refresh_ttl", T_DURATION, O(refresh_ttl_ms), "30d", 60000,
     365 * DAY, "lifetime of refresh tokens"},
    {"auth", "refresh_reuse_grace", T_DURATION, O(refresh_reuse_grace_ms),
     "10s", 0, 300000,
     "a refresh token reused within this time returns the same successor"},
    {"auth", "cookie_secure", T_BOOL, O(cookie_secure), "true", 0, 0,
     "mark auth cookies Secure (false only for plain-HTTP development)"},
    {"auth", "jwt_algorithm", T_STR, O(jwt_algorithm), "HS256", 0, 0,
     "signing algorithm of access tokens: HS256, RS256 or ES256"},
    {"auth", "jwt_private_key_file", T_STR, O(jwt_private_key_file), "", 0,
     0, "PEM private key for RS256 (RSA >= 2048 bits) or ES256 (P-256)"},
    {"auth", "jwt_kid", T_STR, O(jwt_kid), "", 0, 0,
     "kid of the signing key (empty: derived from the key)"},
    {"auth", "jwt_verify_keys", T_STR, O(jwt_verify_keys), "", 0, 0,
     "older keys still accepted, as kid=path pairs (HS256 secret files or "
     "PEM public keys), so signing keys rotate without logouts"},
    {"auth", "jwt_leeway", T_DURATION, O(jwt_leeway_ms), "30s", 0, 300000,
     "clock skew tolerated on exp, nbf and iat"},
    {"auth", "argon2_memory", T_SIZE, O(argon2_memory), "19M", 1LL << 20,
     1LL << 32, "argon2id memory cost (OWASP minimum: 19M with 2 passes)"},
    {"auth", "argon2_iterations", T_INT, O(argon2_iterations), "2", 1, 20,
     "argon2id passes"},
    {"auth", "argon2_parallelism", T_INT, O(argon2_parallelism), "1", 1, 16,
     "argon2id lanes"},
    {"auth", "password_min_length", T_INT, O(password_min_length), "8", 6,
     64, "shortest accepted password, in characters"},
    {"auth", "password_max_length", T_INT, O(password_max_length), "128",
     16, 1024, "longest accepted password, in characters"},
    {"auth", "login_pair_limit", T_INT, O(login_pair_limit), "5", 1, 1000,
     "failed logins for one account from one address before 429 with a "
     "delay that doubles per further failure"},
    {"auth", "login_account_limit", T_INT, O(login_account_limit), "100", 1,
     100000, "failed logins for one account from all addresses"},
    {"auth", "login_address_limit", T_INT, O(login_address_limit), "50", 1,
     100000, "failed logins from one address for all accounts"},
    {"auth", "login_window", T_DURATION, O(login_window_ms), "15m", 1000,
     DAY, "window of the failed-login counters"},
    {"auth", "login_max_delay", T_DURATION, O(login_max_delay_ms), "15m",
     1000, DAY, "cap of the doubling login delay"},
    {"auth", "api_key_cache_ttl", T_DURATION, O(api_key_cache_ttl_ms), "60s",
     0, 3600000, "how long a key lookup is cached in Redis (revocation "
     "clears it at once)"},

    {"cors", "origins", T_STR, O(cors_origins), "", 0, 0,
     "space-separated origins allowed for token and cookie clients"},
    {"cors", "max_age", T_DURATION, O(cors_max_age_ms), "10m", 0, DAY,
     "how long browsers may cache a preflight answer"},

    {"imports", "max_bytes", T_SIZE, O(imp_max_bytes), "10M", 1024,
     1LL << 30, "largest CSV file POST /api/v1/imports accepts (the web "
     "server's own body limit must allow it too)"},
    {"imports", "max_rows", T_INT, O(imp_max_rows), "100000", 1, 10000000,
     "data rows of an import (the header line not counted)"},
    {"imports", "max_columns", T_INT, O(imp_max_columns), "200", 1, 10000,
     "columns of an import"},
    {"imports", "max_cells", T_INT, O(imp_max_cells), "2000000", 1,
     100000000, "rows x columns of an import"},
    {"imports", "max_cell", T_SIZE, O(imp_max_cell), "32k", 16, 1LL << 20,
     "bytes of one cell of an import"},
    {"imports", "ttl", T_DURATION, O(imp_ttl_ms), "60m", 1000, 7 * DAY,
     "an import session is deleted this long after its last use"},
    {"imports", "lock_ttl", T_DURATION, O(imp_lock_ttl_ms), "30s", 100, DAY,
     "a writer's lock on a session expires after this (a writer that dies "
     "never blocks others for longer)"},
    {"imports", "lock_wait", T_DURATION, O(imp_lock_wait_ms), "2s", 0, 60000,
     "how long a writer waits for a session's lock before 409 locked"},
    {"search", "statement_timeout", T_DURATION,
     O(search_statement_timeout_ms), "500ms", 1, 60000,
     "PostgreSQL statement_timeout of a search's ranking statements (SET "
     "LOCAL in the search's transaction, so it also holds behind "
     "PgBouncer); a search that runs out of it answers 503 timeout"},
    {"search", "max_concurrent", T_INT, O(search_max_concurrent), "2", 0,
     10000, "uncached searches of one tenant running at once, counted in "
     "Redis across every responder and host (0: no limit); one more "
     "answers 429 with Retry-After"},
    {"search", "max_terms", T_INT, O(search_max_terms), "10", 1, 64,
     "words of a query after normalising (each part of a hyphenated word "
     "counts); more answer 422 query_too_complex"},
    {"search", "max_short_terms", T_INT, O(search_max_short_terms), "2", 0,
     64, "one-character words of a query kept; the others are dropped"},
    {"search", "max_word_length", T_INT, O(search_max_word_length), "32", 3,
     200, "characters of a query's longest word; a longer word answers "
     "422 query_too_complex"},

    {"events", "retention", T_DURATION, O(events_retention_ms), "90d",
     DAY, 3650 * DAY, "analytics events and their hourly counts are "
     "kept this long: `synthia events prune` (run it daily) drops each "
     "month's partition once all of it is older, so raw events stay up "
     "to a month longer"},

    {"jobs", "max_attempts", T_INT, O(jobs_max_attempts), "5", 1, 100,
     "attempts of a try-on job (a failure or a stalled worker counts as "
     "one) before it is dead-lettered with status error"},
    {"jobs", "result_retention", T_DURATION, O(jobs_result_retention_ms),
     "7d", 60 * 1000LL, 3650 * DAY, "a finished try-on job's image is kept "
     "this long in PostgreSQL (with the job), then GET "
     "/jobs/{id}/result answers 404"},
    {"jobs", "concurrency", T_INT, O(jobs_concurrency), "8", 1, 256,
     "try-on jobs one `synthia worker` process runs at a time"},
    {"jobs", "tenant_concurrency", T_INT, O(jobs_tenant_concurrency), "4",
     1, 256, "running jobs of one tenant over all workers: a tenant's "
     "flood leaves room for the others"},
    {"jobs", "lease", T_DURATION, O(jobs_lease_ms), "30s", 1000,
     3600 * 1000LL, "a running job's lease, renewed by its worker every "
     "third of it; a lapsed lease is a stalled attempt (its worker died): "
     "a failed attempt, retried after the back-off"},
    {"jobs", "backoff_base", T_DURATION, O(jobs_backoff_base_ms), "2s", 10,
     3600 * 1000LL, "back-off after a job's first failed attempt, doubled "
     "after each further one, with jitter"},
    {"jobs", "backoff_max", T_DURATION, O(jobs_backoff_max_ms), "10m", 10,
     DAY, "longest back-off between two attempts of a job"},
    {"jobs", "poll_interval", T_DURATION, O(jobs_poll_interval_ms), "1s",
     10, 60 * 1000LL, "how often a worker asks a provider about a job "
     "it submitted"},
    {"jobs", "attempt_timeout", T_DURATION, O(jobs_attempt_timeout_ms),
     "10m", 1000, DAY, "an attempt whose provider has not finished by "
     "then fails (and is retried after the back-off)"},
    {"jobs", "sweep_interval", T_DURATION, O(jobs_sweep_interval_ms), "5s",
     100, 600 * 1000LL, "how often a worker fails stalled jobs, enqueues "
     "those whose back-off is over and those a stream lost (Redis "
     "restarted empty)"},
    {"jobs", "stop_grace", T_DURATION, O(jobs_stop_grace_ms), "25s", 0,
     600 * 1000LL, "on SIGTERM a worker takes no new job and lets the "
     "running ones finish this long; the rest go back to the queue "
     "(their attempt not counted)"},

    {"ratelimit", "on_redis_down", T_RLDOWN, O(on_redis_down), "local", 0, 0,
     "when Redis is unreachable: local (each responder enforces its "
     "share), open (no limit) or closed (refuse)"},
    {"ratelimit", "lease_max", T_INT, O(lease_max), "64", 1, 10000,
     "tokens of a key's (or user's) window a responder takes from Redis "
     "at once and spends without a round trip (fewer near the limit); 1: "
     "one Redis decision per request"},
    {"ratelimit", "lease_ttl", T_DURATION, O(lease_ttl_ms), "200ms", 10,
     60000, "leased tokens not spent within this long are given back; a "
     "request refused meanwhile waits up to this long for them"},

    {"uploads", "max_bytes", T_SIZE, O(upload_max_bytes), "10M", 1024,
     SY_CONFIG_UPLOAD_MAX_BYTES,
     "largest image POST /uploads accepts (the web server's body limit "
     "must be at least this plus 64k)"},
    {"uploads", "max_pixels", T_INT, O(upload_max_pixels), "25000000", 1,
     100000000, "largest image in pixels (width x height), read from the "
     "header before anything is decoded"},
    {"uploads", "max_side", T_INT, O(upload_max_side), "8192", 1, 65535,
     "longest side of an image in pixels"},
    {"uploads", "ttl", T_DURATION, O(upload_ttl_ms), "1h", 60000, DAY,
     "how long an upload is kept (in Redis only, never on disk)"},
    {"uploads", "max_live", T_INT, O(upload_max_live), "500", 1, 1000000,
     "uploads a tenant may have alive at once; one more answers 429 "
     "until the oldest expires"},

    {"log", "level", T_LEVEL, O(log_level), "info", 0, 0,
     "debug, info, warn or error"},

    {"ai", "vision", T_STR, O(ai_lists[SY_AI_VISION]), "", 0, 0,
     "vision providers in the order tried, as kind:model (openai, "
     "gemini), e.g. openai:gpt-4o-mini gemini:gemini-1.5-flash; empty: "
     "none (facial analysis answers 503)"},
    {"ai", "chat", T_STR, O(ai_lists[SY_AI_CHAT]), "", 0, 0,
     "chat providers in the order tried (openai, gemini); empty: none "
     "(the stylist answers 503)"},
    {"ai", "embeddings", T_STR, O(ai_lists[SY_AI_EMBEDDINGS]), "local", 0,
     0, "embedding providers for semantic search in the order tried "
     "(openai, gemini, local); the local embedder is the last resort "
     "whether listed or not.  An external embedder ranks a tenant's "
     "queries once `synthia reembed` has made its vectors for every "
     "active product; run it after changing this list"},
    {"ai", "tryon", T_STR, O(ai_lists[SY_AI_TRYON]), "", 0, 0,
     "try-on providers in the order tried (fal, replicate, local); "
     "local, the built-in compositor (a marked preview, no network), "
     "only last"},
    {"ai", "retries", T_INT, O(ai_retries), "1", 0, 5,
     "further attempts on one provider after a connection error, 429 or "
     "5xx, before the next provider (a timeout moves on at once)"},
    {"ai", "retry_max_wait", T_DURATION, O(ai_retry_max_wait_ms), "5s", 0,
     60000, "longest Retry-After waited for; a longer one moves on to "
     "the next provider at once"},
    {"ai", "max_response", T_SIZE, O(ai_max_response), "16M", 4096,
     1LL << 30, "largest provider answer read (try-on images included)"},
    {"ai", "breaker_window", T_DURATION, O(ai_breaker_window_ms), "60s",
     1000, 3600000, "sliding window of a circuit breaker's failure rate"},
    {"ai", "breaker_min_requests", T_INT, O(ai_breaker_min_requests), "5",
     1, 100000, "calls within the window before the failure rate may "
     "open a circuit"},
    {"ai", "breaker_failure_rate", T_INT, O(ai_breaker_failure_rate), "50",
     1, 100, "percentage of failed calls within the window that opens "
     "the circuit"},
    {"ai", "breaker_cooldown", T_DURATION, O(ai_breaker_cooldown_ms), "30s",
     100, 3600000, "an open circuit refuses calls this long, then lets "
     "one probe through (half-open)"},
    {"ai", "cache_ttl", T_DURATION, O(ai_cache_ttl_ms), "24h", 1000,
     30 * DAY, "how long an analysis result is answered from the AI "
     "result cache (X-Cache: HIT) without calling the analyser or provider"},
    {"ai", "cache_stale_ttl", T_DURATION, O(ai_cache_stale_ttl_ms), "7d", 0,
     90 * DAY, "how long the last good result of an analysis is kept to "
     "answer X-Cache: STALE when every provider fails or has its circuit "
     "open (0: never answer stale)"},
    {"ai", "cache_negative_ttl", T_DURATION, O(ai_cache_negative_ttl_ms),
     "5m", 0, DAY, "how long a provider's refusal of an input (a 4xx "
     "answer such as an unusable image) is answered from the cache "
     "without asking again (0: not cached)"},

#define AI_EP(kind, name, url)                                              \
    {"ai." name, "base_url", T_STR, O(ai_ep[kind].base_url), url, 0, 0,    \
     "endpoint of the " name " API, scheme://host[:port][/path] without "  \
     "a trailing /"},                                                     \
    {"ai." name, "key_file", T_STR, O(ai_ep[kind].key_file), "", 0, 0,     \
     "file holding the " name " API key (empty: no key is sent)"},         \
    {"ai." name, "timeout", T_DURATION, O(ai_ep[kind].timeout_ms), "30s",  \
     100, 600000, "longest " name " call, connecting included"},            \
    {"ai." name, "connect_timeout", T_DURATION,                            \
     O(ai_ep[kind].connect_timeout_ms), "3s", 100, 60000,                 \
     "longest wait for a connection to " name}
#define AI_TRYON(kind, name, person, garment)                               \
    {"ai." name, "person_field", T_STR, O(ai_ep[kind].person_field),       \
     person, 0, 0, "try-on input field of the person image (a data URL)"}, \
    {"ai." name, "garment_field", T_STR, O(ai_ep[kind].garment_field),     \
     garment, 0, 0, "try-on input field of the garment image (an array "   \
     "of data URLs when there are several)"}
    AI_EP(SY_AI_OPENAI, "openai", "https://api.openai.com"),
    AI_EP(SY_AI_GEMINI, "gemini", "https://generativelanguage.googleapis.com"),
    AI_EP(SY_AI_FAL, "fal", "https://queue.fal.run"),
    AI_TRYON(SY_AI_FAL, "fal", "human_image_url", "garment_image_url"),
    AI_EP(SY_AI_REPLICATE, "replicate", "https://api.replicate.com"),
    AI_TRYON(SY_AI_REPLICATE, "replicate", "human_img", "garm_img"),
#undef AI_EP
#undef AI_TRYON
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SY_ECONFIG;
}

static void
env_name(const key_def *k, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "SYNTHIA_%s_%s", k->section,
                                k->key);
    /* [ai.openai] base_url: SYNTHIA_AI_OPENAI_BASE_URL */
    for (size_t i = 0; i < n && i < outlen; i++)
        out[i] = out[i] == '.' ? '_' : (char)toupper((unsigned char)out[i]);
}

static int
parse_octal(sy_str v, int64_t *out)
{
    int64_t r = 0;
    if (v.len == 0 || v.len > 6)
        return SY_EINVAL;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '7')
            return SY_EINVAL;
        r = r * 8 + (v.p[i] - '0');
    }
    *out = r;
    return 0;
}

static int
parse_policy(sy_str v, int *out)
{
    if (sy_str_eqc(v, "local"))
        *out = SY_RL_DOWN_LOCAL;
    else if (sy_str_eqc(v, "open"))
        *out = SY_RL_DOWN_OPEN;
    else if (sy_str_eqc(v, "closed"))
        *out = SY_RL_DOWN_CLOSED;
    else
        return SY_EINVAL;
    return 0;
}

/* Store value v for key k into cfg; where says where it came from. */
static int
set_value(sy_config *cfg, const key_def *k, sy_str v, const char *where,
          char *err, size_t errlen)
{
    char *base = (char *)cfg;
    int64_t n = 0;
    int rc = 0;

    switch (k->type) {
    case T_STR: {
        char **slot = (char **)(base + k->off);
        free(*slot);
        *slot = v.len ? strndup(v.p, v.len) : NULL;
        if (v.len && !*slot)
            abort();
        return 0;
    }
    case T_BOOL:
        rc = sy_parse_bool(v, (bool *)(base + k->off));
        if (rc < 0)
            return fail(err, errlen, "%s: %s.%s must be true or false",
                        where, k->section, k->key);
        return 0;
    case T_LEVEL:
        if (sy_log_parse_level(v, (int *)(base + k->off)) < 0)
            return fail(err, errlen,
                        "%s: %s.%s must be debug, info, warn or error",
                        where, k->section, k->key);
        return 0;
    case T_RLDOWN:
        if (parse_policy(v, (int *)(base + k->off)) < 0)
            return fail(err, errlen,
                        "%s: %s.%s must be local, open or closed", where,
                        k->section, k->key);
        return 0;
    case T_INT:
        rc = sy_parse_i64(v, k->min, k->max, &n);
        break;
    case T_DURATION:
        rc = sy_parse_duration_ms(v, &n);
        break;
    case T_SIZE:
        rc = sy_parse_size(v, &n);
        break;
    case T_OCTAL:
        rc = parse_octal(v, &n);
        break;
    default:
        rc = SY_EINVAL;
    }
    if (rc < 0 || n < k->min || n > k->max)
        return fail(err, errlen,
                    "%s: %s.%s = '%.*s' is not valid (%s)", where,
                    k->section, k->key, (int)(v.len > 64 ? 64 : v.len), v.p,
                    k->help);
    *(int64_t *)(base + k->off) = n;
    return 0;
}

static const key_def *
find_key(sy_str section, sy_str key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (sy_str_eqc(section, keys[i].section) &&
            sy_str_eqc(key, keys[i].key))
            return &keys[i];
    return NULL;
}

static sy_str
trim(sy_str s)
{
    while (s.len && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && isspace((unsigned char)s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Values may be quoted with "..." to keep surrounding spaces or '#'. */
static sy_str
unquote(sy_str v)
{
    if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
        return (sy_str){v.p + 1, v.len - 2};
    return v;
}

/* Strip a comment that starts a token (" #" or " ;") outside quotes. */
static sy_str
strip_comment(sy_str v)
{
    bool quoted = false;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '"')
            quoted = !quoted;
        else if (!quoted && (v.p[i] == '#' || v.p[i] == ';') &&
                 (i == 0 || isspace((unsigned char)v.p[i - 1])))
            return (sy_str){v.p, i};
    }
    return v;
}

static int
parse_line(sy_config *cfg, sy_str line, sy_str *section, const char *path,
           int lineno, char *err, size_t errlen)
{
    char where[300];
    line = trim(line);
    if (line.len == 0 || line.p[0] == '#' || line.p[0] == ';')
        return 0;
    snprintf(where, sizeof(where), "%s:%d", path, lineno);
    if (line.p[0] == '[') {
        if (line.p[line.len - 1] != ']')
            return fail(err, errlen, "%s: section header needs ']'", where);
        *section = trim((sy_str){line.p + 1, line.len - 2});
        return 0;
    }
    const char *eq = memchr(line.p, '=', line.len);
    if (!eq)
        return fail(err, errlen, "%s: expected 'key = value'", where);
    sy_str key = trim((sy_str){line.p, (size_t)(eq - line.p)});
    sy_str val = (sy_str){eq + 1, line.len - (size_t)(eq - line.p) - 1};
    val = unquote(trim(strip_comment(val)));
    const key_def *k = find_key(*section, key);
    if (!k)
        return fail(err, errlen, "%s: unknown key '%.*s.%.*s'", where,
                    (int)section->len, section->p, (int)key.len, key.p);
    return set_value(cfg, k, val, where, err, errlen);
}

static int
parse_file(sy_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(err, errlen, "cannot read config file %s: %s", path,
                    strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    char secbuf[64] = "";
    sy_str section = sy_str_c(secbuf);
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        rc = parse_line(cfg, (sy_str){line, (size_t)n}, &section, path,
                        lineno, err, errlen);
        if (rc == 0 && section.p != secbuf) { /* keep it past the line */
            size_t l = section.len < 63 ? section.len : 63;
            memmove(secbuf, section.p, l);
            secbuf[l] = 0;
            section = (sy_str){secbuf, l};
        }
    }
    free(line);
    fclose(f);
    return rc;
}

static int
apply_env(sy_config *cfg, char *err, size_t errlen)
{
    char name[96];
    for (size_t i = 0; i < NKEYS; i++) {
        env_name(&keys[i], name, sizeof(name));
        const char *v = getenv(name);
        if (v) {
            int rc = set_value(cfg, &keys[i], sy_str_c(v), name, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Read a small secret file; strips one trailing newline. */
static int
read_secret(const char *path, const char *keyname, unsigned char **out,
            size_t *outlen, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "%s: cannot read %s: %s", keyname, path,
                    strerror(errno));
    unsigned char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return fail(err, errlen, "%s: cannot read %s: %s", keyname, path,
                    strerror(errno));
    if ((size_t)n == sizeof(buf))
        return fail(err, errlen, "%s: %s is larger than 8 KiB", keyname,
                    path);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *out = malloc((size_t)n + 1);
    if (!*out)
        abort();
    memcpy(*out, buf, (size_t)n);
    (*out)[n] = 0;
    *outlen = (size_t)n;
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

static int
parse_networks(sy_config *cfg, char *err, size_t errlen)
{
    cfg->ntrusted = 0;
    const char *s = cfg->trusted_networks ? cfg->trusted_networks : "";
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        size_t n = strcspn(s, " \t,");
        if (n == 0)
            break;
        if (cfg->ntrusted == SY_CONFIG_MAX_NETS)
            return fail(err, errlen, "server.trusted_networks: at most %d",
                        SY_CONFIG_MAX_NETS);
        if (sy_cidr_parse(s, n, &cfg->trusted[cfg->ntrusted]) < 0)
            return fail(err, errlen,
                        "server.trusted_networks: '%.*s' is not a network",
                        (int)n, s);
        cfg->ntrusted++;
        s += n;
    }
    return 0;
}

static int
validate_origins(const char *list, char *err, size_t errlen)
{
    const char *s = list ? list : "";
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t n = strcspn(s, " ,");
        if (n == 0)
            break;
        sy_str o = {s, n};
        if ((!sy_str_starts(o, "http://") && !sy_str_starts(o, "https://")) ||
            o.p[n - 1] == '/')
            return fail(err, errlen,
                        "cors.origins: '%.*s' must be scheme://host[:port] "
                        "with no path", (int)n, s);
        s += n;
    }
    return 0;
}

/* server.listen_owner / listen_group: a name or a number -> id, or -1
 * when empty.  Resolved at load, so check-config names an unknown one. */
static int
resolve_listen_ids(sy_config *cfg, char *err, size_t errlen)
{
    int64_t id;
    cfg->listen_uid = cfg->listen_gid = -1;
    if (cfg->listen_owner) {
        const struct passwd *pw = getpwnam(cfg->listen_owner);
        if (pw)
            cfg->listen_uid = pw->pw_uid;
        else if (sy_parse_i64(sy_str_c(cfg->listen_owner), 0, INT32_MAX,
                              &id) == 0)
            cfg->listen_uid = id;
        else
            return fail(err, errlen, "server.listen_owner: no user '%s'",
                        cfg->listen_owner);
    }
    if (cfg->listen_group) {
        const struct group *gr = getgrnam(cfg->listen_group);
        if (gr)
            cfg->listen_gid = gr->gr_gid;
        else if (sy_parse_i64(sy_str_c(cfg->listen_group), 0, INT32_MAX,
                              &id) == 0)
            cfg->listen_gid = id;
        else
            return fail(err, errlen, "server.listen_group: no group '%s'",
                        cfg->listen_group);
    }
    return 0;
}

/* ------------------------------------------------------------ [ai] */

static const char *const ai_kind_names[SY_AI_NKINDS] = {
    "", "openai", "gemini", "fal", "replicate", "local"};
static const char *const ai_cap_names[SY_AI_NCAPS] = {
    "vision", "chat", "embeddings", "tryon"};
/* Capabilities of each kind, one bit per enum sy_ai_cap. */
#define CAP(c) (1u << (c))
static const unsigned ai_kind_caps[SY_AI_NKINDS] = {
    [SY_AI_OPENAI] = CAP(SY_AI_VISION) | CAP(SY_AI_CHAT) |
                     CAP(SY_AI_EMBEDDINGS),
    [SY_AI_GEMINI] = CAP(SY_AI_VISION) | CAP(SY_AI_CHAT) |
                     CAP(SY_AI_EMBEDDINGS),
    [SY_AI_FAL] = CAP(SY_AI_TRYON),
    [SY_AI_REPLICATE] = CAP(SY_AI_TRYON),
    /* the local embedder; the local try-on compositor (compositor.h),
     * which the worker runs itself */
    [SY_AI_LOCAL] = CAP(SY_AI_EMBEDDINGS) | CAP(SY_AI_TRYON),
};

const char *
sy_ai_kind_name(int kind)
{
    return kind > 0 && kind < SY_AI_NKINDS ? ai_kind_names[kind] : "";
}

const char *
sy_ai_cap_name(int cap)
{
    return cap >= 0 && cap < SY_AI_NCAPS ? ai_cap_names[cap] : "";
}

bool
sy_ai_kind_offers(int kind, int cap)
{
    return kind > 0 && kind < SY_AI_NKINDS && cap >= 0 && cap < SY_AI_NCAPS &&
           (ai_kind_caps[kind] & CAP(cap)) != 0;
}

/* Model names as the providers spell them: gpt-4o-mini,
 * models/text-embedding-004, fal-ai/idm-vton, owner/name:version. */
static bool
model_name_ok(sy_str m)
{
    if (m.len == 0 || m.len >= SY_AI_MODEL_MAX)
        return false;
    for (size_t i = 0; i < m.len; i++) {
        unsigned char c = (unsigned char)m.p[i];
        if (!isalnum(c) && !strchr("._:/@+-", c))
            return false;
    }
    return m.p[0] != '/' && m.p[m.len - 1] != '/' &&
           !memmem(m.p, m.len, "..", 2);
}

/* One link "kind:model" (or "local") of [ai] <cap>. */
static int
parse_link(int cap, sy_str tok, sy_ai_link *out, char *err, size_t errlen)
{
    const char *colon = memchr(tok.p, ':', tok.len);
    sy_str kind = {tok.p, colon ? (size_t)(colon - tok.p) : tok.len};
    sy_str model = colon ? (sy_str){colon + 1, tok.len - kind.len - 1}
                         : SY_STR_NULL;
    const char *cn = ai_cap_names[cap];
    memset(out, 0, sizeof(*out));
    for (int k = 1; k < SY_AI_NKINDS; k++)
        if (sy_str_eqc(kind, ai_kind_names[k]))
            out->kind = k;
    if (!out->kind)
        return fail(err, errlen,
                    "ai.%s: unknown provider '%.*s' (openai, gemini, fal, "
                    "replicate or local)", cn, (int)kind.len, kind.p);
    if (!sy_ai_kind_offers(out->kind, cap))
        return fail(err, errlen, "ai.%s: %s does not offer %s", cn,
                    ai_kind_names[out->kind], cn);
    if (out->kind == SY_AI_LOCAL) {
        if (colon)
            return fail(err, errlen, "ai.%s: write the local provider as "
                        "'local', without a model", cn);
        return 0;
    }
    if (!model_name_ok(model))
        return fail(err, errlen,
                    "ai.%s: '%.*s' needs a model, as %s:MODEL (letters, "
                    "digits and ._:/@+-, at most %d bytes)", cn,
                    (int)(tok.len > 64 ? 64 : tok.len), tok.p,
                    ai_kind_names[out->kind], SY_AI_MODEL_MAX - 1);
    memcpy(out->model, model.p, model.len);
    out->model[model.len] = '\0';
    return 0;
}

/* [ai] <cap>: links separated by spaces or commas, each kind at most
 * once, local only last.  Embeddings always end with the local
 * embedder. */
static int
parse_chain(sy_config *cfg, int cap, char *err, size_t errlen)
{
    const char *s = cfg->ai_lists[cap] ? cfg->ai_lists[cap] : "";
    const char *cn = ai_cap_names[cap];
    int *n = &cfg->ai_nchain[cap];
    *n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        size_t len = strcspn(s, " \t,");
        if (len == 0)
            break;
        if (*n == SY_AI_CHAIN_MAX)
            return fail(err, errlen, "ai.%s: at most %d providers", cn,
                        SY_AI_CHAIN_MAX);
        sy_ai_link *l = &cfg->ai_chain[cap][*n];
        int rc = parse_link(cap, (sy_str){s, len}, l, err, errlen);
        if (rc < 0)
            return rc;
        for (int i = 0; i < *n; i++)
            if (cfg->ai_chain[cap][i].kind == l->kind)
                return fail(err, errlen, "ai.%s: %s is listed twice (one "
                            "model per provider and capability)", cn,
                            ai_kind_names[l->kind]);
        if (*n > 0 && cfg->ai_chain[cap][*n - 1].kind == SY_AI_LOCAL)
            return fail(err, errlen, "ai.%s: local must come last", cn);
        (*n)++;
        s += len;
    }
    if (cap == SY_AI_EMBEDDINGS &&
        (*n == 0 || cfg->ai_chain[cap][*n - 1].kind != SY_AI_LOCAL)) {
        if (*n == SY_AI_CHAIN_MAX)
            return fail(err, errlen, "ai.%s: at most %d providers besides "
                        "local", cn, SY_AI_CHAIN_MAX - 1);
        cfg->ai_chain[cap][(*n)++] = (sy_ai_link){.kind = SY_AI_LOCAL};
    }
    return 0;
}

static bool
field_name_ok(const char *f)
{
    size_t n = f ? strlen(f) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)f[i]) && f[i] != '_')
            return false;
    return true;
}

static int
validate_ai(sy_config *cfg, char *err, size_t errlen)
{
    char keyname[64];
    int rc;
    for (int cap = 0; cap < SY_AI_NCAPS; cap++)
        if ((rc = parse_chain(cfg, cap, err, errlen)) < 0)
            return rc;
    for (int k = SY_AI_OPENAI; k < SY_AI_LOCAL; k++) {
        sy_ai_endpoint_conf *ep = &cfg->ai_ep[k];
        sy_str url = sy_str_c(ep->base_url);
        if ((!sy_str_starts(url, "https://") &&
             !sy_str_starts(url, "http://")) ||
            url.p[url.len - 1] == '/' || strpbrk(url.p, " \t?#"))
            return fail(err, errlen, "ai.%s.base_url must be http(s)://"
                        "host[:port][/path] without a trailing /, a query "
                        "or spaces", ai_kind_names[k]);
        if (ep->connect_timeout_ms > ep->timeout_ms)
            return fail(err, errlen, "ai.%s.connect_timeout is longer than "
                        "ai.%s.timeout", ai_kind_names[k],
                        ai_kind_names[k]);
        if ((k == SY_AI_FAL || k == SY_AI_REPLICATE) &&
            (!field_name_ok(ep->person_field) ||
             !field_name_ok(ep->garment_field)))
            return fail(err, errlen, "ai.%s: person_field and garment_field "
                        "must be 1 to 64 letters, digits or _",
                        ai_kind_names[k]);
        if (ep->key_file) {
            size_t n;
            snprintf(keyname, sizeof(keyname), "ai.%s.key_file",
                     ai_kind_names[k]);
            rc = read_secret(ep->key_file, keyname,
                             (unsigned char **)&ep->key, &n, err, errlen);
            if (rc < 0)
                return rc;
            /* it goes into a header line: one line of printable ASCII */
            for (size_t i = 0; i < n; i++)
                if (ep->key[i] < 0x21 || ep->key[i] > 0x7e)
                    return fail(err, errlen, "%s: the key in %s must be "
                                "one line of printable ASCII", keyname,
                                ep->key_file);
            if (n == 0)
                return fail(err, errlen, "%s: %s is empty", keyname,
                            ep->key_file);
        }
    }
    return 0;
}

static int
validate(sy_config *cfg, char *err, size_t errlen)
{
    int rc;
    if (!cfg->db_url)
        return fail(err, errlen, "database.url is required "
                    "(or SYNTHIA_DATABASE_URL)");
    if (!cfg->jwt_secret_file)
        return fail(err, errlen, "auth.jwt_secret_file is required "
                    "(or SYNTHIA_AUTH_JWT_SECRET_FILE)");
    if (!cfg->redis_url)
        return fail(err, errlen, "redis.url is required");
    if (!cfg->issuer)
        return fail(err, errlen, "auth.issuer must not be empty");
    if (cfg->refresh_ttl_ms <= cfg->access_ttl_ms)
        return fail(err, errlen,
                    "auth.refresh_ttl must be longer than auth.access_ttl");
    rc = read_secret(cfg->jwt_secret_file, "auth.jwt_secret_file",
                     &cfg->jwt_secret, &cfg->jwt_secret_len, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->jwt_secret_len < 32)
        return fail(err, errlen,
                    "auth.jwt_secret_file: the secret in %s is %zu bytes; "
                    "at least 32 are required",
                    cfg->jwt_secret_file, cfg->jwt_secret_len);
    if (cfg->db_password_file) {
        size_t n;
        rc = read_secret(cfg->db_password_file, "database.password_file",
                         (unsigned char **)&cfg->db_password, &n, err,
                         errlen);
        if (rc < 0)
            return rc;
    }
    if (cfg->redis_password_file) {
        size_t n;
        rc = read_secret(cfg->redis_password_file, "redis.password_file",
                         (unsigned char **)&cfg->redis_password, &n, err,
                         errlen);
        if (rc < 0)
            return rc;
    }
    if (!sy_str_starts(sy_str_c(cfg->db_url), "postgresql://") &&
        !sy_str_starts(sy_str_c(cfg->db_url), "postgres://"))
        return fail(err, errlen, "database.url must be a postgresql:// URI");
    if (!sy_str_starts(sy_str_c(cfg->redis_url), "redis://") &&
        !sy_str_starts(sy_str_c(cfg->redis_url), "unix://"))
        return fail(err, errlen,
                    "redis.url must start with redis:// or unix://");
    const char *alg = cfg->jwt_algorithm ? cfg->jwt_algorithm : "";
    if (strcmp(alg, "HS256") != 0 && strcmp(alg, "RS256") != 0 &&
        strcmp(alg, "ES256") != 0)
        return fail(err, errlen,
                    "auth.jwt_algorithm must be HS256, RS256 or ES256");
    if (strcmp(alg, "HS256") != 0 && !cfg->jwt_private_key_file)
        return fail(err, errlen, "auth.jwt_private_key_file is required "
                    "with auth.jwt_algorithm = %s", alg);
    if (cfg->password_min_length > cfg->password_max_length)
        return fail(err, errlen, "auth.password_min_length is larger than "
                    "auth.password_max_length");
    rc = parse_networks(cfg, err, errlen);
    if (rc < 0)
        return rc;
    rc = resolve_listen_ids(cfg, err, errlen);
    if (rc < 0)
        return rc;
    rc = validate_ai(cfg, err, errlen);
    if (rc < 0)
        return rc;
    return validate_origins(cfg->cors_origins, err, errlen);
}

int
sy_config_load(sy_config *cfg, const char *path, char *err, size_t errlen)
{
    int rc = 0;
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS && rc == 0; i++)
        rc = set_value(cfg, &keys[i], sy_str_c(keys[i].def), "default",
                       err, errlen);
    if (rc == 0 && path && *path) {
        cfg->path = strdup(path);
        if (!cfg->path)
            abort();
        rc = parse_file(cfg, path, err, errlen);
    }
    if (rc == 0)
        rc = apply_env(cfg, err, errlen);
    if (rc == 0)
        rc = validate(cfg, err, errlen);
    if (rc < 0)
        sy_config_free(cfg);
    return rc;
}

void
sy_config_free(sy_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == T_STR) {
            char **slot = (char **)((char *)cfg + keys[i].off);
            free(*slot);
            *slot = NULL;
        }
    }
    if (cfg->jwt_secret) {
        explicit_bzero(cfg->jwt_secret, cfg->jwt_secret_len);
        free(cfg->jwt_secret);
    }
    if (cfg->db_password) {
        explicit_bzero(cfg->db_password, strlen(cfg->db_password));
        free(cfg->db_password);
    }
    if (cfg->redis_password) {
        explicit_bzero(cfg->redis_password, strlen(cfg->redis_password));
        free(cfg->redis_password);
    }
    for (int k = 0; k < SY_AI_NKINDS; k++) {
        char *key = cfg->ai_ep[k].key;
        if (key) {
            explicit_bzero(key, strlen(key));
            free(key);
        }
    }
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

const char *
sy_config_default_path(void)
{
#ifdef SY_SYSCONFDIR
    return SY_SYSCONFDIR "/synthia.conf";
#else
    return "/etc/synthia/synthia.conf";
#endif
}

int
sy_cidr_parse(const char *s, size_t n, sy_cidr *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return SY_EINVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *slash = strchr(buf, '/');
    int64_t prefix = -1;
    if (slash) {
        *slash = 0;
        if (sy_parse_i64(sy_str_c(slash + 1), 0, 128, &prefix) < 0)
            return SY_EINVAL;
    }
    sy_cidr c = {0};
    if (inet_pton(AF_INET, buf, c.addr) == 1) {
        c.family = AF_INET;
        c.prefix = prefix < 0 ? 32 : (int)prefix;
        if (c.prefix > 32)
            return SY_EINVAL;
    } else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
        c.family = AF_INET6;
        c.prefix = prefix < 0 ? 128 : (int)prefix;
    } else {
        return SY_EINVAL;
    }
    *out = c;
    return 0;
}

static bool
prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool
sy_cidr_contains(const sy_cidr *net, const char *addr, size_t len)
{
    char buf[64];
    unsigned char a[16];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, addr, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, a) == 1) {
        if (net->family == AF_INET)
            return prefix_match(a, net->addr, net->prefix);
        /* an IPv4 peer against an IPv4-mapped IPv6 network */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0xff, 0xff};
        unsigned char m[16];
        memcpy(m, mapped, 12);
        memcpy(m + 12, a, 4);
        return prefix_match(m, net->addr, net->prefix);
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        if (net->family == AF_INET6)
            return prefix_match(a, net->addr, net->prefix);
        /* an IPv4-mapped IPv6 peer (::ffff:a.b.c.d) against IPv4 */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0)
            return prefix_match(a + 12, net->addr, net->prefix);
    }
    return false;
}

bool
sy_config_trusted(const sy_config *cfg, const char *addr, size_t len)
{
    for (int i = 0; i < cfg->ntrusted; i++)
        if (sy_cidr_contains(&cfg->trusted[i], addr, len))
            return true;
    return false;
}

void
sy_config_each_key(sy_config_key_fn fn, void *ud)
{
    char env[96];
    for (size_t i = 0; i < NKEYS; i++) {
        env_name(&keys[i], env, sizeof(env));
        fn(keys[i].section, keys[i].key, env, keys[i].def, keys[i].help, ud);
    }
}
