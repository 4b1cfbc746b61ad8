/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * password.h - password hashing with argon2id (libargon2).
 *
 * Parameters come from the config (auth.argon2_memory, _iterations,
 * _parallelism; defaults at OWASP's minimum: 19 MiB, 2 passes, 1 lane).
 * Hashes are PHC strings ($argon2id$v=19$m=..,t=..,p=..$salt$hash), so a
 * stored hash records its own parameters and verification tells when it
 * is weaker than the current config (rehash on login).
 */
#ifndef SYNTHIA_PASSWORD_H
#define SYNTHIA_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "synthia/str.h"

#define SY_PASSWORD_HASH_MAX 160

/* Hash pw with a fresh 16-byte salt into out (NUL-terminated PHC string).
 * 0, or SY_EINTERNAL when argon2 fails. */
int sy_password_hash(sy_str pw, char *out, size_t outlen);

/* 0 when pw matches encoded (and *needs_rehash says whether encoded uses
 * weaker parameters than the config), SY_EUNAUTH when it does not or the
 * hash is malformed. */
int sy_password_verify(const char *encoded, sy_str pw, bool *needs_rehash);

/* Spend the time of one verification without a stored hash, so that a
 * login for an unknown email takes as long as one for a known email. */
void sy_password_burn(sy_str pw);

/* Policy: auth.password_min_length..auth.password_max_length characters
 * (UTF-8 code points), valid UTF-8, no NUL.  0 or SY_EVALIDATION with a
 * static reason in *why. */
int sy_password_policy(sy_str pw, const char **why);

#endif
