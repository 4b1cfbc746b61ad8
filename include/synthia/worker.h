/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * worker.h - the try-on job worker (app/worker/worker.c), run by
 * `synthia worker`.
 *
 * One process runs up to jobs.concurrency jobs at a time; any number of
 * processes on any number of hosts share one consumer group per
 * tenant's stream (jobq.h).  The job row in PostgreSQL is the truth: a
 * stream entry only says "look at this job", and a claim is a
 * conditional UPDATE (queued and due -> running with a lease), so a
 * duplicate or stale entry is simply dropped.  See the top of worker.c
 * for fairness, leases, stalls, back-off and stopping.
 */
#ifndef SYNTHIA_WORKER_H
#define SYNTHIA_WORKER_H

/* Run until SIGTERM or SIGINT (then stop as jobs.stop_grace says).
 * Returns the exit status: 0 after a clean stop, 1 when it could not
 * start. */
int sy_worker_run(void);

#endif
