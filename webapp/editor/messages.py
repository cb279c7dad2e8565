"""The flow editor's own texts, translated by the same Babel catalog as the rest of the UI.

The bundle declares its msgids once, in `ui/src/i18n.js`, each marked with `_()`. `pybabel extract` takes
them from there (see babel.cfg) into messages.pot, so they are translated in messages.po like any other
text. The editor page hands the bundle their translations (`data-messages`). Node labels and field texts
are not among them: `GET /api/node-types` translates those."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract_from_file
from flask_babel import get_translations

SOURCE = Path(__file__).resolve().parent / "ui" / "src" / "i18n.js"


@lru_cache(maxsize=1)
def _read(path: str, _mtime: float) -> tuple[str, ...]:
    found = (msgid for _line, msgid, _comments, _context in extract_from_file("javascript", path))
    return tuple(dict.fromkeys(m for m in found if isinstance(m, str) and m))


def msgids() -> tuple[str, ...]:
    """The editor's msgids, read with Babel's JavaScript extractor (the one `pybabel extract` runs), so this
    list and the catalog's are the same. Read again when the file changes (a dev server keeps running)."""
    return _read(str(SOURCE), SOURCE.stat().st_mtime)


def translations() -> dict[str, str]:
    """{msgid: text} in the request's language. Texts that read as their msgid (English) are left out: the
    bundle shows the msgid itself."""
    catalog = get_translations()
    return {m: text for m in msgids() if (text := catalog.gettext(m)) != m}
