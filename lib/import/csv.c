#include "import/csv.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "util/error.h"

/* Skips 16 bytes at a time over an unquoted field up to its first stop
 * byte (delimiter, CR, LF, NUL), or to fewer than 16 bytes from the end;
 * *high gets 0x80 when a byte passed has its top bit set (not ASCII: the
 * field's UTF-8 is checked). The byte loop in hubc__csv_next does the rest. */
static inline char *skip_plain(char *p, const char *end, char delim, unsigned char *high) {
#if defined(__SSE2__)
  const __m128i d = _mm_set1_epi8(delim), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                nul = _mm_setzero_si128();
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, lf)),
                                _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, nul)));
    unsigned m = (unsigned)_mm_movemask_epi8(stop), h = (unsigned)_mm_movemask_epi8(v);
    if (m) {
      unsigned k = (unsigned)__builtin_ctz(m);
      if (h & ((1u << k) - 1)) *high |= 0x80;
      return p + k;
    }
    if (h) *high |= 0x80;
    p += 16;
  }
#else
  (void)end, (void)delim, (void)high;
#endif
  return p;
}

/* Offset of the first byte that does not start a valid UTF-8 sequence
 * (overlongs, surrogates and code points past U+10FFFF are invalid), or n. */
static size_t utf8_bad(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else return i;
    if (n - i <= need) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += need + 1;
  }
  return n;
}

char hubc__csv_detect(const char *buf, size_t len) {
  size_t comma = 0, semi = 0, tab = 0;
  int quoted = 0;
  size_t i = 0;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3;
  for (; i < len; i++) {
    char ch = buf[i];
    if (ch == '"') quoted = !quoted; /* a doubled quote toggles twice */
    else if (quoted) continue;
    else if (ch == '\n' || ch == '\r') break;
    else if (ch == ',') comma++;
    else if (ch == ';') semi++;
    else if (ch == '\t') tab++;
  }
  if (semi > comma && semi >= tab) return ';';
  if (tab > comma && tab > semi) return '\t';
  return ',';
}

void hubc__csv_init(hubc__csv *c, char *buf, size_t len, char delim) {
  c->base = buf;
  c->p = c->out = buf;
  c->contiguous = 0;
  c->end = buf + len;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) c->p += 3;
  c->line_start = c->p;
  c->line = 1;
  c->delim = delim ? delim : hubc__csv_detect(buf, len);
  memset(c->stop, 0, sizeof c->stop);
  c->stop[(unsigned char)c->delim] = 1;
  c->stop['\n'] = 1;
  c->stop['\r'] = 1;
  c->stop[0] = 1;
}

const char *hubc__csv_defect_text(int defect) {
  switch (defect) {
  case HUBC__CSV_NUL: return "NUL byte in the field";
  case HUBC__CSV_UTF8: return "invalid UTF-8 (is the file saved as UTF-8? Latin-1 is not accepted)";
  case HUBC__CSV_AFTER_QUOTE: return "text after the closing quote of a quoted field";
  case HUBC__CSV_TOO_MANY: return "more fields than the header has columns";
  default: return "no defect";
  }
}

static void defect_at(hubc__csv_row *r, int what, size_t field, uint64_t line,
                      const char *line_start, const char *at) {
  if (r->defect) return;
  r->defect = what;
  r->defect_field = field;
  r->defect_line = line;
  r->defect_col = (uint64_t)(at - line_start) + 1;
}
static void defect(hubc__csv_row *r, int what, size_t field, const hubc__csv *c, const char *at) {
  defect_at(r, what, field, c->line, c->line_start, at);
}

/* Consumes the line break `ch` at p (CRLF, LF or a lone CR; p[0] itself
 * may already be overwritten by a field's terminating NUL). */
static char *newline(hubc__csv *c, char *p, char ch) {
  if (ch == '\r' && p + 1 < c->end && p[1] == '\n') p++;
  p++;
  c->line++;
  c->line_start = p;
  return p;
}

/* Checks the quoted text s[0..n) of field `fi` (NUL, UTF-8) and counts its
 * line breaks. s is still in its original place. */
static void quoted_span(hubc__csv *c, hubc__csv_row *r, size_t fi, const char *s, size_t n) {
  const char *end = s + n;
  const char *chunk = s; /* start of the part on the current line */
  for (const char *q = s; q < end; q++) {
    unsigned char ch = (unsigned char)*q;
    if (ch == '\n' || (ch == '\r' && (q + 1 >= c->end || q[1] != '\n'))) {
      if (!r->defect) {
        size_t bad = utf8_bad((const unsigned char *)chunk, (size_t)(q - chunk));
        if (bad < (size_t)(q - chunk)) defect(r, HUBC__CSV_UTF8, fi, c, chunk + bad);
      }
      c->line++;
      c->line_start = q + 1;
      chunk = q + 1;
    } else if (ch == 0) {
      defect(r, HUBC__CSV_NUL, fi, c, q);
    }
  }
  if (!r->defect) {
    size_t bad = utf8_bad((const unsigned char *)chunk, (size_t)(end - chunk));
    if (bad < (size_t)(end - chunk)) defect(r, HUBC__CSV_UTF8, fi, c, chunk + bad);
  }
}

