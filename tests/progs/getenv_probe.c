/* getenv_probe: prints getenv(NAME) for each argument, then overwrites each
 * with setenv(NAME, "0") / unsetenv and prints getenv again, so tests can
 * show enforced variables survive the program's own changes. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v = getenv(argv[i]);
        printf("before %s=%s\n", argv[i], v ? v : "(unset)");
    }
    for (int i = 1; i < argc; i++) {
        if (i % 2)
            setenv(argv[i], "0", 1);
        else
            unsetenv(argv[i]);
        const char *v = getenv(argv[i]);
        const char *s = secure_getenv(argv[i]);
        printf("after %s=%s secure=%s\n", argv[i], v ? v : "(unset)", s ? s : "(unset)");
    }
    return 0;
}
