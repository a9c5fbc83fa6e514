/* hubc workflows …: define, (de)activate, delete and list workflows, run
 * their due steps, and read enrollments and their histories (W1–W7). Host
 * actions need a program to call back into, so the CLI defines none. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const STATES[] = {"?", "active", "finished", "ended"};
static const char *const EVENTS[] = {"?", "enrolled", "done", "skipped", "failed", "waiting", "finished", "ended"};

static void print_action(const hubc_wf_action *a) {
  switch (a->type) {
  case HUBC_WF_SET_STATUS: printf("status:%s", a->marketing ? "marketing" : "non-marketing"); break;
  case HUBC_WF_SET_PROPERTY: printf("set:%s=%s", a->property, a->value); break;
  case HUBC_WF_DELAY:
    if (a->seconds) printf("delay:%lld", (long long)a->seconds);
    else printf("until:%lld", (long long)a->until);
    break;
  case HUBC_WF_LIST_ADD: printf("list-add:%lld", (long long)a->list); break;
  case HUBC_WF_LIST_REMOVE: printf("list-remove:%lld", (long long)a->list); break;
  default: printf("host:%s", a->name); break;
  }
}

static void print_workflow(const hubc_workflow *w, int json, int first) {
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  hubc_workflow_definition(&d, w);
  if (json) {
    printf("%s{\"id\": %lld, \"name\": ", first ? "" : ", ", (long long)hubc_workflow_id(w));
    json_str(stdout, d.name);
    printf(", \"active\": %s, \"deleted\": %s, \"form\": %lld, \"filter\": ", hubc_workflow_is_active(w) ? "true" : "false",
           hubc_workflow_is_deleted(w) ? "true" : "false", (long long)d.trigger_form);
    if (d.trigger_filter) json_str(stdout, d.trigger_filter);
    else printf("null");
    printf(", \"external_form\": %lld, \"actions\": %zu}", (long long)d.trigger_external_form, d.n_actions);
    return;
  }
  printf("%4lld  %-24s %s%s  form %lld  filter %s  ", (long long)hubc_workflow_id(w), d.name,
         hubc_workflow_is_active(w) ? "active" : "inactive", hubc_workflow_is_deleted(w) ? " (deleted)" : "",
         (long long)d.trigger_form, d.trigger_filter ? d.trigger_filter : "-");
  for (size_t i = 0; i < d.n_actions; i++) printf("%s", i ? ", " : ""), print_action(d.actions[i]);
  printf("\n");
}

/* "status:marketing", "status:non-marketing", "set:PROP=VALUE",
 * "delay:SECONDS", "list-add:LIST_ID", "list-remove:LIST_ID" (a static
 * list, W2): 0, or -1. */
static int parse_action(char *text, hubc_wf_action *a) {
  hubc_wf_action_init(a, HUBC_WF_ACTION_VERSION);
  char *colon = strchr(text, ':');
  if (!colon) return -1;
  *colon = '\0';
  char *arg = colon + 1;
  if (!strcmp(text, "status") && (!strcmp(arg, "marketing") || !strcmp(arg, "non-marketing"))) {
    a->type = HUBC_WF_SET_STATUS;
    a->marketing = !strcmp(arg, "marketing");
  } else if (!strcmp(text, "set") && strchr(arg, '=')) {
    char *eq = strchr(arg, '=');
    *eq = '\0';
    a->type = HUBC_WF_SET_PROPERTY;
    a->property = arg;
    a->value = eq + 1;
  } else if (!strcmp(text, "list-add") || !strcmp(text, "list-remove")) {
    a->type = !strcmp(text, "list-add") ? HUBC_WF_LIST_ADD : HUBC_WF_LIST_REMOVE;
    if (parse_id(arg, &a->list)) return -1;
  } else if (!strcmp(text, "delay")) {
    char *end;
    a->type = HUBC_WF_DELAY;
    a->seconds = (hubc_time)strtoll(arg, &end, 10);
    if (!*arg || *end) return -1;
  } else {
    return -1;
  }
  return 0;
}

static int list_enrollments(session *s, hubc_id wf) {
  hubc_enrollment_iterator *it;
  int rc = hubc_enrollment_iterator_new(&it, s->store, wf, 0);
  if (rc) return fail(rc, "workflows enrollments");
  hubc_enrollment e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_ENROLLMENT_VERSION;
  if (s->json) printf("[");
  for (int first = 1; hubc_enrollment_iterator_next(&e, it) == 0; first = 0) {
    if (s->json)
      printf("%s{\"id\": %lld, \"contact\": %lld, \"state\": \"%s\", \"step\": %zu, \"attempts\": %u, \"due\": %lld}",
             first ? "" : ", ", (long long)e.id, (long long)e.contact, STATES[e.state], e.step, e.attempts,
             (long long)e.due);
    else
      printf("%6lld  contact %-8lld %-9s step %zu  attempts %u\n", (long long)e.id, (long long)e.contact,
             STATES[e.state], e.step, e.attempts);
  }
  if (s->json) printf("]\n");
  hubc_enrollment_iterator_free(it);
  return EXIT_OK;
}

