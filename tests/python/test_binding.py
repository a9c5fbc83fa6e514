"""Tests of the ctypes binding itself (examples/python/hubcontacts) and of
library behaviour only a host language can observe: struct layout, callback
lifetime, exceptions raised by Python callbacks, leaks seen through the
allocator hook, allocation failure, the journal backend.

Names cite the spec rule involved; `abi_` marks checks of the binary
interface the binding relies on (DESIGN.md §3), which no SPEC rule covers.
"""

import calendar
import ctypes
import gc
import os
import tempfile
import threading
import unittest

if not os.environ.get("HUBC_LIBRARY"):
    raise RuntimeError("set HUBC_LIBRARY to the freshly built libhubcontacts.so")

import hubcontacts as hc  # noqa: E402

T0 = calendar.timegm((2024, 3, 10, 12, 0, 0))
ADMIN = 1

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.realloc.restype = ctypes.c_void_p
_libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.free.restype = None
_libc.free.argtypes = [ctypes.c_void_p]


class CountingAlloc:
    """A lua_Alloc-shaped allocator over libc that records every live block,
    checks the old_size contract, and can fail the Nth allocation."""

    def __init__(self):
        self.live = {}
        self.calls = 0
        self.fail_at = None  # fail the allocation with this 1-based number
        self.errors = []

    def __call__(self, ptr, old_size, new_size):
        if ptr is not None and self.live.get(ptr) != old_size:
            self.errors.append(f"old_size {old_size} for block {ptr:#x} of "
                               f"{self.live.get(ptr)} bytes")
        if new_size == 0:
            if ptr is not None:
                self.live.pop(ptr, None)
                _libc.free(ptr)
            return None
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            return None
        out = _libc.realloc(ptr, new_size) if ptr is not None else _libc.malloc(new_size)
        if out is None:
            return None
        if ptr is not None:
            self.live.pop(ptr, None)
        self.live[out] = new_size
        return out


class AbiTest(unittest.TestCase):
    def test_abi_store_options_struct_matches_the_library(self):
        self.assertEqual(ctypes.sizeof(hc._ffi.StoreOptions), hc.lib.hubc_store_options_size())
        opts = hc._ffi.StoreOptions()
        self.assertEqual(hc.lib.hubc_store_options_init(ctypes.byref(opts), hc._ffi.STORE_OPTIONS_VERSION), 0)
        self.assertEqual(opts.version, hc._ffi.STORE_OPTIONS_VERSION)
        bad = hc._ffi.STORE_OPTIONS_VERSION + 1
        self.assertEqual(hc.lib.hubc_store_options_init(ctypes.byref(opts), bad), hc.Code.VERSION)
        self.assertIn(b"version %d" % bad, hc.lib.hubc_error_last())

    def test_abi_version_and_error_names_come_from_the_library(self):
        self.assertEqual(hc.version(), "%d.%d.%d" % (hc.lib.hubc_version_number() // 10000,
                                                     hc.lib.hubc_version_number() // 100 % 100,
                                                     hc.lib.hubc_version_number() % 100))
        self.assertEqual(hc.strerror(hc.Code.EXISTS), "already exists")
        self.assertEqual(hc.strerror(hc.Code.PERM), "permission denied")
        self.assertEqual(hc.status_name(hc.Status.MARKETING_UNTIL_UPDATE), "MARKETING_UNTIL_UPDATE")
        self.assertIsNone(hc.status_name(3))
        for s in hc.Source:
            self.assertEqual(hc.source_name(s), s.name)

    def test_abi_every_error_code_maps_to_its_exception_class(self):
        for code, cls in [(hc.Code.INVAL, hc.InvalidArgument), (hc.Code.NOTFOUND, hc.NotFound),
                          (hc.Code.EXISTS, hc.Exists), (hc.Code.PERM, hc.PermissionDenied),
                          (hc.Code.LIMIT, hc.LimitExceeded), (hc.Code.BUSY, hc.Busy)]:
            self.assertIs(type(hc.errors.error(code)), cls)
            self.assertEqual(hc.errors.error(code).code, code)
        self.assertTrue(issubclass(hc.NotFound, LookupError))


