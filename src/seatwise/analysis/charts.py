"""Charts as inline SVG, drawn by matplotlib's Agg-free SVG backend, the same bytes every time.

Determinism: a fixed ``svg.hashsalt`` (the ids of clip paths), no date in the metadata, text
kept as text (``svg.fonttype: none``, so the file is small and searchable). Colours are the
Okabe–Ito palette, readable by colour-blind readers, and every series also has its own line
style or hatch, so a chart printed in black and white still tells them apart. Every series is
a group whose ``id`` names it (``billed-2`` is the billed seats of the third plan), so a test
or a reader can find it in the SVG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from seatwise.core.money import Currency

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo")
INK = "#222222"


def colour(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


def _figure(height: float = 3.6) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("svg")
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "seatwise",
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.edgecolor": INK,
            "axes.labelcolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
        }
    )
    figure = Figure(figsize=(9.0, height), layout="constrained")
    axes = figure.add_subplot()
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    figure.savefig(
        buffer,
        format="svg",
        metadata={"Date": None, "Creator": "Seatwise", "Title": title},
    )
    text = buffer.getvalue()
    start = text.index("<svg")
    return text[start:]  # inline: no XML declaration or DOCTYPE


def naive_utc(instant: datetime) -> float:
    """An instant as matplotlib's date number, in UTC (the axis says so)."""
    from matplotlib.dates import date2num

    return float(date2num(instant.astimezone(UTC).replace(tzinfo=None)))  # type: ignore[no-untyped-call]


def _money_axis(axes: Axes, cur: Currency, label: str) -> None:
    axes.yaxis.set_major_formatter(_formatter(cur))
    axes.set_ylabel(f"{label} ({cur.code})")


