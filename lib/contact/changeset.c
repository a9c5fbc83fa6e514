/* The contact changeset (I4, F3, C3–C6): see changeset.h. */
#include "contact/changeset.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"

/* Insertion sort: calls carry a handful of properties. */
static void sort_changes(hubc__change *c, size_t n) {
  for (size_t i = 1; i < n; i++) {
    hubc__change x = c[i];
    size_t j = i;
    for (; j > 0 && c[j - 1].prop > x.prop; j--) c[j] = c[j - 1];
    c[j] = x;
  }
}

/* Validates one value of len bytes against its property (C3, C4) and
 * fills c. `email` (HUBC__EMAIL_BUF bytes) receives the normalized email.
 * `utf8_checked`: the caller's reader already refused invalid UTF-8 and NUL. */
/* The option of enumeration value v (len bytes, not blank), through the
 * changeset's memo of values it resolved before (open addressing, filled
 * to at most 3/4; exact bytes, so the answer is hubc__schema_option's). */
static int option_of(hubc__cs *cs, const hubc__prop *p, uint32_t prop, const char *v, size_t len) {
  enum { SLOTS = sizeof cs->opt / sizeof cs->opt[0] };
  if (len >= sizeof cs->opt[0].text) return hubc__schema_option(p, v);
  unsigned h = (unsigned)len * 31 + (unsigned char)v[0];
  h = ((h * 31 + (unsigned char)v[len - 1]) * 31 + (unsigned char)v[len / 2]) * 31 + prop;
  unsigned i = (h ^ h >> 5) % SLOTS;
  for (; cs->opt_used >> i & 1; i = (i + 1) % SLOTS) {
    const struct hubc__cs_opt *e = &cs->opt[i];
    if (e->prop == prop && e->len == len && memcmp(e->text, v, len) == 0) return e->option;
  }
  int o = hubc__schema_option(p, v);
  if (o >= 0 && prop <= 0xffff && (unsigned)__builtin_popcount(cs->opt_used) < SLOTS * 3 / 4) {
    struct hubc__cs_opt *e = &cs->opt[i];
    memcpy(e->text, v, len);
    e->len = (uint8_t)len;
    e->prop = (uint16_t)prop;
    e->option = (uint16_t)o;
    cs->opt_used |= 1u << i;
  }
  return o;
}

static int check_value(hubc__cs *cs, const hubc__prop *p, uint32_t prop, const char *v, size_t len, int utf8_checked,
                       hubc__change *c, char *email) {
  c->prop = prop;
  c->option = -1;
  c->value = v;
  c->len = len;
  if (len > HUBC_MAX_VALUE_BYTES)
    return hubc__err(HUBC_ELIMIT, "property '%s': value of %zu bytes exceeds the limit of %d bytes", p->name, len,
                     HUBC_MAX_VALUE_BYTES);
  if (!utf8_checked && !hubc__utf8_valid(v, len)) return hubc__err(HUBC_EINVAL, "property '%s': value is not valid UTF-8", p->name);
  if (prop == HUBC__P_EMAIL) {
    const char *why;
    int n = hubc__email_normalize(v, email, &why);
    if (n < 0) return hubc__err(HUBC_EINVAL, "property 'email': '%.254s' %s", v, why);
    c->value = email;
    c->len = (size_t)n;
    return 0;
  }
  switch (p->type) {
  case HUBC_PROP_NUMBER:
    switch (hubc__parse_number(v)) {
    case 0: return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is not a number", p->name, v);
    case -1:
      return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is beyond the largest number, 1.7976931348623157e308",
                       p->name, v);
    }
    break;
  case HUBC_PROP_BOOL: {
    int b = hubc__parse_bool(v);
    if (b < 0) return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is not true or false", p->name, v);
    c->value = b ? "true" : "false";
    c->len = b ? 4 : 5;
    break;
  }
  case HUBC_PROP_DATETIME: {
    hubc_time t;
    int r = hubc__parse_datetime(v, &t);
    if (r == -1)
      return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is not an ISO-8601 date or date-time", p->name, v);
    if (r)
      return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is outside years 1 to 9999 (UTC)", p->name, v);
    break;
  }
  case HUBC_PROP_ENUMERATION:
    c->option = option_of(cs, p, prop, v, len);
    if (c->option < 0)
      return hubc__err(HUBC_EINVAL, "property '%s': '%.100s' is not one of its %u options", p->name, v,
                       (unsigned)p->n_options);
    break;
  }
  return 0;
}

