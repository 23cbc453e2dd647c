"""The metadata store: SQLAlchemy models, sessions, Alembic migrations."""
