import peers


def test_a_peer_that_cannot_be_installed_is_not_measured_with_pips_reason(tmp_path):
    missing = tmp_path / "no-such-project"
    result = peers.install("nothing", [str(missing)], "nothing", tmp_path / "venv")
    assert isinstance(result, peers.NotMeasured)
    assert result.reason.startswith("pip failed:") and "no-such-project" in result.reason
    assert "not measured (pip failed" in result.label
    assert not (tmp_path / "venv" / ".requirements").exists()  # tried again next time


def test_an_installed_peer_is_named_by_its_version_and_reused(tmp_path):
    project = tmp_path / "tinypeer"
    (project / "tinypeer").mkdir(parents=True)
    (project / "tinypeer" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                            'backend-path = ["."]\n')
    (project / "backend.py").write_text(BACKEND)
    first = peers.install("tinypeer", [str(project)], "tinypeer", tmp_path / "venv")
    assert first == peers.Peer("tinypeer", "1.2.3", tmp_path / "venv" / "bin" / "python")
    stamp = (tmp_path / "venv" / ".requirements").stat().st_mtime_ns
    assert peers.install("tinypeer", [str(project)], "tinypeer", tmp_path / "venv") == first
    assert (tmp_path / "venv" / ".requirements").stat().st_mtime_ns == stamp


def test_the_serving_peer_gets_the_versions_that_trained_the_model():
    from importlib.metadata import version

    requirements, _ = peers.REQUIREMENTS["mlserver"]
    assert f"scikit-learn=={version('scikit-learn')}" in requirements
    assert f"lightgbm=={version('lightgbm')}" in requirements


# A PEP 517 backend in a few lines, so that installing a local project needs no build tools from an index.
BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION = "tinypeer", "1.2.3"
DIST = f"{NAME}-{VERSION}.dist-info"


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    files = {f"{NAME}/__init__.py": b"",
             f"{DIST}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode(),
             f"{DIST}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = [_record_line(p, d) for p, d in files.items()] + [f"{DIST}/RECORD,,"]
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{DIST}/RECORD", "\\n".join(record) + "\\n")
    return name
'''
