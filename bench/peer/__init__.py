"""The benchmark's peer: Kafka Connect (standalone) with Debezium's JDBC sink."""
