/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * text.c - what text from a client may contain (text.h).
 */
#include "synthia/text.h"

#include <string.h>

#include "synthia/crypto.h"

bool
sy_text_utf8(sy_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, n = s.len;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned min, cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false; /* continuation byte, 0xc0/0xc1, 0xf5.. */
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool
space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

sy_str
sy_text_trim(sy_str s)
{
    while (s.len && space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && space(s.p[s.len - 1]))
        s.len--;
    return s;
}

static bool
controls_ok(sy_str s, bool multiline)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == 0x7f || (c < 0x20 && !(multiline && (c == '\t' ||
                                                      c == '\n' ||
                                                      c == '\r'))))
            return false;
    }
    return true;
}

bool
sy_text_line_ok(sy_str s)
{
    return controls_ok(s, false) && sy_text_utf8(s);
}

bool
sy_text_multiline_ok(sy_str s)
{
    return controls_ok(s, true) && sy_text_utf8(s);
}

bool
sy_text_uuid(const char *s)
{
    return s && sy_uuid_valid(s, strlen(s));
}
