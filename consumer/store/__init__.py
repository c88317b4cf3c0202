"""The store: one PostgreSQL transaction per batch (raw, staging, core, audit, offsets), its
SQL, the dead-letter sink and the schema migrations."""
