/* bench — the same work on hubcontacts and on SQLite, ratios printed.
 *
 *   bench [--n N] [--runs R] [--phase NAME] [--lookups L] [--dir DIR] [--clock wall|cpu]
 *
 * N deterministic contacts (default 1,000,000), ten properties each, are
 * generated once (fixed-seed splitmix64, pools of realistic names, cities,
 * companies). Every phase then does the same work on both sides:
 *
 *   create         N hubc_contact_create calls (actor 1, NULL options) vs one
 *                  SQLite transaction of N prepared INSERTs into an in-memory
 *                  table with a UNIQUE index on the normalized email.
 *   lookup         L random lookups by email (some with other case or white
 *                  space), each reading 2 properties: one
 *                  hubc_contact_get_by_email per email, and
 *                  hubc_contact_get_many 1,000 emails per call, vs normalize
 *                  in C + prepared SELECT * ... WHERE email=? + the same 2
 *                  columns.
 *   memory         resident memory added by a store of N contacts, per
 *                  contact, against the raw bytes of the property values;
 *                  SQLite's sqlite3_memory_used() for reference.
 *   set_marketing  N hubc_contact_set_marketing calls vs N executions of a
 *                  prepared UPDATE ... SET status=1 WHERE id=? in one
 *                  transaction.
 *   journal        N creates through the bundled journal (1,000 contacts per
 *                  hubc_contact_create_batch with fsync NEVER and
 *                  EVERY_COMMIT; one contact per call with fsync NEVER) vs
 *                  SQLite on a file (WAL, synchronous=NORMAL, one
 *                  transaction), both timed from open to close; then
 *                  `reopen`: the time to open the N-contact journal and load
 *                  the store.
 *   import         a generated CSV file of N rows and 10 columns (one row in
 *                  17 with a quoted multi-line note, 2 % repeating an earlier
 *                  email in other case) planned and committed with "set all
 *                  as marketing" (hubc_import_plan + hubc_import_commit),
 *                  in memory and through the journal (fsync every commit), vs
 *                  SQLite :memory: loading the same file: read, parsed in C
 *                  (the library's own CSV reader), emails normalized and
 *                  checked, one transaction of prepared upserts. The floor:
 *                  one memchr pass over the file in memory.
 *   forms          N form submissions (email, firstname, city), one call each,
 *                  every other one by a contact that submitted before (half
 *                  new, half existing), the switch on, each recorded: in
 *                  memory vs SQLite :memory: with one transaction per
 *                  submission (upsert the contact, insert the submission);
 *                  through the journal (fsync INTERVAL) vs SQLite on a WAL
 *                  file (synchronous=NORMAL).
 *   workflows      N contacts enrolled at activation in "set marketing, delay
 *                  60 s, set property" (clock hook): the tick running the 2N
 *                  due actions vs N direct hubc_contact_set_marketing calls
 *                  (target: a due action costs <= 2x a direct call), an empty
 *                  tick with N enrollments waiting and with none, enrollments/s
 *                  and allocator bytes per pending enrollment.
 *   count          hubc_filter_count of lifecyclestage = 'subscriber' AND
 *                  city = 'Roma' (5 % of the contacts; median of 5 counts in
 *                  a run, the first, which builds the filter's columns,
 *                  reported apart) vs a prepared SELECT count(*) on the same
 *                  table with both columns COLLATE NOCASE (S1's ASCII
 *                  case-insensitive equality): no index on them, an index
 *                  on (lifecyclestage, city), one index on each.
 *   lists          100,000 updates of a random contact's city and job title,
 *                  one call each, with no list and with 50 active lists
 *                  (filters on city, stage, job title, status; S2): the
 *                  cost per update with lists (target: <= 2x without).
 *   bulk           bulk set marketing on city = 'Roma' (12.5 %): after the
 *                  table's count, hubc_bulk_plan + hubc_bulk_commit in
 *                  memory vs SELECT count(*) then, in one transaction,
 *                  count again + UPDATE … WHERE; and through the journal
 *                  (fsync every commit) vs SQLite WAL, synchronous=FULL.
 *   bulk_memory    bulk set marketing on every contact with an event
 *                  callback registered: the allocator's peak above the
 *                  store, and what stays (the status history).
 *
 * Every timed run is a fresh child process (fork) with fresh stores, so no
 * run inherits another's heap; each phase is repeated R times (default 3)
 * and the median is printed with every run's time. The SQLite side does
 * what a host would do for the same semantics: emails normalized (trimmed,
 * lowercased) and checked in C, stored in a UNIQUE column, every property
 * stored, lifecyclestage checked against its options.
 *
 * Build: cmake --preset bench && cmake --build --preset bench
 *        build/bench/tests/bench_bench --n 1000000 --runs 3
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, mkdtemp */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hubcontacts.h"
#include "import/csv.h" /* the SQLite side parses with the same reader */

/* ---- utilities ------------------------------------------------------------ */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

/* CPU time of this process: what a run cost when the machine is shared. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --clock cpu: every phase times the CPU its child process used instead of
 * wall time, so a run on a loaded shared machine still compares like with
 * like (waits for the disk and the second core's threads then count as
 * nothing and double, so read the journal and threaded rows as CPU cost). */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(g_clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Anonymous mapping: kept off the malloc heap, so a forked child's heap
 * starts (nearly) empty and its RSS growth is its own. */
static void *big_alloc(size_t n) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap %zu bytes: %s", n, strerror(errno));
  return p;
}

static void *shared_alloc(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap shared: %s", strerror(errno));
  return p;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
  fclose(f);
  return ok ? resident * sysconf(_SC_PAGESIZE) : -1;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double tmp[64];
  memcpy(tmp, v, (size_t)n * sizeof *v);
  qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
  return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* ---- the data set ----------------------------------------------------------- */

#define NPROPS 10
static const char *const PROP_NAMES[NPROPS] = {"email",   "firstname", "lastname", "phone",   "company",
                                               "city",    "country",   "jobtitle", "website", "lifecyclestage"};
enum { P_EMAIL, P_FIRST, P_LAST, P_PHONE, P_COMPANY, P_CITY, P_COUNTRY, P_JOB, P_WEBSITE, P_STAGE };

static const char *const FIRST[] = {
    "Anna",     "Marco",  "Giulia",  "Luca",     "Francesca", "Alessandro", "Chiara",   "Matteo",  "Sara",
    "Lorenzo",  "Martina", "Andrea", "Elena",    "Davide",    "Valentina",  "Simone",   "Federica", "Giorgio",
    "Paola",    "Stefano", "Laura",  "Roberto",  "Silvia",    "Francesco",  "Alice",    "Riccardo", "Beatrice",
    "Tommaso",  "Camilla", "Gabriele", "Sofia",  "Emanuele",  "Ilaria",     "Pietro",   "Marta",   "Nicola",
    "Jean",     "Marie",   "Pierre", "Sophie",   "Hans",      "Katharina",  "Juan",     "Carmen",  "John",
    "Emily",    "Michael", "Olivia", "William",  "Charlotte", "Mohammed",   "Fatima",   "Wei",     "Mei",
    "Hiroshi",  "Yuki",    "Lars",   "Ingrid",   "Pablo",     "Lucia",      "Mateusz",  "Zofia"};
static const char *const LAST[] = {
    "Rossi",    "Russo",    "Ferrari",   "Esposito", "Bianchi",  "Romano",    "Colombo",  "Ricci",   "Marino",
    "Greco",    "Bruno",    "Gallo",     "Conti",    "De Luca",  "Mancini",   "Costa",    "Giordano", "Rizzo",
    "Lombardi", "Moretti",  "Barbieri",  "Fontana",  "Santoro",  "Mariani",   "Rinaldi",  "Caruso",  "Ferrara",
    "Galli",    "Martini",  "Leone",     "Longo",    "Gentile",  "Martinelli", "Vitale",  "Lombardo", "Serra",
    "Dubois",   "Martin",   "Bernard",   "Müller",   "Schmidt",  "Schneider", "García",   "Fernández", "Smith",
    "Johnson",  "Williams", "Brown",     "Jones",    "Taylor",   "Nguyen",    "Kowalski", "Nowak",   "Andersson",
    "Johansson", "Tanaka",  "Suzuki",    "Chen",     "Wang",     "O'Brien",   "van der Berg", "Papadopoulos"};
/* city, country */
static const char *const CITY[][2] = {
    {"Roma", "Italia"},        {"Milano", "Italia"},      {"Napoli", "Italia"},     {"Torino", "Italia"},
    {"Palermo", "Italia"},     {"Genova", "Italia"},      {"Bologna", "Italia"},    {"Firenze", "Italia"},
    {"Bari", "Italia"},        {"Catania", "Italia"},     {"Venezia", "Italia"},    {"Verona", "Italia"},
    {"Padova", "Italia"},      {"Trieste", "Italia"},     {"Brescia", "Italia"},    {"Reggio Emilia", "Italia"},
    {"Paris", "France"},       {"Lyon", "France"},        {"Marseille", "France"},  {"Berlin", "Germany"},
    {"München", "Germany"},    {"Hamburg", "Germany"},    {"Madrid", "Spain"},      {"Barcelona", "Spain"},
    {"London", "United Kingdom"}, {"Manchester", "United Kingdom"}, {"Dublin", "Ireland"}, {"Amsterdam", "Netherlands"},
    {"Bruxelles", "Belgium"},  {"Zürich", "Switzerland"}, {"Wien", "Austria"},      {"Stockholm", "Sweden"},
    {"Warszawa", "Poland"},    {"Lisboa", "Portugal"},    {"New York", "United States"}, {"San Francisco", "United States"}};
/* company name stem, legal suffix, domain stem */
static const char *const CO_STEM[] = {"Ferrari",  "Bianchi",  "Aurora",   "Delta",    "Nova",     "Orion",
                                      "Vesuvio",  "Adriatica", "Alpina",  "Meridiana", "Tirrena", "Zenit",
                                      "Solaris",  "Cosmo",    "Lumen",    "Vertex",   "Atlas",    "Pioneer",
                                      "Helix",    "Quanta",   "Stellar",  "Titan",    "Apex",     "Nimbus"};
static const char *const CO_SECTOR[] = {"Logistica", "Costruzioni", "Software", "Consulting", "Alimentari",
                                        "Energia",   "Tessile",     "Design",   "Systems",    "Trasporti",
                                        "Farmaceutica", "Media",    "Finance",  "Robotics",   "Turismo"};
static const char *const CO_LEGAL[] = {"S.p.A.", "S.r.l.", "GmbH", "Ltd", "SA", "Inc."};
static const char *const CO_TLD[] = {"it", "com", "eu", "de", "co.uk", "fr"};
static const char *const JOB[] = {"Marketing Manager",    "Sales Representative",   "CEO",
                                  "Chief Financial Officer", "Software Engineer",  "Account Executive",
                                  "Head of Operations",   "Product Manager",        "HR Specialist",
                                  "Purchasing Manager",   "Customer Success Manager", "Office Manager",
                                  "Data Analyst",         "Business Developer",     "Project Manager",
                                  "Responsabile Acquisti", "Direttore Commerciale", "Consulente",
                                  "Impiegato Amministrativo", "Titolare",           "Architect",
                                  "Digital Marketing Specialist", "IT Director",    "Store Manager"};
static const char *const STAGES[] = {"subscriber",  "lead",     "marketingqualifiedlead", "salesqualifiedlead",
                                     "opportunity", "customer", "evangelist",             "other"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* Shares per mille, so that filters select what they would in an Italian
 * account: most contacts are subscribers or leads, the big cities hold
 * most contacts. subscriber 40 % x Roma 12.5 % = 5 % of the contacts for
 * the count phase's filter; Roma alone 12.5 % for the bulk phase. */
static const unsigned STAGE_W[COUNT(STAGES)] = {400, 250, 100, 60, 50, 100, 20, 20};
static const unsigned CITY_W[COUNT(CITY)] = {125, 150, 60, 50, 30, 25, 30, 30, 20, 15, 15, 15, 15, 10, 10, 10,
                                             20,  20,  20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
                                             20,  20,  20, 10};
/* The index of the pool entry that per-mille draw u (0..999) falls in. */
static size_t weighted(const unsigned *w, size_t n, uint64_t u) {
  u %= 1000;
  for (size_t i = 0; i < n; i++) {
    if (u < w[i]) return i;
    u -= w[i];
  }
  return n - 1;
}

typedef struct dataset {
  size_t n;
  const char **vals; /* n * NPROPS */
  char *arena;
  size_t arena_used;
  size_t raw_bytes; /* sum of strlen of every value */
} dataset;

/* Lower-case ASCII letters and digits of s into out, other bytes dropped
 * except the separators kept as '-'. */
static size_t slug(char *out, const char *s, char sep) {
  size_t n = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 'A' && c <= 'Z') out[n++] = (char)(c + 32);
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out[n++] = (char)c;
    else if ((c == ' ' || c == '\'') && sep && n && out[n - 1] != sep) out[n++] = sep;
    else if (c == 0xc3 && s[1]) { /* ü, í, á, …: the plain letter (emails stay ASCII) */
      static const char map[64] = "aaaaaaaceeeeiiiidnooooo/ouuuuyps"
                                  "aaaaaaaceeeeiiiidnooooo/ouuuuypy";
      char m = map[((unsigned char)s[1] & 0x3f) ^ 0x20];
      if (m != '/') out[n++] = m;
      s++;
    }
  }
  out[n] = '\0';
  return n;
}

