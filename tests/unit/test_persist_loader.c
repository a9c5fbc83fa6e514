/* The loader handed to a backend's load() (R1, R3, R4): its errors are
 * sticky, and a loader kept past load() is refused, never dereferenced.
 *
 * A wrapping backend replays a tu_mem's records through the real loader,
 * optionally damaging one record, ignoring put failures, keeping the
 * loader pointer or pushing from another thread. Stored records with
 * out-of-range or inconsistent values are refused at load (R1, P1, C3, D1,
 * C4). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "persist/codec.h"
#include "store/store.h" /* hubc__kind_name: the names the loader's messages use */
#include "testutil.h"

#define ADMIN 1

static tu_clock g_clock;

static void expect_rc(int got, int want, const char *what) {
  if (got != want) fail_msg("%s: expected %d, got %d (%s)", what, want, got, hubc_error_last());
}

static void expect_msg(const char *needle) {
  const char *m = hubc_error_last();
  if (!strstr(m, needle)) fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

typedef struct wrap {
  tu_mem *mem;         /* the stored records (first: tu_mem_wrap) */
  hubc_id damage;      /* contact record replaced by a malformed one (0: none) */
  int ignore_errors;   /* load() ignores put failures */
  int load_returns;    /* what load() returns when it ignores them */
  int from_thread;     /* push the records from another thread */
  hubc_loader *kept;   /* the loader, kept past load() */
  int first_failure;   /* the first put's failure code */
  int puts_after;      /* puts tried after the first failure */
  int rc_after;        /* what the last of those returned */
  hubc_persist vt;
} wrap;

static const unsigned char bad_contact[] = {1, 0x0a, 0x7f}; /* tag 1, length 127, no bytes */

static int push_all(wrap *w, hubc_loader *l) {
  for (size_t i = 0; i < w->mem->n; i++) {
    const tu_mem_rec *r = &w->mem->recs[i];
    int damaged = r->kind == HUBC_REC_CONTACT && r->id == w->damage;
    int rc = damaged ? hubc_loader_put(l, r->kind, r->id, bad_contact, sizeof bad_contact)
                     : hubc_loader_put(l, r->kind, r->id, r->bytes, r->len);
    if (w->first_failure) {
      w->puts_after++;
      w->rc_after = rc;
    } else if (rc) {
      w->first_failure = rc;
    }
    if (rc && !w->ignore_errors) return rc;
  }
  return w->ignore_errors ? w->load_returns : 0;
}

typedef struct push_job {
  wrap *w;
  hubc_loader *l;
  int rc;
} push_job;

static void *push_thread(void *p) {
  push_job *j = p;
  j->rc = push_all(j->w, j->l);
  return NULL;
}

static int wrap_load(void *ud, hubc_loader *l) {
  wrap *w = ud;
  w->kept = l;
  if (!w->from_thread) return push_all(w, l);
  push_job j = {w, l, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, push_thread, &j) != 0) return -1;
  pthread_join(t, NULL);
  return j.rc;
}

static void wrap_init(wrap *w, tu_mem *mem) {
  memset(w, 0, sizeof *w);
  w->mem = mem;
  tu_mem_wrap(&w->vt, w, wrap_load); /* the other callbacks go to the tu_mem */
}

/* A store with two contacts, persisted to a fresh tu_mem. */
static tu_mem *two_contacts(void) {
  tu_mem *m = gc_mem();
  hubc_store *s = tu_open(&g_clock, &m->vtable);
  tu_contact(s, ADMIN, "ann@example.com", "Ann");
  tu_contact(s, ADMIN, "bob@example.com", "Bob");
  hubc_store_close(s);
  return m;
}

static int open_wrapped(hubc_store **s, wrap *w) {
  hubc_store_options o;
  tu_options(&o, &g_clock, &w->vt);
  return tu_try_open(s, &o);
}

/* Issue 9 #6: load() ignored the failed put of a damaged contact and
 * returned 0; the store opened without it, and the next create took its
 * id and overwrote it in the backend. */
static void test_R3_loader_error_is_sticky_when_load_ignores_it(void **state) {
  (void)state;
  int returns[] = {0, HUBC_EAGAIN, -1};
  for (size_t k = 0; k < sizeof returns / sizeof *returns; k++) {
    wrap w;
    wrap_init(&w, two_contacts());
    w.damage = 1;
    w.ignore_errors = 1;
    w.load_returns = returns[k];
    hubc_store *s;
    expect_rc(open_wrapped(&s, &w), HUBC_ECORRUPT, "open after an ignored put failure");
    assert_null(s);
    expect_msg("contact record 1 is corrupt");
    expect_rc(w.first_failure, HUBC_ECORRUPT, "the damaged put");
    /* the records after it were refused too, with the same error */
    assert_true(w.puts_after > 0);
    expect_rc(w.rc_after, HUBC_ECORRUPT, "a put after the failure");
  }
}

/* The open reports the first failure even when the host's last error is
 * something else by the time load() returns. */
static int clobbering_load(void *ud, hubc_loader *l) {
  wrap *w = ud;
  w->ignore_errors = 1;
  (void)push_all(w, l);
  (void)hubc_contact_find(NULL, NULL, NULL); /* sets another last error */
  return 0;
}

