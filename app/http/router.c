/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * router.c - match a method and a raw path against the route table.
 *
 * Patterns are literal segments and {name} captures that match one
 * non-empty segment.  The table is small (tens of routes), so a linear
 * scan that rejects on the first differing byte costs well under a
 * microsecond; a trie would buy nothing measurable.
 */
#include "synthia/router.h"

#include <string.h>

#include "synthia/error.h"

/* Match path against pattern, filling captures.  Both start with '/'. */
static bool
match_pattern(const char *pat, sy_str path, sy_route_match *m)
{
    const char *p = path.p, *end = path.p + path.len;
    int np = 0;
    while (*pat) {
        if (pat[0] == '{') {
            const char *close = strchr(pat, '}');
            const char *seg = p;
            while (p < end && *p != '/')
                p++;
            if (p == seg || np == SY_REQ_MAX_PARAMS || !close)
                return false;
            m->params[np++] = (sy_str){seg, (size_t)(p - seg)};
            pat = close + 1;
            continue;
        }
        if (p == end || *p != *pat)
            return false;
        p++;
        pat++;
    }
    if (p != end)
        return false;
    m->nparams = np;
    return true;
}

static bool
method_is(sy_str method, const char *m)
{
    return sy_str_eqc(method, m);
}

/* Append a method to the Allow list unless it is there already. */
static void
allow_add(char *allow, size_t cap, const char *m)
{
    size_t n = strlen(allow), l = strlen(m);
    const char *p = allow;
    while ((p = strstr(p, m)) != NULL) {
        bool start = p == allow || p[-1] == ' ';
        bool stop = p[l] == ',' || p[l] == 0;
        if (start && stop)
            return;
        p += l;
    }
    if (n + l + 3 > cap)
        return;
    if (n) {
        memcpy(allow + n, ", ", 2);
        n += 2;
    }
    memcpy(allow + n, m, l + 1);
}

int
sy_router_match(const sy_route *table, size_t n, sy_str method, sy_str path,
                sy_route_match *m)
{
    bool path_known = false;
    sy_route_match tmp;
    m->index = -1;
    m->nparams = 0;
    m->allow[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const sy_route *r = &table[i];
        if (!match_pattern(r->path, path, &tmp))
            continue;
        path_known = true;
        bool get = strcmp(r->method, "GET") == 0;
        if (method_is(method, r->method) ||
            (get && method_is(method, "HEAD"))) {
            memcpy(m->params, tmp.params, sizeof(tmp.params));
            m->nparams = tmp.nparams;
            m->index = (int)i;
            return 0;
        }
        allow_add(m->allow, sizeof(m->allow), r->method);
        if (get)
            allow_add(m->allow, sizeof(m->allow), "HEAD");
    }
    return path_known ? SY_EMETHOD : SY_ENOTFOUND;
}
