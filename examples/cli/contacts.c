/* hubc contacts …, set-marketing, set-non-marketing: reading contacts as an
 * aligned table (or JSON), writing them, and the bulk actions with the
 * typed confirmation (S1, S4, S5). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A filter that does not compile: the message, the text, a caret under
 * the byte the library names ("byte N"). */
static int filter_error(int rc, const char *text) {
  const char *msg = hubc_error_last();
  fprintf(stderr, "hubc: %s\n", msg);
  const char *at = strstr(msg, "byte ");
  if (at && strlen(text) < 200) {
    size_t pos = strtoul(at + 5, NULL, 10);
    fprintf(stderr, "  %s\n  %*s^\n", text, (int)(pos < strlen(text) ? pos : strlen(text)), "");
  }
  return rc == HUBC_ENOMEM ? EXIT_FAIL : EXIT_USAGE;
}

static int compile(hubc_filter **f, session *s, const char *text) {
  int rc = hubc_filter_compile(f, s->store, text);
  return rc ? filter_error(rc, text) : 0;
}

static const char *const DEFAULT_COLS[] = {"hs_object_id", "email", "firstname", "lastname", "city",
                                           "lifecyclestage", "hs_marketable_status"};

enum { CELL_MAX = 40 }; /* display columns of a table cell */

/* The unit of a cell at p: an escape for a control byte, else one code
 * point (its continuation bytes included). Writes it to esc, returns its
 * width in columns; *adv gets the bytes it covers in the value. */
static size_t cell_unit(const unsigned char *p, char esc[5], size_t *adv) {
  if (*p < 0x20 || *p == 0x7f) {
    *adv = 1;
    const char *e = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;
    return e ? (size_t)snprintf(esc, 5, "%s", e) : (size_t)snprintf(esc, 5, "\\x%02x", *p);
  }
  size_t n = 1;
  while (n < 4 && (p[n] & 0xC0) == 0x80) n++;
  memcpy(esc, p, n);
  esc[n] = '\0';
  *adv = n;
  return 1;
}

/* A value as one table cell: line breaks, tabs and other control bytes
 * shown as escapes so a multi-line note keeps the table aligned; a value
 * wider than CELL_MAX columns is cut on a code point boundary and ends in
 * "…". Returns its width in columns (one per code point). */
static size_t cell(const char *v, char out[4 * CELL_MAX + 4]) {
  const unsigned char *s = (const unsigned char *)(v ? v : "");
  char esc[5];
  size_t total = 0, adv;
  for (const unsigned char *p = s; *p; p += adv) total += cell_unit(p, esc, &adv);
  size_t room = total > CELL_MAX ? CELL_MAX - 1 : CELL_MAX, cols = 0, o = 0;
  for (const unsigned char *p = s; *p; p += adv) {
    size_t w = cell_unit(p, esc, &adv);
    if (cols + w > room) break;
    o += (size_t)sprintf(out + o, "%s", esc);
    cols += w;
  }
  if (total > CELL_MAX) {
    o += (size_t)sprintf(out + o, "\u2026");
    cols++;
  }
  out[o] = '\0';
  return cols;
}

/* Prints contacts as a table whose columns fit their values. */
static void print_table(hubc_contact **c, size_t n, const char *const *cols, size_t nc) {
  size_t w[32];
  char buf[4 * CELL_MAX + 4];
  for (size_t k = 0; k < nc; k++) {
    w[k] = strlen(cols[k]);
    for (size_t i = 0; i < n; i++) {
      size_t l = cell(hubc_contact_prop(c[i], cols[k]), buf);
      if (l > w[k]) w[k] = l;
    }
  }
  for (size_t k = 0; k < nc; k++) printf("%-*s%s", k + 1 < nc ? (int)w[k] : 0, cols[k], k + 1 < nc ? "  " : "\n");
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < nc; k++) {
      size_t l = cell(hubc_contact_prop(c[i], cols[k]), buf);
      printf("%s%*s%s", buf, k + 1 < nc ? (int)(w[k] - l) : 0, "", k + 1 < nc ? "  " : "\n");
    }
}

