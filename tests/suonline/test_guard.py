"""The last line of defence against resident ID numbers in clear."""

import random

import pyarrow as pa
import pyarrow.parquet as pq

from portal.suonline.guard import id_number_columns, is_resident_id

from .conftest import resident_id


def test_is_resident_id():
    assert is_resident_id("11010519491231002X") and is_resident_id("11010519491231002x")
    assert not is_resident_id("110105194912310021")      # wrong check character
    assert not is_resident_id("110105194913310024")      # month 13
    assert not is_resident_id("11010519491231002")       # 17 characters
    assert not is_resident_id("110105********002X")      # masked
    assert not is_resident_id("91320508MA1XYZ1234")      # a credit code


def test_columns_with_clear_ids_are_found(tmp_path):
    rng = random.Random(7)
    ids = [resident_id(rng, "320508") for _ in range(5)]
    numeric = [i for i in (resident_id(rng, "320583") for _ in range(50)) if i[-1] != "X"][:2]
    table = pa.table({
        "clear": [ids[0], None, ids[1], "", "x"],
        "in_text": ["无", "无", f"监护人：{ids[2]}，电话 0512-66668888", None, None],
        "as_integer": pa.array([int(numeric[0]), None, int(numeric[1]), None, None], pa.int64()),
        "masked": [i[:6] + "********" + i[-4:] for i in ids],
        "pseudonym": ["a9" + i[:16] for i in ids],
        "credit_code": ["91320508MA1XYZ123" + str(n) for n in range(5)],
        "inside_longer_number": ["9" + i[:-1] + "99" for i in ids],
        "wrong_check": [i[:-1] + ("0" if i[-1] != "0" else "1") for i in ids],
    })
    path = tmp_path / "slice.parquet"
    pq.write_table(table, path)
    assert id_number_columns((str(path),)) == ("clear", "in_text", "as_integer")


def test_no_files_no_columns(tmp_path):
    assert id_number_columns(()) == ()
    assert id_number_columns((str(tmp_path / "missing.parquet"),)) == ()