static size_t entry_size(const hubc__change *c) { return hubc__rec_put_field(NULL, c->prop, c->value, c->len, c->option); }

/* C6 (writable) and no property twice, over resolved properties. The
 * built-in properties (ids below 64) are checked for repeats by a bit
 * each: every call passes them. */
static int check_props(hubc_store *s, const uint32_t *props, size_t n) {
  uint64_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    const hubc__prop *p = &s->schema->props[props[i]];
    if (p->flags & HUBC_PROP_READONLY) return hubc__err(HUBC_EREADONLY, "property '%s' is read-only", p->name);
    int twice = 0;
    if (props[i] < 64) {
      twice = (seen >> props[i]) & 1;
      seen |= 1ull << props[i];
    } else {
      for (size_t j = 0; j < i && !twice; j++) twice = props[j] == props[i];
    }
    if (twice) return hubc__err(HUBC_EINVAL, "property '%s' is given twice", p->name);
  }
  return 0;
}

/* Resolves property names (internal names or labels) once per call, so a
 * batch pays for it once: C2 (exists), then check_props. */
static int resolve(hubc_store *s, const char *const *names, size_t n, uint32_t *props) {
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) return hubc__err(HUBC_EINVAL, "property name %zu is NULL", i);
    int prop = hubc__schema_find(s->schema, names[i]); /* only valid UTF-8 can match */
    if (prop < 0 && !hubc__utf8_valid(names[i], strlen(names[i])))
      return hubc__err(HUBC_EINVAL, "property name %zu is not valid UTF-8", i);
    if (prop < 0) return hubc__err(HUBC_ENOTFOUND, "property '%.100s' does not exist", names[i]);
    props[i] = (uint32_t)prop;
  }
  return check_props(s, props, n);
}

/* Validates a row's values into cs->ch, sorted (blank: NULL or empty;
 * removes when the policy overwrites, else skipped). `email_ready`: the
 * email value is its own normalized form (hubc__cs_row_email_ready). */
static int collect(hubc__cs *cs, const char *const *values, const uint32_t *lens, int email_ready, size_t *out_n) {
  const hubc__schema *sc = cs->s->schema;
  const int blank_removes = (cs->o.policy & HUBC__CS_POLICY_MASK) == HUBC__CS_OVERWRITE;
  hubc__change *out = cs->ch;
  size_t k = 0;
  for (size_t i = 0; i < cs->n; i++) {
    const char *v = values[i];
    uint32_t prop = cs->props[i];
    if (!v || !*v) {
      if (!blank_removes) continue;
      out[k].prop = prop;
      out[k].option = -1;
      out[k++].value = NULL;
      continue;
    }
    size_t len = lens ? lens[i] : strlen(v);
    if (email_ready && prop == HUBC__P_EMAIL) {
      out[k++] = (hubc__change){prop, -1, v, len};
      continue;
    }
    int rc = check_value(cs, &sc->props[prop], prop, v, len, lens != NULL, &out[k], cs->email);
    if (rc) {
      cs->fail_col = i;
      return rc;
    }
    k++;
  }
  if (!cs->sorted) sort_changes(out, k);
  *out_n = k;
  return 0;
}

typedef struct rec_meta {
  hubc_time created;
  int source;
  int64_t source_id;
} rec_meta;

/* Whether an existing field stays despite a change to it (the policy). */
static int keeps(unsigned policy, const hubc__field *f, const hubc__change *c) {
  if ((policy & HUBC__CS_POLICY_MASK) == HUBC__CS_FILL_BLANKS) return 1;
  if ((policy & HUBC__CS_FORWARD) && c->prop == HUBC__P_LIFECYCLE) /* option order is stage order */
    return !c->value || (!f->value && (uint32_t)c->option < f->option);
  return 0;
}

/* merge() of a new contact: its fields are the changes' values, in order
 * (removals of nothing are skipped), so no walk of old fields. */
