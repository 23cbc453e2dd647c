"""A seeded, synthetic customer-churn table.

Churn follows a logistic model of contract, tenure, charges, support calls, payment
method, partner status and age, with the label drawn at random from that
probability, so a good model reaches a ROC AUC of about 0.85.

``shift`` moves the population for drift experiments (0 is the training
distribution): later signups, higher monthly charges, more support calls, a plan mix
tilted toward basic, and a sixth region ('islands') that the training data never has.

    python examples/churn/generate.py --rows 20000 --seed 0 --shift 0 --out examples/churn/data/churn.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PLANS = np.array(["basic", "standard", "premium"])
CONTRACTS = np.array(["monthly", "annual", "two_year"])
REGIONS = np.array(["north", "south", "east", "west", "central", "islands"])
PAYMENT_METHODS = np.array(["electronic_check", "mailed_check", "bank_transfer", "credit_card"])

_START = np.datetime64("2022-01-01T00:00:00", "s")
_SPAN_SECONDS = 3 * 365 * 86400
_PLAN_PRICE = np.array([30.0, 60.0, 95.0])
_CONTRACT_EFFECT = np.array([0.9, -0.6, -1.6])
_PAYMENT_EFFECT = np.array([0.6, 0.1, -0.2, -0.3])
_INTERCEPT = -1.8


def _mix(base: list[float], toward: list[float], amount: float) -> np.ndarray:
    weights = np.asarray(base) + amount * np.asarray(toward)
    return weights / weights.sum()


def generate_churn(n_rows: int = 20000, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    if n_rows < 1:
        raise ValueError("n_rows must be positive")
    if shift < 0:
        raise ValueError("shift must be >= 0")
    rng = np.random.default_rng(seed)

    offsets = np.sort(rng.integers(0, _SPAN_SECONDS, n_rows)) + int(shift * 365 * 86400)
    signup_at = _START + offsets.astype("timedelta64[s]")
    customer_id = np.char.add("C", np.char.zfill(np.arange(1, n_rows + 1).astype(str), 6))

    age = np.clip(np.round(rng.normal(44, 14, n_rows)), 18, 90).astype(np.int64)
    tenure = np.clip(np.round(rng.exponential(22, n_rows)), 0, 72).astype(np.int64)

    plan = rng.choice(3, n_rows, p=_mix([0.45, 0.35, 0.20], [0.3, -0.15, -0.15], min(shift, 1.0)))
    long_tenure = tenure > 24
    contract = np.where(long_tenure,
                        rng.choice(3, n_rows, p=[0.35, 0.35, 0.30]),
                        rng.choice(3, n_rows, p=[0.70, 0.22, 0.08]))
    region_weights = _mix([0.25, 0.25, 0.2, 0.2, 0.1, 0.0], [0, 0, 0, 0, 0, 0.15], shift)
    region = rng.choice(6, n_rows, p=region_weights)
    payment = rng.choice(4, n_rows, p=[0.34, 0.22, 0.22, 0.22])
    has_partner = (rng.random(n_rows) < 0.48).astype(np.int64)

    monthly = _PLAN_PRICE[plan] + rng.normal(0, 9, n_rows) + 25 * shift
    monthly = np.round(np.clip(monthly, 10, None), 2)
    total = np.round(monthly * tenure * rng.uniform(0.95, 1.05, n_rows), 2)
    call_rate = np.exp(0.2 + 0.5 * shift + 0.35 * (contract == 0))
    support_calls = rng.negative_binomial(1.5, 1.5 / (1.5 + call_rate)).astype(np.int64)

    logit = (_INTERCEPT
             + _CONTRACT_EFFECT[contract]
             - 0.045 * tenure
             + 0.025 * (monthly - 60)
             + 0.32 * support_calls
             + _PAYMENT_EFFECT[payment]
             - 0.35 * has_partner
             - 0.012 * (age - 44))
    churned = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)

    total[rng.random(n_rows) < 0.02] = np.nan
    payment_method = PAYMENT_METHODS[payment].astype(object)
    payment_method[rng.random(n_rows) < 0.01] = None

    return pd.DataFrame({
        "customer_id": customer_id.astype(object),
        "signup_at": pd.to_datetime(signup_at),
        "age": age,
        "tenure_months": tenure,
        "monthly_charges": monthly,
        "total_charges": total,
        "support_calls": support_calls,
        "plan": PLANS[plan].astype(object),
        "contract": CONTRACTS[contract].astype(object),
        "region": REGIONS[region].astype(object),
        "payment_method": payment_method,
        "has_partner": has_partner,
        "churned": churned,
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic customer-churn CSV.")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shift", type=float, default=0.0, help="0 = training distribution; 1 = strong drift")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data" / "churn.csv")
    args = parser.parse_args(argv)
    frame = generate_churn(n_rows=args.rows, seed=args.seed, shift=args.shift)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out} (churn rate {frame['churned'].mean():.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