static void test_R3_loader_failure_keeps_its_message(void **state) {
  (void)state;
  wrap w;
  wrap_init(&w, two_contacts());
  w.vt.load = clobbering_load;
  w.damage = 2;
  hubc_store *s;
  expect_rc(open_wrapped(&s, &w), HUBC_ECORRUPT, "open");
  expect_msg("stored contact record 2 is corrupt");
}

/* Issue 9 #6: the loader used to live on hubc__load's stack frame; a host
 * that kept it and pushed later wrote into a dead frame. */
static void test_R4_loader_after_load_returned_is_refused(void **state) {
  (void)state;
  wrap w;
  wrap_init(&w, two_contacts());
  hubc_store *s;
  expect_rc(open_wrapped(&s, &w), 0, "open");
  assert_non_null(w.kept);
  expect_rc(hubc_loader_put(w.kept, HUBC_REC_CONTACT, 1, bad_contact, sizeof bad_contact), HUBC_EINVAL,
            "put after load");
  expect_msg("after its load() returned");
  expect_rc(hubc_loader_del(w.kept, HUBC_REC_CONTACT, 1), HUBC_EINVAL, "del after load");
  expect_msg("after its load() returned");
  /* nothing changed: both contacts are there */
  hubc_id id = 0;
  expect_rc(hubc_contact_find(&id, s, "bob@example.com"), 0, "find bob");
  assert_int_equal(id, 2);
  gc_release(s); /* closes it */
  /* and after the store is gone */
  expect_rc(hubc_loader_put(w.kept, HUBC_REC_CONTACT, 1, bad_contact, sizeof bad_contact), HUBC_EINVAL,
            "put after close");
}

static void test_R4_loader_after_a_failed_open_is_refused(void **state) {
  (void)state;
  wrap w;
  wrap_init(&w, two_contacts());
  w.damage = 2;
  hubc_store *s;
  expect_rc(open_wrapped(&s, &w), HUBC_ECORRUPT, "open");
  expect_rc(hubc_loader_del(w.kept, HUBC_REC_CONTACT, 1), HUBC_EINVAL, "del after a failed open");
  expect_rc(hubc_loader_put(NULL, HUBC_REC_CONTACT, 1, bad_contact, 1), HUBC_EINVAL, "NULL loader");
}

/* The loader works from a thread other than the one running load(). */
static void test_R1_loader_usable_from_another_thread(void **state) {
  (void)state;
  wrap w;
  wrap_init(&w, two_contacts());
  w.from_thread = 1;
  hubc_store *s;
  expect_rc(open_wrapped(&s, &w), 0, "open");
  hubc_id id = 0;
  expect_rc(hubc_contact_find(&id, s, "bob@example.com"), 0, "find bob");
  assert_int_equal(id, 2);
  /* and its failures are sticky there too */
  wrap w2;
  wrap_init(&w2, two_contacts());
  w2.from_thread = 1;
  w2.damage = 1;
  w2.ignore_errors = 1;
  expect_rc(open_wrapped(&s, &w2), HUBC_ECORRUPT, "open with a damaged record");
}

/* Issue 9 #21: NULL bytes with a length are bad arguments, not a corrupt
 * record; the open still fails. */
static int null_bytes_load(void *ud, hubc_loader *l) {
  int *rc = ud;
  *rc = hubc_loader_put(l, HUBC_REC_CONTACT, 1, NULL, 5);
  return 0;
}

static void test_R4_loader_put_null_bytes_is_inval(void **state) {
  (void)state;
  wrap w;
  wrap_init(&w, gc_mem());
  int put_rc = 0;
  w.vt.userdata = &put_rc;
  w.vt.load = null_bytes_load;
  hubc_store *s;
  expect_rc(open_wrapped(&s, &w), HUBC_EINVAL, "open");
  expect_rc(put_rc, HUBC_EINVAL, "put with NULL bytes");
  expect_msg("bytes is NULL");
}

/* ---- stored records checked at load (moved from review round 2 and 3,
 * test_persist_regress.c): R1 out-of-range or inconsistent values are
 * HUBC_ECORRUPT naming the record, P1 user checks, one encoding per value
 * (C3), D1 sources, C4 typed values. Records are crafted in the documented
 * format (README "Record format", lib/persist/codec.h). */

#define T0 tu_time(2024, 3, 10, 12, 0, 0)
#define T_LATER tu_time(2024, 4, 10, 0, 0, 5) /* just past the first update date */
#define TIME_MIN (-62135596800LL)            /* 0001-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL              /* 9999-12-31T23:59:59Z */

/* ---- a record set (deep copies) ------------------------------------------ */

typedef struct recset {
  tu_mem_rec *r;
  size_t n;
} recset;

static void recs_free(void *p) {
  recset *c = p;
  for (size_t i = 0; i < c->n; i++) free(c->r[i].bytes);
  free(c->r);
  free(c);
}

static recset *recs_new(void) {
  recset *c = calloc(1, sizeof *c);
  assert_non_null(c);
  gc_defer(recs_free, c);
  return c;
}

static tu_mem_rec *recs_get(recset *c, int kind, hubc_id id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->r[i].kind == kind && c->r[i].id == id) return &c->r[i];
  return NULL;
}

