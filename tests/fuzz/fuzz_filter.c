/* libFuzzer target for the filter language (S1).
 *
 * Input: a filter text (an embedded NUL ends it). It is compiled against a
 * small store (built-in properties plus a number, a datetime, a bool and an
 * enumeration, a handful of contacts) and must:
 *   - compile, or fail with a code, a message naming a byte position
 *     inside the text (every parse and compile error does), valid UTF-8;
 *     a failure leaves *out NULL;
 *   - once compiled, agree with itself: hubc_filter_count equals the
 *     number of ids the query iterator returns (in id order and sorted by
 *     a property), and hubc_filter_matches says 1 for exactly those;
 *     compiling the same text again counts the same.
 * Must never crash, hang, recurse without bound or leak.
 *
 * Seeds: tests/fuzz/corpus/fuzz_filter/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubcontacts.h"
#include "util/text.h"

enum { MAX_TEXT = 1 << 16, MAX_IDS = 64 };

static hubc_time fixed_clock(void *payload) {
  (void)payload;
  return (hubc_time)1700000000;
}

static void check(int ok, const char *what, const char *text) {
  if (!ok) {
    fprintf(stderr, "fuzz_filter: %s (filter '%.200s'; last error '%s')\n", what, text, hubc_error_last());
    abort();
  }
}

static hubc_store *fixture(void) {
  static hubc_store *s;
  if (s) return s; /* read-only from here on: one store for every input */
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = fixed_clock;
  o.admin_email = "fuzz@example.com";
  if (hubc_store_open(&s, &o) != 0) abort();
  const char *const tiers[] = {"bronze", "silver", "gold"};
  if (hubc_property_define(s, 1, "score", NULL, HUBC_PROP_NUMBER, NULL, 0) ||
      hubc_property_define(s, 1, "seen", "Last Seen", HUBC_PROP_DATETIME, NULL, 0) ||
      hubc_property_define(s, 1, "vip", NULL, HUBC_PROP_BOOL, NULL, 0) ||
      hubc_property_define(s, 1, "tier", NULL, HUBC_PROP_ENUMERATION, tiers, 3))
    abort();
  const char *names[] = {"email", "city", "lifecyclestage", "score", "seen", "vip", "tier", "hs_email_optout"};
  const char *rows[][8] = {
    {"a@example.com", "Roma", "subscriber", "10", "2024-03-01", "true", "gold", "true"},
    {"b@example.com", "ROMA", "lead", "3.5", "2024-03-01T12:00:00Z", "false", "", ""},
    {"c@example.it", "Città", "", "-2", "", "", "bronze", "false"},
    {"", "", "customer", "1e2", "2025-01-01T00:00:00+02:00", "", "silver", ""},
    {"e@example.org", "", "", "", "", "", "", ""},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    hubc_id id;
    if (hubc_contact_create(&id, s, 1, NULL, names, rows[i], 8)) abort();
  }
  if (hubc_contact_set_marketing(s, 1, 1, HUBC_SOURCE_MANUAL, 1) ||
      hubc_contact_set_marketing(s, 1, 3, HUBC_SOURCE_MANUAL, 1) ||
      hubc_contact_set_non_marketing(s, 1, 3, HUBC_SOURCE_MANUAL, 1))
    abort();
  return s;
}

/* Ids the iterator returns (opts may be NULL), sorted ascending. */
static size_t ids_of(hubc_store *s, const hubc_filter *f, const hubc_query_options *o, hubc_id *ids,
                     const char *text) {
  hubc_query_iterator *it = NULL;
  check(hubc_query_iterator_new(&it, s, f, o) == 0, "iterator refused a compiled filter", text);
  size_t n = 0, got;
  int rc;
  while ((rc = hubc_query_iterator_next_ids(&got, ids + n, 3, it)) == 0) {
    n += got;
    check(n <= MAX_IDS, "more results than contacts", text);
  }
  check(rc == HUBC_ITEROVER, "iterator ended with an error", text);
  hubc_query_iterator_free(it);
  for (size_t i = 1; i < n; i++) /* insertion sort: a handful of ids */
    for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
      hubc_id t = ids[j];
      ids[j] = ids[j - 1];
      ids[j - 1] = t;
    }
  for (size_t i = 1; i < n; i++) check(ids[i - 1] < ids[i], "an id returned twice", text);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char text[MAX_TEXT + 1];
  if (size > MAX_TEXT) size = MAX_TEXT;
  memcpy(text, data, size);
  text[size] = '\0';
  size_t len = strlen(text);
  hubc_store *s = fixture();

  hubc_filter *f = (hubc_filter *)&f;
  int rc = hubc_filter_compile(&f, s, text);
  if (rc != 0) {
    const char *msg = hubc_error_last();
    check(f == NULL, "a failed compile left *out set", text);
    check(rc < 0 && msg[0] != '\0', "a failed compile has no message", text);
    check(hubc__utf8_valid(msg, strlen(msg)), "the message is not valid UTF-8", text);
    const char *at = strstr(msg, "byte ");
    check(at != NULL, "the message names no byte position", text);
    check(strtoull(at + 5, NULL, 10) <= len, "the byte position is past the end of the text", text);
    return 0;
  }
  uint64_t count = 0;
  check(hubc_filter_count(&count, s, f) == 0, "count failed", text);
  hubc_id by_id[MAX_IDS + 3], sorted[MAX_IDS + 3];
  size_t n = ids_of(s, f, NULL, by_id, text);
  check(n == count, "count differs from the iterator", text);
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  o.sort_by = "city";
  o.descending = (int)(size & 1);
  check(ids_of(s, f, &o, sorted, text) == n && memcmp(sorted, by_id, n * sizeof *by_id) == 0,
        "the sorted iterator selects other contacts", text);
  size_t matched = 0, k = 0;
  for (hubc_id id = 1; id <= 5; id++) {
    int m = -1;
    check(hubc_filter_matches(&m, s, f, id) == 0 && (m == 0 || m == 1), "matches failed", text);
    int listed = k < n && by_id[k] == id;
    k += (size_t)listed;
    check(m == listed, "matches disagrees with the iterator", text);
    matched += (size_t)m;
  }
  check(matched == count, "matches disagrees with count", text);
  hubc_filter *g = NULL;
  uint64_t again = 0;
  check(hubc_filter_compile(&g, s, text) == 0 && hubc_filter_count(&again, s, g) == 0 && again == count,
        "compiling the same text again counts differently", text);
  hubc_filter_free(g);
  hubc_filter_free(f);
  return 0;
}
