/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_search.c - the search query normaliser (sy_search_normalise)
 * and the rule of ?q= around it (sy_search_set_q).
 *
 * Input: the query as the client sent it (any bytes).  Whatever is
 * accepted must be within the cost bound and normalised for good: valid
 * UTF-8 without control characters, words separated by one space, at
 * most max_terms parts, no word longer than max_word_chars, and
 * normalising it again gives it back (so equivalent queries share one
 * cache key).
 */
#include <string.h>

#include "fuzz.h"
#include "synthia/errs.h"
#include "synthia/error.h"
#include "synthia/search.h"
#include "synthia/text.h"

const char fz_target_name[] = "search";

static const sy_search_limits lim = {10, 2, 32};

int
fz_init(void)
{
    return 0;
}

/* The properties of an accepted normal form. */
static void
check_normal(sy_str out, int terms)
{
    if (out.p[out.len] != '\0' || strlen(out.p) != out.len)
        fz_fail("normal form is not NUL-terminated at its length");
    if (!sy_text_line_ok(out))
        fz_fail("normal form has invalid UTF-8 or a control character");
    if (out.len && (out.p[0] == ' ' || out.p[out.len - 1] == ' ' ||
                    strstr(out.p, "  ")))
        fz_fail("normal form has stray spaces: \"%s\"", out.p);
    if (terms < 0 || terms > lim.max_terms)
        fz_fail("%d terms accepted", terms);
    if (!out.len && terms)
        fz_fail("no words but %d terms", terms);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str q = {(const char *)data, size};
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_str out = SY_STR("unset"), again = SY_STR("unset");
    const char *why = NULL;
    int terms = -1, terms2 = -1;
    int rc = sy_search_normalise(&a, q, &lim, &out, &terms, &why);
    if (rc == 0) {
        check_normal(out, terms);
        fz_put(t, "normalise", rc, out);
        fz_puti(t, "terms", rc, terms);
        int rc2 = sy_search_normalise(&a, out, &lim, &again, &terms2, &why);
        fz_put(t, "normalise.again", rc2, rc2 == 0 ? again : SY_STR_NULL);
        if (rc2 == 0 && (!sy_str_eq(again, out) || terms2 != terms))
            fz_fail("not idempotent: \"%s\" -> \"%s\"", out.p, again.p);
        if (rc2 != 0 && rc2 != SY_ENOMEM)
            fz_fail("its own normal form refused (%d)", rc2);
    } else {
        if (rc != SY_EVALIDATION && rc != SY_ENOMEM)
            fz_fail("sy_search_normalise returned %d", rc);
        if (rc == SY_EVALIDATION && !why)
            fz_fail("refused without a reason");
        if (out.p[0] != 'u' || terms != -1)
            fz_fail("sy_search_normalise wrote its result and failed");
        fz_putc(t, "normalise", rc, rc == SY_EVALIDATION ? why : NULL);
    }

    /* ?q= as the route gives it: trimmed, checked, normalised */
    sy_search_query s;
    sy_errs e;
    sy_errs_init(&e, &a);
    sy_search_init(&s);
    rc = sy_search_set_q(&a, &e, q, &s);
    fz_putc(t, "set_q", rc, rc == 0 ? s.q : e.code);
    if (rc == 0)
        check_normal((sy_str){s.q, s.qlen}, 0);
    else if (rc != SY_EVALIDATION && rc != SY_ENOMEM)
        fz_fail("sy_search_set_q returned %d", rc);
    else if (rc == SY_EVALIDATION && !sy_errs_any(&e) && !e.code)
        fz_fail("sy_search_set_q refused without saying why");
    sy_arena_cleanup(&a);
}
