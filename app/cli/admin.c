/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/cli.h"

#include "synthia/error.h"

int
sy_cli_admin(int argc, char **argv)
{
    return SY_EINTERNAL;
}
