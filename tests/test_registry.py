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
    with pytest.raises(RegistryError, match="dept.yml: source 's', field 'format': 'txt' is not one of"):
        load_registry(d)


def test_primary_key_must_be_a_declared_column(tmp_path):
    d = _write(tmp_path, """
department: {id: d, name: 部门}
sources:
  - {id: s, title: t, files: "*.csv", format: csv, primary_key: [b], columns: [{name: a, header: 甲}]}
""")
    with pytest.raises(RegistryError, match=r"dept.yml: source 's', field 'primary_key': \['b'\] are not declared"):
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


SOURCE = """
department: {{id: d, name: 部门}}
sources:
  - id: s
    title: 场馆
    files: "*.csv"
    format: csv
    primary_key: [a]
    columns:
      - {{name: a, header: 甲, type: code, required: true}}
      - {{name: b, header: 乙, {column}}}
{publish}
"""
PUBLISH = """    publish:
      description: 说明
      domain: 文化旅游
      open_type: unconditional
      security_grade: general
      update_frequency: 每日
"""


@pytest.mark.parametrize("column, message", [
    ("type: colour", "column 'b', field 'type': 'colour' is not a declared type"),
    ("type: enum", "column 'b', field 'values': an enum needs values"),
    ("type: text, max: 3", "column 'b', field 'max': only numeric columns"),
    ("type: text, pii: passport", "column 'b', field 'pii': 'passport' not in"),
    ("type: code, references: elsewhere", "column 'b', field 'references': 'elsewhere' is not a registered source"),
    ("type: text, colour: red", r"column 'b': unknown field\(s\) \['colour'\]"),
])
def test_a_column_declaration_error_names_the_file_the_column_and_the_field(tmp_path, column, message):
    d = _write(tmp_path, SOURCE.format(column=column, publish=""))
    with pytest.raises(RegistryError, match="dept.yml: source 's', " + message):
        load_registry(d)


@pytest.mark.parametrize("change, message", [
    (("open_type: unconditional", "open_type: public"), "publish, field 'open_type': 'public' is not one of"),
    (("domain: 文化旅游", "domain: 体育"), "publish, field 'domain': '体育' is not one of"),
    (("update_frequency: 每日", "update_frequency: daily"), "publish, field 'update_frequency'"),
    (("      description: 说明\n", "      description: 说明\n      su_online: true\n"), "publish, field 'scope_column'"),
    (("      description: 说明\n", "      description: 说明\n      columns: [a, c]\n"), "publish, field 'columns': \\['c'\\]"),
    (("      description: 说明\n", "      description: 说明\n      licence: CC\n"), "publish: unknown field"),
])
def test_catalog_metadata_is_validated_with_the_file_and_the_field(tmp_path, change, message):
    d = _write(tmp_path, SOURCE.format(column="type: text", publish=PUBLISH.replace(*change)))
    with pytest.raises(RegistryError, match="dept.yml: source 's', " + message):
        load_registry(d)


def test_a_valid_publish_block_defaults_to_the_source(tmp_path):
    source = load_registry(_write(tmp_path, SOURCE.format(column="type: text", publish=PUBLISH)))["s"]
    meta = source.publish
    assert (meta.name, meta.title, meta.department, meta.primary_key) == ("s", "场馆", "d", ("a",))


def test_every_declared_column_has_a_type_of_the_vocabulary():
    from sudata.vocabulary import COLUMN_TYPES

    for source in load_registry().values():
        for col in (*source.columns, *source.rules):
            assert col.type in COLUMN_TYPES, f"{source.id}.{col.name}"
