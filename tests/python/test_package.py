"""Tests of the package as a user installs it: where it lives, how it finds
the library, its typed surface (enums, dataclasses, exceptions), and the
actor rule (no call acts as anybody unless told whom).

CTest installs the package with pip into a temporary target directory and
sets PYTHONPATH, HUBC_LIBRARY and HUBC_PYTHON_SITE (where it must come from).
"""

import calendar
import dataclasses
import enum
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1


class InstalledPackageTest(unittest.TestCase):
    def test_pkg_tests_run_against_the_installed_package(self):
        site = os.environ.get("HUBC_PYTHON_SITE")
        if not site:
            self.skipTest("HUBC_PYTHON_SITE not set (run from the source tree)")
        self.assertEqual(os.path.dirname(os.path.dirname(os.path.realpath(hc.__file__))),
                         os.path.realpath(site))

    def test_pkg_is_typed_and_exports_what_it_documents(self):
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(hc.__file__), "py.typed")))
        for name in hc.__all__:
            self.assertTrue(hasattr(hc, name), name)
        # every public callable has a docstring and annotated parameters
        for name in hc.__all__:  # every public class and function has a docstring
            obj = getattr(hc, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                self.assertTrue(obj.__doc__, name)
            if inspect.isclass(obj):
                for m, fn in vars(obj).items():
                    if callable(fn) and not m.startswith("_"):
                        self.assertTrue(fn.__doc__, f"{name}.{m}")
        for name, fn in vars(hc.Store).items():
            if callable(fn) and not name.startswith("_"):
                ann = fn.__annotations__
                self.assertIn("return", ann, f"Store.{name} has no return type")
                params = fn.__code__.co_varnames[1:fn.__code__.co_argcount
                                                 + fn.__code__.co_kwonlyargcount]
                for p in params:
                    self.assertIn(p, ann, f"Store.{name}({p}) has no type")

    def test_pkg_library_is_found_by_env_then_beside_then_the_loader(self):
        cands = hc.library_candidates()
        self.assertEqual(cands[0], os.environ["HUBC_LIBRARY"])
        self.assertEqual(cands[-1].split("/")[-1].split(".so")[0], "libhubcontacts")
        # without HUBC_LIBRARY, a copy next to the package's files wins
        with tempfile.TemporaryDirectory() as d:
            pkg = os.path.join(d, "hubcontacts")
            shutil.copytree(os.path.dirname(hc.__file__), pkg,
                            ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(os.environ["HUBC_LIBRARY"], os.path.join(pkg, hc.LIBRARY_NAME))
            env = {k: v for k, v in os.environ.items() if k != "HUBC_LIBRARY"}
            env["PYTHONPATH"] = d
            r = subprocess.run([sys.executable, "-c",
                                "import hubcontacts; print(hubcontacts.lib._name)"],
                               env=env, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(pkg, hc.LIBRARY_NAME))
        # a HUBC_LIBRARY that does not load is an error, not a silent fallback
        env = dict(os.environ, HUBC_LIBRARY="/nonexistent/libhubcontacts.so.1")
        r = subprocess.run([sys.executable, "-c", "import hubcontacts"], env=env,
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HUBC_LIBRARY='/nonexistent/libhubcontacts.so.1'", r.stderr)


class ReadmeTest(unittest.TestCase):
    def test_readme_python_snippet_runs_as_written(self):
        # issue 9 #15: the README's example used to fail as written
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("\n## Python\n"):]
        section = section[:section.index("\n## ", 1)]
        snippets = [part[:part.index("```")] for part in section.split("```python\n")[1:]]
        outputs = []
        for code in snippets:
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            outputs.append(r.stdout.splitlines())
        self.assertEqual(len(outputs), 2)
        lines = outputs[0]
        self.assertEqual(lines[:2], ["true 1", "[9, None]"])
        self.assertIn("record id 1", lines[2])
        # forms, filter and bulk (F4, S1, S4): what the comments say
        self.assertEqual(outputs[1], ["MARKETING", "['Roma']",
                                      "['p0@example.com', 'p1@example.com']", "5", "6"])
        # and the paths it tells a user to use exist once the demo preset ran
        self.assertIn("build/release/lib/libhubcontacts.so.1", section)
        self.assertIn("examples/python", section)
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(readme), "examples",
                                                    "python", "pyproject.toml")))

    def test_demo_runs(self):
        demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                            "examples", "python", "demo.py")
        r = subprocess.run([sys.executable, demo], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("duplicate refused: EXISTS", r.stdout)
        self.assertIn("closed period 1: 2024-03-10 .. 2024-04-01, peak 3", r.stdout)


class TypedSurfaceTest(unittest.TestCase):
    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                              commitment=hc.Commitment.ANNUAL)
        self.addCleanup(self.store.close)

    def test_pkg_constants_are_enums_matching_the_library(self):
        for cls in (hc.Code, hc.Status, hc.Source, hc.Select, hc.EventType, hc.Subscription,
                    hc.Commitment, hc.TierPolicy, hc.PropType):
            self.assertTrue(issubclass(cls, enum.IntEnum), cls)
        for cls in (hc.Perm, hc.PropFlag):
            self.assertTrue(issubclass(cls, enum.IntFlag), cls)
        for s in hc.Source:
            self.assertEqual(hc.source_name(s), s.name)
        for s in hc.Status:
            self.assertEqual(hc.status_name(s), s.name)
        self.assertEqual(hc.Perm.ALL, 0x1F)
        self.assertNotIn("SOURCE_MANUAL", dir(hc))  # no globals().update

    def test_pkg_one_exception_class_per_error_code(self):
        classes = {}
        for code in hc.Code:
            if code >= 0:
                continue
            err = hc.errors.error(code)
            self.assertIsInstance(err, hc.HubcError)
            self.assertIsNot(type(err), hc.HubcError, f"{code.name} has no class")
            self.assertEqual((err.code, err.name, type(err).code), (code, code.name, code))
            classes[type(err)] = code
        self.assertEqual(len(classes), len([c for c in hc.Code if c < 0]))

    def test_pkg_results_are_dataclasses(self):
        cid = self.store.create_contact({"email": "a@example.com"}, marketing=True)
        self.store.define_property("size", "Size", hc.PropType.ENUMERATION, options=["S", "M"])
        results = [self.store.billing(), self.store.history(cid)[0],
                   self.store.property("size"), self.store.user(ADMIN), self.store.get(cid)]
        for r in results:
            self.assertTrue(dataclasses.is_dataclass(r), type(r))
            with self.assertRaises(dataclasses.FrozenInstanceError):
                setattr(r, "id", 5)
        b = results[0]
        self.assertIsInstance(b, hc.Billing)
        self.assertEqual((b.billable, b.commitment), (1, hc.Commitment.ANNUAL))
        self.assertIs(type(b.tier_policy), hc.TierPolicy)
        self.assertEqual(results[2], hc.PropertyInfo("size", "Size", hc.PropType.ENUMERATION,
                                                     hc.PropFlag(0), ("S", "M")))

    def test_pkg_iterators_are_context_managers_and_close_early(self):
        ids = self.store.create_contacts([{"firstname": f"n{i}"} for i in range(5)])
        with self.store.iter_contacts() as it:
            self.assertEqual(next(it), ids[0])
        with self.assertRaises(StopIteration):
            next(it)  # closed by the with block
        self.assertEqual(self.store._core.handles, {})
        self.assertEqual([c.id for c in self.store.contacts()], ids)
        self.assertEqual([c["firstname"] for c in self.store.contacts()],
                         [f"n{i}" for i in range(5)])


