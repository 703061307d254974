"""The keys of the rows a failing dbt test found, read from the test's stored failures.

Mart tests store their failures as views (dbt's ``store_failures``, set for marts in dbt_project.yml).
Row-level tests keep the whole failing row there, so the dataset's primary key names it; dbt's
``unique`` keeps the repeated value as ``unique_field`` and ``unique_combination_of_columns`` the
repeated combination itself. Only key values leave this module: never another column of the row.
"""

from typing import Mapping, Sequence

from sudata.quality.frames import quote_relation, relation_columns
from sudata.sql import quote_ident

SAMPLE_KEYS = 5


def failing_keys(con, relation: str, primary_key: Sequence[str], rule: Mapping | None = None,
                 limit: int = SAMPLE_KEYS) -> list[dict[str, str]]:
    """Up to ``limit`` keys ``{column: value}`` of the failing rows stored in ``relation`` (empty when the
    stored rows do not carry the key, e.g. accepted_values keeps only the offending value)."""
    if not primary_key:
        return []
    columns = {c.lower() for c in relation_columns(con, relation)}
    if all(k.lower() in columns for k in primary_key):
        selected = [(quote_ident(k), k) for k in primary_key]
    elif (len(primary_key) == 1 and "unique_field" in columns and rule
          and rule.get("test") == "unique" and list(rule.get("columns") or []) == list(primary_key)):
        selected = [("unique_field", primary_key[0])]
    else:
        return []
    select = ", ".join(f"cast({expr} as varchar)" for expr, _ in selected)
    order = ", ".join(str(i + 1) for i in range(len(selected)))
    rows = con.execute(f"select distinct {select} from {quote_relation(relation)} order by {order} limit {int(limit)}").fetchall()
    return [{name: ("" if v is None else v) for (_, name), v in zip(selected, row)} for row in rows]
