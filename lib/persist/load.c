/* Rebuilding a store from the records a backend pushes at open (R1). The
 * backend may push records in any order and repeat keys (last wins), so
 * cross-record checks run once at the end, kind by kind (store/kind.h).
 * Every byte is distrusted. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "journal/journal_internal.h"
#include "persist/codec.h"
#include "store/store.h"
#include "util/text.h"

int hubc__corrupt(int kind, hubc_id id, const char *what) {
  return hubc__err(HUBC_ECORRUPT, "stored %s record %lld is corrupt: %s", hubc__kind_name(kind), (long long)id, what);
}

int hubc__ld_pooled(hubc_store *s, hubc__rd body, const char **out, int kind, hubc_id id) {
  size_t len = (size_t)(body.end - body.p);
  if (!hubc__utf8_valid((const char *)body.p, len)) return hubc__corrupt(kind, id, "string is not valid UTF-8");
  *out = hubc__pool_strdup(s->base, (const char *)body.p, len);
  return *out ? 0 : hubc__err(HUBC_ENOMEM, "out of memory loading the store");
}

static int open_record(hubc__rd *r, const void *bytes, size_t len, int kind, hubc_id id) {
  if (!bytes || len < 1) return hubc__corrupt(kind, id, "empty");
  r->p = bytes;
  r->end = r->p + len;
  if (*r->p != HUBC__FORMAT_VERSION)
    return hubc__err(HUBC_EVERSION, "stored record (kind %d, id %lld) has format version %u; this library reads %d",
                     kind, (long long)id, *r->p, HUBC__FORMAT_VERSION);
  r->p++;
  return 0;
}

/* The row for a kind a backend names, or NULL (numbers outside the staging
 * range are unknown too). */
static const hubc__kind *stored_kind(int kind) {
  return kind > 0 && kind < HUBC__KIND_LIMIT ? hubc__kind_get(kind) : NULL;
}

static int put_record(hubc_loader *l, int kind, hubc_id id, const void *bytes, size_t len) {
  hubc__rd r;
  int rc = open_record(&r, bytes, len, kind, id);
  if (rc) return rc;
  const hubc__kind *k = stored_kind(kind);
  if (!k || !k->load)
    return hubc__err(HUBC_ECORRUPT, "stored record %lld is corrupt: unknown record kind %d", (long long)id, kind);
  l->seen[kind] = 1;
  return k->load(l, id, r);
}

static int del_record(hubc_loader *l, int kind, hubc_id id) {
  const hubc__kind *k = stored_kind(kind);
  if (!k || !k->load_del)
    return hubc__err(HUBC_ECORRUPT, "loader del: records of kind %d are never deleted (id %lld)", kind, (long long)id);
  return k->load_del(l, id);
}

/* A host may keep the loader pointer past load() (R4: an error, not a
 * use-after-free). Loaders inside load() are listed, and put/del touch a
 * loader only when it is listed; the thread running load() finds its own
 * loader without the lock. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static hubc_loader *live_head;
static _Thread_local hubc_loader *tl_loader;

static int loader_live(const hubc_loader *l) {
  if (l == tl_loader) return 1;
  int found = 0;
  pthread_mutex_lock(&live_mu);
  for (const hubc_loader *p = live_head; p && !found; p = p->next_live) found = p == l;
  pthread_mutex_unlock(&live_mu);
  return found;
}

/* Refuses a NULL or finished loader, and every call after a failed one. */
static int loader_usable(hubc_loader *l, const char *what) {
  if (!l) return hubc__err(HUBC_EINVAL, "loader %s: loader is NULL", what);
  if (!loader_live(l))
    return hubc__err(HUBC_EINVAL, "loader %s: this loader is not in use (used after its load() "
                     "returned, or not a loader); nothing done", what);
  if (l->err)
    return hubc__err(l->err, "loader %s: refused after an earlier record failed (%s)", what, l->err_msg);
  return 0;
}

/* A failure is remembered: the open fails with it whatever load() returns. */
static int sticky(hubc_loader *l, int rc) {
  if (rc) {
    l->err = rc;
    snprintf(l->err_msg, sizeof l->err_msg, "%s", hubc_error_last());
  }
  return rc;
}

HUBC_API int hubc_loader_put(hubc_loader *l, int kind, hubc_id id, const void *bytes, size_t len) {
  int rc = loader_usable(l, "put");
  if (rc) return rc;
  if (!bytes && len)
    return sticky(l, hubc__err(HUBC_EINVAL, "loader put: bytes is NULL with length %zu (kind %d, id %lld)", len,
                               kind, (long long)id));
  return sticky(l, put_record(l, kind, id, bytes, len));
}

HUBC_API int hubc_loader_del(hubc_loader *l, int kind, hubc_id id) {
  int rc = loader_usable(l, "del");
  return rc ? rc : sticky(l, del_record(l, kind, id));
}

void hubc__loader_hint(hubc_loader *l, int kind, uint64_t n, uint64_t bytes) {
  if (l && kind > 0 && kind < HUBC__KIND_LIMIT) {
    l->hint_n[kind] = n;
    l->hint_bytes[kind] = bytes;
  }
}

int hubc__load(hubc_store *s) {
  if (!s->persist.load) return 0;
  hubc_loader *l = hubc__calloc(s->base, sizeof *l);
  if (!l) return hubc__err(HUBC_ENOMEM, "out of memory opening the store");
  l->s = s;
  pthread_mutex_lock(&live_mu);
  l->next_live = live_head;
  live_head = l;
  pthread_mutex_unlock(&live_mu);
  l->outer = tl_loader;
  tl_loader = l;
  int rc = s->persist.load(s->persist.userdata, l), load_rc = rc;
  tl_loader = l->outer;
  pthread_mutex_lock(&live_mu);
  for (hubc_loader **pp = &live_head; *pp; pp = &(*pp)->next_live)
    if (*pp == l) {
      *pp = l->next_live;
      break;
    }
  pthread_mutex_unlock(&live_mu);
  if (l->err) {
    /* a backend that passed the failure on may have said where the record
     * is stored: keep its message; otherwise restore the loader's */
    if (rc != l->err || hubc_error_last_code() != l->err) rc = hubc__err(l->err, "%s", l->err_msg);
  }
  else if (rc == HUBC_EAGAIN) rc = hubc__err(HUBC_EAGAIN, "persistence load callback asked to retry");
  else if (rc && !(rc >= HUBC_EVERSION && rc < 0 && hubc_error_last_code() == rc))
    rc = hubc__err(HUBC_EPERSIST, "persistence load callback failed (code %d)", rc);
  /* every kind finishes, in table order: on failure it only frees its staging */
  for (size_t i = 0; i < hubc__kinds_n; i++)
    if (hubc__kinds[i]->finish_load) rc = hubc__kinds[i]->finish_load(l, rc);
  hubc__free(s->base, l, sizeof *l);
  if (rc && !load_rc) hubc__journal_detach(&s->persist); /* the open fails: a journal is free again */
  return rc;
}
