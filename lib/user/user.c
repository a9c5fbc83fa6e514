/* Users and permissions (P1–P6). */
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

const hubc__user *hubc__user_at(const hubc_store *s, hubc_id id) {
  if (id <= 0 || id >= s->users.next || !s->users.by_id[id].email) return NULL;
  return &s->users.by_id[id];
}

static int64_t user_by_email(const hubc_store *s, const char *email) {
  for (int64_t i = 1; i < s->users.next; i++)
    if (s->users.by_id[i].email && strcmp(s->users.by_id[i].email, email) == 0) return i;
  return 0;
}

static size_t enabled_super_admins(const hubc_store *s) {
  size_t n = 0;
  for (int64_t i = 1; i < s->users.next; i++) {
    const hubc__user *u = &s->users.by_id[i];
    n += u->email && u->super_admin && !u->disabled;
  }
  return n;
}

/* Makes ids below `n` slots of the table (new ones empty). */
static int users_room(hubc_store *s, int64_t n) {
  hubc__users *a = &s->users;
  size_t old = a->cap;
  if (hubc__grow(s->base, (void **)&a->by_id, &a->cap, (size_t)n, sizeof *a->by_id))
    return hubc__err(HUBC_ENOMEM, "out of memory growing the user table to %lld ids", (long long)n);
  if (a->cap > old) memset(a->by_id + old, 0, (a->cap - old) * sizeof *a->by_id);
  return 0;
}

int hubc__users_extend(hubc_store *s, int64_t next) {
  int rc = users_room(s, next + 1);
  if (!rc && next > s->users.next) s->users.next = next;
  return rc;
}

void hubc__txn_user(hubc_store *s, int64_t id, const hubc__user *to) {
  hubc__txn_push(s, HUBC_REC_USER, id, &s->users.by_id[id], sizeof *to);
  s->users.by_id[id] = *to;
  hubc__txn_dirty(s, HUBC_REC_USER, id);
}

/* Adds a user inside the current transaction. */
static int add_user(hubc_store *s, const char *email_in, int super_admin, int64_t *out) {
  char email[HUBC__EMAIL_BUF];
  const char *why;
  if (!email_in) return hubc__err(HUBC_EINVAL, "user email is NULL");
  if (hubc__email_normalize(email_in, email, &why) < 0)
    return hubc__err(HUBC_EINVAL, "user email '%.254s' %s", email_in, why);
  int64_t other = user_by_email(s, email);
  if (other) return hubc__err(HUBC_EEXISTS, "a user with email '%s' already exists (user id %lld)", email, (long long)other);
  int64_t id = s->users.next;
  if (id > HUBC__MAX_USERS) return hubc__err(HUBC_ELIMIT, "a store holds at most %d users", HUBC__MAX_USERS);
  int rc = users_room(s, id + 1);
  if (rc || (rc = hubc__txn_reserve(s, 1))) return rc;
  hubc__user u = {hubc__pool_strdup(s->base, email, strlen(email)), HUBC_PERM_DEFAULT, (uint8_t)super_admin, 0};
  if (!u.email) return hubc__err(HUBC_ENOMEM, "out of memory adding user '%s'", email);
  s->users.next++;
  hubc__txn_user(s, id, &u);
  *out = id;
  return 0;
}

int hubc__users_bootstrap(hubc_store *s, const char *admin_email) {
  if (s->users.next > 1) return 0; /* loaded: it has its super admin */
  if (!admin_email)
    return hubc__err(HUBC_EINVAL, "store options: admin_email is required to create a new store (its first super admin)");
  int64_t id;
  return add_user(s, admin_email, 1, &id);
}

static const hubc__user *target(hubc_store *s, hubc_id user, const char *what, int *rc) {
  const hubc__user *u = hubc__user_at(s, user);
  if (!u) *rc = hubc__err(HUBC_ENOTFOUND, "%s: no user with id %lld", what, (long long)user);
  return u;
}

