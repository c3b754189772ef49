"""The worker's side.

Leases, every job, dispatch, messages out, delivery reports, cleanup, sweeper, retention.
"""
