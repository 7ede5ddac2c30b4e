"""The sales web page: the ranked list of open leads, a lead's page, exports and sign-in.

Served under ``/app`` by the service's app; HTML rendered on the server from the templates
and stylesheet shipped in this package, no JavaScript.
"""

from leadscore.service.web.routes import EXPORT_ROWS, router

__all__ = ["EXPORT_ROWS", "router"]
