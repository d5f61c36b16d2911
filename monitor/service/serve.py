"""Serving the database with Datasette: the argv to start it, and the metadata it is given.

Presentation lives in `datasette/` (metadata.yml, templates, plugins); this module only points
Datasette at it. The database block in metadata.yml is keyed `hzwatch`; Datasette names a
database after its file, so for any other file name a renamed copy of the metadata is written.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DATASETTE_DIR = REPO / "datasette"
METADATA = DATASETTE_DIR / "metadata.yml"
TEMPLATES = DATASETTE_DIR / "templates"
PLUGINS = DATASETTE_DIR / "plugins"
METADATA_DB_NAME = "hzwatch"

# Read-only serving limits: a slow query is cut off rather than tying up the server.
SETTINGS = {
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    "max_returned_rows": 2000,
    "default_page_size": 50,
    "allow_download": "off",
}


class ServeError(Exception):
    """The site cannot be served as asked (missing database, bad metadata)."""


def database_name(db_path: str | os.PathLike) -> str:
    """The name Datasette gives a database file (its stem)."""
    return Path(db_path).stem


def load_metadata(db_name: str = METADATA_DB_NAME) -> dict:
    """metadata.yml with its database block (and the dashboards' `db`) renamed to `db_name`."""
    try:
        metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ServeError(f"cannot read {METADATA}: {exc}") from exc
    if db_name == METADATA_DB_NAME:
        return metadata
    databases = metadata.get("databases") or {}
    if METADATA_DB_NAME in databases:
        databases[db_name] = databases.pop(METADATA_DB_NAME)
    dashboards = (metadata.get("plugins") or {}).get("datasette-dashboards") or {}
    for dashboard in dashboards.values():
        for part in list((dashboard.get("charts") or {}).values()) + list((dashboard.get("filters") or {}).values()):
            if part.get("db") == METADATA_DB_NAME:
                part["db"] = db_name
    return metadata


def metadata_path(db_path: str | os.PathLike) -> Path:
    """The metadata file to give Datasette for this database file."""
    name = database_name(db_path)
    if name == METADATA_DB_NAME:
        return METADATA
    out_dir = Path(tempfile.gettempdir()) / "hzwatch-datasette"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"metadata-{name}.json"
    out.write_text(json.dumps(load_metadata(name), ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def datasette_argv(
    db_path: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 8001,
    allow_sql: bool = False,
    immutable: bool = False,
) -> list[str]:
    """The command line that starts Datasette on `db_path` with hzwatch's presentation.

    host/port: where to listen (port 0 picks a free port; Datasette prints it).
    allow_sql: let visitors run arbitrary read-only SQL (dashboards work either way).
    immutable: serve a snapshot that will not change (enables downloads and caching).
    """
    db_path = Path(db_path)
    argv = [sys.executable, "-m", "datasette", "serve"]
    argv += ["--immutable", str(db_path)] if immutable else [str(db_path)]
    argv += [
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        str(metadata_path(db_path)),
        "--template-dir",
        str(TEMPLATES),
        "--plugins-dir",
        str(PLUGINS),
    ]
    settings = dict(SETTINGS, default_allow_sql="on" if allow_sql else "off")
    if immutable:
        settings["allow_download"] = "on"
    for key, value in settings.items():
        argv += ["--setting", key, str(value)]
    return argv


def datasette_env() -> dict[str, str]:
    """Environment for the Datasette subprocess: the repository importable for the plugins."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [env.get("PYTHONPATH", ""), str(REPO)] if p)
    return env
