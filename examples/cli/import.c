/* hubc import: the product's import dialog at a terminal (I1–I10). Plans,
 * prints what the commit would do, asks for the number of contacts to set
 * as marketing (or takes --yes N), commits; writes FILE.errors.csv when
 * rows were skipped. Ctrl-C cancels through the progress callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct progress {
  int tty;
  double start, last;
  int phase;
} progress;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *phase_name(int phase) {
  return phase == HUBC_IMPORT_PHASE_READ ? "reading" : phase == HUBC_IMPORT_PHASE_CHECK ? "checking" : "applying";
}

/* A bar with rows/s and ETA on a terminal; a plain line per second (and per
 * phase) otherwise. Returns nonzero after Ctrl-C: the import is cancelled. */
static int on_progress(void *payload, const hubc_import_progress *p) {
  progress *pr = payload;
  double t = now_s(), el = t - pr->start;
  int new_phase = p->phase != pr->phase;
  if (!new_phase && t - pr->last < (pr->tty ? 0.1 : 1.0)) return g_interrupted;
  pr->last = t;
  pr->phase = p->phase;
  double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 0;
  double rate = el > 0 ? (double)p->rows_done / el : 0;
  double eta = frac > 0.01 ? el / frac - el : 0;
  if (pr->tty) {
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%-8s [%s] %3.0f%%  %llu rows  %.0f rows/s  ETA %.0fs ", phase_name(p->phase), bar, frac * 100,
            (unsigned long long)p->rows_done, rate, eta);
  } else {
    fprintf(stderr, "progress: %s %llu/%llu bytes, %llu rows, %.0f rows/s\n", phase_name(p->phase),
            (unsigned long long)p->bytes_done, (unsigned long long)p->bytes_total, (unsigned long long)p->rows_done,
            rate);
  }
  return g_interrupted;
}

static void print_plan(const hubc_import_summary *m, const hubc_import *imp, int marketing) {
  fprintf(stderr, "\n");
  printf("rows            %llu\n", (unsigned long long)m->rows);
  printf("to create       %llu\n", (unsigned long long)m->to_create);
  printf("to update       %llu\n", (unsigned long long)m->to_update);
  printf("merged          %llu (rows repeating an email)\n", (unsigned long long)m->merged);
  printf("skipped         %llu (rows with errors)\n", (unsigned long long)m->skipped);
  printf("unmapped        %llu columns\n", (unsigned long long)m->unmapped_columns);
  for (size_t i = 0; hubc_import_unmapped_at(imp, i); i++) printf("                - %s\n", hubc_import_unmapped_at(imp, i));
  printf("set as marketing %llu%s\n", (unsigned long long)m->to_set_marketing, marketing ? "" : " (no --marketing)");
  printf("billable        %llu -> %llu (tier %llu)%s\n", (unsigned long long)m->billable_before,
         (unsigned long long)m->projected_billable, (unsigned long long)m->projected_tier,
         m->over_cap ? "  REFUSED: above the hard cap" : "");
}

static void print_errors(const hubc_import *imp, size_t max) {
  size_t n = hubc_import_error_count(imp);
  for (size_t i = 0; i < n && i < max; i++) {
    hubc_import_error e = {.version = HUBC_IMPORT_ERROR_VERSION};
    if (hubc_import_error_at(imp, i, &e)) break;
    fprintf(stderr, "  line %llu%s%s: %s\n", (unsigned long long)e.line, e.column[0] ? ", column " : "", e.column,
            e.message);
  }
  if (n > max) fprintf(stderr, "  … and %zu more (see the error file)\n", n - max);
}

static int write_error_files(const hubc_import *imp, char **files, size_t n_files) {
  for (size_t f = 0; f < n_files; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s.errors.csv", files[f]);
    FILE *out = fopen(path, "w");
    if (!out) {
      fprintf(stderr, "hubc import: cannot write %s\n", path);
      return -1;
    }
    int rc = hubc_import_write_errors(imp, f, write_file, out);
    fclose(out);
    if (rc) return fail(rc, "write error file");
    fprintf(stderr, "errors of %s written to %s\n", files[f], path);
  }
  return 0;
}

