#ifndef MONSYNC_BENCH_ROCKSDB_COMPACT_H
#define MONSYNC_BENCH_ROCKSDB_COMPACT_H

/// Opens the RocksDB database in `path`, compacts its whole key range (so a freshly loaded store
/// is one sorted level, as a long-lived monitor's would be, and a node opening it starts no
/// compaction of its own), and closes it. Returns 0, or -1 with a message in `error` (64 bytes+).
int monsync_bench_compact(const char *path, char *error, unsigned long errorSize);

#endif
