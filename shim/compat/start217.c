/* start217: the launcher's entry into glibc, at the version glibc 2.17 has
 * (see glibc217.h). The C start-up file (Scrt1.o) of glibc 2.34 and newer
 * calls __libc_start_main, which the linker binds to GLIBC_2.34, so an
 * executable linked here would not start on an older glibc. This file
 * defines __libc_start_main inside the executable (Scrt1.o's reference
 * binds to it) and calls glibc's old entry point, passing the init
 * function that start-up files before 2.34 passed: _init and the
 * executable's .init_array, which older glibc leaves to the program and
 * newer glibc runs itself only when no init function is passed. The
 * executable's .fini_array is run by the dynamic loader in both. */
#include <stddef.h>

#if defined(__x86_64__)
#define HFS_START_OLD "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define HFS_START_OLD "GLIBC_2.17"
#endif

typedef int (*hfs_main_fn)(int, char **, char **);

extern int hfs_old_start_main(hfs_main_fn main, int argc, char **argv, void (*init)(int, char **, char **),
                              void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
__asm__(".symver hfs_old_start_main,__libc_start_main@" HFS_START_OLD);

/* provided by the linker (init arrays) and crti.o (_init) in every executable */
extern void (*__init_array_start[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__init_array_end[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void _init(void) __attribute__((visibility("hidden")));

static void run_init(int argc, char **argv, char **envp)
{
    _init();
    size_t n = (size_t)(__init_array_end - __init_array_start);
    for (size_t i = 0; i < n; i++)
        __init_array_start[i](argc, argv, envp);
}

__attribute__((visibility("hidden"), noreturn)) void __libc_start_main(hfs_main_fn main, int argc, char **argv,
                                                                       void (*init)(void), void (*fini)(void),
                                                                       void (*rtld_fini)(void), void *stack_end);

void __libc_start_main(hfs_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                       void (*rtld_fini)(void), void *stack_end)
{
    (void)init;
    (void)fini;
    hfs_old_start_main(main, argc, argv, run_init, NULL, rtld_fini, stack_end);
    __builtin_unreachable();
}
