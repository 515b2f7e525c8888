#ifndef PARLEY_CPARLEYSYS_H
#define PARLEY_CPARLEYSYS_H
/// Linux calls Glibc's Swift overlay does not import (they need _GNU_SOURCE).
int parley_syncfs(int fd);
#endif