class ActorTest(unittest.TestCase):
    """No call silently acts as the super admin: the actor is explicit per
    call, or set once on the store or a view of it."""

    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", clock=lambda: T0)
        self.addCleanup(self.store.close)

    def test_p1_a_call_without_actor_is_refused_and_changes_nothing(self):
        before = self.store.dump()
        for call in (lambda: self.store.create_contact({"email": "a@example.com"}),
                     lambda: self.store.create_contacts([{"email": "a@example.com"}]),
                     lambda: self.store.create_user("bob@example.com"),
                     lambda: self.store.define_property("score", "Score"),
                     lambda: self.store.set_source_default(hc.Source.CHATFLOW, True),
                     lambda: self.store.request_downgrade(0)):
            with self.assertRaisesRegex(hc.ActorRequired, "no actor"):
                call()
        self.assertEqual(self.store.dump(), before)
        self.assertIsNone(self.store.actor)
        # reads need no actor
        self.assertEqual(self.store.count(), 0)
        self.assertEqual(self.store.user(ADMIN).email, "admin@example.com")

    def test_p1_actor_per_call_per_store_and_per_view(self):
        cid = self.store.create_contact({"email": "a@example.com"}, actor=ADMIN)
        bob = self.store.create_user("bob@example.com", actor=ADMIN)
        self.store.set_permissions(bob, hc.Perm.EDIT_CONTACTS, actor=ADMIN)
        as_bob = self.store.as_user(bob)
        self.assertEqual(as_bob.actor, bob)
        as_bob.update_contact(cid, {"city": "Roma"})
        with self.assertRaises(hc.PermissionDenied):  # bob lacks P2
            as_bob.set_marketing(cid)
        as_bob.set_marketing(cid, actor=ADMIN)  # a call may still name another actor
        self.assertEqual(self.store.history(cid)[0].actor, ADMIN)
        sys_made = as_bob.create_contact({"firstname": "F"}, actor=hc.SYSTEM,
                                         source=hc.Source.CHATFLOW, source_id=9)
        self.assertEqual(self.store.get(sys_made).source, hc.Source.CHATFLOW)
        # the view shares the store, close included
        self.store.close()
        self.assertTrue(as_bob.closed)
        with self.assertRaises(hc.StoreClosed):
            as_bob.count()


if __name__ == "__main__":
    unittest.main()
