"""What the SMS providers post to the gateway: one module per provider, each with its `ROUTES`.

Only a web process imports these (`channels/sms/web.py`); the sending side of
each provider stays in `channels/sms/<provider>.py`, which the worker uses.
"""