int cmd_import(int argc, char **argv, session *s) {
  char *files[64];
  size_t n_files = 0, n_map = 0;
  const char *cols[256], *props[256];
  char maps[256][256];
  hubc_import_options o;
  hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION);
  uint64_t yes = 0;
  int have_yes = 0, plan_only = 0;
  const char *v;
  for (int i = 1; i < argc; i++) {
    if (arg_is(argv[i], "--help")) {
      puts("usage: hubc import FILE… [--marketing] [--mode create-and-update|create|update] [--map COLUMN=PROPERTY]…\n"
           "                   [--delimiter ,|;|tab] [--yes N | --plan]\n"
           "Plans the import, shows what it will do, asks you to type the number of contacts it sets as marketing\n"
           "(--yes N answers for scripts; a wrong number is refused), then commits all valid rows at once.\n"
           "--plan only shows the plan (with --json: as JSON). Skipped rows go to FILE.errors.csv.\n"
           "Ctrl-C cancels: nothing is imported.");
      return EXIT_OK;
    } else if (arg_is(argv[i], "--plan")) {
      plan_only = 1;
    } else if (arg_is(argv[i], "--marketing")) {
      o.set_marketing = 1;
    } else if ((v = arg_value(argc, argv, &i, "--mode"))) {
      if (!strcmp(v, "create-and-update")) o.mode = HUBC_IMPORT_CREATE_AND_UPDATE;
      else if (!strcmp(v, "create")) o.mode = HUBC_IMPORT_CREATE_ONLY;
      else if (!strcmp(v, "update")) o.mode = HUBC_IMPORT_UPDATE_ONLY;
      else return usage_error("import", "unknown mode '%s' (create-and-update, create or update)", v);
    } else if ((v = arg_value(argc, argv, &i, "--map"))) {
      const char *eq = strchr(v, '=');
      if (!eq) return usage_error("import", "--map needs COLUMN=PROPERTY, not '%s'", v);
      if (n_map == sizeof maps / sizeof *maps)
        return usage_error("import", "at most %zu --map options", sizeof maps / sizeof *maps);
      if (strlen(v) >= sizeof *maps)
        return usage_error("import", "--map %.40s…: longer than %zu bytes", v, sizeof *maps - 1);
      snprintf(maps[n_map], sizeof maps[n_map], "%s", v);
      maps[n_map][eq - v] = '\0';
      cols[n_map] = maps[n_map];
      props[n_map] = maps[n_map] + (eq - v) + 1;
      n_map++;
    } else if ((v = arg_value(argc, argv, &i, "--delimiter"))) {
      o.delimiter = !strcmp(v, "tab") ? '\t' : v[0];
      if (strlen(v) != 1 && strcmp(v, "tab")) return usage_error("import", "--delimiter is , ; or tab");
    } else if ((v = arg_value(argc, argv, &i, "--yes"))) {
      if (parse_u64(v, &yes)) return usage_error("import", "--yes needs the number of contacts, not '%s'", v);
      have_yes = 1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return usage_error("import", "unknown option '%s'", argv[i]);
    } else if (n_files == sizeof files / sizeof *files) {
      return usage_error("import", "at most %zu files in one import", sizeof files / sizeof *files);
    } else {
      if (access(argv[i], R_OK) != 0) {
        fprintf(stderr, "hubc import: cannot read %s: %s\n", argv[i], strerror(errno));
        return EXIT_FAIL;
      }
      files[n_files++] = argv[i];
    }
  }
  if (!n_files) return usage_error("import", "no file given");
  o.files = (const char *const *)files;
  o.n_files = n_files;
  o.map_columns = cols;
  o.map_properties = props;
  o.n_map = n_map;
  progress pr = {isatty(2), now_s(), 0, -1};
  o.progress = on_progress;
  o.progress_payload = &pr;
  int code = session_open(s, 0);
  if (code) return code;
  hubc_import *imp = NULL;
  int rc = hubc_import_plan(&imp, s->store, s->actor, &o);
  if (rc) {
    if (pr.tty) fprintf(stderr, "\n");
    code = rc == HUBC_ECANCELED ? (fprintf(stderr, "hubc import: interrupted; nothing imported\n"), EXIT_INTERRUPT)
                                : fail(rc, "import");
    session_close(s);
    return code;
  }
  hubc_import_summary m = {.version = HUBC_IMPORT_SUMMARY_VERSION};
  hubc_import_summary_get(imp, &m);
  if (plan_only && s->json) {
    printf("{\"rows\": %llu, \"to_create\": %llu, \"to_update\": %llu, \"merged\": %llu, \"skipped\": %llu, "
           "\"unmapped_columns\": %llu, \"to_set_marketing\": %llu, \"billable_before\": %llu, "
           "\"projected_billable\": %llu, \"projected_tier\": %llu, \"over_cap\": %s}\n",
           (unsigned long long)m.rows, (unsigned long long)m.to_create, (unsigned long long)m.to_update,
           (unsigned long long)m.merged, (unsigned long long)m.skipped, (unsigned long long)m.unmapped_columns,
           (unsigned long long)m.to_set_marketing, (unsigned long long)m.billable_before,
           (unsigned long long)m.projected_billable, (unsigned long long)m.projected_tier, m.over_cap ? "true" : "false");
  } else if (!s->json) {
    print_plan(&m, imp, o.set_marketing);
  }
  if (hubc_import_error_count(imp)) print_errors(imp, 10);
  if (plan_only) {
    hubc_import_free(imp);
    session_close(s);
    return EXIT_OK;
  }
  if (!have_yes) {
    char prompt[200];
    snprintf(prompt, sizeof prompt, "Type the number of contacts to set as marketing (%llu) to import: ",
             (unsigned long long)m.to_set_marketing);
    if (ask_number(prompt, &yes)) {
      fprintf(stderr, g_interrupted ? "\nhubc import: interrupted; nothing imported\n"
                                    : "hubc import: no number typed; nothing imported\n");
      hubc_import_free(imp);
      session_close(s);
      return g_interrupted ? EXIT_INTERRUPT : EXIT_CONFIRM;
    }
  }
  hubc_id import_id = 0;
  pr.phase = -1;
  rc = hubc_import_commit(&import_id, imp, yes);
  if (pr.tty) fprintf(stderr, "\n");
  if (rc == HUBC_ECANCELED) {
    fprintf(stderr, "hubc import: interrupted; nothing imported\n");
    code = EXIT_INTERRUPT;
  } else if (rc) {
    code = fail(rc, "import");
  } else {
    hubc_import_summary_get(imp, &m);
    if (s->json)
      printf("{\"import_id\": %lld, \"rows\": %llu, \"created\": %llu, \"updated\": %llu, \"merged\": %llu, "
             "\"set_as_marketing\": %llu, \"skipped\": %llu, \"billable\": %llu, \"tier\": %llu}\n",
             (long long)import_id, (unsigned long long)m.rows, (unsigned long long)m.to_create,
             (unsigned long long)m.to_update, (unsigned long long)m.merged, (unsigned long long)m.to_set_marketing,
             (unsigned long long)m.skipped, (unsigned long long)m.projected_billable,
             (unsigned long long)m.projected_tier);
    else
      printf("imported: import %lld, %llu created, %llu updated, %llu set as marketing, %llu skipped\n",
             (long long)import_id, (unsigned long long)m.to_create, (unsigned long long)m.to_update,
             (unsigned long long)m.to_set_marketing, (unsigned long long)m.skipped);
    if (m.skipped && write_error_files(imp, files, n_files)) code = EXIT_FAIL;
  }
  hubc_import_free(imp);
  session_close(s);
  return code;
}