static void print_json(hubc_contact **c, size_t n, const char *const *cols, size_t nc) {
  printf("[");
  for (size_t i = 0; i < n; i++) {
    printf("%s{", i ? ", " : "");
    for (size_t k = 0; k < nc; k++) {
      printf("%s", k ? ", " : "");
      json_str(stdout, cols[k]);
      printf(": ");
      const char *v = hubc_contact_prop(c[i], cols[k]);
      if (v) json_str(stdout, v);
      else printf("null");
    }
    printf("}");
  }
  printf("]\n");
}

static int list(int argc, char **argv, session *s) {
  const char *filter = NULL, *sort = NULL, *v;
  const char *cols[32];
  size_t nc = 0;
  char colbuf[1024];
  uint64_t limit = 50;
  int desc = 0;
  for (int i = 2; i < argc; i++) {
    if ((v = arg_value(argc, argv, &i, "--filter"))) filter = v;
    else if ((v = arg_value(argc, argv, &i, "--sort"))) sort = v;
    else if (arg_is(argv[i], "--desc")) desc = 1;
    else if ((v = arg_value(argc, argv, &i, "--limit"))) {
      if (parse_u64(v, &limit)) return usage_error("contacts", "--limit needs a number, not '%s'", v);
    } else if ((v = arg_value(argc, argv, &i, "--props"))) {
      if (strlen(v) >= sizeof colbuf)
        return usage_error("contacts", "--props is longer than %zu bytes", sizeof colbuf - 1);
      snprintf(colbuf, sizeof colbuf, "%s", v);
      for (char *save = NULL, *t = strtok_r(colbuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (nc == sizeof cols / sizeof *cols)
          return usage_error("contacts", "--props names at most %zu properties", sizeof cols / sizeof *cols);
        cols[nc++] = t;
      }
    } else return usage_error("contacts", "unknown argument '%s'", argv[i]);
  }
  if (!nc)
    for (; nc < sizeof DEFAULT_COLS / sizeof *DEFAULT_COLS; nc++) cols[nc] = DEFAULT_COLS[nc];
  int code = session_open(s, 0);
  if (code) return code;
  hubc_filter *f = NULL;
  if ((code = compile(&f, s, filter ? filter : "hs_object_id IS KNOWN"))) {
    session_close(s);
    return code;
  }
  hubc_query_options qo;
  hubc_query_options_init(&qo, HUBC_QUERY_OPTIONS_VERSION);
  qo.sort_by = sort;
  qo.descending = desc;
  qo.limit = limit;
  hubc_query_iterator *it = NULL;
  int rc = hubc_query_iterator_new(&it, s->store, f, &qo);
  hubc_contact **c = NULL;
  size_t n = 0, cap = 0, got = 0;
  while (!rc) { /* batches: one call per 256 contacts */
    if (n + 256 > cap) {
      cap = cap ? cap * 2 : 256;
      c = realloc(c, cap * sizeof *c);
      if (!c) return EXIT_FAIL;
    }
    rc = hubc_query_iterator_next_contacts(&got, c + n, 256, it);
    if (rc == HUBC_ITEROVER || (!rc && got == 0)) {
      rc = 0;
      break;
    }
    n += got;
  }
  if (rc) code = fail(rc, "contacts list");
  else if (s->json) print_json(c, n, cols, nc);
  else {
    print_table(c, n, cols, nc);
    uint64_t total = 0;
    hubc_filter_count(&total, s->store, f);
    printf("(%zu of %llu contacts)\n", n, (unsigned long long)total);
  }
  for (size_t i = 0; i < n; i++) hubc_contact_free(c[i]);
  free(c);
  hubc_query_iterator_free(it);
  hubc_filter_free(f);
  session_close(s);
  return code;
}

/* One contact by id or email: every property. */
static int show(const char *key, session *s, int find_only) {
  int code = session_open(s, 0);
  if (code) return code;
  hubc_contact *c = NULL;
  hubc_id id;
  int rc = parse_id(key, &id) == 0 ? hubc_contact_get(&c, s->store, id) : hubc_contact_get_by_email(&c, s->store, key);
  if (rc) code = fail(rc, find_only ? "contacts find" : "contacts show");
  else if (find_only) printf(s->json ? "{\"id\": %lld}\n" : "%lld\n", (long long)hubc_contact_id(c));
  else {
    size_t n = hubc_contact_prop_count(c);
    if (s->json) printf("{");
    for (size_t i = 0; i < n; i++) {
      const char *name, *value;
      if (hubc_contact_prop_at(&name, &value, c, i)) continue;
      if (s->json) printf("%s", i ? ", " : ""), json_str(stdout, name), printf(": "), json_str(stdout, value);
      else printf("%-30s %s\n", name, value);
    }
    if (s->json) printf("}\n");
  }
  hubc_contact_free(c);
  session_close(s);
  return code;
}

/* prop=value arguments into parallel arrays (pointers into argv). */
static int pairs(int argc, char **argv, int from, const char **names, const char **values, size_t *n) {
  *n = 0;
  for (int i = from; i < argc && *n < 256; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) return usage_error("contacts", "expected PROPERTY=VALUE, not '%s'", argv[i]);
    *eq = '\0';
    names[*n] = argv[i];
    values[(*n)++] = eq + 1;
  }
  return 0;
}

