from celery import shared_task


@shared_task(acks_late=False)
def claim_code_sms(to: str, body: str, key: str) -> None:
    """Text a car-claim code to the contact on file (keyed: a retry is the same message)."""
    from crm.marketing import sms

    sms.backend().send(sms.Sms(to=to, body=body, key=key))
