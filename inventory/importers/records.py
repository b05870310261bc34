"""The records an RVTools export is parsed into (`RVToolsExport` and its hosts, datastores and VMs), the problems
that refuse a file, and `Tab`: column lookup and typed cell reading for one sheet, recording problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inventory.importers.sources import Sheet

MAX_LISTED_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where it is."""

    tab: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.tab
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class RVToolsRefused(Exception):
    """The export is refused whole; `problems` lists every problem found (in file order)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")


@dataclass
class RVHost:
    name: str
    datacenter: str
    cluster: str
    cores: int
    memory_bytes: int
    cpu_model: str
    ghz: float
    maintenance: bool
    esx_version: str
    evc_mode: str
    row: int
    migration_nic_gbps: int | None = None
    migration_mtu: int | None = None


@dataclass
class RVDatastore:
    name: str
    datacenter: str
    capacity_bytes: int
    free_bytes: int
    hosts: tuple[str, ...]
    local: bool
    row: int


@dataclass
class RVVM:
    uuid: str
    name: str
    power_state: str
    vcpus: int
    memory_bytes: int
    provisioned_bytes: int
    in_use_bytes: int
    ip_address: str | None
    networks: tuple[str, ...]
    guest_os: str
    host: str
    cluster: str
    datacenter: str
    datastore: str
    annotation: str
    row: int


@dataclass
class RVToolsExport:
    """The validated content of one export: hosts, clusters, datastores, VMs and port groups, per datacenter."""

    vms: list[RVVM] = field(default_factory=list)
    hosts: dict[str, RVHost] = field(default_factory=dict)
    clusters: set[tuple[str, str]] = field(default_factory=set)  # (datacenter, cluster)
    datastores: dict[str, RVDatastore] = field(default_factory=dict)
    networks: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (datacenter, port group) -> IPs
    templates_skipped: int = 0
    vcenter: str = ""
    vcenter_uuid: str = ""
    tab_rows: dict[str, int] = field(default_factory=dict)

    @property
    def datacenters(self) -> list[str]:
        return sorted({h.datacenter for h in self.hosts.values()} | {vm.datacenter for vm in self.vms})


def norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name or "")).strip().lower()


class Tab:
    """Column lookup and typed cell reading for one sheet, recording problems instead of raising."""

    def __init__(self, sheet: Sheet, problems: list[Problem]):
        self.sheet, self.problems = sheet, problems
        self.index = {}
        for i, name in enumerate(sheet.header):
            self.index.setdefault(norm(name), i)

    def column(self, *names: str, required: bool = True) -> tuple[str, int] | None:
        """The first of `names` the header has, as (name as written, position); a missing required column is a
        problem on the header row."""
        for name in names:
            if norm(name) in self.index:
                position = self.index[norm(name)]
                return self.sheet.header[position], position
        if required:
            also = f" (or '{names[1]}')" if len(names) > 1 else ""
            self.problems.append(Problem(self.sheet.tab, 1, names[0], f"required column '{names[0]}'{also} missing"))
        return None

    def text(self, values: list, col: tuple[str, int] | None) -> str:
        if col is None or col[1] >= len(values) or values[col[1]] is None:
            return ""
        return str(values[col[1]]).strip()

    def number(self, row: int, values: list, col: tuple[str, int] | None, *, minimum: float = 0) -> float | None:
        raw = self.text(values, col)
        if col is None:
            return None
        value = values[col[1]] if col[1] < len(values) else None
        if isinstance(value, bool):
            value = None
        if isinstance(value, int | float):
            number = float(value)
        else:
            cleaned = raw.replace("\u00a0", "").replace(" ", "")
            if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
                cleaned = cleaned.replace(",", "")
            try:
                number = float(cleaned)
            except ValueError:
                shown = raw if raw else "(empty)"
                self.problems.append(Problem(self.sheet.tab, row, col[0], f"'{shown[:60]}' is not a number"))
                return None
        if number != number or number < minimum:  # NaN or below the minimum
            self.problems.append(Problem(self.sheet.tab, row, col[0], f"{raw} is below {minimum:g}"))
            return None
        return number

    def boolean(self, row: int, values: list, col: tuple[str, int] | None) -> bool:
        if col is None:
            return False
        value = values[col[1]] if col[1] < len(values) else None
        if isinstance(value, bool):
            return value
        text = self.text(values, col).lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0", ""):
            return False
        self.problems.append(Problem(self.sheet.tab, row, col[0], f"'{text[:40]}' is not True or False"))
        return False
