"""The HTTP side of provider webhooks: verify, parse, store, acknowledge."""
