"""Uploaded files are parsed in a separate, limited process.

A hostile workbook or text file can ask for gigabytes of memory or minutes of CPU. The parse of an
uploaded file therefore runs in a child Python process with an address-space limit, a CPU-time
limit and a wall-clock timeout; the child sends its result back as JSON. When the child runs out
of memory or time, the shop gets one sentence and the app carries on.

Run as a worker (`python -I -c ...`, see `_command`) it reads the file's bytes from stdin, the file
name and limits from argv, and prints one JSON object.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .model import ParsedItem, ParseError, ParseResult, SkippedLine

log = logging.getLogger(__name__)

MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
"""Address space of the parsing process."""
CPU_LIMIT_SECONDS = 20
WALL_LIMIT_SECONDS = 30.0
MAX_TEXT_FILE_BYTES = 1024 * 1024
"""A text (non-table) upload; pasted text is capped at 200,000 characters anyway."""
TOO_BIG = "This file needs more memory than an order may use; export the used range or paste the rows."
TOO_SLOW = "This file takes too long to read; export the used range or paste the rows."
_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Upload:
    """What the parsing process made of an uploaded file: a parsed table, or text to parse."""

    result: ParseResult | None = None
    text: str | None = None
    encoding: str = ""


def parse_upload(
    data: bytes,
    filename: str,
    *,
    memory_limit: int = MEMORY_LIMIT_BYTES,
    cpu_limit: int = CPU_LIMIT_SECONDS,
    timeout: float = WALL_LIMIT_SECONDS,
) -> Upload:
    """Read an uploaded file in the limited process; ParseError with a sentence when it cannot be.

    Tables (.csv, .tsv, .xlsx) come back parsed by the rule-based table reader; text files come
    back as their decoded text, for the engine to parse like a paste.
    """
    from .files import check_upload

    check_upload(data, filename)  # cheap, and keeps oversized bytes out of the pipe
    try:
        proc = subprocess.run(
            _command(filename, memory_limit, cpu_limit),
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=_ROOT,
        )
    except subprocess.TimeoutExpired:
        log.warning("parsing %r took longer than %.0f s; stopped", filename, timeout)
        raise ParseError(TOO_SLOW) from None
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    if proc.returncode != 0 or not isinstance(answer, dict):
        tail = proc.stderr.decode("utf-8", "replace")[-2000:]
        log.warning("parsing %r ended with exit code %s: %s", filename, proc.returncode, tail)
        if proc.returncode in (-9, -24, 137, 152) or "MemoryError" in tail:  # SIGKILL, SIGXCPU
            raise ParseError(TOO_SLOW if proc.returncode in (-24, 152) else TOO_BIG)
        raise ParseError(TOO_BIG if "MemoryError" in tail else "The file could not be read; save it again.")
    if "error" in answer:
        if proc.stderr:  # a reader library failed: keep its traceback for the operator
            log.warning("parsing %r failed: %s", filename, proc.stderr.decode("utf-8", "replace")[-2000:])
        raise ParseError(str(answer["error"]))
    if "text" in answer:
        return Upload(text=answer["text"], encoding=answer["encoding"])
    return Upload(result=result_from_json(answer["result"]))


def result_to_json(result: ParseResult) -> dict[str, Any]:
    """All of a ParseResult as JSON (the worker's answer), unlike the shorter `to_json()`."""
    return asdict(result)


def result_from_json(data: dict[str, Any]) -> ParseResult:
    return ParseResult(
        items=[ParsedItem(**item) for item in data["items"]],
        skipped=[SkippedLine(**s) for s in data["skipped"]],
        engine=data["engine"],
        engine_note=data["engine_note"],
        columns=list(data["columns"]),
        name_column=data["name_column"],
        notes=list(data["notes"]),
    )


def _command(filename: str, memory_limit: int, cpu_limit: int) -> list[str]:
    boot = (
        f"import sys; sys.path.insert(0, {_ROOT!r}); from pipeline.intake.parsing.sandbox import main; main()"
    )
    return [sys.executable, "-I", "-c", boot, filename, str(memory_limit), str(cpu_limit)]


def _limit(memory_limit: int, cpu_limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit + 2))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # the parser writes no files
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _work(data: bytes, filename: str) -> dict[str, Any]:
    from .files import is_table_upload, parse_file, read_text_file
    from .rules import check_text

    if is_table_upload(data, filename):
        return {"result": result_to_json(parse_file(data, filename))}
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise ParseError(
            f"The text file is {len(data) / 1_048_576:.1f} MB; the limit for text is "
            f"{MAX_TEXT_FILE_BYTES // 1_048_576} MB. Upload a long list as a CSV or XLSX file."
        )
    decoded = read_text_file(data, filename)
    check_text(decoded.text)
    return {"text": decoded.text, "encoding": decoded.encoding}


def main() -> None:
    """The worker: bytes on stdin; file name, memory and CPU limits in argv; one JSON object on stdout."""
    filename, memory_limit, cpu_limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from . import files, workbook  # noqa: F401 - imported before the limits, which are for the file

    _limit(memory_limit, cpu_limit)
    data = sys.stdin.buffer.read()
    try:
        answer = _work(data, filename)
    except ParseError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": TOO_BIG}
    except Exception as exc:  # a reader library failing on a damaged file: a sentence, the rest in the log
        import traceback

        traceback.print_exc()
        # under the address-space limit, C libraries (zlib, libxml2) report failed allocations as their
        # own errors ("Out of memory while decompressing data", "Memory allocation failed", or zlib's
        # bare "Error -4", Z_MEM_ERROR)
        text = str(exc).lower()
        if any(word in text for word in ("memory", "alloc")) or "error -4 " in f"{text} ":
            answer = {"error": TOO_BIG}
        else:
            answer = {
                "error": f"The file could not be read ({type(exc).__name__}); save it again and re-upload it."
            }
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    sys.stdout.flush()
