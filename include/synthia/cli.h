/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - subcommands other than serve and migrate.
 */
#ifndef SYNTHIA_CLI_H
#define SYNTHIA_CLI_H

#include <stdbool.h>

/* `synthia check-config`: validate and print a JSON summary; with
 * list_keys, print every key (section, key, env, default, help) as one
 * JSON line each instead.  Returns the process exit status. */
int sy_cli_check_config(const char *config_path, bool list_keys);

/* Load config_path (or the default) into the process-wide sy_conf, with
 * a message on stderr naming the bad key on failure.  0 or SY_ECONFIG. */
int sy_cli_load_config(const char *config_path);

/* The same for a command that works on the stores (admin, migrate,
 * seed-demo), which then counts its metrics into server.metrics_dir's
 * cli.seg, so that the responders' /metrics shows them. */
int sy_cli_start(const char *config_path, const char *command);

/* `synthia admin create-sysadmin|create-tenant|create-user|create-key`:
 * argv after "admin".  Prints what it created as one JSON line.  Returns
 * the process exit status: 0, 1 refused/failed, 2 usage. */
int sy_cli_admin(int argc, char **argv);

/* `synthia seed-demo`: the demo tenant, its accounts and keys, and a
 * deterministic catalog of fashion products.  Returns the exit status. */
int sy_cli_seed_demo(int argc, char **argv);

/* `synthia provider-check status|chat|vision|embed|tryon|tryon-status|
 * tryon-result ...`: argv after "provider-check".  One call through the
 * configured providers, printed as one JSON line {ok, outcome, result}.
 * Returns the exit status: 0 answered, 1 not, 2 usage. */
int sy_cli_provider_check(int argc, char **argv);

/* `synthia events prune`: partitions made ahead, expired ones dropped
 * (events.retention), one JSON line.  Returns the exit status. */
int sy_cli_events(int argc, char **argv);
/* `synthia reembed [--tenant ID|SLUG] [--batch N]`: argv after
 * "reembed".  Product vectors of the external embedders of [ai]
 * embeddings (reembed.h), one JSON line per tenant.  Returns the exit
 * status: 0, 1 failed (a provider: run it again), 2 usage. */
int sy_cli_reembed(int argc, char **argv);

/* `synthia worker`: the try-on job worker (worker.h) until SIGTERM.
 * `synthia jobs list-dead [--limit N] | requeue ID`: the dead-letter
 * list.  argv after the command; return the exit status. */
int sy_cli_worker(int argc, char **argv);
int sy_cli_jobs(int argc, char **argv);

#endif
