"""The cost digest as Markdown (chat webhooks) and as an HTML page (mail): the same figures, escaped for each."""

from __future__ import annotations

import html
import re
from string import Template
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~])")

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title></head>
<body style="font-family: sans-serif">
<h1>$title</h1>
<p>$summary</p>
$sections
</body></html>
""")


def subject(body: dict[str, Any]) -> str:
    whose = f"team {body['team']}" if body.get("scope") == "team" else "all teams"
    return f"Cost digest {body['since'][:10]} to {body['until'][:10]}, {whose} ({body['currency']})"


def render_markdown(body: dict[str, Any]) -> str:
    lines = [f"# {_md(subject(body))}", "", _summary(body, bold=lambda text: f"**{text}**"), ""]
    if body.get("scope") != "team":
        lines += ["## Spend per team", "", "| Team | This week | Previous week | Change | Change % |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {_md(row['team'])} | {_money(row['cost'])} | {_money(row['previous'])} | "
                  f"{_signed(row['change'])} | {_percent(row)} |" for row in body["teams"]]
        lines.append("")
    lines += ["## Spend per model", "", "| Model | Team | This week | Previous week | Change | Change % |",
              "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {_md(m['model'])} | {_md(m['team'])} | {_money(m['cost'])} | {_money(m['previous'])} | "
              f"{_signed(m['change'])} | {_percent(m)} |" for m in body["models"]]
    if not body["models"]:
        lines.append("| nothing ran or was served | | | | | |")
    lines += ["", "## Top movers", ""]
    for label, key in (("Largest increases", "increases"), ("Largest decreases", "decreases")):
        movers = body["movers"][key]
        named = ", ".join(f"{_md(m['model'])} {_signed(m['change'])} ({_percent(m)})" for m in movers)
        lines.append(f"- **{label}:** {named or 'none'}")
    if body.get("unpriced_steps"):
        lines += ["", f"_{body['unpriced_steps']} steps of older runs carry no recorded resources and are not "
                      "priced._"]
    return "\n".join(lines)


def render_html(body: dict[str, Any]) -> str:
    sections = []
    if body.get("scope") != "team":
        sections.append(_html_table("Spend per team", ("Team", "This week", "Previous week", "Change", "Change %"),
                                    [(row["team"], _money(row["cost"]), _money(row["previous"]),
                                      _signed(row["change"]), _percent(row)) for row in body["teams"]]))
    sections.append(_html_table("Spend per model",
                                ("Model", "Team", "This week", "Previous week", "Change", "Change %"),
                                [(m["model"], m["team"], _money(m["cost"]), _money(m["previous"]),
                                  _signed(m["change"]), _percent(m)) for m in body["models"]]
                                or [("nothing ran or was served", "", "", "", "", "")]))
    movers = []
    for label, key in (("Largest increases", "increases"), ("Largest decreases", "decreases")):
        named = ", ".join(f"{html.escape(m['model'])} {_signed(m['change'])} ({_percent(m)})"
                          for m in body["movers"][key])
        movers.append(f"<li><strong>{label}:</strong> {named or 'none'}</li>")
    sections.append("<h2>Top movers</h2>\n<ul>\n" + "\n".join(movers) + "\n</ul>")
    if body.get("unpriced_steps"):
        sections.append(f"<p><em>{body['unpriced_steps']} steps of older runs carry no recorded resources and are "
                        "not priced.</em></p>")
    return _PAGE.substitute(title=html.escape(subject(body)),
                            summary=_summary(body, bold=lambda text: f"<strong>{text}</strong>", escape=html.escape),
                            sections="\n".join(sections))


def _html_table(title: str, head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
                     for row in rows)
    return f"<h2>{html.escape(title)}</h2>\n<table>\n<tr>{cells}</tr>\n{body}\n</table>"


def _summary(body: dict[str, Any], *, bold, escape=None) -> str:
    escape = escape or _md
    total = bold(f"{_money(body['total'])} {escape(body['currency'])}")
    figures = {"change": body["total_change"], "change_pct": body["total_change_pct"],
               "previous": body["previous_total"], "cost": body["total"]}
    return (f"Spent {total} this week: {_signed(body['total_change'])} ({_percent(figures)}) "
            f"from {_money(body['previous_total'])} the week before.")


def _md(text: str) -> str:
    """Text as Markdown shows it literally (table pipes and emphasis marks escaped, no line breaks)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{value:+,.2f}"


def _percent(figures: dict[str, Any]) -> str:
    if figures["change_pct"] is not None:
        return f"{figures['change_pct']:+.1f}%"
    return "new" if figures["cost"] else "–"
