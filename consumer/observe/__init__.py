"""Observe: logs, metrics, the metrics HTTP endpoint and the read-only status queries."""
