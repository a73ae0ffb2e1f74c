"""The queryable projection of Mender's state in SQLModel (SQLite by default, any SQLAlchemy URL)."""
