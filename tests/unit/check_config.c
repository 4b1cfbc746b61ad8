/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_config.c - unit tests of the configuration loader: defaults, the
 * file format, environment overrides, required keys, secrets, typed
 * values with ranges, trusted networks, and the shipped example file.
 *
 * Every test writes its files with mkstemp under /tmp; the fixture
 * removes them and clears SYNTHIA_* variables so tests stay independent
 * even without fork (CK_FORK=no).
 */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sycheck.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"
#define DB_URL "postgresql://synthia@/synthia"

static sy_config C;
static char err[512];
static char tmp_dir[64]; /* per run; main removes it with what is left */
static char tmp_paths[16][128];
static int ntmp;
static const char *secret_path; /* a valid 32-byte secret file */

/* Write content to a fresh /tmp file; the fixture removes it. */
static const char *
temp_file(const char *content)
{
    ck_assert_int_lt(ntmp, 16);
    char *path = tmp_paths[ntmp++];
    snprintf(path, 128, "%s/f-XXXXXX", tmp_dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(content);
    ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

static void
unset_key_env(const char *section, const char *key, const char *env,
              const char *def, const char *help, void *ud)
{
    unsetenv(env);
}

static void
remove_temp_files(void)
{
    for (int i = 0; i < ntmp; i++)
        unlink(tmp_paths[i]);
    ntmp = 0;
}

static void
setup(void)
{
    ntmp = 0;
    sy_config_each_key(unset_key_env, NULL);
    memset(&C, 0, sizeof(C));
    err[0] = 0;
    secret_path = temp_file(SECRET32 "\n");
}

static void
teardown(void)
{
    sy_config_free(&C);
    remove_temp_files();
    sy_config_each_key(unset_key_env, NULL);
}

/* A file with the two required keys, followed by extra text. */
static const char *
conf_with(const char *extra)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "[database]\nurl = " DB_URL "\n[auth]\njwt_secret_file = %s\n%s",
             secret_path, extra);
    return temp_file(text);
}

static int
load(const char *path)
{
    return sy_config_load(&C, path, err, sizeof(err));
}

/* Load the required keys plus extra; the load must succeed. */
static void
load_ok(const char *extra)
{
    int rc = load(conf_with(extra));
    ck_assert_msg(rc == 0, "load failed: %s", err);
}

/* Load the required keys plus extra; the load must fail naming what. */
static void
load_fails_naming(const char *extra, const char *what)
{
    ck_assert_int_eq(load(conf_with(extra)), SY_ECONFIG);
    ck_assert_msg(strstr(err, what) != NULL, "error '%s' lacks '%s'", err,
                  what);
}

/* ------------------------------------------------------------ defaults */

START_TEST(test_defaults_fill_every_unset_key)
{
    load_ok("");
    ck_assert_str_eq(C.db_url, DB_URL);
    ck_assert_ptr_null(C.listen);
    ck_assert_int_eq(C.listen_mode, 0660);
    ck_assert_int_eq(C.backlog, 1024);
    ck_assert_int_eq(C.workers, 4);
    ck_assert_int_eq(C.max_requests, 0);
    ck_assert_int_eq(C.request_timeout_ms, 30000);
    ck_assert_int_eq(C.slow_request_ms, 1000);
    ck_assert_int_eq(C.max_body, 1024 * 1024);
    ck_assert_int_eq(C.request_memory, 64LL * 1024 * 1024);
    ck_assert(C.access_log);
    ck_assert_str_eq(C.redis_url, "redis://127.0.0.1:6379/0");
    ck_assert(!C.redis_required);
    ck_assert_int_eq(C.redis_timeout_ms, 500);
    ck_assert_str_eq(C.issuer, "synthia");
    ck_assert_int_eq(C.access_ttl_ms, 15 * 60000);
    ck_assert_int_eq(C.refresh_ttl_ms, 30LL * 86400000);
    ck_assert(C.cookie_secure);
    ck_assert(C.db_prepared);
    ck_assert_int_eq(C.on_redis_down, SY_RL_DOWN_LOCAL);
    ck_assert_int_eq(C.lease_max, 64);
    ck_assert_int_eq(C.lease_ttl_ms, 200);
    ck_assert_int_eq(C.log_level, SY_LOG_INFO);
    ck_assert_ptr_null(C.cors_origins);
}
END_TEST

