/* hubc: entry point, global options, the session (journal + store + the
 * acting user), shared helpers, and the small administrative commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t g_interrupted = 0;
static void on_sigint(int sig) {
  (void)sig;
  g_interrupted = 1;
}

static const char *g_as;      /* --as EMAIL */
static const char *g_command; /* for the lock note */

/* ---- helpers -------------------------------------------------------------------- */

int fail(int rc, const char *what) {
  fprintf(stderr, "hubc: %s: %s\n", what, hubc_error_last()[0] ? hubc_error_last() : hubc_strerror(rc));
  if (rc == HUBC_ECONFIRM) return EXIT_CONFIRM;
  if (rc == HUBC_EBUSY) return EXIT_LOCKED;
  if (rc == HUBC_ECANCELED) return EXIT_INTERRUPT;
  return EXIT_FAIL;
}

int usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "hubc %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see: hubc %s --help)\n", cmd);
  va_end(ap);
  return EXIT_USAGE;
}

int arg_is(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

const char *arg_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s) return -1;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}

int parse_id(const char *s, hubc_id *out) {
  uint64_t v;
  if (parse_u64(s, &v) || v == 0 || v > INT64_MAX) return -1;
  *out = (hubc_id)v;
  return 0;
}

int ask_number(const char *prompt, uint64_t *out) {
  fputs(prompt, stderr);
  fflush(stderr);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return -1; /* EOF or Ctrl-C */
  line[strcspn(line, "\r\n")] = '\0';
  return parse_u64(line, out);
}

void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void fmt_date(char *buf, size_t cap, hubc_time t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) {
    snprintf(buf, cap, "?");
    return;
  }
  strftime(buf, cap, "%Y-%m-%d", &tm);
}

int write_file(void *payload, const char *data, size_t len) {
  return fwrite(data, 1, len, payload) == len ? 0 : -1;
}

/* ---- settings: what init chose, read at every open (store options) -------------- */

typedef struct settings {
  char admin[256];
  int subscription, commitment, policy;
  hubc_time anchor;
  uint64_t cap;
} settings;

static void settings_path(char *buf, size_t cap, const char *path) { snprintf(buf, cap, "%s.settings", path); }

static int settings_load(settings *st, const char *path) {
  char p[4096];
  settings_path(p, sizeof p, path);
  FILE *f = fopen(p, "r");
  if (!f) return -1;
  memset(st, 0, sizeof *st);
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    const char *k = line, *v = eq + 1;
    uint64_t n = 0;
    int num = parse_u64(v, &n) == 0;
    if (!strcmp(k, "admin")) snprintf(st->admin, sizeof st->admin, "%s", v);
    else if (!strcmp(k, "subscription") && num) st->subscription = (int)n;
    else if (!strcmp(k, "commitment") && num) st->commitment = (int)n;
    else if (!strcmp(k, "tier_policy") && num) st->policy = (int)n;
    else if (!strcmp(k, "renewal_anchor") && num) st->anchor = (hubc_time)n;
    else if (!strcmp(k, "hard_cap") && num) st->cap = n;
  }
  fclose(f);
  return st->admin[0] ? 0 : -1;
}

static int settings_save(const settings *st, const char *path) {
  char p[4096];
  settings_path(p, sizeof p, path);
  FILE *f = fopen(p, "w");
  if (!f) return -1;
  fprintf(f, "admin=%s\nsubscription=%d\ncommitment=%d\ntier_policy=%d\nrenewal_anchor=%lld\nhard_cap=%llu\n",
          st->admin, st->subscription, st->commitment, st->policy, (long long)st->anchor,
          (unsigned long long)st->cap);
  return fclose(f) == 0 ? 0 : -1;
}

/* ---- the lock note: who holds the store ----------------------------------------- */

static void note_path(char *buf, size_t cap, const char *path) { snprintf(buf, cap, "%s.holder", path); }

static void note_write(const char *path) {
  char p[4096];
  note_path(p, sizeof p, path);
  FILE *f = fopen(p, "w");
  if (!f) return;
  fprintf(f, "pid %ld (hubc %s)\n", (long)getpid(), g_command ? g_command : "?");
  fclose(f);
}

