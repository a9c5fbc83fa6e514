/* Regression tests for review findings in the journal and billing (review 2,
 * reproducers torn.c, bill.c; review 3); the stored-record checks at load
 * (R1, P1, C3, D1, C4) are in test_persist_loader.c:
 *
 *   R3  a torn tail inside one big batch frame is dropped on reopen (the
 *       resync scan used to checksum every plausible offset of the payload
 *       and then report corruption); damage before valid frames is still
 *       HUBC_ECORRUPT with the offset.
 *   B4  tiers (options, downgrade requests, ladder rungs) must be rungs of the
 *       ladder, and rungs are bounded so percentages cannot overflow.
 *   B1  the store clock and renewal_anchor must lie in years 1 to 9999. */
#define _DEFAULT_SOURCE /* mkdtemp, truncate */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "journal/crc32c.h"
#include "testutil.h"

#define ADMIN 1
#define T0 tu_time(2024, 3, 10, 12, 0, 0)
#define T_LATER tu_time(2024, 4, 10, 0, 0, 5) /* just past the first update date */
#define TIME_MIN (-62135596800LL)            /* 0001-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL              /* 9999-12-31T23:59:59Z */

/* ---- helpers ------------------------------------------------------------ */

static void expect_msg(const char *needle) {
  const char *m = hubc_error_last();
  if (!strstr(m, needle)) fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

static void ok(int rc, const char *what) {
  if (rc) fail_msg("%s: %d %s", what, rc, hubc_error_last());
}

static void expect_rc(int got, int want, const char *what) {
  if (got != want) fail_msg("%s: expected %d, got %d (%s)", what, want, got, hubc_error_last());
}

/* ---- opening stores -------------------------------------------------------- */

static tu_clock g_clock;

static int open_with(hubc_store **out, const hubc_persist *p, uint64_t tier) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.admin_email = "admin@example.com";
  o.tier = tier;
  o.persist = p;
  *out = NULL;
  int rc = hubc_store_open(out, &o);
  if (*out) gc_store(*out);
  return rc;
}

/* ======================================================================
 * R3: torn tail inside one big batch frame
 * ====================================================================== */

typedef struct jfix {
  char dir[64], log[128], snap[160];
  hubc_journal *j;
  hubc_store *s;
  long single_end[4]; /* log size after each single-contact commit (k = 0..3) */
  long batch_start, batch_end;
} jfix;

static void jfix_remove(void *p) {
  jfix *f = p;
  if (f->s) hubc_store_close(f->s);
  if (f->j) hubc_journal_close(f->j);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", f->dir);
  free(f);
}

static long fsize(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (long)st.st_size;
}

static int jopen(jfix *f) {
  hubc_journal_options jo;
  assert_int_equal(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  jo.auto_compact_bytes = UINT64_MAX; /* everything stays in the log */
  jo.fsync_policy = HUBC_FSYNC_NEVER;
  f->j = NULL;
  return hubc_journal_open(&f->j, f->log, &jo);
}

static void jstore_open(jfix *f) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.admin_email = "admin@example.com";
  o.persist = hubc_journal_persist(f->j);
  ok(hubc_store_open(&f->s, &o), "store open on the journal");
}

static void jclose(jfix *f) {
  hubc_store_close(f->s);
  f->s = NULL;
  hubc_journal_close(f->j);
  f->j = NULL;
}

static char g_single_email[4][32];

/* Three single contacts (one frame each), then one batch of `rows` rows
 * (one frame), then, if trailing, one more single contact. */
/* A fixture with a fresh directory and no journal yet. */
static jfix *jfix_dir(void) {
  jfix *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/hubc-regress-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  gc_defer(jfix_remove, f);
  snprintf(f->log, sizeof f->log, "%s/j", f->dir);
  snprintf(f->snap, sizeof f->snap, "%s.snap", f->log);
  return f;
}

