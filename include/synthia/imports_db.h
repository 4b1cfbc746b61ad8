/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports_db.h - where import sessions live (app/store/imports.c): their
 * keys in Redis, the lock of a session, and the statements a commit
 * runs in PostgreSQL.
 *
 * Redis keys (every one under the tenant's hash tag, so that the Lua
 * scripts, which touch several, stay in one slot on Redis Cluster):
 *   sy:{t:<tenant>}:imp:<id>:meta   hash: doc (the session's metadata as
 *                                   JSON text, the domain's), cur (the
 *                                   current version)
 *   sy:{t:<tenant>}:imp:<id>:snaps  hash: v<N> -> the table of version N
 *                                   in its stored form (impcodec.h)
 *   sy:{t:<tenant>}:imp:<id>:audit  list of JSON entries, oldest first
 *   sy:{t:<tenant>}:imp:<id>:lock   the lock: a random token, with PX
 * and, outside any tenant, the sorted set sy:import_sessions of
 * "<tenant>/<id>" scored by expiry in epoch milliseconds, which
 * GET /health/storage counts.  Every read and write of a session moves
 * the expiry of its keys (PEXPIRE) and its score, so a session lives
 * ttl after its last use.
 *
 * Plain values in and out; tenants and ids are the caller's, checked to
 * be uuids here (SY_ENOTFOUND otherwise: no key is ever made of them).
 * Redis unreachable: SY_EREDIS; PostgreSQL: SY_EDB.
 */
#ifndef SYNTHIA_IMPORTS_DB_H
#define SYNTHIA_IMPORTS_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/products_db.h"
#include "synthia/str.h"

#define SY_IMPORTS_TOKEN_LEN 32 /* hex characters of a lock token */
#define SY_IMPORTS_ZSET "sy:import_sessions"

/* A session as read: its metadata, current version and that version's
 * stored table. */
typedef struct sy_imp_loaded {
    sy_str doc;
    int64_t version;
    sy_str snap;
} sy_imp_loaded;

/* One write of a session, atomic (one Lua call). */
typedef struct sy_imp_save {
    const char *token;     /* the lock held; NULL: a new session */
    int64_t version;       /* the current version from now on */
    sy_str snap;           /* stored as that version; p NULL: none (the
                              version's table is there already) */
    const int64_t *drop;   /* versions whose tables go */
    int ndrop;
    sy_str doc;            /* the metadata */
    sy_str audit;          /* an entry to append; p NULL: none */
    int64_t audit_max;     /* entries kept, the newest */
    int64_t ttl_ms;
} sy_imp_save;

/* Store a new session (s->token NULL) or a change of one under its lock.
 * 0; SY_ENOTFOUND (it was deleted or expired meanwhile); SY_ECONFLICT
 * (the lock is no longer ours: it expired and another writer took it;
 * nothing was written). */
int sy_imports_db_save(sy_arena *a, const char *tenant, const char *id,
                       const sy_imp_save *s);

/* Read the session and move its expiry to ttl_ms from now: 0 with *out
 * (arena memory), SY_ENOTFOUND, SY_EINVAL (its current table is gone:
 * a broken session). */
int sy_imports_db_load(sy_arena *a, const char *tenant, const char *id,
                       int64_t ttl_ms, sy_imp_loaded *out);

/* The session's audit entries, oldest first (moving its expiry too):
 * 0 with *items (arena memory) and *n, SY_ENOTFOUND. */
int sy_imports_db_audit(sy_arena *a, const char *tenant, const char *id,
                        int64_t ttl_ms, sy_str **items, int *n);

/* Take the session's lock: SET NX PX ttl_ms with a fresh random token
 * (into token, SY_IMPORTS_TOKEN_LEN + 1 bytes), retried while taken
 * with exponential back-off (2 ms doubling to 100 ms, each wait jittered
 * down to half) until wait_ms has passed.  0; SY_ECONFLICT when another
 * holder kept it all that time; *waited_us gets the time spent
 * waiting. */
int sy_imports_db_lock(sy_arena *a, const char *tenant, const char *id,
                       int64_t ttl_ms, int64_t wait_ms, char *token,
                       int64_t *waited_us);

/* Release the lock if token still holds it (compare and delete, in
 * Lua): a holder whose lock expired never frees another's.  Errors are
 * logged; the lock then expires on its own. */
void sy_imports_db_unlock(sy_arena *a, const char *tenant, const char *id,
                          const char *token);

/* Delete the session (under its lock, token): 0, SY_ENOTFOUND,
 * SY_ECONFLICT (lock lost). */
int sy_imports_db_delete(sy_arena *a, const char *tenant, const char *id,
                         const char *token);

/* ---------------------------------------------------------- PostgreSQL */

/* Which of the n skus name a product of the tenant (active or not):
 * found[i] for skus[i].  Inside the caller's transaction.  0, SY_EDB. */
int sy_imports_db_skus(sy_arena *a, const char *tenant,
                       const char *const *skus, int n, bool *found);

/* A product written by a commit: its id, sku, whether it is active, and
 * the text its embedding is made of. */
typedef struct sy_imp_written {
    const char *id;
    const char *sku;
    bool active;
    sy_str text;
} sy_imp_written;

/* Insert n products (fields as sy_products_add writes them, every one
 * given but image_url) with new ids and their local embeddings (the
 * vector sy_vectors_store would write), a few hundred per statement;
 * *nout gets n.  Inside the caller's transaction.  0, SY_ECONFLICT (an
 * sku is taken: another writer got there first), SY_EDB, SY_ENOMEM. */
int sy_imports_db_insert(sy_arena *a, const char *tenant,
                         const sy_product_fields *rows, int n, int *nout);

/* Update the given fields (NULL: left alone) of the n products named by
 * their sku in one statement; attributes are merged into the product's
 * (a key given replaces the same key).  *out gets the products that
 * changed, in no particular order: one the row leaves as it was is not
 * written.  Their embeddings are the caller's to write
 * (sy_vectors_store_many). */
int sy_imports_db_update(sy_arena *a, const char *tenant,
                         const sy_product_fields *rows, int n,
                         sy_imp_written **out, int *nout);

#endif
