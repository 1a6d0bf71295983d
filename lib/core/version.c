/* version.c — run-time version of the loaded library. */
#include "../internal.h"

#define SA_STR2(x) #x
#define SA_STR(x) SA_STR2(x)

SA_API unsigned sa_version_number(void) { return SA_VERSION_NUMBER; }

SA_API const char *sa_version_string(void)
{
    return SA_STR(SA_VERSION_MAJOR) "." SA_STR(SA_VERSION_MINOR) "." SA_STR(SA_VERSION_PATCH);
}
