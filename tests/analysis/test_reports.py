"""The HTML reports: self-contained, the same bytes every time, and charts that draw the data.

Charts are read back from the SVG: every series is a group whose id names it, and the seat
levels of a step line are recovered from its path, calibrated on the occupancy line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FILES = Path(__file__).parent / "files"
HISTORY = FILES / "hundred_licences.yaml"
EXAMPLES = Path(__file__).parents[2] / "src" / "seatwise" / "examples"
SVG = "{http://www.w3.org/2000/svg}"
PRESETS = ("seats-annual", "seats-monthly", "active-users-monthly")


def seatwise(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "seatwise.cli", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("reports")
    reports = []
    for name in ("one.html", "two.html"):  # two processes, one report each
        args = [a for p in PRESETS for a in ("--preset", p)]
        seatwise("compare", str(HISTORY), *args, "--report", str(folder / name))
        reports.append((folder / name).read_bytes())
    return reports[0], reports[1]


def charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def group(svgs: list[ET.Element], gid: str) -> ET.Element:
    for svg in svgs:
        for element in svg.iter(f"{SVG}g"):
            if element.get("id") == gid:
                return element
    raise AssertionError(f"no series {gid}")


def vertices(element: ET.Element) -> list[tuple[float, float]]:
    path = element.find(f"{SVG}path")
    assert path is not None
    numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", path.get("d", ""))]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def levels(points: list[tuple[float, float]]) -> list[float]:
    """The successive y of a step line (each run of equal y once)."""
    out: list[float] = []
    for _, y in points:
        if not out or abs(out[-1] - y) > 1e-3:
            out.append(y)
    return out


def test_the_same_report_twice_is_the_same_bytes(comparison: tuple[bytes, bytes]) -> None:
    one, two = comparison
    assert one == two
    html = one.decode("utf-8")
    assert "<script" not in html and not re.search(r'(src|href)="(?!#)', html)
    assert "<style>" in html and html.count("<svg") == 3
    assert "Hundred licences: 4 plans compared" in html
    assert "preset: seats-monthly" in html and "price: &#39;10.00&#39;" in html  # inputs
    assert "€12,488.22" in html and "−€1,538.22" in html  # money for the currency


def test_the_seat_chart_draws_every_plans_billed_seats(comparison: tuple[bytes, bytes]) -> None:
    svgs = charts(comparison[0].decode("utf-8"))
    occupancy = levels(vertices(group(svgs, "occupancy-0")))
    assert len(occupancy) == 3  # 100, then 105 from 10 Mar, 95 from 16 Jun
    y100, y105, y95 = occupancy
    per_seat = (y105 - y100) / 5

    def seats(y: float) -> int:
        return round(100 + (y - y100) / per_seat)

    assert seats(y95) == 95
    expected = {0: [100, 105], 1: [100, 105, 95], 2: [100, 105, 95], 3: [100, 105, 95]}
    for index, steps in expected.items():
        assert [seats(y) for y in levels(vertices(group(svgs, f"billed-{index}")))] == steps
    # licences-annual steps up on 10 March, where occupancy does; seats-monthly on 1 April
    occupancy_rise = vertices(group(svgs, "occupancy-0"))[1][0]
    assert vertices(group(svgs, "billed-0"))[1][0] == pytest.approx(occupancy_rise)
    assert vertices(group(svgs, "billed-2"))[1][0] > occupancy_rise


def test_the_monthly_bars_are_as_tall_as_the_amounts(comparison: tuple[bytes, bytes]) -> None:
    svgs = charts(comparison[0].decode("utf-8"))

    def height(gid: str) -> float:
        ys = [y for _, y in vertices(group(svgs, gid))]
        return max(ys) - min(ys)

    # licences-annual: €12,000 in January (month 0), €488.22 in April (month 3)
    assert height("month-bars-0-0") / height("month-bars-0-3") == pytest.approx(12000 / 488.22)
    assert height("month-bars-0-1") == 0
    # active-users-monthly: nothing in January, €1,000 in February
    assert height("month-bars-3-0") == 0
    assert height("month-bars-3-1") / height("month-bars-0-3") == pytest.approx(1000 / 488.22)


def test_the_simulation_report_tells_the_story(tmp_path: Path) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    contract = EXAMPLES / "5_contract_annual.yaml"
    seatwise("simulate", str(contract), "--report", str(first))
    seatwise("simulate", str(contract), "--report", str(second), "--json")
    assert first.read_bytes() == second.read_bytes()
    html = first.read_text(encoding="utf-8")
    svgs = charts(html)
    assert len(svgs) == 2
    for gid in ("occupancy-0", "billed-0", "committed", "member-events"):
        group(svgs, gid)
    for index in range(4):  # four invoices on the time axis
        group(svgs, f"invoice-{index}")
    assert "INV-000002 · interim" in html and "€388.21" in html
    assert "Seats went from 50 to 52 on 15 Mar 2025 (m50, m51 activated)" in html  # why
    assert "<script" not in html


def test_the_readme_chart_is_the_demo_comparison() -> None:
    """docs/compare-seats.svg: Globex's year, occupancy and the billed seats of five presets
    (regenerate it with `comparison_charts(five_presets(...))` when the charts change)."""
    chart = ET.parse(Path(__file__).parents[2] / "docs" / "compare-seats.svg").getroot()
    for gid in ("occupancy-0", *(f"billed-{index}" for index in range(5))):
        group([chart], gid)
    labels = {t.text for t in chart.iter(f"{SVG}text")}
    assert {"billed: own plan (licences-annual)", "billed: seats-monthly", "Seats"} <= labels
