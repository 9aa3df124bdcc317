"""What a single line of a pasted message is: list marker, greeting, sign-off, contact details,
the start of a quoted earlier message … Precompiled patterns, no state.
"""

from __future__ import annotations

import re
import unicodedata

from .lexicon import check_name, is_header_cell, words

NUMBERED = re.compile(
    r"^(?:#\s?\d{1,4}[.):]?|\(\d{1,4}\)|\d{1,4}\s?[.):\]](?!\d)|\d{1,3}\s?[-–](?=\s)|[a-z][)]|(?-i:[a-z]\.(?=\s)))\s*(?=\S)",
    re.IGNORECASE,
)
BULLET = re.compile(r"^(?:[-*+](?:\s+|(?=[^\W\d_]))|[•·●▪◦‣∙○■□➤►→✓✔☐–—]\s*)(?=\S)")
BARE_NUMBER = re.compile(r"^(\d{1,3})\s+(?=[^\W\d_])(?![x×]\s)")

GREETING = re.compile(
    r"^(?:hi|hello|hey|heya|hiya|howdy|dear|greetings|hallo|hola|bonjour|yo|morning|afternoon|evening"
    r"|good\s+(?:morning|afternoon|evening|day)|buenos\s+d[ií]as|buenas\s+tardes|bonjour|salut|guten\s+(?:tag|morgen)"
    r"|dzie[nń]\s+dobry|cze[sś][cć]|привет|здравствуйте|добрый\s+день|γει[αά]\s+σας|xin\s+ch[aà]o|dia\s+dhuit"
    r"|ciao|buongiorno|ol[aá]|hej|hoi|moin|namaste|kia\s+ora|aloha)(?!\w)[^!?:]{0,40}[,!.:]*$",
    re.IGNORECASE,
)
SIGNOFF = re.compile(
    r"^(?:(?:many|big|huge|thanks)\s+)?(?:thanks|thank\s+you|cheers|best\s+wishes"
    r"|(?:kind|warm|warmest|best|many)\s+regards|best|regards|sincerely|yours(?:\s+(?:truly|sincerely|faithfully))?"
    r"|all\s+the\s+best|take\s+care|cordially|respectfully|talk\s+soon|speak\s+soon|much\s+appreciated"
    r"|appreciate\s+it|have\s+a\s+(?:good|great|nice)\s+(?:day|one|weekend)|saludos|un\s+saludo|atentamente"
    r"|gracias|pozdrawiam|pozdrowienia|dzi[eę]kuj[eę]|(?:mit\s+)?(?:freundlichen\s+|liebe\s+|viele\s+)?gr[üu](?:ß|ss)en?"
    r"|danke(?:\s+sch[öo]n)?|cordialement|merci(?:\s+beaucoup)?|bisous|groetjes|met\s+vriendelijke\s+groet"
    r"|(?:med\s+)?(?:v[äa]nliga\s+|vennlig\s+|venlig\s+|beste\s+)?(?:h[äa]lsningar|hilsen?)|mvh|obrigad[oa]|abra[çc]os|grazie|cordiali\s+saluti|спасибо|с\s+уважением|ευχαριστώ"
    r"|c[ảa]m\s+[ơo]n|go\s+raibh\s+maith\s+agat|sl[áa]n|mahalo|ng[āa]\s+mihi)(?![\w'’])"
    r"(?:\s+(?:so|very)\s+much|\s+a\s+lot|\s+again|\s+in\s+advance|\s+heaps|\s+a\s+million)*"
    r"\s*[,.!:;~\-–—]*\s*(?P<name>.*)$",
    re.IGNORECASE,
)
SHORT_SIGNOFF = re.compile(r"^(?:ty|thx|tx|tia|ta|tyvm|thnx|thks|xoxo|xx+|hugs)\s*[!.,~]*$", re.IGNORECASE)
SIG_SEPARATOR = re.compile(r"^(?:--\s?|-- -+|__+|—)$")
MAIL_FOOTER = re.compile(
    r"^(?:sent from my|sent from (?:outlook|mail|yahoo)|get outlook for|sent via|sent with)\b", re.I
)

