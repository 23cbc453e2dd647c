"""The peers, each installed from PyPI into its own virtualenv under `.bench-venvs/`.

    python benchmarks/peers.py [metaflow evidently mlserver ...]   # create or check them

A peer that cannot be installed is not a figure: `ensure` returns `NotMeasured` with the
reason (pip's last lines), and the tables print "not measured" with it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".bench-venvs"


def _pinned(distribution: str) -> str:
    """The main environment's version, for peers that must unpickle the models it trained."""
    from importlib.metadata import version

    return f"{distribution}=={version(distribution)}"


# name -> (requirements, the distribution whose version names the peer)
REQUIREMENTS: dict[str, tuple[list[str], str]] = {
    "metaflow": (["metaflow>=2.19,<2.20"], "metaflow"),
    "evidently": (["evidently>=0.7,<0.8", "pandas<3", "pyarrow"], "evidently"),
    "mlserver": (["mlserver>=1.7,<1.8", "mlserver-sklearn>=1.7,<1.8", _pinned("scikit-learn"), _pinned("lightgbm"),
                  "joblib", "uvloop<0.22"], "mlserver"),  # uvloop 0.22 breaks MLServer 1.7's inference workers
}


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    python: Path

    @property
    def bin(self) -> Path:
        return self.python.parent

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class NotMeasured:
    name: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.name}: not measured ({self.reason})"


def ensure(name: str, *, quiet: bool = True) -> Peer | NotMeasured:
    """The peer's virtualenv, created (or re-created when its requirements changed) on first use."""
    requirements, distribution = REQUIREMENTS[name]
    venv = VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        print(f"installing {name} into {venv.relative_to(ROOT)} ({', '.join(requirements)})", flush=True)
        steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
                 [str(python), "-m", "pip", "install", "--quiet", *requirements]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
                return NotMeasured(name, f"pip failed: {tail[-300:]}" if "pip" in step else tail[-300:])
        stamp.write_text(wanted)
    found = subprocess.run([str(python), "-c", f"from importlib.metadata import version; print(version({distribution!r}))"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        return NotMeasured(name, f"{distribution} does not import: {found.stderr.strip().splitlines()[-1:]}")
    return Peer(name, found.stdout.strip(), python)


def main() -> None:
    for name in sys.argv[1:] or REQUIREMENTS:
        print(ensure(name).label)


if __name__ == "__main__":
    main()