START_TEST(test_config_remembers_its_path)
{
    const char *path = conf_with("");
    ck_assert_int_eq(load(path), 0);
    ck_assert_str_eq(C.path, path);
}
END_TEST

START_TEST(test_jwt_secret_is_read_without_trailing_newline)
{
    load_ok("");
    ck_assert_uint_eq(C.jwt_secret_len, 32);
    ck_assert_mem_eq(C.jwt_secret, SECRET32, 32);
}
END_TEST

/* ------------------------------------------------------------ required */

START_TEST(test_missing_database_url_is_refused)
{
    char text[256];
    snprintf(text, sizeof(text), "[auth]\njwt_secret_file = %s\n", secret_path);
    ck_assert_int_eq(load(temp_file(text)), SY_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "database.url"));
}
END_TEST

START_TEST(test_missing_jwt_secret_file_is_refused)
{
    ck_assert_int_eq(load(temp_file("[database]\nurl = " DB_URL "\n")),
                     SY_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "auth.jwt_secret_file"));
}
END_TEST

START_TEST(test_no_file_and_no_env_is_refused)
{
    ck_assert_int_eq(load(NULL), SY_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "database.url"));
}
END_TEST

START_TEST(test_short_jwt_secret_is_refused)
{
    /* 31 bytes and a newline: the newline does not count */
    const char *shortkey = temp_file("0123456789abcdef0123456789abcde\n");
    char extra[128];
    snprintf(extra, sizeof(extra), "jwt_secret_file = %s\n", shortkey);
    load_fails_naming(extra, "auth.jwt_secret_file");
    ck_assert_ptr_nonnull(strstr(err, "32"));
}
END_TEST

START_TEST(test_unreadable_jwt_secret_file_is_refused)
{
    load_fails_naming("jwt_secret_file = /nonexistent/sy-check/jwt.key\n",
                      "auth.jwt_secret_file");
}
END_TEST

START_TEST(test_database_url_must_be_postgresql)
{
    load_fails_naming("[database]\nurl = mysql://x/y\n", "database.url");
}
END_TEST

START_TEST(test_refresh_ttl_must_exceed_access_ttl)
{
    load_fails_naming("access_ttl = 2h\nrefresh_ttl = 1h\n",
                      "auth.refresh_ttl");
}
END_TEST

START_TEST(test_failed_load_leaves_config_empty)
{
    ck_assert_int_eq(load(temp_file("[server]\nworkers = 3\n")), SY_ECONFIG);
    ck_assert_ptr_null(C.path);
    ck_assert_ptr_null(C.redis_url);
    ck_assert_int_eq(C.workers, 0);
}
END_TEST

START_TEST(test_missing_config_file_is_refused)
{
    ck_assert_int_eq(load("/nonexistent/sy-check/synthia.conf"), SY_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/sy-check/synthia.conf"));
}
END_TEST

START_TEST(test_password_file_is_read_into_memory)
{
    const char *pw = temp_file("s3cret\r\n");
    char extra[128];
    snprintf(extra, sizeof(extra), "[database]\npassword_file = %s\n", pw);
    load_ok(extra);
    ck_assert_str_eq(C.db_password, "s3cret");
}
END_TEST

/* ------------------------------------------------------------ syntax */

START_TEST(test_unknown_key_is_refused_naming_it_and_its_line)
{
    load_fails_naming("[server]\nworkerz = 3\n", "server.workerz");
    ck_assert_ptr_nonnull(strstr(err, ":6"));
}
END_TEST

START_TEST(test_known_key_in_wrong_section_is_unknown)
{
    load_fails_naming("[redis]\nworkers = 3\n", "redis.workers");
}
END_TEST

START_TEST(test_key_before_any_section_is_unknown)
{
    ck_assert_int_eq(load(temp_file("workers = 3\n")), SY_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "workers"));
}
END_TEST

