/* hubcontacts — contacts, property schema, marketing status, history and
 * creation sources (C1–C7, M1–M8, D1–D3). */
#ifndef HUBCONTACTS_CONTACT_H
#define HUBCONTACTS_CONTACT_H

#include "common.h"
#include "store.h"

HUBC_BEGIN_DECLS

/* ---- property schema (C2, C4) ------------------------------------------- */

enum hubc_prop_type {
  HUBC_PROP_STRING = 0,
  HUBC_PROP_NUMBER = 1,      /* decimal: -12, 3.5, 1e6 */
  HUBC_PROP_BOOL = 2,        /* true / false */
  HUBC_PROP_DATETIME = 3,    /* ISO-8601: 2024-03-21, 2024-03-21T10:00:00Z */
  HUBC_PROP_ENUMERATION = 4  /* one of the property's options */
};

enum hubc_prop_flags {
  HUBC_PROP_BUILTIN = 1u << 0,
  HUBC_PROP_READONLY = 1u << 1, /* C6: refused by the generic setter */
  HUBC_PROP_COMPUTED = 1u << 2  /* derived from the record, not stored */
};

#define HUBC_MAX_VALUE_BYTES 65536     /* C4 */
#define HUBC_MAX_CONTACT_PROPERTIES 1000 /* C4 */
#define HUBC_MAX_EMAIL_BYTES 254       /* C3 */

/* Defines a custom property. name: [a-z0-9_], 1–100 bytes, not a built-in.
 * label may be NULL (the name serves as label). options/n_options only for
 * ENUMERATION (each non-empty, unique). */
HUBC_API int hubc_property_define(hubc_store *store, hubc_id actor,
                                  const char *name, const char *label, int type,
                                  const char *const *options, size_t n_options);

#define HUBC_PROPERTY_INFO_VERSION 1

/* Strings are borrowed from the store and live until it is closed. */
typedef struct hubc_property_info {
  unsigned int version;  /* set by the caller: HUBC_PROPERTY_INFO_VERSION */
  const char *name;
  const char *label;
  int type;              /* enum hubc_prop_type */
  unsigned int flags;    /* enum hubc_prop_flags */
  size_t n_options;
  const char *const *options;
} hubc_property_info;

HUBC_API int hubc_property_count(size_t *out, hubc_store *store);
HUBC_API int hubc_property_at(hubc_property_info *out, hubc_store *store, size_t index);
/* By internal name or by label, case-insensitively. */
HUBC_API int hubc_property_find(hubc_property_info *out, hubc_store *store,
                                const char *name_or_label);

/* ---- creation sources (D1, D2) ------------------------------------------ */

enum hubc_source {
  HUBC_SOURCE_MANUAL = 1,
  HUBC_SOURCE_IMPORT = 2,
  HUBC_SOURCE_FORM = 3,
  HUBC_SOURCE_EXTERNAL_FORM = 4,
  HUBC_SOURCE_CHATFLOW = 5,
  HUBC_SOURCE_INTEGRATION = 6,
  HUBC_SOURCE_MOBILE_APP = 7,
  HUBC_SOURCE_ONE_TO_ONE_EMAIL = 8,
  HUBC_SOURCE_TEAM_INBOX = 9,
  HUBC_SOURCE_DOCUMENT = 10,
  HUBC_SOURCE_MEETINGS = 11,
  HUBC_SOURCE_EMAIL_EXTENSION = 12,
  HUBC_SOURCE_WORKFLOW = 13,
  HUBC_SOURCE_BULK = 14,        /* reason type of bulk actions */
  HUBC_SOURCE_UPDATE_DATE = 15  /* reason type of M5 at an update date */
};

/* Name of a source ("MANUAL", "FORM", …); NULL for an unknown value. */
HUBC_API const char *hubc_source_name(int source);

/* Default status for contacts created by a configurable source (D1):
 * CHATFLOW and INTEGRATION per source_id, EXTERNAL_FORM store-wide
 * (source_id 0). Setting needs a user with P2 (D2). */
HUBC_API int hubc_source_set_default(hubc_store *store, hubc_id actor, int source,
                                     hubc_id source_id, int marketing);
HUBC_API int hubc_source_get_default(int *marketing, hubc_store *store, int source,
                                     hubc_id source_id);

/* ---- contacts (C1–C7) --------------------------------------------------- */

