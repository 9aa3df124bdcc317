"""The font registry: where fonts come from and how a family name becomes a file (font_files.py reads
the files, font_faces.py opens them for drawing, font_uploads.py takes a shop's own).

Three sources, searched in this order when two files claim the same family and weight:

1. workspace fonts: TTF/OTF files a shop uploaded (validated by :func:`validate_font_bytes`, stored
   under a name made from their content hash by :func:`store_uploaded_font`);
2. bundled fonts: ``pipeline/assets/fonts`` (DejaVu Sans/Serif/Sans Mono and Liberation
   Sans/Serif/Mono, regular and bold, licences beside them);
3. machine fonts: ``/usr/share/fonts``, ``/usr/local/share/fonts``, ``~/.fonts``.

Resolution (:meth:`FontRegistry.resolve`) turns (family, weight) into one file through this chain:

1. exact: a face of that family and weight;
2. same family, other weight: the family exists but lacks the weight (substitute);
3. metric-compatible alias: Arial/Helvetica -> Liberation Sans, Times New Roman/Times -> Liberation
   Serif, Courier New/Courier -> Liberation Mono (substitute: line breaks match, the face does not);
4. the workspace default font (substitute);
5. DejaVu Sans, always bundled (substitute).

Every step after the first marks the result ``substituted`` with a human reason (MISSING_FONT).
Family names match case-insensitively, ignoring spaces, hyphens and underscores. Faces are
identified by the sha256 of the file so proofs can be regenerated when a font file changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.templates.font_files import (
    BUNDLED_FONTS_DIR,
    LAST_RESORT_FAMILY,
    SYSTEM_FONT_DIRS,
    FontError,
    FontFile,
    Weight,
    family_key,
    scan_font_dir,
)

# Metric-compatible free equivalents of the fonts shops name most often.
METRIC_ALIASES: dict[str, str] = {
    "arial": "Liberation Sans",
    "helvetica": "Liberation Sans",
    "timesnewroman": "Liberation Serif",
    "times": "Liberation Serif",
    "couriernew": "Liberation Mono",
    "courier": "Liberation Mono",
}

_SOURCE_ORDER = {"workspace": 0, "bundled": 1, "system": 2}

_WEIGHT_TARGET = {"normal": 400, "bold": 700}


@dataclass(frozen=True)
class FontResolution:
    """The answer to "which file draws family F at weight W", with why a substitute was used."""

    requested_family: str
    requested_weight: Weight
    font: FontFile
    substituted: bool
    step: Literal["exact", "other_weight", "alias", "workspace_default", "last_resort"]
    reason: str = ""


@dataclass
class FontRegistry:
    """Finds fonts and resolves (family, weight) to a face. Picklable; scans lazily and caches.

    ``workspace_dirs``: directories of fonts the workspace uploaded. ``default_family``: the
    workspace default (fallback) font. ``include_system=False`` gives a registry that only knows the
    bundled and workspace fonts, so results do not depend on the machine.
    """

    workspace_dirs: Sequence[Path] = ()
    default_family: str | None = None
    include_system: bool = True
    system_dirs: Sequence[Path] = SYSTEM_FONT_DIRS
    bundled_dir: Path = BUNDLED_FONTS_DIR
    _fonts: list[FontFile] | None = field(default=None, init=False, repr=False, compare=False)
    _by_family: dict[str, list[FontFile]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _resolved: dict[tuple[str, str, str], FontResolution] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # per-registry memo for derived data (fallback chains, layout font contexts); cleared by refresh()
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # Loaded faces and derived caches stay in their process; the scan travels.
        state = dict(self.__dict__)
        state["_resolved"] = {}
        state["memo"] = {}
        return state

    # -- scanning ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget the scan; the next lookup re-reads the directories (unchanged files stay cached)."""
        self._fonts = None
        self._by_family = {}
        self._resolved = {}
        self.memo = {}

    def fonts(self) -> list[FontFile]:
        if self._fonts is None:
            fonts: list[FontFile] = []
            for d in self.workspace_dirs:
                fonts += scan_font_dir(Path(d), "workspace")
            fonts += scan_font_dir(self.bundled_dir, "bundled")
            if self.include_system:
                for d in self.system_dirs:
                    fonts += scan_font_dir(Path(d), "system")
            by_family: dict[str, list[FontFile]] = {}
            for f in fonts:
                for key in f.family_keys():
                    by_family.setdefault(key, []).append(f)
            self._fonts, self._by_family = fonts, by_family
        return self._fonts

    def families(self) -> list[str]:
        """Family names known to this registry, sorted, each once."""
        return sorted({f.family for f in self.fonts()}, key=str.casefold)

    def has_family(self, family: str) -> bool:
        self.fonts()
        return family_key(family) in self._by_family

    def is_known(self, family: str) -> bool:
        """True when the family resolves without falling back to the default (exact or alias)."""
        return self.has_family(family) or (
            family_key(family) in METRIC_ALIASES and self.has_family(METRIC_ALIASES[family_key(family)])
        )

    def by_hash(self, sha256: str) -> FontFile | None:
        return next((f for f in self.fonts() if f.sha256 == sha256), None)

    # -- resolution -------------------------------------------------------------------------------
    def find(self, family: str, weight: Weight = "normal", *, any_weight: bool = False) -> FontFile | None:
        """The best face of ``family`` at ``weight`` (upright, normal width first), or None."""
        self.fonts()
        candidates = self._by_family.get(family_key(family), [])
        if not any_weight:
            candidates = [f for f in candidates if f.weight == weight]
        if not candidates:
            return None
        target = _WEIGHT_TARGET[weight]
        return min(
            candidates,
            key=lambda f: (
                f.italic,
                abs(f.width_class - 5),
                abs(f.weight_class - target),
                _SOURCE_ORDER[f.source],
                f.path,
            ),
        )

    def resolve(
        self, family: str | None, weight: Weight = "normal", *, default_family: str | None = None
    ) -> FontResolution:
        """Resolve through the chain in the module docstring; never fails while DejaVu Sans is bundled."""
        requested = (family or "").strip()
        default = default_family or self.default_family
        key = (requested, weight, default or "")
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._resolve(requested, weight, default)
            self._resolved[key] = hit
        return hit

    def _resolve(self, family: str, weight: Weight, default: str | None) -> FontResolution:
        def result(font: FontFile, step: Any, reason: str = "") -> FontResolution:
            return FontResolution(family, weight, font, step != "exact", step, reason)

        if family:
            exact = self.find(family, weight)
            if exact is not None:
                return result(exact, "exact")
            other = self.find(family, weight, any_weight=True)
            if other is not None:
                return result(
                    other, "other_weight", f"{family} has no {weight} face; using {other.full_name}"
                )
            alias = METRIC_ALIASES.get(family_key(family))
            if alias:
                face = self.find(alias, weight) or self.find(alias, weight, any_weight=True)
                if face is not None:
                    return result(
                        face, "alias", f"{family} is not installed; using metric-compatible {face.full_name}"
                    )
        missing = f"{family} is not installed" if family else "no font was named"
        if default and family_key(default) != family_key(family):
            face = self.find(default, weight) or self.find(default, weight, any_weight=True)
            if face is not None:
                return result(
                    face, "workspace_default", f"{missing}; using the workspace default {face.full_name}"
                )
        face = self.find(LAST_RESORT_FAMILY, weight) or self.find(LAST_RESORT_FAMILY, weight, any_weight=True)
        if face is None:
            raise FontError(
                f"the bundled fallback font {LAST_RESORT_FAMILY} is missing from {self.bundled_dir}"
            )
        return result(face, "last_resort", f"{missing}; using {face.full_name}")

    def fallback_chain(
        self, weight: Weight = "normal", *, default_family: str | None = None
    ) -> list[FontFile]:
        """Faces tried, in order, for characters the field's own font cannot draw."""
        key = ("fallback_chain", weight, default_family or self.default_family)
        chain = self.memo.get(key)
        if chain is None:
            chain = []
            for fam in (default_family or self.default_family, LAST_RESORT_FAMILY):
                if fam:
                    face = self.find(fam, weight) or self.find(fam, weight, any_weight=True)
                    if face is not None and face not in chain:
                        chain.append(face)
            self.memo[key] = chain
        return list(chain)


_default_registry: FontRegistry | None = None


def default_registry() -> FontRegistry:
    """A process-wide registry of bundled and machine fonts (no workspace fonts)."""
    global _default_registry
    if _default_registry is None:
        _default_registry = FontRegistry()
    return _default_registry
