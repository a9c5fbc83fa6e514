#include "testutil.h"

#include "persist/codec.h" /* HUBC__FORMAT_VERSION */
#include "store/store.h"   /* hubc__store_check: tests link the static library */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

hubc_time tu_clock_fn(void *payload) { return ((tu_clock *)payload)->now; }

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

hubc_time tu_time(int y, int mo, int d, int h, int mi, int s) {
  return days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
}

void *tu_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size) {
  tu_alloc *a = payload;
  if (new_size == 0) {
    if (ptr) a->live -= old_size;
    free(ptr);
    return NULL;
  }
  a->count++;
  if (a->fail_at && a->count == a->fail_at) {
    a->failures++;
    return NULL;
  }
  void *p = realloc(ptr, new_size);
  if (p) a->live = a->live - (ptr ? old_size : 0) + new_size;
  return p;
}

int tu_buf_write(void *payload, const char *data, size_t len) {
  tu_buf *b = payload;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

void tu_buf_free(tu_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *tu_dump(hubc_store *s) {
  /* every dump a test takes also proves the derived state (email index,
   * counts, pending requests, history chains) agrees with the records */
  if (hubc__store_check(s)) fail_msg("store invariants: %s", hubc_error_last());
  tu_buf b = {0};
  assert_int_equal(hubc_store_dump(s, tu_buf_write, &b), 0);
  return b.data;
}

void tu_expect_same(const char *want, const char *got, const char *what) {
  if (strcmp(want, got) == 0) return;
  fprintf(stderr, "--- expected (%s)\n%s--- actual\n%s", what, want, got);
  fail_msg("%s: the store dumps differ", what);
}

void tu_expect_dump(hubc_store *s, const char *want, const char *what) {
  char *now = tu_dump(s);
  int same = strcmp(now, want) == 0;
  if (!same) fprintf(stderr, "--- expected (%s)\n%s--- actual\n%s", what, want, now);
  free(now); /* before failing: fail_msg does not return */
  if (!same) fail_msg("%s: the store changed (dump differs)", what);
}

/* ---- in-memory backend ---- */

static int fail_now(tu_mem *m) {
  m->calls++;
  if (m->fail_at && m->calls == m->fail_at) {
    m->failures++;
    return m->fail_code ? m->fail_code : -1;
  }
  return 0;
}

static int mem_load(void *ud, hubc_loader *l) {
  tu_mem *m = ud;
  for (size_t i = 0; i < m->n; i++) {
    int rc = hubc_loader_put(l, m->recs[i].kind, m->recs[i].id, m->recs[i].bytes, m->recs[i].len);
    if (rc) return rc;
  }
  return 0;
}

static int mem_begin(void *ud) {
  tu_mem *m = ud;
  int rc = fail_now(m);
  if (!rc) m->in_txn = 1;
  return rc;
}

static int pend(tu_mem *m, int kind, hubc_id id, const void *bytes, size_t len) {
  if (m->pn == m->pcap) {
    m->pcap = m->pcap ? m->pcap * 2 : 64;
    m->pend = realloc(m->pend, m->pcap * sizeof *m->pend);
  }
  tu_mem_rec *r = &m->pend[m->pn++];
  r->kind = kind;
  r->id = id;
  r->len = len;
  r->bytes = NULL;
  if (bytes) {
    r->bytes = malloc(len ? len : 1);
    memcpy(r->bytes, bytes, len);
  }
  return 0;
}

static int mem_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  tu_mem *m = ud;
  int rc = fail_now(m);
  return rc ? rc : pend(m, kind, id, bytes, len);
}

static int mem_del(void *ud, int kind, hubc_id id) {
  tu_mem *m = ud;
  int rc = fail_now(m);
  return rc ? rc : pend(m, kind, id, NULL, 0);
}

static void apply(tu_mem *m, tu_mem_rec *p) {
  for (size_t i = 0; i < m->n; i++) {
    if (m->recs[i].kind == p->kind && m->recs[i].id == p->id) {
      free(m->recs[i].bytes);
      if (p->bytes) {
        m->recs[i] = *p;
      } else {
        m->recs[i] = m->recs[--m->n];
      }
      return;
    }
  }
  if (!p->bytes) return;
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->recs = realloc(m->recs, m->cap * sizeof *m->recs);
  }
  m->recs[m->n++] = *p;
}

