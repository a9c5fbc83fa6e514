/* The contact changeset (lib/contact/changeset.h): the write path imports
 * (I4), forms (F3) and manual calls (C5) share. Each test runs rows in one
 * transaction the way those callers will, then checks the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contact/changeset.h"
#include "store/store.h"
#include "testutil.h"

static const char *const cols[] = {"email", "firstname", "city", "lifecyclestage"};
#define NCOLS 4

typedef struct run_result {
  int rc[8];      /* per row */
  hubc_id id[8];
  int outcome[8];
  char msg[8][256]; /* each row's error (the call's end clears it) */
  size_t created, updated, merged, marked;
} run_result;

/* Runs rows[0..n) (NCOLS values each, record id first) in one transaction
 * as SYSTEM; a failed row is skipped like an import skips it (I5). */
static int run(hubc_store *s, const hubc__cs_opts *o, const hubc_id *ids, const char *const *rows, size_t n,
               run_result *res) {
  memset(res, 0, sizeof *res);
  int rc = hubc__write_begin(s, HUBC_SYSTEM, HUBC_PERM_EDIT_CONTACTS, "test changeset");
  if (rc) return rc;
  hubc__cs cs;
  rc = hubc__cs_begin(&cs, s, o, cols, NCOLS);
  if (!rc) rc = hubc__cs_reserve(&cs, n);
  for (size_t i = 0; !rc && i < n; i++) {
    res->rc[i] = hubc__cs_row(&cs, ids ? ids[i] : 0, rows + i * NCOLS, &res->id[i], &res->outcome[i]);
    if (res->rc[i]) snprintf(res->msg[i], sizeof res->msg[i], "%s", hubc_error_last());
  }
  res->created = cs.created;
  res->updated = cs.updated;
  res->merged = cs.merged;
  res->marked = cs.marked;
  hubc__cs_end(&cs);
  return hubc__write_end(s, rc);
}

static hubc_store *store(tu_clock *clk) { return gc_store(tu_open(clk, NULL)); }

static hubc_id anna(hubc_store *s) {
  const char *n[] = {"email", "firstname", "city", "lifecyclestage"};
  const char *v[] = {"anna@example.com", "Anna", "Roma", "customer"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, 4), 0);
  return id;
}

static void expect_prop(hubc_store *s, hubc_id id, const char *name, const char *want) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  const char *v = hubc_contact_prop(c, name);
  if (want) assert_string_equal(v, want);
  else assert_null(v);
  hubc_contact_free(c);
}

static void test_I4_blank_cells_never_erase_and_nonblank_values_replace(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_FORWARD, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *rows[] = {"anna@example.com", "", "Milano", NULL};
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  assert_int_equal(r.id[0], id);
  assert_int_equal(r.outcome[0], HUBC__CS_UPDATED);
  assert_int_equal(r.updated, 1);
  assert_int_equal(r.created, 0);
  expect_prop(s, id, "firstname", "Anna");      /* blank: kept */
  expect_prop(s, id, "city", "Milano");         /* non-blank: replaced */
  expect_prop(s, id, "lifecyclestage", "customer");
}

static void test_F3_submitted_values_overwrite_and_the_email_finds_the_contact(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_FORM, 9, 0, 0};
  const char *rows[] = {"  ANNA@Example.COM ", "Annie", "", "lead"}; /* C3: same contact */
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  assert_int_equal(r.id[0], id);
  expect_prop(s, id, "firstname", "Annie");
  expect_prop(s, id, "city", "Roma");
  expect_prop(s, id, "lifecyclestage", "lead"); /* forms may move it back: no FORWARD */
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 1);
}

static void test_I4_fill_blanks_only_writes_what_the_contact_lacks(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  const char *n[] = {"email", "firstname"};
  const char *v[] = {"bob@example.com", "Bob"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, 2), 0);
  hubc__cs_opts o = {HUBC__CS_FILL_BLANKS, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *rows[] = {"bob@example.com", "Robert", "Torino", ""};
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  expect_prop(s, id, "firstname", "Bob");
  expect_prop(s, id, "city", "Torino");
  expect_prop(s, id, "lifecyclestage", NULL);
}

