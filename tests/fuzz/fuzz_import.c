/* libFuzzer target for the whole import (I1–I8): the CSV reader, the
 * column mapping (I2, automatic or explicit), row validation against the
 * property types (C3, C4), matching (I4) and the plan's projection of the
 * commit (I7).
 *
 * Input: byte 0 picks the options: bits 0-1 the delimiter (0: detect,
 * comma, semicolon, tab), bits 2-3 the mode (3 reads as 0), bit 4 "set all
 * as marketing", bit 5 an explicit mapping (e → email, c → city, s →
 * lifecyclestage, n → skipped, x → a property that does not exist), bit 6
 * tight limits (3 rows, 4 columns). The rest is the file, planned against a
 * store holding contacts in each marketing state and properties of each
 * type. Checked:
 *   - the plan succeeds, or fails with a file-level code and a message,
 *     changing nothing;
 *   - its counts add up (rows = created + updated + unchanged + merged +
 *     skipped; the error list has `skipped` entries, each on a line of the
 *     file, naming a header column or none);
 *   - the commit, confirmed with the plan's number, succeeds with the same
 *     counts and the same error list, adds `to_create` contacts and leaves
 *     the billable count the plan projected; the store's derived state
 *     agrees with its records;
 *   - the error file reads back as CSV: the header plus one row per error.
 * Must never crash, hang or leak.
 *
 * Seeds: tests/fuzz/corpus/fuzz_import/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubcontacts.h"
#include "import/csv.h"
#include "store/store.h"

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_import: %s (last error: %s)\n", what, hubc_error_last());
    abort();
  }
}

static hubc_time fixed_clock(void *payload) {
  (void)payload;
  return 1709287200; /* 2024-03-01 10:00 UTC */
}

typedef struct src {
  const uint8_t *p;
  size_t n, at;
} src;

static int read_src(void *payload, char *buf, size_t cap, size_t *got) {
  src *s = payload;
  size_t n = s->n - s->at < cap ? s->n - s->at : cap;
  memcpy(buf, s->p + s->at, n);
  s->at += n;
  *got = n;
  return 0;
}

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static int buf_write(void *payload, const char *data, size_t len) {
  buf *b = payload;
  if (b->n + len + 1 > b->cap) {
    b->cap = (b->n + len + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) return -1;
  }
  memcpy(b->p + b->n, data, len);
  b->n += len;
  return 0;
}

static char *dump(hubc_store *s) {
  buf b = {0};
  check(hubc_store_dump(s, buf_write, &b) == 0, "dump");
  b.p[b.n] = '\0';
  return b.p;
}

static hubc_store *store_new(void) {
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = fixed_clock;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  check(hubc_store_open(&s, &o) == 0, "open");
  static const char *const opts[] = {"gold", "silver"};
  check(hubc_property_define(s, 1, "score", "Score", HUBC_PROP_NUMBER, NULL, 0) == 0, "define score");
  check(hubc_property_define(s, 1, "vip", "VIP", HUBC_PROP_BOOL, NULL, 0) == 0, "define vip");
  check(hubc_property_define(s, 1, "seen", "Last Seen", HUBC_PROP_DATETIME, NULL, 0) == 0, "define seen");
  check(hubc_property_define(s, 1, "level", "Level", HUBC_PROP_ENUMERATION, opts, 2) == 0, "define level");
  static const char *const emails[] = {"a@x.it", "b@x.it", "c@x.it"};
  const char *names[] = {"email", "city", "lifecyclestage", "score"};
  for (int i = 0; i < 3; i++) {
    const char *vals[] = {emails[i], "Roma", i ? "customer" : "lead", "7"};
    hubc_id id;
    check(hubc_contact_create(&id, s, 1, NULL, names, vals, 4) == 0, "create");
    if (i) check(hubc_contact_set_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1) == 0, "set marketing");
    if (i == 2) check(hubc_contact_set_non_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1) == 0, "set non-marketing");
  }
  return s;
}

/* The error list, one line per error. */
static char *errors(const hubc_import *imp, size_t skipped) {
  buf b = {0};
  size_t n = hubc_import_error_count(imp);
  check(n == skipped, "error count is not the skipped count");
  buf_write(&b, "", 0);
  for (size_t i = 0; i < n; i++) {
    hubc_import_error e = {.version = HUBC_IMPORT_ERROR_VERSION};
    check(hubc_import_error_at(imp, i, &e) == 0, "error_at");
    check(e.line >= 1 && e.column && e.message && e.message[0] && e.code < 0, "error fields");
    char line[64];
    snprintf(line, sizeof line, "%llu|%d|", (unsigned long long)e.line, e.code);
    buf_write(&b, line, strlen(line));
    buf_write(&b, e.column, strlen(e.column));
    buf_write(&b, "|", 1);
    buf_write(&b, e.message, strlen(e.message));
    buf_write(&b, "\n", 1);
  }
  b.p[b.n] = '\0';
  return b.p;
}