HUBC_API int hubc_user_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const char *email) {
  int rc = hubc__op_begin(s, actor, HUBC__OP_USER_CREATE);
  if (rc) return rc;
  int64_t id = 0;
  rc = add_user(s, email, 0, &id);
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

HUBC_API int hubc_user_set_permissions(hubc_store *s, hubc_id actor, hubc_id user, unsigned int perms) {
  const char *what = "set permissions";
  if (perms & ~HUBC_PERM_ALL) return hubc__err(HUBC_EINVAL, "%s: unknown permission bits 0x%x", what, perms & ~HUBC_PERM_ALL);
  int rc = hubc__op_begin(s, actor, HUBC__OP_USER_SET_PERMISSIONS); /* P3 */
  if (rc) return rc;
  const hubc__user *a = hubc__user_at(s, actor), *u = target(s, user, what, &rc);
  if (!rc) {
    unsigned changed = (u->perms ^ perms) & HUBC_PERM_MANAGE_USERS;
    if (changed && !a->super_admin)
      rc = hubc__err(HUBC_EPERM, "%s: only a super admin grants or revokes 'add and edit users' (P3)", what);
    else if (actor == user && !a->super_admin && (perms & ~u->perms))
      rc = hubc__err(HUBC_EPERM, "%s: user %lld cannot raise their own permissions (P3)", what, (long long)user);
  }
  if (!rc && u->perms != perms && !(rc = hubc__txn_reserve(s, 1))) {
    hubc__user nu = *u;
    nu.perms = perms;
    hubc__txn_user(s, user, &nu);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_user_set_super_admin(hubc_store *s, hubc_id actor, hubc_id user, int super_admin) {
  const char *what = "set super admin";
  if (super_admin != 0 && super_admin != 1)
    return hubc__err(HUBC_EINVAL, "%s: super_admin must be 0 or 1, not %d", what, super_admin);
  int rc = hubc__op_begin(s, actor, HUBC__OP_USER_SET_SUPER_ADMIN); /* only super admins */
  if (rc) return rc;
  const hubc__user *u = target(s, user, what, &rc);
  if (!rc && !super_admin && u->super_admin && !u->disabled && enabled_super_admins(s) == 1)
    rc = hubc__err(HUBC_EPERM, "%s: user %lld is the last enabled super admin", what, (long long)user);
  if (!rc && u->super_admin != super_admin && !(rc = hubc__txn_reserve(s, 1))) {
    hubc__user nu = *u;
    nu.super_admin = (uint8_t)super_admin;
    hubc__txn_user(s, user, &nu);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_user_set_disabled(hubc_store *s, hubc_id actor, hubc_id user, int disabled) {
  const char *what = disabled ? "disable user" : "enable user";
  if (disabled != 0 && disabled != 1)
    return hubc__err(HUBC_EINVAL, "set disabled: disabled must be 0 or 1, not %d", disabled);
  int rc = hubc__op_begin(s, actor, HUBC__OP_USER_SET_DISABLED);
  if (rc) return rc;
  const hubc__user *a = hubc__user_at(s, actor), *u = target(s, user, what, &rc);
  if (!rc && u->super_admin && !a->super_admin)
    rc = hubc__err(HUBC_EPERM, "%s: only a super admin disables or enables a super admin", what);
  if (!rc && disabled && u->super_admin && !u->disabled && enabled_super_admins(s) == 1)
    rc = hubc__err(HUBC_EPERM, "%s: user %lld is the last enabled super admin", what, (long long)user);
  if (!rc && u->disabled != disabled && !(rc = hubc__txn_reserve(s, 1))) {
    hubc__user nu = *u;
    nu.disabled = (uint8_t)disabled;
    hubc__txn_user(s, user, &nu);
  }
  return hubc__write_end(s, rc);
}

/* ---- snapshots and iteration ------------------------------------------- */

struct hubc_user {
  hubc__base *base;
  hubc_id id;
  uint32_t perms;
  int super_admin, disabled;
  char email[HUBC_MAX_EMAIL_BYTES + 1];
};

static int user_snapshot(hubc_user **out, hubc_store *s, int64_t id) {
  hubc_user *u = hubc__alloc(s->base, sizeof *u);
  if (!u) return hubc__err(HUBC_ENOMEM, "out of memory taking a user snapshot");
  const hubc__user *src = &s->users.by_id[id];
  u->base = s->base;
  hubc__base_ref(s->base);
  u->id = id;
  u->perms = src->perms;
  u->super_admin = src->super_admin;
  u->disabled = src->disabled;
  strcpy(u->email, src->email);
  *out = u;
  return 0;
}

HUBC_API int hubc_user_get(hubc_user **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get user: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  if (!hubc__user_at(s, id)) rc = hubc__err(HUBC_ENOTFOUND, "get user: no user with id %lld", (long long)id);
  else rc = user_snapshot(out, s, id);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_user_get_by_email(hubc_user **out, hubc_store *s, const char *email) {
  char buf[HUBC__EMAIL_BUF];
  const char *why;
  if (!out) return hubc__err(HUBC_EINVAL, "get user: out is NULL");
  *out = NULL;
  if (!email) return hubc__err(HUBC_EINVAL, "get user: email is NULL");
  if (hubc__email_normalize(email, buf, &why) < 0)
    return hubc__err(HUBC_EINVAL, "get user: email '%.254s' %s", email, why);
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  int64_t id = user_by_email(s, buf);
  rc = id ? user_snapshot(out, s, id) : hubc__err(HUBC_ENOTFOUND, "get user: no user with email '%s'", buf);
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_user_free(hubc_user *u) {
  if (!u) return;
  hubc__base *b = u->base;
  hubc__free(b, u, sizeof *u);
  hubc__base_unref(b);
}

/* Getters given NULL set HUBC_EINVAL and return 0 / NULL (R4, R5). */
HUBC_API hubc_id hubc_user_id(const hubc_user *u) { return u ? u->id : hubc__null_arg("user id", "user"); }
HUBC_API const char *hubc_user_email(const hubc_user *u) {
  return u ? u->email : (hubc__null_arg("user email", "user"), NULL);
}
HUBC_API unsigned int hubc_user_permissions(const hubc_user *u) {
  return u ? u->perms : (unsigned)hubc__null_arg("user permissions", "user");
}
HUBC_API int hubc_user_is_super_admin(const hubc_user *u) {
  return u ? u->super_admin : hubc__null_arg("user is super admin", "user");
}
HUBC_API int hubc_user_is_disabled(const hubc_user *u) {
  return u ? u->disabled : hubc__null_arg("user is disabled", "user");
}

HUBC_API int hubc_user_can(const hubc_user *u, unsigned int perm) {
  if (!u) return hubc__null_arg("user can", "user");
  if (u->disabled || perm == 0 || (perm & ~HUBC_PERM_ALL)) return 0;
  return u->super_admin || (u->perms & perm) == perm;
}

struct hubc_user_iterator {
  hubc_store *store;
  hubc__base *base; /* freeing needs no store: it may be closed by then */
  int64_t next;
};

HUBC_API int hubc_user_iterator_new(hubc_user_iterator **out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "user iterator: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "user iterator: store is NULL");
  hubc_user_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__err(HUBC_ENOMEM, "out of memory creating a user iterator");
  it->store = s;
  it->base = s->base;
  hubc__base_ref(s->base);
  it->next = 1;
  *out = it;
  return hubc__ok();
}

HUBC_API int hubc_user_iterator_next(hubc_id *out, hubc_user_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "user iterator: NULL argument");
  hubc_store *s = it->store;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  while (it->next < s->users.next && !s->users.by_id[it->next].email) it->next++;
  if (it->next >= s->users.next) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  *out = it->next++;
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_user_iterator_free(hubc_user_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

/* ---- the USER record kind ---------------------------------------------- */

#define K HUBC_REC_USER

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__user *u = &s->users.by_id[id];
  if (!u->email) return 1;
  hubc__wr_str(w, HUBC__T_U_EMAIL, u->email);
  hubc__wr_num(w, HUBC__T_U_PERMS, u->perms);
  hubc__wr_num(w, HUBC__T_U_SUPER, u->super_admin);
  hubc__wr_num(w, HUBC__T_U_DISABLED, u->disabled);
  return 0;
}

static int load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > HUBC__MAX_USERS) return hubc__corrupt(K, id, "bad user id");
  if (users_room(s, id + 1)) return HUBC_ENOMEM;
  hubc__user u = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(r, tag, body, K, id) {
    if (tag == HUBC__T_U_EMAIL) {
      char email[HUBC__EMAIL_BUF], raw[HUBC_MAX_EMAIL_BYTES + 1];
      const char *why;
      size_t len = (size_t)(body.end - body.p);
      if (len > HUBC_MAX_EMAIL_BYTES || memchr(body.p, 0, len)) return hubc__corrupt(K, id, "bad email");
      memcpy(raw, body.p, len);
      raw[len] = '\0';
      int non_ascii;
      /* C3: an address stored before the rule covered Unicode that today's
       * rule refuses loads as the older rule wrote it */
      if (hubc__email_normalize(raw, email, &why) < 0 &&
          hubc__email_normalize_ascii(raw, email, &non_ascii, &why) < 0)
        return hubc__corrupt(K, id, "bad email");
      if (!(u.email = hubc__pool_strdup(s->base, email, strlen(email))))
        return hubc__err(HUBC_ENOMEM, "out of memory loading the store");
    } else if (tag >= HUBC__T_U_PERMS && tag <= HUBC__T_U_DISABLED) {
      if (hubc__ld_int(body, &v, K, id)) return HUBC_ECORRUPT;
      if (tag == HUBC__T_U_PERMS) {
        if (v & ~(int64_t)HUBC_PERM_ALL || v < 0) return hubc__corrupt(K, id, "bad permissions");
        u.perms = (uint32_t)v;
      } else {
        if (v != 0 && v != 1) return hubc__corrupt(K, id, "bad flag");
        if (tag == HUBC__T_U_SUPER) u.super_admin = (uint8_t)v;
        else u.disabled = (uint8_t)v;
      }
    }
  }
  if (!u.email) return hubc__corrupt(K, id, "missing email");
  s->users.by_id[id] = u;
  if (id >= s->users.next) s->users.next = id + 1;
  return 0;
}

static int load_del(hubc_loader *l, int64_t id) {
  hubc_store *s = l->s;
  if (id > 0 && id < s->users.next) s->users.by_id[id].email = NULL;
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

static int has_non_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return 1;
  return 0;
}

static int check_users(hubc_store *s) {
  size_t n = 0, admins = 0, cap = (size_t)s->users.next;
  user_key *keys = hubc__alloc(s->base, cap * sizeof *keys);
  if (!keys) return hubc__err(HUBC_ENOMEM, "out of memory loading users");
  for (int64_t i = 1; i < s->users.next; i++) {
    const hubc__user *u = &s->users.by_id[i];
    if (!u->email) continue;
    admins += u->super_admin && !u->disabled;
    keys[n].email = u->email;
    keys[n++].id = i;
  }
  qsort(keys, n, sizeof *keys, user_cmp);
  int rc = 0;
  /* Two non-ASCII addresses stored before C3 covered Unicode may be one
   * address today: both users load, lookups find the lower id. */
  for (size_t k = 1; k < n && !rc; k++)
    if (strcmp(keys[k - 1].email, keys[k].email) == 0 && !has_non_ascii(keys[k].email))
      rc = hubc__corrupt(K, keys[k].id, "email already used by another user");
  hubc__free(s->base, keys, cap * sizeof *keys);
  if (!rc && !admins) rc = hubc__err(HUBC_ECORRUPT, "stored users include no enabled super admin");
  return rc;
}

/* After META: the stored next id is in place. */
static int finish_load(hubc_loader *l, int rc) {
  if (!rc && l->s->users.next > 1) rc = check_users(l->s);
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  for (int64_t i = 1; i < s->users.next; i++) {
    const hubc__user *u = &s->users.by_id[i];
    if (!u->email) continue;
    hubc__out_printf(o, "user %lld perms=0x%x super_admin=%d disabled=%d email=", (long long)i, u->perms,
                     u->super_admin, u->disabled);
    hubc__out_text(o, u->email, 1);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) { hubc__free(s->base, s->users.by_id, s->users.cap * sizeof *s->users.by_id); }

static void txn_begin(hubc_store *s) { s->users.next_mark = s->users.next; }

_Static_assert(sizeof(hubc__user) <= HUBC__UNDO_BYTES, "a user fits an undo entry");

static void undo(hubc_store *s, const hubc__undo *u) {
  memcpy(&s->users.by_id[u->id], u->u.bytes, sizeof(hubc__user));
}

static void txn_rollback(hubc_store *s) { s->users.next = s->users.next_mark; }

const hubc__kind hubc__kind_user = {
    .kind = K,
    .name = "user",
    .encode = encode,
    .load = load,
    .load_del = load_del,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = undo,
    .txn_rollback = txn_rollback,
};
