"""Accounts: a custom user per schema, allauth for sign-in, MFA for staff, throttled logins, and who the
client is behind the platform's proxies (every per-address limit and signal reads it)."""

from django.core.exceptions import ImproperlyConfigured

from .env import env

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Staff accounts are made by their dealer admin, so an address is verified when it is changed, not
# before the first sign-in.
ACCOUNT_EMAIL_VERIFICATION = "optional"
# Confirmation keys are random and stored in the schema's own table, not allauth's default HMAC of the
# EmailAddress id: every schema shares SECRET_KEY and the ids repeat, so a key mailed by one dealer group
# confirmed the address with the same id in every other (issue 19). Codes are not an option: allauth allows
# them only with mandatory verification.
ACCOUNT_EMAIL_CONFIRMATION_HMAC = False
# Codes rather than links: links cannot be built from a Celery task, which has no request.
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
# Car owners may sign in with a one-time code sent to their address instead of a password.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
# Failed logins (docs/decisions.md, "Trust first"), counted in the schema-keyed cache. allauth's key for
# "login_failed" names the account *and* the client's network (accounts.adapter), so a stranger guessing at
# the dealer admin's address locks out only themselves: 10 a minute per network whatever the accounts,
# 5 in 5 minutes per account from one network. "login_failed_account" caps the guesses at one account from
# all networks it has not signed in from lately (a botnet), 20 an hour; its own networks are never capped.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login_failed_account": "20/h/key"}
# How long a network the account signed in from stays its own for the cap above.
LOGIN_KNOWN_NETWORK_DAYS = 90

# Django's message cookie is signed for the schema too (accounts.tenant_signing).
MESSAGE_STORAGE = "accounts.tenant_signing.MessageStorage"

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="DealerCRM")
# When set, staff must enrol an authenticator before reaching the CRM or the CMS.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=False)

# The client's address (accounts.throttle.client_ip) behind the platform's own proxies: the header the
# proxy nearest the app sets (X-Forwarded-For, or a one-address header such as X-Real-IP) and how many
# proxies the platform runs in front of the app. X-Forwarded-For is read from the right, as many entries
# in as there are trusted proxies: anything further left was written by the client. Both unset: the
# connection's address, and no header is believed.
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", default="").strip().removeprefix("HTTP_").replace("_", "-")
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", default="") or 0)  # compose passes an unset one as ""
if bool(CLIENT_IP_HEADER) != (TRUSTED_PROXY_COUNT > 0):
    raise ImproperlyConfigured("Set CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT together (behind a proxy), or neither.")
# No proxy in front, on purpose (production refuses to start with neither this nor a proxy: config.checks).
CLIENT_IP_DIRECT = env.bool("CLIENT_IP_DIRECT", default=False)
# Where those proxies connect from: a header is believed only on a connection from these networks, so a
# client that reaches the app directly cannot choose its address. Loopback and the private ranges by default
# (a proxy on the same machine, in Docker or Kubernetes); name the proxies' own networks to be stricter.
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])
# allauth reads the address through the adapter (the same client_ip); its own settings say the same.
if CLIENT_IP_HEADER.lower() == "x-forwarded-for":
    ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
elif CLIENT_IP_HEADER:
    ALLAUTH_TRUSTED_CLIENT_IP_HEADER = CLIENT_IP_HEADER
