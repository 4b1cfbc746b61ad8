/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_store.c - unit tests of the store layer's parsing: redis.url and
 * the embedded migration table.  Nothing here talks to a server; the
 * integration tests cover the connections.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/migrate.h"
#include "synthia/redis.h"

static sy_redis_target
parse_ok(const char *url)
{
    sy_redis_target t;
    memset(&t, 0x5a, sizeof(t));
    ck_assert_msg(sy_redis_parse_url(url, &t) == 0, "rejected %s", url);
    return t;
}

START_TEST(redis_url_with_host_port_and_db)
{
    sy_redis_target t = parse_ok("redis://cache.internal:6380/2");
    ck_assert(!t.unix_socket);
    ck_assert_str_eq(t.host, "cache.internal");
    ck_assert_int_eq(t.port, 6380);
    ck_assert_int_eq(t.db, 2);
    ck_assert_str_eq(t.user, "");
    ck_assert_str_eq(t.password, "");
}
END_TEST

START_TEST(redis_url_defaults_to_port_6379_and_db_0)
{
    sy_redis_target t = parse_ok("redis://127.0.0.1");
    ck_assert_str_eq(t.host, "127.0.0.1");
    ck_assert_int_eq(t.port, 6379);
    ck_assert_int_eq(t.db, 0);
    t = parse_ok("redis://localhost/");
    ck_assert_int_eq(t.port, 6379);
    ck_assert_int_eq(t.db, 0);
}
END_TEST

START_TEST(redis_url_password_is_percent_decoded)
{
    sy_redis_target t = parse_ok("redis://:p%40ss%2Fw0rd@h:1/0");
    ck_assert_str_eq(t.user, "");
    ck_assert_str_eq(t.password, "p@ss/w0rd");
    ck_assert_str_eq(t.host, "h");
    ck_assert_int_eq(t.port, 1);
}
END_TEST

START_TEST(redis_url_password_may_contain_at_sign)
{
    sy_redis_target t = parse_ok("redis://:a@b@host");
    ck_assert_str_eq(t.password, "a@b");
    ck_assert_str_eq(t.host, "host");
}
END_TEST

START_TEST(redis_url_with_acl_user)
{
    sy_redis_target t = parse_ok("redis://app:secret@host:7000/1");
    ck_assert_str_eq(t.user, "app");
    ck_assert_str_eq(t.password, "secret");
    t = parse_ok("redis://app@host");
    ck_assert_str_eq(t.user, "app");
    ck_assert_str_eq(t.password, "");
}
END_TEST

START_TEST(redis_url_with_bracketed_ipv6)
{
    sy_redis_target t = parse_ok("redis://[::1]:6390/4");
    ck_assert_str_eq(t.host, "::1");
    ck_assert_int_eq(t.port, 6390);
    ck_assert_int_eq(t.db, 4);
    t = parse_ok("redis://[fe80::1]");
    ck_assert_str_eq(t.host, "fe80::1");
    ck_assert_int_eq(t.port, 6379);
}
END_TEST

START_TEST(redis_unix_url_with_db)
{
    sy_redis_target t = parse_ok("unix:///run/redis/redis.sock?db=5");
    ck_assert(t.unix_socket);
    ck_assert_str_eq(t.host, "/run/redis/redis.sock");
    ck_assert_int_eq(t.db, 5);
    t = parse_ok("unix:///tmp/r.sock");
    ck_assert_str_eq(t.host, "/tmp/r.sock");
    ck_assert_int_eq(t.db, 0);
}
END_TEST

START_TEST(redis_url_rejects_malformed)
{
    static const char *bad[] = {
        "",
        "http://host:6379",
        "redis://",
        "redis://:6379",
        "redis://host:",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:63x9",
        "redis://host/db",
        "redis://host/-1",
        "redis://host/1/2",
        "redis://::1:6379",
        "redis://[::1",
        "redis://[::1]x",
        "redis://:bad%zzescape@host",
        "redis://:nul%00@host",
        "redis://:trunc%4@host",
        "unix://relative/path",
        "unix:///",
        "unix:///tmp/r.sock?database=1",
        "unix:///tmp/r.sock?db=",
        "unix:///tmp/r.sock?db=x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_redis_target t;
        ck_assert_msg(sy_redis_parse_url(bad[i], &t) == SY_EINVAL,
                      "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(redis_url_rejects_overlong_socket_path)
{
    char url[256] = "unix:///";
    memset(url + 8, 'a', 120);
    sy_redis_target t;
    ck_assert_int_eq(sy_redis_parse_url(url, &t), SY_EINVAL);
}
END_TEST

START_TEST(redis_url_failure_leaves_output_untouched)
{
    sy_redis_target t;
    memset(&t, 0x5a, sizeof(t));
    ck_assert_int_eq(sy_redis_parse_url("redis://host:bad", &t), SY_EINVAL);
    ck_assert_int_eq(((unsigned char *)&t)[0], 0x5a);
    ck_assert_int_eq(t.port, 0x5a5a5a5a);
}
END_TEST

START_TEST(migrations_are_sorted_and_named_by_version)
{
    ck_assert_uint_gt(sy_nmigrations, 0);
    int prev = 0;
    for (size_t i = 0; i < sy_nmigrations; i++) {
        const sy_migration *m = &sy_migrations[i];
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "%03d_", m->version);
        ck_assert_int_gt(m->version, prev);
        ck_assert_msg(strncmp(m->name, prefix, 4) == 0, "%s", m->name);
        ck_assert_ptr_nonnull(m->sql);
        prev = m->version;
    }
    ck_assert_int_eq(sy_migrate_latest(), prev);
}
END_TEST

START_TEST(migration_001_is_embedded_verbatim)
{
    ck_assert_str_eq(sy_migrations[0].name, "001_core");
    ck_assert_ptr_nonnull(strstr(sy_migrations[0].sql, "CREATE TABLE plans"));
    ck_assert_ptr_nonnull(strstr(sy_migrations[0].sql, "(?:[a-z0-9-]"));
    size_t n = strlen(sy_migrations[0].sql);
    ck_assert(n > 0 && sy_migrations[0].sql[n - 1] == '\n');
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store");
    const TTest *const redis_url_tests[] = {
        redis_url_with_host_port_and_db,
        redis_url_defaults_to_port_6379_and_db_0,
        redis_url_password_is_percent_decoded,
        redis_url_password_may_contain_at_sign, redis_url_with_acl_user,
        redis_url_with_bracketed_ipv6, redis_unix_url_with_db,
        redis_url_rejects_malformed, redis_url_rejects_overlong_socket_path,
        redis_url_failure_leaves_output_untouched, NULL};
    sy_check_tcase(s, "redis_url", NULL, NULL, redis_url_tests);
    const TTest *const migrations_tests[] = {
        migrations_are_sorted_and_named_by_version,
        migration_001_is_embedded_verbatim, NULL};
    sy_check_tcase(s, "migrations", NULL, NULL, migrations_tests);
    return sy_check_run(s);
}
