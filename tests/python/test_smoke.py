"""Python smoke and behaviour tests of libhubcontacts through the package
in examples/python (hubcontacts).

CTest runs them as the `python` test, against the package pip-installed
into the build tree; by hand, against the source tree:
    HUBC_LIBRARY=build/dev/lib/libhubcontacts.so.1 PYTHONPATH=examples/python \
        python3 -m unittest discover -s tests/python -v

Test names cite the spec rule they check (SPEC.md ids, lowercase).
"""

import calendar
import ctypes
import os
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so "
                       "(these tests must not pick up an installed copy)")

import hubcontacts as hc  # noqa: E402


def utc(y, m, d, hh=0, mm=0, ss=0):
    return calendar.timegm((y, m, d, hh, mm, ss))


class Clock:
    """A settable clock for the store (B2 needs one)."""

    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


ADMIN = 1  # the first super admin every new store gets


class StoreTest(unittest.TestCase):
    """A fresh store per test, on a fixed clock (2024-03-10, annual commitment:
    update dates on the 1st of each month)."""

    def setUp(self):
        self.clock = Clock(utc(2024, 3, 10, 12))
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                              commitment=hc.Commitment.ANNUAL)
        self.addCleanup(self.store.close)

    def assertUnchangedBy(self, fn, exc_class, code):
        """fn must raise exc_class with `code`, and leave the dump as it was.
        Returns the exception."""
        before = self.store.dump()
        with self.assertRaises(exc_class) as cm:
            fn()
        self.assertEqual(cm.exception.code, code)
        self.assertTrue(cm.exception.message, "the error has a message")
        self.assertEqual(self.store.dump(), before, "a refused call changed the store")
        return cm.exception


class SmokeTest(StoreTest):
    def test_c1_smoke_open_store_create_contact_and_read_it_back(self):
        self.assertEqual(self.store.count(), 0)
        cid = self.store.create_contact({"email": "anna@example.com",
                                         "firstname": "Anna", "lastname": "Rossi"})
        self.assertGreater(cid, 0)
        c = self.store.get(cid)
        self.assertIsInstance(c, hc.Contact)
        self.assertEqual(c.id, cid)
        self.assertEqual(c["email"], "anna@example.com")
        self.assertEqual(c["firstname"], "Anna")
        self.assertEqual(c.props["lastname"], "Rossi")
        self.assertEqual(c["hs_object_id"], str(cid))
        self.assertEqual(c["createdate"], "2024-03-10T12:00:00Z")
        self.assertEqual(c.status, hc.Status.NON_MARKETING)
        self.assertEqual(c.source, hc.Source.MANUAL)
        self.assertEqual(c.source_id, ADMIN)
        self.assertEqual(self.store.count(), 1)
        # C1: ids increase and are never reused, even after a delete
        cid2 = self.store.create_contact({"firstname": "Bea"})
        self.store.delete_contact(cid2)
        cid3 = self.store.create_contact({"firstname": "Cora"})
        self.assertGreater(cid2, cid)
        self.assertGreater(cid3, cid2)
        self.assertEqual(list(self.store.iter_contacts()), [cid, cid3])

    def test_c2_labels_address_properties_case_insensitively(self):
        cid = self.store.create_contact({"First Name": "Anna", "EMAIL": "a@example.com"})
        c = self.store.get(cid)
        self.assertEqual(c["firstname"], "Anna")
        self.assertEqual(c["email"], "a@example.com")