PHONE_ONLY = re.compile(
    r"^(?:(?:tel|phone|ph|mobile|mob|cell|fax|direct|office|m|t|p|o|w|c)\.?\s*[:.]?\s*)?"
    r"\+?[\d\s().\-–/]{7,22}(?:\s*(?:x|ext\.?)\s*\d{1,6})?$",
    re.IGNORECASE,
)
# Patterns used with search() start with a look-behind so that a long run of word characters or spaces
# is tried once, not from every position inside it (which is quadratic on pathological pastes).
EMAIL_IN = re.compile(
    r"(?<![^\s@<>()\[\],;:])[^\s@<>()\[\],;:]+@[^\s@<>()\[\],;:]+\.[a-z]{2,}", re.IGNORECASE
)
URL_IN = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w-])[\w-]+\.(?:com|org|net|io|co|uk|de|edu|gov|ca|au|us|biz|info)\b(?:/\S*)?",
    re.I,
)
CONTACT_LABEL = re.compile(r"\b(?:e-?mail|web(?:site)?|tel|phone|mobile|cell|fax|w|e|m|t)\s*[:.]\s*", re.I)

ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(original message|forwarded message)\s*-{2,}$|^begin forwarded message:?$", re.I
)
WROTE = re.compile(r"^on\s.{4,300}\s(?:wrote|said|schrieb|a écrit|escribió):$", re.IGNORECASE)
ON_DATE_START = re.compile(r"^on\s(?:mon|tue|wed|thu|fri|sat|sun|\d|[a-z]{3,9}\s\d)", re.IGNORECASE)
WROTE_END = re.compile(r"\s(?:wrote|said):$", re.IGNORECASE)
MAIL_HEADER = re.compile(r"^\*?(from|sent|to|cc|bcc|subject|date|reply-to)\*?\s*:\s*(.*)$", re.IGNORECASE)
UNDERSCORE_RULE = re.compile(r"^_{8,}$")
FORWARD_SUBJECT = re.compile(r"^\s*(?:fw|fwd)\s*:", re.IGNORECASE)

QUOTED_LABEL = re.compile(r'^["“”„«‹\'‘’`](.+?)["“”»›\'‘’`]$')
PAREN = re.compile(r"(?<!\s)\s*[(\[]([^()\[\]]*)[)\]]")
DASH = re.compile(r"(?<!\s)\s+(?:--?|–|—|−)\s+|(?<=[^\W\d_])—(?=[^\W\d_])")
COLON = re.compile(r"(?<!\s)\s*:\s+")
COLUMNS = re.compile(r"\t|(?<!\s)\s*(?<!\|)\|(?!\|)\s*|(?<!\s)\s{3,}|(?<=\S)\s{2}(?=\S)")
CHAT_STAMP = re.compile(
    r"^(?:\[?\s*(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4},?\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\s*\]?\s*[-–]?\s*"
    r"(?P<after>.*)|(?P<before>.*?\S)\s++\[?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\]?)$",
    re.IGNORECASE,
)
# '[Yesterday 4:12 PM] Meg: …', '[Mon 09:12] Karen: …': a bracketed stamp with a time in it
CHAT_BRACKET = re.compile(r"^\[[^\]\d]{0,24}\d{1,2}:\d{2}[^\]]{0,16}\]\s*(?P<after>.*)$")
# 'Ms. Alvarez: Lily, Noah …' – a chat export without times: the sender, a colon, the message
CHAT_SENDER = re.compile(
    r"^(?P<sender>[A-ZÀ-Þ][\w.'’-]*(?: [A-ZÀ-Þ][\w.'’-]*){0,2}(?: \([^)]{1,30}\))?):\s+(?=\S)"
)
JERSEY = re.compile(r"(?<!\s)\s+(?:#|no\.?\s?)(\d{1,4})$", re.IGNORECASE)

_QTY_START = re.compile(
    r"^(?:(\d{1,6})\s?[x×](?=[\s\"“'‘«(]|$)|[x×]\s?(\d{1,6})\b|(?:qty|quantity|qnty)\.?\s*[:=]?\s*(\d{1,6})\b"
    r"|(\d{1,6})\s+(?:pcs|pieces|copies|of)\b)\s*[-–:,]?\s*",
    re.IGNORECASE,
)
_QTY_END = re.compile(
    r"(?:^|(?<![\s,;:–—-])[\s,;:–—-]+|(?=\())(?:[x×]\s?(\d{1,6})|(\d{1,6})\s?[x×]|\(\s*[x×]?\s*(\d{1,6})\s*(?:[x×]|pcs?|copies)?\s*\)"
    r"|(?:qty|quantity|qnty)\.?\s*[:=]?\s*(\d{1,6})|(\d{1,6})\s*(?:pcs|pieces|copies|plates|badges|tags))[.!]?$",
    re.IGNORECASE,
)


