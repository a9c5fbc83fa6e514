/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
#include "journal/crc32c.h"

#include <string.h>

#include "journal/crc32c_table.inc"

static uint32_t crc_sw(uint32_t c, const unsigned char *p, size_t n) {
  while (n && ((uintptr_t)p & 7u)) {
    c = crc32c_table[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
    n--;
  }
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= c;
    c = crc32c_table[7][lo & 0xffu] ^ crc32c_table[6][(lo >> 8) & 0xffu] ^
        crc32c_table[5][(lo >> 16) & 0xffu] ^ crc32c_table[4][lo >> 24] ^
        crc32c_table[3][hi & 0xffu] ^ crc32c_table[2][(hi >> 8) & 0xffu] ^
        crc32c_table[1][(hi >> 16) & 0xffu] ^ crc32c_table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = crc32c_table[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
  return c;
}

#if !defined(HUBC_CRC_NO_HW) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HUBC_CRC_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const unsigned char *p,
                                                          size_t n) {
  while (n && ((uintptr_t)p & 7u)) {
    c = __builtin_ia32_crc32qi(c, *p++);
    n--;
  }
  unsigned long long c64 = c;
  while (n >= 8) {
    unsigned long long v;
    memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  c = (uint32_t)c64;
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}
#endif

uint32_t hubc__crc32c_extend(uint32_t crc, const void *data, size_t len) {
  const unsigned char *p = data;
  uint32_t c = ~crc;
#ifdef HUBC_CRC_HW
  if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(c, p, len);
#endif
  return ~crc_sw(c, p, len);
}
