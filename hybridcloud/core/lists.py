"""What every list page shares: sortable column headers over a filterset's `ordering`, and one CSV export.

Rules: a column's sort key is the public key of the list's `OrderingFilter` (the same keys in the page's URL and
the API's `?ordering=`); clicking a sorted column reverses it. A CSV export streams the same filtered, ordered
rows the page shows (every page of them), with a header row, named `<name>-<UTC timestamp>.csv`.
"""

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone


def sort_columns(
    request: HttpRequest, columns: Iterable[tuple[str, str, bool]], *, param: str = "ordering"
) -> list[dict]:
    """The header cells of a sortable table, from (sort key, label, numeric); a key of "" is a column that does not
    sort. Each cell says whether it is the sorted one ("asc"/"desc") and the ordering a click on it asks for."""
    current = request.GET.get(param, "")
    return [
        {"key": key, "label": label, "numeric": numeric, "next": f"-{key}" if current == key else key,
         "sorted": "" if not key else "asc" if current == key else "desc" if current == f"-{key}" else ""}
        for key, label, numeric in columns
    ]  # fmt: skip


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields each row as text."""

    def write(self, value: str) -> str:
        return value


def csv_response(*, name: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream `rows` as CSV under `header` (rows are produced as the response is sent, so 10,000 rows start at once)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
