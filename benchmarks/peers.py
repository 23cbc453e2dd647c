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


def ensure(name: str) -> Peer | NotMeasured:
    """The peer's virtualenv, created (or re-created when its requirements changed) on first use."""
    requirements, distribution = REQUIREMENTS[name]
    return install(name, requirements, distribution, VENVS / name)


def install(name: str, requirements: list[str], distribution: str, venv: Path) -> Peer | NotMeasured:
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        print(f"installing {name} into {venv} ({', '.join(requirements)})", flush=True)
        for step in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                     [str(python), "-m", "pip", "install", "--quiet", *requirements]):
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
                return NotMeasured(name, f"{step[2]} failed: {' '.join(lines[-2:])[-300:]}")
        stamp.write_text(wanted)
    found = subprocess.run([str(python), "-c", "import sys; from importlib.metadata import version; "
                            "print(version(sys.argv[1]))", distribution], capture_output=True, text=True)
    if found.returncode != 0:
        return NotMeasured(name, f"{distribution} is not installed: {' '.join(found.stderr.strip().splitlines()[-1:])}")
    return Peer(name, found.stdout.strip(), python)


def main() -> None:
    for name in sys.argv[1:] or REQUIREMENTS:
        print(ensure(name).label)


if __name__ == "__main__":
    main()
