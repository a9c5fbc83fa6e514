/* A canonical text dump of the whole store: equal content, equal bytes.
 * Tests compare dumps to prove "nothing changed" and "reopened == written". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct out {
  hubc_write_fn write;
  void *payload;
  char buf[8192];
  size_t n;
  int failed;
} out;

static void flush(out *o) {
  if (o->n && !o->failed && o->write(o->payload, o->buf, o->n)) o->failed = 1;
  o->n = 0;
}

static void put(out *o, const char *s, size_t len) {
  while (len) {
    if (o->n == sizeof o->buf) flush(o);
    size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
    memcpy(o->buf + o->n, s, k);
    o->n += k;
    s += k;
    len -= k;
  }
}

static void putf(out *o, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Writes s with backslash escapes for '\\' and control bytes; `strict`
 * also escapes the separators of a line (space, '=', '|') for words that
 * are not last on it, so two different states never dump alike. */
static void put_text(out *o, const char *s, int strict) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\\') put(o, "\\\\", 2);
    else if (c < 0x20 || c == 0x7f || (strict && (c == ' ' || c == '=' || c == '|'))) putf(o, "\\x%02x", c);
    else put(o, (const char *)&c, 1);
  }
}

static void put_escaped(out *o, const char *s) { put_text(o, s, 1); }

