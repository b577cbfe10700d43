"""What operators see: errors in Sentry, JSON log lines, Prometheus metrics, all carrying the tenant and the request.

``context`` is what every log line, error and task knows about where it runs (tenant schema, user id, request
id, task); ``request_id`` gives each request its id and carries it into the tasks it enqueues; ``logs`` writes
log lines as JSON; ``sentry`` sends errors with personal data scrubbed; ``metrics`` counts requests and tasks and
serves them to the platform's Prometheus alone; ``worker`` wires all of it into Celery. An app only so that
Sentry starts once the settings are final, in every Django process (web, worker, beat, manage.py).
"""
