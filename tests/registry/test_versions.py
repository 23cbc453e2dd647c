"""Reading registered versions from a real MLflow store in a temporary folder."""

from __future__ import annotations

import pytest

from shipyard.errors import NotFoundError
from shipyard.registry.versions import MAX_VERSION, get_model_version


@pytest.mark.parametrize("version", [str(MAX_VERSION + 1), "35410299335634397739492676310506"])
def test_a_version_number_no_store_can_hold_is_not_found(shipyard_home, version):
    with pytest.raises(NotFoundError, match="there is no registered model named 'churn'"):
        get_model_version("churn", version)