START_TEST(test_comments_and_blank_lines_are_ignored)
{
    load_ok("\n# a comment\n; another\n   \n[server]\n"
            "workers = 8 # eight\nbacklog = 99 ; ninety-nine\n");
    ck_assert_int_eq(C.workers, 8);
    ck_assert_int_eq(C.backlog, 99);
}
END_TEST

START_TEST(test_hash_inside_a_word_is_part_of_the_value)
{
    load_ok("issuer = a#b;c\n");
    ck_assert_str_eq(C.issuer, "a#b;c");
}
END_TEST

START_TEST(test_quotes_keep_spaces_and_comment_characters)
{
    load_ok("issuer = \"  x # y  \"   # trailing comment\n");
    ck_assert_str_eq(C.issuer, "  x # y  ");
}
END_TEST

START_TEST(test_section_names_and_keys_may_have_spaces_around)
{
    load_ok("[  server  ]\n   workers=2   \n");
    ck_assert_int_eq(C.workers, 2);
}
END_TEST

START_TEST(test_crlf_line_endings_are_accepted)
{
    load_ok("[server]\r\nworkers = 5\r\n[auth]\r\nissuer = me\r\n");
    ck_assert_int_eq(C.workers, 5);
    ck_assert_str_eq(C.issuer, "me");
}
END_TEST

START_TEST(test_later_value_replaces_earlier_one)
{
    load_ok("[server]\nworkers = 2\nworkers = 3\n");
    ck_assert_int_eq(C.workers, 3);
}
END_TEST

START_TEST(test_empty_value_clears_a_string_default)
{
    load_ok("[cors]\norigins =\n[server]\nlisten = \n");
    ck_assert_ptr_null(C.cors_origins);
    ck_assert_ptr_null(C.listen);
}
END_TEST

START_TEST(test_section_header_without_bracket_is_refused)
{
    load_fails_naming("[server\nworkers = 3\n", "section header");
}
END_TEST

START_TEST(test_line_without_equals_is_refused)
{
    load_fails_naming("[server]\nworkers 3\n", "key = value");
}
END_TEST

START_TEST(test_section_state_survives_long_lines)
{
    /* the section name must outlive the getline buffer it came from */
    char extra[3000];
    char pad[2000];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    snprintf(extra, sizeof(extra), "[server]\n# %s\nworkers = 7\n", pad);
    load_ok(extra);
    ck_assert_int_eq(C.workers, 7);
}
END_TEST

/* ------------------------------------------------------------ env */

START_TEST(test_env_overrides_the_file)
{
    setenv("SYNTHIA_SERVER_WORKERS", "2", 1);
    load_ok("[server]\nworkers = 8\n");
    ck_assert_int_eq(C.workers, 2);
}
END_TEST

START_TEST(test_env_alone_supplies_required_keys)
{
    setenv("SYNTHIA_DATABASE_URL", DB_URL "?x=1", 1);
    setenv("SYNTHIA_AUTH_JWT_SECRET_FILE", secret_path, 1);
    int rc = load(NULL);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_str_eq(C.db_url, DB_URL "?x=1");
}
END_TEST

START_TEST(test_bad_env_value_names_the_variable)
{
    setenv("SYNTHIA_SERVER_WORKERS", "lots", 1);
    load_fails_naming("", "SYNTHIA_SERVER_WORKERS");
    ck_assert_ptr_nonnull(strstr(err, "server.workers"));
}
END_TEST

START_TEST(test_empty_env_value_clears_a_required_key)
{
    setenv("SYNTHIA_DATABASE_URL", "", 1);
    load_fails_naming("", "database.url");
}
END_TEST

