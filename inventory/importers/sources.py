"""Reading an RVTools export's tabs from an .xlsx workbook, a folder of CSV files or a zip of them.

Rules:
- An .xlsx is read with openpyxl in read-only mode, values only; a CSV export has one file per tab, named like
  `RVTools_tabvInfo.csv` (anything ending in `tab<Tab>.csv`), UTF-8 (a BOM is fine), comma- or semicolon-separated.
- Zips (an .xlsx is one too) are checked before anything is decompressed: no member may have an absolute path or
  a `..` component (path traversal), the declared sizes may not add up past `MAX_UNCOMPRESSED_BYTES`, and no large
  member may expand more than `MAX_COMPRESSION_RATIO` times (zip bombs). Python's zipfile never returns more than a
  member's declared size, so the declared sizes are the real bound.
- Only the tabs the importer uses are read. Every refusal is an `ExportUnreadable` naming the file or tab.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import openpyxl

from hybridcloud.core.units import MIB, format_bytes

MAX_UNCOMPRESSED_BYTES = 1024 * MIB
MAX_COMPRESSION_RATIO = 200  # xlsx sheets compress ~10-30x; hundreds of times is a bomb
MAX_ZIP_MEMBERS = 500
WANTED_TABS = ("vInfo", "vHost", "vCluster", "vDatastore", "vNetwork", "vNIC", "vSC_VMK", "vSource")
_TAB_FILE = re.compile(r"tab(?P<tab>[A-Za-z_]+)\.csv$", re.IGNORECASE)
_WANTED_BY_LOWER = {tab.lower(): tab for tab in WANTED_TABS}


class ExportUnreadable(Exception):
    """The file is not an RVTools export we can read safely; the message says why."""


@dataclass
class Sheet:
    """One tab: its header and its data rows as (row number, cell values); the header is row 1, as in Excel, and a
    CSV record spanning several lines (a multi-line annotation) is one row."""

    tab: str
    header: list[str]
    rows: list[tuple[int, list]] = field(default_factory=list)


RowsFn = Callable[[str, int, int | None], None]  # (tab, rows read so far, rows in the tab if known)


def read_export(
    source: Path | bytes, *, filename: str = "", tabs: tuple[str, ...] = WANTED_TABS, on_rows: RowsFn | None = None
) -> dict[str, Sheet]:
    """The wanted tabs of an export given as a path (an .xlsx, a .zip or a folder of CSVs) or as uploaded bytes;
    `on_rows` hears how far reading a workbook's sheets has got."""
    if isinstance(source, Path):
        if source.is_dir():
            return _read_csv_folder(source, tabs=tabs)
        if not source.is_file():
            raise ExportUnreadable(f"{source}: no such file or folder.")
        data = source.read_bytes()
        filename = filename or source.name
    else:
        data = source
    if not data.startswith(b"PK\x03\x04"):
        if filename.lower().endswith(".csv"):
            raise ExportUnreadable(
                f"{filename}: a single CSV file is one tab; upload the folder's CSV files together as a .zip."
            )
        raise ExportUnreadable(f"{filename or 'The file'} is neither an .xlsx workbook nor a .zip of CSV files.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExportUnreadable(f"{filename or 'The file'} is a damaged zip or xlsx ({exc}).") from None
    with archive:
        check_zip(archive, filename=filename or "the file")
        names = archive.namelist()
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return _read_xlsx(data, filename=filename, tabs=tabs, on_rows=on_rows)
        return _read_csv_zip(archive, tabs=tabs)


def check_zip(archive: zipfile.ZipFile, *, filename: str) -> None:
    """Refuses path traversal, too many members, and archives that would expand too far (zip bombs)."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise ExportUnreadable(f"{filename} holds {len(members)} files; an RVTools export has fewer than 50.")
    total = 0
    for info in members:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise ExportUnreadable(f"{filename} refused: member '{info.filename}' points outside the archive.")
        total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ExportUnreadable(
                f"{filename} refused: it would expand to more than {format_bytes(MAX_UNCOMPRESSED_BYTES)}."
            )
        if info.file_size > 10 * MIB and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ExportUnreadable(
                f"{filename} refused: member '{info.filename}' expands {info.file_size // max(info.compress_size, 1)}"
                f" times (a zip bomb?)."
            )


def _read_xlsx(data: bytes, *, filename: str, tabs: tuple[str, ...], on_rows: RowsFn | None) -> dict[str, Sheet]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ExportUnreadable(f"{filename or 'The workbook'} cannot be read as .xlsx ({exc}).") from None
    sheets: dict[str, Sheet] = {}
    try:
        for title in workbook.sheetnames:
            tab = _WANTED_BY_LOWER.get(title.strip().lower())
            if tab is None or tab not in tabs:
                continue
            worksheet = workbook[title]
            total = worksheet.max_row
            rows = worksheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                sheets[tab] = Sheet(tab=tab, header=[])
                continue
            width = len(header)
            while width and header[width - 1] in (None, ""):
                width -= 1
            sheet = Sheet(tab=tab, header=[str(h).strip() if h is not None else "" for h in header[:width]])
            for number, row in enumerate(rows, start=2):
                if on_rows is not None and number % 2000 == 0:
                    on_rows(tab, number, total)
                values = list(row[:width])
                if any(v not in (None, "") for v in values):
                    sheet.rows.append((number, values))
            sheets[tab] = sheet
    finally:
        workbook.close()
    return sheets


def _csv_tab(name: str, tabs: tuple[str, ...]) -> str | None:
    match = _TAB_FILE.search(PurePosixPath(name.replace("\\", "/")).name)
    tab = _WANTED_BY_LOWER.get(match.group("tab").lower()) if match else None
    return tab if tab in tabs else None


def _read_csv_zip(archive: zipfile.ZipFile, *, tabs: tuple[str, ...]) -> dict[str, Sheet]:
    sheets: dict[str, Sheet] = {}
    for info in archive.infolist():
        tab = _csv_tab(info.filename, tabs)
        if tab is not None and not info.is_dir():
            sheets[tab] = _parse_csv(tab, PurePosixPath(info.filename).name, archive.read(info))
    if not sheets:
        raise ExportUnreadable("The zip holds no RVTools CSV files (named like RVTools_tabvInfo.csv).")
    return sheets


def _read_csv_folder(folder: Path, *, tabs: tuple[str, ...]) -> dict[str, Sheet]:
    sheets: dict[str, Sheet] = {}
    for path in sorted(folder.iterdir()):
        tab = _csv_tab(path.name, tabs)
        if tab is not None and path.is_file():
            sheets[tab] = _parse_csv(tab, path.name, path.read_bytes())
    if not sheets:
        raise ExportUnreadable(f"{folder} holds no RVTools CSV files (named like RVTools_tabvInfo.csv).")
    return sheets


def _parse_csv(tab: str, name: str, data: bytes) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportUnreadable(
            f"{tab} ({name}) row {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); export the CSV files as UTF-8."
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader: Iterable[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ExportUnreadable(f"{tab} ({name}): not valid CSV ({exc}).") from None
    if not rows:
        return Sheet(tab=tab, header=[])
    header = [h.strip() for h in rows[0]]
    data_rows = [(number, r) for number, r in enumerate(rows[1:], start=2) if any(cell.strip() for cell in r)]
    return Sheet(tab=tab, header=header, rows=data_rows)