static const char *put_str(dataset *d, const char *s) {
  size_t len = strlen(s);
  char *p = d->arena + d->arena_used;
  memcpy(p, s, len + 1);
  d->arena_used += len + 1;
  d->raw_bytes += len;
  return p;
}

static void dataset_make(dataset *d, size_t n) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->vals = big_alloc(n * NPROPS * sizeof *d->vals);
  d->arena = big_alloc(n * 320 + 4096);
  uint64_t seed = 0x4855424355ull; /* fixed */
  char buf[512], a[64], b[64], dom[128];
  for (size_t i = 0; i < n; i++) {
    const char **v = d->vals + i * NPROPS;
    uint64_t r1 = splitmix64(&seed), r2 = splitmix64(&seed), r3 = splitmix64(&seed);
    const char *first = FIRST[r1 % COUNT(FIRST)];
    const char *last = LAST[(r1 >> 8) % COUNT(LAST)];
    size_t ci = weighted(CITY_W, COUNT(CITY), r3 >> 32);
    const char *stem = CO_STEM[(r1 >> 24) % COUNT(CO_STEM)];
    const char *sector = CO_SECTOR[(r1 >> 32) % COUNT(CO_SECTOR)];
    const char *legal = CO_LEGAL[(r1 >> 40) % COUNT(CO_LEGAL)];
    const char *tld = CO_TLD[(r1 >> 44) % COUNT(CO_TLD)];
    /* unique 7-digit tag: a bijection of i modulo 10^7 (7919 is prime) */
    unsigned long tag = n <= 10000000 ? (unsigned long)((i * 7919u + 1234567u) % 10000000u) : (unsigned long)i;

    slug(a, first, 0);
    slug(b, last, 0);
    size_t dl = slug(dom, stem, '-');
    dom[dl++] = '-';
    slug(dom + dl, sector, '-');
    snprintf(buf, sizeof buf, "%s.%s.%lu@%s.%s", a, b, tag, dom, tld);
    v[P_EMAIL] = put_str(d, buf);
    v[P_FIRST] = put_str(d, first);
    v[P_LAST] = put_str(d, last);
    static const char *const area[] = {"06", "02", "081", "011", "055", "051", "041", "333", "347", "320"};
    snprintf(buf, sizeof buf, "+39 %s %04u %04u", area[r2 % COUNT(area)], (unsigned)((r2 >> 8) % 10000),
             (unsigned)((r2 >> 24) % 10000));
    v[P_PHONE] = put_str(d, buf);
    snprintf(buf, sizeof buf, "%s %s %s", stem, sector, legal);
    v[P_COMPANY] = put_str(d, buf);
    v[P_CITY] = put_str(d, CITY[ci][0]);
    v[P_COUNTRY] = put_str(d, CITY[ci][1]);
    v[P_JOB] = put_str(d, JOB[r3 % COUNT(JOB)]);
    snprintf(buf, sizeof buf, "https://www.%s.%s", dom, tld);
    v[P_WEBSITE] = put_str(d, buf);
    v[P_STAGE] = put_str(d, STAGES[weighted(STAGE_W, COUNT(STAGES), (r3 >> 16) & 0xffff)]);
  }
}

/* Lookup queries: random existing emails, 1 in 8 upper-cased, 1 in 8 with
 * mixed case, 1 in 8 with surrounding white space. */
typedef struct queries {
  size_t n;
  const char **q;
  char *arena;
} queries;

static void queries_make(queries *qs, const dataset *d, size_t n) {
  qs->n = n;
  qs->q = big_alloc(n * sizeof *qs->q);
  qs->arena = big_alloc(n * 300 + 4096);
  uint64_t seed = 0x51554552ull;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t r = splitmix64(&seed);
    const char *e = d->vals[(r % d->n) * NPROPS + P_EMAIL];
    char *out = qs->arena + used;
    size_t len = strlen(e);
    switch ((r >> 40) % 8) {
    case 0:
      for (size_t k = 0; k <= len; k++) out[k] = (e[k] >= 'a' && e[k] <= 'z') ? (char)(e[k] - 32) : e[k];
      break;
    case 1: /* Anna.Rossi.123@Ferrari-Logistica.it */
      for (size_t k = 0; k <= len; k++) {
        int start = k == 0 || e[k - 1] == '.' || e[k - 1] == '@' || e[k - 1] == '-';
        out[k] = (start && e[k] >= 'a' && e[k] <= 'z') ? (char)(e[k] - 32) : e[k];
      }
      break;
    case 2:
      snprintf(out, len + 8, "  %s\t ", e);
      break;
    default:
      memcpy(out, e, len + 1);
    }
    qs->q[i] = out;
    used += strlen(out) + 1;
  }
}

/* ---- what a SQLite host does with an email: normalize and check (C3) ----- */

static size_t normalize_email(char *out, size_t cap, const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  size_t len = strlen(s);
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
  if (len >= cap) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  out[len] = '\0';
  return len;
}

static int email_valid(const char *e, size_t len) {
  if (len == 0 || len > 254) return 0;
  const char *at = NULL;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)e[i];
    if (c <= ' ' || c == 0x7f) return 0;
    if (c == '@') {
      if (at) return 0;
      at = e + i;
    }
  }
  if (!at || at == e) return 0;
  const char *dot = memchr(at + 1, '.', len - (size_t)(at + 1 - e));
  return dot && dot > at + 1 && dot < e + len - 1;
}

/* ---- SQLite side ------------------------------------------------------------ */

#define SQL_SCHEMA                                                                                            \
  "CREATE TABLE contacts(id INTEGER PRIMARY KEY, email TEXT UNIQUE, firstname TEXT, lastname TEXT, "        \
  "phone TEXT, company TEXT, city TEXT, country TEXT, jobtitle TEXT, website TEXT, "                          \
  "lifecyclestage TEXT CHECK (lifecyclestage IN ('subscriber','lead','marketingqualifiedlead',"              \
  "'salesqualifiedlead','opportunity','customer','evangelist','other')), status INTEGER NOT NULL DEFAULT 0)"
#define SQL_INSERT                                                                                            \
  "INSERT INTO contacts(email, firstname, lastname, phone, company, city, country, jobtitle, website, "       \
  "lifecyclestage, status) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)"

static void sql_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die("sqlite: %s: %s", sql, err ? err : "?");
}

static sqlite3_stmt *sql_prepare(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die("sqlite prepare: %s", sqlite3_errmsg(db));
  return st;
}

static sqlite3 *sql_open(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK) die("sqlite open %s", path);
  return db;
}

