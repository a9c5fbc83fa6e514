/* The CSV reader of the import area (I1, I5): RFC 4180 and what real
 * exports get wrong. Each test reads a text and checks rows, fields, line
 * numbers and defects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "import/csv.h"
#include "hubcontacts.h"

enum { CAP = 8 };

typedef struct reader {
  char *buf;
  hubc__csv c;
  char *field[CAP];
  uint32_t len[CAP];
  hubc__csv_row row;
} reader;

/* A reader over a private copy of text[0..len) with the slack byte. */
static reader *open_n(const char *text, size_t len, char delim) {
  reader *r = calloc(1, sizeof *r);
  r->buf = malloc(len + 1);
  memcpy(r->buf, text, len);
  hubc__csv_init(&r->c, r->buf, len, delim);
  r->row.field = r->field;
  r->row.len = r->len;
  r->row.cap = CAP;
  return r;
}
static reader *open_s(const char *text) { return open_n(text, strlen(text), 0); }
static void done(reader *r) {
  free(r->buf);
  free(r);
}
static int next(reader *r) { return hubc__csv_next(&r->c, &r->row); }

/* The next row has exactly these fields (NULL-terminated list). */
static void expect_row(reader *r, uint64_t line, ...) {
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.line, line);
  assert_int_equal(r->row.defect, 0);
  va_list ap;
  va_start(ap, line);
  size_t i = 0;
  for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
    assert_true(i < r->row.n);
    assert_string_equal(r->row.field[i], want);
    assert_int_equal(r->row.len[i], strlen(want));
  }
  va_end(ap);
  assert_int_equal(r->row.n, i);
}

static void test_I1_header_and_rows(void **state) {
  (void)state;
  reader *r = open_s("email,firstname\na@x.it,Anna\nb@x.it,Bruno\n");
  assert_int_equal(r->c.delim, ',');
  expect_row(r, 1, "email", "firstname", NULL);
  expect_row(r, 2, "a@x.it", "Anna", NULL);
  expect_row(r, 3, "b@x.it", "Bruno", NULL);
  assert_int_equal(next(r), 0);
  assert_int_equal(next(r), 0); /* the end stays the end */
  done(r);
}

static void test_I1_bom_skipped(void **state) {
  (void)state;
  reader *r = open_s("\xEF\xBB\xBF" "Email;City\r\na@x.it;Roma\r\n");
  assert_int_equal(r->c.delim, ';');
  expect_row(r, 1, "Email", "City", NULL);
  expect_row(r, 2, "a@x.it", "Roma", NULL);
  assert_int_equal(next(r), 0);
  done(r);
}

static void test_I1_crlf_lf_and_cr_mixed(void **state) {
  (void)state;
  reader *r = open_s("a,b\r\n1,2\n3,4\r5,6");
  expect_row(r, 1, "a", "b", NULL);
  expect_row(r, 2, "1", "2", NULL);
  expect_row(r, 3, "3", "4", NULL);
  expect_row(r, 4, "5", "6", NULL); /* no final newline */
  assert_int_equal(next(r), 0);
  done(r);
}

static void test_I1_quoted_commas_quotes_newlines(void **state) {
  (void)state;
  reader *r = open_s("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\nthree\"\nnext,row,here\n");
  expect_row(r, 1, "a", "b", "c", NULL);
  expect_row(r, 2, "x, y", "say \"hi\"", "two\r\nlines\nthree", NULL);
  /* the quoted field spans lines 2-4: the next row starts on line 5 */
  expect_row(r, 5, "next", "row", "here", NULL);
  assert_int_equal(next(r), 0);
  done(r);
}

static void test_I1_empty_fields_and_quoted_empty(void **state) {
  (void)state;
  reader *r = open_s(",\"\",\n\"\"\n");
  expect_row(r, 1, "", "", "", NULL);
  expect_row(r, 2, "", NULL);
  done(r);
}

static void test_I1_blank_lines_skipped_but_counted(void **state) {
  (void)state;
  reader *r = open_s("\n\na,b\n\n\r\n1,2\n\n");
  expect_row(r, 3, "a", "b", NULL);
  expect_row(r, 6, "1", "2", NULL);
  assert_int_equal(next(r), 0);
  done(r);
}