static jfix *jfix_build(size_t rows, int trailing) {
  jfix *f = jfix_dir();
  g_clock.now = T0;
  ok(jopen(f), "journal open");
  jstore_open(f);
  for (int k = 0; k < 3; k++) {
    snprintf(g_single_email[k], sizeof g_single_email[k], "single%d@example.com", k);
    tu_contact(f->s, ADMIN, g_single_email[k], "Single");
    f->single_end[k] = fsize(f->log);
  }
  f->batch_start = fsize(f->log);
  const char *names[] = {"email", "firstname", "city"};
  const char **vals = malloc(rows * 3 * sizeof *vals);
  char *emails = malloc(rows * 48);
  assert_true(vals && emails);
  for (size_t r = 0; r < rows; r++) {
    snprintf(emails + r * 48, 48, "user%zu@example.com", r);
    vals[r * 3] = emails + r * 48;
    vals[r * 3 + 1] = "Anna";
    vals[r * 3 + 2] = "Roma";
  }
  int rc = hubc_contact_create_batch(NULL, f->s, ADMIN, NULL, names, 3, vals, rows);
  free(vals);
  free(emails);
  ok(rc, "batch");
  f->batch_end = fsize(f->log);
  assert_true(f->batch_end > f->batch_start + (long)rows * 20); /* one big frame */
  if (trailing) {
    snprintf(g_single_email[3], sizeof g_single_email[3], "after@example.com");
    tu_contact(f->s, ADMIN, g_single_email[3], "After");
    f->single_end[3] = fsize(f->log);
  }
  jclose(f);
  return f;
}

/* The three single contacts are there, with their fields; none of the
 * batch. */
static void expect_singles_only(hubc_store *s) {
  uint64_t count = 0;
  ok(hubc_contact_count(&count, s), "count");
  assert_int_equal(count, 3);
  for (int k = 0; k < 3; k++) {
    hubc_contact *c = NULL;
    ok(hubc_contact_get_by_email(&c, s, g_single_email[k]), g_single_email[k]);
    assert_string_equal(hubc_contact_prop(c, "firstname"), "Single");
    hubc_contact_free(c);
  }
  hubc_id id = 0;
  expect_rc(hubc_contact_find(&id, s, "user0@example.com"), HUBC_ENOTFOUND, "first batch row after the tear");
}

static void torn_batch(size_t rows, double frac) {
  jfix *f = jfix_build(rows, 0);
  long cut = f->batch_start + (long)((double)(f->batch_end - f->batch_start) * frac);
  assert_true(cut > f->batch_start + 8 && cut < f->batch_end); /* inside the last frame */
  assert_int_equal(truncate(f->log, cut), 0);
  int rc = jopen(f);
  if (rc) fail_msg("reopen after a torn tail at %.0f%% of a %zu-row batch: %d %s", frac * 100, rows, rc,
                   hubc_error_last());
  assert_int_equal(fsize(f->log), f->batch_start); /* the torn tail was cut off */
  jstore_open(f);
  expect_singles_only(f->s);
  /* the log is usable again: a new commit survives another reopen */
  tu_contact(f->s, ADMIN, "later@example.com", "Later");
  jclose(f);
  ok(jopen(f), "second reopen");
  jstore_open(f);
  hubc_id id = 0;
  ok(hubc_contact_find(&id, f->s, "later@example.com"), "contact committed after the recovery");
  ok(hubc_contact_find(&id, f->s, g_single_email[0]), "first single contact");
  gc_release(f);
}

static void r3_torn_tail_at_50pct_of_20000_row_batch_is_dropped(void **state) {
  (void)state;
  torn_batch(20000, 0.5);
}

static void r3_torn_tail_at_90pct_of_20000_row_batch_is_dropped(void **state) {
  (void)state;
  torn_batch(20000, 0.9);
}

static void r3_torn_tail_at_50pct_of_100000_row_batch_is_dropped(void **state) {
  (void)state;
  torn_batch(100000, 0.5);
}

static void r3_torn_tail_at_90pct_of_100000_row_batch_is_dropped(void **state) {
  (void)state;
  torn_batch(100000, 0.9);
}

/* Flips one byte of the file; the reopen must refuse it as corrupt at the
 * frame's offset and leave the file as it is. */
static void expect_flip_corrupt(jfix *f, long byte, long frame) {
  FILE *fp = fopen(f->log, "r+b");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, byte, SEEK_SET), 0);
  int c = fgetc(fp);
  assert_true(c != EOF);
  assert_int_equal(fseek(fp, byte, SEEK_SET), 0);
  assert_int_equal(fputc(c ^ 0x5a, fp), c ^ 0x5a);
  assert_int_equal(fclose(fp), 0);
  long size = fsize(f->log);
  int rc = jopen(f);
  if (rc != HUBC_ECORRUPT) fail_msg("flipped byte at %ld: expected HUBC_ECORRUPT, got %d (%s)", byte, rc, hubc_error_last());
  assert_null(f->j);
  char needle[64];
  snprintf(needle, sizeof needle, "offset %ld", frame);
  expect_msg(needle);
  assert_int_equal(fsize(f->log), size); /* nothing truncated */
}

