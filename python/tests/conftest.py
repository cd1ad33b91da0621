# The attestlab fixtures (embedded_target, apple_ca) for every test here.
pytest_plugins = ["attestlab.pytest"]
