"""Forensics: the whole story of a trace, replay of a recorded run, and policy what-if.

- ``trace``: ``build_trace(ledger, trace_id)`` — everything the ledger (and Dagster)
  knows about one governed task, in order;
- ``recording``: what a run records so that it can be replayed offline;
- ``replay``: re-execute a recorded run's deterministic part and compare each decision;
- ``whatif``: the same replay under a proposed envelope, over one run or a date range.
"""
