#!/usr/bin/env python3
"""Generates test_api_null.c from the public headers (issue 9 item 21, R4, R5).

For every HUBC_API function and every pointer argument (function pointers
included) the generated test calls the function with NULL there and valid
values everywhere else, on a fresh fixture (fixture.h), and checks the
documented answer:

  * an argument the header documents with "<name> may be NULL" is optional:
    the call must not fail with HUBC_EINVAL;
  * a `void *payload` is the host's and passed through: optional too;
  * otherwise a function returning a value must set the last error to
    HUBC_EINVAL with a message, and return HUBC_EINVAL or 0/NULL;
  * a void function (the *_free / *_close family) must accept NULL.

A control call with every argument valid must not fail with HUBC_EINVAL,
so a refusal is the NULL's doing, not a bad fixture value. A pointer type
the table below does not know makes its function's test fail, naming the
type: add a field to fixture.h and a row here.

usage: gen_api_null.py OUT.c HEADER...
"""
import re
import sys

# valid value of a parameter, by (type) or (type, name); C expressions over `f` (fx *)
BY_TYPE = {
    "hubc_store *": "f->store",
    "hubc_store **": "&f->o_store",
    "const hubc_store_options *": "&f->sopts",
    "hubc_store_options *": "&f->o_sopts",
    "const hubc_create_options *": "&f->copts",
    "hubc_create_options *": "&f->o_copts",
    "const hubc_journal_options *": "&f->jopts",
    "hubc_journal_options *": "&f->o_jopts",
    "hubc_journal *": "f->journal",
    "const hubc_journal *": "f->journal",
    "hubc_journal_info *": "&f->jinfo",
    "hubc_journal **": "&f->o_journal",
    "hubc_contact *": "f->contact",
    "const hubc_contact *": "f->contact",
    "hubc_contact **": "&f->o_contact",
    "hubc_user *": "f->user",
    "const hubc_user *": "f->user",
    "hubc_user **": "&f->o_user",
    "hubc_contact_iterator *": "f->citer",
    "hubc_contact_iterator **": "&f->o_citer",
    "hubc_user_iterator *": "f->uiter",
    "hubc_user_iterator **": "&f->o_uiter",
    "hubc_period_iterator *": "f->piter",
    "hubc_period_iterator **": "&f->o_piter",
    "hubc_history_iterator *": "f->hiter",
    "hubc_history_iterator **": "&f->o_hiter",
    "hubc_period *": "&f->period",
    "hubc_history_entry *": "&f->hist",
    "hubc_billing_info *": "&f->binfo",
    "hubc_property_info *": "&f->pinfo",
    "hubc_loader *": "f->loader",
    "hubc_import *": "f->import",
    "const hubc_import *": "f->import",
    "hubc_import **": "&f->o_import",
    "const hubc_import_options *": "&f->iopts",
    "hubc_import_options *": "&f->o_iopts",
    "hubc_import_error *": "&f->ierr",
    "hubc_import_summary *": "&f->isum",
    "hubc_import_record *": "&f->irec",
    "hubc_form *": "f->form",
    "const hubc_form *": "f->form",
    "hubc_form **": "&f->o_form",
    "hubc_form_iterator *": "f->fiter",
    "hubc_form_iterator **": "&f->o_fiter",
    "hubc_submission_iterator *": "f->siter",
    "hubc_submission_iterator **": "&f->o_siter",
    "hubc_submission *": "&f->sub",
    "hubc_filter **": "&f->o_filter",
    "const hubc_filter *": "f->filter",
    "hubc_filter *": "f->filter",
    "const hubc_query_options *": "&f->qopts",
    "hubc_query_options *": "&f->o_qopts",
    "hubc_query_iterator *": "f->qiter",
    "hubc_query_iterator **": "&f->o_qiter",
    "const hubc_selection *": "&f->sel",
    "hubc_selection *": "&f->o_sel",
    "hubc_bulk_summary *": "&f->bsum",
    "hubc_workflow *": "f->workflow",
    "const hubc_workflow *": "f->workflow",
    "hubc_workflow **": "&f->o_workflow",
    "hubc_workflow_iterator *": "f->witer",
    "hubc_workflow_iterator **": "&f->o_witer",
    "const hubc_workflow_def *": "&f->wdef",
    "hubc_workflow_def *": "&f->o_wdef",
    "hubc_wf_action *": "&f->o_wact",
    "hubc_enrollment *": "&f->enr",
    "hubc_enrollment_iterator *": "f->eiter",
    "hubc_enrollment_iterator **": "&f->o_eiter",
    "hubc_wf_log *": "&f->wlog",
    "hubc_wf_log_iterator *": "f->liter",
    "hubc_wf_log_iterator **": "&f->o_liter",
    "hubc_wf_action_fn": "fx_wf_action",
    "hubc_list *": "f->list",
    "const hubc_list *": "f->list",
    "hubc_list **": "&f->o_list",
    "hubc_view *": "f->view",
    "const hubc_view *": "f->view",
    "hubc_view **": "&f->o_view",
    "const int *": "f->required",
    "const void *": "f->bytes",
    "void *": "f",
    "hubc_write_fn": "fx_write",
    "hubc_event_fn": "fx_event",
    "hubc_id *": "&f->id_out[{i}]",
    "int *": "&f->int_out[{i}]",
    "size_t *": "&f->size_out[{i}]",
    "uint64_t *": "&f->u64_out[{i}]",
    "const char **": "&f->str_out[{i}]",
}
BY_TYPE_NAME = {
    ("hubc_id *", "out_ids"): "f->ids",
    ("const char *", "email"): '"a@example.com"',
    ("const char *", "name"): '"score"',  # a property name not defined yet
    ("const char *", "label"): '"First"',
    ("const char *", "name_or_label"): '"email"',
    ("const char *", "path"): "f->newpath",
    ("const char *", "text"): '"email IS KNOWN"',
    ("const char *", "filter"): '"email IS KNOWN"',
    ("hubc_id *", "ids"): "f->id_out",
    ("const hubc_id *", "ids"): "f->members",
    ("const char *const *", "names"): "fx_names",
    ("const char *const *", "values"): "fx_values",
    ("const char *const *", "emails"): "fx_emails",
    ("const char *const *", "options"): "fx_options",
    ("const char *const *", "properties"): "fx_names",
    ("const char *const *", "labels"): "fx_labels",
}
SCALAR_BY_NAME = {
    "actor": "1", "id": "f->contact_id", "contact": "f->contact_id", "user": "f->user2",
    "type": "HUBC_PROP_ENUMERATION", "select": "HUBC_SELECT_ALL", "source": "HUBC_SOURCE_CHATFLOW",
    "source_id": "1", "marketing": "1", "reason_type": "HUBC_SOURCE_MANUAL", "reason_id": "1",
    "kind": "HUBC_REC_CONTACT", "index": "0", "n": "1", "n_names": "1", "n_rows": "1", "n_options": "1",
    "len": "4", "tier": "0", "permissions": "HUBC_PERM_DEFAULT", "permission": "HUBC_PERM_EDIT_CONTACTS",
    "super_admin": "1", "disabled": "0", "form_id": "f->form_id", "external_form_id": "1", "n_fields": "1",
    "cap": "1", "action": "HUBC_BULK_SET_MARKETING", "preset": "HUBC_PRESET_UNENGAGED",
    "workflow_id": "f->workflow_id", "enrollment_id": "1", "first_wait": "0", "max_wait": "0",
    "list": "f->list_id", "view": "f->view_id", "active_list": "f->active_list_id",
}
FN_POINTER_TYPES = {"hubc_write_fn", "hubc_event_fn", "hubc_clock_fn", "hubc_alloc_fn", "hubc_read_fn",
                    "hubc_progress_fn", "hubc_wf_action_fn"}
