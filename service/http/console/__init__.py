"""The admin console: server-rendered pages at /console over the same use cases as the
admin API. `blueprint` has every page once this package is imported."""

# ruff: noqa: F401, I001
from service.http.console.blueprint import blueprint
from service.http.console.pages import connection
from service.http.console.pages import sign_in
from service.http.console.pages import mappings
from service.http.console.pages import model
from service.http.console.pages import provisioning
from service.http.console.pages import questions
from service.http.console.pages import invitations
from service.http.console.pages import operations