static void recs_set(recset *c, int kind, hubc_id id, const void *bytes, size_t len) {
  tu_mem_rec *r = recs_get(c, kind, id);
  if (!r) {
    c->r = realloc(c->r, (c->n + 1) * sizeof *c->r);
    assert_non_null(c->r);
    r = &c->r[c->n++];
    r->kind = kind;
    r->id = id;
  } else {
    free(r->bytes);
  }
  r->bytes = malloc(len ? len : 1);
  assert_non_null(r->bytes);
  memcpy(r->bytes, bytes, len);
  r->len = len;
}

static recset *recs_copy_mem(const tu_mem *m) {
  recset *c = recs_new();
  for (size_t i = 0; i < m->n; i++) recs_set(c, m->recs[i].kind, m->recs[i].id, m->recs[i].bytes, m->recs[i].len);
  return c;
}

static recset *recs_dup(const recset *src) {
  recset *c = recs_new();
  for (size_t i = 0; i < src->n; i++) recs_set(c, src->r[i].kind, src->r[i].id, src->r[i].bytes, src->r[i].len);
  return c;
}

/* Fills a fresh (gc-owned) backend with c as one committed transaction. */
static tu_mem *recs_backend(const recset *c) {
  tu_mem *m = gc_mem();
  assert_int_equal(m->vtable.begin(m), 0);
  for (size_t i = 0; i < c->n; i++)
    assert_int_equal(m->vtable.put(m, c->r[i].kind, c->r[i].id, c->r[i].bytes, c->r[i].len), 0);
  assert_int_equal(m->vtable.commit(m), 0);
  return m;
}

/* rb_*: the record builder lives in testutil */

/* Reads a varint from [*p, end); asserts well-formed (we only parse our
 * own or the library's records). */
static uint64_t rd_varint(const unsigned char **p, const unsigned char *end) {
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    assert_true(*p < end && shift < 64);
    unsigned char b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

/* Rewrites record (kind, id) of c: every field with `tag` is dropped, and
 * if body is not NULL one field (tag, body) takes the place of the first
 * (or is appended). Other fields keep their order and bytes. */
static void recs_patch(recset *c, int kind, hubc_id id, unsigned tag, const void *body, size_t n) {
  tu_mem_rec *r = recs_get(c, kind, id);
  if (!r) fail_msg("no record kind %d id %lld to patch", kind, (long long)id);
  rb out;
  rb_start(&out);
  assert_true(r->len >= 1 && r->bytes[0] == HUBC__FORMAT_VERSION);
  const unsigned char *p = r->bytes + 1, *end = r->bytes + r->len;
  int placed = 0;
  while (p < end) {
    uint64_t t = rd_varint(&p, end);
    uint64_t len = rd_varint(&p, end);
    assert_true(len <= (uint64_t)(end - p));
    if (t == tag) {
      if (body && !placed) rb_bytes(&out, tag, body, n);
      placed = 1;
    } else {
      rb_bytes(&out, (unsigned)t, p, (size_t)len);
    }
    p += len;
  }
  if (body && !placed) rb_bytes(&out, tag, body, n);
  recs_set(c, kind, id, out.b, out.n);
}

static void recs_patch_int(recset *c, int kind, hubc_id id, unsigned tag, int64_t v) {
  rb tmp = {{0}, 0};
  rb_varint(&tmp, zz(v));
  recs_patch(c, kind, id, tag, tmp.b, tmp.n);
}

static void recs_drop_field(recset *c, int kind, hubc_id id, unsigned tag) { recs_patch(c, kind, id, tag, NULL, 0); }

/* ---- opening stores -------------------------------------------------------- */


static int open_with(hubc_store **out, const hubc_persist *p, uint64_t tier) {
  hubc_store_options o;
  tu_options(&o, &g_clock, p);
  o.tier = tier;
  return tu_try_open(out, &o);
}

/* Opens a store on the records of c; returns the open's result. On
 * failure the store must not exist. */
static int load_rc(const recset *c) {
  hubc_store *s;
  int rc = open_with(&s, &recs_backend(c)->vtable, 0);
  if (rc) assert_null(s);
  return rc;
}

static void expect_corrupt(const recset *c, const char *needle, const char *what) {
  int rc = load_rc(c);
  if (rc != HUBC_ECORRUPT) fail_msg("%s: expected HUBC_ECORRUPT, got %d (%s)", what, rc, hubc_error_last());
  expect_msg(needle);
}

static void expect_loads(const recset *c, const char *what) { tu_ok(load_rc(c), what); }

/* ---- the baseline store (a real one, persisted to tu_mem) -------------- */

typedef struct baseline {
  recset *recs;
  hubc_id prop_id;  /* PROPERTY record id of "level" */
  hubc_id contact;  /* a marketing contact */
  hubc_id hist_id;  /* its history record */
  hubc_id period;   /* a closed period */
} baseline;

/* Tier 2000, a custom enumeration, a marketing contact (history), a closed
 * period, a chatflow switch and an external-form switch, and a pending
 * downgrade request to 1000 (META carries downgrade and downgrade_at). */
static baseline make_baseline(void) {
  baseline b;
  memset(&b, 0, sizeof b);
  tu_mem *m = gc_mem();
  g_clock.now = T0;
  hubc_store *s;
  tu_ok(open_with(&s, &m->vtable, 2000), "baseline open");
  static const char *const levels[] = {"bronze", "silver", "gold"};
  tu_ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define level");
  const char *n[] = {"email", "firstname", "level"}, *v[] = {"ann@example.com", "Ann", "gold"};
  tu_ok(hubc_contact_create(&b.contact, s, ADMIN, NULL, n, v, 3), "create");
  tu_ok(hubc_contact_set_marketing(s, ADMIN, b.contact, HUBC_SOURCE_MANUAL, ADMIN), "set marketing");
  tu_ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 3, 1), "chatflow switch");
  tu_ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_EXTERNAL_FORM, 0, 1), "external form switch");
  g_clock.now = T_LATER;
  tu_ok(hubc_store_tick(s), "tick past the update date");
  tu_ok(hubc_billing_request_downgrade(s, ADMIN, 1000), "downgrade request");
  gc_release(s);
  b.recs = recs_copy_mem(m);
  gc_release(m);
  for (size_t i = 0; i < b.recs->n; i++) {
    const tu_mem_rec *r = &b.recs->r[i];
    if (r->kind == HUBC_REC_PROPERTY) b.prop_id = r->id;
    if (r->kind == HUBC_REC_HISTORY) b.hist_id = r->id;
    if (r->kind == HUBC_REC_PERIOD) b.period = r->id;
  }
  assert_true(b.prop_id > 0 && b.hist_id > 0 && b.period > 0);
  assert_non_null(recs_get(b.recs, HUBC_REC_META, 1));
  assert_non_null(recs_get(b.recs, HUBC_REC_SWITCH, HUBC_SOURCE_CHATFLOW));
  assert_non_null(recs_get(b.recs, HUBC_REC_SWITCH, HUBC_SOURCE_EXTERNAL_FORM));
  /* the control: the untouched records load, with the downgrade pending */
  hubc_store *r;
  tu_ok(open_with(&r, &recs_backend(b.recs)->vtable, 0), "baseline reload");
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  tu_ok(hubc_billing_get(&bi, r), "billing");
  assert_int_equal(bi.tier, 2000);
  assert_int_equal(bi.downgrade_request, 1000);
  gc_release(r);
  return b;
}

