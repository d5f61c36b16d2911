"""Matching: the plan catalog (YAML in `monitor/plans/`), the text normaliser, the matcher and
the progress-figure reader, and the scorer that evaluates them on labelled articles.

Enters: plan YAML files and articles (`db.records.Article`). Leaves: a `Catalog` and, per
article, a `MatchResult` (items, targets, evidence, figures). Pure functions of their inputs:
nothing here reads or writes the database.
"""