PASS_THROUGH = {("void *", "payload"), ("void *", "userdata")}


def norm_type(t):
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"\s*\*", " *", t)
    return t.replace("* *", "**").replace("* const *", "*const *")


def parse_param(p):
    p = p.strip()
    m = re.match(r"(.*?)(\w+)$", p)
    typ, name = m.group(1), m.group(2)
    typ = norm_type(typ)
    if typ.endswith("*const *") or typ.endswith("* const *"):
        typ = typ.replace("* const *", "*const *")
    return typ, name


def parse_header(text):
    """Yields (ret, name, [(type, name)], comment) for each HUBC_API prototype."""
    pos = 0
    for m in re.finditer(r"HUBC_API\s+([^;{]*?)\b(hubc_\w+)\s*\(([^)]*)\)\s*;", text):
        ret = norm_type(m.group(1))
        before = text[pos:m.start()]
        pos = m.end()
        # the comments after the last declaration before this one (a ';' or
        # '}' outside comments ends a declaration)
        comments = []
        for piece in reversed(re.split(r"(/\*.*?\*/)", before, flags=re.S)):
            if piece.startswith("/*"):
                comments.insert(0, piece[2:-2])
            elif re.search(r"[;}]", piece):
                break
        comment = re.sub(r"\s*\*\s*", " ", " ".join(comments))
        params = [] if m.group(3).strip() in ("", "void") else [parse_param(p) for p in m.group(3).split(",")]
        yield ret, m.group(2), params, comment


