/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - `synthia <command>`: subcommand dispatch, nothing else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/cli.h"
#include "synthia/config.h"
#include "synthia/log.h"
#include "synthia/master.h"
#include "synthia/migrate.h"
#include "synthia/str.h"

static const char usage[] =
    "usage: synthia [--config FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  serve [--listen SPEC] [--workers N]  run the FastCGI responder pool\n"
    "  migrate [status]                     apply or list schema migrations\n"
    "  check-config [--keys]                validate the configuration\n"
    "  admin create-sysadmin|create-tenant|create-user|create-key ...\n"
    "                                       bootstrap tenants, users, keys\n"
    "  seed-demo                            load the demo tenant and catalog\n"
    "  provider-check CHECK [ARGS]          one call through the AI providers\n"
    "  events prune                         events: partitions ahead, retention\n"
    "  reembed [--tenant T] [--batch N]     vectors of the external embedders\n"
    "  worker                               run try-on jobs until SIGTERM\n"
    "  jobs list-dead|requeue ID            dead-lettered try-on jobs\n"
    "  version                              print the version (-V, --version)\n"
    "  help                                 this text (-h, --help)\n"
    "\n"
    "The configuration is read from --config FILE, $SYNTHIA_CONFIG, or\n"
    SY_SYSCONFDIR "/synthia.conf; every key can be overridden by\n"
    "SYNTHIA_<SECTION>_<KEY> in the environment.  See synthia(8).\n"
    "Report bugs to <" PACKAGE_BUGREPORT ">.\n";

static int
bad_usage(const char *what)
{
    fprintf(stderr, "synthia: %s\n\n%s", what, usage);
    return 2;
}

/* Remove "--config FILE" / "--config=FILE" from argv wherever it is. */
static const char *
take_config(int *argc, char **argv)
{
    const char *path = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < *argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return path;
}

static int
cmd_serve(const char *config, int argc, char **argv)
{
    sy_serve_opts o = {.config_path = config, .listen = NULL, .workers = -1};
    for (int i = 0; i < argc; i++) {
        int64_t n;
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            o.listen = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            if (sy_parse_i64(sy_str_c(argv[++i]), 0, 64, &n) < 0)
                return bad_usage("--workers takes a number from 0 to 64");
            o.workers = (long)n;
        } else {
            return bad_usage("unknown option for serve");
        }
    }
    if (!o.config_path)
        o.config_path = getenv("SYNTHIA_CONFIG");
    if (!o.config_path)
        o.config_path = sy_config_default_path();
    if (sy_cli_load_config(o.config_path) < 0)
        return 1;
    return sy_serve(&o);
}

int
main(int argc, char **argv)
{
    char **saved = calloc((size_t)argc + 1, sizeof(char *));
    if (!saved)
        return 1;
    memcpy(saved, argv, (size_t)argc * sizeof(char *));
    sy_saved_argv = saved;
    sy_log_set_proc("cli");

    const char *config = take_config(&argc, argv);
    if (argc < 2)
        return bad_usage("missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
        strcmp(cmd, "-V") == 0) {
        printf("{\"name\":\"%s\",\"version\":\"%s\"}\n", PACKAGE_NAME,
               PACKAGE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(config, argc - 2, argv + 2);
    if (strcmp(cmd, "check-config") == 0)
        return sy_cli_check_config(config,
                                   argc > 2 && strcmp(argv[2], "--keys") == 0);
    if (strcmp(cmd, "admin") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_admin(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "seed-demo") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_seed_demo(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "reembed") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_reembed(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "provider-check") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_provider_check(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "events") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_events(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "worker") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_worker(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "jobs") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_jobs(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "migrate") == 0) {
        if (sy_cli_start(config, cmd) < 0)
            return 1;
        return sy_cli_migrate(argc - 2, argv + 2);
    }
    return bad_usage("unknown command");
}
