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

/* Writes s with backslash escapes for '\\' and control bytes. */
static void put_escaped(out *o, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\\') put(o, "\\\\", 2);
    else if (c < 0x20 || c == 0x7f) putf(o, "\\x%02x", c);
    else put(o, (const char *)&c, 1);
  }
}

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
      put_escaped(o, hubc__rec_get(r, sc, f.prop));
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