static int merge_new(hubc_store *s, const rec_meta *meta, const hubc__change *ch, size_t nch, hubc__rec **out,
                     int *dry) {
  const hubc__schema *sc = s->schema->typed ? s->schema : NULL;
  size_t size = 0, count = 0, typed = 0;
  for (size_t i = 0; i < nch; i++) {
    if (!ch[i].value) continue;
    size += entry_size(&ch[i]);
    count++;
    if (sc && ch[i].option < 0 && hubc__rec_typed(sc, ch[i].prop)) typed++;
  }
  if (count > HUBC_MAX_CONTACT_PROPERTIES)
    return hubc__err(HUBC_ELIMIT, "a contact holds at most %d properties (this one would hold %zu)",
                     HUBC_MAX_CONTACT_PROPERTIES, count);
  if (dry) {
    *dry = 1;
    return 0;
  }
  hubc__rec *r = hubc__rec_new(s->base, meta->created, meta->source, meta->source_id, size, count, typed);
  if (!r) return hubc__err(HUBC_ENOMEM, "out of memory building a contact record of %zu bytes", size);
  *out = r;
  unsigned char *w = (unsigned char *)hubc__rec_fields(r), *w0 = w;
  hubc__rec_ixw ixw;
  int indexing = count > HUBC__REC_STRIDE || typed;
  if (indexing) hubc__rec_ixw_init(&ixw, r, sc);
  for (size_t i = 0; i < nch; i++) {
    const hubc__change *c = &ch[i];
    if (!c->value) continue;
    if (indexing) hubc__rec_ixw_note(&ixw, c->prop, c->option < 0 ? c->value : NULL, (size_t)(w - w0));
    w += hubc__rec_put_field(w, c->prop, c->value, c->len, c->option);
  }
  return 0;
}

/* New record version = old's fields (or, with old NULL, a new contact with
 * `meta`) merged with changes under `policy`. *out is NULL when nothing
 * changes. With `dry` set, only decides: *dry is 1 when something would
 * change, and nothing is built. */
static int merge(hubc_store *s, const hubc__rec *old, const rec_meta *meta, unsigned policy, const hubc__change *ch,
                 size_t nch, hubc__rec **out, int *dry) {
  if (!old) return merge_new(s, meta, ch, nch, out, dry);
  size_t size = 0, count = 0, typed = 0, i, pos;
  const hubc__schema *sc = s->schema->typed ? s->schema : NULL; /* NULL: no field has a binary form */
  int indexing = 0; /* whether the index holds more than its 1-byte footer */
  int changed = 0;
  hubc__field f;
  const unsigned char *fields = hubc__rec_fields(old);
  size_t len = hubc__rec_flen(old);
  hubc__rec_ixw ixw;
  /* pass 0: size and whether anything changes; pass 1: write */
  for (int pass = 0; pass < 2; pass++) {
    unsigned char *w = NULL, *w0 = NULL;
    if (pass == 1) {
      if (!changed) {
        if (dry) *dry = 0;
        else *out = NULL;
        return 0;
      }
      if (count > HUBC_MAX_CONTACT_PROPERTIES)
        return hubc__err(HUBC_ELIMIT, "a contact holds at most %d properties (this one would hold %zu)",
                         HUBC_MAX_CONTACT_PROPERTIES, count);
      if (dry) {
        *dry = 1;
        return 0;
      }
      hubc__rec *r = hubc__rec_new_like(s->base, old, size, count, typed);
      if (!r) return hubc__err(HUBC_ENOMEM, "out of memory building a contact record of %zu bytes", size);
      *out = r;
      w = w0 = (unsigned char *)hubc__rec_fields(r);
      indexing = count > HUBC__REC_STRIDE || typed;
      if (indexing) hubc__rec_ixw_init(&ixw, r, sc);
    }
    i = pos = 0;
    while (i < nch || pos < len) {
      if (pos < len && hubc__rec_field(fields, len, pos, &f)) return hubc__err(HUBC_ECORRUPT, "damaged record");
      int keep = pos < len && (i >= nch || f.prop < ch[i].prop);
      if (!keep && pos < len && f.prop == ch[i].prop && policy && keeps(policy, &f, &ch[i])) {
        keep = 1;
        i++; /* the change is dropped */
      }
      if (keep) {
        if (pass) {
          if (indexing) hubc__rec_ixw_note(&ixw, f.prop, f.value, (size_t)(w - w0));
          memcpy(w, fields + pos, f.size);
          w += f.size;
        } else {
          size += f.size;
          count++;
          if (sc && f.value && hubc__rec_typed(sc, f.prop)) typed++;
        }
        pos += f.size;
        continue;
      }
      const hubc__change *c = &ch[i++];
      int same_prop = pos < len && f.prop == c->prop;
      if (same_prop) pos += f.size;
      if (!c->value) { /* removal */
        if (!pass && same_prop) changed = 1;
        continue;
      }
      if (pass) {
        if (indexing) hubc__rec_ixw_note(&ixw, c->prop, c->option < 0 ? c->value : NULL, (size_t)(w - w0));
        w += hubc__rec_put_field(w, c->prop, c->value, c->len, c->option);
      } else {
        size += entry_size(c);
        count++;
        if (sc && c->option < 0 && hubc__rec_typed(sc, c->prop)) typed++;
        if (!same_prop) changed = 1;
        else if (c->option >= 0 ? (f.value || f.option != (uint32_t)c->option)
                                : (!f.value || strcmp(f.value, c->value) != 0))
          changed = 1;
      }
    }
  }
  return 0;
}

