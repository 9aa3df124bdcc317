"""The classes of order the rule-based parser reads by shape (docs/parsing.md), each on an order
written for the test, not taken from the corpus."""

from __future__ import annotations

from pipeline.intake.parsing import ACCEPTED, parse_file, parse_text


def pieces(text: str) -> list[tuple[str, str]]:
    return [(it.values["name"], it.values.get("title", "")) for it in parse_text(text).items]


def test_a_nested_outline_has_headings_not_pieces() -> None:
    text = (
        "Plates for the chess club:\n\n"
        "1) Juniors\n   a. Nora Blake – Club Champion\n   b. Sam Ito – Most Improved\n"
        "2) Seniors\n   a. Petra Vogel – Club Champion\n\nThanks!\nIan"
    )
    assert pieces(text) == [
        ("Nora Blake", "Club Champion"),
        ("Sam Ito", "Most Improved"),
        ("Petra Vogel", "Club Champion"),
    ]
    assert {s.text: s.why for s in parse_text(text).skipped}["1) Juniors"].startswith("heading over a group")


def test_a_labelled_group_heading_is_the_second_line_when_the_order_asks() -> None:
    text = (
        "Medals please, team name on line 2.\n\n"
        "TEAM: Comets\n- Ava Lund\n- Milo Roth\n\nTEAM: Otters\n- Ezra Hahn\n- Lena Moss\n"
    )
    assert pieces(text) == [
        ("Ava Lund", "Comets"),
        ("Milo Roth", "Comets"),
        ("Ezra Hahn", "Otters"),
        ("Lena Moss", "Otters"),
    ]


def test_name_title_company_lines_are_read_by_their_block() -> None:
    text = (
        "Crystal awards, name and title only:\n\n"
        "Ruth Okoye, VP of Sales, Helix Freight\n"
        "Jonas Berg, Head of Customer Care, Helix Freight\n"
        "Mei Tanaka, Chief of Staff, Orbit Labs\n"
    )
    items = parse_text(text).items
    assert [(i.values["name"], i.values["title"], i.values["company"]) for i in items] == [
        ("Ruth Okoye", "VP of Sales", "Helix Freight"),
        ("Jonas Berg", "Head of Customer Care", "Helix Freight"),
        ("Mei Tanaka", "Chief of Staff", "Orbit Labs"),
    ]


def test_a_markdown_table_keeps_its_keys_unless_the_message_has_other_pieces() -> None:
    text = (
        "# Order\n\nHere you go:\n\n| Rider | Prize | Qty |\n|---|---|---|\n"
        "| Lea Marchand | Stage Winner | 2 |\n| Tom Ekberg | Best Climber | 1 |\n"
        "|  | **Total** | **3** |\n\nThanks — Kim\n"
    )
    result = parse_text(text)
    key = result.name_column
    assert key == "rider"  # every piece is from the table: its own header names the columns
    assert [(it.values[key], it.values["prize"]) for it in result.items] == [
        ("Lea Marchand", "Stage Winner"),
        ("Lea Marchand", "Stage Winner"),
        ("Tom Ekberg", "Best Climber"),
    ]
    mixed = parse_text(
        "Plates:\n\n| Rider | Prize |\n|---|---|\n| Lea Marchand | Stage Winner |\n\n"
        "Jon Vik - Lanterne Rouge\n"
    )
    assert [(it.values["name"], it.values["title"]) for it in mixed.items] == [
        ("Lea Marchand", "Stage Winner"),
        ("Jon Vik", "Lanterne Rouge"),
    ]


def test_quantities_at_the_end_of_a_line_or_in_a_sentence() -> None:
    text = (
        "Hi,\n\n"
        "Olga Nowak – Prezes – 2 szt.\n"
        "Piet Claes, Treasurer, qty 3\n"
        "Hanna Berg – Secretary\n"
        "Ines Roca – Coach\n\n"
        "The Coach plaque: we need 4 of the Coach one actually. And two for Hanna please.\n"
    )
    names = [name for name, _ in pieces(text)]
    assert names.count("Olga Nowak") == 2
    assert names.count("Piet Claes") == 3
    assert names.count("Hanna Berg") == 2


def test_two_of_each_applies_to_every_piece() -> None:
    text = "keyrings pls\n\nAmy - Bride\nJo - Bridesmaid\n\ntwo of each please\n"
    assert [n for n, _ in pieces(text)] == ["Amy", "Amy", "Jo", "Jo"]


def test_corrections_by_quoting_new_and_old() -> None:
    text = (
        'One fix: it\'s "Aoibhinn" not "Eveen". And make Raúl\'s plate say "Head Chef" not "Chef".\n\n'
        "> Eveen Walsh - Waitress of the Year\n> Raúl Soto - Chef\n"
    )
    assert pieces(text) == [("Aoibhinn Walsh", "Waitress of the Year"), ("Raúl Soto", "Head Chef")]


