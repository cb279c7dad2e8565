"""The FAQ as the engine reads it (`tenant.profile["faq"]` = `[{"q", "a"}]`) and its CSV form."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask_babel import gettext as _

from ..inputs import UNSTORABLE, char_name
from ..models import Tenant

MAX_ENTRIES = 1000
MAX_CSV_BYTES = 1_000_000
MAX_QUESTION, MAX_ANSWER = 1000, 4000


class CsvProblem(ValueError):
    """Why an uploaded CSV was refused; the FAQ is left as it was."""


def entries(tenant: Tenant) -> list[dict[str, str]]:
    raw = (tenant.profile or {}).get("faq") or []
    return [{"q": str(e.get("q") or ""), "a": str(e.get("a") or "")} for e in raw if isinstance(e, dict)]


def store(tenant: Tenant, faq: list[dict[str, str]]) -> None:
    tenant.profile = {**(tenant.profile or {}), "faq": faq}  # a new dict: JSON columns aren't tracked


def parse_csv(data: bytes) -> list[dict[str, str]]:
    """All rows or nothing: one bad row refuses the whole file, so an import never half-applies."""
    if len(data) > MAX_CSV_BYTES:
        raise CsvProblem(_("The file is too large (at most 1 MB)."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvProblem(_("The file is not UTF-8 text. Save it as “CSV UTF-8”.")) from None
    bad = UNSTORABLE.search(text)
    if bad:
        raise CsvProblem(_("Line %(line)d contains %(char)s, a character that cannot be stored (a NUL or an "
                           "unpaired surrogate): remove it and import again.",
                           line=text.count("\n", 0, bad.start()) + 1, char=char_name(bad.group())))
    try:
        dialect: Any = csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "question" not in header or "answer" not in header:
        raise CsvProblem(_("The first line must be the header: question,answer"))
    reader.fieldnames = header
    out: list[dict[str, str]] = []
    try:
        for line, row in enumerate(reader, start=2):
            q, a = (row.get("question") or "").strip(), (row.get("answer") or "").strip()
            if not q and not a:
                continue
            if not q or not a:
                raise CsvProblem(_("Line %(line)d: both a question and an answer are needed.", line=line))
            if len(q) > MAX_QUESTION or len(a) > MAX_ANSWER:
                raise CsvProblem(_("Line %(line)d is too long.", line=line))
            out.append({"q": q, "a": a})
    except csv.Error as exc:
        raise CsvProblem(_("The file is not valid CSV: %(error)s", error=str(exc))) from None
    if not out:
        raise CsvProblem(_("The file has no entries."))
    if len(out) > MAX_ENTRIES:
        raise CsvProblem(_("At most %(n)d FAQ entries.", n=MAX_ENTRIES))
    return out


def to_csv(faq: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["question", "answer"])
    writer.writerows([e["q"], e["a"]] for e in faq)
    return buffer.getvalue()
