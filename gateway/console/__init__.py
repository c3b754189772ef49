"""The focal-point console at /console/: queue, cases, dead letters, statistics, users, audit.

Server-rendered pages that work without JavaScript and stay small on a slow
link. Sign-in takes a password and a TOTP code; each view declares the roles
that may open it (security.py). The console never shows how to reach a
reporter: only the channel and whether a message can reach them directly.
"""

from gateway.console import admin, auth, case, case_actions, exports, health, queue, stats
from gateway.console import allegation as allegation_views
from gateway.console import erase as erase_views
from gateway.console import hq_export as hq_export_views
from gateway.console import intake as intake_views
from gateway.console import referrals as referral_views
from gateway.console import restriction as restriction_views
from gateway.console import voice_prompts as voice_prompt_views
from gateway.console.pages import blueprint

__all__ = ["blueprint"]

# The view modules register their routes on `blueprint` when imported.
_VIEWS = (
    admin,
    auth,
    case,
    case_actions,
    exports,
    health,
    queue,
    stats,
    referral_views,
    restriction_views,
    intake_views,
    voice_prompt_views,
    hq_export_views,
    allegation_views,
    erase_views,
)
