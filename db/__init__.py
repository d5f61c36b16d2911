"""Storage layer: the only package that writes SQL.

`connect()` opens (and migrates) the SQLite database used by every stage.
"""
from db.connection import connect, default_db_path, DatabaseError

__all__ = ["connect", "default_db_path", "DatabaseError"]
