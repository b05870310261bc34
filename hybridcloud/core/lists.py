"""What every list page shares: a django-tables2 table over a django-filter filterset, one pagination, one CSV export.

Rules:
- The filterset filters and sorts (its `ordering` filter holds the public sort keys, the same in the page's URL and the
  API's `?ordering=`, with its tiebreak); the table renders the rows it is given, in that order. A column sorts when
  its name is one of those keys; clicking a sorted column reverses it.
- Several lists on one page each take a prefix: `images-q`, `images-ordering`, `images-page`, `images-export`.
- A CSV export streams the same filtered, sorted rows the page shows (every page of them), a header row of the column
  names, named `<name>-<UTC timestamp>.csv`; `?export=csv` on the list's own URL asks for it.
"""

import csv
from collections.abc import Iterable, Sequence

import django_filters
import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeString
from django_tables2.rows import BoundRow
from django_tables2.utils import OrderBy, OrderByTuple

PER_PAGE = 50
NUM = {"th": {"class": "num"}, "td": {"class": "num"}}  # a numeric column: right-aligned header and cells


class ListTable(tables.Table):
    """A list page's table: rows arrive filtered and sorted by the page's filterset; the table marks the sorted
    header, pages the rows and exports them."""

    export_name = "rows"  # the CSV's file name
    export_path = ""  # a list with its own export URL (a reverse_lazy); else `?export=csv` on the list's URL
    noun = "rows"  # what the pagination counts
    form_id = ""  # the filter form's id; its fields' ids are "<form_id>-<parameter>"
    filtered_empty_text = "Nothing matches these filters."

    class Meta:
        template_name = "_table.html"
        order_by_field = "ordering"
        attrs = {"class": "data"}
        orderable = False

    @property
    def order_by(self) -> OrderByTuple:
        return self._order_by

    @order_by.setter
    def order_by(self, value) -> None:
        # The filterset sorted the rows already (the API's rule and tiebreak): keep the key for the headers only.
        aliases = value.split(",") if isinstance(value, str) else (value or ())
        self._order_by = OrderByTuple([a for a in aliases if a and OrderBy(a).bare in self.columns])

    @property
    def ordering_param(self) -> str:
        return f"{self.prefix}{self.order_by_field}"

    @property
    def filter_params(self) -> list[str]:
        """This list's filter parameters as they appear in the URL (the sort and the page excluded)."""
        return [field.html_name for field in self.filterset.form if field.name != "ordering"]

    @property
    def visible_filters(self) -> list:
        """The form's fields to show: not the sort, and not `search` where `q` says the same (the API's name)."""
        names = set(self.filterset.form.fields)
        return [f for f in self.filterset.form if f.name != "ordering" and not (f.name == "search" and "q" in names)]

    @property
    def filtered(self) -> bool:
        return any(self.request.GET.get(name) for name in self.filter_params)

    @property
    def clear_query(self) -> QueryDict:
        """The page's query without this list's filters and page (its sort and the other lists' state kept)."""
        query = self.request.GET.copy()
        for name in [*self.filter_params, self.prefixed_page_field, f"{self.prefix}export"]:
            query.pop(name, None)
        return query

    def export_rows(self) -> Iterable[list]:
        """Every row of the (unpaginated) data as the CSV's cells, 500 records fetched at a time."""
        columns = [c for c in self.columns if c.name not in getattr(self.Meta, "exclude_from_export", ())]
        data = self.data.data
        records = data.iterator(chunk_size=500) if isinstance(data, QuerySet) else data
        for record in records:
            row = BoundRow(record, table=self)
            yield [_plain(row.get_cell_value(c.name)) for c in columns]

    def export_header(self) -> list[str]:
        return [c.name for c in self.columns if c.name not in getattr(self.Meta, "exclude_from_export", ())]


def _plain(value) -> str:
    """A cell as CSV text: rendered HTML loses its tags, nothing else is changed."""
    if value is None:
        return ""
    return strip_tags(value).strip() if isinstance(value, SafeString) else value


def _ordering_keys(filterset: django_filters.FilterSet) -> set[str]:
    ordering = filterset.filters.get("ordering")
    return set(ordering.param_map) if isinstance(ordering, django_filters.OrderingFilter) else set()


def table_list(
    request: HttpRequest,
    *,
    queryset: QuerySet,
    filterset_class: type[django_filters.FilterSet],
    table_class: type[ListTable],
    prefix: str = "",
    per_page: int | None = PER_PAGE,
    exclude: tuple[str, ...] = (),
) -> ListTable:
    """The table of one list: `filterset_class` over `queryset` with the request's filters and sort, paged.

    The filterset is `table.filterset` (its form renders the filters); `prefix` names this list's parameters when a
    page shows several lists; `exclude` names columns this request does not show (e.g. actions for a viewer)."""
    filterset = filterset_class(request.GET, queryset=queryset, request=request, prefix=prefix or None)
    param = f"{prefix}-" if prefix else ""
    table = table_class(filterset.qs, prefix=param, request=request, exclude=exclude)
    keys = _ordering_keys(filterset)
    for column in table.columns:
        column.column.orderable = column.name in keys
    table.order_by = request.GET.get(f"{param}ordering", "")
    table.filterset = filterset
    table.request = request
    if table.form_id:
        filterset.form.auto_id = f"{table.form_id}-%s"
    if per_page:
        _paginate(table, request.GET.get(f"{param}page"), per_page)
    return table


def _paginate(table: ListTable, number, per_page: int) -> None:
    """A page number that is not one shows the first page; one past the end shows the last."""
    try:
        table.paginate(page=number or 1, per_page=per_page)
    except PageNotAnInteger:
        table.paginate(page=1, per_page=per_page)
    except EmptyPage:
        table.paginate(page=table.paginator.num_pages, per_page=per_page)


def export_requested(request: HttpRequest, table: ListTable) -> bool:
    """`?export=csv` (under the list's prefix: `?images-export=csv`) asks for this table's CSV."""
    return request.GET.get(f"{table.prefix}export") == "csv"


def table_csv(table: ListTable) -> StreamingHttpResponse:
    """The table's filtered, sorted rows, every page of them, as CSV."""
    return csv_response(name=table.export_name, header=table.export_header(), rows=table.export_rows())


def list_response(request: HttpRequest, tables_: Sequence[ListTable]) -> HttpResponse | None:
    """The CSV of whichever of a page's tables `?export=` names, or None to render the page."""
    for table in tables_:
        if export_requested(request, table):
            return table_csv(table)
    return None


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
