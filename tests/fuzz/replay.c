/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay.c - main() of replay_<target>: run saved inputs through a fuzz
 * target without libFuzzer, with the allocation-failure sweep (fuzz.h).
 *
 *   replay_<target> [--no-sweep | --trace] [FILE|DIR ...]
 *
 * Without arguments it runs every file of $SY_SRCDIR/tests/fuzz/corpus/
 * <target>/ (SY_SRCDIR defaults to "."): that is the `make check` test,
 * in every build (plain, ASan/UBSan, distcheck), so every seed and every
 * crash that became a regression seed is exercised on every run.  With
 * arguments it runs those files (a crash input from `make fuzz`, say), in
 * any build, no clang needed; --trace prints what each call returned
 * (the trace), to see what a seed reaches.  Exit 0 when every input ran without
 * a defect; 1 on a defect, or when there was no input at all (an empty corpus
 * would make this test pass without testing anything).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1u << 20)

static bool sweep = true, print_trace = false;
static long ninputs, nruns, ndefects;

static int
read_input(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* an exact-size heap block, so ASan sees a read past its end */
    uint8_t *buf = malloc(INPUT_MAX);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, INPUT_MAX, f);
    bool err = ferror(f) || !feof(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "replay: %s: unreadable or over %u bytes\n", path,
                INPUT_MAX);
        free(buf);
        return -1;
    }
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        abort();
    memcpy(exact, buf, n);
    free(buf);
    *out = exact;
    *len = n;
    return 0;
}

static void
run_file(const char *path)
{
    uint8_t *data;
    size_t size;
    if (read_input(path, &data, &size) < 0) {
        ndefects++;
        return;
    }
    ninputs++;
    sy_buf clean, failing;
    long k = fz_run_failing(data, size, 0, &clean);
    nruns++;
    fprintf(stderr, "%s: %zu bytes, %ld arena allocations\n", path, size, k);
    if (print_trace)
        fwrite(clean.p, 1, clean.len, stdout);
    /* N = 1, 2, ... until a run no longer reaches allocation N */
    for (long n = 1; sweep; n++) {
        bool fired = fz_run_failing(data, size, n, &failing) != 0;
        nruns++;
        if (fired && fz_compare(&clean, &failing, n) < 0) {
            fprintf(stderr, "  in %s\n", path);
            ndefects++;
        }
        sy_buf_free(&failing);
        if (!fired)
            break;
    }
    sy_buf_free(&clean);
    free(data);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (stable logs). */
static void
run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        ndefects++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n])
            abort();
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

static void
run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        run_dir(path);
    else
        run_file(path);
}

int
main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--no-sweep") == 0) {
        sweep = false;
        first = 2;
    } else if (argc > 1 && strcmp(argv[1], "--trace") == 0) {
        sweep = false;
        print_trace = true;
        first = 2;
    }
    if (argc > 1 && argv[1][0] == '-' && first == 1) {
        fprintf(stderr, "usage: %s [--no-sweep | --trace] [FILE|DIR ...]\n",
                argv[0]);
        return 2;
    }
    if (fz_init() < 0) {
        fprintf(stderr, "replay %s: initialisation failed\n", fz_target_name);
        return 1;
    }
    if (first < argc) {
        for (int i = first; i < argc; i++)
            run_path(argv[i]);
    } else {
        const char *src = getenv("SY_SRCDIR");
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
                 src && *src ? src : ".", fz_target_name);
        run_dir(dir);
    }
    printf("replay %s: %ld inputs, %ld runs (%s), %ld defects\n",
           fz_target_name, ninputs, nruns,
           sweep ? "with the allocation-failure sweep" : "no sweep", ndefects);
    if (ninputs == 0) {
        printf("replay %s: no inputs: nothing was tested\n", fz_target_name);
        return 1;
    }
    return ndefects ? 1 : 0;
}
