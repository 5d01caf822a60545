/* startup: HFS_STARTUP marks the functions every process runs once at
 * start (the constructor's path: policy, top level, environment). The
 * linker groups .text.startup sections together, so that path touches a
 * few pages of the library's code instead of one in every 64 KiB window
 * of it: each page first touched is a page fault in every process. */
#ifndef HFS_STARTUP_H
#define HFS_STARTUP_H

#define HFS_STARTUP __attribute__((section(".text.startup")))

#endif
