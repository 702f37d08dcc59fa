"""The OpenAPI 3 document, generated from the declared endpoints and their models."""

import re

from flask import url_for

from mobilize.accounts.login import TOKEN_HEADER
from mobilize.api.core import MEDIA_TYPE, OPERATIONS

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["code", "message"],
        }
    },
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def replace(match):
        converter, name = match.group(1), match.group(2)
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    path = re.sub(r"<(?:(\w+):)?(\w+)>", replace, rule)
    return "/api/v1" + path.rstrip("/") if path != "/" else "/api/v1/", params


def document() -> dict:
    paths: dict = {}
    schemas: dict = {"Error": ERROR_SCHEMA}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
                   for n, d in op.query.items()]
        for method in op.methods:
            operation = {
                "summary": op.summary,
                "tags": [op.tag] if op.tag else [],
                "parameters": params,
                "responses": {
                    "200": {"description": "OK", "content": {MEDIA_TYPE: {"schema": {"type": "object"}}}},
                    "4XX": {"description": "Error",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
            if op.auth == "required":
                operation["security"] = [{"token": []}]
            if op.body is not None:
                schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[op.body.__name__] = schema
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Mobilize OSDI API", "version": "1.0"},
        "servers": [{"url": url_for("main.home", _external=True).rstrip("/")}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}},
        },
    }