static void test_I4_lifecyclestage_never_moves_backwards(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s); /* customer */
  hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_FORWARD, HUBC__CS_UPDATE_ONLY, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *back[] = {"anna@example.com", "Anna B", "", "lead"};
  run_result r;
  assert_int_equal(run(s, &o, NULL, back, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  expect_prop(s, id, "lifecyclestage", "customer");
  expect_prop(s, id, "firstname", "Anna B"); /* the rest of the row applies */
  const char *fwd[] = {"anna@example.com", "", "", "Evangelist"};
  assert_int_equal(run(s, &o, NULL, fwd, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  expect_prop(s, id, "lifecyclestage", "evangelist");
  /* even the overwrite policy keeps the stage when FORWARD is asked, blank included */
  hubc__cs_opts ow = {HUBC__CS_OVERWRITE | HUBC__CS_FORWARD, HUBC__CS_UPDATE_ONLY, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *blank[] = {"anna@example.com", "Anna B", "Roma", ""};
  assert_int_equal(run(s, &ow, NULL, blank, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  expect_prop(s, id, "lifecyclestage", "evangelist");
}

static void test_I4_repeated_emails_in_one_batch_merge_into_one_contact(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id old = anna(s);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_FORWARD | HUBC__CS_MERGE_DUPLICATES, HUBC__CS_CREATE_OR_UPDATE,
                     HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *rows[] = {
    "new@example.com",  "N",  "",       "",     /* creates */
    "NEW@example.com ", "",   "Napoli", "lead", /* merges into row 0 */
    "anna@example.com", "A1", "",       "",     /* updates an older contact */
    "Anna@Example.com", "A2", "",       "",     /* merges into it */
    "new@example.com",  "N3", "",       "",     /* merges again */
  };
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 5, &r), 0);
  for (int i = 0; i < 5; i++) assert_int_equal(r.rc[i], 0);
  assert_int_equal(r.created, 1);
  assert_int_equal(r.updated, 1);
  assert_int_equal(r.merged, 3);
  assert_int_equal(r.outcome[0], HUBC__CS_CREATED);
  assert_int_equal(r.outcome[1], HUBC__CS_MERGED);
  assert_int_equal(r.outcome[2], HUBC__CS_UPDATED);
  assert_int_equal(r.outcome[3], HUBC__CS_MERGED);
  assert_int_equal(r.id[1], r.id[0]);
  assert_int_equal(r.id[4], r.id[0]);
  assert_int_equal(r.id[3], old);
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 2);
  expect_prop(s, r.id[0], "firstname", "N3");
  expect_prop(s, r.id[0], "city", "Napoli");
  expect_prop(s, old, "firstname", "A2");
}

static void test_C5_create_only_refuses_an_existing_email_and_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  char *before = gc_dump(s);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_ONLY, HUBC_SOURCE_MANUAL, 1, 0, 0};
  const char *rows[] = {"anna@example.com", "Other", "", ""};
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], HUBC_EEXISTS);
  char want[64];
  snprintf(want, sizeof want, "record id %lld", (long long)id);
  assert_non_null(strstr(r.msg[0], want));
  assert_string_equal(gc_dump(s), before);
}

static void test_I5_a_failed_row_changes_nothing_and_the_others_apply(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *rows[] = {
    "anna@example.com", "Changed", "", "not-a-stage", /* C4: the whole row is refused */
    "two@@example.com", "X",       "", "",            /* C3 */
    "ok@example.com",   "Ok",      "", "",
  };
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 3, &r), 0);
  assert_int_equal(r.rc[0], HUBC_EINVAL);
  assert_non_null(strstr(r.msg[0], "lifecyclestage"));
  assert_int_equal(r.rc[1], HUBC_EINVAL);
  assert_non_null(strstr(r.msg[1], "email"));
  assert_int_equal(r.rc[2], 0);
  assert_int_equal(r.created, 1);
  assert_int_equal(r.updated, 0);
  expect_prop(s, id, "firstname", "Anna");
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 2);
}

static void test_I4_record_id_matches_first_and_update_only_refuses_unknown_ones(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc_id other = tu_contact(s, 1, "taken@example.com", "T");
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_UPDATE_ONLY, HUBC_SOURCE_IMPORT, 5, 0, 0};
  const char *rows[] = {
    "anna.new@example.com", "", "", "",  /* by record id: the email changes */
    "taken@example.com",    "", "", "",  /* by record id: another contact's email */
    "x@example.com",        "", "", "",  /* unknown record id */
    "nobody@example.com",   "", "", "",  /* update-only, unknown email */
  };
  hubc_id ids[] = {id, id, 999, 0};
  run_result r;
  assert_int_equal(run(s, &o, ids, rows, 4, &r), 0);
  assert_int_equal(r.rc[0], 0);
  assert_int_equal(r.id[0], id);
  assert_int_equal(r.rc[1], HUBC_EEXISTS);
  assert_int_equal(r.rc[2], HUBC_ENOTFOUND);
  assert_non_null(strstr(r.msg[2], "record id 999"));
  assert_int_equal(r.rc[3], HUBC_ENOTFOUND);
  assert_non_null(strstr(r.msg[3], "nobody@example.com"));
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, s, "anna.new@example.com"), 0);
  assert_int_equal(found, id);
  assert_int_equal(hubc_contact_find(&found, s, "taken@example.com"), 0);
  assert_int_equal(found, other);
  assert_int_equal(hubc_contact_find(&found, s, "anna@example.com"), HUBC_ENOTFOUND);
}

