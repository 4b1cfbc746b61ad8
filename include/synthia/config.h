/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.h - the configuration file, its environment overrides and
 * validation.
 *
 * Format: `key = value` lines under `[section]` headers; `#` and `;` start
 * comments.  Every key can be overridden by SYNTHIA_<SECTION>_<KEY> in the
 * environment.  One table in config.c lists every key with its type,
 * default, range and help text: the loader, `synthia check-config`, and the
 * documentation all read that table.  Unknown keys are errors, so a typo
 * never silently falls back to a default.
 */
#ifndef SYNTHIA_CONFIG_H
#define SYNTHIA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SY_CONFIG_MAX_NETS 32
/* The ceiling of uploads.max_bytes: the uploads route reads no body larger
 * than this plus SY_UPLOADS_FORM_SLACK (uploads.h). */
#define SY_CONFIG_UPLOAD_MAX_BYTES (32LL << 20)

typedef struct sy_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address */
    int prefix;             /* prefix length in bits */
} sy_cidr;

enum sy_redis_down_policy {
    SY_RL_DOWN_LOCAL = 0,
    SY_RL_DOWN_OPEN,
    SY_RL_DOWN_CLOSED,
};

/* AI providers ([ai], [ai.<provider>]).  The kinds are the API shapes
 * Synthia speaks; each has one [ai.<kind>] section (its endpoint).  A
 * capability's chain is an ordered list of kind:model links. */
enum sy_ai_kind {
    SY_AI_NOKIND = 0,
    SY_AI_OPENAI,    /* OpenAI-compatible chat and embeddings */
    SY_AI_GEMINI,    /* Gemini generateContent and embedContent */
    SY_AI_FAL,       /* FAL queue (try-on) */
    SY_AI_REPLICATE, /* Replicate predictions (try-on) */
    SY_AI_LOCAL,     /* built in, no network */
    SY_AI_NKINDS
};

enum sy_ai_cap {
    SY_AI_VISION = 0,
    SY_AI_CHAT,
    SY_AI_EMBEDDINGS,
    SY_AI_TRYON,
    SY_AI_NCAPS
};

#define SY_AI_CHAIN_MAX 4   /* links per capability */
#define SY_AI_MODEL_MAX 128 /* bytes of a model name, with the NUL */

typedef struct sy_ai_link {
    int kind; /* enum sy_ai_kind */
    char model[SY_AI_MODEL_MAX];
} sy_ai_link;

/* One [ai.<kind>] section. */
typedef struct sy_ai_endpoint_conf {
    char *base_url;
    char *key_file;
    char *key; /* read from key_file; NULL without one */
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    char *person_field;  /* try-on kinds: input field of the person */
    char *garment_field; /* ... and of the garment */
} sy_ai_endpoint_conf;