/* Inserts every contact in one transaction (the timed work of create). */
static void sql_insert_all(sqlite3 *db, const dataset *d) {
  sqlite3_stmt *ins = sql_prepare(db, SQL_INSERT);
  sql_exec(db, "BEGIN");
  char email[256];
  for (size_t i = 0; i < d->n; i++) {
    const char **v = d->vals + i * NPROPS;
    size_t elen = normalize_email(email, sizeof email, v[P_EMAIL]);
    if (!email_valid(email, elen)) die("invalid email %s", v[P_EMAIL]);
    sqlite3_bind_text(ins, 1, email, (int)elen, SQLITE_STATIC);
    for (int p = 1; p < NPROPS; p++) sqlite3_bind_text(ins, p + 1, v[p], -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) die("sqlite insert %zu: %s", i, sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  sql_exec(db, "COMMIT");
  sqlite3_finalize(ins);
}

static sqlite3 *sql_build_memory(const dataset *d) {
  sqlite3 *db = sql_open(":memory:");
  sql_exec(db, SQL_SCHEMA);
  sql_insert_all(db, d);
  return db;
}

/* ---- hubcontacts side -------------------------------------------------------- */

static void hubc_check(int rc, const char *what) {
  if (rc != 0) die("%s: %s (%s)", what, hubc_strerror(rc), hubc_error_last());
}

static hubc_store *store_open(const hubc_persist *persist, hubc_alloc_fn alloc, void *alloc_payload) {
  hubc_store_options o;
  hubc_check(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), "options");
  o.admin_email = "admin@example.com";
  o.persist = persist;
  o.alloc = alloc;
  o.alloc_payload = alloc_payload;
  hubc_store *s = NULL;
  hubc_check(hubc_store_open(&s, &o), "open store");
  return s;
}

static void store_create_all(hubc_store *s, const dataset *d) {
  for (size_t i = 0; i < d->n; i++) {
    hubc_id id;
    int rc = hubc_contact_create(&id, s, 1, NULL, PROP_NAMES, d->vals + i * NPROPS, NPROPS);
    if (rc) die("create %zu (%s): %s", i, d->vals[i * NPROPS], hubc_error_last());
    if (id != (hubc_id)i + 1) die("create %zu: id %lld, expected %zu", i, (long long)id, i + 1);
  }
}

/* The same contacts, `batch` per transaction (hubc_contact_create_batch). */
static void store_create_batched(hubc_store *s, const dataset *d, size_t batch) {
  for (size_t i = 0; i < d->n; i += batch) {
    size_t rows = d->n - i < batch ? d->n - i : batch;
    int rc = hubc_contact_create_batch(NULL, s, 1, NULL, PROP_NAMES, NPROPS, d->vals + i * NPROPS, rows);
    if (rc) die("create batch at %zu: %s", i, hubc_error_last());
  }
}

static uint64_t store_count(hubc_store *s) {
  uint64_t n = 0;
  hubc_check(hubc_contact_count(&n, s), "count");
  return n;
}

/* ---- results, children ------------------------------------------------------- */

typedef struct result {
  int done;
  double secs;
  double v[8]; /* phase-specific extras */
} result;

static result *g_res; /* MAP_SHARED, written by the child */

typedef void (*job_fn)(result *r, void *arg);

/* Runs fn in a fresh child process; returns its result. */
static result run_child(job_fn fn, void *arg) {
  memset(g_res, 0, sizeof *g_res);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    fn(g_res, arg);
    g_res->done = 1;
    fflush(NULL);
    _exit(0);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) die("waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !g_res->done)
    die("a benchmark child failed (status %d)", st);
  return *g_res;
}

/* ---- phase: create ---------------------------------------------------------- */

static const dataset *g_d;
static const queries *g_q;
static char g_dir[256];

static void job_hubc_create(result *r, void *arg) {
  (void)arg;
  hubc_store *s = store_open(NULL, NULL, NULL);
  double t0 = now_s();
  store_create_all(s, g_d);
  r->secs = now_s() - t0;
  if (store_count(s) != g_d->n) die("hubc create: count mismatch");
  hubc_store_close(s);
}

static void job_sql_create(result *r, void *arg) {
  (void)arg;
  sqlite3 *db = sql_open(":memory:");
  sql_exec(db, SQL_SCHEMA);
  double t0 = now_s();
  sql_insert_all(db, g_d);
  r->secs = now_s() - t0;
  sqlite3_close(db);
}

/* ---- phase: lookup ---------------------------------------------------------- */

/* Every query looked up and 2 properties read: one hubc_contact_get_by_email
 * per email (arg NULL), or hubc_contact_get_many with *(size_t *)arg emails
 * per call. */
static void job_hubc_lookup(result *r, void *arg) {
  size_t batch = arg ? *(const size_t *)arg : 1;
  hubc_store *s = store_open(NULL, NULL, NULL);
  store_create_all(s, g_d);
  uint64_t found = 0, sum = 0;
  hubc_contact **got = big_alloc(batch * sizeof *got);
  double t0 = now_s();
  for (size_t i = 0; i < g_q->n; i += batch) {
    size_t n = g_q->n - i < batch ? g_q->n - i : batch;
    if (!arg) (void)hubc_contact_get_by_email(&got[0], s, g_q->q[i]); /* NULL when not found */
    else hubc_check(hubc_contact_get_many(got, s, (const char *const *)g_q->q + i, n), "get many");
    for (size_t k = 0; k < n; k++) {
      if (!got[k]) continue;
      const char *a = hubc_contact_prop(got[k], "firstname");
      const char *b = hubc_contact_prop(got[k], "city");
      sum += (a ? strlen(a) : 0) + (b ? strlen(b) : 0);
      found++;
      hubc_contact_free(got[k]);
    }
  }
  r->secs = now_s() - t0;
  r->v[0] = (double)found;
  r->v[1] = (double)sum;
  hubc_store_close(s);
}

static void job_sql_lookup(result *r, void *arg) {
  (void)arg;
  sqlite3 *db = sql_build_memory(g_d);
  sqlite3_stmt *sel = sql_prepare(db, "SELECT * FROM contacts WHERE email = ?1");
  uint64_t found = 0, sum = 0;
  char email[256];
  double t0 = now_s();
  for (size_t i = 0; i < g_q->n; i++) {
    size_t len = normalize_email(email, sizeof email, g_q->q[i]);
    sqlite3_bind_text(sel, 1, email, (int)len, SQLITE_STATIC);
    if (sqlite3_step(sel) == SQLITE_ROW) {
      const unsigned char *a = sqlite3_column_text(sel, 2); /* firstname */
      const unsigned char *b = sqlite3_column_text(sel, 6); /* city */
      sum += (a ? strlen((const char *)a) : 0) + (b ? strlen((const char *)b) : 0);
      found++;
    }
    sqlite3_reset(sel);
  }
  r->secs = now_s() - t0;
  r->v[0] = (double)found;
  r->v[1] = (double)sum;
  sqlite3_finalize(sel);
  sqlite3_close(db);
}

/* ---- phase: memory ------------------------------------------------------------ */

typedef struct counting_alloc {
  size_t live, peak;
} counting_alloc;

static void *counting_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size) {
  counting_alloc *a = payload;
  if (new_size == 0) {
    if (ptr) a->live -= old_size;
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, new_size);
  if (p) {
    a->live = a->live - (ptr ? old_size : 0) + new_size;
    if (a->live > a->peak) a->peak = a->live;
  }
  return p;
}

/* v[0]: RSS growth (bytes); v[1]: peak RSS growth (maxrss); v[2]: live bytes
 * the library asked its allocator for; v[3]: peak of those. */
static void job_hubc_memory(result *r, void *arg) {
  (void)arg;
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  long before = rss_bytes();
  hubc_store *s = store_open(NULL, NULL, NULL);
  store_create_all(s, g_d);
  long after = rss_bytes();
  getrusage(RUSAGE_SELF, &ru1);
  r->v[0] = (double)(after - before);
  r->v[1] = (double)(ru1.ru_maxrss - ru0.ru_maxrss) * 1024.0;
  hubc_store_close(s);
}

static void job_hubc_memory_counted(result *r, void *arg) {
  (void)arg;
  counting_alloc ca = {0, 0};
  hubc_store *s = store_open(NULL, counting_alloc_fn, &ca);
  store_create_all(s, g_d);
  r->v[2] = (double)ca.live;
  r->v[3] = (double)ca.peak;
  hubc_store_close(s);
}

/* v[0]: RSS growth; v[2]: sqlite3_memory_used() growth. */
static void job_sql_memory(result *r, void *arg) {
  (void)arg;
  long before = rss_bytes();
  sqlite3_int64 m0 = sqlite3_memory_used();
  sqlite3 *db = sql_build_memory(g_d);
  r->v[2] = (double)(sqlite3_memory_used() - m0);
  r->v[0] = (double)(rss_bytes() - before);
  sqlite3_close(db);
}

/* ---- phase: set_marketing ------------------------------------------------------ */

static void job_hubc_set_marketing(result *r, void *arg) {
  (void)arg;
  hubc_store *s = store_open(NULL, NULL, NULL);
  store_create_all(s, g_d);
  double t0 = now_s();
  for (size_t i = 0; i < g_d->n; i++) {
    int rc = hubc_contact_set_marketing(s, 1, (hubc_id)i + 1, HUBC_SOURCE_MANUAL, 1);
    if (rc) die("set marketing %zu: %s", i + 1, hubc_error_last());
  }
  r->secs = now_s() - t0;
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  hubc_check(hubc_billing_get(&bi, s), "billing");
  if (bi.marketing != g_d->n) die("hubc set_marketing: %llu marketing", (unsigned long long)bi.marketing);
  hubc_store_close(s);
}

static void job_sql_set_marketing(result *r, void *arg) {
  (void)arg;
  sqlite3 *db = sql_build_memory(g_d);
  sqlite3_stmt *up = sql_prepare(db, "UPDATE contacts SET status = 1 WHERE id = ?1");
  double t0 = now_s();
  sql_exec(db, "BEGIN");
  for (size_t i = 0; i < g_d->n; i++) {
    sqlite3_bind_int64(up, 1, (sqlite3_int64)i + 1);
    if (sqlite3_step(up) != SQLITE_DONE || sqlite3_changes(db) != 1) die("sqlite update %zu", i + 1);
    sqlite3_reset(up);
  }
  sql_exec(db, "COMMIT");
  r->secs = now_s() - t0;
  sqlite3_finalize(up);
  sqlite3_stmt *cnt = sql_prepare(db, "SELECT count(*) FROM contacts WHERE status = 1");
  if (sqlite3_step(cnt) != SQLITE_ROW || (size_t)sqlite3_column_int64(cnt, 0) != g_d->n)
    die("sqlite set_marketing: count mismatch");
  sqlite3_finalize(cnt);
  sqlite3_close(db);
}

/* ---- phase: journal ------------------------------------------------------------ */

