"""The producer: reads Copart CSV files and publishes one Kafka message per row."""
