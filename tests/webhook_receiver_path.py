"""The churn example's webhook receiver (a real HTTP server on loopback), importable from any test folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "churn"))

from webhook_receiver import Receiver  # noqa: E402,F401