def strip_decoration(text: str) -> str:
    """Emoji and other symbols at either end of a line are decoration, not part of a name."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or _is_symbol(text[start])):
        start += 1
    while end > start and (text[end - 1].isspace() or _is_symbol(text[end - 1])):
        end -= 1
    return text[start:end]


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk", "Cs", "Co", "Cn") or ch in "\u200d\ufe0f\u20e3"


# between the names of a list written in a sentence: 'Chloé, Kai, Priya and Tom', 'José y Carmen',
# 'Lars och Birgitta'
NAME_LIST_SEP = re.compile(
    r"\s*,\s*(?:(?:and|&|y|et|und|e|en|i|och|og)\s+)?|\s+(?:and|&|y|et|und|e|en|i|och|og)\s+"
)


def without_trailing_symbols(text: str, keep: str) -> str:
    """The text without the emoji and symbols after its last word ('Go Wildcats! 🐾' → 'Go Wildcats!');
    letters, digits and the characters in `keep` end it."""
    end = len(text)
    while end and not (text[end - 1].isalnum() or text[end - 1] in keep):
        end -= 1
    return text[:end].rstrip()


def strip_marker(line: str) -> tuple[str, str]:
    """('1.', 'Maria Gonzalez') for a numbered or bulleted line; ('', line) otherwise."""
    m = NUMBERED.match(line) or BULLET.match(line)
    if not m:
        return "", line
    rest = line[m.end() :].strip()
    if not rest:
        return "", line
    return m.group(0).strip(), rest


def take_quantity(text: str) -> tuple[str | None, str]:
    """Pull a quantity ("2x", "3 x", "x2", "qty 3", "(2)", "2 pcs") off either end of a segment."""
    m = _QTY_START.match(text)
    if m and m.end() < len(text):
        return next(g for g in m.groups() if g), text[m.end() :].strip()
    m = _QTY_END.search(text)
    if m and m.start() > 0:
        return next(g for g in m.groups() if g), text[: m.start()].strip()
    return None, text


_QTY_ONLY = re.compile(
    r"^(?:(?:qty|quantity|qnty)\.?\s*[:=]?\s*(\d{1,6})|(\d{1,6})\s?[x×]|[x×]\s?(\d{1,6})"
    r"|(\d{1,6})\s*(?:pcs\.?|pieces|copies|szt\.?|sztuki|stk\.?|stuks?|stück|uds\.?|unid\.?|pz\.?|ks\.?)"
    # '2 glasses', '3 mugs please': a small count of a piece named in lower case (not '25 years')
    r"|(\d{1,2})\s+(?!(?:years|yrs|months|days|weeks|hours|minutes|mins|points|pts|goals|runs|laps|miles"
    r"|seasons|games|matches|wins|caps|kids|children|members|players|people)\b)[a-zà-ÿ]{3,}s(?:\s+please)?)$",
    re.IGNORECASE,
)


def quantity_only(text: str) -> str | None:
    """'qty 2', '3x', 'x2', '2 pcs' on their own."""
    m = _QTY_ONLY.match(text.strip())
    return next(g for g in m.groups() if g) if m else None


def digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


_YEARS = re.compile(
    r"^(?:\d{1,2}[/.-]\d{1,2}[/.-])?(?:1[89]|20)\d{2}"
    r"(?:\s*[-–—/]\s*(?:\d{1,2}[/.-]\d{1,2}[/.-])?(?:1[89]|20)?\d{2})?$"
)


def is_phone(text: str) -> bool:
    text = text.strip()
    return bool(PHONE_ONLY.match(text)) and 7 <= digits(text) <= 15 and not _YEARS.match(text)


def is_contact_only(text: str) -> bool:
    """A line holding only a phone number, email, web address (with labels like 'Tel:')."""
    if is_phone(text):
        return True
    if not (EMAIL_IN.search(text) or URL_IN.search(text)):
        return False
    rest = CONTACT_LABEL.sub(" ", URL_IN.sub(" ", EMAIL_IN.sub(" ", text)))
    rest = re.sub(r"[|•·,;/<>()\[\]\s]+", " ", rest).strip()
    return not rest or is_phone(rest)


def is_greeting(text: str) -> bool:
    return bool(GREETING.match(text)) and len(text.split()) <= 6


def is_signoff(text: str) -> bool:
    if SHORT_SIGNOFF.match(text):
        return True
    m = SIGNOFF.match(text)
    if not m:
        return False
    name = re.sub(r"\s*\([^)]*\)$", "", m.group("name").strip()).rstrip("!.")  # 'Thanks, Jo (club secretary)'
    return not name or (len(name.split()) <= 3 and check_name(name).ok)


_HEADING_WORDS = frozenset(
    {"list", "names", "name", "plates", "badges", "tags", "order", "roster", "staff", "players", "attendees"}
    | {
        "trophies",
        "plaques",
        "winners",
        "awards",
        "speakers",
        "team",
        "members",
        "brass",
        "engraving",
        "final",
    }
)


def is_heading(text: str) -> bool:
    """'Names', 'Staff list', 'BRASS PLATES:', 'Name Title Company' — a label over the list, not an item."""
    ws = words(text.strip().rstrip(":"))
    if not ws or len(ws) > 4:
        return False
    return all(w in _HEADING_WORDS or is_header_cell(w) for w in ws)


def stop_count(text: str) -> int:
    from .lexicon import STOPWORDS

    return sum(1 for w in words(text) if w in STOPWORDS)


def split_outside(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside quotes and brackets."""
    parts: list[str] = []
    depth = 0
    quote = ""
    buf: list[str] = []
    for i, ch in enumerate(text):
        if quote:
            if ch == quote or (quote == "“" and ch == "”"):
                quote = ""
        elif ch in '"“':
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif ch == "," == sep and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            pass  # '12,5 jaar', '1,000': a comma inside a number
        elif ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts]
