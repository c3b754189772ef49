"""The worker's side: every enqueue and every job.

Leases and enqueueing (claims), the jobs by what they carry (inbound,
forwarding, outbound, media_fetch, cleanup, silence), the start of what a
transaction recorded (effects), dispatch to the channels' handlers, delivery
reports, the sweeper, the spool, retention, and the renaming of jobs queued
by an earlier release (job_paths).
"""
