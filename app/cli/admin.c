/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * admin.c - `synthia admin create-sysadmin | create-tenant | create-user
 * | create-key` (cli.h): bootstrapping a platform before anyone can sign
 * in to the API.
 *
 * Each subcommand calls the same rules as the API (tenancy.h,
 * accounts.h) and prints what it created as one JSON line on stdout, in
 * the API's form.  A new API
 * key is printed once and never again.  Passwords are read from the
 * first line of stdin (never from the command line, which other users
 * can see), without echo on a terminal.
 *
 * Exit status: 0 created; 1 refused or failed (invalid value, duplicate,
 * unknown tenant, database error), with one line on stderr saying why;
 * 2 command-line usage error.
 */
#include "synthia/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "synthia/accounts.h"
#include "synthia/apikey.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/password.h"
#include "synthia/tenancy.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define MAX_SCOPES 32
#define USER_NAME_MAX_CHARS 200
#define KEY_NAME_MAX_CHARS 100

static const char usage[] =
    "usage: synthia admin create-sysadmin --email E [--name N] "
    "--password-stdin\n"
    "       synthia admin create-tenant --name N --slug S --plan P "
    "[--origin URL]... [--website URL]\n"
    "       synthia admin create-user --tenant SLUG --email E "
    "--role shopper|staff|owner [--name N] --password-stdin\n"
    "       synthia admin create-key --tenant SLUG "
    "--kind publishable|secret [--name N] [--scope S]...\n";

typedef struct admin_opts {
    const char *email, *name, *slug, *plan, *website, *tenant, *role, *kind;
    bool password_stdin;
    const char *origins[SY_TENANCY_ORIGINS_MAX];
    int norigins;
    const char *scopes[MAX_SCOPES];
    int nscopes;
} admin_opts;

typedef struct admin_ctx {
    const char *cmd; /* "create-tenant", for messages */
    sy_arena arena;
    sy_errs errs;
} admin_ctx;

/* ------------------------------------------------------------ output */

static int
fail(const admin_ctx *c, const char *what, const char *why)
{
    fprintf(stderr, "synthia admin %s: %s%s%s\n", c->cmd, what, why ? ": " : "",
            why ? why : "");
    return EXIT_FAIL;
}

static int
bad_usage(const char *what)
{
    fprintf(stderr, "synthia admin: %s\n%s", what, usage);
    return EXIT_USAGE;
}

static int
print_json(json_object *o)
{
    if (!o)
        return EXIT_FAIL;
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(o);
    return EXIT_OK;
}

/* ------------------------------------------------------------ input */

static void
set_echo(bool on, struct termios *saved)
{
    struct termios t = *saved;
    if (!on)
        t.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
}

/* First line of stdin, without its newline, in a heap buffer the caller
 * wipes and frees.  NULL when there is none. */
static char *
read_line(size_t *len)
{
    char *line = NULL;
    size_t cap = 0;
    struct termios saved;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs("password: ", stderr);
        set_echo(false, &saved);
    }
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        set_echo(true, &saved);
        fputc('\n', stderr);
    }
    if (n <= 0) {
        free(line);
        return NULL;
    }
    if (line[n - 1] == '\n')
        n--;
    *len = (size_t)n;
    return line;
}

/* The first line of stdin as the password: 0 with it in *pw (heap; the
 * caller wipes and frees it), or a message and EXIT_FAIL. */
static int
read_password(admin_ctx *c, char **pw, size_t *n)
{
    *pw = read_line(n);
    return *pw ? EXIT_OK : fail(c, "no password on stdin", NULL);
}

/* The domain's refusal, in the command line's words: each field error
 * names its option ("--plan: ..."); scopes[i] names the --scope given. */
static int
refused(admin_ctx *c, const admin_opts *o, int rc, const char *what)
{
    json_object *f = c->errs.fields;
    for (size_t i = 0; f && i < json_object_array_length(f); i++) {
        json_object *e = json_object_array_get_idx(f, i), *name, *msg;
        json_object_object_get_ex(e, "field", &name);
        json_object_object_get_ex(e, "message", &msg);
        const char *field = json_object_get_string(name);
        unsigned k;
        if (sscanf(field, "scopes[%u]", &k) == 1 && k < (unsigned)o->nscopes)
            fprintf(stderr, "synthia admin %s: --scope %s: %s\n", c->cmd,
                    o->scopes[k], json_object_get_string(msg));
        else
            fprintf(stderr, "synthia admin %s: --%s: %s\n", c->cmd, field,
                    json_object_get_string(msg));
    }
    if (f)
        return EXIT_FAIL;
    if (c->errs.detail)
        return fail(c, c->errs.detail, what);
    return fail(c, "failed", sy_strerror(rc));
}