def _whole_numbers(axes: Axes) -> None:
    """Counts (seats, invoices, accounts) are ticked at whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _date_axis(axes: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.set_xlabel("Date (UTC)")


Series = tuple[str, Sequence[tuple[datetime, int]]]  # a label and its steps


def seats_chart(
    title: str,
    occupancy: Sequence[Series],
    billed: Sequence[Series],
    until: datetime,
    committed: Series | None = None,
    marks: Sequence[datetime] = (),
) -> str:
    """A step chart of seats over time: occupancy (solid, dark), billed seats per plan, and
    optionally committed seats and ticks at each member event."""
    figure, axes = _figure()
    end = naive_utc(until)

    def draw(steps: Sequence[tuple[datetime, int]], gid: str, **style: Any) -> None:
        steps = [(at, value) for at, value in steps if at < until]  # [start, until)
        xs = [naive_utc(at) for at, _ in steps] + [end]
        ys = [value for _, value in steps]
        ys.append(ys[-1] if ys else 0)
        (line,) = axes.step(xs, ys, where="post", **style)
        line.set_gid(gid)

    for index, (label, steps) in enumerate(occupancy):
        draw(steps, f"occupancy-{index}", color=INK, linewidth=2.2, label=label)
    for index, (label, steps) in enumerate(billed):
        draw(
            steps,
            f"billed-{index}",
            color=colour(index),
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            linewidth=1.6,
            label=label,
        )
    if committed is not None:
        draw(
            committed[1],
            "committed",
            color="#777777",
            linewidth=1.2,
            linestyle=":",
            label=committed[0],
        )
    if marks:
        low = axes.get_ylim()[0]
        points = axes.plot(
            [naive_utc(at) for at in marks],
            [low] * len(marks),
            "|",
            color=INK,
            markersize=10,
            label="member events",
            clip_on=False,
        )
        points[0].set_gid("member-events")
    axes.set_ylabel("Seats")
    _whole_numbers(axes)
    axes.set_title(title, loc="left")
    _date_axis(axes)
    axes.legend(loc="best", fontsize=8, frameon=False)
    return _svg(figure, title)


def cumulative_chart(
    title: str,
    cur: Currency,
    series: Sequence[tuple[str, Sequence[tuple[datetime, int]]]],
    start: datetime,
    until: datetime,
) -> str:
    """The cumulative amount invoiced over time, one step line per plan."""
    figure, axes = _figure()
    for index, (label, amounts) in enumerate(series):
        xs, ys, running = [naive_utc(start)], [0.0], 0
        for at, amount in sorted(amounts, key=lambda item: item[0]):
            running += amount
            xs.append(naive_utc(at))
            ys.append(running / cur.scale)
        xs.append(naive_utc(until))
        ys.append(running / cur.scale)
        (line,) = axes.step(
            xs,
            ys,
            where="post",
            color=colour(index),
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            linewidth=1.8,
            label=label,
        )
        line.set_gid(f"cumulative-{index}")
    _money_axis(axes, cur, "Invoiced to date")
    _date_axis(axes)
    axes.set_title(title, loc="left")
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(figure, title)


def _grouped_bars(
    axes: Axes, months: Sequence[date], series: Sequence[tuple[str, Sequence[float]]], gid: str
) -> None:
    """One group of bars per month, one bar per series (colour and hatch)."""
    count = max(len(series), 1)
    width = 0.8 / count
    for index, (label, values) in enumerate(series):
        xs = [m + (index - (count - 1) / 2) * width for m in range(len(months))]
        bars = axes.bar(
            xs,
            list(values),
            width=width,
            color=colour(index),
            hatch=HATCHES[index % len(HATCHES)],
            edgecolor=INK,
            linewidth=0.4,
            label=label,
        )
        for month, bar in enumerate(bars):
            bar.set_gid(f"{gid}-{index}-{month}")
    axes.set_xticks(range(len(months)), [f"{m:%b}\n{m:%Y}" for m in months], fontsize=7)
    axes.legend(loc="best", fontsize=8, framealpha=0.9)


def monthly_bars(
    title: str,
    cur: Currency,
    months: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
) -> str:
    """Grouped bars: the amount invoiced in each month, one bar per plan."""
    figure, axes = _figure()
    _grouped_bars(
        axes,
        months,
        [(label, [a / cur.scale for a in amounts]) for label, amounts in series],
        "month-bars",
    )
    axes.set_xlabel("Month of issue")
    _money_axis(axes, cur, "Invoiced in the month")
    axes.set_title(title, loc="left")
    return _svg(figure, title)


def count_bars(
    title: str, months: Sequence[date], series: Sequence[tuple[str, Sequence[int]]]
) -> str:
    """Grouped bars of a count per month (invoices), one bar per series."""
    figure, axes = _figure()
    _grouped_bars(
        axes,
        months,
        [(label, [float(v) for v in values]) for label, values in series],
        "count-bars",
    )
    axes.set_xlabel("Month of issue")
    axes.set_ylabel("Invoices")
    _whole_numbers(axes)
    axes.set_title(title, loc="left")
    return _svg(figure, title)


def invoices_chart(
    title: str,
    cur: Currency,
    invoices: Sequence[tuple[datetime, int, str]],
    start: datetime,
    until: datetime,
) -> str:
    """Each invoice on the time axis (issue date) as a stem as tall as its total, labelled
    with its number and amount."""
    figure, axes = _figure(height=3.0)
    for index, (at, amount, number) in enumerate(invoices):
        x, y = naive_utc(at), amount / cur.scale
        stem = axes.vlines(x, 0, y, color=colour(0), linewidth=2)
        stem.set_gid(f"invoice-{index}")
        axes.plot([x], [y], "o", color=colour(0), markersize=4)
        axes.annotate(
            f"{number}\n{cur.display(amount)}",
            (x, y),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=7,
            color=INK,
        )
    margin = (until - start) * 0.04
    axes.set_xlim(naive_utc(start - margin), naive_utc(until + margin))
    axes.set_ylim(bottom=0, top=max([a for _, a, _ in invoices] + [1]) / cur.scale * 1.3)
    _money_axis(axes, cur, "Invoice total")
    _date_axis(axes)
    axes.set_title(title, loc="left")
    return _svg(figure, title)


def histogram(title: str, cur: Currency, differences: Sequence[int], xlabel: str) -> str:
    """How many accounts differ by how much (minor units in, major units on the axis)."""
    figure, axes = _figure()
    values = [d / cur.scale for d in differences] or [0.0]
    bins = min(40, max(5, len(set(values))))
    counts, _, patches = axes.hist(values, bins=bins, color=colour(0), edgecolor=INK, linewidth=0.4)
    for index, patch in enumerate(patches):  # type: ignore[arg-type]
        patch.set_gid(f"differences-{index}-{int(counts[index])}")
    axes.axvline(0, color=INK, linewidth=1)
    axes.set_xlabel(f"{xlabel} ({cur.code})")
    axes.xaxis.set_major_formatter(_formatter(cur))
    axes.set_ylabel("Accounts")
    _whole_numbers(axes)
    axes.set_title(title, loc="left")
    return _svg(figure, title)


def _formatter(cur: Currency) -> Any:
    """Axis ticks as money: the plotted value is in major units (a drawing, never stored)."""
    from matplotlib.ticker import FuncFormatter

    def tick(value: float, _position: int) -> str:
        return cur.display(round(value * cur.scale))

    return FuncFormatter(tick)
