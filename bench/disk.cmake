# The disk itself (no tokenrail code): fdatasync cost of scattered vs
# side-by-side pages, the context of the group-commit figure.
tokenrail_add_bench(bench_disk SOURCES bench_disk.cpp)
