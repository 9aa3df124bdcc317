"""A workspace's templates and a job's template and mapping, on both databases."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, func, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, PermissionDenied
from pipeline.intake.mapping import MappingPair, SerialSpec
from pipeline.jobs.activity import Event
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace
from pipeline.templates import catalog
from pipeline.templates.template import SAMPLES_DIR
from pipeline.templates.workspace_fonts import fonts_dir
from storage.db import Database
from storage.models import (
    ActivityEvent,
    FieldMapping,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    TemplateVersion,
    Workspace,
)
from storage.models import Template as TemplateRow
from tests.pipeline.conftest_layout import renamed_font
from tests.pipeline.pipeline_fixtures import (
    TINY_TOML,
    add_items,
    approve_by_phone,
    event_types,
    events,
    forget_font_registries,
    get_job,
    job_items,
    job_with_items,
    last_event,
    new_job,
    status_moves,
)

pytestmark = pytest.mark.usefixtures("fresh_font_registries")
S = JobStatus
BADGE_ART = SAMPLES_DIR / "artwork" / "badge-border.svg"


def ws_of(s, ws_id: int) -> Workspace:
    return s.get(Workspace, ws_id)


def versions(db: Database, ws_id: int, key: str) -> list[TemplateVersion]:
    with db.read() as s:
        row = s.exec(
            select(TemplateRow).where(TemplateRow.workspace_id == ws_id, TemplateRow.key == key)
        ).one()
        stmt = (
            select(TemplateVersion)
            .where(TemplateVersion.template_id == row.id)
            .order_by(col(TemplateVersion.version))
        )
        return list(s.exec(stmt))


def import_(
    db: Database, ws_id: int, actor: Actor, text: str, files_dir: Path, **kw: object
) -> TemplateVersion:
    with db.session() as s:
        return catalog.import_template(s, ws_of(s, ws_id), actor, text, files_dir, **kw)


def png_bytes(colour: str = "#c08040") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 20), colour).save(buf, format="PNG")
    return buf.getvalue()


def other_workspace(db: Database) -> tuple[int, Actor]:
    with db.session() as s:
        ws = ensure_workspace(s, "T0002", "Hilltop Engraving")
        return ws.id, actor_for(ensure_member(s, ws, "U_HILL", "Hana Hill"))


def set_proofs(db: Database, job_id: int, status: str = ProofStatus.GENERATED) -> None:
    with db.session() as s:
        for item in s.exec(select(Item).where(Item.job_id == job_id)):
            item.proof_status, item.proof_version = status, max(1, item.proof_version)


# -- samples and the list -----------------------------------------------------------------------------


def test_samples_arrive_on_first_use_once(db: Database, ws_id: int, tmp_path: Path) -> None:
    with db.session() as s:
        infos = catalog.list_templates(s, ws_of(s, ws_id), tmp_path)
    assert [(t.key, t.category, t.version) for t in infos] == [
        ("badge", "Badges", 1),
        ("trophy-plate", "Name Plates", 1),
        ("plaque", "Plaques", 1),
    ]
    badge = infos[0]
    assert (badge.name, badge.width, badge.height, badge.fields) == (
        "Name badge 3 x 1 in",
        3.0,
        1.0,
        ["name", "title"],
    )
    assert infos[2].fields == ["title", "recipient", "citation", "date"]
    stored = tmp_path / "templates" / f"ws-{ws_id}" / "badge" / "v1" / "badge-border.svg"
    assert stored.read_bytes() == BADGE_ART.read_bytes()  # the artwork lives with the workspace
    (tv,) = versions(db, ws_id, "badge")
    assert tv.created_by == "CraftStage samples" and tv.artwork_path == str(stored.parent)
    assert catalog.template_of(tv).artwork_path() == stored
    assert versions(db, ws_id, "trophy-plate")[0].artwork_path is None
    with db.session() as s:  # again: nothing new
        catalog.ensure_samples(s, ws_of(s, ws_id), tmp_path)
        catalog.list_templates(s, ws_of(s, ws_id), tmp_path)
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(TemplateRow)).one() == 3
        assert s.exec(select(func.count()).select_from(TemplateVersion)).one() == 3
    other, _ = other_workspace(db)
    with db.session() as s:
        assert len(catalog.list_templates(s, ws_of(s, other), tmp_path)) == 3
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(TemplateRow)).one() == 6


def test_archived_templates_are_not_listed(db: Database, ws_id: int, tmp_path: Path) -> None:
    with db.session() as s:
        catalog.ensure_samples(s, ws_of(s, ws_id), tmp_path)
        s.exec(select(TemplateRow).where(TemplateRow.key == "plaque")).one().archived = True
    with db.session() as s:
        assert [t.key for t in catalog.list_templates(s, ws_of(s, ws_id), tmp_path)] == [
            "badge",
            "trophy-plate",
        ]
    with pytest.raises(NotFound, match="no template 'nope'"), db.session() as s:
        catalog.current_version(s, ws_of(s, ws_id), "nope", tmp_path)


# -- import and export --------------------------------------------------------------------------------


def test_only_admins_import(db: Database, ws_id: int, member: Actor, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        import_(db, ws_id, member, TINY_TOML, tmp_path)
    with db.read() as s:
        assert s.exec(select(TemplateRow).where(TemplateRow.key == "tiny")).first() is None


def test_a_new_version_only_when_the_content_changed(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    v1 = import_(db, ws_id, owner, TINY_TOML, tmp_path)
    assert v1.version == 1 and v1.created_by == "Olive Owner"
    again = import_(db, ws_id, owner, "# the same, reformatted\n" + TINY_TOML.replace("2.0", "2"), tmp_path)
    assert (again.id, again.version) == (v1.id, 1)
    v2 = import_(
        db, ws_id, owner, TINY_TOML.replace('name = "Tiny test plate"', 'name = "Tiny plate v2"'), tmp_path
    )
    assert v2.version == 2
    assert [tv.version for tv in versions(db, ws_id, "tiny")] == [1, 2]  # the old version is kept
    assert catalog.template_of(versions(db, ws_id, "tiny")[0]).name == "Tiny test plate"
    with db.session() as s:
        info = {t.key: t for t in catalog.list_templates(s, ws_of(s, ws_id), tmp_path)}["tiny"]
        assert (info.name, info.version, info.category) == ("Tiny plate v2", 2, "Test")
        assert catalog.current_version(s, ws_of(s, ws_id), "tiny", tmp_path).id == v2.id
        logged = s.exec(
            select(ActivityEvent).where(ActivityEvent.event_type == Event.TEMPLATE_IMPORTED)
        ).all()
    assert [(e.job_id, e.details) for e in logged] == [
        (None, {"key": "tiny", "version": 1}),
        (None, {"key": "tiny", "version": 2}),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("min_size = 10.0", "min_size = 30.0"), "field 'name': min_size 30 pt is above the base size 12 pt"),
        (("width = 1.0", "width = 5.0"), "field 'name': lies outside the template"),
        (('key = "code"', 'key = "name"'), "field 'name': duplicate key"),
        (("size = 8.0", "size = -8.0"), "size must be greater than 0 pt"),
        (('overflow = "fixed"', 'overflow = "squeeze"'), "unknown overflow 'squeeze'"),
        (
            ('label = "Brand"', 'label = "Brand"\nfont = "Fancy Script Pro"'),
            "field 'brand': unknown font 'Fancy Script Pro'",
        ),
        (("[[fields]]", "[[fields]\n"), "not valid TOML"),
    ],
)
def test_validation_errors_name_the_problem(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_(db, ws_id, owner, TINY_TOML.replace(*change, 1), tmp_path)
    assert expected in exc.value.errors["template"]
    with db.read() as s:
        assert s.exec(select(TemplateRow).where(TemplateRow.key == "tiny")).first() is None


def test_a_known_font_and_a_metric_alias_are_accepted(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    text = TINY_TOML.replace('label = "Brand"', 'label = "Brand"\nfont = "Arial"')
    tv = import_(db, ws_id, owner, text, tmp_path)
    assert catalog.template_of(tv).field("brand").font == "Arial"


def test_artwork_is_stored_with_the_version(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    art = png_bytes()
    text = TINY_TOML.replace('category = "Test"', 'category = "Test"\nartwork = "plate.png"')
    tv = import_(db, ws_id, owner, text, tmp_path, artwork=("plate.png", art))
    template = catalog.template_of(tv)
    stored = template.artwork_path()
    assert stored == tmp_path / "templates" / f"ws-{ws_id}" / "tiny" / "v1" / "plate.png"
    assert stored.read_bytes() == art
    # new artwork bytes are new content: a new version, the old artwork kept in its own folder
    tv2 = import_(db, ws_id, owner, text, tmp_path, artwork=("plate.png", png_bytes("#204080")))
    assert tv2.version == 2 and tv2.content_hash != tv.content_hash
    assert stored.read_bytes() == art
    assert catalog.template_of(tv2).artwork_path().read_bytes() == png_bytes("#204080")


@pytest.mark.parametrize(
    ("artwork", "expected"),
    [
        (("plate.png", b"not an image at all"), "artwork 'plate.png': not a readable image"),
        (None, "artwork 'plate.png': file not found"),
    ],
)
def test_bad_or_missing_artwork_is_refused(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, artwork: tuple[str, bytes] | None, expected: str
) -> None:
    text = TINY_TOML.replace('category = "Test"', 'category = "Test"\nartwork = "plate.png"')
    with pytest.raises(InvalidInput) as exc:
        import_(db, ws_id, owner, text, tmp_path, artwork=artwork)
    assert expected in exc.value.errors["template"]
    assert not (tmp_path / "templates" / f"ws-{ws_id}" / "tiny").exists()


def test_artwork_for_a_template_that_names_none_is_not_silently_dropped(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_(db, ws_id, owner, TINY_TOML, tmp_path, artwork=("plate.png", png_bytes()))
    assert "names no artwork" in exc.value.errors["artwork"]


def test_a_font_the_workspace_uploaded_is_known_at_import(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    text = TINY_TOML.replace('label = "Brand"', 'label = "Brand"\nfont = "Shop Script"')
    with pytest.raises(InvalidInput, match="unknown font 'Shop Script'"):
        import_(db, ws_id, owner, text, tmp_path)
    renamed_font(fonts_dir(tmp_path, ws_id) / "ShopScript.ttf", "Shop Script")
    forget_font_registries()
    tv = import_(db, ws_id, owner, text, tmp_path)
    assert catalog.template_of(tv).field("brand").font == "Shop Script"


def test_export_import_round_trip(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    with db.session() as s:
        source, art = catalog.export_template(s, ws_of(s, ws_id), "badge", tmp_path)
        ours = catalog.current_version(s, ws_of(s, ws_id), "badge", tmp_path)
    assert (
        tomllib.loads(source)["artwork"] == "badge-border.svg" and art.read_bytes() == BADGE_ART.read_bytes()
    )
    other, hana = other_workspace(db)
    with db.session() as s:  # another shop has no samples yet: the import makes the key
        theirs = catalog.import_template(
            s, ws_of(s, other), hana, source, tmp_path, artwork=(art.name, art.read_bytes())
        )
    assert theirs.version == 1 and theirs.content_hash == ours.content_hash
    assert catalog.template_of(theirs) == catalog.template_of(ours)
    assert catalog.template_of(theirs).artwork_path() != art  # its own copy
    # back into the same workspace: nothing changed, no new version
    back = import_(db, ws_id, owner, source, tmp_path, artwork=(art.name, art.read_bytes()))
    assert (back.id, back.version) == (ours.id, 1)


def test_a_shipped_template_file_imports_with_its_artwork(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    """The sample files name their artwork in a sub-folder (artwork/badge-border.svg); the upload is flat."""
    text = (SAMPLES_DIR / "badge.toml").read_text()
    with db.session() as s:
        catalog.ensure_samples(s, ws_of(s, ws_id), tmp_path)
    tv = import_(db, ws_id, owner, text, tmp_path, artwork=("badge-border.svg", BADGE_ART.read_bytes()))
    assert tv.version == 1  # the same as the sample it already has
    edited = text.replace("size = 26.0", "size = 24.0")
    tv2 = import_(db, ws_id, owner, edited, tmp_path, artwork=("badge-border.svg", BADGE_ART.read_bytes()))
    assert tv2.version == 2
    assert catalog.template_of(tv2).artwork_path().read_bytes() == BADGE_ART.read_bytes()


def test_an_edited_export_keeps_its_artwork_without_uploading_it_again(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    with db.session() as s:
        source, _ = catalog.export_template(s, ws_of(s, ws_id), "badge", tmp_path)
    tv = import_(db, ws_id, owner, source.replace("size = 26.0", "size = 24.0"), tmp_path)
    assert tv.version == 2
    template = catalog.template_of(tv)
    assert template.field("name").size == 24.0
    assert template.artwork_path().read_bytes() == BADGE_ART.read_bytes()
    assert template.artwork_path().parent.name == "v2"


# -- a job's template and mapping ---------------------------------------------------------------------

MESSY = [
    {"Full Name": "maria o'brien-smith", "Position": "  head   coach ", "Dept": "Ops"},
    {"Full Name": "TOM VAN DER BERG", "Position": "captain", "Dept": "Ops"},
]


def choose(db: Database, ws_id: int, job_id: int, actor: Actor, key: str, files_dir: Path) -> TemplateVersion:
    with db.session() as s:
        return catalog.choose_template(s, ws_of(s, ws_id), s.get(Job, job_id), actor, key, files_dir)


def apply(
    db: Database, job_id: int, actor: Actor, pairs: list[MappingPair], serial: SerialSpec | None = None
) -> int:
    with db.session() as s:
        return catalog.apply_mapping(s, s.get(Job, job_id), actor, pairs, serial)


def test_suggested_pairs_match_columns_to_fields(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    with db.session() as s:
        job = s.get(Job, job_id)
        assert catalog.job_columns(s, job) == ["Full Name", "Position", "Dept"]
        template = catalog.template_of(catalog.current_version(s, ws_of(s, ws_id), "badge", tmp_path))
        pairs = catalog.suggested_pairs(s, job, template)
    assert [(p.column, p.field_key, p.matched_by) for p in pairs] == [
        ("Full Name", "name", "synonym"),
        ("Position", "title", "synonym"),
        ("Dept", None, "none"),
    ]


def test_apply_mapping_keeps_raw_values_and_transforms(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    choose(db, ws_id, job_id, owner, "badge", tmp_path)
    pairs = [
        MappingPair(column="Full Name", field_key="name", transform="title"),
        MappingPair(column="Position", field_key="title", transform="trim"),
        MappingPair(column="Dept", field_key=None),
    ]
    assert apply(db, job_id, owner, pairs) == 2
    got = job_items(db, job_id)
    assert [it.values for it in got] == [
        {"name": "Maria O'Brien-Smith", "title": "head coach"},
        {"name": "Tom van der Berg", "title": "captain"},
    ]
    assert [it.raw_values for it in got] == MESSY  # the parsed values stay
    applied = last_event(db, job_id, Event.MAPPING_APPLIED)
    assert applied.details == {
        "changed": 2,
        "pairs": {"Full Name": "name", "Position": "title"},
        "transforms": {"Full Name": "title", "Position": "trim"},
    }
    with db.read() as s:
        mapping = catalog.job_mapping(s, s.get(Job, job_id))
    assert [p.to_dict() for p in mapping.pairs] == [p.to_dict() for p in pairs] and mapping.serial is None
    # a later change starts again from the raw values: nothing was lost
    assert (
        apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name", transform="upper")]) == 2
    )
    assert [it.values for it in job_items(db, job_id)] == [
        {"name": "MARIA O'BRIEN-SMITH"},
        {"name": "TOM VAN DER BERG"},
    ]
    assert apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")]) == 1
    assert [it.values["name"] for it in job_items(db, job_id)] == ["maria o'brien-smith", "TOM VAN DER BERG"]
    before = event_types(db, job_id)
    assert apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")]) == 0
    assert event_types(db, job_id) == [*before, Event.MAPPING_APPLIED]


def test_serial_numbers(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY + [{"Full Name": "Zoë Müller"}], template=None)
    choose(db, ws_id, job_id, owner, "badge", tmp_path)
    serial = SerialSpec(field="title", start=7, step=5, pad=3, prefix="No. ")
    apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")], serial)
    assert [it.values["title"] for it in job_items(db, job_id)] == ["No. 007", "No. 012", "No. 017"]
    with db.read() as s:
        assert catalog.job_mapping(s, s.get(Job, job_id)).serial == serial


@pytest.mark.parametrize(
    ("pairs", "serial", "where", "expected"),
    [
        ([MappingPair(column="Full Name", field_key="nickname")], None, "mapping", "no field 'nickname'"),
        (
            [MappingPair(column="Full Name", field_key="name")],
            SerialSpec(field="number"),
            "serial",
            "no field 'number'",
        ),
    ],
)
def test_unknown_field_keys_are_refused(
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    pairs: list,
    serial: SerialSpec | None,
    where: str,
    expected: str,
) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    choose(db, ws_id, job_id, owner, "badge", tmp_path)
    with pytest.raises(InvalidInput) as exc:
        apply(db, job_id, owner, pairs, serial)
    assert expected in exc.value.errors[where]
    assert [it.values for it in job_items(db, job_id)] == MESSY
    with db.read() as s:
        assert catalog.job_mapping(s, s.get(Job, job_id)) is None


def test_mapping_needs_a_template(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    with pytest.raises(InvalidInput) as exc:
        apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")])
    assert exc.value.errors == {"template": "choose a template first"}


def test_choosing_a_template_asks_for_the_mapping_again_and_lapses_approvals(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = job_with_items(
        db, ws_id, owner, tmp_path, [{"name": "Maria Gonzalez"}, {"name": "Tom Whitaker"}]
    )
    with db.read() as s:
        assert catalog.job_mapping(s, s.get(Job, job_id)) is not None
    set_proofs(db, job_id)
    assert approve_by_phone(db, job_id, owner) == S.APPROVED
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.APPROVED}

    tv = choose(db, ws_id, job_id, owner, "trophy-plate", tmp_path)
    job = get_job(db, job_id)
    assert job.template_version_id == tv.id and job.status == S.PROOFING
    assert job.preflight_ran_at is None
    with db.read() as s:
        assert catalog.job_mapping(s, job) is None
        assert s.exec(select(FieldMapping).where(FieldMapping.job_id == job_id)).first() is None
        assert catalog.job_template(s, job)[1].key == "trophy-plate"
    # the proofs were of the old template: nothing stays approved, nothing may be sent as it is
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.PENDING}
    assert last_event(db, job_id, Event.TEMPLATE_CHOSEN).details == {"template": "trophy-plate", "version": 1}
    assert status_moves(db, job_id)[-1] == ("approved", "proofing", "user")
    assert [it.values for it in job_items(db, job_id)] == [
        {"name": "Maria Gonzalez"},
        {"name": "Tom Whitaker"},
    ]

    before = event_types(db, job_id)  # the same template again changes nothing
    assert choose(db, ws_id, job_id, owner, "trophy-plate", tmp_path).id == tv.id
    assert event_types(db, job_id) == before


def test_a_mapping_change_lapses_only_the_changed_items(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    choose(db, ws_id, job_id, owner, "badge", tmp_path)
    apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")])
    set_proofs(db, job_id)
    assert approve_by_phone(db, job_id, owner) == S.APPROVED
    # upper-casing changes only the first name (the second is upper case already)
    assert (
        apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name", transform="upper")]) == 1
    )
    got = job_items(db, job_id)
    assert [it.proof_status for it in got] == [ProofStatus.PENDING, ProofStatus.APPROVED]
    assert get_job(db, job_id).status == S.PROOFING
    assert events_reason(db, job_id) == "the mapping changed"


def events_reason(db: Database, job_id: int) -> str:
    return [e for e in events(db, job_id) if e.event_type == Event.STATUS_CHANGED][-1].details["reason"]


def test_a_completed_job_keeps_its_template_and_mapping(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = job_with_items(db, ws_id, owner, tmp_path, MESSY, template=None)
    tv = choose(db, ws_id, job_id, owner, "badge", tmp_path)
    with db.session() as s:
        s.get(Job, job_id).status = S.COMPLETED
    with pytest.raises(InvalidInput, match="is completed"):
        choose(db, ws_id, job_id, owner, "trophy-plate", tmp_path)
    with pytest.raises(InvalidInput, match="is completed"):
        apply(db, job_id, owner, [MappingPair(column="Full Name", field_key="name")])
    assert get_job(db, job_id).template_version_id == tv.id
    assert [it.values for it in job_items(db, job_id)] == MESSY


def test_choose_template_refuses_an_unknown_key(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = new_job(db, ws_id, owner)
    add_items(db, job_id, owner, [{"name": "A"}], tmp_path)
    with pytest.raises(NotFound):
        choose(db, ws_id, job_id, owner, "mug", tmp_path)
    assert get_job(db, job_id).template_version_id is None