class StoreLifetimeTest(unittest.TestCase):
    def test_b2_python_clock_callback_survives_garbage_collection(self):
        t = [T0]
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: t[0],
                         commitment=hc.Commitment.ANNUAL)
        self.addCleanup(store.close)
        gc.collect()  # the ctypes thunk must be held by the store, not by us
        cid = store.create_contact({"email": "a@example.com"})
        self.assertEqual(store.get(cid)["createdate"], "2024-03-10T12:00:00Z")
        self.assertEqual(store.now(), T0)
        t[0] = calendar.timegm((2024, 4, 1, 0, 0, 0))
        store.tick()
        self.assertEqual(len(store.periods()), 1)

    def test_r4_closed_store_refuses_calls_and_closes_once(self):
        with hc.Store(admin_email="admin@example.com", actor=ADMIN) as store:
            store.create_contact({"firstname": "A"})
            it = store.iter_contacts()
        self.assertTrue(store.closed)
        with self.assertRaises(ValueError):
            store.count()
        with self.assertRaises(hc.StoreClosed):
            store.create_contact({"firstname": "B"})
        # freed with the store, not after it: next() says why it cannot go on
        with self.assertRaisesRegex(hc.StoreClosed, "closed"):
            next(it)
        it.close()
        store.close()  # idempotent

    def test_r4_close_waits_for_calls_in_flight_on_other_threads(self):
        # Closing a store while another thread is inside a call (a lookup,
        # an iterator's next) used to free it under that call: a crash or a
        # heap use-after-free. close() waits; later calls raise StoreClosed.
        emails = [f"c{i}@example.com" for i in range(300)]
        for run in range(40):
            with self.subTest(run=run):
                store = hc.Store(admin_email="admin@example.com", actor=ADMIN)
                store.create_contacts([{"email": e} for e in emails])
                outcome = []
                started = threading.Event()

                def reader(call):
                    try:
                        while True:
                            call()
                            started.set()
                    except hc.StoreClosed:
                        outcome.append("closed")
                    except BaseException as e:
                        outcome.append(e)
                    finally:
                        started.set()

                def walk():
                    for _ in store.iter_contacts():
                        pass

                threads = [threading.Thread(target=reader, args=(lambda: store.find_many(emails),)),
                           threading.Thread(target=reader, args=(lambda: store.get_many(emails[:20]),)),
                           threading.Thread(target=reader, args=(walk,))]
                for th in threads:
                    th.start()
                started.wait()
                store.close()
                for th in threads:
                    th.join()
                self.assertEqual(outcome, ["closed"] * 3)
                with self.assertRaises(hc.StoreClosed):
                    store.find_many(emails)

    def test_r4_close_from_an_event_handler_is_refused(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN)
        self.addCleanup(store.close)
        refused = []

        def handler(ev):
            try:
                store.close()
            except hc.Busy as e:
                refused.append(e)

        store.on_event(handler)
        cid = store.create_contact({"firstname": "A"}, marketing=True)
        store.set_non_marketing(cid)
        self.assertEqual(len(refused), 2)  # one per status change
        self.assertIn("nothing closed", refused[0].message)
        self.assertFalse(store.closed)
        self.assertEqual(store.get(cid).status, hc.Status.MARKETING_UNTIL_UPDATE)

    def test_r2_exception_in_the_clock_is_raised_by_the_call(self):
        def clock():
            if fail[0]:
                raise RuntimeError("clock broke")
            return T0
        fail = [False]
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=clock)
        self.addCleanup(store.close)
        fail[0] = True
        with self.assertRaisesRegex(RuntimeError, "clock broke"):
            store.count()
        fail[0] = False
        self.assertEqual(store.count(), 0)

    def test_r2_a_raising_clock_fails_the_call_and_changes_nothing(self):
        # The clock used to answer with its last good time, so the contact
        # was committed although the call raised, and the retry got EXISTS.
        fail = [False]

        def clock():
            if fail[0]:
                raise RuntimeError("clock broke")
            return T0
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=clock)
        self.addCleanup(store.close)
        store.create_contact({"email": "first@example.com"})
        before = store.dump()
        fail[0] = True
        for call in (lambda: store.create_contact({"email": "a@example.com"}),
                     lambda: store.create_contacts([{"email": "a@example.com"}]),
                     lambda: store.set_marketing(1),
                     lambda: store.create_user("bob@example.com"),
                     lambda: store.tick()):
            with self.assertRaisesRegex(RuntimeError, "clock broke"):
                call()
        fail[0] = False
        self.assertEqual(store.dump(), before)
        cid = store.create_contact({"email": "a@example.com"})  # the retry succeeds
        self.assertEqual(store.get(cid)["createdate"], "2024-03-10T12:00:00Z")

    def test_r4a_a_clock_outside_int64_is_refused_not_wrapped(self):
        t = [T0]
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: t[0])
        self.addCleanup(store.close)
        before = store.dump()
        for bad, exc in [(2 ** 70, ValueError), (-(2 ** 63) - 1, ValueError),
                         (T0 + 0.5, TypeError), ("1710072000", TypeError)]:
            with self.subTest(clock=bad):
                t[0] = bad
                with self.assertRaisesRegex(exc, "clock"):
                    store.create_contact({"email": "a@example.com"})
                t[0] = T0
                self.assertEqual(store.dump(), before)
        with self.assertRaisesRegex(ValueError, "clock"):
            hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: 2 ** 70)

    def test_b2a_max_clock_jump_reaches_the_library(self):
        t = [T0]
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: t[0],
                         max_clock_jump=3600)
        self.addCleanup(store.close)
        store.create_contact({"email": "a@example.com"})
        before = store.dump()
        t[0] = T0 + 7200
        with self.assertRaises(hc.InvalidArgument) as cm:
            store.create_contact({"email": "b@example.com"})
        self.assertIn("2024-03-10T14:00:00Z", cm.exception.message)
        self.assertIn("3600", cm.exception.message)
        t[0] = T0
        self.assertEqual(store.dump(), before)
        with self.assertRaises(hc.InvalidArgument):
            hc.Store(admin_email="admin@example.com", max_clock_jump=-1)
        with self.assertRaisesRegex(ValueError, "max_clock_jump"):
            hc.Store(admin_email="admin@example.com", max_clock_jump=2 ** 63)

    def test_m3_exception_in_an_event_handler_propagates_after_commit(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN)
        self.addCleanup(store.close)

        def handler(ev):
            raise KeyError("handler failed")

        store.on_event(handler)
        cid = store.create_contact({"firstname": "A"})
        with self.assertRaises(KeyError):
            store.set_marketing(cid)
        self.assertEqual(store.get(cid).status, hc.Status.MARKETING)  # committed
        store.off_event(handler)
        store.set_non_marketing(cid)  # no handler: no exception
        self.assertEqual(store.get(cid).status, hc.Status.MARKETING_UNTIL_UPDATE)

    def test_r5_error_message_survives_a_handler_that_calls_the_library(self):
        # events of a catch-up are delivered before a refused call returns;
        # a handler re-entering the store overwrites the thread's last error
        t = [T0]
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: t[0],
                         commitment=hc.Commitment.ANNUAL)
        self.addCleanup(store.close)
        cid = store.create_contact({"email": "a@example.com"}, marketing=True)
        store.set_non_marketing(cid)
        busy = []
        store.on_event(lambda ev: busy.append(_try(store.count)))
        t[0] = calendar.timegm((2024, 4, 1, 0, 0, 0))
        with self.assertRaises(hc.Exists) as cm:
            store.create_contact({"email": "a@example.com"})
        self.assertIn("record id", cm.exception.message)
        self.assertTrue(busy and all(isinstance(b, hc.Busy) for b in busy))


