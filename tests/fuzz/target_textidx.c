/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_textidx.c - the check of a full-text index file that a
 * responder maps from server.runtime_dir (textidx.h), and a search over
 * a file that passes it.
 *
 * Input: a file's bytes.  The header's size and checksum fields (bytes
 * 8-23, textidx.c's txt_hdr) are set from the input before the check
 * when the input is long enough, so that the fuzzer reaches the layout
 * and array checks instead of stopping at the checksum; the input as it
 * is goes through the check too.  A block that passes is searched
 * (sy_textidx_block_probe: every lexeme looked up, a ranking over its
 * postings): ASan catches any read past the block, which would mean the
 * check accepted an index a search cannot trust.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/arena.h"
#include "synthia/error.h"
#include "synthia/shfile.h"
#include "synthia/textidx.h"

const char fz_target_name[] = "textidx";

#define HDR_BYTES 512 /* textidx.c's TXT_HDR_BYTES */

int
fz_init(void)
{
    return 0;
}

static void
probe(const uint8_t *p, size_t size, sy_buf *t, const char *label)
{
    sy_arena a;
    int hits = -2;
    sy_arena_init(&a, 4096, 1 << 20);
    bool ok = sy_textidx_block_check(p, size);
    int rc = sy_textidx_block_probe(&a, p, size, &hits);
    if (!ok && rc != SY_EINVAL)
        fz_fail("%s: the probe took a block the check refused", label);
    if (rc == 0 && hits < -1)
        fz_fail("%s: the probe succeeded without a count", label);
    fz_puti(t, label, rc, rc == 0 ? hits : ok);
    sy_arena_cleanup(&a);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *trace)
{
    /* the mapping a responder checks is page aligned: so is this copy */
    uint8_t *buf = aligned_alloc(64, size ? (size + 63) & ~(size_t)63 : 64);
    if (!buf)
        return;
    if (size)
        memcpy(buf, data, size);
    probe(buf, size, trace, "as_is");
    if (size >= HDR_BYTES) {
        uint64_t bytes = size;
        uint64_t sum = sy_shfile_sum(buf + HDR_BYTES, size - HDR_BYTES);
        memcpy(buf + 8, &bytes, sizeof(bytes));
        memcpy(buf + 16, &sum, sizeof(sum));
        probe(buf, size, trace, "summed");
    }
    free(buf);
}
