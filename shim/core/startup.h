/* startup: HFS_STARTUP marks the functions every process runs once at
 * start (the constructor's path: policy, top level, environment). The
 * linker groups .text.startup sections together, so that path touches a
 * few pages of the library's code instead of one in every 64 KiB window
 * of it: each page first touched is a page fault in every process. */
#ifndef HFS_STARTUP_H
#define HFS_STARTUP_H

#define HFS_STARTUP __attribute__((section(".text.startup")))

/* HFS_STARTUP_DATA marks the variables that path writes. They go to the
 * library's initialised data, on the two pages the dynamic loader writes
 * anyway (relocations in .data, the zeroed start of .bss), instead of
 * one .bss page each: a .bss page first read then written costs two
 * faults (the zero page, then a copy). Keep what is marked small (a few
 * KiB in all: tests/test_startup_layout.py counts the start-up's faults). */
#define HFS_STARTUP_DATA __attribute__((section(".data.startup")))

#endif