static void test_I1_delimiter_detection(void **state) {
  (void)state;
  assert_int_equal(hubc__csv_detect("a,b,c\n", 6), ',');
  assert_int_equal(hubc__csv_detect("a;b;c\n", 6), ';');
  assert_int_equal(hubc__csv_detect("a\tb\tc\n", 6), '\t');
  assert_int_equal(hubc__csv_detect("single\n", 7), ',');
  /* what is quoted does not count, nor what follows the first record */
  assert_int_equal(hubc__csv_detect("\"a;b;c\",d\n;;;;", 15), ',');
  assert_int_equal(hubc__csv_detect("x;\"a,b,c\"\n", 10), ';');
  /* a tab-separated file with commas in its values */
  reader *r = open_s("name\tcity\n\"Rossi, Anna\"\tRoma\n");
  assert_int_equal(r->c.delim, '\t');
  expect_row(r, 1, "name", "city", NULL);
  expect_row(r, 2, "Rossi, Anna", "Roma", NULL);
  done(r);
}

static void test_I1_explicit_delimiter_wins(void **state) {
  (void)state;
  const char *t = "a;b,c\n";
  reader *r = open_n(t, strlen(t), ',');
  expect_row(r, 1, "a;b", "c", NULL);
  done(r);
}

static void test_I1_bare_quote_inside_unquoted_field_is_text(void **state) {
  (void)state;
  reader *r = open_s("a,b\n5\" screen,ok\n");
  expect_row(r, 1, "a", "b", NULL);
  expect_row(r, 2, "5\" screen", "ok", NULL);
  done(r);
}

static void test_I1_unterminated_quote_names_line_and_column(void **state) {
  (void)state;
  reader *r = open_s("a,b\n1,2\nx,\"never closed\nmore\n");
  expect_row(r, 1, "a", "b", NULL);
  expect_row(r, 2, "1", "2", NULL);
  assert_int_equal(next(r), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "line 3, column 3"));
  assert_non_null(strstr(hubc_error_last(), "never closed"));
  done(r);
}

static void test_I5_ragged_rows_report_their_field_count(void **state) {
  (void)state;
  reader *r = open_s("a,b,c\n1,2\n1,2,3,4\n");
  expect_row(r, 1, "a", "b", "c", NULL);
  expect_row(r, 2, "1", "2", NULL);
  expect_row(r, 3, "1", "2", "3", "4", NULL);
  done(r);
}

static void test_I5_too_many_fields_is_a_defect_not_an_overflow(void **state) {
  (void)state;
  reader *r = open_s("1,2,3,4,5,6,7,8,9,10,11\nnext\n");
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.n, 11);
  assert_int_equal(r->row.defect, HUBC__CSV_TOO_MANY);
  assert_int_equal(r->row.defect_field, CAP);
  assert_int_equal(r->row.defect_col, 17); /* "9" starts at byte 17 */
  assert_string_equal(r->row.field[CAP - 1], "8");
  expect_row(r, 2, "next", NULL); /* reading goes on */
  done(r);
}

/* The position of the first field past the caller's room is where that
 * field starts in the file, also after quoted fields that span lines and
 * whose values were packed back over their source text. */
static void test_I5_too_many_fields_after_multiline_quotes_names_the_field_start(void **state) {
  (void)state;
  reader *r = open_s("\"a\nb\",\"c\nd\",3,4,5,6,7,8,\"x\ny\"\n"
                     "\"1\n2\",2,3,4,5,6,7,8,9\n");
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.n, 9);
  assert_int_equal(r->row.defect, HUBC__CSV_TOO_MANY);
  assert_int_equal(r->row.defect_field, CAP);
  assert_int_equal(r->row.defect_line, 3); /* the opening quote of "x\ny" */
  assert_int_equal(r->row.defect_col, 16);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.line, 5);
  assert_int_equal(r->row.defect, HUBC__CSV_TOO_MANY);
  assert_int_equal(r->row.defect_line, 6); /* "9" on the row's second line */
  assert_int_equal(r->row.defect_col, 18);
  done(r);
}

