/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demo_db.h - the statements of seed-demo that belong to no other
 * concept's store (app/store/demo.c): a tenant's text-search
 * configuration, and a summary of what a tenant holds.
 */
#ifndef SYNTHIA_DEMO_DB_H
#define SYNTHIA_DEMO_DB_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

/* Set the tenant's text-search configuration ("english", "spanish"...:
 * a PostgreSQL regconfig).  0, SY_EDB. */
int sy_demo_db_search_config(sy_arena *a, const char *tenant,
                             const char *config);

/* The tenant's number of products and its users as the JSON array text
 * [{email, role}].  0, SY_EDB. */
int sy_demo_db_summary(sy_arena *a, const char *tenant, int64_t *products,
                       sy_str *users);

#endif
