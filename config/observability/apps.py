from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "config.observability"
    label = "observability"

    def ready(self) -> None:
        from .sentry import sentry_init_from_settings

        sentry_init_from_settings()
