#include "monsync_build_info.h"

// A C string macro is the one build-time value a plain `swift build` can pass in without a build
// plugin: Swift's -D defines only names. Defined only by builds that know their commit.
#ifndef MONSYNC_GIT_COMMIT
#define MONSYNC_GIT_COMMIT ""
#endif

const char *monsync_build_commit(void) { return MONSYNC_GIT_COMMIT; }
