/* noop: does nothing; its start-up under the preload measures the library's own load and rules-load cost (bench/bench.py). */
int main(void) { return 0; }