def test_chat_additions_and_closing_names() -> None:
    text = (
        "[10:01] Lou: can we get 3 bag tags for the twins and their cousin? Ada, Finn and Rosa.\n"
        "[10:03] Lou: oh and Tess too, she just joined\n"
    )
    assert [n for n, _ in pieces(text)] == ["Ada", "Finn", "Rosa", "Tess"]


def test_a_team_or_sponsor_where_the_names_are_is_kept_and_flagged() -> None:
    text = (
        "Trophies:\n\n"
        "Lars Holm – Top Scorer\n"
        "Nina Park – Best Defender\n"
        "Team Rocket Socks – League Champions\n"
    )
    items = parse_text(text).items
    team = items[-1]
    assert (team.values["name"], team.values["title"]) == ("Team Rocket Socks", "League Champions")
    assert team.confidence < ACCEPTED and team.reasons
    assert all(it.confidence >= ACCEPTED for it in items[:2])


def test_tier_headings_over_a_donor_list_are_not_pieces() -> None:
    text = (
        "Donor plates, names only:\n\n"
        "PLATINUM\nGreta & Hal Moreno\nThe Osei Family Trust\nDr. Ana Lima\n\n"
        "SILVER\nBen Cho\nAnonymous\nRita Gomez\n"
    )
    items = parse_text(text).items
    assert [it.values["name"] for it in items] == [
        "Greta & Hal Moreno",
        "The Osei Family Trust",
        "Dr. Ana Lima",
        "Ben Cho",
        "Anonymous",
        "Rita Gomez",
    ]
    trust = items[1]
    assert trust.confidence < ACCEPTED


def test_a_table_without_a_name_header_finds_the_names_by_their_cells() -> None:
    data = (
        "Member ID,Hole,Golfer,Prize\n1001,7,Ida Svensson,Nearest the Pin\n"
        "1002,12,Kofi Mensah,Longest Drive\n"
    )
    result = parse_file(data.encode(), "golf.csv")
    assert result.name_column == "golfer"
    assert [it.values["golfer"] for it in result.items] == ["Ida Svensson", "Kofi Mensah"]
    assert all("member id" not in it.values for it in result.items)


def test_a_hash_column_of_jersey_numbers_is_not_a_quantity() -> None:
    data = "#,Player,Award\n23,Lou Ferris,MVP\n7,Sam Price,Rookie\n"
    result = parse_file(data.encode(), "team.csv")
    assert [it.values["player"] for it in result.items] == ["Lou Ferris", "Sam Price"]
    assert [it.values["#"] for it in result.items] == ["23", "7"]


def test_prose_names_with_the_words_their_piece_should_say() -> None:
    text = (
        "Hello,\n\nOur caretaker is leaving. His name is Mr. Tobias Grant and the plaque should say "
        '"Thank you for 25 years". We also need one for the assistant, Ms. Hana Ueda, '
        'saying "With thanks".\n\n'
        "Best wishes,\nThe PTA\n"
    )
    assert pieces(text) == [("Mr. Tobias Grant", "Thank you for 25 years"), ("Ms. Hana Ueda", "With thanks")]


def test_an_award_written_above_its_name_in_blocks() -> None:
    text = (
        "Awards evening, as follows.\nTop Scholar\nElif Aydin\n\nArt Prize\nBruno Costa\n\n"
        "Sports Prize\nGrace Kimani\n\nThank you!\n\nMr. P. Novak\nHead of Year 11\n"
    )
    assert pieces(text) == [
        ("Elif Aydin", "Top Scholar"),
        ("Bruno Costa", "Art Prize"),
        ("Grace Kimani", "Sports Prize"),
    ]


def test_the_sender_named_in_the_mail_header_is_not_a_piece() -> None:
    text = (
        "From: Dana Whitfield <dana@club.example>\nSubject: medals\n\nMedals please:\n"
        "Kira Obi\nLena Fox\nMaya Gold\n\nDana\n"
    )
    assert [n for n, _ in pieces(text)] == ["Kira Obi", "Lena Fox", "Maya Gold"]


def test_pet_names_with_numbers_and_a_total_line() -> None:
    text = "Dog tags:\n\nBella - 07700 900111\nMax 2 - 07700 900111\nK9 - 07700 900333\n\nTotal: 3 tags\n"
    items = parse_text(text).items
    assert [(it.values["name"], it.values["phone"]) for it in items] == [
        ("Bella", "07700 900111"),
        ("Max 2", "07700 900111"),
        ("K9", "07700 900333"),
    ]
    assert items[2].confidence < ACCEPTED  # 'K9' is not a name anyone has: the shop looks