static void path_in_dir(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

static void remove_files(const char *base) {
  static const char *const sfx[] = {"", ".snap", ".snap.tmp", "-wal", "-shm", "-journal"};
  char p[400];
  for (size_t i = 0; i < COUNT(sfx); i++) {
    snprintf(p, sizeof p, "%s%s", base, sfx[i]);
    unlink(p);
  }
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* How a journal run commits: fsync policy and contacts per transaction. */
typedef struct journal_mode {
  int policy;
  size_t batch; /* 1: one hubc_contact_create per contact */
  const char *file;
  double want; /* target ratio; 0: reported (one write() per contact) */
} journal_mode;

/* arg: a journal_mode. Timed from journal open to journal close.
 * v[0]: log bytes + snapshot bytes at the end. */
static void job_hubc_journal(result *r, void *arg) {
  const journal_mode *mode = arg;
  int policy = mode->policy;
  char path[320], snap[330];
  path_in_dir(path, sizeof path, mode->file);
  snprintf(snap, sizeof snap, "%s.snap", path);
  remove_files(path);
  double t0 = now_s();
  hubc_journal_options jo;
  hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
  jo.fsync_policy = policy;
  hubc_journal *j = NULL;
  hubc_check(hubc_journal_open(&j, path, &jo), "journal open");
  hubc_store *s = store_open(hubc_journal_persist(j), NULL, NULL);
  if (mode->batch > 1) store_create_batched(s, g_d, mode->batch);
  else store_create_all(s, g_d);
  hubc_store_close(s);
  hubc_journal_close(j);
  r->secs = now_s() - t0;
  r->v[0] = (double)(file_size(path) + file_size(snap));
}

/* Reopens journal-never (left by the NEVER run): journal open + store load. */
static void job_hubc_reopen(result *r, void *arg) {
  (void)arg;
  char path[320];
  path_in_dir(path, sizeof path, "journal-never");
  double t0 = now_s();
  hubc_journal_options jo;
  hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
  jo.fsync_policy = HUBC_FSYNC_NEVER;
  hubc_journal *j = NULL;
  hubc_check(hubc_journal_open(&j, path, &jo), "journal reopen");
  hubc_store *s = store_open(hubc_journal_persist(j), NULL, NULL);
  r->secs = now_s() - t0;
  if (store_count(s) != g_d->n) die("reopen: %llu contacts", (unsigned long long)store_count(s));
  hubc_store_close(s);
  hubc_journal_close(j);
}

static void job_sql_file(result *r, void *arg) {
  (void)arg;
  char path[320];
  path_in_dir(path, sizeof path, "sqlite.db");
  remove_files(path);
  double t0 = now_s();
  sqlite3 *db = sql_open(path);
  sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  sql_exec(db, SQL_SCHEMA);
  sql_insert_all(db, g_d);
  sqlite3_close(db);
  r->secs = now_s() - t0;
  r->v[0] = (double)file_size(path);
  remove_files(path);
}

/* ---- reporting ------------------------------------------------------------------ */

static int g_runs = 3;
static int g_fail = 0;

static void print_runs(const char *label, const double *t, int n) {
  printf("    %-28s median %9.3f s   runs:", label, median(t, n));
  for (int i = 0; i < n; i++) printf(" %.3f", t[i]);
  printf("\n");
}

/* Ratio line: target is "ratio >= want"; want 0: no target, reported. */
static void print_ratio(const char *phase, double hubc_t, double sql_t, double want, size_t ops) {
  double ratio = sql_t / hubc_t;
  int pass = ratio >= want;
  if (!pass) g_fail++;
  printf("  => %-14s hubcontacts %8.3f s   SQLite %8.3f s   SQLite/hubcontacts %6.2fx   ", phase, hubc_t, sql_t,
         ratio);
  if (want > 0) printf("target >= %.0fx   %s", want, pass ? "PASS" : "FAIL");
  else printf("(reported)");
  if (!pass) printf(" (%.0f%% of the target)", 100.0 * ratio / want);
  printf("\n");
  printf("     (per operation: hubcontacts %.0f ns, SQLite %.0f ns)\n\n", hubc_t * 1e9 / (double)ops,
         sql_t * 1e9 / (double)ops);
}

/* A phase of one job per side, N operations each, held to `want`. */
static void phase_pair(const char *name, job_fn hubc_job, job_fn sql_job, double want) {
  double h[64], q[64];
  for (int i = 0; i < g_runs; i++) {
    h[i] = run_child(hubc_job, NULL).secs;
    q[i] = run_child(sql_job, NULL).secs;
  }
  print_runs("hubcontacts", h, g_runs);
  print_runs("SQLite", q, g_runs);
  print_ratio(name, median(h, g_runs), median(q, g_runs), want, g_d->n);
}

static void phase_create(void) {
  printf("[create] %zu x hubc_contact_create vs SQLite :memory: INSERT (one transaction)\n", g_d->n);
  phase_pair("create", job_hubc_create, job_sql_create, 5);
}

static void check_lookup(const result *a, const result *b) {
  if (a->v[0] != (double)g_q->n || b->v[0] != (double)g_q->n || a->v[1] != b->v[1])
    die("lookup results differ: hubc found %.0f (sum %.0f), SQLite found %.0f (sum %.0f)", a->v[0], a->v[1],
        b->v[0], b->v[1]);
}

enum { LOOKUP_BATCH = 1000 };

/* Two ways to look up: one call per email (each waits on its own two
 * cache misses: reported) and hubc_contact_get_many (the misses of a batch
 * overlap: the path for many lookups, held to the target). */
static void phase_lookup(void) {
  double h1[64], hm[64], q[64];
  printf("[lookup] %zu lookups by email (+2 properties) in %zu contacts: one per call, and %d per call\n", g_q->n,
         g_d->n, LOOKUP_BATCH);
  for (int i = 0; i < g_runs; i++) {
    result one = run_child(job_hubc_lookup, NULL);
    size_t batch = LOOKUP_BATCH;
    result many = run_child(job_hubc_lookup, &batch);
    result sql = run_child(job_sql_lookup, NULL);
    check_lookup(&one, &sql);
    check_lookup(&many, &sql);
    h1[i] = one.secs;
    hm[i] = many.secs;
    q[i] = sql.secs;
  }
  print_runs("hubcontacts, 1 per call", h1, g_runs);
  print_runs("hubcontacts, get_many", hm, g_runs);
  print_runs("SQLite", q, g_runs);
  double qmed = median(q, g_runs);
  print_ratio("lookup 1/call", median(h1, g_runs), qmed, 0, g_q->n);
  print_ratio("lookup many", median(hm, g_runs), qmed, 10, g_q->n);
}

static void phase_memory(void) {
  double rss[64], maxrss[64], srss[64], smem[64];
  double raw = (double)g_d->raw_bytes / (double)g_d->n, n = (double)g_d->n;
  printf("[memory] store of %zu contacts, per contact (raw property bytes %.1f)\n", g_d->n, raw);
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_memory, NULL);
    result b = run_child(job_sql_memory, NULL);
    rss[i] = a.v[0] / n;
    maxrss[i] = a.v[1] / n;
    srss[i] = b.v[0] / n;
    smem[i] = b.v[2] / n;
  }
  result c = run_child(job_hubc_memory_counted, NULL);
  double rm = median(rss, g_runs);
  printf("    hubcontacts RSS growth           median %7.1f B/contact (%.2fx raw); maxrss growth %.1f B\n", rm,
         rm / raw, median(maxrss, g_runs));
  printf("    hubcontacts allocator live bytes        %7.1f B/contact (%.2fx raw); peak %.1f B\n", c.v[2] / n,
         c.v[2] / n / raw, c.v[3] / n);
  printf("    SQLite sqlite3_memory_used()     median %7.1f B/contact (%.2fx raw); RSS growth %.1f B\n",
         median(smem, g_runs), median(smem, g_runs) / raw, median(srss, g_runs));
  int pass = rm <= 1.5 * raw;
  if (!pass) g_fail++;
  printf("  => %-14s hubcontacts %8.1f B/contact   raw %6.1f B   ratio %5.2fx   target <= 1.5x   %s", "memory", rm,
         raw, rm / raw, pass ? "PASS" : "FAIL");
  if (!pass) printf(" (%.0f%% over the target)", 100.0 * (rm / raw / 1.5 - 1));
  printf("\n\n");
}

static void phase_set_marketing(void) {
  printf("[set_marketing] %zu x hubc_contact_set_marketing vs SQLite UPDATE per row (one transaction)\n", g_d->n);
  phase_pair("set_marketing", job_hubc_set_marketing, job_sql_set_marketing, 10);
}

static void phase_journal(void) {
  /* The configurations: fsync never, and fsync every commit with
   * 1,000 contacts per transaction; plus fsync never at one contact per
   * call, the worst case (one write() per contact). */
  static const journal_mode modes[] = {
    {HUBC_FSYNC_NEVER, 1000, "journal-never-1000", 3},
    {HUBC_FSYNC_EVERY_COMMIT, 1000, "journal-every-1000", 3},
    {HUBC_FSYNC_NEVER, 1, "journal-never", 0},
  };
  static const char *const labels[] = {"fsync NEVER, 1000/txn", "fsync EVERY_COMMIT, 1000/txn",
                                       "fsync NEVER, 1/call"};
  static const char *const short_labels[] = {"jrnl NEVER/1k", "jrnl EVERY/1k", "jrnl NEVER/1"};
  double t[COUNT(modes)][64], reopen[64], q[64];
  double jbytes = 0, sbytes = 0;
  char path[320];
  printf("[journal] %zu creates persisted (open..close) in %s\n", g_d->n, g_dir);
  for (int i = 0; i < g_runs; i++) {
    for (size_t m = 0; m < COUNT(modes); m++) {
      result a = run_child(job_hubc_journal, (void *)&modes[m]);
      t[m][i] = a.secs;
      jbytes = a.v[0];
      if (m + 1 == COUNT(modes)) reopen[i] = run_child(job_hubc_reopen, NULL).secs; /* the 1/call log: largest */
      path_in_dir(path, sizeof path, modes[m].file);
      remove_files(path);
    }
    result b = run_child(job_sql_file, NULL);
    q[i] = b.secs;
    sbytes = b.v[0];
  }
  for (size_t m = 0; m < COUNT(modes); m++) print_runs(labels[m], t[m], g_runs);
  print_runs("SQLite WAL, sync=NORMAL", q, g_runs);
  printf("    files: journal %.1f MB, SQLite %.1f MB\n", jbytes / 1e6, sbytes / 1e6);
  double qm = median(q, g_runs);
  for (size_t m = 0; m < COUNT(modes); m++) print_ratio(short_labels[m], median(t[m], g_runs), qm, modes[m].want, g_d->n);
  print_runs("hubcontacts reopen", reopen, g_runs);
  double rm = median(reopen, g_runs);
  int pass = rm < 1.0;
  if (!pass) g_fail++;
  printf("  => %-14s hubcontacts %8.3f s (journal open + load of %zu contacts)   target < 1 s   %s", "reopen", rm,
         g_d->n, pass ? "PASS" : "FAIL");
  if (!pass) printf(" (%.2fx the target)", rm);
  printf("\n\n");
}

/* ---- phase: import -------------------------------------------------------------- */

static const char *const IMPORT_HEADER =
    "Email,First Name,Last Name,Phone Number,Company Name,City,Country/Region,Job Title,Lifecycle Stage,Notes\n";
enum { IMPORT_COLS = 10 };

/* Appends s as a CSV field (quoted when needed). */
static size_t csv_put(char *out, const char *s) { return hubc__csv_quote(out, s, strlen(s), ','); }

/* Writes the import file from the data set; returns its size. */
static size_t import_file_make(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) die("create %s: %s", path, strerror(errno));
  static const int cols[IMPORT_COLS - 1] = {P_EMAIL, P_FIRST, P_LAST, P_PHONE, P_COMPANY,
                                            P_CITY,  P_COUNTRY, P_JOB, P_STAGE};
  char line[4096], email[256];
  size_t total = fwrite(IMPORT_HEADER, 1, strlen(IMPORT_HEADER), f);
  for (size_t i = 0; i < g_d->n; i++) {
    const char **v = g_d->vals + i * NPROPS;
    size_t o = 0;
    for (int c = 0; c < IMPORT_COLS - 1; c++) {
      const char *val = v[cols[c]];
      if (c == 0 && i % 50 == 49) { /* 2 %: an earlier row's email, other case */
        const char *e = g_d->vals[(i - 17) * NPROPS + P_EMAIL];
        size_t k = 0;
        for (; e[k] && k + 1 < sizeof email; k++) email[k] = (char)((k % 2) && e[k] >= 'a' && e[k] <= 'z' ? e[k] - 32 : e[k]);
        email[k] = '\0';
        val = email;
      }
      o += csv_put(line + o, val);
      line[o++] = ',';
    }
    if (i % 17 == 0)
      o += csv_put(line + o, "Called on Monday,\nasked for a \"demo\";\nfollow up in March");
    line[o++] = '\n';
    total += fwrite(line, 1, o, f);
  }
  if (fclose(f) != 0) die("write %s: %s", path, strerror(errno));
  return total;
}

static char g_import_path[320];
static size_t g_import_bytes;

/* v[0] plan s, v[1] commit s, v[2] peak RSS beyond the store's own growth,
 * v[3] contacts in the store. */
static void job_hubc_import(result *r, void *arg) {
  const hubc_journal_options *jo = arg;
  hubc_journal *j = NULL;
  char jpath[320];
  if (jo) {
    path_in_dir(jpath, sizeof jpath, "import-journal");
    remove_files(jpath);
    hubc_check(hubc_journal_open(&j, jpath, jo), "journal open");
  }
  hubc_store *s = store_open(j ? hubc_journal_persist(j) : NULL, NULL, NULL);
  hubc_check(hubc_property_define(s, 1, "notes", "Notes", HUBC_PROP_STRING, NULL, 0), "define notes");
  long rss0 = rss_bytes();
  hubc_import_options o;
  hubc_check(hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION), "import options");
  const char *files[] = {g_import_path};
  o.files = files;
  o.n_files = 1;
  o.set_marketing = 1;
  double t0 = now_s(), c0 = cpu_s();
  hubc_import *imp = NULL;
  hubc_check(hubc_import_plan(&imp, s, 1, &o), "import plan");
  double t1 = now_s(), c1 = cpu_s();
  hubc_import_summary sum = {.version = HUBC_IMPORT_SUMMARY_VERSION};
  hubc_check(hubc_import_summary_get(imp, &sum), "import summary");
  hubc_check(hubc_import_commit(NULL, imp, sum.to_set_marketing), "import commit");
  double t2 = now_s(), c2 = cpu_s();
  r->v[4] = c1 - c0;
  r->v[5] = c2 - c1;
  hubc_import_free(imp);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long after = rss_bytes(); /* the store's own growth stays */
  r->secs = t2 - t0;
  r->v[0] = t1 - t0;
  r->v[1] = t2 - t1;
  r->v[2] = (double)ru.ru_maxrss * 1024.0 - (double)after;
  r->v[3] = (double)store_count(s);
  (void)rss0;
  if (sum.skipped || sum.merged != g_d->n / 50 || sum.to_create != r->v[3])
    die("import: skipped %llu, merged %llu, created %llu of %.0f", (unsigned long long)sum.skipped,
        (unsigned long long)sum.merged, (unsigned long long)sum.to_create, r->v[3]);
  hubc_store_close(s);
  if (j) {
    hubc_journal_close(j);
    remove_files(jpath);
  }
}

