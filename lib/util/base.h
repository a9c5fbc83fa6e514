/* The allocator hook and the string pool, shared (reference-counted) by a
 * store and everything that may outlive it: snapshots, schema versions. */
#ifndef HUBC_UTIL_BASE_H
#define HUBC_UTIL_BASE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "hubcontacts/common.h"

typedef struct hubc__pool_chunk hubc__pool_chunk;

/* Small blocks (contact records) come from size-classed slabs: no per-block
 * header, 8-byte granularity. Blocks may be freed from any thread (a
 * snapshot may hold the last reference), hence the mutex. */
#define HUBC__ARENA_MAX 1024
typedef struct hubc__arena {
  pthread_mutex_t mu;
  void *chunks;               /* list of slabs, linked through their first word */
  unsigned char *bump, *end;
  void *free[HUBC__ARENA_MAX / 8 + 1];
} hubc__arena;

typedef struct hubc__base {
  atomic_uint refs;
  hubc_alloc_fn fn;
  void *payload;
  hubc__pool_chunk *chunks; /* interned strings: names, labels, options */
  hubc__arena arena;
  /* Run when the last reference goes, before anything is freed: frees the
   * store's handle, which outlives hubc_store_close while iterators hold
   * the base (a later call gets an error, not a use-after-free). */
  void (*dtor)(void *arg);
  void *dtor_arg;
} hubc__base;

int hubc__base_new(hubc__base **out, hubc_alloc_fn fn, void *payload);
void hubc__base_ref(hubc__base *b);
void hubc__base_unref(hubc__base *b);

void *hubc__alloc(hubc__base *b, size_t n);   /* NULL on failure */
void *hubc__calloc(hubc__base *b, size_t n);
void *hubc__realloc(hubc__base *b, void *p, size_t old_n, size_t new_n);
void hubc__free(hubc__base *b, void *p, size_t n);

/* Grows *arr (element size `elem`) so it holds at least `need` elements.
 * Returns 0 or HUBC_ENOMEM (with message); *arr untouched on failure.
 * Inline check first: every call reserves, few calls grow. */
int hubc__grow_slow(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem);
static inline int hubc__grow(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem) {
  return need <= *cap ? 0 : hubc__grow_slow(b, arr, cap, need, elem);
}

/* hubc__grow, with the new elements zeroed: for tables indexed by an id
 * that a loader fills in any order. */
int hubc__grow_zeroed(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem);

/* Blocks of up to HUBC__ARENA_MAX bytes from the slabs, larger from the
 * hook; free with the same size. */
void *hubc__arena_alloc(hubc__base *b, size_t n);
void hubc__arena_free(hubc__base *b, void *p, size_t n);
/* Room for about n more bytes of blocks in one slab of its own (a bulk
 * call about to build that many records), in huge pages: advice, nothing
 * happens if the slab cannot be had. */
void hubc__arena_reserve(hubc__base *b, size_t n);

/* Asks the kernel for huge pages over the 2 MiB-aligned part of a block of
 * n bytes (from 4 MiB): a big block a bulk call fills at once (an import's
 * file buffer, the email index, a reserved slab) then costs one page fault
 * per 2 MiB instead of one per 4 KiB, each ~15 us on the VMs measured.
 * Advice only: contents and owner unchanged; nothing where unsupported. */
void hubc__huge_advise(void *p, size_t n);

/* Where the pool ends now; rewinding to it frees what was pooled since
 * (a failed transaction's strings, which nothing else can reference). */
typedef struct hubc__pool_mark {
  hubc__pool_chunk *chunk;
  size_t used;
} hubc__pool_mark;
hubc__pool_mark hubc__pool_mark_get(const hubc__base *b);
void hubc__pool_rewind(hubc__base *b, hubc__pool_mark m);

/* Copies s (len bytes + NUL) into the pool; lives until the base dies. */
const char *hubc__pool_strdup(hubc__base *b, const char *s, size_t len);
/* Pool space for an array of n pointers. */
const char **hubc__pool_ptrs(hubc__base *b, size_t n);

#endif
