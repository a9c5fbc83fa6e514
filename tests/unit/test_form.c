/* Forms and submissions (F1–F6, D1/D2 for forms, B5, P5, R2). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

static hubc_store *open_store(tu_clock *clk) {
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  return gc_store(tu_open(clk, NULL));
}

/* A form "Newsletter" with firstname and city (city required). */
static hubc_id newsletter(hubc_store *s) {
  const char *props[] = {"First Name", "city"}, *labels[] = {"Your name", NULL};
  const int req[] = {0, 1};
  hubc_id id;
  assert_int_equal(hubc_form_create(&id, s, 1, "Newsletter", props, labels, req, 2), 0);
  return id;
}

static int submit3(hubc_store *s, hubc_id form, const char *email, const char *first, const char *city,
                   hubc_id *contact) {
  const char *n[] = {"email", "firstname", "city"}, *v[] = {email, first, city};
  return hubc_form_submit(contact, NULL, s, form, n, v, 3);
}

static int status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

static void reason_of(hubc_store *s, hubc_id id, int *type, hubc_id *rid) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  assert_int_equal(hubc_contact_reason(type, rid, c), 0);
  hubc_contact_free(c);
}

static const char *prop_of(hubc_store *s, hubc_id id, const char *prop) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  const char *v = hubc_contact_prop(c, prop);
  char *copy = gc_malloc(strdup(v ? v : "(unset)"));
  hubc_contact_free(c);
  return copy;
}

/* ---- F1: forms ------------------------------------------------------------------ */

static void test_F1_create_defaults_email_first_and_switch_on(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id id = newsletter(s);
  assert_int_equal(id, 1);
  hubc_form *f;
  assert_int_equal(hubc_form_get(&f, s, id), 0);
  assert_string_equal(hubc_form_name(f), "Newsletter");
  assert_int_equal(hubc_form_marketing(f), 1);
  assert_int_equal(hubc_form_is_deleted(f), 0);
  assert_int_equal(hubc_form_field_count(f), 3);
  const char *prop, *label;
  int req;
  assert_int_equal(hubc_form_field_at(&prop, &label, &req, f, 0), 0);
  assert_string_equal(prop, "email");
  assert_string_equal(label, "Email");
  assert_int_equal(req, 1);
  assert_int_equal(hubc_form_field_at(&prop, &label, &req, f, 1), 0);
  assert_string_equal(prop, "firstname");
  assert_string_equal(label, "Your name");
  assert_int_equal(req, 0);
  assert_int_equal(hubc_form_field_at(&prop, &label, &req, f, 2), 0);
  assert_string_equal(prop, "city");
  assert_string_equal(label, "City");
  assert_int_equal(req, 1);
  assert_int_equal(hubc_form_field_at(NULL, NULL, NULL, f, 3), HUBC_ENOTFOUND);
  hubc_form_free(f);
}

static void test_F1_bad_definitions_refused_naming_the_field(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  char *before = gc_dump(s);
  hubc_id id;
  const char *unknown[] = {"favourite_colour"};
  assert_int_equal(hubc_form_create(&id, s, 1, "F", unknown, NULL, NULL, 1), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "favourite_colour"));
  const char *ro[] = {"createdate"};
  assert_int_equal(hubc_form_create(&id, s, 1, "F", ro, NULL, NULL, 1), HUBC_EREADONLY);
  const char *twice[] = {"city", "City"};
  assert_int_equal(hubc_form_create(&id, s, 1, "F", twice, NULL, NULL, 2), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "twice"));
  assert_int_equal(hubc_form_create(&id, s, 1, "", NULL, NULL, NULL, 0), HUBC_EINVAL);
  assert_int_equal(hubc_form_create(&id, s, 1, "bad \xff", NULL, NULL, NULL, 0), HUBC_EINVAL);
  /* P5/config: SYSTEM does not edit forms */
  assert_int_equal(hubc_form_create(&id, s, HUBC_SYSTEM, "F", NULL, NULL, NULL, 0), HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
}