typedef struct sy_config {
    char *path; /* file it was read from */

    /* [server] */
    char *listen;               /* unix:/path | host:port | NULL (inherit) */
    int64_t listen_mode;        /* unix socket mode */
    char *listen_owner;         /* unix socket owner (name, uid) or NULL */
    char *listen_group;         /* unix socket group (name, gid) or NULL */
    int64_t listen_uid;         /* resolved listen_owner, -1: unchanged */
    int64_t listen_gid;         /* resolved listen_group, -1: unchanged */
    int64_t backlog;
    int64_t workers;            /* 0: single responder, no master */
    int64_t responder_connections; /* FastCGI connections per responder */
    int64_t parked_requests;    /* requests one responder holds parked */
    int64_t max_requests;       /* recycle a responder after this many */
    int64_t request_timeout_ms; /* end a request that runs longer */
    int64_t slow_request_ms;    /* log requests slower than this (0: off) */
    int64_t drain_timeout_ms;   /* SIGTERM/SIGHUP: wait this long */
    int64_t max_body;           /* default request body limit */
    int64_t request_memory;     /* per-request arena budget */
    int64_t crash_loop_deaths;  /* this many abnormal deaths ... */
    int64_t crash_loop_window_ms; /* ... within this window: crash loop */
    int64_t min_responders;     /* the guard's floor (0: half the pool) */
    bool access_log;
    int64_t access_log_buffer;  /* bytes of access lines batched */
    char *trusted_networks;
    char *metrics_dir;          /* segments of the worker and the CLI */
    char *runtime_dir;          /* files shared by the host's responders */
    sy_cidr trusted[SY_CONFIG_MAX_NETS];
    int ntrusted;

    /* [database] */
    char *db_url;
    char *db_read_url;
    char *db_password_file;
    char *db_password; /* read from db_password_file */
    int64_t db_connect_timeout_ms;
    int64_t db_statement_timeout_ms;
    bool db_prepared;

    /* [redis] */
    char *redis_url;
    bool redis_required;
    char *redis_password_file;
    char *redis_password;
    int64_t redis_timeout_ms;
    int64_t redis_retry_ms; /* after a failure, wait before reconnecting */

    /* [auth] */
    char *jwt_secret_file;
    unsigned char *jwt_secret;
    size_t jwt_secret_len;
    char *issuer;
    int64_t access_ttl_ms;
    int64_t refresh_ttl_ms;
    int64_t refresh_reuse_grace_ms;
    bool cookie_secure;
    char *jwt_algorithm;        /* HS256 | RS256 | ES256 */
    char *jwt_private_key_file; /* PEM, RS256/ES256 signing key */
    char *jwt_kid;              /* kid of the signing key ("" derived) */
    char *jwt_verify_keys;      /* "kid=path ..." older keys accepted */
    int64_t jwt_leeway_ms;
    int64_t argon2_memory;      /* bytes */
    int64_t argon2_iterations;
    int64_t argon2_parallelism;
    int64_t password_min_length;
    int64_t password_max_length;
    int64_t login_pair_limit;    /* failures per (account, address) */
    int64_t login_account_limit; /* failures per account */
    int64_t login_address_limit; /* failures per address */
    int64_t login_window_ms;
    int64_t login_max_delay_ms;
    int64_t api_key_cache_ttl_ms;

    /* [cors] */
    char *cors_origins;
    int64_t cors_max_age_ms;

    /* [imports] */
    int64_t imp_max_bytes;   /* largest CSV upload */
    int64_t imp_max_rows;
    int64_t imp_max_columns;
    int64_t imp_max_cells;   /* rows x columns */
    int64_t imp_max_cell;    /* bytes of one cell */
    int64_t imp_ttl_ms;      /* a session lives this long after its last use */
    int64_t imp_lock_ttl_ms; /* a writer's lock expires after this */
    int64_t imp_lock_wait_ms; /* a writer waits this long for the lock */
    /* [search] */
    int64_t search_statement_timeout_ms; /* SET LOCAL for the rankings */
    int64_t search_max_concurrent;       /* per tenant, 0: no limit */
    int64_t search_max_terms;            /* words of a query */
    int64_t search_max_short_terms;      /* one-character words kept */
    int64_t search_max_word_length;      /* characters of a word */

    /* [ratelimit] */
    int on_redis_down; /* enum sy_redis_down_policy */
    int64_t lease_max; /* tokens a responder leases at once, at most */
    int64_t lease_ttl_ms; /* leased tokens lapse (given back) after this */

    /* [uploads] */
    int64_t upload_max_bytes;  /* largest image accepted */
    int64_t upload_max_pixels; /* width x height at most */
    int64_t upload_max_side;   /* width and height at most */
    int64_t upload_ttl_ms;     /* how long an upload lives in Redis */
    int64_t upload_max_live;   /* live uploads per tenant */

    /* [log] */
    int log_level;

    /* [events] */
    int64_t events_retention_ms; /* events and their counts kept this long */

    /* [jobs] (try-on jobs and the worker) */
    int64_t jobs_max_attempts;    /* attempts before a job dead-letters */
    int64_t jobs_result_retention_ms; /* a done job's image kept */
    int64_t jobs_concurrency;        /* jobs in flight per worker */
    int64_t jobs_tenant_concurrency; /* running jobs per tenant, in all */
    int64_t jobs_lease_ms;           /* a running job's lease */
    int64_t jobs_backoff_base_ms;    /* first retry's back-off */
    int64_t jobs_backoff_max_ms;     /* longest back-off */
    int64_t jobs_poll_interval_ms;   /* provider status polls */
    int64_t jobs_attempt_timeout_ms; /* one attempt at most */
    int64_t jobs_sweep_interval_ms;  /* stalled, due and lost jobs */
    int64_t jobs_stop_grace_ms;      /* SIGTERM: in-flight jobs finish */

    /* [ai] */
    char *ai_lists[SY_AI_NCAPS]; /* the chains as written */
    sy_ai_link ai_chain[SY_AI_NCAPS][SY_AI_CHAIN_MAX];
    int ai_nchain[SY_AI_NCAPS];
    int64_t ai_retries;           /* extra attempts on one provider */
    int64_t ai_retry_max_wait_ms; /* longest Retry-After waited for */
    int64_t ai_max_response;      /* bytes of one provider answer */
    int64_t ai_breaker_window_ms;
    int64_t ai_breaker_min_requests;
    int64_t ai_breaker_failure_rate; /* percent */
    int64_t ai_breaker_cooldown_ms;
    int64_t ai_cache_ttl_ms;          /* AI result cache: fresh results */
    int64_t ai_cache_stale_ttl_ms;    /* last good results (STALE) */
    int64_t ai_cache_negative_ttl_ms; /* providers' 4xx refusals */
    /* [ai.<kind>], indexed by enum sy_ai_kind (NOKIND and LOCAL unused) */
    sy_ai_endpoint_conf ai_ep[SY_AI_NKINDS];
} sy_config;

/* Process-wide configuration in force (set by the caller after loading).
 * Responders treat it as read-only; SIGHUP replaces it in the master and
 * new responders inherit the new one. */
extern const sy_config *sy_conf;

/* Load defaults, the file (NULL or "" for none), then the environment, then
 * validate and read secret files.  On failure returns SY_ECONFIG with a
 * message naming the key in err. */
int sy_config_load(sy_config *cfg, const char *path, char *err, size_t errlen);
void sy_config_free(sy_config *cfg);

/* Path used when neither --config nor SYNTHIA_CONFIG is given. */
const char *sy_config_default_path(void);

/* Is this numeric address (IPv4 or IPv6 text) inside the trusted networks? */
bool sy_config_trusted(const sy_config *cfg, const char *addr, size_t len);
/* Parse "a.b.c.d/n" or "x::y/n" (a bare address is a host route). */
int sy_cidr_parse(const char *s, size_t n, sy_cidr *out);
bool sy_cidr_contains(const sy_cidr *net, const char *addr, size_t len);

/* Names of a provider kind ("openai", ..., "local"; "" for none) and of
 * a capability ("vision", "chat", "embeddings", "tryon"). */
const char *sy_ai_kind_name(int kind);
const char *sy_ai_cap_name(int cap);
/* Does a provider kind offer the capability? */
bool sy_ai_kind_offers(int kind, int cap);

/* Call fn for each key with its section, name, env name, default and help
 * (used by check-config and documentation tests). */
typedef void (*sy_config_key_fn)(const char *section, const char *key,
                                 const char *env, const char *def,
                                 const char *help, void *ud);
void sy_config_each_key(sy_config_key_fn fn, void *ud);

#endif