/* One field of one baseline record replaced by body: the open must fail as
 * corrupt naming that record (want_corrupt), or succeed. */
static void patched(const baseline *b, int kind, hubc_id id, unsigned tag, const void *body, size_t n,
                    int want_corrupt, const char *what) {
  recset *c = recs_dup(b->recs);
  recs_patch(c, kind, id, tag, body, n);
  if (want_corrupt) {
    char needle[64];
    snprintf(needle, sizeof needle, "%s record %lld", hubc__kind_name(kind), (long long)id);
    expect_corrupt(c, needle, what);
  } else {
    expect_loads(c, what);
  }
  gc_release(c);
}

/* The same with an integer field set to v. */
static void patched_int(const baseline *b, int kind, hubc_id id, unsigned tag, int64_t v, int want_corrupt) {
  rb tmp = {{0}, 0};
  rb_varint(&tmp, zz(v));
  char what[96];
  snprintf(what, sizeof what, "%s %lld tag %u = %lld", hubc__kind_name(kind), (long long)id, tag, (long long)v);
  patched(b, kind, id, tag, tmp.b, tmp.n, want_corrupt, what);
}

static void meta_field_corrupt(const baseline *b, unsigned tag, int64_t v) { patched_int(b, HUBC_REC_META, 1, tag, v, 1); }
static void meta_field_loads(const baseline *b, unsigned tag, int64_t v) { patched_int(b, HUBC_REC_META, 1, tag, v, 0); }

/* The body of field `tag` of a stored record, copied to out; its length. */
static size_t stored_field(const recset *c, int kind, hubc_id id, unsigned tag, unsigned char *out, size_t cap) {
  const tu_mem_rec *r = recs_get((recset *)c, kind, id);
  assert_non_null(r);
  const unsigned char *p = r->bytes + 1, *end = r->bytes + r->len;
  while (p < end) {
    uint64_t t = rd_varint(&p, end), len = rd_varint(&p, end);
    assert_true(len <= (uint64_t)(end - p));
    if (t == tag) {
      assert_true(len <= cap);
      memcpy(out, p, (size_t)len);
      return (size_t)len;
    }
    p += len;
  }
  fail_msg("record kind %d id %lld has no field %u", kind, (long long)id, tag);
  return 0;
}

/* The props blob of a stored contact with its email tag written as two
 * bytes (0x80 0x00 means 0): decoded as the email, but not indexed, so a
 * second contact could hold the same address (C3). Every varint must be
 * the shortest encoding. */
static void c3_stored_properties_in_a_longer_encoding_are_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  static const unsigned char long_tag[] = {0x80, 0x00, 'a', '@', 'x', '.', 'i', 'o', 0};
  static const unsigned char short_tag[] = {0x00, 'a', '@', 'x', '.', 'i', 'o', 0};
  patched(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, short_tag, sizeof short_tag, 0,
          "control: the same email, shortest encoding");
  patched(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, long_tag, sizeof long_tag, 1, "email tag in two bytes");
  /* the stored blob ends with the enumeration "level" = gold (option 2, one
   * byte); the same option in two bytes */
  unsigned char props[512];
  size_t n = stored_field(b.recs, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, props, sizeof props - 1);
  assert_true(n >= 2 && props[n - 1] == 2);
  props[n - 1] = 0x82;
  props[n] = 0x00;
  patched(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, props, n + 1, 1, "an option in two bytes");
  /* a META integer (tier 2000, zigzag 4000) in three bytes instead of two */
  static const unsigned char tier_short[] = {0xA0, 0x1F}, tier_long[] = {0xA0, 0x9F, 0x00};
  patched(&b, HUBC_REC_META, 1, HUBC__T_META_TIER, tier_short, sizeof tier_short, 0, "control: tier 2000 in two bytes");
  patched(&b, HUBC_REC_META, 1, HUBC__T_META_TIER, tier_long, sizeof tier_long, 1, "tier 2000 in three bytes");
}

