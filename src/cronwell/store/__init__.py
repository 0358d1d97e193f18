"""The store: the only place with SQL. SQLite by default, PostgreSQL for many machines."""
