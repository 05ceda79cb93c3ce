"""How cells are written: DESIGN.md fixes lists, times and nulls per format."""

import csv
import io
import json

import pandas as pd

from pcaptls.report.table import Table, iso


def sample() -> Table:
    t = Table("messages")
    t.rows.append({"conn_id": 1, "frame": 4, "time": 1_357_328_848_549_370_123, "sender": "client",
                   "record_version": "TLS 1.0", "type": "ClientHello", "detail": "a|b"})
    t.rows.append({"conn_id": 1, "frame": 5, "time": None, "sender": "server",
                   "record_version": "TLS 1.2", "type": "ServerHello", "detail": ""})
    return t


def test_iso_time_is_utc_with_microseconds() -> None:
    # 1357328848 = 2013-01-04T19:47:28Z (date -u -d @1357328848)
    assert iso(1_357_328_848_549_370_123) == "2013-01-04T19:47:28.549370Z"


def test_csv_has_the_design_columns_and_empty_nulls() -> None:
    rows = list(csv.reader(io.StringIO(sample().to_csv())))
    assert rows[0] == ["conn_id", "frame", "time", "sender", "record_version", "type", "detail"]
    assert rows[2][2] == ""


def test_list_cells_join_with_bar_in_csv_and_stay_lists_in_json() -> None:
    t = Table("sip")
    t.rows.append({"conn_id": 1, "frame": 9, "record_route": ["<sip:a;lr>", "<sip:b;lr>"]})
    assert "<sip:a;lr>|<sip:b;lr>" in t.to_csv()
    assert json.loads(t.to_json())[0]["record_route"] == ["<sip:a;lr>", "<sip:b;lr>"]


def test_dataframe_types() -> None:
    df = sample().to_dataframe()
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["time"].iloc[0] == pd.Timestamp("2013-01-04T19:47:28.549370123Z")
    assert pd.isna(df["time"].iloc[1])
    assert df["frame"].tolist() == [4, 5]


def test_markdown_cells_escape_bars() -> None:
    md = sample().to_markdown(["frame", "detail"])
    assert "| 4 | a\\|b |" in md