class ContactRulesTest(StoreTest):
    def test_c3_email_is_case_insensitive_and_trimmed(self):
        cid = self.store.create_contact({"email": "  Anna@Example.COM\t"})
        self.assertEqual(self.store.get(cid)["email"], "anna@example.com")
        self.assertEqual(self.store.find("anna@example.com"), cid)
        self.assertEqual(self.store.find(" ANNA@example.com "), cid)
        self.assertEqual(self.store.get_by_email("Anna@Example.com").id, cid)
        self.assertIsNone(self.store.find("other@example.com"))
        with self.assertRaises(hc.NotFound):
            self.store.get_by_email("other@example.com")
        # the same email in another spelling is the same contact: refused
        err = self.assertUnchangedBy(
            lambda: self.store.create_contact({"email": " anna@example.com"}),
            hc.Exists, hc.Code.EXISTS)
        self.assertIn(f"record id {cid}", err.message)

    def test_r2_create_contacts_makes_every_row_or_none_and_names_the_row(self):
        ids = self.store.create_contacts([
            {"email": "a@example.com", "firstname": "A"},
            {"email": "b@example.com", "city": "Roma"},
            {"firstname": "NoEmail"},
        ])
        self.assertEqual(len(ids), 3)
        self.assertEqual(self.store.get(ids[0])["firstname"], "A")
        self.assertNotIn("city", self.store.get(ids[0]))  # a key the row lacked
        self.assertEqual(self.store.get(ids[1])["city"], "Roma")
        self.assertEqual(self.store.find("b@example.com"), ids[1])
        self.assertNotIn("email", self.store.get(ids[2]))
        self.assertEqual(self.store.create_contacts([]), [])
        # an email already taken in row 2: nothing of the batch is created
        err = self.assertUnchangedBy(
            lambda: self.store.create_contacts([{"email": "c@example.com"},
                                                {"email": "d@example.com"},
                                                {"email": " A@example.com"}]),
            hc.Exists, hc.Code.EXISTS)
        self.assertIn("row 2", err.message)
        self.assertIsNone(self.store.find("c@example.com"))

    def test_c3_get_many_and_find_many_answer_as_single_lookups_do(self):
        ids = [self.store.create_contact({"email": f"p{i}@example.com", "firstname": f"P{i}"})
               for i in range(40)]
        emails = [f" P{i}@Example.com" if i % 3 else f"nobody{i}@example.com" for i in range(40)]
        found = self.store.find_many(emails)
        got = self.store.get_many(emails)
        for i, email in enumerate(emails):
            with self.subTest(email=email):
                self.assertEqual(found[i], self.store.find(email))
                if i % 3:
                    self.assertEqual(found[i], ids[i])
                    self.assertEqual(got[i].id, ids[i])
                    self.assertEqual(got[i]["firstname"], f"P{i}")
                else:
                    self.assertIsNone(got[i])
        self.assertEqual(self.store.find_many([]), [])
        err = self.assertUnchangedBy(
            lambda: self.store.get_many(["p1@example.com", "bad@@example.com"]),
            hc.InvalidArgument, hc.Code.INVAL)
        self.assertIn("row 1", err.message)

    def test_c3_email_syntax_is_validated_naming_the_field(self):
        for bad in ["no-at-sign.example.com", "two@@example.com", "@example.com",
                    "anna@localhost", "an na@example.com", "x" * 250 + "@example.com"]:
            with self.subTest(email=bad):
                err = self.assertUnchangedBy(
                    lambda: self.store.create_contact({"email": bad}),
                    hc.InvalidArgument, hc.Code.INVAL)
                self.assertIn("email", err.message)
        self.assertEqual(self.store.count(), 0)

    def test_c4_values_are_validated_against_the_property_type(self):
        self.store.define_property("score", "Lead Score", hc.PropType.NUMBER)
        self.store.define_property("tshirt", "T-shirt size", hc.PropType.ENUMERATION,
                                   options=["S", "M", "L"])
        cid = self.store.create_contact({"score": "3.5", "tshirt": "M"})
        self.assertEqual(self.store.get(cid)["score"], "3.5")
        self.assertEqual(self.store.get(cid)["tshirt"], "M")
        for props, field in [({"score": "lots"}, "score"), ({"tshirt": "XXL"}, "tshirt"),
                             ({"hs_email_optout": "maybe"}, "hs_email_optout"),
                             ({"lifecyclestage": "friend"}, "lifecyclestage")]:
            with self.subTest(props=props):
                err = self.assertUnchangedBy(lambda: self.store.update_contact(cid, props),
                                             hc.InvalidArgument, hc.Code.INVAL)
                self.assertIn(f"'{field}'", err.message)
        # C4: a value is at most 65,536 bytes
        err = self.assertUnchangedBy(
            lambda: self.store.update_contact(cid, {"company": "x" * (hc.MAX_VALUE_BYTES + 1)}),
            hc.LimitExceeded, hc.Code.LIMIT)
        self.assertIn("company", err.message)
        self.store.update_contact(cid, {"company": "x" * hc.MAX_VALUE_BYTES})
        self.assertEqual(len(self.store.get(cid)["company"]), hc.MAX_VALUE_BYTES)

    def test_c5_duplicate_email_is_refused_with_exists_naming_the_record_id(self):
        first = self.store.create_contact({"email": "dup@example.com", "firstname": "A"})
        err = self.assertUnchangedBy(
            lambda: self.store.create_contact({"email": "DUP@example.com", "firstname": "B"}),
            hc.Exists, hc.Code.EXISTS)
        self.assertIsInstance(err, hc.HubcError)
        self.assertEqual(err.name, "EXISTS")
        self.assertIn(str(first), err.message)
        self.assertIn(f"record id {first}", str(err))
        self.assertEqual(self.store.count(), 1)
        self.assertEqual(self.store.get(first)["firstname"], "A")
        # and by update: moving another contact onto the taken email
        other = self.store.create_contact({"email": "other@example.com"})
        err = self.assertUnchangedBy(
            lambda: self.store.update_contact(other, {"email": "dup@example.com"}),
            hc.Exists, hc.Code.EXISTS)
        self.assertIn(f"record id {first}", err.message)

    def test_c6_read_only_properties_are_refused_by_the_generic_setter(self):
        cid = self.store.create_contact({"firstname": "Anna"})
        for name in ["hs_object_id", "createdate", "hs_marketable_status",
                     "hs_marketable_reason_type"]:
            with self.subTest(name=name):
                err = self.assertUnchangedBy(
                    lambda: self.store.update_contact(cid, {name: "1"}),
                    hc.ReadOnly, hc.Code.READONLY)
                self.assertIn(name, err.message)

    def test_c7_delete_removes_the_contact_from_lookups_at_once(self):
        a = self.store.create_contact({"email": "a@example.com"})
        b = self.store.create_contact({"email": "b@example.com"})
        self.store.delete_contact(a)
        self.assertIsNone(self.store.find("a@example.com"))
        with self.assertRaises(hc.NotFound) as cm:
            self.store.get(a)
        self.assertEqual(cm.exception.code, hc.Code.NOTFOUND)
        self.assertIn(str(a), cm.exception.message)
        self.assertEqual(self.store.count(), 1)
        self.assertEqual(list(self.store.iter_contacts()), [b])
        # the email is free again
        c = self.store.create_contact({"email": "A@example.com"})
        self.assertEqual(self.store.find("a@example.com"), c)
        self.assertUnchangedBy(lambda: self.store.delete_contact(a), hc.NotFound, hc.Code.NOTFOUND)


