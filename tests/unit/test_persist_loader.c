/* The loader handed to a backend's load() (R1, R3, R4): its errors are
 * sticky, and a loader kept past load() is refused, never dereferenced.
 *
 * A wrapping backend replays a tu_mem's records through the real loader,
 * optionally damaging one record, ignoring put failures, keeping the
 * loader pointer or pushing from another thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
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
  tu_mem *mem;         /* the stored records */
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

/* The other callbacks go to the tu_mem. */
static int wrap_begin(void *ud) { return ((wrap *)ud)->mem->vtable.begin(((wrap *)ud)->mem); }
static int wrap_commit(void *ud) { return ((wrap *)ud)->mem->vtable.commit(((wrap *)ud)->mem); }
static int wrap_rollback(void *ud) { return ((wrap *)ud)->mem->vtable.rollback(((wrap *)ud)->mem); }
static int wrap_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  return ((wrap *)ud)->mem->vtable.put(((wrap *)ud)->mem, kind, id, bytes, len);
}
static int wrap_del(void *ud, int kind, hubc_id id) {
  return ((wrap *)ud)->mem->vtable.del(((wrap *)ud)->mem, kind, id);
}

static void wrap_init(wrap *w, tu_mem *mem) {
  memset(w, 0, sizeof *w);
  w->mem = mem;
  w->vt.version = HUBC_PERSIST_VERSION;
  w->vt.userdata = w;
  w->vt.load = wrap_load;
  w->vt.begin = wrap_begin;
  w->vt.put = wrap_put;
  w->vt.del = wrap_del;
  w->vt.commit = wrap_commit;
  w->vt.rollback = wrap_rollback;
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
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.admin_email = "admin@example.com";
  o.persist = &w->vt;
  *s = NULL;
  int rc = hubc_store_open(s, &o);
  if (*s) gc_store(*s);
  return rc;
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

int main(void) {
  g_clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_R3_loader_error_is_sticky_when_load_ignores_it, gc_teardown),
      cmocka_unit_test_teardown(test_R3_loader_failure_keeps_its_message, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_after_load_returned_is_refused, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_after_a_failed_open_is_refused, gc_teardown),
      cmocka_unit_test_teardown(test_R1_loader_usable_from_another_thread, gc_teardown),
      cmocka_unit_test_teardown(test_R4_loader_put_null_bytes_is_inval, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