static void *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("open %s: %s", path, strerror(errno));
  char *buf = big_alloc(g_import_bytes + 1);
  *len = fread(buf, 1, g_import_bytes, f);
  fclose(f);
  if (*len != g_import_bytes) die("short read of %s", path);
  return buf;
}

/* What a careful SQLite host writes: parse, normalize and check emails,
 * upsert (repeated emails merge, blanks never erase) in one transaction. */
static void job_sql_import(result *r, void *arg) {
  (void)arg;
  sqlite3 *db = sql_open(":memory:");
  sql_exec(db, "CREATE TABLE contacts(id INTEGER PRIMARY KEY, email TEXT UNIQUE, firstname TEXT, lastname TEXT, "
               "phone TEXT, company TEXT, city TEXT, country TEXT, jobtitle TEXT, lifecyclestage TEXT CHECK "
               "(lifecyclestage IN ('subscriber','lead','marketingqualifiedlead','salesqualifiedlead','opportunity',"
               "'customer','evangelist','other')), notes TEXT, status INTEGER NOT NULL DEFAULT 0)");
  sqlite3_stmt *up = sql_prepare(
      db, "INSERT INTO contacts(email, firstname, lastname, phone, company, city, country, jobtitle, "
          "lifecyclestage, notes, status) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,1) ON CONFLICT(email) DO UPDATE SET "
          "firstname=coalesce(nullif(excluded.firstname,''),firstname), "
          "lastname=coalesce(nullif(excluded.lastname,''),lastname), phone=coalesce(nullif(excluded.phone,''),phone), "
          "company=coalesce(nullif(excluded.company,''),company), city=coalesce(nullif(excluded.city,''),city), "
          "country=coalesce(nullif(excluded.country,''),country), "
          "jobtitle=coalesce(nullif(excluded.jobtitle,''),jobtitle), "
          "lifecyclestage=coalesce(nullif(excluded.lifecyclestage,''),lifecyclestage), "
          "notes=coalesce(nullif(excluded.notes,''),notes), status=1");
  double t0 = now_s(), c0 = cpu_s();
  size_t len;
  char *buf = read_whole(g_import_path, &len);
  hubc__csv c;
  hubc__csv_init(&c, buf, len, ',');
  char *field[IMPORT_COLS + 1];
  uint32_t flen[IMPORT_COLS + 1];
  hubc__csv_row row = {.field = field, .len = flen, .cap = IMPORT_COLS + 1};
  if (hubc__csv_next(&c, &row) != 1) die("sqlite import: no header");
  sql_exec(db, "BEGIN");
  char email[256];
  size_t rows = 0;
  while (hubc__csv_next(&c, &row) == 1) {
    if (row.defect || row.n != IMPORT_COLS) die("sqlite import: bad row at line %llu", (unsigned long long)row.line);
    size_t elen = normalize_email(email, sizeof email, field[0]);
    if (!email_valid(email, elen)) die("sqlite import: invalid email %s", field[0]);
    sqlite3_bind_text(up, 1, email, (int)elen, SQLITE_STATIC);
    for (int k = 1; k < IMPORT_COLS; k++) sqlite3_bind_text(up, k + 1, field[k], (int)flen[k], SQLITE_STATIC);
    if (sqlite3_step(up) != SQLITE_DONE) die("sqlite upsert: %s", sqlite3_errmsg(db));
    sqlite3_reset(up);
    rows++;
  }
  sql_exec(db, "COMMIT");
  r->secs = now_s() - t0;
  r->v[0] = (double)rows;
  r->v[1] = cpu_s() - c0;
  sqlite3_finalize(up);
  sqlite3_close(db);
}

/* The floor: one memchr pass counting lines over the file in memory. */
static void job_memchr(result *r, void *arg) {
  (void)arg;
  size_t len;
  char *buf = read_whole(g_import_path, &len);
  double t0 = now_s();
  size_t lines = 0;
  for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) lines++;
  r->secs = now_s() - t0;
  r->v[0] = (double)lines;
}

static void phase_import(void) {
  path_in_dir(g_import_path, sizeof g_import_path, "import.csv");
  g_import_bytes = import_file_make(g_import_path);
  double mb = (double)g_import_bytes / 1e6;
  printf("[import] %zu rows x %d columns, %.1f MB (1 row in 17 with a quoted multi-line note, 2%% repeated "
         "emails), plan + commit with \"set all as marketing\"\n",
         g_d->n, IMPORT_COLS, mb);
  hubc_journal_options jo;
  hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
  jo.fsync_policy = HUBC_FSYNC_EVERY_COMMIT;
  double h[64], plan[64], commit[64], extra[64], jr[64], q[64], floor_t[64], cplan[64], ccommit[64], ch[64], cq[64];
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_import, NULL);
    h[i] = a.secs;
    plan[i] = a.v[0];
    commit[i] = a.v[1];
    extra[i] = a.v[2];
    cplan[i] = a.v[4];
    ccommit[i] = a.v[5];
    ch[i] = a.v[4] + a.v[5];
    jr[i] = run_child(job_hubc_import, &jo).secs;
    result sq = run_child(job_sql_import, NULL);
    q[i] = sq.secs;
    cq[i] = sq.v[1];
    floor_t[i] = run_child(job_memchr, NULL).secs;
  }
  print_runs("hubcontacts plan+commit", h, g_runs);
  print_runs("  of which plan", plan, g_runs);
  print_runs("  of which commit", commit, g_runs);
  print_runs("  plan, CPU time", cplan, g_runs);
  print_runs("  commit, CPU time", ccommit, g_runs);
  print_runs("hubcontacts, journal fsync", jr, g_runs);
  print_runs("SQLite upserts", q, g_runs);
  print_runs("SQLite upserts, CPU time", cq, g_runs);
  print_runs("memchr floor", floor_t, g_runs);
  double hm = median(h, g_runs), pm = median(plan, g_runs), cm = median(commit, g_runs);
  double qm = median(q, g_runs);
  printf("    hubcontacts %.0f rows/s, %.0f MB/s (plan %.0f rows/s, %.0f MB/s; commit %.0f rows/s); SQLite %.0f rows/s, "
         "%.0f MB/s; memchr %.0f MB/s (hubcontacts takes %.1fx its time); peak memory beyond the store's growth "
         "%.1f MB (file %.1f MB, %.3fx)\n",
         (double)g_d->n / hm, mb / hm, (double)g_d->n / pm, mb / pm, (double)g_d->n / cm, (double)g_d->n / qm,
         mb / qm, mb / median(floor_t, g_runs), hm / median(floor_t, g_runs), median(extra, g_runs) / 1e6, mb,
         median(extra, g_runs) / (double)g_import_bytes);
  int fast = hm < 0.5;
  if (!fast) g_fail++;
  printf("  => %-14s hubcontacts %8.3f s   target < 0.5 s   %s\n", "import time", hm, fast ? "PASS" : "FAIL");
  print_ratio("import", hm, median(q, g_runs), 5, g_d->n);
  print_ratio("import jrnl", median(jr, g_runs), median(q, g_runs), 0, g_d->n);
  /* CPU time: what the ratio is on a machine whose other users take the cores */
  print_ratio("import CPU", median(ch, g_runs), median(cq, g_runs), 0, g_d->n);
  remove_files(g_import_path);
}

/* ---- phase: forms -------------------------------------------------------------- */

/* Submission i: contact i/2, so odd submissions come from a contact that
 * submitted before. */
static const char *const *submission_values(size_t i, const char **v3) {
  const char **v = g_d->vals + (i / 2) * NPROPS;
  v3[0] = v[P_EMAIL];
  v3[1] = v[P_FIRST];
  v3[2] = v[P_CITY];
  return v3;
}

/* arg: NULL in memory, else journal options. v[0]: RSS bytes per submission. */
static void job_hubc_forms(result *r, void *arg) {
  const hubc_journal_options *jo = arg;
  hubc_journal *j = NULL;
  char jpath[320];
  if (jo) {
    path_in_dir(jpath, sizeof jpath, "forms-journal");
    remove_files(jpath);
    hubc_check(hubc_journal_open(&j, jpath, jo), "journal open");
  }
  hubc_store *s = store_open(j ? hubc_journal_persist(j) : NULL, NULL, NULL);
  const char *fields[] = {"firstname", "city"};
  hubc_id form;
  hubc_check(hubc_form_create(&form, s, 1, "Newsletter", fields, NULL, NULL, 2), "form create");
  const char *names[] = {"email", "firstname", "city"}, *v3[3];
  long rss0 = rss_bytes();
  double t0 = now_s();
  for (size_t i = 0; i < g_d->n; i++) {
    int rc = hubc_form_submit(NULL, NULL, s, form, names, submission_values(i, v3), 3);
    if (rc) die("submit %zu: %s", i, hubc_error_last());
  }
  r->secs = now_s() - t0;
  r->v[0] = (double)(rss_bytes() - rss0) / (double)g_d->n;
  if (store_count(s) != (g_d->n + 1) / 2) die("forms: %llu contacts", (unsigned long long)store_count(s));
  hubc_store_close(s);
  if (j) {
    hubc_journal_close(j);
    remove_files(jpath);
  }
}

