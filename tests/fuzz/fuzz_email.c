/* libFuzzer target for emails (C3) and the lookups that use them.
 *
 * Input: lines (split at '\n', at most 64, each at most 300 bytes). Each
 * line is offered as a new contact's email, then looked up every way:
 *   - a create either succeeds or fails with a message;
 *   - an accepted email is stored normalized: no surrounding white space,
 *     no ASCII capitals, at most 254 bytes, no code point C3 refuses (white
 *     space, separators, controls, format characters, unassigned), and
 *     normalizing it again changes nothing; it is found under what was
 *     given, under what was stored and under the canonically decomposed
 *     (NFD) spelling of what was given, and cannot be created again (C5);
 *   - hubc__email_normalize accepts exactly the lines create accepts, and
 *     gives a line and its NFD spelling the same result;
 *   - hubc_contact_find_many and hubc_contact_get_many agree row by row
 *     with hubc_contact_find; when some line is refused they fail with
 *     EINVAL naming the first refused row, and return nothing.
 * Must never crash, hang or leak.
 *
 * Seeds: tests/fuzz/corpus/fuzz_email/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "hubcontacts.h"
#include "util/text.h"

enum { MAX_LINES = 64, MAX_LINE = 300 };

static hubc_time fixed_clock(void *payload) {
  (void)payload;
  return (hubc_time)1700000000;
}

static void check(int ok, const char *what, const char *line) {
  if (!ok) {
    fprintf(stderr, "fuzz_email: %s (line '%s'; last error '%s')\n", what, line, hubc_error_last());
    abort();
  }
}

/* An email as the store keeps it: trimmed, without ASCII capitals, at most
 * 254 bytes, valid UTF-8 without a code point C3 refuses (checked here with
 * utf8proc's categories, not the library's code), and its own normal form. */
static int normalized(const char *e) {
  size_t n = strlen(e);
  if (n == 0 || n > HUBC_MAX_EMAIL_BYTES || e[0] == ' ' || e[n - 1] == ' ' || e[0] == '\t' || e[n - 1] == '\t')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (e[i] >= 'A' && e[i] <= 'Z') return 0;
  for (size_t i = 0; i < n;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)e + i, (utf8proc_ssize_t)(n - i), &cp);
    if (k < 0) return 0;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CN: return 0;
    default: break;
    }
    i += (size_t)k;
  }
  char again[HUBC__EMAIL_BUF];
  const char *why;
  return hubc__email_normalize(e, again, &why) == (int)n && strcmp(again, e) == 0;
}

/* The NFD spelling of s (malloc'd), or NULL. */
static char *nfd(const char *s) {
  utf8proc_uint8_t *out = NULL;
  if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out, UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE) < 0)
    return NULL;
  return (char *)out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char text[MAX_LINES][MAX_LINE + 1];
  const char *lines[MAX_LINES];
  size_t n = 0, at = 0;
  while (at < size && n < MAX_LINES) {
    size_t len = 0;
    while (at + len < size && data[at + len] != '\n' && len < MAX_LINE) len++;
    memcpy(text[n], data + at, len);
    text[n][len] = '\0'; /* an embedded NUL just ends the line early */
    lines[n] = text[n];
    n++;
    at += len + 1;
  }

  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = fixed_clock;
  o.admin_email = "fuzz@example.com";
  hubc_store *s = NULL;
  if (hubc_store_open(&s, &o) != 0) abort();

  hubc_id created[MAX_LINES] = {0};
  const char *names[] = {"email"};
  for (size_t i = 0; i < n; i++) {
    const char *values[] = {lines[i]};
    int rc = hubc_contact_create(&created[i], s, 1, NULL, names, values, 1);
    check(rc == 0 || hubc_error_last()[0] != '\0', "a refused create has no message", lines[i]);
    char norm[HUBC__EMAIL_BUF], norm_d[HUBC__EMAIL_BUF];
    const char *why;
    int len = hubc__email_normalize(lines[i], norm, &why);
    if (lines[i][0] != '\0' && rc != HUBC_EEXISTS) /* EXISTS: an earlier line is the same address */
      check((rc == 0) == (len >= 0), "create and hubc__email_normalize disagree", lines[i]);
    char *d = nfd(lines[i]);
    if (d) {
      int len_d = hubc__email_normalize(d, norm_d, &why);
      check(len == len_d && (len < 0 || strcmp(norm, norm_d) == 0), "the NFD spelling normalizes differently",
            lines[i]);
    }
    if (rc != 0) {
      free(d);
      continue;
    }
    hubc_contact *c = NULL;
    check(hubc_contact_get(&c, s, created[i]) == 0, "a created contact cannot be read", lines[i]);
    const char *stored = hubc_contact_prop(c, "email");
    if (lines[i][0] == '\0') { /* an empty value sets nothing */
      check(stored == NULL, "an empty email was stored", lines[i]);
    } else {
      check(stored && normalized(stored), "the stored email is not normalized", lines[i]);
      hubc_id id = 0;
      check(hubc_contact_find(&id, s, lines[i]) == 0 && id == created[i], "not found as given", lines[i]);
      check(hubc_contact_find(&id, s, stored) == 0 && id == created[i], "not found as stored", lines[i]);
      check(!d || (hubc_contact_find(&id, s, d) == 0 && id == created[i]), "not found in NFD", lines[i]);
      hubc_id again = 0;
      check(hubc_contact_create(&again, s, 1, NULL, names, values, 1) == HUBC_EEXISTS, "created twice (C5)",
            lines[i]);
    }
    hubc_contact_free(c);
    free(d);
  }

  /* the single lookups decide what the many lookups must answer */
  hubc_id single[MAX_LINES];
  size_t first_bad = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    int rc = hubc_contact_find(&single[i], s, lines[i]);
    check(rc == 0 || rc == HUBC_ENOTFOUND || rc == HUBC_EINVAL, "find: unexpected code", lines[i]);
    if (rc == HUBC_EINVAL && first_bad == SIZE_MAX) first_bad = i;
  }
  hubc_id ids[MAX_LINES];
  hubc_contact *snaps[MAX_LINES];
  int rc_find = hubc_contact_find_many(ids, s, lines, n);
  char row[48];
  snprintf(row, sizeof row, "row %zu", first_bad);
  if (first_bad != SIZE_MAX)
    check(rc_find == HUBC_EINVAL && strstr(hubc_error_last(), row), "find_many: wrong or unnamed bad row", row);
  int rc_get = hubc_contact_get_many(snaps, s, lines, n);
  if (first_bad != SIZE_MAX)
    check(rc_get == HUBC_EINVAL && strstr(hubc_error_last(), row), "get_many: wrong or unnamed bad row", row);
  for (size_t i = 0; i < n; i++) {
    if (first_bad != SIZE_MAX) {
      check(ids[i] == 0 && snaps[i] == NULL, "a failed many-lookup returned something", lines[i]);
      continue;
    }
    check(rc_find == 0 && rc_get == 0, "many lookups failed on valid emails", lines[i]);
    check(ids[i] == single[i], "find_many disagrees with find", lines[i]);
    check(snaps[i] ? hubc_contact_id(snaps[i]) == single[i] : single[i] == 0, "get_many disagrees with find",
          lines[i]);
    hubc_contact_free(snaps[i]);
  }
  hubc_store_close(s);
  return 0;
}
