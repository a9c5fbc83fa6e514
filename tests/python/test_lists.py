"""Lists (S2) and saved views (S3) from Python: store.lists, store.views,
and lists and views as selections of queries and bulk actions (S4)."""

import calendar
import os
import tempfile
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1


class ListTest(unittest.TestCase):
    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                              commitment=hc.Commitment.ANNUAL)
        self.addCleanup(self.store.close)
        self.ids = self.store.create_contacts(
            [{"email": f"p{i}@example.com", "city": ("Roma", "Milano")[i % 2]} for i in range(6)])
        self.roma = self.ids[0::2]

    def assertUnchangedBy(self, fn, exc_class, *words):
        before = self.store.dump()
        with self.assertRaises(exc_class) as cm:
            fn()
        for w in words:
            self.assertIn(w, cm.exception.message)
        self.assertEqual(self.store.dump(), before, "a refused call changed the store")
        return cm.exception

    # ---- S2: static lists ------------------------------------------------------

    def test_s2_static_list_add_remove_count_contains_iterate(self):
        vip = self.store.lists.create("VIP")
        self.assertIsInstance(vip, hc.ContactList)
        self.assertEqual((vip.name, vip.active, vip.filter, vip.deleted), ("VIP", False, None, False))
        self.assertEqual(vip.add([self.ids[3], self.ids[1], self.ids[3]]), 2)  # repeats once
        self.assertEqual(vip.add([self.ids[1]]), 0)  # already a member
        self.assertEqual(list(vip), [self.ids[1], self.ids[3]])
        self.assertEqual((len(vip), vip.count()), (2, 2))
        self.assertIn(self.ids[1], vip)
        self.assertNotIn(self.ids[0], vip)
        self.assertEqual(vip.remove([self.ids[1], 999]), 1)  # non-members are skipped
        self.assertEqual(list(vip.members()), [self.ids[3]])
        self.assertEqual([c.id for c in vip.contacts()], [self.ids[3]])
        self.assertEqual(self.store.lists.find("vip"), vip)  # names ignore case
        self.assertEqual(self.store.lists.get(vip.id), vip)
        self.assertEqual(self.store.lists.list(), [vip])

    def test_s2_unknown_contacts_add_nothing_and_are_named(self):
        vip = self.store.lists.create("VIP")
        self.assertUnchangedBy(lambda: vip.add([self.ids[0], 999]), hc.NotFound, "999")
        self.store.delete_contact(self.ids[0])
        self.assertUnchangedBy(lambda: vip.add([self.ids[0]]), hc.NotFound, str(self.ids[0]))
        self.assertEqual(len(vip), 0)

    def test_s2_members_are_read_in_batches(self):
        more = self.store.create_contacts([{"firstname": f"x{i}"} for i in range(5000)])
        big = self.store.lists.create("Big")
        self.assertEqual(big.add(more), 5000)
        self.assertEqual(list(big), more)
        self.assertEqual(big.remove(more[:4999]), 4999)
        self.assertEqual(list(big), more[4999:])

    def test_c7_s2_deleting_a_contact_removes_it_from_lists(self):
        vip = self.store.lists.create("VIP")
        vip.add(self.ids[:2])
        self.store.delete_contact(self.ids[0])
        self.assertEqual(list(vip), [self.ids[1]])

    # ---- S2: active lists --------------------------------------------------------

    def test_s2_active_list_follows_contact_changes(self):
        romans = self.store.lists.create("Romans", "city = 'roma'")
        self.assertEqual((romans.active, romans.filter), (True, "city = 'roma'"))
        self.assertEqual(list(romans), self.roma)
        self.store.update_contact(self.ids[1], {"city": "ROMA"})
        self.store.update_contact(self.ids[0], {"city": "Napoli"})
        new = self.store.create_contact({"email": "new@example.com", "city": "Roma"})
        self.store.delete_contact(self.ids[2])
        self.assertEqual(list(romans), [self.ids[1], self.ids[4], new])
        self.assertUnchangedBy(lambda: romans.add([self.ids[3]]), hc.InvalidArgument, "active")
        self.assertUnchangedBy(lambda: self.store.lists.create("Bad", "city 'Roma'"),
                               hc.InvalidArgument, "byte 5")

    def test_s2_set_filter_recomputes_members_and_refuses_like_create(self):
        romans = self.store.lists.create("Romans", "city = 'Roma'")
        others = self.store.lists.create("Others", f"NOT IN LIST {romans.id}")
        romans.set_filter("city = 'Milano'")
        self.assertEqual((romans.filter, list(romans)), ("city = 'Milano'", self.ids[1::2]))
        self.assertEqual(list(others), self.roma)  # a list reading it follows
        self.assertUnchangedBy(lambda: romans.set_filter("city = "), hc.InvalidArgument, "byte 7")
        self.assertUnchangedBy(lambda: romans.set_filter(f"IN LIST {others.id}"),
                               hc.InvalidArgument, "'Romans') would read itself")
        vip = self.store.lists.create("VIP")
        self.assertUnchangedBy(lambda: vip.set_filter("city = 'x'"), hc.InvalidArgument, "static")

    def test_s2_s3_lists_and_views_persist(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "j.hubc")
            with hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                          journal=path) as s:
                ids = s.create_contacts([{"email": f"q{i}@example.com", "city": "Roma"}
                                         for i in range(3)])
                s.lists.create("VIP").add(ids[:2])
                s.lists.create("Romans", "city = 'Roma'")
                s.views.create("V", "IN LIST 1", sort_by="email", descending=True)
                dump = s.dump()
            with hc.Store(actor=ADMIN, clock=lambda: T0, journal=path) as s:
                self.assertEqual(s.dump(), dump)
                self.assertEqual([list(x) for x in s.lists], [ids[:2], ids])
                v = s.views.find("v")
                self.assertEqual((v.filter, v.sort_by, v.descending), ("IN LIST 1", "email", True))

    # ---- S3: views -----------------------------------------------------------------

    def test_s3_views_create_read_update_rename_delete(self):
        v = self.store.views.create("Rome", "city = 'Roma'", sort_by="Email", descending=True)
        self.assertIsInstance(v, hc.View)
        self.assertEqual((v.name, v.filter, v.sort_by, v.descending, v.deleted),
                         ("Rome", "city = 'Roma'", "email", True, False))
        self.assertEqual([c.id for c in v.contacts()], self.roma[::-1])
        page = v.page(2)
        self.assertEqual([c.id for c in page.contacts], self.roma[:0:-1])
        self.assertEqual([c.id for c in v.page(2, cursor=page.cursor).contacts], self.roma[:1])
        v.update(filter="city = 'Milano'")  # sort_by None: by record id
        self.assertEqual((v.sort_by, v.descending), (None, False))
        self.assertEqual([c.id for c in v.contacts()], self.ids[1::2])
        v.rename("Milan")
        self.assertEqual(self.store.views.find("MILAN"), v)
        with self.assertRaises(hc.NotFound):
            self.store.views.find("Rome")
        v.delete()
        self.assertTrue(v.deleted)
        self.assertEqual(self.store.views.list(), [])

    def test_s3_a_view_pages_in_its_saved_sort(self):
        v = self.store.views.create("Rome", "city = 'Roma'", sort_by="email", descending=True)
        self.assertEqual(self.store.views["rome"], v)
        self.assertEqual(self.store.views[v.id], v)
        with self.assertRaises(hc.NotFound):
            self.store.views["nope"]
        by_email = self.roma[::-1]  # p4, p2, p0
        self.assertEqual(list(v), by_email)
        self.assertEqual(list(v.ids(limit=2)), by_email[:2])
        first = v.page(1)
        self.assertEqual([c.id for c in first.contacts], by_email[:1])
        self.store.delete_contact(by_email[0])  # shown already
        new = self.store.create_contact({"email": "zz@example.com", "city": "Roma"})  # sorts first
        self.assertEqual([c.id for c in v.page(5, cursor=first.cursor).contacts], by_email[1:])
        q = v.ids(limit=1)
        self.assertEqual(list(q), [new])
        v.update(filter="city = 'Roma'", sort_by="email")  # the sort changed: the old cursor is refused
        with self.assertRaises(hc.InvalidArgument) as cm:
            list(v.ids(cursor=q.cursor))
        self.assertIn("another sort", cm.exception.message)

    def test_s3_a_view_that_reads_itself_is_refused(self):
        self.assertUnchangedBy(lambda: self.store.views.create("Self", "IN VIEW 'Self'"),
                               hc.InvalidArgument, "Self")
        a = self.store.views.create("A", "city = 'Roma'")
        self.store.lists.create("L", "IN VIEW 'A'")
        self.assertUnchangedBy(lambda: a.update(filter="IN LIST 1"), hc.InvalidArgument)

    def test_s2_s3_a_list_or_view_another_filter_reads_cannot_be_deleted(self):
        romans = self.store.lists.create("Romans", "city = 'Roma'")
        v = self.store.views.create("V", f"IN LIST {romans.id}")
        self.assertUnchangedBy(romans.delete, hc.InvalidArgument, "'V'")
        self.store.lists.create("W", "IN VIEW 'V'")
        self.assertUnchangedBy(v.delete, hc.InvalidArgument, "'W'")
        self.assertUnchangedBy(lambda: v.rename("X"), hc.InvalidArgument, "'W'")

    def test_s1_in_list_and_in_view_inside_filters(self):
        vip = self.store.lists.create("VIP")
        vip.add([self.ids[0], self.ids[1]])
        self.store.views.create("O'Brien's", "city = 'Milano'")
        f = self.store.filter(f"IN LIST {vip.id} AND NOT IN VIEW 'O''Brien''s'")
        self.assertEqual(list(f), [self.ids[0]])
        self.assertEqual(list(self.store.views.find("o'brien's").as_filter()), self.ids[1::2])

    # ---- S4 on lists and views, P1, R4a, R4 ----------------------------------------------

    def test_s4_bulk_on_a_list_and_on_a_view(self):
        vip = self.store.lists.create("VIP")
        vip.add(self.ids[:2])
        bulk = self.store.bulk_set_marketing(vip)
        self.assertEqual(bulk.plan().selected, 2)
        self.assertUnchangedBy(lambda: bulk.commit(confirm=3), hc.ConfirmMismatch, "2")
        bulk.commit(confirm=2)
        self.assertEqual(self.store.billing().billable, 2)
        v = self.store.views.create("Rome", "city = 'Roma'")
        self.assertEqual(self.store.bulk_set_marketing(v).commit(confirm=3).will_change, 2)
        self.assertEqual(self.store.billing().billable, 4)

    def test_p1_defining_lists_needs_a_user_with_edit_contacts(self):
        bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(bob, hc.Perm.IMPORT)
        self.assertUnchangedBy(lambda: self.store.lists.create("X", actor=bob),
                               hc.PermissionDenied)
        self.assertUnchangedBy(lambda: self.store.views.create("X", "city = 'Roma'", actor=bob),
                               hc.PermissionDenied)
        vip = self.store.lists.create("VIP")
        self.assertUnchangedBy(lambda: vip.add(self.ids[:1], actor=bob), hc.PermissionDenied)
        vip.add(self.ids[:1], actor=hc.SYSTEM)  # workflow actions add as SYSTEM
        self.assertEqual(len(vip), 1)
        with hc.Store(admin_email="a@example.com") as s:
            with self.assertRaises(hc.ActorRequired):
                s.lists.create("X")

    def test_r4a_list_and_view_integers_are_range_checked(self):
        vip = self.store.lists.create("VIP")
        before = self.store.dump()
        for bad in (2**63, -2**63 - 1, 2**64 + 1):
            with self.assertRaises(ValueError):
                self.store.lists.get(bad)
            with self.assertRaises(ValueError):
                vip.add([self.ids[0], bad])
            with self.assertRaises(ValueError):
                _ = bad in vip
        for bad in (1.5, "1", True):
            with self.assertRaises(TypeError):
                vip.add([bad])
            with self.assertRaises(TypeError):
                self.store.views.get(bad)
        with self.assertRaises(TypeError):
            vip.add(5)
        self.assertEqual(self.store.dump(), before)

    def test_r4_store_closed_while_iterating_members(self):
        vip = self.store.lists.create("VIP")
        more = self.store.create_contacts([{"firstname": f"x{i}"} for i in range(5000)])
        vip.add(more)
        members = iter(vip)
        self.assertEqual(next(members), more[0])
        self.store.close()
        with self.assertRaises(hc.StoreClosed):
            list(members)  # the first batch is a copy; the next read raises
        for call in (lambda: vip.name, lambda: len(vip), self.store.lists.list):
            with self.assertRaises(hc.StoreClosed):
                call()


if __name__ == "__main__":
    unittest.main()
