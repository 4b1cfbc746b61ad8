/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.h - catalog import sessions (app/domain/imports.c; API.md
 * "Import sessions"): a CSV file parsed into a table that lives in Redis
 * (imports_db.h) with up to five versions, undo, an audit log and a
 * lock, edited by operations (impops.h) and committed into the catalog
 * by the product rules (products.h) in one transaction.
 *
 * Every function takes the tenant, the session id (not a uuid: not
 * found) and, for writes, the acting user (recorded in versions and the
 * audit log).  Answers are JSON texts (arena memory) as the API shows
 * them.  Refusals carry a problem code in e: not_found (no session, or
 * it expired), locked (another writer held the session's lock for all
 * of imports.lock_wait), version_conflict (base_version is not the
 * current version), no_previous_version (undo), validation_failed
 * (field errors: "csv" with the row for a file, "ops[i].<field>" for an
 * operation).  Redis unreachable: SY_EREDIS (503 storage_unavailable).
 *
 * Writers (ops, undo, commit, delete) hold the session's lock from the
 * read to the write, so two writers never both apply an operation to
 * the same version: each is applied once, in some order, or refused.
 */
#ifndef SYNTHIA_IMPORTS_H
#define SYNTHIA_IMPORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/idempotency.h"
#include "synthia/str.h"

struct json_object;

#define SY_IMPORTS_VERSIONS 5      /* versions kept, oldest dropped */
#define SY_IMPORTS_AUDIT_MAX 1000  /* audit entries kept, the newest */
#define SY_IMPORTS_PAGE_MAX 1000   /* rows of one GET */

/* A new session of the CSV text csv: 0 with *json (201's body: id, rows,
 * columns [{name, type, missing, intentionally_missing, field}],
 * version 1, created_at, expires_at); SY_EVALIDATION (the file, with
 * its row), SY_ETOOBIG (past imports.max_bytes), SY_EREDIS. */
int sy_imports_create(sy_arena *a, const char *tenant, const char *user,
                      sy_str csv, sy_errs *e, sy_str *json);

/* The session's metadata and rows [offset, offset + limit) as arrays of
 * cells (null: missing), with "marks" ([row, column] of the cells marked
 * intentionally missing on the page). */
int sy_imports_show(sy_arena *a, const char *tenant, const char *id,
                    int64_t offset, int64_t limit, sy_errs *e, sy_str *json);

/* Apply body's "ops" (all or nothing) to the current version, when
 * body's optional "base_version" is that version: the metadata of the
 * new version. */
int sy_imports_apply(sy_arena *a, const char *tenant, const char *id,
                     const char *user, struct json_object *body, sy_errs *e,
                     sy_str *json);

/* Back to the previous version kept (the current one is dropped). */
int sy_imports_undo(sy_arena *a, const char *tenant, const char *id,
                    const char *user, sy_errs *e, sy_str *json);

/* {current, items: [{version, created_at, by, ops, cells}]}, oldest
 * first. */
int sy_imports_versions(sy_arena *a, const char *tenant, const char *id,
                        sy_errs *e, sy_str *json);

/* {items: [{at, by, action, version, ops, cells, ...}]}, oldest first. */
int sy_imports_audit(sy_arena *a, const char *tenant, const char *id,
                     sy_errs *e, sy_str *json);

/* Delete the session (under its lock). */
int sy_imports_remove(sy_arena *a, const char *tenant, const char *id,
                      sy_errs *e);

/* Commit the current version into the catalog: every row's mapped cells
 * read as a product body and checked by sy_products_read (a new sku as
 * POST /products, a known one as PATCH), the valid ones inserted or
 * updated by sku in one durable transaction with key's idempotency
 * record (NULL: none) and the embeddings of what was written, then one
 * new catalog version.  0 with *out (200 {inserted, updated, unchanged
 * (known skus the row would not change: not written), rejected: [{row,
 * errors: [{field, message}]}]}) and *replayed; a column must be mapped
 * to sku (422 otherwise). */
int sy_imports_commit(sy_arena *a, const char *tenant, const char *id,
                      const char *user, const sy_idem_key *key, sy_errs *e,
                      sy_idem_response *out, bool *replayed);

#endif
