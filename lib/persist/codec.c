/* Encoding records for the persistence callbacks (R1). */
#include "persist/codec.h"

#include <string.h>

#include "store/store.h"

typedef struct wr {
  hubc_store *s;
  size_t n;
  int failed;
} wr;

static int room(wr *w, size_t more) {
  if (w->failed) return -1;
  if (hubc__grow(w->s->base, (void **)&w->s->scratch, &w->s->scratch_cap, w->n + more, 1)) {
    w->failed = 1;
    return -1;
  }
  return 0;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void bytes(wr *w, unsigned tag, const void *b, size_t len) {
  if (room(w, 20 + len)) return;
  w->n += hubc__varint_put(w->s->scratch + w->n, tag);
  w->n += hubc__varint_put(w->s->scratch + w->n, len);
  if (len) memcpy(w->s->scratch + w->n, b, len);
  w->n += len;
}

static void num(wr *w, unsigned tag, int64_t v) {
  unsigned char tmp[10];
  bytes(w, tag, tmp, hubc__varint_put(tmp, zigzag(v)));
}

static void str(wr *w, unsigned tag, const char *s) { bytes(w, tag, s, strlen(s)); }

int hubc__encode(hubc_store *s, int kind, int64_t id, const unsigned char **out, size_t *len) {
  wr w = {s, 0, 0};
  if (room(&w, 1)) return hubc__err(HUBC_ENOMEM, "out of memory encoding a record");
  s->scratch[w.n++] = HUBC__FORMAT_VERSION;
  switch (kind) {
  case HUBC_REC_META:
    num(&w, HUBC__T_META_NEXT_ID, s->next_id);
    num(&w, HUBC__T_META_NEXT_USER, s->next_user);
    num(&w, HUBC__T_META_TIER, (int64_t)s->bill.tier);
    num(&w, HUBC__T_META_PERIOD_START, s->bill.period_start);
    num(&w, HUBC__T_META_PEAK, (int64_t)s->bill.peak);
    num(&w, HUBC__T_META_ALERTS, (int64_t)s->bill.alerts);
    num(&w, HUBC__T_META_DOWNGRADE, (int64_t)s->bill.downgrade);
    num(&w, HUBC__T_META_RENEWAL_BASE, s->bill.renewal_base);
    num(&w, HUBC__T_META_DOWNGRADE_AT, s->bill.downgrade_at);
    break;
  case HUBC_REC_PROPERTY: {
    const hubc__prop *p = &s->schema->props[id - 1];
    str(&w, HUBC__T_PROP_NAME, p->name);
    str(&w, HUBC__T_PROP_LABEL, p->label);
    num(&w, HUBC__T_PROP_TYPE, p->type);
    num(&w, HUBC__T_PROP_FLAGS, p->flags);
    for (unsigned i = 0; i < p->n_options; i++) str(&w, HUBC__T_PROP_OPTION, p->options[i]);
    break;
  }
  case HUBC_REC_CONTACT: {
    const hubc__rec *r = s->recs[id];
    if (!r) return 1; /* deleted */
    int source;
    int64_t source_id;
    hubc__rec_source(r, &source, &source_id);
    num(&w, HUBC__T_C_CREATED, hubc__rec_created(r));
    num(&w, HUBC__T_C_MODIFIED, r->modified);
    num(&w, HUBC__T_C_STATUS, r->status);
    num(&w, HUBC__T_C_SOURCE, source);
    num(&w, HUBC__T_C_SOURCE_ID, source_id);
    bytes(&w, HUBC__T_C_PROPS, hubc__rec_fields(r), hubc__rec_flen(r));
    break;
  }
  case HUBC_REC_HISTORY: {
    const hubc__hist *h = &s->hist[id - 1];
    num(&w, HUBC__T_H_TIME, h->time);
    num(&w, HUBC__T_H_CONTACT, h->contact);
    num(&w, HUBC__T_H_OLD, h->old_status);
    num(&w, HUBC__T_H_NEW, h->new_status);
    num(&w, HUBC__T_H_REASON_TYPE, h->reason_type);
    num(&w, HUBC__T_H_REASON_ID, h->reason_id);
    num(&w, HUBC__T_H_ACTOR, h->actor);
    break;
  }
  case HUBC_REC_USER: {
    const hubc__user *u = &s->users[id];
    if (!u->email) return 1;
    str(&w, HUBC__T_U_EMAIL, u->email);
    num(&w, HUBC__T_U_PERMS, u->perms);
    num(&w, HUBC__T_U_SUPER, u->super_admin);
    num(&w, HUBC__T_U_DISABLED, u->disabled);
    break;
  }
  case HUBC_REC_PERIOD: {
    const hubc_period *p = &s->periods[id - 1];
    num(&w, HUBC__T_P_START, p->start);
    num(&w, HUBC__T_P_END, p->end);
    num(&w, HUBC__T_P_PEAK, (int64_t)p->peak);
    num(&w, HUBC__T_P_CLOSE, (int64_t)p->billable_at_close);
    num(&w, HUBC__T_P_TIER, (int64_t)p->tier_at_close);
    break;
  }
  case HUBC_REC_SWITCH:
    for (size_t i = 0; i < s->switches_n; i++) {
      if (s->switches[i].source != id) continue;
      unsigned char tmp[12];
      size_t k = hubc__varint_put(tmp, zigzag(s->switches[i].id));
      tmp[k++] = s->switches[i].on;
      bytes(&w, HUBC__T_S_ENTRY, tmp, k);
    }
    break;
  }
  if (w.failed) return hubc__err(HUBC_ENOMEM, "out of memory encoding a record");
  *out = s->scratch;
  *len = w.n;
  return 0;
}

const char *hubc__kind_name(int kind) {
  static const char *const names[] = {"?", "meta", "property", "contact", "history", "user", "period", "switch"};
  return kind >= 1 && kind <= HUBC_REC_KIND_MAX ? names[kind] : "?";
}

int hubc__rd_varint(hubc__rd *r, uint64_t *v) {
  size_t pos = 0;
  if (hubc__varint_get(r->p, (size_t)(r->end - r->p), &pos, v)) return -1;
  r->p += pos;
  return 0;
}

int hubc__rd_field(hubc__rd *r, uint64_t *tag, hubc__rd *body) {
  if (r->p >= r->end) return 0;
  uint64_t len;
  if (hubc__rd_varint(r, tag) || hubc__rd_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return -1;
  body->p = r->p;
  body->end = r->p + len;
  r->p += len;
  return 1;
}

int hubc__rd_int(hubc__rd body, int64_t *v) {
  uint64_t u;
  if (hubc__rd_varint(&body, &u) || body.p != body.end) return -1;
  *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return 0;
}
