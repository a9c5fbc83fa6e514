/* Opening and closing a store, options, events registration, version. */
#include <string.h>
#include <time.h>

#include "journal/journal_internal.h"
#include "store/store.h"
#include "workflow/engine.h"

HUBC_API int hubc_version_number(void) { return HUBC_VERSION_NUMBER; }
HUBC_API const char *hubc_version_string(void) { return HUBC_VERSION_STRING; }

/* Bytes of each version of the structs a caller hands in (index: version). */
static const size_t store_options_size[] = {0, HUBC__VERSION_END(hubc_store_options, persist),
                                            HUBC__VERSION_END(hubc_store_options, max_clock_jump)};
_Static_assert(sizeof store_options_size / sizeof *store_options_size == HUBC_STORE_OPTIONS_VERSION + 1,
               "a size per store options version");
static const size_t persist_size[] = {0, HUBC__VERSION_END(hubc_persist, close)};
_Static_assert(sizeof persist_size / sizeof *persist_size == HUBC_PERSIST_VERSION + 1,
               "a size per persistence table version");

HUBC_API int hubc_store_options_init(hubc_store_options *o, unsigned int version) {
  if (!o) return hubc__err(HUBC_EINVAL, "store options: opts is NULL");
  int rc = hubc__version_check(version, HUBC_STORE_OPTIONS_VERSION, "store options");
  if (rc) return rc;
  memset(o, 0, store_options_size[version]); /* an older caller's struct is shorter */
  o->version = version;
  return hubc__ok();
}

HUBC_API size_t hubc_store_options_size(void) { return sizeof(hubc_store_options); }

HUBC_API int hubc_create_options_init(hubc_create_options *o, unsigned int version) {
  if (!o) return hubc__err(HUBC_EINVAL, "create options: opts is NULL");
  int rc = hubc__version_check(version, HUBC_CREATE_OPTIONS_VERSION, "create options");
  if (rc) return rc;
  memset(o, 0, sizeof *o); /* one version so far: its size */
  o->version = version;
  return hubc__ok();
}

static hubc_time system_clock(void *payload) {
  (void)payload;
  return (hubc_time)time(NULL);
}

/* Frees what the store holds. The handle itself (lock, gate) goes with the
 * base's last reference (store_release): iterators keep it, so their next
 * call after a close finds the store closed instead of freed memory. */
static void store_free(hubc_store *s) {
  hubc__base *b = s->base;
  for (size_t i = 0; i < hubc__kinds_n; i++)
    if (hubc__kinds[i]->free) hubc__kinds[i]->free(s);
  hubc__sched_free(s);
  hubc__qcols_free(s);
  hubc__free(b, s->txn.undo, s->txn.undo_cap * sizeof *s->txn.undo);
  hubc__free(b, s->txn.dirty, s->txn.dirty_cap * sizeof *s->txn.dirty);
  hubc__free(b, s->events, s->events_cap * sizeof *s->events);
  hubc__free(b, s->scratch, s->scratch_cap);
  hubc__base_unref(b);
}

static void store_release(void *p) {
  hubc_store *s = p;
  pthread_rwlock_destroy(&s->lock);
  pthread_mutex_destroy(&s->gate_mu);
  pthread_cond_destroy(&s->gate_cv);
  hubc__free(s->base, s, sizeof *s);
}

