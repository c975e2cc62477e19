// Offline full compaction of a benchmark's freshly loaded store. The parent package's `CRocksDB`
// is a system library target that no product exports, so this small C target links RocksDB itself.
#include "rocksdb_compact.h"
#include <rocksdb/c.h>
#include <stdio.h>

int monsync_bench_compact(const char *path, char *error, unsigned long errorSize) {
    rocksdb_options_t *options = rocksdb_options_create();
    rocksdb_options_increase_parallelism(options, 2);
    char *message = NULL;
    rocksdb_t *db = rocksdb_open(options, path, &message);
    if (message != NULL) {
        snprintf(error, errorSize, "%s", message);
        rocksdb_free(message);
        rocksdb_options_destroy(options);
        return -1;
    }
    rocksdb_compact_range(db, NULL, 0, NULL, 0);
    rocksdb_close(db);
    rocksdb_options_destroy(options);
    return 0;
}