static int begin(hubc__cs *cs, hubc_store *s, const hubc__cs_opts *o, size_t n) {
  cs->s = s;
  cs->o = *o;
  cs->n = n;
  cs->first_id = s->contacts.next_id;
  cs->reached = NULL;
  cs->reached_words = 0;
  cs->created = cs->updated = cs->merged = cs->marked = cs->unchanged = 0;
  cs->email_col = SIZE_MAX;
  cs->sorted = 0;
  cs->opt_used = 0;
  cs->email_h_set = 0;
  cs->props = n <= 16 ? cs->props_stack : hubc__alloc(s->base, n * sizeof *cs->props);
  cs->ch = n <= 16 ? cs->ch_stack : hubc__alloc(s->base, n * sizeof *cs->ch);
  if (!cs->props || !cs->ch) return hubc__err(HUBC_ENOMEM, "out of memory reading %zu properties", n);
  return 0;
}

/* The email column, and whether the columns are in property order (then
 * every row's changes are: no sort). */
static int find_email(hubc__cs *cs, int rc) {
  cs->sorted = 1;
  for (size_t i = 0; !rc && i < cs->n; i++) {
    if (cs->props[i] == HUBC__P_EMAIL) cs->email_col = i;
    if (i && cs->props[i] < cs->props[i - 1]) cs->sorted = 0;
  }
  return rc;
}

int hubc__cs_begin(hubc__cs *cs, hubc_store *s, const hubc__cs_opts *o, const char *const *names, size_t n) {
  int rc = begin(cs, s, o, n);
  return rc ? rc : find_email(cs, resolve(s, names, n, cs->props));
}

int hubc__cs_begin_props(hubc__cs *cs, hubc_store *s, const hubc__cs_opts *o, const uint32_t *props, size_t n) {
  int rc = begin(cs, s, o, n);
  if (rc) return rc;
  memcpy(cs->props, props, n * sizeof *props);
  return find_email(cs, check_props(s, cs->props, n));
}

void hubc__cs_end(hubc__cs *cs) {
  hubc__base *b = cs->s->base;
  if (cs->props && cs->props != cs->props_stack) hubc__free(b, cs->props, cs->n * sizeof *cs->props);
  if (cs->ch && cs->ch != cs->ch_stack) hubc__free(b, cs->ch, cs->n * sizeof *cs->ch);
  hubc__free(b, cs->reached, cs->reached_words * sizeof *cs->reached);
  cs->props = NULL;
  cs->ch = NULL;
  cs->reached = NULL;
}

int hubc__cs_reserve(hubc__cs *cs, size_t rows) {
  hubc_store *s = cs->s;
  if (!rows) return 0;
  int64_t last = rows > 0xffffffffu ? INT64_MAX : s->contacts.next_id + (int64_t)rows - 1;
  if (last > 0xffffffffLL) last = 0xffffffffLL; /* rows past the last id fail one by one, naming the limit */
  size_t per_row = cs->o.mark_created || cs->o.mark_matched ? 2 : 1;
  int rc = hubc__slots_reserve(s, last);
  if (!rc) rc = hubc__eidx_reserve(s, rows);
  /* the undo log first, at its full size: grown once, not copied again */
  if (!rc && rows <= SIZE_MAX / per_row) rc = hubc__txn_reserve(s, rows * per_row);
  if (!rc) rc = per_row > 1 ? hubc__status_reserve(s, rows) : 0;
  return rc;
}

