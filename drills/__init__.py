"""Reliability drills: load, races, faults and hostile input against the real stack.

Not tests (they run for minutes and sleep on real time): `drills/run` runs them all or
one by name; each prints its figures and ends with the ledger invariant check.
See docs/RELIABILITY.md.
"""
