/* The email index (C3, C5): normalized email → current record version.
 * Open addressing with linear probing and backward-shift deletion, so a
 * lookup reads one table slot and one record. An entry packs
 *   [16-bit tag from the email's hash][48-bit record address]
 * and, in the address's 3 low bits (records are 8-aligned), how many cache
 * lines the record spans beyond its first (capped at 7): a lookup fetches
 * the whole record at once instead of line by line as its fields are read.
 * Homes are recomputed from the records' emails when needed (growth,
 * deletion). The probe helpers are inline: lookups are the hot path. */
#ifndef HUBC_CONTACT_EMAIL_INDEX_H
#define HUBC_CONTACT_EMAIL_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "contact/record.h"
#include "hubcontacts/store.h"

typedef struct hubc__eidx {
  uint64_t *slots; /* 0 = empty */
  size_t mask, n;  /* capacity - 1, entries */
  const hubc__rec *hint; /* hubc__eidx_hint: this record's email hashes to hint_h */
  uint32_t hint_h;
} hubc__eidx;

#define HUBC__EIDX_TAG_MASK 0xffff000000000000ULL
#define HUBC__EIDX_TAG(h) ((uint64_t)((h) >> 16) << 48)
#define HUBC__EIDX_REC(e) ((hubc__rec *)(uintptr_t)((e) & 0xfffffffffff8ULL))

/* Room for `extra` more entries (grows by doubling, keeps load ≤ 3/4). */
int hubc__eidx_reserve(hubc_store *s, size_t extra);
/* The current record whose (normalized) email this is, or NULL. */
hubc__rec *hubc__eidx_find(const hubc_store *s, const char *email, size_t len);
/* The hash of r's email, known to a caller that just looked the email up:
 * the insert or replace of r inside the next hubc__txn_slot uses it
 * instead of hashing the email again. Clear it (NULL) right after that
 * call, so that no later record at the same address takes it. */
static inline void hubc__eidx_hint(hubc__eidx *x, const hubc__rec *r, uint32_t h) {
  x->hint = r;
  x->hint_h = h;
}
/* Needs room (hubc__eidx_reserve); r's email must not be indexed yet. */
void hubc__eidx_insert(hubc_store *s, hubc__rec *r);
void hubc__eidx_remove(hubc_store *s, const hubc__rec *r);
/* A new version r of `old` with the same email takes old's entry. */
void hubc__eidx_replace(hubc_store *s, const hubc__rec *old, hubc__rec *r);
void hubc__eidx_free(hubc_store *s);

/* The prefetch helpers are always inlined: GCC counts a prefetch as no side
 * effect, so it judges an out-of-line helper "pure" and deletes the call
 * (it deleted get_many's whole record-prefetch pass). */
#define HUBC__PREFETCH_HELPER static inline __attribute__((always_inline))

/* Starts fetching every line of an entry's record. */
HUBC__PREFETCH_HELPER void hubc__eidx_fetch_record(uint64_t e) {
  const char *r = (const char *)HUBC__EIDX_REC(e);
  for (unsigned i = 0; i <= (e & 7); i++) __builtin_prefetch(r + 64 * i);
}

/* Starts fetching the home slot of hash h (first pass of a batched lookup). */
HUBC__PREFETCH_HELPER void hubc__eidx_prefetch_slot(const hubc__eidx *x, uint32_t h) {
  if (x->slots) __builtin_prefetch(&x->slots[h & x->mask]);
}

/* Starts fetching the record the home slot of h names, if its tag matches
 * (second pass: the slot is in cache by now). */
HUBC__PREFETCH_HELPER void hubc__eidx_prefetch_rec(const hubc__eidx *x, uint32_t h) {
  if (!x->slots) return;
  uint64_t e = x->slots[h & x->mask];
  if (e && (e & HUBC__EIDX_TAG_MASK) == HUBC__EIDX_TAG(h)) hubc__eidx_fetch_record(e);
}

/* Probes for an email whose hash is known. The whole record is fetched
 * while its first line is compared: the caller reads its fields next. */
static inline hubc__rec *hubc__eidx_probe(const hubc__eidx *x, const char *email, uint32_t h) {
  if (!x->slots) return NULL;
  uint64_t tag = HUBC__EIDX_TAG(h);
  for (size_t pos = h & x->mask;; pos = (pos + 1) & x->mask) {
    uint64_t e = x->slots[pos];
    if (!e) return NULL;
    if ((e & HUBC__EIDX_TAG_MASK) == tag) {
      hubc__rec *r = HUBC__EIDX_REC(e);
      hubc__eidx_fetch_record(e);
      if (strcmp(hubc__rec_email(r), email) == 0) return r;
    }
  }
}

#endif
