/* Helpers shared by the unit tests: a settable clock, an allocator that
 * fails on request, dumps into memory, and an in-memory persistence backend
 * that can fail at callback k. */
#ifndef HUBC_TESTUTIL_H
#define HUBC_TESTUTIL_H

#include <hubcontacts.h>
#include <stddef.h>
#include <stdint.h>

/* ---- clock ---- */
typedef struct tu_clock {
  hubc_time now;
} tu_clock;
hubc_time tu_clock_fn(void *payload); /* payload: tu_clock * */
/* UTC seconds of a civil date-time. */
hubc_time tu_time(int y, int mo, int d, int h, int mi, int s);

/* ---- allocator: fails the n-th allocation (1-based; 0 = never) ---- */
typedef struct tu_alloc {
  size_t fail_at;   /* fail when `count` reaches this value */
  size_t count;     /* allocations (not frees) so far */
  size_t live;      /* bytes currently allocated */
  size_t failures;  /* how many were refused */
} tu_alloc;
void *tu_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size);

/* ---- workflow actions (W2): one initialised hubc_wf_action of each type ---- */
hubc_wf_action tu_act_status(int marketing);
hubc_wf_action tu_act_prop(const char *property, const char *value);
hubc_wf_action tu_act_delay(hubc_time seconds);
hubc_wf_action tu_act_host(const char *name, const char *payload);
hubc_wf_action tu_act_list(int type, hubc_id list); /* HUBC_WF_LIST_ADD / _REMOVE */
/* Enrollments of workflow wf (0: any) and contact (0: any); asserts. */
size_t tu_enrollments(hubc_store *s, hubc_id wf, hubc_id contact);

/* ---- dumps ---- */
typedef struct tu_buf {
  char *data;
  size_t len, cap;
} tu_buf;
int tu_buf_write(void *payload, const char *data, size_t len); /* hubc_write_fn */
void tu_buf_free(tu_buf *b);
/* hubc_store_dump into a fresh NUL-terminated string (caller frees). */
char *tu_dump(hubc_store *s);
/* "Store unchanged": the dump must equal `want`; else both are printed and
 * the test fails naming `what`. Frees what it allocates either way. */
void tu_expect_dump(hubc_store *s, const char *want, const char *what);
/* The same for two dumps taken already (a reopen, another backend). */
void tu_expect_same(const char *want, const char *got, const char *what);

/* ---- in-memory persistence backend ---- */
typedef struct tu_mem_rec {
  int kind;
  hubc_id id;
  unsigned char *bytes;
  size_t len;
} tu_mem_rec;

typedef struct tu_mem {
  tu_mem_rec *recs; /* committed records */
  size_t n, cap;
  tu_mem_rec *pend; /* ops of the open transaction; bytes NULL = delete */
  size_t pn, pcap;
  int in_txn;
  long calls;        /* callbacks made (begin, put, del, commit) */
  long fail_at;      /* fail the call whose number (1-based) equals this; 0: never */
  int fail_code;     /* what the failing callback returns (e.g. -1 or HUBC_EAGAIN) */
  long commits, rollbacks, failures;
  hubc_persist vtable;
} tu_mem;
/* Initializes (empty); tu_mem_free releases. The vtable is m->vtable. */
void tu_mem_init(tu_mem *m);
void tu_mem_free(tu_mem *m);
/* A backend with a load of its own that stores through a tu_mem: begin,
 * put, del, commit and rollback go to *(tu_mem **)userdata, so the wrapper
 * given as userdata starts with the tu_mem * it stores through. */
void tu_mem_wrap(hubc_persist *vt, void *userdata, int(HUBC_CALLBACK *load)(void *userdata, hubc_loader *l));

/* The options every test store starts from: version current, the fixed
 * clock, admin "admin@example.com" (user 1), persist (may be NULL). */
void tu_options(hubc_store_options *o, tu_clock *clock, const hubc_persist *persist);
/* Opens a store with o and returns hubc_store_open's code instead of
 * asserting it; a store that opened is released by the teardown
 * (gc_store). */
int tu_try_open(hubc_store **out, const hubc_store_options *o);
/* Opens a store with tu_options. Asserts success. */
hubc_store *tu_open(tu_clock *clock, const hubc_persist *persist);
/* The same, allocating through tu_alloc_fn with `alloc` (which, like the
 * clock, must outlive the store). */
