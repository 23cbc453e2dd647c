from alembic import context
from sqlalchemy import create_engine

from shipyard.store.db import VERSION_TABLE
from shipyard.store.models import Base


def include_name(name, type_, parent_names):
    # Optuna and MLflow may keep their tables in the same database; only ours are compared.
    return type_ != "table" or name in Base.metadata.tables


def run(connection):
    context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                      include_name=include_name, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from shipyard.config import load_settings

    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