static void r3_flipped_byte_before_big_batch_frame_is_corrupt_with_offset(void **state) {
  (void)state;
  jfix *f = jfix_build(20000, 0);
  /* inside the payload of the second single contact's frame */
  long frame = f->single_end[0];
  expect_flip_corrupt(f, frame + 8 + (f->single_end[1] - frame - 8) / 2, frame);
  gc_release(f);
}

static void r3_flipped_byte_inside_big_batch_frame_then_valid_frame_is_corrupt(void **state) {
  (void)state;
  jfix *f = jfix_build(20000, 1);
  expect_flip_corrupt(f, f->batch_start + (f->batch_end - f->batch_start) / 2, f->batch_start);
  gc_release(f);
}

/* ======================================================================
 * B4: tiers are rungs of the ladder
 * ====================================================================== */

static void b4_downgrade_request_to_a_non_rung_is_refused(void **state) {
  (void)state;
  g_clock.now = T0;
  hubc_store *s;
  ok(open_with(&s, NULL, 5000), "open at tier 5000");
  char *before = gc_dump(s);
  const uint64_t bad[] = {7, 1500, 4999, 3000};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    expect_rc(hubc_billing_request_downgrade(s, ADMIN, bad[i]), HUBC_EINVAL, "downgrade to a non-rung");
    expect_msg("ladder");
    tu_expect_dump(s, before, "refused downgrade request");
  }
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 0);
  ok(hubc_billing_request_downgrade(s, ADMIN, 2000), "downgrade to rung 2000");
  ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 2000);
  ok(hubc_billing_request_downgrade(s, ADMIN, 1000), "downgrade to rung 1000");
  ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 1000);
}

static void b4_downgrade_request_on_doubled_rungs(void **state) {
  (void)state;
  g_clock.now = T0;
  hubc_store *s;
  ok(open_with(&s, NULL, 400000), "open at tier 400000 (100000 doubled twice)");
  expect_rc(hubc_billing_request_downgrade(s, ADMIN, 300000), HUBC_EINVAL, "300000 is not a rung");
  expect_msg("ladder");
  ok(hubc_billing_request_downgrade(s, ADMIN, 200000), "200000 is a rung");
}

static int open_opts_rc(uint64_t tier, const uint64_t *ladder, size_t n, hubc_store **out) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.admin_email = "admin@example.com";
  o.tier = tier;
  o.tier_ladder = ladder;
  o.tier_ladder_len = n;
  *out = NULL;
  int rc = hubc_store_open(out, &o);
  if (*out) gc_store(*out);
  else assert_int_not_equal(rc, 0);
  return rc;
}

static void b4_store_options_tier_must_be_a_rung(void **state) {
  (void)state;
  g_clock.now = T0;
  hubc_store *s;
  expect_rc(open_opts_rc(1500, NULL, 0, &s), HUBC_EINVAL, "tier 1500");
  assert_null(s);
  expect_msg("tier 1500");
  expect_msg("ladder");
  expect_rc(open_opts_rc(100000000, NULL, 0, &s), HUBC_EINVAL, "tier 100000000 (torn.c)");
  assert_null(s);
  ok(open_opts_rc(2000, NULL, 0, &s), "tier 2000");
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.tier, 2000);
  const uint64_t lad[] = {2, 4, 8};
  expect_rc(open_opts_rc(12, lad, 3, &s), HUBC_EINVAL, "tier 12 on 2, 4, 8");
  ok(open_opts_rc(16, lad, 3, &s), "tier 16 on 2, 4, 8 (doubled)");
  ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.tier, 16);
}

static void b4_ladder_rung_above_uint64_max_div_128_is_refused(void **state) {
  (void)state;
  g_clock.now = T0;
  hubc_store *s;
  const uint64_t over[] = {1000, UINT64_MAX / 128 + 1};
  expect_rc(open_opts_rc(0, over, 2, &s), HUBC_EINVAL, "rung UINT64_MAX/128 + 1");
  expect_msg("rung 1");
  const uint64_t top[] = {UINT64_MAX};
  expect_rc(open_opts_rc(0, top, 1, &s), HUBC_EINVAL, "rung UINT64_MAX");
  const uint64_t edge[] = {1000, UINT64_MAX / 128};
  ok(open_opts_rc(0, edge, 2, &s), "rung UINT64_MAX/128");
}

/* ======================================================================
 * B1: clock and renewal anchor in years 1 to 9999
 * ====================================================================== */