typedef struct hubc_contact hubc_contact; /* an immutable snapshot */

enum hubc_marketing_status {
  HUBC_NON_MARKETING = 0,
  HUBC_MARKETING = 1,
  HUBC_MARKETING_UNTIL_UPDATE = 2
};

#define HUBC_CREATE_OPTIONS_VERSION 1

typedef struct hubc_create_options {
  unsigned int version; /* HUBC_CREATE_OPTIONS_VERSION */
  int source;           /* enum hubc_source; 0 means MANUAL */
  hubc_id source_id;    /* chatflow, app, … id; MANUAL: the actor */
  int marketing;        /* MANUAL only: create as marketing (needs P2) */
} hubc_create_options;

#define HUBC_CREATE_OPTIONS_INIT { HUBC_CREATE_OPTIONS_VERSION, 0, 0, 0 }
HUBC_API int hubc_create_options_init(hubc_create_options *opts, unsigned int version);

/* Creates a contact from parallel name/value arrays (names are internal
 * names or labels). opts may be NULL: manual, non-marketing. out_id may be
 * NULL (the id is not wanted). Empty values are ignored. FORM and IMPORT
 * contacts come from their own calls. */
HUBC_API int hubc_contact_create(hubc_id *out_id, hubc_store *store, hubc_id actor,
                                 const hubc_create_options *opts,
                                 const char *const *names, const char *const *values,
                                 size_t n);

/* Creates n_rows contacts in one transaction, all or none (one persistence
 * commit). Columns are shared: row r's values are values[r * n_names +
 * k] for names[k]. Errors name the row (0-based). out_ids may be NULL;
 * else it receives n_rows ids (zeros on failure). opts may be NULL (as for
 * hubc_contact_create). */
HUBC_API int hubc_contact_create_batch(hubc_id *out_ids, hubc_store *store, hubc_id actor,
                                       const hubc_create_options *opts,
                                       const char *const *names, size_t n_names,
                                       const char *const *values, size_t n_rows);

/* Sets properties; a NULL or empty value removes the property. */
HUBC_API int hubc_contact_update(hubc_store *store, hubc_id actor, hubc_id id,
                                 const char *const *names, const char *const *values,
                                 size_t n);

HUBC_API int hubc_contact_delete(hubc_store *store, hubc_id actor, hubc_id id);

/* Snapshots. The email is matched as C3 (trimmed, case-insensitive). */
HUBC_API int hubc_contact_get(hubc_contact **out, hubc_store *store, hubc_id id);
HUBC_API int hubc_contact_get_by_email(hubc_contact **out, hubc_store *store,
                                       const char *email);
/* Record id only: the cheapest lookup. */
HUBC_API int hubc_contact_find(hubc_id *out, hubc_store *store, const char *email);

/* Many lookups by email in one call, all at one instant (the store's read
 * lock is held throughout, so writers wait). Several times faster per email
 * than one call each: the lookups' memory reads overlap. out[i] is the
 * snapshot (get) or record id (find) for emails[i], NULL or 0 when no
 * contact has that email. All or nothing: on error every out[i] is NULL or
 * 0; a NULL or invalid email is HUBC_EINVAL naming its row (0-based). */
HUBC_API int hubc_contact_get_many(hubc_contact **out, hubc_store *store,
                                   const char *const *emails, size_t n);
HUBC_API int hubc_contact_find_many(hubc_id *out, hubc_store *store,
                                    const char *const *emails, size_t n);
HUBC_API int hubc_contact_count(uint64_t *out, hubc_store *store);

HUBC_API void hubc_contact_free(hubc_contact *contact);
HUBC_API hubc_id hubc_contact_id(const hubc_contact *contact);
/* Value of a property (stored or computed: hs_object_id, createdate,
 * lastmodifieddate, hs_marketable_*); NULL when unset or unknown. Valid
 * until the snapshot is freed. */
HUBC_API const char *hubc_contact_prop(const hubc_contact *contact, const char *name);
/* Set properties, stored ones first then the computed ones. */
HUBC_API size_t hubc_contact_prop_count(const hubc_contact *contact);
HUBC_API int hubc_contact_prop_at(const char **name, const char **value,
                                  const hubc_contact *contact, size_t index);
/* The marketing status (enum hubc_marketing_status), or HUBC_EINVAL. */
HUBC_API int hubc_contact_status(const hubc_contact *contact);
/* Why the contact has its marketing status (reason type and id; 0, 0 when
 * non-marketing). reason_type and reason_id may be NULL: only the other is
 * wanted. */
