"""axe-core, the accessibility engine, from its npm package, for the browser tests.

The tarball is downloaded once from the npm registry (no node or npm needed),
checked against the integrity npm's registry metadata gives for the pinned
version, and `package/axe.min.js` is kept in a cache directory. Tests inject
it into a Playwright page (in a context made with `bypass_csp=True`, since the
gateway's pages allow no script) and run it against WCAG 2.1 A and AA.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
# `dist.integrity` of axe-core@4.14.1 in https://registry.npmjs.org/axe-core
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3N"
    "PjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("critical", "serious")


class AxeUnavailable(Exception):
    """axe-core could be neither found in the cache nor downloaded and verified."""


def default_cache_dir() -> Path:
    """Inside the virtualenv, for runs with pytest's cache provider off."""
    return Path(sys.prefix) / "cache" / "axe-core"


def _verified(tarball: bytes) -> bytes:
    algorithm, _, expected = AXE_INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if digest != expected:
        raise AxeUnavailable(f"{AXE_TARBALL} does not match its registry integrity")
    return tarball


def _axe_from(tarball: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise AxeUnavailable(f"{AXE_TARBALL} holds no package/axe.min.js")
        return member.read()


def axe_source(cache_dir: Path | None = None, timeout: float = 60) -> str:
    """The text of axe.min.js of the pinned version, downloaded on first use.

    Raises AxeUnavailable when it is not cached and cannot be downloaded and
    verified; the caller decides between skipping and failing.
    """
    directory = (cache_dir or default_cache_dir()) / AXE_VERSION
    script = directory / "axe.min.js"
    if script.is_file():
        return script.read_text(encoding="utf-8")
    try:
        with urllib.request.urlopen(AXE_TARBALL, timeout=timeout) as response:  # noqa: S310
            tarball = response.read()
    except OSError as exc:
        raise AxeUnavailable(f"cannot download {AXE_TARBALL}: {exc}") from exc
    source = _axe_from(_verified(tarball))
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "axe.min.js.part"
    partial.write_bytes(source)
    partial.replace(script)
    return source.decode("utf-8")


def blocking_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; its violations of impact critical or serious."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per rule and node: rule id, impact, the node's CSS target."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
    return "\n".join(lines)
