/*
 * request.h - a parsed request, read-only after parsing.
 *
 * The FastCGI layer fills it once from the params (views into libfcgi's
 * environment, valid until the request finishes); the HTTP layer and the
 * handlers only read it.  Header names are looked up in HTTP form
 * ("X-Request-Id") and matched against the CGI form (HTTP_X_REQUEST_ID).
 */
#ifndef SYNTHIA_REQUEST_H
#define SYNTHIA_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/str.h"

#define SY_REQ_MAX_PARAMS 4
#define SY_REQ_MAX_HEADERS 64
#define SY_REQUEST_ID_MAX 64

struct json_object;
struct sy_route;

typedef struct sy_kv {
    sy_str name;
    sy_str value;
} sy_kv;

/* Body reader supplied by the transport: read up to max bytes; returns 0
 * and the body, SY_ETOOBIG past max, SY_EIO on a broken stream. */
typedef int (*sy_body_reader)(void *ctx, sy_arena *a, size_t max,
                              sy_str *out);

/* Who is calling, filled in by authentication (authn.c). */
enum sy_who {
    SY_WHO_NONE = 0, /* anonymous */
    SY_WHO_USER,     /* access token (Bearer or cookie) */
    SY_WHO_KEY,      /* API key */
};

/* Roles are ordered: a higher role may do what a lower one may. */
enum sy_role {
    SY_ROLE_NONE = 0,
    SY_ROLE_SHOPPER = 1,
    SY_ROLE_STAFF = 2,
    SY_ROLE_OWNER = 3,
    SY_ROLE_SYSADMIN = 4,
};

enum sy_key_kind {
    SY_KEY_PUBLISHABLE = 1,
    SY_KEY_SECRET = 2,
};

typedef struct sy_principal {
    int kind;                        /* enum sy_who */
    char tenant_id[SY_UUID_LEN + 1]; /* "" for sysadmins and anonymous */
    char user_id[SY_UUID_LEN + 1];   /* users only */
    int role;                        /* enum sy_role (users) */
    bool via_cookie;                 /* token came from the sy_access cookie */
    char sid[SY_UUID_LEN + 1];       /* session of the access token */
    char jti[SY_UUID_LEN + 1];
    int64_t exp;                     /* access token expiry, epoch seconds */
    char key_id[SY_UUID_LEN + 1];    /* API keys only */
    int key_kind;                    /* enum sy_key_kind */
    uint32_t scopes;                 /* SY_SCOPE_* bits (keys) */
    char plan[33];                   /* tenant's plan (keys) */
    int64_t limits[4];               /* per minute, by enum sy_rate_class */
    const char *origins;             /* tenant's allowed origins, space-
                                        separated (keys; arena memory) */
    const char *key_record;          /* key served from this responder's
                                        memory: the record to confirm
                                        against Redis (NULL otherwise) */
    size_t key_record_len;
    char key_ikey[64];               /* the record's Redis name */
} sy_principal;

typedef struct sy_req {
    sy_arena *arena;
    sy_str method;       /* "GET" */
    sy_str uri;          /* REQUEST_URI as sent */
    sy_str path;         /* uri up to '?', still percent-encoded */
    sy_str query;        /* after '?', raw */
    sy_str content_type;
    int64_t content_length; /* -1: not given */
    sy_str client_addr;  /* REMOTE_ADDR */
    bool https;
    sy_kv headers[SY_REQ_MAX_HEADERS]; /* CGI names: HTTP_X_FOO */
    int nheaders;
    char request_id[SY_REQUEST_ID_MAX + 1];

    /* filled by the router */
    const struct sy_route *route;
    int route_index;    /* index in the route table, -1 when unmatched */
    sy_str params[SY_REQ_MAX_PARAMS]; /* decoded {captures}, in order */
    int nparams;

    /* body, read on demand through the transport */
    sy_body_reader read_body;
    void *read_ctx;
    bool body_read;
    sy_str body;
    struct json_object *json; /* parsed body of JSON routes */

    sy_principal who;

    /* where the time went, for the slow-request log */
    int64_t start_us;
    int64_t db_us;
    int64_t redis_us;
} sy_req;

/* Fill req from a CGI/FastCGI environment (NULL-terminated "K=V" array).
 * Returns 0, or SY_EBADREQ when the method or URI is missing/invalid. */
int sy_req_parse_env(sy_req *req, sy_arena *a, char **envp);

/* Header value by HTTP name, or an empty view (p == NULL) if absent. */
sy_str sy_req_header(const sy_req *req, const char *name);

/* Decoded value of the first query parameter `name`.  Returns 0 and the
 * value, SY_ENOTFOUND if absent, SY_EBADREQ on a bad escape. */
int sy_req_query(const sy_req *req, const char *name, sy_str *out);

/* Value of cookie `name` from the Cookie header, or an empty view. */
sy_str sy_req_cookie(const sy_req *req, const char *name);

/* Choose the request id: the client's X-Request-Id when it is sane
 * ([A-Za-z0-9._-]{1,64}), else a fresh random one. */
void sy_req_assign_id(sy_req *req);

/* Read the body up to max bytes (idempotent). */
int sy_req_body(sy_req *req, size_t max, sy_str *out);

#endif