static void test_D1_new_contacts_carry_the_changeset_source(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT, 42, 0, 0};
  const char *rows[] = {"", "No email", "", ""}; /* C3: email is optional */
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, r.id[0]), 0);
  int src;
  hubc_id sid;
  assert_int_equal(hubc_contact_source(&src, &sid, c), 0);
  assert_int_equal(src, HUBC_SOURCE_IMPORT);
  assert_int_equal(sid, 42);
  assert_int_equal(hubc_contact_status(c), HUBC_NON_MARKETING);
  hubc_contact_free(c);
}

static void test_F4_marking_raises_new_and_matched_contacts_with_the_reason(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc_id until = tu_contact(s, 1, "until@example.com", "U");
  assert_int_equal(hubc_contact_set_marketing(s, 1, until, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_non_marketing(s, 1, until, HUBC_SOURCE_MANUAL, 1), 0);
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_FORM, 7, 1, 1};
  const char *rows[] = {
    "anna@example.com",  "", "", "",
    "until@example.com", "", "", "",
    "fresh@example.com", "", "", "",
  };
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 3, &r), 0);
  assert_int_equal(r.marked, 3);
  hubc_id want[] = {id, until, r.id[2]};
  for (int i = 0; i < 3; i++) {
    hubc_contact *c;
    assert_int_equal(hubc_contact_get(&c, s, want[i]), 0);
    assert_int_equal(hubc_contact_status(c), HUBC_MARKETING);
    int type;
    hubc_id rid;
    assert_int_equal(hubc_contact_reason(&type, &rid, c), 0);
    assert_int_equal(type, HUBC_SOURCE_FORM);
    assert_int_equal(rid, 7);
    hubc_contact_free(c);
  }
  /* a contact already MARKETING is not counted again (F4: never lowered, no-op) */
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.marked, 0);
}

static void test_C4_overwrite_removes_on_blank_like_a_manual_update(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id id = anna(s);
  hubc__cs_opts o = {HUBC__CS_OVERWRITE, HUBC__CS_UPDATE_ONLY, HUBC_SOURCE_MANUAL, 1, 0, 0};
  const char *rows[] = {"anna@example.com", NULL, "", "lead"};
  run_result r;
  assert_int_equal(run(s, &o, NULL, rows, 1, &r), 0);
  assert_int_equal(r.rc[0], 0);
  expect_prop(s, id, "firstname", NULL);
  expect_prop(s, id, "city", NULL);
  expect_prop(s, id, "lifecyclestage", "lead");
}

static void test_R2_a_reserved_bulk_run_creates_every_row_in_one_commit(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  long commits = m->commits;
  enum { N = 3000 };
  int rc = hubc__write_begin(s, HUBC_SYSTEM, HUBC_PERM_EDIT_CONTACTS, "test bulk");
  assert_int_equal(rc, 0);
  hubc__cs cs;
  hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_MERGE_DUPLICATES, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT,
                     3, 0, 0};
  rc = hubc__cs_begin(&cs, s, &o, cols, NCOLS);
  if (!rc) rc = hubc__cs_reserve(&cs, N);
  char email[64];
  for (int i = 0; !rc && i < N; i++) {
    snprintf(email, sizeof email, "user%d@example.com", i % (N - 100)); /* the last 100 repeat */
    const char *row[] = {email, "F", "", ""};
    rc = hubc__cs_row(&cs, 0, row, NULL, NULL);
  }
  size_t created = cs.created, merged = cs.merged;
  hubc__cs_end(&cs);
  assert_int_equal(hubc__write_end(s, rc), 0);
  assert_int_equal(created, N - 100);
  assert_int_equal(merged, 100);
  assert_int_equal(m->commits, commits + 1);
  assert_int_equal(hubc__store_check(s), 0);
}

/* R2: creates are logged as runs (one undo entry per run of new ids), a
 * change to a contact created earlier in the transaction between them as
 * its own entry; undoing them all, newest first, leaves the store as it
 * was: records, email index, counts and history. */