/* The tenant with this slug into *tid, or a message. */
static int
tenant_id(admin_ctx *c, const char *slug, const char **tid)
{
    sy_tenant t;
    int rc = sy_tenancy_by_slug(&c->arena, slug, &c->errs, &t);
    if (rc == SY_ENOTFOUND)
        return fail(c, "no tenant has this slug", slug);
    if (rc < 0)
        return fail(c, "failed", sy_strerror(rc));
    *tid = t.id;
    return EXIT_OK;
}

static int
create_account(admin_ctx *c, const admin_opts *o, const char *tid, int role)
{
    char *pw;
    size_t n = 0;
    sy_user u;
    int rc = read_password(c, &pw, &n);
    if (rc != EXIT_OK)
        return rc;
    rc = sy_accounts_create_plain(&c->arena, tid, sy_str_c(o->email),
                                  sy_str_c(o->name), role, (sy_str){pw, n},
                                  &c->errs, &u);
    explicit_bzero(pw, n);
    free(pw);
    if (rc < 0)
        return refused(c, o, rc, o->email);
    return print_json(sy_accounts_json(&u));
}

static int
cmd_sysadmin(admin_ctx *c, admin_opts *o)
{
    return create_account(c, o, NULL, SY_ROLE_SYSADMIN);
}

static int
cmd_user(admin_ctx *c, admin_opts *o)
{
    const char *tid;
    int role = sy_accounts_tenant_role(sy_str_c(o->role));
    if (!role)
        return fail(c, "--role", "must be shopper, staff or owner");
    if (tenant_id(c, o->tenant, &tid) != EXIT_OK)
        return EXIT_FAIL;
    return create_account(c, o, tid, role);
}

static int
cmd_tenant(admin_ctx *c, admin_opts *o)
{
    sy_tenant t;
    sy_tenancy_new n = {.name = o->name, .slug = o->slug, .plan = o->plan,
                        .website = o->website, .origins = o->origins,
                        .norigins = o->norigins};
    int rc = sy_tenancy_create_plain(&c->arena, &n, &c->errs, &t);
    if (rc < 0)
        return refused(c, o, rc, o->slug);
    return print_json(sy_tenancy_tenant_json(&t));
}

static int
cmd_key(admin_ctx *c, admin_opts *o)
{
    const char *tid;
    sy_tenancy_key k;
    if (!sy_tenancy_key_kind(sy_str_c(o->kind)))
        return fail(c, "--kind", "must be publishable or secret");
    if (tenant_id(c, o->tenant, &tid) != EXIT_OK)
        return EXIT_FAIL;
    int rc = sy_tenancy_key_create_plain(&c->arena, tid, o->name, o->kind,
                                         o->scopes, o->nscopes, &c->errs, &k);
    if (rc < 0)
        return refused(c, o, rc, o->tenant);
    json_object *j = sy_tenancy_key_json(&k.row);
    json_object_object_add(j, "tenant_id", json_object_new_string(tid));
    json_object_object_add(j, "key", json_object_new_string(k.key));
    explicit_bzero(k.key, sizeof(k.key));
    return print_json(j);
}

/* ------------------------------------------------------------ options */

typedef struct command {
    const char *name;
    const char *allowed;  /* " --a --b " */
    const char *required; /* " --a " */
    int (*run)(admin_ctx *c, admin_opts *o);
} command;

static const command commands[] = {
    {"create-sysadmin", " --email --name --password-stdin ",
     " --email --password-stdin ", cmd_sysadmin},
    {"create-tenant", " --name --slug --plan --origin --website ",
     " --name --slug --plan ", cmd_tenant},
    {"create-user", " --tenant --email --role --name --password-stdin ",
     " --tenant --email --role --password-stdin ", cmd_user},
    {"create-key", " --tenant --kind --name --scope ", " --tenant --kind ",
     cmd_key},
};

