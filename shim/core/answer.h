/* answer: the HTTP response the shim gives instead of the server, for a
 * verdict of respond (the rule's status, headers, body) or an HTTP-form
 * block (403 with an X-Error-Message naming hfshim and the rule, no
 * X-Error-Code, so Hub clients treat the Hub as unavailable and use their
 * cache or fail at once). Every layer delivers the same answer: libcurl
 * through the handle's callbacks, sockets and TLS as bytes. Pure. */
#ifndef HFS_ANSWER_H
#define HFS_ANSWER_H
#include <stddef.h>

#include "answer_types.h"
#include "decide.h"
#include "http1.h"

/* Fills a from a RESPOND verdict or a BLOCK verdict with http_form. The
 * answer points into the rules and into a->text; keep both alive. */
void hfs_answer_from_verdict(const struct hfs_verdict *v, struct hfs_answer *a);

/* hfs_reason_phrase: http1.h. */

/* The value of a header of the answer (case-insensitive name), or NULL. */
const char *hfs_answer_header(const struct hfs_answer *a, const char *name, size_t *len);

#endif
