#include "schema/schema.h"

#include <string.h>

#include "util/error.h"
#include "util/text.h"

static const char *const lifecycle_options[] = {
  "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
  "opportunity", "customer", "evangelist", "other"};

static const struct builtin {
  const char *name, *label;
  uint8_t type, flags;
} builtins[HUBC__P_BUILTIN_COUNT] = {
  {"email", "Email", HUBC_PROP_STRING, 0},
  {"firstname", "First Name", HUBC_PROP_STRING, 0},
  {"lastname", "Last Name", HUBC_PROP_STRING, 0},
  {"phone", "Phone Number", HUBC_PROP_STRING, 0},
  {"company", "Company Name", HUBC_PROP_STRING, 0},
  {"city", "City", HUBC_PROP_STRING, 0},
  {"country", "Country/Region", HUBC_PROP_STRING, 0},
  {"jobtitle", "Job Title", HUBC_PROP_STRING, 0},
  {"website", "Website URL", HUBC_PROP_STRING, 0},
  {"lifecyclestage", "Lifecycle Stage", HUBC_PROP_ENUMERATION, 0},
  {"hs_email_optout", "Unsubscribed from all email", HUBC_PROP_BOOL, 0},
  {"hs_email_hard_bounced", "Email hard bounced", HUBC_PROP_BOOL, 0},
  {"hs_object_id", "Record ID", HUBC_PROP_NUMBER, HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"createdate", "Create Date", HUBC_PROP_DATETIME, HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"lastmodifieddate", "Last Modified Date", HUBC_PROP_DATETIME, HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"hs_marketable_status", "Marketing contact status", HUBC_PROP_BOOL, HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"hs_marketable_until_renewal", "Marketing contact until next update", HUBC_PROP_BOOL,
   HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"hs_marketable_reason_type", "Marketing contact status source type", HUBC_PROP_STRING,
   HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
  {"hs_marketable_reason_id", "Marketing contact status source ID", HUBC_PROP_STRING,
   HUBC_PROP_READONLY | HUBC_PROP_COMPUTED},
};

const char *hubc__type_name(int type) {
  switch (type) {
  case HUBC_PROP_STRING: return "string";
  case HUBC_PROP_NUMBER: return "number";
  case HUBC_PROP_BOOL: return "bool";
  case HUBC_PROP_DATETIME: return "datetime";
  case HUBC_PROP_ENUMERATION: return "enumeration";
  default: return "?";
  }
}

static void index_add(hubc__schema *s, const char *key, uint32_t i) {
  uint32_t h = hubc__hash_ci(key, strlen(key));
  for (uint32_t pos = h & s->index_mask;; pos = (pos + 1) & s->index_mask) {
    uint32_t v = s->index[pos];
    if (v == 0) {
      s->index[pos] = i + 1;
      return;
    }
    const hubc__prop *p = &s->props[v - 1];
    if (hubc__eq_ci(p->name, key) || (p->label && hubc__eq_ci(p->label, key))) return; /* first wins */
  }
}

static int find_indexed(const hubc__schema *s, const char *key);

/* Callers pass the same name strings call after call (static arrays), so a
 * per-thread cache maps a name's address to its index. A hit is re-checked
 * against the cached property's exact name or label, so a reused buffer or
 * another schema just misses; case variants take the full path. Two ways
 * per set, the address mixed: names laid out side by side (a 5-byte "city"
 * beside "phone") must not evict each other call after call. */
#define NAME_SETS 32
static _Thread_local struct {
  const char *key;
  uint32_t prop;
} name_cache[NAME_SETS][2];

int hubc__schema_find(const hubc__schema *s, const char *key) {
  size_t set = (size_t)(((uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 59);
  for (int w = 0; w < 2; w++) {
    const char *k = name_cache[set][w].key;
    uint32_t prop = name_cache[set][w].prop;
    if (k == key && prop < s->n) {
      const hubc__prop *p = &s->props[prop];
      if (strcmp(p->name, key) == 0 || (p->label && strcmp(p->label, key) == 0)) return (int)prop;
    }
  }
  int found = find_indexed(s, key);
  if (found >= 0) { /* the newest in way 0, the one it displaces in way 1 */
    name_cache[set][1] = name_cache[set][0];
    name_cache[set][0].key = key;
    name_cache[set][0].prop = (uint32_t)found;
  }
  return found;
}

static int find_indexed(const hubc__schema *s, const char *key) {
  uint32_t h = hubc__hash_ci(key, strlen(key));
  for (uint32_t pos = h & s->index_mask;; pos = (pos + 1) & s->index_mask) {
    uint32_t v = s->index[pos];
    if (v == 0) return -1;
    const hubc__prop *p = &s->props[v - 1];
    if (strcmp(p->name, key) == 0) return (int)(v - 1); /* the usual spelling, cheapest test first */
    if (hubc__eq_ci(p->name, key) || (p->label && hubc__eq_ci(p->label, key))) return (int)(v - 1);
  }
}

/* Builds a schema over props[0..n) (copied) with a fresh index. */
static int build(hubc__schema **out, hubc__base *base, const hubc__prop *props, uint32_t n) {
  hubc__schema *s = hubc__calloc(base, sizeof *s);
  if (!s) return hubc__err(HUBC_ENOMEM, "out of memory building the property schema");
  uint32_t cap = 64;
  while (cap < 4 * n) cap *= 2;
  s->props = hubc__alloc(base, (n ? n : 1) * sizeof *s->props);
  s->index = hubc__calloc(base, cap * sizeof *s->index);
  if (!s->props || !s->index) {
    hubc__free(base, s->props, (n ? n : 1) * sizeof *s->props);
    hubc__free(base, s->index, cap * sizeof *s->index);
    hubc__free(base, s, sizeof *s);
    return hubc__err(HUBC_ENOMEM, "out of memory building the property schema");
  }
  atomic_init(&s->refs, 1);
  s->base = base;
  hubc__base_ref(base);
  s->n = n;
  s->index_mask = cap - 1;
  memcpy(s->props, props, n * sizeof *props);
  for (uint32_t i = 0; i < n; i++) index_add(s, props[i].name, i);
  for (uint32_t i = 0; i < n; i++)
    if (props[i].label) index_add(s, props[i].label, i);
  for (uint32_t i = 0; i < n; i++)
    if ((props[i].type == HUBC_PROP_NUMBER || props[i].type == HUBC_PROP_DATETIME) &&
        !(props[i].flags & HUBC_PROP_COMPUTED))
      s->typed = 1;
  *out = s;
  return 0;
}

int hubc__schema_new_builtin(hubc__schema **out, hubc__base *base) {
  hubc__prop props[HUBC__P_BUILTIN_COUNT];
  const char **opts = hubc__pool_ptrs(base, 8);
  if (!opts) return hubc__err(HUBC_ENOMEM, "out of memory building the property schema");
  for (size_t i = 0; i < 8; i++) opts[i] = lifecycle_options[i]; /* static strings live forever */
  for (uint32_t i = 0; i < HUBC__P_BUILTIN_COUNT; i++) {
    props[i].name = builtins[i].name;
    props[i].label = builtins[i].label;
    props[i].type = builtins[i].type;
    props[i].flags = (uint8_t)(builtins[i].flags | HUBC_PROP_BUILTIN);
    props[i].options = i == HUBC__P_LIFECYCLE ? opts : NULL;
    props[i].n_options = i == HUBC__P_LIFECYCLE ? 8 : 0;
  }
  return build(out, base, props, HUBC__P_BUILTIN_COUNT);
}

int hubc__schema_with(hubc__schema **out, const hubc__schema *s, const hubc__prop *p) {
  if (s->n >= HUBC__MAX_PROPERTIES)
    return hubc__err(HUBC_ELIMIT, "the schema already holds %d properties (limit)", HUBC__MAX_PROPERTIES);
  hubc__prop *props = hubc__alloc(s->base, (s->n + 1) * sizeof *props);
  if (!props) return hubc__err(HUBC_ENOMEM, "out of memory adding property '%s'", p->name);
  memcpy(props, s->props, s->n * sizeof *props);
  props[s->n] = *p;
  int rc = build(out, s->base, props, s->n + 1);
  hubc__free(s->base, props, (s->n + 1) * sizeof *props);
  return rc;
}

void hubc__schema_ref(hubc__schema *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void hubc__schema_unref(hubc__schema *s) {
  if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
  hubc__base *b = s->base;
  hubc__free(b, s->props, (s->n ? s->n : 1) * sizeof *s->props);
  hubc__free(b, s->index, (s->index_mask + 1) * sizeof *s->index);
  hubc__free(b, s, sizeof *s);
  hubc__base_unref(b);
}

int hubc__schema_option(const hubc__prop *p, const char *value) {
  for (int i = 0; i < p->n_options; i++) /* first bytes equal but for case, or no need to compare on */
    if (!((p->options[i][0] ^ value[0]) & ~0x20) && hubc__eq_ci(p->options[i], value)) return i;
  return -1;
}

int hubc__schema_check_prop(const hubc__schema *s, const char *name, const char *label, int type,
                            const char *const *options, size_t n_options) {
  if (!name) return hubc__err(HUBC_EINVAL, "property name is NULL");
  size_t len = strlen(name);
  if (len == 0 || len > 100) return hubc__err(HUBC_EINVAL, "property name '%.100s' must be 1 to 100 bytes", name);
  for (size_t i = 0; i < len; i++) {
    char c = name[i]; /* plain ranges: the host's locale must not widen [a-z0-9_] */
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return hubc__err(HUBC_EINVAL, "property name '%.100s': byte %zu is not one of [a-z0-9_]", name, i);
  }
  size_t label_len = strlen(label);
  if (label_len > 1000 || !hubc__utf8_valid(label, label_len))
    return hubc__err(HUBC_EINVAL, "property '%s': label must be valid UTF-8 of at most 1000 bytes", name);
  if (hubc__schema_find(s, name) >= 0) return hubc__err(HUBC_EEXISTS, "property '%s' already exists", name);
  int other = label != name ? hubc__schema_find(s, label) : -1;
  if (other >= 0)
    return hubc__err(HUBC_EEXISTS, "property '%s': label '%s' is already used by property '%s'", name, label,
                     s->props[other].name);
  if (type < HUBC_PROP_STRING || type > HUBC_PROP_ENUMERATION)
    return hubc__err(HUBC_EINVAL, "property '%s': unknown type %d", name, type);
  if (type == HUBC_PROP_ENUMERATION) {
    if (!options || n_options == 0 || n_options > 1000)
      return hubc__err(HUBC_EINVAL, "property '%s': an enumeration needs 1 to 1000 options", name);
  } else if (n_options) {
    return hubc__err(HUBC_EINVAL, "property '%s': only enumerations take options", name);
  }
  /* duplicates found through a small hash table, not by comparing every
   * pair (up to 1000 options of up to 1000 bytes) */
  uint16_t seen[2048] = {0}; /* option index + 1 */
  for (size_t i = 0; i < n_options; i++) {
    if (!options[i] || !*options[i] || strlen(options[i]) > 1000 || !hubc__utf8_valid(options[i], strlen(options[i])))
      return hubc__err(HUBC_EINVAL, "property '%s': option %zu must be non-empty valid UTF-8 (≤ 1000 bytes)", name, i);
    for (uint32_t pos = hubc__hash_ci(options[i], strlen(options[i])) & 2047;; pos = (pos + 1) & 2047) {
      if (!seen[pos]) {
        seen[pos] = (uint16_t)(i + 1);
        break;
      }
      if (hubc__eq_ci(options[seen[pos] - 1], options[i]))
        return hubc__err(HUBC_EINVAL, "property '%s': option '%s' is given twice", name, options[i]);
    }
  }
  return 0;
}

int hubc__schema_make_prop(hubc__prop *out, hubc__base *base, const hubc__schema *s, const char *name,
                           const char *label, int type, const char *const *options, size_t n_options) {
  if (!label || !*label) label = name;
  int rc = hubc__schema_check_prop(s, name, label, type, options, n_options);
  if (rc) return rc;
  /* everything checked: only now copy into the pool (which the caller's
   * transaction rewinds if it fails later) */
  memset(out, 0, sizeof *out);
  out->name = hubc__pool_strdup(base, name, strlen(name));
  out->label = hubc__pool_strdup(base, label, strlen(label));
  if (n_options) {
    out->options = hubc__pool_ptrs(base, n_options);
    for (size_t i = 0; out->options && i < n_options; i++)
      if (!(out->options[i] = hubc__pool_strdup(base, options[i], strlen(options[i])))) out->options = NULL;
    if (!out->options) return hubc__err(HUBC_ENOMEM, "out of memory defining property '%s'", name);
  }
  if (!out->name || !out->label) return hubc__err(HUBC_ENOMEM, "out of memory defining property '%s'", name);
  out->type = (uint8_t)type;
  out->n_options = (uint16_t)n_options;
  return 0;
}
