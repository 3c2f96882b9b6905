# Engine benchmarks (D13): advance rate (memory, LMDB relaxed), replay,
# history independence, heap flatness, store growth, durable advance vs a
# bare LMDB commit of the same records, group commit across 8 threads.
tokenrail_add_bench(bench_engine SOURCES "${CMAKE_CURRENT_LIST_DIR}/bench_engine.cpp" MODULES engine storage LIBS lmdb::lmdb)