static void test_F1_update_list_and_delete(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id a = newsletter(s), b;
  assert_int_equal(hubc_form_create(&b, s, 1, "Contact us", NULL, NULL, NULL, 0), 0);
  const char *props[] = {"jobtitle"};
  assert_int_equal(hubc_form_update(s, 1, a, "Weekly", props, NULL, NULL, 1), 0);
  assert_int_equal(hubc_form_update(s, 1, b, "Talk to us", NULL, NULL, NULL, 0), 0); /* name only */
  assert_int_equal(hubc_form_delete(s, 1, b), 0);
  assert_int_equal(hubc_form_delete(s, 1, b), HUBC_ENOTFOUND); /* once */
  hubc_form_iterator *it;
  assert_int_equal(hubc_form_iterator_new(&it, s), 0);
  hubc_form *f;
  assert_int_equal(hubc_form_iterator_next(&f, it), 0);
  assert_string_equal(hubc_form_name(f), "Weekly");
  assert_int_equal(hubc_form_field_count(f), 2); /* email + jobtitle */
  hubc_form_free(f);
  assert_int_equal(hubc_form_iterator_next(&f, it), 0);
  assert_string_equal(hubc_form_name(f), "Talk to us");
  assert_int_equal(hubc_form_is_deleted(f), 1);
  assert_int_equal(hubc_form_field_count(f), 1);
  hubc_form_free(f);
  assert_int_equal(hubc_form_iterator_next(&f, it), HUBC_ITEROVER);
  assert_null(f);
  hubc_form_iterator_free(it);
  assert_int_equal(hubc_form_update(s, 1, b, "again", NULL, NULL, NULL, 0), HUBC_ENOTFOUND);
  assert_int_equal(hubc_form_get(&f, s, 3), HUBC_ENOTFOUND);
}

static void test_F1_D2_switch_needs_P2(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s), u;
  assert_int_equal(hubc_user_create(&u, s, 1, "editor@x.it"), 0);
  assert_int_equal(hubc_user_set_permissions(s, 1, u, HUBC_PERM_EDIT_CONTACTS), 0);
  char *before = gc_dump(s);
  assert_int_equal(hubc_form_set_marketing(s, u, form, 0), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "P2"));
  assert_string_equal(gc_dump(s), before);
  /* other settings need no P2 */
  assert_int_equal(hubc_form_update(s, u, form, "Renamed", NULL, NULL, NULL, 0), 0);
  assert_int_equal(hubc_form_set_marketing(s, 1, form, 0), 0);
  hubc_form *f;
  assert_int_equal(hubc_form_get(&f, s, form), 0);
  assert_int_equal(hubc_form_marketing(f), 0);
  hubc_form_free(f);
  assert_int_equal(hubc_form_set_marketing(s, 1, form, 2), HUBC_EINVAL);
}

/* ---- F2: validation first ------------------------------------------------------------- */

