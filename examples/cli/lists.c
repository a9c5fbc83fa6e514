/* hubc lists …, views …: static and active lists (S2) and saved views
 * (S3). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_list(const hubc_list *l, int json, int first) {
  const char *filter = hubc_list_filter(l);
  if (json) {
    printf("%s{\"id\": %lld, \"name\": ", first ? "" : ", ", (long long)hubc_list_id(l));
    json_str(stdout, hubc_list_name(l));
    printf(", \"active\": %s, \"members\": %llu, \"filter\": ", filter ? "true" : "false",
           (unsigned long long)hubc_list_size(l));
    if (filter) json_str(stdout, filter);
    else printf("null");
    printf("}");
  } else {
    printf("%4lld  %-30s %-6s %10llu  %s\n", (long long)hubc_list_id(l), hubc_list_name(l), filter ? "active" : "static",
           (unsigned long long)hubc_list_size(l), filter ? filter : "");
  }
}

/* A list by id or by name. */
static int resolve_list(session *s, const char *arg, hubc_id *id) {
  if (parse_id(arg, id) == 0) return 0;
  return hubc_list_find(id, s->store, arg);
}

/* Contact ids from the arguments (or "-": one per line on stdin). */
static int read_ids(int argc, char **argv, int from, hubc_id **out, size_t *n) {
  size_t cap = 64;
  hubc_id *v = malloc(cap * sizeof *v);
  if (!v) return -1;
  *n = 0;
  char line[64];
  int from_stdin = from < argc && arg_is(argv[from], "-");
  for (int i = from; from_stdin || i < argc; i++) {
    const char *a;
    if (from_stdin) {
      if (!fgets(line, sizeof line, stdin)) break;
      line[strcspn(line, "\r\n")] = '\0';
      if (!line[0]) continue;
      a = line;
    } else {
      a = argv[i];
    }
    if (*n == cap) {
      hubc_id *w = realloc(v, 2 * cap * sizeof *v);
      if (!w) break;
      v = w, cap *= 2;
    }
    if (parse_id(a, &v[*n])) {
      fprintf(stderr, "hubc lists: '%s' is not a contact id\n", a);
      free(v);
      return -1;
    }
    ++*n;
  }
  *out = v;
  return 0;
}