/* arg: NULL :memory:, else a WAL file. */
static void job_sql_forms(result *r, void *arg) {
  char path[320];
  if (arg) {
    path_in_dir(path, sizeof path, "forms.db");
    remove_files(path);
  }
  sqlite3 *db = sql_open(arg ? path : ":memory:");
  if (arg) sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  sql_exec(db, "CREATE TABLE contacts(id INTEGER PRIMARY KEY, email TEXT UNIQUE, firstname TEXT, city TEXT, "
               "status INTEGER NOT NULL DEFAULT 0, source INTEGER, source_id INTEGER);"
               "CREATE TABLE submissions(id INTEGER PRIMARY KEY, form INTEGER, contact INTEGER, time INTEGER, "
               "vals TEXT)");
  sqlite3_stmt *up = sql_prepare(
      db, "INSERT INTO contacts(email, firstname, city, status, source, source_id) VALUES(?1, ?2, ?3, 1, 3, 1) "
          "ON CONFLICT(email) DO UPDATE SET firstname=coalesce(nullif(excluded.firstname,''),firstname), "
          "city=coalesce(nullif(excluded.city,''),city), status=1 RETURNING id");
  sqlite3_stmt *sub = sql_prepare(db, "INSERT INTO submissions(form, contact, time, vals) VALUES(1, ?1, ?2, ?3)");
  sqlite3_stmt *begin = sql_prepare(db, "BEGIN"), *commit = sql_prepare(db, "COMMIT");
  const char *v3[3];
  char email[256], vals[512];
  double t0 = now_s();
  for (size_t i = 0; i < g_d->n; i++) {
    submission_values(i, v3);
    size_t elen = normalize_email(email, sizeof email, v3[0]);
    if (!email_valid(email, elen)) die("invalid email %s", v3[0]);
    sqlite3_step(begin);
    sqlite3_reset(begin);
    sqlite3_bind_text(up, 1, email, (int)elen, SQLITE_STATIC);
    sqlite3_bind_text(up, 2, v3[1], -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 3, v3[2], -1, SQLITE_STATIC);
    if (sqlite3_step(up) != SQLITE_ROW) die("sqlite upsert: %s", sqlite3_errmsg(db));
    sqlite3_int64 id = sqlite3_column_int64(up, 0);
    sqlite3_reset(up);
    int n = snprintf(vals, sizeof vals, "email=%s\nfirstname=%s\ncity=%s", email, v3[1], v3[2]);
    sqlite3_bind_int64(sub, 1, id);
    sqlite3_bind_int64(sub, 2, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(sub, 3, vals, n, SQLITE_STATIC);
    if (sqlite3_step(sub) != SQLITE_DONE) die("sqlite submission: %s", sqlite3_errmsg(db));
    sqlite3_reset(sub);
    if (sqlite3_step(commit) != SQLITE_DONE) die("sqlite commit: %s", sqlite3_errmsg(db));
    sqlite3_reset(commit);
  }
  r->secs = now_s() - t0;
  sqlite3_finalize(up);
  sqlite3_finalize(sub);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  if (arg) remove_files(path);
}

static void phase_forms(void) {
  printf("[forms] %zu submissions, one call each (half by new contacts, half by returning ones), each recorded\n",
         g_d->n);
  hubc_journal_options jo;
  hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
  jo.fsync_policy = HUBC_FSYNC_INTERVAL;
  double h[64], q[64], hj[64], qj[64], bytes[64];
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_forms, NULL);
    h[i] = a.secs;
    bytes[i] = a.v[0];
    q[i] = run_child(job_sql_forms, NULL).secs;
    hj[i] = run_child(job_hubc_forms, &jo).secs;
    qj[i] = run_child(job_sql_forms, (void *)1).secs;
  }
  print_runs("hubcontacts, memory", h, g_runs);
  print_runs("SQLite :memory:, txn each", q, g_runs);
  print_runs("hubcontacts, journal INTERVAL", hj, g_runs);
  print_runs("SQLite WAL file, txn each", qj, g_runs);
  double hm = median(h, g_runs);
  printf("    hubcontacts %.0f submissions/s in memory; RSS %.0f B per submission (the contact's share included)\n",
         (double)g_d->n / hm, median(bytes, g_runs));
  print_ratio("forms", hm, median(q, g_runs), 5, g_d->n);
  print_ratio("forms journal", median(hj, g_runs), median(qj, g_runs), 3, g_d->n);
}

/* ---- phase: workflows ----------------------------------------------------------- */

static hubc_time g_wf_now;
static hubc_time wf_clock(void *payload) {
  (void)payload;
  return g_wf_now;
}

/* N contacts enrolled at activation (enroll_existing) in "set marketing,
 * delay 60 s, set jobtitle"; the first tick runs 2N due actions (status
 * and delay), the second 2N (property and finish). v[0] activation s;
 * v[1] allocator bytes per pending enrollment; v[2] first tick s; v[3]
 * empty tick ns with N pending; v[4] second tick s; v[5] empty tick ns
 * with nothing queued. */
static void job_hubc_workflows(result *r, void *arg) {
  (void)arg;
  counting_alloc ca = {0, 0};
  hubc_store_options o;
  hubc_check(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), "options");
  o.admin_email = "admin@example.com";
  o.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL;
  o.clock = wf_clock;
  o.alloc = counting_alloc_fn;
  o.alloc_payload = &ca;
  g_wf_now = 1700000000;
  hubc_store *s = NULL;
  hubc_check(hubc_store_open(&s, &o), "open store");
  store_create_all(s, g_d);
  double t0 = now_s();
  for (int i = 0; i < 1000; i++) hubc_check(hubc_store_tick(s), "empty tick");
  r->v[5] = (now_s() - t0) * 1e9 / 1000;
  hubc_wf_action a[3];
  const hubc_wf_action *p[3] = {&a[0], &a[1], &a[2]};
  for (int i = 0; i < 3; i++) hubc_check(hubc_wf_action_init(&a[i], HUBC_WF_ACTION_VERSION), "action");
  a[0].type = HUBC_WF_SET_STATUS, a[0].marketing = 1;
  a[1].type = HUBC_WF_DELAY, a[1].seconds = 60;
  a[2].type = HUBC_WF_SET_PROPERTY, a[2].property = "jobtitle", a[2].value = "nurtured";
  hubc_workflow_def d;
  hubc_check(hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION), "def");
  d.name = "Bench";
  d.trigger_filter = "email IS KNOWN";
  d.enroll_existing = 1;
  d.actions = p;
  d.n_actions = 3;
  hubc_id wf;
  hubc_check(hubc_workflow_create(&wf, s, 1, &d), "workflow create");
  size_t live0 = ca.live;
  t0 = now_s();
  hubc_check(hubc_workflow_activate(s, 1, wf), "activate");
  r->v[0] = now_s() - t0;
  r->v[1] = (double)(ca.live - live0) / (double)g_d->n;
  t0 = now_s();
  hubc_check(hubc_store_tick(s), "tick");
  r->v[2] = now_s() - t0;
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  hubc_check(hubc_billing_get(&bi, s), "billing");
  if (bi.marketing != g_d->n) die("workflows: %llu marketing after the first tick", (unsigned long long)bi.marketing);
  t0 = now_s();
  for (int i = 0; i < 1000; i++) hubc_check(hubc_store_tick(s), "empty tick");
  r->v[3] = (now_s() - t0) * 1e9 / 1000;
  g_wf_now += 60;
  t0 = now_s();
  hubc_check(hubc_store_tick(s), "tick");
  r->v[4] = now_s() - t0;
  hubc_enrollment e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_ENROLLMENT_VERSION;
  hubc_check(hubc_enrollment_get(&e, s, (hubc_id)g_d->n), "enrollment");
  if (e.state != HUBC_ENROLLMENT_FINISHED) die("workflows: the last enrollment did not finish");
  hubc_store_close(s);
}

static void phase_workflows(void) {
  printf("[workflows] %zu contacts enrolled at activation in \"set marketing, delay 60 s, set property\"; "
         "ticks vs %zu direct hubc_contact_set_marketing calls\n", g_d->n, g_d->n);
  double act[64], mem[64], t1[64], t2[64], idle[64], idle0[64], direct[64];
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_workflows, NULL);
    act[i] = a.v[0], mem[i] = a.v[1], t1[i] = a.v[2], idle[i] = a.v[3], t2[i] = a.v[4], idle0[i] = a.v[5];
    direct[i] = run_child(job_hubc_set_marketing, NULL).secs;
  }
  print_runs("activation (enrolls N)", act, g_runs);
  print_runs("tick 1: N status + N delay actions", t1, g_runs);
  print_runs("tick 2: N property actions + finish", t2, g_runs);
  print_runs("N direct set_marketing calls", direct, g_runs);
  double n = (double)g_d->n, per_action = median(t1, g_runs) / (2 * n), per_call = median(direct, g_runs) / n;
  printf("    %.0f enrollments/s at activation; %.0f B per pending enrollment (allocator, the activation's "
         "transaction log included)\n", n / median(act, g_runs), median(mem, g_runs));
  printf("    empty tick: %.0f ns with %zu enrollments waiting, %.0f ns with none queued\n", median(idle, g_runs),
         g_d->n, median(idle0, g_runs));
  double ratio = per_action / per_call;
  int pass = ratio <= 2.0;
  if (!pass) g_fail++;
  printf("  => %-14s per due action %.0f ns, per direct call %.0f ns: %.2fx   target <= 2x   %s\n\n", "workflows",
         per_action * 1e9, per_call * 1e9, ratio, pass ? "PASS" : "FAIL");
}

/* ---- phases: count, bulk, bulk_memory (issue 11) ----------------------------- */

#define COUNT_FILTER "lifecyclestage = 'subscriber' AND city = 'Roma'"
#define BULK_FILTER "city = 'Roma'"
#define BULK_ALL_FILTER "hs_marketable_status = FALSE" /* every contact: all are created non-marketing */
enum { QUERY_REPS = 5 }; /* timed repetitions of a query inside one child; its median is the run's time */

/* The SQLite table of the query phases: SQL_SCHEMA with city and
 * lifecyclestage declared COLLATE NOCASE (SQLite's ASCII case folding, the
 * same as the filter language's case-insensitive string equality), so a
 * plain `=` compares as S1 does and an index on the columns serves it. */
#define SQL_SCHEMA_NOCASE                                                                                     \
  "CREATE TABLE contacts(id INTEGER PRIMARY KEY, email TEXT UNIQUE, firstname TEXT, lastname TEXT, "        \
  "phone TEXT, company TEXT, city TEXT COLLATE NOCASE, country TEXT, jobtitle TEXT, website TEXT, "          \
  "lifecyclestage TEXT COLLATE NOCASE CHECK (lifecyclestage IN ('subscriber','lead','marketingqualifiedlead'," \
  "'salesqualifiedlead','opportunity','customer','evangelist','other')), status INTEGER NOT NULL DEFAULT 0)"

/* A store of the data set, created 1,000 contacts per call (setup, untimed). */
static hubc_store *store_filled(const hubc_persist *persist, hubc_alloc_fn alloc, void *alloc_payload) {
  hubc_store *s = store_open(persist, alloc, alloc_payload);
  store_create_batched(s, g_d, 1000);
  return s;
}

static hubc_filter *filter_of(hubc_store *s, const char *text) {
  hubc_filter *f = NULL;
  hubc_check(hubc_filter_compile(&f, s, text), text);
  return f;
}

/* v[0]: the count. */
static void job_hubc_count(result *r, void *arg) {
  (void)arg;
  hubc_store *s = store_filled(NULL, NULL, NULL);
  hubc_filter *f = filter_of(s, COUNT_FILTER);
  double t[QUERY_REPS];
  uint64_t n = 0;
  for (int i = 0; i < QUERY_REPS; i++) {
    double t0 = now_s();
    hubc_check(hubc_filter_count(&n, s, f), "count");
    t[i] = now_s() - t0;
  }
  r->secs = median(t, QUERY_REPS);
  r->v[0] = (double)n;
  r->v[1] = t[0]; /* the first count builds the filter's columns */
  hubc_filter_free(f);
  hubc_store_close(s);
}

/* How the SQLite side of a query phase is indexed. */
typedef struct sql_variant {
  const char *label, *short_label;
  const char *index_sql; /* NULL: no index but the email's */
  int show_plan;         /* print EXPLAIN QUERY PLAN (first run only) */
} sql_variant;

static void sql_show_plan(sqlite3 *db, const char *label, const char *sql) {
  char eqp[512];
  snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *st = sql_prepare(db, eqp);
  sqlite3_bind_text(st, 1, "subscriber", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, "Roma", -1, SQLITE_STATIC);
  printf("    SQLite plan, %s:", label);
  while (sqlite3_step(st) == SQLITE_ROW) printf(" %s;", (const char *)sqlite3_column_text(st, 3));
  printf("\n");
  sqlite3_finalize(st);
}

static sqlite3 *sql_build_query(const sql_variant *var) {
  sqlite3 *db = sql_open(":memory:");
  sql_exec(db, SQL_SCHEMA_NOCASE);
  sql_insert_all(db, g_d);
  if (var->index_sql) sql_exec(db, var->index_sql);
  return db;
}

#define SQL_COUNT "SELECT count(*) FROM contacts WHERE lifecyclestage = ?1 AND city = ?2"

