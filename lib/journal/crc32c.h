/* CRC-32C (Castagnoli), the checksum of journal frames (R3). */
#ifndef HUBC_JOURNAL_CRC32C_H
#define HUBC_JOURNAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32C over `len` more bytes: start with crc = 0; the result
 * of one call is the CRC of everything so far (standard init/final xor
 * applied inside). hubc__crc32c_extend(0, "123456789", 9) == 0xE3069283.
 * Uses the SSE4.2 instruction when the CPU has it (runtime check), else a
 * slicing-by-8 table. */
uint32_t hubc__crc32c_extend(uint32_t crc, const void *data, size_t len);

static inline uint32_t hubc__crc32c(const void *data, size_t len) {
  return hubc__crc32c_extend(0, data, len);
}

#endif
