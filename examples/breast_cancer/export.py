"""Write scikit-learn's breast-cancer data set (569 tumours, 30 measurements) to CSV.

Column names are snake_case ('mean radius' -> 'mean_radius'). The target column
``malignant`` is 1 for a malignant tumour and 0 for a benign one; scikit-learn's own
``target`` codes the other way round (0 = malignant), so ``malignant = 1 - target``.

    python examples/breast_cancer/export.py --out examples/breast_cancer/data/breast_cancer.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def snake_case(name: str) -> str:
    return "_".join(name.strip().lower().split())


def breast_cancer_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.rename(columns=snake_case)
    frame["malignant"] = (bunch.target == 0).astype("int64")
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export scikit-learn's breast-cancer data set to CSV.")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "data" / "breast_cancer.csv")
    args = parser.parse_args(argv)
    frame = breast_cancer_frame()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out} ({int(frame['malignant'].sum())} malignant)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
