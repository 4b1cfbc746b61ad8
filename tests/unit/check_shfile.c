/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_shfile.c - the shared block files under runtime_dir (shfile.h):
 * what a publish unlinks and keeps, the lock, the map of a file.
 */
#include <sys/mman.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/shfile.h"

static bool
exists(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

START_TEST(test_publish_unlinks_older_versions_and_dead_builders_only)
{
    char dir[64], path[256], tmp[64];
    sy_check_tmpdir(dir);
    sy_check_write(dir, "txt-T-v3.bin", "old", path);
    sy_check_write(dir, "txt-T-v9.bin", "newer", path);
    sy_check_write(dir, "txt-T-v10x.bin", "odd", path);
    sy_check_write(dir, "txt-T-77.tmp", "a builder that died", path);
    sy_check_write(dir, "txt-T.lock", "", path);
    sy_check_write(dir, "txt-U-v1.bin", "another key", path);
    int lock = sy_shfile_lock(dir, "txt-T.lock");
    ck_assert_int_ge(lock, 0);
    int fd = sy_shfile_create(dir, "txt-T-", tmp, sizeof(tmp));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(sy_shfile_write_all(fd, "block", 5), 0);
    close(fd);
    ck_assert_int_eq(sy_shfile_publish(dir, tmp, "txt-T-v5.bin", "txt-T-"),
                     0);
    sy_shfile_unlock(lock);
    ck_assert(exists(dir, "txt-T-v5.bin"));
    ck_assert(!exists(dir, tmp));
    ck_assert(!exists(dir, "txt-T-v3.bin"));   /* older */
    ck_assert(exists(dir, "txt-T-v9.bin"));    /* newer: others map it */
    ck_assert(!exists(dir, "txt-T-v10x.bin")); /* not a version */
    ck_assert(!exists(dir, "txt-T-77.tmp"));   /* its builder died */
    ck_assert(exists(dir, "txt-T.lock"));
    ck_assert(exists(dir, "txt-U-v1.bin"));    /* another key */

    /* a name without a version replaces every other file of the key */
    fd = sy_shfile_create(dir, "txt-T-", tmp, sizeof(tmp));
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(sy_shfile_publish(dir, tmp, "txt-T-f01.bin", "txt-T-"),
                     0);
    ck_assert(!exists(dir, "txt-T-v5.bin"));
    ck_assert(!exists(dir, "txt-T-v9.bin"));
    ck_assert(exists(dir, "txt-T-f01.bin"));
    sy_check_rmdir(dir);
}
END_TEST

START_TEST(test_map_reads_the_file_and_refuses_what_is_short)
{
    char dir[64], path[256];
    sy_shfile f;
    sy_check_tmpdir(dir);
    sy_check_write(dir, "b.bin", "0123456789", path);
    ck_assert_int_eq(sy_shfile_map(dir, "b.bin", 4, &f), 0);
    ck_assert_uint_eq(f.bytes, 10);
    ck_assert(memcmp(f.base, "0123456789", 10) == 0);
    munmap(f.base, f.bytes);
    ck_assert_int_eq(sy_shfile_map(dir, "b.bin", 11, &f), SY_EINVAL);
    ck_assert_int_eq(sy_shfile_map(dir, "none.bin", 1, &f), SY_ENOTFOUND);
    sy_check_write(dir, "empty.bin", "", path);
    ck_assert_int_eq(sy_shfile_map(dir, "empty.bin", 0, &f), SY_EINVAL);
    sy_check_rmdir(dir);
}
END_TEST

START_TEST(test_sum_sees_one_bit)
{
    unsigned char b[100];
    memset(b, 7, sizeof(b));
    uint64_t s = sy_shfile_sum(b, sizeof(b));
    for (size_t i = 0; i < sizeof(b); i++) {
        b[i] ^= 1;
        ck_assert(sy_shfile_sum(b, sizeof(b)) != s);
        b[i] ^= 1;
    }
    ck_assert(sy_shfile_sum(b, 99) != s);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_publish_unlinks_older_versions_and_dead_builders_only,
        test_map_reads_the_file_and_refuses_what_is_short,
        test_sum_sees_one_bit, NULL};
    return sy_check_suite("shfile", NULL, NULL, tests);
}