int cmd_contacts(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc contacts list [--filter EXPR] [--sort PROP] [--desc] [--limit N] [--props a,b,c]\n"
         "       hubc contacts show ID|EMAIL      hubc contacts find EMAIL\n"
         "       hubc contacts create PROP=VALUE… [--marketing]\n"
         "       hubc contacts update ID PROP=VALUE…      hubc contacts delete ID\n"
         "EXPR is the filter language, e.g. \"lifecyclestage = 'lead' AND city = 'Roma'\".");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  if (arg_is(sub, "list")) return list(argc, argv, s);
  if ((arg_is(sub, "show") || arg_is(sub, "find")) && argc == 3) return show(argv[2], s, arg_is(sub, "find"));
  const char *names[256], *values[256];
  size_t n;
  int code, rc;
  hubc_id id;
  if (arg_is(sub, "create")) {
    int marketing = 0;
    int k = 2;
    for (int i = 2; i < argc; i++) {
      if (arg_is(argv[i], "--marketing")) marketing = 1;
      else argv[k++] = argv[i];
    }
    if ((code = pairs(k, argv, 2, names, values, &n))) return code;
    if ((code = session_open(s, 0))) return code;
    hubc_create_options co;
    hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION);
    co.marketing = marketing;
    if ((rc = hubc_contact_create(&id, s->store, s->actor, &co, names, values, n))) code = fail(rc, "contacts create");
    else printf(s->json ? "{\"id\": %lld}\n" : "created contact %lld\n", (long long)id);
  } else if (arg_is(sub, "update") && argc >= 4) {
    if (parse_id(argv[2], &id)) return usage_error("contacts", "update needs a record id, not '%s'", argv[2]);
    if ((code = pairs(argc, argv, 3, names, values, &n))) return code;
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_contact_update(s->store, s->actor, id, names, values, n))) code = fail(rc, "contacts update");
    else printf("updated contact %lld\n", (long long)id);
  } else if (arg_is(sub, "delete") && argc == 3) {
    if (parse_id(argv[2], &id)) return usage_error("contacts", "delete needs a record id, not '%s'", argv[2]);
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_contact_delete(s->store, s->actor, id))) code = fail(rc, "contacts delete");
    else printf("deleted contact %lld\n", (long long)id);
  } else {
    return usage_error("contacts", "unknown or incomplete subcommand '%s'", sub);
  }
  session_close(s);
  return code;
}

/* ---- bulk (S4, S5) ------------------------------------------------------------------ */

