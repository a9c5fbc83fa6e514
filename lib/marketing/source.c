/* Default marketing status by creation source (D1) and its switches (D2). */
#include "store/store.h"

static int configurable(int source) {
  return source == HUBC_SOURCE_CHATFLOW || source == HUBC_SOURCE_INTEGRATION || source == HUBC_SOURCE_EXTERNAL_FORM;
}

static long find_switch(const hubc_store *s, int source, hubc_id id) {
  for (size_t i = 0; i < s->switches_n; i++)
    if (s->switches[i].source == source && s->switches[i].id == id) return (long)i;
  return -1;
}

int hubc__source_default(const hubc_store *s, int source, hubc_id source_id) {
  if (!configurable(source)) return 0; /* manual asks explicitly; the rest are non-marketing (D1) */
  if (source == HUBC_SOURCE_EXTERNAL_FORM) source_id = 0;
  long i = find_switch(s, source, source_id);
  if (i >= 0) return s->switches[i].on;
  return source == HUBC_SOURCE_EXTERNAL_FORM; /* external forms: marketing unless switched off */
}

static int check_source(int source, hubc_id source_id, const char *what) {
  if (!configurable(source))
    return hubc__err(HUBC_EINVAL, "%s: source %d (%s) has no configurable default (D1)", what, source,
                     hubc_source_name(source) ? hubc_source_name(source) : "unknown");
  if (source == HUBC_SOURCE_EXTERNAL_FORM ? source_id != 0 : source_id <= 0)
    return hubc__err(HUBC_EINVAL, "%s: source id %lld is invalid for %s (%s)", what, (long long)source_id,
                     hubc_source_name(source),
                     source == HUBC_SOURCE_EXTERNAL_FORM ? "store-wide: use 0" : "must be > 0");
  return 0;
}

HUBC_API int hubc_source_set_default(hubc_store *s, hubc_id actor, int source, hubc_id source_id, int marketing) {
  const char *what = "set source default";
  int rc = check_source(source, source_id, what);
  if (rc) return rc;
  if (marketing != 0 && marketing != 1)
    return hubc__err(HUBC_EINVAL, "%s: marketing must be 0 or 1, not %d", what, marketing);
  if ((rc = hubc__write_begin(s, actor, HUBC_PERM_MARKETING_ACCESS, what))) return rc;
  rc = hubc__require_user(s, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    hubc__switch sw = {source_id, (uint8_t)source, (uint8_t)marketing};
    long i = find_switch(s, source, source_id);
    if (i < 0) {
      rc = hubc__grow(s->base, (void **)&s->switches, &s->switches_cap, s->switches_n + 1, sizeof *s->switches);
      if (!rc) {
        s->switches[s->switches_n] = sw; /* undone by restoring switches_n */
        s->switches_n++;
        hubc__txn_dirty(s, HUBC_REC_SWITCH, source);
      }
    } else if (s->switches[i].on != marketing) {
      hubc__txn_switch(s, (size_t)i, &sw);
    }
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_source_get_default(int *marketing, hubc_store *s, int source, hubc_id source_id) {
  if (!marketing) return hubc__err(HUBC_EINVAL, "get source default: marketing is NULL");
  int rc = check_source(source, source_id, "get source default");
  if (rc || (rc = hubc__read_begin(s))) return rc;
  *marketing = hubc__source_default(s, source, source_id);
  return hubc__read_end(s, 0);
}
