/* Public schema calls: define custom properties, read definitions. */
#include <string.h>

#include "store/store.h"
#include "util/text.h"

HUBC_API int hubc_property_define(hubc_store *s, hubc_id actor, const char *name, const char *label, int type,
                                  const char *const *options, size_t n_options) {
  const char *what = "define property";
  int rc = hubc__write_begin(s, actor, HUBC_PERM_EDIT_CONTACTS, what);
  if (rc) return rc;
  hubc__prop p;
  hubc__schema *next = NULL;
  rc = hubc__require_user(s, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = hubc__schema_make_prop(&p, s->base, s->schema, name, label, type, options, n_options);
  if (!rc) rc = hubc__schema_with(&next, s->schema, &p);
  if (!rc) {
    s->schema = next; /* the old version is released at commit, restored on undo */
    hubc__txn_dirty(s, HUBC_REC_PROPERTY, (int64_t)next->n);
  }
  return hubc__write_end(s, rc);
}

static void fill(hubc_property_info *out, const hubc__prop *p) {
  out->name = p->name;
  out->label = p->label;
  out->type = p->type;
  out->flags = p->flags;
  out->n_options = p->n_options;
  out->options = p->options;
}

static int check_info(const hubc_property_info *out) {
  if (!out) return hubc__err(HUBC_EINVAL, "property info: out is NULL");
  return hubc__version_check(out->version, HUBC_PROPERTY_INFO_VERSION, "property info");
}

HUBC_API int hubc_property_count(size_t *out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "property count: out is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  *out = s->schema->n;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_property_at(hubc_property_info *out, hubc_store *s, size_t index) {
  int rc = check_info(out);
  if (rc || (rc = hubc__read_begin(s))) return rc;
  if (index >= s->schema->n)
    rc = hubc__err(HUBC_ENOTFOUND, "property index %zu is past the last (%u)", index, s->schema->n);
  else fill(out, &s->schema->props[index]);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_property_find(hubc_property_info *out, hubc_store *s, const char *name) {
  int rc = check_info(out);
  if (rc) return rc;
  if (!name) return hubc__err(HUBC_EINVAL, "property find: name is NULL");
  if (!hubc__utf8_valid(name, strlen(name))) return hubc__err(HUBC_EINVAL, "property find: name is not valid UTF-8");
  if ((rc = hubc__read_begin(s))) return rc;
  int i = hubc__schema_find(s->schema, name);
  if (i < 0) rc = hubc__err(HUBC_ENOTFOUND, "property '%.100s' does not exist", name);
  else fill(out, &s->schema->props[i]);
  return hubc__read_end(s, rc);
}
