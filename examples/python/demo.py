#!/usr/bin/env python3
"""A short tour of the hubcontacts Python package.

From the repository root, after `cmake --workflow --preset dev` (or any
preset: the library is build/<preset>/lib/libhubcontacts.so.1):

    HUBC_LIBRARY=build/dev/lib/libhubcontacts.so.1 PYTHONPATH=examples/python \\
        python3 examples/python/demo.py

or install the package first (`pip install --no-build-isolation examples/python`)
and keep only HUBC_LIBRARY (not needed once the library is installed).
"""

import datetime

import hubcontacts as hc

OWNER = 1  # the first super admin of a new store (admin_email)


def when(t: int) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d")


def main() -> None:
    print(f"libhubcontacts {hc.version()}")
    # A settable clock: the demo walks over an update date without waiting.
    now = [int(datetime.datetime(2024, 3, 10, tzinfo=datetime.timezone.utc).timestamp())]

    with hc.Store(admin_email="admin@example.com", actor=OWNER, clock=lambda: now[0],
                  commitment=hc.Commitment.ANNUAL, tier_ladder=[3, 10]) as store:
        store.on_event(lambda ev: print(f"  event {ev.type.name}: contact={ev.contact} "
                                        f"billable={ev.billable} tier={ev.tier}"
                                        + (f" threshold={ev.threshold}%" if ev.threshold else "")))

        anna = store.create_contact({"email": " Anna@Example.com ", "firstname": "Anna"})
        bob = store.create_contact({"Email": "bob@example.com", "First Name": "Bob",
                                    "lifecyclestage": "lead"})
        carla = store.create_contact({"email": "carla@example.com"}, marketing=True)
        print(f"created {store.count()} contacts: {anna}, {bob}, {carla}")

        print("set anna and bob as marketing contacts:")
        store.set_marketing(anna)
        store.set_marketing(bob, actor=hc.SYSTEM, reason=hc.Source.INTEGRATION, reason_id=7)  # connected app 7

        contact = store.get_by_email("ANNA@example.com")
        print(f"{contact.email}: {contact.status.name}, hs_marketable_status="
              f"{contact['hs_marketable_status']}")

        try:
            store.create_contact({"email": "anna@example.com"})
        except hc.Exists as e:
            print(f"duplicate refused: {e}")

        print("bob asks to stop being a marketing contact (pending until the update date):")
        store.set_non_marketing(bob)
        b = store.billing()
        print(f"billing: billable={b.billable} tier={b.tier} next update {when(b.next_update)}")

        now[0] = b.next_update
        print(f"clock moves to {when(now[0])}:")
        store.tick()
        b = store.billing()
        print(f"billing: billable={b.billable} marketing={b.marketing} "
              f"until_update={b.until_update} non_marketing={b.non_marketing} tier={b.tier}")
        for p in store.periods():
            print(f"closed period {p.number}: {when(p.start)} .. {when(p.end)}, peak {p.peak}")
        print("status history (CSV):")
        print(store.history_export(), end="")


if __name__ == "__main__":
    main()