/* Whether a row of this changeset reached contact id before. */
static int reached_before(hubc__cs *cs, int64_t id) {
  if (id >= cs->first_id) return 1; /* created by an earlier row */
  if (!cs->reached) {
    size_t words = (size_t)cs->first_id / 64 + 1;
    cs->reached = hubc__calloc(cs->s->base, words * sizeof *cs->reached);
    if (!cs->reached) return -1;
    cs->reached_words = words;
  }
  return (cs->reached[(size_t)id / 64] >> (id % 64)) & 1;
}

/* Marks contact id reached: by a row that succeeded, so that a refused row
 * (create-only, C5) leaves the next row reaching it refused too. */
static void reach(hubc__cs *cs, int64_t id) {
  if (id < cs->first_id) cs->reached[(size_t)id / 64] |= 1ULL << (id % 64);
}

static int create(hubc__cs *cs, size_t nch, hubc_id *out_id) {
  hubc_store *s = cs->s;
  hubc__rec *r;
  rec_meta meta = {s->txn.now, cs->o.source, cs->o.source_id};
  int64_t id = s->contacts.next_id;
  int rc;
  if ((rc = hubc__slots_reserve(s, id)) || (rc = hubc__txn_reserve(s, 2)) || (rc = hubc__eidx_reserve(s, 1)) ||
      (rc = hubc__status_reserve(s, 1)) || (rc = merge(s, NULL, &meta, cs->o.policy, cs->ch, nch, &r, NULL)))
    return rc;
  hubc__slot slot = {r, s->txn.now, 0, HUBC_NON_MARKETING};
  s->contacts.next_id++;
  if (nch && cs->ch[0].prop == HUBC__P_EMAIL) hubc__eidx_hint(&s->contacts.eidx, r, cs->email_h);
  if (cs->o.mark_created) {
    hubc__status_create_marketing(s, id, &slot, cs->o.source, cs->o.source_id);
    cs->marked++;
  } else hubc__txn_slot_new(s, id, &slot);
  s->contacts.eidx.hint = NULL;
  cs->created++;
  *out_id = id;
  return 0;
}

static int update(hubc__cs *cs, hubc__rec *target, size_t nch, int *outcome) {
  hubc_store *s = cs->s;
  int64_t id = target->id;
  int merged = 0;
  if (cs->o.policy & HUBC__CS_MERGE_DUPLICATES) {
    merged = reached_before(cs, id);
    if (merged < 0) return hubc__err(HUBC_ENOMEM, "out of memory tracking the contacts of a changeset");
  }
  if (cs->o.mode == HUBC__CS_CREATE_ONLY && !merged) { /* C5 */
    const char *e = hubc__rec_email(target);
    if (!e) return hubc__err(HUBC_EEXISTS, "a contact with record id %lld already exists", (long long)id);
    if (id >= cs->first_id)
      return hubc__err(HUBC_EEXISTS, "email '%s' is given twice in this call (first in row %lld)", e,
                       (long long)(id - cs->first_id));
    return hubc__err(HUBC_EEXISTS, "a contact with email '%s' already exists (record id %lld)", e, (long long)id);
  }
  int mark = cs->o.mark_matched && target->status != HUBC_MARKETING;
  hubc__rec *r;
  int rc;
  if ((rc = hubc__txn_reserve(s, 2)) || (rc = hubc__eidx_reserve(s, 1)) || (mark && (rc = hubc__status_reserve(s, 1))) ||
      (rc = merge(s, target, NULL, cs->o.policy, cs->ch, nch, &r, NULL)))
    return rc;
  if (r) {
    const char *e = hubc__rec_email(r);
    const hubc__rec *other = NULL;
    if (e) { /* the row's email was hashed to find the contact: r's is that one or the contact's own */
      uint32_t h = nch && cs->ch[0].prop == HUBC__P_EMAIL && strcmp(e, cs->ch[0].value) == 0
                       ? cs->email_h
                       : hubc__hash(e, strlen(e));
      other = hubc__eidx_probe(&s->contacts.eidx, e, h);
      hubc__eidx_hint(&s->contacts.eidx, r, h);
    }
    if (other && other != target) {
      s->contacts.eidx.hint = NULL;
      hubc__rec_unref(s->base, r);
      return hubc__err(HUBC_EEXISTS, "a contact with email '%s' already exists (record id %u)", e, other->id);
    }
    hubc__slot slot = hubc__slot_at(s, id);
    slot.rec = r;
    slot.modified = s->txn.now;
    hubc__txn_slot(s, id, &slot);
    s->contacts.eidx.hint = NULL;
  }
  if (mark) {
    hubc__status_apply(s, id, 1, cs->o.source, cs->o.source_id);
    cs->marked++;
  }
  if (cs->o.policy & HUBC__CS_MERGE_DUPLICATES) reach(cs, id);
  if (merged) cs->merged++;
  else if (!r && !mark) cs->unchanged++; /* I7: the plan counts what the commit changes */
  else cs->updated++;
  *outcome = merged ? HUBC__CS_MERGED : HUBC__CS_UPDATED;
  return 0;
}

