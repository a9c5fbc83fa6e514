"""Selecting contacts from Python (S1, S4, S5; issue 11): compiled filters,
batched query iterators, sorted cursor paging, bulk plan and commit."""

import calendar
import os
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1


class CallCounter:
    """Counts the calls made to one library function (the package looks
    functions up on hc.lib at each call)."""

    def __init__(self, test, name):
        self.fn = getattr(hc.lib, name)
        self.calls = 0
        setattr(hc.lib, name, self)
        test.addCleanup(setattr, hc.lib, name, self.fn)

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


class QueryTest(unittest.TestCase):
    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                              commitment=hc.Commitment.ANNUAL)
        self.addCleanup(self.store.close)
        self.ids = self.store.create_contacts(
            [{"email": f"p{i}@example.com", "city": ("Roma", "ROMA", "Milano")[i % 3],
              "firstname": f"n{9 - i}"} for i in range(10)])
        self.roma = [c for i, c in enumerate(self.ids) if i % 3 != 2]

    def assertUnchangedBy(self, fn, exc_class, *words, store=None):
        store = store or self.store
        before = store.dump()
        with self.assertRaises(exc_class) as cm:
            fn()
        for w in words:
            self.assertIn(w, cm.exception.message)
        self.assertEqual(store.dump(), before, "a refused call changed the store")
        return cm.exception

    # ---- S1: filters --------------------------------------------------------------

    def test_s1_filter_counts_matches_and_iterates_ids_and_contacts(self):
        f = self.store.filter("city = 'roma'")  # case-insensitive equality
        self.assertIsInstance(f, hc.Filter)
        self.assertEqual(f.text, "city = 'roma'")
        self.assertEqual(f.count(), len(self.roma))
        self.assertTrue(f.matches(self.roma[0]))
        self.assertFalse(f.matches(self.ids[2]))
        self.assertEqual(list(f), self.roma)
        self.assertEqual([c.id for c in f.contacts()], self.roma)
        self.assertTrue(all(isinstance(c, hc.Contact) for c in f.contacts()))
        self.assertEqual(list(self.store.query_ids()), self.ids)  # no filter: every contact
        with self.assertRaises(hc.NotFound):
            f.matches(999)

    def test_s1_parse_errors_name_the_position_found_and_expected(self):
        e = self.assertUnchangedBy(lambda: self.store.filter("city 'Roma'"),
                                   hc.InvalidArgument, "byte 5", "expected", "found")
        self.assertEqual(e.code, hc.Code.INVAL)
        self.assertUnchangedBy(lambda: self.store.filter("citty = 'Roma'"), hc.NotFound, "citty")
        self.assertUnchangedBy(lambda: self.store.filter("lifecyclestage = 'nope'"),
                               hc.NotFound, "nope")
        self.assertUnchangedBy(lambda: self.store.filter("createdate > 'soon'"),
                               hc.InvalidArgument, "soon")
        deep = "(" * (hc.FILTER_MAX_DEPTH + 1) + "city = 'a'" + ")" * (hc.FILTER_MAX_DEPTH + 1)
        self.assertUnchangedBy(lambda: self.store.filter(deep), hc.LimitExceeded,
                               str(hc.FILTER_MAX_DEPTH))
        with self.assertRaises(ValueError):
            self.store.filter("city = 'a\0'")
        with self.assertRaises(TypeError):
            self.store.filter(["city = 'a'"])

    def test_s1_queries_fetch_in_batches_not_one_call_per_contact(self):
        self.store.create_contacts([{"firstname": f"x{i}"} for i in range(5000)])
        ids = CallCounter(self, "hubc_query_iterator_next_ids")
        snaps = CallCounter(self, "hubc_query_iterator_next_contacts")
        self.assertEqual(len(list(self.store.query_ids())), 5010)
        self.assertLessEqual(ids.calls, 3)  # 4096 per call, then the end
        self.assertEqual(len(list(self.store.query_contacts(limit=600))), 600)
        self.assertLessEqual(snaps.calls, 4)  # 256 per call, then the end
        # store.contacts() reads every contact through the batched query too
        gets = CallCounter(self, "hubc_contact_get")
        self.assertEqual([c.id for c in self.store.contacts()], list(self.store.iter_contacts()))
        self.assertEqual(gets.calls, 0)

    def test_s1_sorting_limit_and_descending(self):
        q = self.store.query_contacts(self.store.filter("city = 'Roma'"), sort_by="First Name",
                                      limit=3)
        names = [c["firstname"] for c in q]
        want = sorted(self.store.get(i)["firstname"] for i in self.roma)
        self.assertEqual(names, want[:3])
        desc = list(self.store.query_ids(sort_by="email", descending=True))
        self.assertEqual(desc, sorted(self.ids, key=lambda i: self.store.get(i).email,
                                      reverse=True))
        self.assertUnchangedBy(lambda: self.store.query_ids(sort_by="nope"), hc.NotFound, "nope")

    def test_s1_cursor_pages_neither_repeat_nor_skip_when_contacts_change(self):
        seen = []
        page = self.store.page(4, sort_by="email")
        self.assertEqual(len(page.contacts), 4)
        seen += [c.email for c in page.contacts]
        # a contact sorting before the cursor, one after it, and a deletion
        self.store.create_contact({"email": "a0@example.com"})
        self.store.create_contact({"email": "p99@example.com"})
        self.store.delete_contact(self.store.find("p5@example.com"))
        while page.cursor is not None:
            page = self.store.page(4, sort_by="email", cursor=page.cursor)
            seen += [c.email for c in page.contacts]
        # a0 sorts before the first page: not seen; p5 deleted; p99 seen once
        self.assertEqual(seen, ["p0@example.com", "p1@example.com", "p2@example.com",
                                "p3@example.com", "p4@example.com", "p6@example.com",
                                "p7@example.com", "p8@example.com", "p99@example.com",
                                "p9@example.com"])
        # an exact multiple of the page size: the last full page says so
        f = self.store.filter("city = 'Milano'")
        self.assertEqual(f.count(), 2)  # p2, p8 (p5 was deleted)
        p = f.page(2)
        self.assertEqual((len(p.contacts), p.cursor), (2, None))
        self.assertUnchangedBy(lambda: self.store.page(2, sort_by="firstname",
                                                       cursor=self.store.page(2, sort_by="email")
                                                       .cursor),
                               hc.InvalidArgument)
        with self.assertRaises(ValueError):
            self.store.page(0)

    def test_s1_iterator_cursor_is_exact_or_refused(self):
        q = self.store.query_ids(sort_by="email")
        next(q)
        with self.assertRaises(ValueError):  # the rest of the batch is fetched already
            q.cursor
        self.assertEqual(len(list(q)), 9)
        rest = list(self.store.query_ids(sort_by="email", cursor=q.cursor))
        self.assertEqual(rest, [])
        q = self.store.query_ids(sort_by="email", limit=4)
        first = list(q)
        more = list(self.store.query_ids(sort_by="email", cursor=q.cursor))
        self.assertEqual(first + more, list(self.store.query_ids(sort_by="email")))

    def test_r4a_query_integers_are_range_checked(self):
        f = self.store.filter("city = 'Roma'")
        for bad in (-1, 2**64):
            with self.assertRaises(ValueError):
                self.store.query_ids(limit=bad)
            with self.assertRaises(ValueError):
                self.store.bulk_set_marketing(f).commit(confirm=bad)
        for bad in (2**63, -2**63 - 1):
            with self.assertRaises(ValueError):
                f.matches(bad)
            with self.assertRaises(ValueError):
                self.store.bulk_set_marketing([self.ids[0], bad])
        for bad in (1.5, "3", True):
            with self.assertRaises(TypeError):
                self.store.query_ids(limit=bad)
            with self.assertRaises(TypeError):
                self.store.bulk_set_marketing([bad])

    def test_r4_store_closed_while_iterating_a_query(self):
        f = self.store.filter("city = 'Roma'")
        ids = self.store.query_ids(f)
        contacts = self.store.query_contacts(sort_by="email")
        self.assertEqual(next(ids), self.roma[0])
        self.assertEqual(next(contacts).email, "p0@example.com")
        self.store.close()
        # already fetched results are copies; the next fetch raises
        self.assertEqual(next(ids), self.roma[1])
        for it in (ids, contacts):
            with self.assertRaises(hc.StoreClosed):
                list(it)
        with self.assertRaises(hc.StoreClosed):
            f.count()
        with self.assertRaises(hc.StoreClosed):
            self.store.bulk_set_marketing(self.ids).plan()

    def test_s1_a_filter_of_another_store_is_refused(self):
        with hc.Store(admin_email="admin@example.com", actor=ADMIN) as other:
            g = other.filter("city = 'Roma'")
            with self.assertRaises(hc.InvalidArgument):
                self.store.query_ids(g)
            with self.assertRaises(hc.InvalidArgument):
                self.store.bulk_set_marketing(g)

    # ---- S4, S5: bulk --------------------------------------------------------------

    def test_s4_plan_counts_and_commit_sets_marketing_reason_bulk(self):
        self.store.set_marketing(self.roma[0])
        bulk = self.store.bulk_set_marketing(self.store.filter("city = 'Roma'"))
        before = self.store.dump()
        p = bulk.plan()
        self.assertEqual(self.store.dump(), before)  # a plan changes nothing
        self.assertIsInstance(p, hc.BulkSummary)
        n = len(self.roma)
        self.assertEqual((p.selected, p.will_change, p.unchanged, p.billable_before,
                          p.billable_after, p.cap_refused), (n, n - 1, 1, 1, n, False))
        done = bulk.commit(confirm=n)
        self.assertEqual(done.selected, n)
        self.assertEqual(self.store.billing().billable, n)
        c = self.store.get(self.roma[1])
        self.assertEqual((c.status, c.reason_type, c.reason_id),
                         (hc.Status.MARKETING, hc.Source.BULK, ADMIN))
        self.assertEqual(self.store.get(self.roma[0]).reason_type, hc.Source.MANUAL)  # kept

    def test_s4_confirm_mismatch_names_the_right_number_and_changes_nothing(self):
        bulk = self.store.bulk_set_marketing("city = 'Roma'")  # a filter text
        n = bulk.plan().selected
        e = self.assertUnchangedBy(lambda: bulk.commit(confirm=n - 1), hc.ConfirmMismatch,
                                   str(n))
        self.assertEqual(e.code, hc.Code.CONFIRM)
        # the selection is evaluated again at commit: the number is the new one
        self.store.create_contact({"email": "new@example.com", "city": "Roma"})
        self.assertUnchangedBy(lambda: bulk.commit(confirm=n), hc.ConfirmMismatch, str(n + 1))
        bulk.commit(confirm=n + 1)
        self.assertEqual(self.store.billing().billable, n + 1)

    def test_p2_bulk_needs_marketing_access(self):
        bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(bob, hc.Perm.DEFAULT & ~hc.Perm.MARKETING_ACCESS)
        for make in (self.store.bulk_set_marketing, self.store.bulk_set_non_marketing):
            bulk = make(self.ids, actor=bob)
            self.assertUnchangedBy(bulk.plan, hc.PermissionDenied)
            self.assertUnchangedBy(lambda: bulk.commit(confirm=len(self.ids)),
                                   hc.PermissionDenied)
        with self.assertRaises(hc.ActorRequired):
            hc.Store(admin_email="a@example.com").bulk_set_marketing([])

    def test_s4_explicit_ids_repeat_once_and_unknown_ids_are_refused(self):
        bulk = self.store.bulk_set_marketing([self.ids[0], self.ids[1], self.ids[0]])
        self.assertEqual(bulk.plan().selected, 2)
        self.assertUnchangedBy(lambda: self.store.bulk_set_marketing([self.ids[0], 999]).plan(),
                               hc.NotFound, "999")
        empty = self.store.bulk_set_marketing([])
        self.assertEqual(empty.plan().selected, 0)
        empty.commit(confirm=0)
        with self.assertRaises(TypeError):
            self.store.bulk_set_marketing(b"city = 'Roma'")

    def test_s5_bulk_non_marketing_is_pending_until_the_update_date(self):
        self.store.bulk_set_marketing(self.ids).commit(confirm=10)
        bulk = self.store.bulk_set_non_marketing(self.store.filter("city = 'Milano'"))
        p = bulk.commit(confirm=3)
        self.assertEqual((p.will_change, p.billable_after), (3, 10))  # still billable
        self.assertEqual(self.store.get(self.ids[2]).status, hc.Status.MARKETING_UNTIL_UPDATE)

    def test_s5_unengaged_preset_selects_bounced_or_opted_out_billable_contacts(self):
        a = self.store.create_contact({"email": "a@example.com", "hs_email_optout": "true"},
                                      marketing=True)
        b = self.store.create_contact({"email": "b@example.com", "hs_email_hard_bounced": "true"},
                                      marketing=True)
        self.store.create_contact({"email": "d@example.com", "hs_email_optout": "true"})
        f = self.store.filter_preset(hc.Preset.UNENGAGED)
        self.assertEqual(f.text, hc.preset_text(hc.Preset.UNENGAGED))
        self.assertEqual(list(f), [a, b])
        self.store.bulk_set_non_marketing(f).commit(confirm=2)
        self.assertEqual(self.store.get(a).status, hc.Status.MARKETING_UNTIL_UPDATE)
        with self.assertRaises(hc.InvalidArgument):
            hc.preset_text(99)

    def test_b5_bulk_over_the_hard_cap_is_planned_refused_and_changes_nothing(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                         tier_policy=hc.TierPolicy.HARD_CAP, hard_cap=2)
        self.addCleanup(store.close)
        ids = store.create_contacts([{"email": f"c{i}@example.com"} for i in range(3)])
        bulk = store.bulk_set_marketing(ids)
        p = bulk.plan()
        self.assertEqual((p.selected, p.billable_after, p.cap, p.cap_refused), (3, 3, 2, True))
        self.assertUnchangedBy(lambda: bulk.commit(confirm=3), hc.LimitExceeded, store=store)


if __name__ == "__main__":
    unittest.main()