static void test_R2_creates_logged_as_runs_undo_to_the_store_before(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  anna(s);
  char *before = gc_dump(s);
  for (int mark = 0; mark < 2; mark++) {
    assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, HUBC_PERM_EDIT_CONTACTS, "test runs"), 0);
    hubc__cs cs;
    hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_MERGE_DUPLICATES, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT,
                       3, mark, mark};
    assert_int_equal(hubc__cs_begin(&cs, s, &o, cols, NCOLS), 0);
    const char *rows[][NCOLS] = {
      {"a@x.it", "A", "", ""}, {"b@x.it", "B", "", ""}, /* a run of two */
      {"A@X.IT", "", "Roma", ""},                       /* changes a: its own entry */
      {"c@x.it", "C", "", ""}, {"d@x.it", "D", "", ""}, {"e@x.it", "", "", "lead"}, /* a second run */
      {"anna@example.com", "", "Bari", ""},             /* an older contact: its own entry */
    };
    size_t undo_before = s->txn.undo_n;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
      assert_int_equal(hubc__cs_row(&cs, 0, rows[i], NULL, NULL), 0);
    assert_int_equal(cs.created, 5);
    /* runs, a's change, anna's change (and with marking her status change) */
    assert_int_equal(s->txn.undo_n - undo_before, 4 + (size_t)mark);
    hubc__cs_end(&cs);
    assert_int_equal(hubc__write_end(s, hubc__err(HUBC_EINVAL, "test: undo it all")), HUBC_EINVAL);
    tu_expect_dump(s, before, "creates in runs, undone");
    assert_int_equal(hubc__store_check(s), 0);
  }
}

/* C3/I4: a caller's hash of the next row's email (the import's, computed
 * ahead) serves that row only: given before a row that fails, it is not
 * taken by the row after it, which still finds its own contact. */
static void test_C3_a_given_email_hash_serves_one_row_only(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = store(&clk);
  hubc_id anna_id = anna(s);
  assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, HUBC_PERM_EDIT_CONTACTS, "test hash"), 0);
  hubc__cs cs;
  hubc__cs_opts o = {HUBC__CS_NONEMPTY | HUBC__CS_MERGE_DUPLICATES, HUBC__CS_CREATE_OR_UPDATE, HUBC_SOURCE_IMPORT, 3,
                     0, 0};
  assert_int_equal(hubc__cs_begin(&cs, s, &o, cols, NCOLS), 0);
  const char *bad[] = {"bob@x.it", "", "", "not-a-stage"};
  hubc__cs_email_hash(&cs, hubc__hash("bob@x.it", 8));
  assert_int_equal(hubc__cs_row(&cs, 0, bad, NULL, NULL), HUBC_EINVAL);
  const char *upd[] = {"anna@example.com", "", "Bari", ""};
  hubc_id id = 0;
  int outcome = 0;
  assert_int_equal(hubc__cs_row(&cs, 0, upd, &id, &outcome), 0);
  assert_int_equal(id, anna_id);
  assert_int_equal(outcome, HUBC__CS_UPDATED);
  const char *bob[] = {"bob@x.it", "Bob", "", ""};
  hubc__cs_email_hash(&cs, hubc__hash("bob@x.it", 8));
  assert_int_equal(hubc__cs_row(&cs, 0, bob, &id, &outcome), 0);
  assert_int_equal(outcome, HUBC__CS_CREATED);
  hubc__cs_end(&cs);
  assert_int_equal(hubc__write_end(s, 0), 0);
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, s, "BOB@x.it"), 0);
  assert_int_equal(found, id); /* indexed under its email's hash */
  expect_prop(s, anna_id, "city", "Bari");
  assert_int_equal(hubc__store_check(s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_I4_blank_cells_never_erase_and_nonblank_values_replace, gc_teardown),
    cmocka_unit_test_teardown(test_F3_submitted_values_overwrite_and_the_email_finds_the_contact, gc_teardown),
    cmocka_unit_test_teardown(test_I4_fill_blanks_only_writes_what_the_contact_lacks, gc_teardown),
    cmocka_unit_test_teardown(test_I4_lifecyclestage_never_moves_backwards, gc_teardown),
    cmocka_unit_test_teardown(test_I4_repeated_emails_in_one_batch_merge_into_one_contact, gc_teardown),
    cmocka_unit_test_teardown(test_C5_create_only_refuses_an_existing_email_and_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(test_I5_a_failed_row_changes_nothing_and_the_others_apply, gc_teardown),
    cmocka_unit_test_teardown(test_I4_record_id_matches_first_and_update_only_refuses_unknown_ones, gc_teardown),
    cmocka_unit_test_teardown(test_D1_new_contacts_carry_the_changeset_source, gc_teardown),
    cmocka_unit_test_teardown(test_F4_marking_raises_new_and_matched_contacts_with_the_reason, gc_teardown),
    cmocka_unit_test_teardown(test_C4_overwrite_removes_on_blank_like_a_manual_update, gc_teardown),
    cmocka_unit_test_teardown(test_R2_a_reserved_bulk_run_creates_every_row_in_one_commit, gc_teardown),
    cmocka_unit_test_teardown(test_R2_creates_logged_as_runs_undo_to_the_store_before, gc_teardown),
    cmocka_unit_test_teardown(test_C3_a_given_email_hash_serves_one_row_only, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
