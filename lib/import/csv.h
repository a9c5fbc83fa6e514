/* RFC 4180 reader over a writable memory buffer (I1). Each row's values
 * are unescaped in place and packed where the row starts, each followed by
 * a NUL: "v1\0v2\0…"; or, with `contiguous` set, right after the values of
 * the row before, so that the rows kept follow one another with no gap
 * (a caller dropping a row sets `out` back to its first value). Reading
 * allocates nothing, and a row can be walked again later from its first
 * value without the field arrays. The buffer must be writable and hold one
 * byte of slack after its `len` bytes. */
#ifndef HUBC_IMPORT_CSV_H
#define HUBC_IMPORT_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct hubc__csv {
  char *p, *end;          /* unread bytes */
  char *out;              /* end of the values written so far */
  int contiguous;         /* rows packed one after another (else each where it starts) */
  const char *base;       /* buffer start: offsets in messages */
  const char *line_start; /* where the physical line of p starts */
  uint64_t line;          /* physical line of p (1-based) */
  char delim;
  unsigned char stop[256]; /* bytes that end an unquoted run */
} hubc__csv;

/* What can be wrong with one row while its bounds are still certain, so
 * reading goes on with the next row (I5). First defect wins. */
enum {
  HUBC__CSV_OK = 0,
  HUBC__CSV_NUL,         /* a NUL byte in a field */
  HUBC__CSV_UTF8,        /* invalid UTF-8 in a field */
  HUBC__CSV_AFTER_QUOTE, /* text between a closing quote and the delimiter */
  HUBC__CSV_TOO_MANY     /* more fields than the caller has room for */
};

typedef struct hubc__csv_row {
  char **field;       /* the caller's array of `cap` pointers; field[0]
                         is where the row's packed values start */
  uint32_t *len;      /* the caller's array of `cap` lengths */
  size_t cap;
  size_t n;           /* fields in the row; may exceed cap (TOO_MANY) */
  uint64_t line;      /* physical line where the row starts */
  uint64_t offset;    /* byte offset of the row in the buffer */
  int defect;         /* HUBC__CSV_*, 0: none */
  size_t defect_field;  /* 0-based */
  uint64_t defect_line; /* physical line of the defect */
  uint64_t defect_col;  /* 1-based byte column in that line */
} hubc__csv_row;

/* Starts reading buf[0..len) (a UTF-8 BOM is skipped) with the delimiter
 * `delim`, or the one hubc__csv_detect picks when delim is 0. */
void hubc__csv_init(hubc__csv *c, char *buf, size_t len, char delim);
/* The delimiter of the header row: the most frequent of comma, semicolon
 * and tab outside quotes in the first record; comma when none occurs. */
char hubc__csv_detect(const char *buf, size_t len);
/* Reads the next row into *row: 1 a row, 0 the end of the input. Empty
 * lines are skipped (they still count as lines). An opening quote never
 * closed is HUBC_EINVAL naming its line and column: nothing after it can
 * be delimited. A quote inside an unquoted field is kept as text. */
int hubc__csv_next(hubc__csv *c, hubc__csv_row *row);
/* "NUL byte", "invalid UTF-8", … for messages. */
const char *hubc__csv_defect_text(int defect);

/* Appends one field to out (quoted when it holds the delimiter, a quote,
 * CR or LF; quotes doubled); returns the bytes written. out needs room for
 * 2 * len + 2 bytes. */
size_t hubc__csv_quote(char *out, const char *s, size_t len, char delim);

#endif
