#ifndef MONSYNC_BUILD_INFO_H
#define MONSYNC_BUILD_INFO_H

/// The git commit the build was given (-Xcc -DMONSYNC_GIT_COMMIT='"…"'), or "" when none was.
const char *monsync_build_commit(void);

#endif
