/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_multipart.c - the multipart/form-data parser (multipart.h):
 * boundaries, delimiters, part headers, quoted parameters and bounds.
 */
#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/multipart.h"

SY_CHECK_FIXTURE(64 * 1024)

#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})
#define CT "multipart/form-data; boundary=XyZ"

static int
find(sy_str ct, sy_str body, const char *field, sy_multipart_part *out)
{
    const char *why = NULL;
    int rc = sy_multipart_find(&A, ct, body, field, out, &why);
    if (rc < 0)
        ck_assert_msg(why && *why, "no reason for %d", rc);
    return rc;
}

static void
assert_str(sy_str s, const char *want)
{
    ck_assert_msg(s.len == strlen(want) && memcmp(s.p, want, s.len) == 0,
                  "got '%.*s', want '%s'", (int)s.len, s.p ? s.p : "",
                  want);
}

START_TEST(test_finds_file_part_among_others)
{
    sy_multipart_part p;
    sy_str body = S("preamble to ignore\r\n"
                    "--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"note\"\r\n"
                    "\r\n"
                    "hello\r\n"
                    "--XyZ  \t\r\n"
                    "content-disposition: form-data; name=file; "
                    "filename=\"a \\\"b\\\".jpg\"\r\n"
                    "Content-Type: image/jpeg\r\n"
                    "\r\n"
                    "\xff\xd8\xff\r\n--XY\0bytes\r\n"
                    "--XyZ--\r\n"
                    "epilogue --XyZ garbage");
    ck_assert_int_eq(find(S(CT), body, "file", &p), 0);
    ck_assert_uint_eq(p.data.len, 15);
    ck_assert(memcmp(p.data.p, "\xff\xd8\xff\r\n--XY\0bytes", 15) == 0);
    assert_str(p.content_type, "image/jpeg");
    assert_str(p.filename, "a \"b\".jpg");
    ck_assert_int_eq(p.parts, 2);
    /* the other part too, by name */
    ck_assert_int_eq(find(S(CT), body, "note", &p), 0);
    assert_str(p.data, "hello");
    ck_assert_uint_eq(p.filename.len, 0);
    ck_assert_uint_eq(p.content_type.len, 0);
}
END_TEST

START_TEST(test_content_type_forms)
{
    sy_multipart_part p;
    sy_str body = S("--a'b (c)\r\nContent-Disposition: form-data; "
                    "name=\"file\"\r\n\r\nX\r\n--a'b (c)--");
    ck_assert_int_eq(
        find(S("Multipart/Form-Data ; charset=utf-8; BOUNDARY=\"a'b (c)\""),
             body, "file", &p),
        0);
    assert_str(p.data, "X");
    ck_assert(sy_multipart_is_form(S(" multipart/form-data;boundary=x")));
    ck_assert(!sy_multipart_is_form(S("multipart/mixed; boundary=x")));
    assert_str(sy_multipart_media_type(S(" image/PNG ; q=1")), "image/PNG");
    assert_str(sy_multipart_media_type(S("")), "");
    /* not a form */
    ck_assert_int_eq(find(S("image/jpeg"), body, "file", &p), SY_EMEDIA);
    ck_assert_int_eq(find(S("multipart/mixed; boundary=x"), body, "file", &p),
                     SY_EMEDIA);
}
END_TEST

START_TEST(test_bad_boundaries)
{
    sy_multipart_part p;
    sy_str body = S("--x\r\nContent-Disposition: form-data; name=file\r\n"
                    "\r\nX\r\n--x--\r\n");
    ck_assert_int_eq(find(S("multipart/form-data"), body, "file", &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary="), body, "file",
                          &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary=\"x \""), body,
                          "file", &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary=x; boundary=x"),
                          body, "file", &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary=\"x"), body,
                          "file", &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary=\"x;y\""), body,
                          "file", &p),
                     SY_EBADREQ); /* ';' is not a bchar */
    /* 71 characters */
    ck_assert_int_eq(
        find(S("multipart/form-data; boundary=12345678901234567890123456789"
               "012345678901234567890123456789012345678901"),
             body, "file", &p),
        SY_EBADREQ);
    ck_assert_int_eq(find(S("multipart/form-data; boundary=x"), body, "file",
                          &p),
                     0);
}
END_TEST

