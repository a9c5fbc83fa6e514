/* Loading sized from the backend's counts (R1, R3): a backend may tell the
 * loader how many records of a kind it is about to push (the journal
 * counts them at open); that count only sizes tables, so any count, wrong
 * or absurd, loads the same store. The email index is built with a
 * look-ahead over the ids; a duplicate email is still refused wherever it
 * falls (C3). The codec's inline readers and the ASCII shortcut of the
 * UTF-8 check refuse what they refused before. The journal's compaction,
 * sized from the same counts and sorting only what is out of order,
 * writes its snapshot sorted by kind then id. */
#define _GNU_SOURCE /* mkdtemp, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "journal/journal_internal.h"
#include "persist/codec.h"
#include "store/store.h" /* hubc__varint_get_long: the record's varints */
#include "testutil.h"

#define ADMIN 1
#define N 40

static tu_clock g_clock;

/* Replays a tu_mem's records, first hinting (n, bytes) for contacts when
 * `hint` is set; contact dup_id is pushed with the bytes of dup_of. */
typedef struct hw {
  tu_mem *mem; /* first: tu_mem_wrap */
  int hint;
  uint64_t n, bytes;
  hubc_id dup_id, dup_of;
  hubc_persist vt;
} hw;

static const tu_mem_rec *mem_get(const tu_mem *m, int kind, hubc_id id) {
  for (size_t i = 0; i < m->n; i++)
    if (m->recs[i].kind == kind && m->recs[i].id == id) return &m->recs[i];
  return NULL;
}

static int hw_load(void *ud, hubc_loader *l) {
  hw *w = ud;
  if (w->hint) hubc__loader_hint(l, HUBC_REC_CONTACT, w->n, w->bytes);
  for (size_t i = 0; i < w->mem->n; i++) {
    const tu_mem_rec *r = &w->mem->recs[i];
    if (r->kind == HUBC_REC_CONTACT && r->id == w->dup_id) r = mem_get(w->mem, HUBC_REC_CONTACT, w->dup_of);
    int rc = hubc_loader_put(l, w->mem->recs[i].kind, w->mem->recs[i].id, r->bytes, r->len);
    if (rc) return rc;
  }
  return 0;
}

static void hw_init(hw *w, tu_mem *mem) {
  memset(w, 0, sizeof *w);
  w->mem = mem;
  tu_mem_wrap(&w->vt, w, hw_load);
}

static int open_on(hubc_store **s, const hubc_persist *p) {
  hubc_store_options o;
  tu_options(&o, &g_clock, p);
  return tu_try_open(s, &o);
}

static int deleted(hubc_id id) { return id == 5 || (id >= 9 && id <= 20); } /* a gap wider than the look-ahead */

/* N contacts c<i>@example.com, the gap deleted, and one without email. */
static tu_mem *contacts_mem(void) {
  tu_mem *m = gc_mem();
  g_clock.now = tu_time(2026, 1, 1, 0, 0, 0);
  hubc_store *s = tu_open(&g_clock, &m->vtable);
  for (int i = 1; i <= N; i++) {
    char e[64];
    snprintf(e, sizeof e, "c%d@example.com", i);
    assert_int_equal(tu_contact(s, ADMIN, e, "C"), i);
  }
  for (hubc_id id = 1; id <= N; id++)
    if (deleted(id)) tu_ok(hubc_contact_delete(s, ADMIN, id), "delete");
  const char *n[] = {"firstname"}, *v[] = {"Nomail"};
  hubc_id id;
  tu_ok(hubc_contact_create(&id, s, ADMIN, NULL, n, v, 1), "create without email");
  assert_int_equal(id, N + 1);
  hubc_store_close(s);
  return m;
}

/* Every live contact is found by its email under its id, the deleted are
 * gone. */