/* A stored source of -(2^32) + 1 used to pass as 1 (MANUAL) after a cast. */
static void d1_stored_source_outside_the_enumeration_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const int64_t bad[] = {-4294967295LL, 4294967297LL, -1, HUBC_SOURCE_WORKFLOW + 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    patched_int(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_SOURCE, bad[i], 1);
}

/* hs_email_optout (built-in property 10, a bool) is stored as "true" or
 * "false"; anything else in a stored record is corrupt (C4). */
static void c4_stored_value_not_of_its_property_type_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  static const unsigned char good[] = {0x00, 'a', '@', 'x', '.', 'i', 'o', 0, 10 << 1, 't', 'r', 'u', 'e', 0};
  static const unsigned char bad[] = {0x00, 'a', '@', 'x', '.', 'i', 'o', 0, 10 << 1, 'y', 'e', 's', 0};
  patched(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, good, sizeof good, 0, "control: hs_email_optout = true");
  patched(&b, HUBC_REC_CONTACT, b.contact, HUBC__T_C_PROPS, bad, sizeof bad, 1, "hs_email_optout = yes");
}

/* ======================================================================
 * R1: META
 * ====================================================================== */

static const int64_t bad_times[] = {INT64_MIN, -1000000000000000LL, 9223372036854775000LL, TIME_MIN - 1,
                                    TIME_MAX + 1, INT64_MAX};

static void r1_meta_period_start_outside_years_1_to_9999_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++)
    meta_field_corrupt(&b, HUBC__T_META_PERIOD_START, bad_times[i]);
}

static void r1_meta_renewal_base_outside_years_1_to_9999_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++)
    meta_field_corrupt(&b, HUBC__T_META_RENEWAL_BASE, bad_times[i]);
}

static void r1_meta_downgrade_at_outside_years_1_to_9999_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++)
    meta_field_corrupt(&b, HUBC__T_META_DOWNGRADE_AT, bad_times[i]);
}

static void r1_meta_tier_zero_or_above_uint64_max_div_128_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  meta_field_corrupt(&b, HUBC__T_META_TIER, 0);
  meta_field_corrupt(&b, HUBC__T_META_TIER, (int64_t)(UINT64_MAX / 128 + 1));
  meta_field_corrupt(&b, HUBC__T_META_TIER, INT64_MAX);
  meta_field_corrupt(&b, HUBC__T_META_TIER, -1); /* UINT64_MAX as stored */
  meta_field_loads(&b, HUBC__T_META_TIER, 5000);
}

static void r1_meta_downgrade_without_downgrade_at_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  recset *c = recs_dup(b.recs);
  recs_drop_field(c, HUBC_REC_META, 1, HUBC__T_META_DOWNGRADE_AT);
  expect_corrupt(c, "meta record 1", "META downgrade 1000 without downgrade_at");
}

static void r1_meta_downgrade_at_or_above_tier_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline(); /* tier 2000, downgrade 1000 */
  meta_field_corrupt(&b, HUBC__T_META_DOWNGRADE, 2000);
  meta_field_corrupt(&b, HUBC__T_META_DOWNGRADE, 5000);
  meta_field_corrupt(&b, HUBC__T_META_DOWNGRADE, -1);
  /* and a decision date without a request */
  recset *c = recs_dup(b.recs);
  recs_drop_field(c, HUBC_REC_META, 1, HUBC__T_META_DOWNGRADE);
  expect_corrupt(c, "meta record 1", "META downgrade_at without a downgrade");
}

/* An allocator that refuses (and records) any request above 64 MiB. */
typedef struct big_alloc {
  size_t largest;
} big_alloc;

static void *big_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size) {
  big_alloc *a = payload;
  (void)old_size;
  if (new_size == 0) {
    free(ptr);
    return NULL;
  }
  if (new_size > a->largest) a->largest = new_size;
  if (new_size > (64u << 20)) return NULL;
  return realloc(ptr, new_size);
}

static int load_rc_alloc(const recset *c, big_alloc *a) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.alloc = big_alloc_fn;
  o.alloc_payload = a;
  o.persist = &recs_backend(c)->vtable;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (s) gc_store(s);
  return rc;
}