def is_pointer(typ):
    return "*" in typ or typ in FN_POINTER_TYPES


def optional(pname, typ, comment):
    if (typ, pname) in PASS_THROUGH:
        return True
    return re.search(r"\b%s\b[^.;]*?\bmay be NULL" % re.escape(pname), comment) is not None


def value(func, i, typ, pname):
    if (typ, pname) in BY_TYPE_NAME:
        return BY_TYPE_NAME[(typ, pname)]
    if typ in BY_TYPE:
        return BY_TYPE[typ].format(i=i)
    if typ == "const char *":
        return '"x"'
    if typ == "unsigned int" and pname == "version":
        m = re.match(r"hubc_(\w+)_init$", func)
        return "HUBC_%s_VERSION" % m.group(1).upper() if m else "1"
    if not is_pointer(typ):
        return SCALAR_BY_NAME.get(pname, "0")
    return None


def main():
    out_path, headers = sys.argv[1], sys.argv[2:]
    funcs = []
    for h in sorted(headers):
        with open(h, encoding="utf-8") as fh:
            funcs.extend(parse_header(fh.read()))
    funcs.sort(key=lambda f: f[1])
    c = ["/* Generated by tests/api_null/gen_api_null.py from the public headers: do not edit. */",
         '#include "fixture.h"', ""]
    tests = []
    for ret, name, params, comment in funcs:
        ptrs = [i for i, (t, n) in enumerate(params) if is_pointer(t)]
        if not ptrs:
            continue  # nothing to pass NULL to
        unknown = [(t, n) for i, (t, n) in enumerate(params) if value(name, i, t, n) is None]
        needs_loader = any(t == "hubc_loader *" for t, _ in params)
        c.append("static void call_%s(fx *f, int null_at, result *r) {" % name)
        if unknown:
            c.append("  (void)f, (void)null_at, (void)r;")
            c.append('  fail_msg("%s: no fixture value for %s; add one to tests/api_null (fixture.h and '
                     'gen_api_null.py)");' % (name, ", ".join("%s %s" % tn for tn in unknown)))
        else:
            args = []
            for i, (t, n) in enumerate(params):
                v = value(name, i, t, n)
                args.append("null_at == %d ? NULL : %s" % (i, v) if i in ptrs else v)
            call = "%s(%s)" % (name, ", ".join(args))
            c.append("  fx_clear_error();")
            if ret == "void":
                c.append("  %s;" % call)
                c.append("  fx_result(r, 0);")
            elif "*" in ret:
                c.append("  fx_result(r, %s != NULL);" % call)
            else:
                c.append("  fx_result(r, (long long)%s);" % call)
        c.append("}")
        c.append("")
        opt = [i for i in ptrs if optional(params[i][1], params[i][0], comment)]
        c.append("static void R4_null_%s(void **state) {" % name)
        c.append("  (void)state;")
        c.append("  static const int ptrs[] = {%s};" % ", ".join(str(i) for i in ptrs))
        c.append("  static const int optional[] = {%s};" % ", ".join("1" if i in opt else "0" for i in ptrs))
        c.append("  static const char *const pname[] = {%s};" % ", ".join('"%s"' % params[i][1] for i in ptrs))
        needs = []  # fixture parts only some functions use (fixture.h FX_*)
        if any(re.match(r"(const )?hubc_journal \*$", t) for t, _ in params):
            needs.append("FX_JOURNAL")
        if any(re.match(r"(const )?hubc_import \*$", t) for t, _ in params):
            needs.append("FX_IMPORT")
        if name.startswith(("hubc_form_", "hubc_submission_")):
            needs.append("FX_FORM")
        if name.startswith(("hubc_workflow_", "hubc_enrollment_", "hubc_wf_")):
            needs.append("FX_WORKFLOW")
        c.append("  run(\"%s\", call_%s, %d, %d, %s, ptrs, optional, pname, %d);"
                 % (name, name, 1 if ret == "void" else 0, 1 if needs_loader else 0, " | ".join(needs) or "0",
                    len(ptrs)))
        c.append("}")
        c.append("")
        tests.append("R4_null_%s" % name)
    runner = r'''
/* One function: the control call, then NULL in each pointer argument. */
static void run(const char *fn, fx_call_fn call, int is_void, int in_load, int needs, const int *ptrs,
                const int *optional, const char *const *pname, int n) {
  for (int k = -1; k < n; k++) {
    if (k < 0 && is_void) continue; /* freeing the fixture's object is no control */
    int at = k < 0 ? -1 : ptrs[k];
    fx *f = fx_open(needs);
    result r = {0, 0, ""};
    r.code = 12345; /* "not called": a load callback that never ran */
    if (in_load) fx_run_in_load(f, call, at, &r);
    else call(f, at, &r);
    fx_close(f);
    if (k >= 0 && is_void) continue; /* accepted NULL: no crash is the answer */
    if (r.code == 12345) fail_msg("%s: the call did not run", fn);
    if (k < 0 || optional[k]) {
      if (r.code == HUBC_EINVAL || r.v == HUBC_EINVAL)
        fail_msg("%s with %s%s: refused (%d: %s); the control call must succeed or fail for another reason", fn,
                 k < 0 ? "valid arguments" : "NULL (documented optional) for ", k < 0 ? "" : pname[k], r.code,
                 r.msg);
      continue;
    }
    if (r.code != HUBC_EINVAL || !r.msg[0] || (r.v != HUBC_EINVAL && r.v != 0))
      fail_msg("%s with %s = NULL: returned %lld, last error %d '%s' (want HUBC_EINVAL with a message, and "
               "HUBC_EINVAL or 0/NULL returned; or document '%s may be NULL' in the header)",
               fn, pname[k], r.v, r.code, r.msg, pname[k]);
  }
}
'''
    c.insert(3, runner)
    c.append("int main(void) {")
    c.append("  const struct CMUnitTest tests[] = {")
    for t in tests:
        c.append("      cmocka_unit_test(%s)," % t)
    c.append("  };")
    c.append("  return cmocka_run_group_tests(tests, NULL, NULL);")
    c.append("}")
    # forward declarations of the call functions are not needed: run() takes pointers
    with open(out_path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(c) + "\n")


if __name__ == "__main__":
    main()
