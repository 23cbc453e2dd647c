"""Loading a version for serving refuses one whose files changed after registration, naming the file."""

from pathlib import Path

import pytest

from shipyard.errors import RefusedError
from shipyard.serving.loaded import load_for_serving


def _mlmodel(tracked) -> Path:
    uri = tracked["client"].get_model_version_download_uri("synth", tracked["result"].model_version)
    return Path(uri.removeprefix("file://")) / "MLmodel"


def test_a_retyped_input_in_mlmodel_keeps_the_version_from_loading(tracked):
    version, settings = tracked["result"].model_version, tracked["settings"]
    path = _mlmodel(tracked)
    original = path.read_text()
    retyped = original.replace('"type": "double", "name": "x1"', '"type": "string", "name": "x1"')
    assert retyped != original
    path.write_text(retyped)
    try:
        with pytest.raises(RefusedError, match="MLmodel was changed") as caught:
            load_for_serving("synth", version, settings=settings, compile=False)
        assert caught.value.headline == "model file changed" and f"synth version {version}" in caught.value.message
    finally:
        path.write_text(original)
    loaded = load_for_serving("synth", version, settings=settings, compile=False)
    assert loaded.signature["x1"] == "double"
