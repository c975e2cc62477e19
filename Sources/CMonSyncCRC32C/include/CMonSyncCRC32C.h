#ifndef CMONSYNC_CRC32C_H
#define CMONSYNC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC32C (Castagnoli, reflected polynomial 0x82F63B78) over `length`
/// bytes. Start with `crc = 0`; the result of one call can be fed to the next to
/// checksum data that arrives in pieces. Pre- and post-inversion are handled
/// inside, so `crc32c(crc32c(0, a), b) == crc32c(0, a || b)`.
uint32_t monsync_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// 1 when the running CPU computes CRC32C in hardware (SSE4.2 or ARMv8 CRC).
int monsync_crc32c_is_hardware_accelerated(void);

// The table-driven path whatever the CPU: the reference the hardware path is tested against.
uint32_t monsync_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

#endif
