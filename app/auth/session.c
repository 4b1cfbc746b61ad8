/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/session.h"

#include "synthia/error.h"

int
sy_session_start(sy_arena *a, const char *tenant_id, const char *user_id,
                 int role, bool cookie, sy_session_user *out)
{
    return SY_EINTERNAL;
}

int
sy_session_refresh(sy_arena *a, sy_str token, sy_session_user *out)
{
    return SY_EINTERNAL;
}

int
sy_session_revoke(sy_arena *a, const char *sid, const char *reason)
{
    return SY_EINTERNAL;
}

int
sy_session_revoke_user(sy_arena *a, const char *user_id,
                       const char *reason)
{
    return SY_EINTERNAL;
}

int
sy_session_check(sy_arena *a, const char *sid)
{
    return SY_EINTERNAL;
}
