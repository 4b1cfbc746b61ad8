/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * error.c - text for the SY_E* return codes (for logs, never for clients;
 * clients get problem+json from problem.c).
 */
#include "synthia/error.h"

const char *
sy_strerror(int rc)
{
    switch (rc) {
    case SY_OK: return "ok";
    case SY_ENOMEM: return "out of memory";
    case SY_EINVAL: return "invalid argument";
    case SY_EBADREQ: return "bad request";
    case SY_EJSON: return "invalid JSON";
    case SY_EVALIDATION: return "validation failed";
    case SY_EUNAUTH: return "unauthorized";
    case SY_EFORBIDDEN: return "forbidden";
    case SY_ENOTFOUND: return "not found";
    case SY_EMETHOD: return "method not allowed";
    case SY_ECONFLICT: return "conflict";
    case SY_ETOOBIG: return "payload too large";
    case SY_EMEDIA: return "unsupported media type";
    case SY_ERATE: return "rate limited";
    case SY_EDB: return "database unavailable";
    case SY_EREDIS: return "redis unavailable";
    case SY_ETIMEOUT: return "timed out";
    case SY_EIO: return "I/O error";
    case SY_ECONFIG: return "invalid configuration";
    case SY_EINTERNAL: return "internal error";
    case SY_EPROVIDER: return "provider unavailable";
    case SY_ENOTMODIFIED: return "not modified";
    case SY_ESTALE: return "cached credential changed";
    default: return "unknown error";
    }
}
