/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsonschema.h - the JSON Schema subset that vision answers are checked
 * against (app/ai/jsonschema.c), and its forms for the providers.
 *
 * Keywords: type (one of object, array, string, number, integer,
 * boolean, null), properties, required, additionalProperties (false, or
 * absent for "anything more is allowed"), items, minItems, maxItems,
 * minLength, maxLength (in characters), minimum, maximum, enum, and
 * description (ignored).  Anything else in a schema makes the schema
 * invalid, so a keyword is never silently not enforced.  At most
 * SY_JSONSCHEMA_MAX_DEPTH levels.
 */
#ifndef SYNTHIA_JSONSCHEMA_H
#define SYNTHIA_JSONSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define SY_JSONSCHEMA_MAX_DEPTH 16

/* Is schema a schema of the subset?  false with the reason (a path and
 * the rule) in why. */
bool sy_jsonschema_valid(struct json_object *schema, char *why,
                         size_t whylen);

/* Does value satisfy schema (a valid one)?  false with where and which
 * rule in why (paths such as $.colors[2]; never the value itself). */
bool sy_jsonschema_check(struct json_object *schema,
                         struct json_object *value, char *why,
                         size_t whylen);

/* New copies of a valid schema for the wire (the caller puts them):
 * OpenAI's strict json_schema (the range and length keywords dropped:
 * Synthia enforces them on the answer) and Gemini's responseSchema
 * (OpenAPI subset: upper-case types, no additionalProperties or length
 * keywords, enums only on strings).  NULL on ENOMEM. */
struct json_object *sy_jsonschema_for_openai(struct json_object *schema);
struct json_object *sy_jsonschema_for_gemini(struct json_object *schema);

#endif
