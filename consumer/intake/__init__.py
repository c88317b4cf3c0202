"""Intake: where fetched Kafka records enter. Each becomes one typed message, decoded once;
the batcher collects them and the positions follow what was accepted."""