static void test_I5_nul_byte_is_a_row_defect_with_position(void **state) {
  (void)state;
  const char t[] = "a,b\nok,x\0y\nnext,row\n";
  reader *r = open_n(t, sizeof t - 1, 0);
  expect_row(r, 1, "a", "b", NULL);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.line, 2);
  assert_int_equal(r->row.n, 2);
  assert_int_equal(r->row.defect, HUBC__CSV_NUL);
  assert_int_equal(r->row.defect_field, 1);
  assert_int_equal(r->row.defect_line, 2);
  assert_int_equal(r->row.defect_col, 5);
  expect_row(r, 3, "next", "row", NULL);
  done(r);
}

static void test_I5_nul_in_quoted_field(void **state) {
  (void)state;
  const char t[] = "\"a\nb\0c\",d\n";
  reader *r = open_n(t, sizeof t - 1, 0);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.defect, HUBC__CSV_NUL);
  assert_int_equal(r->row.defect_line, 2);
  assert_int_equal(r->row.defect_col, 2);
  done(r);
}

static void test_I5_invalid_utf8_and_latin1_rows(void **state) {
  (void)state;
  /* "Citt\xE0" is Latin-1 for Città; \xC3\xA0 is the same in UTF-8 */
  reader *r = open_s("name,city\nAnna,Citt\xE0\nBea,Citt\xC3\xA0\n\"multi\nline \xC0\xAF\",x\n");
  expect_row(r, 1, "name", "city", NULL);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.defect, HUBC__CSV_UTF8);
  assert_int_equal(r->row.defect_field, 1);
  assert_int_equal(r->row.defect_line, 2);
  assert_int_equal(r->row.defect_col, 10);
  assert_non_null(strstr(hubc__csv_defect_text(r->row.defect), "UTF-8"));
  expect_row(r, 3, "Bea", "Citt\xC3\xA0", NULL);
  assert_int_equal(next(r), 1); /* an overlong in a quoted field's 2nd line */
  assert_int_equal(r->row.defect, HUBC__CSV_UTF8);
  assert_int_equal(r->row.defect_line, 5);
  assert_int_equal(r->row.defect_col, 6);
  done(r);
}

static void test_I5_utf8_edge_cases(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int ok;
  } cases[] = {
    {"\xF0\x9F\x98\x80", 1},  /* U+1F600 */
    {"\xF4\x8F\xBF\xBF", 1},  /* U+10FFFF */
    {"\xF4\x90\x80\x80", 0},  /* past U+10FFFF */
    {"\xED\xA0\x80", 0},      /* a surrogate */
    {"\xE0\x80\xAF", 0},      /* overlong */
    {"\xC3", 0},              /* truncated at the end of the field */
    {"\x80", 0},              /* a lone continuation byte */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[32];
    snprintf(text, sizeof text, "%s,z\n", cases[i].s);
    reader *r = open_s(text);
    assert_int_equal(next(r), 1);
    assert_int_equal(r->row.defect, cases[i].ok ? 0 : HUBC__CSV_UTF8);
    done(r);
  }
}

static void test_I5_text_after_closing_quote(void **state) {
  (void)state;
  reader *r = open_s("\"abc\"def,g\nnext\n");
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.n, 2);
  assert_int_equal(r->row.defect, HUBC__CSV_AFTER_QUOTE);
  assert_int_equal(r->row.defect_col, 6);
  assert_string_equal(r->row.field[1], "g");
  expect_row(r, 2, "next", NULL);
  done(r);
}

static void test_I1_offsets_point_at_rows(void **state) {
  (void)state;
  const char *t = "h\n\"a\nb\"\nc\n";
  reader *r = open_s(t);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.offset, 0);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.offset, 2);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.offset, 8);
  assert_int_equal(r->row.line, 4);
  done(r);
}

static void test_I5_quote_round_trip(void **state) {
  (void)state;
  const char *vals[] = {"plain", "with,comma", "with \"quote\"", "two\nlines", "", "cr\r"};
  char out[256];
  size_t o = 0;
  for (size_t i = 0; i < 6; i++) {
    if (i) out[o++] = ',';
    o += hubc__csv_quote(out + o, vals[i], strlen(vals[i]), ',');
  }
  out[o++] = '\n';
  assert_memory_equal(out, "plain,\"with,comma\",\"with \"\"quote\"\"\",\"two\nlines\",,\"cr\r\"\n", o);
  reader *r = open_n(out, o, ',');
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.n, 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(r->row.field[i], vals[i]);
  done(r);
}