static void r1_meta_next_user_above_2_pow_20_plus_1_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const int64_t bad[] = {(1 << 20) + 2, 0xffffffffLL, 0x100000000LL, INT64_MAX, 0, -5};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    recset *c = recs_dup(b.recs);
    recs_patch_int(c, HUBC_REC_META, 1, HUBC__T_META_NEXT_USER, bad[i]);
    big_alloc a = {0};
    int rc = load_rc_alloc(c, &a);
    if (rc != HUBC_ECORRUPT)
      fail_msg("next_user %lld: expected HUBC_ECORRUPT, got %d (%s)", (long long)bad[i], rc, hubc_error_last());
    expect_msg("meta record 1");
    if (a.largest > (64u << 20)) fail_msg("next_user %lld: asked for %zu bytes", (long long)bad[i], a.largest);
    gc_release(c);
  }
  /* the limit itself: 2^20 users may have been issued */
  recset *c = recs_dup(b.recs);
  recs_patch_int(c, HUBC_REC_META, 1, HUBC__T_META_NEXT_USER, (1 << 20) + 1);
  big_alloc a = {0};
  tu_ok(load_rc_alloc(c, &a), "next_user 2^20 + 1");
}

/* ======================================================================
 * R1: HISTORY, CONTACT, PERIOD
 * ====================================================================== */

static void r1_history_time_int64_min_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const int64_t bad[] = {INT64_MIN, INT64_MAX, TIME_MIN - 1, TIME_MAX + 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    patched_int(&b, HUBC_REC_HISTORY, b.hist_id, HUBC__T_H_TIME, bad[i], 1);
}

/* Contact ids are below 2^32 (a contact record's id is refused past it),
 * so a history entry naming a contact past it is damage. */
static void r1_history_contact_past_32_bits_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const int64_t bad[] = {0x100000000LL, INT64_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    patched_int(&b, HUBC_REC_HISTORY, b.hist_id, HUBC__T_H_CONTACT, bad[i], 1);
  patched_int(&b, HUBC_REC_HISTORY, b.hist_id, HUBC__T_H_CONTACT, 0xffffffffLL, 0); /* a contact deleted since */
}

static void r1_contact_created_or_modified_int64_min_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const unsigned tags[] = {HUBC__T_C_CREATED, HUBC__T_C_MODIFIED};
  const int64_t bad[] = {INT64_MIN, INT64_MAX, TIME_MIN - 1, TIME_MAX + 1};
  for (size_t t = 0; t < 2; t++)
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) patched_int(&b, HUBC_REC_CONTACT, b.contact, tags[t], bad[i], 1);
}

static void r1_period_start_after_end_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  char needle[64];
  snprintf(needle, sizeof needle, "period record %lld", (long long)b.period);
  recset *c = recs_dup(b.recs);
  recs_patch_int(c, HUBC_REC_PERIOD, b.period, HUBC__T_P_START, T_LATER);
  recs_patch_int(c, HUBC_REC_PERIOD, b.period, HUBC__T_P_END, T0);
  expect_corrupt(c, needle, "period start > end");
  gc_release(c);
  c = recs_dup(b.recs);
  recs_patch_int(c, HUBC_REC_PERIOD, b.period, HUBC__T_P_START, INT64_MIN);
  expect_corrupt(c, needle, "period start INT64_MIN");
  gc_release(c);
  c = recs_dup(b.recs);
  recs_patch_int(c, HUBC_REC_PERIOD, b.period, HUBC__T_P_END, INT64_MAX);
  expect_corrupt(c, needle, "period end INT64_MAX");
}

/* ======================================================================
 * R1: PROPERTY
 * ====================================================================== */

static void prop_rec(rb *r, const char *name, const char *label, const char *const *opts, size_t n) {
  rb_start(r);
  rb_str(r, HUBC__T_PROP_NAME, name);
  rb_str(r, HUBC__T_PROP_LABEL, label);
  rb_int(r, HUBC__T_PROP_TYPE, HUBC_PROP_ENUMERATION);
  for (size_t i = 0; i < n; i++) rb_str(r, HUBC__T_PROP_OPTION, opts[i]);
}

static void prop_case(const baseline *b, const char *name, const char *label, const char *const *opts, size_t n,
                      int want_corrupt, const char *what) {
  recset *c = recs_dup(b->recs);
  rb r;
  prop_rec(&r, name, label, opts, n);
  recs_set(c, HUBC_REC_PROPERTY, b->prop_id, r.b, r.n);
  if (want_corrupt) {
    char needle[64];
    snprintf(needle, sizeof needle, "property record %lld", (long long)b->prop_id);
    expect_corrupt(c, needle, what);
  } else {
    expect_loads(c, what);
  }
  gc_release(c);
}

static void r1_property_name_breaking_define_rules_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  static const char *const levels[] = {"bronze", "silver", "gold"};
  char long_name[102];
  memset(long_name, 'a', 101);
  long_name[101] = '\0';
  prop_case(&b, "level", "Level", levels, 3, 0, "control: the stored definition");
  prop_case(&b, long_name + 1, "Level", levels, 3, 0, "control: a 100-byte name");
  prop_case(&b, "Level", "Level", levels, 3, 1, "uppercase name");
  prop_case(&b, "le vel", "Level", levels, 3, 1, "name with a space");
  prop_case(&b, long_name, "Level", levels, 3, 1, "101-byte name");
  prop_case(&b, "", "Level", levels, 3, 1, "empty name");
  prop_case(&b, "email", "Level", levels, 3, 1, "built-in name");
}

