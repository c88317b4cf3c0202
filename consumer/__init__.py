"""The consumer: Kafka row messages -> one PostgreSQL transaction per batch."""