static void note_read(char *buf, size_t cap, const char *path) {
  char p[4096];
  note_path(p, sizeof p, path);
  FILE *f = fopen(p, "r");
  buf[0] = '\0';
  if (f) {
    if (fgets(buf, (int)cap, f)) buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
  }
  if (!buf[0]) snprintf(buf, cap, "another program");
}

/* ---- the session ------------------------------------------------------------------- */

static int exists(const char *path) {
  char snap[4096];
  struct stat st;
  snprintf(snap, sizeof snap, "%s.snap", path);
  return stat(path, &st) == 0 || stat(snap, &st) == 0;
}

/* HUBC_CLOCK (UTC seconds) replaces the system clock: for tests and demos
 * that need update dates to pass. */
static hubc_time env_clock(void *payload) {
  (void)payload;
  return (hubc_time)strtoll(getenv("HUBC_CLOCK"), NULL, 10);
}

static int note_written;

static int open_with(session *s, const settings *st, int read_only) {
  hubc_journal_options jo;
  hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION);
  jo.read_only = read_only;
  int rc = hubc_journal_open(&s->journal, s->path, &jo);
  if (rc == HUBC_EBUSY) {
    char who[256];
    note_read(who, sizeof who, s->path);
    fprintf(stderr, "hubc: the store %s is in use by %s; try again when it is done\n", s->path, who);
    return EXIT_LOCKED;
  }
  if (rc) return fail(rc, "open journal");
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.admin_email = st->admin;
  o.subscription = st->subscription;
  o.commitment = st->commitment;
  o.tier_policy = st->policy;
  o.renewal_anchor = st->anchor;
  o.hard_cap = st->cap;
  o.persist = hubc_journal_persist(s->journal);
  if (getenv("HUBC_CLOCK")) o.clock = env_clock;
  if ((rc = hubc_store_open(&s->store, &o))) {
    int code = fail(rc, "open store");
    hubc_journal_close(s->journal);
    s->journal = NULL;
    return code;
  }
  if (read_only) return EXIT_OK; /* check: no calls that could be due to write */
  note_write(s->path);
  note_written = 1;
  const char *who = g_as ? g_as : st->admin;
  hubc_user *u;
  if ((rc = hubc_user_get_by_email(&u, s->store, who))) {
    fprintf(stderr, "hubc: user %s: %s\n", who, hubc_error_last());
    session_close(s);
    return EXIT_USAGE;
  }
  s->actor = hubc_user_id(u);
  hubc_user_free(u);
  return EXIT_OK;
}

int session_open(session *s, int read_only) {
  if (!exists(s->path)) {
    fprintf(stderr, "hubc: no store at %s (create one with: hubc init --admin EMAIL)\n", s->path);
    return EXIT_NOSTORE;
  }
  settings st;
  if (settings_load(&st, s->path)) {
    fprintf(stderr, "hubc: %s.settings is missing or has no admin line (it is written by hubc init)\n", s->path);
    return EXIT_NOSTORE;
  }
  return open_with(s, &st, read_only);
}

void session_close(session *s) {
  if (s->store) hubc_store_close(s->store);
  if (s->journal) hubc_journal_close(s->journal);
  if (note_written) {
    char p[4096];
    note_path(p, sizeof p, s->path);
    unlink(p);
    note_written = 0;
  }
  s->store = NULL;
  s->journal = NULL;
}

/* ---- init ------------------------------------------------------------------------------- */

/* Seconds of a UTC civil date (proleptic Gregorian; no timegm in POSIX). */
static hubc_time utc_date(int y, int m, int d) {
  y -= m <= 2;
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400, mp = (m + 9) % 12;
  int doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return ((hubc_time)era * 146097 + doe - 719468) * 86400;
}

static int pick(const char *v, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v, names[i])) return i;
  return -1;
}