static void test_I1_values_packed_at_row_start(void **state) {
  (void)state;
  reader *r = open_s("h\r\n\"a \"\"q\"\"\",b,\"\",\"x\ny\"\r\nnext\n");
  expect_row(r, 1, "h", NULL);
  assert_int_equal(next(r), 1);
  assert_int_equal(r->row.n, 4);
  static const char packed[] = "a \"q\"\0b\0\0x\ny"; /* the values, each NUL-ended */
  assert_memory_equal(r->row.field[0], packed, sizeof packed);
  for (size_t i = 0; i + 1 < r->row.n; i++)
    assert_ptr_equal(r->row.field[i + 1], r->row.field[i] + r->row.len[i] + 1);
  expect_row(r, 4, "next", NULL); /* the row spans lines 2-3 */
  done(r);
}

/* Contiguous packing (what the import reads with): each row's values right
 * after the row before's, and a row the caller drops (out set back to its
 * first value) gives its room to the next. */
static void test_I1_contiguous_rows_follow_one_another(void **state) {
  (void)state;
  static const char text[] = "h,i\r\n\"a,\"\"\",b\r\n\nx\0,y\nc,\"d\ne\"\n";
  reader *r = open_n(text, sizeof text - 1, ',');
  r->c.contiguous = 1;
  expect_row(r, 1, "h", "i", NULL);
  char *end = r->row.field[1] + 2;
  assert_ptr_equal(r->row.field[0], r->buf);
  expect_row(r, 2, "a,\"", "b", NULL);
  assert_ptr_equal(r->row.field[0], end);
  end = r->row.field[1] + 2;
  assert_int_equal(next(r), 1); /* line 4: a NUL byte, dropped by the caller */
  assert_int_equal(r->row.defect, HUBC__CSV_NUL);
  assert_ptr_equal(r->row.field[0], end);
  r->c.out = r->row.field[0];
  expect_row(r, 5, "c", "d\ne", NULL);
  assert_ptr_equal(r->row.field[0], end);
  static const char packed[] = "h\0i\0a,\"\0b\0c\0d\ne"; /* the header and the rows kept, each value NUL-ended */
  assert_memory_equal(r->buf, packed, sizeof packed);
  assert_ptr_equal(r->c.out, r->buf + sizeof packed);
  assert_int_equal(next(r), 0);
  assert_ptr_equal(r->c.out, r->buf + sizeof packed); /* the end of the input leaves the packed end */
  done(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_I1_header_and_rows),
    cmocka_unit_test(test_I1_bom_skipped),
    cmocka_unit_test(test_I1_crlf_lf_and_cr_mixed),
    cmocka_unit_test(test_I1_quoted_commas_quotes_newlines),
    cmocka_unit_test(test_I1_empty_fields_and_quoted_empty),
    cmocka_unit_test(test_I1_blank_lines_skipped_but_counted),
    cmocka_unit_test(test_I1_delimiter_detection),
    cmocka_unit_test(test_I1_explicit_delimiter_wins),
    cmocka_unit_test(test_I1_bare_quote_inside_unquoted_field_is_text),
    cmocka_unit_test(test_I1_unterminated_quote_names_line_and_column),
    cmocka_unit_test(test_I1_offsets_point_at_rows),
    cmocka_unit_test(test_I1_values_packed_at_row_start),
    cmocka_unit_test(test_I1_contiguous_rows_follow_one_another),
    cmocka_unit_test(test_I5_ragged_rows_report_their_field_count),
    cmocka_unit_test(test_I5_too_many_fields_is_a_defect_not_an_overflow),
    cmocka_unit_test(test_I5_too_many_fields_after_multiline_quotes_names_the_field_start),
    cmocka_unit_test(test_I5_nul_byte_is_a_row_defect_with_position),
    cmocka_unit_test(test_I5_nul_in_quoted_field),
    cmocka_unit_test(test_I5_invalid_utf8_and_latin1_rows),
    cmocka_unit_test(test_I5_utf8_edge_cases),
    cmocka_unit_test(test_I5_text_after_closing_quote),
    cmocka_unit_test(test_I5_quote_round_trip),
  };
  return cmocka_run_group_tests_name("import_csv", tests, NULL, NULL);
}
