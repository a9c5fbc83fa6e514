#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "hubcontacts/contact.h"

/* ASCII lowercase without the locale machinery of tolower(). */
static inline unsigned char lower(unsigned char c) { return (unsigned char)(c | ((unsigned)(c - 'A') < 26u) << 5); }

int hubc__utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  while (s < end) {
    /* fast path: 8 ASCII bytes without NUL at a time; the last 8 bytes of
     * the string cover a short tail (s is at a character boundary) */
    if (len >= 8) {
      const unsigned char *at = (size_t)(end - s) >= 8 ? s : end - 8;
      uint64_t w;
      memcpy(&w, at, 8);
      if (!(w & 0x8080808080808080ULL) && !((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL)) {
        s = at + 8;
        continue;
      }
    }
    unsigned c = *s;
    if (c == 0) return 0;
    if (c < 0x80) { s++; continue; }
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; c &= 0x07; }
    else return 0;
    if ((size_t)(end - s) <= n) return 0;
    for (size_t i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    s += n + 1;
  }
  return 1;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static uint64_t lower8(uint64_t w);

/* Exact per-byte masks (0x80 in each matching byte, no false positives):
 * the email loop takes 8 bytes at a time and looks at single bytes only
 * around spaces, controls and non-ASCII. */
#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL

static uint64_t zero_bytes(uint64_t x) { return ~(((x & LOW7) + LOW7) | x | LOW7); }
static uint64_t below(uint64_t x, unsigned n) { return ~(((x & LOW7) + ONES * (0x80 - n)) | x) & HIGH; }

/* The ASCII rules of C3 over the trimmed address b[0..len): rejects spaces,
 * controls, bad UTF-8 and bad syntax, lowercases ASCII into out and tells
 * whether there are non-ASCII bytes (*non_ascii), which this pass leaves as
 * they are. */
/* Inlined by force: as a call it cost ASCII lookups ~10 % (measured). */
static inline __attribute__((always_inline)) int email_ascii(const char *b, size_t len, char *out, int *non_ascii,
                                                             const char **why) {
  const char *e = b + len;
  size_t i = 0, at = SIZE_MAX;
  int high = 0;
  while (i < len) {
    size_t n = len - i < 8 ? len - i : 8;
    uint64_t w;
    if (n == 8) {
      memcpy(&w, b + i, 8);
    } else { /* the tail, padded with a neutral letter */
      uint64_t pad = ONES * 'a' & ~(~0ULL >> (8 * (8 - n)));
      if (len >= 8) { /* the string's last 8 bytes, shifted down: no byte loop */
        memcpy(&w, e - 8, 8);
        w = w >> (8 * (8 - n)) | pad;
      } else {
        w = pad;
        for (size_t k = 0; k < n; k++) w |= (uint64_t)(unsigned char)b[i + k] << (8 * k);
      }
    }
    if ((below(w, 0x21) | zero_bytes(w ^ (ONES * 0x7f))) & ~(w & HIGH)) {
      *why = "contains a space or control character";
      return -1;
    }
    high |= (w & HIGH) != 0; /* UTF-8 is checked as a whole below */
    for (uint64_t ats = zero_bytes(w ^ (ONES * '@')); ats; ats &= ats - 1) {
      if (at != SIZE_MAX) { *why = "contains more than one '@'"; return -1; }
      at = i + (size_t)__builtin_ctzll(ats) / 8;
    }
    w = lower8(w);
    memcpy(out + i, &w, 8); /* whole words: out has room (HUBC__EMAIL_BUF or more) */
    i += n;
  }
  out[len] = '\0';
  if (high && !hubc__utf8_valid(b, len)) { *why = "is not valid UTF-8"; return -1; }
  if (at == SIZE_MAX) { *why = "has no '@'"; return -1; }
  if (at == 0) { *why = "has an empty local part"; return -1; }
  const char *dom = b + at + 1;
  const char *dot = memchr(dom, '.', (size_t)(e - dom));
  if (!dot || dot == dom || e[-1] == '.') { *why = "has no domain with a dot"; return -1; }
  *non_ascii = high;
  return (int)len;
}

/* Trims surrounding ASCII white space; 0 and *why if nothing is left. */
static inline __attribute__((always_inline)) size_t email_trim(const char *in, const char **b, const char **why) {
  const char *e = in + strlen(in);
  while (in < e && is_space((unsigned char)*in)) in++;
  while (e > in && is_space((unsigned char)e[-1])) e--;
  *b = in;
  if (e == in) *why = "is empty";
  return (size_t)(e - in);
}

/* A code point C3 refuses anywhere in an address: white space and other
 * separators, controls, format characters (zero-width ones, BOM), and
 * unassigned code points (a later Unicode version may give them case or
 * composition mappings, and a stored address must stay normalized). NULL if
 * allowed. */
static const char *email_refused(utf8proc_int32_t cp) {
  switch (utf8proc_category(cp)) {
  case UTF8PROC_CATEGORY_ZS: return "a space";
  case UTF8PROC_CATEGORY_ZL: return "a line separator";
  case UTF8PROC_CATEGORY_ZP: return "a paragraph separator";
  case UTF8PROC_CATEGORY_CC: return "a control character";
  case UTF8PROC_CATEGORY_CF: return "a format character";
  case UTF8PROC_CATEGORY_CN: return "an unassigned code point";
  default: return NULL;
  }
}

/* Longest trimmed input that can still normalize to HUBC_MAX_EMAIL_BYTES:
 * NFC and case folding shrink text at most 3× (Kelvin sign U+212A → k,
 * Hangul jamo → one syllable). */
#define EMAIL_MAX_INPUT (4 * HUBC_MAX_EMAIL_BYTES)

/* Non-ASCII addresses (C3): refuse the code points above, then NFC of the
 * full case folding (utf8proc: decompose and fold, then compose), then the
 * ASCII rules again on the result — the stored and compared form, so the
 * 254-byte bound applies to it. Out of line: its buffer stays off the ASCII
 * path's stack frame. */
static __attribute__((noinline)) int email_unicode(const char *b, size_t len, char *out, const char **why) {
  static _Thread_local char msg[96];
  const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)b;
  for (size_t i = 0; i < len;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &cp);
    if (n < 0) { *why = "is not valid UTF-8"; return -1; }
    const char *what = email_refused(cp);
    if (what) {
      snprintf(msg, sizeof msg, "contains %s (U+%04X) at byte %zu", what, (unsigned)cp, i);
      *why = msg;
      return -1;
    }
    i += (size_t)n;
  }
  /* A composed code point decomposes into at most 4, so more than 4 × 254
   * decomposed code points cannot compose back into 254 bytes. The extra
   * entry is the NUL utf8proc_reencode writes. */
  utf8proc_int32_t cps[4 * HUBC_MAX_EMAIL_BYTES + 1];
  const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_REJECTNA;
  utf8proc_ssize_t n = utf8proc_decompose(u, (utf8proc_ssize_t)len, cps, 4 * HUBC_MAX_EMAIL_BYTES, opts);
  if (n > 4 * HUBC_MAX_EMAIL_BYTES) { *why = "is longer than 254 bytes once normalized"; return -1; }
  if (n >= 0) n = utf8proc_reencode(cps, n, opts);
  if (n < 0) { *why = "is not valid Unicode"; return -1; } /* refused above already */
  if (n > HUBC_MAX_EMAIL_BYTES) { *why = "is longer than 254 bytes once normalized"; return -1; }
  for (utf8proc_ssize_t i = 0, k; i < n; i += k) { /* folding never makes one, but the index must not hold one */
    utf8proc_int32_t cp;
    k = utf8proc_iterate((const utf8proc_uint8_t *)cps + i, n - i, &cp);
    if (k < 0 || email_refused(cp)) { *why = "is not valid Unicode"; return -1; }
  }
  int non_ascii;
  return email_ascii((const char *)cps, (size_t)n, out, &non_ascii, why);
}