class MarketingTest(StoreTest):
    def test_m3_set_marketing_takes_effect_at_once_and_keeps_the_first_reason(self):
        cid = self.store.create_contact({"email": "m3@example.com"})
        self.store.set_marketing(cid, actor=hc.SYSTEM, reason=hc.Source.INTEGRATION, reason_id=42)
        c = self.store.get(cid)
        self.assertEqual(c.status, hc.Status.MARKETING)
        self.assertEqual(c["hs_marketable_status"], "true")
        self.assertEqual(c["hs_marketable_until_renewal"], "false")
        self.assertEqual(c["hs_marketable_reason_type"], "INTEGRATION")
        self.assertEqual(c["hs_marketable_reason_id"], "42")
        self.assertEqual((c.reason_type, c.reason_id), (hc.Source.INTEGRATION, 42))
        # already MARKETING: a successful no-op that keeps the original reason
        before = self.store.dump()
        self.store.set_marketing(cid, reason=hc.Source.MANUAL, reason_id=7)
        self.assertEqual(self.store.dump(), before)
        c = self.store.get(cid)
        self.assertEqual((c.reason_type, c.reason_id), (hc.Source.INTEGRATION, 42))
        # UNTIL_UPDATE -> MARKETING cancels the pending request
        self.store.set_non_marketing(cid)
        self.assertEqual(self.store.get(cid).status, hc.Status.MARKETING_UNTIL_UPDATE)
        self.store.set_marketing(cid)
        self.assertEqual(self.store.get(cid).status, hc.Status.MARKETING)
        self.clock.t = self.store.billing().next_update
        self.store.tick()
        self.assertEqual(self.store.get(cid).status, hc.Status.MARKETING)

    def test_m4_set_non_marketing_is_pending_and_stays_billable(self):
        cid = self.store.create_contact({"email": "m4@example.com"}, marketing=True)
        self.assertEqual(self.store.get(cid).status, hc.Status.MARKETING)
        self.store.set_non_marketing(cid)
        c = self.store.get(cid)
        self.assertEqual(c.status, hc.Status.MARKETING_UNTIL_UPDATE)
        self.assertEqual(c["hs_marketable_status"], "true")
        self.assertEqual(c["hs_marketable_until_renewal"], "true")
        b = self.store.billing()
        self.assertEqual((b.billable, b.marketing, b.until_update), (1, 0, 1))
        # NON or UNTIL_UPDATE: a no-op
        before = self.store.dump()
        self.store.set_non_marketing(cid)
        self.assertEqual(self.store.dump(), before)
        other = self.store.create_contact({"email": "non@example.com"})
        before = self.store.dump()
        self.store.set_non_marketing(other)
        self.assertEqual(self.store.dump(), before)
        self.assertEqual(self.store.get(other).status, hc.Status.NON_MARKETING)

    def test_m5_python_clock_crossing_the_update_date_applies_pending_requests(self):
        events = []
        self.store.on_event(events.append)
        stay = self.store.create_contact({"email": "stay@example.com"}, marketing=True)
        leave = self.store.create_contact({"email": "leave@example.com"}, marketing=True)
        self.store.set_non_marketing(leave)
        update = self.store.billing().next_update
        self.assertEqual(update, utc(2024, 4, 1))  # B1, ANNUAL: the 1st of each month

        self.clock.t = update - 1  # one second before: nothing happens
        self.store.tick()
        self.assertEqual(self.store.get(leave).status, hc.Status.MARKETING_UNTIL_UPDATE)
        self.assertEqual(self.store.periods(), [])

        events.clear()
        self.clock.t = update  # the clock crosses the update date
        # any call applies it (B2); this read sees the new state
        c = self.store.get(leave)
        self.assertEqual(c.status, hc.Status.NON_MARKETING)
        self.assertEqual(c["hs_marketable_status"], "false")
        self.assertEqual(self.store.get(stay).status, hc.Status.MARKETING)
        b = self.store.billing()
        self.assertEqual((b.billable, b.non_marketing), (1, 1))
        self.assertEqual(b.period_start, update)
        self.assertEqual(b.next_update, utc(2024, 5, 1))
        last = self.store.history(leave)[-1]
        self.assertEqual((last.old_status, last.new_status),
                         (hc.Status.MARKETING_UNTIL_UPDATE, hc.Status.NON_MARKETING))
        self.assertEqual((last.reason_type, last.time, last.actor),
                         (hc.Source.UPDATE_DATE, update, hc.SYSTEM))
        periods = self.store.periods()
        self.assertEqual(len(periods), 1)
        self.assertEqual((periods[0].start, periods[0].end, periods[0].peak,
                          periods[0].billable_at_close),
                         (utc(2024, 3, 10, 12), update, 2, 2))
        self.assertEqual([e.type for e in events], [hc.EventType.PERIOD_CLOSED, hc.EventType.STATUS])
        self.assertEqual((events[1].contact, events[1].new_status), (leave, hc.Status.NON_MARKETING))

        # B2: nothing is applied twice
        before = self.store.dump()
        self.store.tick()
        self.assertEqual(self.store.dump(), before)
        # M5: NON_MARKETING stays so until something sets it marketing again
        self.clock.t = utc(2024, 6, 15)
        self.store.tick()
        self.assertEqual(self.store.get(leave).status, hc.Status.NON_MARKETING)
        self.assertEqual(len(self.store.periods()), 3)

    def test_m6_billable_count_is_marketing_plus_until_update(self):
        a = self.store.create_contact({"email": "a@example.com"}, marketing=True)
        self.store.create_contact({"email": "b@example.com"}, marketing=True)
        self.store.create_contact({"email": "c@example.com"})
        self.store.set_non_marketing(a)
        b = self.store.billing()
        self.assertEqual((b.billable, b.marketing, b.until_update, b.non_marketing),
                         (2, 1, 1, 1))
        self.assertEqual(len(list(self.store.iter_contacts(hc.Select.BILLABLE))), 2)
        self.assertEqual(list(self.store.iter_contacts(hc.Select.UNTIL_UPDATE)), [a])

    def test_m7_every_status_change_is_in_the_history_with_its_actor(self):
        bob = self.store.create_user("bob@example.com")
        cid = self.store.create_contact({"email": "h@example.com"})
        self.store.set_marketing(cid, actor=bob, reason=hc.Source.MANUAL, reason_id=bob)
        self.store.set_non_marketing(cid)
        h = self.store.history(cid)
        self.assertEqual([(e.old_status, e.new_status, e.actor) for e in h],
                         [(hc.Status.NON_MARKETING, hc.Status.MARKETING, bob),
                          (hc.Status.MARKETING, hc.Status.MARKETING_UNTIL_UPDATE, ADMIN)])
        self.assertEqual(h[0].reason_id, bob)
        self.assertLess(h[0].seq, h[1].seq)
        csv = self.store.history_export(cid).splitlines()
        self.assertEqual(csv[0], "seq,contact,time,old_status,new_status,reason_type,reason_id,actor")
        self.assertEqual(len(csv), 3)
        self.assertIn("NON_MARKETING,MARKETING,MANUAL", csv[1])

    def test_m8_billable_but_unreachable_is_one_selection(self):
        a = self.store.create_contact({"email": "a@example.com", "hs_email_optout": "true"},
                                      marketing=True)
        b = self.store.create_contact({"email": "b@example.com", "hs_email_hard_bounced": "true"},
                                      marketing=True)
        self.store.create_contact({"email": "c@example.com"}, marketing=True)
        self.store.create_contact({"email": "d@example.com", "hs_email_optout": "true"})
        self.assertEqual(list(self.store.iter_contacts(hc.Select.UNREACHABLE)), [a, b])