static void drop_pending(tu_mem *m) {
  for (size_t i = 0; i < m->pn; i++) free(m->pend[i].bytes);
  m->pn = 0;
  m->in_txn = 0;
}

static int mem_commit(void *ud) {
  tu_mem *m = ud;
  int rc = fail_now(m);
  if (rc) return rc;
  for (size_t i = 0; i < m->pn; i++) apply(m, &m->pend[i]);
  m->pn = 0;
  m->in_txn = 0;
  m->commits++;
  return 0;
}

static int mem_rollback(void *ud) {
  tu_mem *m = ud;
  drop_pending(m);
  m->rollbacks++;
  return 0;
}

void tu_mem_init(tu_mem *m) {
  memset(m, 0, sizeof *m);
  m->vtable.version = HUBC_PERSIST_VERSION;
  m->vtable.userdata = m;
  m->vtable.load = mem_load;
  m->vtable.begin = mem_begin;
  m->vtable.put = mem_put;
  m->vtable.del = mem_del;
  m->vtable.commit = mem_commit;
  m->vtable.rollback = mem_rollback;
}

static tu_mem *wrapped(void *ud) { return *(tu_mem **)ud; }
static int fwd_begin(void *ud) { return wrapped(ud)->vtable.begin(wrapped(ud)); }
static int fwd_commit(void *ud) { return wrapped(ud)->vtable.commit(wrapped(ud)); }
static int fwd_rollback(void *ud) { return wrapped(ud)->vtable.rollback(wrapped(ud)); }
static int fwd_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  return wrapped(ud)->vtable.put(wrapped(ud), kind, id, bytes, len);
}
static int fwd_del(void *ud, int kind, hubc_id id) { return wrapped(ud)->vtable.del(wrapped(ud), kind, id); }

void tu_mem_wrap(hubc_persist *vt, void *userdata, int(HUBC_CALLBACK *load)(void *userdata, hubc_loader *l)) {
  memset(vt, 0, sizeof *vt);
  vt->version = HUBC_PERSIST_VERSION;
  vt->userdata = userdata;
  vt->load = load;
  vt->begin = fwd_begin;
  vt->put = fwd_put;
  vt->del = fwd_del;
  vt->commit = fwd_commit;
  vt->rollback = fwd_rollback;
}

void tu_mem_free(tu_mem *m) {
  drop_pending(m);
  for (size_t i = 0; i < m->n; i++) free(m->recs[i].bytes);
  free(m->recs);
  free(m->pend);
  memset(m, 0, sizeof *m);
}

hubc_store *tu_open(tu_clock *clock, const hubc_persist *persist) { return tu_open_alloc(clock, NULL, persist); }

void tu_options(hubc_store_options *o, tu_clock *clock, const hubc_persist *persist) {
  assert_int_equal(hubc_store_options_init(o, HUBC_STORE_OPTIONS_VERSION), 0);
  o->clock = tu_clock_fn;
  o->clock_payload = clock;
  o->admin_email = "admin@example.com";
  o->persist = persist;
}

int tu_try_open(hubc_store **out, const hubc_store_options *o) {
  *out = NULL;
  int rc = hubc_store_open(out, o);
  if (*out) gc_store(*out);
  return rc;
}

hubc_store *tu_open_alloc(tu_clock *clock, tu_alloc *alloc, const hubc_persist *persist) {
  hubc_store_options o;
  tu_options(&o, clock, persist);
  if (alloc) {
    o.alloc = tu_alloc_fn;
    o.alloc_payload = alloc;
  }
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  return s;
}

