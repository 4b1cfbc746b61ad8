/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * migrate.h - forward-only schema migrations embedded in the binary.
 *
 * sql/NNN_name.sql files are compiled in (migrations.c, generated); each
 * is applied in its own transaction under a PostgreSQL advisory lock and
 * recorded in schema_migrations with its checksum.
 */
#ifndef SYNTHIA_MIGRATE_H
#define SYNTHIA_MIGRATE_H

#include <stddef.h>

typedef struct sy_migration {
    int version;
    const char *name; /* "001_core" */
    const char *sql;
} sy_migration;

extern const sy_migration sy_migrations[];
extern const size_t sy_nmigrations;

/* Highest version this binary ships. */
int sy_migrate_latest(void);

/* `synthia migrate [status]`: returns the process exit status. */
int sy_cli_migrate(int argc, char **argv);

#endif
