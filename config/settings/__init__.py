"""Settings: ``base`` plus one of ``local``, ``test`` or ``production``, all read from the environment.

Topic modules (``tenancy``, ``auth``, ``celery``, ``wagtail``) hold what belongs together and are
pulled into ``base``.
"""
