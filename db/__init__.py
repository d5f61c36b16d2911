"""Storage layer: the only package that writes SQL.

`connect()` opens (and migrates) the SQLite database used by every stage.
"""

from db.connection import DatabaseError, connect, default_db_path

__all__ = ["connect", "default_db_path", "DatabaseError"]
