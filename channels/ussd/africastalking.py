"""Africa's Talking USSD: the provider's description (its endpoint: `webhooks/africastalking.py`).

It does not sign its requests: the callback URL carries a shared secret
(`AFRICASTALKING_CALLBACK_KEY`, the same as its SMS callbacks). The receipt
of a session cut after the statement goes by SMS through the SMS channel's
Africa's Talking sender (provider `africastalking`), and only if the
reporter agreed. Set-up: docs/providers/africastalking-ussd.md.
"""

from __future__ import annotations

from gateway.core.providers import Provider

PROVIDER = "africastalking_ussd"
SMS_PROVIDER = "africastalking"  # the SMS channel's provider of the same account
PATH = "/ussd/africastalking"
KEY_SETTING = "AFRICASTALKING_CALLBACK_KEY"

DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Africa's Talking USSD",
    routes=(PATH,),
    required_settings=(KEY_SETTING,),
    secret_settings=(KEY_SETTING,),
)
