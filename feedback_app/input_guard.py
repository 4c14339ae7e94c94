"""Refuse, with a 400 that says why, text no database stores: NUL, lone surrogates, JSON nested too deep."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

# PostgreSQL refuses NUL in text; no UTF-8 encoder accepts a lone surrogate (JSON's "\ud800" makes one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_JSON_DEPTH = 32  # the kiosk sends 3 levels; nothing we read needs more


class InputRefused(BadRequest):
    """A 400 whose description says what to fix; errors names the fields (problem+json lists them)."""

    def __init__(self, description: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.errors = errors


def _printable(name: str) -> str:
    """A field name that can be shown and encoded, whatever it held."""
    return _UNSTORABLE.sub("\ufffd", name)


def refuse_unstorable_input() -> None:
    """before_request: NUL or a lone surrogate in the path, the query or a form field is a 400."""
    if _UNSTORABLE.search(request.path):
        raise InputRefused(_("Địa chỉ trang chứa ký tự không hợp lệ (ký tự NUL hoặc ký tự Unicode lỗi). "
                             "Vui lòng kiểm tra lại đường dẫn."))
    for key, value in request.args.items(multi=True):
        if _UNSTORABLE.search(key) or _UNSTORABLE.search(value):
            message = _("Tham số “%(name)s” trong địa chỉ chứa ký tự không hợp lệ (ký tự NUL hoặc ký tự Unicode "
                        "lỗi). Vui lòng kiểm tra lại đường dẫn.", name=_printable(key))
            raise InputRefused(message, {_printable(key): message})
    # Only form bodies are read here: a JSON body is checked when it is parsed (GuardedJSONProvider).
    if request.mimetype in FORM_MIMETYPES:
        for key, value in request.form.items(multi=True):
            if _UNSTORABLE.search(key) or _UNSTORABLE.search(value):
                message = _("Mục “%(name)s” chứa ký tự không hợp lệ (ký tự NUL hoặc ký tự Unicode lỗi). "
                            "Vui lòng xóa ký tự đó rồi gửi lại.", name=_printable(key))
                raise InputRefused(message, {_printable(key): message})


def _first_problem(data: Any) -> tuple[str, str] | None:
    """(what, where) of the first lone surrogate or too-deep nesting, walked without recursion.
    NUL inside JSON text is left to the views, which name the field (comments refuse control characters)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return "surrogate", path
            continue
        if not isinstance(value, dict | list):
            continue
        if depth + 1 > MAX_JSON_DEPTH:
            return "depth", path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return "surrogate", where
            stack.append((item, depth + 1, where))
    return None


def _too_deep() -> str:
    return _("Dữ liệu JSON lồng nhau quá sâu (tối đa %(depth)d cấp).", depth=MAX_JSON_DEPTH)


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing lone surrogates and nesting deeper than MAX_JSON_DEPTH with a 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise InputRefused(_too_deep()) from None
        found = _first_problem(data)
        if found is None:
            return data
        what, where = found
        if what == "depth":
            raise InputRefused(_too_deep())
        message = _("Dữ liệu JSON chứa ký tự Unicode không hợp lệ (nửa cặp thay thế như \\ud800). "
                    "Vui lòng gửi văn bản UTF-8 hợp lệ.")
        raise InputRefused(message, {_printable(where): message})


def register_input_guard(app: Flask) -> None:
    """Bind the JSON provider and the request check; the check runs before every other request hook."""
    app.json = GuardedJSONProvider(app)
    app.before_request(refuse_unstorable_input)
