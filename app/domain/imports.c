/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.c (domain) - catalog import sessions (imports.h): create from
 * CSV, show, operations, undo, versions, audit, delete and commit.
 *
 * The session's metadata is one JSON document in Redis (imports_db.h):
 *   {id, created_at, created_by, delimiter, bom, next,
 *    versions: [{version, created_at, by, ops, cells}]}
 * next is the number the next version gets: versions only grow, so a
 * version undone is never reused and a base_version from before an undo
 * is refused.  The tables of the versions listed are kept (at most
 * SY_IMPORTS_VERSIONS); intentional-missing marks live in the tables,
 * so they travel with every version and come back with undo.
 */
#include "synthia/imports.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/csv.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/idemclaim.h"
#include "synthia/impcodec.h"
#include "synthia/impops.h"
#include "synthia/imports_db.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/products.h"
#include "synthia/text.h"
#include "synthia/vectors.h"

#define BODY_MAX ((size_t)512 << 20)

/* ------------------------------------------------------------ config */

static int64_t
conf_or(int64_t v, int64_t def)
{
    return v > 0 ? v : def;
}

static int64_t
ttl_ms(void)
{
    return conf_or(sy_conf ? sy_conf->imp_ttl_ms : 0, 60 * 60 * 1000);
}

static sy_imp_limits
op_limits(void)
{
    return (sy_imp_limits){
        .max_cols = (uint32_t)conf_or(sy_conf ? sy_conf->imp_max_columns : 0,
                                      200),
        .max_cell = (size_t)conf_or(sy_conf ? sy_conf->imp_max_cell : 0,
                                    32768),
    };
}

/* ------------------------------------------------------------ refusals */

static int
not_found(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found",
                        "No import session has this id (sessions expire "
                        "after a time without use).");
}

static int
locked(sy_errs *e)
{
    return sy_errs_fail(e, SY_ECONFLICT, "locked",
                        "Another writer is changing this import session; "
                        "try again.");
}

/* A store code into the words of the API. */
static int
store_rc(sy_errs *e, int rc)
{
    if (rc == SY_ENOTFOUND)
        return not_found(e);
    if (rc == SY_ECONFLICT)
        return locked(e);
    if (rc == SY_EINVAL)
        return sy_errs_fail(e, SY_EINTERNAL, "internal_error",
                            "This import session is damaged; delete it and "
                            "upload the file again.");
    return rc;
}

/* ------------------------------------------------------------ JSON */

static const char *
json_text(sy_arena *a, json_object *o, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *c = s ? sy_arena_strndup(a, s, n) : NULL;
    if (len)
        *len = n;
    return c;
}

