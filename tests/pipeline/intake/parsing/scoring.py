"""Scores the rule-based parser against orders with written-out expectations.

An expectation is `<order>.expected.json` beside the order: `{"items": [{"name", "title",
"quantity"}, ...]}` in the order of the final list; or, in the hand-written corpus,
`<order><suffix>.expected.json` with `{"names": [...], "values": [{...}, ...]}` (pieces already
expanded; a title is checked only where `values` gives one). Corpus workbooks are built at test
time. The parser expands quantities into one item per
piece, so both sides are compared as pieces. The figures are the ones the parsing targets use:

- recall: expected pieces whose name came out exactly (characters included);
- precision: produced pieces that are an expected piece;
- titles: found pieces with an expected title whose title is exactly right (the second line is the
  column the product's mapping would put on a template's `title` field);
- quantities: expected items with quantity > 1 produced exactly that many times;
- wrong flagged: wrong pieces (extra, or right name with a wrong title) below the review threshold;
- correct flagged: right pieces below the review threshold (the review gate's false alarms);
- characters changed: produced names that are an expected name except for case or accents;
- lines dropped: expected names that are in the order but in neither the items nor the skipped lines.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.intake.mapping import suggest_mapping
from pipeline.intake.parsing import ACCEPTED, ParseError, ParseResult, parse_file

SUFFIXES = (".txt", ".csv", ".tsv", ".md", ".xlsx", ".eml")


@dataclass(frozen=True)
class Piece:
    name: str
    title: str | None
    """None: the expectation does not say (any title is right)."""
    confidence: float = 1.0


@dataclass
class Score:
    orders: int = 0
    expected: int = 0
    produced: int = 0
    found: int = 0
    titles_expected: int = 0
    titles_right: int = 0
    quantities_expected: int = 0
    quantities_right: int = 0
    wrong: int = 0
    wrong_flagged: int = 0
    right: int = 0
    right_flagged: int = 0
    characters_changed: int = 0
    lines_dropped: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name, value in vars(other).items():
            if name == "failures":
                self.failures.extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)

    def figures(self) -> dict[str, float | int]:
        def ratio(a: int, b: int) -> float:
            return round(a / b, 3) if b else 1.0

        return {
            "orders": self.orders,
            "expected pieces": self.expected,
            "produced pieces": self.produced,
            "recall": ratio(self.found, self.expected),
            "precision": ratio(self.found, self.produced),
            "titles right": ratio(self.titles_right, self.titles_expected),
            "quantities > 1 right": ratio(self.quantities_right, self.quantities_expected),
            "wrong flagged": ratio(self.wrong_flagged, self.wrong),
            "correct flagged": ratio(self.right_flagged, self.right),
            "characters changed": self.characters_changed,
            "lines dropped": self.lines_dropped,
        }


def orders_in(folder: Path) -> list[Path]:
    """The orders in `folder` that have an expectation beside them (corpus workbooks included)."""
    found = {
        p
        for p in folder.iterdir()
        if p.suffix.lower() in SUFFIXES
        and ((folder / f"{p.stem}.expected.json").exists() or (folder / f"{p.name}.expected.json").exists())
    }
    found |= {folder / name for name in _built_workbooks() if (folder / f"{name}.expected.json").exists()}
    return sorted(found)


def _expectation(path: Path) -> Path:
    whole = path.parent / f"{path.name}.expected.json"
    return whole if whole.exists() else path.parent / f"{path.stem}.expected.json"


def expected_pieces(path: Path) -> list[Piece]:
    data = json.loads(_expectation(path).read_text(encoding="utf-8"))
    pieces: list[Piece] = []
    if "names" in data:  # the hand-written corpus: pieces already expanded
        values = data.get("values") or [{} for _ in data["names"]]
        for name, extra in zip(data["names"], values, strict=False):
            title = extra.get("title")
            pieces.append(Piece(_nfc(name), None if title is None else _nfc(title)))
        return pieces
    for item in data["items"]:
        for _ in range(max(int(item.get("quantity") or 1), 1)):
            pieces.append(Piece(_nfc(item["name"]), _nfc(item.get("title") or "")))
    return pieces


def _built_workbooks() -> dict:
    from .xlsx_builders import XLSX_CORPUS

    return XLSX_CORPUS


def _order_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else _built_workbooks()[path.name]()


def produced_pieces(result: ParseResult) -> list[Piece]:
    """The produced pieces as a two-line template would engrave them: the name column, and on the second
    line the column the product's own mapping suggests for a `title` field ('Award', 'Line 2', …), or
    the only other value when no column fits."""
    name_key = result.name_column or "name"
    columns = [c for c in result.columns if c != name_key]
    line_two = next(
        (p.column for p in suggest_mapping(columns, ["title"]) if p.field_key == "title"), "title"
    )
    pieces = []
    for item in result.items:
        others = {k: v for k, v in item.values.items() if k != name_key and v and v.strip()}
        title = others.get(line_two, "")
        if not title and len(others) == 1:
            title = next(iter(others.values()))
        pieces.append(Piece(_nfc(item.values.get(name_key, "")), _nfc(title), item.confidence))
    return pieces


def score_order(path: Path) -> Score:
    expected = expected_pieces(path)
    data = _order_bytes(path)
    try:
        result = parse_file(data, path.name)
    except ParseError as error:
        result = ParseResult(items=[])
        failure = f"{path.name}: refused: {error}"
    else:
        failure = ""
    produced = produced_pieces(result)
    score = Score(orders=1, expected=len(expected), produced=len(produced))
    if failure:
        score.failures.append(failure)

    matcher = difflib.SequenceMatcher(
        a=[p.name for p in expected], b=[p.name for p in produced], autojunk=False
    )
    pairs = {block.b + k: block.a + k for block in matcher.get_matching_blocks() for k in range(block.size)}
    score.found = len(pairs)
    for b, piece in enumerate(produced):
        flagged = piece.confidence < ACCEPTED
        a = pairs.get(b)
        right = a is not None and expected[a].title in (None, piece.title)
        if right:
            score.right += 1
            score.right_flagged += flagged
        else:
            score.wrong += 1
            score.wrong_flagged += flagged
            if not flagged:
                want = f"{expected[a].title!r}" if a is not None else "no such piece"
                score.failures.append(
                    f"{path.name}: unflagged {piece.name!r} / {piece.title!r} at {piece.confidence} "
                    f"(expected {want})"
                )
        if a is not None and expected[a].title:
            score.titles_expected += 1
            score.titles_right += expected[a].title == piece.title

    expected_counts = _counts(expected)
    produced_counts = _counts(produced)
    for name, count in expected_counts.items():
        if count > 1:
            score.quantities_expected += 1
            score.quantities_right += produced_counts.get(name, 0) == count

    missing = {expected[a].name for a in range(len(expected)) if a not in pairs.values()}
    extra = {produced[b].name for b in range(len(produced)) if b not in pairs}
    folded_missing = {_fold(n): n for n in missing}
    # an extra piece whose name is exactly a missing one is out of place, not changed
    score.characters_changed = sum(
        1 for n in extra if _fold(n) in folded_missing and folded_missing[_fold(n)] != n
    )

    text = _nfc(data.decode("utf-8", errors="replace"))
    seen = " ".join([*(v for item in result.items for v in item.values.values()), *result.skipped_lines])
    seen = _nfc(seen)
    for name in missing:
        if name in text and name not in seen:
            score.lines_dropped += 1
            score.failures.append(f"{path.name}: {name!r} silently dropped")
    for name in sorted(missing):
        score.failures.append(f"{path.name}: missing {name!r}")
    return score


def score_folder(folder: Path) -> Score:
    total = Score()
    for path in orders_in(folder):
        total.add(score_order(path))
    return total


def _counts(pieces: list[Piece]) -> dict[str, int]:
    out: dict[str, int] = {}
    for piece in pieces:
        out[piece.name] = out.get(piece.name, 0) + 1
    return out


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
