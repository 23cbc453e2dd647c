"""The TOML price list: what it charges, and every way a file is refused."""

import pytest

from shipyard.config import load_settings
from shipyard.errors import SpecError
from shipyard.governance.prices import GIB, PriceList, load_prices, parse_prices

FULL = """
currency = "EUR"
cpu = 0.04
memory = 0.005
requests = 0.02
spot_discount = 0.65

[gpu]
default = 2.5
T4 = 0.5
"""


def test_a_price_list_charges_cores_memory_and_gpus_by_type_and_spot_at_its_discount():
    prices = parse_prices(FULL, source="prices.toml")
    assert prices.currency == "EUR" and prices.requests == 0.02
    on_demand = prices.hourly(cpu=2, memory_bytes=4 * GIB, gpus=1, gpu_type="T4")
    assert on_demand == pytest.approx(2 * 0.04 + 4 * 0.005 + 0.5)
    assert prices.hourly(cpu=0, memory_bytes=0, gpus=2, gpu_type="A100") == pytest.approx(5.0)
    spot = prices.hourly(cpu=2, memory_bytes=4 * GIB, gpus=1, gpu_type="T4", spot=True)
    assert spot == pytest.approx(on_demand * 0.35)


def test_keys_left_out_charge_nothing():
    prices = parse_prices("cpu = 1", source="p")
    assert prices.hourly(cpu=3, memory_bytes=10 * GIB, gpus=4) == 3.0
    assert prices == PriceList(source="p", cpu=1.0)


@pytest.mark.parametrize("text, message", [
    ("cpu = ", "not valid TOML"),
    ("cpus = 1", "unknown key 'cpus'"),
    ("cpu = -1", "p:cpu = -1 is not allowed"),
    ("memory = true", "p:memory = True is not allowed"),
    ("spot_discount = 1", "p:spot_discount = 1 is not allowed"),
    ("spot_discount = -0.1", "spot_discount = -0.1 is not allowed"),
    ("gpu = 2", "p:gpu must be a table"),
    ("[gpu]\nT4 = 'cheap'", "p:gpu.T4 = 'cheap' is not allowed"),
    ("currency = 3", "p:currency = 3 is not allowed"),
])
def test_a_bad_price_list_is_refused_with_what_to_write(text, message):
    with pytest.raises(SpecError) as caught:
        parse_prices(text, source="p")
    assert message in caught.value.message and caught.value.headline == "invalid price list"
    assert caught.value.hint and caught.value.exit_code == 2


def test_the_settings_find_the_price_list_under_the_home_or_where_shipyard_prices_points(shipyard_home, monkeypatch,
                                                                                        tmp_path):
    assert load_prices(load_settings()) is None
    shipyard_home.mkdir(parents=True)
    (shipyard_home / "prices.toml").write_text("cpu = 0.5")
    assert load_prices(load_settings()).cpu == 0.5
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text("cpu = 0.25")
    monkeypatch.setenv("SHIPYARD_PRICES", str(elsewhere))
    assert load_prices(load_settings()).cpu == 0.25
    monkeypatch.setenv("SHIPYARD_PRICES", str(tmp_path / "missing.toml"))
    with pytest.raises(SpecError, match="SHIPYARD_PRICES=.*names no file"):
        load_settings()