static json_object *
owned(sy_arena *a, json_object *o)
{
    if (o && sy_arena_defer(a, sy_json_put, o) < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* "name":"<RFC 3339 UTC>", with the microseconds of the API's
 * timestamps (our clock's milliseconds, then 000). */
static void
put_time(sy_buf *b, const char *name, int64_t ms)
{
    char t[40];
    size_t n = sy_rfc3339_ms(t, sizeof(t), ms);
    sy_buf_printf(b, "\"%s\":\"%.*s000Z\"", name, (int)(n ? n - 1 : 0), t);
}

static int64_t
doc_i64(json_object *doc, const char *name)
{
    json_object *v;
    return json_object_object_get_ex(doc, name, &v) ? json_object_get_int64(v)
                                                    : 0;
}

static json_object *
doc_versions(json_object *doc)
{
    json_object *v;
    if (!json_object_object_get_ex(doc, "versions", &v) ||
        !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

/* A version entry: {version, created_at (ms), by, ops, cells}. */
static json_object *
version_entry(int64_t version, const char *user, const char *const *ops,
              int nops, int64_t cells)
{
    json_object *v = json_object_new_object(), *o = json_object_new_array();
    json_object_object_add(v, "version", json_object_new_int64(version));
    json_object_object_add(v, "created_at",
                           json_object_new_int64(sy_wall_ms()));
    json_object_object_add(v, "by", json_object_new_string(user));
    for (int i = 0; i < nops; i++)
        json_object_array_add(o, json_object_new_string(ops[i]));
    json_object_object_add(v, "ops", o);
    json_object_object_add(v, "cells", json_object_new_int64(cells));
    return v;
}

/* An audit entry as text. */
static sy_str
audit_entry(sy_arena *a, const char *user, const char *action,
            int64_t version, const char *const *ops, int nops,
            int64_t cells, const char *extra)
{
    sy_buf b;
    sy_buf_init(&b, a, 64 + 40 * (size_t)nops + (extra ? strlen(extra) : 0) +
                           128);
    sy_buf_putc(&b, '{');
    put_time(&b, "at", sy_wall_ms());
    sy_buf_printf(&b, ",\"by\":\"%s\",\"action\":\"%s\",\"version\":%lld,"
                      "\"ops\":[",
                  user, action, (long long)version);
    for (int i = 0; i < nops; i++)
        sy_buf_printf(&b, "%s\"%s\"", i ? "," : "", ops[i]);
    sy_buf_printf(&b, "],\"cells\":%lld%s%s}", (long long)cells,
                  extra ? "," : "", extra ? extra : "");
    return sy_buf_cstr(&b) ? sy_buf_str(&b) : SY_STR_NULL;
}

/* The session's summary: id, version, rows, columns, times. */
static void
summary(sy_buf *b, const char *id, json_object *doc, int64_t version,
        const sy_table *t)
{
    sy_buf_printf(b, "\"id\":\"%s\",\"version\":%lld,\"rows\":%u,", id,
                  (long long)version, t->rows);
    put_time(b, "created_at", doc_i64(doc, "created_at"));
    sy_buf_putc(b, ',');
    put_time(b, "expires_at", sy_wall_ms() + ttl_ms());
    sy_buf_puts(b, ",\"columns\":[");
    for (uint32_t c = 0; c < t->cols; c++) {
        uint32_t miss, marked;
        sy_table_missing_counts(t, c, &miss, &marked);
        sy_buf_puts(b, c ? ",{\"name\":" : "{\"name\":");
        sy_buf_json_str(b, t->col[c].name.p, t->col[c].name.len);
        sy_buf_printf(b, ",\"type\":\"%s\",\"missing\":%u,"
                         "\"intentionally_missing\":%u,\"field\":",
                      sy_impops_type_name(t->col[c].type), miss + marked,
                      marked);
        if (t->col[c].field.len)
            sy_buf_json_str(b, t->col[c].field.p, t->col[c].field.len);
        else
            sy_buf_puts(b, "null");
        sy_buf_putc(b, '}');
    }
    sy_buf_puts(b, "]");
}

static int
summary_json(sy_arena *a, const char *id, json_object *doc, int64_t version,
             const sy_table *t, sy_str *out)
{
    sy_buf b;
    sy_buf_init(&b, a, BODY_MAX);
    sy_buf_putc(&b, '{');
    summary(&b, id, doc, version, t);
    sy_buf_putc(&b, '}');
    if (!sy_buf_cstr(&b))
        return SY_ENOMEM;
    *out = sy_buf_str(&b);
    return 0;
}

/* ------------------------------------------------------------ loading */

typedef struct session {
    json_object *doc;
    int64_t version;
    sy_table t;
} session;

static int
load(sy_arena *a, const char *tenant, const char *id, sy_errs *e,
     session *s)
{
    sy_imp_loaded l;
    int rc = sy_imports_db_load(a, tenant, id, ttl_ms(), &l);
    if (rc < 0)
        return store_rc(e, rc);
    if (sy_json_parse(a, l.doc, NULL, &s->doc) < 0 || !doc_versions(s->doc))
        return store_rc(e, SY_EINVAL);
    s->version = l.version;
    rc = sy_impcodec_decode(a, l.snap, &s->t);
    return rc < 0 ? store_rc(e, rc) : 0;
}

/* Take the lock (token) and read the session under it. */
static int
lock_and_load(sy_arena *a, const char *tenant, const char *id, sy_errs *e,
              char *token, session *s)
{
    int64_t waited;
    int64_t lttl = conf_or(sy_conf ? sy_conf->imp_lock_ttl_ms : 0, 30000);
    int64_t wait = sy_conf ? sy_conf->imp_lock_wait_ms : 2000;
    int rc = sy_imports_db_lock(a, tenant, id, lttl, wait, token, &waited);
    if (rc < 0)
        return store_rc(e, rc);
    rc = load(a, tenant, id, e, s);
    if (rc < 0)
        sy_imports_db_unlock(a, tenant, id, token);
    return rc;
}

/* ------------------------------------------------------------ create */

static int
csv_refused(sy_arena *a, sy_errs *e, const sy_csv_error *ce)
{
    char msg[320];
    if (ce->row < 0)
        snprintf(msg, sizeof(msg), "header (line %lld): %s",
                 (long long)ce->line, ce->message);
    else if (ce->column < 0)
        snprintf(msg, sizeof(msg), "row %lld (line %lld): %s",
                 (long long)ce->row, (long long)ce->line, ce->message);
    else
        snprintf(msg, sizeof(msg), "row %lld (line %lld), field %lld: %s",
                 (long long)ce->row, (long long)ce->line,
                 (long long)ce->column + 1, ce->message);
    char *m = sy_arena_strndup(a, msg, strlen(msg));
    return sy_errs_field(e, "csv", m ? m : ce->message);
}

int
sy_imports_create(sy_arena *a, const char *tenant, const char *user,
                  sy_str csv, sy_errs *e, sy_str *json)
{
    const sy_config *c = sy_conf;
    if (c && (int64_t)csv.len > c->imp_max_bytes)
        return SY_ETOOBIG;
    sy_csv_opts o = {
        .delimiter = 0,
        .max_rows = (uint32_t)conf_or(c ? c->imp_max_rows : 0, 100000),
        .max_cols = (uint32_t)conf_or(c ? c->imp_max_columns : 0, 200),
        .max_cells = (uint32_t)conf_or(c ? c->imp_max_cells : 0, 2000000),
        .max_cell = (size_t)conf_or(c ? c->imp_max_cell : 0, 32768),
    };
    sy_table t;
    sy_csv_info info;
    sy_csv_error ce;
    int rc = sy_csv_parse(a, csv, &o, &t, &info, &ce);
    if (rc == SY_EVALIDATION)
        return csv_refused(a, e, &ce);
    if (rc < 0)
        return rc;
    sy_impops_type_all(&t);
    sy_str snap;
    if ((rc = sy_impcodec_encode(a, &t, &snap)) < 0)
        return rc;
    char id[SY_UUID_LEN + 1];
    sy_uuid_v4(id);
    json_object *doc = owned(a, json_object_new_object());
    if (!doc)
        return SY_ENOMEM;
    char delim[2] = {info.delimiter, '\0'};
    static const char *const upload[] = {"upload"};
    json_object *vs = json_object_new_array();
    json_object_array_add(vs, version_entry(1, user, upload, 1,
                                            (int64_t)t.rows * t.cols));
    json_object_object_add(doc, "id", json_object_new_string(id));
    json_object_object_add(doc, "created_at",
                           json_object_new_int64(sy_wall_ms()));
    json_object_object_add(doc, "created_by", json_object_new_string(user));
    json_object_object_add(doc, "delimiter", json_object_new_string(delim));
    json_object_object_add(doc, "bom", json_object_new_boolean(info.bom));
    json_object_object_add(doc, "next", json_object_new_int64(2));
    json_object_object_add(doc, "versions", vs);
    size_t dlen;
    const char *dtext = json_text(a, doc, &dlen);
    sy_str audit = audit_entry(a, user, "create", 1, upload, 1,
                               (int64_t)t.rows * t.cols, NULL);
    if (!dtext || !audit.p)
        return SY_ENOMEM;
    sy_imp_save sv = {.token = NULL, .version = 1, .snap = snap,
                      .doc = {dtext, dlen}, .audit = audit,
                      .audit_max = SY_IMPORTS_AUDIT_MAX, .ttl_ms = ttl_ms()};
    if ((rc = sy_imports_db_save(a, tenant, id, &sv)) < 0)
        return store_rc(e, rc);
    return summary_json(a, id, doc, 1, &t, json);
}

/* ------------------------------------------------------------ show */

int
sy_imports_show(sy_arena *a, const char *tenant, const char *id,
                int64_t offset, int64_t limit, sy_errs *e, sy_str *json)
{
    session s;
    int rc = load(a, tenant, id, e, &s);
    if (rc < 0)
        return rc;
    const sy_table *t = &s.t;
    uint32_t from = offset < t->rows ? (uint32_t)offset : t->rows;
    uint32_t to = limit < t->rows - from ? from + (uint32_t)limit : t->rows;
    sy_buf b;
    sy_buf_init(&b, a, BODY_MAX);
    sy_buf_putc(&b, '{');
    summary(&b, id, s.doc, s.version, t);
    sy_buf_printf(&b, ",\"offset\":%u,\"limit\":%lld,\"items\":[", from,
                  (long long)limit);
    for (uint32_t r = from; r < to; r++) {
        sy_buf_puts(&b, r > from ? ",[" : "[");
        for (uint32_t c = 0; c < t->cols; c++) {
            const sy_str *v = sy_table_at(t, r, c);
            if (c)
                sy_buf_putc(&b, ',');
            if (v->p)
                sy_buf_json_str(&b, v->p, v->len);
            else
                sy_buf_puts(&b, "null");
        }
        sy_buf_putc(&b, ']');
    }
    sy_buf_puts(&b, "],\"marks\":[");
    bool first = true;
    for (uint32_t r = from; r < to; r++)
        for (uint32_t c = 0; c < t->cols; c++)
            if (sy_table_marked(t, r, c)) {
                sy_buf_printf(&b, "%s[%u,%u]", first ? "" : ",", r, c);
                first = false;
            }
    sy_buf_puts(&b, "]}");
    if (!sy_buf_cstr(&b))
        return SY_ENOMEM;
    *json = sy_buf_str(&b);
    return 0;
}

/* ------------------------------------------------------------ writes */

/* Store t as a new version of s (or, t NULL, the version `to` that is
 * already kept), the doc updated, an audit entry appended, under the
 * lock token. */
typedef struct change {
    const sy_table *t;       /* new table, or NULL (undo) */
    int64_t to;              /* undo: the version to go back to */
    const char *const *ops;  /* names, for the audit log */
    int nops;
    int64_t cells;
    const char *action;
} change;

static int
save_change(sy_arena *a, const char *tenant, const char *id,
            const char *user, const char *token, session *s,
            const change *ch, sy_errs *e, int64_t *version)
{
    json_object *vs = doc_versions(s->doc);
    int64_t drop[SY_IMPORTS_VERSIONS + 2];
    int ndrop = 0;
    int64_t v;
    sy_str snap = SY_STR_NULL;
    int rc;
    if (ch->t) {
        v = doc_i64(s->doc, "next");
        if (v <= s->version)
            v = s->version + 1;
        if ((rc = sy_impcodec_encode(a, ch->t, &snap)) < 0)
            return rc;
        json_object_array_add(vs, version_entry(v, user, ch->ops, ch->nops,
                                                ch->cells));
        json_object_object_add(s->doc, "next", json_object_new_int64(v + 1));
        while (json_object_array_length(vs) > SY_IMPORTS_VERSIONS) {
            drop[ndrop++] = doc_i64(json_object_array_get_idx(vs, 0),
                                    "version");
            json_object_array_del_idx(vs, 0, 1);
        }
    } else {
        v = ch->to;
        drop[ndrop++] = s->version;
        json_object_array_del_idx(vs, json_object_array_length(vs) - 1, 1);
    }
    size_t dlen;
    const char *dtext = json_text(a, s->doc, &dlen);
    sy_str audit = audit_entry(a, user, ch->action, v, ch->ops, ch->nops,
                               ch->cells, NULL);
    if (!dtext || !audit.p)
        return SY_ENOMEM;
    sy_imp_save sv = {.token = token, .version = v, .snap = snap,
                      .drop = drop, .ndrop = ndrop, .doc = {dtext, dlen},
                      .audit = audit, .audit_max = SY_IMPORTS_AUDIT_MAX,
                      .ttl_ms = ttl_ms()};
    if ((rc = sy_imports_db_save(a, tenant, id, &sv)) < 0)
        return store_rc(e, rc);
    *version = v;
    return 0;
}

int
sy_imports_apply(sy_arena *a, const char *tenant, const char *id,
                 const char *user, json_object *body, sy_errs *e,
                 sy_str *json)
{
    json_object *ops = NULL;
    int64_t base = 0;
    if (!sy_text_uuid(id))
        return not_found(e); /* before the body: no such session */
    int brc = sy_json_int(e, body, "base_version", false, 1, INT64_MAX,
                          &base);
    bool has_base = brc == 0;
    if (!json_object_object_get_ex(body, "ops", &ops) ||
        !json_object_is_type(ops, json_type_array))
        return sy_errs_field(e, "ops", "must be an array of operations");
    if (brc == SY_EVALIDATION)
        return brc;
    char token[SY_IMPORTS_TOKEN_LEN + 1];
    session s;
    int rc = lock_and_load(a, tenant, id, e, token, &s);
    if (rc < 0)
        return rc;
    int64_t v = s.version;
    if (has_base && base != s.version) {
        char *msg = sy_arena_alloc(a, 160);
        if (msg)
            snprintf(msg, 160,
                     "The session is at version %lld, not %lld: reload it "
                     "and apply the operations again.",
                     (long long)s.version, (long long)base);
        rc = sy_errs_fail(e, SY_ECONFLICT, "version_conflict",
                          msg ? msg : "The session has a newer version.");
    }
    sy_imp_limits lim = op_limits();
    sy_imp_applied ap;
    if (rc == 0)
        rc = sy_impops_apply(a, &s.t, ops, &lim, e, &ap);
    if (rc == 0) {
        change ch = {.t = &s.t, .ops = ap.names, .nops = ap.nops,
                     .cells = ap.cells, .action = "ops"};
        rc = save_change(a, tenant, id, user, token, &s, &ch, e, &v);
    }
    sy_imports_db_unlock(a, tenant, id, token);
    return rc < 0 ? rc : summary_json(a, id, s.doc, v, &s.t, json);
}

int
sy_imports_undo(sy_arena *a, const char *tenant, const char *id,
                const char *user, sy_errs *e, sy_str *json)
{
    char token[SY_IMPORTS_TOKEN_LEN + 1];
    session s;
    int rc = lock_and_load(a, tenant, id, e, token, &s);
    if (rc < 0)
        return rc;
    json_object *vs = doc_versions(s.doc);
    size_t n = json_object_array_length(vs);
    int64_t v = 0;
    if (n < 2)
        rc = sy_errs_fail(e, SY_ECONFLICT, "no_previous_version",
                          "There is no earlier version to go back to "
                          "(at most 5 are kept).");
    if (rc == 0) {
        static const char *const undo[] = {"undo"};
        change ch = {.t = NULL,
                     .to = doc_i64(json_object_array_get_idx(vs, n - 2),
                                   "version"),
                     .ops = undo, .nops = 1, .cells = 0, .action = "undo"};
        rc = save_change(a, tenant, id, user, token, &s, &ch, e, &v);
    }
    /* the version gone back to, read before another writer may move on */
    session now = {.doc = NULL};
    if (rc == 0)
        rc = load(a, tenant, id, e, &now);
    sy_imports_db_unlock(a, tenant, id, token);
    if (rc < 0)
        return rc;
    return summary_json(a, id, now.doc, now.version, &now.t, json);
}

int
sy_imports_versions(sy_arena *a, const char *tenant, const char *id,
                    sy_errs *e, sy_str *json)
{
    session s;
    int rc = load(a, tenant, id, e, &s);
    if (rc < 0)
        return rc;
    json_object *vs = doc_versions(s.doc);
    sy_buf b;
    sy_buf_init(&b, a, BODY_MAX);
    sy_buf_printf(&b, "{\"current\":%lld,\"items\":[", (long long)s.version);
    for (size_t i = 0; i < json_object_array_length(vs); i++) {
        json_object *v = json_object_array_get_idx(vs, i), *ops = NULL,
                    *by = NULL;
        json_object_object_get_ex(v, "ops", &ops);
        json_object_object_get_ex(v, "by", &by);
        sy_buf_printf(&b, "%s{\"version\":%lld,", i ? "," : "",
                      (long long)doc_i64(v, "version"));
        put_time(&b, "created_at", doc_i64(v, "created_at"));
        sy_buf_puts(&b, ",\"by\":");
        const char *who = by ? json_object_get_string(by) : "";
        sy_buf_json_str(&b, who, strlen(who));
        const char *o = ops ? json_text(a, ops, NULL) : "[]";
        sy_buf_printf(&b, ",\"ops\":%s,\"cells\":%lld}", o ? o : "[]",
                      (long long)doc_i64(v, "cells"));
    }
    sy_buf_puts(&b, "]}");
    if (!sy_buf_cstr(&b))
        return SY_ENOMEM;
    *json = sy_buf_str(&b);
    return 0;
}

int
sy_imports_audit(sy_arena *a, const char *tenant, const char *id,
                 sy_errs *e, sy_str *json)
{
    sy_str *items;
    int n;
    int rc = sy_imports_db_audit(a, tenant, id, ttl_ms(), &items, &n);
    if (rc < 0)
        return store_rc(e, rc);
    sy_buf b;
    sy_buf_init(&b, a, BODY_MAX);
    sy_buf_puts(&b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            sy_buf_putc(&b, ',');
        sy_buf_add_str(&b, items[i]);
    }
    sy_buf_puts(&b, "]}");
    if (!sy_buf_cstr(&b))
        return SY_ENOMEM;
    *json = sy_buf_str(&b);
    return 0;
}

int
sy_imports_remove(sy_arena *a, const char *tenant, const char *id,
                  sy_errs *e)
{
    char token[SY_IMPORTS_TOKEN_LEN + 1];
    int64_t waited;
    int64_t lttl = conf_or(sy_conf ? sy_conf->imp_lock_ttl_ms : 0, 30000);
    int64_t wait = sy_conf ? sy_conf->imp_lock_wait_ms : 2000;
    int rc = sy_imports_db_lock(a, tenant, id, lttl, wait, token, &waited);
    if (rc < 0)
        return store_rc(e, rc);
    rc = sy_imports_db_delete(a, tenant, id, token);
    if (rc < 0)
        sy_imports_db_unlock(a, tenant, id, token);
    return rc < 0 ? store_rc(e, rc) : 0;
}

/* ------------------------------------------------------------ commit */

/* What a commit makes of one row. */
typedef struct crow {
    uint32_t row;
    const char *sku;
    json_object *body;   /* the product body, for sy_products_read */
    json_object *errors; /* [{field, message}] or NULL */
    sy_product_fields f;
    bool exists;
} crow;

static void
row_error(sy_arena *a, crow *r, const char *field, const char *message)
{
    if (!r->errors && !(r->errors = owned(a, json_object_new_array())))
        return; /* out of memory: the arena's budget fails the request */
    json_object *o = json_object_new_object();
    json_object_object_add(o, "field", json_object_new_string(field));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_array_add(r->errors, o);
}

static void
row_error_col(sy_arena *a, crow *r, const char *field, sy_str col,
              const char *what)
{
    size_t n = col.len + strlen(what) + 32;
    char *m = sy_arena_alloc(a, n);
    if (m)
        snprintf(m, n, "column \"%.*s\": %s", (int)col.len, col.p, what);
    row_error(a, r, field, m ? m : what);
}

static json_object *
jstr(sy_str v)
{
    return json_object_new_string_len(v.p, (int)v.len);
}

/* The product body of row r from the mapped columns of t. */
static void
row_body(sy_arena *a, const sy_table *t, uint32_t r, crow *out)
{
    json_object *b = json_object_new_object(), *attrs = NULL;
    char price_cur[4] = "";
    *out = (crow){.row = r, .body = b};
    for (uint32_t c = 0; c < t->cols; c++) {
        sy_str f = t->col[c].field, name = t->col[c].name;
        const sy_str *v = sy_table_at(t, r, c);
        if (!f.len || !v->p)
            continue;
        int64_t n;
        if (sy_str_eqc(f, "price")) {
            char cur[4];
            if (sy_impops_money(*v, &n, cur) < 0 || n < 0) {
                row_error_col(a, out, "price_cents", name,
                              "must be an amount like 12.50, 12,50 or EUR "
                              "12.50");
                continue;
            }
            json_object_object_add(b, "price_cents",
                                   json_object_new_int64(n));
            memcpy(price_cur, cur, 4);
        } else if (sy_str_eqc(f, "price_cents") || sy_str_eqc(f, "stock")) {
            const char *key = f.p[0] == 'p' ? "price_cents" : "stock";
            if (sy_impops_integer(*v, &n) < 0) {
                row_error_col(a, out, key, name, "must be a whole number");
                continue;
            }
            json_object_object_add(b, key, json_object_new_int64(n));
        } else if (sy_str_eqc(f, "colors")) {
            char col[SY_IMPOPS_MAX_COLOURS][8];
            int k;
            if (sy_impops_colours(*v, col, &k) < 0) {
                row_error_col(a, out, "colors", name,
                              "must be colours like #aabbcc or #abc, "
                              "separated by commas or spaces");
                continue;
            }
            json_object *arr = json_object_new_array();
            for (int i = 0; i < k; i++)
                json_object_array_add(arr, json_object_new_string(col[i]));
            json_object_object_add(b, "colors", arr);
        } else if (sy_str_starts(f, "attributes.")) {
            if (!attrs) {
                attrs = json_object_new_object();
                json_object_object_add(b, "attributes", attrs);
            }
            char key[SY_IMPOPS_ATTR_KEY_MAX + 1];
            snprintf(key, sizeof(key), "%.*s", (int)(f.len - 11), f.p + 11);
            json_object_object_add(attrs, key, jstr(*v));
        } else {
            char key[32];
            snprintf(key, sizeof(key), "%.*s", (int)f.len, f.p);
            json_object_object_add(b, key, jstr(*v));
        }
    }
    json_object *cur;
    if (price_cur[0]) {
        if (!json_object_object_get_ex(b, "currency", &cur))
            json_object_object_add(b, "currency",
                                   json_object_new_string(price_cur));
        else if (strcmp(json_object_get_string(cur), price_cur) != 0)
            row_error(a, out, "currency",
                      "the currency column and the price's currency "
                      "differ");
    }
    json_object *sku;
    if (json_object_object_get_ex(b, "sku", &sku))
        out->sku = json_object_get_string(sku);
}

/* Add a product's field errors (sy_errs) to the row's. */
static void
take_errors(sy_arena *a, crow *r, const sy_errs *e)
{
    size_t n = e->fields ? json_object_array_length(e->fields) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(e->fields, i), *fd, *m;
        json_object_object_get_ex(f, "field", &fd);
        json_object_object_get_ex(f, "message", &m);
        row_error(a, r, json_object_get_string(fd), json_object_get_string(m));
    }
}

/* Embeddings of the active products updated (inserts write their own). */
static int
embed_written(sy_arena *a, const char *tenant, const sy_imp_written *w,
              int n)
{
    const char **ids = sy_arena_alloc(a, (size_t)(n + 1) * sizeof(*ids));
    sy_str *texts = sy_arena_alloc(a, (size_t)(n + 1) * sizeof(*texts));
    if (!ids || !texts)
        return SY_ENOMEM;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (w[i].active) {
            ids[k] = w[i].id;
            texts[k++] = w[i].text;
        }
    return sy_vectors_store_many(a, tenant, ids, texts, k);
}

/* Validate the rows and write them, in the open transaction. */
static int
write_rows(sy_arena *a, const char *tenant, crow *rows, uint32_t n,
           int *inserted, int *updated, int *unchanged)
{
    const char **skus = sy_arena_alloc(a, (n + 1) * sizeof(*skus));
    bool *found = sy_arena_alloc(a, n + 1);
    uint32_t *at = sy_arena_alloc(a, (n + 1) * sizeof(*at));
    if (!skus || !found || !at)
        return SY_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!rows[i].errors && rows[i].sku && rows[i].sku[0]) {
            skus[k] = rows[i].sku;
            at[k++] = i;
        }
    int rc = sy_imports_db_skus(a, tenant, skus, (int)k, found);
    if (rc < 0)
        return rc;
    for (uint32_t j = 0; j < k; j++)
        rows[at[j]].exists = found[j];
    sy_product_fields *ins = sy_arena_alloc(a, (n + 1) * sizeof(*ins));
    sy_product_fields *upd = sy_arena_alloc(a, (n + 1) * sizeof(*upd));
    if (!ins || !upd)
        return SY_ENOMEM;
    int ni = 0, nu = 0;
    for (uint32_t i = 0; i < n; i++) {
        crow *r = &rows[i];
        if (r->errors)
            continue;
        sy_errs re;
        sy_errs_init(&re, a);
        rc = sy_products_read(a, r->body, !r->exists, &re, &r->f);
        if (rc == SY_EVALIDATION) {
            take_errors(a, r, &re);
            continue;
        }
        if (rc < 0)
            return rc;
        sy_product_fields f = r->f;
        if (!r->exists) {
            f.description = f.description ? f.description : "";
            f.category = f.category ? f.category : "";
            f.stock = f.stock ? f.stock : "0";
            f.colors = f.colors ? f.colors : "[]";
            f.attributes = f.attributes ? f.attributes : "{}";
            ins[ni++] = f;
        } else {
            upd[nu++] = f;
        }
    }
    sy_imp_written *wu = NULL;
    int nwi = 0, nwu = 0;
    if (ni && (rc = sy_imports_db_insert(a, tenant, ins, ni, &nwi)) < 0)
        return rc;
    if (nu && (rc = sy_imports_db_update(a, tenant, upd, nu, &wu, &nwu)) < 0)
        return rc;
    if ((rc = embed_written(a, tenant, wu, nwu)) < 0)
        return rc;
    *inserted = nwi;
    *updated = nwu;
    *unchanged = nu - nwu;
    return 0;
}

typedef struct sku_at {
    const char *sku;
    uint32_t row;
} sku_at;

static int
by_sku(const void *x, const void *y)
{
    const sku_at *p = x, *q = y;
    int c = strcmp(p->sku, q->sku);
    return c ? c : (p->row > q->row) - (p->row < q->row);
}

/* The rows of t as products: bodies and the errors found before the
 * product rules (cells that do not read, a missing or repeated sku: the
 * first row with an sku wins, the later ones are rejected). */
static int
read_rows(sy_arena *a, const sy_table *t, crow **out)
{
    crow *rows = sy_arena_calloc(a, ((size_t)t->rows + 1) * sizeof(*rows));
    sku_at *order = sy_arena_alloc(a, ((size_t)t->rows + 1) *
                                          sizeof(*order));
    if (!rows || !order)
        return SY_ENOMEM;
    uint32_t k = 0;
    for (uint32_t r = 0; r < t->rows; r++) {
        row_body(a, t, r, &rows[r]);
        if (!owned(a, rows[r].body))
            return SY_ENOMEM;
        if (!rows[r].sku)
            row_error(a, &rows[r], "sku",
                      "is required (the row's sku cell is empty)");
        else
            order[k++] = (sku_at){rows[r].sku, r};
    }
    qsort(order, k, sizeof(*order), by_sku);
    for (uint32_t i = 1; i < k; i++)
        if (strcmp(order[i].sku, order[i - 1].sku) == 0)
            row_error(a, &rows[order[i].row], "sku",
                      "an earlier row has this sku");
    *out = rows;
    return 0;
}

static int
commit_body(sy_arena *a, const crow *rows, uint32_t n, int inserted,
            int updated, int unchanged, sy_idem_response *out)
{
    json_object *o = owned(a, json_object_new_object());
    if (!o)
        return SY_ENOMEM;
    json_object *rej = json_object_new_array();
    json_object_object_add(o, "inserted", json_object_new_int(inserted));
    json_object_object_add(o, "updated", json_object_new_int(updated));
    json_object_object_add(o, "unchanged", json_object_new_int(unchanged));
    json_object_object_add(o, "rejected", rej);
    for (uint32_t i = 0; i < n; i++) {
        if (!rows[i].errors)
            continue;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "row", json_object_new_int64(rows[i].row));
        json_object_object_add(r, "errors", json_object_get(rows[i].errors));
        json_object_array_add(rej, r);
    }
    size_t len;
    const char *body = json_text(a, o, &len);
    if (!body)
        return SY_ENOMEM;
    *out = (sy_idem_response){.status = 200,
                              .content_type = SY_STR("application/json"),
                              .body = {body, len}};
    return 0;
}

static bool
has_sku_column(const sy_table *t)
{
    for (uint32_t c = 0; c < t->cols; c++)
        if (sy_str_eqc(t->col[c].field, "sku"))
            return true;
    return false;
}

int
sy_imports_commit(sy_arena *a, const char *tenant, const char *id,
                  const char *user, const sy_idem_key *key, sy_errs *e,
                  sy_idem_response *out, bool *replayed)
{
    char token[SY_IMPORTS_TOKEN_LEN + 1];
    session s;
    crow *rows = NULL;
    int state = SY_IDEM_NEW, inserted = 0, updated = 0, unchanged = 0;
    int rc = lock_and_load(a, tenant, id, e, token, &s);
    if (rc < 0)
        return rc;
    if (!has_sku_column(&s.t))
        rc = sy_errs_field(e, "columns",
                           "map a column to sku before committing (a map "
                           "operation)");
    if (rc == 0)
        rc = read_rows(a, &s.t, &rows);
    bool open = false;
    if (rc == 0 && (rc = sy_db_begin_durable()) == 0)
        open = true;
    if (rc == 0)
        rc = sy_idem_claim(a, key, e, &state, out);
    if (rc == 0 && state == SY_IDEM_NEW) {
        rc = write_rows(a, tenant, rows, s.t.rows, &inserted, &updated,
                        &unchanged);
        if (rc == SY_ECONFLICT)
            rc = sy_errs_fail(e, SY_ECONFLICT, "conflict",
                              "Another writer added a product with one of "
                              "these skus meanwhile; commit again.");
        if (rc == 0)
            rc = commit_body(a, rows, s.t.rows, inserted, updated, unchanged,
                             out);
        if (rc == 0 && key)
            rc = sy_idem_finish(a, key, out);
    }
    if (open) {
        if (rc < 0)
            sy_db_rollback();
        else
            rc = sy_db_commit();
    }
    if (rc == 0 && state == SY_IDEM_NEW) {
        if (inserted + updated > 0)
            sy_cache_catalog_bump(a, NULL, tenant);
        char extra[128];
        snprintf(extra, sizeof(extra),
                 "\"inserted\":%d,\"updated\":%d,\"unchanged\":%d",
                 inserted, updated, unchanged);
        static const char *const commit[] = {"commit"};
        size_t dlen;
        const char *dtext = json_text(a, s.doc, &dlen);
        sy_str audit = audit_entry(a, user, "commit", s.version, commit, 1,
                                   (int64_t)inserted + updated, extra);
        sy_imp_save sv = {.token = token, .version = s.version,
                          .doc = {dtext, dlen}, .audit = audit,
                          .audit_max = SY_IMPORTS_AUDIT_MAX,
                          .ttl_ms = ttl_ms()};
        /* the catalog has it: a lost audit line is logged, not failed */
        if (dtext && audit.p && sy_imports_db_save(a, tenant, id, &sv) < 0)
            sy_log(SY_LOG_WARN, "imports_audit",
                   "commit of session %s: the audit entry was not written",
                   id);
    }
    sy_imports_db_unlock(a, tenant, id, token);
    if (rc < 0)
        return rc;
    *replayed = state == SY_IDEM_REPLAY;
    return 0;
}
