/* R3: the bundled journal backend — round trips through a real store, torn
 * tails, corruption with offsets, compaction, failed writes. */
#define _DEFAULT_SOURCE /* mkdtemp, setrlimit */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#if defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "journal/crc32c.h"
#include "journal/journal_internal.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

#define ADMIN "admin@example.com"
#define NOW ((hubc_time)1700000000)

static hubc_time fixed_clock(void *payload) {
  (void)payload;
  return NOW;
}

struct buf {
  char *p;
  size_t len, cap;
};

static int buf_write(void *payload, const char *data, size_t len) {
  struct buf *b = payload;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return 1;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, len);
  b->len += len;
  b->p[b->len] = '\0';
  return 0;
}

static char *dump_store(hubc_store *s, size_t *len) {
  struct buf b = {NULL, 0, 0};
  assert_int_equal(hubc_store_dump(s, buf_write, &b), 0);
  if (!b.p) buf_write(&b, "", 0);
  *len = b.len;
  return b.p;
}

/* A fresh directory per test; files are named inside it. */
struct tdir {
  char dir[64];
  char log[128];
  char snap[160];
  char tmp[160];
};

static void tdir_make(struct tdir *t) {
  snprintf(t->dir, sizeof t->dir, "/tmp/hubc-journal-XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->log, sizeof t->log, "%s/j", t->dir);
  snprintf(t->snap, sizeof t->snap, "%s.snap", t->log);
  snprintf(t->tmp, sizeof t->tmp, "%s.snap.tmp", t->log);
}

static void tdir_remove(struct tdir *t) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", t->dir);
}

static long file_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (long)st.st_size;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return p;
}

static void write_file(const char *path, const void *p, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len) assert_int_equal(fwrite(p, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Offsets of the frames of a journal file (header frame included). */
static size_t frame_offsets(const unsigned char *p, size_t len, size_t *offs, size_t max) {
  size_t n = 0, off = 0;
  while (off + 8 <= len && n < max) {
    uint32_t flen = rd32(p + off);
    if (off + 8 + flen > len) break;
    offs[n++] = off;
    off += 8 + flen;
  }
  return n;
}

/* The journal's counters (hubc_journal_get_info). */
static hubc_journal_info jinfo(const hubc_journal *j) {
  hubc_journal_info i;
  memset(&i, 0, sizeof i);
  i.version = HUBC_JOURNAL_INFO_VERSION;
  if (hubc_journal_get_info(&i, j) != 0) fail_msg("hubc_journal_get_info: %s", hubc_error_last());
  return i;
}

static hubc_journal *jopen_opts(const char *path, int policy, uint64_t auto_compact) {
  hubc_journal_options o;
  assert_int_equal(hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  o.fsync_policy = policy;
  o.auto_compact_bytes = auto_compact;
  hubc_journal *j = NULL;
  int rc = hubc_journal_open(&j, path, &o);
  if (rc) fail_msg("hubc_journal_open(%s): %d %s", path, rc, hubc_error_last());
  return j;
}

static hubc_journal *jopen(const char *path) {
  return jopen_opts(path, HUBC_FSYNC_NEVER, UINT64_MAX);
}

static hubc_store *sopen(hubc_journal *j) {
  hubc_store_options so;
  assert_int_equal(hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION), 0);
  so.clock = fixed_clock;
  so.admin_email = ADMIN;
  so.persist = hubc_journal_persist(j);
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &so);
  if (rc) fail_msg("hubc_store_open: %d %s", rc, hubc_error_last());
  return s;
}

static hubc_id admin_id(hubc_store *s) {
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get_by_email(&u, s, ADMIN), 0);
  hubc_id id = hubc_user_id(u);
  hubc_user_free(u);
  return id;
}

static hubc_id create(hubc_store *s, hubc_id actor, int i) {
  char email[64], first[32];
  snprintf(email, sizeof email, "c%d@x.io", i);
  snprintf(first, sizeof first, "First%d", i);
  const char *names[] = {"email", "firstname", "lastname"};
  const char *values[] = {email, first, "Doe"};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, actor, NULL, names, values, 3);
  if (rc) fail_msg("create %d: %d %s", i, rc, hubc_error_last());
  return id;
}

static void set_first(hubc_store *s, hubc_id actor, hubc_id id, const char *v) {
  const char *names[] = {"firstname"};
  const char *values[] = {v};
  int rc = hubc_contact_update(s, actor, id, names, values, 1);
  if (rc) fail_msg("update %" PRId64 ": %d %s", id, rc, hubc_error_last());
}

/* Fills a store with a mix of changes; returns the number of contacts. */
static void populate(hubc_store *s, int n) {
  hubc_id a = admin_id(s);
  hubc_id ids[256];
  assert_true(n <= 256);
  for (int i = 0; i < n; i++) ids[i] = create(s, a, i);
  for (int i = 0; i < n; i += 2) {
    char v[32];
    snprintf(v, sizeof v, "Upd%d", i);
    set_first(s, a, ids[i], v);
  }
  for (int i = 0; i < n; i += 3)
    assert_int_equal(hubc_contact_set_marketing(s, a, ids[i], HUBC_SOURCE_MANUAL, a), 0);
  for (int i = 0; i < n; i += 6)
    assert_int_equal(hubc_contact_set_non_marketing(s, a, ids[i], HUBC_SOURCE_MANUAL, a), 0);
  for (int i = 1; i < n; i += 5) assert_int_equal(hubc_contact_delete(s, a, ids[i]), 0);
}

/* Opens journal + store at path, dumps, closes both. */
static char *reopen_dump(const char *path, size_t *len) {
  hubc_journal *j = jopen(path);
  hubc_store *s = sopen(j);
  char *d = dump_store(s, len);
  hubc_store_close(s);
  hubc_journal_close(j);
  return d;
}

/* ---- argument checks ---------------------------------------------------- */

static void r3_r4_null_arguments_and_versions(void **state) {
  (void)state;
  hubc_journal_options o;
  assert_int_equal(hubc_journal_options_init(NULL, HUBC_JOURNAL_OPTIONS_VERSION), HUBC_EINVAL);
  assert_int_equal(hubc_journal_options_init(&o, 999), HUBC_EVERSION);
  assert_int_equal(hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  assert_int_equal(o.version, HUBC_JOURNAL_OPTIONS_VERSION);
  assert_int_equal(o.fsync_policy, HUBC_FSYNC_EVERY_COMMIT);

  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = (hubc_journal *)(uintptr_t)1;
  assert_int_equal(hubc_journal_open(NULL, t.log, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_journal_open(&j, NULL, NULL), HUBC_EINVAL);
  assert_null(j);
  assert_true(strlen(hubc_error_last()) > 0);
  assert_int_equal(hubc_journal_open(&j, "", NULL), HUBC_EINVAL);
  o.version = 7;
  assert_int_equal(hubc_journal_open(&j, t.log, &o), HUBC_EVERSION);
  hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION);
  o.fsync_policy = 3;
  assert_int_equal(hubc_journal_open(&j, t.log, &o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "fsync_policy"));
  o.fsync_policy = -1;
  assert_int_equal(hubc_journal_open(&j, t.log, &o), HUBC_EINVAL);
  char missing[200];
  snprintf(missing, sizeof missing, "%s/no/such/dir/j", t.dir);
  assert_int_not_equal(hubc_journal_open(&j, missing, NULL), 0);
  assert_non_null(strstr(hubc_error_last(), missing));

  assert_null(hubc_journal_persist(NULL));
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_int_equal(hubc_journal_compact(NULL), HUBC_EINVAL);
  hubc_journal_close(NULL);

  /* NULL options: defaults. */
  assert_int_equal(hubc_journal_open(&j, t.log, NULL), 0);
  const hubc_persist *p = hubc_journal_persist(j);
  assert_non_null(p);
  assert_int_equal(p->version, HUBC_PERSIST_VERSION);
  /* Misuse of the callback table is refused, not a crash. */
  assert_int_not_equal(p->put(p->userdata, HUBC_REC_CONTACT, 1, "x", 1), 0); /* no begin */
  assert_int_not_equal(p->commit(p->userdata), 0);
  assert_int_not_equal(p->load(p->userdata, NULL), 0);
  assert_int_not_equal(p->begin(NULL), 0);
  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_not_equal(p->put(p->userdata, 0, 1, "x", 1), 0);
  assert_int_not_equal(p->put(p->userdata, 300, 1, "x", 1), 0);
  assert_int_not_equal(p->put(p->userdata, HUBC_REC_CONTACT, 1, NULL, 3), 0);
  assert_int_equal(hubc_journal_compact(j), HUBC_EBUSY); /* inside a transaction */
  assert_int_equal(p->rollback(p->userdata), 0);
  hubc_journal_close(j);
  tdir_remove(&t);
}

static void r3_crc32c_known_vector(void **state) {
  (void)state;
  assert_int_equal(hubc__crc32c("123456789", 9), 0xE3069283u);
  assert_int_equal(hubc__crc32c("", 0), 0);
  unsigned char b[1000];
  for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)(i * 7 + 3);
  uint32_t whole = hubc__crc32c(b, sizeof b);
  for (size_t cut = 0; cut <= sizeof b; cut += 37)
    assert_int_equal(hubc__crc32c_extend(hubc__crc32c(b, cut), b + cut, sizeof b - cut), whole);
}

