/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * statements.h - SQL statements not yet moved beside the store module
 * that reads their rows (each concept's statements are static objects
 * in its app/store/<concept>.c).
 */
#ifndef SYNTHIA_STATEMENTS_H
#define SYNTHIA_STATEMENTS_H

#include "synthia/db.h"

extern sy_db_stmt sy_sql_idem_insert;
extern sy_db_stmt sy_sql_idem_lock;
extern sy_db_stmt sy_sql_idem_renew;
extern sy_db_stmt sy_sql_idem_finish;
extern sy_db_stmt sy_sql_idem_housekeeping;
extern sy_db_stmt sy_sql_order_lock_products;
extern sy_db_stmt sy_sql_order_reserve;
extern sy_db_stmt sy_sql_order_insert;
extern sy_db_stmt sy_sql_order_get;
extern sy_db_stmt sy_sql_orders_list;
extern sy_db_stmt sy_sql_order_lock;
extern sy_db_stmt sy_sql_order_set_status;
extern sy_db_stmt sy_sql_order_lock_line_products;
extern sy_db_stmt sy_sql_order_restock;
extern sy_db_stmt sy_sql_product_insert;
extern sy_db_stmt sy_sql_product_get;
extern sy_db_stmt sy_sql_product_update;
extern sy_db_stmt sy_sql_product_deactivate;
extern sy_db_stmt sy_sql_product_embedding_delete;
extern sy_db_stmt sy_sql_products_list;
extern sy_db_stmt sy_sql_categories_list;
extern sy_db_stmt sy_sql_products_search_text;
extern sy_db_stmt sy_sql_products_search_typo;
extern sy_db_stmt sy_sql_products_by_ids;
extern sy_db_stmt sy_sql_search_typo_threshold;
extern sy_db_stmt sy_sql_seed_tenant_config;
extern sy_db_stmt sy_sql_seed_tenant_summary;
extern sy_db_stmt sy_sql_vectors_upsert;
extern sy_db_stmt sy_sql_vectors_fingerprint;
extern sy_db_stmt sy_sql_vectors_load;

#endif
