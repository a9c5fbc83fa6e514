/* The email index (C3, C5); layout in email_index.h. */
#include "contact/email_index.h"

#include "store/store.h"
#include "util/text.h"

static uint32_t rec_hash(const hubc__rec *r) {
  const char *e = hubc__rec_email(r);
  return hubc__hash(e, strlen(e));
}

/* r's hash, from the hint when it names r (email_index.h). */
static uint32_t hinted_hash(const hubc__eidx *x, const hubc__rec *r) {
  return r == x->hint ? x->hint_h : rec_hash(r);
}

static uint64_t entry_of(uint32_t h, const hubc__rec *r) {
  uintptr_t a = (uintptr_t)r;
  size_t more = (a % 64 + offsetof(hubc__rec, blob) + r->len - 1) / 64;
  return HUBC__EIDX_TAG(h) | (uint64_t)a | (more < 7 ? more : 7);
}

int hubc__eidx_reserve(hubc_store *s, size_t extra) {
  hubc__eidx *x = &s->contacts.eidx;
  size_t cap = x->slots ? x->mask + 1 : 0;
  if ((x->n + extra) * 4 <= cap * 3) return 0;
  size_t ncap = cap ? cap : 1024;
  while ((x->n + extra) * 4 > ncap * 3) ncap *= 2;
  uint64_t *t = hubc__calloc(s->base, ncap * sizeof *t);
  if (!t) return hubc__err(HUBC_ENOMEM, "out of memory growing the email index to %zu slots", ncap);
  hubc__huge_advise(t, ncap * sizeof *t);
  for (size_t i = 0; i < cap; i++) {
    if (i + 16 < cap && x->slots[i + 16]) __builtin_prefetch(HUBC__EIDX_REC(x->slots[i + 16])->blob);
    uint64_t e = x->slots[i];
    if (!e) continue;
    size_t pos = rec_hash(HUBC__EIDX_REC(e)) & (ncap - 1);
    while (t[pos]) pos = (pos + 1) & (ncap - 1);
    t[pos] = e;
  }
  hubc__free(s->base, x->slots, cap * sizeof *x->slots);
  x->slots = t;
  x->mask = ncap - 1;
  return 0;
}

hubc__rec *hubc__eidx_find(const hubc_store *s, const char *email, size_t len) {
  return hubc__eidx_probe(&s->contacts.eidx, email, hubc__hash(email, len));
}

void hubc__eidx_insert(hubc_store *s, hubc__rec *r) {
  hubc__eidx *x = &s->contacts.eidx;
  uint32_t h = hinted_hash(x, r);
  size_t pos = h & x->mask;
  while (x->slots[pos]) pos = (pos + 1) & x->mask;
  x->slots[pos] = entry_of(h, r);
  x->n++;
}

/* Position of r's entry; SIZE_MAX if absent (never, by construction). */
static size_t slot_of(const hubc__eidx *x, const hubc__rec *r, uint32_t h) {
  uint64_t want = entry_of(h, r);
  for (size_t i = h & x->mask; x->slots[i]; i = (i + 1) & x->mask)
    if (x->slots[i] == want) return i;
  return SIZE_MAX;
}

void hubc__eidx_replace(hubc_store *s, const hubc__rec *old, hubc__rec *r) {
  hubc__eidx *x = &s->contacts.eidx;
  size_t i = slot_of(x, old, hinted_hash(x, r)); /* the same email: r's hash is old's */
  if (i != SIZE_MAX) x->slots[i] = (x->slots[i] & HUBC__EIDX_TAG_MASK) | entry_of(0, r); /* same email, same tag */
}

void hubc__eidx_remove(hubc_store *s, const hubc__rec *r) {
  hubc__eidx *x = &s->contacts.eidx;
  size_t mask = x->mask, i = slot_of(x, r, rec_hash(r));
  if (i == SIZE_MAX) return;
  /* backward-shift deletion keeps every probe chain unbroken */
  for (size_t j = (i + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
    size_t home = rec_hash(HUBC__EIDX_REC(x->slots[j])) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      x->slots[i] = x->slots[j];
      i = j;
    }
  }
  x->slots[i] = 0;
  x->n--;
}

void hubc__eidx_free(hubc_store *s) {
  hubc__free(s->base, s->contacts.eidx.slots, s->contacts.eidx.slots ? (s->contacts.eidx.mask + 1) * sizeof *s->contacts.eidx.slots : 0);
  s->contacts.eidx = (hubc__eidx){0};
}
