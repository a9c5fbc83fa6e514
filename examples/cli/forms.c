/* hubc forms …, submit: forms and their marketing switch (F1, D2), and a
 * submission from the terminal (F2–F4). */
#include <string.h>

#include "cli.h"

static void print_form(const hubc_form *f, int json, int first) {
  size_t n = hubc_form_field_count(f);
  if (json) {
    printf("%s{\"id\": %lld, \"name\": ", first ? "" : ", ", (long long)hubc_form_id(f));
    json_str(stdout, hubc_form_name(f));
    printf(", \"marketing\": %s, \"deleted\": %s, \"fields\": [", hubc_form_marketing(f) ? "true" : "false",
           hubc_form_is_deleted(f) ? "true" : "false");
  } else {
    printf("%4lld  %-30s marketing %-3s%s  ", (long long)hubc_form_id(f), hubc_form_name(f),
           hubc_form_marketing(f) ? "on" : "off", hubc_form_is_deleted(f) ? "  (deleted)" : "");
  }
  for (size_t i = 0; i < n; i++) {
    const char *prop;
    int req;
    hubc_form_field_at(&prop, NULL, &req, f, i);
    if (json) printf("%s", i ? ", " : ""), json_str(stdout, prop);
    else printf("%s%s%s", i ? ", " : "", prop, req ? "*" : "");
  }
  printf(json ? "]}" : "\n");
}

int cmd_forms(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc forms list\n"
         "       hubc forms create NAME [PROPERTY[*]]…   (* = required; email is always the first field)\n"
         "       hubc forms switch ID on|off              set contacts created as marketing (needs P2)\n"
         "       hubc forms delete ID");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  int code, rc = 0;
  hubc_id id = 0;
  if (arg_is(sub, "list") && argc == 2) {
    if ((code = session_open(s, 0))) return code;
    hubc_form_iterator *it;
    if ((rc = hubc_form_iterator_new(&it, s->store))) code = fail(rc, "forms list");
    hubc_form *f;
    if (s->json && !rc) printf("[");
    for (int first = 1; !rc && hubc_form_iterator_next(&f, it) == 0; first = 0) {
      print_form(f, s->json, first);
      hubc_form_free(f);
    }
    if (s->json && !rc) printf("]\n");
    if (!rc) hubc_form_iterator_free(it);
  } else if (arg_is(sub, "create") && argc >= 3) {
    const char *props[256];
    int req[256];
    size_t n = 0;
    for (int i = 3; i < argc && n < 256; i++, n++) {
      size_t l = strlen(argv[i]);
      req[n] = l && argv[i][l - 1] == '*';
      if (req[n]) argv[i][l - 1] = '\0';
      props[n] = argv[i];
    }
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_form_create(&id, s->store, s->actor, argv[2], props, NULL, req, n))) code = fail(rc, "forms create");
    else printf(s->json ? "{\"id\": %lld}\n" : "created form %lld\n", (long long)id);
  } else if (arg_is(sub, "switch") && argc == 4 && (arg_is(argv[3], "on") || arg_is(argv[3], "off"))) {
    if (parse_id(argv[2], &id)) return usage_error("forms", "expected a form id, not '%s'", argv[2]);
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_form_set_marketing(s->store, s->actor, id, arg_is(argv[3], "on")))) code = fail(rc, "forms switch");
    else printf("form %lld: contacts created as marketing %s\n", (long long)id, argv[3]);
  } else if (arg_is(sub, "delete") && argc == 3) {
    if (parse_id(argv[2], &id)) return usage_error("forms", "expected a form id, not '%s'", argv[2]);
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_form_delete(s->store, s->actor, id))) code = fail(rc, "forms delete");
    else printf("deleted form %lld\n", (long long)id);
  } else {
    return usage_error("forms", "unknown or incomplete subcommand '%s'", sub);
  }
  session_close(s);
  return code;
}

int cmd_submit(int argc, char **argv, session *s) {
  if (argc < 3 || arg_is(argv[1], "--help")) {
    puts("usage: hubc submit FORM_ID PROPERTY=VALUE…   (as a visitor would: the form's switch decides marketing)\n"
         "       hubc submit --external ID PROPERTY=VALUE…   (a non-HubSpot form, the store-wide switch)");
    return argc >= 2 && arg_is(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
  }
  int external = arg_is(argv[1], "--external"), from = external ? 2 : 1;
  hubc_id form;
  if (from >= argc || parse_id(argv[from], &form)) return usage_error("submit", "expected a form id");
  const char *names[256], *values[256];
  size_t n = 0;
  for (int i = from + 1; i < argc && n < 256; i++, n++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) return usage_error("submit", "expected PROPERTY=VALUE, not '%s'", argv[i]);
    *eq = '\0';
    names[n] = argv[i];
    values[n] = eq + 1;
  }
  int code = session_open(s, 0);
  if (code) return code;
  hubc_id contact, sub;
  int rc = external ? hubc_form_submit_external(&contact, &sub, s->store, form, names, values, n)
                    : hubc_form_submit(&contact, &sub, s->store, form, names, values, n);
  if (rc) code = fail(rc, "submit");
  else if (s->json) printf("{\"contact\": %lld, \"submission\": %lld}\n", (long long)contact, (long long)sub);
  else printf("submission %lld: contact %lld\n", (long long)sub, (long long)contact);
  session_close(s);
  return code;
}