static void b1_clock_outside_years_1_to_9999_at_open_is_refused(void **state) {
  (void)state;
  const int64_t bad[] = {INT64_MIN, TIME_MIN - 1, TIME_MAX + 1, INT64_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    g_clock.now = bad[i];
    hubc_store *s;
    expect_rc(open_with(&s, NULL, 0), HUBC_EINVAL, "open with a clock outside years 1 to 9999");
    assert_null(s);
    expect_msg("clock");
  }
}

static void b1_clock_outside_years_1_to_9999_after_open_fails_calls(void **state) {
  (void)state;
  /* after the year 9999, then before year 1 (a clock far behind the
   * current period is broken, not merely stepping back) */
  const int64_t bad[] = {TIME_MAX + 1, INT64_MAX, INT64_MIN, TIME_MIN - 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    g_clock.now = T0;
    hubc_store *s;
    ok(open_with(&s, NULL, 0), "open");
    hubc_id c1 = tu_contact(s, ADMIN, "one@example.com", "One");
    char *before = gc_dump(s);
    g_clock.now = bad[i];
    hubc_id id = 0;
    const char *n[] = {"email"}, *v[] = {"two@example.com"};
    int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 1);
    if (rc != HUBC_EINVAL)
      fail_msg("clock %lld: create: expected HUBC_EINVAL, got %d (%s)", (long long)bad[i], rc, hubc_error_last());
    expect_msg("clock");
    expect_rc(hubc_contact_set_marketing(s, ADMIN, c1, HUBC_SOURCE_MANUAL, ADMIN), HUBC_EINVAL, "set marketing");
    expect_msg("clock");
    if (bad[i] > TIME_MAX) { /* update dates would be due: tick must refuse the clock */
      expect_rc(hubc_store_tick(s), HUBC_EINVAL, "tick");
      expect_msg("clock");
    } else { /* nothing is due before the period began: tick changes nothing (dump below) */
      int trc = hubc_store_tick(s);
      if (trc) {
        expect_rc(trc, HUBC_EINVAL, "tick");
        expect_msg("clock");
      }
    }
    g_clock.now = T0;
    tu_expect_dump(s, before, "calls under a bad clock");
    gc_release(before);
    gc_release(s);
  }
}

static void b1_renewal_anchor_outside_years_1_to_9999_is_refused(void **state) {
  (void)state;
  g_clock.now = T0;
  const int64_t bad[] = {INT64_MIN, -1000000000000000LL, TIME_MIN - 1, TIME_MAX + 1, 9223372036854775000LL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hubc_store_options o;
    assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
    o.clock = tu_clock_fn;
    o.clock_payload = &g_clock;
    o.admin_email = "admin@example.com";
    o.renewal_anchor = bad[i];
    hubc_store *s = NULL;
    int rc = hubc_store_open(&s, &o);
    if (s) gc_store(s);
    if (rc != HUBC_EINVAL)
      fail_msg("renewal_anchor %lld: expected HUBC_EINVAL, got %d (%s)", (long long)bad[i], rc, hubc_error_last());
    assert_null(s);
    expect_msg("renewal_anchor");
  }
  /* the edges are fine */
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.admin_email = "admin@example.com";
  o.renewal_anchor = tu_time(2020, 1, 31, 0, 0, 0);
  hubc_store *s = NULL;
  ok(hubc_store_open(&s, &o), "renewal anchor 2020-01-31");
  gc_store(s);
}

/* ======================================================================
 * Review 3 (persistence): crafted resync work, one encoding per value,
 * M5 order across a reopen, the backend's own error message
 * ====================================================================== */

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A log whose first frame is bad and whose rest is a 34-byte pattern in
 * which every period holds a plausible transaction frame whose operations
 * run on for 64 KiB: proving that no valid frame follows meant walking
 * about n^2/136 bytes (minutes for a few MB). The walk is now bounded like
 * the checksums: past the budget the damage is reported, not dropped. */
