/* hubc billing, billing report, history: what the account is billed for
 * (M6, B1–B6), the closed periods as a self-contained SVG chart or CSV,
 * and the status history (M7). */
#include <string.h>

#include "cli.h"

static int summary(session *s) {
  hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
  int rc = hubc_billing_get(&b, s->store);
  if (rc) return fail(rc, "billing");
  char next[32], start[32];
  fmt_date(next, sizeof next, b.next_update);
  fmt_date(start, sizeof start, b.period_start);
  double use = b.tier ? 100.0 * (double)b.billable / (double)b.tier : 0;
  if (s->json) {
    printf("{\"tier\": %llu, \"billable\": %llu, \"marketing\": %llu, \"until_update\": %llu, \"non_marketing\": %llu, "
           "\"cap\": %llu, \"period_start\": ",
           (unsigned long long)b.tier, (unsigned long long)b.billable, (unsigned long long)b.marketing,
           (unsigned long long)b.until_update, (unsigned long long)b.non_marketing, (unsigned long long)b.cap);
    json_str(stdout, start);
    printf(", \"next_update\": ");
    json_str(stdout, next);
    printf(", \"period_peak\": %llu, \"tier_use_percent\": %.1f}\n", (unsigned long long)b.period_peak, use);
    return EXIT_OK;
  }
  printf("tier               %llu%s\n", (unsigned long long)b.tier,
         b.tier_policy == HUBC_TIER_HARD_CAP ? " (hard cap)" : " (auto-upgrade)");
  printf("billable           %llu (%.1f%% of the tier)\n", (unsigned long long)b.billable, use);
  printf("  marketing        %llu\n", (unsigned long long)b.marketing);
  printf("  until update     %llu (non-marketing from %s)\n", (unsigned long long)b.until_update, next);
  printf("non-marketing      %llu\n", (unsigned long long)b.non_marketing);
  printf("period             since %s, peak %llu\n", start, (unsigned long long)b.period_peak);
  printf("next update date   %s\n", next);
  static const unsigned th[] = {75, 90, 98, 100};
  for (int i = 3; i >= 0; i--)
    if (b.billable * 100 > (uint64_t)th[i] * b.tier || (th[i] < 100 && b.billable * 100 >= (uint64_t)th[i] * b.tier)) {
      printf("alert              %s %u%% of the tier\n", th[i] == 100 ? "above" : "at", th[i]);
      break;
    }
  return EXIT_OK;
}

typedef struct periods {
  hubc_period v[1024];
  size_t n;
} periods;

static int load_periods(periods *p, session *s) {
  hubc_period_iterator *it;
  int rc = hubc_period_iterator_new(&it, s->store);
  if (rc) return rc;
  p->n = 0;
  while (p->n < 1024) {
    p->v[p->n].version = HUBC_PERIOD_VERSION;
    if (hubc_period_iterator_next(&p->v[p->n], it) != 0) break;
    p->n++;
  }
  hubc_period_iterator_free(it);
  return 0;
}

/* One bar per closed period (billable at close; the peak as a thin mark),
 * the tier as a line: a self-contained SVG that a browser opens. */
static void svg(FILE *f, const periods *p, const hubc_billing_info *now) {
  const int W = 80 + 40 * (int)(p->n + 1), H = 320, top = 30, base = 260;
  uint64_t max = now->tier > now->billable ? now->tier : now->billable;
  for (size_t i = 0; i < p->n; i++) {
    if (p->v[i].tier_at_close > max) max = p->v[i].tier_at_close;
    if (p->v[i].peak > max) max = p->v[i].peak;
  }
  if (!max) max = 1;
  double k = (double)(base - top) / (double)max;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "font-family=\"sans-serif\" font-size=\"11\">\n"
             "<title>Billable marketing contacts per period against the tier</title>\n"
             "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
             "<text x=\"10\" y=\"18\" font-size=\"13\">Billable contacts per closed period (bars) and tier (red)</text>\n"
             "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
             "<text x=\"55\" y=\"%d\" text-anchor=\"end\">%llu</text><text x=\"55\" y=\"%d\" text-anchor=\"end\">0</text>\n",
          W, H, W, H, base, W - 10, base, top + 4, (unsigned long long)max, base);
  for (size_t i = 0; i < p->n; i++) {
    const hubc_period *q = &p->v[i];
    int x = 70 + 40 * (int)i;
    double h = (double)q->billable_at_close * k, tier_y = base - (double)q->tier_at_close * k;
    char d[32];
    fmt_date(d, sizeof d, q->end);
    fprintf(f,
            "<rect class=\"bar\" data-period=\"%lld\" data-billable=\"%llu\" data-peak=\"%llu\" data-tier=\"%llu\" "
            "x=\"%d\" y=\"%.1f\" width=\"24\" height=\"%.1f\" fill=\"%s\"><title>period %lld to %s: %llu billable "
            "(peak %llu), tier %llu</title></rect>\n"
            "<line class=\"peak\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#555\"/>\n"
            "<line class=\"tier\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"red\" stroke-width=\"2\"/>\n"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\">%.5s</text>\n",
            (long long)q->number, (unsigned long long)q->billable_at_close, (unsigned long long)q->peak,
            (unsigned long long)q->tier_at_close, x, base - h, h,
            q->billable_at_close > q->tier_at_close ? "#d9534f" : "#4a90d9", (long long)q->number, d,
            (unsigned long long)q->billable_at_close, (unsigned long long)q->peak, (unsigned long long)q->tier_at_close,
            x, base - (double)q->peak * k, x + 24, base - (double)q->peak * k, x - 4, tier_y, x + 28, tier_y, x + 12,
            base + 14, d + 2);
  }
  fprintf(f, "</svg>\n");
}