/* arg: a sql_variant. v[0]: the count. */
static void job_sql_count(result *r, void *arg) {
  sql_variant *var = arg;
  sqlite3 *db = sql_build_query(var);
  if (var->show_plan) sql_show_plan(db, var->label, SQL_COUNT);
  sqlite3_stmt *st = sql_prepare(db, SQL_COUNT);
  sqlite3_bind_text(st, 1, "subscriber", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, "Roma", -1, SQLITE_STATIC);
  double t[QUERY_REPS];
  sqlite3_int64 n = 0;
  for (int i = 0; i < QUERY_REPS; i++) {
    double t0 = now_s();
    if (sqlite3_step(st) != SQLITE_ROW) die("sqlite count: %s", sqlite3_errmsg(db));
    n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    t[i] = now_s() - t0;
  }
  r->secs = median(t, QUERY_REPS);
  r->v[0] = (double)n;
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static sql_variant g_sql_plain = {"no index on the columns (the default)", "count/no index", NULL, 0};
static sql_variant g_sql_pair = {"index on (lifecyclestage, city)", "count/index",
                                 "CREATE INDEX contacts_stage_city ON contacts(lifecyclestage, city)", 0};
static sql_variant g_sql_each = {"one index on each column", "count/2 indexes",
                                 "CREATE INDEX contacts_stage ON contacts(lifecyclestage);"
                                 "CREATE INDEX contacts_city ON contacts(city)",
                                 0};

static void check_same(const char *what, double a, double b) {
  if (a != b) die("%s: hubcontacts says %.0f, SQLite %.0f", what, a, b);
}

static void phase_count(void) {
  printf("[count] %s over %zu contacts (hubc_filter_count vs a prepared SELECT count(*); median of %d per run)\n",
         COUNT_FILTER, g_d->n, QUERY_REPS);
  sql_variant *vars[] = {&g_sql_plain, &g_sql_pair, &g_sql_each};
  double h[64], cold[64], q[COUNT(vars)][64], n = 0;
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_count, NULL);
    h[i] = a.secs;
    cold[i] = a.v[1];
    n = a.v[0];
    for (size_t v = 0; v < COUNT(vars); v++) {
      vars[v]->show_plan = i == 0 && vars[v]->index_sql;
      result b = run_child(job_sql_count, vars[v]);
      check_same("count", a.v[0], b.v[0]);
      q[v][i] = b.secs;
    }
  }
  printf("    %.0f contacts match (%.1f %%)\n", n, 100.0 * n / (double)g_d->n);
  print_runs("hubcontacts", h, g_runs);
  print_runs("hubcontacts, first count", cold, g_runs);
  for (size_t v = 0; v < COUNT(vars); v++) print_runs(vars[v]->label, q[v], g_runs);
  double hm = median(h, g_runs);
  printf("    in ms: hubcontacts %.2f (first count %.1f); SQLite %.2f no index, %.2f indexed, %.2f two indexes\n",
         hm * 1e3, median(cold, g_runs) * 1e3, median(q[0], g_runs) * 1e3, median(q[1], g_runs) * 1e3,
         median(q[2], g_runs) * 1e3);
  print_ratio(g_sql_plain.short_label, hm, median(q[0], g_runs), 10, g_d->n);
  print_ratio(g_sql_pair.short_label, hm, median(q[1], g_runs), 1, g_d->n);
  print_ratio(g_sql_each.short_label, hm, median(q[2], g_runs), 0, g_d->n);
}

/* The bulk phase's journal: the data set written once (fsync NEVER), then
 * reopened by each run with fsync EVERY_COMMIT. */
static const char *const BULK_JOURNAL = "bulk-journal";

static void bulk_journal_make(void) {
  char path[320];
  path_in_dir(path, sizeof path, BULK_JOURNAL);
  remove_files(path);
  hubc_journal_options jo;
  hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
  jo.fsync_policy = HUBC_FSYNC_NEVER;
  hubc_journal *j = NULL;
  hubc_check(hubc_journal_open(&j, path, &jo), "journal open");
  hubc_store *s = store_filled(hubc_journal_persist(j), NULL, NULL);
  hubc_store_close(s);
  hubc_journal_close(j);
}

/* Plan + commit of bulk set marketing on `text`, after the count the
 * contacts table showed for the filter (the first use of the filter's
 * properties, which builds their columns: v[4]). v[0] plan s, v[1] commit
 * s, v[2] selected, v[3] changed. */
static void bulk_timed(result *r, hubc_store *s, const char *text) {
  hubc_filter *f = filter_of(s, text);
  uint64_t shown = 0;
  double tc = now_s();
  hubc_check(hubc_filter_count(&shown, s, f), "count");
  r->v[4] = now_s() - tc;
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = f;
  hubc_bulk_summary plan, done;
  memset(&plan, 0, sizeof plan);
  plan.version = done.version = HUBC_BULK_SUMMARY_VERSION;
  double t0 = now_s();
  hubc_check(hubc_bulk_plan(&plan, s, 1, HUBC_BULK_SET_MARKETING, &sel), "bulk plan");
  double t1 = now_s();
  hubc_check(hubc_bulk_commit(&done, s, 1, HUBC_BULK_SET_MARKETING, &sel, plan.selected), "bulk commit");
  double t2 = now_s();
  r->secs = t2 - t0;
  r->v[0] = t1 - t0;
  r->v[1] = t2 - t1;
  r->v[2] = (double)done.selected;
  r->v[3] = (double)done.will_change;
  hubc_filter_free(f);
}

/* arg NULL: in memory; else through the bulk journal, fsync every commit. */
static void job_hubc_bulk(result *r, void *arg) {
  hubc_journal *j = NULL;
  hubc_store *s;
  if (arg) {
    char path[320];
    path_in_dir(path, sizeof path, BULK_JOURNAL);
    hubc_journal_options jo;
    hubc_check(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION), "journal options");
    jo.fsync_policy = HUBC_FSYNC_EVERY_COMMIT;
    hubc_check(hubc_journal_open(&j, path, &jo), "journal open");
    s = store_open(hubc_journal_persist(j), NULL, NULL);
  } else {
    s = store_filled(NULL, NULL, NULL);
  }
  bulk_timed(r, s, BULK_FILTER);
  hubc_store_close(s);
  if (j) hubc_journal_close(j);
}

#define SQL_BULK_COUNT "SELECT count(*), coalesce(sum(status <> 1), 0) FROM contacts WHERE city = ?1"
#define SQL_BULK_UPDATE "UPDATE contacts SET status = 1 WHERE city = ?1 AND status <> 1"

/* What a careful host does for the dialog: count the selection (plan),
 * then in one transaction count again, check the typed number, UPDATE …
 * WHERE. arg NULL: :memory:; else a WAL file with synchronous=FULL. */
static void job_sql_bulk(result *r, void *arg) {
  sqlite3 *db;
  char path[320];
  if (arg) {
    path_in_dir(path, sizeof path, "bulk.db");
    remove_files(path);
    db = sql_open(path);
    sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    sql_exec(db, SQL_SCHEMA_NOCASE);
    sql_insert_all(db, g_d);
  } else {
    db = sql_build_query(&g_sql_plain);
  }
  sqlite3_stmt *cnt = sql_prepare(db, SQL_BULK_COUNT), *up = sql_prepare(db, SQL_BULK_UPDATE);
  sqlite3_bind_text(cnt, 1, "Roma", -1, SQLITE_STATIC);
  sqlite3_bind_text(up, 1, "Roma", -1, SQLITE_STATIC);
  double t0 = now_s();
  if (sqlite3_step(cnt) != SQLITE_ROW) die("sqlite bulk count: %s", sqlite3_errmsg(db));
  sqlite3_int64 selected = sqlite3_column_int64(cnt, 0);
  sqlite3_reset(cnt);
  double t1 = now_s();
  sql_exec(db, "BEGIN IMMEDIATE");
  if (sqlite3_step(cnt) != SQLITE_ROW || sqlite3_column_int64(cnt, 0) != selected) die("sqlite bulk: recount");
  sqlite3_reset(cnt);
  if (sqlite3_step(up) != SQLITE_DONE) die("sqlite bulk update: %s", sqlite3_errmsg(db));
  r->v[3] = (double)sqlite3_changes(db);
  sql_exec(db, "COMMIT");
  double t2 = now_s();
  r->secs = t2 - t0;
  r->v[0] = t1 - t0;
  r->v[1] = t2 - t1;
  r->v[2] = (double)selected;
  sqlite3_finalize(cnt);
  sqlite3_finalize(up);
  sqlite3_close(db);
  if (arg) remove_files(path);
}

static void phase_bulk(void) {
  printf("[bulk] bulk set marketing on %s over %zu contacts: plan + commit (confirm = selected), after the "
         "table's count\n", BULK_FILTER, g_d->n);
  bulk_journal_make();
  double h[64], hp[64], hc[64], hs[64], q[64], qp[64], qc[64], hj[64], qj[64], sel = 0, changed = 0;
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_bulk, NULL);
    result b = run_child(job_sql_bulk, NULL);
    check_same("bulk selected", a.v[2], b.v[2]);
    check_same("bulk changed", a.v[3], b.v[3]);
    h[i] = a.secs, hp[i] = a.v[0], hc[i] = a.v[1], hs[i] = a.v[4], q[i] = b.secs, qp[i] = b.v[0], qc[i] = b.v[1];
    sel = a.v[2], changed = a.v[3];
    hj[i] = run_child(job_hubc_bulk, (void *)1).secs;
    qj[i] = run_child(job_sql_bulk, (void *)1).secs;
    if (i + 1 < g_runs) bulk_journal_make(); /* the next run starts non-marketing again */
  }
  printf("    %.0f contacts selected, %.0f changed\n", sel, changed);
  print_runs("hubcontacts first count", hs, g_runs);
  print_runs("hubcontacts plan + commit", h, g_runs);
  print_runs("  of which plan", hp, g_runs);
  print_runs("  of which commit", hc, g_runs);
  print_runs("SQLite count + UPDATE", q, g_runs);
  print_runs("  of which count", qp, g_runs);
  print_runs("  of which count + UPDATE txn", qc, g_runs);
  print_runs("hubcontacts, journal fsync", hj, g_runs);
  print_runs("SQLite WAL, synchronous=FULL", qj, g_runs);
  double hm = median(h, g_runs);
  printf("    in ms: first count %.1f, plan %.1f, commit %.1f, plan + commit %.1f; SQLite %.1f\n",
         median(hs, g_runs) * 1e3, median(hp, g_runs) * 1e3, median(hc, g_runs) * 1e3, hm * 1e3,
         median(q, g_runs) * 1e3);
  int pass = hm <= 0.050;
  if (!pass) g_fail++;
  printf("  => %-14s hubcontacts %8.3f s   target <= 0.050 s   %s\n", "bulk memory", hm, pass ? "PASS" : "FAIL");
  print_ratio("bulk", hm, median(q, g_runs), 10, (size_t)sel);
  print_ratio("bulk journal", median(hj, g_runs), median(qj, g_runs), 0, (size_t)sel);
  char path[320];
  path_in_dir(path, sizeof path, BULK_JOURNAL);
  remove_files(path);
}

/* ---- phase: lists ---------------------------------------------------------- */

enum { LIST_UPDATES = 100000, ACTIVE_LISTS = 50 };

/* Fifty active lists an Italian account might keep: by city, by stage, by
 * job title, by marketing status and mixes of them. Every one reads city or
 * jobtitle, the two properties the timed updates change: the worst case,
 * where each update re-evaluates all fifty filters. */
