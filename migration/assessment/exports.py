"""An assessment as CSV (streamed) and as an XLSX workbook (openpyxl, write-only): the same columns in both."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import Workbook

from migration.assessment.models import Assessment, AssessmentRow
from migration.assessment.selectors import SCENARIO_FIELDS, assessment_rows

# (header, attribute or callable) in order; units in the header, raw numbers in the cells.
ROW_COLUMNS = (
    ("workload", "workload_name"), ("kind", "kind"), ("power_state", "power_state"), ("guest_os", "guest_os"),
    ("source_site", "source_site"), ("source_host", "source_host"), ("destination_host", "destination_host"),
    ("mode", "mode"), ("vcpus", "vcpus"), ("memory_bytes", "memory_bytes"), ("disk_copied_bytes", "disk_bytes"),
    ("dirty_rate_bytes_per_s", "dirty_rate_bps"), ("dirty_rate_source", "dirty_source"),
    ("dirty_rate_class", "dirty_class"), ("wave", "wave"), ("start_s", "start_s"), ("end_s", "end_s"),
    ("duration_s", "duration_s"), ("downtime_s", "downtime_s"), ("converged", "converged"),
    ("guest_throttle", "throttle"), ("outcome", "outcome"),
    ("rounds", "rounds"), ("bytes_sent", "bytes_sent"), ("rate_bytes_per_s", "rate_bps"), ("limit", "limit"),
    ("limit_explained", "limit_sentence"), ("engine_reason", "reason"), ("over_window", "over_window"),
    ("precheck_errors", lambda r: " | ".join(r.errors)), ("warnings", lambda r: " | ".join(r.warnings)),
)  # fmt: skip
HEADER = [name for name, _ in ROW_COLUMNS]


def row_values(row: AssessmentRow) -> list:
    return [get(row) if callable(get) else getattr(row, get) for _, get in ROW_COLUMNS]


def summary_pairs(assessment: Assessment) -> list[tuple[str, object]]:
    """The scenario and the headline results, as (label, value) pairs."""
    s = assessment.summary or {}
    pairs: list[tuple[str, object]] = [
        ("assessment", assessment.pk), ("title", assessment.title), ("scope", assessment.scope_label),
        ("destination", assessment.destination.name), ("status", assessment.status),
    ]  # fmt: skip
    pairs += [(name, getattr(assessment, name)) for name in SCENARIO_FIELDS]
    pairs += [("link figures", assessment.link_note)]
    for key in ("workloads", "movable", "blocked", "live", "converged", "not_converged", "makespan_s",
                "physical_bound_s", "bound_ratio", "wave_count", "fits_window", "over_window", "capacity_fits",
                "duration_median_s", "duration_p95_s", "downtime_max_s"):  # fmt: skip
        pairs.append((key, s.get(key)))
    return pairs


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(assessment: Assessment) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for row in assessment_rows(assessment).iterator(chunk_size=2000):
        yield writer.writerow(row_values(row))


def xlsx_bytes(assessment: Assessment) -> bytes:
    """A workbook with three sheets: Summary, Workloads (one row each) and Assumptions."""
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    for label, value in summary_pairs(assessment):
        summary.append([label, value if isinstance(value, (int, float, str, bool)) or value is None else str(value)])
    sheet = book.create_sheet("Workloads")
    sheet.append(HEADER)
    for row in assessment_rows(assessment).iterator(chunk_size=2000):
        sheet.append(row_values(row))
    assumptions = book.create_sheet("Assumptions")
    assumptions.append(["assumption", "value", "workloads", "note"])
    for entry in assessment.assumptions or []:
        if entry.get("kind") == "dirty_rate":
            value = "; ".join(
                f"{source}: {info['mean_mb_s']} MB/s mean over {info['workloads']}"
                for source, info in entry["sources"].items()
            )
            if entry.get("override_mb_s") is not None:
                value = f"edited: {entry['override_mb_s']} MB/s"
            assumptions.append([entry["label"], value, entry["workloads"], f"default {entry.get('default_mb_s')} MB/s"])
        else:
            assumptions.append([entry["label"], str(entry.get("value", "")), None, entry.get("note", "")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
