"""Error pages for people and problem+json for the API; bad input never becomes a 500."""

from __future__ import annotations

import traceback
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: _l("Yêu cầu không hợp lệ. Vui lòng kiểm tra lại thông tin đã nhập."),
    401: _l("Vui lòng đăng nhập để tiếp tục."),
    403: _l("Tài khoản của bạn không có quyền xem trang này."),
    404: _l("Không tìm thấy trang hoặc mục bạn yêu cầu. Vui lòng kiểm tra lại đường dẫn."),
    405: _l("Thao tác này không được hỗ trợ tại địa chỉ này."),
    409: _l("Nội dung này đã được ghi nhận trước đó."),
    413: _l("Nội dung gửi lên quá lớn."),
    429: _l("Bạn đã gửi quá nhiều lần trong thời gian ngắn. Vui lòng chờ một lát rồi thử lại."),
    500: _l("Hệ thống gặp sự cố. Ý kiến của bạn chưa bị mất; vui lòng thử lại sau ít phút."),
}


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> Any:
    """An RFC 9457 problem document (extra: members of the problem type, e.g. the kiosk's "kept")."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, **(extra or {})}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [{"field": k, "message": str(v)} for k, v in errors.items()]
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def wants_json() -> bool:
    # A JSON request (the kiosk's submit) gets a JSON answer whatever its Accept header says.
    return request.path.startswith("/api/") or request.is_json or request.accept_mimetypes.best == "application/json"


def _sent_values() -> list[str]:
    """The text the visitor sent (query, form, JSON strings), longest first."""
    values = list(request.args.values())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += request.form.values()
    try:
        stack = [request.get_json(silent=True)]
    except Exception:  # noqa: BLE001 - a body that does not parse holds nothing to scrub
        stack = []
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            values.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    # Short values ("5", "vi") are answers and codes, and would blank out the traceback's own words.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def log_unexpected(app: Flask, error: Exception) -> None:
    """Log a 500 with its traceback, but never what people typed: exception texts often quote it."""
    text = "".join(traceback.format_exception(error))
    for value in _sent_values():
        text = text.replace(value, "[…]")
    # %r: a path is what the client sent; decoded line breaks in it must not forge log lines.
    app.logger.error("unhandled error on %s %r (%s)\n%s", request.method, request.path, request.endpoint, text)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        message = _("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và gửi lại.")
        if wants_json():
            return problem(400, "CSRF", message)
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        # Our own abort(..., description=...) says what to fix; Werkzeug's defaults are English and generic.
        custom = error.description if error.description != type(error).description and code != 429 else None
        message = str(custom or MESSAGES.get(code, error.description or ""))
        if wants_json():
            return problem(code, error.name, message, getattr(error, "errors", None))
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        db.session.rollback()
        log_unexpected(app, error)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        if wants_json():
            return problem(500, "Internal Server Error", str(MESSAGES[500]))
        return render_template("errors/error.html", code=500, message=str(MESSAGES[500])), 500
