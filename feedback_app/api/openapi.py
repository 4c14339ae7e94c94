"""The OpenAPI document of API v1, kept beside the views it describes."""

from __future__ import annotations

from typing import Any

from ..qrcodes.services import public_base_url
from .dossiers import dossier_paths

PROBLEM = {"$ref": "#/components/responses/Problem"}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for /api/v1."""
    date_param = {"schema": {"type": "string"}, "in": "query",
                  "description": "dd/mm/yyyy or yyyy-mm-dd, local date (Asia/Ho_Chi_Minh)"}
    factor = {
        "type": "object",
        "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "satisfied_pct": {"type": ["number", "null"], "description": "answers 4-5 / answers 1-5 × 100"},
            "satisfied": {"type": "integer"}, "answers": {"type": "integer"},
            "no_opinion": {"type": "integer"}, "denominator": {"type": "integer"},
            "responses": {"type": "integer"},
        },
    }
    result = {
        "type": "object",
        "properties": {
            "key": {"type": ["string", "null"]}, "label": {"type": "string"},
            "overall_pct": {"type": ["number", "null"]}, "responses": {"type": "integer"},
            "answers": {"type": "integer"},
            "factors": {"type": "array", "items": {"$ref": "#/components/schemas/Factor"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Feedback app API", "version": "1.0.0",
                 "description": "Counters, SIPAS satisfaction figures, the working-time calendar and the staff's "
                                "PAKN queue. Open311 GeoReport v2 clients file and follow PAKN at /open311/v2/."},
        "servers": [{"url": public_base_url()}],
        "paths": {
            "/api/v1/counters": {"get": {
                "summary": "Public list of counters with survey page and QR image URLs",
                "security": [],
                "responses": {"200": {"description": "Counters", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"counters": {"type": "array", "items": {
                        "$ref": "#/components/schemas/Counter"}}}}}}}},
            }},
            "/api/v1/sipas": {"get": {
                "summary": "Satisfaction per factor and the overall index (staff only)",
                "security": [{"session": []}],
                "parameters": [
                    {"name": "from", **date_param}, {"name": "to", **date_param},
                    {"name": "unit", "in": "query", "schema": {"type": "string"}, "description": "unit code or id"},
                    {"name": "counter", "in": "query", "schema": {"type": "string"},
                     "description": "counter code or id"},
                    {"name": "group_by", "in": "query", "schema": {"type": "string", "enum": [
                        "unit", "counter", "officer", "service", "channel", "month"]}},
                    {"name": "questionnaire", "in": "query", "schema": {"type": "string"},
                     "description": "questionnaire code, default SIPAS-2640"},
                    {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]},
                     "description": "language of the error messages; without it, the lang cookie, then "
                                    "Accept-Language, then Vietnamese"},
                ],
                "responses": {
                    "200": {"description": "Figures", "content": {"application/json": {"schema": {
                        "allOf": [{"$ref": "#/components/schemas/Result"}, {"type": "object", "properties": {
                            "from": {"type": "string", "format": "date"},
                            "to": {"type": "string", "format": "date"},
                            "groups": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}}]}}}},
                    "400": PROBLEM, "401": PROBLEM,
                },
            }},
            **calendar_paths(),
            **pakn_paths(),
            **dossier_paths(),
        },
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"},
                                "dossierKey": {"type": "http", "scheme": "bearer"}},
            "responses": {"Problem": {"description": "Error", "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Factor": factor,
                "Result": result,
                **CALENDAR_SCHEMAS,
                **PAKN_SCHEMAS,
                "Counter": {"type": "object", "properties": {k: {"type": "string"} for k in (
                    "code", "name", "kiosk_url", "qr_page_url", "qr_svg_url", "qr_png_url")}},
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "message": {"type": "string"}}}}}},
            },
        },
    }


LANG_PARAM = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]},
              "description": "language of holiday names and error messages (default Vietnamese)"}
CALENDAR_SCHEMAS = {
    "CalendarDay": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date"}, "date_local": {"type": "string", "description": "dd/mm/yyyy"},
        "weekday": {"type": "integer", "description": "1 = Monday … 7 = Sunday"},
        "name": {"type": "string", "description": "the holiday's name, or the legal basis of an entry"},
        "source": {"type": "string", "enum": ["package", "exception"],
                   "description": "package: the national calendar (holidays package); exception: an "
                                  "administrator's entry, which wins over the package"}}},
    "OfficeHours": {"type": "object", "properties": {
        "morning": {"type": "array", "items": {"type": "string"}, "description": "[start, end], HH:MM local"},
        "afternoon": {"type": "array", "items": {"type": "string"}}}},
}


def calendar_paths() -> dict[str, Any]:
    """The public calendar endpoints (rate-limited per address)."""
    days = {"type": "array", "items": {"$ref": "#/components/schemas/CalendarDay"}}
    return {
        "/api/v1/calendar/{year}": {"get": {
            "summary": "A year's days off and make-up working days, each with its name and source",
            "description": "Saturdays and Sundays are days off unless listed as make-up working days; they are "
                           "counted, not listed.",
            "security": [],
            "parameters": [{"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}},
                           LANG_PARAM],
            "responses": {
                "200": {"description": "The year", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "year": {"type": "integer"}, "working_days": {"type": "integer"},
                        "weekend": {"type": "object", "properties": {
                            "weekdays": {"type": "array", "items": {"type": "integer"}},
                            "days_off": {"type": "integer"}}},
                        "non_working_days": days, "make_up_working_days": days}}}}},
                "400": PROBLEM, "429": PROBLEM,
            },
        }},
        "/api/v1/calendar/deadline": {"get": {
            "summary": "The due instant after a number of working days or working hours",
            "description": "working_days: the day of `start` never counts, whatever the hour; day 1 is the next "
                           "working day; due at the close of office hours (end of the afternoon session) of the "
                           "n-th working day. working_hours: counted from `start` inside office sessions of "
                           "working days only. Local time is Asia/Ho_Chi_Minh.",
            "security": [],
            "parameters": [
                {"name": "start", "in": "query", "required": True, "schema": {"type": "string",
                                                                               "format": "date-time"},
                 "description": "ISO 8601 instant with its offset, e.g. 2026-02-13T18:00:00+07:00 (encode + as "
                                "%2B) or 2026-02-13T11:00:00Z"},
                {"name": "working_days", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                   "maximum": 1000}},
                {"name": "working_hours", "in": "query", "schema": {"type": "number", "minimum": 0,
                                                                    "maximum": 10000},
                 "description": "instead of working_days"},
                {"name": "unit", "in": "query", "schema": {"type": "string"},
                 "description": "unit code: that agency's office hours (else its nearest parent's, else the "
                                "default 07:00-11:30, 13:30-17:00)"},
                LANG_PARAM,
            ],
            "responses": {
                "200": {"description": "The deadline", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "start": {"type": "string", "format": "date-time", "description": "UTC"},
                        "start_local": {"type": "string", "description": "dd/mm/yyyy HH:MM"},
                        "working_days": {"type": "integer"}, "working_hours": {"type": "number"},
                        "unit": {"type": ["string", "null"]},
                        "office_hours": {"$ref": "#/components/schemas/OfficeHours"},
                        "due": {"type": "string", "format": "date-time", "description": "UTC"},
                        "due_local": {"type": "string", "description": "dd/mm/yyyy HH:MM"}}}}}},
                "400": PROBLEM, "429": PROBLEM,
            },
        }},
    }


STAMP = {"type": ["string", "null"], "format": "date-time", "description": "UTC"}
PAKN_SCHEMAS = {
    "PaknItem": {"type": "object", "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"},
        "kind": {"type": "string", "enum": ["phan_anh", "kien_nghi", "gop_y"]},
        "nature": {"type": "string", "enum": ["pakn", "khieu_nai", "to_cao"]},
        "channel": {"type": "string"}, "state": {"type": "string"}, "outcome": {"type": ["string", "null"]},
        "legal": {"type": "boolean"},
        "version": {"type": "integer", "description": "send it back with an action (optimistic locking)"},
        "unit": {"type": ["object", "null"], "properties": {
            "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}}},
        "received_at": STAMP, "due_at": {**STAMP, "description": "the deadline of the current step (UTC)"},
        "due_status": {"type": ["string", "null"], "enum": ["overdue", "due_soon", "on_time", None]},
        "working_days_left": {"type": ["integer", "null"], "description": "negative when overdue"},
        "sender": {"type": "object", "description": "only for roles that may see the sender (office, admin; a "
                                                    "unit when the office shared it)",
                   "properties": {k: {"type": ["string", "null"]} for k in ("name", "address", "phone", "email")}},
    }},
    "PaknDetail": {"allOf": [{"$ref": "#/components/schemas/PaknItem"}, {"type": "object", "properties": {
        **{k: {"type": ["string", "null"]} for k in (
            "title", "content", "dossier_code", "outcome_reason", "forwarded_to", "duplicate_of", "answer_text",
            "published_text", "published_answer")},
        "share_identity": {"type": "boolean"}, "classify_due_at": STAMP, "answer_due_at": STAMP,
        "attachments": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "filename": {"type": "string"}, "mime": {"type": "string"},
            "size": {"type": "integer"}}}},
        "events": {"type": "array", "items": {"type": "object", "properties": {
            "at": STAMP, "action": {"type": "string"}, "from_state": {"type": ["string", "null"]},
            "to_state": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]},
            "user": {"type": ["string", "null"]}}}},
    }}]},
}
PAKN_ACTIONS = ["classify", "assign", "draft", "approve", "return", "notify", "publish", "close", "extend",
                "duplicate", "withdraw", "share", "note", "erase"]


def pakn_paths() -> dict[str, Any]:
    """The staff's PAKN queue (session login; actions need the X-CSRFToken header)."""
    token = {"X-CSRFToken": {"description": "the CSRF token to send with the next POST",
                             "schema": {"type": "string"}}}
    detail = {"description": "The item", "headers": token, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/PaknDetail"}}}}
    item_id = {"name": "complaint_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    query = [{"name": n, "in": "query", "schema": s, "description": d} for n, s, d in (
        ("state", {"type": "string"}, "open (default), all, or a state"),
        ("unit", {"type": "integer"}, "unit id"), ("channel", {"type": "string"}, ""),
        ("kind", {"type": "string", "enum": ["phan_anh", "kien_nghi", "gop_y"]}, ""),
        ("due", {"type": "string", "enum": ["soon", "overdue"]}, ""),
        ("q", {"type": "string"}, "a code, or words of the content"),
        ("page", {"type": "integer", "minimum": 1}, "50 items a page"))]
    return {
        "/api/v1/pakn": {"get": {
            "summary": "The caller's PAKN queue, the most urgent first (staff of the queue's roles)",
            "security": [{"session": []}], "parameters": query,
            "responses": {
                "200": {"description": "A page of the queue", "headers": token, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/PaknItem"}},
                        "total": {"type": "integer"}, "page": {"type": "integer"},
                        "page_size": {"type": "integer"}, "pages": {"type": "integer"}}}}}},
                "400": PROBLEM, "401": PROBLEM, "403": PROBLEM,
            },
        }},
        "/api/v1/pakn/{complaint_id}": {"get": {
            "summary": "One item with its history (404 outside the caller's scope)",
            "security": [{"session": []}], "parameters": [item_id],
            "responses": {"200": detail, "401": PROBLEM, "403": PROBLEM, "404": PROBLEM},
        }},
        "/api/v1/pakn/{complaint_id}/{action}": {"post": {
            "summary": "One action on one item",
            "description": "JSON body: `version` (required except for note) and the action's fields — classify: "
                           "decision (handle, not_accepted, forwarded, referred), reason, forwarded_to; assign: "
                           "unit (id); draft: answer_text; return: reason; publish: published_text, "
                           "published_answer; extend: new_date (dd/mm/yyyy), reason; duplicate: main_code; "
                           "withdraw, erase: reason; share: share (boolean); note: note. The header X-CSRFToken "
                           "must carry the token of a GET answer.",
            "security": [{"session": []}],
            "parameters": [item_id, {"name": "action", "in": "path", "required": True,
                                     "schema": {"type": "string", "enum": PAKN_ACTIONS}},
                           {"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}},
                "additionalProperties": True}}}},
            "responses": {"200": detail, "400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "404": PROBLEM,
                          "409": {"description": "Stale version, or not allowed in the item's state",
                                  "content": {"application/problem+json": {"schema": {
                                      "$ref": "#/components/schemas/Problem"}}}}},
        }},
    }
