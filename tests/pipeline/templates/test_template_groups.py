"""Copyfit groups in the template format: `group = "names"` on a shrink field, checked at load and at
import (on both databases) with a message that names the field and says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.templates import catalog
from pipeline.templates.template import TemplateError, dump_template, load_template, sample_templates
from storage.db import Database
from storage.models import Template as TemplateRow
from storage.models import Workspace
from tests.pipeline.conftest_layout import bundled_registry
from tests.pipeline.pipeline_fixtures import TINY_TOML

REG = bundled_registry()

PAIR = """
key = "pair"
name = "First and last name plate"
width = 3.0
height = 1.0

[[fields]]
key = "first"
x = 0.1
y = 0.1
width = 2.8
height = 0.35
size = 20.0
min_size = 8.0
group = "names"

[[fields]]
key = "last"
font = "DejaVu Serif"
weight = "bold"
x = 0.1
y = 0.5
width = 2.8
height = 0.35
size = 16.0
min_size = 8.0
group = "names"
"""


def test_a_field_joins_a_group_and_it_survives_the_round_trip() -> None:
    t = load_template(PAIR, registry=REG)
    assert [(f.key, f.group) for f in t.fields] == [("first", "names"), ("last", "names")]
    again = load_template(dump_template(t), registry=REG)
    assert again == t and again.content_hash == t.content_hash
    assert 'group = "names"' in dump_template(t)
    # a field without a group writes none (templates made before groups keep their content hash)
    plain = load_template(PAIR.replace('group = "names"\n', ""), registry=REG)
    assert all(f.group is None for f in plain.fields) and "group" not in dump_template(plain)


def test_the_trophy_plate_sets_every_name_at_one_size() -> None:
    plate = sample_templates()["trophy-plate"]
    assert plate.field("name").group == "names"
    assert plate.field("name").overflow == "shrink"
    assert plate.field("achievement").group is None and plate.field("year").group is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('group = "Names!"', "field 'first': group 'Names!' must be 1-32 lower-case letters"),
        ('group = ""', "field 'first': group '' must be 1-32 lower-case letters"),
        ('group = "9lives"', "field 'first': group '9lives' must be 1-32 lower-case letters"),
        (f'group = "{"n" * 33}"', f"field 'first': group '{'n' * 33}' must be 1-32"),
        ('group = "team names"', "field 'first': group 'team names' must be 1-32"),
        ("group = 3", "field 'first': 'group' must be text (got 3)"),
        ('group = "names"\noverflow = "wrap"', "field 'first': only text fields with overflow = \"shrink\""),
        ('group = "names"\nkind = "qr"', "field 'first': only text fields with overflow = \"shrink\""),
    ],
)
def test_a_bad_group_is_named_with_its_problem(change: str, expected: str) -> None:
    text = PAIR.replace('group = "names"', change, 1)  # the first field's group
    with pytest.raises(TemplateError) as exc:
        load_template(text, registry=REG)
    assert any(expected in m for m in exc.value.messages), exc.value.messages


def test_a_group_shares_one_min_size() -> None:
    text = PAIR.replace("min_size = 8.0", "min_size = 9.0", 1)
    with pytest.raises(TemplateError) as exc:
        load_template(text, registry=REG)
    assert exc.value.messages == [
        "field 'last': the fields of group 'names' share one size, so they need the same min_size "
        "(9 pt, not 8 pt)"
    ]


def test_fields_of_different_fonts_and_sizes_may_share_a_group() -> None:
    t = load_template(PAIR, registry=REG)
    first, last = t.field("first"), t.field("last")
    assert (first.font, first.size) != (last.font, last.size) and first.group == last.group


def test_a_bad_group_is_refused_at_import_and_nothing_is_stored(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    bad = TINY_TOML.replace('overflow = "shrink"', 'overflow = "shrink"\ngroup = "Team Names"', 1)
    with db.session() as s, pytest.raises(InvalidInput) as exc:
        catalog.import_template(s, s.get_one(Workspace, ws_id), owner, bad, tmp_path)
    message = exc.value.errors["template"]
    assert "field 'name': group 'Team Names' must be 1-32 lower-case letters" in message
    with db.read() as s:
        assert s.exec(select(TemplateRow).where(TemplateRow.key == "tiny")).first() is None
    good = TINY_TOML.replace('overflow = "shrink"', 'overflow = "shrink"\ngroup = "names"', 1)
    with db.session() as s:
        tv = catalog.import_template(s, s.get_one(Workspace, ws_id), owner, good, tmp_path)
        assert catalog.template_of(tv).field("name").group == "names"
