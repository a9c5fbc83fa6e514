"""The hubc command end to end: the main job (import with a wrong, then the
right typed confirmation; progress; the error file; a bulk change by
filter; billing as JSON; the SVG report against the billing numbers) and
bad input at the terminal (usage errors, a locked store, Ctrl-C at a
prompt, a filter with a caret). HUBC_CLI names the program."""
import calendar
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

HUBC = os.environ.get("HUBC_CLI", "hubc")
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "data", "sample.csv")


def day(y, m, d):
    return str(calendar.timegm((y, m, d, 9, 0, 0)))


class Cli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.env = dict(os.environ, HUBC_STORE=os.path.join(self.dir.name, "c.hubc"), HUBC_CLOCK=day(2024, 1, 10))

    def tearDown(self):
        self.dir.cleanup()

    def run_hubc(self, *args, stdin=None, clock=None):
        env = dict(self.env, HUBC_CLOCK=clock) if clock else self.env
        return subprocess.run([HUBC, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)

    def ok(self, *args, **kw):
        r = self.run_hubc(*args, **kw)
        self.assertEqual(r.returncode, 0, f"hubc {' '.join(args)}: {r.stderr}")
        return r

    def init(self):
        self.ok("init", "--admin", "owner@example.com", "--subscription", "professional")

    def billing(self, clock=None):
        return json.loads(self.ok("--json", "billing", clock=clock).stdout)

    def test_I7_import_wrong_then_right_confirmation_error_file_and_progress(self):
        self.init()
        data = os.path.join(self.dir.name, "sample.csv")
        with open(SAMPLE, encoding="utf-8") as src, open(data, "w", encoding="utf-8") as dst:
            dst.write(src.read())
        plan = json.loads(self.ok("--json", "import", data, "--marketing", "--plan").stdout)
        self.assertEqual(plan["to_create"], 300)
        self.assertEqual(plan["merged"], 1)
        self.assertEqual(plan["skipped"], 4)
        n = plan["to_set_marketing"]
        self.assertEqual(n, 300)
        wrong = self.run_hubc("import", data, "--marketing", stdin=f"{n - 1}\n")
        self.assertEqual(wrong.returncode, 3, wrong.stderr)
        self.assertIn(f"confirm with {n}", wrong.stderr)
        self.assertEqual(self.billing()["billable"], 0)  # nothing changed
        self.assertFalse(os.path.exists(data + ".errors.csv"))
        right = self.run_hubc("--json", "import", data, "--marketing", stdin=f"{n}\n")
        self.assertEqual(right.returncode, 0, right.stderr)
        done = json.loads(right.stdout)
        self.assertEqual(done["set_as_marketing"], n)
        self.assertEqual(done["import_id"], 1)
        # progress on stderr: plain lines when not a terminal, every phase
        for phase in ("reading", "checking", "applying"):
            self.assertIn(f"progress: {phase}", right.stderr)
        with open(data + ".errors.csv", encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "Email,First Name,Last Name,City,Lifecycle Stage,Notes,error_line,error_column,error")
        self.assertEqual(len(lines), 5)
        self.assertTrue(any("not-an-email" in l and ",Email," in l for l in lines))
        self.assertEqual(self.billing()["billable"], n)

    def test_contacts_table_keeps_multiline_and_long_values_on_one_aligned_row(self):
        self.init()
        data = os.path.join(self.dir.name, "odd.csv")
        long_city = "Citt\u00e0 di Castello " * 4
        with open(data, "w", encoding="utf-8") as f:
            f.write(f'Email,First Name,City\na@x.com,"Anna\nMaria",Forl\u00ec\tEst\nb@x.com,B,{long_city}\n')
        self.ok("import", data, "--yes", "0")
        lines = self.ok("contacts", "list", "--props", "email,firstname,city").stdout.splitlines()
        self.assertEqual(len(lines), 4, lines)  # header, two contacts, the count
        self.assertEqual(lines[1].split(), ["a@x.com", "Anna\\nMaria", "Forl\u00ec\\tEst"])
        # the city column starts at the same place on every row
        starts = {lines[0].index("city"), lines[1].index("Forl"), lines[2].index("Citt")}
        self.assertEqual(len(starts), 1, lines)
        city = lines[2][lines[2].index("Citt"):]
        self.assertEqual(len(city), 40)  # code points: cut at 40 columns
        self.assertTrue(city.endswith("\u2026") and long_city.startswith(city[:-1]), city)

    def test_S4_S5_bulk_by_filter_and_billing_report_svg_matches_the_numbers(self):
        self.init()
        self.ok("import", SAMPLE, "--marketing", "--yes", "300")
        f = "city = 'Roma' AND lifecyclestage = 'lead'"
        plan = json.loads(self.ok("--json", "set-non-marketing", "--filter", f, "--plan").stdout)
        k = plan["selected"]
        self.assertGreater(k, 0)
        bad = self.run_hubc("set-non-marketing", "--filter", f, "--yes", str(k + 1))
        self.assertEqual(bad.returncode, 3)
        self.ok("set-non-marketing", "--filter", f, "--yes", str(k))
        b = self.billing()
        self.assertEqual(b["billable"], 300)  # M4: still billable until the update date
        self.assertEqual(b["until_update"], k)
        # two update dates pass: 10 Feb, 10 Mar
        later = day(2024, 3, 20)
        b = self.billing(clock=later)
        self.assertEqual(b["billable"], 300 - k)
        svg = os.path.join(self.dir.name, "billing.svg")
        self.ok("billing", "report", "--svg", svg, clock=later)
        csv_rows = self.ok("billing", "report", "--csv", clock=later).stdout.splitlines()[1:]
        bars = [e for e in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}rect") if e.get("class") == "bar"]
        self.assertEqual(len(bars), 2)
        self.assertEqual(len(csv_rows), 2)
        for bar, row in zip(bars, csv_rows):
            number, _start, _end, peak, at_close, tier = row.split(",")
            self.assertEqual(bar.get("data-period"), number)
            self.assertEqual(bar.get("data-billable"), at_close)
            self.assertEqual(bar.get("data-peak"), peak)
            self.assertEqual(bar.get("data-tier"), tier)
        self.assertEqual(csv_rows[0].split(",")[4], "300")
        self.assertEqual(int(csv_rows[1].split(",")[4]), 300 - k)
        # the bar heights are in proportion to the numbers
        h = [float(bar.get("height")) for bar in bars]
        self.assertAlmostEqual(h[1] / h[0], (300 - k) / 300, places=2)

    def test_forms_submit_and_contacts_json(self):
        self.init()
        form = json.loads(self.ok("--json", "forms", "create", "Newsletter", "firstname", "city*").stdout)["id"]
        sub = json.loads(self.ok("--json", "submit", str(form), "email=Anna@X.it", "city=Roma").stdout)
        shown = json.loads(self.ok("--json", "contacts", "show", str(sub["contact"])).stdout)
        self.assertEqual(shown["email"], "anna@x.it")
        self.assertEqual(shown["hs_marketable_status"], "true")  # F4: the switch is on
        missing = self.run_hubc("submit", str(form), "email=b@x.it")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("city", missing.stderr)
        listed = json.loads(self.ok("--json", "contacts", "list", "--filter", "city = 'roma'").stdout)
        self.assertEqual([c["email"] for c in listed], ["anna@x.it"])

    def test_W2_W3_W6_workflows_create_run_history(self):
        self.init()
        clock = "1709287200"  # 2024-03-01 10:00 UTC
        self.ok("forms", "create", "News", "city", clock=clock)
        self.ok("forms", "switch", "1", "off", clock=clock)
        bad = self.run_hubc("workflows", "create", "Bad", "status:marketing", "delay:-5", clock=clock)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("action 1 (delay)", bad.stderr)
        wf = json.loads(self.ok("--json", "workflows", "create", "Welcome", "--form", "1", "set:jobtitle=lead",
                                "delay:60", "status:marketing", clock=clock).stdout)["id"]
        self.ok("workflows", "activate", str(wf), clock=clock)
        sub = json.loads(self.ok("--json", "submit", "1", "email=a@x.it", "city=Roma", clock=clock).stdout)
        self.ok("workflows", "run", clock=clock)
        [e] = json.loads(self.ok("--json", "workflows", "enrollments", str(wf), clock=clock).stdout)
        self.assertEqual((e["contact"], e["state"], e["step"]), (sub["contact"], "active", 2))
        self.ok("workflows", "run", clock="1709287260")
        shown = json.loads(self.ok("--json", "contacts", "show", str(sub["contact"]), clock="1709287260").stdout)
        self.assertEqual(shown["jobtitle"], "lead")
        self.assertEqual(shown["hs_marketable_status"], "true")
        events = [h["event"] for h in json.loads(self.ok("--json", "workflows", "history", str(e["id"]),
                                                         clock="1709287260").stdout)]
        self.assertEqual(events, ["enrolled", "done", "waiting", "done", "finished"])
        listed = json.loads(self.ok("--json", "workflows", "list", clock="1709287260").stdout)
        self.assertEqual([(w["name"], w["active"], w["actions"]) for w in listed], [("Welcome", True, 3)])

    def test_W2_workflow_list_actions(self):
        self.init()
        self.ok("lists", "create", "Romans")
        self.ok("lists", "create", "Leads", "--filter", "lifecyclestage = 'lead'")
        bad = self.run_hubc("workflows", "create", "Bad", "list-add:x")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("list-add:LIST_ID", bad.stderr)
        active = self.run_hubc("workflows", "create", "Bad", "list-add:2")
        self.assertEqual(active.returncode, 1)
        self.assertIn("action 0 (add to static list)", active.stderr)
        wf = json.loads(self.ok("--json", "workflows", "create", "Tag", "--filter", "city = 'Roma'", "list-add:1",
                                "delay:60", "list-remove:1").stdout)["id"]
        self.assertIn("list-add:1, delay:60, list-remove:1", self.ok("workflows", "list").stdout)
        self.ok("workflows", "activate", str(wf))
        c = json.loads(self.ok("--json", "contacts", "create", "email=a@x.it", "city=Roma").stdout)["id"]
        self.ok("workflows", "run")
        self.assertEqual(json.loads(self.ok("--json", "lists", "show", "1").stdout)["members"], [c])
        self.ok("workflows", "run", clock=str(int(self.env["HUBC_CLOCK"]) + 60))
        self.assertEqual(json.loads(self.ok("--json", "lists", "show", "1").stdout)["members"], [])

    def test_F6_W2_external_form_trigger(self):
        self.init()
        wf = json.loads(self.ok("--json", "workflows", "create", "Ext", "--external-form", "77",
                                "set:jobtitle=ext").stdout)["id"]
        self.ok("workflows", "activate", str(wf))
        [listed] = json.loads(self.ok("--json", "workflows", "list").stdout)
        self.assertEqual(listed["external_form"], 77)
        sub = json.loads(self.ok("--json", "submit", "--external", "77", "email=e@x.it").stdout)
        [e] = json.loads(self.ok("--json", "workflows", "enrollments", str(wf)).stdout)
        self.assertEqual(e["contact"], sub["contact"])

    def test_S2_S3_lists_and_views(self):
        self.init()
        for email, city in (("a@example.com", "Roma"), ("b@example.com", "Milano")):
            self.ok("contacts", "create", f"email={email}", f"city={city}")
        self.ok("lists", "create", "VIP")
        self.assertIn("2 added", self.ok("lists", "add", "VIP", "-", stdin="1\n2\n2\n").stdout)
        self.ok("lists", "create", "Romans", "--filter", "city = 'Roma'")
        lists = json.loads(self.ok("--json", "lists", "list").stdout)
        self.assertEqual([(l["name"], l["active"], l["members"]) for l in lists],
                         [("VIP", False, 2), ("Romans", True, 1)])
        self.ok("contacts", "update", "2", "city=Roma")  # the active list follows
        shown = json.loads(self.ok("--json", "lists", "show", "Romans").stdout)
        self.assertEqual(shown["members"], [1, 2])
        self.ok("lists", "remove", "VIP", "1")
        self.assertEqual(json.loads(self.ok("--json", "lists", "show", "1").stdout)["members"], [2])
        self.ok("views", "create", "In Rome", "--filter", "IN LIST 2", "--sort", "email", "--desc")
        views = json.loads(self.ok("--json", "views", "list").stdout)
        self.assertEqual(views[0]["sort"], "email")
        self.assertTrue(views[0]["descending"])
        self.assertIn("selects 2 contacts", self.ok("views", "show", "in rome").stdout)
        page = json.loads(self.ok("--json", "views", "contacts", "In Rome", "--limit", "1").stdout)
        self.assertEqual([c["email"] for c in page["contacts"]], ["b@example.com"])  # email descending
        last = json.loads(self.ok("--json", "views", "contacts", "In Rome", "--cursor", page["next"]).stdout)
        self.assertEqual(([c["id"] for c in last["contacts"]], last["next"]), ([1], None))
        self.assertIn("next page: --cursor", self.ok("views", "contacts", "1", "--limit=1").stdout)
        refused = self.run_hubc("lists", "delete", "Romans")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("view 'In Rome'", refused.stderr)
        loop = self.run_hubc("views", "update", "In Rome", "--filter", "IN VIEW 'In Rome'")
        self.assertEqual(loop.returncode, 1)
        self.assertIn("read itself", loop.stderr)
        self.assertIn("1 members", self.ok("lists", "set-filter", "Romans", "email STARTS WITH 'a'").stdout)
        self.assertEqual(json.loads(self.ok("--json", "lists", "show", "Romans").stdout)["list"]["filter"],
                         "email STARTS WITH 'a'")
        self.assertIn("selects 1 contacts", self.ok("views", "show", "in rome").stdout)  # the view follows
        self_read = self.run_hubc("lists", "set-filter", "Romans", "IN VIEW 'In Rome'")
        self.assertEqual(self_read.returncode, 1)
        self.assertIn("'Romans') would read itself", self_read.stderr)
        self.ok("views", "delete", "In Rome")
        self.ok("lists", "delete", "Romans")
        self.assertEqual(self.run_hubc("lists", "add", "VIP", "x").returncode, 2)

    def test_bad_input_usage_filter_caret_no_store(self):
        r = self.run_hubc("contacts", "list")
        self.assertEqual(r.returncode, 5)  # no store yet
        self.assertIn("hubc init", r.stderr)
        self.init()
        r = self.run_hubc("contcts")
        self.assertEqual(r.returncode, 2)
        self.assertIn("did you mean 'contacts'", r.stderr)
        r = self.run_hubc("import", "--bogus", SAMPLE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--bogus", r.stderr)
        r = self.run_hubc("import", os.path.join(self.dir.name, "missing.csv"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.csv: No such file or directory", r.stderr)
        r = self.run_hubc("import", *[SAMPLE] * 65, "--plan")  # one file too many is refused, not dropped
        self.assertEqual(r.returncode, 2)
        self.assertIn("at most 64 files", r.stderr)
        r = self.run_hubc("import", SAMPLE, "--map", "C" * 300 + "=email", "--plan")  # was a write past a buffer
        self.assertEqual(r.returncode, 2)
        self.assertIn("longer than 255 bytes", r.stderr)
        r = self.run_hubc("contacts", "list", "--props", ",".join(["email"] * 33))
        self.assertEqual(r.returncode, 2)
        self.assertIn("at most 32 properties", r.stderr)
        r = self.run_hubc("contacts", "list", "--filter", "city = 'Roma' AND (")
        self.assertEqual(r.returncode, 2)
        text_line, caret_line = r.stderr.splitlines()[-2:]
        self.assertEqual(caret_line.index("^"), text_line.index("(") + 1)  # the end, after '('
        self.assertEqual(self.billing()["billable"], 0)

    def test_locked_store_names_the_holder_and_ctrl_c_changes_nothing(self):
        self.init()
        # a prompt holds the store open
        p = subprocess.Popen([HUBC, "import", SAMPLE, "--marketing"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env)
        deadline = time.time() + 30
        err = ""
        while "Type the number" not in err and time.time() < deadline:
            err += os.read(p.stderr.fileno(), 4096).decode()
        self.assertIn("Type the number", err)
        r = self.run_hubc("billing")
        self.assertEqual(r.returncode, 4)
        self.assertIn(f"pid {p.pid}", r.stderr)
        p.send_signal(signal.SIGINT)  # Ctrl-C at the prompt
        _, rest = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 130, err + rest)
        self.assertIn("nothing imported", rest)
        self.assertEqual(self.billing()["billable"], 0)


if __name__ == "__main__":
    unittest.main()
