/* hubcontacts — the store (one account): open/close, clock, billing,
 * events, dump. */
#ifndef HUBCONTACTS_STORE_H
#define HUBCONTACTS_STORE_H

#include "common.h"
#include "sys/persist.h"

HUBC_BEGIN_DECLS

typedef struct hubc_store hubc_store;

/* Returns the current UTC time in seconds (tests replace it, B2). */
typedef hubc_time (HUBC_CALLBACK *hubc_clock_fn)(void *payload);

enum hubc_subscription {
  HUBC_SUBSCRIPTION_STARTER = 0,
  HUBC_SUBSCRIPTION_PROFESSIONAL = 1,
  HUBC_SUBSCRIPTION_ENTERPRISE = 2
};

enum hubc_commitment {
  HUBC_COMMITMENT_MONTHLY = 0, /* update date: the renewal day each month */
  HUBC_COMMITMENT_ANNUAL = 1   /* update date: the 1st of each month */
};

enum hubc_tier_policy {
  HUBC_TIER_AUTO_UPGRADE = 0, /* B4: the tier rises to fit */
  HUBC_TIER_HARD_CAP = 1      /* B5: refuse what would pass the cap */
};

#define HUBC_STORE_OPTIONS_VERSION 2

/* B2a: default of max_clock_jump, 10 years of 365.25 days in seconds. */
#define HUBC_MAX_CLOCK_JUMP_DEFAULT 315576000

/* Settings are read at every open; billing state (tier, periods) is kept by
 * persistence and wins over `tier` on reopen. Strings and arrays are
 * copied. Zero means "default" for every field. Versions 1 and 2 are
 * accepted; a version-1 struct ends after `persist`. */
typedef struct hubc_store_options {
  unsigned int version; /* HUBC_STORE_OPTIONS_VERSION */
  hubc_clock_fn clock;  /* NULL: the system clock */
  void *clock_payload;
  hubc_alloc_fn alloc;  /* NULL: malloc/realloc/free. Must stay usable
                           until every object of the store is freed. */
  void *alloc_payload;
  const char *admin_email;      /* first super admin of a new store (P1) */
  int subscription;             /* enum hubc_subscription */
  int commitment;               /* enum hubc_commitment */
  hubc_time renewal_anchor;     /* contract start; 0: the first open */
  const uint64_t *tier_ladder;  /* increasing; NULL: 1000, 2000, 5000, … */
  size_t tier_ladder_len;
  uint64_t tier;                /* starting tier of a new store; 0: first rung */
  int tier_policy;              /* enum hubc_tier_policy */
  uint64_t hard_cap;            /* HARD_CAP: 0 means the tier */
  const hubc_persist *persist;  /* NULL: memory only; copied */
  /* version 2: B2a. A clock reading more than this many seconds past the
   * latest time the store has seen is refused (HUBC_EINVAL, both times in
   * the message, nothing changed). 0: HUBC_MAX_CLOCK_JUMP_DEFAULT;
   * negative is refused. */
  hubc_time max_clock_jump;
} hubc_store_options;

#define HUBC_STORE_OPTIONS_INIT { HUBC_STORE_OPTIONS_VERSION, 0, 0, 0, 0, 0, \
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Fills opts with defaults for the given struct version (what ctypes and
 * other bindings call). HUBC_EVERSION for an unknown version. */
HUBC_API int hubc_store_options_init(hubc_store_options *opts, unsigned int version);
HUBC_API size_t hubc_store_options_size(void);

/* Opens a store; with opts->persist, loads what the backend holds. A new
 * store (nothing loaded) needs admin_email. */
HUBC_API int hubc_store_open(hubc_store **out, const hubc_store_options *opts);

/* Closes the store (NULL is fine). Calls in flight on other threads finish
 * first (so a thread must not wait, inside a callback of this store, for
 * the closing thread). Snapshots stay readable until freed. Iterators keep
 * the handle alive: their calls after the close, and other calls on the
 * handle meanwhile, return HUBC_EINVAL ("the store is closed"); the handle
 * is gone when the last iterator is freed, and any call after that is a
 * use of freed memory. From one of the store's own callbacks it does
 * nothing (HUBC_EBUSY in hubc_error_last). */
HUBC_API void hubc_store_close(hubc_store *store);

/* The store clock's current time, as a call would be stamped with it. On
 * failure 0, with hubc_error_last_code() set: HUBC_EINVAL (NULL, closed,
 * or a clock reading refused as by every call: outside years 1 to 9999 or
 * past the B2a bound), HUBC_EBUSY from one of the store's own callbacks
 * (its clock hook included). Clears the last error on success. */
