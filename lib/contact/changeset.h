/* The contact write path shared by every way contacts arrive: manual calls,
 * imports (I4), forms (F3). A changeset resolves its columns once, then
 * applies rows inside the caller's transaction (hubc__write_begin … end, or
 * hubc__txn_begin … finish). Each row is validated whole before anything
 * changes, so a failed row leaves the store as it was and the caller may go
 * on with the next (import skips bad rows, I5) or fail the call. */
#ifndef HUBC_CONTACT_CHANGESET_H
#define HUBC_CONTACT_CHANGESET_H

#include <stddef.h>
#include <stdint.h>

#include "contact/record.h"
#include "hubcontacts/store.h"
#include "util/text.h"

/* How a row's values meet a contact that already has values. */
enum {
  HUBC__CS_OVERWRITE = 0,   /* manual update: values replace; NULL or "" removes */
  HUBC__CS_NONEMPTY = 1,    /* forms (F3), imports (I4): non-empty values replace; blanks never erase */
  HUBC__CS_FILL_BLANKS = 2, /* only properties the contact lacks are written; blanks never erase */
  HUBC__CS_POLICY_MASK = 3,
  /* flags, or-ed with a policy */
  HUBC__CS_FORWARD = 1u << 2,          /* lifecyclestage never moves backwards (I4) */
  HUBC__CS_MERGE_DUPLICATES = 1u << 3, /* a row reaching a contact an earlier row reached merges into it (I4) */
};

/* Which rows may create and which may update (I4 modes; manual create is
 * CREATE_ONLY: C5). */
enum { HUBC__CS_CREATE_OR_UPDATE = 0, HUBC__CS_CREATE_ONLY, HUBC__CS_UPDATE_ONLY };

/* What a row did. */
enum { HUBC__CS_CREATED = 1, HUBC__CS_UPDATED, HUBC__CS_MERGED };

typedef struct hubc__cs_opts {
  unsigned policy;   /* HUBC__CS_OVERWRITE … | flags */
  int mode;          /* HUBC__CS_CREATE_OR_UPDATE … */
  int source;        /* creation source of new contacts (D1); also the reason type of marking */
  hubc_id source_id; /* its id (user, form, import, app…); also the reason id */
  int mark_created;  /* new contacts become MARKETING, reason (source, source_id) */
  int mark_matched;  /* matched NON_MARKETING / UNTIL_UPDATE contacts become MARKETING (F4, I6) */
} hubc__cs_opts;

/* One resolved property change (value NULL: removal). */
typedef struct hubc__change {
  uint32_t prop;
  int32_t option;    /* enumeration option, or -1 */
  const char *value;
  size_t len;        /* of value */
} hubc__change;

typedef struct hubc__cs {
  hubc_store *s;
  hubc__cs_opts o;
  size_t n;            /* columns */
  uint32_t *props;     /* resolved property of each column */
  hubc__change *ch;    /* one row's changes */
  int64_t first_id;    /* ids from here on were created by this changeset */
  uint64_t *reached;   /* MERGE_DUPLICATES: bit per older contact a row reached */
  size_t reached_words;
  size_t fail_col;     /* after a failed row: the column it failed on, or SIZE_MAX */
  size_t email_col;    /* the column of email, or SIZE_MAX */
  int sorted;          /* the columns are in property order */
  size_t created, updated, merged, marked; /* rows created / updating an older contact first /
                                              merged into a contact reached before; contacts marked */
  size_t unchanged;    /* rows reaching an older contact first that change nothing (not in updated) */
  char email[HUBC__EMAIL_BUF];
  uint32_t email_h; /* hash of email while a row with one is applied */
  uint32_t email_h_given; /* hubc__cs_email_hash, for the next row only */
  int email_h_set;
  /* enumeration values this changeset resolved, by their exact bytes: a
   * file's column repeats a few values (hubc__schema_option compares each
   * option case-insensitively); bit i of opt_used: entry i is set (32) */
  struct hubc__cs_opt {
    char text[26];
    uint8_t len;
    uint8_t pad;
    uint16_t prop, option;
    uint32_t pad2;
  } opt[32];
  uint32_t opt_used;
  uint32_t props_stack[16];
  hubc__change ch_stack[16];
} hubc__cs;

/* Starts a changeset over columns `names` (internal names or labels;
 * checked: exist, writable (C6), none twice). Needs the write lock and a
 * transaction. Always pair with hubc__cs_end, even on failure. */
int hubc__cs_begin(hubc__cs *cs, hubc_store *s, const hubc__cs_opts *o, const char *const *names, size_t n);
/* The same over properties already resolved (a form's fields): skips the
 * name lookups a one-row caller would pay on every call. */
int hubc__cs_begin_props(hubc__cs *cs, hubc_store *s, const hubc__cs_opts *o, const uint32_t *props, size_t n);
/* Makes room for `rows` more rows at once (contact table, email index,
 * undo log, history): a bulk caller pays for growth once. Optional. */
int hubc__cs_reserve(hubc__cs *cs, size_t rows);
/* Applies one row: values[i] for column i (NULL or "" is blank). `id` > 0
 * matches by record id (ENOTFOUND if none), else the row's email matches
 * (C3). Outcome (HUBC__CS_*) and the contact's id in *outcome, *out_id
 * (either may be NULL). Errors name the property; the store is unchanged. */
int hubc__cs_row(hubc__cs *cs, hubc_id id, const char *const *values, hubc_id *out_id, int *outcome);
/* The same with the values' lengths, from a reader that already refused
 * invalid UTF-8 and NUL bytes in them (the import's): neither is looked
 * for again. */
int hubc__cs_row_n(hubc__cs *cs, hubc_id id, const char *const *values, const uint32_t *lens, hubc_id *out_id,
                   int *outcome);
/* hubc__cs_row_n for a row whose email value (if any) an earlier pass
 * found to be its own normalized form (C3): used as it is, not normalized
 * again. The import's commit, after its plan checked every row. */
int hubc__cs_row_email_ready(hubc__cs *cs, hubc_id id, const char *const *values, const uint32_t *lens,
                             hubc_id *out_id, int *outcome);
/* The hash (hubc__hash) of the email value of the next row, which the
 * caller computed already (the import, fetching its table slot ahead): the
 * row takes it instead of hashing the email again. For that row only. */
static inline void hubc__cs_email_hash(hubc__cs *cs, uint32_t h) {
  cs->email_h_given = h;
  cs->email_h_set = 1;
}
/* After a successful row with an email: whether values' email (of lens'
 * length) was its own normalized form, i.e. hubc__cs_row_email_ready may
 * take the row as it is next time. */
int hubc__cs_email_was_normal(const hubc__cs *cs, const char *const *values, const uint32_t *lens);
/* What a row would do, without doing it (the import's plan, I7), in two
 * steps that cs_row also takes: validate the values (lens as in
 * cs_row_n, or NULL) into the row's sorted changes, *nch of them (errors
 * name the property and set fail_col; the normalized email, if any, is
 * cs->ch[0] then); and, for a row reaching the existing contact `target`,
 * whether merging them would change it (*changed), or the error it
 * would fail with. */
int hubc__cs_check(hubc__cs *cs, const char *const *values, const uint32_t *lens, size_t *nch);
int hubc__cs_would_change(hubc__cs *cs, const hubc__rec *target, size_t nch, int *changed);
void hubc__cs_end(hubc__cs *cs);

#endif