static void expect_contacts(hubc_store *s, int with_nomail, const char *what) {
  for (int i = 1; i <= N; i++) {
    char e[64];
    snprintf(e, sizeof e, "c%d@example.com", i);
    hubc_id id = 0;
    int rc = hubc_contact_find(&id, s, e);
    if (deleted(i)) {
      if (rc != HUBC_ENOTFOUND) fail_msg("%s: deleted contact %d found (%d)", what, i, rc);
    } else if (rc || id != i) {
      fail_msg("%s: contact %d by email: rc %d id %lld (%s)", what, i, rc, (long long)id, hubc_error_last());
    }
  }
  if (with_nomail) {
    hubc_contact *c = NULL;
    tu_ok(hubc_contact_get(&c, s, N + 1), "the contact without email");
    hubc_contact_free(c);
  }
  /* the index takes new emails and refuses a loaded one */
  hubc_id id;
  const char *n[] = {"email"}, *taken[] = {"c1@example.com"}, *fresh[] = {"new@example.com"};
  tu_expect_rc(hubc_contact_create(&id, s, ADMIN, NULL, n, taken, 1), HUBC_EEXISTS, what);
  tu_ok(hubc_contact_create(&id, s, ADMIN, NULL, n, fresh, 1), "create after load");
}

static void test_R1_load_any_contact_count_hint_loads_the_same_store(void **state) {
  (void)state;
  tu_mem *m = contacts_mem();
  const struct {
    int hint;
    uint64_t n, bytes;
  } hints[] = {{0, 0, 0},   {1, 0, 0},          {1, 1, 1},          {1, 3, 100},
               {1, 29, 3000}, {1, 1000, 1 << 20}, {1, 1ull << 40, 1ull << 60}, {1, UINT64_MAX, UINT64_MAX}};
  for (size_t i = 0; i < sizeof hints / sizeof *hints; i++) {
    tu_mem *copy = gc_mem();
    for (size_t k = 0; k < m->n; k++) {
      tu_ok(copy->vtable.begin(copy), "copy");
      tu_ok(copy->vtable.put(copy, m->recs[k].kind, m->recs[k].id, m->recs[k].bytes, m->recs[k].len), "copy");
      tu_ok(copy->vtable.commit(copy), "copy");
    }
    hw *w = gc_malloc(malloc(sizeof *w));
    hw_init(w, copy);
    w->hint = hints[i].hint;
    w->n = hints[i].n;
    w->bytes = hints[i].bytes;
    hubc_store *s;
    char what[64];
    snprintf(what, sizeof what, "hint %zu", i);
    tu_ok(open_on(&s, &w->vt), what);
    expect_contacts(s, 1, what);
  }
}

static void expect_duplicate(hubc_id dup_id, hubc_id dup_of) {
  tu_mem *m = contacts_mem();
  hw *w = gc_malloc(malloc(sizeof *w));
  hw_init(w, m);
  w->hint = 1;
  w->n = N;
  w->bytes = 4096;
  w->dup_id = dup_id;
  w->dup_of = dup_of;
  hubc_store *s;
  int rc = open_on(&s, &w->vt);
  if (rc != HUBC_ECORRUPT) fail_msg("contact %lld as %lld: expected HUBC_ECORRUPT, got %d (%s)", (long long)dup_id,
                                    (long long)dup_of, rc, hubc_error_last());
  assert_null(s);
  char want[96];
  snprintf(want, sizeof want, "contact record %lld is corrupt: email already used", (long long)dup_id);
  tu_expect_msg(want);
}

/* The later id of the two is named, next to the first, just past the
 * look-ahead, after a gap, and the last id. */
static void test_C3_load_duplicate_email_refused_wherever_it_falls(void **state) {
  (void)state;
  expect_duplicate(2, 1);
  expect_duplicate(21, 3); /* the first id after the gap */
  expect_duplicate(22, 4);
  expect_duplicate(40, 39);
  expect_duplicate(40, 2);
}

/* A journal at path, never synced nor compacted on its own. */
static hubc_journal *journal_at(const char *path) {
  hubc_journal_options o;
  tu_ok(hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION), "options");
  o.fsync_policy = HUBC_FSYNC_NEVER;
  o.auto_compact_bytes = UINT64_MAX;
  hubc_journal *j = NULL;
  tu_ok(hubc_journal_open(&j, path, &o), "journal open");
  return j;
}