HUBC_API hubc_time hubc_store_now(hubc_store *store);

/* Applies every update date that has passed (B2, M5); every other call does
 * the same first. Returns 0 when nothing was due too. */
HUBC_API int hubc_store_tick(hubc_store *store);

/* Writes a canonical text dump of everything in the store (schema, users,
 * contacts, statuses, history, billing, switches). Two stores with equal
 * content dump equal bytes. */
HUBC_API int hubc_store_dump(hubc_store *store, hubc_write_fn write, void *payload);

/* ---- billing (B1–B7) ---------------------------------------------------- */

#define HUBC_BILLING_INFO_VERSION 1

typedef struct hubc_billing_info {
  unsigned int version;       /* set by the caller: HUBC_BILLING_INFO_VERSION */
  uint64_t billable;          /* MARKETING + MARKETING_UNTIL_UPDATE (M6) */
  uint64_t marketing;
  uint64_t until_update;
  uint64_t non_marketing;
  uint64_t tier;
  uint64_t cap;               /* HARD_CAP limit, 0 under AUTO_UPGRADE */
  int tier_policy;
  int commitment;
  int subscription;
  hubc_time period_start;
  hubc_time next_update;      /* B1 */
  uint64_t period_peak;       /* B3, B7 */
  uint64_t downgrade_request; /* requested tier, 0 if none (B4) */
  hubc_time next_renewal;     /* when a downgrade request is considered */
} hubc_billing_info;

HUBC_API int hubc_billing_get(hubc_billing_info *out, hubc_store *store);

/* Asks for a lower tier from the next renewal; applied then only if the
 * billable count fits (B4). Needs P2. tier 0 cancels a request. */
HUBC_API int hubc_billing_request_downgrade(hubc_store *store, hubc_id actor,
                                            uint64_t tier);

#define HUBC_PERIOD_VERSION 1

typedef struct hubc_period {
  unsigned int version;  /* set by the caller: HUBC_PERIOD_VERSION */
  hubc_id number;        /* 1, 2, … */
  hubc_time start, end;
  uint64_t peak;
  uint64_t billable_at_close;
  uint64_t tier_at_close;
} hubc_period;

/* Closed periods, oldest first (B3). */
typedef struct hubc_period_iterator hubc_period_iterator;
HUBC_API int hubc_period_iterator_new(hubc_period_iterator **out, hubc_store *store);
HUBC_API int hubc_period_iterator_next(hubc_period *out, hubc_period_iterator *it);
HUBC_API void hubc_period_iterator_free(hubc_period_iterator *it);

/* ---- events ------------------------------------------------------------- */

enum hubc_event_type {
  HUBC_EVENT_STATUS = 1,         /* a contact's marketing status changed */
  HUBC_EVENT_ALERT = 2,          /* billable count crossed a threshold (B6) */
  HUBC_EVENT_TIER_UPGRADE = 3,   /* B4 */
  HUBC_EVENT_TIER_DOWNGRADE = 4, /* a downgrade request applied at renewal */
  HUBC_EVENT_PERIOD_CLOSED = 5,  /* B2, B3 */
  HUBC_EVENT_SUBMISSION = 6      /* a form was submitted (F5): contact, reason_type FORM or
                                    EXTERNAL_FORM, reason_id the form, submission */
};

#define HUBC_EVENT_VERSION 2

/* Filled by the library; fields that do not apply to a type are 0. */
typedef struct hubc_event {
  unsigned int version; /* HUBC_EVENT_VERSION; append-only */
  int type;             /* enum hubc_event_type */
  hubc_time time;
  hubc_id contact;      /* STATUS */
  int old_status, new_status;
  int reason_type;
  hubc_id reason_id;
  hubc_id actor;
  uint64_t billable;    /* the count after the change */
  uint64_t tier;        /* current tier (after an upgrade/downgrade) */
  uint64_t old_tier;    /* TIER_* */
  unsigned int threshold; /* ALERT: 75, 90, 98 or 100 (meaning above 100) */
  hubc_time period_start, period_end; /* PERIOD_CLOSED */
  /* version 2 */
  hubc_id submission;   /* SUBMISSION: the recorded submission's id */
} hubc_event;

typedef void (HUBC_CALLBACK *hubc_event_fn)(void *payload, const hubc_event *event);
/* Events of a call are delivered after it commits, on the calling thread,
 * without the store lock held; the callback must not call into the same
 * store (HUBC_EBUSY). fn may be NULL: unregisters. */
HUBC_API int hubc_store_set_event_callback(hubc_store *store, hubc_event_fn fn,
                                           void *payload);

HUBC_END_DECLS

#endif