static void
check_env_name(const char *section, const char *key, const char *env,
               const char *def, const char *help, void *ud)
{
    char want[96];
    size_t n =
        (size_t)snprintf(want, sizeof(want), "SYNTHIA_%s_%s", section, key);
    /* [ai.openai] base_url: SYNTHIA_AI_OPENAI_BASE_URL */
    for (size_t i = 0; i < n; i++)
        if (want[i] >= 'a' && want[i] <= 'z')
            want[i] = (char)(want[i] - 'a' + 'A');
        else if (want[i] == '.')
            want[i] = '_';
    ck_assert_str_eq(env, want);
    ck_assert_msg(help && strlen(help) > 10, "%s.%s has no help", section, key);
    ck_assert_ptr_nonnull(def);
    (*(int *)ud)++;
}

START_TEST(test_every_key_has_env_name_help_and_default)
{
    int n = 0;
    sy_config_each_key(check_env_name, &n);
    ck_assert_int_ge(n, 30);
}
END_TEST

typedef struct text {
    char buf[8192];
    size_t len;
} text;

/* Append "[section]\nkey = \"default\"" for every key but the required. */
static void
write_default(const char *section, const char *key, const char *env,
              const char *def, const char *help, void *ud)
{
    text *t = ud;
    if (!strcmp(section, "database") && !strcmp(key, "url"))
        return;
    if (!strcmp(section, "auth") && !strcmp(key, "jwt_secret_file"))
        return;
    int n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len,
                     "[%s]\n%s = \"%s\"\n", section, key, def);
    ck_assert(n > 0 && (size_t)n < sizeof(t->buf) - t->len);
    t->len += (size_t)n;
}

START_TEST(test_every_key_accepts_its_own_default_in_a_file)
{
    static text t;
    t.len = 0;
    t.buf[0] = 0;
    sy_config_each_key(write_default, &t);
    load_ok(t.buf);
    ck_assert_int_eq(C.workers, 4);
    ck_assert_int_eq(C.ntrusted, 2);
}
END_TEST

/* ------------------------------------------------------------ values */

START_TEST(test_durations_take_units)
{
    load_ok("[server]\nrequest_timeout = 250ms\ndrain_timeout = 2m\n"
            "slow_request = 0\n[redis]\ntimeout = 1s\n");
    ck_assert_int_eq(C.request_timeout_ms, 250);
    ck_assert_int_eq(C.drain_timeout_ms, 120000);
    ck_assert_int_eq(C.slow_request_ms, 0);
    ck_assert_int_eq(C.redis_timeout_ms, 1000);
}
END_TEST

START_TEST(test_duration_below_minimum_is_refused)
{
    load_fails_naming("[server]\nrequest_timeout = 50ms\n",
                      "server.request_timeout");
}
END_TEST

START_TEST(test_duration_above_maximum_is_refused)
{
    load_fails_naming("[database]\nconnect_timeout = 2m\n",
                      "database.connect_timeout");
}
END_TEST

START_TEST(test_sizes_take_units)
{
    load_ok("[server]\nmax_body = 64k\nrequest_memory = 2G\n");
    ck_assert_int_eq(C.max_body, 65536);
    ck_assert_int_eq(C.request_memory, 2LL << 30);
}
END_TEST

START_TEST(test_size_out_of_range_is_refused)
{
    load_fails_naming("[server]\nmax_body = 2G\n", "server.max_body");
    sy_config_free(&C);
    load_fails_naming("[server]\nmax_body = 512\n", "server.max_body");
}
END_TEST

START_TEST(test_integer_range_is_enforced_at_both_ends)
{
    load_ok("[server]\nworkers = 0\n");
    ck_assert_int_eq(C.workers, 0);
    sy_config_free(&C);
    load_ok("[server]\nworkers = 64\n");
    ck_assert_int_eq(C.workers, 64);
    sy_config_free(&C);
    load_fails_naming("[server]\nworkers = 65\n", "server.workers");
    sy_config_free(&C);
    load_fails_naming("[server]\nworkers = -1\n", "server.workers");
}
END_TEST