class BillingTest(StoreTest):
    def test_b4_b6_tier_alerts_and_upgrade_events_reach_python(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                         tier_ladder=[4, 8])
        self.addCleanup(store.close)
        events = []
        store.on_event(events.append)
        ids = [store.create_contact({"email": f"c{i}@example.com"}) for i in range(5)]
        for cid in ids[:3]:
            store.set_marketing(cid)
        alerts = [e.threshold for e in events if e.type == hc.EventType.ALERT]
        self.assertEqual(alerts, [75])  # 3 of 4
        store.set_marketing(ids[3])
        alerts = [e.threshold for e in events if e.type == hc.EventType.ALERT]
        self.assertEqual(alerts, [75, 90, 98])  # 4 of 4
        events.clear()
        store.set_marketing(ids[4])  # 5 of 4: above 100 %, the tier rises to 8
        self.assertEqual([e.type for e in events],
                         [hc.EventType.STATUS, hc.EventType.ALERT, hc.EventType.TIER_UPGRADE])
        self.assertEqual(events[1].threshold, 100)
        up = events[2]
        self.assertEqual((up.old_tier, up.tier, up.billable), (4, 8, 5))
        self.assertEqual(store.billing().tier, 8)

    def test_b5_hard_cap_refuses_the_operation_with_the_projected_count(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                         tier_policy=hc.TierPolicy.HARD_CAP, hard_cap=1)
        self.addCleanup(store.close)
        a = store.create_contact({"email": "a@example.com"}, marketing=True)
        b = store.create_contact({"email": "b@example.com"})
        before = store.dump()
        with self.assertRaises(hc.LimitExceeded) as cm:
            store.set_marketing(b)
        self.assertEqual(cm.exception.code, hc.Code.LIMIT)
        self.assertIn("2", cm.exception.message)
        self.assertEqual(store.dump(), before)
        self.assertEqual(store.get(b).status, hc.Status.NON_MARKETING)
        self.assertEqual(store.get(a).status, hc.Status.MARKETING)


class PermissionTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(self.bob, hc.Perm.DEFAULT & ~hc.Perm.MARKETING_ACCESS)
        self.cid = self.store.create_contact({"email": "p@example.com"})

    def test_p2_new_users_have_marketing_access_by_default(self):
        carl = self.store.create_user("carl@example.com")
        u = self.store.user(carl)
        self.assertEqual(u.permissions, hc.Perm.DEFAULT)
        self.assertTrue(u.can(hc.Perm.MARKETING_ACCESS))
        self.store.set_marketing(self.cid, actor=carl)
        self.assertEqual(self.store.get(self.cid).status, hc.Status.MARKETING)

    def test_p2_user_without_marketing_access_gets_perm_and_nothing_changes(self):
        self.assertFalse(self.store.user(self.bob).can(hc.Perm.MARKETING_ACCESS))
        err = self.assertUnchangedBy(
            lambda: self.store.set_marketing(self.cid, actor=self.bob),
            hc.PermissionDenied, hc.Code.PERM)
        self.assertEqual(err.name, "PERM")
        self.assertIn("marketing contact access", err.message)
        self.assertIn("bob@example.com", err.message)
        self.assertUnchangedBy(
            lambda: self.store.create_contact({"email": "new@example.com"}, actor=self.bob,
                                              marketing=True),
            hc.PermissionDenied, hc.Code.PERM)
        self.store.set_marketing(self.cid)  # the admin may
        self.assertUnchangedBy(
            lambda: self.store.set_non_marketing(self.cid, actor=self.bob),
            hc.PermissionDenied, hc.Code.PERM)
        self.assertEqual(self.store.get(self.cid).status, hc.Status.MARKETING)

    def test_p4_user_without_marketing_access_still_creates_and_edits_contacts(self):
        cid = self.store.create_contact({"email": "bobs@example.com"}, actor=self.bob)
        self.store.update_contact(cid, {"firstname": "Zed"}, actor=self.bob)
        c = self.store.get(cid)
        self.assertEqual((c["firstname"], c.status), ("Zed", hc.Status.NON_MARKETING))

    def test_d2_changing_a_source_default_needs_marketing_access(self):
        self.assertUnchangedBy(
            lambda: self.store.set_source_default(hc.Source.CHATFLOW, True, source_id=5,
                                                  actor=self.bob),
            hc.PermissionDenied, hc.Code.PERM)
        self.assertFalse(self.store.source_default(hc.Source.CHATFLOW, 5))

    def test_p3_disabling_a_user_applies_to_their_next_call(self):
        self.store.disable_user(self.bob)
        self.assertTrue(self.store.user(self.bob).disabled)
        err = self.assertUnchangedBy(
            lambda: self.store.create_contact({"firstname": "X"}, actor=self.bob),
            hc.PermissionDenied, hc.Code.PERM)
        self.assertIn("disabled", err.message)