hubc_store *tu_open_alloc(tu_clock *clock, tu_alloc *alloc, const hubc_persist *persist);
/* A store under HARD_CAP with `cap` billable contacts (B5), released by
 * the teardown (gc_store). */
hubc_store *tu_open_hard_cap(tu_clock *clock, uint64_t cap);
/* Creates a contact with email/firstname; returns its id (asserts). */
hubc_id tu_contact(hubc_store *s, hubc_id actor, const char *email, const char *firstname);

/* ---- call checks shared by the suites (moved from the review-round
 * files; prefixed because several suites have their own OK/BAD/status_of) */
void tu_ok_(int rc, const char *call, int line);
#define TU_OK(call) tu_ok_((call), #call, __LINE__)
/* Leaves the thread's last error empty (a call that succeeds). */
void tu_clear_err(void);
/* rc must be `code`, with that code and a message containing `needle`. */
void tu_bad_(int rc, int code, const char *needle, const char *call, int line);
#define TU_BAD(code, needle, call) tu_bad_((call), (code), (needle), #call, __LINE__)
#define TU_SAME(s, before) tu_expect_dump((s), (before), "line " TU_STR_(__LINE__))
#define TU_STR_(x) TU_STR2_(x)
#define TU_STR2_(x) #x
/* tu_open without a backend, closed by the teardown (gc_store). */
hubc_store *tu_open_gc(tu_clock *clk);
int tu_status_of(hubc_store *s, hubc_id id);
hubc_billing_info tu_billing(hubc_store *s);
hubc_create_options tu_opts_of(int source, hubc_id source_id);
/* `what` failed unless rc is 0; rc must be `want`; the last error must
 * contain `needle`. */
void tu_ok(int rc, const char *what);
void tu_expect_rc(int got, int want, const char *what);
void tu_expect_msg(const char *needle);

/* ---- a builder of stored records in the documented format (README
 * "Record format"): version byte, then [tag varint][length varint][bytes],
 * integers as zigzag varints. For tests that craft or damage records. ---- */
typedef struct rb {
  unsigned char b[8192];
  size_t n;
} rb;
void rb_start(rb *r); /* empty record: the format version byte */
void rb_byte(rb *r, unsigned v);
void rb_varint(rb *r, uint64_t v);
void rb_bytes(rb *r, unsigned tag, const void *p, size_t len);
void rb_int(rb *r, unsigned tag, int64_t v);
void rb_str(rb *r, unsigned tag, const char *s);
uint64_t zz(int64_t v); /* zigzag encoding */

/* ---- events: a log filled by ev_cb (register with payload = the log) ---- */
typedef struct ev_log {
  hubc_event *ev;
  size_t n, cap;
} ev_log;
void ev_cb(void *payload, const hubc_event *e); /* hubc_event_fn */
size_t ev_count(const ev_log *l, int type);     /* events of a type */

/* ---- cleanup registry ----
 * cmocka leaves a failing test by longjmp, so whatever a test allocates is
 * registered here and released by gc_teardown (in reverse order) even when
 * an assertion fails part-way; gc_release() releases one thing early. Use
 * gc_teardown as the cmocka teardown of such tests. */
void *gc_defer(void (*fn)(void *), void *p);
void gc_release(void *p);
int gc_teardown(void **state);
void *gc_malloc(void *p);            /* released with free() */
hubc_store *gc_store(hubc_store *s); /* released with hubc_store_close() */
tu_mem *gc_mem(void);                /* a fresh initialized backend */
tu_buf *gc_buf(void);                /* a fresh empty buffer */
char *gc_dump(hubc_store *s);        /* tu_dump, released by the teardown */

/* ---- timing bounds ----
 * How many times slower than a plain build a timing bound may be met:
 * 1 plain, 10 under a sanitizer, 50 under valgrind (the CI runs the dev
 * build's unit tests under memcheck). The plain build asserts the bounds as
 * written; instrumented runs still check the behaviour. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TU_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_SANITIZED 1
#endif
static inline double tu_time_factor(void) {
#ifdef RUNNING_ON_VALGRIND
  if (RUNNING_ON_VALGRIND) return 50.0;
#endif
#ifdef TU_SANITIZED
  return 10.0;
#else
  return 1.0;
#endif
}

#endif
