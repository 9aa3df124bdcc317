"""Templates: the physical design of an item, as a human-editable TOML file.

The format (version 1) is documented with an example in ``pipeline/assets/templates/README.md``.
Units: inches for geometry (origin at the top-left corner, y down), points for type sizes.

``load_template`` reads TOML text (``str``) or a file (``Path``) and validates it; every problem is
collected and raised together as one :class:`TemplateError` whose ``messages`` each name the field
and the problem. ``dump_template`` writes the canonical TOML back (``load(dump(t)) == t``).
``content_hash`` identifies a template's content (canonical JSON plus the artwork file's sha256) and
is what the storage side uses to version templates.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Literal, cast, get_args

import tomli_w

from pipeline.templates.font_files import Weight, file_sha256
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.svg_artwork import ArtworkRefused, load_svg

Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]
Overflow = Literal["shrink", "wrap", "truncate", "fixed"]
CodeKind = Literal["qr", "code128", "datamatrix", "ean13"]  # a field's code (pipeline/rendering/codes.py)
ErrorCorrection = Literal["L", "M", "Q", "H"]  # a QR code's
KINDS: tuple[str, ...] = get_args(CodeKind)
ERROR_CORRECTIONS: tuple[str, ...] = get_args(ErrorCorrection)

FORMAT_VERSION = 1
DEFAULT_FONT = "DejaVu Sans"
DEFAULT_MIN_SIZE = 6.0  # pt; used when a field gives no min_size (capped at its base size)
MAX_TEMPLATE_INCHES = 120.0
ARTWORK_EXTENSIONS = (".svg", ".png", ".jpg", ".jpeg")
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "templates"
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_GROUP_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # a copyfit group's name: "names", "first_lines"
_EPS = 1e-9


class TemplateError(ValueError):
    """A template is invalid; ``messages`` lists every problem found."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("invalid template:\n" + "\n".join(f"- {m}" for m in self.messages))


