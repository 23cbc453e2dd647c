"""The price list cost is computed with, declared in TOML (``SHIPYARD_PRICES``, or ``prices.toml`` under the home).

::

    currency = "USD"
    cpu = 0.034             # per core-hour
    memory = 0.0045         # per GiB-hour
    requests = 0.02         # per 1,000 predictions served
    spot_discount = 0.65    # spot capacity costs 35% of on-demand

    [gpu]                   # per GPU-hour, by GPU type
    default = 2.48          # a GPU of a type not listed (and the GPUs pipeline steps request)
    T4 = 0.35

    [digest]                # where the weekly cost digest goes (see governance.digest_targets)
    webhook = "https://hooks.example.com/platform"

Every key is optional and defaults to 0 (nothing is charged for it); no file declares no prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.config import Settings
from shipyard.errors import SpecError
from shipyard.governance.toml_files import parse_document, read_text

_HEADLINE = "invalid price list"

GIB = 1024 ** 3
RATES = {"cpu": "per core-hour", "memory": "per GiB-hour", "requests": "per 1,000 predictions served"}
KEYS = ("currency", "spot_discount", "gpu", "digest", *RATES)
"""``digest`` names where the cost digest goes; ``governance.digest_targets`` reads it."""


@dataclass(frozen=True, kw_only=True)
class PriceList:
    source: str = "no price list"
    currency: str = "USD"
    cpu: float = 0.0
    memory: float = 0.0
    requests: float = 0.0
    spot_discount: float = 0.0
    """Share taken off on-demand prices for spot capacity: 0.65 makes spot cost 35% of on-demand."""
    gpu: dict[str, float] = field(default_factory=dict)

    def gpu_hour(self, gpu_type: str = "") -> float:
        return self.gpu.get(gpu_type, self.gpu.get("default", 0.0))

    def hourly(self, *, cpu: float, memory_bytes: float, gpus: float, gpu_type: str = "",
               spot: bool = False) -> float:
        """What ``cpu`` cores, ``memory_bytes`` of memory and ``gpus`` GPUs cost for one hour."""
        on_demand = cpu * self.cpu + memory_bytes / GIB * self.memory + gpus * self.gpu_hour(gpu_type)
        return on_demand * (1.0 - self.spot_discount) if spot else on_demand


def load_prices(settings: Settings) -> PriceList | None:
    """The declared price list, or None when the settings name no price file."""
    if settings.prices_file is None:
        return None
    path = settings.prices_file
    return parse_prices(read_text(path, headline=_HEADLINE), source=str(path))


def parse_prices(text: str, *, source: str) -> PriceList:
    document = parse_document(text, source=source, headline=_HEADLINE, example=_example())
    unknown = sorted(set(document) - set(KEYS))
    if unknown:
        raise _invalid(f"{source}: unknown key '{unknown[0]}'; allowed: {', '.join(KEYS)}", _example())
    values: dict[str, Any] = {"source": source}
    for key in RATES:
        if key in document:
            values[key] = _rate(document[key], f"{source}:{key}", RATES[key])
    if "currency" in document:
        currency = document["currency"]
        if not isinstance(currency, str) or not currency.strip():
            raise _invalid(f"{source}:currency = {currency!r} is not allowed; give a name like \"USD\"", _example())
        values["currency"] = currency.strip()
    if "spot_discount" in document:
        discount = document["spot_discount"]
        if isinstance(discount, bool) or not isinstance(discount, (int, float)) or not 0 <= discount < 1:
            raise _invalid(f"{source}:spot_discount = {discount!r} is not allowed; give a share from 0 to "
                           "below 1, e.g. 0.65 for spot at 35% of on-demand", _example())
        values["spot_discount"] = float(discount)
    gpu = document.get("gpu", {})
    if not isinstance(gpu, dict):
        raise _invalid(f"{source}:gpu must be a table of prices per GPU type, e.g. [gpu] default = 2.48", _example())
    values["gpu"] = {name: _rate(price, f"{source}:gpu.{name}", "per GPU-hour") for name, price in gpu.items()}
    return PriceList(**values)


def _rate(value: Any, where: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _invalid(f"{where} = {value!r} is not allowed; give a price {unit}, 0 or more", _example())
    return float(value)


def _invalid(message: str, hint: str) -> SpecError:
    return SpecError(message, headline=_HEADLINE, hint=hint)


def _example() -> str:
    return 'e.g. cpu = 0.034, memory = 0.0045, requests = 0.02, spot_discount = 0.65, [gpu] default = 2.48'