int cmd_init(int argc, char **argv, session *s) {
  static const char *const subs[] = {"starter", "professional", "enterprise"};
  static const char *const commits[] = {"monthly", "annual"};
  static const char *const policies[] = {"auto-upgrade", "hard-cap"};
  settings st = {0};
  st.anchor = getenv("HUBC_CLOCK") ? (hubc_time)strtoll(getenv("HUBC_CLOCK"), NULL, 10) : (hubc_time)time(NULL);
  const char *v;
  for (int i = 1; i < argc; i++) {
    if (arg_is(argv[i], "--help")) {
      puts("usage: hubc init --admin EMAIL [--subscription starter|professional|enterprise]\n"
           "                 [--commitment monthly|annual] [--start YYYY-MM-DD] [--policy auto-upgrade|hard-cap]\n"
           "                 [--cap N]\n"
           "Creates the store (journal at --store) with its first super admin. --start is the contract's\n"
           "start: monthly update dates fall on its day of the month (B1).");
      return EXIT_OK;
    } else if ((v = arg_value(argc, argv, &i, "--admin"))) {
      snprintf(st.admin, sizeof st.admin, "%s", v);
    } else if ((v = arg_value(argc, argv, &i, "--subscription"))) {
      if ((st.subscription = pick(v, subs, 3)) < 0) return usage_error("init", "unknown subscription '%s'", v);
    } else if ((v = arg_value(argc, argv, &i, "--commitment"))) {
      if ((st.commitment = pick(v, commits, 2)) < 0) return usage_error("init", "unknown commitment '%s'", v);
    } else if ((v = arg_value(argc, argv, &i, "--policy"))) {
      if ((st.policy = pick(v, policies, 2)) < 0) return usage_error("init", "unknown policy '%s'", v);
    } else if ((v = arg_value(argc, argv, &i, "--cap"))) {
      if (parse_u64(v, &st.cap)) return usage_error("init", "--cap needs a whole number, not '%s'", v);
    } else if ((v = arg_value(argc, argv, &i, "--start"))) {
      int y, m, d;
      if (sscanf(v, "%d-%d-%d", &y, &m, &d) != 3 || y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return usage_error("init", "--start needs YYYY-MM-DD, not '%s'", v);
      st.anchor = utc_date(y, m, d);
    } else {
      return usage_error("init", "unknown argument '%s'", argv[i]);
    }
  }
  if (!st.admin[0]) return usage_error("init", "--admin EMAIL is required (the first super admin)");
  if (exists(s->path)) {
    fprintf(stderr, "hubc: a store already exists at %s\n", s->path);
    return EXIT_FAIL;
  }
  if (settings_save(&st, s->path)) {
    fprintf(stderr, "hubc: cannot write %s.settings: %s\n", s->path, strerror(errno));
    return EXIT_FAIL;
  }
  int code = open_with(s, &st, 0);
  if (code) {
    char p[4096];
    settings_path(p, sizeof p, s->path);
    unlink(p);
    return code;
  }
  if (s->json) printf("{\"store\": "), json_str(stdout, s->path), printf(", \"admin\": "), json_str(stdout, st.admin),
      printf("}\n");
  else printf("created %s (admin %s, %s, %s, %s)\n", s->path, st.admin, subs[st.subscription],
              commits[st.commitment], policies[st.policy]);
  session_close(s);
  return EXIT_OK;
}

/* ---- users and permissions ------------------------------------------------------------- */

static const struct {
  const char *name;
  unsigned bit;
} PERMS[] = {{"edit-contacts", HUBC_PERM_EDIT_CONTACTS},
             {"import", HUBC_PERM_IMPORT},
             {"edit-workflows", HUBC_PERM_EDIT_WORKFLOWS},
             {"marketing", HUBC_PERM_MARKETING_ACCESS},
             {"manage-users", HUBC_PERM_MANAGE_USERS}};
#define N_PERMS (sizeof PERMS / sizeof PERMS[0])

int cmd_users(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc users list | hubc users create EMAIL");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  int code = session_open(s, 0);
  if (code) return code;
  int rc = 0;
  if (arg_is(argv[1], "create") && argc == 3) {
    hubc_id id;
    if ((rc = hubc_user_create(&id, s->store, s->actor, argv[2]))) code = fail(rc, "create user");
    else printf(s->json ? "{\"id\": %lld}\n" : "created user %lld\n", (long long)id);
  } else if (arg_is(argv[1], "list") && argc == 2) {
    hubc_user_iterator *it;
    if ((rc = hubc_user_iterator_new(&it, s->store))) code = fail(rc, "list users");
    hubc_id id;
    if (s->json && !rc) printf("[");
    for (int first = 1; !rc && hubc_user_iterator_next(&id, it) == 0; first = 0) {
      hubc_user *u;
      if (hubc_user_get(&u, s->store, id)) continue;
      unsigned p = hubc_user_permissions(u);
      if (s->json) {
        printf("%s{\"id\": %lld, \"email\": ", first ? "" : ", ", (long long)id);
        json_str(stdout, hubc_user_email(u));
        printf(", \"super_admin\": %s, \"disabled\": %s, \"permissions\": %u}", hubc_user_is_super_admin(u) ? "true" : "false",
               hubc_user_is_disabled(u) ? "true" : "false", p);
      } else {
        printf("%4lld  %-32s %s%s", (long long)id, hubc_user_email(u), hubc_user_is_super_admin(u) ? "super-admin " : "",
               hubc_user_is_disabled(u) ? "disabled " : "");
        for (size_t k = 0; k < N_PERMS; k++)
          if (p & PERMS[k].bit) printf("%s ", PERMS[k].name);
        printf("\n");
      }
      hubc_user_free(u);
    }
    if (s->json && !rc) printf("]\n");
    if (!rc) hubc_user_iterator_free(it);
  } else {
    code = usage_error("users", "expected 'list' or 'create EMAIL'");
  }
  session_close(s);
  return code;
}

int cmd_perms(int argc, char **argv, session *s) {
  if (argc != 3 || arg_is(argv[1], "--help")) {
    printf("usage: hubc perms EMAIL PERM[,PERM…]   (PERM: ");
    for (size_t k = 0; k < N_PERMS; k++) printf("%s%s", k ? ", " : "", PERMS[k].name);
    printf("; 'none' for none)\n");
    return argc == 2 && arg_is(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
  }
  unsigned bits = 0;
  char list[512];
  snprintf(list, sizeof list, "%s", argv[2]);
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t k = 0;
    while (k < N_PERMS && strcmp(t, PERMS[k].name)) k++;
    if (k == N_PERMS && strcmp(t, "none")) return usage_error("perms", "unknown permission '%s'", t);
    if (k < N_PERMS) bits |= PERMS[k].bit;
  }
  int code = session_open(s, 0);
  if (code) return code;
  hubc_user *u;
  int rc = hubc_user_get_by_email(&u, s->store, argv[1]);
  if (rc) code = fail(rc, "perms");
  else {
    hubc_id id = hubc_user_id(u);
    hubc_user_free(u);
    if ((rc = hubc_user_set_permissions(s->store, s->actor, id, bits))) code = fail(rc, "set permissions");
    else printf("%s: %s\n", argv[1], argv[2]);
  }
  session_close(s);
  return code;
}

/* ---- journal maintenance ------------------------------------------------------------------ */

int cmd_compact(int argc, char **argv, session *s) {
  if (argc > 1) {
    puts("usage: hubc compact   (rewrites the journal into a snapshot; R3)");
    return arg_is(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
  }
  int code = session_open(s, 0);
  if (code) return code;
  int rc = hubc_journal_compact(s->journal);
  if (rc) code = fail(rc, "compact");
  else printf("compacted %s\n", s->path);
  session_close(s);
  return code;
}

int cmd_check(int argc, char **argv, session *s) {
  if (argc > 1) {
    puts("usage: hubc check   (opens the journal read-only, loads every record, reports what is wrong with offsets)");
    return arg_is(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
  }
  int code = session_open(s, 1);
  if (code) return code;
  hubc_journal_info info = {.version = HUBC_JOURNAL_INFO_VERSION};
  hubc_journal_get_info(&info, s->journal);
  /* the store loaded: every record passed the loader's checks */
  if (s->json)
    printf("{\"ok\": true, \"log_bytes\": %llu, \"snapshot_bytes\": %llu, \"torn_bytes\": %llu}\n",
           (unsigned long long)info.log_bytes, (unsigned long long)info.snapshot_bytes,
           (unsigned long long)info.torn_bytes);
  else {
    printf("ok: %s loads (log %llu bytes, snapshot %llu bytes)\n", s->path, (unsigned long long)info.log_bytes,
           (unsigned long long)info.snapshot_bytes);
    if (info.torn_bytes)
      printf("note: a torn tail of %llu bytes (an interrupted last write) follows the valid log; the next write "
             "open drops it\n",
             (unsigned long long)info.torn_bytes);
  }
  session_close(s);
  return code;
}

/* ---- main ------------------------------------------------------------------------------------ */

static const struct command {
  const char *name;
  int (*fn)(int, char **, session *);
  const char *help;
} COMMANDS[] = {
    {"init", cmd_init, "create a store"},
    {"import", cmd_import, "import CSV files (plan, typed confirmation, commit)"},
    {"contacts", cmd_contacts, "list, show, find, create, update, delete contacts"},
    {"set-marketing", cmd_set_marketing, "set a selection as marketing contacts (typed confirmation)"},
    {"set-non-marketing", cmd_set_marketing, "set a selection as non-marketing at the next update date"},
    {"billing", cmd_billing, "tier, billable counts, next update date; 'billing report --svg|--csv'"},
    {"history", cmd_history, "status history (all contacts or one), CSV"},
    {"forms", cmd_forms, "list, create, delete forms; switch their marketing default"},
    {"submit", cmd_submit, "submit a form"},
    {"workflows", cmd_workflows, "list, create, (de)activate, delete workflows; run due steps; enrollments, history"},
    {"lists", cmd_lists, "list, create (static or --filter active), add, remove, show, set-filter, delete lists"},
    {"views", cmd_views, "list, create, update, show, contacts (a page in the view's sort), rename, delete saved views"},
    {"users", cmd_users, "list or create users"},
    {"perms", cmd_perms, "set a user's permissions"},
    {"compact", cmd_compact, "compact the journal into a snapshot"},
    {"check", cmd_check, "verify the journal (read-only)"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f) {
  fprintf(f, "usage: hubc [--store PATH] [--as EMAIL] [--json] COMMAND [ARGS]   (COMMAND --help for more)\n\n");
  for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-18s %s\n", COMMANDS[i].name, COMMANDS[i].help);
  fprintf(f, "\nThe store is --store, else $HUBC_STORE, else ./contacts.hubc (a journal; PATH.settings beside it).\n"
             "$HUBC_CLOCK (UTC seconds) replaces the clock, for tests and demos.\n"
             "Exit codes: 0 ok, 1 refused (message), 2 usage, 3 confirmation, 4 store in use, 5 no store,\n"
             "130 interrupted (nothing changed).\n");
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[64];
  if (lb >= 64) return 99;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* no SA_RESTART: a prompt's read returns */
  sigaction(SIGINT, &sa, NULL);
  session s = {0};
  s.path = getenv("HUBC_STORE") ? getenv("HUBC_STORE") : "contacts.hubc";
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *v;
    if (arg_is(argv[i], "--help") || arg_is(argv[i], "-h")) {
      usage(stdout);
      return EXIT_OK;
    } else if (arg_is(argv[i], "--json")) {
      s.json = 1;
    } else if ((v = arg_value(argc, argv, &i, "--store"))) {
      s.path = v;
    } else if ((v = arg_value(argc, argv, &i, "--as"))) {
      g_as = v;
    } else if (arg_is(argv[i], "--version")) {
      printf("hubc %s\n", hubc_version_string());
      return EXIT_OK;
    } else {
      fprintf(stderr, "hubc: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return EXIT_USAGE;
  }
  for (size_t c = 0; c < N_COMMANDS; c++)
    if (!strcmp(argv[i], COMMANDS[c].name)) {
      g_command = argv[i];
      /* --json may also follow the command: taken out of its arguments */
      int n = 0;
      for (int k = i; k < argc; k++) {
        if (k > i && arg_is(argv[k], "--json")) s.json = 1;
        else argv[i + n++] = argv[k];
      }
      int code = COMMANDS[c].fn(n, argv + i, &s);
      return g_interrupted && code ? EXIT_INTERRUPT : code;
    }
  size_t best = 99, at = 0;
  for (size_t c = 0; c < N_COMMANDS; c++) {
    size_t d = distance(argv[i], COMMANDS[c].name);
    if (d < best) best = d, at = c;
  }
  fprintf(stderr, "hubc: unknown command '%s'", argv[i]);
  if (best <= 3) fprintf(stderr, "; did you mean '%s'?", COMMANDS[at].name);
  fprintf(stderr, "\n");
  usage(stderr);
  return EXIT_USAGE;
}
