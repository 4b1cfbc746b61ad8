/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * schema.h - the database's applied schema version
 * (app/store/schema.c), for readiness checks.
 */
#ifndef SYNTHIA_SCHEMA_H
#define SYNTHIA_SCHEMA_H

#include "synthia/arena.h"

/* The highest migration applied (schema_migrations); 0 for a database
 * that has never been migrated (no such table yet).  0 with *out, or
 * SY_EDB. */
int sy_schema_version(sy_arena *a, int *out);

#endif
