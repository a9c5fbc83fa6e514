#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "util/base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/error.h"

struct hubc__pool_chunk {
  hubc__pool_chunk *next;
  size_t size, used;
  _Alignas(8) char data[];
};

/* A slab: [next slab][its size in bytes], then blocks from byte 16. */
#define SLAB_BYTES (1u << 20)
#define SLAB_HEAD 16

static void *default_alloc(void *payload, void *ptr, size_t old_n, size_t new_n) {
  (void)payload;
  (void)old_n;
  if (new_n == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, new_n);
}

int hubc__base_new(hubc__base **out, hubc_alloc_fn fn, void *payload) {
  if (!fn) fn = default_alloc;
  hubc__base *b = fn(payload, NULL, 0, sizeof *b);
  if (!b) return hubc__err(HUBC_ENOMEM, "out of memory opening the store");
  atomic_init(&b->refs, 1);
  b->fn = fn;
  b->payload = payload;
  b->chunks = NULL;
  b->dtor = NULL;
  b->dtor_arg = NULL;
  memset(&b->arena, 0, sizeof b->arena);
  pthread_mutex_init(&b->arena.mu, NULL);
  *out = b;
  return 0;
}

void hubc__base_ref(hubc__base *b) { atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed); }

void hubc__base_unref(hubc__base *b) {
  if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
  if (b->dtor) b->dtor(b->dtor_arg);
  hubc__pool_chunk *c = b->chunks;
  while (c) {
    hubc__pool_chunk *next = c->next;
    b->fn(b->payload, c, sizeof *c + c->size, 0);
    c = next;
  }
  for (void *slab = b->arena.chunks; slab;) {
    void *next = *(void **)slab;
    b->fn(b->payload, slab, ((size_t *)slab)[1], 0);
    slab = next;
  }
  pthread_mutex_destroy(&b->arena.mu);
  b->fn(b->payload, b, sizeof *b, 0);
}

void *hubc__alloc(hubc__base *b, size_t n) { return n ? b->fn(b->payload, NULL, 0, n) : NULL; }

void *hubc__calloc(hubc__base *b, size_t n) {
  /* The default allocator's calloc maps large blocks lazily (no page is
   * touched until used): growing an index costs what is used. */
  if (b->fn == default_alloc) return n ? calloc(1, n) : NULL;
  void *p = hubc__alloc(b, n);
  if (p) memset(p, 0, n);
  return p;
}

void *hubc__realloc(hubc__base *b, void *p, size_t old_n, size_t new_n) {
  return b->fn(b->payload, p, p ? old_n : 0, new_n);
}

void hubc__free(hubc__base *b, void *p, size_t n) {
  if (p) b->fn(b->payload, p, n, 0);
}

int hubc__grow_slow(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem) {
  size_t n = *cap ? *cap : 8;
  while (n < need) {
    if (n > SIZE_MAX / 2 / elem) return hubc__err(HUBC_ENOMEM, "out of memory: array of %zu elements", need);
    n *= 2;
  }
  void *p = hubc__realloc(b, *arr, *cap * elem, n * elem);
  if (!p) return hubc__err(HUBC_ENOMEM, "out of memory growing an array to %zu elements", n);
  *arr = p;
  *cap = n;
  return 0;
}

static void *pool_take(hubc__base *b, size_t n) {
  n = (n + 7) & ~(size_t)7;
  hubc__pool_chunk *c = b->chunks;
  if (!c || c->size - c->used < n) {
    size_t size = n > 4096 ? n : 4096;
    c = hubc__alloc(b, sizeof *c + size);
    if (!c) return NULL;
    c->size = size;
    c->used = 0;
    c->next = b->chunks;
    b->chunks = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

int hubc__grow_zeroed(hubc__base *b, void **arr, size_t *cap, size_t need, size_t elem) {
  size_t old = *cap;
  int rc = hubc__grow(b, arr, cap, need, elem);
  if (!rc && *cap > old) memset((char *)*arr + old * elem, 0, (*cap - old) * elem);
  return rc;
}

hubc__pool_mark hubc__pool_mark_get(const hubc__base *b) {
  hubc__pool_mark m = {b->chunks, b->chunks ? b->chunks->used : 0};
  return m;
}

void hubc__pool_rewind(hubc__base *b, hubc__pool_mark m) {
  while (b->chunks != m.chunk) {
    hubc__pool_chunk *c = b->chunks;
    b->chunks = c->next;
    b->fn(b->payload, c, sizeof *c + c->size, 0);
  }
  if (m.chunk) m.chunk->used = m.used;
}

const char *hubc__pool_strdup(hubc__base *b, const char *s, size_t len) {
  char *p = pool_take(b, len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

const char **hubc__pool_ptrs(hubc__base *b, size_t n) {
  return n ? pool_take(b, n * sizeof(char *)) : NULL;
}

/* A new slab of `bytes` to bump from (the rest of the current one is left
 * unused); with the arena's lock held. */
static int slab_new(hubc__base *b, size_t bytes) {
  hubc__arena *a = &b->arena;
  unsigned char *slab = hubc__alloc(b, bytes);
  if (!slab) return 0;
  *(void **)slab = a->chunks;
  ((size_t *)slab)[1] = bytes;
  a->chunks = slab;
  a->bump = slab + SLAB_HEAD; /* keeps blocks 8-aligned */
  a->end = slab + bytes;
  return 1;
}

void hubc__arena_reserve(hubc__base *b, size_t n) {
  hubc__arena *a = &b->arena;
  if (n <= SLAB_BYTES || n > SIZE_MAX - SLAB_HEAD) return;
  pthread_mutex_lock(&a->mu);
  if ((size_t)(a->end - a->bump) < n && slab_new(b, n + SLAB_HEAD)) hubc__huge_advise(a->chunks, n + SLAB_HEAD);
  pthread_mutex_unlock(&a->mu);
}

void hubc__huge_advise(void *p, size_t n) {
#if defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + n) & ~(huge - 1);
  if (n >= 2 * huge && e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p, (void)n;
#endif
}

void *hubc__arena_alloc(hubc__base *b, size_t n) {
  if (n > HUBC__ARENA_MAX) return hubc__alloc(b, n);
  size_t cls = (n + 7) / 8, size = cls * 8;
  hubc__arena *a = &b->arena;
  pthread_mutex_lock(&a->mu);
  void *p = a->free[cls];
  if (p) {
    a->free[cls] = *(void **)p;
  } else {
    if ((size_t)(a->end - a->bump) < size && !slab_new(b, SLAB_BYTES)) {
      pthread_mutex_unlock(&a->mu);
      return NULL;
    }
    p = a->bump;
    a->bump += size;
  }
  pthread_mutex_unlock(&a->mu);
  return p;
}

void hubc__arena_free(hubc__base *b, void *p, size_t n) {
  if (!p) return;
  if (n > HUBC__ARENA_MAX) {
    hubc__free(b, p, n);
    return;
  }
  size_t cls = (n + 7) / 8;
  hubc__arena *a = &b->arena;
  pthread_mutex_lock(&a->mu);
  *(void **)p = a->free[cls];
  a->free[cls] = p;
  pthread_mutex_unlock(&a->mu);
}
