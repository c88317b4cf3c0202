"""The top: the `consumer` command line and its operator commands (status, export-raw, dlq,
rebuild, migrate), each a thin layer over the stages below."""
