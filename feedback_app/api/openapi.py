"""The OpenAPI document of API v1, kept beside the views it describes."""

from __future__ import annotations

from typing import Any

from ..qrcodes.services import public_base_url

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
                 "description": "Counters and SIPAS satisfaction figures."},
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
        },
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "responses": {"Problem": {"description": "Error", "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Factor": factor,
                "Result": result,
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
