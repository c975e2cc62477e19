// RocksDB's C API, from Debian's librocksdb-dev (7.8.3 when this was written).
#include <rocksdb/c.h>