class SourceTest(StoreTest):
    def test_d1_chatflow_default_is_non_marketing_until_switched_on(self):
        off = self.store.create_contact({"firstname": "A"}, actor=hc.SYSTEM,
                                        source=hc.Source.CHATFLOW, source_id=5)
        self.assertEqual(self.store.get(off).status, hc.Status.NON_MARKETING)
        self.store.set_source_default(hc.Source.CHATFLOW, True, source_id=5)
        self.assertTrue(self.store.source_default(hc.Source.CHATFLOW, 5))
        on = self.store.create_contact({"firstname": "B"}, actor=hc.SYSTEM,
                                       source=hc.Source.CHATFLOW, source_id=5)
        c = self.store.get(on)
        self.assertEqual(c.status, hc.Status.MARKETING)
        self.assertEqual((c.reason_type, c.reason_id), (hc.Source.CHATFLOW, 5))
        self.assertEqual((c.source, c.source_id), (hc.Source.CHATFLOW, 5))
        other = self.store.create_contact({"firstname": "C"}, actor=hc.SYSTEM,
                                          source=hc.Source.CHATFLOW, source_id=6)
        self.assertEqual(self.store.get(other).status, hc.Status.NON_MARKETING)
        self.assertEqual(self.store.get(off).status, hc.Status.NON_MARKETING)  # not retroactive


