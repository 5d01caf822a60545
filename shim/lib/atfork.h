/* atfork: the library's one set of fork handlers (atfork.c). */
#ifndef HFS_ATFORK_H
#define HFS_ATFORK_H

/* Registers the handlers; called once, by init. */
void hfs_atfork_install(void);

#endif