hubc_store *tu_open_hard_cap(tu_clock *clock, uint64_t cap) {
  hubc_store_options o;
  tu_options(&o, clock, NULL);
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = cap;
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  return gc_store(s);
}

hubc_id tu_contact(hubc_store *s, hubc_id actor, const char *email, const char *firstname) {
  const char *names[] = {"email", "firstname"};
  const char *values[] = {email, firstname};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, actor, NULL, names, values, 2);
  if (rc) fail_msg("create %s: %s", email, hubc_error_last());
  return id;
}

void tu_ok_(int rc, const char *call, int line) {
  if (rc != 0) fail_msg("line %d: %s failed: %d (%s): %s", line, call, rc, hubc_strerror(rc), hubc_error_last());
}

void tu_clear_err(void) {
  hubc_create_options co;
  TU_OK(hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION));
  assert_int_equal(hubc_error_last_code(), 0);
  assert_string_equal(hubc_error_last(), "");
}

void tu_bad_(int rc, int code, const char *needle, const char *call, int line) {
  const char *msg = hubc_error_last();
  if (rc != code)
    fail_msg("line %d: %s returned %d (%s), expected %d (%s); message '%s'", line, call, rc, hubc_strerror(rc), code,
             hubc_strerror(code), msg);
  if (hubc_error_last_code() != code)
    fail_msg("line %d: %s: hubc_error_last_code() is %d, expected %d", line, call, hubc_error_last_code(), code);
  if (!msg[0]) fail_msg("line %d: %s: empty hubc_error_last()", line, call);
  if (needle && !strstr(msg, needle)) fail_msg("line %d: %s: message '%s' does not mention '%s'", line, call, msg, needle);
}

hubc_store *tu_open_gc(tu_clock *clk) { return gc_store(tu_open(clk, NULL)); }

int tu_status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, s, id));
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

hubc_billing_info tu_billing(hubc_store *s) {
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  TU_OK(hubc_billing_get(&bi, s));
  return bi;
}

hubc_create_options tu_opts_of(int source, hubc_id source_id) {
  hubc_create_options co;
  TU_OK(hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION));
  co.source = source;
  co.source_id = source_id;
  return co;
}

void tu_ok(int rc, const char *what) {
  if (rc) fail_msg("%s: %d %s", what, rc, hubc_error_last());
}

void tu_expect_rc(int got, int want, const char *what) {
  if (got != want) fail_msg("%s: expected %d, got %d (%s)", what, want, got, hubc_error_last());
}

void tu_expect_msg(const char *needle) {
  const char *m = hubc_error_last();
  if (!strstr(m, needle)) fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

/* ---- cleanup registry ---- */

typedef struct gc_entry {
  void (*fn)(void *);
  void *p;
} gc_entry;

static struct {
  gc_entry *e;
  size_t n, cap;
} gc;

void *gc_defer(void (*fn)(void *), void *p) {
  assert_non_null(p);
  if (gc.n == gc.cap) {
    gc.cap = gc.cap ? gc.cap * 2 : 64;
    gc.e = realloc(gc.e, gc.cap * sizeof *gc.e);
    assert_non_null(gc.e);
  }
  gc.e[gc.n].fn = fn;
  gc.e[gc.n].p = p;
  gc.n++;
  return p;
}

void gc_release(void *p) {
  for (size_t i = gc.n; i-- > 0;) {
    if (gc.e[i].p != p) continue;
    gc_entry e = gc.e[i];
    memmove(&gc.e[i], &gc.e[i + 1], (gc.n - i - 1) * sizeof *gc.e);
    gc.n--;
    e.fn(e.p);
    return;
  }
  fail_msg("gc_release: %p was not registered", p);
}

int gc_teardown(void **state) {
  (void)state;
  while (gc.n) {
    gc_entry e = gc.e[--gc.n];
    e.fn(e.p);
  }
  free(gc.e);
  gc.e = NULL;
  gc.cap = 0;
  return 0;
}

void *gc_malloc(void *p) { return gc_defer(free, p); }

static void store_close_cb(void *p) { hubc_store_close(p); }
hubc_store *gc_store(hubc_store *s) { return gc_defer(store_close_cb, s); }

static void mem_free_cb(void *p) {
  tu_mem_free(p);
  free(p);
}

tu_mem *gc_mem(void) {
  tu_mem *m = malloc(sizeof *m);
  assert_non_null(m);
  tu_mem_init(m);
  return gc_defer(mem_free_cb, m);
}

static void buf_free_cb(void *p) {
  tu_buf_free(p);
  free(p);
}

tu_buf *gc_buf(void) { return gc_defer(buf_free_cb, calloc(1, sizeof(tu_buf))); }

char *gc_dump(hubc_store *s) { return gc_malloc(tu_dump(s)); }

/* ---- events ---- */

void ev_cb(void *payload, const hubc_event *e) {
  ev_log *l = payload;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
    assert_non_null(l->ev);
  }
  l->ev[l->n++] = *e;
}

