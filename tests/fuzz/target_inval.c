/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_inval.c - the messages of the push channel sy:inval (inval.h):
 * sy_inval_parse splits "<type> <argument>", sy_inval_parse_cat reads a
 * "cat" argument ("<tenant uuid> <version>").
 *
 * Input: a message as it arrives on the subscriber connection (any
 * bytes).  The whole input goes through sy_inval_parse; the argument of
 * a message that parses, and the whole input too, through
 * sy_inval_parse_cat.  Checked: out-parameters are written only on
 * success; a parsed type and argument are the message's own bytes
 * around one space, within the documented alphabets and lengths; a
 * parsed "cat" argument prints back to itself (tenant in lower case,
 * canonical decimal), so a message carries one meaning only.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/inval.h"

const char fz_target_name[] = "inval";

int
fz_init(void)
{
    return 0;
}

static void
check_cat(sy_str in, sy_buf *t, const char *label)
{
    char tenant[37];
    int64_t v = -7;
    memset(tenant, 'Z', sizeof(tenant));
    int rc = sy_inval_parse_cat(in, tenant, &v);
    if (rc < 0) {
        if (rc != SY_EINVAL || v != -7 || tenant[0] != 'Z' ||
            tenant[36] != 'Z')
            fz_fail("%s: a refusal (%d) wrote its out-parameters", label,
                    rc);
        fz_puti(t, label, rc, 0);
        return;
    }
    if (tenant[36] != '\0' || !sy_uuid_valid(tenant, 36) || v < 0)
        fz_fail("%s: tenant or version out of range", label);
    for (int i = 0; i < 36; i++)
        if (tenant[i] >= 'A' && tenant[i] <= 'F')
            fz_fail("%s: tenant not in lower case", label);
    char back[SY_INVAL_MSG_MAX + 64];
    int n = snprintf(back, sizeof(back), "%s %lld", tenant, (long long)v);
    if (n < 0 || (size_t)n != in.len)
        fz_fail("%s: \"%s\" is not what was parsed", label, back);
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i] >= 'A' && in.p[i] <= 'F' ? (char)(in.p[i] + 32)
                                                  : in.p[i];
        if (c != back[i])
            fz_fail("%s: \"%s\" is not what was parsed", label, back);
    }
    fz_put(t, label, rc, (sy_str){back, (size_t)n});
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str msg = {(const char *)data, size};
    sy_str type = {"x", 1}, arg = {"y", 1};
    int rc = sy_inval_parse(msg, &type, &arg);
    if (rc < 0) {
        if (rc != SY_EINVAL || type.len != 1 || type.p[0] != 'x' ||
            arg.len != 1 || arg.p[0] != 'y')
            fz_fail("sy_inval_parse: a refusal (%d) wrote its "
                    "out-parameters", rc);
        fz_puti(t, "inval.parse", rc, 0);
    } else {
        if (size > SY_INVAL_MSG_MAX || type.p != msg.p || type.len == 0 ||
            type.len > SY_INVAL_TYPE_MAX || arg.len == 0 ||
            arg.p != msg.p + type.len + 1 ||
            type.len + 1 + arg.len != size || msg.p[type.len] != ' ')
            fz_fail("sy_inval_parse: type and argument are not the "
                    "message around one space");
        for (size_t i = 0; i < type.len; i++)
            if (type.p[i] < 'a' || type.p[i] > 'z')
                fz_fail("sy_inval_parse: type byte %zu is not a letter", i);
        for (size_t i = 0; i < arg.len; i++)
            if (arg.p[i] < 0x20 || arg.p[i] > 0x7e)
                fz_fail("sy_inval_parse: argument byte %zu is not "
                        "printable",
                        i);
        fz_put(t, "inval.type", rc, type);
        fz_put(t, "inval.arg", rc, arg);
        if (sy_str_eqc(type, "cat"))
            check_cat(arg, t, "inval.cat");
    }
    check_cat(msg, t, "inval.cat_raw");
}