int hubc__csv_next(hubc__csv *c, hubc__csv_row *r) {
  char *p = c->p;
  while (p < c->end && (*p == '\n' || *p == '\r')) p = newline(c, p, *p);
  if (p >= c->end) {
    c->p = p;
    if (!c->contiguous) c->out = p;
    return 0;
  }
  r->n = 0;
  r->defect = 0;
  r->line = c->line;
  r->offset = (uint64_t)(p - c->base);
  const char delim = c->delim;
  char *out = p, *const row = p; /* the row's values are written from here on, packed (contiguous: moved at the end) */
  for (;;) {
    size_t fi = r->n++;
    char *start = out;
    /* where the field starts in the file: `start` is where its value is
     * packed, which after quoted line breaks is on an earlier line */
    const char *src_at = p, *src_ls = c->line_start;
    const uint64_t src_line = c->line;
    if (p < c->end && *p == '"') {
      char *q = p + 1;
      for (;;) {
        char *nq = memchr(q, '"', (size_t)(c->end - q));
        if (!nq) {
          c->p = c->out = c->end;
          return hubc__err(HUBC_EINVAL,
                           "line %llu, column %llu: a quoted field is never closed (its opening "
                           "quote reaches the end of the file)",
                           (unsigned long long)src_line,
                           (unsigned long long)(src_at - src_ls) + 1);
        }
        size_t n = (size_t)(nq - q);
        quoted_span(c, r, fi, q, n);
        memmove(out, q, n);
        out += n;
        if (nq + 1 < c->end && nq[1] == '"') { /* a doubled quote is one quote */
          *out++ = '"';
          q = nq + 2;
          continue;
        }
        p = nq + 1;
        break;
      }
      if (p < c->end && *p != delim && *p != '\n' && *p != '\r') {
        defect(r, HUBC__CSV_AFTER_QUOTE, fi, c, p);
        while (p < c->end && *p != delim && *p != '\n' && *p != '\r') p++;
      }
    } else {
      char *src = p;
      unsigned char high = 0;
      for (;;) {
        p = skip_plain(p, c->end, delim, &high);
        while (p < c->end && !c->stop[(unsigned char)*p]) high |= (unsigned char)*p++;
        if (p < c->end && *p == 0) { /* NUL inside the field */
          defect(r, HUBC__CSV_NUL, fi, c, p);
          p++;
          continue;
        }
        break;
      }
      if (high & 0x80 && !r->defect) {
        size_t bad = utf8_bad((const unsigned char *)src, (size_t)(p - src));
        if (bad < (size_t)(p - src)) defect(r, HUBC__CSV_UTF8, fi, c, src + bad);
      }
      if (out != src) memmove(out, src, (size_t)(p - src));
      out += p - src;
    }
    /* out <= p here: a value never outgrows its source text. Read the
     * terminator before the NUL may overwrite it. */
    char term = p < c->end ? *p : 0;
    if (fi < r->cap) {
      r->field[fi] = start;
      r->len[fi] = (uint32_t)(out - start);
    } else if (fi == r->cap) {
      defect_at(r, HUBC__CSV_TOO_MANY, fi, src_line, src_ls, src_at);
    }
    *out++ = '\0'; /* over the terminator, or the slack byte at the end */
    if (p < c->end && term == delim) {
      p++;
      continue;
    }
    if (p < c->end) p = newline(c, p, term);
    c->p = p;
    if (c->contiguous && c->out != row) { /* one move of the row, not one per field */
      size_t shift = (size_t)(row - c->out), kept = r->n < r->cap ? r->n : r->cap;
      memmove(c->out, row, (size_t)(out - row));
      for (size_t i = 0; i < kept; i++) r->field[i] -= shift;
      out -= shift;
    }
    c->out = out;
    return 1;
  }
}

size_t hubc__csv_quote(char *out, const char *s, size_t len, char delim) {
  int need = 0;
  for (size_t i = 0; i < len && !need; i++)
    need = s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!need) {
    memcpy(out, s, len);
    return len;
  }
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') out[o++] = '"';
    out[o++] = s[i];
  }
  out[o++] = '"';
  return o;
}