size_t ev_count(const ev_log *l, int type) {
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++) k += l->ev[i].type == type;
  return k;
}

/* ---- record builder ---- */

void rb_byte(rb *r, unsigned v) {
  assert_true(r->n < sizeof r->b);
  r->b[r->n++] = (unsigned char)v;
}

void rb_varint(rb *r, uint64_t v) {
  while (v >= 0x80) {
    rb_byte(r, (unsigned)(v & 0x7f) | 0x80);
    v >>= 7;
  }
  rb_byte(r, (unsigned)v);
}

uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void rb_start(rb *r) {
  r->n = 0;
  rb_byte(r, HUBC__FORMAT_VERSION);
}

void rb_bytes(rb *r, unsigned tag, const void *p, size_t len) {
  rb_varint(r, tag);
  rb_varint(r, len);
  assert_true(r->n + len <= sizeof r->b);
  if (len) memcpy(r->b + r->n, p, len);
  r->n += len;
}

void rb_int(rb *r, unsigned tag, int64_t v) {
  rb tmp = {{0}, 0};
  rb_varint(&tmp, zz(v));
  rb_bytes(r, tag, tmp.b, tmp.n);
}

void rb_str(rb *r, unsigned tag, const char *s) { rb_bytes(r, tag, s, strlen(s)); }

/* ---- workflow actions ---- */

static hubc_wf_action act(int type) {
  hubc_wf_action a;
  hubc_wf_action_init(&a, HUBC_WF_ACTION_VERSION);
  a.type = type;
  return a;
}
hubc_wf_action tu_act_status(int marketing) {
  hubc_wf_action a = act(HUBC_WF_SET_STATUS);
  a.marketing = marketing;
  return a;
}
hubc_wf_action tu_act_prop(const char *property, const char *value) {
  hubc_wf_action a = act(HUBC_WF_SET_PROPERTY);
  a.property = property;
  a.value = value;
  return a;
}
hubc_wf_action tu_act_delay(hubc_time seconds) {
  hubc_wf_action a = act(HUBC_WF_DELAY);
  a.seconds = seconds;
  return a;
}
hubc_wf_action tu_act_host(const char *name, const char *payload) {
  hubc_wf_action a = act(HUBC_WF_HOST);
  a.name = name;
  a.payload = payload;
  return a;
}
hubc_wf_action tu_act_list(int type, hubc_id list) {
  hubc_wf_action a = act(type);
  a.list = list;
  return a;
}

size_t tu_enrollments(hubc_store *s, hubc_id wf, hubc_id contact) {
  hubc_enrollment_iterator *it;
  assert_int_equal(hubc_enrollment_iterator_new(&it, s, wf, contact), 0);
  hubc_enrollment e;
  e.version = HUBC_ENROLLMENT_VERSION;
  size_t n = 0;
  while (hubc_enrollment_iterator_next(&e, it) == 0) n++;
  hubc_enrollment_iterator_free(it);
  return n;
}