def _try(fn):
    try:
        return fn()
    except hc.HubcError as e:
        return e


class MemoryTest(unittest.TestCase):
    def workload(self, store):
        ids = [store.create_contact({"email": f"c{i}@example.com", "firstname": "N"})
               for i in range(40)]
        for cid in ids[::2]:
            store.set_marketing(cid)
        store.set_non_marketing(ids[0])
        store.update_contact(ids[1], {"firstname": None, "city": "Roma"})
        store.delete_contact(ids[2])
        store.define_property("score", "Score", hc.PropType.NUMBER)
        bob = store.create_user("bob@example.com")
        store.user(bob)
        store.get(ids[3])
        store.get_by_email("c4@example.com")
        store.history()
        store.periods()
        store.billing()
        store.dump()
        next(iter(store.iter_contacts()))  # abandoned half-way
        return ids

    def test_r1_no_library_memory_outlives_the_store(self):
        alloc = CountingAlloc()
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, alloc=alloc)
        self.workload(store)
        self.assertGreater(len(alloc.live), 0)
        store.close()
        self.assertEqual(alloc.errors, [])
        self.assertEqual(alloc.live, {}, "blocks still allocated after close")

    def test_r1_a_read_whose_callback_raises_frees_what_it_made(self):
        # The C call succeeds, then the binding raises what the clock raised:
        # the snapshots and iterators the call made must still be freed.
        # (Every read here consults the clock; hubc_contact_iterator_new
        # does not, so no callback can raise during it.)
        raise_now = [False]

        def clock():
            if raise_now[0]:
                raise RuntimeError("clock broke")
            return T0
        alloc = CountingAlloc()
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, alloc=alloc, clock=clock)
        cid = store.create_contact({"email": "a@example.com"})
        emails = ["a@example.com"] * 20
        reads = {
            "get": lambda: store.get(cid),
            "get_by_email": lambda: store.get_by_email("a@example.com"),
            "get_many": lambda: store.get_many(emails),
            "history": lambda: store.history(cid),
            "periods": lambda: store.periods(),
            "user": lambda: store.user(ADMIN),
            "users": lambda: store.users(),
        }
        for name, read in reads.items():
            with self.subTest(read=name):
                raise_now[0] = True
                try:
                    with self.assertRaisesRegex(RuntimeError, "clock broke"):
                        read()
                finally:
                    raise_now[0] = False
        store.close()
        self.assertEqual(alloc.errors, [])
        self.assertEqual(alloc.live, {}, "blocks still allocated after close")

    def test_r2_allocation_failure_at_each_step_raises_nomem_and_changes_nothing(self):
        alloc = CountingAlloc()
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN, alloc=alloc, clock=lambda: T0)
        self.addCleanup(store.close)
        ids = []
        # (call, must it allocate?): the first contact of a store needs its
        # record space and indexes, a property a new schema; later records
        # and status changes may fit in space reserved before
        calls = [
            (lambda: ids.append(store.create_contact({"email": "base@example.com"},
                                                     marketing=True)), True),
            (lambda: store.create_contact({"email": "new@example.com", "firstname": "N"}), False),
            (lambda: store.set_non_marketing(ids[0]), False),
            (lambda: store.update_contact(ids[0], {"city": "Roma", "company": "ACME"}), False),
            (lambda: store.define_property("score", "Score", hc.PropType.NUMBER), True),
        ]
        for i, (call, allocates) in enumerate(calls):
            n = 1
            while True:
                with self.subTest(call=i, fail_at=n):
                    before = store.dump()
                    alloc.calls, alloc.fail_at = 0, n
                    try:
                        call()
                    except hc.OutOfMemory as e:
                        alloc.fail_at = None
                        self.assertEqual(e.code, hc.Code.NOMEM)
                        self.assertTrue(e.message)
                        self.assertEqual(store.dump(), before)
                        n += 1
                        continue
                    finally:
                        alloc.fail_at = None
                    break
            if allocates:
                self.assertGreater(n, 1, f"call {i}: no allocation failure was injected")
            self.assertLess(n, 50)
        self.assertEqual(len(ids), 1)
        store.close()
        self.assertEqual(alloc.errors, [])
        self.assertEqual(alloc.live, {})


