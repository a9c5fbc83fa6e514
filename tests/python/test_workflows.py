"""Workflows from Python (W1–W7, issue 15): hubcontacts.workflows over the
C API, host actions as Python callables."""

import calendar
import os
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402
from hubcontacts.workflows import (Delay, HostAction, ListAdd, ListRemove, SetProperty,  # noqa: E402
                                   SetStatus, Workflows)

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class WorkflowTest(unittest.TestCase):
    def open(self, subscription=hc.Subscription.PROFESSIONAL):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=self.clock,
                         subscription=subscription)
        self.addCleanup(store.close)
        return store

    def setUp(self):
        self.clock = Clock(T0)
        self.store = self.open()
        self.wf = Workflows(self.store)
        self.form = self.store.forms.create("Signup", ["city"], marketing=False)

    def test_W1_starter_refuses(self):
        starter = self.open(hc.Subscription.STARTER)
        with self.assertRaises(hc.HubcError) as cm:
            Workflows(starter).create("W", [SetStatus(True)])
        self.assertEqual(cm.exception.code, hc.Code.TIER)

    def test_W2_list_actions_add_remove_and_read_back(self):
        joined, left = self.store.lists.create("Joined"), self.store.lists.create("Left")
        old = self.form.submit({"email": "old@x.it", "city": "Roma"}).contact
        left.add([old])
        wid = self.wf.create("Lists", [ListAdd(joined.id), ListRemove(left.id)], form=self.form.id)
        self.assertEqual(self.wf.get(wid).actions, (ListAdd(joined.id), ListRemove(left.id)))
        self.wf.activate(wid)
        self.form.submit({"email": "old@x.it", "city": "Bari"})
        self.store.tick()
        self.assertIn(old, joined)
        self.assertNotIn(old, left)
        active = self.store.lists.create("Romans", "city = 'Roma'")
        with self.assertRaises(hc.HubcError) as cm:  # an active list is refused at definition
            self.wf.create("Bad", [ListAdd(active.id)])
        self.assertIn("action 0", str(cm.exception))

    def test_F6_W2_external_form_submission_enrolls(self):
        wid = self.wf.create("Ext", [SetProperty("jobtitle", "ext")], external_form=77)
        self.assertEqual(self.wf.get(wid).external_form, 77)
        self.assertIsNone(self.wf.get(wid).form)
        self.wf.activate(wid)
        c = self.store.forms.submit_external(77, {"email": "e@x.it"}).contact
        other = self.store.forms.submit_external(78, {"email": "f@x.it"}).contact
        self.assertEqual([e.contact for e in self.wf.enrollments(wid)], [c])
        self.assertNotEqual(other, c)

    def test_W2_W3_W5_W6_form_trigger_delay_host_action_retry(self):
        calls = []

        def crm(call):
            calls.append((call.contact, call.payload, call.attempt))
            if len(calls) == 1:
                raise RuntimeError("crm down")  # a failure: retried after 60 s (W6)

        self.wf.register_action("crm", crm)
        self.wf.register_action("mail", lambda call: calls.append("mail"), marketing=True)
        wid = self.wf.create("Welcome", [SetProperty("jobtitle", "lead"), Delay(60), HostAction("crm", "p1"),
                                         HostAction("mail"), SetStatus(True)], form=self.form.id)
        self.assertFalse(self.wf.get(wid).active)
        self.wf.activate(wid)
        contact = self.form.submit({"email": "anna@x.it", "city": "Roma"}).contact
        self.store.tick()
        [e] = self.wf.enrollments(wid)
        self.assertEqual((e.contact, e.state, e.step), (contact, "active", 2))
        self.clock.t += 60
        self.store.tick()  # crm fails
        self.clock.t += 60
        self.store.tick()  # crm succeeds; mail skipped (NON_MARKETING, W5); status set
        self.assertEqual(calls, [(contact, "p1", 1), (contact, "p1", 2)])
        events = [(h.event, h.step) for h in self.wf.history(e.id)]
        self.assertEqual(events, [("enrolled", 0), ("done", 0), ("waiting", 1), ("failed", 2), ("done", 2),
                                  ("skipped", 3), ("done", 4), ("finished", 5)])
        failed = self.wf.history(e.id)[3]
        self.assertEqual(failed.wait, 60)
        self.assertIn("non-marketing contact", self.wf.history(e.id)[5].message)
        self.assertEqual(self.store.get(contact).status, hc.Status.MARKETING)
        w = self.wf.get(wid)
        self.assertEqual(w.actions[1], Delay(60, 0))
        self.assertEqual(w.form, self.form.id)
        self.assertEqual([x.id for x in self.wf.list()], [wid])

    def test_bad_definition_names_the_action_and_changes_nothing(self):
        before = self.store.dump()
        with self.assertRaises(hc.HubcError) as cm:
            self.wf.create("Bad", [SetStatus(True), HostAction("nope")])
        self.assertIn("action 1 (host action)", cm.exception.message)
        with self.assertRaises(hc.HubcError) as cm:
            self.wf.create("Bad", [SetStatus(True)], filter="city = ")
        self.assertIn("trigger filter", cm.exception.message)
        with self.assertRaises(ValueError):
            self.wf.create("Bad", [Delay(2 ** 63)])  # R4a: refused by the binding, never truncated
        self.assertEqual(self.store.dump(), before)

    def test_W7_deactivate_resume_delete_keeps_history(self):
        wid = self.wf.create("W", [Delay(60), SetProperty("jobtitle", "x")], form=self.form.id)
        self.wf.activate(wid)
        contact = self.form.submit({"email": "b@x.it", "city": "Roma"}).contact
        self.store.tick()
        self.wf.deactivate(wid)
        self.clock.t += 120
        self.store.tick()
        self.assertIsNone(self.store.get(contact).props.get("jobtitle"))
        self.wf.activate(wid)
        self.store.tick()
        self.assertEqual(self.store.get(contact).props.get("jobtitle"), "x")
        self.wf.delete(wid)
        self.assertTrue(self.wf.get(wid).deleted)
        self.assertEqual(self.wf.enrollments(wid)[0].state, "finished")


if __name__ == "__main__":
    unittest.main()
