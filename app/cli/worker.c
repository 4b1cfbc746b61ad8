/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * worker.c (cli) - `synthia worker` (run the try-on job worker,
 * worker.h) and `synthia jobs list-dead [--limit N] | requeue ID` (the
 * dead-letter list: jobs whose every attempt failed, status error).
 * list-dead prints one JSON object per line; requeue prints {id,
 * status}.  Exit status: 0, 1 failed or not found, 2 usage.
 */
#include "synthia/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/jobq.h"
#include "synthia/worker.h"

int
sy_cli_worker(int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fputs("usage: synthia worker\n", stderr);
        return 2;
    }
    return sy_worker_run();
}

static int
jobs_usage(void)
{
    fputs("usage: synthia jobs list-dead [--limit N]\n"
          "       synthia jobs requeue ID\n", stderr);
    return 2;
}

static int
list_dead(sy_arena *a, int argc, char **argv)
{
    long limit = 100;
    if (argc == 2 && strcmp(argv[0], "--limit") == 0) {
        char *end;
        limit = strtol(argv[1], &end, 10);
        if (*end || limit < 1 || limit > 100000)
            return jobs_usage();
    } else if (argc != 0) {
        return jobs_usage();
    }
    const char **rows;
    int n;
    int rc = sy_jobq_dead(a, (int)limit, &rows, &n);
    if (rc < 0) {
        fprintf(stderr, "synthia jobs list-dead: %s\n", sy_strerror(rc));
        return 1;
    }
    for (int i = 0; i < n; i++)
        printf("%s\n", rows[i]);
    return 0;
}

static int
requeue(sy_arena *a, const char *id)
{
    if (!sy_uuid_valid(id, strlen(id)))
        return jobs_usage();
    int rc = sy_jobq_requeue(a, id);
    if (rc == SY_ENOTFOUND) {
        fprintf(stderr, "synthia jobs requeue: %s is not a dead-lettered "
                        "job (status error)\n", id);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "synthia jobs requeue: %s\n", sy_strerror(rc));
        return 1;
    }
    printf("{\"id\":\"%s\",\"status\":\"queued\"}\n", id);
    return 0;
}

int
sy_cli_jobs(int argc, char **argv)
{
    if (argc < 1)
        return jobs_usage();
    sy_arena a;
    sy_arena_init(&a, 65536, 0);
    int rc;
    if (strcmp(argv[0], "list-dead") == 0)
        rc = list_dead(&a, argc - 1, argv + 1);
    else if (strcmp(argv[0], "requeue") == 0 && argc == 2)
        rc = requeue(&a, argv[1]);
    else
        rc = jobs_usage();
    sy_arena_cleanup(&a);
    return rc;
}
