/* Text rules shared by every area: UTF-8, emails (C3), typed values (C4),
 * dates, hashing. No allocation here. */
#ifndef HUBC_UTIL_TEXT_H
#define HUBC_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts/common.h"
#include "hubcontacts/contact.h" /* HUBC_MAX_EMAIL_BYTES */

/* 1 if s[0..len) is valid UTF-8 without NUL bytes. */
int hubc__utf8_valid(const char *s, size_t len);

/* C3: trims surrounding ASCII white space, validates syntax, refuses white
 * space, separators, controls, format characters and unassigned code points
 * anywhere, lowercases ASCII and, when there are non-ASCII bytes, applies
 * full Unicode case folding and NFC (utf8proc). The result is at most
 * HUBC_MAX_EMAIL_BYTES. Writes the normalized email (NUL-terminated) to out,
 * which must hold HUBC__EMAIL_BUF bytes (whole 8-byte words are stored), and
 * returns its length, or -1 with the reason in *why (a static or
 * thread-local string, valid until the thread's next call). */
#define HUBC__EMAIL_BUF (HUBC_MAX_EMAIL_BYTES + 8)
int hubc__email_normalize(const char *in, char *out, const char **why);
/* The rule before C3 covered Unicode (ASCII lowercasing only, non-ASCII
 * bytes kept), which addresses stored by older versions follow. *non_ascii
 * tells whether the address has non-ASCII bytes: without any, both rules
 * give the same result. */
int hubc__email_normalize_ascii(const char *in, char *out, int *non_ascii, const char **why);

uint32_t hubc__hash(const char *s, size_t len);
/* ASCII case-insensitive hash/compare (property names and labels). */
uint32_t hubc__hash_ci(const char *s, size_t len);
int hubc__eq_ci(const char *a, const char *b);

/* 1 if a decimal [+-]d[.d][e[+-]d] a double holds (magnitude at most
 * DBL_MAX), 0 if not that grammar, -1 if beyond DBL_MAX (stored values from
 * before this rule still load). */
int hubc__parse_number(const char *s);
int hubc__parse_bool(const char *s);              /* 1 true, 0 false, -1 bad */
/* ISO-8601 date or date-time (Z or ±hh:mm offset); 0 ok, -1 bad, -2 an
 * instant outside years 1 to 9999 UTC (*out set; stored values from before
 * this rule still load). */
int hubc__parse_datetime(const char *s, hubc_time *out);

/* Times the store accepts (clock, stored records): years 1 to 9999, so
 * date arithmetic never overflows. */
#define HUBC__TIME_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define HUBC__TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */
static inline int hubc__time_ok(hubc_time t) { return t >= HUBC__TIME_MIN && t <= HUBC__TIME_MAX; }
/* floor(t / 86400), without the overflow of negating t. */
static inline int64_t hubc__day_of(hubc_time t) { return t / 86400 - (t % 86400 < 0); }

/* Civil calendar helpers (proleptic Gregorian, UTC). */
int64_t hubc__days_from_civil(int64_t y, unsigned m, unsigned d);
void hubc__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
unsigned hubc__days_in_month(int64_t y, unsigned m);
/* "2024-03-21T10:00:00Z" into buf (≥ 32 bytes); returns length. */
size_t hubc__format_time(char *buf, hubc_time t);
/* Decimal of a signed 64-bit integer into buf (≥ 24 bytes); returns length. */
size_t hubc__format_i64(char *buf, int64_t v);

#endif
