/* Form submissions (F2–F6): validated whole, applied through the contact
 * changeset ("non-empty values overwrite"), recorded, raised as an event.
 * The SUBMISSION record kind and the listing are here too. */
#include <stdio.h>
#include <string.h>

#include "contact/changeset.h"
#include "hubcontacts/form.h"
#include "persist/codec.h"
#include "store/dump.h"
#include "store/plan.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"
#include "workflow/engine.h"

#define K HUBC_REC_SUBMISSION
#define MAX_VALUES 1000 /* C4: a contact's properties */

const hubc__form *hubc__form_at(const hubc_store *s, hubc_id id);

typedef struct submit {
  hubc_id form;
  int external;
  const char *const *names, *const *values;
  size_t n;
  uint32_t *props; /* the changeset's columns: each field's property */
  hubc_id contact, submission;
} submit;

/* F2 before anything: the names are the form's fields (or, for an external
 * form, writable properties), each once; required fields are non-empty. */
static int check_fields(hubc_store *s, submit *x, const hubc__form *f, const char *what) {
  const hubc__schema *schema = s->schema;
  int has_email = 0;
  for (size_t i = 0; i < x->n; i++) {
    if (!x->names[i]) return hubc__err(HUBC_EINVAL, "%s: field name %zu is NULL", what, i);
    if (!x->values[i]) return hubc__err(HUBC_EINVAL, "%s: field '%.100s': value is NULL", what, x->names[i]);
    int p = hubc__schema_find(schema, x->names[i]);
    int on_form = 0;
    if (p >= 0 && !f) on_form = !(schema->props[p].flags & HUBC_PROP_READONLY); /* external: any writable */
    for (uint32_t k = 0; p >= 0 && f && k < f->n_fields && !on_form; k++) on_form = f->props[k] == (uint32_t)p;
    if (!on_form)
      return hubc__err(HUBC_EINVAL, "%s: field '%.100s' is not %s", what, x->names[i],
                       f ? "a field of this form" : "a writable property");
    for (size_t j = 0; j < i; j++)
      if (x->props[j] == (uint32_t)p) /* one rule for repeats: refused */
        return hubc__err(HUBC_EINVAL, "%s: field '%s' is given twice", what, schema->props[p].name);
    x->props[i] = (uint32_t)p;
    has_email |= p == HUBC__P_EMAIL && *x->values[i];
  }
  for (uint32_t k = 0; f && k < f->n_fields; k++) {
    if (!f->required[k]) continue;
    int given = 0;
    for (size_t i = 0; i < x->n && !given; i++)
      given = x->props[i] == f->props[k] && *x->values[i];
    if (!given)
      return hubc__err(HUBC_EINVAL, "%s: required field '%s' (%s) is missing", what, schema->props[f->props[k]].name,
                       f->labels[k]);
  }
  if (!has_email) return hubc__err(HUBC_EINVAL, "%s: field 'email' is missing: a submission finds its contact by email (F3)", what);
  return 0;
}

/* The recorded values: "name\0value\0" for each non-empty value. */
static const char *pool_values(hubc_store *s, const submit *x, uint16_t *count) {
  const hubc__prop *props = s->schema->props;
  size_t len = 0, n = 0;
  for (size_t i = 0; i < x->n; i++)
    if (*x->values[i]) len += strlen(props[x->props[i]].name) + strlen(x->values[i]) + 2;
  char *buf = hubc__alloc(s->base, len + 1);
  if (!buf) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < x->n; i++) {
    if (!*x->values[i]) continue;
    const char *name = props[x->props[i]].name;
    size_t a = strlen(name) + 1, b = strlen(x->values[i]) + 1;
    memcpy(buf + o, name, a);
    memcpy(buf + o + a, x->values[i], b);
    o += a + b;
    n++;
  }
  const char *p = hubc__pool_strdup(s->base, buf, len ? len - 1 : 0); /* keeps the inner NULs; adds the last */
  hubc__free(s->base, buf, len + 1);
  *count = (uint16_t)n;
  return p;
}

