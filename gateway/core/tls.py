"""One TLS context for every outbound HTTPS call of a process.

httpx builds a new `ssl.SSLContext` for every client it makes, and
`httpx.post` makes a client per call: each loads the CA bundle again (some
20 ms of CPU, and some 0.8 MiB of C heap that glibc keeps once freed: a
worker sending SMS grew by 10 MiB and more; bench/README.md, memory).
`context()` is built once, on first use, exactly as httpx builds its
default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), and every call passes
it as `verify=`. It holds the trusted CAs and the verification settings
only, no connection and no cookie, so threads share it, and a forked
process keeps using it.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def context() -> ssl.SSLContext:
    """The process's TLS context for outbound HTTPS (verification on, as httpx's default)."""
    return httpx.create_ssl_context()
