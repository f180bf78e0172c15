"""Alembic's scripts for the store: `env.py` and one module per revision in `versions/`.

They ship inside the package, so an installed meetbot finds them (`commands.store.migrate`
points Alembic here). A change to `commands.store.schema` comes with a new revision written by
hand beside the others (its `down_revision` the current head); the test that compares a
migrated store with the tables the code declares tells when one is missing.
"""