START_TEST(test_malformed_bodies)
{
    sy_multipart_part p;
#define CD "Content-Disposition: form-data; name=file\r\n"
    static const struct {
        const char *body;
        int rc;
    } cases[] = {
        {"", SY_EBADREQ},                                    /* empty */
        {"no delimiter at all", SY_EBADREQ},
        {"--XyZ\r\n" CD "\r\nX", SY_EBADREQ},                 /* no close */
        {"--XyZ\r\n" CD "\r\nX\r\n--XyZ-", SY_EBADREQ},       /* half close */
        {"--XyZ\r\n" CD "\r\nX\r\n--XyZtail\r\n", SY_EBADREQ}, /* in part */
        {"--XyZ\r\n" CD "\r\nX\r\n--XyZ-- junk", SY_EBADREQ},
        {"--XyZ\n" CD "\r\nX\r\n--XyZ--", SY_EBADREQ},          /* bare LF */
        {"--XyZ\r\n" CD, SY_EBADREQ},                /* headers cut short */
        {"--XyZ\r\nContent-Type: text/plain\r\n\r\nX\r\n--XyZ--",
         SY_EBADREQ},                                     /* no disposition */
        {"--XyZ\r\nContent-Disposition: attachment; name=file\r\n\r\nX\r\n"
         "--XyZ--",
         SY_EBADREQ},
        {"--XyZ\r\nContent-Disposition: form-data\r\n\r\nX\r\n--XyZ--",
         SY_EBADREQ},                                         /* no name */
        {"--XyZ\r\n" CD " folded\r\n\r\nX\r\n--XyZ--", SY_EBADREQ},
        {"--XyZ\r\nno colon here\r\n\r\nX\r\n--XyZ--", SY_EBADREQ},
        {"--XyZ\r\nBad Name: x\r\n" CD "\r\nX\r\n--XyZ--", SY_EBADREQ},
        {"--XyZ\r\n" CD CD "\r\nX\r\n--XyZ--", SY_EBADREQ}, /* two CDs */
        {"--XyZ\r\nContent-Disposition: form-data; name=\"fi\x01le\"\r\n\r\n"
         "X\r\n--XyZ--",
         SY_EBADREQ}, /* control character */
        {"--XyZ\r\nContent-Disposition: form-data; name=file; name=x\r\n"
         "\r\nX\r\n--XyZ--",
         SY_EBADREQ}, /* a parameter twice */
        {"--XyZ\r\n" CD "\r\nX\r\n--XyZ\r\n" CD "\r\nY\r\n--XyZ--",
         SY_EBADREQ}, /* the field twice */
        {"--XyZ\r\nContent-Disposition: form-data; name=other\r\n\r\nX\r\n"
         "--XyZ--",
         SY_ENOTFOUND},
        {"--XyZ\r\nContent-Disposition: form-data; name=File\r\n\r\nX\r\n"
         "--XyZ--",
         SY_ENOTFOUND}, /* names are case-sensitive */
        {"--XyZ\r\n" CD "\r\n\r\n--XyZ--\r\n", 0}, /* an empty part */
    };
#undef CD
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_str body = {cases[i].body, strlen(cases[i].body)};
        int rc = find(S(CT), body, "file", &p);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d, want %d", i, rc,
                      cases[i].rc);
    }
    ck_assert_uint_eq(p.data.len, 0); /* the last case */
}
END_TEST

/* Bodies built to sit just inside or just over each bound. */
static sy_str
body_with(size_t parts, size_t headers, size_t header_bytes)
{
    sy_buf b;
    sy_buf_init(&b, &A, 1 << 20);
    for (size_t i = 0; i < parts; i++) {
        sy_buf_printf(&b, "--XyZ\r\nContent-Disposition: form-data; "
                          "name=\"f%zu\"\r\n",
                      i);
        for (size_t h = 1; h < headers; h++)
            sy_buf_printf(&b, "X-H%zu: v\r\n", h);
        if (header_bytes) {
            sy_buf_printf(&b, "X-Long: ");
            for (size_t k = 0; k < header_bytes; k++)
                sy_buf_printf(&b, "a");
            sy_buf_printf(&b, "\r\n");
        }
        sy_buf_printf(&b, "\r\nv\r\n");
    }
    sy_buf_printf(&b, "--XyZ--\r\n");
    const char *s = sy_buf_cstr(&b);
    return (sy_str){s, strlen(s)};
}

START_TEST(test_bounds)
{
    sy_multipart_part p;
    ck_assert_int_eq(find(S(CT), body_with(SY_MULTIPART_MAX_PARTS, 1, 0),
                          "f0", &p),
                     0);
    ck_assert_int_eq(p.parts, SY_MULTIPART_MAX_PARTS);
    ck_assert_int_eq(find(S(CT), body_with(SY_MULTIPART_MAX_PARTS + 1, 1, 0),
                          "f0", &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S(CT), body_with(1, SY_MULTIPART_MAX_HEADERS, 0),
                          "f0", &p),
                     0);
    ck_assert_int_eq(find(S(CT),
                          body_with(1, SY_MULTIPART_MAX_HEADERS + 1, 0), "f0",
                          &p),
                     SY_EBADREQ);
    ck_assert_int_eq(find(S(CT), body_with(1, 1, 1500), "f0", &p), 0);
    ck_assert_int_eq(find(S(CT),
                          body_with(1, 1, SY_MULTIPART_MAX_HEADER_BYTES),
                          "f0", &p),
                     SY_EBADREQ);
}
END_TEST

START_TEST(test_out_of_memory_is_reported)
{
    /* the quoted filename with escapes is copied into the arena */
    sy_str body = S("--XyZ\r\nContent-Disposition: form-data; name=file; "
                    "filename=\"a\\\\b\"\r\n\r\nX\r\n--XyZ--");
    sy_multipart_part p = {.parts = -7};
    sy_arena_fail_after(1);
    const char *why = NULL;
    int rc = sy_multipart_find(&A, S(CT), body, "file", &p, &why);
    ck_assert_int_eq(rc, SY_ENOMEM);
    ck_assert_int_eq(p.parts, -7); /* untouched */
    ck_assert_ptr_nonnull(why);
    sy_arena_fail_after(0);
    ck_assert_int_eq(find(S(CT), body, "file", &p), 0);
    assert_str(p.filename, "a\\b");
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_finds_file_part_among_others, test_content_type_forms,
        test_bad_boundaries, test_malformed_bodies, test_bounds,
        test_out_of_memory_is_reported, NULL};
    return sy_check_suite("multipart", setup, teardown, tests);
}