/* Without a store: rollback drops the buffer, commit writes one frame. */
static void r3_group_commit_one_frame_rollback_discards(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  const hubc_persist *p = hubc_journal_persist(j);
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES);

  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_equal(p->put(p->userdata, HUBC_REC_CONTACT, 1, "abc", 3), 0);
  assert_int_equal(p->del(p->userdata, HUBC_REC_CONTACT, 2), 0);
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES); /* buffered */
  assert_int_equal(p->rollback(p->userdata), 0);
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES);

  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_equal(p->put(p->userdata, HUBC_REC_CONTACT, 1, "abc", 3), 0);
  assert_int_equal(p->put(p->userdata, HUBC_REC_CONTACT, 3, "", 0), 0);
  assert_int_equal(p->del(p->userdata, HUBC_REC_CONTACT, 2), 0);
  assert_int_equal(p->commit(p->userdata), 0);
  /* frame 8 + txn 5 + put 14+3 + put 14 + del 10 */
  long expect = HUBC__JOURNAL_HEADER_BYTES + 8 + 5 + 17 + 14 + 10;
  assert_int_equal(file_size(t.log), expect);
  /* An empty transaction writes nothing. */
  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_equal(p->commit(p->userdata), 0);
  assert_int_equal(file_size(t.log), expect);
  hubc_journal_close(j);

  /* The frame is [len][crc32c][payload] with the documented layout. */
  size_t len;
  unsigned char *b = read_file(t.log, &len);
  assert_memory_equal(b + 8, "HUBCJLOG", 8);
  const unsigned char *f = b + HUBC__JOURNAL_HEADER_BYTES;
  assert_int_equal(rd32(f), 5 + 17 + 14 + 10);
  assert_int_equal(rd32(f + 4), hubc__crc32c(f + 8, rd32(f)));
  assert_int_equal(f[8], 1);       /* txn */
  assert_int_equal(rd32(f + 9), 3); /* ops */
  assert_int_equal(f[13], 1);      /* put */
  assert_int_equal(f[14], HUBC_REC_CONTACT);
  free(b);

  /* Reopening validates it (no torn bytes) and the lock is released. */
  j = jopen(t.log);
  assert_int_equal(jinfo(j).torn_bytes, 0);
  hubc_journal_close(j);
  tdir_remove(&t);
}

static void r3_second_open_is_busy(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log), *k = NULL;
  assert_int_equal(hubc_journal_open(&k, t.log, NULL), HUBC_EBUSY);
  assert_null(k);
  assert_non_null(strstr(hubc_error_last(), t.log));
  hubc_journal_close(j);
  assert_int_equal(hubc_journal_open(&k, t.log, NULL), 0);
  hubc_journal_close(k);
  tdir_remove(&t);
}

/* ---- round trips -------------------------------------------------------- */

static void round_trip(int policy) {
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen_opts(t.log, policy, UINT64_MAX);
  hubc_store *s = sopen(j);
  populate(s, 40);
  size_t len1;
  char *d1 = dump_store(s, &len1);
  hubc_store_close(s);
  hubc_journal_close(j);

  size_t len2;
  char *d2 = reopen_dump(t.log, &len2);
  tu_expect_same(d1, d2, "after reopening the journal");

  /* More changes on the reopened store, reopened again. */
  j = jopen_opts(t.log, policy, UINT64_MAX);
  s = sopen(j);
  hubc_id a = admin_id(s);
  hubc_id extra = create(s, a, 1000);
  set_first(s, a, extra, "Later");
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, s, "c0@x.io"), 0);
  assert_int_equal(hubc_contact_delete(s, a, found), 0);
  size_t len3;
  char *d3 = dump_store(s, &len3);
  hubc_store_close(s);
  hubc_journal_close(j);
  size_t len4;
  char *d4 = reopen_dump(t.log, &len4);
  tu_expect_same(d3, d4, "after reopening the journal");
  free(d1);
  free(d2);
  free(d3);
  free(d4);
  tdir_remove(&t);
}

static void r3_round_trip_every_commit(void **state) {
  (void)state;
  round_trip(HUBC_FSYNC_EVERY_COMMIT);
}

static void r3_round_trip_interval_and_never(void **state) {
  (void)state;
  round_trip(HUBC_FSYNC_INTERVAL);
  round_trip(HUBC_FSYNC_NEVER);
}

/* The store opened twice on the same journal handle loads it twice. */
static void r3_store_reopened_on_same_handle(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 12);
  size_t l1, l2;
  char *d1 = dump_store(s, &l1);
  hubc_store_close(s);
  s = sopen(j);
  char *d2 = dump_store(s, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  hubc_store_close(s);
  hubc_journal_close(j);
  free(d1);
  free(d2);
  tdir_remove(&t);
}

/* A failed store call leaves the log as it was. */
static void r3_failed_call_writes_nothing(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  hubc_id a = admin_id(s);
  create(s, a, 1);
  long before = file_size(t.log);
  const char *names[] = {"email"};
  const char *values[] = {"C1@X.io"};
  hubc_id id;
  assert_int_equal(hubc_contact_create(&id, s, a, NULL, names, values, 1), HUBC_EEXISTS);
  assert_int_equal(file_size(t.log), before);
  hubc_store_close(s);
  hubc_journal_close(j);
  tdir_remove(&t);
}

/* ---- torn tails --------------------------------------------------------- */

static void r3_torn_tail_is_truncated(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 20);
  hubc_id a = admin_id(s);
  size_t prev_len;
  char *prev = dump_store(s, &prev_len);
  create(s, a, 500); /* the last transaction: one frame */
  size_t last_len;
  char *last = dump_store(s, &last_len);
  hubc_store_close(s);
  hubc_journal_close(j);

  size_t len;
  unsigned char *orig = read_file(t.log, &len);
  size_t offs[4096];
  size_t n = frame_offsets(orig, len, offs, 4096);
  assert_true(n >= 3);
  size_t last_off = offs[n - 1];
  size_t last_frame = len - last_off;
  assert_true(last_frame > 16);

  /* Every cut inside the first 64 bytes of the last frame, then a stride. */
  int tries = 0;
  for (size_t cut = 1; cut < last_frame; cut += cut < 64 ? 1 : 17) {
    write_file(t.log, orig, len - cut);
    j = jopen(t.log);
    assert_int_equal(jinfo(j).torn_bytes, last_frame - cut);
    assert_int_equal(file_size(t.log), (long)last_off); /* cut away */
    s = sopen(j);
    size_t dl;
    char *d = dump_store(s, &dl);
    tu_expect_same(prev, d, "after reopening the journal");
    free(d);
    hubc_store_close(s);
    hubc_journal_close(j);
    /* Reopening again finds a clean log. */
    j = jopen(t.log);
    assert_int_equal(jinfo(j).torn_bytes, 0);
    hubc_journal_close(j);
    tries++;
  }
  assert_true(tries >= 20);

  /* A last frame with a wrong CRC (complete, ends the file) is torn too. */
  unsigned char *bad = malloc(len);
  assert_non_null(bad);
  memcpy(bad, orig, len);
  bad[last_off + 8 + (last_frame - 8) / 2] ^= 0x40;
  write_file(t.log, bad, len);
  j = jopen(t.log);
  assert_int_equal(jinfo(j).torn_bytes, last_frame);
  hubc_journal_close(j);

  /* So is a tail of zeros (size grown, data never written), even long. */
  unsigned char *z = calloc(1, len + 4096);
  assert_non_null(z);
  memcpy(z, orig, last_off);
  write_file(t.log, z, len + 4096);
  j = jopen(t.log);
  assert_int_equal(jinfo(j).torn_bytes, len + 4096 - last_off);
  hubc_journal_close(j);

  /* The whole file intact: everything is there; after a recovery new
   * commits append normally. */
  write_file(t.log, orig, len - 3);
  j = jopen(t.log);
  s = sopen(j);
  create(s, admin_id(s), 500);
  size_t dl;
  char *d = dump_store(s, &dl);
  tu_expect_same(last, d, "after reopening the journal");
  free(d);
  hubc_store_close(s);
  hubc_journal_close(j);
  d = reopen_dump(t.log, &dl);
  tu_expect_same(last, d, "after reopening the journal");
  free(d);

  free(z);
  free(bad);
  free(orig);
  free(prev);
  free(last);
  tdir_remove(&t);
}

/* ---- corruption --------------------------------------------------------- */

static void expect_corrupt(const char *path, int code, const char *must_contain) {
  hubc_journal *j = NULL;
  int rc = hubc_journal_open(&j, path, NULL);
  if (rc != code)
    fail_msg("open gave %d (%s), expected %d", rc, hubc_error_last(), code);
  assert_null(j);
  const char *msg = hubc_error_last();
  if (must_contain && !strstr(msg, must_contain))
    fail_msg("message \"%s\" lacks \"%s\"", msg, must_contain);
  assert_int_equal(hubc_error_last_code(), code);
}

