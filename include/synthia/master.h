/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * master.h - `synthia serve`: the master process and its prefork pool.
 *
 * The master opens or inherits the socket, preforks server.workers
 * responders, respawns the ones that die (with back-off and a crash-loop
 * guard), recycles them after max_requests, rolls them onto a re-read
 * config on SIGHUP, drains on SIGTERM, and ends requests that run past
 * request_timeout.  It holds no application state and opens no stores.
 */
#ifndef SYNTHIA_MASTER_H
#define SYNTHIA_MASTER_H

typedef struct sy_serve_opts {
    const char *config_path; /* NULL: default path */
    const char *listen;      /* --listen, overrides server.listen */
    long workers;            /* --workers, -1: from config */
} sy_serve_opts;

/* argv of the process, for the re-exec that reloads a master-less
 * responder (set by main before sy_serve). */
extern char **sy_saved_argv;

/* Run `synthia serve`; returns the process exit status. */
int sy_serve(const sy_serve_opts *opts);

#endif
