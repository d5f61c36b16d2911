"""The plan catalog as the previous start-up parsed it: `load` returns `catalog.load_catalog(paths)`
from the disk cache (db/diskcache.py) when nothing it depends on has changed.

The key covers the plan and place files (paths and bytes), the source of every module that reads
or defines the catalog (a changed rule or class means a new key), and the Python and OpenCC
versions (place names are normalised with OpenCC). A miss loads the YAML as before and stores the
result; a catalog with problems raises CatalogError as before and is not stored. Reading it back
skips YAML parsing, validation and name normalisation (about 40 ms of `hzwatch match`'s start-up).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import opencc

import db.text
from db import diskcache
from monitor.matching import catalog as catalog_module
from monitor.matching import checks, settings
from monitor.matching.catalog import PLACES_FILE, Catalog, load_catalog, plan_files

_NAME = "catalog.pickle"
# Modules whose code decides what a loaded catalog holds.
_CODE = [catalog_module, checks, settings, db.text]


def _key(files: list[Path]) -> str:
    digest = hashlib.sha256(f"{sys.version} opencc {getattr(opencc, '__version__', '?')}".encode())
    for path in [PLACES_FILE, *files, *(Path(m.__file__) for m in _CODE)]:
        digest.update(f"{path}\0{path.resolve()}\0".encode())  # as given (kept in Catalog.files) and where
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "catalog 1 " + digest.hexdigest()


def load(paths: list[str | Path] | None = None) -> Catalog:
    """`load_catalog(paths)`, read back from the disk cache when its inputs are unchanged."""
    files = [Path(p) for p in paths] if paths else plan_files()
    try:
        key = _key(files)
    except OSError:  # a file that cannot be read: let load_catalog report it
        return load_catalog(paths)
    data = diskcache.read_bytes(_NAME, key)
    if data is not None:
        try:
            cached = pickle.loads(data)
        except Exception:  # any damage the hash missed: parse the files instead
            cached = None
        if isinstance(cached, Catalog):
            return cached
    fresh = load_catalog(paths)
    diskcache.write_bytes(_NAME, key, pickle.dumps(fresh, protocol=pickle.HIGHEST_PROTOCOL))
    return fresh
