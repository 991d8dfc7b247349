"""Short-lived shared state behind Protocols: SQL by default, Redis when ``IDBB_REDIS_URL`` is set."""
