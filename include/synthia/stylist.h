/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stylist.h - the stylist (app/domain/stylist.c): a shopper's question
 * answered by a chat provider from the tenant's own catalog.
 *
 * The question is turned into a catalog query (its words, without the
 * common ones) and ranked by hybrid search (search.h); when an analysis
 * with a colour palette is given, the products that suit the palette
 * (recommend.h) are fused into the ranking and every candidate is
 * weighted by how well its colours suit the palette.  The best
 * SY_STYLIST_PRODUCTS candidates' facts (id, name, category, colours,
 * price) and the analysis's season, palette and avoid list go to the
 * chat chain (provider.h) as JSON data, never as instructions; the
 * model is asked to name products by id.
 *
 * The answer is untrusted text: control characters other than line
 * breaks and tabs are removed, it is cut at SY_STYLIST_ANSWER_MAX bytes
 * (on a character boundary), and every UUID in it is checked against
 * the tenant's active catalog: the products it names that exist become
 * `products` (in the order first named, full product objects as search
 * returns them); any other UUID is replaced by "[unknown product]", so
 * another tenant's ids, made-up ids and ids smuggled in through the
 * question are never shown.
 */
#ifndef SYNTHIA_STYLIST_H
#define SYNTHIA_STYLIST_H

#include "synthia/analysis.h"
#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/errs.h"
#include "synthia/provider.h"
#include "synthia/str.h"

struct json_object;

#define SY_STYLIST_QUESTION_MAX 500 /* characters */
#define SY_STYLIST_PRODUCTS 8       /* candidates given to the model */
#define SY_STYLIST_ANSWER_MAX 4000  /* bytes of the answer kept */
#define SY_STYLIST_UNKNOWN "[unknown product]"

typedef struct sy_stylist_answer {
    sy_str answer;      /* checked text (arena) */
    int n;              /* products named in it, in the catalog */
    sy_str *products;   /* their JSON (the product cache's) */
    int dropped;        /* UUIDs in the model's text that were not */
    sy_ai_outcome oc;   /* the chat call */
} sy_stylist_answer;

/* POST /stylist's body {question, analysis_id?} for the caller (who may
 * read the analysis: analysis.h).  question: 1 to
 * SY_STYLIST_QUESTION_MAX characters after trimming, text with line
 * breaks allowed.  0 and *out; SY_EVALIDATION (field errors in e);
 * SY_ENOTFOUND (no such analysis for the caller); SY_EPROVIDER recorded
 * as provider_unavailable (no chat provider: the detail names ai.chat;
 * or every chat provider failed: the detail names the class); SY_ERATE
 * (the tenant's search leases are all taken); SY_EDB; SY_ENOMEM. */
int sy_stylist_ask(sy_arena *a, const sy_catver *cv, const char *tenant,
                   const sy_ai_caller *who, struct json_object *body,
                   sy_errs *e, sy_stylist_answer *out);

/* The checking of a model's text described above, without the catalog:
 * text made safe to show (control characters removed, cut at max bytes
 * on a character boundary; invalid UTF-8 becomes U+FFFD), and the
 * UUIDs in it (lower case, each once, in order, at most max_ids) into
 * ids.  Returns the count of distinct UUIDs found (possibly more than
 * max_ids), or SY_ENOMEM. */
int sy_stylist_clean(sy_arena *a, sy_str text, size_t max, sy_str *out,
                     char (*ids)[37], int max_ids);

/* text with each UUID that is not among keep[0..nkeep) (lower case)
 * replaced by SY_STYLIST_UNKNOWN; *replaced counts them.  0 or
 * SY_ENOMEM. */
int sy_stylist_redact(sy_arena *a, sy_str text, const char (*keep)[37],
                      int nkeep, sy_str *out, int *replaced);

#endif
