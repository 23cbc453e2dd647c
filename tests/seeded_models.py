"""Model versions written straight into the metadata store, owned by a team, with no MLflow behind them."""

from __future__ import annotations

from datetime import datetime, timezone

from shipyard.store.db import session_scope
from shipyard.store.models import ModelHead, ModelOwner, ModelVersionState


def seed_model(model: str, team: str, versions: dict[str, str], *, produced_by: str | None = None) -> None:
    """Versions in the given states, owned by ``team``, already mirrored (no MLflow needed)."""
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        session.add(ModelOwner(model=model, team=team, recorded_at=now))
        session.add(ModelHead(model=model, production_version=None, row_version=0))
        session.flush()
        for version, state in versions.items():
            session.add(ModelVersionState(model=model, version=version, state=state, approval="auto",
                                          was_production=False, synced=True, updated_at=now, produced_by=produced_by))