static int apply(hubc_store *s, void *ctx) {
  submit *x = ctx;
  const char *what = x->external ? "submit external form" : "submit form";
  const hubc__form *f = NULL;
  int mark;
  if (x->external) {
    mark = hubc__source_default(s, HUBC_SOURCE_EXTERNAL_FORM, 0); /* F6: the store-wide switch */
  } else {
    if (!(f = hubc__form_at(s, x->form)))
      return hubc__err(HUBC_ENOTFOUND, "%s: no form with id %lld", what, (long long)x->form);
    if (f->deleted)
      return hubc__err(HUBC_ENOTFOUND, "%s: form %lld ('%s') was deleted", what, (long long)x->form, f->name);
    mark = f->marketing;
  }
  int rc = check_fields(s, x, f, what);
  if (rc) return rc;
  hubc__cs cs;
  hubc__cs_opts o = {.policy = HUBC__CS_NONEMPTY,
                     .mode = HUBC__CS_CREATE_OR_UPDATE,
                     .source = x->external ? HUBC_SOURCE_EXTERNAL_FORM : HUBC_SOURCE_FORM,
                     .source_id = x->form,
                     .mark_created = mark,
                     .mark_matched = mark}; /* F4: never lowers: only raises to MARKETING */
  rc = hubc__cs_begin_props(&cs, s, &o, x->props, x->n);
  if (!rc) rc = hubc__cs_row(&cs, 0, x->values, &x->contact, NULL);
  hubc__cs_end(&cs);
  if (rc) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    return hubc__err(rc, "%s: %s", what, msg); /* the changeset's message names the field */
  }
  hubc__forms *a = &s->forms;
  if ((rc = hubc__grow(s->base, (void **)&a->subs, &a->subs_cap, a->subs_n + 1, sizeof *a->subs)) ||
      (rc = hubc__txn_reserve(s, 1)))
    return rc;
  hubc__sub sub = {s->txn.now, x->form, NULL, (uint32_t)x->contact, 0, (uint8_t)x->external};
  if (!(sub.values = pool_values(s, x, &sub.n))) return hubc__err(HUBC_ENOMEM, "out of memory recording a submission");
  a->subs[a->subs_n++] = sub; /* undone by restoring subs_n */
  x->submission = (hubc_id)a->subs_n;
  hubc__txn_dirty(s, K, x->submission);
  hubc_event ev = {.type = HUBC_EVENT_SUBMISSION, .time = s->txn.now, .contact = x->contact,
                   .reason_type = o.source, .reason_id = x->form, .actor = HUBC_SYSTEM,
                   .submission = x->submission};
  hubc__txn_event(s, &ev);
  return hubc__engine_submission(s, x->form, x->external, x->contact); /* W2; F6: external forms too */
}

static int submit_common(hubc_id *out_contact, hubc_id *out_sub, hubc_store *s, hubc_id form, int external,
                         const char *const *names, const char *const *values, size_t n) {
  const char *what = external ? "submit external form" : "submit form";
  if (out_contact) *out_contact = 0;
  if (out_sub) *out_sub = 0;
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (form <= 0) return hubc__err(HUBC_EINVAL, "%s: form id %lld is invalid (must be > 0)", what, (long long)form);
  if (n && (!names || !values)) return hubc__err(HUBC_EINVAL, "%s: names or values is NULL with n = %zu", what, n);
  if (n > MAX_VALUES) return hubc__err(HUBC_ELIMIT, "%s: %zu fields (at most %d)", what, n, MAX_VALUES);
  uint32_t props_stack[16];
  uint32_t *props = props_stack;
  if (n > 16 && !(props = hubc__alloc(s->base, n * sizeof *props)))
    return hubc__err(HUBC_ENOMEM, "out of memory submitting a form");
  submit x = {form, external, names, values, n, props, 0, 0};
  /* P5: forms act as SYSTEM, under the switches their editors set */
  int rc = hubc__op_run(s, HUBC_SYSTEM, external ? HUBC__OP_FORM_SUBMIT_EXTERNAL : HUBC__OP_FORM_SUBMIT, apply, &x, NULL);
  if (props != props_stack) hubc__free(s->base, props, n * sizeof *props);
  if (rc) return rc;
  if (out_contact) *out_contact = x.contact;
  if (out_sub) *out_sub = x.submission;
  return 0;
}

HUBC_API int hubc_form_submit(hubc_id *out_contact, hubc_id *out_sub, hubc_store *s, hubc_id form,
                              const char *const *names, const char *const *values, size_t n) {
  return submit_common(out_contact, out_sub, s, form, 0, names, values, n);
}

