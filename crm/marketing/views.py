"""The public side of marketing messages: the unsubscribe link (one click away from no more messages),
open and click tracking for e-mail, event answers and SMS replies."""

from django.core import signing
from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from crm.customers.models import ConsentPurpose, Person
from crm.customers.services import consent_record

from . import tracking
from .channels import CONSENT_CHANNEL, UNSUBSCRIBE_SALT
from .models import Message, MessageChannel


@never_cache
@csrf_exempt  # mail clients' one-click unsubscribe (RFC 8058) posts without a session; the token is the proof
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (link scanners must not unsubscribe anyone); POST withdraws the consent."""
    try:
        schema, person_id, channel, purpose = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError):
        schema = person_id = channel = purpose = None
    person = Person.objects.filter(pk=person_id).first() if schema == connection.schema_name else None
    if person is None or channel not in MessageChannel.values or purpose not in ConsentPurpose.values:
        return render(request, "marketing/unsubscribe_invalid.html", status=404)
    context = {"channel": MessageChannel(channel).label, "purpose": ConsentPurpose(purpose).label}
    if request.method == "POST":
        consent_record(person=person, by=None, channel=CONSENT_CHANNEL[channel], purpose=purpose, granted=False,
                       source="unsubscribe link", proof=request.headers.get("List-Unsubscribe", "")[:500])
        return render(request, "marketing/unsubscribed.html", context)
    return render(request, "marketing/unsubscribe.html", context)


@require_safe
def message_opened(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking pixel: records the first open only (a conditional update; later loads write nothing)."""
    if (message_id := tracking.opened_message(token)) is None:
        raise Http404
    if request.method == "GET":  # HEAD is a link checker's, not the customer's
        Message.objects.filter(pk=message_id, opened_at__isnull=True).update(opened_at=timezone.now())
    response = HttpResponse(tracking.PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_safe
def message_clicked(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: records the first click (and the open it implies), then goes on to the one URL the
    token was signed for, which was in that message: never an open redirect."""
    if (link := tracking.clicked_link(token)) is None:
        raise Http404
    message_id, url = link
    now = timezone.now()
    if request.method == "GET":
        Message.objects.filter(pk=message_id, clicked_at__isnull=True).update(
            clicked_at=now, opened_at=Coalesce(F("opened_at"), now))
    return HttpResponseRedirect(url)


@never_cache
def event_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The invited customer's page: the event, their answer, and room for guests."""
    from django.core.exceptions import ValidationError

    from . import events
    from .forms import AnswerForm
    from .models import EventInvitation

    try:
        invitation = events.invitation_for(token)
    except EventInvitation.DoesNotExist:
        return render(request, "marketing/event_unknown.html", status=404)
    form = AnswerForm(request.POST or None, initial={"guests": invitation.guests})
    if request.method == "POST" and form.is_valid():
        try:
            invitation = events.answer(token=token, coming=form.cleaned_data["coming"],
                                       guests=form.cleaned_data["guests"] or 0)
        except ValidationError as error:
            form.add_error(None, error)
    return render(request, "marketing/event_answer.html", {"invitation": invitation, "event": invitation.event,
                                                           "form": form}, status=400 if form.errors else 200)


STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "стоп", "отписаться", "退订", "td"}


def twilio_signature_valid(request: HttpRequest) -> bool:
    """Twilio signs each webhook: base64 HMAC-SHA1, keyed with the auth token, of the full URL followed
    by the POST parameters sorted by name, each name then value (twilio.com/docs/usage/security)."""
    import base64
    import hashlib
    import hmac

    from django.conf import settings

    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return False
    payload = request.build_absolute_uri() + "".join(f"{key}{value}" for key, value in sorted(request.POST.items()))
    expected = base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", ""))


@csrf_exempt  # Twilio posts here; its signature is the proof
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A reply to one of our SMS: STOP (in any of our languages) withdraws SMS consent for every purpose
    from every customer with that number, in the ledger. Anything else is acknowledged and ignored."""
    from crm.customers.models import ConsentChannel, Phone

    if request.method != "POST" or not twilio_signature_valid(request):
        return HttpResponse(status=403)
    word = request.POST.get("Body", "").strip().lower().rstrip(".!")
    if word in STOP_WORDS:
        number = request.POST.get("From", "")
        for person in Person.objects.active().filter(pk__in=Phone.objects.filter(number=number).values("person_id")):
            for purpose in ConsentPurpose.values:
                consent_record(person=person, by=None, channel=ConsentChannel.SMS, purpose=purpose, granted=False,
                               source="SMS reply STOP", proof=f"{number}: {request.POST.get('Body', '')[:100]}")
    return HttpResponse("<Response/>", content_type="text/xml")