class ArgumentTest(unittest.TestCase):
    """Bad arguments through the binding, caught by it or by the library."""

    def test_r4_many_lookups_name_the_row_of_a_bad_email(self):
        with hc.Store(admin_email="admin@example.com", actor=ADMIN) as store:
            store.create_contact({"email": "a@example.com"})
            for call in (store.get_many, store.find_many):
                with self.subTest(call=call.__name__):
                    with self.assertRaises(hc.InvalidArgument) as cm:
                        call(["a@example.com", "a@example.com", None])
                    self.assertIn("row 2", cm.exception.message)
                    with self.assertRaises(hc.InvalidArgument) as cm:
                        call(["a@example.com", "not an email"])
                    self.assertIn("row 1", cm.exception.message)
                    with self.assertRaisesRegex(ValueError, "email in row 1"):
                        call(["a@example.com", "b\0@example.com"])
                    with self.assertRaisesRegex(TypeError, "sequence of emails"):
                        call("a@example.com")


class IntegerRangeTest(unittest.TestCase):
    """R4a: every integer crossing into C is range-checked by the binding."""

    def setUp(self):
        self.store = hc.Store(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0)
        self.addCleanup(self.store.close)
        self.cid = self.store.create_contact({"email": "a@example.com"})
        self.bob = self.store.create_user("bob@example.com")

    def refused(self, call, exc, word):
        before = self.store.dump()
        with self.assertRaisesRegex(exc, word):
            call()
        self.assertEqual(self.store.dump(), before)

    def test_r4a_ids_and_actors_out_of_range_are_refused_not_truncated(self):
        s = self.store
        # 2**64 + 1 used to reach C as 1 and delete contact 1
        self.refused(lambda: s.delete_contact(2 ** 64 + self.cid), ValueError, "contact")
        self.refused(lambda: s.set_marketing(self.cid, actor=2 ** 64 + self.bob),
                     ValueError, "actor")
        self.refused(lambda: s.update_contact(2 ** 63, {"city": "Roma"}), ValueError, "contact")
        self.refused(lambda: s.set_marketing(self.cid, reason_id=-(2 ** 63) - 1),
                     ValueError, "reason_id")
        self.refused(lambda: s.set_marketing(self.cid, reason=2 ** 32 + 1), ValueError, "reason")
        self.refused(lambda: s.set_permissions(self.bob, 2 ** 32 + 1), ValueError, "permissions")
        self.refused(lambda: s.set_permissions(self.bob, -1), ValueError, "permissions")
        self.refused(lambda: s.request_downgrade(-1), ValueError, "tier")
        self.refused(lambda: s.create_contact({"firstname": "B"}, source_id=2 ** 63),
                     ValueError, "source_id")
        with self.assertRaisesRegex(ValueError, "contact"):
            s.get(2 ** 64 + self.cid)
        with self.assertRaisesRegex(ValueError, "select"):
            s.iter_contacts(2 ** 32)
        self.assertEqual(s.get(self.cid)["email"], "a@example.com")

    def test_r4a_non_integers_are_refused_not_rounded(self):
        s = self.store
        for bad in (1.0, 1.5, "1", True):
            with self.subTest(value=bad):
                self.refused(lambda: s.delete_contact(bad), TypeError, "contact")
                self.refused(lambda: s.set_marketing(self.cid, actor=bad), TypeError, "actor")
        self.refused(lambda: s.delete_contact(None), TypeError, "contact")

    def test_r4a_store_options_are_range_checked(self):
        for kw, exc, word in [
                ({"hard_cap": -1}, ValueError, "hard_cap"),   # was 2**64 - 1
                ({"hard_cap": 2 ** 64}, ValueError, "hard_cap"),
                ({"tier": -5}, ValueError, "tier"),
                ({"tier_ladder": [1000, 1.5]}, TypeError, r"tier_ladder\[1\]"),  # was 1
                ({"tier_ladder": [1000, 2 ** 64]}, ValueError, r"tier_ladder\[1\]"),
                ({"tier_ladder": [-1]}, ValueError, r"tier_ladder\[0\]"),
                ({"tier_ladder": "123"}, TypeError, "tier_ladder"),
                ({"renewal_anchor": 2 ** 63}, ValueError, "renewal_anchor"),
                ({"subscription": 2 ** 31}, ValueError, "subscription"),
                ({"commitment": 0.0}, TypeError, "commitment")]:
            with self.subTest(options=kw):
                with self.assertRaisesRegex(exc, word):
                    hc.Store(admin_email="admin@example.com", actor=ADMIN, **kw)

    def test_r4a_a_string_is_not_a_sequence_of_options(self):
        # options="abc" used to define three options a, b, c
        self.refused(lambda: self.store.define_property("size", "Size", hc.PropType.ENUMERATION,
                                                        options="abc"),
                     TypeError, "options")
        with self.assertRaises(hc.NotFound):
            self.store.property("size")
        self.store.define_property("size", "Size", hc.PropType.ENUMERATION, options=("S", "M"))
        self.assertEqual(self.store.property("size").options, ("S", "M"))


