/* Rebuilding a store from the records a backend pushes at open (R1). The
 * backend may push records in any order and repeat keys (last wins), so
 * cross-record checks run once at the end. Every byte is distrusted. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/store.h"
#include "util/text.h"

/* History and periods arrive keyed by sequence number; they are staged in
 * arrival order and placed at the end, so their arrays are sized by the
 * records present, not by an id read from storage. */
typedef struct staged_hist {
  int64_t id;
  size_t order;
  hubc__hist h;
} staged_hist;

typedef struct staged_period {
  int64_t id;
  size_t order;
  hubc_period p;
} staged_period;

/* Contacts too: the id table is sized at the end by the largest live id,
 * checked against the stored next id. The table is dense by design (8
 * bytes per id ever issued, README "Limits"), so a store whose ids reach
 * far needs that memory; with a capped allocator that is HUBC_ENOMEM.
 * rec NULL stages a delete. */
typedef struct staged_contact {
  int64_t id;
  hubc__rec *rec;
} staged_contact;

struct hubc_loader {
  hubc_store *s;
  hubc_loader *next_live; /* the list of loaders inside load() */
  hubc_loader *outer;     /* this thread's loader before this one (nested opens) */
  int err;                /* the first put/del failure: the open fails with it */
  char err_msg[512];
  staged_contact *contacts;
  size_t contacts_n, contacts_cap;
  int have_meta;
  hubc__prop *props; /* custom properties by index - HUBC__P_BUILTIN_COUNT */
  size_t props_cap;
  staged_hist *hist;
  size_t hist_n, hist_cap;
  staged_period *periods;
  size_t periods_n, periods_cap;
  int64_t meta_next_id, meta_next_user;
  hubc__billing bill_defaults; /* what a META record's absent fields mean */
};

static int corrupt(int kind, hubc_id id, const char *what) {
  return hubc__err(HUBC_ECORRUPT, "stored %s record %lld is corrupt: %s", hubc__kind_name(kind), (long long)id, what);
}

static int open_record(hubc__rd *r, const void *bytes, size_t len, int kind, hubc_id id) {
  if (!bytes || len < 1) return corrupt(kind, id, "empty");
  r->p = bytes;
  r->end = r->p + len;
  if (*r->p != HUBC__FORMAT_VERSION)
    return hubc__err(HUBC_EVERSION, "stored record (kind %d, id %lld) has format version %u; this library reads %d",
                     kind, (long long)id, *r->p, HUBC__FORMAT_VERSION);
  r->p++;
  return 0;
}

/* Generic field loop: calls back for every known tag as an integer or
 * bytes; unknown tags are skipped (forward compatibility). */
#define FOR_FIELDS(r, tag, body, kind, id)                                     \
  for (int fr_; (fr_ = hubc__rd_field(&(r), &(tag), &(body))) != 0;)          \
    if (fr_ < 0) return corrupt(kind, id, "malformed field");                  \
    else

static int as_int(hubc__rd body, int64_t *v, int kind, hubc_id id) {
  if (hubc__rd_int(body, v)) return corrupt(kind, id, "malformed integer");
  return 0;
}


static int load_meta(hubc_loader *l, hubc__rd r) {
  hubc_store *s = l->s;
  /* a later META replaces an earlier one whole (last put wins): fields it
   * lacks take their defaults, not the earlier record's values */
  s->bill = l->bill_defaults;
  l->meta_next_id = l->meta_next_user = 1;
  uint64_t tag;
  hubc__rd body;
  int64_t v;
  int has_downgrade_at = 0;
  FOR_FIELDS(r, tag, body, HUBC_REC_META, 1) {
    if (tag > HUBC__T_META_DOWNGRADE_AT) continue;
    has_downgrade_at |= tag == HUBC__T_META_DOWNGRADE_AT;
    if (as_int(body, &v, HUBC_REC_META, 1)) return HUBC_ECORRUPT;
    switch (tag) {
    case HUBC__T_META_NEXT_ID: l->meta_next_id = v; break;
    case HUBC__T_META_NEXT_USER: l->meta_next_user = v; break;
    case HUBC__T_META_TIER: s->bill.tier = (uint64_t)v; break;
    case HUBC__T_META_PERIOD_START: s->bill.period_start = v; break;
    case HUBC__T_META_PEAK: s->bill.peak = (uint64_t)v; break;
    case HUBC__T_META_ALERTS: s->bill.alerts = (uint64_t)v & 0xf; break;
    case HUBC__T_META_DOWNGRADE: s->bill.downgrade = (uint64_t)v; break;
    case HUBC__T_META_RENEWAL_BASE: s->bill.renewal_base = v; break;
    case HUBC__T_META_DOWNGRADE_AT: s->bill.downgrade_at = v; break;
    }
  }
  if (s->bill.tier == 0 || s->bill.tier > HUBC__TIER_MAX) return corrupt(HUBC_REC_META, 1, "tier out of range");
  if (!hubc__time_ok(s->bill.period_start) || !hubc__time_ok(s->bill.renewal_base) ||
      (s->bill.downgrade && !hubc__time_ok(s->bill.downgrade_at)))
    return corrupt(HUBC_REC_META, 1, "a time outside years 1 to 9999");
  if (s->bill.downgrade >= s->bill.tier || (!s->bill.downgrade && s->bill.downgrade_at) ||
      (s->bill.downgrade && !has_downgrade_at))
    return corrupt(HUBC_REC_META, 1, "inconsistent downgrade request");
  if (l->meta_next_id < 1 || l->meta_next_id > 0xffffffffLL || l->meta_next_user < 1 ||
      l->meta_next_user > HUBC__MAX_USERS + 1)
    return corrupt(HUBC_REC_META, 1, "counter out of range");
  return 0;
}

