# Storage benchmarks (D13): bare LMDB commit baseline vs the LMDB backend,
# relaxed rates, group commit, memory backend transactions.
tokenrail_add_bench(bench_lmdb_commit SOURCES bench_lmdb_commit.cpp MODULES storage LIBS lmdb::lmdb)
