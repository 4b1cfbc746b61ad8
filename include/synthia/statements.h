/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * statements.h - SQL statements not yet moved beside the store module
 * that reads their rows (each concept's statements are static objects
 * in its app/store/<concept>.c).
 */
#ifndef SYNTHIA_STATEMENTS_H
#define SYNTHIA_STATEMENTS_H

#include "synthia/db.h"

extern sy_db_stmt sy_sql_ping;
extern sy_db_stmt sy_sql_apikey_lookup;
extern sy_db_stmt sy_sql_apikey_touch;
extern sy_db_stmt sy_sql_cors_tenant_origin;
extern sy_db_stmt sy_sql_user_insert;
extern sy_db_stmt sy_sql_login_tenant_slug;
extern sy_db_stmt sy_sql_user_login_tenant;
extern sy_db_stmt sy_sql_user_login_sysadmin;
extern sy_db_stmt sy_sql_user_logged_in;
extern sy_db_stmt sy_sql_user_get;
extern sy_db_stmt sy_sql_user_get_live;
extern sy_db_stmt sy_sql_user_secret;
extern sy_db_stmt sy_sql_user_update_self;
extern sy_db_stmt sy_sql_user_other_sessions;
extern sy_db_stmt sy_sql_users_list;
extern sy_db_stmt sy_sql_user_patch;
extern sy_db_stmt sy_sql_user_last_keeper;
extern sy_db_stmt sy_sql_user_erase;
extern sy_db_stmt sy_sql_plans_list;
extern sy_db_stmt sy_sql_plan_exists;
extern sy_db_stmt sy_sql_tenant_insert;
extern sy_db_stmt sy_sql_tenant_get;
extern sy_db_stmt sy_sql_tenant_by_slug;
extern sy_db_stmt sy_sql_tenants_list;
extern sy_db_stmt sy_sql_tenant_update;
extern sy_db_stmt sy_sql_tenant_live_sessions;
extern sy_db_stmt sy_sql_keys_list;
extern sy_db_stmt sy_sql_key_insert;
extern sy_db_stmt sy_sql_key_get;
extern sy_db_stmt sy_sql_key_rotate;
extern sy_db_stmt sy_sql_key_revoke;
extern sy_db_stmt sy_sql_admin_user_insert;
extern sy_db_stmt sy_sql_session_start;
extern sy_db_stmt sy_sql_refresh_lookup;
extern sy_db_stmt sy_sql_refresh_successor;
extern sy_db_stmt sy_sql_refresh_rotate;
extern sy_db_stmt sy_sql_session_revoke_reuse;
extern sy_db_stmt sy_sql_session_revoke;
extern sy_db_stmt sy_sql_session_revoke_user;
extern sy_db_stmt sy_sql_session_revoked;
extern sy_db_stmt sy_sql_sessions_recently_revoked;
extern sy_db_stmt sy_sql_refresh_housekeeping;

#endif