static int has_high_byte(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80) return 1;
  return 0;
}

int hubc__email_normalize(const char *in, char *out, const char **why) {
  const char *b;
  size_t len = email_trim(in, &b, why);
  if (len == 0) return -1;
  if (len > HUBC_MAX_EMAIL_BYTES) { /* only normalizing non-ASCII text can shorten it */
    if (len <= EMAIL_MAX_INPUT && has_high_byte(b, len)) return email_unicode(b, len, out, why);
    *why = "is longer than 254 bytes";
    return -1;
  }
  int non_ascii = 0, n = email_ascii(b, len, out, &non_ascii, why);
  if (n < 0 || !non_ascii) return n;
  return email_unicode(b, len, out, why);
}

int hubc__email_normalize_ascii(const char *in, char *out, int *non_ascii, const char **why) {
  const char *b;
  size_t len = email_trim(in, &b, why);
  if (len == 0) return -1;
  if (len > HUBC_MAX_EMAIL_BYTES) { *why = "is longer than 254 bytes"; return -1; }
  return email_ascii(b, len, out, non_ascii, why);
}

/* Hashing 8 bytes per step (emails and names are hashed on every call):
 * each word is folded in with a multiply, then a final avalanche so the
 * low bits are usable for power-of-two tables. */
static uint64_t fold(uint64_t h, uint64_t w) {
  h ^= w;
  h *= 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

static uint32_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return (uint32_t)h;
}

/* Lowercases the ASCII letters of 8 bytes at once (SWAR): a byte gets 0x20
 * when it lies in 'A'..'Z'; other bytes, including UTF-8, are unchanged. */
static uint64_t lower8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  uint64_t seven = w & ~high;                          /* low 7 bits per byte */
  uint64_t ge_a = (seven + ones * (0x80 - 'A')) & high; /* >= 'A' */
  uint64_t gt_z = (seven + ones * (0x80 - 'Z' - 1)) & high; /* > 'Z' */
  uint64_t upper = ge_a & ~gt_z & ~w;                  /* and an ASCII byte */
  return w | (upper >> 2);
}