/* A fresh directory under /tmp (dir) and the journal path j inside it. */
static void temp_journal(char dir[64], char path[128]) {
  snprintf(dir, 64, "/tmp/hubc-hint-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, 128, "%s/j", dir);
}

/* The journal's counts come from its files: a log of many versions of few
 * contacts, deletes, then a snapshot plus a log; each reopen loads what
 * was committed. */
static void test_R3_journal_reopen_after_updates_deletes_and_compaction(void **state) {
  (void)state;
  char dir[64], path[128];
  temp_journal(dir, path);
  g_clock.now = tu_time(2026, 1, 1, 0, 0, 0);
  char *want = NULL;
  for (int round = 0; round < 3; round++) {
    hubc_journal *j = journal_at(path);
    hubc_store *s;
    tu_ok(open_on(&s, hubc_journal_persist(j)), "store open");
    if (want) tu_expect_same(want, gc_dump(s), "reopened");
    if (round == 0) {
      for (int i = 1; i <= N; i++) {
        char e[64];
        snprintf(e, sizeof e, "c%d@example.com", i);
        tu_contact(s, ADMIN, e, "C");
      }
      for (int k = 0; k < 5; k++)
        for (hubc_id id = 1; id <= N; id++) {
          char v[32];
          snprintf(v, sizeof v, "v%d", k);
          tu_ok(hubc_contact_update(s, ADMIN, id, (const char *[]){"lastname"}, (const char *[]){v}, 1), "update");
        }
      for (hubc_id id = 1; id <= N; id++)
        if (deleted(id)) tu_ok(hubc_contact_delete(s, ADMIN, id), "delete");
    } else if (round == 1) {
      tu_ok(hubc_journal_compact(j), "compact");
      tu_ok(hubc_contact_update(s, ADMIN, 1, (const char *[]){"lastname"}, (const char *[]){"after"}, 1), "update");
    }
    if (round < 2) want = gc_dump(s);
    else expect_contacts(s, 0, "journal");
    gc_release(s);
    hubc_journal_close(j);
  }
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* A contact whose firstname "Annabel" is stored with its bytes 1-2 set to
 * `two`: the store opens (rc 0) or not. */
static int load_with_firstname_bytes(const char two[2]) {
  tu_mem *m = gc_mem();
  g_clock.now = tu_time(2026, 1, 1, 0, 0, 0);
  hubc_store *s = tu_open(&g_clock, &m->vtable);
  tu_contact(s, ADMIN, "ann@example.com", "Annabel");
  hubc_store_close(s);
  int found = 0;
  for (size_t i = 0; i < m->n; i++) {
    tu_mem_rec *r = &m->recs[i];
    unsigned char *at = r->kind == HUBC_REC_CONTACT ? memmem(r->bytes, r->len, "Annabel", 7) : NULL;
    if (at) {
      memcpy(at + 1, two, 2);
      found = 1;
    }
  }
  assert_true(found);
  hubc_store *t;
  return open_on(&t, &m->vtable);
}

/* Values are checked as UTF-8 at load; an all-ASCII record skips the
 * per-value check, any other byte brings it back (R1). */
static void test_R1_load_refuses_a_value_that_is_not_utf8(void **state) {
  (void)state;
  tu_ok(load_with_firstname_bytes("\xc3\xbc"), "A\xc3\xbc" "abel (valid UTF-8)");
  tu_ok(load_with_firstname_bytes("xy"), "Axyabel");
  const char *bad[] = {"\xff\x41", "\xc3\x41", "\x80\x80", "\xc0\xaf"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = load_with_firstname_bytes(bad[i]);
    if (rc != HUBC_ECORRUPT) fail_msg("case %zu: expected HUBC_ECORRUPT, got %d (%s)", i, rc, hubc_error_last());
    tu_expect_msg("malformed properties");
  }
}

/* The codec's inline varint reader takes and refuses exactly what the
 * record's reader does (canonical LEB128 of at most 64 bits), and moves
 * past what it read only on success. */
static void test_R1_codec_varint_reads_as_the_record_reader(void **state) {
  (void)state;
  static const unsigned char edge[][12] = {
      {0},    {0x7f}, {0x80, 0x01}, {0x80, 0x00}, {0xff, 0x7f}, {0x80, 0x80, 0x00},
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 2^64 - 1 */
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, /* past 64 bits */
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00},
      {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}};
  uint64_t seed = 12345;
  for (int t = 0; t < 20000; t++) {
    unsigned char b[12];
    size_t n;
    if (t < (int)(sizeof edge / sizeof *edge) * 12) { /* every edge case at every length */
      memcpy(b, edge[t / 12], 12);
      n = (size_t)(t % 12) + 1;
    } else {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      n = (size_t)(seed >> 60) % 12 + 1;
      for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned x = (unsigned)(seed >> 56);
        b[i] = (unsigned char)((seed >> 40) % 3 ? x | 0x80 : x % 4); /* long runs, small ends */
      }
    }
    size_t pos = 0;
    uint64_t want = 0, got = 0;
    int want_rc = hubc__varint_get_long(b, n, &pos, &want);
    hubc__rd r = {b, b + n};
    int got_rc = hubc__rd_varint(&r, &got);
    if (got_rc != want_rc || (!got_rc && (got != want || (size_t)(r.p - b) != pos)) || (got_rc && r.p != b))
      fail_msg("case %d (%zu bytes, first 0x%02x): rc %d/%d value %llu/%llu", t, n, b[0], got_rc, want_rc,
               (unsigned long long)got, (unsigned long long)want);
  }
}