/* Is " opt " one of the words of list? */
static bool
listed(const char *list, const char *opt, size_t len)
{
    for (const char *p = list; (p = strstr(p, opt)) != NULL; p++)
        if (p[-1] == ' ' && p[len] == ' ')
            return true;
    return false;
}

static const char **
single(admin_opts *o, const char *opt)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {
        {"--email", offsetof(admin_opts, email)},
        {"--name", offsetof(admin_opts, name)},
        {"--slug", offsetof(admin_opts, slug)},
        {"--plan", offsetof(admin_opts, plan)},
        {"--website", offsetof(admin_opts, website)},
        {"--tenant", offsetof(admin_opts, tenant)},
        {"--role", offsetof(admin_opts, role)},
        {"--kind", offsetof(admin_opts, kind)},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, opt) == 0)
            return (const char **)((char *)o + map[i].off);
    return NULL;
}

static int
add_multi(admin_opts *o, const char *opt, const char *value)
{
    if (strcmp(opt, "--origin") == 0) {
        if (o->norigins == SY_TENANCY_ORIGINS_MAX)
            return bad_usage("at most 100 --origin");
        o->origins[o->norigins++] = value;
        return 0;
    }
    if (o->nscopes == MAX_SCOPES)
        return bad_usage("too many --scope");
    o->scopes[o->nscopes++] = value;
    return 0;
}

/* One option (and its value): 0, or the usage exit status. */
static int
take_opt(const command *cmd, admin_opts *o, char **argv, int argc, int *i)
{
    char name[32];
    const char *arg = argv[*i], *eq = strchr(arg, '='), *value = NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof(name) || strncmp(arg, "--", 2) != 0)
        return bad_usage("unexpected argument");
    memcpy(name, arg, len);
    name[len] = '\0';
    if (!listed(cmd->allowed, name, len)) {
        fprintf(stderr, "synthia admin %s: unknown option %s\n", cmd->name,
                name);
        return bad_usage("unknown option");
    }
    if (strcmp(name, "--password-stdin") == 0) {
        o->password_stdin = true;
        return eq ? bad_usage("--password-stdin takes no value") : 0;
    }
    if (eq)
        value = eq + 1;
    else if (*i + 1 < argc)
        value = argv[++*i];
    else
        return bad_usage("an option is missing its value");
    const char **slot = single(o, name);
    if (!slot)
        return add_multi(o, name, value);
    if (*slot)
        return bad_usage("an option is given twice");
    *slot = value;
    return 0;
}

static bool
given(admin_opts *o, const char *opt)
{
    const char **slot = single(o, opt);
    if (slot)
        return *slot != NULL;
    return strcmp(opt, "--password-stdin") == 0 && o->password_stdin;
}

/* Every required option present?  Names the first one missing. */
static int
check_required(const command *cmd, admin_opts *o)
{
    char opt[32];
    const char *p = cmd->required;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        snprintf(opt, sizeof(opt), "%.*s", (int)n, p);
        if (!given(o, opt)) {
            fprintf(stderr, "synthia admin %s: %s is required\n", cmd->name,
                    opt);
            return bad_usage("missing option");
        }
        p += n;
    }
    return 0;
}

static const command *
find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int
sy_cli_admin(int argc, char **argv)
{
    if (argc < 1)
        return bad_usage("missing subcommand");
    const command *cmd = find_command(argv[0]);
    if (!cmd)
        return bad_usage("unknown subcommand");
    admin_opts o = {.name = NULL};
    for (int i = 1; i < argc; i++) {
        int rc = take_opt(cmd, &o, argv, argc, &i);
        if (rc)
            return rc;
    }
    int rc = check_required(cmd, &o);
    if (rc)
        return rc;
    if (!o.name)
        o.name = "";
    if (!sy_conf || !sy_conf->db_url)
        return bad_usage("database.url is not set");
    admin_ctx c = {.cmd = cmd->name};
    sy_arena_init(&c.arena, 4096, 0);
    sy_errs_init(&c.errs, &c.arena);
    rc = cmd->run(&c, &o);
    sy_arena_cleanup(&c.arena);
    sy_db_close();
    return rc;
}
