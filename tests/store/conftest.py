from tests.store.fixtures import clock, engine, other_store, store, store_url

__all__ = ["clock", "engine", "other_store", "store", "store_url"]