static void error_file_reads_back(const hubc_import *imp, size_t skipped) {
  buf b = {0};
  check(hubc_import_write_errors(imp, 0, buf_write, &b) == 0, "write errors");
  check(b.n > 0, "error file is empty");
  hubc__csv c;
  hubc__csv_init(&c, b.p, b.n, 0); /* b.p has room for the reader's slack byte */
  char *field[1024];
  uint32_t len[1024];
  hubc__csv_row r = {.field = field, .len = len, .cap = 1024};
  size_t rows = 0;
  int rc;
  while ((rc = hubc__csv_next(&c, &r)) == 1) rows++;
  check(rc == 0, "error file does not read back");
  check(rows == skipped + 1, "error file rows");
  free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0 || size > 65536) return 0;
  uint8_t ctl = data[0];
  static const char delims[4] = {0, ',', ';', '\t'};
  hubc_store *s = store_new();
  char *before = dump(s);
  src in = {data + 1, size - 1, 0};
  hubc_read_fn fn = read_src;
  void *payload = &in;
  const char *name = "fuzz.csv";
  hubc_import_options o;
  hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION);
  o.files = &name;
  o.n_files = 1;
  o.read = &fn;
  o.read_payload = &payload;
  o.delimiter = delims[ctl & 3];
  o.mode = (ctl >> 2 & 3) % 3;
  o.set_marketing = ctl >> 4 & 1;
  static const char *const cols[] = {"e", "c", "s", "n", "x"};
  static const char *const props[] = {"email", "city", "lifecyclestage", "", "nosuchproperty"};
  if (ctl & 0x20) {
    o.map_columns = cols;
    o.map_properties = props;
    o.n_map = 5;
  }
  if (ctl & 0x40) {
    o.max_rows = 3;
    o.max_columns = 4;
  }
  hubc_import *imp = NULL;
  int rc = hubc_import_plan(&imp, s, 1, &o);
  if (rc) {
    check(!imp, "a failed plan returned an import");
    check(rc == HUBC_EINVAL || rc == HUBC_ELIMIT || rc == HUBC_ENOTFOUND, "plan failed with an unexpected code");
    check(hubc_error_last()[0] != '\0', "plan failed without a message");
  } else {
    hubc_import_summary p = {.version = HUBC_IMPORT_SUMMARY_VERSION};
    check(hubc_import_summary_get(imp, &p) == 0, "summary");
    check(p.rows == p.to_create + p.to_update + p.unchanged + p.merged + p.skipped, "plan counts do not add up");
    char *plan_errors = errors(imp, (size_t)p.skipped);
    char *now = dump(s);
    check(strcmp(now, before) == 0, "the plan changed the store");
    free(now);
    error_file_reads_back(imp, (size_t)p.skipped);
    uint64_t n0 = 0, n1 = 0;
    check(hubc_contact_count(&n0, s) == 0, "count");
    check(hubc_import_commit(NULL, imp, p.to_set_marketing) == 0, "commit of the planned number failed");
    hubc_import_summary c = {.version = HUBC_IMPORT_SUMMARY_VERSION};
    check(hubc_import_summary_get(imp, &c) == 0, "summary after commit");
    check(c.to_create == p.to_create && c.to_update == p.to_update && c.unchanged == p.unchanged &&
              c.merged == p.merged && c.to_set_marketing == p.to_set_marketing && c.skipped == p.skipped,
          "the commit's counts differ from the plan's");
    char *commit_errors = errors(imp, (size_t)c.skipped);
    check(strcmp(plan_errors, commit_errors) == 0, "the commit's errors differ from the plan's");
    check(hubc_contact_count(&n1, s) == 0 && n1 == n0 + p.to_create, "contacts created");
    hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
    check(hubc_billing_get(&b, s) == 0 && b.billable == p.projected_billable && b.tier == p.projected_tier,
          "billable count or tier differ from the projection");
    check(hubc__store_check(s) == 0, "store invariants after the commit");
    free(plan_errors);
    free(commit_errors);
  }
  hubc_import_free(imp);
  free(before);
  hubc_store_close(s);
  return 0;
}
