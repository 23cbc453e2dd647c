"""A drift report as one self-contained HTML page: a summary table, then each feature's
reference and current distributions overlaid. Only aggregates are embedded, so the page
stays a few tens of kilobytes whatever the window's size."""

from __future__ import annotations

import html
from typing import Any

_COLORS = {"ok": "#2e7d32", "warning": "#ef6c00", "critical": "#c62828"}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;color:#222}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
          ".sev{font-weight:600}.feature{display:inline-block;margin:1rem 1.5rem 0 0;vertical-align:top}"
          ".legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return html.escape(str(value))


def _bars(labels: list[str], reference: list[float], current: list[float], width: int = 420,
          height: int = 160) -> str:
    ref_total, cur_total = sum(reference) or 1, sum(current) or 1
    ref = [r / ref_total for r in reference]
    cur = [c / cur_total for c in current]
    top = max(ref + cur + [1e-9])
    slot = width / max(len(labels), 1)
    parts = [f"<svg width='{width}' height='{height + 18}' role='img'>"]
    for i, (label, r, c) in enumerate(zip(labels, ref, cur)):
        x = i * slot
        for offset, share, color in ((0.1, r, "#90a4ae"), (0.5, c, "#1e88e5")):
            h = share / top * height
            parts.append(f"<rect x='{x + offset * slot:.1f}' y='{height - h:.1f}' width='{slot * 0.4:.1f}' "
                         f"height='{h:.1f}' fill='{color}'><title>{html.escape(label)}: "
                         f"{'reference' if offset < 0.3 else 'current'} {share:.1%}</title></rect>")
    parts.append(f"<text x='0' y='{height + 14}' font-size='11'>{html.escape(labels[0])}</text>")
    parts.append(f"<text x='{width}' y='{height + 14}' font-size='11' text-anchor='end'>"
                 f"{html.escape(labels[-1])}</text></svg>")
    return "".join(parts)


def _feature(name: str, result: dict[str, Any]) -> str:
    if result.get("method") == "none":
        return ""
    if result["kind"] == "numeric":
        cuts = result["cuts"]
        labels = ([f"< {cuts[0]:.3g}"] + [f"{a:.3g} – {b:.3g}" for a, b in zip(cuts, cuts[1:])]
                  + [f"≥ {cuts[-1]:.3g}"]) if cuts else ["all"]
        chart = _bars(labels, result["reference_bins"], result["current_bins"])
        stats = f"PSI {_fmt(result['psi'])} · Wasserstein {_fmt(result['wasserstein'])} · out of range " \
                f"{result['out_of_range']:.1%}"
    else:
        labels = [*result["categories"], "(other)", "(unseen)"][:len(result["reference_counts"])]
        chart = _bars(labels, result["reference_counts"], result["current_counts"])
        stats = f"PSI {_fmt(result['psi'])} · Jensen-Shannon {_fmt(result['jensen_shannon'])} · unseen " \
                f"{result['unseen_share']:.1%}"
    color = _COLORS[result["severity"]]
    return (f"<div class='feature'><h3>{html.escape(name)} <span class='sev' style='color:{color}'>"
            f"{result['severity']}</span></h3>{chart}<div>{stats}</div></div>")


def _heading(report: dict[str, Any]) -> tuple[str, str, str]:
    """Title, headline and the sentence saying what was compared: a model's logged traffic, or two data sets."""
    e = html.escape
    drifted = f"{len(report['drifted'])} of {len(report['features'])} features drifted ({report['drifted_share']:.0%})."
    if "model" not in report:
        reference, current = report["reference"], report["current"]
        title = f"Drift: {e(current['source'])} vs {e(reference['source'])}"
        return (title, f"Drift of {e(current['source'])} against {e(reference['source'])}",
                f"{current['rows']:,} current rows against a reference of {reference['rows']:,} rows. {drifted}")
    return (f"Drift: {e(report['model'])} v{e(report['version'])}",
            f"Drift of {e(report['model'])} version {e(report['version'])}",
            f"{report['rows']:,} logged rows from {e(report['window']['start'])} to {e(report['window']['end'])} "
            f"against a reference of {report['reference_rows']:,} training rows (profile sha256 "
            f"{e(report['profile'][:16])}…). {drifted}")


def render_html(report: dict[str, Any]) -> str:
    """The page for a report of ``shipyard monitor`` (a model's traffic) or ``shipyard drift`` (two data sets)."""
    e = html.escape
    severity = report["severity"]
    rows = "".join(
        f"<tr><td>{e(name)}</td><td class='sev' style='color:{_COLORS[r['severity']]}'>{r['severity']}</td>"
        f"<td>{r['kind']}</td><td>{e(r.get('method', ''))}</td><td>{_fmt(r.get('psi'))}</td>"
        f"<td>{_fmt(r.get('wasserstein', r.get('jensen_shannon')))}</td><td>{_fmt(r.get('p_value'))}</td>"
        f"<td>{r['null_rate']:.1%} (ref {r['reference_null_rate']:.1%})</td></tr>"
        for name, r in report["features"].items())
    prediction = report.get("prediction")
    sections = [_feature("prediction", prediction)] if prediction else []
    sections += [_feature(name, r) for name, r in report["features"].items()]
    where = "the log" if "model" in report else "the current data"
    missing = (f"<p>Columns missing from {where}: {e(', '.join(report['missing_columns']))}</p>"
               if report.get("missing_columns") else "")
    skipped = (f"<p>Unreadable files skipped: {e(', '.join(s['file'] for s in report['skipped_files']))}</p>"
               if report.get("skipped_files") else "")
    if report.get("skipped_columns"):
        skipped += ("<p>Columns not compared: "
                    f"{e('; '.join(c['column'] + ' (' + c['reason'] + ')' for c in report['skipped_columns']))}</p>")
    title, headline, summary = _heading(report)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_STYLE}</style>"
            f"</head><body><h1>{headline}: <span style='color:{_COLORS[severity]}'>{severity}</span></h1>"
            f"<p>{summary}</p>{missing}{skipped}"
            "<table><tr><th>feature</th><th>severity</th><th>kind</th><th>method</th><th>PSI</th>"
            f"<th>distance</th><th>p-value</th><th>null rate</th></tr>{rows}</table>"
            "<p class='legend'><span style='background:#90a4ae'></span>reference"
            "<span style='background:#1e88e5'></span>current</p>"
            f"{''.join(sections)}</body></html>")