def test_a_count_per_couple_and_quoted_labels() -> None:
    couples = (
        "Favours, engraved like this (so 2 per couple):\n\nJim & Carol Hendricks\nRaj and Meena Kapoor\n"
    )
    assert [n for n, _ in pieces(couples)] == [
        "Jim & Carol Hendricks",
        "Jim & Carol Hendricks",
        "Raj and Meena Kapoor",
        "Raj and Meena Kapoor",
    ]
    labels = parse_text('hey can you do 3 keychains: "MOM", "DAD" and "NANA" thx').items
    assert [it.values["name"] for it in labels] == ["MOM", "DAD", "NANA"]
    assert all(it.confidence < ACCEPTED for it in labels)


def test_a_marketplace_notification_is_read_as_records() -> None:
    text = (
        "You made a sale!\n\nOrder number: 771\n-----------------\nTransaction ID: 1\n"
        "Item: Steel Tag\nQuantity: 2\nPersonalization: ROCKY / 555-0101\nItem price: $9.00\n"
        "-----------------\nTransaction ID: 2\nItem: Brass Tag\nQuantity: 1\n"
        "Personalization: Juniper | Call Ann 555-0102\n-----------------\n\n"
        "Shipping address\nDana Price\n12 Elm St\nUnited States\n"
    )
    assert pieces(text) == [("ROCKY", "555-0101"), ("ROCKY", "555-0101"), ("Juniper", "Call Ann 555-0102")]


def test_a_block_of_slash_lines_is_a_list_of_pets() -> None:
    text = (
        "tags please, back line after the slash\n\n"
        "Milo / The Arendts\nPoppy / Call 555-0148\nRex / Good boy\n"
    )
    assert pieces(text) == [("Milo", "The Arendts"), ("Poppy", "Call 555-0148"), ("Rex", "Good boy")]


def test_a_count_in_a_remark_after_the_piece() -> None:
    text = (
        "Badges:\nLena Hoff – Cashier (2 stuks)\n"
        "Omar Said – Baker, make it three he loses them\nIda Berg – Host\n"
    )
    result = parse_text(text)
    counts: dict[str, int] = {}
    for item in result.items:
        counts[item.values["name"]] = counts.get(item.values["name"], 0) + 1
    assert counts == {"Lena Hoff": 2, "Omar Said": 3, "Ida Berg": 1}
    assert result.items[-1].values["title"] == "Host"


def test_corrections_by_surname_accent_and_fuller_name() -> None:
    text = (
        "- Holly Brennan – Most Improved\n- Matéo Gagnon – MVP\n- SSG Ray Cole – U.S. Army\n\n"
        "Holly's surname is Brennan-Shaw with the hyphen. Also it's Mateo with no accent.\n"
        '- #3: the family wants his middle initial, so "SSG Ray T. Cole"\n'
    )
    assert [n for n, _ in pieces(text)] == ["Holly Brennan-Shaw", "Mateo Gagnon", "SSG Ray T. Cole"]


def test_chat_heads_without_times_and_a_series_of_first_names() -> None:
    text = (
        "Ms. Ortiz: Hi! Could you do wooden apples for my class please? First names only.\n"
        "Ms. Ortiz: Lily, Noah, Aarav and Zoë.\n"
        "Shop: Sure thing, ready Friday.\n"
        "Ms. Ortiz: oh and Björn and Anaïs too\n"
    )
    assert [n for n, _ in pieces(text)] == ["Lily", "Noah", "Aarav", "Zoë", "Björn", "Anaïs"]


def test_two_full_names_joined_by_ampersand_are_kept_whole_for_review() -> None:
    result = parse_text("Flutes:\nMr. & Mrs. Smith\nKerry-Ann Baptiste & Deshawn Miles\nLily Reyes\n")
    couple = result.items[1]
    assert couple.values["name"] == "Kerry-Ann Baptiste & Deshawn Miles"
    assert couple.confidence < ACCEPTED and "or two people?" in couple.reasons[-1]


def test_brackets_the_order_says_to_engrave_stay_on_the_name() -> None:
    text = (
        "The decorations in brackets go on the same line after the name, brackets and all.\n\n"
        "Sgt. Tom Bell (MM)\nCapt. Luc Marchand (Croix de Guerre)\nMaj. Eve Stroud\n"
    )
    assert [n for n, _ in pieces(text)] == [
        "Sgt. Tom Bell (MM)",
        "Capt. Luc Marchand (Croix de Guerre)",
        "Maj. Eve Stroud",
    ]


def test_an_engrave_as_column_beats_the_legal_name_and_line_2_is_the_second_line() -> None:
    data = (
        "Legal Last Name,Legal First Name,Engrave As,Line 2,Homeroom\n"
        "Abernathy,Caleb James,Caleb Abernathy,Class of 2026,101\n"
    )
    result = parse_file(data.encode(), "keychains.csv")
    (item,) = result.items
    assert item.values == {"engrave as": "Caleb Abernathy", "line 2": "Class of 2026"}