@dataclass(frozen=True)
class Field:
    """A variable text area. Geometry in inches from the template's top-left corner."""

    key: str
    label: str
    x: float
    y: float
    width: float
    height: float
    required: bool = False
    font: str | None = None  # None: the template's default_font
    weight: Weight = "normal"
    size: float = 12.0  # base size, pt
    min_size: float = DEFAULT_MIN_SIZE  # pt, the floor for the shrink policy
    max_lines: int = 1
    align: Align = "center"
    valign: VAlign = "middle"
    overflow: Overflow = "shrink"
    max_chars: int | None = None
    # a QR code or barcode instead of text (None: text); the code fills the box with its quiet zone
    kind: str | None = None  # qr | code128 | datamatrix | ean13
    error_correction: str | None = None  # QR only: L | M | Q | H (default M)
    quiet_zone: int | None = None  # modules; default the standard's (QR 4, Data Matrix 1, 1D 10-11)
    module_mm: float | None = None  # a fixed module size; default: as large as the box allows
    group: str | None = None  # copyfit group: every item's fields of the group share one size

    @property
    def is_code(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    width: float  # inches
    height: float  # inches
    fields: tuple[Field, ...]
    description: str = ""
    category: str = ""
    artwork: str | None = None  # path relative to the template file: SVG, PNG or JPEG
    default_font: str = DEFAULT_FONT
    base_dir: str | None = dc_field(default=None, compare=False, repr=False)

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def artwork_path(self) -> Path | None:
        if not self.artwork:
            return None
        p = Path(self.artwork)
        if not p.is_absolute() and self.base_dir:
            p = Path(self.base_dir) / p
        return p

    def font_of(self, f: Field) -> str:
        return f.font or self.default_font

    def to_dict(self) -> dict[str, Any]:
        """The canonical document (what TOML and the content hash are made of); Nones omitted."""
        doc: dict[str, Any] = {"format_version": FORMAT_VERSION}
        for name in ("key", "name", "description", "category", "width", "height", "artwork", "default_font"):
            value = getattr(self, name)
            if value is not None:
                doc[name] = value
        doc["fields"] = [{k: v for k, v in asdict(f).items() if v is not None} for f in self.fields]
        return doc

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the template plus its artwork file's content hash."""
        art = self.artwork_path()
        art_hash = file_sha256(art) if art is not None and art.is_file() else None
        payload = json.dumps(
            {"template": self.to_dict(), "artwork_sha256": art_hash},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# -- reading ----------------------------------------------------------------------------------------
_TEMPLATE_KEYS = {
    "format_version",
    "key",
    "name",
    "description",
    "category",
    "width",
    "height",
    "artwork",
    "default_font",
    "fields",
}
_FIELD_KEYS = {f.name for f in fields(Field)}


class _Reader:
    """Pulls typed values out of a dict, collecting a message per problem instead of stopping."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors

    def _err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def string(
        self, d: dict, name: str, where: str, default: str | None = None, required: bool = False
    ) -> str | None:
        if name not in d:
            if required:
                self._err(where, f"'{name}' is required")
            return default
        v = d[name]
        if not isinstance(v, str):
            self._err(where, f"'{name}' must be text (got {v!r})")
            return default
        return v

    def number(
        self, d: dict, name: str, where: str, default: float | None = None, required: bool = False
    ) -> float | None:
        if name not in d:
            if required:
                self._err(where, f"'{name}' is required")
            return default
        v = d[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self._err(where, f"'{name}' must be a number (got {v!r})")
            return default
        return float(v)

    def integer(self, d: dict, name: str, where: str, default: int | None = None) -> int | None:
        if name not in d:
            return default
        v = d[name]
        if isinstance(v, bool) or not isinstance(v, int):
            self._err(where, f"'{name}' must be a whole number (got {v!r})")
            return default
        return v

    def boolean(self, d: dict, name: str, where: str, default: bool) -> bool:
        v = d.get(name, default)
        if not isinstance(v, bool):
            self._err(where, f"'{name}' must be true or false (got {v!r})")
            return default
        return v

    def choice(self, d: dict, name: str, where: str, options: tuple[str, ...], default: str) -> str:
        v = d.get(name, default)
        if v not in options:
            self._err(where, f"unknown {name} {v!r} (choose one of: {', '.join(options)})")
            return default
        return v


def _fmt(v: float) -> str:
    return f"{v:g}"


def _parse_field(raw: Any, index: int, r: _Reader) -> Field | None:
    if not isinstance(raw, dict):
        r.errors.append(f"fields[{index}]: must be a table ([[fields]])")
        return None
    key = raw.get("key")
    where = f"field '{key}'" if isinstance(key, str) and key else f"fields[{index}]"
    key = r.string(raw, "key", where, required=True)
    if key is not None and not _KEY_RE.match(key):
        r._err(where, "key must be 1-64 letters, digits, '_', '-' or '.' (no spaces)")
    for unknown in sorted(set(raw) - _FIELD_KEYS):
        r._err(where, f"unknown setting '{unknown}'")
    x = r.number(raw, "x", where, required=True)
    y = r.number(raw, "y", where, required=True)
    w = r.number(raw, "width", where, required=True)
    h = r.number(raw, "height", where, required=True)
    size = r.number(raw, "size", where, default=12.0)
    assert size is not None
    min_size = r.number(raw, "min_size", where)
    if min_size is None:
        min_size = min(DEFAULT_MIN_SIZE, size) if size > 0 else DEFAULT_MIN_SIZE
    max_lines = r.integer(raw, "max_lines", where, default=1)
    max_chars = r.integer(raw, "max_chars", where)
    kind = r.choice(raw, "kind", where, ("text", *KINDS), "text")
    font = r.string(raw, "font", where)
    if font is not None and not font.strip():
        r._err(where, "font must not be blank (leave it out to use the template's default font)")
    return Field(
        key=key or f"field{index}",
        label=r.string(raw, "label", where, default=None) or key or f"field{index}",
        x=x if x is not None else 0.0,
        y=y if y is not None else 0.0,
        width=w if w is not None else 0.0,
        height=h if h is not None else 0.0,
        required=r.boolean(raw, "required", where, False),
        font=font,
        # choice() returns one of the options it is given: the Literal's own values
        weight=cast(Weight, r.choice(raw, "weight", where, get_args(Weight), "normal")),
        size=size,
        min_size=min_size,
        max_lines=max_lines if max_lines is not None else 1,
        align=cast(Align, r.choice(raw, "align", where, get_args(Align), "center")),
        valign=cast(VAlign, r.choice(raw, "valign", where, get_args(VAlign), "middle")),
        overflow=cast(Overflow, r.choice(raw, "overflow", where, get_args(Overflow), "shrink")),
        max_chars=max_chars,
        kind=None if kind == "text" else kind,
        error_correction=r.string(raw, "error_correction", where),
        quiet_zone=r.integer(raw, "quiet_zone", where),
        module_mm=r.number(raw, "module_mm", where),
        group=r.string(raw, "group", where),
    )


def template_from_dict(
    data: dict[str, Any],
    *,
    base_dir: str | Path | None = None,
    registry: FontRegistry | None = None,
    check_files: bool = True,
) -> Template:
    """Build and validate a Template from its document; raise TemplateError listing every problem."""
    errors: list[str] = []
    r = _Reader(errors)
    if not isinstance(data, dict):
        raise TemplateError(["template: the document must be a table"])
    version = data.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        errors.append(
            f"template: unsupported format_version {version!r} (this version reads {FORMAT_VERSION})"
        )
    for unknown in sorted(set(data) - _TEMPLATE_KEYS):
        errors.append(f"template: unknown setting '{unknown}'")
    key = r.string(data, "key", "template", required=True) or ""
    if key and not _KEY_RE.match(key):
        errors.append("template: key must be 1-64 letters, digits, '_', '-' or '.' (no spaces)")
    raw_fields = data.get("fields", [])
    if not isinstance(raw_fields, list):
        errors.append("template: 'fields' must be a list of [[fields]] tables")
        raw_fields = []
    parsed = [_parse_field(rf, i, r) for i, rf in enumerate(raw_fields)]
    template = Template(
        key=key,
        name=r.string(data, "name", "template", required=True) or "",
        description=r.string(data, "description", "template", default="") or "",
        category=r.string(data, "category", "template", default="") or "",
        width=r.number(data, "width", "template", default=0.0, required=True) or 0.0,
        height=r.number(data, "height", "template", default=0.0, required=True) or 0.0,
        artwork=r.string(data, "artwork", "template") or None,
        default_font=r.string(data, "default_font", "template", default=DEFAULT_FONT) or DEFAULT_FONT,
        fields=tuple(f for f in parsed if f is not None),
        base_dir=str(base_dir) if base_dir is not None else None,
    )
    errors += validate_template(template, registry=registry, check_files=check_files)
    if errors:
        raise TemplateError(list(dict.fromkeys(errors)))
    return template


def validate_template(
    t: Template, *, registry: FontRegistry | None = None, check_files: bool = True
) -> list[str]:
    """Problems with an already-built template, one message each (empty list: valid)."""
    errs: list[str] = []
    if not t.name.strip():
        errs.append("template: name must not be empty")
    if t.width <= 0 or t.height <= 0:
        errs.append(
            f"template: width and height must be greater than 0 in (got {_fmt(t.width)} x {_fmt(t.height)})"
        )
    if t.width > MAX_TEMPLATE_INCHES or t.height > MAX_TEMPLATE_INCHES:
        errs.append(
            f"template: {_fmt(t.width)} x {_fmt(t.height)} in is larger than {MAX_TEMPLATE_INCHES:g} in"
        )
    if not t.fields:
        errs.append("template: needs at least one [[fields]] entry")
    if registry is not None and not registry.is_known(t.default_font):
        errs.append(f"template: unknown default_font '{t.default_font}' (not bundled, installed or uploaded)")
    seen: set[str] = set()
    for f in t.fields:
        where = f"field '{f.key}'"
        if f.key in seen:
            errs.append(f"{where}: duplicate key (each field needs its own key)")
        seen.add(f.key)
        if f.width <= 0 or f.height <= 0:
            errs.append(
                f"{where}: width and height must be greater than 0 in "
                f"(got {_fmt(f.width)} x {_fmt(f.height)})"
            )
        if f.x < 0 or f.y < 0:
            errs.append(f"{where}: x and y must not be negative (got x={_fmt(f.x)}, y={_fmt(f.y)})")
        if t.width > 0 and f.x + f.width > t.width + _EPS:
            errs.append(
                f"{where}: lies outside the template: x + width = {_fmt(f.x + f.width)} in "
                f"exceeds the template width {_fmt(t.width)} in"
            )
        if t.height > 0 and f.y + f.height > t.height + _EPS:
            errs.append(
                f"{where}: lies outside the template: y + height = {_fmt(f.y + f.height)} in "
                f"exceeds the template height {_fmt(t.height)} in"
            )
        if f.size <= 0:
            errs.append(f"{where}: size must be greater than 0 pt (got {_fmt(f.size)})")
        if f.min_size <= 0:
            errs.append(f"{where}: min_size must be greater than 0 pt (got {_fmt(f.min_size)})")
        if f.min_size > f.size > 0:
            errs.append(f"{where}: min_size {_fmt(f.min_size)} pt is above the base size {_fmt(f.size)} pt")
        if f.max_lines < 1:
            errs.append(f"{where}: max_lines must be at least 1 (got {f.max_lines})")
        if f.max_chars is not None and f.max_chars < 1:
            errs.append(f"{where}: max_chars must be at least 1 (got {f.max_chars})")
        errs += _code_problems(f, where)
        if registry is not None and f.font is not None and f.font.strip() and not registry.is_known(f.font):
            errs.append(f"{where}: unknown font '{f.font}' (not bundled, installed or uploaded)")
    errs += _group_problems(t)
    artwork = t.artwork_path()
    if artwork is not None and check_files:
        problem = check_artwork(artwork)
        if problem:
            errs.append(f"template: artwork '{t.artwork}': {problem}")
    elif t.artwork and Path(t.artwork).suffix.lower() not in ARTWORK_EXTENSIONS:
        errs.append(f"template: artwork '{t.artwork}' must be SVG, PNG or JPEG")
    return errs


def _group_problems(t: Template) -> list[str]:
    """A copyfit group shares one shrunk size, so its fields shrink, and stop at the same min_size."""
    errs: list[str] = []
    floors: dict[str, float] = {}
    for f in (f for f in t.fields if f.group is not None):
        where = f"field '{f.key}'"
        if not _GROUP_RE.match(f.group or ""):
            errs.append(f"{where}: group '{f.group}' must be 1-32 lower-case letters, digits, '_' or '-', "
                        "starting with a letter (for example \"names\")")  # fmt: skip
        elif f.is_code or f.overflow != "shrink":
            errs.append(f'{where}: only text fields with overflow = "shrink" can join a group')
        elif (floor := floors.setdefault(f.group or "", f.min_size)) != f.min_size:
            errs.append(f"{where}: the fields of group '{f.group}' share one size, so they need the same "
                        f"min_size ({_fmt(floor)} pt, not {_fmt(f.min_size)} pt)")  # fmt: skip
    return errs


def _code_problems(f: Field, where: str) -> list[str]:
    """What is wrong with a field's code settings (text fields may not have them)."""
    errs: list[str] = []
    if f.kind is None:
        for name in ("error_correction", "quiet_zone", "module_mm"):
            if getattr(f, name) is not None:
                errs.append(f'{where}: \'{name}\' is for codes (set kind = "qr", "code128", ...)')
        return errs
    if f.kind not in KINDS:
        errs.append(f"{where}: unknown kind '{f.kind}' (choose one of: text, {', '.join(KINDS)})")
        return errs
    if f.error_correction is not None:
        if f.kind != "qr":
            errs.append(f"{where}: only QR codes choose their error_correction ({f.kind} has its own)")
        elif f.error_correction not in ERROR_CORRECTIONS:
            errs.append(
                f"{where}: unknown error_correction '{f.error_correction}' "
                f"(choose one of: {', '.join(ERROR_CORRECTIONS)})"
            )
    if f.quiet_zone is not None and not 0 <= f.quiet_zone <= 50:
        errs.append(f"{where}: quiet_zone must be 0 to 50 modules (got {f.quiet_zone})")
    if f.module_mm is not None and not 0 < f.module_mm <= 10:
        errs.append(f"{where}: module_mm must be more than 0 and at most 10 mm (got {_fmt(f.module_mm)})")
    return errs


def check_artwork(path: Path) -> str | None:
    """Open an artwork file for real; return what is wrong with it, or None when it is usable."""
    ext = path.suffix.lower()
    if ext not in ARTWORK_EXTENSIONS:
        return "must be an SVG, PNG or JPEG file"
    if not path.is_file():
        return "file not found"
    if ext == ".svg":
        try:
            load_svg(path)
        except ArtworkRefused as exc:
            return str(exc)
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.format not in ("PNG", "JPEG"):
                return f"is a {im.format} image, not PNG or JPEG"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"not a readable image ({exc})"
    return None


def load_template(
    source: str | Path,
    *,
    registry: FontRegistry | None = None,
    base_dir: str | Path | None = None,
    check_files: bool = True,
) -> Template:
    """Load and validate a template. ``str`` is TOML text; ``Path`` is a file (artwork is relative to it)."""
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError([f"template: cannot read {source}: {exc}"]) from None
        base_dir = source.resolve().parent if base_dir is None else base_dir
    else:
        text = source
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError([f"template: not valid TOML ({exc})"]) from None
    return template_from_dict(data, base_dir=base_dir, registry=registry, check_files=check_files)


_HEADER = (
    "# CraftStage template, format 1. Geometry in inches from the top-left corner; sizes in points.\n"
    "# Format reference: pipeline/assets/templates/README.md\n\n"
)


def dump_template(t: Template) -> str:
    """The canonical TOML text of a template."""
    return _HEADER + tomli_w.dumps(t.to_dict())


def sample_templates() -> dict[str, Template]:
    """The templates shipped with the product, by key."""
    out: dict[str, Template] = {}
    for path in sorted(SAMPLES_DIR.glob("*.toml")):
        t = load_template(path)
        out[t.key] = t
    return out
