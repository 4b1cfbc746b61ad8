/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * error.h - the one return-code vocabulary.
 *
 * Every function returns 0 on success or a negative SY_E* code.  The HTTP
 * layer maps codes to problem+json responses in exactly one place
 * (sy_problem_from_rc in problem.c).
 */
#ifndef SYNTHIA_ERROR_H
#define SYNTHIA_ERROR_H

enum {
    SY_OK = 0,
    SY_ENOMEM = -1,        /* request arena budget exhausted */
    SY_EINVAL = -2,        /* bad argument (programming or config error) */
    SY_EBADREQ = -3,       /* 400 bad_request */
    SY_EJSON = -4,         /* 400 invalid_json */
    SY_EVALIDATION = -5,   /* 422 validation_failed */
    SY_EUNAUTH = -6,       /* 401 unauthorized */
    SY_EFORBIDDEN = -7,    /* 403 forbidden */
    SY_ENOTFOUND = -8,     /* 404 not_found */
    SY_EMETHOD = -9,       /* 405 method_not_allowed */
    SY_ECONFLICT = -10,    /* 409 conflict */
    SY_ETOOBIG = -11,      /* 413 payload_too_large */
    SY_EMEDIA = -12,       /* 415 unsupported_media_type */
    SY_ERATE = -13,        /* 429 rate_limited */
    SY_EDB = -14,          /* 503 storage_unavailable (PostgreSQL) */
    SY_EREDIS = -15,       /* 503 storage_unavailable (Redis) */
    SY_ETIMEOUT = -16,     /* 503 timeout */
    SY_EIO = -17,          /* I/O failure (files, sockets) */
    SY_ECONFIG = -18,      /* invalid configuration */
    SY_EINTERNAL = -19,    /* 500 internal_error */
    SY_EPROVIDER = -20,    /* 503 provider_unavailable */
    SY_ENOTMODIFIED = -21, /* 304, not an error for the client */
    SY_ESTALE = -22,       /* a cached credential changed: admit again */
};

/* A short, stable, English description of a code (never NULL). */
const char *sy_strerror(int rc);

#endif