class EventTest(StoreTest):
    def test_m3_status_change_is_delivered_to_python_after_commit(self):
        events = []
        self.store.on_event(events.append)
        cid = self.store.create_contact({"email": "ev@example.com"})
        self.assertEqual(events, [])  # created non-marketing: no status change
        self.store.set_marketing(cid, actor=hc.SYSTEM, reason=hc.Source.INTEGRATION, reason_id=9)
        self.assertEqual(len(events), 1)
        ev = events[0]
        self.assertIsInstance(ev, hc.Event)
        self.assertEqual(ev.type, hc.EventType.STATUS)
        self.assertEqual((ev.contact, ev.old_status, ev.new_status),
                         (cid, hc.Status.NON_MARKETING, hc.Status.MARKETING))
        self.assertEqual((ev.reason_type, ev.reason_id, ev.actor), (hc.Source.INTEGRATION, 9, hc.SYSTEM))
        self.assertEqual((ev.billable, ev.time), (1, self.clock.t))

    def test_r2_refused_call_delivers_no_event(self):
        events = []
        self.store.on_event(events.append)
        bob = self.store.create_user("bob@example.com")
        self.store.set_permissions(bob, hc.Perm.EDIT_CONTACTS)
        cid = self.store.create_contact({"email": "ev@example.com"})
        with self.assertRaises(hc.PermissionDenied):
            self.store.set_marketing(cid, actor=bob)
        self.assertEqual(events, [])

    def test_r6_event_handler_calling_back_into_the_store_gets_busy(self):
        seen = []

        def handler(ev):
            try:
                self.store.get(ev.contact)
            except hc.HubcError as e:
                seen.append(e)

        self.store.on_event(handler)
        cid = self.store.create_contact({"email": "busy@example.com"})
        self.store.set_marketing(cid)
        self.assertEqual(len(seen), 1)
        self.assertIsInstance(seen[0], hc.Busy)
        self.assertEqual(seen[0].code, hc.Code.BUSY)
        # the outer call committed and the store is usable afterwards
        self.assertEqual(self.store.get(cid).status, hc.Status.MARKETING)


