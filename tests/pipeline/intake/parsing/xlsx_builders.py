"""Excel workbooks for the corpus and the workbook tests, built with openpyxl at test time."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable

from openpyxl import Workbook


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def multisheet() -> bytes:
    """Instructions first, the roster second, a summary with numbers last."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Instructions"
    ws.append(["Fill in the Roster tab, one player per row."])
    ws.append(["Due back by May 1st please."])
    roster = wb.create_sheet("Roster")
    roster.append(["Name", "Team", "Qty"])
    roster.append(["Olamide Adebayo", "Falcons", 1])
    roster.append(["Hannah Schmidt", "Falcons", 2])
    roster.append(["Matías Fernández", "Eagles", 1])
    roster.append(["Yuna Kim", "Eagles", 1])
    summary = wb.create_sheet("Summary")
    summary.append(["Team", "Players"])
    summary.append(["Falcons", 2])
    summary.append(["Eagles", 2])
    return _save(wb)


def merged() -> bytes:
    """A merged title row across the top and a department merged down three rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Awards"
    ws["A1"] = "Spring Awards Banquet 2024"
    ws.merge_cells("A1:C1")
    ws.append(["Recipient", "Award", "Department"])
    ws.append(["Nkechi Obi", "Top Seller", "Sales"])
    ws.append(["Giovanni Russo", "Rookie of the Year", None])
    ws.append(["Astrid Nilsson", "Team Player", None])
    ws.append(["Farah Haddad", "Customer Hero", "Support"])
    ws.merge_cells("C3:C5")
    return _save(wb)


def _formula_book() -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "Names"
    ws.append(["First", "Last", "Full Name"])
    for r, (first, last) in enumerate([("Ana", "Ruiz"), ("Piotr", "Nowak"), ("Aroha", "Ngata")], 2):
        ws.append([first, last, f'=A{r}&" "&B{r}'])
    return wb


def formulas_cached() -> bytes:
    """Formula cells with cached values, as Excel saves them."""
    data = _save(_formula_book())
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    cached = {"C2": "Ana Ruiz", "C3": "Piotr Nowak", "C4": "Aroha Ngata"}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for ref, value in cached.items():
                    text = re.sub(
                        rf'<c r="{ref}"><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                        lambda m, v=value, r=ref: f'<c r="{r}" t="str"><f>{m.group(1)}</f><v>{v}</v></c>',
                        text,
                    )
                content = text.encode()
            dst.writestr(info, content)
    return out.getvalue()


def formulas_uncached() -> bytes:
    """Formulas written by a program, never calculated: no cached values."""
    return _save(_formula_book())


def dates_and_numbers() -> bytes:
    """An empty first sheet; then dates, whole-number floats and a quantity column."""
    wb = Workbook()
    wb.active.title = "Sheet1"
    ws = wb.create_sheet("Plaques")
    ws.append(["Name", "Year", "Event Date", "Qty"])
    ws.append(["Rangi Parata", 2024, dt.datetime(2024, 5, 14), 2.0])
    ws.append(["Ioana Popescu", 2023, dt.date(2023, 11, 2), 1])
    return _save(wb)


def last_first() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["Name", "Role"])
    ws.append(["Okafor, Chidi", "Captain"])
    ws.append(["Bianchi, Chiara (she/her)", "Coach"])
    ws.append(["Tanaka, Hiroshi", "Manager"])
    return _save(wb)


def error_cells() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["Name", "Score"])
    ws.append(["Lea Dubois", "#DIV/0!"])
    ws.append(["Marek Novák", 7])
    return _save(wb)


XLSX_CORPUS: dict[str, Callable[[], bytes]] = {
    "workbook-multisheet.xlsx": multisheet,
    "workbook-merged.xlsx": merged,
    "workbook-formulas-cached.xlsx": formulas_cached,
    "workbook-dates.xlsx": dates_and_numbers,
    "workbook-lastfirst.xlsx": last_first,
}
