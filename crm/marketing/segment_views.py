"""Segment screens (CRM): saved segments with a rule editor that counts and previews as it is edited,
fixed lists of customers, and freezing a segment into a list. For the people who build audiences."""

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Window
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.core.access import staff_required
from crm.customers.forms import CustomerFinderForm
from crm.customers.models import Person
from crm.sales.calllists import BUILDERS

from . import segments
from .models import Segment, SegmentMember
from .segment_forms import FreezeForm, MemberAddForm, SegmentForm

PREVIEW_SIZE = 20
PAGE_SIZE = 50


@dataclass
class Row:
    """One rule as the editor shows it: what it tests, how, the value, and what each may be."""

    field: segments.Field
    op: str
    value: str

    @property
    def ops(self) -> list[tuple[str, str]]:
        return [(op, str(segments.OPERATOR_LABELS[op])) for op in segments.OPERATORS[self.field.kind]]

    @property
    def choices(self) -> list[tuple[str, str]] | None:
        return [(str(key), str(label)) for key, label in self.field.choices()] if self.field.choices else None

    def as_rule(self) -> dict[str, str]:
        return {"field": self.field.key, "op": self.op, "value": self.value}


def _row(field_key: str, op: str = "", value: Any = "") -> Row:
    field = segments.FIELDS.get(field_key) or next(iter(segments.FIELDS.values()))
    ops = segments.OPERATORS[field.kind]
    return Row(field, op if op in ops else ops[0], "" if value is None else str(value))


def _rows(data: QueryDict) -> list[Row]:
    """The rules as posted (parallel lists), each made to fit its field: a field changed since the last
    render gets that field's first operator."""
    fields, ops, values = data.getlist("rule_field"), data.getlist("rule_op"), data.getlist("rule_value")
    return [_row(field, ops[i] if i < len(ops) else "", values[i] if i < len(values) else "")
            for i, field in enumerate(fields[:segments.MAX_RULES + 1])]


def _field_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for field in segments.FIELDS.values():
        groups.setdefault(str(field.group), []).append((field.key, str(field.label)))
    return list(groups.items())


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"active_module": "marketing", **context}, status=status)


def _preview(match: str, rows: list[Row], segment: Segment | None) -> dict[str, Any]:
    """The live count and a sample for rules being edited, or what is wrong with them."""
    try:
        rules = segments.rules_clean([row.as_rule() for row in rows], segment=segment)
    except ValidationError as error:
        return {"errors": error.messages}
    # One statement: the first names with everyone counted alongside (COUNT(*) OVER ()), not the segment twice.
    sample = list(segments.rules_people(match, rules).annotate(total=Window(Count("pk")))
                  .order_by("family_name_latin", "given_name_latin", "pk")[:PREVIEW_SIZE])
    return {"count": sample[0].total if sample else 0, "sample": sample}


@staff_required(*BUILDERS)
def segment_list(request: HttpRequest) -> HttpResponse:
    describe = segments.rule_describer()
    rows = [(segment, [describe(rule) for rule in segment.rules[:4]]) for segment in segments.saved_segments()]
    return _page(request, "marketing/segments.html", {"segments": rows})


