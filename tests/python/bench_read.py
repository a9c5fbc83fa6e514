#!/usr/bin/env python3
"""Contacts read per second from Python (not a test: run by hand).

    HUBC_LIBRARY=build/release/lib/libhubcontacts.so.1 PYTHONPATH=examples/python \\
        python3 tests/python/bench_read.py [N]

Creates N contacts (default 100,000; email, first and last name, city,
company), then reads them back by each path the package offers and prints
contacts/s (best of three runs per path): per wall-clock second and per
second of this process's CPU time (steadier on a shared, loaded machine)."""

import sys
import time

import hubcontacts as hc


def best(fn, n, runs=3):
    """(contacts per wall second, contacts per CPU second), best of runs."""
    times = [_timed(fn) for _ in range(runs)]
    return n / min(w for w, _ in times), n / min(c for _, c in times)


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with hc.Store(admin_email="admin@example.com", actor=1, tier_ladder=[10 ** 9]) as store:
        emails = [f"person{i}@example.com" for i in range(n)]
        for i in range(0, n, 10_000):
            store.create_contacts([{"email": e, "firstname": "Anna", "lastname": "Rossi",
                                    "city": "Roma", "company": "ACME"}
                                   for e in emails[i:i + 10_000]])
        chunk = 1000

        def get_many():
            for i in range(0, n, chunk):
                store.get_many(emails[i:i + chunk])

        def find_many():
            for i in range(0, n, chunk):
                store.find_many(emails[i:i + chunk])

        def contacts():
            for _ in store.contacts():
                pass

        def ids():
            for _ in store.iter_contacts():
                pass

        def query_contacts():
            for _ in store.query_contacts():
                pass

        def query_ids():
            for _ in store.query_ids():
                pass

        print(f"{n} contacts, {len(store.get(1))} properties each (stored + computed)")
        for name, fn in [("get_many (batches of 1000 emails)", get_many),
                         ("find_many (ids only, batches of 1000)", find_many),
                         ("contacts() (iterator + one get per id)", contacts),
                         ("iter_contacts() (ids only)", ids),
                         ("query_contacts() (256 snapshots per call)", query_contacts),
                         ("query_ids() (4096 ids per call)", query_ids)]:
            wall, cpu = best(fn, n)
            print(f"  {name:42s} {wall:>10,.0f} contacts/s  ({cpu:>10,.0f} per CPU second)")


if __name__ == "__main__":
    main()
