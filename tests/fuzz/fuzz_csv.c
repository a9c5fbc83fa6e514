/* libFuzzer target for the import's CSV reader (I1, I5).
 *
 * Input: the first byte picks the delimiter (0: detect, then comma,
 * semicolon, tab), the rest is the file. Checked for every row:
 *   - rows start on strictly increasing lines, at increasing offsets;
 *   - a row's values are packed one after another, each NUL-ended;
 *   - a row without defect has NUL-terminated fields of the stated length,
 *     in valid UTF-8 (re-checked here independently);
 *   - such a row, quoted again with hubc__csv_quote and read back, gives
 *     the same fields (the reader and the error-file writer agree);
 *   - a defect's line and column, mapped back through line starts counted
 *     here independently (CRLF, LF, lone CR), fall inside the row; a NUL
 *     defect points at a NUL byte;
 *   - an unterminated quote ends the input with EINVAL and a message;
 *   - read again in contiguous mode (the import's), dropping the rows with
 *     a defect, every row has the same fields, and each row kept starts
 *     where the one kept before ended.
 * Must never crash, hang or read outside the buffer.
 *
 * Seeds: tests/fuzz/corpus/fuzz_csv/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubcontacts.h"
#include "import/csv.h"

enum { CAP = 16 };

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_csv: %s\n", what);
    abort();
  }
}

/* An independent UTF-8 check: decode and re-validate ranges. */
static int utf8_ok(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k;
    if (s[i] < 0x80) { cp = s[i]; k = 1; }
    else if ((s[i] & 0xE0) == 0xC0) { cp = s[i] & 0x1Fu; k = 2; }
    else if ((s[i] & 0xF0) == 0xE0) { cp = s[i] & 0x0Fu; k = 3; }
    else if ((s[i] & 0xF8) == 0xF0) { cp = s[i] & 0x07u; k = 4; }
    else return 0;
    if (n - i < k) return 0;
    for (size_t j = 1; j < k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (s[i + j] & 0x3Fu);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += k;
  }
  return 1;
}

static void round_trip(char delim, char **field, const uint32_t *len, size_t n) {
  /* a file's leading BOM is not data: a first field starting with one
   * cannot come back from a file that starts with it */
  if (len[0] >= 3 && memcmp(field[0], "\xEF\xBB\xBF", 3) == 0) return;
  size_t cap = 1;
  for (size_t i = 0; i < n; i++) cap += 2 * (size_t)len[i] + 3;
  char *buf = malloc(cap + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) buf[o++] = delim;
    o += hubc__csv_quote(buf + o, field[i], len[i], delim);
  }
  /* one empty unquoted field would read as a blank line: quote it */
  if (n == 1 && len[0] == 0) {
    buf[o++] = '"';
    buf[o++] = '"';
  }
  buf[o++] = '\n';
  hubc__csv c;
  hubc__csv_init(&c, buf, o, delim);
  char *f2[CAP];
  uint32_t l2[CAP];
  hubc__csv_row r = {.field = f2, .len = l2, .cap = CAP};
  check(hubc__csv_next(&c, &r) == 1, "round trip: no row");
  check(r.defect == 0, "round trip: defect");
  check(r.n == n, "round trip: field count differs");
  for (size_t i = 0; i < n; i++)
    check(l2[i] == len[i] && memcmp(f2[i], field[i], len[i]) == 0, "round trip: field differs");
  check(hubc__csv_next(&c, &r) == 0, "round trip: extra row");
  free(buf);
}

/* Offsets where each physical line of s[0..n) starts; returns the count.
 * Columns count from after a leading BOM, as an editor shows the line. */
static size_t line_starts(const uint8_t *s, size_t n, size_t *start) {
  size_t k = 0;
  start[k++] = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    if (s[i] == '\n' || s[i] == '\r') start[k++] = i + 1;
  }
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  static const char delims[4] = {0, ',', ';', '\t'};
  char delim = delims[data[0] & 3];
  size_t len = size - 1;
  char *buf = malloc(len + 1);
  memcpy(buf, data + 1, len);
  size_t *start = malloc((len + 2) * sizeof *start);
  size_t nlines = line_starts(data + 1, len, start);
  hubc__csv c;
  hubc__csv_init(&c, buf, len, delim);
  check(c.delim == ',' || c.delim == ';' || c.delim == '\t', "delimiter");
  char *field[CAP];
  uint32_t flen[CAP];
  hubc__csv_row r = {.field = field, .len = flen, .cap = CAP};
  char *buf2 = malloc(len + 1), *field2[CAP];
  memcpy(buf2, data + 1, len);
  uint32_t flen2[CAP];
  hubc__csv c2;
  hubc__csv_init(&c2, buf2, len, delim);
  c2.contiguous = 1;
  hubc__csv_row r2 = {.field = field2, .len = flen2, .cap = CAP};
  uint64_t last_line = 0, last_off = 0;
  int first = 1, rc;
  while ((rc = hubc__csv_next(&c, &r)) == 1) {
    char *kept_end = c2.out;
    check(hubc__csv_next(&c2, &r2) == 1, "contiguous: no row");
    check(r2.n == r.n && r2.line == r.line && r2.defect == r.defect, "contiguous: another row");
    check(field2[0] == kept_end, "contiguous: a gap before the row");
    for (size_t i = 0; i < (r.n < CAP ? r.n : CAP); i++)
      check(flen2[i] == flen[i] && memcmp(field2[i], field[i], flen[i] + 1) == 0, "contiguous: another field");
    if (r2.defect) c2.out = field2[0]; /* dropped, as the import drops it */
    check(r.n >= 1, "row without fields");
    check(first || r.line > last_line, "row lines do not increase");
    check(first || r.offset > last_off, "row offsets do not increase");
    check(r.offset < len, "row offset past the end");
    first = 0;
    last_line = r.line;
    last_off = r.offset;
    size_t stored = r.n < CAP ? r.n : CAP;
    for (size_t i = 0; i + 1 < stored; i++)
      check(field[i + 1] == field[i] + flen[i] + 1, "values are not packed");
    if (r.defect) {
      check(r.defect_line >= r.line && r.defect_line <= nlines && r.defect_col >= 1,
            "defect line");
      size_t at = start[r.defect_line - 1] + (r.defect_col - 1);
      check(at >= r.offset && at <= len, "defect position outside its row");
      check(r.defect != HUBC__CSV_NUL || data[1 + at] == 0, "NUL defect not at a NUL");
      continue;
    }
    for (size_t i = 0; i < r.n; i++) {
      check(strlen(field[i]) == flen[i], "field length");
      check(utf8_ok((const unsigned char *)field[i], flen[i]), "field is not UTF-8");
    }
    round_trip(c.delim, field, flen, r.n);
  }
  check(rc == 0 || (rc == HUBC_EINVAL && strstr(hubc_error_last(), "never closed")), "bad end");
  check(rc != 0 || hubc__csv_next(&c2, &r2) == 0, "contiguous: an extra row");
  free(buf2);
  free(start);
  free(buf);
  return 0;
}