static int switch_cmp(const void *a, const void *b) {
  const hubc__switch *x = a, *y = b;
  if (x->source != y->source) return x->source < y->source ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void dump(const hubc_store *s, out *o, hubc__switch *sorted) {
  const hubc__billing *b = &s->bill;
  putf(o, "hubcontacts-dump 1\n");
  putf(o, "billing tier=%llu policy=%d commitment=%d subscription=%d cap=%llu period_start=%lld peak=%llu "
          "alerts=%llu downgrade=%llu downgrade_at=%lld renewal_base=%lld next_due=%lld\n",
       (unsigned long long)b->tier, s->policy, s->commitment, s->subscription, (unsigned long long)s->hard_cap,
       (long long)b->period_start, (unsigned long long)b->peak, (unsigned long long)b->alerts, (unsigned long long)b->downgrade,
       (long long)b->downgrade_at, (long long)b->renewal_base, (long long)atomic_load(&s->next_due));
  putf(o, "counts contacts=%llu marketing=%llu until_update=%llu non_marketing=%llu next_id=%lld next_user=%lld\n",
       (unsigned long long)s->n_contacts, (unsigned long long)s->count[HUBC_MARKETING],
       (unsigned long long)s->count[HUBC_MARKETING_UNTIL_UPDATE], (unsigned long long)s->count[HUBC_NON_MARKETING],
       (long long)s->next_id, (long long)s->next_user);
  const hubc__schema *sc = s->schema;
  for (uint32_t i = 0; i < sc->n; i++) {
    const hubc__prop *p = &sc->props[i];
    putf(o, "property %u type=%d flags=%u name=", i, p->type, p->flags);
    put_escaped(o, p->name);
    put(o, " label=", 7);
    put_escaped(o, p->label);
    for (unsigned k = 0; k < p->n_options; k++) {
      put(o, k ? "|" : " options=", k ? 1 : 9);
      put_escaped(o, p->options[k]);
    }
    put(o, "\n", 1);
  }
  for (int64_t i = 1; i < s->next_user; i++) {
    const hubc__user *u = &s->users[i];
    if (!u->email) continue;
    putf(o, "user %lld perms=0x%x super_admin=%d disabled=%d email=", (long long)i, u->perms, u->super_admin,
         u->disabled);
    put_escaped(o, u->email);
    put(o, "\n", 1);
  }
  if (s->switches_n) {
    memcpy(sorted, s->switches, s->switches_n * sizeof *sorted);
    qsort(sorted, s->switches_n, sizeof *sorted, switch_cmp);
  }
  for (size_t i = 0; i < s->switches_n; i++)
    putf(o, "switch source=%d id=%lld on=%d\n", sorted[i].source, (long long)sorted[i].id, sorted[i].on);
  for (size_t i = 0; i < s->periods_n; i++) {
    const hubc_period *p = &s->periods[i];
    putf(o, "period %lld start=%lld end=%lld peak=%llu billable_at_close=%llu tier_at_close=%llu\n",
         (long long)p->number, (long long)p->start, (long long)p->end, (unsigned long long)p->peak,
         (unsigned long long)p->billable_at_close, (unsigned long long)p->tier_at_close);
  }
  for (int64_t id = 1; id < hubc__id_end(s) && !o->failed; id++) {
    const hubc__rec *r = s->recs[id];
    if (!r) continue;
    int rtype = 0;
    hubc_id rid = 0;
    if (r->status != HUBC_NON_MARKETING) hubc__status_reason(s, r->hist, &rtype, &rid);
    int source;
    int64_t source_id;
    hubc__rec_source(r, &source, &source_id);
    putf(o, "contact %lld created=%lld modified=%lld source=%d source_id=%lld status=%d reason=%d/%lld\n",
         (long long)id, (long long)hubc__rec_created(r), (long long)r->modified, source, (long long)source_id,
         r->status, rtype, (long long)rid);
    hubc__field f;
    const unsigned char *fields = hubc__rec_fields(r);
    size_t len = hubc__rec_flen(r);
    for (size_t pos = 0; pos < len && !hubc__rec_field(fields, len, pos, &f); pos += f.size) {
      put(o, " ", 1);
      put_escaped(o, sc->props[f.prop].name);
      put(o, "=", 1);
      put_text(o, hubc__rec_get(r, sc, f.prop), 0); /* the rest of the line */
      put(o, "\n", 1);
    }
  }
  for (size_t i = 0; i < s->hist_n && !o->failed; i++) {
    const hubc__hist *h = &s->hist[i];
    putf(o, "history %zu contact=%lld time=%lld old=%d new=%d reason=%d/%lld actor=%lld\n", i + 1,
         (long long)h->contact, (long long)h->time, h->old_status, h->new_status, h->reason_type,
         (long long)h->reason_id, (long long)h->actor);
  }
  flush(o);
}

/* Derived state agrees with the records: counts, email index, ids, pending
 * requests, history chains. For tests (a dump shows records, this shows
 * that nothing derived from them drifted); HUBC_ECORRUPT says what. */
int hubc__store_check(hubc_store *s) {
  uint64_t count[3] = {0, 0, 0}, live = 0, with_email = 0;
  int rc = 0;
  pthread_rwlock_rdlock(&s->lock);
  for (int64_t id = 1; id < hubc__id_end(s) && !rc; id++) {
    const hubc__rec *r = s->recs[id];
    if (!r) continue;
    live++;
    count[r->status]++;
    if (r->id != id) rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld carries id %u", (long long)id, r->id);
    const char *e = hubc__rec_email(r);
    if (!rc && e) {
      with_email++;
      if (hubc__eidx_find(s, e, strlen(e)) != r)
        rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld is not found by its email", (long long)id);
    }
    for (uint32_t h = r->hist, first = 1; h && !rc; h = s->hist[h - 1].prev, first = 0) {
      const hubc__hist *e2 = &s->hist[h - 1];
      if (h > s->hist_n || e2->contact != id || (first && e2->new_status != r->status))
        rc = hubc__err(HUBC_ECORRUPT, "check: history chain of contact %lld is wrong at entry %u", (long long)id, h);
    }
    if (!rc && r->status == HUBC_MARKETING_UNTIL_UPDATE) {
      size_t i = 0;
      while (i < s->pending_n && s->pending[i] != id) i++;
      if (i == s->pending_n) rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld is pending but not listed", (long long)id);
    }
  }
  if (!rc && (live != s->n_contacts || memcmp(count, s->count, sizeof count) != 0))
    rc = hubc__err(HUBC_ECORRUPT, "check: counts differ from a recount");
  if (!rc && with_email != s->eidx.n)
    rc = hubc__err(HUBC_ECORRUPT, "check: the email index holds %zu entries for %llu emails", s->eidx.n,
                   (unsigned long long)with_email);
  pthread_rwlock_unlock(&s->lock);
  return rc;
}

HUBC_API int hubc_store_dump(hubc_store *s, hubc_write_fn write, void *payload) {
  if (!write) return hubc__err(HUBC_EINVAL, "dump: write is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  out *o = hubc__alloc(s->base, sizeof *o);
  hubc__switch *sorted = s->switches_n ? hubc__alloc(s->base, s->switches_n * sizeof *sorted) : NULL;
  if (!o || (s->switches_n && !sorted)) {
    rc = hubc__err(HUBC_ENOMEM, "out of memory dumping the store");
  } else {
    o->write = write;
    o->payload = payload;
    o->n = 0;
    o->failed = 0;
    hubc__busy frame; /* the write callback must not re-enter (R6) */
    hubc__busy_enter(&frame, s);
    dump(s, o, sorted);
    hubc__busy_leave(&frame);
    if (o->failed) rc = hubc__err(HUBC_EIO, "dump: the write callback failed");
  }
  hubc__free(s->base, sorted, s->switches_n * sizeof *sorted);
  hubc__free(s->base, o, sizeof *o);
  return hubc__read_end(s, rc);
}
