"""WTForms' own messages ("Not a valid choice.", "Not a valid integer value."…) in the reader's language.

WTForms ships no Vietnamese catalogue, and Flask-WTF's WTF_I18N_ENABLED only loads the catalogues inside the
WTForms package, so a Vietnamese user would read English. Forms built on TranslatedForm read those messages
from our own `wtforms` domain instead: translations/vi/LC_MESSAGES/wtforms.po, whose msgids are WTForms'
English texts (English needs no catalogue). A test checks that it covers every message of the installed WTForms.
"""

from __future__ import annotations

from typing import Any

from flask_babel import Domain
from flask_wtf import FlaskForm

WTFORMS_DOMAIN = Domain(domain="wtforms")  # in the app's translation directories, cached per locale


class _WTFormsTranslations:
    """The gettext/ngettext pair WTForms asks its Meta for; WTForms fills in %(min)d and the like itself
    (Flask-Babel's own ngettext would format too early and fail on them)."""

    def gettext(self, string: str) -> str:
        return WTFORMS_DOMAIN.get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return WTFORMS_DOMAIN.get_translations().ungettext(singular, plural, n)


_TRANSLATIONS = _WTFormsTranslations()


class TranslatedForm(FlaskForm):
    """A FlaskForm whose built-in WTForms messages follow the request's locale."""

    class Meta:
        def get_translations(self, form: Any) -> _WTFormsTranslations:
            return _TRANSLATIONS
