"""`python app.py demo`: any sample template, any order file, any format and mode, without Slack;
every file it names exists and is what it says."""

from __future__ import annotations

import json
from pathlib import Path

import ezdxf
import pdfplumber
import pytest

from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.services.demo import run_demo

ORDER = "Name,Title\nZoë Müller,Head Coach\nSeán O'Connor,Team Captain\nԱրամ ★ Åsa,Champion ✓\n"


def _paths(lines: list[str]) -> list[Path]:
    return [Path(line.split("- ", 1)[1]) for line in lines if line.startswith("   - ")]


def test_demo_runs_an_order_file_through_a_chosen_template_format_and_mode(
    runtime: Runtime, tmp_path: Path, stop_the_proof_pool: None
) -> None:
    order = tmp_path / "order.csv"
    order.write_text(ORDER, encoding="utf-8")
    lines: list[str] = []
    ref = run_demo(
        runtime, lines.append, template_key="badge", order=order, output_format="pdf", text_mode="text"
    )
    assert ref.startswith("J-")
    assert any("Parsed order.csv" in line and "3 item(s)" in line for line in lines)
    assert any("Exported for the laser" in line and "PDF text" in line for line in lines)
    zip_line = next(line for line in lines if line.startswith("   zip: "))
    assert Path(zip_line.split(": ", 1)[1]).is_file()
    files = _paths(lines)
    assert [p.suffix for p in files] == [".pdf", ".json"] and all(p.is_file() for p in files)
    with pdfplumber.open(files[0]) as doc:
        text = doc.pages[0].extract_text()
    assert all(name in text for name in ("Zoë Müller", "Seán O'Connor", "Champion ✓"))
    manifest = json.loads(files[1].read_text(encoding="utf-8"))
    assert manifest["template"]["key"] == "badge" and manifest["output"]["text_mode"] == "text"


def test_demo_defaults_and_dxf(runtime: Runtime, stop_the_proof_pool: None) -> None:
    lines: list[str] = []
    run_demo(runtime, lines.append, output_format="dxf")
    assert any("Template 'Trophy plate" in line for line in lines)
    (dxf, manifest) = _paths(lines)
    assert dxf.suffix == ".dxf" and not ezdxf.readfile(dxf).audit().has_errors
    assert json.loads(manifest.read_text(encoding="utf-8"))["template"]["key"] == "trophy-plate"


def test_demo_refuses_what_it_cannot_run(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        run_demo(runtime, lambda _line: None, template_key="nope")
    assert "badge, plaque, trophy-plate" in err.value.errors["template"]
    with pytest.raises(InvalidInput) as err:
        run_demo(runtime, lambda _line: None, order=tmp_path / "missing.csv")
    assert "missing.csv" in err.value.errors["order"]
