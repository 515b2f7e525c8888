#define _GNU_SOURCE
#include <unistd.h>
#include "cparleysys.h"

/// syncfs(2): one call flushes every dirty file of the file system holding fd.
int parley_syncfs(int fd) { return syncfs(fd); }