@staff_required(*BUILDERS)
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or edit a segment. Adding or removing a rule, or changing one, re-renders the editor with
    the count and a sample (by htmx without a reload, or by a plain submit without script)."""
    segment = get_object_or_404(segments.saved_segments(), pk=pk) if pk else Segment()
    form = SegmentForm(request.POST or None, instance=segment)
    action = request.POST.get("action", "")
    if request.method == "POST":
        rows = _rows(request.POST)
        if action == "add":
            rows.append(_row(request.POST.get("new_field", "")))
        elif (remove := re.fullmatch(r"remove:(\d{1,3})", action, re.ASCII)) and int(remove[1]) < len(rows):
            del rows[int(remove[1])]
    else:
        rows = [_row(rule["field"], rule["op"], rule.get("value")) for rule in segment.rules] or [_row("make")]
    kind = form["kind"].value() or Segment.Kind.RULES
    match = form["match"].value() if form["match"].value() in Segment.Match.values else Segment.Match.ALL
    status = 200
    if action == "save":
        if form.is_valid():
            try:
                saved = segments.segment_save(segment=form.save(commit=False), by=request.user,
                                              rules=[row.as_rule() for row in rows])
            except ValidationError as error:
                if hasattr(error, "error_dict") and "name" in error.error_dict:
                    form.add_error("name", error.error_dict["name"])
                else:
                    form.add_error(None, error)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("marketing:segment_detail", pk=saved.pk)
        status = 400
    context = {"form": form, "segment": segment, "rows": rows, "kind": kind, "field_groups": _field_groups(),
               "new_field": request.POST.get("new_field", ""),
               "preview": _preview(match, rows, segment) if kind == Segment.Kind.RULES else None}
    if request.headers.get("HX-Request") and action != "save":
        return render(request, "marketing/_segment_rules.html", context)
    return _page(request, "marketing/segment_form.html", context, status=status)


@staff_required(*BUILDERS)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(segments.saved_segments(), pk=pk)
    people = (segments.segment_people(segment).select_related("rooftop")
              .order_by("family_name_latin", "given_name_latin", "pk"))
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    describe = segments.rule_describer()
    context = {"segment": segment, "page": page, "rules": [describe(rule) for rule in segment.rules],
               "freeze_form": FreezeForm(initial={"name": _("%(name)s, fixed") % {"name": segment.name}}),
               "users": segments.segment_users(segment)}
    if segment.kind == Segment.Kind.LIST:
        context["finder"] = CustomerFinderForm()
        context["add_form"] = MemberAddForm(segment=segment)
    return _page(request, "marketing/segment_detail.html", context)


@require_POST
@staff_required(*BUILDERS)
def segment_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    """A fixed list of exactly who is in the segment now."""
    segment = get_object_or_404(segments.saved_segments(), pk=pk)
    form = FreezeForm(request.POST)
    if form.is_valid():
        try:
            frozen = segments.list_from_people(name=form.cleaned_data["name"], people=segments.segment_people(segment),
                                               by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            count = frozen.members.count()
            messages.success(request, ngettext("Fixed list saved with %(count)s customer.",
                                               "Fixed list saved with %(count)s customers.", count) % {"count": count})
            return redirect("marketing:segment_detail", pk=frozen.pk)
    else:
        messages.error(request, _("Give the fixed list a name."))
    return redirect("marketing:segment_detail", pk=pk)


@require_POST
@staff_required(*BUILDERS)
def segment_archive(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(segments.saved_segments(), pk=pk)
    try:
        segments.segment_archive(segment=segment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("marketing:segment_detail", pk=pk)
    messages.success(request, _("Segment archived."))
    return redirect("marketing:segments")


@require_POST
@staff_required(*BUILDERS)
def list_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add one customer found by name or phone, or everyone of another segment, to a fixed list."""
    segment = get_object_or_404(segments.saved_segments().filter(kind=Segment.Kind.LIST), pk=pk)
    if "source" in request.POST:
        form = MemberAddForm(request.POST, segment=segment)
        if not form.is_valid():
            messages.error(request, _("Choose a segment from the list."))
            return redirect("marketing:segment_detail", pk=pk)
        people = segments.segment_people(form.cleaned_data["source"])
    else:
        finder = CustomerFinderForm(request.POST)
        if not finder.is_valid() or not finder.cleaned_data.get("person"):
            context = {"segment": segment, "page": Paginator(segments.segment_people(segment).select_related(
                "rooftop").order_by("family_name_latin", "pk"), PAGE_SIZE).get_page(1), "finder": finder,
                "add_form": MemberAddForm(segment=segment), "freeze_form": FreezeForm(), "rules": [],
                "users": segments.segment_users(segment)}
            return _page(request, "marketing/segment_detail.html", context, status=400)
        people = Person.objects.filter(pk=finder.cleaned_data["person"].pk)
    added = segments.list_add(segment=segment, people=people, by=request.user)
    messages.success(request, ngettext("%(count)s customer added.", "%(count)s customers added.", added)
                     % {"count": added})
    return redirect("marketing:segment_detail", pk=pk)


@require_POST
@staff_required(*BUILDERS)
def list_member_remove(request: HttpRequest, pk: int, person_pk: int) -> HttpResponse:
    segment = get_object_or_404(segments.saved_segments().filter(kind=Segment.Kind.LIST), pk=pk)
    member = get_object_or_404(SegmentMember.objects.select_related("person"), segment=segment, person_id=person_pk)
    segments.list_remove(segment=segment, person=member.person)
    messages.success(request, _("Taken off the list."))
    return redirect("marketing:segment_detail", pk=pk)