/* ---- compaction ---------------------------------------------------------- */

typedef struct op {
  unsigned kind;
  int64_t id;
  char bytes[8];
} op;

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The puts of a snapshot file, in file order. */
static size_t snapshot_puts(const char *path, op *out, size_t max) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static unsigned char b[1 << 20];
  size_t len = fread(b, 1, sizeof b, f), n = 0;
  fclose(f);
  for (size_t off = HUBC__JOURNAL_HEADER_BYTES; off + 8 < len;) {
    uint32_t flen = le32(b + off);
    const unsigned char *pl = b + off + 8;
    if (pl[0] == 1)
      for (size_t pos = 5, i = 0; i < le32(pl + 1); i++) {
        assert_int_equal(pl[pos], 1); /* only puts */
        assert_true(n < max);
        out[n].kind = pl[pos + 1];
        uint64_t id = le32(pl + pos + 2) | (uint64_t)le32(pl + pos + 6) << 32;
        out[n].id = (int64_t)id;
        uint32_t blen = le32(pl + pos + 10);
        assert_true(blen < sizeof out[n].bytes);
        memcpy(out[n].bytes, pl + pos + 14, blen);
        out[n++].bytes[blen] = '\0';
        pos += 14 + blen;
      }
    off += 8 + flen;
  }
  return n;
}

static void put(const hubc_persist *p, unsigned kind, int64_t id, const char *v) {
  assert_int_equal(p->put(p->userdata, (int)kind, id, v, strlen(v)), 0);
}

static void expect_snapshot(const char *snap, const op *want, size_t n) {
  op got[64];
  size_t m = snapshot_puts(snap, got, 64);
  if (m != n) fail_msg("snapshot holds %zu puts, expected %zu", m, n);
  for (size_t i = 0; i < n; i++)
    if (got[i].kind != want[i].kind || got[i].id != want[i].id || strcmp(got[i].bytes, want[i].bytes))
      fail_msg("put %zu: kind %u id %lld \"%s\", expected kind %u id %lld \"%s\"", i, got[i].kind,
               (long long)got[i].id, got[i].bytes, want[i].kind, (long long)want[i].id, want[i].bytes);
}

