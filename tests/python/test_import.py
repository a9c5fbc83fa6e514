"""CSV import through the package (I1–I10): plan, confirm, commit; errors
naming file, line and column; progress and cancel; lifetime of a plan."""

import calendar
import os
import tempfile
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1

CSV = ("Email,First Name,City\n"
       "anna@example.com,Anna,Roma\n"
       "bob@example.com,Bob,Milano\n"
       "not an email,X,Y\n"
       "carla@example.com,Carla,\n")


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0)
        self.addCleanup(self.store.close)
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        self.path = os.path.join(d.name, "contacts.csv")
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(CSV)

    def test_i7_plan_changes_nothing_and_commit_needs_the_confirmed_number(self):
        before = self.store.dump()
        with self.store.plan_import(self.path, set_marketing=True) as plan:
            s = plan.summary
            self.assertIsInstance(s, hc.ImportSummary)
            self.assertEqual((s.rows, s.to_create, s.to_set_marketing, s.skipped),
                             (4, 3, 3, 1))
            self.assertEqual((s.billable_before, s.projected_billable, s.import_id), (0, 3, 0))
            self.assertEqual(self.store.dump(), before)
            with self.assertRaises(hc.ConfirmMismatch) as cm:
                plan.commit(2)
            self.assertIn("confirm with 3", cm.exception.message)
            self.assertEqual(self.store.dump(), before)
            import_id = plan.commit(s.to_set_marketing)
            self.assertEqual(plan.summary.import_id, import_id)
        self.assertEqual(self.store.billing().billable, 3)
        c = self.store.get_by_email("bob@example.com")
        self.assertEqual((c["firstname"], c["city"], c.status), ("Bob", "Milano", hc.Status.MARKETING))
        self.assertEqual(c.source, hc.Source.IMPORT)
        rec = self.store.import_record(import_id)
        self.assertEqual(self.store.imports(), [rec])
        self.assertEqual((rec.actor, rec.mode, rec.set_marketing, rec.files),
                         (ADMIN, hc.ImportMode.CREATE_AND_UPDATE, True, (self.path,)))
        self.assertEqual((rec.rows, rec.created, rec.set_as_marketing, rec.skipped), (4, 3, 3, 1))

    def test_i5_skipped_rows_name_file_line_and_column(self):
        with self.store.plan_import([self.path]) as plan:
            errors = plan.errors()
            self.assertEqual(len(errors), 1)
            e = errors[0]
            self.assertIsInstance(e, hc.ImportRowError)
            self.assertEqual((e.file, e.line, e.column, e.code), (0, 4, "Email", hc.Code.INVAL))
            self.assertIn("email", e.message)
            lines = plan.error_file(0).splitlines()
            self.assertEqual(lines[0], "Email,First Name,City,error_line,error_column,error")
            self.assertTrue(lines[1].startswith("not an email,X,Y,4,Email,"))
            self.assertEqual(plan.unmapped(), [])

    def test_i2_explicit_mapping_and_skipped_columns(self):
        with self.store.plan_import(self.path, mapping={"Email": "email", "City": None,
                                                        "First Name": "lastname"}) as plan:
            self.assertEqual(plan.summary.to_create, 3)
            plan.commit(0)
        c = self.store.get_by_email("anna@example.com")
        self.assertEqual((c.get("lastname"), c.get("firstname"), c.get("city")),
                         ("Anna", None, None))

    def test_i9_progress_can_cancel_and_nothing_changes(self):
        seen = []
        before = self.store.dump()
        with self.store.plan_import(self.path, progress=seen.append) as plan:
            self.assertLessEqual({hc.ImportPhase.READ, hc.ImportPhase.CHECK},
                                 {p.phase for p in seen})
            self.assertTrue(all(p.bytes_done <= p.bytes_total == len(CSV) for p in seen))
        cancel = [False]
        with self.store.plan_import(self.path, progress=lambda p: cancel[0]) as plan:
            cancel[0] = True  # the commit reports progress too
            with self.assertRaises(hc.Canceled):
                plan.commit(0)
        self.assertEqual(self.store.dump(), before)

        def broken(p):
            raise KeyError("progress broke")
        with self.assertRaisesRegex(KeyError, "progress broke"):
            self.store.plan_import(self.path, progress=broken)
        self.assertEqual(self.store.dump(), before)

    def test_p2_set_marketing_by_import_needs_marketing_access(self):
        bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(bob, hc.Perm.IMPORT | hc.Perm.EDIT_CONTACTS)
        before = self.store.dump()
        with self.assertRaises(hc.PermissionDenied):
            self.store.plan_import(self.path, actor=bob, set_marketing=True)
        with self.store.as_user(bob).plan_import(self.path) as plan:
            plan.commit(0)
        self.assertNotEqual(self.store.dump(), before)
        self.assertEqual(self.store.billing().billable, 0)

    def test_r4_bad_arguments_are_refused_before_the_library(self):
        for kw, exc, word in [({"max_rows": -1}, ValueError, "max_rows"),
                              ({"delimiter": "|"}, ValueError, "delimiter"),
                              ({"mode": 1.0}, TypeError, "mode"),
                              ({"mapping": {"Email": 5}}, TypeError, "mapping")]:
            with self.subTest(options=kw):
                with self.assertRaisesRegex(exc, word):
                    self.store.plan_import(self.path, **kw)
        with self.assertRaises(hc.InvalidArgument):
            self.store.plan_import(self.path, mode=9)
        with self.assertRaises(hc.ActorRequired):
            hc.Store(admin_email="admin@example.com").plan_import(self.path)

    def test_r4_a_plan_after_close_raises_instead_of_reading_freed_memory(self):
        plan = self.store.plan_import(self.path)
        plan.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            plan.summary
        plan = self.store.plan_import(self.path)
        self.store.close()
        for use in (lambda: plan.summary, plan.errors, lambda: plan.commit(0)):
            with self.assertRaises(hc.StoreClosed):
                use()
        plan.close()


if __name__ == "__main__":
    unittest.main()
