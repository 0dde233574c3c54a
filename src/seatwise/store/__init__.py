"""Storage: tables, the database URL, and schema migrations (SQLite by default, PostgreSQL by
URL). Money is stored as integer minor units and instants as UTC, the same on both."""
