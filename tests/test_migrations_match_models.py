"""The migrations build exactly the tables the models describe, on both databases.

The tests' databases are built by the migrations; a model changed without
its migration (or the reverse) would pass every other test on one database
and fail in a deployment. Alembic's comparison names the difference.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.core import models  # noqa: F401 - importing it registers every table
from gateway.core.runtime import Gateway
from gateway.core.schema import Base


def test_the_migrated_schema_is_the_models_schema(gw: Gateway) -> None:
    with gw.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