int cmd_lists(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc lists list\n"
         "       hubc lists create NAME [--filter TEXT]   static, or active with a filter (S2)\n"
         "       hubc lists add LIST ID…|-                 add contacts (ids, or one per line on stdin)\n"
         "       hubc lists remove LIST ID…|-\n"
         "       hubc lists set-filter LIST TEXT            an active list's new filter (members recomputed)\n"
         "       hubc lists show LIST                       the list and its member ids\n"
         "       hubc lists delete LIST\n"
         "LIST is an id or a name.");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  int code, rc = 0;
  hubc_id id = 0;
  if (arg_is(sub, "list") && argc == 2) {
    if ((code = session_open(s, 0))) return code;
    hubc_id ids[256], after = 0;
    size_t n;
    if (s->json) printf("[");
    int first = 1;
    while (!rc && (rc = hubc_list_ids(&n, ids, 256, s->store, after)) == 0) {
      for (size_t i = 0; i < n && !rc; i++) {
        hubc_list *l;
        if ((rc = hubc_list_get(&l, s->store, ids[i]))) break;
        print_list(l, s->json, first);
        first = 0;
        hubc_list_free(l);
      }
      after = ids[n - 1];
    }
    if (rc == HUBC_ITEROVER) rc = 0;
    if (s->json) printf("]\n");
    if (rc) code = fail(rc, "lists list");
  } else if (arg_is(sub, "create") && argc >= 3) {
    const char *filter = NULL, *name = NULL;
    for (int i = 2; i < argc; i++) {
      const char *v;
      if ((v = arg_value(argc, argv, &i, "--filter"))) filter = v;
      else if (argv[i][0] == '-' && argv[i][1] == '-') return usage_error("lists", "unknown option '%s'", argv[i]);
      else if (!name) name = argv[i];
      else return usage_error("lists", "one name, not '%s' too", argv[i]);
    }
    if (!name) return usage_error("lists", "create needs a name");
    if ((code = session_open(s, 0))) return code;
    if ((rc = hubc_list_create(&id, s->store, s->actor, name, filter))) code = fail(rc, "lists create");
    else printf(s->json ? "{\"id\": %lld}\n" : "created list %lld\n", (long long)id);
  } else if ((arg_is(sub, "add") || arg_is(sub, "remove")) && argc >= 4) {
    hubc_id *ids = NULL;
    size_t n = 0;
    if (read_ids(argc, argv, 3, &ids, &n)) return usage_error("lists", "expected contact ids");
    if ((code = session_open(s, 0))) {
      free(ids);
      return code;
    }
    uint64_t changed = 0;
    int add = arg_is(sub, "add");
    if ((rc = resolve_list(s, argv[2], &id))) code = fail(rc, "lists");
    else if ((rc = add ? hubc_list_add(&changed, s->store, s->actor, id, ids, n)
                       : hubc_list_remove(&changed, s->store, s->actor, id, ids, n)))
      code = fail(rc, add ? "lists add" : "lists remove");
    else if (s->json) printf("{\"%s\": %llu}\n", add ? "added" : "removed", (unsigned long long)changed);
    else printf("list %lld: %llu %s\n", (long long)id, (unsigned long long)changed, add ? "added" : "removed");
    free(ids);
  } else if (arg_is(sub, "show") && argc == 3) {
    if ((code = session_open(s, 0))) return code;
    hubc_list *l = NULL;
    if ((rc = resolve_list(s, argv[2], &id)) || (rc = hubc_list_get(&l, s->store, id))) code = fail(rc, "lists show");
    else {
      if (s->json) printf("{\"list\": ");
      print_list(l, s->json, 1);
      printf(s->json ? ", \"members\": [" : "members:");
      hubc_id page[1024], after = 0;
      size_t n;
      int first = 1;
      while (!hubc_list_is_deleted(l) && hubc_list_members(&n, page, 1024, s->store, id, after) == 0) {
        for (size_t i = 0; i < n; i++, first = 0) printf(s->json ? "%s%lld" : "%s %lld", s->json && !first ? ", " : "", (long long)page[i]);
        after = page[n - 1];
      }
      printf(s->json ? "]}\n" : "\n");
      hubc_list_free(l);
    }
  } else if (arg_is(sub, "set-filter") && argc == 4) {
    if ((code = session_open(s, 0))) return code;
    uint64_t n = 0;
    if ((rc = resolve_list(s, argv[2], &id)) || (rc = hubc_list_set_filter(s->store, s->actor, id, argv[3])) ||
        (rc = hubc_list_count(&n, s->store, id)))
      code = fail(rc, "lists set-filter");
    else if (s->json) printf("{\"id\": %lld, \"members\": %llu}\n", (long long)id, (unsigned long long)n);
    else printf("list %lld: %llu members\n", (long long)id, (unsigned long long)n);
  } else if (arg_is(sub, "delete") && argc == 3) {
    if ((code = session_open(s, 0))) return code;
    if ((rc = resolve_list(s, argv[2], &id)) || (rc = hubc_list_delete(s->store, s->actor, id)))
      code = fail(rc, "lists delete");
    else printf("deleted list %lld\n", (long long)id);
  } else {
    return usage_error("lists", "unknown or incomplete subcommand '%s'", sub);
  }
  session_close(s);
  return code;
}

static void print_view(const hubc_view *v, int json, int first) {
  const char *sort = hubc_view_sort_by(v);
  if (json) {
    printf("%s{\"id\": %lld, \"name\": ", first ? "" : ", ", (long long)hubc_view_id(v));
    json_str(stdout, hubc_view_name(v));
    printf(", \"filter\": ");
    json_str(stdout, hubc_view_filter(v));
    printf(", \"sort\": ");
    if (sort) json_str(stdout, sort);
    else printf("null");
    printf(", \"descending\": %s}", hubc_view_descending(v) ? "true" : "false");
  } else {
    printf("%4lld  %-30s %s%s  %s\n", (long long)hubc_view_id(v), hubc_view_name(v), sort ? sort : "hs_object_id",
           hubc_view_descending(v) ? " desc" : "", hubc_view_filter(v));
  }
}

