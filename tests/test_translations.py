"""Every text marked for translation has its English version (Vietnamese is the source)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from wtforms.i18n import messages_path

ROOT = Path(__file__).resolve().parent.parent


def test_every_marked_text_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",  # noqa: S603
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as fh:
        wanted = [m for m in read_po(fh) if m.id]
    assert len(wanted) > 100  # the extraction found the app's texts
    with open(ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        english = read_po(fh)
    missing = [f"{m.id!r} ({m.locations[0][0]})" for m in wanted if not _translated(english.get(m.id))]
    assert not missing, "no English for:\n" + "\n".join(missing)


def _translated(message) -> bool:
    """Whether a catalogue entry has a translation: every form of a plural one."""
    if message is None:
        return False
    return all(message.string) if isinstance(message.string, tuple) else bool(message.string)


def test_every_wtforms_message_has_vietnamese():
    """WTForms ships no Vietnamese; ours must cover every message of the installed version (see form_messages)."""
    with open(Path(messages_path()) / "wtforms.pot", "rb") as fh:
        wanted = [m for m in read_po(fh) if m.id]
    with open(ROOT / "translations" / "vi" / "LC_MESSAGES" / "wtforms.po", "rb") as fh:
        vietnamese = read_po(fh)
    missing = [repr(m.id) for m in wanted if not _translated(vietnamese.get(m.id))]
    assert not missing, "no Vietnamese for WTForms' messages:\n" + "\n".join(missing)