START_TEST(test_booleans_parse_and_junk_is_refused)
{
    load_ok("[server]\naccess_log = off\n[redis]\nrequired = yes\n");
    ck_assert(!C.access_log);
    ck_assert(C.redis_required);
    sy_config_free(&C);
    load_fails_naming("[server]\naccess_log = maybe\n", "server.access_log");
}
END_TEST

START_TEST(test_listen_mode_is_octal)
{
    load_ok("[server]\nlisten_mode = 0600\n");
    ck_assert_int_eq(C.listen_mode, 0600);
    sy_config_free(&C);
    load_fails_naming("[server]\nlisten_mode = 0800\n", "server.listen_mode");
}
END_TEST

START_TEST(test_redis_down_policy_and_log_level_are_words)
{
    load_ok("[ratelimit]\non_redis_down = closed\n[log]\nlevel = warn\n");
    ck_assert_int_eq(C.on_redis_down, SY_RL_DOWN_CLOSED);
    ck_assert_int_eq(C.log_level, SY_LOG_WARN);
    sy_config_free(&C);
    load_fails_naming("[ratelimit]\non_redis_down = sometimes\n",
                      "ratelimit.on_redis_down");
    sy_config_free(&C);
    load_fails_naming("[log]\nlevel = loud\n", "log.level");
}
END_TEST

/* ------------------------------------------------------------- [ai] */

START_TEST(test_ai_chains_parse_in_order_and_embeddings_end_local)
{
    load_ok("[ai]\nvision = gemini:gemini-1.5-flash, openai:gpt-4o-mini\n"
            "embeddings = openai:text-embedding-3-small\n"
            "tryon = fal:fal-ai/idm-vton replicate:owner/m:abc123\n");
    ck_assert_int_eq(C.ai_nchain[SY_AI_VISION], 2);
    ck_assert_int_eq(C.ai_chain[SY_AI_VISION][0].kind, SY_AI_GEMINI);
    ck_assert_str_eq(C.ai_chain[SY_AI_VISION][0].model, "gemini-1.5-flash");
    ck_assert_int_eq(C.ai_chain[SY_AI_VISION][1].kind, SY_AI_OPENAI);
    ck_assert_int_eq(C.ai_nchain[SY_AI_CHAT], 0);
    ck_assert_int_eq(C.ai_nchain[SY_AI_EMBEDDINGS], 2);
    ck_assert_int_eq(C.ai_chain[SY_AI_EMBEDDINGS][1].kind, SY_AI_LOCAL);
    ck_assert_str_eq(C.ai_chain[SY_AI_TRYON][1].model, "owner/m:abc123");
    ck_assert_ptr_null(C.ai_ep[SY_AI_OPENAI].key);
    ck_assert_str_eq(C.ai_ep[SY_AI_OPENAI].base_url, "https://api.openai.com");
}
END_TEST

START_TEST(test_ai_chains_refuse_what_cannot_work)
{
    load_fails_naming("[ai]\nchat = acme:x\n", "unknown provider");
    sy_config_free(&C);
    load_fails_naming("[ai]\nchat = fal:fal-ai/x\n", "does not offer");
    sy_config_free(&C);
    load_fails_naming("[ai]\nchat = openai\n", "needs a model");
    sy_config_free(&C);
    load_fails_naming("[ai]\nchat = openai:a openai:b\n", "listed twice");
    sy_config_free(&C);
    load_fails_naming("[ai]\nembeddings = local openai:e\n", "last");
    sy_config_free(&C);
    load_fails_naming("[ai]\nvision = openai:../x\n", "needs a model");
    sy_config_free(&C);
    load_fails_naming("[ai.openai]\nbase_url = http://h/\n",
                      "ai.openai.base_url");
    sy_config_free(&C);
    load_fails_naming("[ai.gemini]\ntimeout = 1s\nconnect_timeout = 2s\n",
                      "ai.gemini.connect_timeout");
}
END_TEST

/* The local try-on compositor is a try-on provider (last, no model),
 * and nothing else's; unlike embeddings, it is never added unasked. */
