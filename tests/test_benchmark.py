"""The benchmark's driver, run for real in --quick mode on tiny arrays with two cheap contenders (a few seconds).

We check the harness, not the speed: each contender ran in a process of its own (none of them the driver,
which imports no numerical library), the table has a row per contender and a column per size, every cell
reads ``median (q1–q3)`` with q1 ≤ median ≤ q3, and the ratios printed are those of the medians measured.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adamedu.benchmark import ratio_text

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "adamedu" / "benchmark.py"
CELL = re.compile(r"^([\d.]+) (µs|ms|s) \(([\d.]+)–([\d.]+)\)$")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    md, raw = tmp / "results.md", tmp / "results.json"
    driver = subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), "--quick", "--sizes", "1000,3000", "--rounds", "4",
         "--contenders", "numpy,one-pass", "--skip", "first-call", "--skip", "fit", "--out", str(md),
         "--json", str(raw)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert driver.returncode == 0, driver.stderr[-3000:]
    return md.read_text(encoding="utf-8"), json.loads(raw.read_text(encoding="utf-8")), driver


def section(text, name):
    return text.split(f"<!-- {name} -->", 1)[1].split(f"<!-- end {name} -->", 1)[0]


def table(text):
    """The rows of the first markdown table in ``text``, as lists of cells (header first, no rule line)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows if not set(row) <= set("|-: ")]


def test_each_contender_ran_in_its_own_process_and_the_driver_imported_no_numpy(run):
    _, raw, driver = run
    pids = [c["pid"] for c in raw["steps"]["contenders"].values()]
    assert len(pids) == 2 and len(set(pids)) == 2 and raw["driver pid"] not in pids
    # -X importtime lists every module the driver imported (the workers' stderr goes to their own logs)
    imported = {line.rsplit("|", 1)[-1].strip() for line in driver.stderr.splitlines() if "import time:" in line}
    assert "json" in imported  # the listing is there ...
    assert not {"numpy", "adamedu"} & imported  # ... and holds no numerical library


def test_the_step_table_has_a_row_per_contender_and_a_cell_per_size(run):
    md, raw, _ = run
    rows = table(section(md, "steps"))
    assert rows[0] == ["contender", "1e3", "3e3"]
    labels = [r[0] for r in rows[1:]]
    assert labels == ["adamedu numpy, in place", "one numpy pass, w += g", "*load average before → after*"]
    for row in rows[1:3]:
        for text in row[1:]:
            median, _, q1, q3 = CELL.match(text).groups()
            assert float(q1) <= float(median) <= float(q3)
    for n in ("1000", "3000"):
        size = raw["steps"]["sizes"][n]
        for key, stats in size["times"].items():
            assert stats["n"] == 4 and len(size["samples"][key]) == 4  # one sample per round
            assert stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]
        assert len(size["load"]) == 2


def test_the_ratios_are_those_of_the_medians_of_the_same_run(run):
    md, raw, _ = run
    rows = table(section(md, "ratios"))
    assert rows[0] == ["ratio", "1e3", "3e3"]
    assert [r[0] for r in rows[1:]] == ["adamedu numpy, in place ÷ one numpy pass, w += g"]
    for n, printed in zip(("1000", "3000"), rows[1][1:], strict=True):
        times = raw["steps"]["sizes"][n]["times"]
        ratio = times["numpy"]["median"] / times["one-pass"]["median"]
        assert raw["ratios"]["numpy/one-pass"][n] == pytest.approx(ratio)
        assert printed == ratio_text(ratio)
        assert ratio > 1  # a negative control of sorts: an Adam step costs more than one pass over the arrays


def test_an_unknown_contender_is_refused_with_the_list_of_known_ones():
    driver = subprocess.run([sys.executable, str(SCRIPT), "--contenders", "numpy,jax"], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert driver.returncode == 2
    assert "'jax'" in driver.stderr and "torch-fused" in driver.stderr
