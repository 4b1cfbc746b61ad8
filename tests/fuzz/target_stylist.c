/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_stylist.c - the checking of a chat model's answer before a
 * shopper sees it (POST /api/v1/stylist): sy_stylist_clean and
 * sy_stylist_redact (stylist.h).  The model's text is untrusted input.
 *
 * Input: one byte that sets the cut (max = 1 + byte * 16 bytes) and one
 * that sets how many of the UUIDs found are kept (the others stand for
 * products the model invented), then the model's text.  Checked:
 * - the cleaned text is valid UTF-8, at most max bytes, without control
 *   characters other than tab and line breaks;
 * - every UUID reported is lower case, distinct, and occurs in the
 *   cleaned text (case aside); the count is at least the number reported;
 * - after redaction no UUID outside the kept ones is left in the text,
 *   and redacting the result again with the same kept list changes
 *   nothing (replaced 0, same bytes).
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/stylist.h"
#include "synthia/text.h"

const char fz_target_name[] = "stylist";

#define MAX_IDS 8

int
fz_init(void)
{
    return 0;
}

/* Does text contain id, ignoring case? */
static bool
contains_ci(sy_str text, const char *id)
{
    for (size_t i = 0; i + SY_UUID_LEN <= text.len; i++) {
        size_t k = 0;
        while (k < SY_UUID_LEN &&
               tolower((unsigned char)text.p[i + k]) == id[k])
            k++;
        if (k == SY_UUID_LEN)
            return true;
    }
    return false;
}

static void
check_clean(sy_str out, size_t max, char (*ids)[SY_UUID_LEN + 1], int n)
{
    if (out.len > max)
        fz_fail("cleaned text of %zu bytes, cut was %zu", out.len, max);
    if (!sy_text_utf8(out))
        fz_fail("cleaned text is not valid UTF-8");
    for (size_t i = 0; i < out.len; i++) {
        unsigned char c = (unsigned char)out.p[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
            fz_fail("control byte 0x%02x kept at %zu", c, i);
    }
    for (int i = 0; i < n; i++) {
        if (!sy_text_uuid(ids[i]))
            fz_fail("id %d is not a UUID", i);
        for (int k = 0; k < SY_UUID_LEN; k++)
            if (isupper((unsigned char)ids[i][k]))
                fz_fail("id %d is not lower case", i);
        for (int k = 0; k < i; k++)
            if (strcmp(ids[k], ids[i]) == 0)
                fz_fail("id %d reported twice", i);
        if (!contains_ci(out, ids[i]))
            fz_fail("id %d is not in the cleaned text", i);
    }
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    if (size < 2)
        return;
    size_t max = 1 + (size_t)data[0] * 16;
    int nkeep = data[1] % (MAX_IDS + 1);
    sy_str text = {(const char *)data + 2, size - 2};
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    char ids[MAX_IDS][SY_UUID_LEN + 1];
    sy_str clean = {0};
    int found = sy_stylist_clean(&a, text, max, &clean, ids, MAX_IDS);
    fz_puti(t, "clean", found < 0 ? found : 0, found);
    if (found < 0) {
        if (found != SY_ENOMEM)
            fz_fail("sy_stylist_clean returned %d", found);
        goto out;
    }
    int n = found < MAX_IDS ? found : MAX_IDS;
    check_clean(clean, max, ids, n);
    fz_put(t, "text", 0, clean);
    for (int i = 0; i < n; i++)
        fz_putc(t, "id", 0, ids[i]);
    if (nkeep > n)
        nkeep = n;
    sy_str red = {0};
    int replaced = -1;
    int rc = sy_stylist_redact(&a, clean, (const char(*)[SY_UUID_LEN + 1])ids,
                               nkeep, &red, &replaced);
    fz_puti(t, "redact", rc, rc == 0 ? replaced : 0);
    if (rc != 0) {
        if (rc != SY_ENOMEM)
            fz_fail("sy_stylist_redact returned %d", rc);
        goto out;
    }
    fz_put(t, "redacted", 0, red);
    /* what is left: only kept UUIDs */
    char left[MAX_IDS][SY_UUID_LEN + 1];
    sy_str again = {0};
    int nleft = sy_stylist_clean(&a, red, red.len + 1, &again, left, MAX_IDS);
    fz_puti(t, "reclean", nleft < 0 ? nleft : 0, nleft);
    if (nleft < 0)
        goto out;
    for (int i = 0; i < (nleft < MAX_IDS ? nleft : MAX_IDS); i++) {
        int k = 0;
        while (k < nkeep && strcmp(ids[k], left[i]) != 0)
            k++;
        if (k == nkeep)
            fz_fail("an unknown id survived redaction: %s", left[i]);
    }
    if (nleft > nkeep)
        fz_fail("%d distinct ids left, %d kept", nleft, nkeep);
    sy_str twice = {0};
    int replaced2 = -1;
    rc = sy_stylist_redact(&a, red, (const char(*)[SY_UUID_LEN + 1])ids, nkeep,
                           &twice, &replaced2);
    fz_puti(t, "redact2", rc, rc == 0 ? replaced2 : 0);
    if (rc == 0 && (replaced2 != 0 || !sy_str_eq(twice, red)))
        fz_fail("redaction is not idempotent (%d replaced again)", replaced2);
out:
    sy_arena_cleanup(&a);
}
