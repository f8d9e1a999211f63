from tests.store.fixtures import clock, engine, make_runner, other_store, store, store_url

__all__ = ["clock", "engine", "make_runner", "other_store", "store", "store_url"]
