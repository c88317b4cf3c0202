"""The Python side of the local services, shared by the tests and the bench: the env file
that ``stack.sh up`` writes, DSNs for other databases and logins, databases made as the
migrations expect them."""