START_TEST(test_ai_tryon_local_compositor)
{
    load_ok("[ai]\ntryon = fal:fal-ai/idm-vton, local\n");
    ck_assert_int_eq(C.ai_nchain[SY_AI_TRYON], 2);
    ck_assert_int_eq(C.ai_chain[SY_AI_TRYON][0].kind, SY_AI_FAL);
    ck_assert_int_eq(C.ai_chain[SY_AI_TRYON][1].kind, SY_AI_LOCAL);
    ck_assert(sy_ai_kind_offers(SY_AI_LOCAL, SY_AI_TRYON));
    sy_config_free(&C);
    load_ok("[ai]\ntryon = local\n");
    ck_assert_int_eq(C.ai_nchain[SY_AI_TRYON], 1);
    sy_config_free(&C);
    load_ok("");
    ck_assert_int_eq(C.ai_nchain[SY_AI_TRYON], 0);
    sy_config_free(&C);
    load_fails_naming("[ai]\ntryon = local fal:fal-ai/x\n", "last");
    sy_config_free(&C);
    load_fails_naming("[ai]\ntryon = local:compositor\n",
                      "without a model");
    sy_config_free(&C);
    load_fails_naming("[ai]\nvision = local\n", "does not offer");
}
END_TEST

START_TEST(test_ai_key_file_is_read_and_checked)
{
    char extra[512];
    snprintf(extra, sizeof(extra), "[ai.openai]\nkey_file = %s\n",
             temp_file("sk-test-123\n"));
    load_ok(extra);
    ck_assert_str_eq(C.ai_ep[SY_AI_OPENAI].key, "sk-test-123");
    sy_config_free(&C);
    snprintf(extra, sizeof(extra), "[ai.fal]\nkey_file = %s\n",
             temp_file("two words\n"));
    load_fails_naming(extra, "ai.fal.key_file");
    sy_config_free(&C);
    /* the dotted section's variable */
    setenv("SYNTHIA_AI_REPLICATE_BASE_URL", "http://127.0.0.1:9", 1);
    load_ok("");
    ck_assert_str_eq(C.ai_ep[SY_AI_REPLICATE].base_url, "http://127.0.0.1:9");
}
END_TEST

START_TEST(test_cors_origins_must_be_bare_origins)
{
    load_ok("[cors]\norigins = https://a.example http://b.example:8080\n");
    ck_assert_str_eq(C.cors_origins, "https://a.example http://b.example:8080");
    sy_config_free(&C);
    load_fails_naming("[cors]\norigins = https://a.example/\n", "cors.origins");
    sy_config_free(&C);
    load_fails_naming("[cors]\norigins = a.example\n", "cors.origins");
}
END_TEST

/* ------------------------------------------------------------ networks */

static bool
trusted(const char *addr)
{
    return sy_config_trusted(&C, addr, strlen(addr));
}

START_TEST(test_default_trusts_loopback_only)
{
    load_ok("");
    ck_assert_int_eq(C.ntrusted, 2);
    ck_assert(trusted("127.0.0.1"));
    ck_assert(trusted("127.255.255.254"));
    ck_assert(trusted("::1"));
    ck_assert(!trusted("128.0.0.1"));
    ck_assert(!trusted("10.0.0.1"));
    ck_assert(!trusted("::2"));
}
END_TEST

START_TEST(test_ipv4_mapped_ipv6_peer_matches_ipv4_network)
{
    load_ok("");
    ck_assert(trusted("::ffff:127.0.0.1"));
    ck_assert(!trusted("::ffff:10.0.0.1"));
}
END_TEST

START_TEST(test_network_list_accepts_commas_and_spaces)
{
    load_ok("[server]\ntrusted_networks = 10.0.0.0/8, 192.168.1.0/24"
            "\tfd00::/8\n");
    ck_assert_int_eq(C.ntrusted, 3);
    ck_assert(trusted("10.200.3.4"));
    ck_assert(trusted("192.168.1.255"));
    ck_assert(!trusted("192.168.2.0"));
    ck_assert(trusted("fd12:3456::1"));
    ck_assert(!trusted("fe80::1"));
    ck_assert(!trusted("127.0.0.1"));
}
END_TEST