HUBC_API int hubc_contact_reason(int *reason_type, hubc_id *reason_id,
                                 const hubc_contact *contact);
/* How the contact was created (D1). source and source_id may be NULL: only
 * the other is wanted. */
HUBC_API int hubc_contact_source(int *source, hubc_id *source_id,
                                 const hubc_contact *contact);
HUBC_API hubc_time hubc_contact_created(const hubc_contact *contact);
HUBC_API hubc_time hubc_contact_modified(const hubc_contact *contact);

/* Iteration over record ids in increasing order; contacts created or
 * deleted meanwhile may or may not be seen, none is seen twice. An
 * iterator's next() needs its store open; free() does not. */
enum hubc_select {
  HUBC_SELECT_ALL = 0,
  HUBC_SELECT_BILLABLE = 1,
  HUBC_SELECT_MARKETING = 2,
  HUBC_SELECT_UNTIL_UPDATE = 3,
  HUBC_SELECT_NON_MARKETING = 4,
  HUBC_SELECT_UNREACHABLE = 5, /* billable but opted out or hard-bounced (M8) */
  /* Emails stored by a version before C3 covered Unicode that lookups no
   * longer reach: refused by today's rule, or equal under it to another
   * contact's (which lookups find). Change or remove them (README, C3). */
  HUBC_SELECT_LEGACY_EMAIL = 6
};

typedef struct hubc_contact_iterator hubc_contact_iterator;
HUBC_API int hubc_contact_iterator_new(hubc_contact_iterator **out, hubc_store *store,
                                       int select);
HUBC_API int hubc_contact_iterator_next(hubc_id *out, hubc_contact_iterator *it);
HUBC_API void hubc_contact_iterator_free(hubc_contact_iterator *it);

/* ---- marketing status (M3, M4) ------------------------------------------ */

/* M3: takes effect at once; a no-op on a MARKETING contact (reason kept).
 * Needs P2 from a user actor. The reason is stamped by this path: a user
 * passes HUBC_SOURCE_MANUAL and records its own id (reason_id unused);
 * HUBC_SYSTEM passes HUBC_SOURCE_INTEGRATION or _CHATFLOW and the app's
 * id (> 0). FORM, IMPORT, WORKFLOW, BULK, UPDATE_DATE: HUBC_EINVAL (their
 * own calls write them). The same rule holds for set_non_marketing. */
HUBC_API int hubc_contact_set_marketing(hubc_store *store, hubc_id actor, hubc_id id,
                                        int reason_type, hubc_id reason_id);
/* M4: MARKETING becomes MARKETING_UNTIL_UPDATE; others unchanged. */
HUBC_API int hubc_contact_set_non_marketing(hubc_store *store, hubc_id actor,
                                            hubc_id id, int reason_type,
                                            hubc_id reason_id);

/* ---- status history (M7) ------------------------------------------------ */

#define HUBC_HISTORY_ENTRY_VERSION 1

typedef struct hubc_history_entry {
  unsigned int version; /* set by the caller: HUBC_HISTORY_ENTRY_VERSION */
  hubc_id seq;          /* store-wide sequence number */
  hubc_id contact;
  hubc_time time;
  int old_status, new_status;
  int reason_type;
  hubc_id reason_id;
  hubc_id actor;
} hubc_history_entry;

/* A contact's entries, oldest first (contact 0: every contact's). Entries
 * of deleted contacts remain readable. */
typedef struct hubc_history_iterator hubc_history_iterator;
HUBC_API int hubc_history_iterator_new(hubc_history_iterator **out, hubc_store *store,
                                       hubc_id contact);
HUBC_API int hubc_history_iterator_next(hubc_history_entry *out,
                                        hubc_history_iterator *it);
HUBC_API void hubc_history_iterator_free(hubc_history_iterator *it);

/* Writes the history as CSV (RFC 4180, header row), contact 0 for all. */
HUBC_API int hubc_history_export(hubc_store *store, hubc_id contact,
                                 hubc_write_fn write, void *payload);

/* Name of a status: "NON_MARKETING", "MARKETING", "MARKETING_UNTIL_UPDATE". */
HUBC_API const char *hubc_status_name(int status);

HUBC_END_DECLS

#endif