int hubc__cs_check(hubc__cs *cs, const char *const *values, const uint32_t *lens, size_t *nch) {
  *nch = 0;
  cs->fail_col = SIZE_MAX;
  return collect(cs, values, lens, 0, nch);
}

int hubc__cs_would_change(hubc__cs *cs, const hubc__rec *target, size_t nch, int *changed) {
  return merge(cs->s, target, NULL, cs->o.policy, cs->ch, nch, NULL, changed);
}

int hubc__cs_row(hubc__cs *cs, hubc_id id, const char *const *values, hubc_id *out_id, int *outcome) {
  return hubc__cs_row_n(cs, id, values, NULL, out_id, outcome);
}

static int row(hubc__cs *cs, hubc_id id, const char *const *values, const uint32_t *lens, int email_ready,
               hubc_id *out_id, int *outcome) {
  hubc_store *s = cs->s;
  size_t nch = 0;
  int done = 0, h_given = cs->email_h_set;
  cs->fail_col = SIZE_MAX;
  cs->email_h_set = 0;
  int rc = collect(cs, values, lens, email_ready, &nch);
  if (rc) return rc;
  /* changes are sorted and email is property 0 */
  const char *email = nch && cs->ch[0].prop == HUBC__P_EMAIL ? cs->ch[0].value : NULL;
  hubc__rec *target = NULL;
  if (email) /* once: find, then index (create, update) */
    cs->email_h = h_given ? cs->email_h_given : hubc__hash(email, cs->ch[0].len);
  if (id) {
    if (!(target = hubc__contact_at(s, id)))
      return hubc__err(HUBC_ENOTFOUND, "no contact with record id %lld", (long long)id);
  } else if (email) {
    target = hubc__eidx_probe(&s->contacts.eidx, email, cs->email_h);
  }
  if (target) {
    id = target->id;
    rc = update(cs, target, nch, &done);
  } else if (cs->o.mode == HUBC__CS_UPDATE_ONLY) {
    rc = email ? hubc__err(HUBC_ENOTFOUND, "no contact with email '%s'", email)
               : hubc__err(HUBC_ENOTFOUND, "no record id or email to find the contact by");
  } else {
    rc = create(cs, nch, &id);
    done = HUBC__CS_CREATED;
  }
  if (rc) {
    if (rc == HUBC_EEXISTS || (rc == HUBC_ENOTFOUND && email)) cs->fail_col = cs->email_col; /* about the email */
    return rc;
  }
  if (out_id) *out_id = id;
  if (outcome) *outcome = done;
  return 0;
}

int hubc__cs_row_n(hubc__cs *cs, hubc_id id, const char *const *values, const uint32_t *lens, hubc_id *out_id,
                   int *outcome) {
  return row(cs, id, values, lens, 0, out_id, outcome);
}

int hubc__cs_row_email_ready(hubc__cs *cs, hubc_id id, const char *const *values, const uint32_t *lens,
                             hubc_id *out_id, int *outcome) {
  return row(cs, id, values, lens, 1, out_id, outcome);
}

int hubc__cs_email_was_normal(const hubc__cs *cs, const char *const *values, const uint32_t *lens) {
  if (cs->email_col == SIZE_MAX) return 0;
  const char *v = values[cs->email_col];
  size_t len = lens ? lens[cs->email_col] : (v ? strlen(v) : 0);
  return v && len && strlen(cs->email) == len && memcmp(cs->email, v, len) == 0;
}