static int resolve_view(session *s, const char *arg, hubc_id *id) {
  if (parse_id(arg, id) == 0) return 0;
  return hubc_view_find(id, s->store, arg);
}

/* One page of a view in its saved sort: id, email and the sort value per
 * line, then the cursor of the next page if there is one. */
static int view_page(session *s, hubc_id view, uint64_t limit, const char *cursor) {
  hubc_view *v = NULL;
  int rc = hubc_view_get(&v, s->store, view);
  if (rc) return rc;
  hubc_query_options o;
  hubc_query_options_init(&o, HUBC_QUERY_OPTIONS_VERSION);
  o.view = view;
  o.limit = limit + 1; /* one more: whether there is a next page */
  o.cursor = cursor;
  hubc_query_iterator *it = NULL;
  if ((rc = hubc_query_iterator_new(&it, s->store, NULL, &o))) {
    hubc_view_free(v);
    return rc;
  }
  const char *sort = hubc_view_sort_by(v);
  char *next = NULL;
  uint64_t shown = 0;
  hubc_contact *c[64];
  size_t got = 0;
  if (s->json) printf("{\"view\": %lld, \"contacts\": [", (long long)view);
  while (shown < limit && (rc = hubc_query_iterator_next_contacts(&got, c, limit - shown < 64 ? limit - shown : 64, it)) == 0) {
    for (size_t i = 0; i < got; i++, shown++) {
      const char *email = hubc_contact_prop(c[i], "email"), *val = sort ? hubc_contact_prop(c[i], sort) : NULL;
      if (s->json) {
        printf("%s{\"id\": %lld, \"email\": ", shown ? ", " : "", (long long)hubc_contact_id(c[i]));
        if (email) json_str(stdout, email);
        else printf("null");
        printf("}");
      } else {
        printf("%8lld  %-32s %s\n", (long long)hubc_contact_id(c[i]), email ? email : "", val ? val : "");
      }
      hubc_contact_free(c[i]);
    }
  }
  if (rc == HUBC_ITEROVER) rc = 0;
  hubc_id more = 0;
  if (!rc && shown == limit) {
    const char *at = hubc_query_iterator_cursor(it);
    if (at && hubc_query_iterator_next(&more, it) == 0) next = strdup(at);
  }
  if (s->json) {
    printf("], \"next\": ");
    if (next) json_str(stdout, next);
    else printf("null");
    printf("}\n");
  } else if (next) {
    printf("next page: --cursor '%s'\n", next);
  }
  free(next);
  hubc_query_iterator_free(it);
  hubc_view_free(v);
  return rc;
}