static void r3_corrupt_middle_record_reports_offset(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 20);
  hubc_store_close(s);
  hubc_journal_close(j);

  size_t len;
  unsigned char *orig = read_file(t.log, &len);
  size_t offs[4096];
  size_t n = frame_offsets(orig, len, offs, 4096);
  assert_true(n >= 5);
  size_t mid = offs[n / 2], mid_len = offs[n / 2 + 1] - mid;
  char want[64];
  snprintf(want, sizeof want, "offset %zu", mid);
  unsigned char *b = malloc(len);
  assert_non_null(b);

  /* A flipped payload byte. */
  memcpy(b, orig, len);
  b[mid + 8 + (mid_len - 8) / 2] ^= 0x01;
  write_file(t.log, b, len);
  expect_corrupt(t.log, HUBC_ECORRUPT, want);
  expect_corrupt(t.log, HUBC_ECORRUPT, t.log);
  expect_corrupt(t.log, HUBC_ECORRUPT, "checksum");
  assert_int_equal(file_size(t.log), (long)len); /* nothing was cut */

  /* A flipped CRC byte. */
  memcpy(b, orig, len);
  b[mid + 5] ^= 0x80;
  write_file(t.log, b, len);
  expect_corrupt(t.log, HUBC_ECORRUPT, want);

  /* A damaged length: shorter, longer, past the end of the file, zero. */
  uint32_t deltas[] = {1, 0xFFFFFFFFu, 0x01000000u};
  for (size_t k = 0; k < 3; k++) {
    memcpy(b, orig, len);
    uint32_t l = rd32(b + mid) + deltas[k];
    b[mid] = (unsigned char)l;
    b[mid + 1] = (unsigned char)(l >> 8);
    b[mid + 2] = (unsigned char)(l >> 16);
    b[mid + 3] = (unsigned char)(l >> 24);
    write_file(t.log, b, len);
    expect_corrupt(t.log, HUBC_ECORRUPT, want);
  }
  memcpy(b, orig, len);
  memset(b + mid, 0, 4);
  write_file(t.log, b, len);
  expect_corrupt(t.log, HUBC_ECORRUPT, want);

  /* The first record after the header. */
  memcpy(b, orig, len);
  b[offs[1] + 9] ^= 0xFF;
  write_file(t.log, b, len);
  snprintf(want, sizeof want, "offset %zu", offs[1]);
  expect_corrupt(t.log, HUBC_ECORRUPT, want);

  /* Intact again: opens. */
  write_file(t.log, orig, len);
  j = jopen(t.log);
  assert_int_equal(jinfo(j).torn_bytes, 0);
  hubc_journal_close(j);
  free(b);
  free(orig);
  tdir_remove(&t);
}

/* Builds a header frame by hand. */
static void make_header(unsigned char out[28], const char *magic, uint32_t version,
                        uint64_t gen) {
  unsigned char *pl = out + 8;
  memcpy(pl, magic, 8);
  for (int i = 0; i < 4; i++) pl[8 + i] = (unsigned char)(version >> (8 * i));
  for (int i = 0; i < 8; i++) pl[12 + i] = (unsigned char)(gen >> (8 * i));
  uint32_t crc = hubc__crc32c(pl, 20);
  for (int i = 0; i < 4; i++) {
    out[i] = (unsigned char)(20u >> (8 * i));
    out[4 + i] = (unsigned char)(crc >> (8 * i));
  }
}

static void r3_wrong_file_or_version_refused(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  const char *text = "email,firstname\nx@y.z,X\n";
  write_file(t.log, text, strlen(text));
  expect_corrupt(t.log, HUBC_ECORRUPT, "not a hubcontacts");
  assert_int_equal(file_size(t.log), (long)strlen(text)); /* untouched */

  write_file(t.log, "HUB", 3);
  expect_corrupt(t.log, HUBC_ECORRUPT, "offset 0");

  unsigned char h[28];
  make_header(h, "HUBCJLOG", 2, 0);
  write_file(t.log, h, sizeof h);
  expect_corrupt(t.log, HUBC_EVERSION, "version 2");

  make_header(h, "HUBCJSNP", 1, 0); /* a snapshot given as the log */
  write_file(t.log, h, sizeof h);
  expect_corrupt(t.log, HUBC_ECORRUPT, "HUBCJLOG");

  make_header(h, "HUBCJLOG", 1, 0);
  h[20] ^= 1; /* version byte, bad CRC */
  write_file(t.log, h, sizeof h);
  expect_corrupt(t.log, HUBC_ECORRUPT, "checksum");

  /* A record type from the future (valid CRC). */
  unsigned char f[28 + 8 + 5];
  make_header(f, "HUBCJLOG", 1, 0);
  unsigned char *r = f + 28;
  r[0] = 5;
  r[1] = r[2] = r[3] = 0;
  r[8] = 0x7E;
  memset(r + 9, 0, 4);
  uint32_t crc = hubc__crc32c(r + 8, 5);
  for (int i = 0; i < 4; i++) r[4 + i] = (unsigned char)(crc >> (8 * i));
  write_file(t.log, f, sizeof f);
  expect_corrupt(t.log, HUBC_EVERSION, "offset 28");

  /* A valid CRC over a malformed transaction (op count too high). */
  r[8] = 1;
  r[9] = 1;
  crc = hubc__crc32c(r + 8, 5);
  for (int i = 0; i < 4; i++) r[4 + i] = (unsigned char)(crc >> (8 * i));
  write_file(t.log, f, sizeof f);
  expect_corrupt(t.log, HUBC_ECORRUPT, "offset 28");

  /* An empty file is a new journal (zeros are not: see
   * r3_zeroed_log_is_corrupt_not_new). */
  write_file(t.log, "", 0);
  hubc_journal *j = jopen(t.log);
  hubc_journal_close(j);
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES);

  /* A directory is not a journal. */
  expect_corrupt(t.dir, HUBC_EIO, NULL);
  tdir_remove(&t);
}

/* A well-framed record the store refuses: the store open fails and the
 * message names the journal file and the record's offset. */
static void r3_refused_record_names_file_and_offset(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  hubc_store_close(s);
  const hubc_persist *p = hubc_journal_persist(j);
  long off = file_size(t.log);
  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_equal(p->put(p->userdata, 9, 1, "\x01zz", 3), 0); /* no such kind */
  assert_int_equal(p->commit(p->userdata), 0);
  hubc_journal_close(j);

  j = jopen(t.log);
  hubc_store_options so;
  assert_int_equal(hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION), 0);
  so.clock = fixed_clock;
  so.admin_email = ADMIN;
  so.persist = hubc_journal_persist(j);
  s = NULL;
  int rc = hubc_store_open(&s, &so);
  assert_int_not_equal(rc, 0);
  assert_null(s);
  char want[64];
  snprintf(want, sizeof want, "offset %ld", off);
  const char *msg = hubc_error_last();
  if (!strstr(msg, want) || !strstr(msg, t.log))
    fail_msg("message \"%s\" lacks \"%s\" or the path", msg, want);
  hubc_journal_close(j);
  tdir_remove(&t);
}

/* ---- compaction --------------------------------------------------------- */

static void churn(hubc_store *s, int contacts, int rounds) {
  hubc_id a = admin_id(s);
  hubc_id ids[256];
  for (int i = 0; i < contacts; i++) ids[i] = create(s, a, i);
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < contacts; i++) {
      char v[32];
      snprintf(v, sizeof v, "R%dC%d", r, i);
      set_first(s, a, ids[i], v);
    }
  for (int i = 0; i < contacts; i += 4) assert_int_equal(hubc_contact_delete(s, a, ids[i]), 0);
}

static void r3_compaction_explicit(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  churn(s, 30, 10);
  size_t l1;
  char *d1 = dump_store(s, &l1);
  long log_before = file_size(t.log);
  assert_int_equal(file_size(t.snap), -1);
  assert_int_equal(hubc_journal_compact(j), 0);
  assert_int_equal(jinfo(j).compactions, 1);
  assert_int_equal(jinfo(j).generation, 1);
  long snap1 = file_size(t.snap);
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES);
  assert_true(snap1 > 0 && snap1 < log_before / 3);
  assert_int_equal(file_size(t.tmp), -1);
  /* The store keeps working on the compacted journal. */
  hubc_id a = admin_id(s);
  hubc_id id = create(s, a, 900);
  set_first(s, a, id, "AfterCompaction");
  size_t l2;
  char *d2 = dump_store(s, &l2);
  hubc_store_close(s);
  hubc_journal_close(j);

  size_t l3;
  char *d3 = reopen_dump(t.log, &l3);
  tu_expect_same(d2, d3, "after reopening the journal");

  /* Compacting again (snapshot + log into a new snapshot), then again with
   * an empty log: identical data each time, no growth. */
  j = jopen(t.log);
  assert_int_equal(hubc_journal_compact(j), 0);
  long snap2 = file_size(t.snap);
  assert_int_equal(hubc_journal_compact(j), 0);
  assert_int_equal(file_size(t.snap), snap2);
  assert_int_equal(jinfo(j).generation, 3);
  hubc_journal_close(j);
  size_t l4;
  char *d4 = reopen_dump(t.log, &l4);
  tu_expect_same(d2, d4, "after reopening the journal");
  (void)d1;
  free(d1);
  free(d2);
  free(d3);
  free(d4);
  tdir_remove(&t);
}

static void r3_compaction_automatic(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen_opts(t.log, HUBC_FSYNC_NEVER, 8192);
  hubc_store *s = sopen(j);
  churn(s, 40, 15);
  assert_true(jinfo(j).compactions >= 2);
  assert_int_equal(jinfo(j).compact_failures, 0);
  long logsz = file_size(t.log), snapsz = file_size(t.snap);
  assert_true(snapsz > 0);
  /* Right after each commit: the log is under the threshold or not yet
   * more than twice the snapshot. */
  assert_true(logsz <= 8192 || logsz <= 2 * snapsz);
  size_t l1;
  char *d1 = dump_store(s, &l1);
  hubc_store_close(s);
  hubc_journal_close(j);
  size_t l2;
  char *d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d1);
  free(d2);
  tdir_remove(&t);
}

