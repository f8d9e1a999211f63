"""The fleet page: server-rendered HTML over the store, behind GitHub sign-in."""
