/* emptylib: a preload library that does nothing; the exec rows' floor: what any LD_PRELOAD costs an exec on this machine (bench/bench.py). */
int hfs_bench_empty(void);
int hfs_bench_empty(void) { return 0; }