static int pooled(hubc_store *s, hubc__rd body, const char **out, int kind, hubc_id id) {
  size_t len = (size_t)(body.end - body.p);
  if (!hubc__utf8_valid((const char *)body.p, len)) return corrupt(kind, id, "string is not valid UTF-8");
  *out = hubc__pool_strdup(s->base, (const char *)body.p, len);
  return *out ? 0 : hubc__err(HUBC_ENOMEM, "out of memory loading the store");
}

static int load_property(hubc_loader *l, hubc_id id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= HUBC__P_BUILTIN_COUNT || id > HUBC__MAX_PROPERTIES) return corrupt(HUBC_REC_PROPERTY, id, "bad index");
  size_t k = (size_t)id - 1 - HUBC__P_BUILTIN_COUNT, old = l->props_cap;
  if (hubc__grow(s->base, (void **)&l->props, &l->props_cap, k + 1, sizeof *l->props)) return HUBC_ENOMEM;
  if (l->props_cap > old) memset(l->props + old, 0, (l->props_cap - old) * sizeof *l->props);
  hubc__prop p = {0};
  uint64_t tag;
  hubc__rd body;
  int64_t v;
  const char *opts[1000];
  size_t n_opts = 0;
  FOR_FIELDS(r, tag, body, HUBC_REC_PROPERTY, id) {
    int rc = 0;
    switch (tag) {
    case HUBC__T_PROP_NAME: rc = pooled(s, body, &p.name, HUBC_REC_PROPERTY, id); break;
    case HUBC__T_PROP_LABEL: rc = pooled(s, body, &p.label, HUBC_REC_PROPERTY, id); break;
    case HUBC__T_PROP_TYPE:
      if (!(rc = as_int(body, &v, HUBC_REC_PROPERTY, id))) p.type = (uint8_t)v;
      if (!rc && (v < HUBC_PROP_STRING || v > HUBC_PROP_ENUMERATION)) rc = corrupt(HUBC_REC_PROPERTY, id, "bad type");
      break;
    case HUBC__T_PROP_FLAGS: break; /* custom properties carry no flags */
    case HUBC__T_PROP_OPTION:
      if (n_opts == 1000) return corrupt(HUBC_REC_PROPERTY, id, "too many options");
      rc = pooled(s, body, &opts[n_opts], HUBC_REC_PROPERTY, id);
      n_opts++;
      break;
    }
    if (rc) return rc;
  }
  if (!p.name || !p.label) return corrupt(HUBC_REC_PROPERTY, id, "missing name or label");
  /* the definition rules of hubc_property_define, against the built-ins
   * (duplicates among custom properties are found when they are placed) */
  int bad = hubc__schema_check_prop(s->schema, p.name, p.label, p.type, opts, n_opts);
  if (bad) {
    char why[400];
    snprintf(why, sizeof why, "%s: %s", bad == HUBC_EEXISTS ? "duplicate name or label" : "invalid definition",
             hubc_error_last());
    return corrupt(HUBC_REC_PROPERTY, id, why);
  }
  if (n_opts) {
    p.options = hubc__pool_ptrs(s->base, n_opts);
    if (!p.options) return hubc__err(HUBC_ENOMEM, "out of memory loading the store");
    memcpy(p.options, opts, n_opts * sizeof *opts);
    p.n_options = (uint16_t)n_opts;
  }
  l->props[k] = p;
  return 0;
}

