"""Build cve-bin-tool's CVE database from a local NVD CVE API 2.0 document, with cve-bin-tool's
own code: NVD_Source.format_data_api2 parses the records and CVEDB.populate_db writes them, exactly
as its `--nvd api2` update does after downloading. Only the download is replaced, because this
machine (and CI) cannot reach the NVD.

    HOME=/tmp/x python bench/cbt_nvd_db.py SNAPSHOT.json

The database lands in $HOME/.cache/cve-bin-tool/cve.db, where `cve-bin-tool --offline` reads it.
"""

import json
import sqlite3
import sys
import time

from cve_bin_tool.cvedb import CVEDB
from cve_bin_tool.data_sources.nvd_source import NVD_Source


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = doc["vulnerabilities"]
    source = NVD_Source(nvd_type="api2")
    source.all_cve_entries = entries
    data = (source.format_data_api2(entries), source.source_name)
    db = CVEDB(sources=[source])
    db.cachedir.mkdir(parents=True, exist_ok=True)
    db.init_database()
    db.data = [data]
    db.populate_db()
    # `--offline` refuses a database without an exploits table row set; an empty one is what a
    # fresh install without the KEV download has.
    db.create_exploit_db()
    # The sqlite checker downloads sqlite.org's changelog when its cached version map is missing
    # or older than 30 days, at import time, even with --offline. An empty, fresh map keeps the
    # run offline; it only maps SQLITE_SOURCE_ID strings, and no corpus image carries SQLite.
    with sqlite3.connect(db.cachedir / "version_map.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS sqlite(version TEXT, sourceId TEXT PRIMARY KEY)")
        conn.execute("CREATE TABLE IF NOT EXISTS latest_update_sqlite (datestamp DATETIME PRIMARY KEY)")
        conn.execute("DELETE FROM latest_update_sqlite")
        conn.execute("INSERT INTO latest_update_sqlite VALUES (?)", (time.time(),))
    severity, affected = data[0]
    print(f"cve-bin-tool database {db.dbpath}: {len(severity)} CVEs, {len(affected)} ranges")


if __name__ == "__main__":
    main(sys.argv[1])
