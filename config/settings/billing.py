"""Stripe billing: keys only from the environment; only tenants.billing reads these."""

from .env import env

# Secret key, publishable key and webhook signing secret of the Stripe account. Unset, `make run`
# and the test suite start localstripe (a fake Stripe on loopback) and set them for it.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Only for localstripe: where its API and its Stripe.js stand-in listen. Empty: the real Stripe.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")

# past_due: a banner at once, read-only after this many days without payment.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# A canceled subscription suspends the tenant; its data is kept this many days, then deleted.
BILLING_RETENTION_DAYS = env.int("BILLING_RETENTION_DAYS", default=90)
# The dealer admins are told by e-mail this many days before the deletion (and can still download their data).
BILLING_PURGE_WARNING_DAYS = env.int("BILLING_PURGE_WARNING_DAYS", default=7)
# The single-use link that signs a new admin in to their tenant right after sign-up.
SIGNUP_LOGIN_TOKEN_SECONDS = 300
# A sign-up left at the card step this long is abandoned: its Stripe customer is deleted.
SIGNUP_ABANDONED_AFTER_HOURS = 2
# Sign-ups started per client address per hour (each makes a Stripe customer).
SIGNUP_RATE_PER_HOUR = env.int("SIGNUP_RATE_PER_HOUR", default=10)