START_TEST(test_prefix_not_on_a_byte_boundary)
{
    load_ok("[server]\ntrusted_networks = 172.16.0.0/12 2001:db8::/33\n");
    ck_assert(trusted("172.16.0.0"));
    ck_assert(trusted("172.31.255.255"));
    ck_assert(!trusted("172.32.0.0"));
    ck_assert(!trusted("172.15.255.255"));
    ck_assert(trusted("2001:db8:7fff::1"));
    ck_assert(!trusted("2001:db8:8000::1"));
}
END_TEST

START_TEST(test_bare_address_is_a_host_route)
{
    load_ok("[server]\ntrusted_networks = 192.0.2.7 2001:db8::7\n");
    ck_assert(trusted("192.0.2.7"));
    ck_assert(!trusted("192.0.2.8"));
    ck_assert(trusted("2001:db8::7"));
    ck_assert(!trusted("2001:db8::8"));
}
END_TEST

START_TEST(test_zero_prefix_trusts_the_whole_family)
{
    load_ok("[server]\ntrusted_networks = 0.0.0.0/0\n");
    ck_assert(trusted("203.0.113.9"));
    ck_assert(trusted("::ffff:203.0.113.9"));
    ck_assert(!trusted("2001:db8::1"));
}
END_TEST

START_TEST(test_empty_network_list_trusts_nobody)
{
    load_ok("[server]\ntrusted_networks =\n");
    ck_assert_int_eq(C.ntrusted, 0);
    ck_assert(!trusted("127.0.0.1"));
}
END_TEST

START_TEST(test_garbage_addresses_are_not_trusted)
{
    load_ok("[server]\ntrusted_networks = 0.0.0.0/0 ::/0\n");
    ck_assert(!trusted(""));
    ck_assert(!trusted("localhost"));
    ck_assert(!trusted("127.0.0.1:80"));
    ck_assert(!sy_config_trusted(&C, "127.0.0.1", 3)); /* "127" */
}
END_TEST

START_TEST(test_bad_networks_are_refused_naming_them)
{
    static const char *bad[] = {"10.0.0.0/33", "banana",      "10.0.0.0/",
                                "::1/129",     "10.0.0.0/-1", "/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char extra[128];
        snprintf(extra, sizeof(extra), "[server]\ntrusted_networks = %s\n",
                 bad[i]);
        load_fails_naming(extra, bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "server.trusted_networks"));
        sy_config_free(&C);
    }
}
END_TEST