static void test_F2_invalid_submissions_change_nothing_and_name_the_field(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s);
  char *before = gc_dump(s);
  static const struct {
    const char *names[3], *values[3];
    size_t n;
    int code;
    const char *names_in_message;
  } bad[] = {
    {{"email", "firstname"}, {"a@x.it", "Anna"}, 2, HUBC_EINVAL, "city"},               /* required missing */
    {{"email", "city"}, {"a@x.it", ""}, 2, HUBC_EINVAL, "city"},                         /* required empty */
    {{"email", "city", "phone"}, {"a@x.it", "Roma", "1"}, 3, HUBC_EINVAL, "phone"},      /* not on the form */
    {{"email", "city", "City"}, {"a@x.it", "Roma", "Bari"}, 3, HUBC_EINVAL, "twice"},    /* repeated */
    {{"email", "city"}, {"a b@x.it", "Roma"}, 2, HUBC_EINVAL, "email"},                  /* space */
    {{"email", "city"}, {"a@@x.it", "Roma"}, 2, HUBC_EINVAL, "email"},                   /* two @ */
    {{"email", "city"}, {"a@x.it", "Ro\xc3"}, 2, HUBC_EINVAL, "city"},                   /* bad UTF-8 */
    {{"city"}, {"Roma"}, 1, HUBC_EINVAL, "email"},                                       /* no email */
    {{"email", "city", "nosuch"}, {"a@x.it", "Roma", "x"}, 3, HUBC_EINVAL, "nosuch"},    /* unknown */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hubc_id c = 7, sub = 7;
    int rc = hubc_form_submit(&c, &sub, s, form, bad[i].names, bad[i].values, bad[i].n);
    if (rc != bad[i].code) fail_msg("case %zu: rc %d (%s)", i, rc, hubc_error_last());
    if (!strstr(hubc_error_last(), bad[i].names_in_message))
      fail_msg("case %zu: '%s' does not name '%s'", i, hubc_error_last(), bad[i].names_in_message);
    assert_int_equal(c, 0);
    assert_int_equal(sub, 0);
    assert_string_equal(gc_dump(s), before);
  }
  /* a 10 MB value */
  size_t big = 10u << 20;
  char *v = gc_malloc(malloc(big + 1));
  memset(v, 'x', big);
  v[big] = '\0';
  const char *n2[] = {"email", "city"}, *v2[] = {"a@x.it", v};
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, n2, v2, 2), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "city"));
  /* NULL values and arrays */
  const char *v3[] = {"a@x.it", NULL};
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, n2, v3, 2), HUBC_EINVAL);
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, NULL, NULL, 2), HUBC_EINVAL);
  assert_int_equal(hubc_form_submit(NULL, NULL, NULL, form, n2, v2, 2), HUBC_EINVAL);
  /* forms that never existed or were deleted */
  const char *v4[] = {"a@x.it", "Roma"};
  assert_int_equal(hubc_form_submit(NULL, NULL, s, 99, n2, v4, 2), HUBC_ENOTFOUND);
  assert_int_equal(hubc_form_submit(NULL, NULL, s, 0, n2, v4, 2), HUBC_EINVAL);
  assert_int_equal(hubc_form_delete(s, 1, form), 0);
  before = gc_dump(s);
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, n2, v4, 2), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "deleted"));
  assert_string_equal(gc_dump(s), before);
}

/* ---- F3, F4: the contact and its status -------------------------------------------------- */

static void test_F3_F4_new_contact_is_marketing_with_form_reason(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s), c;
  assert_int_equal(submit3(s, form, "Anna@X.it", "Anna", "Roma", &c), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  int type;
  hubc_id rid;
  reason_of(s, c, &type, &rid);
  assert_int_equal(type, HUBC_SOURCE_FORM);
  assert_int_equal(rid, form);
  hubc_contact *snap;
  assert_int_equal(hubc_contact_get(&snap, s, c), 0);
  assert_int_equal(hubc_contact_source(&type, &rid, snap), 0);
  assert_int_equal(type, HUBC_SOURCE_FORM);
  assert_int_equal(rid, form);
  assert_string_equal(hubc_contact_prop(snap, "email"), "anna@x.it");
  hubc_contact_free(snap);
}

static void test_F3_existing_contact_found_by_email_values_overwrite_blanks_keep(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s);
  hubc_id c = tu_contact(s, 1, "anna@x.it", "Anna");
  hubc_id got;
  assert_int_equal(submit3(s, form, "  ANNA@x.IT ", "", "Napoli", &got), 0); /* C3 variants reach it */
  assert_int_equal(got, c);
  assert_string_equal(prop_of(s, c, "firstname"), "Anna"); /* blank: kept */
  assert_string_equal(prop_of(s, c, "city"), "Napoli");
  assert_int_equal(submit3(s, form, "anna@x.it", "Annabella", "Bari", &got), 0);
  assert_string_equal(prop_of(s, c, "firstname"), "Annabella");
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 1);
}

