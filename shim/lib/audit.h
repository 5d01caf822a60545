/* audit: the one place every layer turns a verdict into an audit record
 * (HFSHIM_AUDIT, rules/README.md §12.5): HTTP layers for every request,
 * the resolver and connect layers for every connection that is not simply
 * allowed. */
#ifndef HFS_AUDIT_H
#define HFS_AUDIT_H

#include "../core/decide.h"

/* q and v as judged; url as logs show it; error: what the program saw
 * when it failed (else NULL); status: the answer's status, when hfshim
 * answered. */
void hfs_audit_verdict(const struct hfs_request *q, const struct hfs_verdict *v, const char *url, const char *error,
                       int status);

#endif
