/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.c (cli) - `synthia events prune`: the events' maintenance, meant
 * to run daily (cron or a systemd timer).  It creates the monthly
 * partitions of events ahead of time, drops the partitions whose every
 * event is older than events.retention, and deletes the hourly counts
 * older than that; prints {created, dropped, counts_deleted} as one JSON
 * line.  Exit status: 0 done, 1 failed, 2 usage.
 */
#include "synthia/cli.h"

#include <stdio.h>
#include <string.h>

#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/events.h"

int
sy_cli_events(int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "prune") != 0) {
        fputs("usage: synthia events prune\n", stderr);
        return 2;
    }
    sy_arena a;
    sy_arena_init(&a, 65536, 0);
    sy_str out;
    int rc = sy_events_prune(&a, sy_conf->events_retention_ms, &out);
    if (rc == 0)
        printf("%.*s\n", (int)out.len, out.p);
    else
        fprintf(stderr, "synthia events prune: %s\n", sy_strerror(rc));
    sy_arena_cleanup(&a);
    return rc == 0 ? 0 : 1;
}
