/* answer_types: the HTTP response hfshim gives instead of a server
 * (struct hfs_answer), type only: presets fill one, answer.c builds one
 * from a verdict, and neither needs the other's functions for it. */
#ifndef HFS_ANSWER_TYPES_H
#define HFS_ANSWER_TYPES_H
#include <stddef.h>

#include "request.h" /* struct hfs_header */

#define HFS_ANSWER_MAX_HEADERS 40

struct hfs_answer {
    int status;
    const char *reason;
    struct hfs_header headers[HFS_ANSWER_MAX_HEADERS];
    size_t nheaders;
    const char *body;
    size_t body_len;
    char msg[640];      /* generated X-Error-Message */
    char json[1024];    /* generated body */
    char extra[3][128]; /* generated header values (presets: Retry-After, RateLimit...) */
};

#endif
