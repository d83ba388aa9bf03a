"""Examples that the docs include and the tests run."""
