"""Wagtail: the dealer's site and its admin, one per tenant schema."""

from django.utils.translation import gettext_lazy as _

from .env import env

WAGTAIL_SITE_NAME = "DealerCRM"
# Used by Wagtail only in e-mails sent outside a request; each tenant's own host is used otherwise.
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://localhost:8000")
# The port dealer sites are reached on, for the full URLs Wagtail builds (sitemaps, e-mails).
WAGTAIL_SITE_PORT = env.int("WAGTAIL_SITE_PORT", default=env.int("PORT", default=8000))
# Staff sign in once, through allauth, for both the CRM and the CMS.
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_FRONTEND_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False
# A dealer may keep each page in several languages: one page tree per locale, the same URL for all of
# them (no language prefix); Wagtail serves the tree of the visitor's active language and cms.HomePage
# falls back to the dealer's main tree for a page not translated yet.
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = [
    ("en", _("English")),
    ("ru", _("Russian")),
    ("zh-hans", _("Simplified Chinese")),
]
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILIMAGES_RENDITION_STORAGE = "default"
# Documents editors may upload to the dealer's site; served through Wagtail's view, never inline HTML.
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt", "csv", "doc", "docx", "odt", "xls", "xlsx", "ods", "ppt", "pptx", "zip"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