static int show_history(session *s, hubc_id enr) {
  hubc_wf_log_iterator *it;
  int rc = hubc_wf_log_iterator_new(&it, s->store, enr);
  if (rc) return fail(rc, "workflows history");
  hubc_wf_log l;
  memset(&l, 0, sizeof l);
  l.version = HUBC_WF_LOG_VERSION;
  if (s->json) printf("[");
  for (int first = 1; hubc_wf_log_iterator_next(&l, it) == 0; first = 0) {
    if (s->json) {
      printf("%s{\"time\": %lld, \"event\": \"%s\", \"step\": %zu, \"attempt\": %u, \"code\": %d, \"wait\": %lld, "
             "\"message\": ", first ? "" : ", ", (long long)l.time, EVENTS[l.event], l.step, l.attempt, l.code,
             (long long)l.wait);
      json_str(stdout, l.message);
      printf("}");
    } else {
      char when[32];
      fmt_date(when, sizeof when, l.time);
      printf("%s  %-9s step %zu", when, EVENTS[l.event], l.step);
      if (l.event == HUBC_WF_LOG_FAILED) printf("  attempt %u, retry in %lld s", l.attempt, (long long)l.wait);
      printf("%s%s\n", *l.message ? "  " : "", l.message);
    }
  }
  if (s->json) printf("]\n");
  hubc_wf_log_iterator_free(it);
  return EXIT_OK;
}

int cmd_workflows(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc workflows list\n"
         "       hubc workflows create NAME [--form ID] [--external-form ID] [--filter TEXT] [--existing] [--reenroll]\n"
         "            ACTION…   (--external-form: the id `hubc submit --external` is given, F6)\n"
         "            ACTION: status:marketing | status:non-marketing | set:PROPERTY=VALUE | delay:SECONDS |\n"
         "                    list-add:LIST_ID | list-remove:LIST_ID   (a static list)\n"
         "       hubc workflows activate|deactivate|delete ID\n"
         "       hubc workflows run                      run the steps that are due (hubc_store_tick)\n"
         "       hubc workflows enrollments ID           a workflow's enrollments\n"
         "       hubc workflows history ENROLLMENT_ID    every step and attempt of an enrollment (W6)");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  int code = EXIT_OK, rc = 0;
  hubc_id id = 0;
  if (arg_is(sub, "list") && argc == 2) {
    if ((code = session_open(s, 0))) return code;
    hubc_workflow_iterator *it;
    if ((rc = hubc_workflow_iterator_new(&it, s->store))) code = fail(rc, "workflows list");
    hubc_workflow *w;
    if (s->json && !rc) printf("[");
    for (int first = 1; !rc && hubc_workflow_iterator_next(&w, it) == 0; first = 0) {
      print_workflow(w, s->json, first);
      hubc_workflow_free(w);
    }
    if (s->json && !rc) printf("]\n");
    if (!rc) hubc_workflow_iterator_free(it);
  } else if (arg_is(sub, "create") && argc >= 3) {
    hubc_workflow_def d;
    hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
    d.name = argv[2];
    hubc_wf_action acts[64];
    const hubc_wf_action *ptrs[64];
    const char *v;
    for (int i = 3; i < argc; i++) {
      if ((v = arg_value(argc, argv, &i, "--form"))) {
        if (parse_id(v, &d.trigger_form)) return usage_error("workflows", "expected a form id, not '%s'", v);
      } else if ((v = arg_value(argc, argv, &i, "--external-form"))) {
        if (parse_id(v, &d.trigger_external_form))
          return usage_error("workflows", "expected an external form id, not '%s'", v);
      } else if ((v = arg_value(argc, argv, &i, "--filter"))) {
        d.trigger_filter = v;
      } else if (arg_is(argv[i], "--existing")) {
        d.enroll_existing = 1;
      } else if (arg_is(argv[i], "--reenroll")) {
        d.reenroll = 1;
      } else if (d.n_actions == 64) {
        return usage_error("workflows", "at most 64 actions from the command line");
      } else {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", argv[i]);
        if (parse_action(argv[i], &acts[d.n_actions]))
          return usage_error("workflows", "action %zu: expected status:marketing|non-marketing, set:PROP=VALUE, "
                             "delay:SECONDS, list-add:LIST_ID or list-remove:LIST_ID, not '%s'", d.n_actions, copy);
        ptrs[d.n_actions] = &acts[d.n_actions];
        d.n_actions++;
      }
    }
    d.actions = ptrs;
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_workflow_create(&id, s->store, s->actor, &d))) code = fail(rc, "workflows create");
    else printf(s->json ? "{\"id\": %lld}\n" : "created workflow %lld (inactive)\n", (long long)id);
  } else if ((arg_is(sub, "activate") || arg_is(sub, "deactivate") || arg_is(sub, "delete")) && argc == 3) {
    if (parse_id(argv[2], &id)) return usage_error("workflows", "expected a workflow id, not '%s'", argv[2]);
    if ((code = session_open(s, 0))) return code;
    rc = arg_is(sub, "activate")     ? hubc_workflow_activate(s->store, s->actor, id)
         : arg_is(sub, "deactivate") ? hubc_workflow_deactivate(s->store, s->actor, id)
                                     : hubc_workflow_delete(s->store, s->actor, id);
    if (rc) code = fail(rc, "workflows");
    else printf("workflow %lld: %sd\n", (long long)id, sub);
  } else if (arg_is(sub, "run") && argc == 2) {
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_store_tick(s->store))) code = fail(rc, "workflows run");
  } else if ((arg_is(sub, "enrollments") || arg_is(sub, "history")) && argc == 3) {
    if (parse_id(argv[2], &id)) return usage_error("workflows", "expected an id, not '%s'", argv[2]);
    if ((code = session_open(s, 0))) return code;
    code = arg_is(sub, "history") ? show_history(s, id) : list_enrollments(s, id);
  } else {
    return usage_error("workflows", "unknown or incomplete subcommand '%s'", sub);
  }
  session_close(s);
  return code;
}