static void copy_file(const char *from, const char *to) {
  size_t len;
  unsigned char *b = read_file(from, &len);
  write_file(to, b, len);
  free(b);
}

/* The states a crash during compaction can leave behind all load. */
static void r3_compaction_crash_states_load(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  char saved_log[200], saved_snap[200];
  snprintf(saved_log, sizeof saved_log, "%s/saved-log", t.dir);
  snprintf(saved_snap, sizeof saved_snap, "%s/saved-snap", t.dir);

  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  churn(s, 20, 3);
  assert_int_equal(hubc_journal_compact(j), 0); /* a first snapshot */
  hubc_id a = admin_id(s);
  for (int i = 100; i < 110; i++) create(s, a, i);
  size_t l1;
  char *d1 = dump_store(s, &l1);
  hubc_store_close(s);
  hubc_journal_close(j);
  copy_file(t.log, saved_log);
  copy_file(t.snap, saved_snap);

  /* Crash before the rename: a half-written temporary snapshot. */
  write_file(t.tmp, "HUBCJ", 5);
  size_t l2;
  char *d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  assert_int_equal(file_size(t.tmp), -1); /* cleaned up */
  free(d2);

  /* Crash after the rename, before the log was reset: new snapshot with
   * the old (stale) log. */
  j = jopen(t.log);
  assert_int_equal(hubc_journal_compact(j), 0);
  hubc_journal_close(j);
  copy_file(saved_log, t.log);
  d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  assert_int_equal(file_size(t.log), HUBC__JOURNAL_HEADER_BYTES); /* reset */
  free(d2);

  /* Crash right after the log truncation (empty log file). */
  write_file(t.log, "", 0);
  d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d2);

  /* Snapshot lost while the log continues it: refused, not silently empty. */
  copy_file(saved_log, t.log);
  assert_int_equal(unlink(t.snap), 0);
  expect_corrupt(t.log, HUBC_ECORRUPT, "generation");

  /* A damaged snapshot is refused with its name and offset. */
  copy_file(saved_snap, t.snap);
  size_t len;
  unsigned char *b = read_file(t.snap, &len);
  b[len / 2] ^= 0x10;
  write_file(t.snap, b, len);
  expect_corrupt(t.log, HUBC_ECORRUPT, ".snap");
  expect_corrupt(t.log, HUBC_ECORRUPT, "offset ");
  /* A truncated snapshot too (no end record). */
  write_file(t.snap, b, len - 1);
  expect_corrupt(t.log, HUBC_ECORRUPT, ".snap");
  free(b);
  b = read_file(saved_snap, &len);
  write_file(t.snap, b, len - 17); /* the end frame cut off: at a frame edge */
  expect_corrupt(t.log, HUBC_ECORRUPT, "end record");
  free(b);

  copy_file(saved_snap, t.snap);
  d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d2);
  free(d1);
  tdir_remove(&t);
}

/* ---- failing writes ----------------------------------------------------- */

/* In a child: RLIMIT_FSIZE stops the log from growing; the store call
 * fails with EPERSIST, the store is unchanged and the log keeps no part of
 * the failed transaction. Exit code: the failed check's line, 0 if ok. */
#define CHILD_CHECK(c)                                                                    \
  do {                                                                                    \
    if (!(c)) {                                                                           \
      fprintf(stderr, "child check failed at line %d: %s (%s)\n", __LINE__, #c,           \
              hubc_error_last());                                                         \
      _exit(__LINE__ & 0xff ? __LINE__ & 0xff : 1);                                       \
    }                                                                                     \
  } while (0)

static void failing_write_child(const char *path) {
  signal(SIGXFSZ, SIG_IGN);
  hubc_journal_options o;
  hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION);
  o.auto_compact_bytes = UINT64_MAX;
  hubc_journal *j = NULL;
  CHILD_CHECK(hubc_journal_open(&j, path, &o) == 0);
  hubc_store_options so;
  hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION);
  so.clock = fixed_clock;
  so.admin_email = ADMIN;
  so.persist = hubc_journal_persist(j);
  hubc_store *s = NULL;
  CHILD_CHECK(hubc_store_open(&s, &so) == 0);
  hubc_user *u = NULL;
  CHILD_CHECK(hubc_user_get_by_email(&u, s, ADMIN) == 0);
  hubc_id a = hubc_user_id(u);
  hubc_user_free(u);
  const char *names[] = {"email", "firstname"};
  const char *values[] = {"keep@x.io", "Kept"};
  hubc_id id = 0;
  CHILD_CHECK(hubc_contact_create(&id, s, a, NULL, names, values, 2) == 0);
  struct buf before = {NULL, 0, 0}, after = {NULL, 0, 0};
  CHILD_CHECK(hubc_store_dump(s, buf_write, &before) == 0);
  long size = file_size(path);

  struct rlimit rl;
  CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  struct rlimit small = rl;
  small.rlim_cur = (rlim_t)size + 10; /* the next frame only partly fits */
  CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  const char *v2[] = {"new@x.io", "New"};
  hubc_id id2 = 0;
  int rc = hubc_contact_create(&id2, s, a, NULL, names, v2, 2);
  CHILD_CHECK(rc == HUBC_EPERSIST);
  const char *n1[] = {"firstname"}, *val1[] = {"Changed"};
  CHILD_CHECK(hubc_contact_update(s, a, id, n1, val1, 1) == HUBC_EPERSIST);
  CHILD_CHECK(hubc_contact_set_marketing(s, a, id, HUBC_SOURCE_MANUAL, a) == HUBC_EPERSIST);
  CHILD_CHECK(file_size(path) == size); /* the partial frame was cut off */
  CHILD_CHECK(hubc_store_dump(s, buf_write, &after) == 0);
  CHILD_CHECK(before.len == after.len && memcmp(before.p, after.p, before.len) == 0);
  hubc_id none = 0;
  CHILD_CHECK(hubc_contact_find(&none, s, "new@x.io") == HUBC_ENOTFOUND);

  /* The limit lifted: the same calls succeed and survive a reopen. */
  CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  CHILD_CHECK(hubc_contact_create(&id2, s, a, NULL, names, v2, 2) == 0);
  CHILD_CHECK(hubc_contact_update(s, a, id, n1, val1, 1) == 0);
  after.len = 0;
  CHILD_CHECK(hubc_store_dump(s, buf_write, &after) == 0);
  hubc_store_close(s);
  hubc_journal_close(j);

  CHILD_CHECK(hubc_journal_open(&j, path, &o) == 0);
  CHILD_CHECK(jinfo(j).torn_bytes == 0);
  so.persist = hubc_journal_persist(j);
  CHILD_CHECK(hubc_store_open(&s, &so) == 0);
  struct buf again = {NULL, 0, 0};
  CHILD_CHECK(hubc_store_dump(s, buf_write, &again) == 0);
  CHILD_CHECK(again.len == after.len && memcmp(again.p, after.p, after.len) == 0);
  hubc_store_close(s);
  hubc_journal_close(j);
  free(before.p);
  free(after.p);
  free(again.p);
  _exit(0);
}

static void r3_failed_write_is_epersist_store_unchanged(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) failing_write_child(t.log);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  tdir_remove(&t);
}

/* A failing compaction (no room for the snapshot) leaves the pair intact. */
static void r3_failed_compaction_changes_nothing(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    hubc_journal *j = NULL;
    CHILD_CHECK(hubc_journal_open(&j, t.log, NULL) == 0);
    const hubc_persist *p = hubc_journal_persist(j);
    char rec[600];
    memset(rec, 'r', sizeof rec);
    for (int i = 1; i <= 50; i++) {
      CHILD_CHECK(p->begin(p->userdata) == 0);
      CHILD_CHECK(p->put(p->userdata, HUBC_REC_CONTACT, i, rec, sizeof rec) == 0);
      CHILD_CHECK(p->commit(p->userdata) == 0);
    }
    long size = file_size(t.log);
    struct rlimit rl, small;
    CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    small = rl;
    small.rlim_cur = 4096;
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    CHILD_CHECK(hubc_journal_compact(j) == HUBC_EIO);
    CHILD_CHECK(strstr(hubc_error_last(), ".snap.tmp") != NULL);
    CHILD_CHECK(file_size(t.snap) == -1 && file_size(t.tmp) == -1);
    CHILD_CHECK(file_size(t.log) == size);
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    /* Still writable, and compaction works now. */
    CHILD_CHECK(p->begin(p->userdata) == 0);
    CHILD_CHECK(p->del(p->userdata, HUBC_REC_CONTACT, 1) == 0);
    CHILD_CHECK(p->commit(p->userdata) == 0);
    CHILD_CHECK(hubc_journal_compact(j) == 0);
    CHILD_CHECK(file_size(t.snap) > 49 * 600 && file_size(t.snap) < 51 * 620);
    hubc_journal_close(j);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  tdir_remove(&t);
}

/* ---- one store per handle (issue 9 #5) ------------------------------------ */

static hubc_store *sopen_rc(hubc_journal *j, hubc_time (*clock)(void *), int *rc) {
  hubc_store_options so;
  assert_int_equal(hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION), 0);
  so.clock = clock;
  so.admin_email = ADMIN;
  so.persist = hubc_journal_persist(j);
  hubc_store *s = NULL;
  *rc = hubc_store_open(&s, &so);
  return s;
}

static hubc_time far_clock(void *payload) {
  (void)payload;
  return (hubc_time)253402300800LL; /* year 10000: refused by the open's clock check */
}