class ThreadTest(unittest.TestCase):
    def test_r6_threads_share_one_store_and_r5_errors_stay_per_thread(self):
        store = hc.Store(admin_email="admin@example.com", actor=ADMIN)
        self.addCleanup(store.close)
        per_thread, n_threads = 150, 4
        results, failures = {}, []
        start = threading.Barrier(n_threads)

        def work(t):
            try:
                start.wait()
                mine = []
                for i in range(per_thread):
                    cid = store.create_contact({"email": f"t{t}-{i}@example.com"})
                    if i % 3 == 0:
                        store.set_marketing(cid)
                    self.assertEqual(store.find(f"T{t}-{i}@example.com"), cid)
                    try:  # each thread reads its own error message (R5)
                        store.create_contact({"email": f"t{t}-{i}@example.com"})
                    except hc.Exists as e:
                        if f"t{t}-{i}@example.com" not in e.message or str(cid) not in e.message:
                            failures.append(f"thread {t} got message {e.message!r}")
                    else:
                        failures.append(f"thread {t}: duplicate accepted")
                    mine.append(cid)
                results[t] = mine
            except BaseException as e:  # reported by the main thread
                failures.append(f"thread {t}: {e!r}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(failures, [])
        ids = [cid for mine in results.values() for cid in mine]
        self.assertEqual(len(set(ids)), per_thread * n_threads)
        self.assertEqual(store.count(), per_thread * n_threads)
        self.assertEqual(sorted(store.iter_contacts()), sorted(ids))
        self.assertEqual(store.billing().billable, n_threads * len(range(0, per_thread, 3)))


class JournalTest(unittest.TestCase):
    def test_r3_journal_reopen_restores_an_equal_store(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "store.journal")
            opts = dict(admin_email="admin@example.com", actor=ADMIN, clock=lambda: T0,
                        commitment=hc.Commitment.ANNUAL)
            with hc.Store(journal=path, **opts) as store:
                a = store.create_contact({"email": "a@example.com", "firstname": "Anna"},
                                         marketing=True)
                store.create_contact({"email": "b@example.com"})
                store.set_non_marketing(a)
                store.create_user("bob@example.com")
                with self.assertRaises(hc.Exists):
                    store.create_contact({"email": "A@example.com"})
                written = store.dump()
            self.assertTrue(os.path.getsize(path) > 0)
            with hc.Store(journal=path, **opts) as store:
                self.assertEqual(store.dump(), written)
                self.assertEqual(store.get_by_email("a@example.com").status,
                                 hc.Status.MARKETING_UNTIL_UPDATE)
                self.assertEqual(len(store.history(a)), 2)


    def test_r3_compact_waits_for_calls_in_flight_and_keeps_every_commit(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "store.journal")
            opts = dict(admin_email="admin@example.com", actor=ADMIN, journal=path,
                        fsync=hc.FsyncPolicy.NEVER)
            n_threads, per_thread = 3, 60
            failures = []
            with hc.Store(**opts) as store:
                def work(t):
                    try:
                        for i in range(per_thread):
                            store.create_contact({"email": f"t{t}-{i}@example.com"})
                    except BaseException as e:
                        failures.append(e)

                threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
                for th in threads:
                    th.start()
                compactions = 0
                while any(th.is_alive() for th in threads) or not compactions:
                    store.compact()
                    compactions += 1
                for th in threads:
                    th.join()
                self.assertEqual(failures, [])
                self.assertEqual(store.count(), n_threads * per_thread)
                written = store.dump()
            self.assertTrue(os.path.exists(path + ".snap"))
            with hc.Store(**opts) as store:
                self.assertEqual(store.dump(), written)
            with self.assertRaises(hc.StoreClosed):
                store.compact()
        with hc.Store(admin_email="admin@example.com") as store:
            with self.assertRaisesRegex(hc.InvalidArgument, "no journal"):
                store.compact()

    def test_r3_read_only_journal_reads_and_refuses_every_change(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "store.journal")
            with self.assertRaises(hc.NotFound):
                hc.Store(journal=path, read_only=True)
            with hc.Store(admin_email="admin@example.com", actor=ADMIN, journal=path) as store:
                store.create_contact({"email": "a@example.com"}, marketing=True)
                written = store.dump()
                info = store.journal_info()
                self.assertIsInstance(info, hc.JournalInfo)
                self.assertEqual((info.flags, info.torn_bytes), (hc.JournalFlag(0), 0))
                self.assertGreater(info.log_bytes, 0)
            with hc.Store(actor=ADMIN, journal=path, read_only=True) as store:
                self.assertEqual(store.dump(), written)
                self.assertEqual(store.get_by_email("a@example.com").status, hc.Status.MARKETING)
                with self.assertRaisesRegex(hc.PersistError, "read-only"):
                    store.create_contact({"email": "b@example.com"})
                self.assertEqual(store.dump(), written)
                with self.assertRaises(hc.ReadOnly):
                    store.compact()
                self.assertIn(hc.JournalFlag.READ_ONLY, store.journal_info().flags)
        with hc.Store(admin_email="admin@example.com") as store:
            with self.assertRaisesRegex(hc.InvalidArgument, "no journal"):
                store.journal_info()

    def test_r4a_journal_options_are_checked(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "store.journal")
            with self.assertRaisesRegex(ValueError, "auto_compact_bytes"):
                hc.Store(admin_email="admin@example.com", journal=path, auto_compact_bytes=-1)
            with self.assertRaisesRegex(TypeError, "fsync_interval_ms"):
                hc.Store(admin_email="admin@example.com", journal=path, fsync_interval_ms=0.5)
            with self.assertRaisesRegex(hc.InvalidArgument, "fsync"):
                hc.Store(admin_email="admin@example.com", journal=path, fsync=7)
            with hc.Store(admin_email="admin@example.com", journal=path,
                          fsync=hc.FsyncPolicy.INTERVAL, fsync_interval_ms=50) as store:
                store.create_contact({"email": "a@example.com"}, actor=ADMIN)


if __name__ == "__main__":
    unittest.main()