HUBC_API int hubc_store_open(hubc_store **out, const hubc_store_options *opts) {
  if (!out) return hubc__err(HUBC_EINVAL, "open store: out is NULL");
  *out = NULL;
  if (!opts) return hubc__err(HUBC_EINVAL, "open store: options are NULL (use hubc_store_options_init)");
  int rc = hubc__version_check(opts->version, HUBC_STORE_OPTIONS_VERSION, "store options");
  if (rc) return rc;
  hubc_store_options o_cur; /* fields newer than the caller's version read as 0 */
  hubc__version_in(&o_cur, sizeof o_cur, opts, store_options_size[opts->version]);
  const hubc_store_options *o = &o_cur;
  hubc_persist persist;
  if (o->persist) {
    if ((rc = hubc__version_check(o->persist->version, HUBC_PERSIST_VERSION, "persistence callbacks"))) return rc;
    hubc__version_in(&persist, sizeof persist, o->persist, persist_size[o->persist->version]);
  }
  if (o->tier_ladder_len && !o->tier_ladder)
    return hubc__err(HUBC_EINVAL, "store options: tier_ladder is NULL with tier_ladder_len = %zu", o->tier_ladder_len);
  if (o->max_clock_jump < 0)
    return hubc__err(HUBC_EINVAL, "store options: max_clock_jump %lld is negative (0: the default, 10 years)",
                     (long long)o->max_clock_jump);
  hubc__kinds_init();
  hubc__base *b;
  rc = hubc__base_new(&b, o->alloc, o->alloc_payload);
  if (rc) return rc;
  hubc_store *s = hubc__calloc(b, sizeof *s);
  if (!s) {
    hubc__base_unref(b);
    return hubc__err(HUBC_ENOMEM, "out of memory opening the store");
  }
  s->base = b;
  pthread_rwlock_init(&s->lock, NULL);
  pthread_mutex_init(&s->gate_mu, NULL);
  pthread_cond_init(&s->gate_cv, NULL);
  b->dtor = store_release;
  b->dtor_arg = s;
  s->clock = o->clock ? o->clock : system_clock;
  s->clock_payload = o->clock ? o->clock_payload : NULL;
  s->contacts.next_id = 1;
  s->users.next = 1;
  s->max_jump = o->max_clock_jump ? o->max_clock_jump : HUBC_MAX_CLOCK_JUMP_DEFAULT;
  if (o->persist) {
    s->persist = persist;
    s->has_persist = 1;
  }
  hubc_time now = s->clock(s->clock_payload);
  if ((rc = hubc__schema_new_builtin(&s->schema, b)) || (rc = hubc__billing_init(s, o, now)) ||
      (rc = hubc__slots_reserve(s, 1)))
    goto fail;
  if (s->has_persist && (rc = hubc__load(s))) goto fail;
  /* from here a failure also frees a journal this store attached */
  /* B2a: the latest time a reopened store has seen is its period start */
  atomic_store(&s->seen, s->billing.bill.period_start);
  if ((rc = hubc__clock_check(s, now, "open store"))) goto fail_loaded;
  if (now > s->billing.bill.period_start) atomic_store(&s->seen, now);
  if (o->renewal_anchor) s->billing.bill.renewal_base = o->renewal_anchor; /* a setting: the options win */
  if ((rc = hubc__billing_refresh_next(s))) goto fail;
  hubc__txn_mark_all(s);
  if (s->users.next == 1) { /* a new store: its first super admin, in one transaction */
    hubc__txn_begin(s, HUBC_SYSTEM, now);
    rc = hubc__txn_finish(s, hubc__users_bootstrap(s, o->admin_email));
    if (rc) goto fail_loaded;
  }
  if ((rc = hubc__engine_opened(s))) goto fail_loaded; /* stored trigger filters, compiled as by a call */
  *out = s;
  return hubc__ok();
fail_loaded:
  if (s->has_persist) hubc__journal_detach(&s->persist);
fail:
  store_free(s);
  return rc;
}

HUBC_API void hubc_store_close(hubc_store *s) {
  if (!s) return;
  if (hubc__reentered(s)) { /* from its own callback: the call in progress still uses it */
    hubc__err(HUBC_EBUSY, "close store: called from a callback of the same store; nothing closed");
    return;
  }
  if (atomic_exchange(&s->closed, 1)) { /* reachable while an iterator keeps the handle */
    hubc__err(HUBC_EINVAL, "close store: already closed");
    return;
  }
  /* calls in flight on other threads finish first; new ones are refused */
  pthread_mutex_lock(&s->gate_mu);
  while (atomic_load(&s->calls)) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 10 * 1000 * 1000; /* a poll: a leave that raced the flag does not signal */
    if (t.tv_nsec >= 1000000000L) {
      t.tv_sec++;
      t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->gate_cv, &s->gate_mu, &t);
  }
  pthread_mutex_unlock(&s->gate_mu);
  if (s->has_persist && s->persist.close) s->persist.close(s->persist.userdata);
  store_free(s);
  hubc__ok();
}

HUBC_API hubc_time hubc_store_now(hubc_store *s) {
  if (!s) return hubc__err(HUBC_EINVAL, "store now: store is NULL"), 0;
  /* from the store's own clock hook this would recurse: refused like every re-entry */
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "store now: called from a callback of the same store"), 0;
  if (hubc__call_enter(s, "store now")) return 0;
  pthread_rwlock_rdlock(&s->lock);
  hubc_time now = hubc__now_locked(s); /* the time a call would be stamped with */
  int rc = hubc__clock_check(s, now, "store now");
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
  return rc ? 0 : (hubc__ok(), now);
}

HUBC_API int hubc_store_set_event_callback(hubc_store *s, hubc_event_fn fn, void *payload) {
  if (!s) return hubc__err(HUBC_EINVAL, "set event callback: store is NULL");
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "set event callback: called from a callback of the same store");
  int rc = hubc__call_enter(s, "set event callback");
  if (rc) return rc;
  pthread_rwlock_wrlock(&s->lock);
  s->ev_fn = fn;
  s->ev_payload = payload;
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
  return hubc__ok();
}