/* Both opens used to succeed; the second store then wrote its own ids and
 * after a reopen the first store's contacts were gone. */
static void r3_second_store_on_one_journal_is_busy(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *a = sopen(j);
  hubc_id admin = admin_id(a);
  create(a, admin, 1);
  int rc;
  hubc_store *b = sopen_rc(j, fixed_clock, &rc);
  assert_int_equal(rc, HUBC_EBUSY);
  assert_null(b);
  assert_non_null(strstr(hubc_error_last(), "already in use by an open store"));
  assert_non_null(strstr(hubc_error_last(), t.log));
  create(a, admin, 2); /* the first store is unaffected */
  size_t l1, l2;
  char *d1 = dump_store(a, &l1);
  hubc_store_close(a);
  /* closed: the handle serves a new store, which sees everything */
  b = sopen(j);
  char *d2 = dump_store(b, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d2);
  hubc_store_close(b);
  hubc_journal_close(j);
  d2 = reopen_dump(t.log, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d1);
  free(d2);

  /* A store whose open fails after its load leaves the handle free... */
  j = jopen(t.log);
  assert_null(sopen_rc(j, far_clock, &rc));
  assert_int_not_equal(rc, 0);
  assert_int_not_equal(rc, HUBC_EBUSY);
  b = sopen(j);
  hubc_store_close(b);
  /* ... also when the loader's final checks fail (a history record 1000
   * without 1..999) */
  const hubc_persist *p = hubc_journal_persist(j);
  rb r;
  rb_start(&r);
  rb_int(&r, 1, NOW); /* time */
  rb_int(&r, 2, 1);   /* contact */
  assert_int_equal(p->begin(p->userdata), 0);
  assert_int_equal(p->put(p->userdata, HUBC_REC_HISTORY, 1000, r.b, r.n), 0);
  assert_int_equal(p->commit(p->userdata), 0);
  for (int k = 0; k < 2; k++) {
    assert_null(sopen_rc(j, fixed_clock, &rc));
    if (rc != HUBC_ECORRUPT) /* each time: not EBUSY the second time */
      fail_msg("open %d: %d %s", k, rc, hubc_error_last());
  }
  hubc_journal_close(j);
  tdir_remove(&t);
}

/* ---- logs without a valid header (issue 9 #7) ----------------------------- */

/* Refused the same way each time, and the file is left as it was. */
static void expect_corrupt_untouched(const char *path, const char *needle) {
  size_t before_len, after_len;
  unsigned char *before = read_file(path, &before_len);
  for (int k = 0; k < 2; k++) expect_corrupt(path, HUBC_ECORRUPT, needle);
  unsigned char *after = read_file(path, &after_len);
  assert_int_equal(before_len, after_len);
  if (before_len) assert_memory_equal(before, after, before_len);
  free(before);
  free(after);
}

/* A log of zeros used to be reset to a new, empty journal. */
static void r3_zeroed_log_is_corrupt_not_new(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  static const size_t sizes[] = {1, 8, 27, 28, 29, 4096, 100000};
  unsigned char *z = calloc(100000, 1);
  assert_non_null(z);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    write_file(t.log, z, sizes[i]);
    expect_corrupt_untouched(t.log, "offset 0");
    expect_corrupt(t.log, HUBC_ECORRUPT, "zeros");
  }
  free(z);

  /* A log holding transactions whose header was wiped or damaged. */
  assert_int_equal(unlink(t.log), 0);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 5);
  hubc_store_close(s);
  hubc_journal_close(j);
  size_t len;
  unsigned char *b = read_file(t.log, &len);
  memset(b, 0, HUBC__JOURNAL_HEADER_BYTES);
  write_file(t.log, b, len);
  expect_corrupt_untouched(t.log, "corrupt header at offset 0");
  memcpy(b, "\x14\0\0\0\0\0\0\0HUBCJLOX", 16);
  write_file(t.log, b, len);
  expect_corrupt_untouched(t.log, "corrupt header at offset 0");
  free(b);
  tdir_remove(&t);
}

/* README "The bundled journal": a log cut inside its header is new when
 * its bytes start the header this open would write, refused otherwise. */
static void r3_log_cut_inside_header_is_new_only_if_ours(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  unsigned char h0[28], h1[28];
  make_header(h0, "HUBCJLOG", 1, 0);
  make_header(h1, "HUBCJLOG", 1, 1);
  /* No snapshot: generation 0, the header of a log just created. */
  for (size_t k = 1; k < 28; k++) {
    for (int rep = 0; rep < 2; rep++) {
      write_file(t.log, h0, k);
      hubc_journal *j = jopen(t.log);
      assert_int_equal(jinfo(j).log_bytes, 28);
      hubc_journal_close(j);
      size_t n;
      unsigned char *b = read_file(t.log, &n);
      assert_int_equal(n, 28);
      assert_memory_equal(b, h0, 28);
      free(b);
    }
  }
  /* After a compaction (snapshot generation 1) the reset log's header. */
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 10);
  assert_int_equal(hubc_journal_compact(j), 0);
  size_t l1, l2;
  char *d1 = dump_store(s, &l1);
  hubc_store_close(s);
  hubc_journal_close(j);
  for (size_t k = 1; k < 28; k++) {
    write_file(t.log, h1, k);
    char *d2 = reopen_dump(t.log, &l2);
    tu_expect_same(d1, d2, "after reopening the journal");
    free(d2);
    assert_int_equal(file_size(t.log), 28);
  }
  /* A generation-0 header cut short there was not written by this
   * journal's reset (its checksum bytes differ from byte 4): refused. */
  for (size_t k = 5; k < 28; k++) {
    write_file(t.log, h0, k);
    expect_corrupt_untouched(t.log, "offset 0");
  }
  write_file(t.log, "HUBCJLOG", 8);
  expect_corrupt_untouched(t.log, "not a hubcontacts");
  free(d1);
  tdir_remove(&t);
}

/* ---- hubc_journal_get_info -------------------------------------------------- */

static void r3_journal_info_reports_sizes_and_torn_bytes(void **state) {
  (void)state;
  hubc_journal_info i;
  memset(&i, 0, sizeof i);
  i.version = HUBC_JOURNAL_INFO_VERSION;
  assert_int_equal(hubc_journal_get_info(NULL, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_journal_get_info(&i, NULL), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "journal is NULL"));
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  i.version = 0;
  assert_int_equal(hubc_journal_get_info(&i, j), HUBC_EVERSION);
  i.version = HUBC_JOURNAL_INFO_VERSION + 1;
  assert_int_equal(hubc_journal_get_info(&i, j), HUBC_EVERSION);
  i = jinfo(j);
  assert_int_equal(i.version, HUBC_JOURNAL_INFO_VERSION);
  assert_int_equal(i.flags, 0);
  assert_int_equal(i.torn_bytes, 0);
  assert_int_equal(i.log_bytes, 28);
  assert_int_equal(i.snapshot_bytes, 0);
  assert_int_equal(i.generation, 0);
  assert_int_equal(i.compactions, 0);
  hubc_store *s = sopen(j);
  populate(s, 10);
  assert_int_equal(jinfo(j).log_bytes, (uint64_t)file_size(t.log));
  assert_int_equal(hubc_journal_compact(j), 0);
  create(s, admin_id(s), 77);
  i = jinfo(j);
  assert_int_equal(i.generation, 1);
  assert_int_equal(i.compactions, 1);
  assert_int_equal(i.snapshot_bytes, (uint64_t)file_size(t.snap));
  assert_int_equal(i.log_bytes, (uint64_t)file_size(t.log));
  hubc_store_close(s);
  hubc_journal_close(j);
  /* a torn tail: the host learns how much recovery dropped */
  long size = file_size(t.log);
  FILE *f = fopen(t.log, "ab");
  assert_non_null(f);
  assert_int_equal(fwrite("\x40\0\0\0\x01\x02\x03", 1, 7, f), 7);
  assert_int_equal(fclose(f), 0);
  j = jopen(t.log);
  i = jinfo(j);
  assert_int_equal(i.torn_bytes, 7);
  assert_int_equal(i.log_bytes, (uint64_t)size);
  assert_int_equal(i.compactions, 0); /* per handle */
  assert_int_equal(i.generation, 1);  /* per journal */
  hubc_journal_close(j);
  tdir_remove(&t);
}

/* ---- a failed fdatasync ------------------------------------------------------ */

enum { F_SYNC = 1, F_TRUNCATE = 2, F_OVERWRITE = 4 };
static int g_fail_steps;

static int fault_hook(const char *step) {
  if ((g_fail_steps & F_SYNC) && strcmp(step, "fdatasync") == 0) return EIO;
  if ((g_fail_steps & F_TRUNCATE) && strcmp(step, "truncate") == 0) return EIO;
  if ((g_fail_steps & F_OVERWRITE) && strcmp(step, "overwrite") == 0) return EIO;
  return 0;
}

/* A commit whose fdatasync fails is reported failed, so it must never
 * come back at a reopen: the frame used to stay in the log when the undo
 * truncate failed too, and the handle kept writing after a failed sync. */
