"""The gateway's own HTTP endpoints.

Health, attachment links, the tracker's callback, the server's log and limits.
"""
