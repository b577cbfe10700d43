"""Media on S3-compatible object storage, one key prefix per dealer group (``MEDIA_STORAGE=s3``).

The S3 counterpart of ``django_tenants.files.storage.TenantFileSystemStorage``: a file saved as
``imports/2026/05/ab12.csv`` in schema ``t_alpha`` is the object ``t_alpha/imports/2026/05/ab12.csv``, the
same name the database keeps with either storage. The prefix comes from the connection's schema at every
call, never from the name: a name another dealer group knows resolves under the caller's own prefix, and a
name that climbs out of it (``../``) is refused.

No object is ever addressed by a browser. The bucket stays private (no ACL is sent; block public access
on it) and ``url()`` is the app's own ``/media/<schema>/<name>``, which ``tenants.views.media`` answers after
its checks, reading the object through this storage. Presigned URLs were rejected: they work for anyone
holding them until they expire, from any host.
"""

import posixpath
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class TenantS3Storage(S3Storage):
    # Two uploads of one name are two files, as on disk: an import's file is deleted after its run, and must
    # not take another job's upload of the same file with it.
    file_overwrite = False
    default_acl = None
    querystring_auth = True

    @property
    def location(self) -> str:
        """The current schema's prefix, under ``AWS_LOCATION`` when set."""
        return posixpath.join(self.root, connection.schema_name)

    @location.setter
    def location(self, value: str) -> None:
        self.root = value.strip("/")

    def url(self, name: str, parameters: Any = None, expire: Any = None, http_method: Any = None) -> str:
        """The app's URL for the file, as ``TenantFileSystemStorage`` builds it."""
        return f"{settings.MEDIA_URL}{connection.schema_name}/{filepath_to_uri(clean_name(name)).lstrip('/')}"