START_TEST(test_cidr_parse_fills_family_and_prefix)
{
    sy_cidr c;
    ck_assert_int_eq(sy_cidr_parse("10.1.2.3/16", 11, &c), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_int_eq(c.prefix, 16);
    ck_assert_int_eq(sy_cidr_parse("::1", 3, &c), 0);
    ck_assert_int_eq(c.family, AF_INET6);
    ck_assert_int_eq(c.prefix, 128);
    /* the length bounds the text: "10.0.0.0/8junk" cut at 10 */
    ck_assert_int_eq(sy_cidr_parse("10.0.0.0/8junk", 10, &c), 0);
    ck_assert_int_eq(c.prefix, 8);
}
END_TEST

/* ------------------------------------------------------------ shipped */

START_TEST(test_shipped_config_loads_with_env_for_paths)
{
    const char *srcdir = getenv("SY_SRCDIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/conf/synthia.conf",
             srcdir && *srcdir ? srcdir : "..");
    ck_assert_msg(access(path, R_OK) == 0, "cannot read %s", path);
    setenv("SYNTHIA_DATABASE_URL", DB_URL, 1);
    setenv("SYNTHIA_AUTH_JWT_SECRET_FILE", secret_path, 1);
    int rc = load(path);
    ck_assert_msg(rc == 0, "%s does not load: %s", path, err);
    ck_assert_str_eq(C.db_url, DB_URL);
    ck_assert_ptr_nonnull(C.listen);
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    const TTest *const required_tests[] = {
        test_defaults_fill_every_unset_key, test_config_remembers_its_path,
        test_jwt_secret_is_read_without_trailing_newline,
        test_missing_database_url_is_refused,
        test_missing_jwt_secret_file_is_refused,
        test_no_file_and_no_env_is_refused, test_short_jwt_secret_is_refused,
        test_unreadable_jwt_secret_file_is_refused,
        test_database_url_must_be_postgresql,
        test_refresh_ttl_must_exceed_access_ttl,
        test_failed_load_leaves_config_empty,
        test_missing_config_file_is_refused,
        test_password_file_is_read_into_memory, NULL};
    sy_check_tcase(s, "required", setup, teardown, required_tests);
    const TTest *const syntax_tests[] = {
        test_unknown_key_is_refused_naming_it_and_its_line,
        test_known_key_in_wrong_section_is_unknown,
        test_key_before_any_section_is_unknown,
        test_comments_and_blank_lines_are_ignored,
        test_hash_inside_a_word_is_part_of_the_value,
        test_quotes_keep_spaces_and_comment_characters,
        test_section_names_and_keys_may_have_spaces_around,
        test_crlf_line_endings_are_accepted,
        test_later_value_replaces_earlier_one,
        test_empty_value_clears_a_string_default,
        test_section_header_without_bracket_is_refused,
        test_line_without_equals_is_refused,
        test_section_state_survives_long_lines, NULL};
    sy_check_tcase(s, "syntax", setup, teardown, syntax_tests);
    const TTest *const env_tests[] = {
        test_env_overrides_the_file, test_env_alone_supplies_required_keys,
        test_bad_env_value_names_the_variable,
        test_empty_env_value_clears_a_required_key,
        test_every_key_has_env_name_help_and_default,
        test_every_key_accepts_its_own_default_in_a_file, NULL};
    sy_check_tcase(s, "env", setup, teardown, env_tests);
    const TTest *const values_tests[] = {
        test_durations_take_units, test_duration_below_minimum_is_refused,
        test_duration_above_maximum_is_refused, test_sizes_take_units,
        test_size_out_of_range_is_refused,
        test_integer_range_is_enforced_at_both_ends,
        test_booleans_parse_and_junk_is_refused, test_listen_mode_is_octal,
        test_redis_down_policy_and_log_level_are_words,
        test_cors_origins_must_be_bare_origins, NULL};
    sy_check_tcase(s, "values", setup, teardown, values_tests);
    const TTest *const ai_tests[] = {
        test_ai_chains_parse_in_order_and_embeddings_end_local,
        test_ai_chains_refuse_what_cannot_work,
        test_ai_tryon_local_compositor,
        test_ai_key_file_is_read_and_checked, NULL};
    sy_check_tcase(s, "ai", setup, teardown, ai_tests);
    const TTest *const networks_tests[] = {
        test_default_trusts_loopback_only,
        test_ipv4_mapped_ipv6_peer_matches_ipv4_network,
        test_network_list_accepts_commas_and_spaces,
        test_prefix_not_on_a_byte_boundary, test_bare_address_is_a_host_route,
        test_zero_prefix_trusts_the_whole_family,
        test_empty_network_list_trusts_nobody,
        test_garbage_addresses_are_not_trusted,
        test_bad_networks_are_refused_naming_them,
        test_cidr_parse_fills_family_and_prefix, NULL};
    sy_check_tcase(s, "networks", setup, teardown, networks_tests);
    const TTest *const shipped_tests[] = {
        test_shipped_config_loads_with_env_for_paths, NULL};
    sy_check_tcase(s, "shipped", setup, teardown, shipped_tests);
    return s;
}

int
main(void)
{
    sy_check_tmpdir(tmp_dir);
    return sy_check_run_in(config_suite(), tmp_dir);
}