static int load_contact(hubc_loader *l, hubc_id id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > 0xffffffffLL) return corrupt(HUBC_REC_CONTACT, id, "bad record id");
  int64_t created = 0, modified = 0, status = HUBC_NON_MARKETING, source = HUBC_SOURCE_MANUAL, source_id = 0;
  hubc__rd props = {NULL, NULL}, body;
  uint64_t tag;
  FOR_FIELDS(r, tag, body, HUBC_REC_CONTACT, id) {
    int rc = 0;
    switch (tag) {
    case HUBC__T_C_CREATED: rc = as_int(body, &created, HUBC_REC_CONTACT, id); break;
    case HUBC__T_C_MODIFIED: rc = as_int(body, &modified, HUBC_REC_CONTACT, id); break;
    case HUBC__T_C_STATUS: rc = as_int(body, &status, HUBC_REC_CONTACT, id); break;
    case HUBC__T_C_SOURCE: rc = as_int(body, &source, HUBC_REC_CONTACT, id); break;
    case HUBC__T_C_SOURCE_ID: rc = as_int(body, &source_id, HUBC_REC_CONTACT, id); break;
    case HUBC__T_C_PROPS: props = body; break;
    }
    if (rc) return rc;
  }
  /* D3: a record without a status (written before marketing contacts were
   * enabled) is NON_MARKETING. */
  if (status < HUBC_NON_MARKETING || status > HUBC_MARKETING_UNTIL_UPDATE)
    return corrupt(HUBC_REC_CONTACT, id, "bad status");
  if (!hubc__time_ok(created) || !hubc__time_ok(modified))
    return corrupt(HUBC_REC_CONTACT, id, "a time outside years 1 to 9999");
  if (source < 0 || source > HUBC_SOURCE_WORKFLOW || !hubc_source_name((int)source))
    return corrupt(HUBC_REC_CONTACT, id, "bad source");
  size_t len = props.p ? (size_t)(props.end - props.p) : 0;
  if (len > 0xffffffffu) return corrupt(HUBC_REC_CONTACT, id, "record too large");
  if (hubc__grow(s->base, (void **)&l->contacts, &l->contacts_cap, l->contacts_n + 1, sizeof *l->contacts))
    return HUBC_ENOMEM;
  hubc__rec *rec = hubc__rec_new(s->base, created, (int)source, source_id, len);
  if (!rec) return hubc__err(HUBC_ENOMEM, "out of memory loading contact %lld", (long long)id);
  unsigned char *fields = (unsigned char *)hubc__rec_fields(rec);
  if (len) memcpy(fields, props.p, len);
  /* structure now (emails feed the index); schema checks at the end */
  hubc__field f;
  long prev = -1;
  for (size_t pos = 0; pos < len; pos += f.size) {
    if (hubc__rec_field(fields, len, pos, &f) || (long)f.prop <= prev ||
        (f.value && !hubc__utf8_valid(f.value, strlen(f.value)))) {
      hubc__rec_unref(s->base, rec);
      return corrupt(HUBC_REC_CONTACT, id, "malformed properties");
    }
    prev = f.prop;
  }
  rec->modified = modified;
  rec->status = (uint8_t)status;
  l->contacts[l->contacts_n].id = id;
  l->contacts[l->contacts_n++].rec = rec;
  return 0;
}

static int load_history(hubc_loader *l, hubc_id id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > 0xffffffffLL) return corrupt(HUBC_REC_HISTORY, id, "bad sequence number");
  if (hubc__grow(s->base, (void **)&l->hist, &l->hist_cap, l->hist_n + 1, sizeof *l->hist)) return HUBC_ENOMEM;
  hubc__hist h = {0};
  int64_t v[8] = {0};
  uint64_t tag;
  hubc__rd body;
  FOR_FIELDS(r, tag, body, HUBC_REC_HISTORY, id) {
    if (tag >= 1 && tag <= HUBC__T_H_ACTOR && as_int(body, &v[tag], HUBC_REC_HISTORY, id)) return HUBC_ECORRUPT;
  }
  if (v[HUBC__T_H_OLD] < 0 || v[HUBC__T_H_OLD] > 2 || v[HUBC__T_H_NEW] < 0 || v[HUBC__T_H_NEW] > 2 ||
      v[HUBC__T_H_CONTACT] <= 0 || v[HUBC__T_H_REASON_TYPE] < 0 || v[HUBC__T_H_REASON_TYPE] > HUBC_SOURCE_UPDATE_DATE ||
      !hubc__time_ok(v[HUBC__T_H_TIME]))
    return corrupt(HUBC_REC_HISTORY, id, "field out of range");
  h.time = v[HUBC__T_H_TIME];
  h.contact = v[HUBC__T_H_CONTACT];
  h.old_status = (uint8_t)v[HUBC__T_H_OLD];
  h.new_status = (uint8_t)v[HUBC__T_H_NEW];
  h.reason_type = (uint8_t)v[HUBC__T_H_REASON_TYPE];
  h.reason_id = v[HUBC__T_H_REASON_ID];
  h.actor = v[HUBC__T_H_ACTOR];
  staged_hist *st = &l->hist[l->hist_n];
  st->id = id;
  st->order = l->hist_n++;
  st->h = h;
  return 0;
}