static void r3_failed_fdatasync_never_replays(void **state) {
  (void)state;
  static const int combos[] = {F_SYNC, F_SYNC | F_TRUNCATE, F_SYNC | F_TRUNCATE | F_OVERWRITE};
  for (size_t c = 0; c < sizeof combos / sizeof *combos; c++) {
    struct tdir t;
    tdir_make(&t);
    hubc_journal *j = jopen_opts(t.log, HUBC_FSYNC_EVERY_COMMIT, UINT64_MAX);
    hubc_store *s = sopen(j);
    hubc_id a = admin_id(s);
    create(s, a, 1);
    size_t l1, l2;
    char *d1 = dump_store(s, &l1);
    long size = file_size(t.log);
    hubc__journal_fault = fault_hook;
    g_fail_steps = combos[c];
    const char *names[] = {"email"}, *values[] = {"failed@x.io"};
    hubc_id id = 0;
    assert_int_equal(hubc_contact_create(&id, s, a, NULL, names, values, 1), HUBC_EPERSIST);
    assert_non_null(strstr(hubc_error_last(), "fdatasync"));
    assert_non_null(strstr(hubc_error_last(), "close and reopen the journal"));
    if (combos[c] & F_OVERWRITE) assert_non_null(strstr(hubc_error_last(), "may reappear"));
    else assert_null(strstr(hubc_error_last(), "may reappear"));
    g_fail_steps = 0; /* the disk is back, but the handle writes nothing more */
    assert_true(jinfo(j).flags & HUBC_JOURNAL_FAILED);
    values[0] = "later@x.io";
    assert_int_equal(hubc_contact_create(&id, s, a, NULL, names, values, 1), HUBC_EPERSIST);
    assert_non_null(strstr(hubc_error_last(), "an fdatasync failed"));
    char *d2 = dump_store(s, &l2);
    tu_expect_same(d1, d2, "after reopening the journal");
    free(d2);
    hubc_store_close(s);
    hubc_journal_close(j); /* the F_OVERWRITE case removes the frame here */
    hubc__journal_fault = NULL;
    j = jopen(t.log);
    assert_int_equal(jinfo(j).log_bytes, (uint64_t)size);
    s = sopen(j);
    d2 = dump_store(s, &l2);
    tu_expect_same(d1, d2, "after reopening the journal");
    hubc_id found = 0;
    assert_int_equal(hubc_contact_find(&found, s, "failed@x.io"), HUBC_ENOTFOUND);
    create(s, a, 2); /* a reopened journal writes again */
    hubc_store_close(s);
    hubc_journal_close(j);
    free(d1);
    free(d2);
    tdir_remove(&t);
  }
}

/* ---- read-only open (issue 9 #12) --------------------------------------------- */

static hubc_journal *jopen_ro(const char *path, int *rc) {
  hubc_journal_options o;
  assert_int_equal(hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  o.read_only = 1;
  hubc_journal *j = NULL;
  *rc = hubc_journal_open(&j, path, &o);
  return j;
}

struct fstate {
  int exists;
  off_t size;
  struct timespec mtime;
  ino_t ino;
};

static struct fstate fstate_of(const char *path) {
  struct fstate f;
  memset(&f, 0, sizeof f);
  struct stat st;
  if (stat(path, &st) == 0) {
    f.exists = 1;
    f.size = st.st_size;
    f.mtime = st.st_mtim;
    f.ino = st.st_ino;
  }
  return f;
}

static void assert_fstate_same(const struct fstate *a, const struct fstate *b, const char *what) {
  if (a->exists != b->exists || a->size != b->size || a->ino != b->ino ||
      a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec)
    fail_msg("%s changed (exists %d->%d, size %lld->%lld)", what, a->exists, b->exists,
             (long long)a->size, (long long)b->size);
}

/* A journal with a snapshot, a log after it and a torn tail; leaves a stale
 * temporary file. d (the store without the torn part) for the caller. */
static char *make_ro_fixture(const struct tdir *t, size_t *len) {
  hubc_journal *j = jopen(t->log);
  hubc_store *s = sopen(j);
  populate(s, 10);
  assert_int_equal(hubc_journal_compact(j), 0);
  create(s, admin_id(s), 500);
  char *d = dump_store(s, len);
  hubc_store_close(s);
  hubc_journal_close(j);
  FILE *f = fopen(t->log, "ab");
  assert_non_null(f);
  assert_int_equal(fwrite("\x30\0\0\0\xde\xad\xbe", 1, 7, f), 7);
  assert_int_equal(fclose(f), 0);
  write_file(t->tmp, "left over", 9);
  return d;
}

static void r3_read_only_open_changes_nothing(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  size_t l1, l2;
  char *d1 = make_ro_fixture(&t, &l1);
  struct fstate log0 = fstate_of(t.log), snap0 = fstate_of(t.snap), tmp0 = fstate_of(t.tmp),
                dir0 = fstate_of(t.dir);
  /* read-only media, as far as root can be told so */
  assert_int_equal(chmod(t.log, 0444), 0);
  assert_int_equal(chmod(t.snap, 0444), 0);
  assert_int_equal(chmod(t.dir, 0555), 0);
  int rc;
  hubc_journal *j = jopen_ro(t.log, &rc);
  if (rc) fail_msg("read-only open: %d %s", rc, hubc_error_last());
  hubc_journal_info i = jinfo(j);
  assert_int_equal(i.flags, HUBC_JOURNAL_READ_ONLY);
  assert_int_equal(i.torn_bytes, 7); /* reported, not cut */
  assert_int_equal(i.log_bytes, (uint64_t)log0.size - 7);
  assert_int_equal(i.generation, 1);
  /* a shared lock: readers share, a writer waits for them */
  hubc_journal *k = jopen_ro(t.log, &rc);
  assert_int_equal(rc, 0);
  hubc_journal_close(k);
  assert_int_equal(hubc_journal_open(&k, t.log, NULL), HUBC_EBUSY);
  assert_non_null(strstr(hubc_error_last(), "read-only"));

  hubc_store *s = sopen(j);
  char *d2 = dump_store(s, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d2);
  /* every change is refused, naming read-only, and nothing changes */
  hubc_id a = admin_id(s), id = 0, found = 0;
  const char *names[] = {"email"}, *values[] = {"new@x.io"};
  assert_int_equal(hubc_contact_create(&id, s, a, NULL, names, values, 1), HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "read-only"));
  assert_int_equal(hubc_contact_find(&found, s, "c0@x.io"), 0);
  assert_int_equal(hubc_contact_delete(s, a, found), HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "read-only"));
  d2 = dump_store(s, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  free(d2);
  assert_int_equal(hubc_journal_compact(j), HUBC_EREADONLY);
  assert_non_null(strstr(hubc_error_last(), "read-only"));
  hubc_store_close(s);
  hubc_journal_close(j);

  struct fstate log1 = fstate_of(t.log), snap1 = fstate_of(t.snap), tmp1 = fstate_of(t.tmp),
                dir1 = fstate_of(t.dir);
  assert_fstate_same(&log0, &log1, "the log");
  assert_fstate_same(&snap0, &snap1, "the snapshot");
  assert_fstate_same(&tmp0, &tmp1, "the temporary file");
  assert_fstate_same(&dir0, &dir1, "the directory");
  assert_int_equal(chmod(t.dir, 0700), 0);
  assert_int_equal(chmod(t.log, 0600), 0);
  assert_int_equal(chmod(t.snap, 0600), 0);

  /* a writer holds it: a reader is busy too */
  j = jopen(t.log);
  assert_int_equal(jinfo(j).torn_bytes, 7); /* the read-write open cuts it */
  assert_null(jopen_ro(t.log, &rc));
  assert_int_equal(rc, HUBC_EBUSY);
  hubc_journal_close(j);
  free(d1);
  tdir_remove(&t);
}

static hubc_time later_clock(void *payload) {
  (void)payload;
  return NOW + 60 * 86400;
}

/* What a read-write open would write or reset, a read-only one leaves. */
static void r3_read_only_open_of_new_missing_and_stale_logs(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  int rc;
  assert_null(jopen_ro(t.log, &rc));
  assert_int_equal(rc, HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "does not exist"));
  assert_int_equal(file_size(t.log), -1); /* not created */

  /* an empty log: nothing to read, no header written; a new store would
   * need to write its first admin, so its open fails naming read-only */
  write_file(t.log, "", 0);
  hubc_journal *j = jopen_ro(t.log, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(jinfo(j).log_bytes, 0);
  assert_null(sopen_rc(j, fixed_clock, &rc));
  assert_int_equal(rc, HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "read-only"));
  hubc_journal_close(j);
  assert_int_equal(file_size(t.log), 0);

  /* a stale log (its snapshot is newer): read-write resets it, read-only
   * ignores it */
  j = jopen(t.log);
  hubc_store *s = sopen(j);
  populate(s, 8);
  char saved[200];
  snprintf(saved, sizeof saved, "%s/saved", t.dir);
  copy_file(t.log, saved);
  assert_int_equal(hubc_journal_compact(j), 0);
  size_t l1, l2;
  char *d1 = dump_store(s, &l1);
  hubc_store_close(s);
  hubc_journal_close(j);
  copy_file(saved, t.log);
  struct fstate log0 = fstate_of(t.log);
  j = jopen_ro(t.log, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(jinfo(j).log_bytes, 0);
  s = sopen(j);
  char *d2 = dump_store(s, &l2);
  tu_expect_same(d1, d2, "after reopening the journal");
  hubc_store_close(s);
  /* past an update date (B1) even a read needs a write: refused the same way */
  s = sopen_rc(j, later_clock, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(hubc_store_tick(s), HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "read-only"));
  hubc_store_close(s);
  hubc_journal_close(j);
  struct fstate log1 = fstate_of(t.log);
  assert_fstate_same(&log0, &log1, "the stale log");
  free(d1);
  free(d2);
  tdir_remove(&t);
}