static void test_F4_switch_on_raises_non_and_until_update_keeps_marketing_reason(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s);
  hubc_id non = tu_contact(s, 1, "non@x.it", "N"), until = tu_contact(s, 1, "until@x.it", "U"),
          mk = tu_contact(s, 1, "mk@x.it", "M");
  assert_int_equal(hubc_contact_set_marketing(s, 1, until, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_non_marketing(s, 1, until, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(s, 1, mk, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(submit3(s, form, "non@x.it", "", "Roma", NULL), 0);
  assert_int_equal(submit3(s, form, "until@x.it", "", "Roma", NULL), 0);
  assert_int_equal(submit3(s, form, "mk@x.it", "", "Roma", NULL), 0);
  assert_int_equal(status_of(s, non), HUBC_MARKETING);
  assert_int_equal(status_of(s, until), HUBC_MARKETING); /* the pending request is cancelled (M3) */
  int type;
  hubc_id rid;
  reason_of(s, until, &type, &rid);
  assert_int_equal(type, HUBC_SOURCE_FORM);
  reason_of(s, mk, &type, &rid);
  assert_int_equal(type, HUBC_SOURCE_MANUAL); /* already marketing: keeps the original reason */
}

static void test_F4_switch_off_new_non_marketing_existing_keep_never_lowered(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  hubc_id form = newsletter(s);
  assert_int_equal(hubc_form_set_marketing(s, 1, form, 0), 0);
  hubc_id mk = tu_contact(s, 1, "mk@x.it", "M");
  assert_int_equal(hubc_contact_set_marketing(s, 1, mk, HUBC_SOURCE_MANUAL, 1), 0);
  hubc_id non = tu_contact(s, 1, "non@x.it", "N"), fresh;
  assert_int_equal(submit3(s, form, "fresh@x.it", "F", "Roma", &fresh), 0);
  assert_int_equal(submit3(s, form, "mk@x.it", "", "Roma", NULL), 0);
  assert_int_equal(submit3(s, form, "non@x.it", "", "Roma", NULL), 0);
  assert_int_equal(status_of(s, fresh), HUBC_NON_MARKETING);
  assert_int_equal(status_of(s, mk), HUBC_MARKETING);
  assert_int_equal(status_of(s, non), HUBC_NON_MARKETING);
}

/* ---- F5: recorded, listed, raised ----------------------------------------------------------- */

static void free_log(void *p) {
  free(((ev_log *)p)->ev);
  free(p);
}

static void test_F5_submissions_listed_per_form_and_contact_and_raised(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  ev_log *logp = gc_defer(free_log, calloc(1, sizeof *logp)), log_view;
  assert_int_equal(hubc_store_set_event_callback(s, ev_cb, logp), 0);
  hubc_id a = newsletter(s), b, anna, bea;
  assert_int_equal(hubc_form_create(&b, s, 1, "Other", NULL, NULL, NULL, 0), 0);
  hubc_id sub1, sub2, sub3;
  const char *n[] = {"email", "city", "firstname"}, *v[] = {"anna@x.it", "Roma", ""};
  assert_int_equal(hubc_form_submit(&anna, &sub1, s, a, n, v, 3), 0);
  clk.now += 60;
  const char *n2[] = {"email"}, *v2[] = {"anna@x.it"};
  assert_int_equal(hubc_form_submit(NULL, &sub2, s, b, n2, v2, 1), 0);
  const char *v3[] = {"bea@x.it", "Bari", "Bea"};
  assert_int_equal(hubc_form_submit(&bea, &sub3, s, a, n, v3, 3), 0);
  assert_int_equal(sub1, 1);
  assert_int_equal(sub3, 3);
  log_view = *logp;
  assert_int_equal(ev_count(&log_view, HUBC_EVENT_SUBMISSION), 3);
  int seen = 0;
  for (size_t i = 0; i < log_view.n; i++)
    if (log_view.ev[i].type == HUBC_EVENT_SUBMISSION && log_view.ev[i].submission == sub3) {
      assert_int_equal(log_view.ev[i].contact, bea);
      assert_int_equal(log_view.ev[i].reason_type, HUBC_SOURCE_FORM);
      assert_int_equal(log_view.ev[i].reason_id, a);
      seen++;
    }
  assert_int_equal(seen, 1);
  hubc_submission_iterator *it;
  hubc_submission r = {.version = HUBC_SUBMISSION_VERSION};
  /* per form, newest first */
  assert_int_equal(hubc_submission_iterator_new(&it, s, a, 0, 0), 0);
  assert_int_equal(hubc_submission_iterator_next(&r, it), 0);
  assert_int_equal(r.id, sub3);
  assert_int_equal(r.contact, bea);
  assert_int_equal(r.n, 3);
  assert_string_equal(r.names[2], "firstname");
  assert_string_equal(r.values[2], "Bea");
  assert_int_equal(hubc_submission_iterator_next(&r, it), 0);
  assert_int_equal(r.id, sub1);
  assert_int_equal(r.n, 2); /* empty values are not recorded */
  assert_int_equal(r.time, tu_time(2024, 3, 1, 10, 0, 0));
  assert_int_equal(hubc_submission_iterator_next(&r, it), HUBC_ITEROVER);
  hubc_submission_iterator_free(it);
  /* per contact */
  assert_int_equal(hubc_submission_iterator_new(&it, s, 0, 0, anna), 0);
  assert_int_equal(hubc_submission_iterator_next(&r, it), 0);
  assert_int_equal(r.id, sub2);
  assert_int_equal(r.form_id, b);
  assert_int_equal(hubc_submission_iterator_next(&r, it), 0);
  assert_int_equal(r.id, sub1);
  assert_int_equal(hubc_submission_iterator_next(&r, it), HUBC_ITEROVER);
  hubc_submission_iterator_free(it);
  assert_int_equal(hubc_submission_iterator_new(&it, s, -1, 0, 0), HUBC_EINVAL);
}

/* ---- F6: external forms ------------------------------------------------------------------------- */

static void test_F6_external_forms_follow_the_store_wide_switch(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  const char *n[] = {"email", "jobtitle"}, *v[] = {"ext@x.it", "CEO"};
  hubc_id c, sub;
  assert_int_equal(hubc_form_submit_external(&c, &sub, s, 42, n, v, 2), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING); /* D1: on by default */
  int type;
  hubc_id rid;
  reason_of(s, c, &type, &rid);
  assert_int_equal(type, HUBC_SOURCE_EXTERNAL_FORM);
  assert_int_equal(rid, 42);
  assert_int_equal(hubc_source_set_default(s, 1, HUBC_SOURCE_EXTERNAL_FORM, 0, 0), 0);
  const char *v2[] = {"ext2@x.it", "CTO"};
  assert_int_equal(hubc_form_submit_external(&c, NULL, s, 42, n, v2, 2), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  /* read-only properties are refused there too */
  const char *n3[] = {"email", "createdate"}, *v3[] = {"e3@x.it", "2024-01-01"};
  assert_int_equal(hubc_form_submit_external(NULL, NULL, s, 42, n3, v3, 2), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "createdate"));
  hubc_submission_iterator *it;
  hubc_submission r = {.version = HUBC_SUBMISSION_VERSION};
  assert_int_equal(hubc_submission_iterator_new(&it, s, 42, 1, 0), 0);
  assert_int_equal(hubc_submission_iterator_next(&r, it), 0);
  assert_int_equal(r.external, 1);
  assert_int_equal(r.form_id, 42);
  hubc_submission_iterator_free(it);
}

/* ---- B5, R2, persistence ------------------------------------------------------------------------ */

static void test_B5_hard_cap_refuses_a_submission_whole(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = tu_open_hard_cap(&clk, 1);
  hubc_id form = newsletter(s);
  assert_int_equal(submit3(s, form, "a@x.it", "A", "Roma", NULL), 0);
  char *before = gc_dump(s);
  assert_int_equal(submit3(s, form, "b@x.it", "B", "Roma", NULL), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "2"));
  assert_string_equal(gc_dump(s), before);
}

static void test_R2_persistence_failure_at_every_callback_then_reload(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  hubc_id form = newsletter(s);
  char *before = gc_dump(s);
  int rc;
  long k = 1;
  for (;; k++) {
    m->fail_at = m->calls + k;
    m->fail_code = k % 2 ? -1 : HUBC_EAGAIN;
    rc = submit3(s, form, "a@x.it", "Anna", "Roma", NULL);
    if (rc == 0) break;
    assert_int_equal(rc, k % 2 ? HUBC_EPERSIST : HUBC_EAGAIN);
    assert_string_equal(gc_dump(s), before);
  }
  assert_true(k > 3);
  m->fail_at = 0;
  assert_int_equal(hubc_form_set_marketing(s, 1, form, 0), 0);
  const char *props[] = {"phone"};
  hubc_id other;
  assert_int_equal(hubc_form_create(&other, s, 1, "Call me", props, NULL, NULL, 1), 0);
  assert_int_equal(hubc_form_delete(s, 1, other), 0);
  char *after = gc_dump(s);
  hubc_store *again = gc_store(tu_open(&clk, &m->vtable));
  assert_string_equal(gc_dump(again), after);
}

/* ---- a random walk against a model of F3/F4 ---------------------------------------------------------- */

typedef struct model_contact {
  char email[32];
  int status;   /* what the model expects */
  hubc_id id;
} model_contact;

static void test_F3_F4_random_submissions_match_a_model(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  enum { FORMS = 4, EMAILS = 60, STEPS = 3000 };
  hubc_id forms[FORMS];
  int switch_on[FORMS];
  for (int f = 0; f < FORMS; f++) {
    assert_int_equal(hubc_form_create(&forms[f], s, 1, "F", NULL, NULL, NULL, 0), 0);
    switch_on[f] = 1;
  }
  model_contact *mc = gc_malloc(calloc(EMAILS, sizeof *mc));
  for (int e = 0; e < EMAILS; e++) snprintf(mc[e].email, sizeof mc[e].email, "p%d@x.it", e);
  uint64_t seed = 12345;
  for (int step = 0; step < STEPS; step++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    unsigned r = (unsigned)(seed >> 33);
    int f = (int)(r % FORMS), e = (int)((r >> 4) % EMAILS), op = (int)((r >> 12) % 10);
    if (op == 0) { /* flip a form's switch */
      switch_on[f] = !switch_on[f];
      assert_int_equal(hubc_form_set_marketing(s, 1, forms[f], switch_on[f]), 0);
    } else if (op == 1 && mc[e].id) { /* someone asks to stop (M4) */
      assert_int_equal(hubc_contact_set_non_marketing(s, 1, mc[e].id, HUBC_SOURCE_MANUAL, 1), 0);
      if (mc[e].status == HUBC_MARKETING) mc[e].status = HUBC_MARKETING_UNTIL_UPDATE;
    } else {
      char email[40];
      snprintf(email, sizeof email, (r >> 20) & 1 ? " %s" : "%s", mc[e].email); /* C3 variants */
      const char *n[] = {"email"}, *v[] = {email};
      hubc_id c;
      assert_int_equal(hubc_form_submit(&c, NULL, s, forms[f], n, v, 1), 0);
      if (!mc[e].id) {
        mc[e].id = c;
        mc[e].status = switch_on[f] ? HUBC_MARKETING : HUBC_NON_MARKETING;
      } else {
        assert_int_equal(c, mc[e].id);
        if (switch_on[f]) mc[e].status = HUBC_MARKETING; /* never lowers */
      }
    }
  }
  uint64_t billable = 0;
  for (int e = 0; e < EMAILS; e++) {
    if (!mc[e].id) continue;
    assert_int_equal(status_of(s, mc[e].id), mc[e].status);
    billable += mc[e].status != HUBC_NON_MARKETING;
  }
  hubc_billing_info bi = {.version = HUBC_BILLING_INFO_VERSION};
  assert_int_equal(hubc_billing_get(&bi, s), 0);
  assert_int_equal(bi.billable, billable);
}

/* F2: a submission racing the form's deletion either lands whole before the
 * delete or is refused naming the deletion; none is half-applied, none lands
 * after. The submitter runs in a thread while the main thread deletes. */
typedef struct race {
  hubc_store *s;
  hubc_id form;
  int ok, refused, other; /* calls by outcome */
} race;

static void *race_submitter(void *arg) {
  race *r = arg;
  char email[64];
  for (int i = 0; i < 200000 && !r->refused; i++) {
    snprintf(email, sizeof email, "racer%d@x.it", i);
    const char *n[] = {"email", "city"}, *v[] = {email, "Roma"};
    int rc = hubc_form_submit(NULL, NULL, r->s, r->form, n, v, 2);
    if (rc == 0) r->ok++;
    else if (rc == HUBC_ENOTFOUND && strstr(hubc_error_last(), "deleted")) r->refused++;
    else r->other++;
  }
  return NULL;
}

static void test_F2_submission_racing_the_form_deletion(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_store(&clk);
  race r = {s, newsletter(s), 0, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, race_submitter, &r), 0);
  for (uint64_t n = 0; n < 50;) /* let some submissions land first */
    assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(hubc_form_delete(s, 1, r.form), 0);
  pthread_join(t, NULL);
  assert_int_equal(r.other, 0);
  assert_int_equal(r.refused, 1); /* the submitter stops at its first refusal */
  uint64_t contacts;
  assert_int_equal(hubc_contact_count(&contacts, s), 0);
  assert_int_equal(contacts, (uint64_t)r.ok); /* each landed call made one contact, no refused one did */
  hubc_submission_iterator *it;
  assert_int_equal(hubc_submission_iterator_new(&it, s, r.form, 0, 0), 0);
  hubc_submission sub = {.version = HUBC_SUBMISSION_VERSION};
  int listed = 0;
  while (hubc_submission_iterator_next(&sub, it) == 0) listed++;
  hubc_submission_iterator_free(it);
  assert_int_equal(listed, r.ok);
  /* and after the deletion, nothing more lands */
  char *before = gc_dump(s);
  assert_int_equal(submit3(s, r.form, "late@x.it", "Late", "Roma", NULL), HUBC_ENOTFOUND);
  assert_string_equal(gc_dump(s), before);
}

static void test_R4_form_getters_on_NULL(void **state) {
  (void)state;
  assert_int_equal(hubc_form_id(NULL), 0);
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_null(hubc_form_name(NULL));
  assert_int_equal(hubc_form_marketing(NULL), -1);
  assert_int_equal(hubc_form_is_deleted(NULL), -1);
  assert_int_equal(hubc_form_field_count(NULL), 0);
  assert_int_equal(hubc_form_field_at(NULL, NULL, NULL, NULL, 0), HUBC_EINVAL);
  assert_int_equal(hubc_form_get(NULL, NULL, 1), HUBC_EINVAL);
  assert_int_equal(hubc_form_iterator_next(NULL, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_submission_iterator_next(NULL, NULL), HUBC_EINVAL);
  hubc_form_free(NULL);
  hubc_form_iterator_free(NULL);
  hubc_submission_iterator_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_F1_create_defaults_email_first_and_switch_on, gc_teardown),
    cmocka_unit_test_teardown(test_F1_bad_definitions_refused_naming_the_field, gc_teardown),
    cmocka_unit_test_teardown(test_F1_update_list_and_delete, gc_teardown),
    cmocka_unit_test_teardown(test_F1_D2_switch_needs_P2, gc_teardown),
    cmocka_unit_test_teardown(test_F2_invalid_submissions_change_nothing_and_name_the_field, gc_teardown),
    cmocka_unit_test_teardown(test_F3_F4_new_contact_is_marketing_with_form_reason, gc_teardown),
    cmocka_unit_test_teardown(test_F2_submission_racing_the_form_deletion, gc_teardown),
    cmocka_unit_test_teardown(test_F3_existing_contact_found_by_email_values_overwrite_blanks_keep, gc_teardown),
    cmocka_unit_test_teardown(test_F4_switch_on_raises_non_and_until_update_keeps_marketing_reason, gc_teardown),
    cmocka_unit_test_teardown(test_F4_switch_off_new_non_marketing_existing_keep_never_lowered, gc_teardown),
    cmocka_unit_test_teardown(test_F5_submissions_listed_per_form_and_contact_and_raised, gc_teardown),
    cmocka_unit_test_teardown(test_F6_external_forms_follow_the_store_wide_switch, gc_teardown),
    cmocka_unit_test_teardown(test_B5_hard_cap_refuses_a_submission_whole, gc_teardown),
    cmocka_unit_test_teardown(test_R2_persistence_failure_at_every_callback_then_reload, gc_teardown),
    cmocka_unit_test_teardown(test_F3_F4_random_submissions_match_a_model, gc_teardown),
    cmocka_unit_test_teardown(test_R4_form_getters_on_NULL, gc_teardown),
  };
  return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
