# Codec benchmarks (D13): token mint/verify, canonical JSON throughput.
tokenrail_add_bench(bench_token SOURCES bench_token.cpp MODULES token)
tokenrail_add_bench(bench_canonical SOURCES bench_canonical.cpp MODULES crypto json)
