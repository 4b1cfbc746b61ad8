/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sycheck.h - what every Check suite of tests/unit/ would otherwise
 * write again: a test case from a NULL-terminated list of tests, the
 * run of a suite (forked per test, CK_NORMAL, the exit status make
 * check reads), a fixture with an arena and field errors, and throwaway
 * directories and files under /tmp.
 */
#ifndef SYNTHIA_SYCHECK_H
#define SYNTHIA_SYCHECK_H

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/errs.h"
#include "synthia/json.h"
#include "synthia/str.h"

/* Define the file's A (an arena of `size` bytes a block) and E (field
 * errors in it), fresh for every test: setup and teardown for
 * sy_check_tcase.  Register what a test allocates elsewhere with
 * sy_arena_defer so that teardown frees it. */
#define SY_CHECK_FIXTURE(size)                                                 \
    static sy_arena A;                                                         \
    static sy_errs E;                                                          \
    static void setup(void)                                                    \
    {                                                                          \
        sy_arena_init(&A, (size), 0);                                          \
        sy_errs_init(&E, &A);                                                  \
    }                                                                          \
    static void teardown(void)                                                 \
    {                                                                          \
        sy_arena_cleanup(&A);                                                  \
    }

/* Add to s the test case name: tests (NULL-terminated), each run
 * between setup and teardown when they are given. */
static inline TCase *
sy_check_tcase(Suite *s, const char *name, SFun setup, SFun teardown,
               const TTest *const *tests)
{
    TCase *tc = tcase_create(name);
    if (setup || teardown)
        tcase_add_checked_fixture(tc, setup, teardown);
    for (; *tests; tests++)
        tcase_add_test(tc, *tests);
    suite_add_tcase(s, tc);
    return tc;
}

/* text parsed as JSON (it must be), freed with the arena a. */
static inline json_object *
sy_check_json(sy_arena *a, const char *text)
{
    json_object *o = json_tokener_parse(text);
    ck_assert_msg(o != NULL, "bad test JSON: %s", text);
    ck_assert_int_eq(sy_arena_defer(a, sy_json_put, o), 0);
    return o;
}

/* The fields of e's errors in order, joined by ' ' ("" for none). */
static inline const char *
sy_check_error_fields(const sy_errs *e)
{
    sy_buf b;
    sy_buf_init(&b, e->arena, 4096);
    size_t n = e->fields ? json_object_array_length(e->fields) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *f;
        json_object_object_get_ex(json_object_array_get_idx(e->fields, i),
                                  "field", &f);
        sy_buf_printf(&b, "%s%s", i ? " " : "", json_object_get_string(f));
    }
    return n ? sy_buf_cstr(&b) : "";
}

/* A fresh directory /tmp/sycheck-XXXXXX into dir (64 bytes); a test
 * program that cannot make one stops at once. */
static inline void
sy_check_tmpdir(char dir[64])
{
    snprintf(dir, 64, "/tmp/sycheck-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(EXIT_FAILURE);
    }
}

/* Write content to dir/name; the path into path (256 bytes). */
static inline void
sy_check_write(const char *dir, const char *name, const char *content,
               char path[256])
{
    snprintf(path, 256, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(content, f);
    fclose(f);
}

/* Remove dir and the plain files in it (tests make no deeper trees). */
static inline void
sy_check_rmdir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
    if (system(cmd) != 0) /* outside a test too: no ck_assert here */
        fprintf(stderr, "sycheck: cannot remove %s\n", dir);
}

static inline void
sy_check_unset_(const char *section, const char *key, const char *env,
                const char *def, const char *help, void *ud)
{
    (void)section, (void)key, (void)def, (void)help, (void)ud;
    unsetenv(env);
}

/* Unset every SYNTHIA_* variable the configuration reads, so that the
 * caller's environment cannot change what a test sees. */
static inline void
sy_check_clean_env(void)
{
    sy_config_each_key(sy_check_unset_, NULL);
}

/* Run s with a fresh temporary directory in dir (64 bytes), removed
 * afterwards with whatever the tests left there. */
static inline int
sy_check_run_in(Suite *s, char dir[64]);

/* Run s; EXIT_SUCCESS when every test passed. */
static inline int
sy_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static inline int
sy_check_run_in(Suite *s, char dir[64])
{
    int rc = sy_check_run(s);
    sy_check_rmdir(dir);
    return rc;
}

/* Run the suite name of one test case (of the same name): tests
 * (NULL-terminated) between setup and teardown. */
static inline int
sy_check_suite(const char *name, SFun setup, SFun teardown,
               const TTest *const *tests)
{
    Suite *s = suite_create(name);
    sy_check_tcase(s, name, setup, teardown, tests);
    return sy_check_run(s);
}

#endif
