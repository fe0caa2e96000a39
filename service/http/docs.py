"""The API documentation page's assets, served by rolecall itself, never from a CDN.

`/api/docs` is flask-smorest's Swagger UI page (its own template, which loads nothing
but the three files named by OPENAPI_SWAGGER_UI_URL and the document at
`/api/openapi.json`). The Swagger UI build comes from the `flask-swagger-ui` package,
which follows Swagger UI's releases and ships its `dist/` files (Apache-2.0, licence
beside them); this blueprint serves those files, so the page works without internet.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS_URL = "/api/docs/assets/"

blueprint = Blueprint(
    "api_docs_assets",
    __name__,
    static_folder=SWAGGER_UI_DIST,
    static_url_path="",
    url_prefix=ASSETS_URL.rstrip("/"),
)

# What the page needs: Swagger UI's own settings, with the online validator (a request to
# another origin for a badge) switched off, and the operations listed as the document does.
SWAGGER_UI_CONFIG: dict[str, object] = {
    "validatorUrl": None,
    "deepLinking": True,
    "displayOperationId": False,
    "docExpansion": "list",
    "tryItOutEnabled": False,
}
