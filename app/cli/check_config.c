/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_config.c - `synthia check-config` and the config loading that
 * every subcommand shares.
 */
#include "synthia/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/str.h"

static sy_config loaded;

int
sy_cli_load_config(const char *config_path)
{
    char err[512];
    const char *path = config_path ? config_path : getenv("SYNTHIA_CONFIG");
    if (!path)
        path = sy_config_default_path();
    if (sy_config_load(&loaded, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "synthia: configuration error: %s\n", err);
        return SY_ECONFIG;
    }
    sy_conf = &loaded;
    sy_log_set_level(loaded.log_level);
    return 0;
}

static const char *const commands[] = {"admin", "migrate", "seed-demo"};

static void
command_labels(sy_buf *b, int i)
{
    sy_buf_puts(b, "command=");
    sy_metrics_label(b, commands[i]);
}

static sy_metric runs = {
    .name = "synthia_cli_runs_total",
    .help = "Runs of synthia commands outside the pool on this host.",
    .nseries = (int)(sizeof(commands) / sizeof(commands[0])),
    .labeller = command_labels,
    .sparse = true,
};
SY_METRICS_REGISTER(&runs)

int
sy_cli_start(const char *config_path, const char *command)
{
    int rc = sy_cli_load_config(config_path);
    if (rc < 0)
        return rc;
    /* best effort: without the directory, counts stay in this process */
    sy_metrics_use_file(sy_conf->metrics_dir, "cli");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i], command) == 0)
            sy_counter_add(&runs, (int)i, 1);
    return 0;
}

static void
print_key(const char *section, const char *key, const char *env,
          const char *def, const char *help, void *ud)
{
    sy_buf b;
    (void)ud;
    sy_buf_init(&b, NULL, 4096);
    sy_buf_puts(&b, "{\"section\":");
    sy_buf_json_str(&b, section, strlen(section));
    sy_buf_puts(&b, ",\"key\":");
    sy_buf_json_str(&b, key, strlen(key));
    sy_buf_puts(&b, ",\"env\":");
    sy_buf_json_str(&b, env, strlen(env));
    sy_buf_puts(&b, ",\"default\":");
    sy_buf_json_str(&b, def, strlen(def));
    sy_buf_puts(&b, ",\"help\":");
    sy_buf_json_str(&b, help, strlen(help));
    sy_buf_puts(&b, "}\n");
    fwrite(b.p, 1, b.len, stdout);
    sy_buf_free(&b);
}

int
sy_cli_check_config(const char *config_path, bool list_keys)
{
    if (list_keys) {
        sy_config_each_key(print_key, NULL);
        return 0;
    }
    if (sy_cli_load_config(config_path) < 0)
        return 1;
    if (sy_jwt_load() < 0) {
        fprintf(stderr, "synthia: configuration error: the JWT keys named "
                "by auth.* do not load (see the log line above)\n");
        return 1;
    }
    sy_buf b;
    const char *listen = sy_conf->listen ? sy_conf->listen : "(inherited)";
    const char *path = sy_conf->path ? sy_conf->path : "";
    sy_buf_init(&b, NULL, 8192);
    sy_buf_puts(&b, "{\"ok\":true,\"config\":");
    sy_buf_json_str(&b, path, strlen(path));
    sy_buf_puts(&b, ",\"listen\":");
    sy_buf_json_str(&b, listen, strlen(listen));
    sy_buf_printf(&b, ",\"workers\":%lld}\n", (long long)sy_conf->workers);
    fwrite(b.p, 1, b.len, stdout);
    sy_buf_free(&b);
    return 0;
}