static uint32_t hash_words(const char *s, size_t len, int ci) {
  uint64_t h = 0x243f6a8885a308d3ULL ^ len, w;
  for (; len >= 8; s += 8, len -= 8) {
    memcpy(&w, s, 8);
    h = fold(h, ci ? lower8(w) : w);
  }
  w = 0;
  for (size_t k = 0; k < len; k++) w |= (uint64_t)(unsigned char)s[k] << (8 * k);
  return finish(fold(h, ci ? lower8(w) : w));
}

uint32_t hubc__hash(const char *s, size_t len) { return hash_words(s, len, 0); }
uint32_t hubc__hash_ci(const char *s, size_t len) { return hash_words(s, len, 1); }

int hubc__eq_ci(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (lower((unsigned char)*a) != lower((unsigned char)*b)) return 0;
  return *a == *b;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* DBL_MAX in decimal, all 309 digits: the largest finite number (C4). */
static const char dbl_max_digits[] =
    "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458"
    "953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304"
    "583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368";

/* A plain decimal, by grammar rather than strtod: the host's locale must
 * not change what is a number (C4), and hex, inf and nan are not numbers;
 * nor is what a double cannot hold (1e999 would read as inf). Tiny values
 * are finite: they round towards 0. */
int hubc__parse_number(const char *s) {
  if (*s == '+' || *s == '-') s++;
  const char *lead = NULL; /* first nonzero digit */
  int digits = 0, pos = 0;            /* pos: power of ten of the leading digit, before the exponent */
  for (; digit(*s); s++, digits++)
    if (lead) pos++;
    else if (*s != '0') lead = s;
  if (*s == '.') {
    s++;
    for (int j = 1; digit(*s); s++, digits++, j++)
      if (!lead && *s != '0') lead = s, pos = -j;
  }
  if (!digits) return 0;
  int exp = 0, esign = 1;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') esign = *s++ == '-' ? -1 : 1;
    int n = 0;
    for (; digit(*s); s++) {
      if (++n > 4) return 0; /* |exponent| < 10000 (grammar) */
      exp = exp * 10 + (*s - '0');
    }
    if (!n) return 0;
  }
  if (*s != '\0') return 0;
  if (!lead) return 1; /* zero */
  long p10 = (long)pos + esign * exp;
  if (p10 != 308) return p10 < 308 ? 1 : -1;
  const char *d = dbl_max_digits; /* same order of magnitude: compare the digits */
  for (const char *c = lead; digit(*c) || *c == '.'; c++) {
    if (*c == '.') continue;
    if (!*d) { /* past DBL_MAX's last digit: only zeros keep it in range */
      if (*c != '0') return -1;
      continue;
    }
    if (*c != *d) return *c < *d ? 1 : -1;
    d++;
  }
  return 1;
}

int hubc__parse_bool(const char *s) {
  if (hubc__eq_ci(s, "true")) return 1;
  if (hubc__eq_ci(s, "false")) return 0;
  return -1;
}

int64_t hubc__days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void hubc__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned hubc__days_in_month(int64_t y, unsigned m) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return days[m - 1];
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!digit((*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int hubc__parse_datetime(const char *s, hubc_time *out) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  const char *p = s;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > hubc__days_in_month(y, (unsigned)mo)) return -1;
  int64_t off = 0;
  if (*p == 'T' || *p == ' ') {
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
    if (*p == ':') {
      p++;
      if (digits(&p, 2, &se)) return -1;
      if (*p == '.') {
        p++;
        if (!digit(*p)) return -1;
        while (digit(*p)) p++;
      }
    }
    if (h > 23 || mi > 59 || se > 60) return -1;
    if (*p == 'Z') p++;
    else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      if (digits(&p, 2, &oh)) return -1;
      if (*p == ':') p++;
      if (digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
      off = sign * (oh * 3600 + om * 60);
    }
  }
  if (*p) return -1;
  *out = hubc__days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
  return hubc__time_ok(*out) ? 0 : -2; /* year 0000, or an offset crossing year 1 or 9999 */
}

size_t hubc__format_i64(char *buf, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t len = 0;
  if (v < 0) buf[len++] = '-';
  while (n) buf[len++] = tmp[--n];
  buf[len] = '\0';
  return len;
}

static char *put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

size_t hubc__format_time(char *buf, hubc_time t) {
  if (!hubc__time_ok(t)) return hubc__format_i64(buf, t);
  int64_t days = hubc__day_of(t);
  int64_t secs = t - days * 86400;
  int64_t y;
  unsigned m, d;
  hubc__civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) return hubc__format_i64(buf, t);
  char *p = buf;
  p = put2(p, (unsigned)(y / 100));
  p = put2(p, (unsigned)(y % 100));
  *p++ = '-';
  p = put2(p, m);
  *p++ = '-';
  p = put2(p, d);
  *p++ = 'T';
  p = put2(p, (unsigned)(secs / 3600));
  *p++ = ':';
  p = put2(p, (unsigned)(secs / 60 % 60));
  *p++ = ':';
  p = put2(p, (unsigned)(secs % 60));
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - buf);
}