static int load_user(hubc_loader *l, hubc_id id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > HUBC__MAX_USERS) return corrupt(HUBC_REC_USER, id, "bad user id");
  size_t old = s->users_cap;
  if (hubc__grow(s->base, (void **)&s->users, &s->users_cap, (size_t)id + 1, sizeof *s->users)) return HUBC_ENOMEM;
  if (s->users_cap > old) memset(s->users + old, 0, (s->users_cap - old) * sizeof *s->users);
  hubc__user u = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  FOR_FIELDS(r, tag, body, HUBC_REC_USER, id) {
    if (tag == HUBC__T_U_EMAIL) {
      char email[HUBC__EMAIL_BUF], raw[HUBC_MAX_EMAIL_BYTES + 1];
      const char *why;
      size_t len = (size_t)(body.end - body.p);
      if (len > HUBC_MAX_EMAIL_BYTES || memchr(body.p, 0, len)) return corrupt(HUBC_REC_USER, id, "bad email");
      memcpy(raw, body.p, len);
      raw[len] = '\0';
      if (hubc__email_normalize(raw, email, &why) < 0) return corrupt(HUBC_REC_USER, id, "bad email");
      if (!(u.email = hubc__pool_strdup(s->base, email, strlen(email))))
        return hubc__err(HUBC_ENOMEM, "out of memory loading the store");
    } else if (tag >= HUBC__T_U_PERMS && tag <= HUBC__T_U_DISABLED) {
      if (as_int(body, &v, HUBC_REC_USER, id)) return HUBC_ECORRUPT;
      if (tag == HUBC__T_U_PERMS) {
        if (v & ~(int64_t)HUBC_PERM_ALL || v < 0) return corrupt(HUBC_REC_USER, id, "bad permissions");
        u.perms = (uint32_t)v;
      } else {
        if (v != 0 && v != 1) return corrupt(HUBC_REC_USER, id, "bad flag");
        if (tag == HUBC__T_U_SUPER) u.super_admin = (uint8_t)v;
        else u.disabled = (uint8_t)v;
      }
    }
  }
  if (!u.email) return corrupt(HUBC_REC_USER, id, "missing email");
  s->users[id] = u;
  if (id >= s->next_user) s->next_user = id + 1;
  return 0;
}

static int load_period(hubc_loader *l, hubc_id id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > 0xffffffLL) return corrupt(HUBC_REC_PERIOD, id, "bad period number");
  if (hubc__grow(s->base, (void **)&l->periods, &l->periods_cap, l->periods_n + 1, sizeof *l->periods))
    return HUBC_ENOMEM;
  int64_t v[6] = {0};
  uint64_t tag;
  hubc__rd body;
  FOR_FIELDS(r, tag, body, HUBC_REC_PERIOD, id) {
    if (tag >= 1 && tag <= HUBC__T_P_TIER && as_int(body, &v[tag], HUBC_REC_PERIOD, id)) return HUBC_ECORRUPT;
  }
  staged_period *st = &l->periods[l->periods_n];
  st->id = id;
  st->order = l->periods_n++;
  if (!hubc__time_ok(v[HUBC__T_P_START]) || !hubc__time_ok(v[HUBC__T_P_END]) || v[HUBC__T_P_START] > v[HUBC__T_P_END])
    return corrupt(HUBC_REC_PERIOD, id, "start or end out of range");
  hubc_period *p = &st->p;
  memset(p, 0, sizeof *p);
  p->version = HUBC_PERIOD_VERSION;
  p->number = id;
  p->start = v[HUBC__T_P_START];
  p->end = v[HUBC__T_P_END];
  p->peak = (uint64_t)v[HUBC__T_P_PEAK];
  p->billable_at_close = (uint64_t)v[HUBC__T_P_CLOSE];
  p->tier_at_close = (uint64_t)v[HUBC__T_P_TIER];
  return 0;
}