int cmd_views(int argc, char **argv, session *s) {
  if (argc < 2 || arg_is(argv[1], "--help")) {
    puts("usage: hubc views list\n"
         "       hubc views create NAME --filter TEXT [--sort PROPERTY] [--desc]   (S3)\n"
         "       hubc views update VIEW [--filter TEXT] [--sort PROPERTY] [--desc]\n"
         "       hubc views show VIEW                 the view and how many contacts it selects\n"
         "       hubc views contacts VIEW [--limit N] [--cursor C]   one page in the view's sort (default 50)\n"
         "       hubc views rename VIEW NAME\n"
         "       hubc views delete VIEW\n"
         "VIEW is an id or a name; filters use it as IN VIEW 'name'.");
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  int code, rc = 0;
  hubc_id id = 0;
  if (arg_is(sub, "list") && argc == 2) {
    if ((code = session_open(s, 0))) return code;
    hubc_id ids[256], after = 0;
    size_t n;
    int first = 1;
    if (s->json) printf("[");
    while (!rc && (rc = hubc_view_ids(&n, ids, 256, s->store, after)) == 0) {
      for (size_t i = 0; i < n && !rc; i++) {
        hubc_view *v;
        if ((rc = hubc_view_get(&v, s->store, ids[i]))) break;
        print_view(v, s->json, first);
        first = 0;
        hubc_view_free(v);
      }
      after = ids[n - 1];
    }
    if (rc == HUBC_ITEROVER) rc = 0;
    if (s->json) printf("]\n");
    if (rc) code = fail(rc, "views list");
  } else if ((arg_is(sub, "create") || arg_is(sub, "update")) && argc >= 3) {
    const char *filter = NULL, *sort = NULL;
    int desc = 0;
    for (int i = 3; i < argc; i++) {
      const char *v;
      if ((v = arg_value(argc, argv, &i, "--filter"))) filter = v;
      else if ((v = arg_value(argc, argv, &i, "--sort"))) sort = v;
      else if (arg_is(argv[i], "--desc")) desc = 1;
      else return usage_error("views", "unknown argument '%s'", argv[i]);
    }
    int create = arg_is(sub, "create");
    if (create && !filter) return usage_error("views", "create needs --filter");
    if ((code = session_open(s, 0))) return code;
    if (create) {
      if ((rc = hubc_view_create(&id, s->store, s->actor, argv[2], filter, sort, desc))) code = fail(rc, "views create");
      else printf(s->json ? "{\"id\": %lld}\n" : "created view %lld\n", (long long)id);
    } else if ((rc = resolve_view(s, argv[2], &id)) || (rc = hubc_view_update(s->store, s->actor, id, filter, sort, desc))) {
      code = fail(rc, "views update");
    } else {
      printf("updated view %lld\n", (long long)id);
    }
  } else if (arg_is(sub, "show") && argc == 3) {
    if ((code = session_open(s, 0))) return code;
    hubc_view *v = NULL;
    hubc_filter *f = NULL;
    uint64_t n = 0;
    if ((rc = resolve_view(s, argv[2], &id)) || (rc = hubc_view_get(&v, s->store, id))) code = fail(rc, "views show");
    else {
      print_view(v, s->json, 1);
      if (!hubc_view_is_deleted(v)) {
        char text[1200];
        snprintf(text, sizeof text, "IN VIEW '%s'", hubc_view_name(v));
        if (!strchr(hubc_view_name(v), '\'') && hubc_filter_compile(&f, s->store, text) == 0 &&
            hubc_filter_count(&n, s->store, f) == 0)
          printf(s->json ? "\n{\"selected\": %llu}\n" : "selects %llu contacts\n", (unsigned long long)n);
        hubc_filter_free(f);
      }
      hubc_view_free(v);
    }
  } else if (arg_is(sub, "contacts") && argc >= 3) {
    uint64_t limit = 50;
    const char *cursor = NULL, *v;
    for (int i = 3; i < argc; i++) {
      if ((v = arg_value(argc, argv, &i, "--cursor"))) cursor = v;
      else if ((v = arg_value(argc, argv, &i, "--limit"))) {
        if (parse_u64(v, &limit) || !limit || limit > 1000000)
          return usage_error("views", "--limit needs a number from 1 to 1000000, not '%s'", v);
      } else return usage_error("views", "unknown argument '%s'", argv[i]);
    }
    if ((code = session_open(s, 0))) return code;
    if ((rc = resolve_view(s, argv[2], &id)) || (rc = view_page(s, id, limit, cursor))) code = fail(rc, "views contacts");
  } else if (arg_is(sub, "rename") && argc == 4) {
    if ((code = session_open(s, 0))) return code;
    if ((rc = resolve_view(s, argv[2], &id)) || (rc = hubc_view_rename(s->store, s->actor, id, argv[3])))
      code = fail(rc, "views rename");
    else printf("renamed view %lld\n", (long long)id);
  } else if (arg_is(sub, "delete") && argc == 3) {
    if ((code = session_open(s, 0))) return code;
    if ((rc = resolve_view(s, argv[2], &id)) || (rc = hubc_view_delete(s->store, s->actor, id)))
      code = fail(rc, "views delete");
    else printf("deleted view %lld\n", (long long)id);
  } else {
    return usage_error("views", "unknown or incomplete subcommand '%s'", sub);
  }
  session_close(s);
  return code;
}
