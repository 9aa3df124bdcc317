"""The rule-based text parser, one rule at a time."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.intake.parsing import ACCEPTED, ParseError, parse_text


def names(text: str) -> list[str]:
    return [item.values["name"] for item in parse_text(text).items]


def only(text: str):
    items = parse_text(text).items
    assert len(items) == 1, [i.values for i in items]
    return items[0]


def skipped(text: str) -> dict[str, str]:
    return {s.text: s.why for s in parse_text(text).skipped}


# ------------------------------------------------------------------------------- lists


@pytest.mark.parametrize(
    "text",
    [
        "1. Maria Gonzalez\n2. Tom Whitaker",
        "1) Maria Gonzalez\n2) Tom Whitaker",
        "#1 Maria Gonzalez\n#2 Tom Whitaker",
        "- Maria Gonzalez\n- Tom Whitaker",
        "* Maria Gonzalez\n* Tom Whitaker",
        "• Maria Gonzalez\n• Tom Whitaker",
        "– Maria Gonzalez\n– Tom Whitaker",
        "1 Maria Gonzalez\n2 Tom Whitaker",
        "Maria Gonzalez\nTom Whitaker",
    ],
)
def test_numbered_and_bulleted_lists(text: str) -> None:
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Maria Gonzalez", "Tom Whitaker"]
    assert all(i.confidence >= ACCEPTED for i in result.items)
    assert [i.source_line for i in result.items] == [1, 2]


def test_comma_separated_names_on_one_line_keep_the_customers_characters() -> None:
    result = parse_text("anna kowalski, JAMES O'REILLY, Priya Natarajan")
    assert [i.values["name"] for i in result.items] == ["anna kowalski", "JAMES O'REILLY", "Priya Natarajan"]
    lower, upper, mixed = result.items
    assert any("lower-case" in r for r in lower.reasons)
    assert any("capitals" in r for r in upper.reasons)
    assert mixed.reasons == []
    assert lower.confidence < mixed.confidence and upper.confidence < mixed.confidence


def test_and_joins_the_last_two_names() -> None:
    assert names("Oskar Schindler, Irena Sendler and Raoul Wallenberg") == [
        "Oskar Schindler",
        "Irena Sendler",
        "Raoul Wallenberg",
    ]
    assert names("Tomás Ruiz and Ingrid Bergström") == ["Tomás Ruiz", "Ingrid Bergström"]
    assert names("Mr. and Mrs. Daniel Thompson") == ["Mr. and Mrs. Daniel Thompson"]


# --------------------------------------------------------------------------- Last, First


def test_last_first_is_reordered_and_flagged() -> None:
    item = only("Nguyen, Linh")
    assert item.values["name"] == "Linh Nguyen"
    assert "reordered Last, First" in item.reasons
    assert item.confidence < ACCEPTED


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("de la Cruz, Isabella", "Isabella de la Cruz"),
        ("van der Berg, Anneke", "Anneke van der Berg"),
        ("O'Brien, Seamus", "Seamus O'Brien"),
        ("Mensah-Boateng, Kwame", "Kwame Mensah-Boateng"),
        ("García Márquez, Gabriel", "Gabriel García Márquez"),
        ("Smith, John Jr.", "John Smith Jr."),
    ],
)
def test_last_first_with_particles_and_suffixes(line: str, name: str) -> None:
    assert names(line) == [name]


def test_name_comma_suffix_is_not_reordered() -> None:
    assert names("John Smith, Jr.") == ["John Smith, Jr."]
    assert names("Karen Page, MD") == ["Karen Page, MD"]


def test_smith_john_ceo_is_last_first_title() -> None:
    item = only("Smith, John, CEO")
    assert item.values == {"name": "John Smith", "title": "CEO"}
    assert "reordered Last, First" in item.reasons


def test_name_title_company_line() -> None:
    item = only("Jane Doe, Chief Executive Officer, Acme Corp")
    assert item.values == {"name": "Jane Doe", "title": "Chief Executive Officer", "company": "Acme Corp"}


def test_name_title_company_header_line_starts_a_table() -> None:
    result = parse_text("Name, Title, Company\nJane Doe, CEO, Acme\nJohn Roe, CTO, Acme")
    assert [i.values for i in result.items] == [
        {"name": "Jane Doe", "title": "CEO", "company": "Acme"},
        {"name": "John Roe", "title": "CTO", "company": "Acme"},
    ]
    assert result.skipped[0].why == "header row"


def test_a_lone_header_line_is_reported() -> None:
    result = parse_text("Name, Title, Company")
    assert result.items == []
    assert result.skipped_lines == ["Name, Title, Company"]


# --------------------------------------------------------------------------- Name - Title


@pytest.mark.parametrize("sep", [" - ", " – ", " — ", ": ", " -- "])
def test_name_and_title_separators(sep: str) -> None:
    item = only(f"Maria Gonzalez{sep}Head Coach")
    assert item.values == {"name": "Maria Gonzalez", "title": "Head Coach"}


def test_hyphenated_names_are_not_split() -> None:
    item = only("Dr. Alexander Pemberton-Hughes Jr. - Team Physician")
    assert item.values == {"name": "Dr. Alexander Pemberton-Hughes Jr.", "title": "Team Physician"}


def test_title_before_name() -> None:
    item = only("Coach of the Year - Gwendolyn Price")
    assert item.values == {"name": "Gwendolyn Price", "title": "Coach of the Year"}
    assert "name came after the title" in item.reasons


def test_unknown_words_after_the_dash_are_a_guessed_title() -> None:
    item = only("Jane Doe - Chocolate Enthusiast")
    assert item.values["title"] == "Chocolate Enthusiast"
    assert any(r.startswith("guessed title") for r in item.reasons)


def test_phone_after_a_pet_name_is_a_phone_value() -> None:
    item = only("Rufus - 555-404-1122")
    assert item.values == {"name": "Rufus", "phone": "555-404-1122"}


def test_email_next_to_a_name() -> None:
    assert only("Rosalind Franklin <rfranklin@kings.ac.uk>").values == {
        "name": "Rosalind Franklin",
        "email": "rfranklin@kings.ac.uk",
    }


# ------------------------------------------------------------------------------- columns


def test_tab_separated_rows_with_header() -> None:
    result = parse_text(
        "Name\tTitle\tDepartment\nGrace Hopper\tRear Admiral\tNavy\nAda Lovelace\tAnalyst\tMath"
    )
    assert result.items[0].values == {"name": "Grace Hopper", "title": "Rear Admiral", "department": "Navy"}
    assert result.columns == ["name", "title", "department"]


def test_tab_separated_rows_without_header() -> None:
    result = parse_text("Grace Hopper\tRear Admiral\nAda Lovelace\tAnalyst")
    assert [i.values["name"] for i in result.items] == ["Grace Hopper", "Ada Lovelace"]
    assert result.items[0].values["title"] == "Rear Admiral"


def test_multi_space_columns() -> None:
    result = parse_text("Name            Year\nMarcus Thompson   1998\nElena Petrova     2003")
    assert [i.values for i in result.items] == [
        {"name": "Marcus Thompson", "year": "1998"},
        {"name": "Elena Petrova", "year": "2003"},
    ]


def test_single_tab_line() -> None:
    assert only("Grace Hopper\tRear Admiral").values == {"name": "Grace Hopper", "title": "Rear Admiral"}


# -------------------------------------------------------------------- around the list


def test_greetings_sign_offs_signatures_and_chatter_are_skipped_with_reasons() -> None:
    text = (
        "Hi there,\n\nHere is the list:\n\n1. Maria Gonzalez\n2. Tom Whitaker\n\n"
        "We need them by the 14th if at all possible.\n\nCheers,\nRebecca\nLakeside Youth Soccer\n"
        "(555) 201-4433\nrebecca@lakeside.org\nwww.lakeside.org\n"
    )
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Maria Gonzalez", "Tom Whitaker"]
    why = {s.text: s.why for s in result.skipped}
    assert why["Hi there,"] == "greeting"
    assert why["Here is the list:"] == "introduces the list"
    assert why["We need them by the 14th if at all possible."] == "chatter"
    assert why["Cheers,"] == "sign-off"
    assert why["Rebecca"] == "looks like a signature"
    assert why["Lakeside Youth Soccer"] == "looks like a signature"
    assert why["(555) 201-4433"].startswith("contact details")
    assert why["rebecca@lakeside.org"].startswith("contact details")


@pytest.mark.parametrize("greeting", ["Hello Sam", "Hi there,", "Dear Mr. Smith,", "Good morning!", "Hola,"])
def test_greetings(greeting: str) -> None:
    assert skipped(f"{greeting}\n1. Jane Doe") == {greeting: "greeting"}


@pytest.mark.parametrize(
    "signoff", ["Thanks!", "Cheers,", "Best regards", "Kind regards,", "Thank you so much!"]
)
def test_sign_offs_and_the_name_after_them(signoff: str) -> None:
    result = parse_text(f"Jane Doe\nJohn Roe\n{signoff}\nRebecca Smith")
    assert [i.values["name"] for i in result.items] == ["Jane Doe", "John Roe"]
    assert {s.text: s.why for s in result.skipped} == {
        signoff: "sign-off",
        "Rebecca Smith": "looks like a signature",
    }


def test_list_markers_after_a_sign_off_still_count() -> None:
    assert names("Thanks!\n1. Jane Doe\n2. John Roe") == ["Jane Doe", "John Roe"]


def test_a_short_sign_off_does_not_eat_names() -> None:
    assert names("Ty Cobb\nTanya Smith\nBest Coach - Jane Doe") == ["Ty Cobb", "Tanya Smith", "Jane Doe"]


def test_signature_without_sign_off_is_recognized_by_its_contact_lines() -> None:
    text = "Jane Doe\nJohn Roe\n\nTheodora Vance\nOffice Manager\nT: +1 (303) 555-0142\n"
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Jane Doe", "John Roe"]
    assert {s.why for s in result.skipped} <= {"looks like a signature", "contact details in a signature"}


def test_intro_text_before_a_colon_is_extra_text() -> None:
    result = parse_text("can u do badges for: anna kowalski, Priya Natarajan")
    assert [i.values["name"] for i in result.items] == ["anna kowalski", "Priya Natarajan"]
    assert all(any(r.startswith("line had extra text") for r in i.reasons) for i in result.items)


def test_a_name_in_a_non_order_sentence_is_skipped() -> None:
    result = parse_text("Please send the invoice to: John Smith\n1. Jane Doe")
    assert [i.values["name"] for i in result.items] == ["Jane Doe"]
    assert result.skipped[0].why == "mentions a name but is not part of the list"


def test_filler_words_around_a_name() -> None:
    item = parse_text("oh and 2x for Wei Chen pls").items
    assert [i.values["name"] for i in item] == ["Wei Chen", "Wei Chen"]
    assert all(i.confidence < ACCEPTED for i in item)


def test_chat_transcript_headers_are_skipped() -> None:
    result = parse_text(
        "[10:14 AM] Karen Whitaker\nGerald Fitzpatrick\nKaren Whitaker  10:15 AM\nDolores Abernathy"
    )
    assert [i.values["name"] for i in result.items] == ["Gerald Fitzpatrick", "Dolores Abernathy"]
    assert {s.why for s in result.skipped} == {"chat message header (time and sender)"}


# ---------------------------------------------------------------------- quoted messages


def test_outlook_original_message_is_ignored_when_the_reply_has_the_list() -> None:
    text = (
        "New list:\nMaria Santos\nKevin O'Brien\n\n-----Original Message-----\nFrom: Dana <d@x.com>\n"
        "Sent: Monday, March 4, 2024 9:12 AM\nTo: Jordan <j@x.com>\nSubject: RE: plaques\n\nPeter Lindqvist\n"
    )
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Maria Santos", "Kevin O'Brien"]
    why = {s.text: s.why for s in result.skipped}
    assert why["-----Original Message-----"] == "start of an earlier message"
    assert why["Subject: RE: plaques"] == "email header of an earlier message"
    assert why["Peter Lindqvist"] == "quoted from an earlier message"


def test_gt_quoted_lines_and_wrote_line() -> None:
    text = (
        "Add these:\n- Fatima Al-Sayed\n\n"
        "On Tue, Mar 5, 2024 at 10:02 AM Dana <d@x.com> wrote:\n> 1. Lucy Heart\n"
    )
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Fatima Al-Sayed"]
    assert {s.text: s.why for s in result.skipped}["> 1. Lucy Heart"] == "quoted from an earlier message"


def test_gmail_wrote_line_split_over_two_lines() -> None:
    text = (
        "- Fatima Al-Sayed\n\n"
        "On Tue, Mar 5, 2024 at 10:02 AM Dana Whitfield <\ndana@x.com> wrote:\n> Old Name\n"
    )
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Fatima Al-Sayed"]
    assert len(result.skipped) == 3


def test_forwarded_message_content_is_parsed() -> None:
    text = (
        "FYI - see below.\n\n---------- Forwarded message ---------\nFrom: Coach <c@x.org>\n"
        "Date: Wed, Apr 10, 2024\nSubject: names\nTo: Parents <p@x.org>\n\n1. Ella Moore\n2. Oliver Zhang\n"
    )
    result = parse_text(text)
    assert [i.values["name"] for i in result.items] == ["Ella Moore", "Oliver Zhang"]
    assert all("taken from the forwarded message" in i.reasons for i in result.items)


def test_a_quote_is_used_when_the_reply_has_no_list_but_flagged() -> None:
    result = parse_text("Yes, these please.\n\n> Jane Doe\n> John Roe\n")
    assert [i.values["name"] for i in result.items] == ["Jane Doe", "John Roe"]
    assert all("taken from a quoted earlier message" in i.reasons for i in result.items)


# ------------------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    "line",
    [
        "2x Jane Doe",
        "2 x Jane Doe",
        "x2 Jane Doe",
        "Jane Doe x2",
        "Jane Doe (2)",
        "qty 2 Jane Doe",
        "Jane Doe qty 2",
    ],
)
def test_quantity_forms(line: str) -> None:
    items = parse_text(line).items
    assert [i.values for i in items] == [{"name": "Jane Doe"}, {"name": "Jane Doe"}]
    assert items[0].reasons[-1] == "quantity 2: expanded into 2 items (1 of 2)"


def test_quoted_label_with_quantity() -> None:
    items = parse_text('3x "Volunteer"').items
    assert [i.values["name"] for i in items] == ["Volunteer"] * 3
    assert all(i.confidence < 0.6 for i in items)
    assert "quoted label, probably not a person's name" in items[0].reasons


def test_absurd_quantity_is_flagged_not_expanded() -> None:
    items = parse_text("Jane Doe x5000").items
    assert len(items) == 1
    assert items[0].confidence < 0.6
    assert "not expanded" in items[0].reasons[-1]


def test_a_bare_leading_number_that_is_not_a_numbering_is_a_guessed_quantity() -> None:
    items = parse_text("3 Jane Doe").items
    assert len(items) == 3
    assert all(i.confidence < ACCEPTED for i in items)


# ----------------------------------------------------------------- names and characters


@pytest.mark.parametrize(
    "name",
    [
        "Dr. Jane Foster, PhD",
        "Rev. Martin Lowell King Jr.",
        "Mr. Theodore Roosevelt III",
        "Prof. Ana Silva",
        "Mrs. Ellen Ripley",
        "Ms. Karen Page",
        "Robert Downey Sr.",
        "William Henry Gates IV",
        "Jane Foster MD",
    ],
)
def test_honorifics_and_suffixes_stay_in_the_name(name: str) -> None:
    item = only(f"1. {name}")
    assert item.values["name"] == name
    assert item.confidence >= ACCEPTED


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Müller",
        "Seán O'Connor",
        "Siobhán Ní Bhriain",
        "Nguyễn Văn An",
        "Łukasz Żółkiewski",
        "Дмитрий Смирнов",
        "Γιώργος Παπαδόπουλος",
        "Ursula von der Leyen",
        "Isabella de la Cruz",
        "Fiona McDonald",
        "Kwame Mensah-Boateng",
        "Renée O’Connor",
    ],
)
def test_every_character_is_kept(name: str) -> None:
    assert names(f"- {name}\n- Jane Doe") == [name, "Jane Doe"]


def test_text_is_nfc_normalized() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë Müller")
    assert names(decomposed) == ["Zoë Müller"]
    assert unicodedata.is_normalized("NFC", names(decomposed)[0])


def test_pronouns_are_kept_out_of_the_name() -> None:
    item = only("Priya Natarajan (she/her)")
    assert item.values == {"name": "Priya Natarajan", "pronouns": "she/her"}
    assert "pronouns (she/her) kept out of the name" in item.reasons


def test_nicknames_inside_a_name_stay() -> None:
    assert names('Robert "Bobby" Tables\nWilliam (Bill) Turner') == [
        'Robert "Bobby" Tables',
        "William (Bill) Turner",
    ]


def test_trailing_brackets_become_a_title_or_a_note() -> None:
    assert only("Maria Gonzalez (Captain)").values == {"name": "Maria Gonzalez", "title": "Captain"}
    item = only("Maria Gonzalez (spell exactly like this)")
    assert item.values["note"] == "spell exactly like this"


def test_a_listed_line_that_is_not_a_name_is_kept_but_uncertain() -> None:
    item = only("- Best Team Spirit Award")
    assert item.values["name"] == "Best Team Spirit Award"
    assert item.confidence < 0.6


def test_a_one_word_line_among_full_names_needs_review() -> None:
    result = parse_text("Jane Doe\nJohn Roe\nPozdrawiam")
    assert result.items[-1].confidence < ACCEPTED or result.skipped


# -------------------------------------------------------------------------- the contract


def test_every_non_blank_line_is_an_item_or_skipped() -> None:
    text = "Hi!\n\n1. Jane Doe\n\nsome chatter here, really\n\n\nThanks\nBob\n"
    result = parse_text(text)
    used = {i.source_line for i in result.items} | {s.line for s in result.skipped}
    non_blank = {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}
    assert used == non_blank


def test_empty_paste_is_refused() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_text("   \n\n ")


def test_huge_paste_is_refused_with_a_sentence() -> None:
    with pytest.raises(ParseError, match="limit"):
        parse_text("Jane Doe\n" * 600_000)  # 5.4 MB


def test_only_chatter_gives_no_items_and_reports_every_line() -> None:
    result = parse_text("Can you call me tomorrow about the order?\nThanks")
    assert result.items == []
    assert len(result.skipped) == 2


def test_to_json_shape() -> None:
    data = parse_text("Hi,\nJane Doe - CEO\n").to_json()
    assert data == {
        "items": [{"values": {"name": "Jane Doe", "title": "CEO"}, "confidence": 0.95, "reasons": []}],
        "skipped_lines": ["Hi,"],
        "engine": "rules",
    }


# ----------------------------------------------------------------------- messier shapes


def test_quantity_alone_after_the_dash() -> None:
    assert [i.values for i in parse_text("Mrs. Ellen Ripley - 3x").items] == [
        {"name": "Mrs. Ellen Ripley"}
    ] * 3


def test_comma_list_of_first_names_is_not_last_first() -> None:
    assert names("Max, Bella, Charlie") == ["Max", "Bella", "Charlie"]


def test_numbering_with_a_dash() -> None:
    assert names("1- Amelia Watson\n2 - Benedict Cho") == ["Amelia Watson", "Benedict Cho"]


def test_names_inside_a_sentence_are_found_but_flagged() -> None:
    result = parse_text("Could you do pens for our nurses Margaret Hale, Ruth Ellison and Dr. Samuel Okafor?")
    assert [i.values["name"] for i in result.items] == ["Margaret Hale", "Ruth Ellison", "Dr. Samuel Okafor"]
    assert all(i.confidence < ACCEPTED for i in result.items)


def test_whatsapp_export_lines() -> None:
    text = (
        "[12/03/2024, 09:14:22] Maya Lin: hiya can u do keyrings\n"
        "[12/03/2024, 09:14:40] Maya Lin: Bella\n"
        "[12/03/2024, 09:15:02] Maya Lin: and Josephine (with the ph)\n"
    )
    assert names(text) == ["Bella", "Josephine"]


def test_emoji_decoration_is_not_part_of_the_name() -> None:
    assert names("🏆 Liam Byrne 🙌\n⚽ Noah Walsh") == ["Liam Byrne", "Noah Walsh"]


def test_year_ranges_are_not_phone_numbers() -> None:
    result = parse_text(
        "In Loving Memory of\nHarold James Whitmore\n1938 – 2023\nKind regards,\nThe Whitmores"
    )
    assert names_of(result) == ["Harold James Whitmore"]
    assert {s.text: s.why for s in result.skipped}["1938 – 2023"] == "no name found"


def test_role_before_a_colon_becomes_the_title() -> None:
    result = parse_text("Bride: Samantha Whitfield\nBest Man: Thomas Becker")
    assert [i.values for i in result.items] == [
        {"name": "Samantha Whitfield", "title": "Bride"},
        {"name": "Thomas Becker", "title": "Best Man"},
    ]


def test_two_names_on_either_side_of_a_dash_are_flagged() -> None:
    item = only("Harold Finch - Joss Carter")
    assert item.confidence < ACCEPTED
    assert "'Joss Carter' also looks like a name: which one is the name?" in item.reasons


def test_a_lone_name_closing_the_message_is_flagged() -> None:
    result = parse_text("1. Ella Moore\n2. Oliver Zhang\n\nCoach B")
    assert result.items[-1].values == {"name": "Coach B"} and result.items[-1].confidence < ACCEPTED


def names_of(result) -> list[str]:
    return [i.values["name"] for i in result.items]
