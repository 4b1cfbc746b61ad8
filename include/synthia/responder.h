/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * responder.h - one FastCGI responder: accept, parse, dispatch, write,
 * reset the arena, repeat.
 */
#ifndef SYNTHIA_RESPONDER_H
#define SYNTHIA_RESPONDER_H

#include <stdbool.h>

/* Exit statuses of a responder that the master understands. */
#define SY_EXIT_RECYCLE 0  /* max_requests reached, or drained */
#define SY_EXIT_FATAL 70   /* cannot serve at all (bad socket) */
#define SY_EXIT_TIMEOUT 75 /* a request ran past request_timeout */
#define SY_EXIT_RELOAD 76  /* no master: SIGHUP, re-execute to reload */

/* Serve on listen_fd until told to stop or recycled; returns the exit
 * status.  have_master: a master watches request timeouts; without one
 * the responder arms its own timer per request. */
int sy_responder_run(int listen_fd, bool have_master);

/* Without a master, after SIGHUP: a duplicate of the listening socket
 * kept for the re-exec (the handler replaced the original), or -1. */
int sy_responder_saved_listen_fd(void);

/* Ask the loop to stop after the current request (signal-safe). */
void sy_responder_stop(void);

#endif
