/* The allocator hook and the string pool, shared (reference-counted) by a
 * store and everything that may outlive it: snapshots, schema versions. */
#ifndef HUBC_UTIL_BASE_H
#define HUBC_UTIL_BASE_H

#include <stdatomic.h>
#include <stddef.h>

#include "hubcontacts/common.h"

typedef struct hubc__pool_chunk hubc__pool_chunk;

typedef struct hubc__base {
  atomic_uint refs;
  hubc_alloc_fn fn;
  void *payload;
  hubc__pool_chunk *chunks; /* interned strings: names, labels, options */
} hubc__base;

int hubc__base_new(hubc__base **out, hubc_alloc_fn fn, void *payload);
void hubc__base_ref(hubc__base *b);
void hubc__base_unref(hubc__base *b);

void *hubc__alloc(hubc__base *b, size_t n);   /* NULL on failure */
void *hubc__calloc(hubc__base *b, size_t n);
void *hubc__realloc(hubc__base *b, void *p, size_t old_n, size_t new_n);
void hubc__free(hubc__base *b, void *p, size_t n);

/* Grows *arr (element size `elem`) so it holds at least `need` elements.
 * Returns 0 or HUBC_ENOMEM (with message); *arr untouched on failure. */
int hubc__grow(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem);

/* Copies s (len bytes + NUL) into the pool; lives until the base dies. */
const char *hubc__pool_strdup(hubc__base *b, const char *s, size_t len);
/* Pool space for an array of n pointers. */
const char **hubc__pool_ptrs(hubc__base *b, size_t n);

#endif
