# Engine benchmarks (D13): advance rate, replay latency, history independence,
# store growth per advance, all on the memory store.
tokenrail_add_bench(bench_engine SOURCES "${CMAKE_CURRENT_LIST_DIR}/bench_engine.cpp" MODULES engine storage)