int cmd_set_marketing(int argc, char **argv, session *s) {
  int non = arg_is(argv[0], "set-non-marketing");
  const char *filter = NULL, *ids = NULL, *v;
  int unengaged = 0, have_yes = 0, plan_only = 0;
  uint64_t yes = 0;
  for (int i = 1; i < argc; i++) {
    if (arg_is(argv[i], "--help")) {
      printf("usage: hubc %s (--filter EXPR | --ids ID,ID,… %s) [--yes N | --plan]\n"
             "Shows how many contacts are selected and what changes, asks you to type the number selected\n"
             "(--yes N for scripts; a wrong number is refused), then applies it to all at once.%s\n",
             argv[0], non ? "| --unengaged" : "",
             non ? "\nNon-marketing takes effect at the next update date (M4); --unengaged selects billable\n"
                   "contacts that are hard-bounced or opted out."
                 : "");
      return EXIT_OK;
    } else if ((v = arg_value(argc, argv, &i, "--filter"))) filter = v;
    else if ((v = arg_value(argc, argv, &i, "--ids"))) ids = v;
    else if (non && arg_is(argv[i], "--unengaged")) unengaged = 1;
    else if (arg_is(argv[i], "--plan")) plan_only = 1;
    else if ((v = arg_value(argc, argv, &i, "--yes"))) {
      if (parse_u64(v, &yes)) return usage_error(argv[0], "--yes needs a number, not '%s'", v);
      have_yes = 1;
    } else return usage_error(argv[0], "unknown argument '%s'", argv[i]);
  }
  if (!!filter + !!ids + unengaged != 1) return usage_error(argv[0], "give exactly one of --filter, --ids%s",
                                                            non ? ", --unengaged" : "");
  hubc_id idv[1024];
  size_t n_ids = 0;
  if (ids) {
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", ids);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (n_ids == 1024 || parse_id(t, &idv[n_ids])) return usage_error(argv[0], "bad record id '%s'", t);
      n_ids++;
    }
  }
  int code = session_open(s, 0);
  if (code) return code;
  hubc_filter *f = NULL;
  if (unengaged) filter = hubc_filter_preset_text(HUBC_PRESET_UNENGAGED);
  if (filter && (code = compile(&f, s, filter))) {
    session_close(s);
    return code;
  }
  hubc_selection sel;
  hubc_selection_init(&sel, HUBC_SELECTION_VERSION);
  sel.filter = f;
  sel.ids = n_ids ? idv : NULL;
  sel.n_ids = n_ids;
  int action = non ? HUBC_BULK_SET_NON_MARKETING : HUBC_BULK_SET_MARKETING;
  hubc_bulk_summary m = {.version = HUBC_BULK_SUMMARY_VERSION};
  int rc = hubc_bulk_plan(&m, s->store, s->actor, action, &sel);
  if (rc) code = fail(rc, argv[0]);
  if (!code && plan_only && s->json)
    printf("{\"selected\": %llu, \"will_change\": %llu, \"billable_before\": %llu, \"billable_after\": %llu, "
           "\"tier_after\": %llu, \"cap_refused\": %s}\n",
           (unsigned long long)m.selected, (unsigned long long)m.will_change, (unsigned long long)m.billable_before,
           (unsigned long long)m.billable_after, (unsigned long long)m.tier_after, m.cap_refused ? "true" : "false");
  else if (!code && !s->json)
    printf("selected        %llu\nwill change     %llu\nbillable        %llu -> %llu (tier %llu)%s\n",
           (unsigned long long)m.selected, (unsigned long long)m.will_change, (unsigned long long)m.billable_before,
           (unsigned long long)m.billable_after, (unsigned long long)m.tier_after,
           m.cap_refused ? "  REFUSED: above the hard cap" : "");
  if (!code && !have_yes && !plan_only) {
    char prompt[200];
    snprintf(prompt, sizeof prompt, "Type the number of contacts selected (%llu) to confirm: ",
             (unsigned long long)m.selected);
    if (ask_number(prompt, &yes)) {
      fprintf(stderr, g_interrupted ? "\nhubc: interrupted; nothing changed\n" : "hubc: no number typed; nothing changed\n");
      code = g_interrupted ? EXIT_INTERRUPT : EXIT_CONFIRM;
    }
  }
  if (!code && !plan_only) {
    rc = hubc_bulk_commit(&m, s->store, s->actor, action, &sel, yes);
    if (rc) code = fail(rc, argv[0]);
    else if (s->json)
      printf("{\"selected\": %llu, \"changed\": %llu, \"billable\": %llu, \"tier\": %llu}\n",
             (unsigned long long)m.selected, (unsigned long long)m.will_change, (unsigned long long)m.billable_after,
             (unsigned long long)m.tier_after);
    else printf("done: %llu contacts changed; billable %llu\n", (unsigned long long)m.will_change,
                (unsigned long long)m.billable_after);
  }
  hubc_filter_free(f);
  session_close(s);
  return code;
}