HUBC_API int hubc_form_submit_external(hubc_id *out_contact, hubc_id *out_sub, hubc_store *s, hubc_id form,
                                       const char *const *names, const char *const *values, size_t n) {
  return submit_common(out_contact, out_sub, s, form, 1, names, values, n);
}

/* ---- listing (F5) --------------------------------------------------------------- */

struct hubc_submission_iterator {
  hubc_store *store;
  hubc__base *base;
  hubc_id form, contact;
  int external;
  size_t pos;          /* next index to look at, counting down (newest first) */
  const char *names[MAX_VALUES], *values[MAX_VALUES];
};

HUBC_API int hubc_submission_iterator_new(hubc_submission_iterator **out, hubc_store *s, hubc_id form, int external,
                                          hubc_id contact) {
  if (!out) return hubc__err(HUBC_EINVAL, "submission iterator: out is NULL");
  *out = NULL;
  if (form < 0 || contact < 0 || (external != 0 && external != 1))
    return hubc__err(HUBC_EINVAL, "submission iterator: form and contact must be >= 0, external 0 or 1");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc_submission_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a submission iterator"));
  hubc__base_ref(s->base);
  it->store = s;
  it->base = s->base;
  it->form = form;
  it->contact = contact;
  it->external = external;
  it->pos = s->forms.subs_n; /* what exists now: later submissions are not listed */
  *out = it;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_submission_iterator_next(hubc_submission *out, hubc_submission_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "submission iterator: NULL argument");
  int rc = hubc__version_check(out->version, HUBC_SUBMISSION_VERSION, "submission");
  if (rc) return rc;
  hubc_store *s = it->store;
  if ((rc = hubc__read_begin(s))) return rc;
  const hubc__sub *sub = NULL;
  while (it->pos > 0) { /* an undone submission's slot is never listed: pos starts at a committed count */
    const hubc__sub *c = &s->forms.subs[--it->pos];
    if ((it->form && (c->form != it->form || c->external != it->external)) ||
        (it->contact && c->contact != (uint64_t)it->contact))
      continue;
    sub = c;
    break;
  }
  if (!sub) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  const char *p = sub->values;
  for (uint16_t i = 0; i < sub->n; i++) {
    it->names[i] = p;
    p += strlen(p) + 1;
    it->values[i] = p;
    p += strlen(p) + 1;
  }
  hubc_submission r = {HUBC_SUBMISSION_VERSION, (hubc_id)it->pos + 1, sub->form, sub->external, sub->contact,
                       sub->time, sub->n, it->names, it->values};
  hubc__version_out(out, &r, HUBC__VERSION_END(hubc_submission, values));
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_submission_iterator_free(hubc_submission_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

/* ---- the SUBMISSION record kind ------------------------------------------------------ */

enum { T_TIME = 1, T_FORM, T_EXTERNAL, T_CONTACT, T_VALUE /* repeated: name NUL value */ };

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__sub *sub = &s->forms.subs[id - 1];
  hubc__wr_num(w, T_TIME, sub->time);
  hubc__wr_num(w, T_FORM, sub->form);
  hubc__wr_num(w, T_EXTERNAL, sub->external);
  hubc__wr_num(w, T_CONTACT, sub->contact);
  const char *p = sub->values;
  for (uint16_t i = 0; i < sub->n; i++) {
    size_t a = strlen(p) + 1, b = strlen(p + a);
    hubc__wr_bytes(w, T_VALUE, p, a + b);
    p += a + b + 1;
  }
  return 0;
}

static int load(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__forms *a = &s->forms;
  if (id < 1 || id > 0xffffffffLL) return hubc__corrupt(K, id, "bad submission id");
  if (hubc__grow_zeroed(s->base, (void **)&a->subs, &a->subs_cap, (size_t)id, sizeof *a->subs)) return HUBC_ENOMEM;
  hubc__sub sub = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  /* values: collected as "name\0value\0" like a live submission */
  size_t len = 0, n = 0;
  hubc__rd again = rd;
  HUBC__FOR_FIELDS(again, tag, body, K, id) {
    if (tag == T_VALUE) len += (size_t)(body.end - body.p) + 1, n++;
  }
  if (n > MAX_VALUES) return hubc__corrupt(K, id, "too many values");
  char *buf = hubc__alloc(s->base, len + 1);
  if (!buf) return hubc__err(HUBC_ENOMEM, "out of memory loading submissions");
  size_t o = 0;
  int rc = 0, has_time = 0;
  for (int fr; !rc && (fr = hubc__rd_field(&rd, &tag, &body)) != 0;) {
    if (fr < 0) {
      rc = hubc__corrupt(K, id, "malformed field");
    } else if (tag == T_VALUE) {
      size_t bl = (size_t)(body.end - body.p);
      const unsigned char *nul = memchr(body.p, 0, bl);
      if (!nul || nul == body.p || memchr(nul + 1, 0, (size_t)(body.end - nul - 1)) ||
          !hubc__utf8_valid((const char *)body.p, (size_t)(nul - body.p)) ||
          !hubc__utf8_valid((const char *)nul + 1, (size_t)(body.end - nul - 1)))
        rc = hubc__corrupt(K, id, "bad value");
      else {
        memcpy(buf + o, body.p, bl);
        buf[o + bl] = '\0';
        o += bl + 1;
      }
    } else if (tag >= T_TIME && tag <= T_CONTACT) {
      if (hubc__ld_int(body, &v, K, id)) rc = HUBC_ECORRUPT;
      else if (tag == T_TIME) sub.time = v, has_time = 1;
      else if (tag == T_FORM) sub.form = v;
      else if (tag == T_EXTERNAL) sub.external = (uint8_t)v;
      else sub.contact = (uint32_t)v;
      if (!rc && ((tag == T_EXTERNAL && v != 0 && v != 1) || (tag == T_CONTACT && (v < 1 || v > 0xffffffffLL)) ||
                  (tag == T_FORM && v < 1) || (tag == T_TIME && !hubc__time_ok(v))))
        rc = hubc__corrupt(K, id, "field out of range");
    }
  }
  if (!rc && (!has_time || !sub.form || !sub.contact)) rc = hubc__corrupt(K, id, "time, form or contact missing");
  if (!rc && !(sub.values = hubc__pool_strdup(s->base, buf, o ? o - 1 : 0)))
    rc = hubc__err(HUBC_ENOMEM, "out of memory loading submissions");
  hubc__free(s->base, buf, len + 1);
  if (rc) return rc;
  sub.n = (uint16_t)n;
  a->subs[id - 1] = sub;
  if ((uint64_t)id > a->subs_n) a->subs_n = (size_t)id;
  return 0;
}

/* After forms: every id up to the last is present and names a form that
 * exists (external ones name the host's forms). */
static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  const hubc__forms *a = &s->forms;
  for (size_t i = 0; !rc && i < a->subs_n; i++) {
    const hubc__sub *sub = &a->subs[i];
    if (!sub->values) rc = hubc__corrupt(K, (hubc_id)i + 1, "missing while later submissions exist");
    else if (!sub->external && !hubc__form_at(s, sub->form))
      rc = hubc__corrupt(K, (hubc_id)i + 1, "names a form that does not exist");
  }
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__forms *a = &s->forms;
  for (size_t i = 0; i < a->subs_n; i++) {
    const hubc__sub *sub = &a->subs[i];
    hubc__out_printf(o, "submission %zu time=%lld form=%lld external=%d contact=%u", i + 1, (long long)sub->time,
                     (long long)sub->form, sub->external, sub->contact);
    const char *p = sub->values;
    for (uint16_t k = 0; k < sub->n; k++) {
      hubc__out_put(o, " ", 1);
      hubc__out_text(o, p, 1);
      p += strlen(p) + 1;
      hubc__out_put(o, "=", 1);
      hubc__out_text(o, p, 1);
      p += strlen(p) + 1;
    }
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) { hubc__free(s->base, s->forms.subs, s->forms.subs_cap * sizeof *s->forms.subs); }
static void txn_begin(hubc_store *s) { s->forms.subs_mark = s->forms.subs_n; }
static void txn_rollback(hubc_store *s) { s->forms.subs_n = s->forms.subs_mark; }

const hubc__kind hubc__kind_submission = {
    .kind = K,
    .name = "submission",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .txn_rollback = txn_rollback,
};
