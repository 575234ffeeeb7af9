/*
 * A disk with slow fsyncs, for bench/e2e.bench.ts (E2E_FSYNC_DELAY_US): loaded into the flow's Node-RED with
 * LD_PRELOAD, it waits FSYNC_DELAY_US microseconds before each fsync and fdatasync, then makes the real call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static void wait_first(void) {
  const char *v = getenv("FSYNC_DELAY_US");
  int us = v ? atoi(v) : 0;
  if (us > 0) usleep((useconds_t)us);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  wait_first();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  wait_first();
  return real(fd);
}
