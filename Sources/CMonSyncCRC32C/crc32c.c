// CRC32C for the MonSync frame and chunk checksums.
//
// Why in C: Swift cannot reach the SSE4.2 `crc32` instruction, and the sync
// path checksums every byte twice (frame and chunk) at more than 1 GB/s. The
// hardware path is chosen once at run time; the table-driven fallback
// (slicing-by-8) keeps non-x86/ARM machines correct.

#include "CMonSyncCRC32C.h"
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static int table_ready;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int s = 1; s < 8; s++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[s][n] = c;
        }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t software(uint32_t crc, const unsigned char *p, size_t n) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    while (n && ((uintptr_t)p & 7)) { crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8); n--; }
    while (n >= 8) {
        uint64_t w; memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8; n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <cpuid.h>

// One crc32 instruction has a latency of 3 cycles but a throughput of 1 per cycle, so one
// dependent stream runs at a third of what the unit can do. Three independent streams over
// three adjacent blocks keep it busy; their registers are then joined with "append n zero
// bytes" operators (linear maps over GF(2), tabulated once) — Mark Adler's method. A 1 MiB
// sync chunk is checksummed twice on each side (frame and chunk), so this is on the hot path.
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256
static uint32_t zeros_long[4][256];
static uint32_t zeros_short[4][256];
static int zeros_ready;

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    for (; vector; vector >>= 1, matrix++) if (vector & 1) sum ^= *matrix;
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// The operator that appends `length` zero bytes (a power of two) to a CRC register.
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = POLY;  // one zero bit
    for (int n = 1; n < 32; n++) odd[n] = 1u << (n - 1);
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    do {
        gf2_square(even, odd);
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);
        length >>= 1;
    } while (length);
    memcpy(even, odd, sizeof odd);
}

static void zeros_table(uint32_t zeros[4][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_times(op, n);
        zeros[1][n] = gf2_times(op, n << 8);
        zeros[2][n] = gf2_times(op, n << 16);
        zeros[3][n] = gf2_times(op, n << 24);
    }
}

static void build_zeros(void) {
    zeros_table(zeros_long, LONG_BLOCK);
    zeros_table(zeros_short, SHORT_BLOCK);
    __atomic_store_n(&zeros_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t shift(uint32_t zeros[4][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static const unsigned char *three_way(uint64_t *c0, const unsigned char *p, size_t *n, size_t block, uint32_t zeros[4][256]) {
    while (*n >= 3 * block) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *end = p + block;
        do {
            uint64_t w0, w1, w2;
            memcpy(&w0, p, 8); memcpy(&w1, p + block, 8); memcpy(&w2, p + 2 * block, 8);
            *c0 = __builtin_ia32_crc32di(*c0, w0);
            c1 = __builtin_ia32_crc32di(c1, w1);
            c2 = __builtin_ia32_crc32di(c2, w2);
            p += 8;
        } while (p < end);
        *c0 = shift(zeros, (uint32_t)*c0) ^ (uint32_t)c1;
        *c0 = shift(zeros, (uint32_t)*c0) ^ (uint32_t)c2;
        p += 2 * block;
        *n -= 3 * block;
    }
    return p;
}

__attribute__((target("sse4.2")))
static uint32_t hardware(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) { c = __builtin_ia32_crc32qi((uint32_t)c, *p++); n--; }
    if (n >= 3 * SHORT_BLOCK) {
        if (!__atomic_load_n(&zeros_ready, __ATOMIC_ACQUIRE)) build_zeros();
        p = three_way(&c, p, &n, LONG_BLOCK, zeros_long);
        p = three_way(&c, p, &n, SHORT_BLOCK, zeros_short);
    }
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); c = __builtin_ia32_crc32di(c, w); p += 8; n -= 8; }
    while (n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t hardware(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); crc = __crc32cd(crc, w); p += 8; n -= 8; }
    while (n--) crc = __crc32cb(crc, *p++);
    return crc;
}
static int detect(void) { return 1; }
#else
static uint32_t hardware(uint32_t crc, const unsigned char *p, size_t n) { return software(crc, p, n); }
static int detect(void) { return 0; }
#endif

static int accelerated = -1;

uint32_t monsync_crc32c_extend_portable(uint32_t crc, const void *data, size_t length) {
    return ~software(~crc, (const unsigned char *)data, length);
}

int monsync_crc32c_is_hardware_accelerated(void) {
    int a = __atomic_load_n(&accelerated, __ATOMIC_ACQUIRE);
    if (a < 0) { a = detect(); __atomic_store_n(&accelerated, a, __ATOMIC_RELEASE); }
    return a;
}

uint32_t monsync_crc32c_extend(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    crc = monsync_crc32c_is_hardware_accelerated() ? hardware(crc, p, length) : software(crc, p, length);
    return ~crc;
}