static int switch_id_cmp(const void *a, const void *b) {
  const hubc__switch *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

static int load_switches(hubc_loader *l, hubc_id source, hubc__rd r) {
  hubc_store *s = l->s;
  if (source != HUBC_SOURCE_CHATFLOW && source != HUBC_SOURCE_INTEGRATION && source != HUBC_SOURCE_EXTERNAL_FORM)
    return corrupt(HUBC_REC_SWITCH, source, "not a configurable source");
  size_t k = 0; /* drop this source's entries, then append the stored ones */
  for (size_t i = 0; i < s->switches_n; i++)
    if (s->switches[i].source != source) s->switches[k++] = s->switches[i];
  s->switches_n = k;
  uint64_t tag;
  hubc__rd body;
  FOR_FIELDS(r, tag, body, HUBC_REC_SWITCH, source) {
    if (tag != HUBC__T_S_ENTRY) continue;
    uint64_t z;
    if (hubc__rd_varint(&body, &z) || body.p + 1 != body.end || *body.p > 1)
      return corrupt(HUBC_REC_SWITCH, source, "malformed entry");
    int64_t sid = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    if (source == HUBC_SOURCE_EXTERNAL_FORM ? sid != 0 : sid <= 0)
      return corrupt(HUBC_REC_SWITCH, source, "source id out of range");
    if (hubc__grow(s->base, (void **)&s->switches, &s->switches_cap, s->switches_n + 1, sizeof *s->switches))
      return HUBC_ENOMEM;
    hubc__switch sw = {sid, (uint8_t)source, *body.p};
    s->switches[s->switches_n++] = sw;
  }
  /* this record's entries are switches[k..n): sorted, a repeat is adjacent */
  if (s->switches_n > k) qsort(s->switches + k, s->switches_n - k, sizeof *s->switches, switch_id_cmp);
  for (size_t i = k + 1; i < s->switches_n; i++)
    if (s->switches[i].id == s->switches[i - 1].id) return corrupt(HUBC_REC_SWITCH, source, "source id listed twice");
  return 0;
}

static int put_record(hubc_loader *l, int kind, hubc_id id, const void *bytes, size_t len) {
  hubc__rd r;
  int rc = open_record(&r, bytes, len, kind, id);
  if (rc) return rc;
  switch (kind) {
  case HUBC_REC_META:
    l->have_meta = 1;
    return id == 1 ? load_meta(l, r) : corrupt(kind, id, "meta id must be 1");
  case HUBC_REC_PROPERTY: return load_property(l, id, r);
  case HUBC_REC_CONTACT: return load_contact(l, id, r);
  case HUBC_REC_HISTORY: return load_history(l, id, r);
  case HUBC_REC_USER: return load_user(l, id, r);
  case HUBC_REC_PERIOD: return load_period(l, id, r);
  case HUBC_REC_SWITCH: return load_switches(l, id, r);
  default: return hubc__err(HUBC_ECORRUPT, "stored record %lld is corrupt: unknown record kind %d", (long long)id, kind);
  }
}

static int del_record(hubc_loader *l, int kind, hubc_id id) {
  hubc_store *s = l->s;
  if (kind == HUBC_REC_CONTACT) {
    if (id <= 0 || id > 0xffffffffLL) return 0; /* never stored */
    if (hubc__grow(s->base, (void **)&l->contacts, &l->contacts_cap, l->contacts_n + 1, sizeof *l->contacts))
      return HUBC_ENOMEM;
    l->contacts[l->contacts_n].id = id;
    l->contacts[l->contacts_n++].rec = NULL;
    return 0;
  }
  if (kind == HUBC_REC_USER) {
    if (id > 0 && id < s->next_user) s->users[id].email = NULL;
    return 0;
  }
  return hubc__err(HUBC_ECORRUPT, "loader del: records of kind %d are never deleted (id %lld)", kind, (long long)id);
}

/* A host may keep the loader pointer past load() (R4: an error, not a
 * use-after-free). Loaders inside load() are listed, and put/del touch a
 * loader only when it is listed; the thread running load() finds its own
 * loader without the lock. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static hubc_loader *live_head;
static _Thread_local hubc_loader *tl_loader;

static int loader_live(const hubc_loader *l) {
  if (l == tl_loader) return 1;
  int found = 0;
  pthread_mutex_lock(&live_mu);
  for (const hubc_loader *p = live_head; p && !found; p = p->next_live) found = p == l;
  pthread_mutex_unlock(&live_mu);
  return found;
}

/* Refuses a NULL or finished loader, and every call after a failed one. */
static int loader_usable(hubc_loader *l, const char *what) {
  if (!l) return hubc__err(HUBC_EINVAL, "loader %s: loader is NULL", what);
  if (!loader_live(l))
    return hubc__err(HUBC_EINVAL, "loader %s: this loader is not in use (used after its load() "
                     "returned, or not a loader); nothing done", what);
  if (l->err)
    return hubc__err(l->err, "loader %s: refused after an earlier record failed (%s)", what, l->err_msg);
  return 0;
}

/* A failure is remembered: the open fails with it whatever load() returns. */
static int sticky(hubc_loader *l, int rc) {
  if (rc) {
    l->err = rc;
    snprintf(l->err_msg, sizeof l->err_msg, "%s", hubc_error_last());
  }
  return rc;
}

HUBC_API int hubc_loader_put(hubc_loader *l, int kind, hubc_id id, const void *bytes, size_t len) {
  int rc = loader_usable(l, "put");
  if (rc) return rc;
  if (!bytes && len)
    return sticky(l, hubc__err(HUBC_EINVAL, "loader put: bytes is NULL with length %zu (kind %d, id %lld)", len,
                               kind, (long long)id));
  return sticky(l, put_record(l, kind, id, bytes, len));
}

HUBC_API int hubc_loader_del(hubc_loader *l, int kind, hubc_id id) {
  int rc = loader_usable(l, "del");
  return rc ? rc : sticky(l, del_record(l, kind, id));
}

/* Staged records by id, then arrival order. */
static int by_id(int64_t a, size_t ao, int64_t b, size_t bo) {
  if (a != b) return a < b ? -1 : 1;
  return ao < bo ? -1 : ao > bo;
}

static int hist_cmp(const void *a, const void *b) {
  const staged_hist *x = a, *y = b;
  return by_id(x->id, x->order, y->id, y->order);
}

static int period_cmp(const void *a, const void *b) {
  const staged_period *x = a, *y = b;
  return by_id(x->id, x->order, y->id, y->order);
}

/* Places staged contacts (last put or delete of an id wins), then builds
 * the email index and counts. */
static int place_contacts(hubc_loader *l) {
  hubc_store *s = l->s;
  int64_t max = 0;
  size_t live = 0;
  for (size_t i = 0; i < l->contacts_n; i++)
    if (l->contacts[i].rec && l->contacts[i].id > max) max = l->contacts[i].id;
  if (l->have_meta && max >= l->meta_next_id)
    return corrupt(HUBC_REC_CONTACT, max, "id at or above the stored next record id");
  int rc = max ? hubc__slots_reserve(s, max) : 0;
  if (rc) return rc;
  for (size_t i = 0; i < l->contacts_n; i++) { /* arrival order: later wins */
    staged_contact *c = &l->contacts[i];
    if (c->id > max) continue; /* a delete of an id never live */
    hubc__rec_unref(s->base, s->recs[c->id]);
    s->recs[c->id] = c->rec;
    c->rec = NULL; /* owned by the table now */
  }
  for (int64_t id = 1; id <= max; id++) live += s->recs[id] != NULL;
  if ((rc = hubc__eidx_reserve(s, live))) return rc;
  if (max >= s->next_id) s->next_id = max + 1;
  for (int64_t id = 1; id <= max; id++) {
    hubc__rec *r = s->recs[id];
    if (!r) continue;
    const char *email = hubc__rec_email(r);
    if (email && hubc__eidx_find(s, email, strlen(email)))
      return corrupt(HUBC_REC_CONTACT, id, "email already used by another contact");
    s->recs[id] = NULL; /* counted and indexed by the move */
    hubc__slot empty = {0}, slot = {r, r->modified, 0, r->status};
    hubc__slot_move(s, id, &empty, &slot);
  }
  return 0;
}

/* P1: emails unique (by sorting: a store may hold many users) and an
 * enabled super admin. */
typedef struct user_key {
  const char *email;
  int64_t id;
} user_key;

static int user_cmp(const void *a, const void *b) {
  const user_key *x = a, *y = b;
  int c = strcmp(x->email, y->email);
  return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int check_users(hubc_store *s) {
  size_t n = 0, admins = 0, cap = (size_t)s->next_user;
  user_key *keys = hubc__alloc(s->base, cap * sizeof *keys);
  if (!keys) return hubc__err(HUBC_ENOMEM, "out of memory loading users");
  for (int64_t i = 1; i < s->next_user; i++) {
    const hubc__user *u = &s->users[i];
    if (!u->email) continue;
    admins += u->super_admin && !u->disabled;
    keys[n].email = u->email;
    keys[n++].id = i;
  }
  qsort(keys, n, sizeof *keys, user_cmp);
  int rc = 0;
  for (size_t k = 1; k < n && !rc; k++)
    if (strcmp(keys[k - 1].email, keys[k].email) == 0)
      rc = corrupt(HUBC_REC_USER, keys[k].id, "email already used by another user");
  hubc__free(s->base, keys, cap * sizeof *keys);
  if (!rc && !admins) rc = hubc__err(HUBC_ECORRUPT, "stored users include no enabled super admin");
  return rc;
}

/* A stored value is as the create and update calls store it (C4). */
static int typed_ok(int type, const char *v) {
  hubc_time t;
  switch (type) {
  case HUBC_PROP_NUMBER: return hubc__parse_number(v);
  case HUBC_PROP_BOOL: return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
  case HUBC_PROP_DATETIME: return hubc__parse_datetime(v, &t) == 0;
  default: return 1;
  }
}

/* Cross-record checks and derived state, once everything is in. */
static int finish(hubc_loader *l) {
  hubc_store *s = l->s;
  int rc = place_contacts(l);
  if (rc) return rc;
  size_t n_custom = 0;
  while (n_custom < l->props_cap && l->props[n_custom].name) n_custom++;
  for (size_t k = n_custom; k < l->props_cap; k++)
    if (l->props[k].name) return corrupt(HUBC_REC_PROPERTY, (hubc_id)(k + HUBC__P_BUILTIN_COUNT + 1), "gap before it");
  for (size_t k = 0; k < n_custom; k++) {
    hubc__schema *next;
    if (hubc__schema_find(s->schema, l->props[k].name) >= 0)
      return corrupt(HUBC_REC_PROPERTY, (hubc_id)(k + HUBC__P_BUILTIN_COUNT + 1), "duplicate name");
    if ((rc = hubc__schema_with(&next, s->schema, &l->props[k]))) return rc;
    hubc__schema_unref(s->schema);
    s->schema = next;
  }
  /* history and periods: ids 1..n, each once (a repeated id: the last wins) */
  if (l->hist_n) qsort(l->hist, l->hist_n, sizeof *l->hist, hist_cmp);
  if ((rc = hubc__grow(s->base, (void **)&s->hist, &s->hist_cap, l->hist_n, sizeof *s->hist))) return rc;
  for (size_t i = 0; i < l->hist_n; i++) {
    if (i + 1 < l->hist_n && l->hist[i + 1].id == l->hist[i].id) continue; /* superseded */
    if (l->hist[i].id != (int64_t)s->hist_n + 1) return corrupt(HUBC_REC_HISTORY, (hubc_id)s->hist_n + 1, "missing");
    s->hist[s->hist_n++] = l->hist[i].h;
  }
  if (l->periods_n) qsort(l->periods, l->periods_n, sizeof *l->periods, period_cmp);
  if ((rc = hubc__grow(s->base, (void **)&s->periods, &s->periods_cap, l->periods_n, sizeof *s->periods))) return rc;
  for (size_t i = 0; i < l->periods_n; i++) {
    if (i + 1 < l->periods_n && l->periods[i + 1].id == l->periods[i].id) continue;
    if (l->periods[i].id != (int64_t)s->periods_n + 1)
      return corrupt(HUBC_REC_PERIOD, (hubc_id)s->periods_n + 1, "missing");
    s->periods[s->periods_n++] = l->periods[i].p;
  }
  const hubc__schema *sc = s->schema;
  for (int64_t id = 1; id < hubc__id_end(s); id++) {
    hubc__rec *rec = s->recs[id];
    if (!rec) continue;
    hubc__field f;
    const unsigned char *fields = hubc__rec_fields(rec);
    size_t len = hubc__rec_flen(rec);
    for (size_t pos = 0; pos < len; pos += f.size) {
      hubc__rec_field(fields, len, pos, &f);
      const hubc__prop *p = f.prop < sc->n ? &sc->props[f.prop] : NULL;
      if (f.prop == HUBC__P_EMAIL) {
        char norm[HUBC__EMAIL_BUF];
        const char *why;
        if (hubc__email_normalize(f.value ? f.value : "", norm, &why) < 0 || strcmp(norm, f.value) != 0)
          return corrupt(HUBC_REC_CONTACT, id, "email is not a normalized address");
      }
      if (!p || (p->flags & HUBC_PROP_COMPUTED) || (f.value == NULL) != (p->type == HUBC_PROP_ENUMERATION) ||
          (!f.value && f.option >= p->n_options) || (f.value && strlen(f.value) > HUBC_MAX_VALUE_BYTES))
        return corrupt(HUBC_REC_CONTACT, id, "property does not match the schema");
      if (f.value && !typed_ok(p->type, f.value))
        return corrupt(HUBC_REC_CONTACT, id, "a value is not of its property's type");
    }
  }
  for (size_t i = 0; i < s->hist_n; i++) { /* per-contact chains */
    hubc__hist *h = &s->hist[i];
    h->prev = 0;
    hubc__rec *r = hubc__contact_at(s, h->contact);
    if (r) {
      h->prev = r->hist;
      r->hist = (uint32_t)i + 1;
    }
  }
  for (int64_t id = 1; id < hubc__id_end(s); id++)
    if (s->recs[id] && s->recs[id]->status == HUBC_MARKETING_UNTIL_UPDATE) {
      if ((rc = hubc__grow(s->base, (void **)&s->pending, &s->pending_cap, s->pending_n + 1, sizeof *s->pending)))
        return rc;
      s->pending[s->pending_n++] = id;
    }
  if (l->meta_next_id > s->next_id) s->next_id = l->meta_next_id; /* the table grows when ids are used */
  if (l->meta_next_user > s->next_user) {
    size_t old = s->users_cap;
    if (hubc__grow(s->base, (void **)&s->users, &s->users_cap, (size_t)l->meta_next_user + 1, sizeof *s->users))
      return HUBC_ENOMEM;
    if (s->users_cap > old) memset(s->users + old, 0, (s->users_cap - old) * sizeof *s->users);
    s->next_user = l->meta_next_user;
  }
  if (s->next_user > 1 && (rc = check_users(s))) return rc;
  return 0;
}

int hubc__load(hubc_store *s) {
  if (!s->persist.load) return 0;
  hubc_loader *l = hubc__calloc(s->base, sizeof *l);
  if (!l) return hubc__err(HUBC_ENOMEM, "out of memory opening the store");
  l->s = s;
  l->meta_next_id = 1;
  l->meta_next_user = 1;
  l->bill_defaults = s->bill;
  pthread_mutex_lock(&live_mu);
  l->next_live = live_head;
  live_head = l;
  pthread_mutex_unlock(&live_mu);
  l->outer = tl_loader;
  tl_loader = l;
  int rc = s->persist.load(s->persist.userdata, l);
  tl_loader = l->outer;
  pthread_mutex_lock(&live_mu);
  for (hubc_loader **pp = &live_head; *pp; pp = &(*pp)->next_live)
    if (*pp == l) {
      *pp = l->next_live;
      break;
    }
  pthread_mutex_unlock(&live_mu);
  if (l->err) {
    /* a backend that passed the failure on may have said where the record
     * is stored: keep its message; otherwise restore the loader's */
    if (rc != l->err || hubc_error_last_code() != l->err) rc = hubc__err(l->err, "%s", l->err_msg);
  }
  else if (rc == HUBC_EAGAIN) rc = hubc__err(HUBC_EAGAIN, "persistence load callback asked to retry");
  else if (rc && !(rc >= HUBC_EVERSION && rc < 0 && hubc_error_last_code() == rc))
    rc = hubc__err(HUBC_EPERSIST, "persistence load callback failed (code %d)", rc);
  if (!rc) rc = finish(l);
  hubc__free(s->base, l->props, l->props_cap * sizeof *l->props);
  for (size_t i = 0; i < l->contacts_n; i++) hubc__rec_unref(s->base, l->contacts[i].rec); /* unplaced */
  hubc__free(s->base, l->contacts, l->contacts_cap * sizeof *l->contacts);
  hubc__free(s->base, l->hist, l->hist_cap * sizeof *l->hist);
  hubc__free(s->base, l->periods, l->periods_cap * sizeof *l->periods);
  hubc__free(s->base, l, sizeof *l);
  return rc;
}