static int report(int argc, char **argv, session *s) {
  const char *svg_path = NULL, *v;
  int csv = 0;
  for (int i = 2; i < argc; i++) {
    if ((v = arg_value(argc, argv, &i, "--svg"))) svg_path = v;
    else if (arg_is(argv[i], "--csv")) csv = 1;
    else return usage_error("billing", "unknown argument '%s'", argv[i]);
  }
  if (!svg_path && !csv) return usage_error("billing", "report needs --svg FILE or --csv");
  int code = session_open(s, 0);
  if (code) return code;
  static periods p;
  hubc_billing_info now = {.version = HUBC_BILLING_INFO_VERSION};
  int rc = load_periods(&p, s);
  if (!rc) rc = hubc_billing_get(&now, s->store);
  if (rc) code = fail(rc, "billing report");
  if (!code && csv) {
    printf("period,start,end,peak,billable_at_close,tier_at_close\n");
    for (size_t i = 0; i < p.n; i++) {
      char a[32], b[32];
      fmt_date(a, sizeof a, p.v[i].start);
      fmt_date(b, sizeof b, p.v[i].end);
      printf("%lld,%s,%s,%llu,%llu,%llu\n", (long long)p.v[i].number, a, b, (unsigned long long)p.v[i].peak,
             (unsigned long long)p.v[i].billable_at_close, (unsigned long long)p.v[i].tier_at_close);
    }
  }
  if (!code && svg_path) {
    FILE *f = fopen(svg_path, "w");
    if (!f) {
      fprintf(stderr, "hubc billing report: cannot write %s\n", svg_path);
      code = EXIT_FAIL;
    } else {
      svg(f, &p, &now);
      if (fclose(f) != 0) code = EXIT_FAIL;
      else if (!csv) printf("wrote %s (%zu periods)\n", svg_path, p.n);
    }
  }
  session_close(s);
  return code;
}

int cmd_billing(int argc, char **argv, session *s) {
  if (argc >= 2 && arg_is(argv[1], "--help")) {
    puts("usage: hubc billing                      tier, billable, marketing, until-update, next update date\n"
         "       hubc billing report --svg FILE    closed periods as a chart (billable vs tier)\n"
         "       hubc billing report --csv         the same numbers as CSV");
    return EXIT_OK;
  }
  if (argc >= 2 && arg_is(argv[1], "report")) return report(argc, argv, s);
  if (argc > 1) return usage_error("billing", "unknown argument '%s'", argv[1]);
  int code = session_open(s, 0);
  if (code) return code;
  code = summary(s);
  session_close(s);
  return code;
}

int cmd_history(int argc, char **argv, session *s) {
  hubc_id id = 0;
  for (int i = 1; i < argc; i++) {
    if (arg_is(argv[i], "--help")) {
      puts("usage: hubc history [ID] [--csv]   status changes (M7), of one contact or all, as CSV");
      return EXIT_OK;
    } else if (arg_is(argv[i], "--csv")) {
      continue; /* CSV is the format */
    } else if (parse_id(argv[i], &id)) {
      return usage_error("history", "expected a record id, not '%s'", argv[i]);
    }
  }
  int code = session_open(s, 0);
  if (code) return code;
  int rc = hubc_history_export(s->store, id, write_file, stdout);
  if (rc) code = fail(rc, "history");
  session_close(s);
  return code;
}
