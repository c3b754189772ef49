"""What USSD aggregators post to the gateway: one module per aggregator (web processes only)."""
