"""What the dashboard shows each member of staff: their role's day (``day_panel``), and to a new group's
admin the first steps, each ticked off by the data itself.

Each module registers the step it owns (``first_step``) in its ``AppConfig.ready``: the dealerships (opening
hours, staff), the customer database (an import), the dealer site (made its own) and the owner portal (owners
invited). The dashboard asks each, one cheap query apiece; a step is done when its data says so, and the list
goes away when every step is.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class Step:
    code: str
    label: Promise
    hint: Promise
    url_name: str
    done: Callable[[], bool]
    position: int


@dataclass(frozen=True)
class StepState:
    code: str
    label: str
    hint: str
    url: str
    done: bool


_steps: dict[str, Step] = {}


def first_step(code: str, *, label: Promise, hint: Promise, url_name: str, done: Callable[[], bool],
               position: int) -> None:
    """Register a first step: ``done()`` answers from the data (one query), ``url_name`` is where it is done."""
    _steps[code] = Step(code, label, hint, url_name, done, position)


def first_steps() -> list[StepState]:
    """The registered steps in order, each with whether it is done and where to do it."""
    states = []
    for step in sorted(_steps.values(), key=lambda step: step.position):
        try:
            url = reverse(step.url_name)
        except NoReverseMatch:
            url = ""
        states.append(StepState(step.code, str(step.label), str(step.hint), url, step.done()))
    return states


# --- Each role's day on the dashboard -----------------------------------------------------------------------

@dataclass(frozen=True)
class DayPanel:
    roles: tuple[str, ...]
    template: str
    context: Callable[[object], dict]
    position: int


_panels: list[DayPanel] = []


def day_panel(*roles: str, template: str, context: Callable[[object], dict], position: int) -> None:
    """Register what ``roles`` see of their day on the dashboard: ``template`` rendered with ``context(user)``
    (a few counts, a fixed number of queries), linking to the module's own pages."""
    _panels.append(DayPanel(tuple(roles), template, context, position))


def day_panels(user: object) -> list[tuple[str, dict]]:
    """The panels of ``user``'s role, in order, each as (template, context)."""
    role = getattr(user, "role", "")
    return [(panel.template, panel.context(user))
            for panel in sorted(_panels, key=lambda panel: panel.position) if role in panel.roles]