/* Seccomp: in a child, any system call that could change a file kills the
 * process. Returns 0, or -1 when filters are not available here. */
static int forbid_file_changes(void) {
#if defined(__x86_64__) && defined(SECCOMP_MODE_FILTER)
  const char *preload = getenv("LD_PRELOAD");
  if (preload && strstr(preload, "valgrind")) return -1; /* its own log writes */
#ifdef SECCOMP_RET_KILL_PROCESS
  const uint32_t kill = SECCOMP_RET_KILL_PROCESS;
#else
  const uint32_t kill = SECCOMP_RET_KILL;
#endif
  static const int deny[] = {SYS_pwrite64, SYS_pwritev,   SYS_pwritev2,   SYS_ftruncate, SYS_truncate,
                             SYS_fsync,    SYS_fdatasync, SYS_fallocate,  SYS_unlink,    SYS_unlinkat,
                             SYS_rename,   SYS_renameat,  SYS_renameat2,  SYS_creat,     SYS_mkdir,
                             SYS_rmdir,    SYS_link,      SYS_linkat,     SYS_symlink,   SYS_chmod,
                             SYS_fchmod,   SYS_utimensat, SYS_sync_file_range};
  const uint32_t wflags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
  struct sock_filter f[80];
  size_t n = 0;
#define ST(c, k) f[n++] = (struct sock_filter)BPF_STMT(c, k)
#define JMP(c, k, jt, jf) f[n++] = (struct sock_filter)BPF_JUMP(c, k, jt, jf)
  ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  JMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  ST(BPF_RET | BPF_K, kill);
  ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (size_t i = 0; i < sizeof deny / sizeof *deny; i++) {
    JMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)deny[i], 0, 1);
    ST(BPF_RET | BPF_K, kill);
  }
  /* write: to stdout and stderr only */
  JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 4);
  ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
  JMP(BPF_JMP | BPF_JGT | BPF_K, 2, 0, 1);
  ST(BPF_RET | BPF_K, kill);
  ST(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  /* open and openat: for reading only */
  JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 4);
  ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
  JMP(BPF_JMP | BPF_JSET | BPF_K, wflags, 0, 1);
  ST(BPF_RET | BPF_K, kill);
  ST(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 4);
  ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
  JMP(BPF_JMP | BPF_JSET | BPF_K, wflags, 0, 1);
  ST(BPF_RET | BPF_K, kill);
  ST(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  ST(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
#undef ST
#undef JMP
  struct sock_fprog prog = {(unsigned short)n, f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return -1;
  return 0;
#else
  return -1;
#endif
}

#define NO_SECCOMP 77

/* In a child under forbid_file_changes: opens the journal (read-only or
 * not), a store on it, tries a change, reads, closes. */
static void no_write_child(const char *path, int read_only) {
  hubc_journal_options o;
  CHILD_CHECK(hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION) == 0);
  o.read_only = read_only;
  if (forbid_file_changes() != 0) _exit(NO_SECCOMP);
  hubc_journal *j = NULL;
  CHILD_CHECK(hubc_journal_open(&j, path, &o) == 0);
  CHILD_CHECK(jinfo(j).torn_bytes == 7);
  hubc_store_options so;
  CHILD_CHECK(hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION) == 0);
  so.clock = fixed_clock;
  so.admin_email = ADMIN;
  so.persist = hubc_journal_persist(j);
  hubc_store *s = NULL;
  CHILD_CHECK(hubc_store_open(&s, &so) == 0);
  const char *names[] = {"email"}, *values[] = {"new@x.io"};
  hubc_id id = 0;
  CHILD_CHECK(hubc_contact_create(&id, s, 1, NULL, names, values, 1) == HUBC_EPERSIST);
  CHILD_CHECK(hubc_contact_find(&id, s, "c0@x.io") == 0);
  CHILD_CHECK(hubc_journal_compact(j) == HUBC_EREADONLY);
  hubc_store_close(s);
  hubc_journal_close(j);
  _exit(0);
}

static int run_no_write_child(const char *path, int read_only) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) no_write_child(path, read_only);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* No write system call is even attempted by a read-only open, a store on
 * it, a refused change or the closes (a read-only bind mount is not
 * available here, and root writes through 0444 modes). */
