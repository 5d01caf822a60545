/* envhooks: the environment layer. hfs_env_apply (from init) writes the
 * enforced variables into the real environ, so interpreters that copy it
 * at start-up (Python's os.environ) see them; the getenv/secure_getenv
 * hooks keep answering the enforced values afterwards; under a locked
 * policy the setenv family cannot change them. */
#ifndef HFS_ENVHOOKS_H
#define HFS_ENVHOOKS_H

/* getenv without hooks, dlsym or malloc: scans environ. */
const char *hfs_env_lookup(const char *name);
/* The same for what the user controls (HF_ENDPOINT, cache and token
 * folders, HFSHIM_COUNTERS): NULL in secure-execution mode. */
const char *hfs_env_user(const char *name);
void hfs_env_apply(void);

#endif
