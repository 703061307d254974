import pytest

from sudata.registry import RegistryError, load_registry


def test_bundled_registry_covers_departments_and_sources():
    registry = load_registry()
    assert len(registry) >= 12
    assert len({s.department.id for s in registry.values()}) >= 8
    for source in registry.values():
        assert set(source.primary_key) <= set(source.column_names)
        assert source.format in {"csv", "json", "xlsx"}
        assert len(set(source.headers)) == len(source.columns), f"{source.id}: duplicate delivered headers"


def test_pii_columns_are_graded_above_general():
    for source in load_registry().values():
        for col in source.columns:
            if col.pii:
                assert col.grade in {"important", "core"}, f"{source.id}.{col.name}"


def _write(tmp_path, text):
    (tmp_path / "dept.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_unknown_format_is_rejected(tmp_path):
    d = _write(tmp_path, """
department: {id: d, name: 部门}
sources:
  - {id: s, title: t, files: "*.txt", format: txt, primary_key: [a], columns: [{name: a, header: 甲}]}
""")
    with pytest.raises(RegistryError, match="format 'txt'"):
        load_registry(d)


def test_primary_key_must_be_a_declared_column(tmp_path):
    d = _write(tmp_path, """
department: {id: d, name: 部门}
sources:
  - {id: s, title: t, files: "*.csv", format: csv, primary_key: [b], columns: [{name: a, header: 甲}]}
""")
    with pytest.raises(RegistryError, match="primary key"):
        load_registry(d)


def test_grade_and_snake_case_are_enforced(tmp_path):
    d = _write(tmp_path, """
department: {id: d, name: 部门}
sources:
  - {id: s, title: t, files: "*.csv", format: csv, primary_key: [a], columns: [{name: a, header: 甲, grade: secret}]}
""")
    with pytest.raises(RegistryError, match="grade"):
        load_registry(d)
    d = _write(tmp_path, """
department: {id: d, name: 部门}
sources:
  - {id: s, title: t, files: "*.csv", format: csv, primary_key: [A], columns: [{name: A, header: 甲}]}
""")
    with pytest.raises(RegistryError, match="snake_case"):
        load_registry(d)