static void r1_property_enumeration_bad_options_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  static const char *const empty[] = {"bronze", "", "gold"};
  static const char *const dup[] = {"bronze", "silver", "GOLD", "Gold"};
  static const char *const dup2[] = {"Silver", "silver", "gold"};
  prop_case(&b, "level", "Level", empty, 3, 1, "empty option");
  prop_case(&b, "level", "Level", dup, 4, 1, "options equal case-insensitively");
  prop_case(&b, "level", "Level", dup2, 3, 1, "options equal case-insensitively (first two)");
}

/* ======================================================================
 * R1: SWITCH
 * ====================================================================== */

static void switch_case(const baseline *b, int source, const int64_t *ids, size_t n, int want_corrupt,
                        const char *what) {
  recset *c = recs_dup(b->recs);
  rb r;
  rb_start(&r);
  for (size_t i = 0; i < n; i++) {
    rb e = {{0}, 0};
    rb_varint(&e, zz(ids[i]));
    rb_byte(&e, (unsigned)(i & 1));
    rb_bytes(&r, HUBC__T_S_ENTRY, e.b, e.n);
  }
  recs_set(c, HUBC_REC_SWITCH, source, r.b, r.n);
  if (want_corrupt) {
    char needle[64];
    snprintf(needle, sizeof needle, "switch record %d", source);
    expect_corrupt(c, needle, what);
  } else {
    expect_loads(c, what);
  }
  gc_release(c);
}

static void r1_switch_duplicate_zero_or_bad_external_form_id_is_corrupt(void **state) {
  (void)state;
  baseline b = make_baseline();
  const int64_t good[] = {3, 4, 7}, twice[] = {3, 7, 3}, zero[] = {0}, neg[] = {-2}, ef0[] = {0}, ef7[] = {7},
                ef_twice[] = {0, 0};
  switch_case(&b, HUBC_SOURCE_CHATFLOW, good, 3, 0, "control: distinct chatflow ids");
  switch_case(&b, HUBC_SOURCE_EXTERNAL_FORM, ef0, 1, 0, "control: external form id 0");
  switch_case(&b, HUBC_SOURCE_CHATFLOW, twice, 3, 1, "chatflow id listed twice");
  switch_case(&b, HUBC_SOURCE_INTEGRATION, twice, 3, 1, "integration id listed twice");
  switch_case(&b, HUBC_SOURCE_CHATFLOW, zero, 1, 1, "chatflow id 0");
  switch_case(&b, HUBC_SOURCE_CHATFLOW, neg, 1, 1, "chatflow id -2");
  switch_case(&b, HUBC_SOURCE_EXTERNAL_FORM, ef7, 1, 1, "external form id 7");
  switch_case(&b, HUBC_SOURCE_EXTERNAL_FORM, ef_twice, 2, 1, "external form id 0 twice");
}

/* ======================================================================
 * P1 at load
 * ====================================================================== */

static void meta_rec(rb *r, int64_t next_user) {
  rb_start(r);
  rb_int(r, HUBC__T_META_NEXT_ID, 1);
  rb_int(r, HUBC__T_META_NEXT_USER, next_user);
  rb_int(r, HUBC__T_META_TIER, 1000);
  rb_int(r, HUBC__T_META_PERIOD_START, T0);
  rb_int(r, HUBC__T_META_RENEWAL_BASE, T0);
}

static void user_rec(rb *r, const char *email, int super, int disabled) {
  rb_start(r);
  rb_str(r, HUBC__T_U_EMAIL, email);
  rb_int(r, HUBC__T_U_PERMS, super ? HUBC_PERM_ALL : HUBC_PERM_DEFAULT);
  rb_int(r, HUBC__T_U_SUPER, super);
  rb_int(r, HUBC__T_U_DISABLED, disabled);
}

/* n users: user 1 super admin, emails u<k>@example.com unless dup_of[k]. */
static recset *users_recs(size_t n) {
  recset *c = recs_new();
  rb r;
  meta_rec(&r, (int64_t)n + 1);
  recs_set(c, HUBC_REC_META, 1, r.b, r.n);
  for (size_t k = 1; k <= n; k++) {
    char email[64];
    snprintf(email, sizeof email, "u%zu@example.com", k);
    user_rec(&r, email, k == 1, 0);
    recs_set(c, HUBC_REC_USER, (hubc_id)k, r.b, r.n);
  }
  return c;
}

static void p1_load_2000_users_with_unique_emails(void **state) {
  (void)state;
  g_clock.now = T0;
  recset *c = users_recs(2000);
  hubc_store *s;
  tu_ok(open_with(&s, &recs_backend(c)->vtable, 0), "2000 users");
  hubc_user *u = NULL;
  tu_ok(hubc_user_get(&u, s, 2000), "user 2000");
  assert_string_equal(hubc_user_email(u), "u2000@example.com");
  hubc_user_free(u);
  tu_ok(hubc_user_get_by_email(&u, s, "u1000@example.com"), "user 1000 by email");
  assert_int_equal(hubc_user_id(u), 1000);
  hubc_user_free(u);
  /* P1 still holds after the load: a taken email is refused */
  hubc_id id;
  expect_rc(hubc_user_create(&id, s, ADMIN, "u1234@example.com"), HUBC_EEXISTS, "create with a loaded email");
}

/* A backend that generates n users at load, without storing them (the
 * in-memory backend's linear lookups would dominate at this size). */
typedef struct gen_users {
  size_t n;
} gen_users;

