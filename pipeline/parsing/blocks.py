"""Regions of a message that are read as a whole before its lines: the closing block (sign-off and
signature), multi-line blocks (name, then its second line, then a count), headings over groups.

Why here and not line by line: a line such as 'Teşekkürler,' or 'Diolch,' is a perfectly good
one-word name on its own; it is its place (the last block, a short line ending in a comma or '!',
then a name and perhaps a role) that says it closes the message. That shape holds in any language,
so it needs no list of sign-off words.
"""

from __future__ import annotations

import re

from .lexicon import check_name
from .lines import is_signoff, strip_marker

_CLOSING_END = re.compile(r"[,!]\s*$")
_DASH_NAME = re.compile(r"^[-–—~]\s*(?=\S)")


def is_closing_block(lines: list[str]) -> bool:
    """The message's last block: 'Teşekkürler,' / 'Osu!' / '… Thx!' then a name (and role lines).

    The first line is short and ends in ',' or '!' (or is a known sign-off); the next is a name,
    possibly written '- Morgan'; at most two more lines (role, organisation) follow.
    """
    if not 2 <= len(lines) <= 4:
        return False
    first, second = lines[0].strip(), lines[1].strip()
    if strip_marker(first)[0] or any(ch.isdigit() for ch in first):
        return False
    closes = is_signoff(first) or (_CLOSING_END.search(first) is not None and len(first.split()) <= 6)
    if not closes:
        return False
    name = _DASH_NAME.sub("", second)
    check = check_name(name)
    return check.ok and len(name.split()) <= 4
