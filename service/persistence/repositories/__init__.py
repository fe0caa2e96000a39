"""Repositories: what use cases read and write, without SQL in the use cases.

Each is built over the session of a unit of work (service.persistence.unit_of_work)
and has an in-memory twin in tests/fakes that keeps the same rules, so the service
layer's tests run with no database."""