static void r3_read_only_attempts_no_write(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  size_t l1;
  free(make_ro_fixture(&t, &l1));
  int status = run_no_write_child(t.log, 1);
  if (WIFEXITED(status) && WEXITSTATUS(status) == NO_SECCOMP) {
    tdir_remove(&t);
    skip();
  }
  if (WIFSIGNALED(status))
    fail_msg("the read-only child was killed by signal %d (SIGSYS: a write was attempted)",
             WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* the filter bites: a read-write open (which cuts the torn tail) dies */
  status = run_no_write_child(t.log, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSYS);
  tdir_remove(&t);
}

/* Options version 1 (before read_only) stays accepted: init writes and
 * open reads only its fields. */
static void r3_journal_options_version_1_still_accepted(void **state) {
  (void)state;
  union {
    hubc_journal_options o;
    unsigned char b[sizeof(hubc_journal_options)];
  } u;
  memset(&u, 0xAA, sizeof u);
  assert_int_equal(hubc_journal_options_init(&u.o, 1), 0);
  assert_int_equal(u.o.version, 1);
  assert_int_equal(u.o.fsync_policy, HUBC_FSYNC_EVERY_COMMIT);
  size_t v1_end = offsetof(hubc_journal_options, auto_compact_bytes) + sizeof(uint64_t);
  for (size_t i = v1_end; i < sizeof u; i++) assert_int_equal(u.b[i], 0xAA);
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = NULL;
  assert_int_equal(hubc_journal_open(&j, t.log, &u.o), 0); /* read_only's bytes are 0xAA: unread */
  assert_int_equal(jinfo(j).flags, 0);
  assert_int_equal(file_size(t.log), 28);
  hubc_journal_close(j);
  assert_int_equal(hubc_journal_options_init(&u.o, 0), HUBC_EVERSION);
  assert_int_equal(hubc_journal_options_init(&u.o, HUBC_JOURNAL_OPTIONS_VERSION + 1), HUBC_EVERSION);
  tdir_remove(&t);
}

/* ---- size and speed ----------------------------------------------------- */

/* Reopening a large log: validation is one pass over a mapping. The size
 * is 40 MB here (HUBC_JOURNAL_BIG=1: ~250 MB, the 1M-contact case); prints
 * the time. */
static void r3_large_log_reopens_fast(void **state) {
  (void)state;
  struct tdir t;
  tdir_make(&t);
  const char *big = getenv("HUBC_JOURNAL_BIG");
  int n = big && *big == '1' ? 1000000 : 160000;
  hubc_journal *j = jopen(t.log);
  const hubc_persist *p = hubc_journal_persist(j);
  char rec[240];
  memset(rec, 'x', sizeof rec);
  for (int i = 0; i < n; i += 1000) {
    assert_int_equal(p->begin(p->userdata), 0);
    for (int k = i; k < i + 1000 && k < n; k++) {
      snprintf(rec, sizeof rec, "contact %d", k);
      assert_int_equal(p->put(p->userdata, HUBC_REC_CONTACT, k + 1, rec, sizeof rec), 0);
    }
    assert_int_equal(p->commit(p->userdata), 0);
  }
  hubc_journal_close(j);
  long size = file_size(t.log);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  j = jopen(t.log);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  fprintf(stderr, "# journal reopen: %ld bytes, %d records, %.3f s\n", size, n, secs);
  assert_int_equal(jinfo(j).torn_bytes, 0);
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(hubc_journal_compact(j), 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  fprintf(stderr, "# journal compaction: %.3f s, snapshot %ld bytes\n",
          (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
          file_size(t.snap));
  hubc_journal_close(j);
  clock_gettime(CLOCK_MONOTONIC, &a);
  j = jopen(t.log);
  clock_gettime(CLOCK_MONOTONIC, &b);
  fprintf(stderr, "# snapshot reopen: %.3f s\n",
          (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
  hubc_journal_close(j);
  assert_true(secs < 1.0 * tu_time_factor()); /* 1 s in a plain build */
  tdir_remove(&t);
}

/* ---- fuzz seeds ---------------------------------------------------------- */

/* With HUBC_FUZZ_SEED_DIR set, writes seed inputs for tests/fuzz/fuzz_journal
 * ([u16 snapshot length, top bit clear][snapshot][log]); otherwise skipped. */
static void write_seed(const char *dir, const char *name, const char *snap_path,
                       const char *log_path) {
  size_t sl = 0, ll = 0;
  unsigned char *sb = NULL, *lb = read_file(log_path, &ll);
  if (snap_path && file_size(snap_path) >= 0) sb = read_file(snap_path, &sl);
  assert_true(sl < 32768);
  size_t total = 2 + sl + ll;
  unsigned char *out = malloc(total);
  assert_non_null(out);
  out[0] = (unsigned char)sl;
  out[1] = (unsigned char)(sl >> 8);
  if (sl) memcpy(out + 2, sb, sl);
  memcpy(out + 2 + sl, lb, ll);
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  write_file(path, out, total);
  free(out);
  free(sb);
  free(lb);
}

static void r3_fuzz_seeds(void **state) {
  (void)state;
  const char *dir = getenv("HUBC_FUZZ_SEED_DIR");
  if (!dir) skip();
  struct tdir t;
  tdir_make(&t);
  hubc_journal *j = jopen(t.log);
  hubc_store *s = sopen(j);
  write_seed(dir, "new-store-log-only", NULL, t.log);
  hubc_id a = admin_id(s);
  hubc_id id = create(s, a, 1);
  set_first(s, a, id, "Two");
  assert_int_equal(hubc_contact_set_marketing(s, a, id, HUBC_SOURCE_MANUAL, a), 0);
  write_seed(dir, "contact-update-marketing", NULL, t.log);
  create(s, a, 2);
  assert_int_equal(hubc_contact_delete(s, a, id), 0);
  assert_int_equal(hubc_journal_compact(j), 0);
  create(s, a, 3);
  write_seed(dir, "snapshot-and-log", t.snap, t.log);
  hubc_store_close(s);
  hubc_journal_close(j);
  size_t len;
  unsigned char *b = read_file(t.log, &len);
  write_file(t.log, b, len - 5);
  write_seed(dir, "torn-tail", t.snap, t.log);
  free(b);
  tdir_remove(&t);
}

/* ---- moved from review round 2 and 3 (test_persist_regress.c): R3 a torn
 * tail inside one big batch frame, resync work bounded, R5 the journal's
 * own message kept */

#define ADMIN_ID ((hubc_id)1)
#define T0 tu_time(2024, 3, 10, 12, 0, 0)

static tu_clock g_clock;

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

static int jfix_open(jfix *f) {
  hubc_journal_options jo;
  assert_int_equal(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  jo.auto_compact_bytes = UINT64_MAX; /* everything stays in the log */
  jo.fsync_policy = HUBC_FSYNC_NEVER;
  f->j = NULL;
  return hubc_journal_open(&f->j, f->log, &jo);
}

static void jstore_open(jfix *f) {
  hubc_store_options o;
  tu_options(&o, &g_clock, hubc_journal_persist(f->j));
  tu_ok(hubc_store_open(&f->s, &o), "store open on the journal");
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
  tu_ok(jfix_open(f), "journal open");
  jstore_open(f);
  for (int k = 0; k < 3; k++) {
    snprintf(g_single_email[k], sizeof g_single_email[k], "single%d@example.com", k);
    tu_contact(f->s, ADMIN_ID, g_single_email[k], "Single");
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
  int rc = hubc_contact_create_batch(NULL, f->s, ADMIN_ID, NULL, names, 3, vals, rows);
  free(vals);
  free(emails);
  tu_ok(rc, "batch");
  f->batch_end = fsize(f->log);
  assert_true(f->batch_end > f->batch_start + (long)rows * 20); /* one big frame */
  if (trailing) {
    snprintf(g_single_email[3], sizeof g_single_email[3], "after@example.com");
    tu_contact(f->s, ADMIN_ID, g_single_email[3], "After");
    f->single_end[3] = fsize(f->log);
  }
  jclose(f);
  return f;
}

/* The three single contacts are there, with their fields; none of the
 * batch. */
static void expect_singles_only(hubc_store *s) {
  uint64_t count = 0;
  tu_ok(hubc_contact_count(&count, s), "count");
  assert_int_equal(count, 3);
  for (int k = 0; k < 3; k++) {
    hubc_contact *c = NULL;
    tu_ok(hubc_contact_get_by_email(&c, s, g_single_email[k]), g_single_email[k]);
    assert_string_equal(hubc_contact_prop(c, "firstname"), "Single");
    hubc_contact_free(c);
  }
  hubc_id id = 0;
  tu_expect_rc(hubc_contact_find(&id, s, "user0@example.com"), HUBC_ENOTFOUND, "first batch row after the tear");
}

static void torn_batch(size_t rows, double frac) {
  jfix *f = jfix_build(rows, 0);
  long cut = f->batch_start + (long)((double)(f->batch_end - f->batch_start) * frac);
  assert_true(cut > f->batch_start + 8 && cut < f->batch_end); /* inside the last frame */
  assert_int_equal(truncate(f->log, cut), 0);
  int rc = jfix_open(f);
  if (rc) fail_msg("reopen after a torn tail at %.0f%% of a %zu-row batch: %d %s", frac * 100, rows, rc,
                   hubc_error_last());
  assert_int_equal(fsize(f->log), f->batch_start); /* the torn tail was cut off */
  jstore_open(f);
  expect_singles_only(f->s);
  /* the log is usable again: a new commit survives another reopen */
  tu_contact(f->s, ADMIN_ID, "later@example.com", "Later");
  jclose(f);
  tu_ok(jfix_open(f), "second reopen");
  jstore_open(f);
  hubc_id id = 0;
  tu_ok(hubc_contact_find(&id, f->s, "later@example.com"), "contact committed after the recovery");
  tu_ok(hubc_contact_find(&id, f->s, g_single_email[0]), "first single contact");
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
  int rc = jfix_open(f);
  if (rc != HUBC_ECORRUPT) fail_msg("flipped byte at %ld: expected HUBC_ECORRUPT, got %d (%s)", byte, rc, hubc_error_last());
  assert_null(f->j);
  char needle[64];
  snprintf(needle, sizeof needle, "offset %ld", frame);
  tu_expect_msg(needle);
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
  tu_expect_rc(jfix_open(f), HUBC_ECORRUPT, "crafted log");
  tu_expect_msg("offset 28");
}

/* The journal says which file, offset and OS error failed; the store's
 * EPERSIST message used to replace that with "(? 0, code -14)". */
static void r5_a_failed_journal_write_keeps_the_journal_message(void **state) {
  (void)state;
  jfix *f = jfix_dir();
  g_clock.now = T0;
  tu_ok(jfix_open(f), "journal open");
  jstore_open(f);
  tu_contact(f->s, ADMIN_ID, "first@example.com", "First");
  struct rlimit saved, low;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  low = saved;
  low.rlim_cur = (rlim_t)fsize(f->log); /* the next append fails with EFBIG */
  void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
  const char *n[] = {"email"}, *v[] = {"second@example.com"};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, f->s, ADMIN_ID, NULL, n, v, 1);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old);
  tu_expect_rc(rc, HUBC_EPERSIST, "create past the file size limit");
  if (!strstr(msg, f->log) || !strstr(msg, "offset")) fail_msg("message names no file and offset: %s", msg);
  if (strstr(msg, "? 0")) fail_msg("message names a record for a step that has none: %s", msg);
  tu_ok(hubc_contact_create(&id, f->s, ADMIN_ID, NULL, n, v, 1), "the retry after the limit is lifted");
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(r3_r4_null_arguments_and_versions),
      cmocka_unit_test(r3_crc32c_known_vector),
      cmocka_unit_test(r3_group_commit_one_frame_rollback_discards),
      cmocka_unit_test(r3_second_open_is_busy),
      cmocka_unit_test(r3_round_trip_every_commit),
      cmocka_unit_test(r3_round_trip_interval_and_never),
      cmocka_unit_test(r3_store_reopened_on_same_handle),
      cmocka_unit_test(r3_failed_call_writes_nothing),
      cmocka_unit_test(r3_torn_tail_is_truncated),
      cmocka_unit_test(r3_corrupt_middle_record_reports_offset),
      cmocka_unit_test(r3_wrong_file_or_version_refused),
      cmocka_unit_test(r3_refused_record_names_file_and_offset),
      cmocka_unit_test(r3_compaction_explicit),
      cmocka_unit_test(r3_compaction_automatic),
      cmocka_unit_test(r3_compaction_crash_states_load),
      cmocka_unit_test(r3_failed_write_is_epersist_store_unchanged),
      cmocka_unit_test(r3_failed_compaction_changes_nothing),
      cmocka_unit_test(r3_second_store_on_one_journal_is_busy),
      cmocka_unit_test(r3_zeroed_log_is_corrupt_not_new),
      cmocka_unit_test(r3_log_cut_inside_header_is_new_only_if_ours),
      cmocka_unit_test(r3_journal_info_reports_sizes_and_torn_bytes),
      cmocka_unit_test(r3_failed_fdatasync_never_replays),
      cmocka_unit_test(r3_read_only_open_changes_nothing),
      cmocka_unit_test(r3_read_only_open_of_new_missing_and_stale_logs),
      cmocka_unit_test(r3_read_only_attempts_no_write),
      cmocka_unit_test(r3_journal_options_version_1_still_accepted),
      cmocka_unit_test(r3_large_log_reopens_fast),
      cmocka_unit_test(r3_fuzz_seeds),
      cmocka_unit_test_teardown(r3_torn_tail_at_50pct_of_20000_row_batch_is_dropped, gc_teardown),
      cmocka_unit_test_teardown(r3_torn_tail_at_90pct_of_20000_row_batch_is_dropped, gc_teardown),
      cmocka_unit_test_teardown(r3_torn_tail_at_50pct_of_100000_row_batch_is_dropped, gc_teardown),
      cmocka_unit_test_teardown(r3_torn_tail_at_90pct_of_100000_row_batch_is_dropped, gc_teardown),
      cmocka_unit_test_teardown(r3_flipped_byte_before_big_batch_frame_is_corrupt_with_offset, gc_teardown),
      cmocka_unit_test_teardown(r3_flipped_byte_inside_big_batch_frame_then_valid_frame_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r3_resync_over_crafted_transactions_is_bounded_and_reports_corruption, gc_teardown),
      cmocka_unit_test_teardown(r5_a_failed_journal_write_keeps_the_journal_message, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
