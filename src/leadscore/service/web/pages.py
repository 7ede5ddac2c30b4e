"""The sales page's HTML: the ranked list, a lead's page, the login and error pages.

Pure functions from the service's answer models to :class:`Markup`; every value from the
store goes through :func:`~leadscore.service.web.markup.html`, which escapes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlencode

from leadscore.service.schemas import (
    HistoryOut,
    LeadDetailOut,
    NextBestTouchpoint,
    RankedLeadOut,
    ScoreOut,
    TouchpointSummaryOut,
)
from leadscore.service.web.markup import Markup, html, join, page_template

__all__ = [
    "PAGE_SIZES",
    "Filters",
    "error_body",
    "lead_body",
    "lead_url",
    "login_body",
    "page",
    "rankings_body",
]

PAGE_SIZES: Final = (25, 50, 100, 200)
_SPARK_WIDTH: Final = 240
_SPARK_HEIGHT: Final = 48


@dataclass(frozen=True)
class Filters:
    """The filters of the ranked list, as the GET form sends them."""

    owner: str | None
    grades: tuple[str, ...]
    source: str | None
    limit: int

    def query(self, *, cursor: str | None = None, limit: bool = True) -> str:
        """The query string (with its ``?``) that shows this list again; empty when none."""
        pairs = [("owner", self.owner), *(("grade", g) for g in self.grades)]
        pairs += [("source", self.source)]
        if limit:
            pairs.append(("limit", str(self.limit)))
        if cursor:
            pairs.append(("cursor", cursor))
        text = urlencode([(name, value) for name, value in pairs if value])
        return f"?{text}" if text else ""


def page(title: str, content: Markup, account: str | None = None) -> Markup:
    """A whole page: ``content`` in the common frame (with a sign-out button when signed in)."""
    signed = Markup("")
    if account is not None:
        signed = html(
            '<form class="account" method="post" action="/app/logout">'
            '<span>Key: {account}</span><button type="submit">Sign out</button></form>',
            account=account,
        )
    return html(page_template("base.html"), title=title, account=signed, content=content)


def lead_url(lead_id: str) -> str:
    """The page of a lead."""
    return f"/app/leads/{quote(lead_id, safe='')}"


def _date(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _badge(grade: str, grades: Sequence[str]) -> Markup:
    rank = grades.index(grade) + 1 if grade in grades else len(grades)
    return html(
        '<span class="badge grade-{rank}" title="Grade {grade}">{grade}</span>',
        rank=min(max(rank, 1), 4),
        grade=grade,
    )


def _trend(trend: int | None) -> Markup:
    if trend is None:
        return Markup('<span class="trend flat" title="No earlier score to compare">–</span>')
    if trend > 0:
        return html('<span class="trend up" title="Up {n} points">↑ {n}</span>', n=trend)
    if trend < 0:
        return html('<span class="trend down" title="Down {n} points">↓ {n}</span>', n=-trend)
    return Markup('<span class="trend flat" title="Unchanged">→ 0</span>')


def _row(position: int, item: RankedLeadOut, grades: Sequence[str]) -> Markup:
    return html(
        "<tr>"
        '<td class="num hide-narrow">{position}</td>'
        '<td><a href="{url}">{lead_id}</a></td>'
        '<td>{owner}</td><td class="hide-narrow">{source}</td><td>{badge}</td>'
        '<td class="num">{score}</td><td class="num">{trend}</td>'
        '<td class="num">{revenue}</td><td class="hide-narrow">{reason}</td>'
        "</tr>",
        position=position,
        url=lead_url(item.lead_id),
        lead_id=item.lead_id,
        owner=item.owner or "–",
        source=item.source,
        badge=_badge(item.grade, grades),
        score=item.score,
        trend=_trend(item.trend),
        revenue=_money(item.expected_revenue),
        reason=item.reasons[0] if item.reasons else "–",
    )


def rankings_body(
    filters: Filters,
    items: Sequence[RankedLeadOut],
    *,
    grades: Sequence[str],
    start: int,
    cursor: str | None,
    next_cursor: str | None,
) -> Markup:
    """The ranked list with its filter form, export links and pager."""
    boxes = join(
        html(
            '<label><input type="checkbox" name="grade" value="{g}"{checked}> {g}</label>',
            g=grade,
            checked=Markup(" checked") if grade in filters.grades else Markup(""),
        )
        for grade in grades
    )
    sizes = sorted({*PAGE_SIZES, filters.limit})
    options = join(
        html(
            '<option value="{n}"{selected}>{n}</option>',
            n=size,
            selected=Markup(" selected") if size == filters.limit else Markup(""),
        )
        for size in sizes
    )
    rows = join(_row(start + n, item, grades) for n, item in enumerate(items, start=1))
    if not items:
        rows = Markup('<tr><td colspan="9">No open lead matches these filters.</td></tr>')
    links = []
    if cursor:
        links.append(html('<a href="/app{q}">← First page</a>', q=filters.query()))
    if next_cursor:
        following = filters.query(cursor=next_cursor) + f"&start={start + len(items)}"
        links.append(html('<a href="/app{q}" rel="next">Next page →</a>', q=following))
    shown = f"{start + 1}–{start + len(items)}" if items else "none"
    return html(
        page_template("rankings.html"),
        owner=filters.owner or "",
        source=filters.source or "",
        grade_boxes=boxes,
        limit_options=options,
        export_query=filters.query(limit=False),
        caption=f"Open leads by score, best first (showing {shown})",
        rows=rows,
        pager=join(links, " "),
    )


def _list(texts: Sequence[str], empty: str) -> Markup:
    if not texts:
        return html('<p class="muted">{empty}</p>', empty=empty)
    items = join(html("<li>{text}</li>", text=text) for text in texts)
    return html('<ul class="reasons">{items}</ul>', items=items)


def _score_card(score: ScoreOut | None, grades: Sequence[str]) -> Markup:
    if score is None:
        return Markup('<p class="muted">Not scored yet.</p>')
    return html(
        '<div class="score-card" aria-label="Current score">'
        '<span>{badge}</span><span class="big">{score}</span>'
        "<span>Trend {trend}</span><span>Probability {probability} %</span>"
        "<span>Expected revenue {revenue}</span>"
        '<span class="muted">as of {as_of}, model {model}</span></div>',
        badge=_badge(score.grade, grades),
        score=score.score,
        trend=_trend(score.trend),
        probability=f"{100 * score.probability:.1f}",
        revenue=_money(score.expected_revenue),
        as_of=_date(score.as_of),
        model=score.model_version,
    )


def _next_touchpoints(items: Sequence[NextBestTouchpoint]) -> Markup:
    if not items:
        return Markup('<p class="muted">No recommendation (no next-touchpoint model yet).</p>')
    rows = join(
        html(
            '<tr><td>{name}</td><td class="num">{p} %</td><td class="num">{u}</td></tr>',
            name=item.touchpoint,
            p=f"{100 * item.probability:.0f}",
            u=f"{100 * item.uplift:+.1f} pts",
        )
        for item in items
    )
    return html(
        "<table><caption>Touchpoints to initiate now, best first</caption><thead><tr>"
        '<th scope="col">Touchpoint</th><th scope="col" class="num">Probability after</th>'
        '<th scope="col" class="num">Uplift</th></tr></thead><tbody>{rows}</tbody></table>',
        rows=rows,
    )


def _fields(detail: LeadDetailOut) -> Markup:
    lead = detail.lead
    pairs: list[tuple[str, object]] = [
        ("Owner", lead.owner or "–"),
        ("Source", lead.source),
        ("Created", _date(lead.created_at)),
        ("Industry", lead.industry or "–"),
        ("Company size", "–" if lead.company_size is None else f"{lead.company_size:,}"),
        ("Country", lead.country or "–"),
        ("Job level", lead.job_level or "–"),
        ("Deal value", _money(lead.deal_value)),
        *sorted(lead.extra.items()),
    ]
    return join(html("<dt>{name}</dt><dd>{value}</dd>", name=n, value=v) for n, v in pairs)


def _counts(title: str, counts: Mapping[str, int]) -> Markup:
    rows = join(
        html('<tr><th scope="row">{name}</th><td class="num">{n}</td></tr>', name=k, n=v)
        for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return html(
        '<table><thead><tr><th scope="col">{title}</th><th scope="col" class="num">Count</th>'
        "</tr></thead><tbody>{rows}</tbody></table>",
        title=title,
        rows=rows,
    )


def _summary(summary: TouchpointSummaryOut) -> Markup:
    if summary.count == 0:
        return Markup('<p class="muted">No touchpoints recorded.</p>')
    return html(
        "<p>{count} touchpoints, first {first}, last {last}.</p>{channel}{action}{initiator}",
        count=summary.count,
        first=_date(summary.first_at),
        last=_date(summary.last_at),
        channel=_counts("Channel", summary.by_channel),
        action=_counts("Action", summary.by_action),
        initiator=_counts("Initiated by", summary.by_initiator),
    )


def _sparkline(scores: Sequence[int]) -> Markup:
    """An inline SVG line of the scores, oldest left (0 to 100 bottom to top)."""
    step = (_SPARK_WIDTH - 8) / max(len(scores) - 1, 1)
    points = [
        (
            round(4 + n * step if len(scores) > 1 else _SPARK_WIDTH / 2, 1),
            round(_SPARK_HEIGHT - 4 - (_SPARK_HEIGHT - 8) * s / 100, 1),
        )
        for n, s in enumerate(scores)
    ]
    shape = (
        html('<circle cx="{x}" cy="{y}" r="3" fill="#14304f"/>', x=points[0][0], y=points[0][1])
        if len(points) == 1
        else html(
            '<polyline points="{p}" fill="none" stroke="#14304f" stroke-width="2"/>',
            p=" ".join(f"{x},{y}" for x, y in points),
        )
    )
    return html(
        '<svg class="sparkline" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        "<title>{label}</title>"
        '<rect x="0" y="0" width="{w}" height="{h}" fill="#f5f7fa"/>{shape}</svg>',
        w=_SPARK_WIDTH,
        h=_SPARK_HEIGHT,
        label=f"{len(scores)} scores, oldest {scores[0]}, latest {scores[-1]}",
        shape=shape,
    )


def _history(history: Sequence[HistoryOut], grades: Sequence[str]) -> Markup:
    if not history:
        return Markup('<p class="muted">No score recorded yet.</p>')
    rows = join(
        html(
            '<tr><td>{as_of}</td><td class="num">{score}</td><td>{badge}</td>'
            '<td class="hide-narrow">{model}</td></tr>',
            as_of=_date(h.as_of),
            score=h.score,
            badge=_badge(h.grade, grades),
            model=h.model_version,
        )
        for h in history[:20]
    )
    return html(
        "{spark}<table><caption>Latest scores, newest first</caption><thead><tr>"
        '<th scope="col">As of</th><th scope="col" class="num">Score</th>'
        '<th scope="col">Grade</th><th scope="col" class="hide-narrow">Model</th>'
        "</tr></thead><tbody>{rows}</tbody></table>",
        spark=_sparkline([h.score for h in reversed(history)]),
        rows=rows,
    )


def lead_body(detail: LeadDetailOut, grades: Sequence[str]) -> Markup:
    """A lead's page: score, reasons and risks, next touchpoints, fields, activity, history."""
    score = detail.score
    return html(
        page_template("lead.html"),
        lead_id=detail.lead.lead_id,
        status=f"Status: {detail.outcome}",
        score=_score_card(score, grades),
        reasons=_list(score.reasons if score else [], "No reason recorded."),
        risks=_list(score.risks if score else [], "No risk recorded."),
        touchpoints_next=_next_touchpoints(score.next_best_touchpoints if score else []),
        fields=_fields(detail),
        summary=_summary(detail.touchpoints),
        history=_history(detail.history, grades),
    )


def login_body(target: str, message: str | None = None) -> Markup:
    """The sign-in form; ``message`` says why the last attempt failed."""
    notice = Markup("")
    if message:
        notice = html('<p class="notice" role="alert">{message}</p>', message=message)
    return html(page_template("login.html"), message=notice, target=target)


def error_body(title: str, detail: str, errors: Sequence[str] = ()) -> Markup:
    """An error page's content: what went wrong and a way back."""
    listed = _list(errors, "") if errors else Markup("")
    return html(page_template("error.html"), title=title, detail=detail, errors=listed)
