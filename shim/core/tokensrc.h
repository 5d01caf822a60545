/* tokensrc: every place a Hugging Face token can come from, as the
 * clients read them: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, the token file
 * ($HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token),
 * stored tokens ($HF_HOME/stored_tokens), ~/.netrc (machine
 * huggingface.co or the HF_ENDPOINT host) and git's stored credentials
 * (~/.git-credentials, $XDG_CONFIG_HOME/git/credentials) for those hosts.
 * Read-only; used by `hfshim doctor` and by the library's diagnostics
 * ("the token in HF_TOKEN"). Values are the caller's to free and must
 * never be printed (hfs_mask_token). */
#ifndef HFS_TOKENSRC_H
#define HFS_TOKENSRC_H
#include <stddef.h>

enum hfs_tokensrc_kind {
    HFS_SRC_ENV,    /* HF_TOKEN, HUGGING_FACE_HUB_TOKEN */
    HFS_SRC_FILE,   /* the token file */
    HFS_SRC_STORED, /* a stored token (name = its name) */
    HFS_SRC_NETRC,
    HFS_SRC_GIT,
};

struct hfs_tokensrc {
    enum hfs_tokensrc_kind kind;
    char label[320]; /* "HF_TOKEN", "/root/.cache/huggingface/token", "stored token \"ci\" in /…/stored_tokens",
                         "~/.netrc (machine huggingface.co)", "/root/.git-credentials (huggingface.co)" */
    char *value;     /* the token (malloc'd; raw, as read: may hold a newline or be empty) */
    int used;        /* the one huggingface_hub sends by default (HF_TOKEN > HUGGING_FACE_HUB_TOKEN > token file) */
};

/* env: how variables are read (the library passes its enforced-environment
 * lookup, the launcher getenv). Fills out (at most cap), returns how many. */
size_t hfs_tokensrc_find(const char *(*env)(const char *), struct hfs_tokensrc *out, size_t cap);
void hfs_tokensrc_free(struct hfs_tokensrc *s, size_t n);

/* The label of the source whose token (trimmed of surrounding whitespace)
 * has this SHA-256, copied into out; NULL when none has. */
const char *hfs_tokensrc_label_for(const char *(*env)(const char *), const unsigned char sha[32], char *out,
                                   size_t cap);

#endif
