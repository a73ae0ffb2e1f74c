"""What crosses a boundary: workflow names and ids, signal/query/update names, workflow and activity
input/output models, search attributes and the activity catalogue.

Starter, runtime, workflows and activities import these, never each other's internals. Pure pydantic
and `temporalio.common` only: no I/O, no activity or workflow code.
"""