static int gen_users_load(void *ud, hubc_loader *l) {
  const gen_users *g = ud;
  rb r;
  meta_rec(&r, (int64_t)g->n + 1);
  int rc = hubc_loader_put(l, HUBC_REC_META, 1, r.b, r.n);
  for (size_t k = 1; !rc && k <= g->n; k++) {
    char email[64];
    snprintf(email, sizeof email, "u%zu@example.com", k);
    user_rec(&r, email, k == 1, 0);
    rc = hubc_loader_put(l, HUBC_REC_USER, (hubc_id)k, r.b, r.n);
  }
  return rc;
}

static int gen_ok(void *ud) {
  (void)ud;
  return 0;
}

/* The most users a store may hold (README "Limits": 2^20) load: with the
 * former pairwise email check this did about 5 * 10^11 comparisons. */
static void p1_load_2_pow_20_users_with_unique_emails(void **state) {
  (void)state;
  g_clock.now = T0;
  gen_users g = {(size_t)1 << 20};
  hubc_persist p;
  memset(&p, 0, sizeof p);
  p.version = HUBC_PERSIST_VERSION;
  p.userdata = &g;
  p.load = gen_users_load;
  p.begin = gen_ok;
  p.commit = gen_ok;
  p.rollback = gen_ok;
  hubc_store *s;
  tu_ok(open_with(&s, &p, 0), "2^20 users");
  hubc_user *u = NULL;
  tu_ok(hubc_user_get(&u, s, (hubc_id)1 << 20), "the last user");
  assert_string_equal(hubc_user_email(u), "u1048576@example.com");
  hubc_user_free(u);
}

static void p1_load_duplicate_user_email_names_the_later_user(void **state) {
  (void)state;
  g_clock.now = T0;
  rb r;
  /* two of three users */
  recset *c = users_recs(3);
  user_rec(&r, "u2@example.com", 0, 0);
  recs_set(c, HUBC_REC_USER, 3, r.b, r.n);
  expect_corrupt(c, "user record 3", "users 2 and 3 share an email");
  expect_msg("email");
  /* among 2000, far apart in id order, differing in case (C3) */
  c = users_recs(2000);
  user_rec(&r, "U7@Example.COM", 0, 0);
  recs_set(c, HUBC_REC_USER, 1999, r.b, r.n);
  expect_corrupt(c, "user record 1999", "users 7 and 1999 share an email");
  /* a deleted user's email is free */
  c = users_recs(3);
  user_rec(&r, "u2@example.com", 0, 0);
  recs_set(c, HUBC_REC_USER, 3, r.b, r.n);
  tu_mem *m = recs_backend(c);
  assert_int_equal(m->vtable.begin(m), 0);
  assert_int_equal(m->vtable.del(m, HUBC_REC_USER, 2), 0);
  assert_int_equal(m->vtable.commit(m), 0);
  hubc_store *s;
  tu_ok(open_with(&s, &m->vtable, 0), "user 2 deleted: its email is free");
}

static void p1_load_all_super_admins_disabled_is_corrupt(void **state) {
  (void)state;
  g_clock.now = T0;
  rb r;
  recset *c = users_recs(3);
  user_rec(&r, "u1@example.com", 1, 1);
  recs_set(c, HUBC_REC_USER, 1, r.b, r.n);
  int rc = load_rc(c);
  expect_rc(rc, HUBC_ECORRUPT, "the only super admin disabled");
  expect_msg("super admin");
  user_rec(&r, "u3@example.com", 1, 0); /* another, enabled, super admin */
  recs_set(c, HUBC_REC_USER, 3, r.b, r.n);
  expect_loads(c, "an enabled super admin remains");
}


int main(void) {
  g_clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_R3_loader_error_is_sticky_when_load_ignores_it, gc_teardown),
      cmocka_unit_test_teardown(test_R3_loader_failure_keeps_its_message, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_after_load_returned_is_refused, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_after_a_failed_open_is_refused, gc_teardown),
      cmocka_unit_test_teardown(test_R1_loader_usable_from_another_thread, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_put_null_bytes_is_inval, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_properties_in_a_longer_encoding_are_corrupt, gc_teardown),
      cmocka_unit_test_teardown(d1_stored_source_outside_the_enumeration_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(c4_stored_value_not_of_its_property_type_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_period_start_outside_years_1_to_9999_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_renewal_base_outside_years_1_to_9999_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_downgrade_at_outside_years_1_to_9999_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_tier_zero_or_above_uint64_max_div_128_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_downgrade_without_downgrade_at_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_downgrade_at_or_above_tier_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_meta_next_user_above_2_pow_20_plus_1_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_history_time_int64_min_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_history_contact_past_32_bits_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_contact_created_or_modified_int64_min_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_period_start_after_end_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_property_name_breaking_define_rules_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_property_enumeration_bad_options_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(r1_switch_duplicate_zero_or_bad_external_form_id_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(p1_load_2000_users_with_unique_emails, gc_teardown),
      cmocka_unit_test_teardown(p1_load_2_pow_20_users_with_unique_emails, gc_teardown),
      cmocka_unit_test_teardown(p1_load_duplicate_user_email_names_the_later_user, gc_teardown),
      cmocka_unit_test_teardown(p1_load_all_super_admins_disabled_is_corrupt, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