/* The snapshot is sorted by kind then id whatever order keys first came
 * in (R3): a log that adds ids in rising order needs no sort, others are
 * sorted by kind; the last put wins, deletes drop. Then again after a
 * reopen, when the index is sized from the files' counts. */
static void test_R3_compaction_snapshot_sorted_by_kind_then_id(void **state) {
  (void)state;
  char dir[64], path[128], snap[160];
  temp_journal(dir, path);
  snprintf(snap, sizeof snap, "%s.snap", path);
  hubc_journal *j = journal_at(path);
  const hubc_persist *p = hubc_journal_persist(j);

  /* already in order */
  assert_int_equal(p->begin(p->userdata), 0);
  put(p, 2, 1, "a");
  put(p, 2, 5, "b");
  put(p, 7, -3, "c");
  put(p, 7, 4, "d");
  assert_int_equal(p->commit(p->userdata), 0);
  tu_ok(hubc_journal_compact(j), "compact in order");
  const op w1[] = {{2, 1, "a"}, {2, 5, "b"}, {7, -3, "c"}, {7, 4, "d"}};
  expect_snapshot(snap, w1, 4);

  /* new keys out of order across and within kinds, a replaced and a
   * deleted one, a delete of a key never put */
  assert_int_equal(p->begin(p->userdata), 0);
  put(p, 9, 100, "e");
  put(p, 5, 10, "f");
  put(p, 5, 3, "g");
  put(p, 2, 3, "h");
  put(p, 5, 7, "i");
  assert_int_equal(p->commit(p->userdata), 0);
  assert_int_equal(p->begin(p->userdata), 0);
  put(p, 5, 3, "G");
  assert_int_equal(p->del(p->userdata, 2, 1), 0);
  assert_int_equal(p->del(p->userdata, 4, 1), 0);
  put(p, 7, -10, "j");
  assert_int_equal(p->commit(p->userdata), 0);
  tu_ok(hubc_journal_compact(j), "compact out of order");
  const op w2[] = {{2, 3, "h"}, {2, 5, "b"}, {5, 3, "G"},  {5, 7, "i"},  {5, 10, "f"},
                   {7, -10, "j"}, {7, -3, "c"}, {7, 4, "d"}, {9, 100, "e"}};
  expect_snapshot(snap, w2, 9);

  /* reopened: a log over the snapshot, compacted with the index sized
   * from what open counted */
  assert_int_equal(p->begin(p->userdata), 0);
  put(p, 5, 1, "k");
  put(p, 9, 100, "E");
  assert_int_equal(p->commit(p->userdata), 0);
  hubc_journal_close(j);
  j = journal_at(path);
  p = hubc_journal_persist(j);
  assert_int_equal(p->begin(p->userdata), 0);
  put(p, 1, 8, "l");
  assert_int_equal(p->commit(p->userdata), 0);
  tu_ok(hubc_journal_compact(j), "compact after reopen");
  const op w3[] = {{1, 8, "l"}, {2, 3, "h"},   {2, 5, "b"},   {5, 1, "k"},  {5, 3, "G"},  {5, 7, "i"},
                   {5, 10, "f"}, {7, -10, "j"}, {7, -3, "c"}, {7, 4, "d"}, {9, 100, "E"}};
  expect_snapshot(snap, w3, 11);
  hubc_journal_close(j);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_R1_load_any_contact_count_hint_loads_the_same_store, gc_teardown),
      cmocka_unit_test_teardown(test_C3_load_duplicate_email_refused_wherever_it_falls, gc_teardown),
      cmocka_unit_test_teardown(test_R3_journal_reopen_after_updates_deletes_and_compaction, gc_teardown),
      cmocka_unit_test(test_R1_codec_varint_reads_as_the_record_reader),
      cmocka_unit_test_teardown(test_R1_load_refuses_a_value_that_is_not_utf8, gc_teardown),
      cmocka_unit_test(test_R3_compaction_snapshot_sorted_by_kind_then_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