static void r3_resync_over_crafted_transactions_is_bounded_and_reports_corruption(void **state) {
  (void)state;
  jfix *f = jfix_dir();
  enum { S = 128 << 10, NLEN = 64 << 10 };
  unsigned char *b = calloc(1, 36 + S);
  assert_non_null(b);
  memcpy(b + 8, "HUBCJLOG", 8); /* the header frame: magic, format 1, generation 0 */
  put32(b + 16, 1);
  put32(b, 20);
  put32(b + 4, hubc__crc32c(b + 8, 20));
  /* offset 28: a frame of length 0 (bad), then the pattern */
  unsigned char pat[34] = {1, 3}; /* a put of kind 3 with 20 bytes of data */
  put32(pat + 10, 20);
  put32(pat + 14 + 7, NLEN); /* inside the data: a frame length, */
  pat[14 + 15] = 1;          /* a transaction type byte, */
  put32(pat + 14 + 16, 0xffffffffu); /* and a huge operation count */
  for (size_t i = 0; i + sizeof pat <= S; i += sizeof pat) memcpy(b + 36 + i, pat, sizeof pat);
  FILE *fp = fopen(f->log, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(b, 1, 36 + S, fp), 36 + S);
  assert_int_equal(fclose(fp), 0);
  free(b);
  expect_rc(jopen(f), HUBC_ECORRUPT, "crafted log");
  expect_msg("offset 28");
}

static void two_pending_in_reverse_order(hubc_store *s) {
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(s, ADMIN, "b@example.com", "B");
  ok(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, ADMIN), "a marketing");
  ok(hubc_contact_set_marketing(s, ADMIN, b, HUBC_SOURCE_MANUAL, ADMIN), "b marketing");
  ok(hubc_contact_set_non_marketing(s, ADMIN, b, HUBC_SOURCE_MANUAL, ADMIN), "b pending");
  ok(hubc_contact_set_non_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, ADMIN), "a pending");
}

/* M5 used to follow the pending list: transition order live, id order
 * after a reopen, so the same store wrote its history in two orders. */
static void m5_update_date_writes_the_same_history_with_or_without_a_reopen(void **state) {
  (void)state;
  g_clock.now = T0;
  tu_mem *m = gc_mem();
  hubc_store *live, *reopened;
  ok(open_with(&live, NULL, 0), "live store");
  ok(open_with(&reopened, &m->vtable, 0), "persisted store");
  two_pending_in_reverse_order(live);
  two_pending_in_reverse_order(reopened);
  gc_release(reopened);
  ok(open_with(&reopened, &m->vtable, 0), "reopen");
  g_clock.now = T_LATER;
  ok(hubc_store_tick(live), "tick live");
  ok(hubc_store_tick(reopened), "tick reopened");
  char *a = gc_dump(live), *b = gc_dump(reopened);
  assert_string_equal(a, b);
}

/* The journal says which file, offset and OS error failed; the store's
 * EPERSIST message used to replace that with "(? 0, code -14)". */
static void r5_a_failed_journal_write_keeps_the_journal_message(void **state) {
  (void)state;
  jfix *f = jfix_dir();
  g_clock.now = T0;
  ok(jopen(f), "journal open");
  jstore_open(f);
  tu_contact(f->s, ADMIN, "first@example.com", "First");
  struct rlimit saved, low;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  low = saved;
  low.rlim_cur = (rlim_t)fsize(f->log); /* the next append fails with EFBIG */
  void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
  const char *n[] = {"email"}, *v[] = {"second@example.com"};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 1);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old);
  expect_rc(rc, HUBC_EPERSIST, "create past the file size limit");
  if (!strstr(msg, f->log) || !strstr(msg, "offset")) fail_msg("message names no file and offset: %s", msg);
  if (strstr(msg, "? 0")) fail_msg("message names a record for a step that has none: %s", msg);
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 1), "the retry after the limit is lifted");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, gc_teardown)
      T(r3_torn_tail_at_50pct_of_20000_row_batch_is_dropped),
      T(r3_torn_tail_at_90pct_of_20000_row_batch_is_dropped),
      T(r3_torn_tail_at_50pct_of_100000_row_batch_is_dropped),
      T(r3_torn_tail_at_90pct_of_100000_row_batch_is_dropped),
      T(r3_flipped_byte_before_big_batch_frame_is_corrupt_with_offset),
      T(r3_flipped_byte_inside_big_batch_frame_then_valid_frame_is_corrupt),
      T(r3_resync_over_crafted_transactions_is_bounded_and_reports_corruption),
      T(m5_update_date_writes_the_same_history_with_or_without_a_reopen),
      T(r5_a_failed_journal_write_keeps_the_journal_message),
      T(b4_downgrade_request_to_a_non_rung_is_refused),
      T(b4_downgrade_request_on_doubled_rungs),
      T(b4_store_options_tier_must_be_a_rung),
      T(b4_ladder_rung_above_uint64_max_div_128_is_refused),
      T(b1_clock_outside_years_1_to_9999_at_open_is_refused),
      T(b1_clock_outside_years_1_to_9999_after_open_fails_calls),
      T(b1_renewal_anchor_outside_years_1_to_9999_is_refused),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
