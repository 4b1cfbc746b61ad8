/*
 * admin.c - `synthia admin create-sysadmin | create-tenant | create-user
 * | create-key` (cli.h): bootstrapping a platform before anyone can sign
 * in to the API.
 *
 * Each subcommand checks its input with the same rules as the API
 * (tenancy.h, account.h, password.h), runs the same statements from the
 * one table (statements.c) over a connection of its own, and prints what
 * it created as one JSON line on stdout, in the API's form.  A new API
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
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "synthia/account.h"
#include "synthia/apikey.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/statements.h"
#include "synthia/error.h"
#include "synthia/password.h"
#include "synthia/request.h"
#include "synthia/router.h"
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
    PGconn *db;
    sy_arena arena;
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

/* ------------------------------------------------------------ database */

static void
on_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs are not for the operator's terminal */
}

struct pg_conn *
sy_cli_db_connect(const char *who)
{
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)(sy_conf->db_connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"application_name", "client_encoding", "dbname",
                          "connect_timeout",  "password",        NULL};
    const char *vals[] = {
        who, "UTF8", sy_conf->db_url, timeout, sy_conf->db_password, NULL};
    if (!sy_conf->db_password)
        keys[4] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s: cannot connect to the database: %s", who,
                c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    return c;
}

/* Run statement stmt of the table on our connection.  0 with the
 * result (the caller clears it), SY_ECONFLICT for a unique violation
 * (nothing printed: the caller says what exists), SY_EDB otherwise
 * (printed). */
static int
run(admin_ctx *c, const sy_db_stmt *s, const char *const *params,
    PGresult **out)
{
    PGresult *r =
        PQexecParams(c->db, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = r;
        return 0;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int rc = state && strcmp(state, "23505") == 0 ? SY_ECONFLICT : SY_EDB;
    if (rc == SY_EDB)
        fprintf(stderr, "synthia admin %s: database error: %s", c->cmd,
                r ? PQresultErrorMessage(r) : PQerrorMessage(c->db));
    PQclear(r);
    return rc;
}

/* The tenant with this slug, or a message and NULL. */
static PGresult *
tenant_by_slug(admin_ctx *c, const char *slug)
{
    PGresult *r;
    const char *params[1] = {slug};
    if (run(c, &sy_sql_tenant_by_slug, params, &r) < 0)
        return NULL;
    if (PQntuples(r) == 1)
        return r;
    PQclear(r);
    fail(c, "no tenant has this slug", slug);
    return NULL;
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

/* Read, check and hash the password into hash. */
static int
password_hash(admin_ctx *c, char hash[SY_PASSWORD_HASH_MAX])
{
    size_t n = 0;
    const char *why = NULL;
    char *pw = read_line(&n);
    if (!pw)
        return fail(c, "no password on stdin", NULL);
    sy_str s = {pw, n};
    int rc = sy_password_policy(s, &why);
    if (rc == 0)
        rc = sy_password_hash(s, hash, SY_PASSWORD_HASH_MAX);
    explicit_bzero(pw, n);
    free(pw);
    if (rc == SY_EVALIDATION)
        return fail(c, "password refused", why);
    if (rc < 0)
        return fail(c, "cannot hash the password", sy_strerror(rc));
    return EXIT_OK;
}

/* --name as stored: trimmed, at most max characters ("" when absent). */
static int
text_opt(admin_ctx *c, const char *opt, const char **value, bool required,
         size_t max)
{
    const char *why;
    sy_str s = sy_str_c(*value);
    if (sy_tenancy_text(&s, true, required ? 1 : 0, max, &why) < 0)
        return fail(c, opt, why);
    *value = sy_str_dup(&c->arena, s);
    return *value ? EXIT_OK : fail(c, "out of memory", NULL);
}

static int
email_opt(admin_ctx *c, const char **email)
{
    sy_str s;
    if (sy_account_email(sy_str_c(*email), &s) < 0)
        return fail(c, "--email", "is not a valid email address");
    *email = sy_str_dup(&c->arena, s);
    return *email ? EXIT_OK : fail(c, "out of memory", NULL);
}

/* ------------------------------------------------------------ commands */

static int
create_account(admin_ctx *c, const char *tenant_id, const char *email,
               const char *name, const char *role)
{
    char hash[SY_PASSWORD_HASH_MAX];
    int rc = password_hash(c, hash);
    if (rc != EXIT_OK)
        return rc;
    PGresult *r;
    const char *params[5] = {tenant_id, email, name, role, hash};
    rc = run(c, &sy_sql_admin_user_insert, params, &r);
    explicit_bzero(hash, sizeof(hash));
    if (rc == SY_ECONFLICT)
        return fail(c, "a user with this email already exists", email);
    if (rc < 0)
        return EXIT_FAIL;
    rc = print_json(sy_account_json(r, 0));
    PQclear(r);
    return rc;
}

static int
cmd_sysadmin(admin_ctx *c, admin_opts *o)
{
    if (email_opt(c, &o->email) != EXIT_OK ||
        text_opt(c, "--name", &o->name, false, USER_NAME_MAX_CHARS) != EXIT_OK)
        return EXIT_FAIL;
    return create_account(c, NULL, o->email, o->name, "sysadmin");
}

static int
cmd_user(admin_ctx *c, admin_opts *o)
{
    if (strcmp(o->role, "shopper") != 0 && strcmp(o->role, "staff") != 0 &&
        strcmp(o->role, "owner") != 0)
        return fail(c, "--role", "must be shopper, staff or owner");
    if (email_opt(c, &o->email) != EXIT_OK ||
        text_opt(c, "--name", &o->name, false, USER_NAME_MAX_CHARS) != EXIT_OK)
        return EXIT_FAIL;
    PGresult *t = tenant_by_slug(c, o->tenant);
    if (!t)
        return EXIT_FAIL;
    char tid[SY_UUID_LEN + 1];
    snprintf(tid, sizeof(tid), "%s", PQgetvalue(t, 0, 0));
    PQclear(t);
    return create_account(c, tid, o->email, o->name, o->role);
}

/* The --origin list as a JSON array text of normalised origins. */
static int
origins_json(admin_ctx *c, const admin_opts *o, char **out)
{
    json_object *list = json_object_new_array();
    int rc = EXIT_OK;
    for (int i = 0; i < o->norigins && rc == EXIT_OK; i++) {
        char origin[SY_TENANCY_ORIGIN_MAX + 1];
        const char *why;
        if (sy_tenancy_origin(sy_str_c(o->origins[i]), origin, sizeof(origin),
                              &why) < 0)
            rc = fail(c, "--origin", why);
        else
            json_object_array_add(list, json_object_new_string(origin));
    }
    if (rc == EXIT_OK) {
        const char *s =
            json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN);
        *out = sy_arena_strndup(&c->arena, s, strlen(s));
    }
    json_object_put(list);
    return rc;
}

static int
check_opt(admin_ctx *c, const char *opt, const char *value,
          int (*check)(sy_str, const char **))
{
    const char *why;
    if (value && check(sy_str_c(value), &why) < 0)
        return fail(c, opt, why);
    return EXIT_OK;
}

static int
cmd_tenant(admin_ctx *c, admin_opts *o)
{
    char *origins = NULL;
    if (text_opt(c, "--name", &o->name, true, 200) != EXIT_OK ||
        check_opt(c, "--slug", o->slug, sy_tenancy_check_slug) != EXIT_OK ||
        check_opt(c, "--plan", o->plan, sy_tenancy_check_plan) != EXIT_OK ||
        check_opt(c, "--website", o->website, sy_tenancy_check_website) !=
            EXIT_OK ||
        origins_json(c, o, &origins) != EXIT_OK)
        return EXIT_FAIL;
    PGresult *r;
    const char *params[5] = {o->name, o->slug, o->website, o->plan, origins};
    int rc = run(c, &sy_sql_tenant_insert, params, &r);
    if (rc == SY_ECONFLICT)
        return fail(c, "a tenant with this slug already exists", o->slug);
    if (rc < 0)
        return EXIT_FAIL;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(c, "no plan has this id", o->plan);
    }
    rc = print_json(sy_tenancy_tenant_json(r, 0));
    PQclear(r);
    return rc;
}

