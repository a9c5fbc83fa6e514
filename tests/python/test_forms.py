"""Forms and submissions from Python (F1–F6, issue 14): each rule reachable
through store.forms / Form, errors as the package's exception classes
naming the field, nothing changed by a refused call."""

import calendar
import os
import tempfile
import threading
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class FormTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock(T0)
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                              commitment=hc.Commitment.ANNUAL)
        self.addCleanup(self.store.close)
        self.form = self.store.forms.create(
            "Newsletter", ["First Name", hc.FormField("city", "Your city", required=True)])

    def assertUnchangedBy(self, fn, exc_class, *words, store=None):
        """fn raises exc_class whose message holds every word; the store's
        dump is as before."""
        store = store or self.store
        before = store.dump()
        with self.assertRaises(exc_class) as cm:
            fn()
        for w in words:
            self.assertIn(w, cm.exception.message)
        self.assertEqual(store.dump(), before, "a refused call changed the store")
        return cm.exception

    def submit(self, email, **props):
        return self.form.submit({"email": email, "city": "Roma", **props})

    # ---- F1: forms -------------------------------------------------------------

    def test_f1_form_has_name_fields_in_order_and_switch_on_by_default(self):
        f = self.form
        self.assertIsInstance(f, hc.Form)
        self.assertEqual(f.name, "Newsletter")
        self.assertTrue(f.marketing)
        self.assertFalse(f.deleted)
        self.assertEqual(f.fields, (hc.FormField("email", "Email", True),
                                    hc.FormField("firstname", "First Name", False),
                                    hc.FormField("city", "Your city", True)))
        self.assertEqual(self.store.forms.get(f.id), f)
        self.assertEqual(self.store.forms.list(), [f])

    def test_f1_update_replaces_name_and_fields_and_forms_persist(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "j.hubc")
            with hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                          journal=path) as s:
                f = s.forms.create("A", ["city"])
                f.update(name="B")
                self.assertEqual((f.name, [x.property for x in f.fields]), ("B", ["email", "city"]))
                f.update(fields=["phone", hc.FormField("email", "Mail", True)])
                self.assertEqual([x.property for x in f.fields], ["phone", "email"])
                f.set_marketing(False)
                f.submit({"email": "a@example.com", "phone": "123"})
                dump = s.dump()
            with hc.Store(actor=ADMIN, clock=self.clock, journal=path) as s:
                self.assertEqual(s.dump(), dump)
                f = s.forms.get(1)
                self.assertEqual((f.name, f.marketing), ("B", False))
                self.assertEqual([x.values for x in f.submissions()],
                                 [{"email": "a@example.com", "phone": "123"}])

    def test_f1_bad_form_definitions_are_refused_naming_the_field(self):
        forms = self.store.forms
        self.assertUnchangedBy(lambda: forms.create("", []), hc.InvalidArgument, "name")
        self.assertUnchangedBy(lambda: forms.create("X", ["city", "nope"]), hc.NotFound,
                               "field 1", "nope")
        self.assertUnchangedBy(lambda: forms.create("X", ["city", "City"]), hc.InvalidArgument,
                               "city")
        self.assertUnchangedBy(lambda: forms.create("X", ["hs_object_id"]), hc.ReadOnly,
                               "hs_object_id")
        with self.assertRaises(TypeError):
            forms.create("X", "city")  # a string is not a list of fields
        with self.assertRaises(TypeError):
            forms.create("X", [("city", True)])
        with self.assertRaises(hc.NotFound):
            forms.get(99)
        with hc.Store(admin_email="a@example.com", clock=self.clock) as s:
            with self.assertRaises(hc.ActorRequired):
                s.forms.create("X")

    # ---- F3, F4: the contact and its status ---------------------------------------

    def test_f4_switch_on_new_contact_is_marketing_reason_form_source_form(self):
        r = self.submit("anna@example.com", firstname="Anna")
        self.assertIsInstance(r, hc.Submitted)
        c = self.store.get(r.contact)
        self.assertEqual((c.status, c.reason_type, c.reason_id), (hc.Status.MARKETING,
                                                                  hc.Source.FORM, self.form.id))
        self.assertEqual((c.source, c.source_id), (hc.Source.FORM, self.form.id))
        self.assertEqual((c["firstname"], c["city"]), ("Anna", "Roma"))
        # P5: the change was made by SYSTEM
        self.assertEqual(self.store.history(r.contact)[0].actor, hc.SYSTEM)

    def test_f4_existing_non_marketing_and_until_update_become_marketing(self):
        a = self.store.create_contact({"email": "a@example.com", "city": "Milano"})
        b = self.store.create_contact({"email": "b@example.com"}, marketing=True)
        self.store.set_non_marketing(b)
        self.assertEqual(self.store.get(b).status, hc.Status.MARKETING_UNTIL_UPDATE)
        self.assertEqual(self.submit("a@example.com").contact, a)
        self.assertEqual(self.submit("b@example.com").contact, b)
        for cid in (a, b):
            c = self.store.get(cid)
            self.assertEqual((c.status, c.reason_type, c.reason_id),
                             (hc.Status.MARKETING, hc.Source.FORM, self.form.id))
            self.assertEqual(c.source, hc.Source.MANUAL)  # whatever created it
        self.assertEqual(self.store.get(a)["city"], "Roma")  # non-empty values overwrite

    def test_f4_switch_off_new_is_non_marketing_existing_keeps_status_never_lowered(self):
        self.form.set_marketing(False)
        self.assertFalse(self.form.marketing)
        m = self.store.create_contact({"email": "m@example.com"}, marketing=True)
        n = self.store.create_contact({"email": "n@example.com"})
        new = self.submit("new@example.com").contact
        self.assertEqual(self.store.get(new).status, hc.Status.NON_MARKETING)
        self.submit("m@example.com")
        self.submit("n@example.com")
        self.assertEqual(self.store.get(m).status, hc.Status.MARKETING)
        self.assertEqual(self.store.get(m).reason_type, hc.Source.MANUAL)
        self.assertEqual(self.store.get(n).status, hc.Status.NON_MARKETING)

    def test_f3_case_and_space_variant_emails_reach_one_contact(self):
        ids = {self.submit(e).contact for e in
               ("anna@example.com", " Anna@Example.COM ", "ANNA@EXAMPLE.COM\t")}
        self.assertEqual(len(ids), 1)
        self.assertEqual(self.store.count(), 1)
        self.assertEqual(len(list(self.form.submissions())), 3)

    # ---- F2: validation first, nothing changed -------------------------------------

    def test_f2_invalid_submissions_leave_nothing_and_name_the_field(self):
        f = self.form
        self.submit("kept@example.com")
        cases = [
            ({"email": "x@example.com"}, hc.InvalidArgument, "city"),               # required
            ({"email": "x@example.com", "city": ""}, hc.InvalidArgument, "city"),   # required, empty
            ({"email": "a b@example.com", "city": "R"}, hc.InvalidArgument, "email"),
            ({"email": "a@@example.com", "city": "R"}, hc.InvalidArgument, "email"),
            ({"email": "x@example.com", "city": "R", "zip": "1"}, hc.InvalidArgument, "zip"),
            ([("email", "x@example.com"), ("city", "R"), ("City", "M")], hc.InvalidArgument,
             "city", "twice"),
            ({"email": "x@example.com", "city": b"\xffRoma"}, hc.InvalidArgument, "city",
             "UTF-8"),
            ({"email": "x@example.com", "city": "x" * 10_000_000}, hc.LimitExceeded, "city"),
            ({"city": "R"}, hc.InvalidArgument, "email"),
        ]
        for values, exc, *words in cases:
            with self.subTest(values=str(values)[:60]):
                self.assertUnchangedBy(lambda: f.submit(values), exc, *words)
        with self.assertRaises(ValueError):  # a NUL byte never reaches C
            f.submit({"email": "x@example.com", "city": "R\0x"})
        self.assertEqual(len(list(f.submissions())), 1)

    def test_f2_deleted_and_unknown_forms_refuse_submissions(self):
        self.submit("a@example.com")
        self.form.delete()
        self.assertTrue(self.form.deleted)
        self.assertUnchangedBy(lambda: self.submit("b@example.com"), hc.NotFound, "deleted")
        # its submissions stay listed, and the form stays in the list
        self.assertEqual(len(list(self.form.submissions())), 1)
        self.assertEqual(self.store.forms.list(), [self.form])
        ghost = hc.Form(self.store, 42)
        self.assertUnchangedBy(lambda: ghost.submit({"email": "c@example.com"}), hc.NotFound,
                               "42")

    def test_f2_a_submission_racing_the_forms_deletion_is_whole_or_refused(self):
        outcomes = []
        started = threading.Event()

        def submit_many():
            for i in range(300):
                try:
                    outcomes.append(self.submit(f"r{i}@example.com"))
                except hc.NotFound:
                    outcomes.append(None)
                started.set()

        t = threading.Thread(target=submit_many)
        t.start()
        started.wait()
        self.form.delete()
        t.join()
        done = [o for o in outcomes if o is not None]
        self.assertEqual(len(outcomes), 300)
        self.assertTrue(done)  # the first one ran before the delete
        # successes first, refusals after the delete; each success complete
        self.assertEqual(outcomes[:len(done)], done)
        self.assertEqual(self.store.count(), len(done))
        self.assertEqual(sorted(s.id for s in self.form.submissions()),
                         sorted(o.submission for o in done))

    # ---- P2, B5 ------------------------------------------------------------------------

    def test_p2_the_switch_needs_marketing_access_other_settings_do_not(self):
        bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(bob, hc.Perm.DEFAULT & ~hc.Perm.MARKETING_ACCESS)
        as_bob = self.store.as_user(bob)
        f = as_bob.forms.get(self.form.id)
        self.assertUnchangedBy(lambda: f.set_marketing(False), hc.PermissionDenied)
        self.assertTrue(f.marketing)
        # creating with the switch off is changing it: refused, nothing created
        self.assertUnchangedBy(lambda: as_bob.forms.create("Off", ["city"], marketing=False),
                               hc.PermissionDenied, "P2")
        f.update(name="Renamed by Bob")
        self.assertEqual(f.name, "Renamed by Bob")
        g = as_bob.forms.create("On", ["city"])
        self.assertTrue(g.marketing)
        # with P2 the switch goes off at creation
        self.assertFalse(self.store.forms.create("Off", [], marketing=False).marketing)

    def test_b5_hard_cap_refuses_a_submission_whole(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                         tier_policy=hc.TierPolicy.HARD_CAP, hard_cap=1)
        self.addCleanup(store.close)
        f = store.forms.create("F")
        f.submit({"email": "a@example.com"})
        e = self.assertUnchangedBy(lambda: f.submit({"email": "b@example.com"}),
                                   hc.LimitExceeded, "2", store=store)
        self.assertEqual(e.code, hc.Code.LIMIT)
        self.assertEqual(store.count(), 1)
        self.assertEqual(len(list(f.submissions())), 1)

    # ---- F5, F6 ------------------------------------------------------------------------

    def test_f5_submissions_are_typed_newest_first_per_form_and_per_contact(self):
        other = self.store.forms.create("Other")
        a1 = self.submit("a@example.com", firstname="Ann")
        self.clock.t += 60
        b = other.submit({"email": "b@example.com"})
        self.clock.t += 60
        a2 = other.submit({"email": "A@example.com"})
        subs = list(self.store.forms.submissions())
        self.assertEqual([s.id for s in subs], [a2.submission, b.submission, a1.submission])
        s = subs[-1]
        self.assertIsInstance(s, hc.Submission)
        self.assertEqual((s.form, s.external, s.contact, s.time),
                         (self.form.id, False, a1.contact, T0))
        self.assertEqual(s.values, {"email": "a@example.com", "city": "Roma", "firstname": "Ann"})
        self.assertEqual([x.id for x in other.submissions()], [a2.submission, b.submission])
        self.assertEqual([x.id for x in self.store.forms.submissions(contact=a1.contact)],
                         [a2.submission, a1.submission])
        self.assertEqual([x.id for x in self.store.forms.submissions(form=other.id,
                                                                     contact=a1.contact)],
                         [a2.submission])

    def test_f5_submission_event_reaches_python(self):
        events = []
        self.store.on_event(events.append)
        r = self.submit("a@example.com")
        sub = [e for e in events if e.type == hc.EventType.SUBMISSION]
        self.assertEqual(len(sub), 1)
        self.assertEqual((sub[0].contact, sub[0].reason_type, sub[0].reason_id, sub[0].submission),
                         (r.contact, hc.Source.FORM, self.form.id, r.submission))
        self.assertIn(hc.EventType.STATUS, [e.type for e in events])
        events.clear()
        with self.assertRaises(hc.InvalidArgument):
            self.form.submit({"email": "b@example.com"})
        self.assertEqual(events, [])  # a refused submission raises nothing

    def test_f6_external_forms_follow_the_store_wide_switch(self):
        forms = self.store.forms
        r = forms.submit_external(77, {"email": "a@example.com", "city": "Roma"})
        c = self.store.get(r.contact)
        self.assertEqual((c.status, c.source, c.source_id, c.reason_type, c.reason_id),
                         (hc.Status.MARKETING, hc.Source.EXTERNAL_FORM, 77,
                          hc.Source.EXTERNAL_FORM, 77))
        self.store.set_source_default(hc.Source.EXTERNAL_FORM, False)
        r2 = forms.submit_external(77, {"email": "b@example.com"})
        self.assertEqual(self.store.get(r2.contact).status, hc.Status.NON_MARKETING)
        subs = list(forms.submissions(form=77, external=True))
        self.assertEqual([(s.id, s.external) for s in subs],
                         [(r2.submission, True), (r.submission, True)])
        self.assertEqual(list(forms.submissions(form=77)), [])  # a HubSpot form 77: none
        self.assertUnchangedBy(lambda: forms.submit_external(0, {"email": "c@example.com"}),
                               hc.InvalidArgument, "form id 0")
        self.assertUnchangedBy(
            lambda: forms.submit_external(5, {"email": "c@example.com", "hs_object_id": "3"}),
            hc.InvalidArgument, "hs_object_id")

    # ---- R4a, R4: integers and lifetimes ----------------------------------------------------

    def test_r4a_ids_are_range_checked_never_truncated(self):
        forms = self.store.forms
        before = self.store.dump()
        for bad in (2**63, 2**64 + 1, -2**63 - 1):
            with self.assertRaises(ValueError):
                forms.get(bad)
            with self.assertRaises(ValueError):
                forms.submit_external(bad, {"email": "a@example.com"})
            with self.assertRaises(ValueError):
                forms.submissions(contact=bad)
            with self.assertRaises(ValueError):
                forms.submissions(form=bad)
        for bad in (1.0, "1", True):
            with self.assertRaises(TypeError):
                forms.get(bad)
            with self.assertRaises(TypeError):
                forms.submit_external(bad, {"email": "a@example.com"})
        with self.assertRaises(hc.InvalidArgument):
            forms.submissions(contact=-1)  # in range for C, refused by it
        self.assertEqual(self.store.dump(), before)

    def test_r4_store_closed_while_iterating_submissions(self):
        for i in range(3):
            self.submit(f"p{i}@example.com")
        subs = self.form.submissions()
        forms = iter(self.store.forms)
        self.assertEqual(next(subs).contact, 3)
        self.assertEqual(next(forms), self.form)
        self.store.close()
        with self.assertRaises(hc.StoreClosed):
            next(subs)
        with self.assertRaises(hc.StoreClosed):  # freed with the store: no use after free
            next(subs)
        with self.assertRaises(hc.StoreClosed):
            next(forms)
        for call in (lambda: self.form.name, lambda: self.submit("x@example.com"),
                     lambda: self.form.set_marketing(False), self.store.forms.list):
            with self.assertRaises(hc.StoreClosed):
                call()


if __name__ == "__main__":
    unittest.main()
