"""Let the dashboard charts declared in metadata.yml run their SQL when arbitrary SQL is off.

datasette-dashboards fetches chart data from `/<db>.json?sql=…`, which needs the execute-sql
permission. Only the exact queries declared in the dashboards config are let through.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from datasette_dashboards import replace_opts_in_query, sql_opt_pattern, sql_var_pattern

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

DASHBOARD_ACTOR = "hzwatch-dashboard"


def declared_queries(datasette: Datasette) -> set[str]:
    """Every SQL text a declared chart can send, one per combination of its optional filters."""
    config = datasette.plugin_config("datasette-dashboards") or {}
    queries = set()
    for dashboard in config.values():
        for chart in (dashboard.get("charts") or {}).values():
            query = chart.get("query")
            if not query:
                continue
            names = sorted(
                {
                    sql_var_pattern.search(opt).group("var")
                    for opt in sql_opt_pattern.findall(query)
                    if sql_var_pattern.search(opt)
                }
            )
            for keep in itertools.product([False, True], repeat=len(names)):
                options = {n: "x" for n, k in zip(names, keep, strict=True) if k}
                queries.add(replace_opts_in_query(query, options))
    return queries


@hookimpl
def actor_from_request(datasette: Datasette, request: Request) -> dict | None:
    path = request.path
    if path.startswith("/-/dashboards"):
        return {"id": DASHBOARD_ACTOR, "display": "访客"}
    if path.endswith(".json") and "sql" in request.args:
        if request.args["sql"] in declared_queries(datasette):
            return {"id": DASHBOARD_ACTOR, "display": "访客"}
    return None


@hookimpl
def permission_allowed(actor: dict | None, action: str) -> bool | None:
    if action == "execute-sql" and actor and actor.get("id") == DASHBOARD_ACTOR:
        return True
    return None