static int
key_scopes(admin_ctx *c, const admin_opts *o, int kind, uint32_t *mask)
{
    *mask = o->nscopes ? 0 : sy_tenancy_key_scopes(kind);
    for (int i = 0; i < o->nscopes; i++) {
        const char *why;
        uint32_t bit = sy_tenancy_key_scope(kind, sy_str_c(o->scopes[i]), &why);
        if (!bit) {
            fprintf(stderr, "synthia admin %s: --scope %s: %s\n", c->cmd,
                    o->scopes[i], why);
            return EXIT_FAIL;
        }
        *mask |= bit;
    }
    return EXIT_OK;
}

static int
insert_key(admin_ctx *c, const char *tid, const admin_opts *o, int kind,
           const char *scopes)
{
    char key[SY_APIKEY_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    char hex[2 * SY_SHA256_LEN + 1];
    unsigned char hash[SY_SHA256_LEN];
    sy_apikey_generate(kind, key, prefix, hash);
    sy_hex(hex, hash, sizeof(hash));
    PGresult *r;
    const char *params[7] = {tid,    o->name, sy_tenancy_key_kind_name(kind),
                             prefix, hex,     scopes,
                             NULL};
    int rc = run(c, &sy_sql_key_insert, params, &r);
    if (rc < 0) {
        explicit_bzero(key, sizeof(key));
        return EXIT_FAIL;
    }
    if (PQntuples(r) == 1) {
        json_object *k = sy_tenancy_key_json(r, 0);
        json_object_object_add(k, "tenant_id", json_object_new_string(tid));
        json_object_object_add(k, "key", json_object_new_string(key));
        rc = print_json(k);
    } else {
        rc = fail(c, "the tenant was deleted meanwhile", NULL);
    }
    explicit_bzero(key, sizeof(key));
    PQclear(r);
    return rc;
}

static int
cmd_key(admin_ctx *c, admin_opts *o)
{
    int kind = sy_tenancy_key_kind(sy_str_c(o->kind));
    uint32_t mask;
    if (!kind)
        return fail(c, "--kind", "must be publishable or secret");
    if (text_opt(c, "--name", &o->name, false, KEY_NAME_MAX_CHARS) != EXIT_OK ||
        key_scopes(c, o, kind, &mask) != EXIT_OK)
        return EXIT_FAIL;
    const char *scopes = sy_tenancy_scopes_text(&c->arena, mask);
    PGresult *t = tenant_by_slug(c, o->tenant);
    if (!t || !scopes) {
        PQclear(t);
        return EXIT_FAIL;
    }
    char tid[SY_UUID_LEN + 1];
    snprintf(tid, sizeof(tid), "%s", PQgetvalue(t, 0, 0));
    PQclear(t);
    return insert_key(c, tid, o, kind, scopes);
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
    c.db = sy_cli_db_connect("synthia-admin");
    if (!c.db)
        return EXIT_FAIL;
    sy_arena_init(&c.arena, 4096, 0);
    rc = cmd->run(&c, &o);
    sy_arena_cleanup(&c.arena);
    PQfinish(c.db);
    return rc;
}
