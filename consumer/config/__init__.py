"""Config: the one frozen settings object, connection helpers, error translation and retry
policy: what every stage may use."""