class ArgumentTest(StoreTest):
    def test_r4_invalid_utf8_value_raises_inval_and_changes_nothing(self):
        err = self.assertUnchangedBy(
            lambda: self.store.create_contact({"firstname": b"Ann\xff\xfe"}),
            hc.InvalidArgument, hc.Code.INVAL)
        self.assertIn("firstname", err.message)
        self.assertIn("UTF-8", err.message)
        cid = self.store.create_contact({"firstname": "Anna"})
        for bad in [b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\x80"]:
            with self.subTest(value=bad):
                err = self.assertUnchangedBy(
                    lambda: self.store.update_contact(cid, {"city": bad}),
                    hc.InvalidArgument, hc.Code.INVAL)
                self.assertIn("city", err.message)
        self.assertUnchangedBy(lambda: self.store.create_contact({"email": b"\xffa@example.com"}),
                               hc.InvalidArgument, hc.Code.INVAL)
        # valid multi-byte UTF-8 passes, as str or as bytes
        self.store.update_contact(cid, {"city": "Forlì", "company": "Ünïcode ✓".encode()})
        c = self.store.get(cid)
        self.assertEqual((c["city"], c["company"]), ("Forlì", "Ünïcode ✓"))

    def test_r4_bad_enum_values_raise_inval_naming_them(self):
        cid = self.store.create_contact({"firstname": "Anna"})
        for call, word in [
            (lambda: self.store.set_marketing(cid, reason=99), "reason"),
            (lambda: self.store.set_marketing(cid, reason=hc.Source.UPDATE_DATE), "reason"),
            (lambda: self.store.create_contact({"firstname": "B"}, source=77), "source"),
            (lambda: self.store.create_contact({"firstname": "B"}, source=hc.Source.CHATFLOW,
                                               marketing=True), "marketing"),
            (lambda: self.store.set_permissions(ADMIN, 0x100), "permission"),
        ]:
            with self.subTest(word=word):
                err = self.assertUnchangedBy(call, hc.InvalidArgument, hc.Code.INVAL)
                self.assertIn(word, err.message)
        with self.assertRaises(hc.InvalidArgument) as cm:
            self.store.iter_contacts(select=42)
        self.assertIn("42", cm.exception.message)
        for kw, word in [({"subscription": 7}, "subscription"), ({"commitment": 3}, "commitment"),
                         ({"tier_policy": -1}, "tier policy"), ({"tier_ladder": [5, 5]}, "ladder"),
                         ({"tier_ladder": []}, "ladder")]:
            with self.subTest(options=kw):
                with self.assertRaises(hc.InvalidArgument) as cm:
                    hc.Store(admin_email="a@example.com", **kw)
                self.assertIn(word, cm.exception.message)

    def test_r4_unknown_ids_and_properties_are_refused(self):
        cid = self.store.create_contact({"firstname": "Anna"})
        self.assertUnchangedBy(lambda: self.store.update_contact(cid + 100, {"city": "Roma"}),
                               hc.NotFound, hc.Code.NOTFOUND)
        err = self.assertUnchangedBy(lambda: self.store.update_contact(cid, {"nosuchprop": "x"}),
                                     hc.NotFound, hc.Code.NOTFOUND)
        self.assertIn("nosuchprop", err.message)
        self.assertUnchangedBy(lambda: self.store.set_marketing(cid, actor=999),
                               hc.PermissionDenied, hc.Code.PERM)
        self.assertUnchangedBy(lambda: self.store.set_marketing(-1), hc.NotFound, hc.Code.NOTFOUND)

    def test_r4_null_handles_give_inval_not_a_crash(self):
        lib = hc.lib
        out = ctypes.c_void_p()
        self.assertEqual(lib.hubc_contact_get(ctypes.byref(out), None, 1), hc.Code.INVAL)
        self.assertEqual(lib.hubc_error_last_code(), hc.Code.INVAL)
        self.assertIn(b"store is NULL", lib.hubc_error_last())
        self.assertEqual(lib.hubc_contact_get(None, self.store._core.h, 1), hc.Code.INVAL)
        self.assertEqual(lib.hubc_contact_delete(None, ADMIN, 1), hc.Code.INVAL)
        self.assertEqual(lib.hubc_store_open(None, None), hc.Code.INVAL)
        self.assertEqual(lib.hubc_store_options_init(None, hc._ffi.STORE_OPTIONS_VERSION), hc.Code.INVAL)
        self.assertEqual(lib.hubc_contact_find(ctypes.byref(ctypes.c_int64()), self.store._core.h, None),
                         hc.Code.INVAL)
        self.assertEqual(lib.hubc_billing_get(None, self.store._core.h), hc.Code.INVAL)
        self.assertEqual(lib.hubc_contact_create(None, self.store._core.h, ADMIN, None, None, None, 3),
                         hc.Code.INVAL)
        self.assertIn(b"NULL", lib.hubc_error_last())
        lib.hubc_store_close(None)  # accepts NULL
        lib.hubc_contact_free(None)

    def test_r5_a_success_clears_the_last_error_message(self):
        with self.assertRaises(hc.NotFound):
            self.store.get(12345)
        self.assertNotEqual(hc.lib.hubc_error_last(), b"")
        self.store.count()
        self.assertEqual(hc.lib.hubc_error_last(), b"")
        self.assertEqual(hc.lib.hubc_error_last_code(), 0)


if __name__ == "__main__":
    unittest.main()