static void lists_define(hubc_store *s) {
  char name[32], text[160];
  for (size_t i = 0; i < ACTIVE_LISTS; i++) {
    const char *city = CITY[i % COUNT(CITY)][0], *stage = STAGES[i % COUNT(STAGES)], *job = JOB[i % COUNT(JOB)];
    switch (i % 5) {
    case 0: snprintf(text, sizeof text, "city = '%s'", city); break;
    case 1: snprintf(text, sizeof text, "lifecyclestage = '%s' AND city = '%s'", stage, city); break;
    case 2: snprintf(text, sizeof text, "jobtitle CONTAINS '%.6s'", job); break;
    case 3: snprintf(text, sizeof text, "hs_marketable_status = TRUE OR city STARTS WITH '%.2s'", city); break;
    default: snprintf(text, sizeof text, "NOT (country = 'Italia') AND jobtitle IS KNOWN"); break;
    }
    snprintf(name, sizeof name, "list %zu", i);
    hubc_check(hubc_list_create(NULL, s, 1, name, text), text);
  }
}

/* arg: NULL no lists, else fifty active lists. The timed part: 100,000
 * updates, one call each, of a random contact's city and job title.
 * v[0]: members of all lists after (a check that the lists followed). */
static void job_hubc_list_updates(result *r, void *arg) {
  hubc_store *s = store_filled(NULL, NULL, NULL);
  if (arg) lists_define(s);
  static const char *const names[] = {"city", "jobtitle"};
  uint64_t seed = 42;
  double t0 = now_s();
  for (size_t i = 0; i < LIST_UPDATES; i++) {
    uint64_t x = splitmix64(&seed);
    const char *values[] = {CITY[(x >> 32) % COUNT(CITY)][0], JOB[(x >> 16) % COUNT(JOB)]};
    hubc_check(hubc_contact_update(s, 1, (hubc_id)(x % g_d->n) + 1, names, values, 2), "update");
  }
  r->secs = now_s() - t0;
  uint64_t members = 0;
  for (hubc_id l = 1; arg && l <= ACTIVE_LISTS; l++) {
    uint64_t n;
    hubc_check(hubc_list_count(&n, s, l), "list count");
    members += n;
  }
  r->v[0] = (double)members;
  hubc_store_close(s);
}

static void phase_lists(void) {
  printf("[lists] %d contact updates (city and job title, one call each), without lists and with %d active lists\n",
         LIST_UPDATES, ACTIVE_LISTS);
  double h0[64], h50[64], members = 0;
  for (int i = 0; i < g_runs; i++) {
    h0[i] = run_child(job_hubc_list_updates, NULL).secs;
    result a = run_child(job_hubc_list_updates, (void *)1);
    h50[i] = a.secs;
    members = a.v[0];
  }
  print_runs("without lists", h0, g_runs);
  print_runs("with 50 active lists", h50, g_runs);
  double m0 = median(h0, g_runs), m50 = median(h50, g_runs), ratio = m50 / m0;
  printf("    per update: %.0f ns without, %.0f ns with; %.0f list members after\n", m0 / LIST_UPDATES * 1e9,
         m50 / LIST_UPDATES * 1e9, members);
  int pass = ratio <= 2.0;
  if (!pass) g_fail++;
  printf("  => %-14s with/without %6.2fx   target <= 2x   %s\n", "lists", ratio, pass ? "PASS" : "FAIL");
}

typedef struct event_count {
  uint64_t status, other;
} event_count;

static void count_event(void *payload, const hubc_event *ev) {
  event_count *c = payload;
  if (ev->type == HUBC_EVENT_STATUS) c->status++;
  else c->other++;
}

/* A bulk action on every contact, with an event callback registered.
 * v[0]: allocator peak during plan + commit above the live bytes before;
 * v[1]: live bytes kept after (the history entries); v[2]: status events
 * delivered; v[3]: contacts changed. */
static void job_hubc_bulk_memory(result *r, void *arg) {
  (void)arg;
  counting_alloc ca = {0, 0};
  hubc_store *s = store_filled(NULL, counting_alloc_fn, &ca);
  event_count ec = {0, 0};
  hubc_check(hubc_store_set_event_callback(s, count_event, &ec), "event callback");
  hubc_filter *f = filter_of(s, BULK_ALL_FILTER);
  size_t live0 = ca.live;
  ca.peak = live0;
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = f;
  hubc_bulk_summary plan;
  memset(&plan, 0, sizeof plan);
  plan.version = HUBC_BULK_SUMMARY_VERSION;
  double t0 = now_s();
  hubc_check(hubc_bulk_plan(&plan, s, 1, HUBC_BULK_SET_MARKETING, &sel), "bulk plan");
  hubc_check(hubc_bulk_commit(&plan, s, 1, HUBC_BULK_SET_MARKETING, &sel, plan.selected), "bulk commit");
  r->secs = now_s() - t0;
  r->v[0] = (double)(ca.peak - live0);
  r->v[1] = (double)ca.live - (double)live0;
  r->v[2] = (double)ec.status;
  r->v[3] = (double)plan.will_change;
  hubc_filter_free(f);
  hubc_store_close(s);
}

static void phase_bulk_memory(void) {
  printf("[bulk_memory] bulk set marketing on all %zu contacts (%s), an event callback registered\n", g_d->n,
         BULK_ALL_FILTER);
  double peak[64], kept[64], t[64], events = 0, changed = 0;
  for (int i = 0; i < g_runs; i++) {
    result a = run_child(job_hubc_bulk_memory, NULL);
    peak[i] = a.v[0], kept[i] = a.v[1], t[i] = a.secs;
    events = a.v[2], changed = a.v[3];
  }
  if (events != changed) die("bulk_memory: %.0f status events for %.0f changes", events, changed);
  print_runs("hubcontacts plan + commit", t, g_runs);
  double pm = median(peak, g_runs), km = median(kept, g_runs), n = (double)g_d->n;
  printf("  => %-14s peak %.1f MB above the store (%.1f B/contact), of which %.1f MB kept after the call (the "
         "status history and the transaction's undo arrays, %.1f B/contact); %.0f status events delivered   "
         "(reported)\n\n",
         "bulk memory", pm / 1e6, pm / n, km / 1e6, km / n, events);
}

/* Removes the journal phase's files and directory, also when a run fails. */
static pid_t g_parent;
static void cleanup_dir(void) {
  if (!g_dir[0] || getpid() != g_parent) return;
  static const char *const names[] = {"journal-never", "journal-never-1000", "journal-every-1000", "sqlite.db",
                                      "import.csv",    "import-journal", "forms-journal", "forms.db",
                                      "bulk-journal",  "bulk.db"};
  char p[320];
  for (size_t i = 0; i < COUNT(names); i++) {
    path_in_dir(p, sizeof p, names[i]);
    remove_files(p);
  }
  if (rmdir(g_dir) != 0) fprintf(stderr, "bench: could not remove %s: %s\n", g_dir, strerror(errno));
  g_dir[0] = '\0';
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr,
          "usage: bench [--n N] [--runs R] [--lookups L] [--dir DIR] [--clock wall|cpu]\n"
          "             [--phase create|lookup|memory|set_marketing|journal|import|forms|workflows|count|\n"
          "                      lists|bulk|bulk_memory|all]\n");
  exit(2);
}

static unsigned long long parse_num(const char *s) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end || v == 0) usage();
  return v;
}

static void cpu_model(char *out, size_t cap) {
  snprintf(out, cap, "?");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        snprintf(out, cap, "%s", c + 2);
        out[strcspn(out, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  size_t n = 1000000, lookups = 1000000;
  const char *phase = "all", *dir = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--n") && i + 1 < argc) n = (size_t)parse_num(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) g_runs = (int)parse_num(argv[++i]);
    else if (!strcmp(argv[i], "--lookups") && i + 1 < argc) lookups = (size_t)parse_num(argv[++i]);
    else if (!strcmp(argv[i], "--phase") && i + 1 < argc) phase = argv[++i];
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!strcmp(argv[i], "--clock") && i + 1 < argc && !strcmp(argv[i + 1], "cpu") && ++i)
      g_clock = CLOCK_PROCESS_CPUTIME_ID;
    else if (!strcmp(argv[i], "--clock") && i + 1 < argc && !strcmp(argv[i + 1], "wall") && ++i)
      g_clock = CLOCK_MONOTONIC;
    else usage();
  }
  if (g_runs > 64) g_runs = 64;
  static const char *const phases[] = {"create", "lookup", "memory", "set_marketing", "journal", "import", "forms",
                                       "workflows", "count", "lists", "bulk", "bulk_memory", "all"};
  int known = 0;
  for (size_t i = 0; i < COUNT(phases); i++) known |= !strcmp(phase, phases[i]);
  if (!known) usage();
  int all = !strcmp(phase, "all");

  g_res = shared_alloc(sizeof *g_res);
  static dataset d;
  static queries q;
  double t0 = now_s();
  dataset_make(&d, n);
  g_d = &d;
  if (all || !strcmp(phase, "lookup")) {
    queries_make(&q, &d, lookups);
    g_q = &q;
  }
  double gen_s = now_s() - t0;

  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("hubcontacts %s vs SQLite %s — N = %zu contacts, %d runs per phase (median), %ld CPUs (%s), %s time\n",
         hubc_version_string(), sqlite3_libversion(), n, g_runs, sysconf(_SC_NPROCESSORS_ONLN), cpu,
         g_clock == CLOCK_MONOTONIC ? "wall" : "CPU");
  printf("data: 10 properties per contact, average raw property bytes %.1f per contact (generated in %.2f s)\n",
         (double)d.raw_bytes / (double)n, gen_s);
  printf("sample: %s | %s %s | %s | %s | %s, %s | %s | %s | %s\n\n", d.vals[P_EMAIL], d.vals[P_FIRST],
         d.vals[P_LAST], d.vals[P_PHONE], d.vals[P_COMPANY], d.vals[P_CITY], d.vals[P_COUNTRY], d.vals[P_JOB],
         d.vals[P_WEBSITE], d.vals[P_STAGE]);

  if (all || !strcmp(phase, "create")) phase_create();
  if (all || !strcmp(phase, "lookup")) phase_lookup();
  if (all || !strcmp(phase, "memory")) phase_memory();
  if (all || !strcmp(phase, "set_marketing")) phase_set_marketing();
  if (all || !strcmp(phase, "workflows")) phase_workflows();
  if (all || !strcmp(phase, "count")) phase_count();
  if (all || !strcmp(phase, "lists")) phase_lists();
  if (all || !strcmp(phase, "bulk_memory")) phase_bulk_memory();
  if (all || !strcmp(phase, "journal") || !strcmp(phase, "import") || !strcmp(phase, "forms") ||
      !strcmp(phase, "bulk")) {
    snprintf(g_dir, sizeof g_dir, "%s/hubc-bench-XXXXXX", dir);
    if (!mkdtemp(g_dir)) die("mkdtemp %s: %s", g_dir, strerror(errno));
    g_parent = getpid();
    atexit(cleanup_dir);
    if (all || !strcmp(phase, "journal")) phase_journal();
    if (all || !strcmp(phase, "import")) phase_import();
    if (all || !strcmp(phase, "forms")) phase_forms();
    if (all || !strcmp(phase, "bulk")) phase_bulk();
    cleanup_dir();
  }
  printf("%s: %d target(s) missed\n", g_fail ? "DONE" : "DONE, all targets met", g_fail);
  return 0;
}
